"""An SFTP server over one local directory: :class:`RootedSFTPServerInterface`.

The client sees the directory as ``/`` (its working directory too), as if sftp-server ran in
a ``chroot``: ``..`` at the top stays at the top, and a symbolic link's absolute target is
taken relative to the root. Nothing outside the directory can be reached, read or changed.

How paths are confined
----------------------
A path is walked one component at a time from a descriptor of the root, each directory
opened relative to the previous one with ``O_NOFOLLOW`` (``openat``), so the kernel never
follows a link on our behalf. A component that is a symbolic link is read and its target
spliced into the rest of the walk (at most 40 links, ``ELOOP`` beyond, as the kernel does);
``..`` steps back to the descriptor of the parent already held. The last component is then
used by name in its directory with a ``*at`` call that does not follow links either
(``O_NOFOLLOW``, ``unlinkat``, ``renameat``, ...), or — to change attributes — through an
``O_PATH`` descriptor of it. A link swapped in by someone else between the walk and the call
therefore makes the call fail; it is never followed out of the root.
"""

from __future__ import annotations

import errno
import os
import stat
from collections import deque
from typing import TYPE_CHECKING, Any, Final

from ..sftp import SFTP_FAILURE, SFTP_OK
from ..sftp_attr import SFTPAttributes
from ..sftp_handle import SFTPHandle
from ..sftp_server import SFTPServer
from ..sftp_si import SFTPServerInterface

if TYPE_CHECKING:
    from ..server import ServerInterface

__all__ = ["RootedSFTPHandle", "RootedSFTPServerInterface"]

_O_PATH: Final = getattr(os, "O_PATH", os.O_RDONLY)
_O_CLOEXEC: Final = getattr(os, "O_CLOEXEC", 0)
_O_NOFOLLOW: Final = getattr(os, "O_NOFOLLOW", 0)
_O_DIRECTORY: Final = getattr(os, "O_DIRECTORY", 0)
_O_NONBLOCK: Final = getattr(os, "O_NONBLOCK", 0)
_DIR_FLAGS: Final = _O_PATH | _O_DIRECTORY | _O_NOFOLLOW | _O_CLOEXEC
_PROC_FD: Final = "/proc/self/fd"
_MAX_OFFSET: Final = (1 << 63) - 1
#: symbolic links followed while resolving one path (Linux's limit)
MAX_SYMLINKS: Final = 40
#: directories deep a path may go
MAX_DEPTH: Final = 1024


def _status(exc: OSError) -> int:
    return SFTPServer.convert_errno(exc.errno)


class _Resolved:
    """Where a path leads: a directory descriptor and a name in it (``"."``: the directory).

    Owns every descriptor in ``fds`` but the first (the root's). Use it as a context manager.
    """

    __slots__ = ("fds", "name", "names")

    def __init__(self, fds: list[int], names: list[str], name: str) -> None:
        self.fds = fds
        self.names = names
        self.name = name

    @property
    def dir_fd(self) -> int:
        return self.fds[-1]

    @property
    def vpath(self) -> str:
        """The path as the client sees it: absolute, with no link, ``.`` or ``..`` in it."""
        parts = self.names if self.name == "." else [*self.names, self.name]
        return "/" + "/".join(parts)

    def close(self) -> None:
        fds, self.fds = self.fds, self.fds[:1]
        for fd in fds[1:]:
            os.close(fd)

    def __enter__(self) -> _Resolved:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RootedSFTPHandle(SFTPHandle):
    """An open file of :class:`RootedSFTPServerInterface`: positional I/O on a descriptor.

    :param fd: the open file descriptor (the handle owns it and closes it).
    :param flags: the :func:`os.open` flags it was opened with.
    :param path: the client's name for the file (for ``repr`` and logs).
    """

    def __init__(self, fd: int, flags: int = 0, path: str = "") -> None:
        super().__init__(flags)
        self.fd: int | None = fd
        self.path = path

    def __repr__(self) -> str:
        return f"<RootedSFTPHandle {self.path!r} fd={self.fd}>"

    def _fd(self, offset: int = 0) -> int:
        if self.fd is None:
            raise OSError(errno.EBADF, "handle is closed")
        if offset > _MAX_OFFSET:  # beyond off_t: what lseek(2) says
            raise OSError(errno.EINVAL, "offset out of range")
        return self.fd

    def close(self) -> None:
        fd, self.fd = self.fd, None
        if fd is not None:
            os.close(fd)

    def read(self, offset: int, length: int) -> bytes | int:
        try:
            return os.pread(self._fd(offset), length, offset)
        except OSError as exc:
            return _status(exc)

    def _readinto(self, offset: int, buffer: memoryview) -> int | None:
        if type(self).read is not RootedSFTPHandle.read:
            return None
        return os.preadv(self._fd(offset), [buffer], offset)

    def write(self, offset: int, data: bytes) -> int:
        try:
            fd = self._fd(offset + len(data))
            view = memoryview(data)
            append = bool(self._get_flags() & os.O_APPEND)
            while view:
                written = os.write(fd, view) if append else os.pwrite(fd, view, offset)
                if written <= 0:
                    return SFTP_FAILURE
                view = view[written:]
                offset += written
        except OSError as exc:
            return _status(exc)
        return SFTP_OK

    def _write_view(self, offset: int, data: memoryview) -> int | None:
        if type(self).write is not RootedSFTPHandle.write:
            return None
        return self.write(offset, data)  # type: ignore[arg-type]

    def stat(self) -> SFTPAttributes | int:
        try:
            return SFTPAttributes.from_stat(os.fstat(self._fd()))
        except OSError as exc:
            return _status(exc)

    def chattr(self, attr: SFTPAttributes) -> int:
        try:
            fd = self._fd()
            if attr.st_size is not None:
                os.ftruncate(fd, attr.st_size)
            if attr.st_mode is not None:
                os.fchmod(fd, attr.st_mode & 0o7777)
            if attr.st_atime is not None and attr.st_mtime is not None:
                os.utime(fd, (attr.st_atime, attr.st_mtime))
            if attr.st_uid is not None and attr.st_gid is not None:
                os.fchown(fd, attr.st_uid, attr.st_gid)
        except OSError as exc:
            return _status(exc)
        return SFTP_OK

    def fsync(self) -> int:
        try:
            os.fsync(self._fd())
        except OSError as exc:
            return _status(exc)
        return SFTP_OK

    def statvfs(self) -> os.statvfs_result | int:
        try:
            return os.fstatvfs(self._fd())
        except OSError as exc:
            return _status(exc)


class RootedSFTPServerInterface(SFTPServerInterface):
    """Serve the local directory ``root`` over SFTP, with the client confined to it.

    Register it with :class:`~sshwire.sftp_server.SFTPServer`::

        transport.set_subsystem_handler("sftp", SFTPServer, RootedSFTPServerInterface, "/srv")

    (``SSHServer(sftp_root=...)`` does this). Everything runs as the user running the server;
    the root appears to the client as ``/``. Files are created with the mode the client
    asks for (default 0666, folders 0777), less the process umask. RENAME refuses to replace
    an existing name (``posix-rename@openssh.com`` replaces). Listings leave out ``.`` and
    ``..``. Every OpenSSH extension that :class:`~sshwire.sftp_server.SFTPServer` knows is
    served.

    Confinement does not depend on the client's good manners nor on timing: paths are
    walked one component at a time with ``openat(..., O_NOFOLLOW)`` from a descriptor of
    the root, symbolic links are read and resolved by this class (absolute targets from the
    root, ``..`` never above it, at most 40 links), and the final call never follows a link
    itself, so a link swapped in meanwhile makes the call fail instead of escaping.

    :param server: the connection's :class:`~sshwire.server.ServerInterface` (unused).
    :param root: the directory to serve. It is opened when the session starts; if that
        fails, every request fails.
    """

    def __init__(
        self, server: ServerInterface, root: str | os.PathLike[str], *args: Any, **kwargs: Any
    ) -> None:
        super().__init__(server, *args, **kwargs)
        self.root = os.path.abspath(os.fspath(root))
        self._root_fd: int | None = None

    # ------------------------------------------------------------------ session

    def session_started(self) -> None:
        try:
            self._root()
        except OSError:
            pass  # reported by each request

    def session_ended(self) -> None:
        fd, self._root_fd = self._root_fd, None
        if fd is not None:
            os.close(fd)

    def _root(self) -> int:
        if self._root_fd is None:
            self._root_fd = os.open(self.root, _O_PATH | _O_DIRECTORY | _O_CLOEXEC)
        return self._root_fd

    # ------------------------------------------------------------------ path resolution

    def _resolve(self, path: str, follow: bool) -> _Resolved:
        """Walk ``path`` inside the root (see the module docstring); raises OSError.

        With ``follow``, a symbolic link in the last place is followed too. The last
        component need not exist.
        """
        fds = [self._root()]
        names: list[str] = []
        todo = deque(p for p in path.split("/") if p)
        links = 0
        final = "."

        def splice(target: str) -> None:
            nonlocal links
            links += 1
            if links > MAX_SYMLINKS:
                raise OSError(errno.ELOOP, "too many levels of symbolic links", path)
            if target.startswith("/"):  # absolute: from the root
                while len(fds) > 1:
                    os.close(fds.pop())
                names.clear()
            todo.extendleft(reversed([p for p in target.split("/") if p] or ["."]))

        try:
            while todo:
                comp = todo.popleft()
                last = not todo
                if comp == "." or comp == "..":
                    if comp == ".." and len(fds) > 1:
                        os.close(fds.pop())
                        names.pop()
                    if last:
                        final = "."
                    continue
                parent = fds[-1]
                if last:
                    if follow and _is_link(comp, parent):
                        splice(os.readlink(comp, dir_fd=parent))
                        continue
                    final = comp
                    break
                try:
                    fd = os.open(comp, _DIR_FLAGS, dir_fd=parent)
                except OSError as exc:
                    if exc.errno not in (errno.ELOOP, errno.ENOTDIR) or not _is_link(comp, parent):
                        raise
                    splice(os.readlink(comp, dir_fd=parent))
                    continue
                if len(fds) > MAX_DEPTH:
                    os.close(fd)
                    raise OSError(errno.ENAMETOOLONG, "path too deep", path)
                fds.append(fd)
                names.append(comp)
        except BaseException:
            for fd in fds[1:]:
                os.close(fd)
            raise
        return _Resolved(fds, names, final)

    def _apply_attrs(self, res: _Resolved, attr: SFTPAttributes) -> None:
        """Set ``attr`` on what ``res`` names (not a link), through an O_PATH descriptor."""
        if not os.path.isdir(_PROC_FD):  # no procfs: by name (a link swapped in is followed)
            _set_attrs(res.name, res.dir_fd, attr)
            return
        fd = os.open(res.name, _O_PATH | _O_NOFOLLOW | _O_CLOEXEC, dir_fd=res.dir_fd)
        try:
            if stat.S_ISLNK(os.fstat(fd).st_mode):
                raise OSError(errno.ELOOP, "is a symbolic link")
            _set_attrs(f"{_PROC_FD}/{fd}", None, attr)
        finally:
            os.close(fd)

    # ------------------------------------------------------------------ the hooks

    def open(self, path: str, flags: int, attr: SFTPAttributes) -> SFTPHandle | int:
        exclusive = bool(flags & os.O_CREAT and flags & os.O_EXCL)
        mode = attr.st_mode & 0o7777 if attr.st_mode is not None else 0o666
        try:
            with self._resolve(path, follow=not exclusive) as res:
                # O_NONBLOCK: opening a FIFO must not hang the session
                fd = os.open(
                    res.name,
                    flags | _O_NOFOLLOW | _O_CLOEXEC | _O_NONBLOCK,
                    mode,
                    dir_fd=res.dir_fd,
                )
                vpath = res.vpath
        except OSError as exc:
            return _status(exc)
        try:
            if stat.S_ISREG(os.fstat(fd).st_mode):
                os.set_blocking(fd, True)
        except OSError as exc:
            os.close(fd)
            return _status(exc)
        return RootedSFTPHandle(fd, flags, vpath)

    def list_folder(self, path: str) -> list[SFTPAttributes] | int:
        try:
            with self._resolve(path, follow=True) as res:
                fd = os.open(
                    res.name,
                    os.O_RDONLY | _O_DIRECTORY | _O_NOFOLLOW | _O_CLOEXEC,
                    dir_fd=res.dir_fd,
                )
            try:
                entries = []
                for name in os.listdir(fd):
                    try:
                        st = os.stat(name, dir_fd=fd, follow_symlinks=False)
                    except FileNotFoundError:
                        continue  # removed while we listed
                    entries.append(SFTPAttributes.from_stat(st, name))
                return entries
            finally:
                os.close(fd)
        except OSError as exc:
            return _status(exc)

    def _stat(self, path: str, follow: bool) -> SFTPAttributes | int:
        try:
            with self._resolve(path, follow=follow) as res:
                st = os.stat(res.name, dir_fd=res.dir_fd, follow_symlinks=False)
                return SFTPAttributes.from_stat(st, res.vpath.rpartition("/")[2] or "/")
        except OSError as exc:
            return _status(exc)

    def stat(self, path: str) -> SFTPAttributes | int:
        return self._stat(path, True)

    def lstat(self, path: str) -> SFTPAttributes | int:
        return self._stat(path, False)

    def remove(self, path: str) -> int:
        try:
            with self._resolve(path, follow=False) as res:
                os.unlink(res.name, dir_fd=res.dir_fd)
        except OSError as exc:
            return _status(exc)
        return SFTP_OK

    def _rename(self, oldpath: str, newpath: str, replace: bool) -> int:
        try:
            with (
                self._resolve(oldpath, follow=False) as old,
                self._resolve(newpath, follow=False) as new,
            ):
                if not replace and _exists(new.name, new.dir_fd):
                    return SFTP_FAILURE
                os.rename(old.name, new.name, src_dir_fd=old.dir_fd, dst_dir_fd=new.dir_fd)
        except OSError as exc:
            return _status(exc)
        return SFTP_OK

    def rename(self, oldpath: str, newpath: str) -> int:
        return self._rename(oldpath, newpath, replace=False)

    def posix_rename(self, oldpath: str, newpath: str) -> int:
        return self._rename(oldpath, newpath, replace=True)

    def mkdir(self, path: str, attr: SFTPAttributes) -> int:
        mode = attr.st_mode & 0o7777 if attr.st_mode is not None else 0o777
        try:
            with self._resolve(path, follow=False) as res:
                os.mkdir(res.name, mode, dir_fd=res.dir_fd)
        except OSError as exc:
            return _status(exc)
        return SFTP_OK

    def rmdir(self, path: str) -> int:
        try:
            with self._resolve(path, follow=False) as res:
                os.rmdir(res.name, dir_fd=res.dir_fd)
        except OSError as exc:
            return _status(exc)
        return SFTP_OK

    def chattr(self, path: str, attr: SFTPAttributes) -> int:
        try:
            with self._resolve(path, follow=True) as res:
                self._apply_attrs(res, attr)
        except OSError as exc:
            return _status(exc)
        return SFTP_OK

    def lchattr(self, path: str, attr: SFTPAttributes) -> int:
        try:
            with self._resolve(path, follow=False) as res:
                st = os.stat(res.name, dir_fd=res.dir_fd, follow_symlinks=False)
                if not stat.S_ISLNK(st.st_mode):
                    self._apply_attrs(res, attr)
                    return SFTP_OK
                # a link itself: Linux can change its owner and times, not its mode or size
                if attr.st_mode is not None or attr.st_size is not None:
                    raise OSError(errno.EOPNOTSUPP, "cannot change a symbolic link's mode")
                if attr.st_atime is not None and attr.st_mtime is not None:
                    times = (attr.st_atime, attr.st_mtime)
                    os.utime(res.name, times, dir_fd=res.dir_fd, follow_symlinks=False)
                if attr.st_uid is not None and attr.st_gid is not None:
                    os.chown(
                        res.name,
                        attr.st_uid,
                        attr.st_gid,
                        dir_fd=res.dir_fd,
                        follow_symlinks=False,
                    )
        except OSError as exc:
            return _status(exc)
        return SFTP_OK

    def canonicalize(self, path: str) -> str | int:
        try:
            with self._resolve(path, follow=True) as res:
                return res.vpath
        except OSError as exc:
            return _status(exc)

    def readlink(self, path: str) -> str | int:
        try:
            with self._resolve(path, follow=False) as res:
                return os.readlink(res.name, dir_fd=res.dir_fd)
        except OSError as exc:
            return _status(exc)

    def symlink(self, target_path: str, path: str) -> int:
        try:
            with self._resolve(path, follow=False) as res:
                os.symlink(target_path, res.name, dir_fd=res.dir_fd)
        except OSError as exc:
            return _status(exc)
        return SFTP_OK

    def hardlink(self, oldpath: str, newpath: str) -> int:
        try:
            with (
                self._resolve(oldpath, follow=False) as old,
                self._resolve(newpath, follow=False) as new,
            ):
                os.link(
                    old.name,
                    new.name,
                    src_dir_fd=old.dir_fd,
                    dst_dir_fd=new.dir_fd,
                    follow_symlinks=False,
                )
        except OSError as exc:
            return _status(exc)
        return SFTP_OK

    def statvfs(self, path: str) -> os.statvfs_result | int:
        try:
            with self._resolve(path, follow=True) as res:
                fd = os.open(res.name, _O_PATH | _O_NOFOLLOW | _O_CLOEXEC, dir_fd=res.dir_fd)
            try:
                return os.fstatvfs(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            return _status(exc)


def _is_link(name: str, dir_fd: int) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except FileNotFoundError:
        return False


def _exists(name: str, dir_fd: int) -> bool:
    try:
        os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def _set_attrs(name: str, dir_fd: int | None, attr: SFTPAttributes) -> None:
    """Apply the fields of ``attr`` that are set, in sftp-server's order (size, mode, times,
    owner: a change of owner may clear set-id bits, so it comes last)."""
    if attr.st_size is not None:
        if dir_fd is None:  # a /proc/self/fd path: a link by design, to be followed
            os.truncate(name, attr.st_size)
        else:
            flags = os.O_WRONLY | _O_NOFOLLOW | _O_CLOEXEC | _O_NONBLOCK
            fd = os.open(name, flags, dir_fd=dir_fd)
            try:
                os.ftruncate(fd, attr.st_size)
            finally:
                os.close(fd)
    if attr.st_mode is not None:
        os.chmod(name, attr.st_mode & 0o7777, dir_fd=dir_fd)
    if attr.st_atime is not None and attr.st_mtime is not None:
        os.utime(name, (attr.st_atime, attr.st_mtime), dir_fd=dir_fd)
    if attr.st_uid is not None and attr.st_gid is not None:
        os.chown(name, attr.st_uid, attr.st_gid, dir_fd=dir_fd)

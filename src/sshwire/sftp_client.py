"""The SFTP client: paramiko's ``SFTPClient`` over an ``sftp`` subsystem channel.

Theory of operation
-------------------
:class:`SFTPClient` speaks SFTP version 3 (draft-ietf-secsh-filexfer-02) plus the OpenSSH
extensions of OpenSSH's PROTOCOL file §4 that the server announces in its VERSION packet.
Requests and reply dispatch live in :mod:`sshwire._sftp_io`: every request gets an id, any
number may be outstanding, and whichever thread reads a reply hands it to the request's owner,
so one client may be used by several threads at once.

Transfers are pipelined by default: :meth:`SFTPClient.get`/:meth:`~SFTPClient.getfo` keep up to
64 READ requests in flight, :meth:`~SFTPClient.put`/:meth:`~SFTPClient.putfo` as many WRITE
requests as the round trip needs (2 to 64). The request size follows the server's
``limits@openssh.com`` answer (OpenSSH 9.x allows 255 KiB; without the extension it is
32 KiB, what every server accepts). The ``limits@openssh.com`` request is sent right after
the handshake without waiting for its reply, so it costs no round trip. Paths are sent as
UTF-8; names that are not valid UTF-8 come back as ``str`` with surrogate escapes (as
:func:`os.listdir` does) and go back to the server unchanged.
"""

from __future__ import annotations

import errno
import logging
import os
import stat as _stat
import struct
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import IO, Any, Final

from . import util
from ._proto.errors import DecodeError
from ._proto.wire import Reader
from ._sftp_io import (
    HEADER,
    U32,
    U64,
    _Engine,
    _Waiter,
    status_error,
)
from .channel import Channel
from .message import Message
from .sftp import (
    CMD_ATTRS,
    CMD_CLOSE,
    CMD_EXTENDED,
    CMD_EXTENDED_REPLY,
    CMD_HANDLE,
    CMD_LSTAT,
    CMD_MKDIR,
    CMD_NAME,
    CMD_OPEN,
    CMD_OPENDIR,
    CMD_READDIR,
    CMD_READLINK,
    CMD_REALPATH,
    CMD_REMOVE,
    CMD_RENAME,
    CMD_RMDIR,
    CMD_SETSTAT,
    CMD_STAT,
    CMD_STATUS,
    CMD_SYMLINK,
    SFTP_FLAG_APPEND,
    SFTP_FLAG_CREATE,
    SFTP_FLAG_EXCL,
    SFTP_FLAG_READ,
    SFTP_FLAG_TRUNC,
    SFTP_FLAG_WRITE,
    BaseSFTP,
    SFTPError,
    int64,
)
from .sftp_attr import SFTPAttributes
from .sftp_file import SFTPFile
from .ssh_exception import SSHException
from .util import ClosingContextManager

__all__ = ["SFTP", "SFTPClient"]

#: The channel window :meth:`SFTPClient.from_transport` asks for when none is given: room for
#: the replies to a full pipeline of reads (paramiko uses the transport's 2 MiB default).
SFTP_WINDOW_SIZE: Final = 8 << 20
#: READ/WRITE size when the server does not announce ``limits@openssh.com``.
DEFAULT_IO_SIZE: Final = 32768
#: The largest READ/WRITE we ever send, whatever the server allows.
MAX_IO_SIZE: Final = 1 << 20
#: READDIR requests :meth:`SFTPClient.listdir_attr` keeps in flight.
_READDIR_AHEAD: Final = 4
_LIMITS: Final = "limits@openssh.com"
# size, uid+gid, permissions, atime+mtime (filexfer-02 §5)
_ALL_V3_FIELDS: Final = 0x0F
_ATTRS_ALL: Final = struct.Struct(">QIIIII")
#: The path separator, as bytes (paramiko's name).
b_slash: Final = b"/"


def _string(data: bytes) -> bytes:
    return U32.pack(len(data)) + data


def _encode(item: Any) -> bytes:
    """One request field as paramiko's ``_async_request`` writes it."""
    if isinstance(item, int64):
        return U64.pack(item)
    if isinstance(item, int):
        return U32.pack(item)
    if isinstance(item, SFTPAttributes):
        return item._to_bytes()
    if isinstance(item, str):
        return _string(item.encode("utf-8", "surrogateescape"))
    return _string(bytes(item))


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _path_bytes(path: Any) -> bytes:
    if isinstance(path, bytes):
        return path
    if isinstance(path, str):
        return path.encode("utf-8", "surrogateescape")
    if isinstance(path, os.PathLike):
        return _path_bytes(os.fspath(path))
    raise TypeError(f"Expected unicode or bytes, got {type(path)}")


class SFTPClient(BaseSFTP, ClosingContextManager):
    """An SFTP session over a channel that runs the ``sftp`` subsystem.

    Create one with :meth:`from_transport` (or ``SSHClient.open_sftp()``,
    ``Transport.open_sftp_client()``), or from a channel on which ``invoke_subsystem("sftp")``
    was already called. The methods mirror :mod:`os`: errors are :class:`OSError` subclasses
    (``FileNotFoundError`` with ``errno.ENOENT``, ``PermissionError`` with ``errno.EACCES``)
    carrying the server's message. Usable as a context manager, and from several threads.
    """

    def __init__(self, sock: Any) -> None:
        BaseSFTP.__init__(self)
        self.sock = sock
        self.ultra_debug = False
        self._cwd: bytes | None = None
        if type(sock) is Channel:
            transport = sock.get_transport()
            if transport is not None:
                self.logger = util.get_logger(transport.get_log_channel() + ".sftp")
                self.ultra_debug = transport.get_hexdump()
        self._engine = _Engine(sock, self._unexpected)
        self._limits: _Waiter | None = None
        self._io_sizes: tuple[int, int] | None = None
        try:
            server_version = self._send_version()
        except EOFError as exc:
            raise SSHException("EOF during negotiation") from exc
        self._log(logging.INFO, f"Opened sftp connection (server version {server_version})")
        if _LIMITS in self._peer_extensions:
            # OpenSSH PROTOCOL §4.8: ask now, read the answer with the first reply we need
            self._limits = _Waiter()
            num = self._engine.register(self._limits)
            body = _string(_LIMITS.encode())
            self._engine.send(HEADER.pack(len(body) + 5, CMD_EXTENDED, num) + body)

    @classmethod
    def from_transport(
        cls, t: Any, window_size: int | None = None, max_packet_size: int | None = None
    ) -> SFTPClient | None:
        """Open a session channel on the authenticated transport *t*, start the ``sftp``
        subsystem on it and return a client (``None`` if the channel could not be opened).

        Without *window_size*, the channel asks for :data:`SFTP_WINDOW_SIZE` (8 MiB) so a full
        pipeline of READ replies can be in flight; *max_packet_size* defaults to the
        transport's.
        """
        chan = t.open_session(
            window_size=window_size or max(SFTP_WINDOW_SIZE, t.default_window_size),
            max_packet_size=max_packet_size,
        )
        if chan is None:
            return None
        chan.invoke_subsystem("sftp")
        return cls(chan)

    def _log(self, level: int, msg: Any, *args: Any) -> None:
        if isinstance(msg, list):
            for line in msg:
                self._log(level, line, *args)
            return
        if not self.logger.isEnabledFor(level):
            return
        get_name = getattr(self.sock, "get_name", None)
        name = get_name() if get_name is not None else "?"
        super()._log(level, "[chan %s] " + msg.replace("%", "%%"), name, *args)

    def _unexpected(self, num: int) -> None:
        self._log(logging.DEBUG, f"Unexpected response #{num}")

    @property
    def request_number(self) -> int:
        """The id the next request will carry."""
        return self._engine.request_number

    def close(self) -> None:
        """Close the session and its channel; requests waiting for a reply then fail."""
        self._log(logging.INFO, "sftp session closed.")
        self.sock.close()

    def get_channel(self) -> Any:
        """The channel under this session (to set a timeout on it, for example)."""
        return self.sock

    # ------------------------------------------------------------------ requests

    def _call(self, t: int, body: bytes, path: Any = None, path2: Any = None) -> tuple[int, Any]:
        """One request and its reply; an error STATUS raises (EOF as :class:`EOFError`)."""
        rt, data = self._engine.request(t, body)
        if rt == CMD_STATUS:
            error = status_error(data, path, path2)
            if error is not None:
                raise error
        return rt, data

    def _request(self, t: int, *args: Any) -> tuple[int, Message]:
        """paramiko's internal request helper: fields encoded by type, reply as a Message."""
        rt, data = self._call(t, b"".join(_encode(a) for a in args))
        msg = Message(bytes(data))
        if rt == CMD_STATUS:
            msg.get_int()
            msg.get_string()
        return rt, msg

    def _convert_status(self, msg: Message) -> None:
        """Raise the exception a STATUS message stands for; nothing for ``SSH_FX_OK``."""
        error = status_error(msg.get_remainder())
        if error is not None:
            raise error

    def _adjust_cwd(self, path: Any) -> bytes:
        """*path* as bytes, relative to the emulated working directory (see :meth:`chdir`)."""
        raw = _path_bytes(path)
        cwd = self._cwd
        if cwd is None or raw[:1] == b"/":
            return raw
        if cwd == b"/":
            return cwd + raw
        return cwd + b"/" + raw

    def _path_call(self, t: int, path: Any, extra: bytes = b"") -> tuple[int, Any]:
        raw = self._adjust_cwd(path)
        self._log(logging.DEBUG, f"{_NAMES.get(t, t)}({raw!r})")
        return self._call(t, _string(raw) + extra, path)

    def _extended(self, name: str, body: bytes, path: Any = None, path2: Any = None) -> Any:
        """An OpenSSH extension request (PROTOCOL §4); unannounced ones raise ``OSError``."""
        if name not in self._peer_extensions:
            raise OSError(errno.EOPNOTSUPP, f"the server does not support {name}")
        return self._call(CMD_EXTENDED, _string(name.encode()) + body, path, path2)

    def _transfer_sizes(self) -> tuple[int, int]:
        """``(read size, write size)`` for this server, from ``limits@openssh.com`` if known."""
        sizes = self._io_sizes
        if sizes is not None:
            return sizes
        read = write = DEFAULT_IO_SIZE
        waiter = self._limits
        if waiter is not None:
            self._engine.pump(waiter.ready)
            if waiter.t == CMD_EXTENDED_REPLY and waiter.data is not None:
                try:
                    reader = Reader(waiter.data)
                    max_packet, max_read, max_write = (reader.uint64() for _ in range(3))
                except DecodeError:
                    max_packet = max_read = max_write = 0
                cap = MAX_IO_SIZE
                if max_packet:
                    cap = min(cap, max_packet - 1024)
                if max_read:
                    read = max(1024, min(max_read, cap))
                if max_write:
                    write = max(1024, min(max_write, cap))
            self._limits = None
        self._io_sizes = (read, write)
        return read, write

    def _attrs_reply(self, t: int, data: Any) -> SFTPAttributes:
        if t != CMD_ATTRS:
            raise SFTPError("Expected attributes")
        try:
            return SFTPAttributes._read(Reader(data))
        except DecodeError as exc:
            raise SFTPError(f"Garbage attributes: {exc}") from None

    @staticmethod
    def _names_reply(t: int, data: Any) -> list[SFTPAttributes]:
        """The entries of a NAME reply (filexfer-02 §7), with ``filename``/``longname`` set."""
        if t != CMD_NAME:
            raise SFTPError("Expected name response")
        entries = []
        buf = bytes(data)
        end = len(buf)
        unpack = U32.unpack_from
        try:
            (count,) = unpack(buf, 0)
            pos = 4
            for _ in range(count):
                (n,) = unpack(buf, pos)
                stop = pos + 4 + n
                if stop > end:
                    raise DecodeError("name runs past the reply")
                filename = buf[pos + 4 : stop].decode("utf-8", "surrogateescape")
                (n,) = unpack(buf, stop)
                pos = stop + 4 + n
                if pos > end:
                    raise DecodeError("long name runs past the reply")
                longname = buf[stop + 4 : pos].decode("utf-8", "surrogateescape")
                if pos + 32 <= end and unpack(buf, pos)[0] == _ALL_V3_FIELDS:
                    # the usual case (what OpenSSH sends): every field, no extended pairs
                    attrs = SFTPAttributes()
                    attrs._flags = _ALL_V3_FIELDS
                    (
                        attrs.st_size,
                        attrs.st_uid,
                        attrs.st_gid,
                        attrs.st_mode,
                        attrs.st_atime,
                        attrs.st_mtime,
                    ) = _ATTRS_ALL.unpack_from(buf, pos + 4)
                    pos += 32
                else:
                    reader = Reader(memoryview(buf)[pos:])
                    attrs = SFTPAttributes._read(reader)
                    pos += reader.position
                attrs.filename = filename
                attrs.longname = longname
                entries.append(attrs)
        except (DecodeError, struct.error) as exc:
            raise SFTPError(f"Garbage name reply: {exc}") from None
        return entries

    # ------------------------------------------------------------------ directories

    def listdir(self, path: str | bytes = ".") -> list[str]:
        """The names in directory *path*, in the server's order, without ``.`` and ``..``."""
        return [f.filename for f in self.listdir_attr(path)]

    def listdir_attr(self, path: str | bytes = ".") -> list[SFTPAttributes]:
        """The entries of directory *path* as :class:`~sshwire.sftp_attr.SFTPAttributes`
        (with ``filename`` and ``longname`` set), without ``.`` and ``..``."""
        return list(self._iter_dir(path, _READDIR_AHEAD))

    def listdir_iter(self, path: str | bytes = ".", read_aheads: int = 50) -> Iterator[Any]:
        """Like :meth:`listdir_attr`, but yields entries as READDIR replies arrive, keeping up
        to *read_aheads* READDIR requests in flight."""
        return self._iter_dir(path, max(1, read_aheads))

    def _iter_dir(self, path: Any, ahead: int) -> Iterator[SFTPAttributes]:
        # filexfer-02 §6.7: OPENDIR, READDIR until SSH_FX_EOF, CLOSE
        t, data = self._path_call(CMD_OPENDIR, path)
        if t != CMD_HANDLE:
            raise SFTPError("Expected handle")
        handle = self._handle_reply(data)
        engine = self._engine
        body = _string(handle)
        pending: deque[_Waiter] = deque()
        finished = False
        try:
            while True:
                packets = []
                while len(pending) < ahead:
                    waiter = _Waiter()
                    num = engine.register(waiter)
                    packets.append(HEADER.pack(len(body) + 5, CMD_READDIR, num) + body)
                    pending.append(waiter)
                engine.send_many(packets)
                head = pending.popleft()
                engine.pump(head.ready)
                assert head.data is not None
                if head.t == CMD_STATUS:
                    error = status_error(head.data, path)
                    if isinstance(error, EOFError):
                        break
                    if error is None:
                        raise SFTPError("Expected name response")
                    raise error
                for entry in self._names_reply(head.t, head.data):
                    if entry.filename not in (".", ".."):
                        yield entry
            finished = True
        finally:
            close = HEADER.pack(len(body) + 5, CMD_CLOSE, 0) + body
            if finished:
                self._call(CMD_CLOSE, body)
            else:
                # abandoned or failed part-way (maybe inside a finalizer): do not wait
                self._close_later(handle, [close])

    def _handle_reply(self, data: Any) -> bytes:
        try:
            return Reader(data).string()
        except DecodeError:
            raise SFTPError("Garbage handle reply") from None

    def _close_later(self, handle: bytes, packets: list[bytes]) -> None:
        """Send CLOSE for *handle* (after *packets*' other requests) without waiting; the
        replies are ignored. Never blocks on another thread's send (finalizer-safe)."""
        engine = self._engine
        out = []
        for packet in packets:
            t = packet[4]
            body = packet[9:]
            num = engine.register(_ignore)
            out.append(HEADER.pack(len(body) + 5, t, num) + body)
        try:
            engine.send_later(out)
        except Exception as exc:  # the channel is gone: the server closed the handle itself
            self._log(logging.DEBUG, f"close of handle {handle.hex()} not sent: {exc}")

    def mkdir(self, path: str | bytes, mode: int = 0o777) -> None:
        """Create directory *path* with permissions *mode* (the server's umask applies)."""
        attrs = SFTPAttributes()
        attrs.st_mode = mode
        self._path_call(CMD_MKDIR, path, attrs._to_bytes())

    def rmdir(self, path: str | bytes) -> None:
        """Remove the (empty) directory *path*."""
        self._path_call(CMD_RMDIR, path)

    def chdir(self, path: str | bytes | None = None) -> None:
        """Set the directory relative paths are resolved against (``None``: the server's
        default). SFTP has no working directory: the client emulates one.

        :raises SFTPError: ``(errno.ENOTDIR, ...)`` if *path* is not a directory.
        """
        if path is None:
            self._cwd = None
            return
        mode = self.stat(path).st_mode
        if mode is None or not _stat.S_ISDIR(mode):
            code = errno.ENOTDIR
            raise SFTPError(code, f"{os.strerror(code)}: {path!s}")
        self._cwd = _path_bytes(self.normalize(path))

    def getcwd(self) -> str | None:
        """The directory set by :meth:`chdir`, or ``None``."""
        return self._cwd and _text(self._cwd)  # type: ignore[return-value]

    # ------------------------------------------------------------------ files

    def open(self, filename: str | bytes, mode: str = "r", bufsize: int = -1) -> SFTPFile:
        """Open a remote file; *mode* and *bufsize* as for Python's :func:`open`.

        ``r`` read, ``w`` write (create, truncate), ``a`` append (create), ``+`` read and
        write, ``x`` fail if the file exists (with ``w``/``a``), ``b`` binary lines (data is
        always bytes). *bufsize*: 0 or less unbuffered, 1 line-buffered, more buffered.

        :raises OSError: if the server refuses (``FileNotFoundError``, ``PermissionError``...).
        """
        raw = self._adjust_cwd(filename)
        self._log(logging.DEBUG, f"open({raw!r}, {mode!r})")
        flags = 0
        if "r" in mode or "+" in mode:
            flags |= SFTP_FLAG_READ
        if "w" in mode or "+" in mode or "a" in mode:
            flags |= SFTP_FLAG_WRITE
        if "w" in mode:
            flags |= SFTP_FLAG_CREATE | SFTP_FLAG_TRUNC
        if "a" in mode:
            flags |= SFTP_FLAG_CREATE | SFTP_FLAG_APPEND
        if "x" in mode:
            flags |= SFTP_FLAG_CREATE | SFTP_FLAG_EXCL
        # filexfer-02 §6.3: filename, pflags, attrs (none)
        t, data = self._call(CMD_OPEN, _string(raw) + U32.pack(flags) + U32.pack(0), filename)
        if t != CMD_HANDLE:
            raise SFTPError("Expected handle")
        handle = self._handle_reply(data)
        self._log(logging.DEBUG, f"open({raw!r}, {mode!r}) -> {handle.hex()}")
        return SFTPFile(self, handle, mode, bufsize)

    file = open

    def remove(self, path: str | bytes) -> None:
        """Delete the file *path* (directories need :meth:`rmdir`)."""
        self._path_call(CMD_REMOVE, path)

    unlink = remove

    def rename(self, oldpath: str | bytes, newpath: str | bytes) -> None:
        """Rename with SFTP v3 semantics: fails if *newpath* exists (see :meth:`posix_rename`)."""
        old, new = self._adjust_cwd(oldpath), self._adjust_cwd(newpath)
        self._log(logging.DEBUG, f"rename({old!r}, {new!r})")
        self._call(CMD_RENAME, _string(old) + _string(new), oldpath, newpath)

    def posix_rename(self, oldpath: str | bytes, newpath: str | bytes) -> None:
        """Rename, replacing *newpath* if it exists (``posix-rename@openssh.com``, OpenSSH
        PROTOCOL §4.3). Sent even when not announced, as paramiko does."""
        old, new = self._adjust_cwd(oldpath), self._adjust_cwd(newpath)
        self._log(logging.DEBUG, f"posix_rename({old!r}, {new!r})")
        body = _string(b"posix-rename@openssh.com") + _string(old) + _string(new)
        self._call(CMD_EXTENDED, body, oldpath, newpath)

    def stat(self, path: str | bytes) -> SFTPAttributes:
        """Attributes of *path*, following symbolic links (fields the server omits are
        ``None``)."""
        return self._attrs_reply(*self._path_call(CMD_STAT, path))

    def lstat(self, path: str | bytes) -> SFTPAttributes:
        """Attributes of *path* itself, not following a symbolic link."""
        return self._attrs_reply(*self._path_call(CMD_LSTAT, path))

    def symlink(self, source: str | bytes, dest: str | bytes) -> None:
        """Create the symbolic link *dest* pointing at *source* (taken as is, not relative to
        :meth:`chdir`). As with OpenSSH, the target goes first on the wire (PROTOCOL §4.1)."""
        raw_dest = self._adjust_cwd(dest)
        self._log(logging.DEBUG, f"symlink({source!r}, {raw_dest!r})")
        self._call(CMD_SYMLINK, _string(_path_bytes(source)) + _string(raw_dest), dest)

    def _setstat(self, path: Any, attrs: SFTPAttributes) -> None:
        self._path_call(CMD_SETSTAT, path, attrs._to_bytes())

    def chmod(self, path: str | bytes, mode: int) -> None:
        """Set the permission bits of *path* (as :func:`os.chmod`)."""
        attrs = SFTPAttributes()
        attrs.st_mode = mode
        self._setstat(path, attrs)

    def chown(self, path: str | bytes, uid: int, gid: int) -> None:
        """Set the owner and group ids of *path* (both are needed, as with :func:`os.chown`)."""
        attrs = SFTPAttributes()
        attrs.st_uid, attrs.st_gid = uid, gid
        self._setstat(path, attrs)

    def utime(self, path: str | bytes, times: tuple[float, float] | None) -> None:
        """Set ``(atime, mtime)`` of *path*; ``None`` means now. SFTP v3 keeps whole
        seconds."""
        if times is None:
            now = time.time()
            times = (now, now)
        attrs = SFTPAttributes()
        attrs.st_atime, attrs.st_mtime = times
        self._setstat(path, attrs)

    def truncate(self, path: str | bytes, size: int) -> None:
        """Set the size of *path*, cutting it or extending it with zeros."""
        attrs = SFTPAttributes()
        attrs.st_size = size
        self._setstat(path, attrs)

    def readlink(self, path: str | bytes) -> str | None:
        """The target of the symbolic link *path* (``None`` if the server returns none)."""
        t, data = self._path_call(CMD_READLINK, path)
        names = self._names_reply(t, data)
        if not names:
            return None
        if len(names) != 1:
            raise SFTPError(f"Readlink returned {len(names)} results")
        return names[0].filename

    def normalize(self, path: str | bytes) -> str:
        """The server's canonical absolute form of *path* (``"."``: its default directory).

        :raises OSError: if the server cannot resolve it.
        """
        t, data = self._path_call(CMD_REALPATH, path)
        names = self._names_reply(t, data)
        if len(names) != 1:
            raise SFTPError(f"Realpath returned {len(names)} results")
        return names[0].filename

    # ------------------------------------------------------------------ transfers

    def putfo(
        self,
        fl: IO[bytes],
        remotepath: str | bytes,
        file_size: int = 0,
        callback: Callable[[int, int], object] | None = None,
        confirm: bool = True,
    ) -> SFTPAttributes:
        """Copy the open file *fl* to *remotepath* (created or truncated).

        WRITE requests are pipelined (2 to 64 in flight, as the round trip needs). *callback*
        is called as
        ``callback(bytes_confirmed, file_size)`` each time the server confirms a chunk. With
        *confirm*, the remote size is checked afterwards and its attributes returned.

        :raises OSError: on a refused write, or ``"size mismatch in put!"``.
        """
        with self.open(remotepath, "wb") as fr:
            size = fr._upload(fl, file_size, callback)
        if confirm:
            attrs = self.stat(remotepath)
            if attrs.st_size != size:
                raise OSError(f"size mismatch in put!  {attrs.st_size} != {size}")
            return attrs
        return SFTPAttributes()

    def put(
        self,
        localpath: str | os.PathLike[str],
        remotepath: str | bytes,
        callback: Callable[[int, int], object] | None = None,
        confirm: bool = True,
    ) -> SFTPAttributes:
        """Upload the local file *localpath* as *remotepath* (see :meth:`putfo`)."""
        file_size = os.stat(localpath).st_size
        with open(localpath, "rb") as fl:
            return self.putfo(fl, remotepath, file_size, callback, confirm)

    def getfo(
        self,
        remotepath: str | bytes,
        fl: IO[bytes],
        callback: Callable[[int, int], object] | None = None,
        prefetch: bool = True,
        max_concurrent_prefetch_requests: int | None = None,
    ) -> int:
        """Copy *remotepath* into the open file *fl*; return the number of bytes written.

        With *prefetch* (the default), up to *max_concurrent_prefetch_requests* (default 64)
        READ requests are in flight; without it, one at a time. *callback* is called as
        ``callback(bytes_so_far, file_size)`` as each chunk lands. The file is read to its
        end even if it grew since it was stat'ed.
        """
        file_size = self.stat(remotepath).st_size or 0
        with self.open(remotepath, "rb") as fr:
            limit = max_concurrent_prefetch_requests if prefetch else 1
            return fr._download(fl, file_size, callback, limit)

    def get(
        self,
        remotepath: str | bytes,
        localpath: str | os.PathLike[str],
        callback: Callable[[int, int], object] | None = None,
        prefetch: bool = True,
        max_concurrent_prefetch_requests: int | None = None,
    ) -> None:
        """Download *remotepath* to the local file *localpath* (see :meth:`getfo`).

        :raises OSError: on a failed read, or ``"size mismatch in get!"``.
        """
        with open(localpath, "wb") as fl:
            size = self.getfo(remotepath, fl, callback, prefetch, max_concurrent_prefetch_requests)
        local_size = os.stat(localpath).st_size
        if local_size != size:
            raise OSError(f"size mismatch in get!  {local_size} != {size}")

    # ------------------------------------------------------------------ OpenSSH extensions

    def hardlink(self, oldpath: str | bytes, newpath: str | bytes) -> None:
        """sshwire extra: create the hard link *newpath* to *oldpath*
        (``hardlink@openssh.com``, OpenSSH PROTOCOL §4.5)."""
        old, new = self._adjust_cwd(oldpath), self._adjust_cwd(newpath)
        self._extended("hardlink@openssh.com", _string(old) + _string(new), oldpath, newpath)

    def statvfs(self, path: str | bytes) -> os.statvfs_result:
        """sshwire extra: file system statistics for *path*, as :func:`os.statvfs` returns
        them (``statvfs@openssh.com``, OpenSSH PROTOCOL §4.4)."""
        raw = self._adjust_cwd(path)
        t, data = self._extended("statvfs@openssh.com", _string(raw), path)
        return _statvfs_reply(t, data)

    def expand_path(self, path: str | bytes) -> str:
        """sshwire extra: :meth:`normalize` that also expands ``~`` and ``~user``
        (``expand-path@openssh.com``, OpenSSH PROTOCOL §4.9)."""
        raw = self._adjust_cwd(path)
        t, data = self._extended("expand-path@openssh.com", _string(raw), path)
        names = self._names_reply(t, data)
        if len(names) != 1:
            raise SFTPError(f"expand-path returned {len(names)} results")
        return names[0].filename

    def lsetstat(self, path: str | bytes, attrs: SFTPAttributes) -> None:
        """sshwire extra: set the attributes that are not ``None`` in *attrs* on *path*
        without following a symbolic link (``lsetstat@openssh.com``, PROTOCOL §4.7)."""
        raw = self._adjust_cwd(path)
        self._extended("lsetstat@openssh.com", _string(raw) + attrs._to_bytes(), path)

    def lutime(self, path: str | bytes, times: tuple[float, float] | None) -> None:
        """sshwire extra: :meth:`utime` on a symbolic link itself (``lsetstat@openssh.com``)."""
        if times is None:
            now = time.time()
            times = (now, now)
        attrs = SFTPAttributes()
        attrs.st_atime, attrs.st_mtime = times
        self.lsetstat(path, attrs)

    def lchown(self, path: str | bytes, uid: int, gid: int) -> None:
        """sshwire extra: :meth:`chown` on a symbolic link itself (``lsetstat@openssh.com``)."""
        attrs = SFTPAttributes()
        attrs.st_uid, attrs.st_gid = uid, gid
        self.lsetstat(path, attrs)

    def server_extensions(self) -> dict[str, bytes]:
        """sshwire extra: the extensions the server announced (name -> version data)."""
        return dict(self._peer_extensions)


def _ignore(num: int, t: int, data: memoryview) -> None:
    """Handler for fire-and-forget requests."""


def _statvfs_reply(t: int, data: Any) -> os.statvfs_result:
    # OpenSSH PROTOCOL §4.4: eleven uint64 fields, f_fsid ninth
    if t != CMD_EXTENDED_REPLY:
        raise SFTPError("Expected extended reply")
    try:
        reader = Reader(data)
        f = [reader.uint64() for _ in range(11)]
    except DecodeError:
        raise SFTPError("Garbage statvfs reply") from None
    fields = (f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[9], f[10])
    return os.statvfs_result(fields, {"f_fsid": f[8]})


_NAMES: Final = {
    CMD_OPENDIR: "listdir",
    CMD_MKDIR: "mkdir",
    CMD_RMDIR: "rmdir",
    CMD_REMOVE: "remove",
    CMD_STAT: "stat",
    CMD_LSTAT: "lstat",
    CMD_SETSTAT: "setstat",
    CMD_READLINK: "readlink",
    CMD_REALPATH: "normalize",
}


class SFTP(SFTPClient):
    """Old name of :class:`SFTPClient`, kept for compatibility."""

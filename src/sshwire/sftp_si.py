"""The hooks an SFTP server application implements: :class:`SFTPServerInterface`.

:class:`~sshwire.sftp_server.SFTPServer` decodes each request from the client and calls the
matching method of an ``SFTPServerInterface`` subclass, which does the work (on a real
filesystem, in memory, anywhere) and answers with a result object or an ``SFTP_*`` status
code. Every hook runs in the SFTP session's own thread, so it may block.

The defaults answer ``SFTP_OP_UNSUPPORTED``, except :meth:`~SFTPServerInterface.canonicalize`
(a purely lexical clean-up of the path) and the session hooks (which do nothing), as in
paramiko. The hooks after :meth:`~SFTPServerInterface.symlink` serve OpenSSH's protocol
extensions (OpenSSH's ``PROTOCOL`` file, §4): they are sshwire additions that paramiko does
not have.

:class:`sshwire.testing.RootedSFTPServerInterface` is a complete implementation that serves
one directory of the local filesystem.
"""

from __future__ import annotations

import os
import posixpath
from typing import TYPE_CHECKING, Any

from .sftp import SFTP_OP_UNSUPPORTED

if TYPE_CHECKING:
    from .server import ServerInterface
    from .sftp_attr import SFTPAttributes
    from .sftp_handle import SFTPHandle

__all__ = ["SFTPServerInterface"]


class SFTPServerInterface:
    """What an SFTP server does with each request; subclass it and override the hooks.

    One instance is made per SFTP session, by :class:`~sshwire.sftp_server.SFTPServer`,
    as ``sftp_si(server, *args, **kwargs)``. Paths arrive as ``str`` exactly as the client
    sent them (relative or absolute, unchecked): an implementation that maps them onto a
    filesystem must keep them inside the tree it means to serve.

    A hook that raises makes the request fail with ``SFTP_FAILURE`` (the session goes on);
    returning a status code is the intended way to refuse.
    """

    def __init__(self, server: ServerInterface, *args: Any, **kwargs: Any) -> None:
        """Nothing happens here by default; ``server`` is the connection's ServerInterface."""
        super().__init__(*args, **kwargs)

    # ------------------------------------------------------------------ the session

    def session_started(self) -> None:
        """Called once the version handshake is done, before the first request."""

    def session_ended(self) -> None:
        """Called once when the session ends, however it ends; release resources here."""

    # ------------------------------------------------------------------ files and folders

    def open(self, path: str, flags: int, attr: SFTPAttributes) -> SFTPHandle | int:
        """Open (or create) the file ``path``: an :class:`~sshwire.sftp_handle.SFTPHandle`.

        ``flags`` are :func:`os.open` flags made from the request's SFTP flags: exactly one
        of ``os.O_RDONLY``, ``os.O_WRONLY`` and ``os.O_RDWR``, plus any of ``os.O_APPEND``,
        ``os.O_CREAT``, ``os.O_TRUNC`` and ``os.O_EXCL``. ``attr`` holds the attributes the
        client wants a new file to have (often none). Return a status code to refuse.
        """
        return SFTP_OP_UNSUPPORTED

    def list_folder(self, path: str) -> list[SFTPAttributes] | int:
        """The entries of folder ``path``, each an :class:`~sshwire.sftp_attr.SFTPAttributes`
        with its ``filename`` set (``SFTPAttributes.from_stat(st, name)`` does it), or a
        status code. Clients list ``.`` and ``..`` when they are included; most servers
        include them, neither is required.
        """
        return SFTP_OP_UNSUPPORTED

    def stat(self, path: str) -> SFTPAttributes | int:
        """Attributes of ``path``, following symbolic links; or a status code."""
        return SFTP_OP_UNSUPPORTED

    def lstat(self, path: str) -> SFTPAttributes | int:
        """Attributes of ``path`` itself, even when it is a symbolic link; or a status code."""
        return SFTP_OP_UNSUPPORTED

    def remove(self, path: str) -> int:
        """Delete the file ``path`` (not a folder); a status code."""
        return SFTP_OP_UNSUPPORTED

    def rename(self, oldpath: str, newpath: str) -> int:
        """Rename ``oldpath`` to ``newpath``; a status code.

        SFTP's RENAME must not replace an existing ``newpath``: refuse it when it exists
        (:meth:`posix_rename` is the replacing kind).
        """
        return SFTP_OP_UNSUPPORTED

    def posix_rename(self, oldpath: str, newpath: str) -> int:
        """Rename like POSIX ``rename(2)``, replacing ``newpath`` when it exists.

        Serves OpenSSH's ``posix-rename@openssh.com`` extension. A status code.
        """
        return SFTP_OP_UNSUPPORTED

    def mkdir(self, path: str, attr: SFTPAttributes) -> int:
        """Create the folder ``path``; ``attr`` holds what the client asked for (a hint,
        often empty: look at which fields are not ``None``). A status code."""
        return SFTP_OP_UNSUPPORTED

    def rmdir(self, path: str) -> int:
        """Remove the (empty) folder ``path``; a status code."""
        return SFTP_OP_UNSUPPORTED

    def chattr(self, path: str, attr: SFTPAttributes) -> int:
        """Change the attributes of ``path`` (following symbolic links): only the fields of
        ``attr`` that are not ``None``. A size truncates or extends the file. A status code."""
        return SFTP_OP_UNSUPPORTED

    def canonicalize(self, path: str) -> str | int:
        """The absolute, normalised form of ``path`` (the answer to REALPATH).

        The default only cleans the path up lexically (``/`` + ``path``, then
        :func:`posixpath.normpath`), which suits a server whose working folder is its root.
        A server that knows symbolic links should resolve them. sshwire also accepts a
        status code as the answer, and sends it as the reply.
        """
        return posixpath.normpath(path if path.startswith("/") else "/" + path)

    def readlink(self, path: str) -> str | int:
        """The target of the symbolic link ``path``, or a status code."""
        return SFTP_OP_UNSUPPORTED

    def symlink(self, target_path: str, path: str) -> int:
        """Create the symbolic link ``path`` pointing at ``target_path``; a status code."""
        return SFTP_OP_UNSUPPORTED

    # ------------------------------------------------------------------ sshwire extras
    # OpenSSH's extensions (PROTOCOL §4.3-4.11); SFTPServer announces them in VERSION.

    def statvfs(self, path: str) -> os.statvfs_result | int:
        """File system figures for the file system holding ``path`` (sshwire extra).

        Return an :func:`os.statvfs` result (or any object with its ``f_*`` fields) or a
        status code. Serves ``statvfs@openssh.com`` (``df`` in OpenSSH's ``sftp``);
        ``fstatvfs@openssh.com`` asks :meth:`SFTPHandle.statvfs
        <sshwire.sftp_handle.SFTPHandle.statvfs>` instead.
        """
        return SFTP_OP_UNSUPPORTED

    def hardlink(self, oldpath: str, newpath: str) -> int:
        """Make ``newpath`` a hard link to ``oldpath`` (sshwire extra; serves
        ``hardlink@openssh.com``, ``ln`` in OpenSSH's ``sftp``). A status code."""
        return SFTP_OP_UNSUPPORTED

    def lchattr(self, path: str, attr: SFTPAttributes) -> int:
        """:meth:`chattr` without following a final symbolic link (sshwire extra; serves
        ``lsetstat@openssh.com``). A status code."""
        return SFTP_OP_UNSUPPORTED

    def expand_path(self, path: str) -> str | int:
        """``path`` with a leading ``~`` or ``~/`` expanded, then canonicalised (sshwire
        extra; serves ``expand-path@openssh.com``).

        The default takes the home folder to be the working folder (so ``~/x`` is ``x``)
        and hands the rest to :meth:`canonicalize`; ``~user`` forms are not supported.
        """
        if path == "~":
            path = "."
        elif path.startswith("~/"):
            path = path[2:] or "."
        elif path.startswith("~"):
            return SFTP_OP_UNSUPPORTED
        return self.canonicalize(path)

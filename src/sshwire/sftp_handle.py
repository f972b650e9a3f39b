"""Open files and folders of an SFTP server: :class:`SFTPHandle`.

:meth:`SFTPServerInterface.open <sshwire.sftp_si.SFTPServerInterface.open>` returns an
``SFTPHandle`` (usually a subclass); the server gives the client an opaque handle string for
it and routes READ, WRITE, FSTAT, FSETSTAT and CLOSE requests on that string to the object.

The base class already works for the common case of wrapping Python file objects: set
``self.readfile`` (for reading) and/or ``self.writefile`` (for writing; the same object when
both) and the default :meth:`~SFTPHandle.read`, :meth:`~SFTPHandle.write` and
:meth:`~SFTPHandle.close` use them. Folder listings opened by OPENDIR are handles too; the
server keeps the listing in them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from .sftp import SFTP_OK, SFTP_OP_UNSUPPORTED
from .sftp_attr import SFTPAttributes
from .util import ClosingContextManager

__all__ = ["SFTPHandle"]


def _status_for(exc: OSError) -> int:
    from .sftp_server import SFTPServer

    return SFTPServer.convert_errno(exc.errno)


class SFTPHandle(ClosingContextManager):
    """One open file (or folder listing) of an SFTP session; usable as a context manager.

    :param flags: the :func:`os.open` flags the file was opened with, as
        :meth:`~sshwire.sftp_si.SFTPServerInterface.open` received them; the default
        :meth:`write` honours ``os.O_APPEND`` in them.
    """

    def __init__(self, flags: int = 0) -> None:
        self.__flags = flags
        self.__name: bytes | None = None
        self.__tell: int | None = None  # where readfile/writefile is positioned, if known
        # folder listings: the entries, and how many were sent already
        self.__files: list[SFTPAttributes] = []
        self.__sent = 0

    # ------------------------------------------------------------------ the hooks

    def close(self) -> None:
        """Called when the client closes the handle (or the session ends with it open).

        By default closes ``self.readfile`` and ``self.writefile`` when they are set.
        """
        for name in ("readfile", "writefile"):
            fileobj = getattr(self, name, None)
            if fileobj is not None:
                fileobj.close()

    def read(self, offset: int, length: int) -> bytes | int:
        """Up to ``length`` bytes from ``offset`` (a 64-bit number), or a status code.

        ``b""`` (or ``SFTP_EOF``) means the end of the file. By default reads from
        ``self.readfile``, seeking only when the request does not follow the previous one;
        without a ``readfile``, ``SFTP_OP_UNSUPPORTED``.
        """
        readfile = getattr(self, "readfile", None)
        if readfile is None:
            return SFTP_OP_UNSUPPORTED
        try:
            if self.__tell != offset:
                readfile.seek(offset)
                self.__tell = offset
            data: bytes = readfile.read(length)
        except OSError as exc:
            self.__tell = None
            return _status_for(exc)
        self.__tell = offset + len(data)
        return data

    def write(self, offset: int, data: bytes) -> int:
        """Write all of ``data`` at ``offset`` (the file grows as needed); a status code.

        There is no partial write: write everything or answer an error. By default writes
        to ``self.writefile`` (at its end when the file was opened with ``os.O_APPEND``) and
        flushes it; without a ``writefile``, ``SFTP_OP_UNSUPPORTED``.
        """
        writefile = getattr(self, "writefile", None)
        if writefile is None:
            return SFTP_OP_UNSUPPORTED
        try:
            if not self.__flags & os.O_APPEND and self.__tell != offset:
                writefile.seek(offset)
                self.__tell = offset
            writefile.write(data)
            writefile.flush()
        except OSError as exc:
            self.__tell = None
            return _status_for(exc)
        if self.__flags & os.O_APPEND:
            self.__tell = None
        elif self.__tell is not None:
            self.__tell += len(data)
        return SFTP_OK

    def stat(self) -> SFTPAttributes | int:
        """Attributes of the open file (as ``SFTPServerInterface.stat``), or a status code."""
        return SFTP_OP_UNSUPPORTED

    def chattr(self, attr: SFTPAttributes) -> int:
        """Change the open file's attributes (the fields of ``attr`` that are not ``None``);
        a status code."""
        return SFTP_OP_UNSUPPORTED

    # ------------------------------------------------------------------ sshwire extras

    def fsync(self) -> int:
        """Flush the file to stable storage (sshwire extra; serves ``fsync@openssh.com``).

        A status code; by default ``SFTP_OP_UNSUPPORTED``.
        """
        return SFTP_OP_UNSUPPORTED

    def statvfs(self) -> os.statvfs_result | int:
        """File system figures for the open file (sshwire extra; serves
        ``fstatvfs@openssh.com``): an :func:`os.statvfs` result or a status code."""
        return SFTP_OP_UNSUPPORTED

    # ------------------------------------------------------------------ for the server

    def _readinto(self, offset: int, buffer: memoryview) -> int | None:
        """Fill ``buffer`` from ``offset``: the count read (0 at the end), or ``None`` when the
        server has to call :meth:`read` instead. Raises :class:`OSError`.

        The server's READ path uses it to build DATA replies without a copy; here it works
        for the default :meth:`read` over a ``readfile`` that has ``readinto``.
        """
        if type(self).read is not SFTPHandle.read:
            return None  # a subclass reads its own way
        readfile = getattr(self, "readfile", None)
        readinto = getattr(readfile, "readinto", None)
        if readinto is None:
            return None
        try:
            if self.__tell != offset:
                readfile.seek(offset)  # type: ignore[union-attr]
                self.__tell = offset
            count = readinto(buffer) or 0
        except OSError:
            self.__tell = None
            raise
        self.__tell = offset + count
        return int(count)

    def _write_view(self, offset: int, data: memoryview) -> int | None:
        """:meth:`write` with a ``memoryview`` when that is safe (the default :meth:`write`),
        else ``None``: the server then passes ``bytes`` to :meth:`write`."""
        if type(self).write is not SFTPHandle.write:
            return None
        return self.write(offset, data)  # type: ignore[arg-type]

    def _set_files(self, files: Iterable[SFTPAttributes]) -> None:
        """Keep a folder's listing for the READDIR requests to come."""
        self.__files = list(files)
        self.__sent = 0

    def _get_next_files(self, count: int = 16) -> list[SFTPAttributes]:
        """The next ``count`` entries of the listing (none left: an empty list)."""
        start = self.__sent
        batch = self.__files[start : start + count]
        self.__sent = start + len(batch)
        if self.__sent >= len(self.__files):
            self.__files = []  # all sent: let the entries go
            self.__sent = 0
        return batch

    def _files_left(self) -> int:
        return len(self.__files) - self.__sent

    def _get_name(self) -> bytes | None:
        return self.__name

    def _set_name(self, name: bytes) -> None:
        self.__name = name

    def _get_flags(self) -> int:
        return self.__flags

    def __repr__(self) -> str:
        name = self.__name.decode("ascii", "replace") if self.__name else "unnamed"
        return f"<{type(self).__name__} {name}>"

    # keep mypy aware that subclasses may set these
    readfile: Any
    writefile: Any

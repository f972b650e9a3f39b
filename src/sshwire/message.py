"""Building and parsing SSH messages field by field, with paramiko's ``Message`` API.

:class:`Message` is the public, paramiko-compatible face of the RFC 4251 §5 field encodings;
the protocol core uses the leaner :mod:`sshwire._proto.wire` codec instead. The class copies
paramiko's observable behaviour exactly, quirks included:

* one cursor serves both reading and writing, so ``add_*`` after ``get_*`` (or on a message
  built from *content*) overwrites bytes at the cursor rather than appending;
* a read past the end returns the bytes that are there, padded with zero bytes up to the
  requested size when that size is below 1 MiB, instead of raising;
* ``add_mpint(0)`` writes a one-byte string ``00`` (see :func:`~sshwire.util.deflate_long`),
  not the empty string RFC 4251 asks for; both decode to 0.

One deliberate difference: the ``repr()`` of an authentication request or of an answer to a
keyboard-interactive prompt (which carry passwords) names the message and its size instead of
showing its bytes (see docs/compat.md).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Any, Final

from .util import asbytes, deflate_long, inflate_long

__all__ = ["Message"]

_U32: Final = struct.Struct(">I")
_U64: Final = struct.Struct(">Q")
_PAD_LIMIT: Final = 1 << 20  # short reads below this size are zero-padded
#: Messages that may carry a password: their repr() hides the contents (RFC 4252 §8, 4256 §3.4)
_SECRET_MESSAGES: Final = {50: "USERAUTH_REQUEST", 61: "USERAUTH_INFO_RESPONSE"}


class Message:
    """An SSH message: a byte buffer with a cursor, read and written in SSH field encodings.

    *content*, if given, is the initial buffer (any bytes-like object), positioned at its
    start for reading. Every ``add_*`` method returns the message itself, so calls chain.
    """

    #: Integers at or above this value are written by :meth:`add_adaptive_int` in long form.
    big_int = 0xFF000000

    def __init__(self, content: bytes | bytearray | memoryview | None = None) -> None:
        # Content to parse is kept as immutable bytes (one copy per read); the first write
        # switches the buffer to a bytearray.
        self._buf: bytes | bytearray
        if content is None:
            self._buf = b""
        elif type(content) is bytes:
            self._buf = content
        else:
            self._buf = bytes(memoryview(content))
        self._pos = 0
        #: set for a message whose type byte was taken off and that may hold a password
        self._secret: str | None = None

    def __bytes__(self) -> bytes:
        """``bytes(msg)`` is the same as :meth:`asbytes`."""
        return self.asbytes()

    def __repr__(self) -> str:
        """The contents, shown as ``sshwire.Message(b'...')`` (hidden if they may hold a
        password)."""
        buf = self._buf
        secret = self._secret or (_SECRET_MESSAGES.get(buf[0]) if buf else None)
        if secret is not None:
            return f"sshwire.Message(<{secret}, {len(buf)} bytes, contents hidden>)"
        return f"sshwire.Message({bytes(buf)!r})"

    def asbytes(self) -> bytes:
        """The whole message (regardless of the cursor) as ``bytes``."""
        return bytes(self._buf)

    def rewind(self) -> None:
        """Move the cursor back to the start, to read the message again."""
        self._pos = 0

    def get_remainder(self) -> bytes:
        """The bytes after the cursor, without moving it."""
        return bytes(self._buf[self._pos :])

    def get_so_far(self) -> bytes:
        """The bytes before the cursor, without moving it."""
        return bytes(self._buf[: self._pos])

    # ----------------------------------------------------------------------------------------
    # Reading

    def get_bytes(self, n: int) -> bytes:
        """Read *n* raw bytes.

        If fewer are left, the result is zero-padded to *n* bytes when *n* is under 1 MiB and
        returned short otherwise. A negative *n* reads everything that is left.
        """
        buf = self._buf
        pos = self._pos
        end = len(buf)
        stop = pos + n
        if n >= 0 and stop <= end:
            self._pos = stop
            return bytes(buf[pos:stop])
        chunk = bytes(buf[pos:])
        self._pos = end
        if len(chunk) < n < _PAD_LIMIT:
            return chunk + bytes(n - len(chunk))
        return chunk

    def get_byte(self) -> bytes:
        """Read one byte, returned as a ``bytes`` object of length 1."""
        return self.get_bytes(1)

    def get_boolean(self) -> bool:
        """Read a boolean: any byte but zero is true."""
        return self.get_bytes(1) != b"\x00"

    def get_adaptive_int(self) -> int:
        """Read an integer written by :meth:`add_adaptive_int`."""
        first = self.get_bytes(1)
        if first == b"\xff":
            return inflate_long(self.get_binary())
        value: int = _U32.unpack(first + self.get_bytes(3))[0]
        return value

    def get_int(self) -> int:
        """Read a ``uint32``."""
        pos = self._pos
        buf = self._buf
        if pos + 4 <= len(buf):
            self._pos = pos + 4
            value: int = _U32.unpack_from(buf, pos)[0]
        else:
            value = _U32.unpack(self.get_bytes(4))[0]
        return value

    def get_int64(self) -> int:
        """Read a ``uint64``."""
        pos = self._pos
        buf = self._buf
        if pos + 8 <= len(buf):
            self._pos = pos + 8
            value: int = _U64.unpack_from(buf, pos)[0]
        else:
            value = _U64.unpack(self.get_bytes(8))[0]
        return value

    def get_mpint(self) -> int:
        """Read an ``mpint`` (a signed, big-endian two's complement integer)."""
        return inflate_long(self.get_binary())

    def get_string(self) -> bytes:
        """Read a ``string`` and return its bytes."""
        return self.get_bytes(self.get_int())

    def get_text(self) -> str:
        """Read a ``string`` and decode it as UTF-8 (invalid UTF-8 raises ``UnicodeError``)."""
        return self.get_bytes(self.get_int()).decode("utf-8")

    def get_binary(self) -> bytes:
        """Read a ``string`` and return its bytes (the same as :meth:`get_string`)."""
        return self.get_bytes(self.get_int())

    def get_list(self) -> list[str]:
        """Read a ``name-list``; note that an empty string gives ``['']``."""
        return self.get_text().split(",")

    # ----------------------------------------------------------------------------------------
    # Writing

    def _write(self, data: Any) -> None:
        buf = self._buf
        if not isinstance(buf, bytearray):
            buf = self._buf = bytearray(buf)
        pos = self._pos
        if pos == len(buf):
            buf += data
            self._pos = len(buf)
        else:
            view = memoryview(data)
            stop = pos + view.nbytes
            buf[pos:stop] = view
            self._pos = stop

    def add_bytes(self, b: bytes | bytearray | memoryview) -> Message:
        """Write raw bytes with no length prefix."""
        self._write(b)
        return self

    def add_byte(self, b: bytes) -> Message:
        """Write one byte, given as a ``bytes`` object of length 1."""
        self._write(b)
        return self

    def add_boolean(self, b: object) -> Message:
        """Write a boolean: ``01`` for a true value, ``00`` otherwise."""
        self._write(b"\x01" if b else b"\x00")
        return self

    def add_int(self, n: int) -> Message:
        """Write a ``uint32``."""
        self._write(_U32.pack(n))
        return self

    def add_adaptive_int(self, n: int) -> Message:
        """Write an integer in 4 bytes, or as ``ff`` plus an mpint-style string if it is large.

        Values at or above :attr:`big_int` take the long form, whose first byte ``ff`` cannot
        start a short one.
        """
        if n >= Message.big_int:
            self._write(b"\xff")
            self.add_string(deflate_long(n))
        else:
            self._write(_U32.pack(n))
        return self

    def add_int64(self, n: int) -> Message:
        """Write a ``uint64``."""
        self._write(_U64.pack(n))
        return self

    def add_mpint(self, z: int) -> Message:
        """Write an ``mpint`` (0 is written as the one-byte string ``00``)."""
        self.add_string(deflate_long(z))
        return self

    def add_string(self, s: Any) -> Message:
        """Write a ``string``: ``bytes``, ``str`` (as UTF-8), or an object with ``asbytes()``."""
        s = asbytes(s)
        self._write(_U32.pack(len(s)))
        self._write(s)
        return self

    def add_list(self, l: Iterable[str]) -> Message:  # noqa: E741 (paramiko's parameter name)
        """Write a ``name-list`` of the given names, joined by commas."""
        self.add_string(",".join(l))
        return self

    def _add(self, item: Any) -> Message:
        if type(item) is bool:
            return self.add_boolean(item)
        if isinstance(item, int):
            return self.add_adaptive_int(item)
        if type(item) is list:
            return self.add_list(item)
        return self.add_string(item)

    def add(self, *seq: Any) -> None:
        """Write each value by type: bool, int (adaptive), list (name-list), else string."""
        for item in seq:
            self._add(item)

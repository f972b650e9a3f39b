"""The SSH binary field codec of RFC 4251 §5.

Encoders are plain functions that return ``bytes``; decoding goes through :class:`Reader`, a
cursor over a ``memoryview``. Every message the core sends or receives passes through here, so
the code favours precompiled :class:`struct.Struct` objects and slicing over generality.

A :class:`Reader` never lets a malformed field escape as ``IndexError``, ``struct.error`` or
``UnicodeDecodeError``: anything short, overlong or malformed raises
:class:`~sshwire._proto.errors.DecodeError`, whose message names the field being read, and a
failed read leaves the cursor where it was.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Final, TypeAlias

from .errors import DecodeError

__all__ = [
    "Reader",
    "boolean",
    "byte",
    "mpint",
    "name_list",
    "string",
    "uint32",
    "uint64",
]

_U8: Final = struct.Struct(">B")
_U32: Final = struct.Struct(">I")
_U64: Final = struct.Struct(">Q")
_U32_MAX: Final = 0xFFFFFFFF

_TRUE: Final = b"\x01"
_FALSE: Final = b"\x00"
_EMPTY_STRING: Final = b"\x00\x00\x00\x00"

BytesLike: TypeAlias = "bytes | bytearray | memoryview"


# --------------------------------------------------------------------------------------------
# Encoders (RFC 4251 §5)


def byte(n: int) -> bytes:
    """Encode one ``byte`` (an integer 0..255)."""
    try:
        return _U8.pack(n)
    except struct.error:
        raise ValueError(f"byte out of range: {n!r}") from None


def boolean(b: object) -> bytes:
    """Encode a ``boolean``: one byte, 1 for a true value and 0 otherwise (RFC 4251 §5)."""
    return _TRUE if b else _FALSE


def uint32(n: int) -> bytes:
    """Encode a ``uint32``: four bytes, most significant first."""
    try:
        return _U32.pack(n)
    except struct.error:
        raise ValueError(f"uint32 out of range: {n!r}") from None


def uint64(n: int) -> bytes:
    """Encode a ``uint64``: eight bytes, most significant first."""
    try:
        return _U64.pack(n)
    except struct.error:
        raise ValueError(f"uint64 out of range: {n!r}") from None


def string(b: BytesLike | str) -> bytes:
    """Encode a ``string``: a uint32 length followed by the raw bytes.

    A ``str`` is encoded as UTF-8 first (RFC 4251 §5 recommends UTF-8 for text strings).
    """
    if isinstance(b, str):
        b = b.encode("utf-8")
    elif isinstance(b, memoryview) and (b.format != "B" or b.ndim != 1):
        b = b.tobytes()
    n = len(b)
    if n > _U32_MAX:
        raise ValueError(f"string too long for SSH: {n} bytes")
    return _U32.pack(n) + b


def mpint(n: int) -> bytes:
    """Encode an ``mpint``: a minimal two's complement, big-endian string (RFC 4251 §5).

    Zero is the empty string; a positive number whose top bit would be set gets one leading
    zero byte; a negative number is written in two's complement.
    """
    if n == 0:
        return _EMPTY_STRING
    # A signed encoding of x needs bit_length(x) + 1 bits; for negatives use ~n (= -n - 1).
    size = (n if n > 0 else ~n).bit_length() // 8 + 1
    return _U32.pack(size) + n.to_bytes(size, "big", signed=True)


def name_list(names: Sequence[str]) -> bytes:
    """Encode a ``name-list``: comma-separated US-ASCII names in one string (RFC 4251 §5).

    Raises :class:`ValueError` for a name that is empty, contains a comma or is not ASCII.
    """
    joined = ",".join(names)
    if not joined.isascii() or (names and (joined.count(",") != len(names) - 1 or not all(names))):
        bad = [name for name in names if not name or "," in name or not name.isascii()]
        raise ValueError(f"invalid names for an SSH name-list: {bad!r}")
    return _U32.pack(len(joined)) + joined.encode("ascii")


# --------------------------------------------------------------------------------------------
# Decoder


class Reader:
    """A cursor that decodes RFC 4251 §5 fields from a buffer, front to back.

    The reader keeps a ``memoryview`` of *data* (no copy). While it is alive, a ``bytearray``
    given to it cannot be resized.
    """

    __slots__ = ("_buf", "_end", "_pos")

    def __init__(self, data: BytesLike) -> None:
        view = memoryview(data)
        if view.format != "B" or view.ndim != 1:
            view = view.cast("B")
        self._buf: memoryview = view
        self._pos = 0
        self._end = len(view)

    def __repr__(self) -> str:
        return f"<Reader at {self._pos} of {self._end} bytes>"

    @property
    def position(self) -> int:
        """Offset of the next unread byte."""
        return self._pos

    @property
    def remaining(self) -> int:
        """Number of bytes not yet read."""
        return self._end - self._pos

    def _short(self, what: str, need: int) -> DecodeError:
        return DecodeError(f"truncated {what}: need {need} bytes, {self._end - self._pos} left")

    def _length(self, what: str) -> tuple[int, int]:
        """Read a string's length prefix without committing; return (start, stop) of its body."""
        pos = self._pos
        left = self._end - pos
        if left < 4:
            raise DecodeError(f"truncated {what} length: need 4 bytes, {left} left")
        (n,) = _U32.unpack_from(self._buf, pos)
        if n > left - 4:
            raise DecodeError(f"truncated {what}: declared {n} bytes, {left - 4} left")
        return pos + 4, pos + 4 + n

    def byte(self) -> int:
        """Read one ``byte``."""
        pos = self._pos
        if pos >= self._end:
            raise self._short("byte", 1)
        self._pos = pos + 1
        return self._buf[pos]

    def boolean(self) -> bool:
        """Read a ``boolean``; any non-zero byte is true (RFC 4251 §5)."""
        pos = self._pos
        if pos >= self._end:
            raise self._short("boolean", 1)
        self._pos = pos + 1
        return self._buf[pos] != 0

    def uint32(self) -> int:
        """Read a ``uint32``."""
        pos = self._pos
        if self._end - pos < 4:
            raise self._short("uint32", 4)
        value: int = _U32.unpack_from(self._buf, pos)[0]
        self._pos = pos + 4
        return value

    def uint64(self) -> int:
        """Read a ``uint64``."""
        pos = self._pos
        if self._end - pos < 8:
            raise self._short("uint64", 8)
        value: int = _U64.unpack_from(self._buf, pos)[0]
        self._pos = pos + 8
        return value

    def string_view(self) -> memoryview:
        """Read a ``string`` and return its body as a zero-copy view into the buffer."""
        start, stop = self._length("string")
        self._pos = stop
        return self._buf[start:stop]

    def string(self) -> bytes:
        """Read a ``string`` and return its body as ``bytes``."""
        start, stop = self._length("string")
        self._pos = stop
        return self._buf[start:stop].tobytes()

    def text(self) -> str:
        """Read a ``string`` holding UTF-8 text and return it decoded."""
        start, stop = self._length("text")
        try:
            value = str(self._buf[start:stop], "utf-8")
        except UnicodeDecodeError as exc:
            raise DecodeError(f"invalid UTF-8 in text at byte {exc.start}: {exc.reason}") from None
        self._pos = stop
        return value

    def mpint(self) -> int:
        """Read an ``mpint`` as a signed two's complement integer (RFC 4251 §5).

        Non-minimal encodings (redundant sign bytes) are accepted, as OpenSSH accepts them.
        """
        start, stop = self._length("mpint")
        self._pos = stop
        return int.from_bytes(self._buf[start:stop], "big", signed=True)

    def positive_mpint(self) -> int:
        """Read an ``mpint`` that must not be negative (a key, a DH value, a signature part)."""
        start, stop = self._length("mpint")
        if stop > start and self._buf[start] & 0x80:
            raise DecodeError("negative mpint where a non-negative value is required")
        self._pos = stop
        return int.from_bytes(self._buf[start:stop], "big")

    def name_list(self) -> list[str]:
        """Read a ``name-list``; the empty string is the empty list (RFC 4251 §5)."""
        start, stop = self._length("name-list")
        try:
            joined = str(self._buf[start:stop], "ascii")
        except UnicodeDecodeError as exc:
            raise DecodeError(f"non-ASCII byte in name-list at offset {exc.start}") from None
        self._pos = stop
        return joined.split(",") if joined else []

    def raw(self, n: int) -> bytes:
        """Read exactly *n* bytes with no length prefix."""
        if n < 0:
            raise ValueError(f"negative byte count: {n}")
        pos = self._pos
        if self._end - pos < n:
            raise self._short(f"{n}-byte field", n)
        self._pos = pos + n
        return self._buf[pos : pos + n].tobytes()

    def rest(self) -> bytes:
        """Read and return every byte that is left (possibly none)."""
        pos = self._pos
        self._pos = self._end
        return self._buf[pos:].tobytes()

    def check_end(self) -> None:
        """Raise :class:`DecodeError` unless every byte has been read."""
        if self._pos != self._end:
            raise DecodeError(f"{self._end - self._pos} unexpected trailing bytes")

"""Payload compression (RFC 4253 §6.2; zlib@openssh.com starts only after user auth)."""

from __future__ import annotations

import zlib
from typing import Final

from ..errors import CompressionError

COMPRESSIONS: Final[tuple[str, ...]] = ("none", "zlib@openssh.com", "zlib")
DEFAULT_COMPRESSIONS: Final[tuple[str, ...]] = ("none",)
# what we offer when the user asks for compression (paramiko's use_compression())
COMPRESSING_PREFERENCE: Final[tuple[str, ...]] = ("zlib@openssh.com", "zlib", "none")


def is_delayed(name: str) -> bool:
    """True for methods that start only once user authentication has succeeded."""
    return name == "zlib@openssh.com"


class Compressor:
    """One zlib stream for one direction; every packet ends with a sync flush."""

    __slots__ = ("_z",)

    def __init__(self, level: int = 6) -> None:
        self._z = zlib.compressobj(level)

    def compress(self, data: bytes) -> bytes:
        return self._z.compress(data) + self._z.flush(zlib.Z_SYNC_FLUSH)


class Decompressor:
    """One zlib stream for one direction, refusing output past ``limit`` bytes a packet."""

    __slots__ = ("_limit", "_z")

    def __init__(self, limit: int) -> None:
        self._z = zlib.decompressobj()
        self._limit = limit

    def decompress(self, data: bytes) -> bytes:
        try:
            # one byte over the limit: zlib may have swallowed all the input and still hold
            # output back, so an empty unconsumed_tail alone does not prove we got it all
            out = self._z.decompress(data, self._limit + 1)
        except zlib.error as exc:
            raise CompressionError(f"corrupt compressed payload: {exc}") from None
        if len(out) > self._limit or self._z.unconsumed_tail:
            raise CompressionError(f"compressed payload inflates past the {self._limit}-byte limit")
        if self._z.eof:
            # the stream must stay open for the next packet (OpenSSH: Z_STREAM_END is an error)
            raise CompressionError("compressed payload ended the zlib stream")
        return out

"""A small BER (ITU-T X.690) reader and writer, with paramiko's ``ber`` module names.

Enough of BER for the structures SSH tooling meets (PKCS#1-style key sequences): decoding
understands SEQUENCE (tag 0x30, returned as a list) and INTEGER (tag 2, returned as a signed
``int``); encoding writes booleans, integers, OCTET STRINGs and sequences (lists or tuples),
with definite lengths in the short or long form (X.690 §8.1.3).

Decoding stops (returns ``None``) at the end of the content or at an element that is cut short;
any other tag raises :class:`BERException`. Sequences nested more than 256 deep are refused
with :class:`BERException` too, so hostile input cannot exhaust the interpreter stack.
"""

from __future__ import annotations

from typing import Any

from .util import b, deflate_long, inflate_long

__all__ = ["BER", "BERException"]

_TAG_BOOLEAN = 0x01
_TAG_INTEGER = 0x02
_TAG_OCTET_STRING = 0x04
_TAG_SEQUENCE = 0x30
_HIGH_TAG = 0x1F  # X.690 §8.1.2.4: the tag number follows in base-128 octets
_MAX_DEPTH = 256


class BERException(Exception):
    """Content that this decoder or encoder cannot handle."""


class BER:
    """A BER buffer: decode elements from *content* in order, or encode values onto it."""

    def __init__(self, content: bytes | str = b"") -> None:
        self.content: bytes = b(content)
        self.idx = 0

    def asbytes(self) -> bytes:
        """Everything encoded (or given) so far."""
        return self.content

    def __repr__(self) -> str:
        return f"BER({self.content!r})"

    # ---------------------------------------------------------------------------- decoding

    def decode(self) -> Any:
        """The next element (see :meth:`decode_next`)."""
        return self.decode_next()

    def decode_next(self) -> Any:
        """The next element: an ``int``, a ``list`` for a sequence, or ``None`` at the end."""
        return self._next(0)

    def _next(self, depth: int) -> Any:
        content = self.content
        end = len(content)
        if self.idx >= end:
            return None
        tag = content[self.idx]
        self.idx += 1
        if tag & _HIGH_TAG == _HIGH_TAG:
            tag = 0
            while self.idx < end:  # at most one round per remaining byte
                octet = content[self.idx]
                self.idx += 1
                tag = (tag << 7) | (octet & 0x7F)
                if not octet & 0x80:
                    break
        if self.idx >= end:
            return None
        size = content[self.idx]
        self.idx += 1
        if size & 0x80:  # X.690 §8.1.3.5: the long form names how many length octets follow
            count = size & 0x7F
            if self.idx + count > end:
                return None
            size = inflate_long(content[self.idx : self.idx + count], True)
            self.idx += count
        if self.idx + size > end:
            return None
        data = content[self.idx : self.idx + size]
        self.idx += size
        if tag == _TAG_SEQUENCE:
            return BER._sequence(data, depth + 1)
        if tag == _TAG_INTEGER:
            return inflate_long(data)
        raise BERException(f"Unknown ber encoding type {tag:d} (only sequences and integers)")

    @staticmethod
    def decode_sequence(data: bytes) -> list[Any]:
        """Every element of *data* (the body of a sequence), in order."""
        return BER._sequence(data, 1)

    @staticmethod
    def _sequence(data: bytes, depth: int) -> list[Any]:
        if depth > _MAX_DEPTH:
            raise BERException(f"sequences nested more than {_MAX_DEPTH} deep")
        reader = BER(data)
        out: list[Any] = []
        while True:  # every element consumes at least two bytes of data
            item = reader._next(depth)
            if item is None:
                return out
            out.append(item)

    # ---------------------------------------------------------------------------- encoding

    def encode_tlv(self, ident: int, val: bytes) -> None:
        """Append one element: tag *ident* (below 31), its length, then *val*."""
        if len(val) > 0x7F:
            length = deflate_long(len(val))
            header = bytes((ident, 0x80 + len(length))) + length
        else:
            header = bytes((ident, len(val)))
        self.content += header + val

    def encode(self, x: Any) -> None:
        """Append *x*: a ``bool``, an ``int``, a ``str`` (UTF-8) or a list/tuple of these."""
        if type(x) is bool:
            self.encode_tlv(_TAG_BOOLEAN, b"\xff" if x else b"\x00")
        elif isinstance(x, int) and not isinstance(x, bool):
            self.encode_tlv(_TAG_INTEGER, deflate_long(x))
        elif isinstance(x, str):
            self.encode_tlv(_TAG_OCTET_STRING, x.encode("utf-8"))
        elif isinstance(x, list | tuple):
            self.encode_tlv(_TAG_SEQUENCE, self.encode_sequence(x))
        else:
            raise BERException(f"Unknown type for encoding: {type(x)!r}")

    @staticmethod
    def encode_sequence(data: list[Any] | tuple[Any, ...]) -> bytes:
        """The encoded elements of *data*, back to back (the body of a sequence)."""
        ber = BER()
        for item in data:
            ber.encode(item)
        return ber.asbytes()

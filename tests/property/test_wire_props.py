"""Hypothesis properties of the RFC 4251 §5 codec: encode/decode round-trips for every type,
and arbitrary input never fails with anything but ``DecodeError``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sshwire._proto import wire
from sshwire._proto.errors import DecodeError

names = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters=","),
    min_size=1,
    max_size=64,
)
byte_types = st.sampled_from([bytes, bytearray, lambda b: memoryview(b)])


@settings(deadline=None)
@given(st.integers(0, 255))
def test_byte_round_trip(n: int) -> None:
    reader = wire.Reader(wire.byte(n))
    assert reader.byte() == n
    reader.check_end()


@settings(deadline=None)
@given(st.booleans())
def test_boolean_round_trip(b: bool) -> None:
    reader = wire.Reader(wire.boolean(b))
    assert reader.boolean() is b
    reader.check_end()


@settings(deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_uint32_round_trip(n: int) -> None:
    reader = wire.Reader(wire.uint32(n))
    assert reader.uint32() == n
    reader.check_end()


@settings(deadline=None)
@given(st.integers(0, 2**64 - 1))
def test_uint64_round_trip(n: int) -> None:
    reader = wire.Reader(wire.uint64(n))
    assert reader.uint64() == n
    reader.check_end()


@settings(deadline=None)
@given(st.binary(max_size=2048), byte_types)
def test_string_round_trip(data: bytes, kind: Callable[[bytes], Any]) -> None:
    encoded = wire.string(kind(data))
    assert len(encoded) == 4 + len(data)
    reader = wire.Reader(encoded)
    assert reader.string() == data
    reader.check_end()
    assert wire.Reader(encoded).string_view() == data


@settings(deadline=None)
@given(st.text(max_size=512))
def test_text_round_trip(text: str) -> None:
    reader = wire.Reader(wire.string(text))
    assert reader.text() == text
    reader.check_end()


@settings(deadline=None)
@given(st.integers(min_value=-(2**2100), max_value=2**2100))
def test_mpint_round_trip_and_minimal(n: int) -> None:
    encoded = wire.mpint(n)
    reader = wire.Reader(encoded)
    assert reader.mpint() == n
    reader.check_end()
    body = encoded[4:]
    assert (n == 0) == (body == b"")
    if len(body) >= 2:
        # Minimal: the first byte is not a redundant sign extension of the second.
        assert not (body[0] == 0x00 and body[1] < 0x80)
        assert not (body[0] == 0xFF and body[1] >= 0x80)
    if n >= 0:
        assert wire.Reader(encoded).positive_mpint() == n
    else:
        with pytest.raises(DecodeError):
            wire.Reader(encoded).positive_mpint()


@settings(deadline=None)
@given(st.lists(names, max_size=20))
def test_name_list_round_trip(values: list[str]) -> None:
    reader = wire.Reader(wire.name_list(values))
    assert reader.name_list() == values
    reader.check_end()


@settings(deadline=None)
@given(st.lists(st.text(max_size=8), min_size=1, max_size=5))
def test_name_list_encoder_accepts_exactly_valid_names(values: list[str]) -> None:
    valid = all(v and "," not in v and v.isascii() for v in values)
    if valid:
        assert wire.Reader(wire.name_list(values)).name_list() == values
    else:
        with pytest.raises(ValueError):
            wire.name_list(values)


FIELDS: dict[str, tuple[st.SearchStrategy[Any], Callable[[Any], bytes]]] = {
    "byte": (st.integers(0, 255), wire.byte),
    "boolean": (st.booleans(), wire.boolean),
    "uint32": (st.integers(0, 2**32 - 1), wire.uint32),
    "uint64": (st.integers(0, 2**64 - 1), wire.uint64),
    "string": (st.binary(max_size=64), wire.string),
    "text": (st.text(max_size=32), wire.string),
    "mpint": (st.integers(-(2**300), 2**300), wire.mpint),
    "name_list": (st.lists(names, max_size=5), wire.name_list),
}


@st.composite
def messages(draw: st.DrawFn) -> tuple[bytes, list[tuple[str, Any]]]:
    kinds = draw(st.lists(st.sampled_from(sorted(FIELDS)), max_size=12))
    fields = [(kind, draw(FIELDS[kind][0])) for kind in kinds]
    return b"".join(FIELDS[kind][1](value) for kind, value in fields), fields


@settings(deadline=None)
@given(messages())
def test_message_of_mixed_fields_round_trips(message: tuple[bytes, list[tuple[str, Any]]]) -> None:
    data, fields = message
    reader = wire.Reader(data)
    for kind, value in fields:
        assert getattr(reader, kind)() == value
    reader.check_end()


@settings(deadline=None)
@given(messages(), st.data())
def test_truncated_message_raises_only_decode_error(
    message: tuple[bytes, list[tuple[str, Any]]], data: st.DataObject
) -> None:
    encoded, fields = message
    if not encoded:
        return
    cut = data.draw(st.integers(0, len(encoded) - 1))
    reader = wire.Reader(encoded[:cut])
    with pytest.raises(DecodeError):
        for kind, _ in fields:
            getattr(reader, kind)()
        reader.check_end()


READS = [
    "byte",
    "boolean",
    "uint32",
    "uint64",
    "string",
    "string_view",
    "text",
    "mpint",
    "positive_mpint",
    "name_list",
    "raw",
    "rest",
    "check_end",
]


@settings(deadline=None)
@given(st.binary(max_size=256), st.lists(st.sampled_from(READS), max_size=16), st.data())
def test_random_bytes_only_ever_raise_decode_error(
    blob: bytes, ops: list[str], data: st.DataObject
) -> None:
    reader = wire.Reader(blob)
    for op in ops:
        before = reader.position
        try:
            if op == "raw":
                reader.raw(data.draw(st.integers(0, 300)))
            else:
                getattr(reader, op)()
        except DecodeError:
            assert reader.position == before  # failed reads do not move the cursor
        assert 0 <= reader.position <= len(blob)
        assert reader.remaining == len(blob) - reader.position

"""Known-answer and malformed-input tests for the RFC 4251 §5 codec in ``_proto.wire``."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from sshwire._proto import wire
from sshwire._proto.errors import DecodeError, ProtocolError
from sshwire.ssh_exception import SSHException

# RFC 4251 §5, the mpint examples (value, encoding as hex).
RFC_MPINTS = [
    (0, "00000000"),
    (0x9A378F9B2E332A7, "00000008 09a378f9b2e332a7"),
    (0x80, "00000002 0080"),
    (-0x1234, "00000002 edcc"),
    (-0xDEADBEEF, "00000005 ff21524111"),
]


def h(text: str) -> bytes:
    return bytes.fromhex(text)


# --------------------------------------------------------------------------------------------
# Encoders


@pytest.mark.parametrize(("value", "encoding"), RFC_MPINTS)
def test_mpint_rfc_examples_encode(value: int, encoding: str) -> None:
    assert wire.mpint(value) == h(encoding)


@pytest.mark.parametrize(("value", "encoding"), RFC_MPINTS)
def test_mpint_rfc_examples_decode(value: int, encoding: str) -> None:
    reader = wire.Reader(h(encoding))
    assert reader.mpint() == value
    reader.check_end()


@pytest.mark.parametrize(
    ("value", "encoding"),
    [
        (1, "00000001 01"),
        (0x7F, "00000001 7f"),
        (0xFF, "00000002 00ff"),
        (0x100, "00000002 0100"),
        (-1, "00000001 ff"),
        (-0x80, "00000001 80"),
        (-0x81, "00000002 ff7f"),
        (-0x100, "00000002 ff00"),
        (2**64, "00000009 010000000000000000"),
    ],
)
def test_mpint_boundaries(value: int, encoding: str) -> None:
    assert wire.mpint(value) == h(encoding)
    assert wire.Reader(h(encoding)).mpint() == value


def test_name_list_examples() -> None:
    # RFC 4251 §5 name-list examples.
    assert wire.name_list([]) == h("00000000")
    assert wire.name_list(["zlib"]) == h("00000004 7a6c6962")
    assert wire.name_list(["zlib", "none"]) == h("00000009 7a6c69622c6e6f6e65")
    assert wire.Reader(h("00000000")).name_list() == []
    assert wire.Reader(h("00000004 7a6c6962")).name_list() == ["zlib"]
    assert wire.Reader(h("00000009 7a6c69622c6e6f6e65")).name_list() == ["zlib", "none"]


@pytest.mark.parametrize(
    "names", [["a,b"], ["caf\u00e9"], [""], ["a", ""], ["", "a"], ["ok", "x,y", "z"]]
)
def test_name_list_refuses_invalid_names(names: list[str]) -> None:
    with pytest.raises(ValueError):
        wire.name_list(names)


def test_scalar_encoders() -> None:
    assert wire.byte(0) == b"\x00"
    assert wire.byte(255) == b"\xff"
    assert wire.boolean(True) == b"\x01"
    assert wire.boolean(False) == b"\x00"
    assert wire.boolean(7) == b"\x01"
    assert wire.uint32(0x29B7F4AA) == h("29b7f4aa")  # RFC 4251 §5 example
    assert wire.uint64(0x0102030405060708) == h("0102030405060708")
    assert wire.uint64(2**64 - 1) == b"\xff" * 8


@pytest.mark.parametrize(
    ("encoder", "value"),
    [
        (wire.byte, -1),
        (wire.byte, 256),
        (wire.uint32, -1),
        (wire.uint32, 2**32),
        (wire.uint64, -1),
        (wire.uint64, 2**64),
    ],
)
def test_scalar_encoders_refuse_out_of_range(encoder: Callable[[int], bytes], value: int) -> None:
    with pytest.raises(ValueError):
        encoder(value)


def test_string_encoder_accepts_all_byte_types_and_text() -> None:
    expected = h("00000007 74657374696e67")  # RFC 4251 §5: "testing"
    assert wire.string(b"testing") == expected
    assert wire.string(bytearray(b"testing")) == expected
    assert wire.string(memoryview(b"xtestingx")[1:-1]) == expected
    assert wire.string("testing") == expected
    assert wire.string("\u00e9") == h("00000002 c3a9")
    assert wire.string(b"") == h("00000000")
    assert type(wire.string(bytearray(b"x"))) is bytes


def test_string_encoder_counts_bytes_of_wide_memoryviews() -> None:
    view = memoryview(b"\x00\x01\x00\x02").cast("H")
    assert wire.string(view) == h("00000004 00010002")


# --------------------------------------------------------------------------------------------
# Reader


def test_reader_reads_every_type_in_order() -> None:
    data = (
        wire.byte(94)
        + wire.boolean(True)
        + wire.uint32(7)
        + wire.uint64(2**40)
        + wire.string(b"\x00\xff")
        + wire.string("h\u00e9")
        + wire.mpint(-5)
        + wire.name_list(["a", "b"])
        + b"RAW"
        + b"tail"
    )
    reader = wire.Reader(bytearray(data))
    assert reader.remaining == len(data)
    assert reader.byte() == 94
    assert reader.boolean() is True
    assert reader.uint32() == 7
    assert reader.uint64() == 2**40
    assert reader.string() == b"\x00\xff"
    assert reader.text() == "h\u00e9"
    assert reader.mpint() == -5
    assert reader.name_list() == ["a", "b"]
    assert reader.raw(3) == b"RAW"
    assert reader.position == len(data) - 4
    assert reader.rest() == b"tail"
    assert reader.remaining == 0
    assert reader.rest() == b""
    reader.check_end()


def test_boolean_accepts_any_nonzero_byte() -> None:
    # RFC 4251 §5: "All non-zero values MUST be interpreted as TRUE".
    assert wire.Reader(b"\x02").boolean() is True
    assert wire.Reader(b"\x00").boolean() is False


def test_string_view_is_zero_copy() -> None:
    buf = bytearray(wire.string(b"abc"))
    view = wire.Reader(buf).string_view()
    assert isinstance(view, memoryview)
    assert view.tobytes() == b"abc"
    buf[5] = ord("X")
    assert view.tobytes() == b"aXc"


def test_reader_accepts_memoryview_slices_and_wide_formats() -> None:
    data = memoryview(b"zz" + wire.uint32(5) + b"zz")[2:-2]
    assert wire.Reader(data).uint32() == 5
    wide = memoryview(wire.uint32(0x01020304)).cast("I")
    assert wire.Reader(wide).uint32() == 0x01020304


def test_check_end_reports_trailing_bytes() -> None:
    reader = wire.Reader(wire.uint32(1) + b"xy")
    reader.uint32()
    with pytest.raises(DecodeError, match="2 unexpected trailing bytes"):
        reader.check_end()
    reader.raw(2)
    reader.check_end()


def test_decode_error_is_an_ssh_exception_with_a_protocol_error_reason() -> None:
    with pytest.raises(DecodeError) as info:
        wire.Reader(b"").byte()
    assert isinstance(info.value, ProtocolError)
    assert isinstance(info.value, SSHException)
    assert info.value.reason == 2  # SSH_DISCONNECT_PROTOCOL_ERROR, RFC 4250 §4.2.2


def test_declared_string_length_beyond_the_buffer() -> None:
    data = wire.uint32(400) + b"x" * 12
    reader = wire.Reader(data)
    with pytest.raises(DecodeError, match=r"^truncated string: declared 400 bytes, 12 left$"):
        reader.string()
    assert reader.position == 0  # a failed read leaves the cursor alone


def test_huge_declared_length_fails_without_allocating() -> None:
    # 4 GiB declared: must fail on the length check, not with MemoryError or a slow copy.
    for method in ("string", "string_view", "text", "mpint", "positive_mpint", "name_list"):
        reader = wire.Reader(b"\xff\xff\xff\xff" + b"abc")
        with pytest.raises(DecodeError, match="declared 4294967295 bytes, 3 left"):
            getattr(reader, method)()
        assert reader.position == 0


@pytest.mark.parametrize(
    ("method", "data", "message"),
    [
        ("byte", b"", "truncated byte: need 1 bytes, 0 left"),
        ("boolean", b"", "truncated boolean: need 1 bytes, 0 left"),
        ("uint32", b"abc", "truncated uint32: need 4 bytes, 3 left"),
        ("uint64", b"abcdefg", "truncated uint64: need 8 bytes, 7 left"),
        ("string", b"\x00\x00", "truncated string length: need 4 bytes, 2 left"),
        ("text", b"\x00\x00\x00\x02a", "truncated text: declared 2 bytes, 1 left"),
        ("mpint", b"\x00\x00\x00\x02a", "truncated mpint: declared 2 bytes, 1 left"),
        ("name_list", b"\x00\x00\x00\x09zlib", "truncated name-list: declared 9 bytes, 4 left"),
    ],
)
def test_truncation_messages_name_the_field(method: str, data: bytes, message: str) -> None:
    with pytest.raises(DecodeError) as info:
        getattr(wire.Reader(data), method)()
    assert str(info.value) == message


def test_raw_truncated_and_negative() -> None:
    reader = wire.Reader(b"ab")
    with pytest.raises(DecodeError, match="need 3 bytes, 2 left"):
        reader.raw(3)
    with pytest.raises(ValueError):
        reader.raw(-1)
    assert reader.raw(0) == b""
    assert reader.raw(2) == b"ab"


@pytest.mark.parametrize(
    "data",
    [
        b"\xff",  # invalid start byte
        b"\xc3",  # truncated sequence
        b"\xed\xa0\x80",  # encoded surrogate
        b"\xc0\xaf",  # overlong
        b"ok\xf5\x80\x80\x80",  # beyond U+10FFFF
    ],
)
def test_invalid_utf8_text_raises_decode_error(data: bytes) -> None:
    reader = wire.Reader(wire.string(data))
    with pytest.raises(DecodeError, match="invalid UTF-8"):
        reader.text()
    assert reader.position == 0


def test_name_list_refuses_non_ascii_bytes() -> None:
    with pytest.raises(DecodeError, match="non-ASCII"):
        wire.Reader(wire.string(b"zlib,caf\xc3\xa9")).name_list()


def test_name_list_keeps_empty_entries_from_sloppy_peers() -> None:
    assert wire.Reader(wire.string(b"a,,b,")).name_list() == ["a", "", "b", ""]


def test_positive_mpint() -> None:
    assert wire.Reader(wire.mpint(0x80)).positive_mpint() == 0x80
    assert wire.Reader(wire.mpint(0)).positive_mpint() == 0
    # Redundant leading zeros are tolerated, as by OpenSSH's sshbuf_get_bignum2.
    assert wire.Reader(h("00000003 000080")).positive_mpint() == 0x80
    assert wire.Reader(h("00000003 000080")).mpint() == 0x80
    reader = wire.Reader(wire.mpint(-0x1234))
    with pytest.raises(DecodeError, match="negative mpint"):
        reader.positive_mpint()
    assert reader.position == 0
    assert reader.mpint() == -0x1234


def _sample_message() -> tuple[bytes, list[str]]:
    """A KEXINIT-like message and the sequence of reads that decodes it exactly."""
    parts = [
        (wire.byte(20), "byte"),
        (b"\x11" * 16, "raw16"),
        (wire.name_list(["curve25519-sha256", "ecdh-sha2-nistp256"]), "name_list"),
        (wire.string("caf\u00e9"), "text"),
        (wire.boolean(False), "boolean"),
        (wire.uint32(0), "uint32"),
        (wire.uint64(12345), "uint64"),
        (wire.mpint(-0xDEADBEEF), "mpint"),
        (wire.mpint(0x80), "positive_mpint"),
        (wire.string(b"\x00\x01\x02"), "string"),
        (wire.string(b"view"), "string_view"),
    ]
    return b"".join(p for p, _ in parts), [op for _, op in parts]


def _read_all(reader: wire.Reader, ops: list[str]) -> None:
    for op in ops:
        if op == "raw16":
            reader.raw(16)
        else:
            getattr(reader, op)()
    reader.check_end()


def test_sample_message_decodes_completely() -> None:
    data, ops = _sample_message()
    _read_all(wire.Reader(data), ops)


@pytest.mark.parametrize("cut", range(len(_sample_message()[0])))
def test_truncation_at_every_offset_raises_decode_error(cut: int) -> None:
    data, ops = _sample_message()
    with pytest.raises(DecodeError):
        _read_all(wire.Reader(data[:cut]), ops)


@pytest.mark.parametrize("extra", [b"\x00", b"junk"])
def test_trailing_bytes_after_a_complete_message(extra: bytes) -> None:
    data, ops = _sample_message()
    with pytest.raises(DecodeError, match="trailing"):
        _read_all(wire.Reader(data + extra), ops)

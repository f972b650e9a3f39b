"""Differential tests: ``sshwire.message.Message`` and ``sshwire.util`` against paramiko 5.1.

Hypothesis drives both implementations with the same operations and requires identical
bytes, values and exception types.
"""

from __future__ import annotations

import inspect
import logging
import re
import struct
import threading
from pathlib import Path
from typing import Any

import paramiko.message
import paramiko.util
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sshwire import util
from sshwire._proto import wire
from sshwire.message import Message

PMessage = paramiko.message.Message

# --------------------------------------------------------------------------------------------
# Signatures


MESSAGE_METHODS = [
    name
    for name, _ in inspect.getmembers(PMessage, inspect.isfunction)
    if not name.startswith("_") or name in ("__init__", "__bytes__", "__repr__")
]

UTIL_NAMES = [
    "deflate_long",
    "inflate_long",
    "asbytes",
    "constant_time_bytes_eq",
    "safe_string",
    "bit_length",
    "format_binary",
    "format_binary_line",
    "get_logger",
    "log_to_file",
    "get_thread_id",
    "u",
    "b",
]


def _same_parameters(ours: Any, theirs: Any) -> None:
    """Same parameter names, kinds and defaults (annotations are ours to add)."""
    mine = inspect.signature(ours).parameters
    reference = inspect.signature(theirs).parameters
    assert list(mine) == list(reference)
    for name, param in reference.items():
        assert mine[name].kind == param.kind, name
        assert mine[name].default == param.default, name


@pytest.mark.parametrize("name", MESSAGE_METHODS)
def test_message_method_signatures_match(name: str) -> None:
    _same_parameters(getattr(Message, name), getattr(PMessage, name))


def test_message_has_every_paramiko_method() -> None:
    assert len(MESSAGE_METHODS) == 28
    assert all(callable(getattr(Message, name)) for name in MESSAGE_METHODS)
    assert Message.big_int == PMessage.big_int == 0xFF000000


@pytest.mark.parametrize("name", UTIL_NAMES)
def test_util_signatures_match(name: str) -> None:
    _same_parameters(getattr(util, name), getattr(paramiko.util, name))


def test_closing_context_manager_exit_signature() -> None:
    _same_parameters(
        util.ClosingContextManager.__exit__, paramiko.util.ClosingContextManager.__exit__
    )
    _same_parameters(
        util.ClosingContextManager.__enter__, paramiko.util.ClosingContextManager.__enter__
    )


# --------------------------------------------------------------------------------------------
# Building messages

texts = st.text(max_size=40)
blobs = st.binary(max_size=80)
names = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters=","),
    max_size=12,
)


class _HasAsBytes:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def asbytes(self) -> bytes:
        return self.data


string_args = st.one_of(
    blobs,
    texts,
    blobs.map(bytearray),
    blobs.map(_HasAsBytes),
)

add_ops = st.one_of(
    st.tuples(st.just("add_bytes"), blobs),
    st.tuples(st.just("add_byte"), st.binary(min_size=1, max_size=1)),
    st.tuples(st.just("add_boolean"), st.one_of(st.booleans(), st.integers(-2, 2), texts)),
    st.tuples(st.just("add_int"), st.integers(0, 2**32 - 1)),
    st.tuples(
        st.just("add_adaptive_int"),
        st.one_of(
            st.integers(0, 2**32 - 1),
            st.integers(0xFEFFFFF0, 0xFF000010),
            st.integers(0, 2**300),
        ),
    ),
    st.tuples(st.just("add_int64"), st.integers(0, 2**64 - 1)),
    st.tuples(
        st.just("add_mpint"),
        st.one_of(st.integers(-(2**600), 2**600), st.integers(-300, 300)),
    ),
    st.tuples(st.just("add_string"), string_args),
    st.tuples(st.just("add_list"), st.lists(names, max_size=6)),
    st.tuples(
        st.just("add"),
        st.lists(
            st.one_of(
                st.booleans(),
                st.integers(0, 2**40),
                st.lists(names, max_size=4),
                texts,
                blobs,
            ),
            max_size=5,
        ),
    ),
)


def _apply(msg: Any, op: str, arg: Any) -> Any:
    if op == "add":
        return msg.add(*arg)
    return getattr(msg, op)(arg)


@settings(deadline=None)
@given(st.lists(add_ops, max_size=25))
def test_add_sequences_produce_identical_bytes(ops: list[tuple[str, Any]]) -> None:
    ours, theirs = Message(), PMessage()
    for op, arg in ops:
        result = _apply(ours, op, arg)
        expected = _apply(theirs, op, arg)
        if expected is theirs:
            assert result is ours
        else:
            assert result is expected is None
    assert ours.asbytes() == theirs.asbytes()
    assert bytes(ours) == bytes(theirs)
    assert ours.get_so_far() == theirs.get_so_far()
    assert ours.get_remainder() == theirs.get_remainder() == b""


def test_add_chaining_and_known_bytes() -> None:
    msg = Message().add_byte(b"\x05").add_string("ssh-userauth").add_boolean(True)
    assert msg.add_int(1) is msg
    assert msg.asbytes() == b"\x05\x00\x00\x00\x0cssh-userauth\x01\x00\x00\x00\x01"


@pytest.mark.parametrize("value", [0, 1, -1, 0x7F, 0x80, -0x80, -0x81, 2**255, -(2**255)])
def test_add_mpint_mirrors_deflate_long(value: int) -> None:
    ours = Message().add_mpint(value).asbytes()
    assert ours == PMessage().add_mpint(value).asbytes()
    assert ours[4:] == util.deflate_long(value)


@pytest.mark.parametrize(
    ("value", "encoding"),
    [
        (0, "00000000"),
        (0xFEFFFFFF, "feffffff"),
        (0xFF000000, "ff 00000005 00ff000000"),
        (0xFFFFFFFF, "ff 00000005 00ffffffff"),
        (2**64, "ff 00000009 010000000000000000"),
    ],
)
def test_adaptive_int_switches_form_at_big_int(value: int, encoding: str) -> None:
    expected = bytes.fromhex(encoding)
    assert PMessage().add_adaptive_int(value).asbytes() == expected
    assert Message().add_adaptive_int(value).asbytes() == expected
    assert Message(expected).get_adaptive_int() == value


def test_add_mpint_zero_is_a_one_byte_string_unlike_rfc_mpint() -> None:
    assert Message().add_mpint(0).asbytes() == b"\x00\x00\x00\x01\x00"
    assert wire.mpint(0) == b"\x00\x00\x00\x00"
    assert Message(b"\x00\x00\x00\x01\x00").get_mpint() == 0
    assert Message(b"\x00\x00\x00\x00").get_mpint() == 0


@pytest.mark.parametrize(
    ("op", "arg"),
    [
        ("add_int", -1),
        ("add_int", 2**32),
        ("add_int", 1.0),
        ("add_int64", -1),
        ("add_int64", 2**64),
        ("add_adaptive_int", -1),
        ("add_byte", 5),
        ("add_bytes", "text"),
        ("add_bytes", 5),
        ("add_string", 5),
        ("add_string", None),
        ("add_list", ["a", 1]),
    ],
)
def test_bad_arguments_raise_the_same_exception_types(op: str, arg: Any) -> None:
    with pytest.raises(Exception) as theirs:
        getattr(PMessage(), op)(arg)
    with pytest.raises(type(theirs.value)):
        getattr(Message(), op)(arg)


@pytest.mark.parametrize("content", ["text", 5, [1, 2]])
def test_bad_content_raises_type_error_like_paramiko(content: Any) -> None:
    with pytest.raises(TypeError):
        PMessage(content)
    with pytest.raises(TypeError):
        Message(content)


def test_add_bool_and_int_dispatch() -> None:
    msg = Message()
    msg.add(True, 7, 2**40, ["a", "b"], "x", b"y")  # returns None, checked differentially above
    assert msg.asbytes() == (
        b"\x01"
        + b"\x00\x00\x00\x07"
        + b"\xff\x00\x00\x00\x06\x01\x00\x00\x00\x00\x00"
        + b"\x00\x00\x00\x03a,b"
        + b"\x00\x00\x00\x01x"
        + b"\x00\x00\x00\x01y"
    )


# --------------------------------------------------------------------------------------------
# Reading messages

GET_OPS = [
    "get_byte",
    "get_boolean",
    "get_adaptive_int",
    "get_int",
    "get_int64",
    "get_mpint",
    "get_string",
    "get_text",
    "get_binary",
    "get_list",
    "get_bytes",
    "get_remainder",
    "get_so_far",
    "rewind",
]


def _call(func: Any, *args: Any) -> tuple[str, Any]:
    try:
        return ("value", func(*args))
    except Exception as exc:
        return ("raised", type(exc))


def _outcome(msg: Any, op: str, arg: int) -> tuple[str, Any]:
    try:
        value = msg.get_bytes(arg) if op == "get_bytes" else getattr(msg, op)()
    except Exception as exc:
        return ("raised", type(exc))
    return ("value", value)


def _small_strings(draw: st.DrawFn) -> bytes:
    # Valid-looking fields mixed with junk, so that reads land on real values and on garbage.
    parts = draw(
        st.lists(
            st.one_of(
                blobs.map(lambda b: struct.pack(">I", len(b)) + b),
                texts.map(lambda t: wire.string(t)),
                st.integers(0, 2**32 - 1).map(lambda n: struct.pack(">I", n)),
                st.just(b"\xff"),
                st.binary(max_size=6),
            ),
            max_size=8,
        )
    )
    return b"".join(parts)


contents = st.one_of(st.binary(max_size=200), st.composite(_small_strings)())
get_ops = st.lists(
    st.tuples(
        st.sampled_from(GET_OPS),
        st.one_of(st.integers(-2, 40), st.sampled_from([(1 << 20) - 1, 1 << 20, 1 << 21])),
    ),
    max_size=20,
)


@settings(deadline=None)
@given(contents, get_ops)
def test_reads_on_random_content_match(content: bytes, ops: list[tuple[str, int]]) -> None:
    ours, theirs = Message(content), PMessage(content)
    for op, arg in ops:
        assert _outcome(ours, op, arg) == _outcome(theirs, op, arg), op
        assert ours.get_so_far() == theirs.get_so_far()


@settings(deadline=None)
@given(st.lists(add_ops, max_size=10), st.data())
def test_reads_of_truncated_valid_messages_match(
    ops: list[tuple[str, Any]], data: st.DataObject
) -> None:
    theirs = PMessage()
    for op, arg in ops:
        _apply(theirs, op, arg)
    full = theirs.asbytes()
    cut = data.draw(st.integers(0, len(full)))
    reads = data.draw(get_ops)
    ours, theirs = Message(full[:cut]), PMessage(full[:cut])
    for op, arg in reads:
        assert _outcome(ours, op, arg) == _outcome(theirs, op, arg), op


@settings(deadline=None)
@given(st.binary(max_size=40), st.lists(add_ops, max_size=4), get_ops)
def test_mixed_reads_and_writes_share_one_cursor(
    content: bytes, adds: list[tuple[str, Any]], reads: list[tuple[str, int]]
) -> None:
    # paramiko reads and writes through one file position: a write after a read (or into
    # given content) overwrites in place. Interleave both and compare.
    for kind in (bytes, bytearray, memoryview):
        ours, theirs = Message(kind(content)), PMessage(kind(content))
        for (op, arg), (add, add_arg) in zip(reads, adds + [("", None)] * len(reads)):
            assert _outcome(ours, op, arg) == _outcome(theirs, op, arg)
            if add:
                _apply(ours, add, add_arg)
                _apply(theirs, add, add_arg)
        assert ours.asbytes() == theirs.asbytes()
        assert ours.get_remainder() == theirs.get_remainder()


def test_short_reads_pad_with_zeros_below_one_mebibyte() -> None:
    msg = Message(b"ab")
    assert msg.get_bytes(5) == b"ab\x00\x00\x00"
    assert msg.get_remainder() == b""
    assert Message(b"ab").get_bytes(1 << 20) == b"ab"
    assert Message(b"").get_int() == 0
    assert Message(b"").get_boolean() is False
    assert Message(b"\x00\x00\x00\x05ab").get_string() == b"ab\x00\x00\x00"
    assert Message(b"").get_list() == [""]
    assert Message(b"abc").get_bytes(-1) == b"abc"


def test_invalid_utf8_text_raises_unicode_error_like_paramiko() -> None:
    with pytest.raises(UnicodeDecodeError):
        Message(b"\x00\x00\x00\x01\xff").get_text()


def test_rewind_remainder_and_so_far() -> None:
    msg = Message().add_int(1).add_int(2)
    assert msg.get_so_far() == b"\x00\x00\x00\x01\x00\x00\x00\x02"
    assert msg.get_remainder() == b""
    msg.rewind()
    assert msg.get_int() == 1
    assert msg.get_so_far() == b"\x00\x00\x00\x01"
    assert msg.get_remainder() == b"\x00\x00\x00\x02"
    assert msg.get_int() == 2


def test_writing_into_given_content_overwrites_at_the_cursor() -> None:
    msg = Message(b"abcdef")
    msg.add_byte(b"X")
    assert msg.asbytes() == b"Xbcdef"
    assert msg.get_remainder() == b"bcdef"


def test_string_accepts_objects_with_asbytes() -> None:
    inner = Message().add_int(3)
    assert Message().add_string(inner).asbytes() == b"\x00\x00\x00\x04\x00\x00\x00\x03"


@settings(deadline=None)
@given(st.binary(max_size=60))
def test_repr_format(content: bytes) -> None:
    ours = repr(Message(content))
    theirs = repr(PMessage(content))
    secret = {50: "USERAUTH_REQUEST", 61: "USERAUTH_INFO_RESPONSE"}
    if content and content[0] in secret:  # may carry a password: hidden (docs/compat.md)
        name = secret[content[0]]
        assert ours == f"sshwire.Message(<{name}, {len(content)} bytes, contents hidden>)"
        return
    assert ours == f"sshwire.Message({content!r})"
    assert ours.removeprefix("sshwire.") == theirs.removeprefix("paramiko.")


# --------------------------------------------------------------------------------------------
# paramiko.util


@settings(deadline=None)
@given(st.one_of(st.integers(-(2**700), 2**700), st.integers(-70000, 70000)), st.booleans())
def test_deflate_long_matches(n: int, pad: bool) -> None:
    assert util.deflate_long(n, pad) == paramiko.util.deflate_long(n, pad)
    assert util.deflate_long(n, add_sign_padding=pad) == paramiko.util.deflate_long(n, pad)


@pytest.mark.parametrize(
    ("n", "expected"),
    [(0, b"\x00"), (-1, b"\xff"), (0x80, b"\x00\x80"), (-0x81, b"\xff\x7f"), (256, b"\x01\x00")],
)
def test_deflate_long_known_answers(n: int, expected: bytes) -> None:
    assert util.deflate_long(n) == expected


@settings(deadline=None)
@given(st.binary(max_size=80), st.booleans())
def test_inflate_long_matches(data: bytes, always_positive: bool) -> None:
    assert util.inflate_long(data, always_positive) == paramiko.util.inflate_long(
        data, always_positive
    )


@settings(deadline=None)
@given(st.integers(-(2**300), 2**300))
def test_inflate_deflate_round_trip(n: int) -> None:
    assert util.inflate_long(util.deflate_long(n)) == n


@settings(deadline=None)
@given(st.integers(-(2**300), 2**300))
def test_bit_length_matches(n: int) -> None:
    assert util.bit_length(n) == paramiko.util.bit_length(n)


@settings(deadline=None)
@given(st.one_of(st.binary(max_size=300), st.text(max_size=40)))
def test_safe_string_matches(data: bytes | str) -> None:
    assert util.safe_string(data) == paramiko.util.safe_string(data)


def test_safe_string_known_answer() -> None:
    assert util.safe_string(b"ab\x00 ~\x7f\x80%\n") == b"ab%00 ~\x7f%80%%0A"
    assert util.safe_string(bytearray(b"\x01")) == b"%01"


@settings(deadline=None)
@given(st.binary(max_size=100), st.text(max_size=4))
def test_format_binary_matches(data: bytes, prefix: str) -> None:
    assert util.format_binary(data, prefix) == paramiko.util.format_binary(data, prefix)
    assert util.format_binary(data) == paramiko.util.format_binary(data)


@settings(deadline=None)
@given(st.binary(max_size=40))
def test_format_binary_line_matches(data: bytes) -> None:
    assert util.format_binary_line(data) == paramiko.util.format_binary_line(data)


def test_format_binary_known_answer() -> None:
    lines = util.format_binary(b"0123456789abcdef\x00~\x7f", "> ")
    assert lines == [
        "> 30 31 32 33 34 35 36 37 38 39 61 62 63 64 65 66    0123456789abcdef",
        "> 00 7E 7F" + " " * 43 + ".~.",
    ]
    assert util.format_binary(b"") == []


@settings(deadline=None)
@given(st.one_of(st.binary(max_size=20), st.text(max_size=10)))
def test_asbytes_u_b_match(value: bytes | str) -> None:
    assert util.asbytes(value) == paramiko.util.asbytes(value)
    assert _call(util.u, value) == _call(paramiko.util.u, value)
    assert _call(util.b, value) == _call(paramiko.util.b, value)


def test_asbytes_rules() -> None:
    obj = object()
    assert util.asbytes(obj) is obj
    assert util.asbytes(_HasAsBytes(b"k")) == b"k"
    assert util.asbytes("\u00e9") == b"\xc3\xa9"
    assert util.asbytes(bytearray(b"x")) == bytearray(b"x")


@pytest.mark.parametrize("value", [3, None, bytearray(b"x")])
def test_u_and_b_refuse_other_types(value: Any) -> None:
    for ours, theirs in ((util.u, paramiko.util.u), (util.b, paramiko.util.b)):
        with pytest.raises(TypeError) as expected:
            theirs(value)
        with pytest.raises(TypeError) as got:
            ours(value)
        assert str(got.value) == str(expected.value)


@settings(deadline=None)
@given(st.binary(max_size=8), st.binary(max_size=8))
def test_constant_time_bytes_eq_matches(a: bytes, b: bytes) -> None:
    assert util.constant_time_bytes_eq(a, b) is paramiko.util.constant_time_bytes_eq(a, b)
    assert util.constant_time_bytes_eq(a, a) is True


@settings(deadline=None)
@given(st.text(max_size=6), st.one_of(st.text(max_size=6), st.binary(max_size=6)))
def test_constant_time_bytes_eq_with_text_matches(a: str, b: str | bytes) -> None:
    assert util.constant_time_bytes_eq(a, b) is paramiko.util.constant_time_bytes_eq(a, b)


class _Closable(util.ClosingContextManager):
    def __init__(self) -> None:
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


def test_closing_context_manager() -> None:
    obj = _Closable()
    with obj as entered:
        assert entered is obj
        assert obj.closed == 0
    assert obj.closed == 1
    with pytest.raises(KeyError), _Closable() as failing:
        raise KeyError("x")
    assert failing.closed == 1


def test_get_thread_id_is_stable_per_thread_and_distinct_across_threads() -> None:
    mine = util.get_thread_id()
    assert util.get_thread_id() == mine
    seen: list[int] = []
    threads = [threading.Thread(target=lambda: seen.append(util.get_thread_id())) for _ in "abc"]
    for thread in threads:
        thread.start()
        thread.join()
    assert len(set(seen)) == 3
    assert mine not in seen
    assert all(isinstance(t, int) and t >= 1 for t in seen)


def test_get_logger_stamps_thread_id() -> None:
    logger = util.get_logger("sshwire.test_util")
    assert util.get_logger("sshwire.test_util") is logger
    assert len(logger.filters) == 1
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Collect()
    logger.addHandler(handler)
    try:
        logger.warning("hello")
    finally:
        logger.removeHandler(handler)
    assert records[0]._threadid == util.get_thread_id()  # type: ignore[attr-defined]


def test_log_to_file_format(tmp_path: Path) -> None:
    root = logging.getLogger("sshwire")
    saved_handlers, saved_level = root.handlers[:], root.level
    root.handlers.clear()
    target = tmp_path / "ssh.log"
    try:
        util.log_to_file(str(target))
        assert root.level == logging.DEBUG
        assert len(root.handlers) == 1
        util.log_to_file(str(target), logging.ERROR)  # second call: no-op
        assert len(root.handlers) == 1
        assert root.level == logging.DEBUG
        util.get_logger("sshwire.transport").debug("hello %s", "world")
        # A child logger that never went through get_logger still formats cleanly.
        logging.getLogger("sshwire.other").info("plain")
        root.handlers[0].flush()
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
    lines = target.read_text().splitlines()
    pattern = r"{} \[\d{{8}}-\d\d:\d\d:\d\d\.\d{{3}}\] thr=\d+\s+{}: {}"
    assert re.fullmatch(pattern.format("DEB", "sshwire.transport", "hello world"), lines[0])
    assert re.fullmatch(pattern.format("INF", "sshwire.other", "plain"), lines[1])

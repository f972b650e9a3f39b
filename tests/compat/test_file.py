"""Differential tests: ``sshwire.file.BufferedFile`` against ``paramiko.file.BufferedFile``.

One scripted in-memory stream class is mixed into each base class. Both files are opened with
the same mode and bufsize, fed the same chunk sequence (tiny chunks, ``\\r\\n`` split across
chunks, ``b""``/``None``/``EOFError`` for EOF, chunks larger than asked, failures) and driven
by the same operations. Every result (value and type), every exception (type and message),
every ``_read`` request, every ``_write`` call and the buffering state after each operation
must be identical.
"""

from __future__ import annotations

import functools
import gc
import inspect
from collections.abc import Callable, Iterator
from typing import Any

import paramiko.file
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sshwire.file
from sshwire.util import ClosingContextManager

PBufferedFile = paramiko.file.BufferedFile
SBufferedFile = sshwire.file.BufferedFile

# --------------------------------------------------------------------------------------------
# The scripted stream

# Read events: ("data", cap) -> up to min(size, cap) bytes of the source; ("raw", n) -> the
# next n source bytes even beyond the request; ("empty",) -> b""; ("none",) -> None;
# ("eof",) -> raise EOFError; ("fail",) -> raise OSError; ("timeout",) -> raise TimeoutError.
# Once the events run out, the rest of the source follows in chunks of up to 7 bytes, then EOF.
ReadEvent = tuple[Any, ...]


class ScriptedStream:
    """Hooks over a scripted byte source that log every call made to them."""

    def __init__(
        self,
        mode: str,
        bufsize: int,
        source: bytes = b"",
        events: list[ReadEvent] | None = None,
        write_caps: list[int] | None = None,
        write_failures: frozenset[int] = frozenset(),
        size: int = 100,
    ) -> None:
        super().__init__()
        self.source = source
        self.events = list(events or [])
        self.write_caps = write_caps or [1 << 30]
        self.write_failures = write_failures
        self.file_size = size
        self.read_log: list[int] = []
        self.write_log: list[tuple[str, bytes]] = []
        self._set_mode(mode, bufsize)  # type: ignore[attr-defined]

    def _take(self, n: int) -> bytes:
        data, self.source = self.source[:n], self.source[n:]
        return data

    def _read(self, size: int) -> bytes | None:
        self.read_log.append(size)
        if len(self.read_log) > 5000:
            raise RuntimeError("runaway reading")  # a bug in either file: fail, don't hang
        if not self.events:
            return self._take(min(size, 7))
        event = self.events.pop(0)
        kind = event[0]
        if kind == "data":
            return self._take(min(size, event[1]))
        if kind == "raw":
            return self._take(event[1])
        if kind == "empty":
            return b""
        if kind == "none":
            return None
        if kind == "eof":
            raise EOFError()
        if kind == "fail":
            raise OSError("scripted read failure")
        assert kind == "timeout"
        raise TimeoutError("scripted timeout")

    def _write(self, data: memoryview) -> int:
        index = len(self.write_log)
        self.write_log.append((type(data).__name__, bytes(data)))
        if index in self.write_failures:
            raise OSError("scripted write failure")
        return min(len(data), self.write_caps[index % len(self.write_caps)])

    def _get_size(self) -> int:
        return self.file_size


class OurFile(ScriptedStream, SBufferedFile):
    pass


class TheirFile(ScriptedStream, PBufferedFile):
    pass


def read_ahead(f: Any) -> Any:
    """``f._rbuffer``, without touching sshwire's property (which compacts its buffer)."""
    if isinstance(f, SBufferedFile):
        return f._rdata[f._rstart :]
    return f._rbuffer


def state(f: Any) -> tuple[Any, ...]:
    """The buffering state that subclasses and third-party code read directly."""
    return (
        f._pos,
        f._realpos,
        f._size,
        type(read_ahead(f)).__name__,
        read_ahead(f),
        f._wbuffer.getvalue(),
        f._flags,
        f._bufsize,
        f.newlines,
        f._at_trailing_cr,
        f._closed,
        f.closed,
    )


def outcome(call: Callable[[], Any]) -> tuple[Any, ...]:
    try:
        value = call()
    except Exception as exc:
        return ("raise", type(exc).__name__, str(exc))
    if isinstance(value, list):
        return ("ok", "list", [(type(v).__name__, v) for v in value])
    return ("ok", type(value).__name__, value)


def apply(f: Any, op: tuple[Any, ...]) -> tuple[Any, ...]:
    name, *args = op
    if name == "readinto":
        buff = bytearray(args[0])
        result = outcome(lambda: f.readinto(buff))
        return (*result, bytes(buff))
    if name == "iter":

        def take_lines() -> list[Any]:
            lines = []
            for _, line in zip(range(args[0]), iter(f)):
                lines.append(line)
            return lines

        return outcome(take_lines)
    if name == "next":
        return outcome(lambda: next(f))
    if name == "with":
        # Leaving a with block closes (and so flushes) the file.
        def use() -> bool:
            with f as inner:
                return inner is f

        return outcome(use)
    if name == "set_rbuffer":
        # What SFTPFile.seek does (with b""), and what a subclass may do to push data back.
        def assign() -> bytes:
            f._rbuffer = args[0]
            return bytes(f._rbuffer)

        return outcome(assign)
    if name == "xreadlines":
        return outcome(lambda: f.xreadlines() is f)
    if name == "write" and args[0] == "memoryview":
        return outcome(lambda: f.write(memoryview(args[1])))
    return outcome(lambda: getattr(f, name)(*args))


def run(cls: type[Any], mode: str, bufsize: int, ops: list[tuple[Any, ...]], **kw: Any) -> Any:
    f = cls(mode, bufsize, **kw)
    trace: list[Any] = [("init", state(f))]
    for op in ops:
        trace.append((op, apply(f, op), state(f)))
    # Close for good without scripted failures, so that garbage collection stays quiet.
    f.write_failures = frozenset()
    trace.append(("final close", outcome(f.close), state(f)))
    return trace, f.read_log, f.write_log


def run_both(mode: str, bufsize: int, ops: list[tuple[Any, ...]], **kw: Any) -> Any:
    ours = run(OurFile, mode, bufsize, ops, **kw)
    theirs = run(TheirFile, mode, bufsize, ops, **kw)
    assert ours[0] == theirs[0]
    assert ours[1] == theirs[1], "different _read requests"
    assert ours[2] == theirs[2], "different _write calls"
    return ours


# --------------------------------------------------------------------------------------------
# Strategies

MODES = [
    "r", "rb", "w", "wb", "a", "ab", "r+", "rb+", "w+", "wb+", "a+", "ab+",
    "rU", "rbU", "U", "Ub", "r+U", "r+bU", "wU", "",
]  # fmt: skip
BUFSIZES = [-1, 0, 1, 2, 10, 8192]

pieces = st.sampled_from(
    [b"a", b"bc", b"defgh", b"\n", b"\r", b"\r\n", b"\n\r", "é".encode(), b"\xff", b"\x00"]
)
sources = st.lists(pieces, max_size=30).map(b"".join)
read_events = st.lists(
    st.one_of(
        st.tuples(st.just("data"), st.integers(1, 12)),
        st.tuples(st.just("data"), st.just(1)),
        st.tuples(st.just("raw"), st.integers(1, 20)),
        st.sampled_from([("empty",), ("none",), ("eof",), ("fail",), ("timeout",)]),
    ),
    max_size=25,
)
sizes = st.one_of(st.none(), st.integers(-2, 25))
write_data = st.one_of(
    st.binary(max_size=12),
    st.text(alphabet="ab\n\ré", max_size=8),
    st.binary(max_size=8).map(bytearray),
    st.sampled_from([b"line\n", b"x\ny\nz", "tex\nt", b"\n"]),
    st.tuples(st.just("memoryview"), st.binary(min_size=1, max_size=6)),
)
read_ops = st.one_of(
    st.tuples(st.just("read"), sizes),
    st.just(("read",)),
    st.tuples(st.just("readline"), sizes),
    st.just(("readline",)),
    st.tuples(st.just("readlines"), st.one_of(st.none(), st.integers(-1, 30))),
    st.tuples(st.just("iter"), st.integers(0, 4)),
    st.just(("next",)),
    st.tuples(st.just("readinto"), st.integers(0, 20)),
    st.just(("xreadlines",)),
    st.just(("set_rbuffer", b"")),
)
write_ops = st.one_of(
    st.tuples(st.just("write"), write_data).map(
        lambda op: ("write", *op[1]) if isinstance(op[1], tuple) else op
    ),
    st.tuples(st.just("writelines"), st.lists(st.binary(max_size=6), max_size=3)),
    st.tuples(st.just("writelines"), st.lists(st.sampled_from(["a\n", "b", "\n\n"]), max_size=3)),
    st.just(("flush",)),
)
other_ops = st.sampled_from(
    [
        ("tell",),
        ("close",),
        ("readable",),
        ("writable",),
        ("seekable",),
        ("seek", 0),
        ("seek", 5, 1),
        ("with",),
        ("set_rbuffer", b""),
        ("set_rbuffer", b"pushed\r"),
        ("set_rbuffer", b"\nback\n"),
    ]
)
operations = st.lists(
    st.one_of(read_ops, read_ops, write_ops, write_ops, other_ops), min_size=1, max_size=14
)


# --------------------------------------------------------------------------------------------
# Differential properties


@settings(max_examples=200, deadline=None)
@given(
    mode=st.sampled_from(MODES),
    bufsize=st.sampled_from(BUFSIZES),
    source=sources,
    events=read_events,
    ops=operations,
    write_caps=st.lists(st.integers(1, 9), min_size=1, max_size=4),
    write_failures=st.frozensets(st.integers(0, 6), max_size=2),
)
def test_random_operations_match_paramiko(
    mode: str,
    bufsize: int,
    source: bytes,
    events: list[ReadEvent],
    ops: list[tuple[Any, ...]],
    write_caps: list[int],
    write_failures: frozenset[int],
) -> None:
    run_both(
        mode,
        bufsize,
        ops,
        source=source,
        events=events,
        write_caps=write_caps,
        write_failures=write_failures,
    )


@settings(max_examples=200, deadline=None)
@given(
    mode=st.sampled_from(["r", "rb", "rU", "rbU", "r+U", "U"]),
    bufsize=st.sampled_from(BUFSIZES),
    source=sources,
    events=read_events,
    ops=st.lists(read_ops, min_size=1, max_size=12),
)
def test_random_reads_match_paramiko(
    mode: str,
    bufsize: int,
    source: bytes,
    events: list[ReadEvent],
    ops: list[tuple[Any, ...]],
) -> None:
    run_both(mode, bufsize, ops, source=source, events=events)


@settings(max_examples=150, deadline=None)
@given(
    mode=st.sampled_from(["rU", "rbU", "r", "rb"]),
    bufsize=st.sampled_from([-1, 2, 8192]),
    caps=st.lists(st.integers(1, 3), min_size=1, max_size=40),
    source=st.lists(st.sampled_from([b"x", b"\r", b"\n", b"\r\n", b"yz"]), max_size=30).map(
        b"".join
    ),
    ops=st.lists(
        st.one_of(
            st.just(("readline",)),
            st.tuples(st.just("readline"), st.integers(0, 4)),
            st.tuples(st.just("read"), st.integers(0, 3)),
        ),
        min_size=1,
        max_size=20,
    ),
)
def test_line_endings_split_across_chunks_match_paramiko(
    mode: str, bufsize: int, caps: list[int], source: bytes, ops: list[tuple[Any, ...]]
) -> None:
    """``\\r`` / ``\\n`` / ``\\r\\n`` endings cut at every chunk boundary, in every mode."""
    run_both(mode, bufsize, ops, source=source, events=[("data", c) for c in caps])


# --------------------------------------------------------------------------------------------
# Documented behaviour (each also checked against paramiko)


def test_read_returns_bytes_and_readline_returns_text_in_text_mode() -> None:
    trace, _, _ = run_both(
        "r", -1, [("readline",), ("read", 3), ("readlines",)], source=b"h\xc3\xa9\nabcd\nef"
    )
    assert trace[1][1] == ("ok", "str", "hé\n")
    assert trace[2][1] == ("ok", "bytes", b"abc")
    assert trace[3][1] == ("ok", "list", [("str", "d\n"), ("str", "ef")])


def test_binary_mode_lines_are_bytes() -> None:
    trace, _, _ = run_both("rb", -1, [("readline",), ("next",)], source=b"one\ntwo")
    assert trace[1][1] == ("ok", "bytes", b"one\n")
    assert trace[2][1] == ("ok", "bytes", b"two")


def test_universal_newlines_translate_and_record() -> None:
    ops: list[tuple[Any, ...]] = [("readline",), ("readline",), ("readline",), ("readline",)]
    trace, _, _ = run_both(
        "rbU", -1, ops, source=b"a\r\nb\rc\nd", events=[("data", 2), ("data", 3)]
    )
    assert [step[1][2] for step in trace[1:5]] == [b"a\n", b"b\n", b"c\n", b"d"]
    ours = OurFile("rbU", -1, source=b"a\r\nb\rc\nd", events=[("data", 2), ("data", 3)])
    ours.readlines()
    assert ours.newlines == (b"\r\n", b"\r", b"\n")
    # A translated "\r\n" counts one byte towards tell(), like paramiko.
    assert ours.tell() == 7


def test_crlf_split_across_reads_sets_trailing_cr() -> None:
    trace, log, _ = run_both(
        "rbU", -1, [("readline",), ("readline",)], source=b"x\r\ny", events=[("data", 2)]
    )
    assert trace[1][1][2] == b"x\n"
    assert trace[1][2][9] is True  # _at_trailing_cr: waiting for a possible "\n"
    assert trace[2][1][2] == b"y"
    assert log[0] == 8192  # readline asks for _bufsize bytes at a time


def test_trailing_cr_eats_the_next_buffered_lf_even_after_read() -> None:
    """paramiko's quirk: after a line ending in a lone buffered-out "\\r", the next readline
    drops a "\\n" at the front of the read-ahead, even if read() consumed bytes in between."""
    ops: list[tuple[Any, ...]] = [("readline",), ("read", 1), ("readline",), ("readline",)]
    trace, _, _ = run_both(
        "rbU", 8192, ops, source=b"a\rx\nyz\n", events=[("data", 2), ("raw", 10)]
    )
    assert [step[1][2] for step in trace[1:5]] == [b"a\n", b"x", b"yz\n", b""]
    assert trace[3][2][8] == (b"\r\n", b"\n")  # newlines


def test_trailing_cr_then_partial_line_in_read_ahead() -> None:
    ops: list[tuple[Any, ...]] = [("readline",), ("read", 1), ("readline",), ("readline",)]
    trace, _, _ = run_both(
        "rbU", 8192, ops, source=b"a\rx\nyzw\n", events=[("data", 2), ("raw", 4)]
    )
    assert [step[1][2] for step in trace[1:5]] == [b"a\n", b"x", b"yzw\n", b""]


def test_size_limit_splits_crlf() -> None:
    """A "\\r" that is the last byte allowed by *size* does not take the "\\n" after it."""
    ops: list[tuple[Any, ...]] = [("readline", 3), ("readline",), ("readline",)]
    trace, _, _ = run_both("rbU", -1, ops, source=b"ab\r\ncd", events=[("raw", 10)])
    assert [step[1][2] for step in trace[1:4]] == [b"ab\n", b"\n", b"cd"]
    trace, _, _ = run_both("rbU", -1, ops, source=b"ab\r\ncd")
    assert [step[1][2] for step in trace[1:4]] == [b"ab\n", b"cd", b""]


def test_size_limit_with_oversized_chunk() -> None:
    """A stream that returns more than asked: the line is still cut at *size*."""
    ops: list[tuple[Any, ...]] = [("readline", 3), ("readline", 3), ("readline",)]
    for mode in ("rb", "rbU"):
        trace, log, _ = run_both(mode, -1, ops, source=b"abcdef\ngh", events=[("raw", 10)])
        assert [step[1][2] for step in trace[1:4]] == [b"abc", b"def", b"\n"]
        assert log[0] == 3


def test_read_to_eof_uses_default_chunk_size_and_counts_position() -> None:
    trace, log, _ = run_both("r", 4, [("read", 1), ("read",), ("tell",)], source=b"abcdefghij")
    assert trace[1][1] == ("ok", "bytes", b"a")
    assert trace[2][1] == ("ok", "bytes", b"bcdefghij")
    assert trace[3][1] == ("ok", "int", 10)
    assert log[0] == 4  # buffered: at least bufsize bytes per request
    assert set(log[1:]) == {8192}


def test_read_failure_keeps_partial_data_for_sized_reads_only() -> None:
    events: list[ReadEvent] = [("data", 3), ("fail",), ("data", 3), ("timeout",)]
    trace, _, _ = run_both(
        "rb", -1, [("read", 10), ("read", 2), ("read",), ("read",)], source=b"abcdefghijkl",
        events=events,
    )  # fmt: skip
    assert trace[1][1] == ("raise", "OSError", "scripted read failure")
    assert trace[2][1] == ("ok", "bytes", b"ab")  # kept in _rbuffer
    # read() to EOF drops what it gathered when the stream fails, as paramiko does.
    assert trace[3][1] == ("raise", "TimeoutError", "scripted timeout")
    assert trace[4][1] == ("ok", "bytes", b"ghijkl")


@pytest.mark.parametrize(
    ("bufsize", "expected"),
    [
        (-1, [b"ab", b"c\nd", b"e\n"]),
        (0, [b"ab", b"c\nd", b"e\n"]),
        (1, [b"abc\n", b"de\n"]),
        (4, [b"abc\nd", b"e\n"]),
        (5, [b"abc\nd", b"e\n"]),  # flushed as soon as the buffer holds bufsize bytes
        (8192, [b"abc\nde\n"]),
    ],
)
def test_write_flushing_rules(bufsize: int, expected: list[bytes]) -> None:
    ops: list[tuple[Any, ...]] = [("write", b"ab"), ("write", "c\nd"), ("write", b"e\n")]
    _, _, writes = run_both("w", bufsize, ops)
    assert [data for _, data in writes] == expected
    assert {kind for kind, _ in writes} == {"memoryview"}


def test_partial_writes_and_append_positions() -> None:
    trace, _, writes = run_both("a", 0, [("write", b"abcdef"), ("tell",)], write_caps=[4])
    assert writes == [("memoryview", b"abcdef"), ("memoryview", b"ef")]
    assert trace[2][1] == ("ok", "int", 106)  # starts at _get_size(), 100 here


def test_mode_errors_and_closed_file() -> None:
    trace, _, _ = run_both(
        "w", -1, [("read",), ("readline",), ("close",), ("write", b"x"), ("read", 1),
                  ("readline",), ("iter", 1), ("seek", 0)],
    )  # fmt: skip
    results = [step[1] for step in trace[1:-1]]
    assert results == [
        ("raise", "OSError", "File is not open for reading"),
        ("raise", "OSError", "File not open for reading"),
        ("ok", "NoneType", None),
        ("raise", "OSError", "File is closed"),
        ("raise", "OSError", "File is closed"),
        ("raise", "OSError", "File is closed"),
        ("raise", "ValueError", "I/O operation on closed file"),
        ("raise", "OSError", "File does not support seeking."),
    ]


def test_read_only_write_error() -> None:
    trace, _, _ = run_both("r", -1, [("write", b"x"), ("writable",), ("readable",)])
    assert trace[1][1] == ("raise", "OSError", "File not open for writing")


def test_line_buffered_memoryview_write_fails_like_paramiko() -> None:
    trace, _, _ = run_both("w", 1, [("write", "memoryview", b"a\n"), ("flush",)])
    assert trace[1][1] == (
        "raise",
        "AttributeError",
        "'memoryview' object has no attribute 'rfind'",
    )


def test_invalid_utf8_in_text_mode() -> None:
    trace, _, _ = run_both("r", -1, [("readline",), ("readline",)], source=b"\xff\nok\n")
    assert trace[1][1][1] == "UnicodeDecodeError"
    assert trace[2][1] == ("ok", "str", "ok\n")


@pytest.mark.parametrize("mode", ["r+", "w", "rb"])
def test_default_hooks(mode: str) -> None:
    """The base class's own hooks: always at EOF, writes fail, size 0."""
    results = []
    for base in (SBufferedFile, PBufferedFile):
        f = base()
        f._set_mode(mode, -1)
        results.append(
            [
                outcome(f.read),
                outcome(f.readline),
                outcome(functools.partial(f.write, b"x")),
                outcome(f._get_size),
                outcome(f.tell),
            ]
        )
    assert results[0] == results[1]
    if mode != "rb":
        assert results[0][2] == ("raise", "OSError", "write not implemented")


def test_unconfigured_base_class() -> None:
    for base in (SBufferedFile, PBufferedFile):
        f = base()
        assert outcome(f.read) == ("raise", "OSError", "File is not open for reading")
        assert outcome(f.readable) == ("ok", "bool", False)
        assert outcome(f.close) == ("ok", "NoneType", None)


def test_readline_of_a_long_line_in_tiny_chunks() -> None:
    """Linear in the line length (paramiko re-scans and re-copies the line per chunk)."""
    source = b"x" * 200_000 + b"\nend"
    ours = OurFile("rb", -1, source=source, events=[("data", 64)] * 4000)
    assert ours.readline() == b"x" * 200_000 + b"\n"
    assert ours.read() == b"end"
    assert ours.tell() == len(source)


def test_big_sized_read_in_small_chunks() -> None:
    source = bytes(range(256)) * 1000
    ours = OurFile("rb", -1, source=source, events=[("data", 100)] * 3000)
    assert ours.read(len(source) - 1) == source[:-1]
    assert ours.read(5) == source[-1:]


# --------------------------------------------------------------------------------------------
# API surface


def _public_names(cls: type[Any]) -> set[str]:
    return {name for name in dir(cls) if not name.startswith("_")}


HOOKS_AND_SPECIALS = [
    "__init__",
    "__del__",
    "__iter__",
    "__next__",
    "_read",
    "_write",
    "_get_size",
    "_set_mode",
    "_write_all",
    "_record_newline",
]
METHODS = (
    sorted(
        name
        for name in _public_names(PBufferedFile)
        if inspect.isfunction(getattr(PBufferedFile, name))
    )
    + HOOKS_AND_SPECIALS
)


def test_same_public_names() -> None:
    assert _public_names(SBufferedFile) == _public_names(PBufferedFile)
    assert issubclass(SBufferedFile, ClosingContextManager)
    assert isinstance(inspect.getattr_static(SBufferedFile, "closed"), property)


@pytest.mark.parametrize("name", METHODS)
def test_method_signatures_match(name: str) -> None:
    mine = inspect.signature(getattr(SBufferedFile, name)).parameters
    reference = inspect.signature(getattr(PBufferedFile, name)).parameters
    assert list(mine) == list(reference)
    for pname, param in reference.items():
        assert mine[pname].kind == param.kind, pname
        assert mine[pname].default == param.default, pname


@pytest.mark.parametrize(
    "name",
    ["SEEK_SET", "SEEK_CUR", "SEEK_END", "_DEFAULT_BUFSIZE"]
    + [name for name in dir(PBufferedFile) if name.startswith("FLAG_")],
)
def test_constants_match(name: str) -> None:
    assert getattr(SBufferedFile, name) == getattr(PBufferedFile, name)


def test_same_instance_attributes() -> None:
    ours, theirs = SBufferedFile(), PBufferedFile()
    for name, value in vars(theirs).items():
        if name != "_wbuffer":
            assert getattr(ours, name) == value, name
    # _rbuffer is a property over an offset into _rdata (see sshwire.file).
    assert set(vars(ours)) - set(vars(theirs)) == {"_rdata", "_rstart"}
    assert isinstance(inspect.getattr_static(SBufferedFile, "_rbuffer"), property)
    assert state(ours) == state(theirs)


def test_rbuffer_reads_and_assignments_like_an_attribute() -> None:
    for cls in (OurFile, TheirFile):
        f = cls("rb", 8192, source=b"one\ntwo\nthree\n", events=[("raw", 100)])
        assert f.readline() == b"one\n"
        assert f._rbuffer == b"two\nthree\n"
        f._rbuffer += b"four\n"
        assert f.read(2) == b"tw"
        f._rbuffer = b"x\n"
        assert f.readlines() == [b"x\n"]


def test_set_mode_flags_and_bufsize() -> None:
    for mode in [*MODES, "ra+bU"]:
        for bufsize in BUFSIZES:
            assert state(OurFile(mode, bufsize)) == state(TheirFile(mode, bufsize))
    # Calling _set_mode again only adds mode flags; bufsize is replaced.
    for cls in (OurFile, TheirFile):
        f = cls("rU", 10)
        f._set_mode("wb", 1)
        assert f._flags == (
            cls.FLAG_READ | cls.FLAG_WRITE | cls.FLAG_BINARY | cls.FLAG_UNIVERSAL_NEWLINE
            | cls.FLAG_BUFFERED | cls.FLAG_LINE_BUFFERED
        )  # fmt: skip
        assert f._bufsize == 8192


@pytest.fixture(autouse=True)
def _collect() -> Iterator[None]:
    """Collect the files of each test inside it (their __del__ flushes)."""
    yield
    gc.collect()

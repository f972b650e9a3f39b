"""Differential tests: ``sshwire.common``, ``sshwire.buffered_pipe`` and ``sshwire.pipe``
against paramiko 5.1's modules of the same names.

Behavioural tests run one scenario against both implementations and require the same
observations. Threads synchronise through events and bounded timeouts, never bare sleeps.
"""

from __future__ import annotations

import hashlib
import inspect
import io
import logging
import select
import threading
import types
from collections.abc import Callable
from typing import Any

import paramiko
import paramiko.buffered_pipe
import paramiko.common
import paramiko.pipe
import paramiko.util
import pytest

import sshwire
import sshwire.buffered_pipe
import sshwire.common
import sshwire.pipe
import sshwire.util

COMMON_NAMES = sorted(
    name
    for name in dir(paramiko.common)
    if not name.startswith("_") and not isinstance(getattr(paramiko.common, name), types.ModuleType)
)


# --- common -------------------------------------------------------------------------------


@pytest.mark.timeout(30)
@pytest.mark.parametrize("name", COMMON_NAMES)
def test_common_name_and_value(name: str) -> None:
    theirs = getattr(paramiko.common, name)
    assert hasattr(sshwire.common, name), name
    ours = getattr(sshwire.common, name)
    if callable(theirs):
        assert callable(ours)
        assert list(inspect.signature(ours).parameters) == list(
            inspect.signature(theirs).parameters
        )
    else:
        assert type(ours) is type(theirs)
        assert ours == theirs


@pytest.mark.timeout(30)
def test_common_all_lists_every_name() -> None:
    assert sorted(sshwire.common.__all__) == COMMON_NAMES


@pytest.mark.timeout(30)
def test_common_shares_protocol_constants() -> None:
    from sshwire import server
    from sshwire._proto import constants

    assert sshwire.common.MSG_CHANNEL_OPEN_SUCCESS == constants.MSG_CHANNEL_OPEN_CONFIRMATION
    assert sshwire.common.AUTH_FAILED is server.AUTH_FAILED
    assert sshwire.common.OPEN_SUCCEEDED is constants.OPEN_SUCCEEDED


@pytest.mark.timeout(30)
@pytest.mark.parametrize("value", [0, 1, 65, 127, 128, 255])
def test_byte_helpers(value: int) -> None:
    c_ours, c_theirs = sshwire.common, paramiko.common
    assert c_ours.byte_chr(value) == c_theirs.byte_chr(value)
    assert c_ours.byte_ord(value) == c_theirs.byte_ord(value)
    assert c_ours.byte_ord(chr(value)) == c_theirs.byte_ord(chr(value))
    for mask in (0x00, 0x0F, 0x7F, 0xFF):
        assert c_ours.byte_mask(value, mask) == c_theirs.byte_mask(value, mask)
        assert c_ours.byte_mask(value | 0x300, mask) == c_theirs.byte_mask(value | 0x300, mask)


@pytest.mark.timeout(30)
def test_top_level_io_sleep() -> None:
    assert sshwire.io_sleep == paramiko.io_sleep
    assert sshwire.io_sleep is sshwire.common.io_sleep


# --- buffered_pipe ------------------------------------------------------------------------

PipeModule = Any
BP_MODULES = [
    pytest.param(paramiko.buffered_pipe, id="paramiko"),
    pytest.param(sshwire.buffered_pipe, id="sshwire"),
]


def _both(scenario: Callable[[PipeModule], object]) -> object:
    theirs = scenario(paramiko.buffered_pipe)
    ours = scenario(sshwire.buffered_pipe)
    assert ours == theirs
    return ours


@pytest.mark.timeout(30)
def test_pipe_timeout_is_ioerror() -> None:
    for module in (paramiko.buffered_pipe, sshwire.buffered_pipe):
        assert issubclass(module.PipeTimeout, IOError)
        assert module.PipeTimeout().args == ()


@pytest.mark.timeout(30)
def test_buffered_pipe_signatures() -> None:
    for name in ("__init__", "set_event", "feed", "read_ready", "read", "empty", "close"):
        theirs = inspect.signature(getattr(paramiko.buffered_pipe.BufferedPipe, name))
        ours = inspect.signature(getattr(sshwire.buffered_pipe.BufferedPipe, name))
        assert [(p.name, p.default) for p in ours.parameters.values()] == [
            (p.name, p.default) for p in theirs.parameters.values()
        ], name


@pytest.mark.timeout(30)
def test_single_thread_sequence() -> None:
    def scenario(module: PipeModule) -> list[object]:
        pipe = module.BufferedPipe()
        event = threading.Event()
        seen: list[object] = []
        pipe.set_event(event)
        seen += [event.is_set(), pipe.read_ready(), len(pipe)]
        pipe.feed(b"hello ")
        pipe.feed("world")
        seen += [event.is_set(), pipe.read_ready(), len(pipe)]
        seen += [pipe.read(3), event.is_set(), len(pipe)]
        seen += [pipe.read(100), event.is_set(), pipe.read_ready()]
        try:
            pipe.read(1, 0)
        except module.PipeTimeout:
            seen.append("timeout")
        pipe.feed(b"abc")
        seen += [pipe.empty(), event.is_set(), pipe.empty()]
        pipe.feed(b"tail")
        pipe.close()
        seen += [event.is_set(), pipe.read_ready(), pipe.read(2), pipe.empty(), event.is_set()]
        seen += [pipe.read(10), pipe.read(10, 0), pipe.read_ready(), event.is_set()]
        pipe.feed(b"late")
        seen += [len(pipe), pipe.read(10)]
        return seen

    _both(scenario)


@pytest.mark.timeout(30)
def test_set_event_reflects_current_state() -> None:
    def scenario(module: PipeModule) -> list[bool]:
        states = []
        pipe = module.BufferedPipe()
        event = threading.Event()
        event.set()
        pipe.set_event(event)
        states.append(event.is_set())  # empty and open: cleared
        pipe.feed(b"x")
        fresh = threading.Event()
        pipe.set_event(fresh)
        states.append(fresh.is_set())  # data buffered: set
        pipe.read(1)
        states.append(fresh.is_set())
        pipe.close()
        closed = threading.Event()
        pipe.set_event(closed)
        states.append(closed.is_set())  # closed: set
        return states

    assert _both(scenario) == [False, True, False, True]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("module", BP_MODULES)
@pytest.mark.parametrize("timeout", [0.0, 0.05, -1.0])
def test_read_times_out_when_nothing_arrives(module: PipeModule, timeout: float) -> None:
    pipe = module.BufferedPipe()
    with pytest.raises(module.PipeTimeout):
        pipe.read(10, timeout)
    pipe.feed(b"ok")
    assert pipe.read(10, timeout) == b"ok"


@pytest.mark.timeout(30)
@pytest.mark.parametrize("module", BP_MODULES)
def test_blocked_reader_woken_by_feed(module: PipeModule) -> None:
    pipe = module.BufferedPipe()
    results: list[object] = []
    started = threading.Event()

    def reader() -> None:
        started.set()
        results.append(pipe.read(4, timeout=20))

    thread = threading.Thread(target=reader)
    thread.start()
    assert started.wait(10)
    pipe.feed(b"abcdef")
    thread.join(20)
    assert not thread.is_alive()
    assert results == [b"abcd"]
    assert pipe.read(10) == b"ef"


@pytest.mark.timeout(30)
@pytest.mark.parametrize("module", BP_MODULES)
def test_blocked_reader_without_timeout_woken_by_close(module: PipeModule) -> None:
    pipe = module.BufferedPipe()
    results: list[object] = []
    started = threading.Event()

    def reader() -> None:
        started.set()
        results.append(pipe.read(4))

    thread = threading.Thread(target=reader)
    thread.start()
    assert started.wait(10)
    pipe.close()
    thread.join(20)
    assert not thread.is_alive()
    assert results == [b""]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("module", BP_MODULES)
def test_reader_times_out_while_writer_holds_back(module: PipeModule) -> None:
    pipe = module.BufferedPipe()
    outcome: list[str] = []
    timed_out = threading.Event()

    def reader() -> None:
        try:
            pipe.read(1, timeout=0.1)
        except module.PipeTimeout:
            outcome.append("timeout")
            timed_out.set()
        outcome.append(pipe.read(5, timeout=20).decode())

    thread = threading.Thread(target=reader)
    thread.start()
    assert timed_out.wait(20)
    pipe.feed(b"later")
    thread.join(20)
    assert not thread.is_alive()
    assert outcome == ["timeout", "later"]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("module", BP_MODULES)
def test_streaming_between_threads_preserves_bytes(module: PipeModule) -> None:
    pipe = module.BufferedPipe()
    chunks = [bytes([i % 256]) * (i % 37 + 1) for i in range(300)]
    received = bytearray()
    event = threading.Event()
    pipe.set_event(event)

    def writer() -> None:
        for chunk in chunks:
            pipe.feed(chunk)
        pipe.close()

    thread = threading.Thread(target=writer)
    thread.start()
    while True:
        data = pipe.read(50, timeout=20)
        if not data:
            break
        received += data
    thread.join(20)
    assert not thread.is_alive()
    assert bytes(received) == b"".join(chunks)
    assert event.is_set()
    assert len(pipe) == 0


@pytest.mark.timeout(30)
@pytest.mark.parametrize("module", BP_MODULES)
def test_event_wakes_waiter_on_feed(module: PipeModule) -> None:
    pipe = module.BufferedPipe()
    event = threading.Event()
    pipe.set_event(event)
    thread = threading.Thread(target=pipe.feed, args=(b"x",))
    thread.start()
    assert event.wait(20)
    thread.join(20)
    assert pipe.read_ready()
    assert pipe.read(1, 0) == b"x"
    assert not event.is_set()


# --- pipe ---------------------------------------------------------------------------------

P_MODULES = [
    pytest.param(paramiko.pipe, id="paramiko"),
    pytest.param(sshwire.pipe, id="sshwire"),
]


def _readable(fileobj: Any) -> bool:
    return bool(select.select([fileobj], [], [], 0)[0])


@pytest.mark.timeout(30)
@pytest.mark.parametrize("module", P_MODULES)
def test_posix_pipe_set_and_clear(module: PipeModule) -> None:
    pipe = module.make_pipe()
    try:
        assert isinstance(pipe, module.PosixPipe)
        assert isinstance(pipe.fileno(), int)
        assert not _readable(pipe.fileno())
        pipe.set()
        pipe.set()  # idempotent: still a single byte in the pipe
        assert _readable(pipe.fileno())
        assert _readable(pipe)
        pipe.clear()
        assert not _readable(pipe.fileno())
        pipe.clear()  # clearing an unset pipe must not block
        assert not _readable(pipe.fileno())
        pipe.set_forever()
        pipe.clear()
        assert _readable(pipe.fileno())
    finally:
        pipe.close()
    pipe.set()  # ignored once closed


@pytest.mark.timeout(30)
@pytest.mark.parametrize("module", P_MODULES)
def test_or_pipe(module: PipeModule) -> None:
    pipe = module.make_pipe()
    try:
        first, second = module.make_or_pipe(pipe)
        assert isinstance(first, module.OrPipe)
        assert isinstance(second, module.OrPipe)
        assert not _readable(pipe)
        first.set()
        assert _readable(pipe)
        second.set()
        first.clear()
        assert _readable(pipe)  # second still holds it
        second.clear()
        assert not _readable(pipe)
        second.set()
        second.clear()
        assert not _readable(pipe)
    finally:
        pipe.close()


@pytest.mark.timeout(30)
def test_pipe_signatures() -> None:
    for name in ("make_pipe", "make_or_pipe"):
        theirs = inspect.signature(getattr(paramiko.pipe, name))
        ours = inspect.signature(getattr(sshwire.pipe, name))
        assert list(ours.parameters) == list(theirs.parameters), name
    for cls in ("PosixPipe", "OrPipe"):
        theirs_cls, ours_cls = getattr(paramiko.pipe, cls), getattr(sshwire.pipe, cls)
        for name, member in vars(theirs_cls).items():
            if name.startswith("__") and name != "__init__":
                continue
            if callable(member):
                assert list(inspect.signature(getattr(ours_cls, name)).parameters) == list(
                    inspect.signature(member).parameters
                ), f"{cls}.{name}"


# --- util helpers paramiko also exposes ---------------------------------------------------


@pytest.mark.parametrize(
    ("salt", "key", "nbytes"),
    [(b"saltsalt12", "pw", 32), (b"12345678", b"x" * 40, 70), (b"abc", "", 5), (b"", "k", 1)],
)
@pytest.mark.parametrize("hash_alg", [hashlib.md5, hashlib.sha1, hashlib.sha256])
def test_generate_key_bytes_matches_paramiko(
    hash_alg: Any, salt: bytes, key: bytes | str, nbytes: int
) -> None:
    ours = sshwire.util.generate_key_bytes(hash_alg, salt, key, nbytes)
    assert ours == paramiko.util.generate_key_bytes(hash_alg, salt, key, nbytes)
    assert len(ours) == nbytes


@pytest.mark.parametrize(("x", "m"), [(3, 11), (10, 17), (65537, (1 << 61) - 1)])
def test_mod_inverse_and_clamp(x: int, m: int) -> None:
    assert sshwire.util.mod_inverse(x, m) == paramiko.util.mod_inverse(x, m)
    assert x * sshwire.util.mod_inverse(x, m) % m == 1
    for args in [(1, 5, 3), (1, -4, 3), (1, 2, 3)]:
        assert sshwire.util.clamp_value(*args) == paramiko.util.clamp_value(*args)


def test_tb_strings_and_pfilter() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        lines = sshwire.util.tb_strings()
    assert any("ValueError: boom" in line for line in lines)
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    assert sshwire.util.PFilter().filter(record)
    assert record._threadid == sshwire.util.get_thread_id()


def test_parse_and_lookup_ssh_config_helpers() -> None:
    text = "Host web\n  HostName 127.0.0.1\n  Port 2222\n"
    ours = sshwire.util.parse_ssh_config(io.StringIO(text))
    theirs = paramiko.util.parse_ssh_config(io.StringIO(text))
    assert dict(sshwire.util.lookup_ssh_host_config("web", ours)) == dict(
        paramiko.util.lookup_ssh_host_config("web", theirs)
    )


def test_channel_open_only_refuses_a_closed_channel() -> None:
    calls = []

    class Probe(sshwire.Channel):
        @sshwire.channel.open_only
        def poke(self) -> str:
            calls.append(1)
            return "ok"

    chan = Probe(7)
    with pytest.raises(sshwire.SSHException):
        chan.poke()  # never opened
    assert not calls

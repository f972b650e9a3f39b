"""A quick run of the core fuzzer (``tests/_fuzz_core.py``) in the normal test suite.

The long runs go through ``tests/fuzz/run_fuzz.py`` (``nox -s fuzz``). Here: 1000 fixed cases
under tracemalloc, split in batches; a check that the cases really reach every phase for both
roles; checks that the oracle catches a planted bug, a livelock and a memory blow-up (so a
clean run means something); replay determinism; and a Hypothesis property that arbitrary bytes
fed to a core in each phase end in events or an SSHException.
"""

from __future__ import annotations

import os
import random
import tracemalloc
from collections import Counter
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import _fuzz_core as fc
from sshwire._proto import events as ev
from sshwire._proto import wire
from sshwire._proto.algorithms.hostkey import PrivateKey
from sshwire._proto.connection import Connection, Phase
from sshwire.ssh_exception import SSHException

SEED = 20240909
BATCH = 250
BATCHES = 4
_fired: Counter[str] = Counter()
_outcomes: Counter[str] = Counter()


@pytest.fixture
def traced() -> Iterator[None]:
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    try:
        yield
    finally:
        if started:
            tracemalloc.stop()


@pytest.mark.parametrize("batch", range(BATCHES))
def test_fuzz_batch(batch: int, traced: None) -> None:
    report = fc.run_cases(SEED, BATCH, start=batch * BATCH)
    _fired.update(report.fired)
    _outcomes.update(report.outcomes)
    details = [
        f"{f.seed} ({f.outcome}); replay: python tests/fuzz/run_fuzz.py --seed {SEED} "
        f"--only {f.seed.split(':')[1]}\n{f.error[-3000:]}"
        for f in report.failures
    ]
    assert not report.failures, "\n\n".join(details)
    assert report.max_peak < fc.CASE_PEAK_BYTES


def test_fuzz_reaches_every_phase_for_both_roles() -> None:
    """The quick run above must have mutated messages of each phase, against each role."""
    if len(_outcomes) == 0:
        report = fc.run_cases(SEED, BATCH * BATCHES)
        _fired.update(report.fired)
        _outcomes.update(report.outcomes)
    pairs = Counter(label.rsplit("|", 2)[0] for label in _fired)
    for role in ("client", "server"):
        for phase in ("version", "kex", "auth", "connection", "rekey"):
            assert pairs[f"{role}|{phase}"] > 0, f"no mutation reached the {role} in {phase}"
    actions = Counter(label.rsplit("|", 1)[1] for label in _fired)
    assert set(actions) >= {"field", "bytes", "inject_before", "flood", "drop", "wire_flip"}
    assert any(o.startswith("random:") for o in _outcomes)
    assert _outcomes["completed"] > 0
    # and the connection phase is reached often, not by luck
    assert sum(n for p, n in pairs.items() if p.endswith("|connection")) > 100


def test_cases_replay_identically() -> None:
    for index in (3, 17, 42):
        seed = fc.case_seed(SEED, index)
        first, second = fc.run_case(seed), fc.run_case(seed)
        assert (first.outcome, first.fired) == (second.outcome, second.fired)


def _find_case(predicate: str) -> str:
    """A seed whose session reaches the connection phase unharmed (for the planted bugs)."""
    for index in range(200):
        seed = fc.case_seed(SEED, index)
        if random.Random(seed + "/kind").random() < 0.1:
            continue
        session = fc.Session(seed)
        if session.plan[0].selector == predicate or predicate == "":
            return seed
    raise AssertionError("no such case")


def test_oracle_catches_a_planted_bug(monkeypatch: pytest.MonkeyPatch) -> None:
    """A core that lets a KeyError escape is reported, with the traceback."""
    real = Connection._dispatch

    def buggy(self: Connection, payload: bytes, events: list[ev.Event]) -> None:
        if payload[:1] == b"\x62":  # CHANNEL_REQUEST
            raise KeyError("planted")
        real(self, payload, events)

    monkeypatch.setattr(Connection, "_dispatch", buggy)
    results = [fc.run_case(fc.case_seed(SEED, i)) for i in range(60)]
    bad = [r for r in results if not r.ok]
    assert bad and all("KeyError" in r.error and "planted" in r.error for r in bad)


def test_oracle_catches_a_livelock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fc, "MAX_ROUNDS", 1)
    results = [fc.run_case(fc.case_seed(SEED, i)) for i in range(20)]
    assert any("no quiescence" in r.error for r in results)


def test_oracle_catches_a_memory_blowup(monkeypatch: pytest.MonkeyPatch, traced: None) -> None:
    monkeypatch.setattr(fc, "CASE_PEAK_BYTES", 1024)
    results = [fc.run_case(fc.case_seed(SEED, i)) for i in range(10)]
    assert any("peaked" in r.error for r in results)


def test_oracle_catches_a_core_left_open(monkeypatch: pytest.MonkeyPatch) -> None:
    """Raising without closing (no DISCONNECT) is a failure too."""
    real = Connection.disconnect

    def forgetful(self: Connection, *args: object, **kwargs: object) -> None:
        if self.phase is not Phase.OPEN:
            real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Connection, "disconnect", forgetful)
    results = [fc.run_case(fc.case_seed(SEED, i)) for i in range(80)]
    assert any("not CLOSED" in r.error for r in results)


# ----------------------------------------------------------------------- Hypothesis: raw bytes

_KEY = PrivateKey(ed25519.Ed25519PrivateKey.from_private_bytes(bytes(32)))


def _core_in(phase: str, client: bool) -> tuple[Connection, Connection]:
    """(target, peer) with the target in ``phase``: version, kex (banner done), open."""
    me = Connection(client, rng=os.urandom, clock=lambda: 0.0, host_keys=[_KEY])
    peer = Connection(not client, rng=os.urandom, clock=lambda: 0.0, host_keys=[_KEY])
    me.start()
    peer.start()
    if phase == "version":
        return me, peer
    if phase == "kex":
        me.receive_data(peer.local_version.encode() + b"\r\n")
        return me, peer
    for _ in range(10):
        out_me, out_peer = me.data_to_send(), peer.data_to_send()
        if not out_me and not out_peer:
            break
        if out_me:
            peer.receive_data(out_me)
        if out_peer:
            me.receive_data(out_peer)
    assert me.phase is Phase.OPEN
    return me, peer


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    phase=st.sampled_from(["version", "kex", "open", "open-sealed"]),
    client=st.booleans(),
    data=st.binary(max_size=600),
    split=st.integers(1, 64),
)
def test_arbitrary_bytes_in_every_phase(phase: str, client: bool, data: bytes, split: int) -> None:
    """Raw bytes (or, "open-sealed", a random payload sealed with the live keys) end in events
    or an SSHException, and a core that raised is closed."""
    me, peer = _core_in(phase.split("-")[0], client)
    if phase == "open-sealed":
        peer._send(data or b"\x00")
        data = peer.data_to_send()
    try:
        for i in range(0, len(data), split):
            events = me.receive_data(data[i : i + split])
            assert all(isinstance(e, ev.Event) for e in events)
        me.receive_data(b"")
    except SSHException:
        assert me.phase is Phase.CLOSED
        assert me.receive_data(wire.uint32(5)) == []

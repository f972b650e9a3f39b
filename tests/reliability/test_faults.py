"""Faults under load: what every blocked thread sees when the connection breaks.

The peers are real: a private OpenSSH sshd (one per test, so that killing it harms nobody
else), OpenSSH's ``ssh`` client and sshwire's embedded server. Network faults go through
:class:`_reliability.FaultyRelay` on loopback.

The contract (docs/compat.md, "Waits when the transport dies"): when the connection dies,
every wait ends at once: ``recv`` returns ``b""`` (end of stream), ``ChannelFile.read``
returns what it read, ``send``/``sendall`` raise ``OSError``, ``recv_exit_status`` raises
``SSHException``, SFTP calls raise ``SSHException``. The issue's bound is 2 s from the fault;
afterwards the transport's reader thread has ended and no thread or fd is left.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from _openssh import SshdServer
from _reliability import (
    Baseline,
    FaultyRelay,
    blocked_in_socket_send,
    descendants,
    session_sshd_pids,
    wait_until,
)
from sshwire.channel import Channel
from sshwire.client import RejectPolicy, SSHClient
from sshwire.ssh_exception import SSHException
from sshwire.testing import SSHServer
from sshwire.transport import Transport

pytestmark = pytest.mark.timeout(120)

WAKE_BOUND = 2.0  # seconds from the fault until every waiter has raised or returned
PROGRESS = 1 << 20  # bytes each transfer must have moved before the fault ("mid-transfer")
BLOCK = os.urandom(1 << 16)


# ------------------------------------------------------------------------------ helpers


def connect(server: SshdServer, address: tuple[str, int], tmp_path: Path) -> SSHClient:
    """An SSHClient logged in to ``server`` through ``address`` (the server's host keys are
    trusted under that address, and no other)."""
    host, port = address
    known = tmp_path / f"known_hosts_{port}"
    known.write_text(
        "".join(f"[{host}]:{port} {line}\n" for line in server.host_public_keys.values())
    )
    client = SSHClient()
    client.load_host_keys(str(known))
    client.set_missing_host_key_policy(RejectPolicy())
    client.connect(
        host,
        port,
        username=server.user,
        key_filename=str(server.client_keys["ed25519"]),
        look_for_keys=False,
        allow_agent=False,
        timeout=10,
    )
    return client


@dataclass
class Waiter:
    """One thread blocked in one call; records what the call did."""

    kind: str
    fn: Callable[[Waiter], object]
    moved: int = 0
    progressed: threading.Event = field(default_factory=threading.Event)
    started: threading.Event = field(default_factory=threading.Event)
    outcome: tuple[str, Any] | None = None
    ended_at: float = 0.0
    thread: threading.Thread | None = None

    def progress(self, n: int) -> None:
        self.moved += n
        if self.moved >= PROGRESS:
            self.progressed.set()

    def start(self) -> None:
        def run() -> None:
            self.started.set()
            try:
                self.outcome = ("returned", self.fn(self))
            except BaseException as exc:  # recorded: the test checks the type
                self.outcome = ("raised", exc)
            self.ended_at = time.monotonic()

        self.thread = threading.Thread(target=run, name=f"waiter-{self.kind}", daemon=True)
        self.thread.start()


def recv_until_eof(chan: Channel) -> Callable[[Waiter], object]:
    def fn(w: Waiter) -> object:
        while data := chan.recv(1 << 16):
            w.progress(len(data))
        return b""

    return fn


def sendall_forever(chan: Channel) -> Callable[[Waiter], object]:
    def fn(w: Waiter) -> object:
        while True:
            chan.sendall(BLOCK)
            w.progress(len(BLOCK))

    return fn


def send_forever(chan: Channel) -> Callable[[Waiter], object]:
    def fn(w: Waiter) -> object:
        while True:
            w.progress(chan.send(BLOCK))

    return fn


def exit_status(chan: Channel) -> Callable[[Waiter], object]:
    return lambda w: chan.recv_exit_status()


def read_file(f: Any) -> Callable[[Waiter], object]:
    def fn(w: Waiter) -> object:
        data = f.read()
        w.progress(len(data))
        return data

    return fn


def sftp_read_forever(sftp: Any, path: str) -> Callable[[Waiter], object]:
    def fn(w: Waiter) -> object:
        with sftp.open(path, "rb") as f:
            while True:
                data = f.read(1 << 18)
                if not data:
                    f.seek(0)
                w.progress(len(data))

    return fn


EXPECTED: dict[str, Callable[[tuple[str, Any]], bool]] = {
    # recv and ChannelFile.read: the end of the stream
    "recv": lambda o: o == ("returned", b""),
    "download": lambda o: o == ("returned", b""),
    "file.read": lambda o: o[0] == "returned" and isinstance(o[1], bytes),
    # senders: a socket error
    "send": lambda o: o[0] == "raised" and isinstance(o[1], OSError),
    "sendall": lambda o: o[0] == "raised" and isinstance(o[1], OSError),
    # the exit status cannot be known
    "recv_exit_status": lambda o: o[0] == "raised" and isinstance(o[1], SSHException),
    # SFTP: the connection is gone
    "sftp.read": lambda o: o[0] == "raised" and isinstance(o[1], SSHException | OSError),
}


def session(client: SSHClient, command: str) -> Channel:
    transport = client.get_transport()
    assert transport is not None
    chan = transport.open_session(timeout=10)
    chan.exec_command(command)
    return chan


def start_and_wait(waiters: list[Waiter]) -> None:
    for w in waiters:
        w.start()
    for w in waiters:
        assert w.started.wait(10), f"{w.kind} did not start"
    for w in waiters:
        if w.kind in ("download", "sendall", "sftp.read"):
            assert w.progressed.wait(30), f"{w.kind} moved only {w.moved} bytes"


def check_all_woke(waiters: list[Waiter], fault_at: float) -> None:
    deadline = fault_at + WAKE_BOUND
    for w in waiters:
        assert w.thread is not None
        w.thread.join(max(0.0, deadline - time.monotonic()))
    hung = [w.kind for w in waiters if w.thread is not None and w.thread.is_alive()]
    assert not hung, f"still blocked {WAKE_BOUND}s after the fault: {hung}"
    for w in waiters:
        assert w.outcome is not None
        assert EXPECTED[w.kind](w.outcome), f"{w.kind}: {w.outcome!r}"
        assert w.ended_at - fault_at < WAKE_BOUND


def check_transport_ended(transport: Transport, fault_at: float) -> None:
    transport.join(max(0.0, fault_at + WAKE_BOUND - time.monotonic()))
    assert not transport.is_alive(), "the reader thread outlived the connection"
    assert not transport.is_active()


def kill_all(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture
def private_sshd(sshd: SshdServer) -> Iterator[SshdServer]:
    """An sshd of this test's own: killing its processes affects no other test."""
    with sshd.start_with([]) as server:
        yield server


@pytest.fixture
def big_file(tmp_path: Path) -> str:
    path = tmp_path / "big.bin"
    with open(path, "wb") as f:
        for _ in range(64):
            f.write(os.urandom(1 << 20))
    return str(path)


# ------------------------------------------------------------------------ sshd SIGKILL


def test_sshd_killed_mid_transfer_wakes_32_waiters(
    private_sshd: SshdServer, big_file: str, tmp_path: Path
) -> None:
    """SIGKILL to the sshd processes serving the session while 32 threads are blocked in
    recv, send, sendall, recv_exit_status, ChannelFile.read and SFTP reads, mid-transfer."""
    server = private_sshd
    assert server.pid is not None
    baseline = Baseline()
    client = connect(server, (server.host, server.port), tmp_path)
    transport = client.get_transport()
    assert transport is not None
    sftps = [client.open_sftp() for _ in range(2)]
    waiters: list[Waiter] = []
    for _ in range(4):
        waiters.append(Waiter("recv", recv_until_eof(session(client, "sleep 60"))))
        waiters.append(Waiter("download", recv_until_eof(session(client, "cat /dev/zero"))))
        waiters.append(Waiter("send", send_forever(session(client, "sleep 60"))))
        waiters.append(Waiter("sendall", sendall_forever(session(client, "cat >/dev/null"))))
        waiters.append(Waiter("recv_exit_status", exit_status(session(client, "sleep 60"))))
    for command in ("sleep 60", "head -c 8M /dev/zero; sleep 60") * 2:
        waiters.append(Waiter("file.read", read_file(session(client, command).makefile("rb"))))
    for i in range(8):
        waiters.append(Waiter("sftp.read", sftp_read_forever(sftps[i % 2], big_file)))
    assert len(waiters) == 32
    sshd_pids = session_sshd_pids(server.pid)
    tree = descendants(server.pid)
    assert sshd_pids, "no sshd session process found"
    try:
        start_and_wait(waiters)
        fault_at = time.monotonic()
        kill_all(sshd_pids)
        check_all_woke(waiters, fault_at)
        check_transport_ended(transport, fault_at)
    finally:
        kill_all(tree)  # the commands the killed sshd left behind
        for sftp in sftps:
            sftp.close()
        client.close()
    baseline.check()


# ------------------------------------------------------------------------ network faults


def _transfer_waiters(client: SSHClient, big_file: str) -> tuple[list[Waiter], Any]:
    sftp = client.open_sftp()
    waiters = [
        Waiter("download", recv_until_eof(session(client, "cat /dev/zero"))),
        Waiter("sendall", sendall_forever(session(client, "cat >/dev/null"))),
        Waiter("recv", recv_until_eof(session(client, "sleep 60"))),
        Waiter("send", send_forever(session(client, "sleep 60"))),
        Waiter("recv_exit_status", exit_status(session(client, "sleep 60"))),
        Waiter("file.read", read_file(session(client, "sleep 60").makefile("rb"))),
        Waiter("sftp.read", sftp_read_forever(sftp, big_file)),
    ]
    return waiters, sftp


@pytest.mark.parametrize("fault", ["reset", "half-close", "half-close-and-stop-reading"])
def test_network_fault_mid_transfer(
    private_sshd: SshdServer, big_file: str, tmp_path: Path, fault: str
) -> None:
    """An RST (SO_LINGER 0), or a FIN from the server's side while the relay keeps reading,
    or a FIN after which nothing is read either (the senders are then blocked in the
    socket, not on the window: only shutting the socket down wakes them)."""
    server = private_sshd
    assert server.pid is not None
    tree: list[int] = []
    baseline = Baseline()
    with FaultyRelay((server.host, server.port), rcvbuf=1 << 16) as relay:
        client = connect(server, relay.address, tmp_path)
        transport = client.get_transport()
        assert transport is not None
        if fault == "half-close-and-stop-reading":  # so that senders block in the socket
            transport.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 14)
        waiters, sftp = _transfer_waiters(client, big_file)
        try:
            start_and_wait(waiters)
            tree = descendants(server.pid)
            if fault == "reset":
                fault_at = time.monotonic()
                relay.reset_client()
            else:
                keep_reading = fault == "half-close"
                if not keep_reading:
                    relay.stop_reading()
                    sender = next(w for w in waiters if w.kind == "sendall").thread
                    assert sender is not None
                    assert wait_until(lambda: blocked_in_socket_send(sender), 20)
                fault_at = time.monotonic()
                relay.half_close_client(keep_reading=keep_reading)
            check_all_woke(waiters, fault_at)
            check_transport_ended(transport, fault_at)
        finally:
            sftp.close()
            client.close()
    kill_all([p for p in tree if p in descendants(server.pid)])
    baseline.check()


# ------------------------------------------------------------------ a peer that stops reading


@pytest.mark.parametrize("blocked_in", ["socket", "window"])
def test_send_timeout_when_peer_stops_reading(
    private_sshd: SshdServer, tmp_path: Path, blocked_in: str
) -> None:
    """``Channel.settimeout(t)``: a send against a peer that stopped reading raises
    ``socket.timeout`` after about t, the transport lives on, and once the peer reads again
    the stream is intact: the server received exactly the bytes ``send`` reported as sent.

    ``socket``: the socket's buffers are small, so the sender is stuck in the socket (its
    last packet half written) while the peer's window is still open. ``window``: the
    buffers are large, so the peer's window runs out first.
    """
    server = private_sshd
    small = blocked_in == "socket"
    timeout = 1.0
    with FaultyRelay((server.host, server.port), rcvbuf=(1 << 14) if small else None) as relay:
        client = connect(server, relay.address, tmp_path)
        transport = client.get_transport()
        assert transport is not None
        if small:
            transport.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 14)
        try:
            chan = session(client, "wc -c")
            chan.settimeout(timeout)
            relay.stop_reading()
            accepted = 0
            started = time.monotonic()
            with pytest.raises(TimeoutError):
                for _ in range(10_000):  # bounded: the window is 2 MiB, BLOCK 64 KiB
                    accepted += chan.send(BLOCK)
            elapsed = time.monotonic() - started
            # about t: at least t, and well before the waits could have added up
            assert timeout * 0.9 <= elapsed < timeout * 2 + 1, elapsed
            assert transport.is_active()
            if small:
                assert transport._unsent or transport._sending, "not blocked in the socket"
            # sendall: one deadline for the whole call
            started = time.monotonic()
            with pytest.raises(TimeoutError):
                chan.sendall(BLOCK * 64)
            assert time.monotonic() - started < timeout * 2 + 1
            relay.resume_reading()
            chan.settimeout(30)
            chan.shutdown_write()
            out = b""
            while data := chan.recv(100):
                out += data
            # sendall's count is unknown: it took some whole packets of BLOCK * 64 too, so
            # compare through a fresh channel rather than guess
            received = int(out)
            assert received >= accepted
            assert chan.recv_exit_status() == 0
            # the connection itself is intact: a new channel works
            other = session(client, "echo still here")
            other.settimeout(30)
            assert other.recv(100) == b"still here\n"
        finally:
            client.close()


def test_send_timeout_exact_count(private_sshd: SshdServer, tmp_path: Path) -> None:
    """With ``send`` alone (whose counts are exact), the server gets exactly what send
    reported, after a timeout with the last packet half written."""
    server = private_sshd
    with FaultyRelay((server.host, server.port), rcvbuf=1 << 14) as relay:
        client = connect(server, relay.address, tmp_path)
        transport = client.get_transport()
        assert transport is not None
        transport.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 14)
        try:
            chan = session(client, "wc -c")
            chan.settimeout(0.5)
            relay.stop_reading()
            accepted = 0
            with pytest.raises(TimeoutError):
                for _ in range(10_000):
                    accepted += chan.send(BLOCK)
            assert accepted > 0 and transport.is_active()
            relay.resume_reading()
            chan.settimeout(30)
            chan.shutdown_write()
            out = b""
            while data := chan.recv(100):
                out += data
            assert int(out) == accepted
        finally:
            client.close()


def test_socket_timeout_does_not_kill_transport(private_sshd: SshdServer, tmp_path: Path) -> None:
    """A timeout on the transport's socket (sshtunnel sets 0.1 s) only means a slow peer:
    a sendall without a channel timeout waits through many of them and completes."""
    server = private_sshd
    with FaultyRelay((server.host, server.port), rcvbuf=1 << 14) as relay:
        client = connect(server, relay.address, tmp_path)
        transport = client.get_transport()
        assert transport is not None
        transport.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 14)
        transport.sock.settimeout(0.1)
        try:
            chan = session(client, "wc -c")
            relay.stop_reading()
            done = threading.Event()
            errors: list[BaseException] = []

            def upload() -> None:
                try:
                    chan.sendall(BLOCK * 16)
                except BaseException as exc:  # recorded for the assertion below
                    errors.append(exc)
                done.set()

            sender = threading.Thread(target=upload)
            sender.start()
            # blocked across at least ten socket timeouts, and not killed by them
            assert not done.wait(1.0), f"sendall finished against a stalled peer: {errors}"
            assert transport.is_active()
            relay.resume_reading()
            assert done.wait(30) and not errors, errors
            sender.join(10)
            chan.shutdown_write()
            chan.settimeout(30)
            out = b""
            while data := chan.recv(100):
                out += data
            assert int(out) == len(BLOCK) * 16
        finally:
            client.close()


# ------------------------------------------------------------------ stalls in the handshake


def test_client_side_kex_stall_hits_handshake_timeout(private_sshd: SshdServer) -> None:
    """sshd's version line and KEXINIT arrive, its kex reply never does."""
    server = private_sshd
    baseline = Baseline()
    with FaultyRelay((server.host, server.port)) as relay:
        relay.stall_server_after_packets(1)
        t = Transport(socket.create_connection(relay.address))
        t.banner_timeout = 1
        t.handshake_timeout = 1
        started = time.monotonic()
        with pytest.raises(SSHException, match="handshake_timeout"):
            t.start_client(timeout=30)
        assert time.monotonic() - started < 1 + 1 + WAKE_BOUND
        t.join(WAKE_BOUND)
        assert not t.is_alive()
        t.close()
    baseline.check()


@pytest.fixture
def quick_server(tmp_path: Path) -> Iterator[SSHServer]:
    def configure(t: Transport) -> None:
        t.banner_timeout = 1
        t.handshake_timeout = 1

    server = SSHServer(configure_transport=configure)
    server.add_user(directory=tmp_path)
    with server:
        yield server


def test_server_side_kex_stall_with_openssh_client(
    quick_server: SSHServer, tmp_path: Path, sshd: SshdServer
) -> None:
    """OpenSSH's ssh sends its version and KEXINIT, then nothing reaches the server: the
    server's handshake timeout ends the connection, and ssh hears of it."""
    known = quick_server.write_known_hosts(tmp_path / "known_hosts")
    with FaultyRelay(quick_server.address) as relay:
        relay.stall_client_after_packets(1)
        argv = quick_server.ssh_command(known_hosts_file=known, ssh=sshd.openssh.ssh)
        argv[argv.index("-p") + 1] = str(relay.address[1])
        alias = f"HostKeyAlias=[{quick_server.host}]:{quick_server.port}"
        argv[1:1] = ["-F", "/dev/null", "-o", "BatchMode=yes", "-o", alias]
        argv.append("true")
        started = time.monotonic()
        proc = subprocess.run(argv, capture_output=True, timeout=30, check=False)
        assert proc.returncode == 255, proc.stderr
        assert b"Connection closed" in proc.stderr or b"reset" in proc.stderr, proc.stderr
        assert time.monotonic() - started < 1 + 1 + 5
    assert quick_server.wait_until_idle(10)
    # the server still serves everybody else
    with quick_server.connect_client() as client:
        _, stdout, _ = client.exec_command("echo fine")
        assert stdout.read() == b"fine\n"


@pytest.mark.parametrize("sent", ["nothing", "version", "version+kexinit"])
def test_server_side_stall_raw_client(quick_server: SSHServer, sent: str) -> None:
    """A client that stops after sending nothing, its version line, or its KEXINIT: the
    server hangs up after its banner/handshake timeouts."""
    import os as _os

    from sshwire._proto.connection import Connection

    sock = socket.create_connection(quick_server.address, timeout=10)
    with sock:
        if sent != "nothing":
            core = Connection(True, rng=_os.urandom, clock=time.monotonic)
            core.start()
            opening = bytes(core.data_to_send())
            if sent == "version":
                opening = opening[: opening.index(b"\n") + 1]
            sock.sendall(opening)
        started = time.monotonic()
        while sock.recv(1 << 16):  # the server's version and KEXINIT, then its close
            pass
        assert time.monotonic() - started < 1 + 1 + 5
    assert quick_server.wait_until_idle(10)

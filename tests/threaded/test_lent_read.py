"""The read side lent to the one thread waiting in ``recv()`` (``sshwire/_lent_read.py``).

The peer is a sans-IO server core driven by a thread of this test over a socketpair, so each
test decides exactly what arrives and when: bulk data, a rekey in the middle of it, garbage,
a close. Every test checks that a loan really happened (``_read_gen``), that nothing is lost
or reordered (sha256 of the stream), and that the reader thread is the one left reading, or
has ended, afterwards: a loan must never cost a wake-up, a timeout or a thread.
"""

from __future__ import annotations

import hashlib
import os
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

import sshwire
from sshwire import SSHException, Transport
from sshwire._lent_read import _FREE, _READER
from sshwire._proto import events as ev
from sshwire._proto.algorithms.hostkey import PrivateKey
from sshwire._proto.config import ConnectionConfig
from sshwire._proto.connection import Connection

pytestmark = pytest.mark.timeout(60)

PACKET = 32768
WAIT = 10.0  # bound for every wait in these tests


class Peer:
    """A server core on one end of a socketpair, pumped by its own thread.

    After the handshake (password accepted, one session channel, its exec request answered)
    the test drives the core with :meth:`do`; the pump thread answers global requests and
    key exchanges, and keeps the window open.
    """

    def __init__(self, cipher: str = "aes128-gcm@openssh.com") -> None:
        self.sock, theirs = socket.socketpair()
        self.theirs = theirs
        key = PrivateKey(ed25519.Ed25519PrivateKey.generate())
        cfg = ConnectionConfig(ciphers=(cipher,), rekey_bytes=1 << 40)
        self.core = Connection(False, cfg, rng=os.urandom, clock=time.monotonic, host_keys=[key])
        self.lock = threading.Lock()
        self.channel: int | None = None
        self.started = threading.Event()
        self.kex_done = 0
        self.stopped = False
        self.pump = threading.Thread(target=self._pump, daemon=True)
        with self.lock:
            self.core.start()
            theirs.sendall(self.core.data_to_send())
        self.pump.start()

    def _pump(self) -> None:
        theirs = self.theirs
        try:
            while not self.stopped:
                data = theirs.recv(1 << 16)
                with self.lock:  # sealed and sent in one hold: in order with do()
                    events = self.core.receive_data(data)
                    for event in events:
                        self._on_event(event)
                    out = self.core.data_to_send()
                    if out:
                        theirs.sendall(out)
                if not data:
                    return
        except (OSError, SSHException):
            return

    def _on_event(self, event: ev.Event) -> None:
        core = self.core
        if isinstance(event, ev.AuthRequested):
            core.auth_accept(event.username)
        elif isinstance(event, ev.ChannelOpenRequested):
            core.channels.accept(event.channel, 1 << 31, PACKET)
            self.channel = event.channel
        elif isinstance(event, ev.ChannelRequestReceived):
            if event.want_reply:
                core.channels.reply(event.channel, True)
            self.started.set()
        elif isinstance(event, ev.GlobalRequestReceived):
            if event.want_reply:
                core.global_reply(True, b"")
        elif isinstance(event, ev.KexCompleted):
            self.kex_done += 1

    def do(self, fn: Callable[[Connection], object]) -> None:
        """Run a command on the core and send what it sealed (in order with the pump)."""
        with self.lock:
            fn(self.core)
            out = self.core.data_to_send()
            if out:
                self.theirs.sendall(out)

    def send(self, data: bytes) -> None:
        assert self.channel is not None
        channel = self.channel
        view = memoryview(data)
        for i in range(0, len(view), PACKET):
            chunk = view[i : i + PACKET]
            self.do(lambda core, chunk=chunk: core.channels.send_data(channel, chunk))

    def close(self) -> None:
        self.stopped = True
        for s in (self.theirs,):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        self.pump.join(WAIT)


def _connect(peer: Peer) -> tuple[Transport, sshwire.Channel]:
    transport = Transport(peer.sock)
    transport.start_client(timeout=WAIT)
    transport.auth_password("lender", "pw")
    chan = transport.open_session(window_size=(1 << 31) - 1)
    chan.exec_command("stream")
    assert peer.started.wait(WAIT)
    chan.settimeout(WAIT)
    return transport, chan


@pytest.fixture
def session() -> Iterator[tuple[Transport, sshwire.Channel, Peer]]:
    peer = Peer()
    transport, chan = _connect(peer)
    try:
        yield transport, chan, peer
    finally:
        transport.close()
        peer.close()
        assert not transport.is_alive()


def _payload(size: int) -> bytes:
    return os.urandom(size)


def _receive(chan: sshwire.Channel, size: int) -> bytes:
    parts = []
    got = 0
    while got < size:
        data = chan.recv(1 << 20)
        assert data, f"stream ended after {got} of {size} bytes"
        parts.append(data)
        got += len(data)
    return b"".join(parts)


def _stream_in_background(peer: Peer, data: bytes, pieces: int = 16) -> threading.Thread:
    """Send ``data`` in pieces with short pauses, so the receiver both reads and waits."""

    def run() -> None:
        step = len(data) // pieces
        for i in range(pieces):
            peer.send(data[i * step : (i + 1) * step if i < pieces - 1 else len(data)])
            time.sleep(0.002)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _lend(transport: Transport, chan: sshwire.Channel, peer: Peer, size: int) -> None:
    """Stream ``size`` bytes with pauses, receive them intact, and check the read side was
    lent to this thread on the way (the state every test below starts from)."""
    data = _payload(size)
    sender = _stream_in_background(peer, data, pieces=8)
    assert _receive(chan, len(data)) == data
    sender.join(WAIT)
    assert transport._read_gen > 0, "the read side was never lent"


def _reader_reads_again(transport: Transport) -> None:
    """The loan ends by itself: the reader thread holds the read side again."""
    deadline = time.monotonic() + WAIT
    while transport._read_owner != _READER and time.monotonic() < deadline:
        time.sleep(0.005)
    assert transport._read_owner == _READER


def test_a_download_is_read_by_the_thread_in_recv(session: tuple) -> None:
    transport, chan, peer = session
    data = _payload(8 << 20)
    sender = _stream_in_background(peer, data)
    got = _receive(chan, len(data))
    sender.join(WAIT)
    assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()
    assert transport._read_gen > 0, "the read side was never lent"
    _reader_reads_again(transport)
    # the low-water mark of a bulk wait never outlives it (the reader's reads would stall)
    assert transport.sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT) == 1


def test_the_tail_of_a_burst_and_small_replies_arrive(session: tuple) -> None:
    """After bulk reads the next wait asks for a low-water mark: a short tail, and small
    messages after it, must still come through (within the bounded bulk wait)."""
    transport, chan, peer = session
    for _ in range(20):
        data = _payload((1 << 20) + 17)
        sender = _stream_in_background(peer, data, pieces=2)
        assert _receive(chan, len(data)) == data
        sender.join(WAIT)
        peer.send(b"ping")
        assert chan.recv(100) == b"ping"
    assert transport._read_gen > 0


def test_recv_timeout_holds_during_a_loan(session: tuple) -> None:
    transport, chan, peer = session
    data = _payload(1 << 20)
    sender = _stream_in_background(peer, data, pieces=4)
    assert _receive(chan, len(data)) == data
    sender.join(WAIT)
    loans = transport._read_gen
    assert loans > 0
    chan.settimeout(0.3)
    started = time.monotonic()
    with pytest.raises(socket.timeout):
        chan.recv(10)
    assert time.monotonic() - started < 3
    # and data that comes later still arrives
    chan.settimeout(WAIT)
    peer.send(b"late")
    assert chan.recv(10) == b"late"


def test_waiters_other_than_recv_are_served_after_a_loan(session: tuple) -> None:
    """The application stops calling recv() with the read side lent: a global request, an
    exit status and a second channel must still get their answers."""
    transport, chan, peer = session
    _lend(transport, chan, peer, 1 << 20)
    reply = transport.global_request("ping@test", wait=True)
    assert reply is not None
    channel = peer.channel
    assert channel is not None
    peer.do(lambda core: core.channels.send_request(channel, "exit-status", False, b"\0\0\0\x07"))
    assert chan.recv_exit_status() == 7
    second = transport.open_session()
    second.exec_command("other")
    assert second.get_id() != chan.get_id()


def test_a_poller_of_recv_ready_sees_data_without_calling_recv(session: tuple) -> None:
    transport, chan, peer = session
    _lend(transport, chan, peer, 1 << 20)
    peer.send(b"polled")
    deadline = time.monotonic() + WAIT
    while not chan.recv_ready():
        assert time.monotonic() < deadline
        time.sleep(0.001)
    assert chan.recv(100) == b"polled"


def test_a_free_loan_ends_at_once_for_pollers(session: tuple) -> None:
    """Pollers must not wait for the reclaim timer: each poll that finds nothing hands the
    read side straight back to the reader thread (checked right after the call, long before
    the parked reader's own 4 ms reclaim could run)."""
    transport, chan, peer = session
    _lend(transport, chan, peer, 1 << 20)
    _reader_reads_again(transport)
    for poll in (chan.recv_ready, chan.recv_stderr_ready, chan.exit_status_ready):
        with transport._lock:  # as a loan leaves it when recv() returns
            transport._read_owner = _FREE
        assert not poll()
        assert transport._read_owner == _READER, poll.__name__


def test_rekeys_during_a_lent_download_lose_nothing(session: tuple) -> None:
    transport, chan, peer = session
    data = _payload(8 << 20)
    step = 1 << 20

    def run() -> None:
        for i in range(0, len(data), step):
            peer.send(data[i : i + step])
            done = peer.kex_done
            peer.do(lambda core: core.start_rekey())
            deadline = time.monotonic() + WAIT  # one exchange at a time
            while peer.kex_done == done and time.monotonic() < deadline:
                time.sleep(0.001)

    sender = threading.Thread(target=run)
    sender.start()
    got = _receive(chan, len(data))
    sender.join(WAIT)
    assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()
    assert transport._read_gen > 0
    deadline = time.monotonic() + WAIT
    while peer.kex_done < 9 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert peer.kex_done >= 9  # the first exchange and eight rekeys
    assert transport.is_active()


def test_stderr_arriving_during_a_loan_does_not_stall_stdout(session: tuple) -> None:
    """The deadlock guard: stderr nobody reads is credited back while stdout is lent."""
    _, chan, peer = session
    channel = peer.channel
    assert channel is not None
    noise = _payload(4 << 20)  # twice the client's default window would stall without credit
    data = _payload(4 << 20)

    def run() -> None:
        for i in range(0, len(noise), PACKET):
            piece = noise[i : i + PACKET]
            peer.do(lambda core, piece=piece: core.channels.send_data(channel, piece, 1))
        peer.send(data)

    sender = threading.Thread(target=run)
    sender.start()
    got = _receive(chan, len(data))
    sender.join(WAIT)
    assert got == data
    assert chan.recv_stderr(len(noise) + 1) == noise


def test_garbage_during_a_loan_ends_the_transport_cleanly(session: tuple) -> None:
    transport, chan, peer = session
    _lend(transport, chan, peer, 2 << 20)
    with peer.lock:
        peer.theirs.sendall(os.urandom(4096))
    assert chan.recv(100) == b""
    transport.join(WAIT)
    assert not transport.is_alive()
    assert isinstance(transport.get_exception(), SSHException)


def test_the_peer_closing_during_a_loan_ends_recv(session: tuple) -> None:
    transport, chan, peer = session
    _lend(transport, chan, peer, 2 << 20)
    peer.stopped = True
    peer.theirs.shutdown(socket.SHUT_RDWR)
    assert chan.recv(100) == b""
    transport.join(WAIT)
    assert not transport.is_alive()


def test_close_from_another_thread_ends_a_lent_recv(session: tuple) -> None:
    transport, chan, peer = session
    stop = threading.Event()

    def flood() -> None:
        block = bytes(PACKET)
        try:
            while not stop.is_set():
                peer.send(block)
        except (OSError, SSHException):  # the socket, or the peer's core, saw the close
            pass

    flooder = threading.Thread(target=flood)
    flooder.start()
    ended: list[bytes | BaseException] = []

    def drain() -> None:
        try:
            while chan.recv(1 << 20):
                pass
            ended.append(b"")
        except BaseException as exc:  # recorded for the assertion below
            ended.append(exc)

    reader = threading.Thread(target=drain)
    reader.start()
    deadline = time.monotonic() + WAIT
    while transport._read_gen == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert transport._read_gen > 0
    transport.close()
    reader.join(WAIT)
    stop.set()
    flooder.join(WAIT)
    assert not reader.is_alive()
    assert ended and (ended[0] == b"" or isinstance(ended[0], OSError | SSHException))
    assert not transport.is_alive()


def test_fileno_keeps_reading_with_the_reader_thread(session: tuple) -> None:
    transport, chan, peer = session
    fd = chan.fileno()
    assert transport._no_loans
    loans = transport._read_gen
    data = _payload(2 << 20)
    sender = _stream_in_background(peer, data, pieces=8)
    parts = []
    got = 0
    while got < len(data):
        ready, _, _ = select.select([fd], [], [], WAIT)
        assert ready
        part = chan.recv(1 << 20)
        parts.append(part)
        got += len(part)
    sender.join(WAIT)
    assert b"".join(parts) == data
    assert transport._read_gen == loans


def test_a_socket_timeout_given_with_the_socket_is_cleared() -> None:
    """paramiko's Transport replaces the socket's timeout with its own; sshwire's makes the
    socket blocking, so SSHClient.connect(timeout=...) and sshtunnel, which leave a timeout
    on the socket they hand over, keep the kernel receive timeout and the lent reads."""
    peer = Peer()
    peer.sock.settimeout(5.0)
    transport, chan = _connect(peer)
    try:
        assert transport.sock.gettimeout() is None
        _lend(transport, chan, peer, 2 << 20)
    finally:
        transport.close()
        peer.close()
    assert not transport.is_alive()


def test_a_socket_timeout_set_later_ends_the_loans_but_nothing_else(session: tuple) -> None:
    transport, chan, peer = session
    _lend(transport, chan, peer, 1 << 20)
    transport.sock.settimeout(0.05)  # an application reaching into the transport's socket
    loans = transport._read_gen
    data = _payload(2 << 20)
    sender = _stream_in_background(peer, data, pieces=8)
    assert _receive(chan, len(data)) == data
    sender.join(WAIT)
    assert transport._read_gen <= loans + 1  # at most the loan in progress as it was set
    assert transport.is_active()
    transport.sock.settimeout(None)

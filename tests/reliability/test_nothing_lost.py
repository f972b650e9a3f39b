"""Nothing lost: 64 channels x 32 MiB in both directions at once, rekeying every 1 MiB.

Every channel carries its own byte stream up and gets it back (``cat`` on the server, or an
echo service behind a port forward); the SHA-256 of what came back must equal that of what
went up, for every channel. Meanwhile both ends rekey after every MiB in either direction
(sshd's ``RekeyLimit 1M``, our transports' ``rekey_bytes``), so thousands of key exchanges
happen in the middle of the traffic, with packets of 64 channels in flight.

Peers: OpenSSH's sshd (exec, a local forward ``direct-tcpip`` to an echo service, a remote
forward ``tcpip-forward`` whose connections we echo), and sshwire's own embedded server.
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from _openssh import SshdServer
from sshwire.channel import Channel
from sshwire.pkey import PKey
from sshwire.testing import SSHServer
from sshwire.transport import Transport

pytestmark = [pytest.mark.timeout(900), pytest.mark.slow]

CHANNELS = 64
SIZE = 32 << 20  # per channel and direction
CHUNK = 1 << 16
REKEY = 1 << 20
_POOL = os.urandom(4 << 20)


def chunks(stream: int) -> Iterator[memoryview]:
    """Stream ``stream``'s bytes: SIZE bytes of distinct 64 KiB slices of a random pool."""
    pool = memoryview(_POOL)
    limit = len(_POOL) - CHUNK
    for i in range(SIZE // CHUNK):
        offset = (i * 40503 + stream * 104729) % limit
        yield pool[offset : offset + CHUNK]


@dataclass
class Result:
    sent: str = ""
    received: str = ""
    received_bytes: int = 0
    error: BaseException | None = None


def pump(endpoint: Channel | socket.socket, stream: int, result: Result) -> list[threading.Thread]:
    """Send stream ``stream`` through ``endpoint`` and hash what comes back, in two threads."""

    def up() -> None:
        digest = hashlib.sha256()
        try:
            for chunk in chunks(stream):
                digest.update(chunk)
                endpoint.sendall(chunk)
            if isinstance(endpoint, Channel):
                endpoint.shutdown_write()
            else:
                endpoint.shutdown(socket.SHUT_WR)
        except BaseException as exc:  # reported by the test
            result.error = exc
        result.sent = digest.hexdigest()

    def down() -> None:
        digest = hashlib.sha256()
        n = 0
        try:
            while data := endpoint.recv(1 << 18):
                digest.update(data)
                n += len(data)
        except BaseException as exc:  # reported by the test
            result.error = exc
        result.received, result.received_bytes = digest.hexdigest(), n

    threads = [
        threading.Thread(target=up, name=f"up-{stream}"),
        threading.Thread(target=down, name=f"down-{stream}"),
    ]
    for t in threads:
        t.start()
    return threads


def run_streams(endpoints: list[Channel | socket.socket]) -> None:
    results = [Result() for _ in endpoints]
    threads = [t for i, e in enumerate(endpoints) for t in pump(e, i, results[i])]
    for t in threads:
        t.join(600)
    assert not [t.name for t in threads if t.is_alive()], "a stream hung"
    errors = [(i, r.error) for i, r in enumerate(results) if r.error is not None]
    assert not errors, errors
    short = [(i, r.received_bytes) for i, r in enumerate(results) if r.received_bytes != SIZE]
    assert not short, short
    bad = [i for i, r in enumerate(results) if r.sent != r.received]
    assert not bad, f"SHA-256 mismatch on streams {bad}"


def exec_cat(transport: Transport) -> list[Channel | socket.socket]:
    out: list[Channel | socket.socket] = []
    for _ in range(CHANNELS):
        chan = transport.open_session(timeout=30)
        chan.exec_command("cat")
        out.append(chan)
    return out


def check_statuses(endpoints: list[Channel | socket.socket]) -> None:
    for e in endpoints:
        if isinstance(e, Channel) and e.kind == "session":
            assert e.recv_exit_status() == 0


# ----------------------------------------------------------------------- echo helpers


class EchoServer:
    """A loopback TCP echo service: one thread per connection."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=CHANNELS * 2)
        self.address = self.listener.getsockname()
        self.threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept, name="echo-accept")
        self._acceptor.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            t = threading.Thread(target=echo_socket, args=(conn,), name="echo")
            t.start()
            self.threads.append(t)

    def close(self) -> None:
        self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self._acceptor.join(10)
        for t in self.threads:
            t.join(30)


def echo_socket(conn: socket.socket) -> None:
    with conn:
        conn.settimeout(120)
        while data := conn.recv(1 << 18):
            conn.sendall(data)
        conn.shutdown(socket.SHUT_WR)


def echo_channel(chan: Channel) -> None:
    try:
        while data := chan.recv(1 << 18):
            chan.sendall(data)
        chan.shutdown_write()
    finally:
        chan.close()


# ----------------------------------------------------------------------- the peers


def _rekeying_transport(sock: object, **kwargs: object) -> Transport:
    t = Transport(sock, **kwargs)  # type: ignore[arg-type]
    t.rekey_bytes = REKEY  # we start rekeys too, so both sides' exchanges may cross
    return t


@pytest.fixture(params=["sshd", "embedded"])
def transport(request: pytest.FixtureRequest, sshd: SshdServer) -> Iterator[Transport]:
    """A client transport rekeying every MiB, logged in to a peer that does the same."""
    if request.param == "sshd":
        with sshd.start_with(["RekeyLimit 1M"]) as server:
            t = _rekeying_transport(socket.create_connection((server.host, server.port)))
            t.start_client(timeout=30)
            t.auth_publickey(server.user, PKey.from_path(server.client_keys["ed25519"]))
            try:
                yield t
            finally:
                t.close()
        return
    embedded = SSHServer(configure_transport=lambda t: setattr(t, "rekey_bytes", REKEY))
    embedded.add_user()
    with embedded:
        client = embedded.connect_client(transport_factory=_rekeying_transport)
        try:
            t = client.get_transport()
            assert t is not None
            yield t
        finally:
            client.close()


def check_rekeyed(t: Transport, before: int) -> None:
    # 4 GiB moved, a rekey per MiB on either side: far more than a few
    assert t._kex_generation - before >= 1000, t._kex_generation - before


def test_exec(transport: Transport) -> None:
    before = transport._kex_generation
    endpoints = exec_cat(transport)
    run_streams(endpoints)
    check_statuses(endpoints)
    check_rekeyed(transport, before)


def test_local_forward(transport: Transport) -> None:
    """``direct-tcpip`` channels (``ssh -L``) to a loopback echo service."""
    echo = EchoServer()
    try:
        endpoints: list[Channel | socket.socket] = [
            transport.open_channel(
                "direct-tcpip", echo.address, ("127.0.0.1", 40000 + i), timeout=30
            )
            for i in range(CHANNELS)
        ]
        before = transport._kex_generation
        run_streams(endpoints)
        check_rekeyed(transport, before)
    finally:
        echo.close()


def test_remote_forward(transport: Transport) -> None:
    """``tcpip-forward`` (``ssh -R``): the server listens, we echo each forwarded channel."""
    echoes: list[threading.Thread] = []

    def handler(chan: Channel, origin: tuple[str, int], dest: tuple[str, int]) -> None:
        th = threading.Thread(target=echo_channel, args=(chan,), name="remote-echo")
        th.start()
        echoes.append(th)

    port = transport.request_port_forward("127.0.0.1", 0, handler)
    endpoints: list[Channel | socket.socket] = []
    try:
        for _ in range(CHANNELS):
            endpoints.append(socket.create_connection(("127.0.0.1", port), timeout=120))
        before = transport._kex_generation
        run_streams(endpoints)
        check_rekeyed(transport, before)
    finally:
        for e in endpoints:
            e.close()
        transport.cancel_port_forward("127.0.0.1", port)
        for th in echoes:
            th.join(30)

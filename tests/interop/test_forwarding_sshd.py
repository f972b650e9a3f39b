"""Port forwarding, X11 requests and keepalives against a real OpenSSH sshd."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from _openssh import SshdServer
from sshwire.channel import Channel
from sshwire.pkey import PKey
from sshwire.ssh_exception import ChannelException, SSHException
from sshwire.transport import Transport

pytestmark = pytest.mark.timeout(60)


class EchoServer:
    """A loopback TCP echo server, one thread per connection, stopped at teardown."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.threads: list[threading.Thread] = []
        self._accepter = threading.Thread(target=self._accept, daemon=True)
        self._accepter.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            t = threading.Thread(target=self._echo, args=(conn,), daemon=True)
            t.start()
            self.threads.append(t)

    @staticmethod
    def _echo(conn: socket.socket) -> None:
        with conn:
            while data := conn.recv(65536):
                conn.sendall(data)

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
        except OSError:
            pass
        self.sock.close()
        self._accepter.join(5)


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    server = EchoServer()
    yield server
    server.close()


def _login(server: SshdServer) -> Transport:
    t = Transport(socket.create_connection((server.host, server.port)))
    t.start_client(timeout=10)
    t.auth_publickey(server.user, PKey.from_path(server.client_keys["ed25519"]))
    return t


def _echo_through(chan: Channel, payload: bytes) -> bytes:
    chan.sendall(payload)
    got = b""
    chan.settimeout(10)
    while len(got) < len(payload):
        data = chan.recv(65536)
        assert data, "channel closed early"
        got += data
    return got


def test_local_forward_direct_tcpip(sshd: SshdServer, echo: EchoServer) -> None:
    t = _login(sshd)
    try:
        chan = t.open_channel("direct-tcpip", ("127.0.0.1", echo.port), ("127.0.0.1", 40000))
        payload = bytes(range(256)) * 1000
        assert _echo_through(chan, payload) == payload
        chan.close()
    finally:
        t.close()


def test_local_forward_to_closed_port_fails(sshd: SshdServer) -> None:
    s = socket.create_server(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    t = _login(sshd)
    try:
        with pytest.raises(ChannelException) as info:
            t.open_channel("direct-tcpip", ("127.0.0.1", port), ("127.0.0.1", 40000))
        assert info.value.code == 2  # OPEN_FAILED_CONNECT_FAILED
    finally:
        t.close()


def test_remote_forward_with_accept(sshd: SshdServer) -> None:
    t = _login(sshd)
    try:
        port = t.request_port_forward("127.0.0.1", 0)
        assert port > 0
        client = socket.create_connection(("127.0.0.1", port))
        chan = t.accept(10)
        assert chan is not None
        client.sendall(b"ping from the far side")
        chan.settimeout(10)
        assert chan.recv(100) == b"ping from the far side"
        chan.sendall(b"pong")
        assert client.recv(100) == b"pong"
        client.close()
        assert chan.recv(100) == b""  # EOF when the far side closes
        chan.close()
        t.cancel_port_forward("127.0.0.1", port)
    finally:
        t.close()


def test_remote_forward_with_handler(sshd: SshdServer) -> None:
    t = _login(sshd)
    got: list[tuple[Channel, tuple[str, int], tuple[str, int]]] = []
    ready = threading.Event()

    def handler(chan: Channel, origin: tuple[str, int], server: tuple[str, int]) -> None:
        got.append((chan, origin, server))
        ready.set()

    try:
        port = t.request_port_forward("127.0.0.1", 0, handler)
        client = socket.create_connection(("127.0.0.1", port))
        assert ready.wait(10)
        chan, origin, server = got[0]
        assert origin[0] == "127.0.0.1" and server == ("127.0.0.1", port)
        client.sendall(b"via handler")
        chan.settimeout(10)
        assert chan.recv(100) == b"via handler"
        client.close()
        chan.close()
    finally:
        t.close()


def test_remote_forward_denied(sshd: SshdServer) -> None:
    with sshd.start_with(["AllowTcpForwarding no"]) as strict:
        t = _login(strict)
        try:
            with pytest.raises(SSHException, match="denied"):
                t.request_port_forward("127.0.0.1", 0)
        finally:
            t.close()


def test_x11_request_cookie_and_display(sshd: SshdServer) -> None:
    with sshd.start_with(["X11Forwarding yes", "X11UseLocalhost yes"]) as x11:
        t = _login(x11)
        try:
            chan = t.open_session()
            cookie = chan.request_x11()
            assert len(cookie) == 32 and int(cookie, 16) >= 0  # 128 random bits, hex
            assert chan.request_x11 is not None
            chan.exec_command("echo $DISPLAY")
            chan.settimeout(10)
            out = b""
            while data := chan.recv(100):
                out += data
            assert out.startswith(b"localhost:")
            other = t.open_session()
            assert other.request_x11() != cookie  # a new cookie each time
        finally:
            t.close()


class Blackhole:
    """A loopback TCP proxy that can stop relaying in both directions (a dead peer)."""

    def __init__(self, port: int) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.target = port
        self.relaying = threading.Event()
        self.relaying.set()
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        client, _ = self.listener.accept()
        upstream = socket.create_connection(("127.0.0.1", self.target))
        self.sockets += [client, upstream]
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                if self.relaying.is_set():
                    dst.sendall(data)
        except OSError:
            pass

    def close(self) -> None:
        for s in [self.listener, *self.sockets]:
            s.close()


def test_dead_peer_detection(sshd: SshdServer) -> None:
    proxy = Blackhole(sshd.port)
    t = Transport(socket.create_connection(("127.0.0.1", proxy.port)))
    try:
        t.start_client(timeout=10)
        t.auth_publickey(sshd.user, PKey.from_path(sshd.client_keys["ed25519"]))
        t.set_keepalive(1)
        t.keepalive_count_max = 2
        chan = t.open_session()
        chan.exec_command("sleep 60")
        proxy.relaying.clear()  # the peer goes silent
        start = time.monotonic()
        with pytest.raises(SSHException, match="keepalive"):  # woken when the transport gives up
            chan.recv_exit_status()
        assert time.monotonic() - start < 10
        assert not t.is_active()
        assert "keepalive" in str(t.get_exception())
    finally:
        t.close()
        proxy.close()

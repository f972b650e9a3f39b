"""Client Transport against misbehaving servers on loopback sockets.

The fake servers are either raw bytes written by a thread, or a real sshwire server-role core
(:class:`~sshwire._proto.connection.Connection`) driven by :class:`CoreServer` on the other
end of a ``socket.socketpair()``, with faults injected through its private ``_send`` and
``_begin_kex`` helpers. Every test checks that the transport's reader thread ends and that no
thread outlives the test.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from sshwire._proto import constants as c
from sshwire._proto import events as ev
from sshwire._proto import wire
from sshwire._proto.algorithms.hostkey import PrivateKey
from sshwire._proto.config import ConnectionConfig
from sshwire._proto.connection import Connection, Phase
from sshwire._proto.framing import PacketWriter
from sshwire.ssh_exception import AuthenticationException, MessageOrderError, SSHException
from sshwire.transport import Transport

pytestmark = pytest.mark.timeout(30)

Opening = Callable[[Connection], bytes]
Reaction = Callable[[Connection, list[ev.Event]], None]


# -------------------------------------------------------------------- fixtures and helpers


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    """(i) After every scenario, success or failure, thread count returns to the baseline."""
    before = set(threading.enumerate())
    yield
    new = [t for t in threading.enumerate() if t not in before]
    for t in new:
        t.join(10)
    assert not [t for t in new if t.is_alive()], f"threads leaked: {new}"
    assert threading.active_count() == len(before)


@pytest.fixture(scope="module")
def host_key() -> PrivateKey:
    return PrivateKey(ed25519.Ed25519PrivateKey.generate())


class LyingKey(PrivateKey):
    """A host key whose signatures cover the wrong data."""

    def sign(self, algorithm: str, data: bytes) -> bytes:
        return super().sign(algorithm, data + b"x")


def _standard_opening(core: Connection) -> bytes:
    core.start()
    return core.data_to_send()


class CoreServer(threading.Thread):
    """A server-role core on one socket, fed by this thread: the "real server" of a fake.

    ``opening`` produces the first bytes to send (default: version line and KEXINIT);
    ``react`` sees every batch of events and may queue more; when ``drop_when`` holds after a
    batch, the server closes the socket without sending what the core queued, optionally
    sending ``last_words`` (raw bytes) first.
    """

    def __init__(
        self,
        sock: socket.socket,
        core: Connection,
        *,
        opening: Opening = _standard_opening,
        react: Reaction | None = None,
        drop_when: Callable[[Connection], bool] | None = None,
        last_words: Callable[[bytes], bytes] | None = None,
    ) -> None:
        super().__init__(name="fake-ssh-server", daemon=True)
        self.sock = sock
        self.core = core
        self.opening = opening
        self.react = react
        self.drop_when = drop_when
        self.last_words = last_words
        self.events: list[ev.Event] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        core = self.core
        try:
            self.sock.sendall(self.opening(core))
            while core.phase is not Phase.CLOSED:
                data = self.sock.recv(1 << 16)
                try:
                    events = core.receive_data(data)
                finally:
                    out = core.data_to_send()
                self.events += events
                if self.drop_when is not None and self.drop_when(core):
                    if self.last_words is not None:
                        self.sock.sendall(self.last_words(out))
                    return
                if self.react is not None:
                    self.react(core, events)
                    out += core.data_to_send()
                if out:
                    self.sock.sendall(out)
                if not data:
                    return
        except (OSError, SSHException) as exc:
            self.error = exc
        finally:
            self.sock.close()


def _server_core(
    keys: list[PrivateKey],
    config: ConnectionConfig | None = None,
    cls: type[Connection] = Connection,
) -> Connection:
    return cls(False, config, rng=os.urandom, clock=time.monotonic, host_keys=keys)


def _run_pair(
    server_core: Connection, client_kw: dict[str, Any] | None = None, **server_kw: Any
) -> tuple[Transport, CoreServer]:
    client_sock, server_sock = socket.socketpair()
    server = CoreServer(server_sock, server_core, **server_kw)
    server.start()
    return Transport(client_sock, **(client_kw or {})), server


def _finish(t: Transport, server: threading.Thread | None = None) -> None:
    t.close()
    assert not t.is_alive() and not t.is_active()
    if server is not None:
        server.join(10)
        assert not server.is_alive()


class RawServer(threading.Thread):
    """Accepts one TCP connection on 127.0.0.1, sends ``payload``, then closes or lingers."""

    def __init__(self, payload: bytes, linger: bool = False) -> None:
        super().__init__(name="raw-fake-server", daemon=True)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = self.listener.getsockname()
        self.payload = payload
        self.linger = linger
        self.release = threading.Event()
        self.received = b""

    def run(self) -> None:
        try:
            conn, _ = self.listener.accept()
        finally:
            self.listener.close()
        with conn:
            conn.sendall(self.payload)
            if self.linger:
                self.release.wait(20)
                return
            conn.shutdown(socket.SHUT_WR)
            # read what the client sent until it closes, so the close is orderly (no RST)
            conn.settimeout(20)
            while chunk := conn.recv(4096):
                self.received += chunk


def _raw_client(payload: bytes, linger: bool = False) -> tuple[Transport, RawServer]:
    server = RawServer(payload, linger)
    server.start()
    return Transport(socket.create_connection(server.address)), server


# -------------------------------------------------------------------- (a) to (e) version exchange


def test_garbage_then_close_is_quoted() -> None:
    t, server = _raw_client(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    try:
        with pytest.raises(SSHException, match=r"HTTP/1\.1 400 Bad Request"):
            t.start_client(timeout=10)
        assert not t.is_active()
    finally:
        _finish(t, server)
    assert server.received.startswith(b"SSH-2.0-sshwire")


def test_silent_server_hits_banner_timeout() -> None:
    t, server = _raw_client(b"", linger=True)
    t.banner_timeout = 1
    try:
        started = time.monotonic()
        with pytest.raises(SSHException, match="banner") as info:
            t.start_client()
        elapsed = time.monotonic() - started
        assert 0.9 <= elapsed < 5, elapsed
        assert not isinstance(info.value, socket.timeout)
    finally:
        server.release.set()
        _finish(t, server)


def test_lines_before_version_are_accepted(host_key: PrivateKey) -> None:
    def opening(core: Connection) -> bytes:
        core.start()
        return b"hello\r\nthis is a friendly server\n" + core.data_to_send()

    core = _server_core([host_key])
    t, server = _run_pair(core, opening=opening)
    try:
        t.start_client(timeout=10)
        assert t.is_active() and t.session_id == core.session_id
        assert t.remote_version == core.local_version
    finally:
        _finish(t, server)


def test_ssh_1_99_is_accepted(host_key: PrivateKey) -> None:
    """RFC 4253 §5.1: a server that also speaks SSH-1 announces 1.99; it is an SSH-2 server."""
    core = _server_core([host_key])
    core.local_version = "SSH-1.99-compat_server"
    t, server = _run_pair(core)
    try:
        t.start_client(timeout=10)
        assert t.remote_version == "SSH-1.99-compat_server"
    finally:
        _finish(t, server)


@pytest.mark.parametrize(
    "payload",
    [b"SSH-2.0-" + b"x" * 300 + b"\r\n", b"SSH-2.0-" + b"y" * 300, b"z" * 300 + b"\r\n"],
    ids=["long-version-line", "long-unterminated", "long-pre-version-line"],
)
def test_overlong_line_is_refused(payload: bytes) -> None:
    t, server = _raw_client(payload)
    try:
        with pytest.raises(SSHException, match="255"):
            t.start_client(timeout=10)
    finally:
        _finish(t, server)


@pytest.mark.parametrize("version", ["SSH-1.5-old", "SSH-3.0-future", "SSH-2.0"])
def test_unsupported_version_is_named(version: str) -> None:
    t, server = _raw_client(version.encode() + b"\r\n")
    try:
        with pytest.raises(SSHException) as info:
            t.start_client(timeout=10)
        assert version in str(info.value)
    finally:
        _finish(t, server)


# -------------------------------------------------------------------- (f) Terrapin-style injection


def _ignore_before_kexinit(core: Connection) -> bytes:
    """Version line, then an IGNORE, then KEXINIT: shifts sequence numbers (CVE-2023-48795)."""
    core._started = True
    core._out.append(core.local_version.encode() + b"\r\n")
    core._send(wire.byte(c.MSG_IGNORE) + wire.string(b"terrapin"))
    core._begin_kex()
    return core.data_to_send()


def test_terrapin_injection_refused_with_strict_kex(host_key: PrivateKey) -> None:
    core = _server_core([host_key])
    t, server = _run_pair(core, opening=_ignore_before_kexinit)
    try:
        with pytest.raises(MessageOrderError):
            t.start_client(timeout=10)
        assert not t.is_active() and t.session_id is None
    finally:
        _finish(t, server)


def test_terrapin_injection_tolerated_without_strict_kex(host_key: PrivateKey) -> None:
    core = _server_core([host_key])
    t, server = _run_pair(core, {"strict_kex": False}, opening=_ignore_before_kexinit)
    try:
        t.start_client(timeout=10)
        assert t.is_active() and not t.agreed_on_strict_kex
        assert t.session_id == core.session_id
    finally:
        _finish(t, server)


def test_ignore_during_strict_first_kex_refused(host_key: PrivateKey) -> None:
    """An IGNORE after KEXINIT but before NEWKEYS: also refused during a strict first kex."""

    def opening(core: Connection) -> bytes:
        core.start()
        core._send(wire.byte(c.MSG_IGNORE) + wire.string(b"mid-kex"))
        return core.data_to_send()

    core = _server_core([host_key])
    t, server = _run_pair(core, opening=opening)
    try:
        with pytest.raises(MessageOrderError, match="strict"):
            t.start_client(timeout=10)
    finally:
        _finish(t, server)


# -------------------------------------------------------------------- (g) disconnect mid-kex


def _kex_reply_ready(core: Connection) -> bool:
    kex = core._kex
    return kex is not None and kex.output is not None


@pytest.mark.parametrize(
    "cut",
    ["before-kex-reply", "inside-kex-reply"],
)
def test_server_closes_during_kex(host_key: PrivateKey, cut: str) -> None:
    core = _server_core([host_key])

    def last_words(queued: bytes) -> bytes:
        return b"" if cut == "before-kex-reply" else queued[: len(queued) // 2]

    t, server = _run_pair(core, drop_when=_kex_reply_ready, last_words=last_words)
    try:
        with pytest.raises(SSHException, match="closed") as info:
            t.start_client(timeout=10)
        if cut == "inside-kex-reply":
            assert "middle of a packet" in str(info.value)
        assert not t.is_active() and not t.initial_kex_done
    finally:
        _finish(t, server)
    assert not t.is_alive()


def test_server_disconnect_message_during_kex(host_key: PrivateKey) -> None:
    """Instead of its kex reply the server sends DISCONNECT (in the clear, as keys are not
    yet in use) and closes: the client reports the server's reason."""

    def last_words(queued: bytes) -> bytes:
        payload = wire.byte(c.MSG_DISCONNECT) + wire.uint32(c.DISCONNECT_KEY_EXCHANGE_FAILED)
        return PacketWriter(os.urandom).encode(payload + wire.string("not today") + wire.string(""))

    core = _server_core([host_key])
    t, server = _run_pair(core, drop_when=_kex_reply_ready, last_words=last_words)
    try:
        with pytest.raises(SSHException, match="not today"):
            t.start_client(timeout=10)
    finally:
        _finish(t, server)


# -------------------------------------------------------------------- (h) bad host key signature


@pytest.mark.parametrize("key_kind", ["ed25519", "rsa"])
def test_bad_host_key_signature(key_kind: str) -> None:
    private = (
        ed25519.Ed25519PrivateKey.generate()
        if key_kind == "ed25519"
        else rsa.generate_private_key(65537, 2048)
    )
    core = _server_core([LyingKey(private)])
    t, server = _run_pair(core)
    try:
        with pytest.raises(SSHException, match="signature"):
            t.start_client(timeout=10)
        assert not t.is_active() and t.session_id is None
        with pytest.raises(SSHException):
            t.get_remote_server_key()
    finally:
        _finish(t, server)


# -------------------------------------------------------------------- the peer hears why


@pytest.mark.parametrize("fault", ["terrapin", "bad-signature"])
def test_protocol_error_sends_disconnect_to_peer(host_key: PrivateKey, fault: str) -> None:
    """The client tells the server why it gives up before it closes (DESIGN §5).

    Regression test: Transport._feed once dropped the DISCONNECT the core queued when
    receive_data raised.
    """
    if fault == "terrapin":
        core = _server_core([host_key])
        t, server = _run_pair(core, opening=_ignore_before_kexinit)
    else:
        core = _server_core([LyingKey(ed25519.Ed25519PrivateKey.generate())])
        t, server = _run_pair(core)
    try:
        with pytest.raises(SSHException):
            t.start_client(timeout=10)
    finally:
        _finish(t, server)
    disconnects = [e for e in server.events if isinstance(e, ev.PeerDisconnected)]
    assert disconnects, f"server saw {server.events!r}, error {server.error!r}"
    assert disconnects[0].reason in (
        c.DISCONNECT_PROTOCOL_ERROR,
        c.DISCONNECT_KEY_EXCHANGE_FAILED,
    )


# -------------------------------------------------------------------- EXT_INFO and auth


class RecordingServer(Connection):
    """A server core that records USERAUTH_REQUESTs and refuses every one of them."""

    requests: list[tuple[str, str]]

    def accept_service(self, name: str) -> None:
        # EXT_INFO is still the first packet after the server's NEWKEYS (RFC 8308 §2.4), but
        # it reaches the client only once the client asked for the service: a slow link
        self.config.server_sig_algs = ("ssh-ed25519", "rsa-sha2-256")
        self._send_ext_info()
        super().accept_service(name)

    def _server_userauth(
        self, msg: int, payload: bytes, body: wire.Reader, events: list[ev.Event]
    ) -> None:
        assert msg == c.MSG_USERAUTH_REQUEST
        body.text()  # user
        body.text()  # service
        method = body.text()
        algorithm = ""
        if method == "publickey":
            body.boolean()
            algorithm = body.text()
        self.requests.append((method, algorithm))
        failure = wire.byte(c.MSG_USERAUTH_FAILURE) + wire.name_list(["publickey"])
        self.send_payload(failure + wire.boolean(False))


def _late_ext_info_server(host_key: PrivateKey) -> RecordingServer:
    core = _server_core([host_key], ConnectionConfig(server_sig_algs=()), cls=RecordingServer)
    assert isinstance(core, RecordingServer)
    core.requests = []
    return core


def _send_ext_info_then_accept(core: Connection, events: list[ev.Event]) -> None:
    """Nothing to do: RecordingServer.accept_service sends EXT_INFO before the accept."""


@pytest.fixture(scope="module")
def rsa_user_key() -> str:
    """An RSA user key, as OpenSSH private key text."""
    from cryptography.hazmat.primitives import serialization

    return (
        rsa.generate_private_key(65537, 2048)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
        .decode()
    )


def test_paramiko_waits_for_server_sig_algs(host_key: PrivateKey, rsa_user_key: str) -> None:
    """The control for the test below: paramiko picks its RSA algorithm after SERVICE_ACCEPT."""
    import io

    paramiko = pytest.importorskip("paramiko")
    core = _late_ext_info_server(host_key)
    client_sock, server_sock = socket.socketpair()
    server = CoreServer(server_sock, core, react=_send_ext_info_then_accept)
    server.start()
    t = paramiko.Transport(client_sock)
    try:
        t.start_client(timeout=10)
        with pytest.raises(paramiko.AuthenticationException):
            t.auth_publickey("carol", paramiko.RSAKey(file_obj=io.StringIO(rsa_user_key)))
    finally:
        t.close()
        t.join(10)
        server.join(10)
    assert core.requests == [("publickey", "rsa-sha2-256")]


def test_rsa_algorithm_follows_late_server_sig_algs(
    host_key: PrivateKey, rsa_user_key: str
) -> None:
    import io

    from sshwire.rsakey import RSAKey

    core = _late_ext_info_server(host_key)
    t, server = _run_pair(core, react=_send_ext_info_then_accept)
    try:
        t.start_client(timeout=10)
        with pytest.raises(AuthenticationException):
            t.auth_publickey("carol", RSAKey(file_obj=io.StringIO(rsa_user_key)))
        assert t.server_extensions["server-sig-algs"] == b"ssh-ed25519,rsa-sha2-256"
    finally:
        _finish(t, server)
    assert core.requests == [("publickey", "rsa-sha2-256")]

"""Server-side rules of sshwire's ``Transport``, tested with hostile and broken clients.

The clients here are raw sockets, sometimes driving a client-role sans-IO core
(``sshwire._proto.connection.Connection``) by hand so that they can send what a polite client
never would: channel and global requests before authentication, forged publickey
signatures, publickey queries, malformed requests, garbage, stalls and resets. sshwire's own
``Transport`` is the well-behaved client where one is needed.

Rules checked: an unauthenticated peer can do nothing but authenticate; ``max_auth_attempts``
and ``server_auth_timeout`` end a connection; a bad signature never authenticates and never
reaches ``check_auth_publickey``; PK_OK answers a query only for a key the server accepts;
malformed requests are refused without harming the connection (or end it cleanly); one
misbehaving client never affects another connection served by the same server code.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

import sshwire
from _server_harness import (
    LOOPBACK,
    PASSWORD,
    USER,
    Policy,
    SshwireServer,
    make_host_keys,
    read_all,
    sshwire_server,
)
from sshwire._proto import constants as c
from sshwire._proto import events as ev
from sshwire._proto import wire
from sshwire._proto.algorithms.hostkey import PrivateKey
from sshwire._proto.connection import Connection
from sshwire.server import AUTH_FAILED, AUTH_PARTIALLY_SUCCESSFUL, AUTH_SUCCESSFUL

pytestmark = pytest.mark.timeout(30)


# ------------------------------------------------------------------------------------ raw client


class RawClient:
    """A socket plus a client-role core, pumped by hand (one thread, bounded waits)."""

    def __init__(self, address: tuple[str, int], rcvbuf: int | None = None) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.settimeout(10)
        sock.connect(address)
        self.sock = sock
        self.core = Connection(True, rng=os.urandom, clock=time.monotonic)
        self.events: list[ev.Event] = []
        self.eof = False
        self.error: BaseException | None = None

    def start(self) -> None:
        self.core.start()
        self.flush()

    def flush(self) -> None:
        data = self.core.data_to_send()
        if data:
            with contextlib.suppress(OSError):
                self.sock.sendall(data)

    def send(self, payload: bytes) -> None:
        """Seal and send one payload (any message number) right away."""
        self.core.send_payload(payload)
        self.flush()

    def pump(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Read and feed the core until ``predicate()`` holds (True) or the peer is gone."""
        deadline = time.monotonic() + timeout
        self.flush()
        while not predicate():
            if self.eof:
                return False
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the server neither answered nor hung up")
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(1 << 18)
            except ConnectionResetError:
                data = b""
            try:
                self.events += self.core.receive_data(data)
            except sshwire.SSHException as exc:
                self.error, self.eof = exc, True
                return predicate()
            if not data:
                self.eof = True
            self.flush()
        return True

    def take(self, kind: type[ev.Event], timeout: float = 10.0) -> Any:
        """The first pending event of ``kind`` (waiting for it); removed from the backlog."""

        def found() -> bool:
            return any(isinstance(e, kind) for e in self.events)

        assert self.pump(found, timeout), (
            f"no {kind.__name__}; got {self.events!r} (error {self.error!r})"
        )
        index = next(i for i, e in enumerate(self.events) if isinstance(e, kind))
        return self.events.pop(index)

    def closed_by_server(self, timeout: float = 10.0) -> bool:
        """Wait until the server disconnects; True if it did within ``timeout``."""
        with contextlib.suppress(TimeoutError):
            self.pump(lambda: self.disconnected, timeout)
        return self.disconnected

    @property
    def disconnected(self) -> bool:
        return self.eof or any(isinstance(e, ev.PeerDisconnected) for e in self.events)

    def disconnect_reason(self) -> int | None:
        for e in self.events:
            if isinstance(e, ev.PeerDisconnected):
                return int(e.reason)
        return None

    def kex(self) -> None:
        self.start()
        self.take(ev.KexCompleted)

    def service(self) -> None:
        self.core.request_service("ssh-userauth")
        self.take(ev.ServiceAccepted)

    def login(self) -> None:
        self.kex()
        self.service()
        self.core.auth_password(USER, PASSWORD)
        self.take(ev.AuthSucceeded)

    def open_session(self, window: int = 1 << 21) -> int:
        cid = self.core.channels.open("session", window, 32768)
        self.take(ev.ChannelOpenConfirmed)
        return cid

    def hung_up(self, timeout: float = 10.0) -> bool:
        """Discard whatever arrives (without decoding) until EOF; True if EOF came in time."""
        deadline = time.monotonic() + timeout
        for _ in range(100000):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self.sock.settimeout(remaining)
            try:
                if not self.sock.recv(1 << 16):
                    return True
            except ConnectionResetError:
                return True
            except TimeoutError:
                return False
        return False

    def close(self) -> None:
        self.sock.close()


# ------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def host_keys() -> dict[str, sshwire.PKey]:
    keys = make_host_keys()
    return {k: v for k, v in keys.items() if k in ("ssh-ed25519", "ecdsa-sha2-nistp256")}


class StrictPolicy(Policy):
    """The harness policy that also records every channel-open and global-request decision."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.opens: list[str] = []

    def check_channel_request(self, kind: str, chanid: int) -> int:
        self.opens.append(kind)
        return super().check_channel_request(kind, chanid)

    def check_channel_direct_tcpip_request(
        self, chanid: int, origin: tuple[str, int], destination: tuple[str, int]
    ) -> int:
        self.opens.append("direct-tcpip")
        return super().check_channel_direct_tcpip_request(chanid, origin, destination)


@pytest.fixture
def server(host_keys: dict[str, sshwire.PKey]) -> Iterator[Callable[..., SshwireServer]]:
    started: list[Any] = []

    def start(
        policy_factory: Callable[[], Policy] = StrictPolicy,
        setup: Callable[[sshwire.Transport], None] | None = None,
    ) -> SshwireServer:
        cm = sshwire_server(host_keys, policy_factory, setup)
        started.append(cm)
        return cm.__enter__()

    yield start
    for cm in reversed(started):
        cm.__exit__(None, None, None)


@pytest.fixture
def raw() -> Iterator[Callable[..., RawClient]]:
    made: list[RawClient] = []

    def connect(srv: SshwireServer, rcvbuf: int | None = None) -> RawClient:
        client = RawClient(srv.address, rcvbuf)
        made.append(client)
        return client

    yield connect
    for client in made:
        client.close()


@pytest.fixture
def own_client() -> Iterator[Callable[[SshwireServer], sshwire.Transport]]:
    made: list[sshwire.Transport] = []

    def connect(srv: SshwireServer) -> sshwire.Transport:
        t = sshwire.Transport(socket.create_connection(srv.address, timeout=10))
        made.append(t)
        t.start_client(timeout=10)
        return t

    yield connect
    for t in made:
        t.close()


def _server_ends(srv: SshwireServer) -> Any:
    """The server side of the (first) connection; waits until its reader thread is done."""
    served = srv.next(10)
    served.transport.join(10)
    assert not served.transport.is_alive(), "the server transport is still running"
    return served


# ------------------------------------------------------------------------------------ pre-auth


def _channel_open(client: RawClient) -> None:
    client.core.channels.open("session", 1 << 20, 32768)
    client.flush()


def _direct_tcpip(client: RawClient) -> None:
    extra = wire.string(LOOPBACK) + wire.uint32(22) + wire.string(LOOPBACK) + wire.uint32(4000)
    client.core.channels.open("direct-tcpip", 1 << 20, 32768, extra)
    client.flush()


def _global_request(client: RawClient) -> None:
    client.core.global_request("tcpip-forward", True, wire.string(LOOPBACK) + wire.uint32(0))
    client.flush()


def _channel_request(client: RawClient) -> None:
    payload = wire.byte(c.MSG_CHANNEL_REQUEST) + wire.uint32(0) + wire.string("exec")
    client.send(payload + wire.boolean(True) + wire.string("echo"))


def _connection_service(client: RawClient) -> None:
    client.core.request_service("ssh-connection")
    client.flush()


PRE_AUTH = {
    "channel-open": _channel_open,
    "direct-tcpip": _direct_tcpip,
    "global-request": _global_request,
    "channel-request": _channel_request,
    "ssh-connection-service": _connection_service,
}


@pytest.mark.parametrize("stage", ["after-kex", "after-service", "after-failed-auth"])
@pytest.mark.parametrize("attempt", list(PRE_AUTH))
def test_unauthenticated_peer_can_only_authenticate(
    server: Any, raw: Any, attempt: str, stage: str
) -> None:
    srv = server()
    client = raw(srv)
    client.kex()
    if stage != "after-kex":
        client.service()
    if stage == "after-failed-auth":
        client.core.auth_password(USER, "wrong")
        assert not client.take(ev.AuthFailed).partial
    PRE_AUTH[attempt](client)
    assert client.closed_by_server(), f"still connected after {attempt} before auth"
    assert not any(
        isinstance(e, ev.ChannelOpenConfirmed | ev.GlobalReplyReceived) for e in client.events
    )
    served = _server_ends(srv)
    policy = served.policy
    assert policy.opens == [] and policy.global_requests == []
    assert not served.transport.is_authenticated()
    if client.disconnect_reason() is not None:
        assert client.disconnect_reason() in (
            c.DISCONNECT_PROTOCOL_ERROR,
            c.DISCONNECT_SERVICE_NOT_AVAILABLE,
        )


def test_userauth_before_service_request_disconnects(server: Any, raw: Any) -> None:
    srv = server()
    client = raw(srv)
    client.kex()
    client.core.auth_password(USER, PASSWORD)  # no SERVICE_REQUEST first (RFC 4252 §5)
    client.flush()
    assert client.closed_by_server()
    assert not any(isinstance(e, ev.AuthSucceeded) for e in client.events)
    served = _server_ends(srv)
    assert served.policy.auth_log == []


# ------------------------------------------------------------------------------------ auth limits


def _limit(n: int) -> Callable[[sshwire.Transport], None]:
    def setup(transport: sshwire.Transport) -> None:
        transport.max_auth_attempts = n

    return setup


def test_too_many_auth_failures_disconnect(server: Any, own_client: Any) -> None:
    srv = server(setup=_limit(3))
    t = own_client(srv)
    answered = 0
    with pytest.raises(sshwire.SSHException) as info:
        for _ in range(10):
            try:
                t.auth_password(USER, "wrong")
            except sshwire.AuthenticationException as exc:
                if not t.is_active():  # the failure was the disconnect itself
                    raise sshwire.SSHException("disconnected") from exc
                answered += 1
    assert not isinstance(info.value, sshwire.AuthenticationException) or not t.is_active()
    # OpenSSH hangs up at the N-th failure, sshwire (today) at the request after it
    assert answered in (2, 3)
    assert not t.is_active()
    served = _server_ends(srv)
    assert not served.transport.is_authenticated()


def test_auth_none_is_not_counted(server: Any, own_client: Any) -> None:
    srv = server(setup=_limit(2))
    t = own_client(srv)
    for _ in range(5):
        with pytest.raises(sshwire.BadAuthenticationType):
            t.auth_none(USER)
    with pytest.raises(sshwire.AuthenticationException):
        t.auth_password(USER, "wrong")
    assert t.auth_password(USER, PASSWORD) == []


def test_no_attempt_is_evaluated_after_the_limit(server: Any, own_client: Any) -> None:
    srv = server(setup=_limit(3))
    t = own_client(srv)
    for _ in range(3):
        with pytest.raises(sshwire.SSHException):  # a failure, or the hang-up at the third
            t.auth_password(USER, "wrong")
    with contextlib.suppress(sshwire.SSHException):
        t.auth_password(USER, PASSWORD)  # the right password, one attempt too late
    served = srv.next(10)
    assert not t.is_authenticated()
    assert len([e for e in served.policy.auth_log if e[0] == "password"]) == 3


# ------------------------------------------------------------------------------------ auth timeout

AUTH_TIMEOUT = 1.0


def _auth_timeout(transport: sshwire.Transport) -> None:
    transport.server_auth_timeout = AUTH_TIMEOUT


def _silent(client: RawClient) -> None:
    pass


def _version_only(client: RawClient) -> None:
    client.sock.sendall(client.core.local_version.encode() + b"\r\n")


def _mid_kex(client: RawClient) -> None:
    client.start()  # version line and KEXINIT, then nothing


def _idle_after_kex(client: RawClient) -> None:
    client.kex()
    client.service()


STALLS = {
    "silent": _silent,
    "version-only": _version_only,
    "mid-kex": _mid_kex,
    "idle-after-kex": _idle_after_kex,
}


@pytest.mark.parametrize("stall", list(STALLS))
def test_auth_timeout_disconnects_stalled_client(server: Any, raw: Any, stall: str) -> None:
    srv = server(setup=_auth_timeout)
    began = time.monotonic()
    client = raw(srv)
    STALLS[stall](client)
    assert client.hung_up(10), "the server never gave up on the client"
    elapsed = time.monotonic() - began
    assert AUTH_TIMEOUT * 0.9 <= elapsed <= AUTH_TIMEOUT + 5
    _server_ends(srv)


def test_auth_timeout_applies_to_a_busy_client(server: Any, raw: Any) -> None:
    srv = server(setup=_auth_timeout)
    client = raw(srv)
    client.kex()
    client.service()
    deadline = time.monotonic() + AUTH_TIMEOUT + 3
    rounds = 0
    while time.monotonic() < deadline and not client.disconnected:
        client.core.auth_none(USER)  # each one answered with FAILURE, never counted
        client.flush()
        with contextlib.suppress(AssertionError):
            client.take(ev.AuthFailed, timeout=5)
        rounds += 1
    assert client.disconnected, f"still connected after {rounds} 'none' requests"


def test_authenticated_client_is_not_timed_out(server: Any, raw: Any) -> None:
    srv = server(setup=_auth_timeout)
    client = raw(srv)
    client.login()
    # idle past the auth timeout: waiting for an answer the server never sends
    with pytest.raises(TimeoutError):
        client.pump(lambda: client.disconnected, timeout=AUTH_TIMEOUT * 2)
    cid = client.open_session()
    assert cid is not None


# ------------------------------------------------------------------------------------ publickey


@pytest.fixture(scope="module")
def user_keys() -> dict[str, PrivateKey]:
    return {
        "ed25519": PrivateKey(ed25519.Ed25519PrivateKey.generate()),
        "rsa": PrivateKey(rsa.generate_private_key(65537, 2048)),
        "other-ed25519": PrivateKey(ed25519.Ed25519PrivateKey.generate()),
    }


def _sig_blob(name: str, raw_sig: bytes) -> bytes:
    return wire.string(name) + wire.string(raw_sig)


def _forge(kind: str, keys: dict[str, PrivateKey], data: bytes) -> tuple[str, str, bytes]:
    """(key name, algorithm announced, signature blob) for one kind of bad signature."""
    ed, rs = keys["ed25519"], keys["rsa"]
    if kind == "wrong-data":
        return "ed25519", "ssh-ed25519", ed.sign("ssh-ed25519", data + b"x")
    if kind == "other-key":
        return "ed25519", "ssh-ed25519", keys["other-ed25519"].sign("ssh-ed25519", data)
    if kind == "flipped-bit":
        sig = bytearray(ed.sign("ssh-ed25519", data))
        sig[-1] ^= 1
        return "ed25519", "ssh-ed25519", bytes(sig)
    if kind == "truncated":
        return "ed25519", "ssh-ed25519", ed.sign("ssh-ed25519", data)[:-10]
    if kind == "trailing-bytes":
        return "ed25519", "ssh-ed25519", ed.sign("ssh-ed25519", data) + b"\0"
    if kind == "garbage":
        return "ed25519", "ssh-ed25519", os.urandom(83)
    if kind == "empty":
        return "ed25519", "ssh-ed25519", b""
    if kind == "rsa-sha256-sig-for-sha512":  # announced rsa-sha2-512, signed rsa-sha2-256
        return "rsa", "rsa-sha2-512", rs.sign("rsa-sha2-256", data)
    if kind == "rsa-sha1-not-offered":  # ssh-rsa (SHA-1) is not among the default algorithms
        return "rsa", "ssh-rsa", rs.sign("ssh-rsa", data)
    if kind == "rsa-renamed":  # a SHA-256 signature relabelled as SHA-512
        inner = wire.Reader(rs.sign("rsa-sha2-256", data))
        inner.text()
        return "rsa", "rsa-sha2-512", _sig_blob("rsa-sha2-512", inner.string())
    raise ValueError(kind)  # pragma: no cover


FORGERIES = [
    "wrong-data",
    "other-key",
    "flipped-bit",
    "truncated",
    "trailing-bytes",
    "garbage",
    "empty",
    "rsa-sha256-sig-for-sha512",
    "rsa-sha1-not-offered",
    "rsa-renamed",
]


@pytest.mark.parametrize("forgery", FORGERIES)
def test_publickey_with_bad_signature_is_refused(
    server: Any, raw: Any, user_keys: dict[str, PrivateKey], forgery: str
) -> None:
    authorized = [user_keys["ed25519"].public.blob, user_keys["rsa"].public.blob]
    srv = server(lambda: StrictPolicy(authorized=authorized))
    client = raw(srv)
    client.kex()
    client.service()
    probe = client.core.publickey_signed_data(USER, "ssh-ed25519", authorized[0])
    key_name, algorithm, _ = _forge(forgery, user_keys, probe)
    blob = user_keys[key_name].public.blob
    data = client.core.publickey_signed_data(USER, algorithm, blob)
    _, _, signature = _forge(forgery, user_keys, data)
    client.core.auth_publickey(USER, algorithm, blob, signature)
    client.flush()
    failed = client.take(ev.AuthFailed)
    assert not failed.partial
    assert not any(isinstance(e, ev.AuthSucceeded) for e in client.events)
    served = srv.next(10)
    # the hook is only asked about keys whose signature verified
    assert [e for e in served.policy.auth_log if e[0] == "publickey"] == []
    # the same connection can still authenticate properly
    good_alg = "rsa-sha2-256" if key_name == "rsa" else "ssh-ed25519"
    data = client.core.publickey_signed_data(USER, good_alg, blob)
    client.core.auth_publickey(USER, good_alg, blob, user_keys[key_name].sign(good_alg, data))
    client.flush()
    client.take(ev.AuthSucceeded)


class QueryPolicy(StrictPolicy):
    """check_auth_publickey answers from a table: blob -> result."""

    def __init__(self, answers: dict[bytes, int]) -> None:
        super().__init__()
        self.answers = answers

    def check_auth_publickey(self, username: str, key: sshwire.PKey) -> int:
        self.auth_log.append(("publickey", username, key.get_name()))
        return self.answers.get(key.asbytes(), AUTH_FAILED)


def _query(client: RawClient, algorithm: str, blob: bytes) -> ev.Event:
    client.core.auth_publickey(USER, algorithm, blob, None)
    client.flush()
    assert client.pump(
        lambda: any(isinstance(e, ev.AuthPkOk | ev.AuthFailed) for e in client.events)
    )
    index = next(
        i for i, e in enumerate(client.events) if isinstance(e, ev.AuthPkOk | ev.AuthFailed)
    )
    return client.events.pop(index)


def test_pk_ok_only_for_an_accepted_key(
    server: Any, raw: Any, user_keys: dict[str, PrivateKey]
) -> None:
    good = user_keys["ed25519"].public.blob
    other = user_keys["other-ed25519"].public.blob
    srv = server(lambda: QueryPolicy({good: AUTH_SUCCESSFUL}))
    client = raw(srv)
    client.kex()
    client.service()
    answer = _query(client, "ssh-ed25519", other)
    assert isinstance(answer, ev.AuthFailed) and not answer.partial
    answer = _query(client, "ssh-ed25519", good)
    assert isinstance(answer, ev.AuthPkOk)
    assert (answer.algorithm, answer.key_blob) == ("ssh-ed25519", good)
    # a query never authenticates
    served = srv.next(10)
    assert not served.transport.is_authenticated()
    assert not any(isinstance(e, ev.AuthSucceeded) for e in client.events)
    # an unknown key type and a malformed blob are refused, not crashed on
    assert isinstance(_query(client, "ssh-foo", b"\0\0\0\x07ssh-foo"), ev.AuthFailed)
    assert isinstance(_query(client, "ssh-ed25519", b"\0\0\0\x0bssh-ed25519"), ev.AuthFailed)
    # then the real, signed request
    data = client.core.publickey_signed_data(USER, "ssh-ed25519", good)
    sig = user_keys["ed25519"].sign("ssh-ed25519", data)
    client.core.auth_publickey(USER, "ssh-ed25519", good, sig)
    client.flush()
    client.take(ev.AuthSucceeded)


def test_pk_ok_for_a_key_that_is_one_factor_of_two(
    server: Any, raw: Any, user_keys: dict[str, PrivateKey]
) -> None:
    good = user_keys["ed25519"].public.blob
    srv = server(lambda: QueryPolicy({good: AUTH_PARTIALLY_SUCCESSFUL}))
    client = raw(srv)
    client.kex()
    client.service()
    assert isinstance(_query(client, "ssh-ed25519", good), ev.AuthPkOk)


# ------------------------------------------------------------------------------------ malformed


def _authenticated_session(srv: SshwireServer, raw: Any) -> tuple[RawClient, int]:
    client = raw(srv)
    client.login()
    return client, client.open_session()


def _chan_request(client: RawClient, cid: int, name: str, body: bytes) -> None:
    client.core.channels.send_request(cid, name, True, body)
    client.flush()


MALFORMED_CHANNEL_REQUESTS = {
    "exec-without-command": ("exec", b""),
    "exec-truncated-string": ("exec", struct.pack(">I", 1000) + b"short"),
    "pty-req-truncated": ("pty-req", wire.string("xterm") + wire.uint32(80)),
    "env-missing-value": ("env", wire.string("LANG")),
    "subsystem-huge-length": ("subsystem", struct.pack(">I", 0xFFFFFFF0)),
    "x11-req-truncated": ("x11-req", wire.boolean(False)),
    "window-change-empty": ("window-change", b""),
    "unknown-request": ("no-such-request@sshwire.test", b"whatever"),
}


@pytest.mark.parametrize("case", list(MALFORMED_CHANNEL_REQUESTS))
def test_malformed_channel_request_is_refused(server: Any, raw: Any, case: str) -> None:
    srv = server()
    client, cid = _authenticated_session(srv, raw)
    name, body = MALFORMED_CHANNEL_REQUESTS[case]
    _chan_request(client, cid, name, body)
    reply = client.take(ev.ChannelRequestReply)
    assert not reply.success
    # the connection and the channel still work
    _chan_request(client, cid, "exec", wire.string("status 5"))
    assert client.take(ev.ChannelRequestReply).success
    client.core.channels.send_eof(cid)
    client.flush()
    got = b""
    while b"out:" not in got:
        got += client.take(ev.ChannelData).data
    assert got == b"out:"


MALFORMED_GLOBAL_REQUESTS = {
    "tcpip-forward-no-port": ("tcpip-forward", wire.string(LOOPBACK)),
    "tcpip-forward-empty": ("tcpip-forward", b""),
    "cancel-truncated": ("cancel-tcpip-forward", struct.pack(">I", 50) + b"127"),
    "unknown": ("no-such-request@sshwire.test", b"\0\1\2"),
}


@pytest.mark.parametrize("case", list(MALFORMED_GLOBAL_REQUESTS))
def test_malformed_global_request_is_refused(server: Any, raw: Any, case: str) -> None:
    srv = server()
    client, _ = _authenticated_session(srv, raw)
    name, body = MALFORMED_GLOBAL_REQUESTS[case]
    client.core.global_request(name, True, body)
    client.flush()
    reply = client.take(ev.GlobalReplyReceived)
    assert not reply.success
    client.open_session()  # still fine


MALFORMED_FATAL = {
    # these break the framing or the auth protocol: the server ends the connection cleanly
    "userauth-truncated": wire.byte(c.MSG_USERAUTH_REQUEST) + wire.string(USER),
    "unknown-auth-message": wire.byte(c.MSG_USERAUTH_INFO_RESPONSE) + wire.uint32(1),
    "newkeys-out-of-kex": wire.byte(c.MSG_NEWKEYS),
    "kex-reply-from-client": wire.byte(31) + wire.string(b"x"),
}


@pytest.mark.parametrize("case", list(MALFORMED_FATAL))
def test_protocol_violation_ends_the_connection_cleanly(server: Any, raw: Any, case: str) -> None:
    srv = server()
    client = raw(srv)
    client.kex()
    client.service()
    client.send(MALFORMED_FATAL[case])
    assert client.closed_by_server()
    _server_ends(srv)


def test_oversized_packet_disconnects(server: Any, raw: Any) -> None:
    srv = server()
    client = raw(srv)
    client.start()
    # a plaintext packet (we are still in the first kex) claiming 16 MiB
    client.sock.sendall(struct.pack(">IB", 16 << 20, 4) + os.urandom(1000))
    assert client.closed_by_server()
    _server_ends(srv)


# ------------------------------------------------------------------------------------ ordering


class OrderPolicy(Policy):
    """Records, inside each window-change hook, whether later data had already arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.data_seen_in_hook: list[bool] = []

    def check_channel_window_change_request(
        self, channel: Any, width: int, height: int, pixelwidth: int, pixelheight: int
    ) -> bool:
        self.data_seen_in_hook.append(channel.recv_ready())
        return super().check_channel_window_change_request(
            channel, width, height, pixelwidth, pixelheight
        )

    def check_channel_shell_request(self, channel: Any) -> bool:
        return True  # no worker: the test reads the server channel itself


def test_channel_request_hooks_run_in_order_with_data(server: Any, raw: Any) -> None:
    """window-change and the data after it, sent in one write: the hook runs before the data
    reaches the channel (messages are handled in the order they arrive, as paramiko does)."""
    srv = server(OrderPolicy)
    client, cid = _authenticated_session(srv, raw)
    _chan_request(client, cid, "shell", b"")
    assert client.take(ev.ChannelRequestReply).success
    served = srv.next(10)
    chan = served.transport.accept(10)
    assert chan is not None
    remote = client.core.channels.channels[cid].remote_id
    change = b"".join(
        (
            wire.byte(c.MSG_CHANNEL_REQUEST),
            wire.uint32(remote),
            wire.string("window-change"),
            wire.boolean(False),
            wire.uint32(100) + wire.uint32(30) + wire.uint32(0) + wire.uint32(0),
        )
    )
    client.core.send_payload(change)
    client.core.channels.send_data(cid, b"size\n")
    client.flush()  # both packets in one write
    chan.settimeout(10)
    assert chan.recv(100) == b"size\n"
    served.policy.window_changes.get(timeout=10)
    assert served.policy.data_seen_in_hook == [False]


def test_request_then_close_in_one_batch_keeps_the_connection(server: Any, raw: Any) -> None:
    srv = server()
    client, cid = _authenticated_session(srv, raw)
    client.core.channels.send_request(cid, "exec", True, wire.string("status 3"))
    client.core.channels.send_eof(cid)
    client.core.channels.close(cid)
    client.flush()  # request, EOF and CLOSE in one write
    client.take(ev.ChannelClosed)
    # the connection survives: another channel opens and works
    second = client.open_session()
    _chan_request(client, second, "exec", wire.string("status 0"))
    assert client.take(ev.ChannelRequestReply).success
    served = srv.next(10)
    assert served.transport.is_active()


# ------------------------------------------------------------------------------------ slow reader


def test_slow_reader_is_not_disconnected(server: Any, raw: Any) -> None:
    """A client that stops reading for a while (full TCP buffers) gets everything later."""
    srv = server()
    client = raw(srv, rcvbuf=64 * 1024)
    client.login()
    cid = client.open_session(window=64 << 20)
    size = 8 << 20
    _chan_request(client, cid, "exec", wire.string(f"source {size}"))
    client.take(ev.ChannelRequestReply)
    client.core.channels.send_eof(cid)
    client.flush()
    # the stimulus, not a synchronisation: this client does not read for 2 s (4 x the
    # server's 0.5 s socket poll), so the server's sendall blocks on a full socket
    threading.Event().wait(2.0)
    got = 0
    digest = hashlib.sha256()
    status: int | None = None
    for _ in range(100000):
        if not client.pump(lambda: bool(client.events), timeout=10):
            break
        event = client.events.pop(0)
        if isinstance(event, ev.ChannelData) and event.ext is None:
            got += len(event.data)
            digest.update(event.data)
            client.core.channels.consumed(cid, len(event.data))
        elif isinstance(event, ev.ChannelRequestReceived) and event.name == "exit-status":
            status = wire.Reader(event.data).uint32()
        elif isinstance(event, ev.ChannelClosed):
            break
    assert got == size
    assert status == 0


# ------------------------------------------------------------------------------------ isolation


def _bad_garbage(address: tuple[str, int]) -> socket.socket:
    s = socket.create_connection(address, timeout=10)
    s.sendall(os.urandom(4096))
    return s


def _bad_nul_lines(address: tuple[str, int]) -> socket.socket:
    s = socket.create_connection(address, timeout=10)
    s.sendall(b"hello\0world\r\n" * 10)
    return s


def _bad_endless_banner(address: tuple[str, int]) -> socket.socket:
    s = socket.create_connection(address, timeout=10)
    s.sendall(b"x" * 100_000)  # no newline, ever
    return s


def _bad_garbage_after_version(address: tuple[str, int]) -> socket.socket:
    s = socket.create_connection(address, timeout=10)
    s.sendall(b"SSH-2.0-evil\r\n" + os.urandom(4096))
    return s


def _bad_huge_packet(address: tuple[str, int]) -> socket.socket:
    s = socket.create_connection(address, timeout=10)
    s.sendall(b"SSH-2.0-evil\r\n" + struct.pack(">I", 0x7FFFFFFF) + b"\x04" * 64)
    return s


def _bad_silent(address: tuple[str, int]) -> socket.socket:
    return socket.create_connection(address, timeout=10)


def _bad_half_version(address: tuple[str, int]) -> socket.socket:
    s = socket.create_connection(address, timeout=10)
    s.sendall(b"SSH-2.0-stal")
    return s


def _bad_mid_kex(address: tuple[str, int]) -> socket.socket:
    client = RawClient(address)
    client.start()
    return client.sock


def _bad_vanish(address: tuple[str, int]) -> socket.socket:
    s = socket.create_connection(address, timeout=10)
    s.close()
    return s


def _bad_reset_mid_kex(address: tuple[str, int]) -> socket.socket:
    client = RawClient(address)
    client.start()
    client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    client.sock.close()  # RST
    return client.sock


BAD_CLIENTS = [
    _bad_garbage,
    _bad_nul_lines,
    _bad_endless_banner,
    _bad_garbage_after_version,
    _bad_huge_packet,
    _bad_silent,
    _bad_half_version,
    _bad_mid_kex,
    _bad_vanish,
    _bad_reset_mid_kex,
]
# the server must hang up on these by itself (no timeout needed)
SELF_EVIDENT = {
    _bad_garbage,
    _bad_nul_lines,
    _bad_endless_banner,
    _bad_garbage_after_version,
    _bad_huge_packet,
}


def test_bad_clients_do_not_affect_a_good_one(server: Any, own_client: Any) -> None:
    srv = server()
    bad: list[tuple[Callable[..., socket.socket], socket.socket]] = []
    try:
        for i in range(20):
            make = BAD_CLIENTS[i % len(BAD_CLIENTS)]
            bad.append((make, make(srv.address)))
        # a well-behaved client, served while the 20 bad ones are connected or dying
        t = own_client(srv)
        t.auth_password(USER, PASSWORD)
        chans = []
        for _ in range(3):
            chan = t.open_session(timeout=10)
            chan.settimeout(10)
            chan.exec_command("echo")
            chans.append(chan)
        payloads = [os.urandom(300_000 + i) for i in range(3)]
        for chan, payload in zip(chans, payloads):
            chan.sendall(payload)
            chan.shutdown_write()
        for chan, payload in zip(chans, payloads):
            assert read_all(chan) == payload
            assert chan.recv_exit_status() == 0
        assert t.is_authenticated()
        # the obviously broken ones were thrown out without any timeout's help
        for make, sock in bad:
            if make in SELF_EVIDENT:
                sock.settimeout(10)
                data = b""
                with contextlib.suppress(ConnectionResetError):
                    for _ in range(1000):
                        chunk = sock.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                assert len(data) < 65536, f"{make.__name__}: the server kept talking"
    finally:
        for _, sock in bad:
            sock.close()
    assert srv.errors == []
    assert len(srv.all) == 21


def test_authenticated_misbehaving_client_does_not_affect_another(
    server: Any, raw: Any, own_client: Any
) -> None:
    """A logged-in client that breaks the protocol mid-session is thrown out alone."""
    srv = server()
    good = own_client(srv)
    good.auth_password(USER, PASSWORD)
    evil, _ = _authenticated_session(srv, raw)
    evil.send(wire.byte(c.MSG_KEX_FIRST + 1) + os.urandom(50))  # kex message outside a kex
    assert evil.closed_by_server()
    chan = good.open_session(timeout=10)
    chan.settimeout(10)
    chan.exec_command("status 0")
    chan.shutdown_write()
    assert read_all(chan) == b"out:"
    assert chan.recv_exit_status() == 0


# ------------------------------------------------------------------------------------ auth state


class _HoldingSocket:
    """A socket wrapper: after the send armed by ``hold_after_next_send`` it blocks until
    released, so a test can look at the server right after a given packet left."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.armed = False
        self.held = threading.Event()
        self.release = threading.Event()
        self.family = sock.family

    def sendall(self, data: bytes) -> None:
        self._sock.sendall(data)
        if self.armed:
            self.armed = False
            self.held.set()
            self.release.wait(10)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def test_server_is_authenticated_before_the_client_hears_success(host_keys: Any) -> None:
    listener = socket.create_server((LOOPBACK, 0))
    client_sock = socket.create_connection(listener.getsockname()[:2], timeout=10)
    server_sock, _ = listener.accept()
    listener.close()
    wrapped = _HoldingSocket(server_sock)

    class ArmingPolicy(Policy):
        def check_auth_password(self, username: str, password: str) -> int:
            result = super().check_auth_password(username, password)
            wrapped.armed = result == AUTH_SUCCESSFUL  # hold right after SUCCESS is sent
            return result

    server = sshwire.Transport(wrapped)
    client = sshwire.Transport(client_sock)
    try:
        for key in host_keys.values():
            server.add_server_key(key)
        ready = threading.Event()
        server.start_server(ready, ArmingPolicy(banner=None))
        client.start_client(timeout=10)
        assert client.auth_password(USER, PASSWORD) == []
        assert wrapped.held.wait(10)
        # SUCCESS is on the wire and the server thread is parked right after sending it
        assert server.is_authenticated()
        assert server.get_username() == USER
    finally:
        wrapped.release.set()
        client.close()
        server.close()


def test_channel_open_refused_by_policy_keeps_connection(server: Any, raw: Any) -> None:
    srv = server()
    client = raw(srv)
    client.login()
    client.core.channels.open("x11", 1 << 20, 32768, wire.string(LOOPBACK) + wire.uint32(1))
    client.flush()
    failed = client.take(ev.ChannelOpenFailed)
    assert failed.reason == c.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED
    assert client.open_session() is not None

"""sshwire's paramiko-shaped adapters against real peers: the ``Packetizer`` and the
``kex_*`` classes inside paramiko's own ``Transport``, the auth handlers and
``ServiceRequestingTransport`` on sshwire's ``Transport``.

* ``Packetizer``: paramiko's ``Transport(packetizer_class=sshwire.packet.Packetizer)`` does
  its whole session through ours (version lines, kex in clear, NEWKEYS, strict-kex sequence
  resets, delayed compression, exec) against OpenSSH's sshd.
* ``kex_*``: each class replaces paramiko's own in ``Transport._kex_info`` and negotiates with
  sshd (client side) or with paramiko's own class on the other end (client and server side),
  including group exchange from a ``ModulusPack`` and the old-style one-size request.
* auth handlers: ``AuthHandler``/``AuthOnlyHandler`` against sshd and against sshwire's test
  server (password, keyboard-interactive in two rounds, partial success, fallback).
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import paramiko
import paramiko.kex_gex
import paramiko.primes
import pytest

import sshwire
import sshwire.kex_curve25519
import sshwire.kex_ecdh_nist
import sshwire.kex_gex
import sshwire.kex_group14
import sshwire.kex_group16
import sshwire.kex_mlkem
import sshwire.packet
import sshwire.primes
from _openssh import SshdServer
from _server_harness import OTP, PASSWORD, USER, Policy, make_host_keys, sshwire_server
from sshwire.auth_handler import AuthHandler, AuthOnlyHandler
from sshwire.server import AUTH_FAILED
from sshwire.ssh_exception import AuthenticationException, BadAuthenticationType, SSHException
from sshwire.transport import ServiceRequestingTransport

pytestmark = pytest.mark.timeout(60)

LOOPBACK = "127.0.0.1"
GEX = "diffie-hellman-group-exchange-sha256"

# ============================================================================ packetizer


def _paramiko_exec(t: paramiko.Transport, sshd: SshdServer, command: str) -> bytes:
    t.auth_publickey(sshd.user, paramiko.PKey.from_path(sshd.client_keys["ed25519"]))
    chan = t.open_session(timeout=20)
    chan.settimeout(20)
    chan.exec_command(command)
    out = b""
    for _ in range(10000):
        data = chan.recv(65536)
        if not data:
            break
        out += data
    assert chan.recv_exit_status() == 0
    chan.close()
    return out


@contextlib.contextmanager
def _paramiko_client(sshd: SshdServer, **kw: Any) -> Iterator[paramiko.Transport]:
    sock = socket.create_connection((sshd.host, sshd.port), timeout=10)
    t = paramiko.Transport(sock, **kw)
    try:
        yield t
    finally:
        t.close()


@pytest.mark.parametrize(
    ("cipher", "mac", "compress"),
    [
        ("aes256-gcm@openssh.com", "hmac-sha2-256", False),
        ("aes128-ctr", "hmac-sha2-256-etm@openssh.com", True),
        ("aes256-ctr", "hmac-sha2-512", False),
        ("aes128-cbc", "hmac-sha1", False),
    ],
)
def test_packetizer_under_paramikos_transport_against_sshd(
    sshd: SshdServer, cipher: str, mac: str, compress: bool
) -> None:
    with _paramiko_client(sshd, packetizer_class=sshwire.packet.Packetizer) as t:
        assert isinstance(t.packetizer, sshwire.packet.Packetizer)
        options = t.get_security_options()
        options.ciphers = (cipher,)
        options.digests = (mac,)
        t.use_compression(compress)
        t.start_client(timeout=20)
        assert t.local_cipher == cipher and t.remote_cipher == cipher
        payload = "x" * 100_000
        assert _paramiko_exec(t, sshd, f"printf {payload}") == payload.encode()
        assert t.packetizer._initial_kex_done


# ============================================================================ kex classes

# sshd (OpenSSH 9.2) has no ML-KEM: that one runs against paramiko below
SSHD_KEX = [
    ("curve25519-sha256", sshwire.kex_curve25519.KexCurve25519),
    ("curve25519-sha256@libssh.org", sshwire.kex_curve25519.KexCurve25519),
    ("ecdh-sha2-nistp256", sshwire.kex_ecdh_nist.KexNistp256),
    ("ecdh-sha2-nistp384", sshwire.kex_ecdh_nist.KexNistp384),
    ("ecdh-sha2-nistp521", sshwire.kex_ecdh_nist.KexNistp521),
    ("diffie-hellman-group14-sha256", sshwire.kex_group14.KexGroup14SHA256),
    ("diffie-hellman-group16-sha512", sshwire.kex_group16.KexGroup16SHA512),
    (GEX, sshwire.kex_gex.KexGexSHA256),
]


def _use_kex(t: paramiko.Transport, name: str, cls: Any = None) -> list[Any]:
    """Negotiate only *name*, run by *cls* (default: the transport's own class); returns the
    list the kex objects the transport makes are recorded in (it drops them when done)."""
    made: list[Any] = []
    base = cls if cls is not None else t._kex_info[name]

    class Recorded(base):  # type: ignore[misc, valid-type]
        def __init__(self, transport: Any) -> None:
            super().__init__(transport)
            made.append(self)

    t._kex_info = {**t._kex_info, name: Recorded}
    t.get_security_options().kex = (name,)
    return made


@pytest.mark.parametrize(("name", "cls"), SSHD_KEX, ids=[n for n, _ in SSHD_KEX])
def test_kex_class_in_paramikos_client_against_sshd(sshd: SshdServer, name: str, cls: type) -> None:
    with _paramiko_client(sshd) as t:
        made = _use_kex(t, name, cls)
        t.start_client(timeout=30)
        assert len(made) == 1 and isinstance(made[0], cls)
        # the host key signed our H, and both directions run on the keys derived from K
        assert _paramiko_exec(t, sshd, "echo kex-ok") == b"kex-ok\n"


class _QuietServer(paramiko.ServerInterface):
    def get_allowed_auths(self, username: str) -> str:
        return "password"

    def check_auth_password(self, username: str, password: str) -> int:
        return paramiko.AUTH_SUCCESSFUL if password == PASSWORD else paramiko.AUTH_FAILED


_HOST_KEY = paramiko.ECDSAKey.generate()


@contextlib.contextmanager
def _paramiko_pair(
    name: str,
    server_cls: Any = None,
    client_cls: Any = None,
    server_setup: Callable[[paramiko.Transport], None] | None = None,
    client_old_style: bool = False,
) -> Iterator[tuple[paramiko.Transport, paramiko.Transport, Any, Any]]:
    """A paramiko server and client transport over loopback TCP that negotiated *name*, each
    with the given kex class (paramiko's own by default); yields both and their kex objects."""
    listener = socket.create_server((LOOPBACK, 0))
    client_sock = socket.create_connection(listener.getsockname(), timeout=10)
    server_sock, _ = listener.accept()
    listener.close()
    server, client = paramiko.Transport(server_sock), paramiko.Transport(client_sock)
    try:
        server.add_server_key(_HOST_KEY)
        server_made = _use_kex(server, name, server_cls)
        client_base = client_cls if client_cls is not None else client._kex_info[name]
        if client_old_style:

            class OldStyle(client_base):  # type: ignore[misc, valid-type]
                def start_kex(self, _test_old_style: bool = False) -> None:
                    super().start_kex(_test_old_style=True)

            client_base = OldStyle
        client_made = _use_kex(client, name, client_base)
        if server_setup is not None:
            server_setup(server)
        done = threading.Event()
        server.start_server(done, _QuietServer())
        client.start_client(timeout=30)
        assert done.wait(30) and server.is_active()
        yield server, client, server_made[0], client_made[0]
    finally:
        client.close()
        server.close()


def _round_trip(client: paramiko.Transport) -> None:
    """Traffic both ways on the new keys: password auth and a global request."""
    client.auth_password(USER, PASSWORD)
    assert client.is_authenticated()
    assert client.global_request("sshwire-test@example.com", wait=True) is None


PAIR_KEX = [
    ("mlkem768x25519-sha256", sshwire.kex_mlkem.KexMLKEM768X25519),
    ("curve25519-sha256@libssh.org", sshwire.kex_curve25519.KexCurve25519),
    ("ecdh-sha2-nistp521", sshwire.kex_ecdh_nist.KexNistp521),
    ("diffie-hellman-group16-sha512", sshwire.kex_group16.KexGroup16SHA512),
]


@pytest.mark.parametrize("side", ["server", "client"])
@pytest.mark.parametrize(("name", "cls"), PAIR_KEX, ids=[n for n, _ in PAIR_KEX])
def test_kex_class_against_paramikos_own(name: str, cls: Any, side: str) -> None:
    if hasattr(cls, "is_available") and not cls.is_available():
        pytest.skip(f"{name} needs a crypto backend that has it")
    mine = {"server_cls": cls} if side == "server" else {"client_cls": cls}
    with _paramiko_pair(name, **mine) as (_, client, server_kex, client_kex):
        assert isinstance(server_kex if side == "server" else client_kex, cls)
        other = client_kex if side == "server" else server_kex
        assert type(other).__mro__[1].__module__.startswith("paramiko.kex_")  # theirs
        _round_trip(client)


@pytest.fixture
def system_moduli() -> str:
    path = "/etc/ssh/moduli"
    if not os.path.exists(path):
        pytest.skip(f"{path} is missing (Debian's openssh-server ships it)")
    return path


def test_gex_server_side_with_our_modulus_pack(system_moduli: str) -> None:
    pack = sshwire.primes.ModulusPack()
    pack.read_file(system_moduli)

    def setup(server: paramiko.Transport) -> None:
        server._modulus_pack = pack  # what Transport.load_server_moduli would set

    with _paramiko_pair(GEX, server_cls=sshwire.kex_gex.KexGexSHA256, server_setup=setup) as (
        _,
        client,
        server_kex,
        client_kex,
    ):
        assert client_kex.p in {p for groups in pack.pack.values() for _, p in groups}
        assert server_kex.p == client_kex.p and server_kex.g == client_kex.g
        _round_trip(client)


@pytest.mark.parametrize("ours", ["client", "server"])
def test_gex_old_style_request(system_moduli: str, ours: str) -> None:
    """The one-size request (RFC 4419 §5): only that size goes into H, on both sides."""
    pack = paramiko.primes.ModulusPack()
    pack.read_file(system_moduli)

    def setup(server: paramiko.Transport) -> None:
        server._modulus_pack = pack

    cls = sshwire.kex_gex.KexGexSHA256
    mine = {"client_cls": cls} if ours == "client" else {"server_cls": cls}
    with _paramiko_pair(GEX, server_setup=setup, client_old_style=True, **mine) as (
        _,
        client,
        server_kex,
        client_kex,
    ):
        assert server_kex.old_style and client_kex.old_style
        _round_trip(client)


def test_gex_old_style_request_against_sshwire_server() -> None:
    """paramiko's client sends the one-size request to sshwire's own server Transport."""

    class OldStyle(paramiko.kex_gex.KexGexSHA256):
        def start_kex(self, _test_old_style: bool = False) -> None:
            super().start_kex(_test_old_style=True)

    with sshwire_server(make_host_keys()) as srv:
        t = paramiko.Transport(socket.create_connection(srv.address, timeout=10))
        try:
            made = _use_kex(t, GEX, OldStyle)
            t.start_client(timeout=30)
            assert made[0].old_style
            t.auth_password(USER, PASSWORD)
            assert t.is_authenticated()
        finally:
            t.close()


# ============================================================================ auth handlers


def _sshwire_client(address: tuple[str, int], cls: type = sshwire.Transport) -> Any:
    t = cls(socket.create_connection(address, timeout=10))
    t.start_client(timeout=30)
    return t


@pytest.fixture
def harness() -> Iterator[Any]:
    with sshwire_server(make_host_keys(), lambda: Policy(two_factor=False)) as srv:
        yield srv


def test_auth_handler_password_and_events(harness: Any) -> None:
    t = _sshwire_client(harness.address)
    try:
        handler = AuthHandler(t)
        event = threading.Event()
        handler.auth_password(USER, "wrong", event)
        assert event.is_set()
        with pytest.raises(AuthenticationException):
            handler.wait_for_response(event)
        assert not handler.is_authenticated()
        event = threading.Event()
        handler.auth_password(USER, PASSWORD, event)
        assert handler.wait_for_response(event) == []
        assert handler.is_authenticated() and t.is_authenticated()
        assert handler.get_username() == USER and handler.auth_method == "password"
        assert handler.banner is not None and "Welcome" in handler.banner
    finally:
        t.close()


def test_auth_handler_none_and_interactive(harness: Any) -> None:
    t = _sshwire_client(harness.address)
    try:
        handler = AuthHandler(t)
        event = threading.Event()
        handler.auth_none(USER, event)
        with pytest.raises(BadAuthenticationType) as info:
            handler.wait_for_response(event)
        assert "keyboard-interactive" in info.value.allowed_types
        answers = iter([[PASSWORD], [OTP]])
        seen: list[tuple[str, list[tuple[str, bool]]]] = []

        def respond(title: str, instructions: str, prompts: list[tuple[str, bool]]) -> list[str]:
            seen.append((title, prompts))
            return next(answers)

        event = threading.Event()
        handler.auth_interactive(USER, respond, event)
        assert handler.wait_for_response(event) == []
        assert [p for _, p in seen] == [[("Password: ", False)], [("One-time code: ", True)]]
    finally:
        t.close()


def test_auth_handler_partial_success_and_abort() -> None:
    keys = make_host_keys()
    user_key = keys["ssh-ed25519"]
    with sshwire_server(
        keys, lambda: Policy(authorized=[user_key.asbytes()], two_factor=True)
    ) as srv:
        t = _sshwire_client(srv.address)
        try:
            handler = AuthHandler(t)
            event = threading.Event()
            handler.auth_publickey(USER, user_key, event)
            assert handler.wait_for_response(event) == ["password"]
            assert not handler.is_authenticated()
            event = threading.Event()
            handler.auth_password(USER, PASSWORD, event)
            assert handler.wait_for_response(event) == []
            fresh = AuthHandler(t)
            waiting = threading.Event()
            fresh.auth_event = waiting
            fresh.abort()
            with pytest.raises(AuthenticationException):
                fresh.wait_for_response(waiting)
        finally:
            t.close()


def test_auth_handler_wait_gives_up_when_the_transport_dies(harness: Any) -> None:
    t = _sshwire_client(harness.address)
    handler = AuthHandler(t)
    never = threading.Event()
    t.close()
    with pytest.raises(SSHException):
        handler.wait_for_response(never)


def test_service_requesting_transport_against_sshd(sshd: SshdServer) -> None:
    t = ServiceRequestingTransport(socket.create_connection((sshd.host, sshd.port), timeout=10))
    try:
        with pytest.raises(SSHException, match="No existing session"):
            t.ensure_session()
        t.start_client(timeout=30)
        t.ensure_session()
        assert isinstance(t.auth_handler, AuthOnlyHandler)
        handler = t.auth_handler
        t.ensure_session()  # once only
        assert t.auth_handler is handler
        with pytest.raises(BadAuthenticationType) as info:
            t.auth_none(sshd.user)
        assert "publickey" in info.value.allowed_types
        with pytest.raises(AuthenticationException):
            t.auth_publickey(sshd.user, sshwire.ECDSAKey.generate())  # not authorized
        assert t.auth_publickey(sshd.user, sshwire.PKey.from_path(sshd.client_keys["rsa"])) == []
        assert t.is_authenticated()
        chan = t.open_session(timeout=20)
        chan.exec_command("echo service-ok")
        assert chan.makefile("rb").read() == b"service-ok\n"
    finally:
        t.close()


def test_service_requesting_transport_in_sshclient(sshd: SshdServer) -> None:
    client = sshwire.SSHClient()
    client.set_missing_host_key_policy(sshwire.AutoAddPolicy())
    try:
        client.connect(
            sshd.host,
            sshd.port,
            username=sshd.user,
            key_filename=str(sshd.client_keys["ecdsa"]),
            look_for_keys=False,
            allow_agent=False,
            transport_factory=ServiceRequestingTransport,
        )
        transport = client.get_transport()
        assert isinstance(transport, ServiceRequestingTransport)
        _, stdout, _ = client.exec_command("echo via-client")
        assert stdout.read() == b"via-client\n"
    finally:
        client.close()


class _NoPassword(Policy):
    """Offers keyboard-interactive only, and refuses every password."""

    def check_auth_password(self, username: str, password: str) -> int:
        self.auth_log.append(("password", username, password))
        return AUTH_FAILED


def test_auth_only_handler_password_fallback_and_custom_request() -> None:
    with sshwire_server(
        make_host_keys(), lambda: _NoPassword(allowed="keyboard-interactive")
    ) as srv:
        t = _sshwire_client(srv.address, ServiceRequestingTransport)
        try:
            # password is not offered: the fallback answers the first round's one prompt with
            # the password, the second round's with it too, fails, and re-raises the original
            with pytest.raises(BadAuthenticationType):
                t.auth_password(USER, PASSWORD)
            with pytest.raises(BadAuthenticationType):
                t.auth_password(USER, PASSWORD, fallback=False)
            t.ensure_session()
            handler = t.auth_handler
            assert handler is not None
            answers = iter([[PASSWORD], [OTP]])
            handler.interactive_handler = lambda title, instr, prompts: next(answers)

            def finish(m: sshwire.Message) -> None:
                m.add_string("")
                m.add_string("")

            assert handler.send_auth_request(USER, "keyboard-interactive", finish) == []
            assert t.is_authenticated()
            kinds = [entry[0] for entry in srv.next().policy.auth_log]
            assert kinds.count("password") == 2
            assert kinds.count("keyboard-interactive") == 2  # the fallback, then ours
        finally:
            t.close()


def test_service_requesting_interactive_dumb_with_handler(harness: Any) -> None:
    t = _sshwire_client(harness.address, ServiceRequestingTransport)
    try:
        answers = iter([[PASSWORD], [OTP]])
        assert t.auth_interactive_dumb(USER, lambda *a: next(answers)) == []
        assert t.is_authenticated() and t.get_username() == USER
    finally:
        t.close()

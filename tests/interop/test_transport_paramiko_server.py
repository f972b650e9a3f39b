"""Client Transport against the real paramiko 5.1 in server mode.

paramiko's ``Transport.start_server(event=...)`` runs its own thread on one end of a loopback
TCP connection; a ``ServerInterface`` decides authentication. Scenarios: host key types,
password, publickey, keyboard-interactive, publickey-then-keyboard-interactive with partial
success, password falling back to keyboard-interactive, the auth banner, and ``auth_none``
listing the allowed methods. Each test closes both ends and checks that no thread outlives it.
"""

from __future__ import annotations

import io
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

paramiko = pytest.importorskip("paramiko")

from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa  # noqa: E402

from sshwire.ecdsakey import ECDSAKey  # noqa: E402
from sshwire.ed25519key import Ed25519Key  # noqa: E402
from sshwire.pkey import PKey  # noqa: E402
from sshwire.rsakey import RSAKey  # noqa: E402
from sshwire.ssh_exception import (  # noqa: E402
    AuthenticationException,
    BadAuthenticationType,
)
from sshwire.transport import Transport  # noqa: E402

pytestmark = pytest.mark.timeout(30)

USER = "bob"
PASSWORD = "s3cret"
OTP = "123456"
BANNER = "Authorised users only.\n"


def _openssh_text(key: object) -> str:
    return key.private_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode()


@dataclass
class Keys:
    host: list[object]  # paramiko host keys
    client: dict[str, PKey]  # sshwire client keys


@pytest.fixture(scope="module")
def keys() -> Keys:
    host_ed = _openssh_text(ed25519.Ed25519PrivateKey.generate())
    host = [
        paramiko.Ed25519Key(file_obj=io.StringIO(host_ed)),
        paramiko.ECDSAKey.generate(),
        paramiko.RSAKey.generate(2048),
    ]
    client: dict[str, PKey] = {
        "ed25519": Ed25519Key(
            file_obj=io.StringIO(_openssh_text(ed25519.Ed25519PrivateKey.generate()))
        ),
        "ecdsa": ECDSAKey(
            file_obj=io.StringIO(_openssh_text(ec.generate_private_key(ec.SECP256R1())))
        ),
        "rsa": RSAKey(file_obj=io.StringIO(_openssh_text(rsa.generate_private_key(65537, 2048)))),
    }
    return Keys(host, client)


@dataclass
class Policy(paramiko.ServerInterface):  # type: ignore[misc]
    """What the paramiko server allows; records what it saw."""

    allowed: list[str]
    keys: set[bytes]
    banner: str | None = None
    publickey_is_partial: bool = False  # publickey, then keyboard-interactive
    otp_round: bool = True  # keyboard-interactive asks a second question
    stage: str = "start"
    kbd_rounds: list[list[str]] = field(default_factory=list)

    def get_allowed_auths(self, username: str) -> str:
        if self.stage == "pubkey-done":
            return "keyboard-interactive"
        return ",".join(self.allowed)

    def get_banner(self) -> tuple[str | None, str | None]:
        return (self.banner, "en-US") if self.banner else (None, None)

    def check_auth_none(self, username: str) -> int:
        return paramiko.AUTH_FAILED

    def check_auth_password(self, username: str, password: str) -> int:
        if "password" in self.allowed and username == USER and password == PASSWORD:
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_auth_publickey(self, username: str, key: object) -> int:
        if username != USER or key.asbytes() not in self.keys:  # type: ignore[attr-defined]
            return paramiko.AUTH_FAILED
        if self.publickey_is_partial:
            self.stage = "pubkey-done"
            return paramiko.AUTH_PARTIALLY_SUCCESSFUL
        return paramiko.AUTH_SUCCESSFUL

    def check_auth_interactive(self, username: str, submethods: str) -> object:
        if "keyboard-interactive" not in self.get_allowed_auths(username):
            return paramiko.AUTH_FAILED
        return paramiko.InteractiveQuery("login", "answer both", ("Password: ", False))

    def check_auth_interactive_response(self, responses: list[str]) -> object:
        self.kbd_rounds.append(list(responses))
        if len(self.kbd_rounds) == 1 and list(responses) == [PASSWORD]:
            if not self.otp_round:
                return paramiko.AUTH_SUCCESSFUL
            return paramiko.InteractiveQuery("token", "", ("Code: ", True))
        if len(self.kbd_rounds) == 2 and list(responses) == [OTP]:
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED


class Peer:
    """One paramiko server Transport and our client Transport on a loopback TCP pair."""

    def __init__(self, keys: Keys, policy: Policy) -> None:
        with socket.create_server(("127.0.0.1", 0)) as listener:
            client_sock = socket.create_connection(listener.getsockname())
            server_sock, _ = listener.accept()
        self.server = paramiko.Transport(server_sock)
        for key in keys.host:
            self.server.add_server_key(key)
        self.server_done = threading.Event()
        self.server.start_server(event=self.server_done, server=policy)
        self.client = Transport(client_sock)
        self.policy = policy

    def close(self) -> None:
        self.client.close()
        self.server.close()
        self.server.join(10)
        assert not self.client.is_alive() and not self.server.is_alive()


MakePeer = Callable[..., Peer]


@pytest.fixture
def make_peer(keys: Keys) -> Iterator[MakePeer]:
    baseline = threading.active_count()
    peers: list[Peer] = []

    def make(allowed: str = "password,publickey,keyboard-interactive", **kw: object) -> Peer:
        blobs = {k.asbytes() for k in keys.client.values()}
        policy = Policy(allowed.split(","), blobs, **kw)  # type: ignore[arg-type]
        peer = Peer(keys, policy)
        peers.append(peer)
        return peer

    try:
        yield make
    finally:
        for peer in peers:
            peer.close()
        assert threading.active_count() == baseline


def _answers(title: str, instructions: str, prompts: list[tuple[str, bool]]) -> list[str]:
    return [PASSWORD if p.startswith("Password") else OTP for p, _ in prompts]


# -------------------------------------------------------------------- negotiation


@pytest.mark.parametrize(
    "alg",
    ["ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-256", "rsa-sha2-512"],
)
def test_start_client_host_keys(keys: Keys, make_peer: MakePeer, alg: str) -> None:
    peer = make_peer()
    peer.client.get_security_options().key_types = (alg,)
    peer.client.start_client(timeout=10)
    assert peer.server_done.wait(10) and peer.server.is_active()
    assert peer.client.host_key_type == alg
    key_type = "ssh-rsa" if alg.startswith("rsa-") else alg
    (expected,) = [k for k in keys.host if k.get_name() == key_type]
    assert peer.client.get_remote_server_key().asbytes() == expected.asbytes()
    assert peer.server.host_key_type == alg
    assert peer.client.remote_version.startswith("SSH-2.0-paramiko_")
    assert peer.client.agreed_on_strict_kex and peer.server.agreed_on_strict_kex
    assert peer.client.session_id == peer.server.session_id


# -------------------------------------------------------------------- single methods


def test_auth_password(make_peer: MakePeer) -> None:
    peer = make_peer()
    peer.client.start_client(timeout=10)
    assert peer.client.auth_password(USER, PASSWORD) == []
    assert peer.client.is_authenticated() and peer.server.is_authenticated()
    assert peer.server.get_username() == USER


def test_auth_password_wrong(make_peer: MakePeer) -> None:
    peer = make_peer()
    peer.client.start_client(timeout=10)
    with pytest.raises(AuthenticationException) as info:
        peer.client.auth_password(USER, "nope")
    assert not isinstance(info.value, BadAuthenticationType)
    assert not peer.client.is_authenticated()


@pytest.mark.parametrize("name", ["ed25519", "ecdsa", "rsa"])
def test_auth_publickey(keys: Keys, make_peer: MakePeer, name: str) -> None:
    peer = make_peer()
    peer.client.start_client(timeout=10)
    assert peer.client.auth_publickey(USER, keys.client[name]) == []
    assert peer.client.is_authenticated() and peer.server.is_authenticated()


def test_auth_interactive_two_rounds(make_peer: MakePeer) -> None:
    peer = make_peer()
    seen: list[tuple[str, str, list[tuple[str, bool]]]] = []

    def handler(title: str, instructions: str, prompts: list[tuple[str, bool]]) -> list[str]:
        seen.append((title, instructions, list(prompts)))
        return _answers(title, instructions, prompts)

    peer.client.start_client(timeout=10)
    assert peer.client.auth_interactive(USER, handler) == []
    assert peer.client.is_authenticated() and peer.server.is_authenticated()
    assert seen == [
        ("login", "answer both", [("Password: ", False)]),
        ("token", "", [("Code: ", True)]),
    ]
    assert peer.policy.kbd_rounds == [[PASSWORD], [OTP]]


def test_auth_interactive_wrong(make_peer: MakePeer) -> None:
    peer = make_peer()
    peer.client.start_client(timeout=10)
    with pytest.raises(AuthenticationException):
        peer.client.auth_interactive(USER, lambda t, i, p: ["wrong"] * len(p))
    assert not peer.client.is_authenticated()


# -------------------------------------------------------------------- multi-factor, fallback


def test_publickey_then_keyboard_interactive(keys: Keys, make_peer: MakePeer) -> None:
    peer = make_peer("publickey", publickey_is_partial=True, otp_round=False)
    peer.client.start_client(timeout=10)
    remaining = peer.client.auth_publickey(USER, keys.client["ed25519"])
    assert remaining == ["keyboard-interactive"]
    assert not peer.client.is_authenticated()
    assert peer.client.auth_interactive(USER, _answers) == []
    assert peer.client.is_authenticated() and peer.server.is_authenticated()


def test_password_falls_back_to_keyboard_interactive(make_peer: MakePeer) -> None:
    peer = make_peer("keyboard-interactive", otp_round=False)
    peer.client.start_client(timeout=10)
    assert peer.client.auth_password(USER, PASSWORD) == []
    assert peer.client.is_authenticated() and peer.server.is_authenticated()
    assert peer.policy.kbd_rounds == [[PASSWORD]]


def test_password_without_fallback_raises_bad_type(make_peer: MakePeer) -> None:
    peer = make_peer("keyboard-interactive")
    peer.client.start_client(timeout=10)
    with pytest.raises(BadAuthenticationType) as info:
        peer.client.auth_password(USER, PASSWORD, fallback=False)
    assert info.value.allowed_types == ["keyboard-interactive"]
    assert peer.policy.kbd_rounds == []


def test_password_fallback_failure_reports_original_error(make_peer: MakePeer) -> None:
    peer = make_peer("keyboard-interactive")
    peer.client.start_client(timeout=10)
    with pytest.raises(BadAuthenticationType) as info:
        peer.client.auth_password(USER, "wrong password")
    assert info.value.allowed_types == ["keyboard-interactive"]
    assert not peer.client.is_authenticated()


# -------------------------------------------------------------------- banner, auth_none


def test_get_banner(make_peer: MakePeer) -> None:
    peer = make_peer(banner=BANNER)
    peer.client.start_client(timeout=10)
    assert peer.client.get_banner() is None
    assert peer.client.auth_password(USER, PASSWORD) == []
    assert peer.client.get_banner() == BANNER.encode()


def test_auth_none_lists_allowed_types(make_peer: MakePeer) -> None:
    peer = make_peer("publickey,keyboard-interactive")
    peer.client.start_client(timeout=10)
    with pytest.raises(BadAuthenticationType) as info:
        peer.client.auth_none(USER)
    assert info.value.allowed_types == ["publickey", "keyboard-interactive"]
    assert "publickey" in str(info.value)
    assert not peer.client.is_authenticated()

"""Server mode: sshwire's client against sshwire's server over loopback TCP."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from sshwire import ECDSAKey, Ed25519Key, RSAKey, SSHException, Transport
from sshwire.channel import Channel
from sshwire.server import (
    AUTH_FAILED,
    AUTH_PARTIALLY_SUCCESSFUL,
    AUTH_SUCCESSFUL,
    OPEN_SUCCEEDED,
    InteractiveQuery,
    ServerInterface,
)
from sshwire.ssh_exception import AuthenticationException, BadAuthenticationType

pytestmark = pytest.mark.timeout(30)


@pytest.fixture(scope="module")
def host_keys() -> list[object]:
    return [_ed25519(), ECDSAKey.generate(), _rsa()]


def _ed25519() -> Ed25519Key:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    import io

    return Ed25519Key(file_obj=io.StringIO(pem.decode()))


def _rsa() -> RSAKey:
    return RSAKey.generate(2048)


@dataclass
class Policy(ServerInterface):
    user_key: object = None
    two_factor: bool = False
    events: list[str] = field(default_factory=list)
    commands: list[bytes] = field(default_factory=list)
    got_pubkey: bool = False

    def get_allowed_auths(self, username: str) -> str:
        if self.two_factor and self.got_pubkey:
            return "keyboard-interactive"
        return "publickey,password,keyboard-interactive"

    def check_auth_password(self, username: str, password: str) -> int:
        return AUTH_SUCCESSFUL if (username, password) == ("alice", "secret") else AUTH_FAILED

    def check_auth_publickey(self, username: str, key: object) -> int:
        if username == "alice" and key == self.user_key:
            if self.two_factor:
                self.got_pubkey = True
                return AUTH_PARTIALLY_SUCCESSFUL
            return AUTH_SUCCESSFUL
        return AUTH_FAILED

    def check_auth_interactive(self, username: str, submethods: str) -> InteractiveQuery:
        return InteractiveQuery("login", "answer please", ("Code: ", False))

    def check_auth_interactive_response(self, responses: list[str]) -> int:
        return AUTH_SUCCESSFUL if responses == ["1234"] else AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        return OPEN_SUCCEEDED if kind == "session" else 1

    def check_channel_exec_request(self, channel: Channel, command: bytes) -> bool:
        self.commands.append(command)
        return command != b"refuse"

    def check_channel_env_request(self, channel: Channel, name: bytes, value: bytes) -> bool:
        self.events.append(f"env {name.decode()}={value.decode()}")
        return True

    def get_banner(self) -> tuple[str | None, str | None]:
        return ("hello from sshwire\n", "en")


@dataclass
class Pair:
    client: Transport
    server: Transport
    policy: Policy


@pytest.fixture
def make_pair(host_keys: list[object]) -> Iterator[object]:
    made: list[Pair] = []

    def make(policy: Policy | None = None) -> Pair:
        policy = policy or Policy()
        listener = socket.create_server(("127.0.0.1", 0))
        client_sock = socket.create_connection(listener.getsockname())
        server_sock, _ = listener.accept()
        listener.close()
        server = Transport(server_sock)
        for key in host_keys:
            server.add_server_key(key)  # type: ignore[arg-type]
        ready = threading.Event()
        server.start_server(ready, policy)
        client = Transport(client_sock)
        client.start_client(timeout=10)
        assert ready.wait(10)
        pair = Pair(client, server, policy)
        made.append(pair)
        return pair

    yield make
    for pair in made:
        pair.client.close()
        pair.server.close()


def test_kex_and_password(make_pair) -> None:  # type: ignore[no-untyped-def]
    pair = make_pair()
    assert pair.client.agreed_on_strict_kex and pair.server.agreed_on_strict_kex
    assert pair.client.session_id == pair.server.session_id
    assert pair.client.get_remote_server_key() == pair.server.get_server_key()
    with pytest.raises(AuthenticationException):
        pair.client.auth_password("alice", "wrong")
    assert pair.client.auth_password("alice", "secret") == []
    assert pair.client.get_banner() == b"hello from sshwire\n"
    assert pair.client.is_authenticated() and pair.server.is_authenticated()
    assert pair.server.get_username() == "alice"


def test_publickey_and_auth_none(make_pair) -> None:  # type: ignore[no-untyped-def]
    key = _ed25519()
    pair = make_pair(Policy(user_key=key))
    with pytest.raises(BadAuthenticationType) as info:
        pair.client.auth_none("alice")
    assert info.value.allowed_types == ["publickey", "password", "keyboard-interactive"]
    with pytest.raises(AuthenticationException):
        pair.client.auth_publickey("alice", _ed25519())  # not the key the server wants
    assert pair.client.auth_publickey("alice", key) == []


def test_rsa_publickey(make_pair) -> None:  # type: ignore[no-untyped-def]
    key = _rsa()
    pair = make_pair(Policy(user_key=key))
    assert pair.client.auth_publickey("alice", key) == []


def test_two_factor(make_pair) -> None:  # type: ignore[no-untyped-def]
    key = _ed25519()
    pair = make_pair(Policy(user_key=key, two_factor=True))
    assert pair.client.auth_publickey("alice", key) == ["keyboard-interactive"]
    prompts: list[object] = []

    def handler(title: str, instructions: str, p: list[tuple[str, bool]]) -> list[str]:
        prompts.append((title, instructions, p))
        return ["1234"]

    assert pair.client.auth_interactive("alice", handler) == []
    assert prompts == [("login", "answer please", [("Code: ", False)])]


def _login(pair: Pair) -> None:
    pair.client.auth_password("alice", "secret")


def test_exec_and_streams(make_pair) -> None:  # type: ignore[no-untyped-def]
    pair = make_pair()
    _login(pair)
    chan = pair.client.open_session()
    chan.update_environment({"LANG": "C"})
    chan.exec_command("do something")
    served = pair.server.accept(10)
    assert served is not None
    assert pair.policy.commands == [b"do something"]
    assert pair.policy.events == ["env LANG=C"]
    chan.sendall(b"to the server")
    chan.shutdown_write()
    served.settimeout(10)
    assert served.recv(100) == b"to the server"
    assert served.recv(100) == b""
    served.sendall(b"out")
    served.sendall_stderr(b"err")
    served.send_exit_status(3)
    served.close()
    assert chan.recv(100) == b"out"
    assert chan.recv_stderr(100) == b"err"
    assert chan.recv_exit_status() == 3


def test_refused_exec(make_pair) -> None:  # type: ignore[no-untyped-def]
    pair = make_pair()
    _login(pair)
    chan = pair.client.open_session()
    with pytest.raises(SSHException):
        chan.exec_command("refuse")


def test_unauthenticated_channel_open_is_refused(make_pair) -> None:  # type: ignore[no-untyped-def]
    pair = make_pair()
    with pytest.raises(SSHException):
        pair.client.open_session(timeout=5)
    assert not pair.server.is_active() or not pair.server.is_authenticated()


def test_too_many_auth_failures_disconnects(make_pair) -> None:  # type: ignore[no-untyped-def]
    pair = make_pair()
    pair.server.max_auth_attempts = 3
    with pytest.raises(SSHException):
        for _ in range(10):
            try:
                pair.client.auth_password("alice", "wrong")
            except AuthenticationException:
                continue
    assert not pair.client.is_active()


def test_transport_connect_with_key_and_password_uses_only_the_key(
    ssh_server: Any,
) -> None:
    """paramiko's Transport.connect: a key when given, the password is not tried."""
    user = ssh_server.default_user
    with Transport((ssh_server.host, ssh_server.port)) as t:
        t.connect(username=user.username, password="not-the-password", pkey=user.key)
        assert t.is_authenticated()
    with Transport((ssh_server.host, ssh_server.port)) as t:
        t.connect(username=user.username, password=user.password)
        assert t.is_authenticated()


def test_malformed_exit_status_is_refused_not_fatal(make_pair) -> None:  # type: ignore[no-untyped-def]
    """A peer's broken exit-status/exit-signal fails that request; the connection lives on."""
    pair = make_pair()
    pair.client.auth_password("alice", "secret")
    chan = pair.client.open_session(timeout=10)
    chan.exec_command("anything")
    server_chan = pair.server.accept(10)
    assert server_chan is not None
    for name, data in (("exit-status", b"\x00\x01"), ("exit-signal", b"\x00\x00\x00\x09TE")):
        pair.server._command(
            lambda core, name=name, data=data: core.channels.send_request(
                server_chan.chanid, name, False, data
            )
        )
    server_chan.send_exit_status(7)
    assert chan.recv_exit_status() == 7
    assert pair.client.is_active()
    second = pair.client.open_session(timeout=10)  # the connection still works
    second.exec_command("again")
    assert pair.server.accept(10) is not None


class ForwardingPolicy(Policy):
    def check_port_forward_request(self, address: str, port: int) -> int:
        return 4242


def test_malformed_forwarded_tcpip_open_is_rejected_not_fatal(make_pair) -> None:  # type: ignore[no-untyped-def]
    """A forwarded-tcpip open whose addresses do not parse is refused; nothing else changes."""
    pair = make_pair(ForwardingPolicy())
    pair.client.auth_password("alice", "secret")
    assert pair.client.request_port_forward("127.0.0.1", 0, handler=lambda *args: None) == 4242
    opened: list[int] = []
    pair.server._command(
        lambda core: opened.append(
            core.channels.open("forwarded-tcpip", 1 << 16, 1 << 15, b"\x00\x00\x00\x05ab")
        )
    )
    still_pending = [True]
    deadline = time.monotonic() + 10
    while still_pending[0] and time.monotonic() < deadline:
        pair.server._command(
            lambda core: still_pending.__setitem__(0, opened[0] in core.channels.channels)
        )
        time.sleep(0.01)  # bounded poll of the server core for the refusal
    assert not still_pending[0], "the client never answered the malformed open"
    chan = pair.client.open_session(timeout=10)
    chan.exec_command("still fine")
    assert pair.server.accept(10) is not None
    assert pair.client.is_active() and pair.server.is_active()

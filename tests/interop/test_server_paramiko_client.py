"""paramiko 5.1's client against sshwire's server ``Transport`` on loopback.

paramiko is an independent implementation of the client side (its own kex, framing, auth and
channel code), so everything here checks what sshwire's server puts on the wire. The server
is ``_server_harness.SshwireServer``: one sshwire server Transport (and reader thread) per
connection, every host key type loaded at once, and a recording ``ServerInterface``.

Covered: each host key type (the client asks for one and checks the key it got), every kex,
cipher and MAC paramiko supports (ids name them), group exchange from /etc/ssh/moduli,
password / publickey (ed25519, ecdsa, rsa-sha2-256/512) / keyboard-interactive / two-factor
auth and the banner, exec with the three streams and exit status, pty + shell +
window-change, env, a subsystem handler, direct-tcpip, remote forwarding (tcpip-forward →
forwarded-tcpip), x11 and agent channels opened by the server towards the client.
"""

from __future__ import annotations

import hashlib
import io
import os
import queue
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import paramiko
import paramiko.agent
import pytest

import sshwire
import sshwire._serving
from _server_harness import (
    BANNER,
    LOOPBACK,
    OTP,
    PASSWORD,
    USER,
    EchoServer,
    EchoSubsystem,
    Policy,
    Served,
    SshwireServer,
    make_host_keys,
    private_pem,
    read_all,
    relay,
    sshwire_server,
)
from sshwire._proto.algorithms.cipher import CIPHERS
from sshwire._proto.algorithms.hostkey import PublicKey
from sshwire._proto.algorithms.mac import MACS
from sshwire._proto.kex.negotiate import KEX_ALGORITHMS

pytestmark = pytest.mark.timeout(30)

PARAMIKO_KEX = list(paramiko.Transport._kex_info)
PARAMIKO_CIPHERS = list(paramiko.Transport._cipher_info)
PARAMIKO_MACS = list(paramiko.Transport._mac_info)
HOST_KEY_ALGS = [
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "rsa-sha2-256",
    "rsa-sha2-512",
]
GEX = "diffie-hellman-group-exchange-sha256"
MODULI = "/etc/ssh/moduli"


def _key_type(algorithm: str) -> str:
    return "ssh-rsa" if algorithm.startswith("rsa-sha2-") else algorithm


def _paramiko_key(pem: str) -> paramiko.PKey:
    for cls in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return cls.from_private_key(io.StringIO(pem))
        except Exception:
            continue
    raise ValueError("paramiko cannot load this key")  # pragma: no cover


def _enable_everything(transport: sshwire.Transport) -> None:
    """Server side: offer every algorithm sshwire has (legacy ones included)."""
    options = transport.get_security_options()
    options.kex = tuple(KEX_ALGORITHMS)
    options.ciphers = tuple(CIPHERS)
    options.digests = tuple(MACS)


# ------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def host_keys() -> dict[str, sshwire.PKey]:
    return make_host_keys()


@pytest.fixture(scope="module")
def user_pems() -> dict[str, str]:
    return {kind: private_pem(kind) for kind in ("ed25519", "ecdsa256", "ecdsa384", "rsa")}


@pytest.fixture
def server(host_keys: dict[str, sshwire.PKey]) -> Iterator[Callable[..., SshwireServer]]:
    """``server(policy_factory=..., setup=...)`` starts a sshwire server for this test."""
    started: list[Any] = []

    def start(
        policy_factory: Callable[[], Policy] = Policy,
        setup: Callable[[sshwire.Transport], None] | None = _enable_everything,
    ) -> SshwireServer:
        cm = sshwire_server(host_keys, policy_factory, setup)
        started.append(cm)
        return cm.__enter__()

    yield start
    for cm in reversed(started):
        cm.__exit__(None, None, None)


@pytest.fixture
def closing() -> Iterator[Callable[[Any], Any]]:
    """Register paramiko transports/clients/channels to close at teardown."""
    things: list[Any] = []

    def register(thing: Any) -> Any:
        things.append(thing)
        return thing

    yield register
    for thing in reversed(things):
        thing.close()


def _transport(
    srv: SshwireServer, closing: Callable[[Any], Any], **kwargs: Any
) -> paramiko.Transport:
    sock = socket.create_connection(srv.address, timeout=10)
    return closing(paramiko.Transport(sock, **kwargs))


def _served(srv: SshwireServer) -> Served:
    served = srv.next(10)
    assert served.ready.wait(10), "the sshwire server never finished its handshake"
    return served


def _client(
    srv: SshwireServer,
    host_keys: dict[str, sshwire.PKey],
    closing: Callable[[Any], Any],
    **connect: Any,
) -> paramiko.SSHClient:
    """An SSHClient that trusts exactly the server's host keys (RejectPolicy otherwise)."""
    client = closing(paramiko.SSHClient())
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    for name, key in host_keys.items():
        client.get_host_keys().add(
            f"[{LOOPBACK}]:{srv.port}", name, paramiko.PKey.from_type_string(name, key.asbytes())
        )
    options: dict[str, Any] = {
        "username": USER,
        "look_for_keys": False,
        "allow_agent": False,
        "timeout": 10,
        "banner_timeout": 10,
        "auth_timeout": 10,
    }
    options.update(connect)
    client.connect(LOOPBACK, srv.port, **options)
    return client


def _echo_roundtrip(t: paramiko.Transport, size: int = 200_000) -> None:
    """exec "echo" on an authenticated transport: data comes back intact, exit status 0.

    A thread writes while this one reads (one thread doing both deadlocks once both
    windows are full, with any SSH implementation).
    """
    data = os.urandom(size)
    chan = t.open_session(timeout=10)
    chan.settimeout(10)
    chan.exec_command("echo")
    failed: list[BaseException] = []

    def write() -> None:
        try:
            chan.sendall(data)
            chan.shutdown_write()
        except BaseException as exc:  # reported below
            failed.append(exc)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    got = read_all(chan, limit=2 * size + 65536)
    writer.join(10)
    assert not failed
    assert len(got) == len(data) and hashlib.sha256(got).digest() == hashlib.sha256(data).digest()
    err = chan.makefile_stderr("rb").read()
    assert err == f"{size} {hashlib.sha256(data).hexdigest()}\n".encode()
    assert chan.recv_exit_status() == 0
    chan.close()


def _round_trip(t: paramiko.Transport) -> None:
    """A global request the server refuses: its answer means the server has processed
    everything the client sent before it (see test_server_robustness for why this is needed
    before asking the server whether it considers the client authenticated)."""
    assert t.global_request("sync@sshwire.test", wait=True) is None


def _read_until(chan: paramiko.Channel, marker: bytes, limit: int = 1 << 16) -> bytes:
    buf = b""
    while marker not in buf:
        chunk = chan.recv(1024)
        if not chunk or len(buf) > limit:
            raise AssertionError(f"no {marker!r} in {buf!r}")
        buf += chunk
    return buf


# ------------------------------------------------------------------------------------ host keys


@pytest.mark.parametrize("algorithm", HOST_KEY_ALGS)
def test_host_key_types(
    server: Any, closing: Any, host_keys: dict[str, sshwire.PKey], algorithm: str
) -> None:
    srv = server()
    t = _transport(srv, closing)
    t.get_security_options().key_types = [algorithm]
    t.start_client(timeout=10)
    served = _served(srv)
    assert t.host_key_type == algorithm
    expected = host_keys[_key_type(algorithm)].asbytes()
    assert t.get_remote_server_key().asbytes() == expected
    assert served.transport.get_server_key().asbytes() == expected
    assert t.session_id == served.transport.session_id


def test_host_key_verified_by_sshclient(
    server: Any, closing: Any, host_keys: dict[str, sshwire.PKey]
) -> None:
    """SSHClient with RejectPolicy accepts the key from its known hosts, and only that one."""
    srv = server()
    client = _client(srv, host_keys, closing, password=PASSWORD)
    _, stdout, _ = client.exec_command("status 0")
    stdout.channel.shutdown_write()
    assert stdout.read() == b"out:"
    # a client that knows a different key for the server refuses it
    stranger = closing(paramiko.SSHClient())
    stranger.set_missing_host_key_policy(paramiko.RejectPolicy())
    other = make_host_keys()["ssh-ed25519"]
    stranger.get_host_keys().add(
        f"[{LOOPBACK}]:{srv.port}",
        "ssh-ed25519",
        paramiko.PKey.from_type_string("ssh-ed25519", other.asbytes()),
    )
    with pytest.raises(paramiko.BadHostKeyException):
        stranger.connect(
            LOOPBACK,
            srv.port,
            username=USER,
            password=PASSWORD,
            look_for_keys=False,
            allow_agent=False,
            timeout=10,
            disabled_algorithms={"keys": [a for a in HOST_KEY_ALGS if a != "ssh-ed25519"]},
        )


# ------------------------------------------------------------------------------------ algorithms


@pytest.mark.parametrize("kex", PARAMIKO_KEX)
def test_kex(server: Any, closing: Any, kex: str) -> None:
    assert kex in KEX_ALGORITHMS, f"paramiko has {kex}, sshwire does not"
    srv = server()
    t = _transport(srv, closing)
    t.get_security_options().kex = [kex]
    t.start_client(timeout=20)
    served = _served(srv)
    assert served.transport.agreed_on_strict_kex
    t.auth_password(USER, PASSWORD)
    _echo_roundtrip(t, 50_000)


@pytest.mark.parametrize("cipher", PARAMIKO_CIPHERS)
def test_cipher(server: Any, closing: Any, cipher: str) -> None:
    assert cipher in CIPHERS, f"paramiko has {cipher}, sshwire does not"
    srv = server()
    t = _transport(srv, closing)
    t.get_security_options().ciphers = [cipher]
    t.start_client(timeout=10)
    assert t.local_cipher == cipher and t.remote_cipher == cipher
    t.auth_password(USER, PASSWORD)
    _echo_roundtrip(t)


@pytest.mark.parametrize("mac", PARAMIKO_MACS)
def test_mac(server: Any, closing: Any, mac: str) -> None:
    assert mac in MACS, f"paramiko has {mac}, sshwire does not"
    srv = server()
    t = _transport(srv, closing)
    options = t.get_security_options()
    options.ciphers = ["aes128-ctr"]  # a non-AEAD cipher, so that the MAC is used
    options.digests = [mac]
    t.start_client(timeout=10)
    assert t.local_mac == mac and t.remote_mac == mac
    t.auth_password(USER, PASSWORD)
    _echo_roundtrip(t)


@pytest.mark.parametrize("compression", ["zlib@openssh.com", "zlib"])
def test_compression(server: Any, closing: Any, compression: str) -> None:
    def setup(transport: sshwire.Transport) -> None:
        transport.use_compression(True)

    srv = server(setup=setup)
    t = _transport(srv, closing)
    t.get_security_options().compression = [compression]
    t.start_client(timeout=10)
    assert t.local_compression == compression and t.remote_compression == compression
    t.auth_password(USER, PASSWORD)
    _echo_roundtrip(t)
    t.renegotiate_keys()  # compression survives a rekey
    _echo_roundtrip(t, 10_000)


@pytest.fixture
def gex_groups(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """(p, g) of every group paramiko's group-exchange client receives in this test."""
    import paramiko.kex_gex

    seen: list[tuple[int, int]] = []
    original = paramiko.kex_gex.KexGexSHA256._parse_kexdh_gex_group

    def recording(self: Any, m: Any) -> Any:
        result = original(self, m)
        seen.append((self.p, self.g))
        return result

    monkeypatch.setattr(paramiko.kex_gex.KexGexSHA256, "_parse_kexdh_gex_group", recording)
    return seen


@pytest.fixture
def restore_moduli() -> Iterator[None]:
    saved = {bits: list(groups) for bits, groups in sshwire._serving._MODULI.items()}
    yield
    sshwire._serving._MODULI.clear()
    sshwire._serving._MODULI.update(saved)


def _moduli_primes(path: str) -> set[int]:
    primes = set()
    with open(path) as f:
        for line in f:
            fields = line.split()
            if len(fields) == 7 and not line.startswith("#"):
                primes.add(int(fields[6], 16))
    return primes


def test_group_exchange_builtin_groups(
    server: Any, closing: Any, restore_moduli: None, gex_groups: list[tuple[int, int]]
) -> None:
    """Without moduli loaded, the server answers group exchange from its built-in groups."""
    sshwire._serving._MODULI.clear()
    srv = server()
    t = _transport(srv, closing)
    t.get_security_options().kex = [GEX]
    t.start_client(timeout=20)
    [(p, g)] = gex_groups
    assert p.bit_length() >= 2048 and g > 1
    t.auth_password(USER, PASSWORD)
    _echo_roundtrip(t, 10_000)


def test_group_exchange_with_moduli_file(
    server: Any, closing: Any, restore_moduli: None, gex_groups: list[tuple[int, int]]
) -> None:
    if not os.path.exists(MODULI):
        pytest.skip(f"{MODULI} is missing (Debian's openssh-server ships it)")
    assert sshwire.Transport.load_server_moduli(MODULI) is True
    srv = server()
    t = _transport(srv, closing)
    t.get_security_options().kex = [GEX]
    t.start_client(timeout=20)
    [(p, _)] = gex_groups
    assert p in _moduli_primes(MODULI), "the group did not come from the moduli file"
    assert 2048 <= p.bit_length() <= 8192
    t.auth_password(USER, PASSWORD)
    _echo_roundtrip(t, 10_000)


def test_load_server_moduli_missing_file(restore_moduli: None) -> None:
    assert sshwire.Transport.load_server_moduli("/nonexistent/moduli") is False


# ------------------------------------------------------------------------------------ auth


def test_password_auth_and_banner(
    server: Any, closing: Any, host_keys: dict[str, sshwire.PKey]
) -> None:
    srv = server()
    t = _transport(srv, closing)
    t.start_client(timeout=10)
    served = _served(srv)
    with pytest.raises(paramiko.AuthenticationException):
        t.auth_password(USER, "wrong")
    # paramiko keeps the banner on the auth handler of the attempt it arrived in (each auth_*
    # call makes a new one); the server sends it once, before the first answer
    assert t.get_banner() == BANNER.encode()
    assert t.auth_password(USER, PASSWORD) == []
    assert t.is_authenticated()
    _round_trip(t)
    assert served.transport.is_authenticated()
    assert served.transport.get_username() == USER
    assert [e for e in served.policy.auth_log if e[0] == "password"] == [
        ("password", USER, "wrong"),
        ("password", USER, PASSWORD),
    ]


def test_password_auth_with_sshclient(
    server: Any, closing: Any, host_keys: dict[str, sshwire.PKey]
) -> None:
    srv = server()
    with pytest.raises(paramiko.AuthenticationException):
        _client(srv, host_keys, closing, password="nope")
    client = _client(srv, host_keys, closing, password=PASSWORD)
    assert client.get_transport().is_authenticated()


PUBKEY_CASES = [
    ("ed25519", "ssh-ed25519"),
    ("ecdsa256", "ecdsa-sha2-nistp256"),
    ("ecdsa384", "ecdsa-sha2-nistp384"),
    ("rsa", "rsa-sha2-256"),
    ("rsa", "rsa-sha2-512"),
]


@pytest.mark.parametrize(("kind", "algorithm"), PUBKEY_CASES, ids=[a for _, a in PUBKEY_CASES])
def test_publickey_auth(
    server: Any,
    closing: Any,
    host_keys: dict[str, sshwire.PKey],
    user_pems: dict[str, str],
    kind: str,
    algorithm: str,
) -> None:
    key = _paramiko_key(user_pems[kind])
    srv = server(lambda: Policy(authorized=[key.asbytes()]))
    signed_with: list[str | None] = []
    sign = key.sign_ssh_data

    def recording_sign(data: bytes, algorithm: str | None = None) -> Any:
        signed_with.append(algorithm)
        return sign(data, algorithm)

    key.sign_ssh_data = recording_sign  # type: ignore[method-assign]
    disabled = {"pubkeys": [a for a in ("rsa-sha2-256", "rsa-sha2-512") if a != algorithm]}
    client = _client(srv, host_keys, closing, pkey=key, disabled_algorithms=disabled)
    served = _served(srv)
    assert client.get_transport().is_authenticated()
    assert signed_with == [algorithm]
    assert ("publickey", USER, key.get_name()) in served.policy.auth_log
    assert served.transport.get_username() == USER


def test_publickey_unknown_key_is_refused(
    server: Any, closing: Any, user_pems: dict[str, str]
) -> None:
    known = _paramiko_key(user_pems["ed25519"])
    stranger = _paramiko_key(private_pem("ed25519"))
    srv = server(lambda: Policy(authorized=[known.asbytes()]))
    t = _transport(srv, closing)
    t.start_client(timeout=10)
    with pytest.raises(paramiko.AuthenticationException):
        t.auth_publickey(USER, stranger)
    assert not t.is_authenticated()
    assert t.auth_publickey(USER, known) == []


def test_keyboard_interactive(server: Any, closing: Any) -> None:
    srv = server()
    t = _transport(srv, closing)
    t.start_client(timeout=10)
    rounds: list[tuple[str, str, list[tuple[str, bool]]]] = []

    def handler(title: str, instructions: str, prompts: list[tuple[str, bool]]) -> list[str]:
        rounds.append((title, instructions, list(prompts)))
        return [PASSWORD] if len(rounds) == 1 else [OTP]

    assert t.auth_interactive(USER, handler) == []
    assert t.is_authenticated()
    assert rounds == [
        ("sshwire login", "Two questions.", [("Password: ", False)]),
        ("second factor", "", [("One-time code: ", True)]),
    ]
    _echo_roundtrip(t, 1000)


def test_keyboard_interactive_wrong_answer(server: Any, closing: Any) -> None:
    srv = server()
    t = _transport(srv, closing)
    t.start_client(timeout=10)
    with pytest.raises(paramiko.AuthenticationException):
        t.auth_interactive(USER, lambda title, instr, prompts: ["wrong"] * len(prompts))
    assert not t.is_authenticated()


def test_two_factor_publickey_then_password(
    server: Any, closing: Any, user_pems: dict[str, str]
) -> None:
    key = _paramiko_key(user_pems["ecdsa256"])
    srv = server(lambda: Policy(authorized=[key.asbytes()], two_factor=True))
    t = _transport(srv, closing)
    t.start_client(timeout=10)
    served = _served(srv)
    with pytest.raises(paramiko.BadAuthenticationType):
        t.auth_none(USER)
    assert t.auth_publickey(USER, key) == ["password"]
    assert not t.is_authenticated() and not served.transport.is_authenticated()
    assert t.auth_password(USER, PASSWORD) == []
    _round_trip(t)
    assert t.is_authenticated() and served.transport.is_authenticated()
    _echo_roundtrip(t, 1000)


def test_two_factor_with_sshclient(
    server: Any, closing: Any, host_keys: dict[str, sshwire.PKey], user_pems: dict[str, str]
) -> None:
    key = _paramiko_key(user_pems["ed25519"])
    srv = server(lambda: Policy(authorized=[key.asbytes()], two_factor=True))
    client = _client(srv, host_keys, closing, pkey=key, password=PASSWORD)
    served = _served(srv)
    assert client.get_transport().is_authenticated()
    methods = [e[0] for e in served.policy.auth_log if e[0] != "none"]
    assert methods == ["publickey", "password"]


# ------------------------------------------------------------------------------------ sessions


@pytest.fixture
def logged_in(
    server: Any, closing: Any, host_keys: dict[str, sshwire.PKey]
) -> Callable[..., tuple[paramiko.SSHClient, Served]]:
    def connect(
        setup: Callable[[sshwire.Transport], None] | None = _enable_everything,
    ) -> tuple[paramiko.SSHClient, Served]:
        srv = server(setup=setup)
        client = _client(srv, host_keys, closing, password=PASSWORD)
        return client, _served(srv)

    return connect


def test_exec_streams_and_exit_status(logged_in: Any) -> None:
    client, served = logged_in()
    stdin, stdout, stderr = client.exec_command("status 3 one two", timeout=10)
    stdin.write(b"to stdin")
    stdin.channel.shutdown_write()
    assert stdout.read() == b"out:to stdin"
    assert stderr.read() == b"err:one two"
    assert stdout.channel.recv_exit_status() == 3
    assert served.policy.commands == [b"status 3 one two"]


def test_exec_large_data_both_ways(logged_in: Any) -> None:
    client, _ = logged_in()
    _echo_roundtrip(client.get_transport(), 4 << 20)


def test_server_send_respects_a_small_client_window(logged_in: Any) -> None:
    """A client with a window smaller than the server's writes gets every byte exactly once."""
    client, _ = logged_in()
    chan = client.get_transport().open_session(
        window_size=40_000, max_packet_size=32768, timeout=10
    )
    chan.settimeout(10)
    chan.exec_command("source 300000")
    chan.shutdown_write()
    got = read_all(chan, limit=1 << 20)
    digest = chan.makefile_stderr("rb").read().decode()
    assert len(got) == 300_000
    assert hashlib.sha256(got).hexdigest() == digest


def test_exec_many_sequential_and_concurrent(logged_in: Any) -> None:
    client, _ = logged_in()
    t = client.get_transport()
    for _ in range(5):
        _echo_roundtrip(t, 5000)
    chans = []
    for i in range(8):
        chan = t.open_session(timeout=10)
        chan.settimeout(10)
        chan.exec_command(f"status {i}")
        chans.append(chan)
    for i, chan in enumerate(chans):
        chan.sendall(f"c{i}".encode())
        chan.shutdown_write()
    for i, chan in enumerate(chans):
        assert read_all(chan) == f"out:c{i}".encode()
        assert chan.recv_exit_status() == i
        chan.close()


def test_exec_refused(logged_in: Any) -> None:
    client, _ = logged_in()
    with pytest.raises(paramiko.SSHException):
        client.exec_command("no-such-command", timeout=10)
    # the connection is still fine
    _echo_roundtrip(client.get_transport(), 100)


def test_pty_shell_and_window_change(logged_in: Any) -> None:
    client, served = logged_in()
    chan = client.invoke_shell(term="vt220", width=80, height=24, width_pixels=640)
    chan.settimeout(10)
    assert _read_until(chan, b"$ ").endswith(b"$ ")
    (term, width, height, pw, ph, modes) = served.policy.pty[_server_id(served, chan)]
    assert (term, width, height, pw, ph) == (b"vt220", 80, 24, 640, 0)
    assert modes == b""  # paramiko sends no terminal modes
    chan.send(b"hello\n")
    assert b"you said hello" in _read_until(chan, b"$ ")
    chan.send(b"size\n")
    assert b"size 80x24" in _read_until(chan, b"$ ")
    chan.resize_pty(width=132, height=43, width_pixels=1056, height_pixels=688)
    change = served.policy.window_changes.get(timeout=10)
    assert change[1:] == (132, 43, 1056, 688)
    chan.send(b"size\n")
    assert b"size 132x43" in _read_until(chan, b"$ ")
    chan.send(b"exit 7\n")
    assert chan.recv_exit_status() == 7
    chan.close()


def _server_id(served: Served, client_chan: paramiko.Channel) -> int:
    """The server's id of the channel paramiko knows as ``client_chan``."""
    return int(client_chan.remote_chanid)


def test_env(logged_in: Any) -> None:
    client, _ = logged_in()
    t = client.get_transport()
    chan = t.open_session(timeout=10)
    chan.settimeout(10)
    chan.update_environment({"LANG": "C.UTF-8", "FOO": "bar baz"})
    chan.exec_command("env")
    chan.shutdown_write()
    assert read_all(chan) == b"FOO=bar baz\nLANG=C.UTF-8\n"
    assert chan.recv_exit_status() == 0
    chan.close()
    # SSHClient.exec_command(environment=...) uses the same requests
    stdin, stdout, _ = client.exec_command("env", environment={"X": "1"}, timeout=10)
    stdin.channel.shutdown_write()
    assert stdout.read() == b"X=1\n"


def test_subsystem_handler(logged_in: Any) -> None:
    def setup(transport: sshwire.Transport) -> None:
        _enable_everything(transport)
        transport.set_subsystem_handler("toy-echo", EchoSubsystem, b"> ")

    client, _ = logged_in(setup)
    t = client.get_transport()
    chan = t.open_session(timeout=10)
    chan.settimeout(10)
    chan.invoke_subsystem("toy-echo")
    for word in (b"ping", b"pong", b"x" * 3000):
        chan.sendall(word)
        assert _read_until(chan, word) == b"> " + word
    chan.shutdown_write()
    assert chan.recv(10) == b""
    assert chan.recv_exit_status() == 0
    chan.close()
    unknown = t.open_session(timeout=10)
    with pytest.raises(paramiko.SSHException):
        unknown.invoke_subsystem("no-such-subsystem")
    unknown.close()


# ------------------------------------------------------------------------------------ forwarding


@pytest.fixture
def echo_server() -> Iterator[EchoServer]:
    echo = EchoServer()
    yield echo
    echo.close()


def test_direct_tcpip(logged_in: Any, echo_server: EchoServer) -> None:
    client, served = logged_in()
    t = client.get_transport()
    chan = t.open_channel(
        "direct-tcpip", dest_addr=echo_server.address, src_addr=(LOOPBACK, 40001), timeout=10
    )
    chan.settimeout(10)
    origin, destination = served.policy.direct_tcpip[-1]
    assert origin == (LOOPBACK, 40001) and destination == echo_server.address
    srv_chan = served.transport.accept(10)
    assert srv_chan is not None
    pump = relay(srv_chan, socket.create_connection(destination, timeout=10))
    payload = os.urandom(300_000)
    chan.sendall(payload)
    chan.shutdown_write()
    assert read_all(chan) == payload
    chan.close()
    pump.join(10)
    assert not pump.is_alive()


def test_direct_tcpip_refused(logged_in: Any) -> None:
    client, served = logged_in()
    with pytest.raises(paramiko.ChannelException) as info:
        client.get_transport().open_channel(
            "direct-tcpip", dest_addr=("forbidden.invalid", 80), src_addr=(LOOPBACK, 1), timeout=10
        )
    assert info.value.code == paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED
    assert served.transport.accept(0.01) is None


def test_remote_port_forward(logged_in: Any) -> None:
    client, served = logged_in()
    t = client.get_transport()
    port = t.request_port_forward(LOOPBACK, 0)
    assert port > 0
    assert served.policy.global_requests == [f"tcpip-forward {LOOPBACK}:0"]
    with socket.create_connection((LOOPBACK, port), timeout=10) as sock:
        sock.sendall(b"through the tunnel")
        chan = t.accept(10)
        assert chan is not None
        chan.settimeout(10)
        assert chan.origin_addr == sock.getsockname()
        assert _read_until(chan, b"tunnel") == b"through the tunnel"
        chan.sendall(b"and back again")
        chan.shutdown_write()
        got = b""
        while len(got) < 14:
            part = sock.recv(100)
            assert part
            got += part
        assert got == b"and back again"
        sock.shutdown(socket.SHUT_WR)
        assert chan.recv(10) == b""
        chan.close()
    t.cancel_port_forward(LOOPBACK, port)
    assert served.policy.global_requests[-1] == f"cancel-tcpip-forward {LOOPBACK}:{port}"
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((LOOPBACK, port), timeout=10).close()


def test_remote_port_forward_refused(logged_in: Any) -> None:
    client, _ = logged_in()
    with pytest.raises(paramiko.SSHException):
        client.get_transport().request_port_forward("forbidden.invalid", 0)
    _echo_roundtrip(client.get_transport(), 100)


@pytest.mark.parametrize("via", ["accept", "handler"])
def test_x11(logged_in: Any, via: str) -> None:
    client, served = logged_in()
    t = client.get_transport()
    chan = t.open_session(timeout=10)
    chan.settimeout(10)
    cookie = "0123456789abcdef" * 2
    opened: queue.Queue[tuple[paramiko.Channel, tuple[str, int]]] = queue.Queue()
    chan.request_x11(
        screen_number=2,
        auth_protocol="MIT-MAGIC-COOKIE-1",
        auth_cookie=cookie,
        single_connection=True,
        handler=None if via == "accept" else lambda chan, origin: opened.put((chan, origin)),
    )
    assert served.policy.x11[_server_id(served, chan)] == (
        True,
        "MIT-MAGIC-COOKIE-1",
        cookie.encode(),
        2,
    )
    chan.exec_command("x11")
    chan.shutdown_write()
    if via == "accept":  # paramiko queues x11 channels for accept() without a handler
        x11 = t.accept(10)
        assert x11 is not None
    else:
        x11, origin = opened.get(timeout=10)
        assert origin == (LOOPBACK, 6010)
    x11.settimeout(10)
    assert read_all(x11) == b"X11 hello"
    x11.sendall(b"X11 reply")
    x11.shutdown_write()
    assert read_all(chan) == b"x11 said: X11 reply"
    assert chan.recv_exit_status() == 0
    x11.close()
    chan.close()


def test_agent_forwarding(logged_in: Any, ssh_agent: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSH_AUTH_SOCK", str(ssh_agent.socket_path))
    client, served = logged_in()
    t = client.get_transport()
    chan = t.open_session(timeout=10)
    chan.settimeout(10)
    handler = paramiko.agent.AgentRequestHandler(chan)
    try:
        chan.exec_command("agent")  # its reply comes after the (reply-less) agent request
        assert served.policy.agent_requests == [_server_id(served, chan)]
        chan.shutdown_write()
        assert read_all(chan) == f"{len(ssh_agent.keys)} identities".encode()
        assert chan.recv_exit_status() == 0
        identities, (blob, data, signature) = served.policy.results.get(timeout=10)
    finally:
        handler.close()
        chan.close()
    import base64

    expected = [base64.b64decode(k.public_base64) for k in ssh_agent.keys]
    assert sorted(identities) == sorted(expected)
    public = PublicKey.from_blob(blob)
    sig_name = signature[4 : 4 + int.from_bytes(signature[:4], "big")].decode()
    assert public.verify(sig_name, signature, data)

"""``SSHClient`` against a real OpenSSH sshd: connecting, host keys, auth order, sessions.

Every test runs with ``$HOME`` pointed at an empty temporary directory and without
``$SSH_AUTH_SOCK``, so the default key files, the default known_hosts file and the agent are
exactly what the test puts there, never the real user's. The fixture's known_hosts file is
only read: tests that let :class:`AutoAddPolicy` write use a copy.
"""

from __future__ import annotations

import gc
import getpass
import shutil
import socket
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _openssh import KeyFactory, PasswordUser, SshAgent, SshdServer, generate_key, sign_certificate
from sshwire.auth_strategy import AuthResult, AuthSource, AuthStrategy, InMemoryPrivateKey
from sshwire.channel import ChannelFile, ChannelStderrFile, ChannelStdinFile
from sshwire.client import AutoAddPolicy, RejectPolicy, SSHClient, WarningPolicy
from sshwire.pkey import PKey
from sshwire.ssh_exception import (
    AuthenticationException,
    BadHostKeyException,
    NoValidConnectionsError,
    PasswordRequiredException,
    SSHException,
)
from sshwire.transport import Transport

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(autouse=True)
def private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty home directory and no agent: nothing of the real user's leaks in."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    return home


def _known(sshd: SshdServer) -> SSHClient:
    client = SSHClient()
    client.load_host_keys(str(sshd.known_hosts_path))
    return client


def _connect(sshd: SshdServer, client: SSHClient | None = None, **kw: Any) -> SSHClient:
    """Connect with the ed25519 user key unless told otherwise; agent and ~/.ssh off."""
    client = client or _known(sshd)
    kw.setdefault("username", sshd.user)
    if "pkey" not in kw:
        kw.setdefault("key_filename", str(sshd.client_keys["ed25519"]))
    kw.setdefault("allow_agent", False)
    kw.setdefault("look_for_keys", False)
    kw.setdefault("timeout", 10)
    client.connect(sshd.host, sshd.port, **kw)
    return client


@pytest.fixture
def client(sshd: SshdServer) -> Iterator[SSHClient]:
    c = _connect(sshd)
    yield c
    c.close()


def _authenticated(client: SSHClient) -> bool:
    t = client.get_transport()
    return t is not None and t.is_authenticated()


def _run(client: SSHClient, command: str) -> tuple[bytes, bytes, int]:
    stdin, stdout, stderr = client.exec_command(command)
    stdin.close()
    out, err = stdout.read(), stderr.read()
    return out, err, stdout.channel.recv_exit_status()


def _closed_port() -> int:
    """A loopback port nobody listens on (bound, then closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _transport_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if isinstance(t, Transport)]


# ------------------------------------------------------------------------------ authentication


@pytest.mark.parametrize("name", ["ed25519", "ecdsa", "rsa"])
def test_connect_with_key_filename(sshd: SshdServer, name: str) -> None:
    with _connect(sshd, key_filename=str(sshd.client_keys[name])) as client:
        assert _authenticated(client)
        t = client.get_transport()
        assert t is not None and t.get_username() == sshd.user
        assert _run(client, "echo hi") == (b"hi\n", b"", 0)


def test_key_filename_list_tries_each(sshd: SshdServer, keygen: KeyFactory) -> None:
    # an ed25519 key sshd does not know, then an authorized rsa key: the second one gets in
    names = [str(keygen.make("ed25519").path), str(sshd.client_keys["rsa"])]
    with _connect(sshd, key_filename=names) as client:
        assert _authenticated(client)


def test_key_filename_as_path_object(sshd: SshdServer) -> None:
    with _connect(sshd, key_filename=sshd.client_keys["ecdsa"]) as client:
        assert _authenticated(client)


def test_missing_key_filename_raises_oserror(sshd: SshdServer, tmp_path: Path) -> None:
    client = _known(sshd)
    try:
        with pytest.raises(FileNotFoundError):
            _connect(sshd, client, key_filename=str(tmp_path / "nope"))
    finally:
        client.close()


def test_connect_with_pkey(sshd: SshdServer) -> None:
    key = PKey.from_path(sshd.client_keys["ecdsa"])
    with _connect(sshd, pkey=key) as client:
        assert _authenticated(client)


def test_wrong_key_is_refused(sshd: SshdServer, keygen: KeyFactory) -> None:
    client = _known(sshd)
    try:
        with pytest.raises(AuthenticationException):
            _connect(sshd, client, key_filename=str(keygen.get("ed25519").path))
        assert not _authenticated(client)
    finally:
        client.close()


def test_no_sources_at_all(sshd: SshdServer) -> None:
    client = _known(sshd)
    try:
        with pytest.raises(SSHException, match=r"^No authentication methods available$"):
            client.connect(sshd.host, sshd.port, sshd.user, allow_agent=False, look_for_keys=False)
    finally:
        client.close()


def test_username_defaults_to_local_user(sshd: SshdServer) -> None:
    assert sshd.user == getpass.getuser()
    client = _known(sshd)
    client.connect(
        sshd.host,
        sshd.port,
        key_filename=str(sshd.client_keys["ed25519"]),
        allow_agent=False,
        look_for_keys=False,
    )
    with client:
        t = client.get_transport()
        assert t is not None and t.get_username() == getpass.getuser()


def test_agent_keys(sshd: SshdServer, ssh_agent: SshAgent, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSH_AUTH_SOCK", str(ssh_agent.socket_path))
    client = _known(sshd)
    client.connect(sshd.host, sshd.port, sshd.user, look_for_keys=False, timeout=10)
    assert _authenticated(client)
    agent = client._agent
    assert agent is not None and len(agent.get_keys()) == len(ssh_agent.keys)
    assert _run(client, "echo agent") == (b"agent\n", b"", 0)
    client.close()
    assert client._agent is None and agent.get_keys() == ()


def test_agent_not_used_when_disallowed(
    sshd: SshdServer, ssh_agent: SshAgent, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSH_AUTH_SOCK", str(ssh_agent.socket_path))
    client = _known(sshd)
    try:
        with pytest.raises(SSHException, match="No authentication methods available"):
            client.connect(sshd.host, sshd.port, sshd.user, allow_agent=False, look_for_keys=False)
        assert client._agent is None
    finally:
        client.close()


def test_look_for_keys_in_home(sshd: SshdServer, private_home: Path) -> None:
    ssh_dir = private_home / ".ssh"
    ssh_dir.mkdir()
    shutil.copyfile(sshd.client_keys["ed25519"], ssh_dir / "id_ed25519")
    (ssh_dir / "id_ed25519").chmod(0o600)
    client = _known(sshd)
    client.connect(sshd.host, sshd.port, sshd.user, allow_agent=False, timeout=10)
    with client:
        assert _authenticated(client)
    # and not at all with look_for_keys=False
    client = _known(sshd)
    try:
        with pytest.raises(SSHException, match="No authentication methods available"):
            client.connect(sshd.host, sshd.port, sshd.user, allow_agent=False, look_for_keys=False)
    finally:
        client.close()


def test_key_filename_picks_up_certificate(sshd: SshdServer) -> None:
    # this key is not in authorized_keys: only its -cert.pub (signed by the user CA) gets in
    assert Path(str(sshd.client_cert_key) + "-cert.pub") == sshd.client_cert
    with _connect(sshd, key_filename=str(sshd.client_cert_key)) as client:
        assert _authenticated(client)
    # naming the certificate instead of the key loads the key next to it
    with _connect(sshd, key_filename=str(sshd.client_cert)) as client:
        assert _authenticated(client)


@pytest.fixture
def encrypted_cert_key(sshd: SshdServer, tmp_path: Path) -> tuple[Path, str]:
    """An encrypted ed25519 key that sshd accepts through a user certificate."""
    passphrase = "correct horse"
    key = generate_key(
        sshd.openssh.ssh_keygen, tmp_path / "id_enc", "ed25519", passphrase=passphrase
    )
    sign_certificate(sshd.openssh.ssh_keygen, sshd.user_ca_key, key.pub_path, [sshd.user])
    return key.path, passphrase


def test_passphrase_decrypts_key_file(
    sshd: SshdServer, encrypted_cert_key: tuple[Path, str]
) -> None:
    path, passphrase = encrypted_cert_key
    with _connect(sshd, key_filename=str(path), passphrase=passphrase) as client:
        assert _authenticated(client)


def test_password_doubles_as_passphrase(
    sshd: SshdServer, encrypted_cert_key: tuple[Path, str]
) -> None:
    # paramiko semantics: without passphrase=, the password also unlocks key files (and the
    # key succeeds first, so password authentication is never tried)
    path, passphrase = encrypted_cert_key
    with _connect(sshd, key_filename=str(path), password=passphrase) as client:
        assert _authenticated(client)


def test_encrypted_key_without_passphrase(
    sshd: SshdServer, encrypted_cert_key: tuple[Path, str]
) -> None:
    path, _ = encrypted_cert_key
    client = _known(sshd)
    try:
        with pytest.raises(PasswordRequiredException):
            _connect(sshd, client, key_filename=str(path))
    finally:
        client.close()


def test_auth_strategy_replaces_legacy_order(sshd: SshdServer) -> None:
    key = PKey.from_path(sshd.client_keys["ed25519"])

    class OneKey(AuthStrategy):
        def get_sources(self) -> Iterator[AuthSource]:
            yield InMemoryPrivateKey(sshd.user, key)

    client = _known(sshd)
    # the legacy arguments are ignored: a wrong username and no key file
    result = client.connect(
        sshd.host, sshd.port, "nobody-at-all", auth_strategy=OneKey(ssh_config=None), timeout=10
    )
    with client:
        assert isinstance(result, AuthResult)
        assert _authenticated(client)
        t = client.get_transport()
        assert t is not None and t.get_username() == sshd.user


def test_password_auth(sshd: SshdServer, sshd_password_user: PasswordUser) -> None:
    # runs in CI only (the fixture creates a throwaway local user as root)
    name, password = sshd_password_user
    client = _known(sshd)
    client.connect(
        sshd.host, sshd.port, name, password, allow_agent=False, look_for_keys=False, timeout=10
    )
    with client:
        assert _authenticated(client)
        assert _run(client, "whoami") == (name.encode() + b"\n", b"", 0)


# ------------------------------------------------------------------------------ host keys


def test_known_host_ok(sshd: SshdServer) -> None:
    with _connect(sshd) as client:  # RejectPolicy is the default
        assert _authenticated(client)
        assert isinstance(client._policy, RejectPolicy)


def test_system_host_keys(sshd: SshdServer) -> None:
    client = SSHClient()
    client.load_system_host_keys(str(sshd.known_hosts_path))
    with _connect(sshd, client) as c:
        assert _authenticated(c)
        assert len(c.get_host_keys()) == 0  # system keys are kept apart


def test_default_system_host_keys_missing_is_fine(private_home: Path) -> None:
    client = SSHClient()
    client.load_system_host_keys()  # ~/.ssh/known_hosts does not exist
    with pytest.raises(FileNotFoundError):
        client.load_system_host_keys(str(private_home / "missing"))


def test_default_system_host_keys_are_read(sshd: SshdServer, private_home: Path) -> None:
    (private_home / ".ssh").mkdir()
    shutil.copyfile(sshd.known_hosts_path, private_home / ".ssh" / "known_hosts")
    client = SSHClient()
    client.load_system_host_keys()
    with _connect(sshd, client) as c:
        assert _authenticated(c)


def test_reject_policy_on_unknown_host(sshd: SshdServer) -> None:
    client = SSHClient()
    try:
        with pytest.raises(SSHException) as info:
            _connect(sshd, client)
        assert str(info.value) == f"Server '[{sshd.host}]:{sshd.port}' not found in known_hosts"
        assert not _authenticated(client)
    finally:
        client.close()


def test_auto_add_policy_adds_and_saves(sshd: SshdServer, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text("")
    client = SSHClient()
    client.load_host_keys(str(known))
    client.set_missing_host_key_policy(AutoAddPolicy)  # a class is instantiated
    assert isinstance(client._policy, AutoAddPolicy)
    with _connect(sshd, client) as c:
        t = c.get_transport()
        assert t is not None
        server_key = t.get_remote_server_key()
        added = c.get_host_keys().lookup(sshd.known_hosts_name)
        assert added is not None and added[server_key.get_name()] == server_key
    line = f"{sshd.known_hosts_name} {server_key.get_name()} {server_key.get_base64()}\n"
    assert known.read_text() == line
    # and the next client knows the host from that file
    with _connect(sshd, _known_from(known)) as again:
        assert _authenticated(again)


def _known_from(path: Path) -> SSHClient:
    client = SSHClient()
    client.load_host_keys(str(path))
    return client


def test_auto_add_policy_without_file_keeps_key_in_memory(sshd: SshdServer) -> None:
    client = SSHClient()
    client.set_missing_host_key_policy(AutoAddPolicy())
    with _connect(sshd, client) as c:
        assert c.get_host_keys().lookup(sshd.known_hosts_name) is not None


def test_warning_policy_warns(sshd: SshdServer) -> None:
    client = SSHClient()
    client.set_missing_host_key_policy(WarningPolicy())
    pattern = rf"^Unknown ssh-\S+ host key for \[{sshd.host}\]:{sshd.port}: b'[0-9a-f]{{32}}'$"
    with pytest.warns(UserWarning, match=pattern):
        _connect(sshd, client)
    with client:
        assert _authenticated(client)
        assert len(client.get_host_keys()) == 0


def test_wrong_known_key_raises_bad_host_key(
    sshd: SshdServer, keygen: KeyFactory, tmp_path: Path
) -> None:
    impostor = keygen.get("ed25519").public_line  # "ssh-ed25519 <base64>", not the host's
    known = tmp_path / "known_hosts"
    known.write_text(f"{sshd.known_hosts_name} {impostor}\n")
    client = _known_from(known)
    try:
        with pytest.raises(BadHostKeyException) as info:
            _connect(sshd, client)
        exc = info.value
        assert exc.hostname == sshd.host
        assert exc.expected_key.get_base64() == impostor.split()[1]
        assert f"ssh-ed25519 {exc.key.get_base64()}" == sshd.host_public_keys["ssh-ed25519"]
        assert not _authenticated(client)
    finally:
        client.close()


@pytest.mark.parametrize(
    ("key_type", "negotiated"),
    [
        ("ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384"),
        ("ssh-rsa", "rsa-sha2-512"),
        ("ssh-ed25519", "ssh-ed25519"),
    ],
)
def test_known_key_type_is_asked_for_first(
    sshd: SshdServer, tmp_path: Path, key_type: str, negotiated: str
) -> None:
    known = tmp_path / "known_hosts"
    known.write_text(f"{sshd.known_hosts_name} {sshd.host_public_keys[key_type]}\n")
    with _connect(sshd, _known_from(known)) as client:
        t = client.get_transport()
        assert t is not None
        assert t.get_remote_server_key().get_name() == key_type
        assert t.host_key_type == negotiated


def test_save_host_keys(sshd: SshdServer, tmp_path: Path) -> None:
    client = _known(sshd)
    out = tmp_path / "saved"
    client.save_host_keys(str(out))
    lines = sorted(out.read_text().splitlines())
    assert lines == sorted(
        f"{sshd.known_hosts_name} {line}" for line in sshd.host_public_keys.values()
    )


# ------------------------------------------------------------------------------ sessions


def test_exec_command_streams_and_exit_status(client: SSHClient) -> None:
    stdin, stdout, stderr = client.exec_command("echo out; echo err >&2; exit 7")
    assert isinstance(stdin, ChannelStdinFile)
    assert isinstance(stderr, ChannelStderrFile)
    assert type(stdout) is ChannelFile
    assert stdin.channel is stdout.channel is stderr.channel
    assert stdout.read() == b"out\n"
    assert stderr.read() == b"err\n"
    assert stdout.channel.recv_exit_status() == 7


def test_exec_command_file_modes(client: SSHClient) -> None:
    stdin, stdout, stderr = client.exec_command("printf 'a\\nb\\n'")
    assert stdout.readline() == "a\n"  # text lines, as paramiko's 'r' files
    assert stdout.readlines() == ["b\n"]
    assert stderr.read() == b""
    with pytest.raises(OSError):
        stdout.write(b"x")  # read-only
    with pytest.raises(OSError):
        stdin.read()  # write-only
    stdin.close()


def test_exec_command_stdin_to_cat(client: SSHClient) -> None:
    stdin, stdout, _ = client.exec_command("cat")
    stdin.write("hello ")
    stdin.write(b"through cat\n")
    stdin.flush()
    stdin.close()  # sends EOF
    assert stdout.read() == b"hello through cat\n"
    assert stdout.channel.recv_exit_status() == 0


def test_exec_command_environment(client: SSHClient) -> None:
    env = {"SSHWIRE_ONE": "first value", "SSHWIRE_TWO": "2"}
    assert _run(client, 'echo "$SSHWIRE_ONE|$SSHWIRE_TWO"') == (b"|\n", b"", 0)
    _, stdout, _ = client.exec_command('echo "$SSHWIRE_ONE|$SSHWIRE_TWO"', environment=env)
    assert stdout.read() == b"first value|2\n"


def test_exec_command_get_pty(client: SSHClient) -> None:
    _, stdout, stderr = client.exec_command("tty; echo err >&2", get_pty=True)
    out = stdout.read()
    assert out.startswith(b"/dev/")
    assert b"err\r\n" in out  # a terminal merges stderr into stdout, with CRLF
    assert stderr.read() == b""
    assert stdout.channel.recv_exit_status() == 0
    _, stdout, _ = client.exec_command("tty")
    assert stdout.read() == b"not a tty\n"


def test_exec_command_timeout_on_read(client: SSHClient) -> None:
    _, stdout, _ = client.exec_command("sleep 30", timeout=0.3)
    with pytest.raises(socket.timeout):
        stdout.read()
    stdout.channel.close()


def test_invoke_shell(client: SSHClient) -> None:
    chan = client.invoke_shell(environment={"SSHWIRE_SHELL": "from-env"})
    chan.settimeout(20)
    chan.sendall(b"echo $((6*7)) $SSHWIRE_SHELL $TERM; exit 3\n")
    out = bytearray()
    while True:
        data = chan.recv(65536)
        if not data:
            break
        out += data
    assert b"42 from-env vt100" in out
    assert chan.recv_exit_status() == 3
    chan.close()


def test_invoke_shell_term_and_size(client: SSHClient) -> None:
    chan = client.invoke_shell(term="xterm", width=100, height=30)
    chan.settimeout(20)
    chan.sendall(b"echo T=$TERM; stty size; exit\n")
    out = bytearray()
    while data := chan.recv(65536):
        out += data
    assert b"T=xterm" in out and b"30 100" in out
    chan.close()


def test_open_sftp_against_sshd(client: SSHClient) -> None:
    with client.open_sftp() as sftp:
        assert sftp.normalize(".").startswith("/")
        assert sftp.get_channel() is not None


def test_not_connected() -> None:
    client = SSHClient()
    assert client.get_transport() is None
    with pytest.raises(SSHException):
        client.exec_command("true")
    with pytest.raises(SSHException):
        client.invoke_shell()
    client.close()
    client.close()


# ------------------------------------------------------------------------------ connecting


def test_no_valid_connections_on_closed_port() -> None:
    port = _closed_port()
    client = SSHClient()
    with pytest.raises(NoValidConnectionsError) as info:
        client.connect("127.0.0.1", port, "x", timeout=5, allow_agent=False, look_for_keys=False)
    exc = info.value
    assert isinstance(exc, socket.error)
    assert list(exc.errors) == [("127.0.0.1", port)]
    assert isinstance(exc.errors[("127.0.0.1", port)], ConnectionRefusedError)
    assert client.get_transport() is None


def _fake_getaddrinfo(
    monkeypatch: pytest.MonkeyPatch, answers: list[tuple[int, int, tuple[Any, ...]]]
) -> list[tuple[str, int]]:
    """Make name resolution return ``answers`` (family, socktype, sockaddr) for any name."""
    asked: list[tuple[str, int]] = []

    def fake(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        asked.append((host, port))
        return [(family, stype, 6, "", addr) for family, stype, addr in answers]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return asked


def test_every_address_is_tried(sshd: SshdServer, monkeypatch: pytest.MonkeyPatch) -> None:
    closed = _closed_port()
    asked = _fake_getaddrinfo(
        monkeypatch,
        [
            (socket.AF_INET6, socket.SOCK_STREAM, ("::1", closed, 0, 0)),
            (socket.AF_INET, socket.SOCK_STREAM, ("127.0.0.1", closed)),
            (socket.AF_INET, socket.SOCK_STREAM, (sshd.host, sshd.port)),
        ],
    )
    with _connect(sshd) as client:
        assert asked == [(sshd.host, sshd.port)]
        t = client.get_transport()
        assert t is not None and t.getpeername()[:2] == (sshd.host, sshd.port)
        assert t.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_all_addresses_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    closed = _closed_port()
    _fake_getaddrinfo(
        monkeypatch,
        [
            (socket.AF_INET6, socket.SOCK_STREAM, ("::1", closed, 0, 0)),
            (socket.AF_INET, socket.SOCK_DGRAM, ("127.0.0.1", 9)),  # not a stream: skipped
            (socket.AF_INET, socket.SOCK_STREAM, ("127.0.0.1", closed)),
        ],
    )
    with pytest.raises(NoValidConnectionsError) as info:
        SSHClient().connect("somewhere", closed, "x", allow_agent=False, look_for_keys=False)
    assert set(info.value.errors) == {("::1", closed, 0, 0), ("127.0.0.1", closed)}


def test_unmarked_socket_types_are_guessed(monkeypatch: pytest.MonkeyPatch) -> None:
    closed = _closed_port()
    _fake_getaddrinfo(monkeypatch, [(socket.AF_INET, 0, ("127.0.0.1", closed))])
    with pytest.raises(NoValidConnectionsError) as info:
        SSHClient().connect("somewhere", closed, "x", allow_agent=False, look_for_keys=False)
    assert list(info.value.errors) == [("127.0.0.1", closed)]


def test_connect_over_given_socket(sshd: SshdServer) -> None:
    sock = socket.create_connection((sshd.host, sshd.port))
    with _connect(sshd, sock=sock) as client:
        t = client.get_transport()
        assert t is not None and t.sock is sock
        assert _run(client, "echo via-sock") == (b"via-sock\n", b"", 0)


def test_timeouts_and_options_reach_the_transport(sshd: SshdServer) -> None:
    made: list[dict[str, Any]] = []

    def factory(sock: Any, **kwargs: Any) -> Transport:
        made.append(kwargs)
        return Transport(sock, **kwargs)

    disabled = {"ciphers": ["aes128-gcm@openssh.com", "chacha20-poly1305@openssh.com"]}
    client = _known(sshd)
    client.set_log_channel("sshwire.test.client")
    _connect(
        sshd,
        client,
        banner_timeout=11,
        auth_timeout=12,
        channel_timeout=13,
        disabled_algorithms=disabled,
        transport_factory=factory,
    )
    with client:
        t = client.get_transport()
        assert t is not None
        assert made == [{"disabled_algorithms": disabled}]
        assert (t.banner_timeout, t.auth_timeout, t.channel_timeout) == (11, 12, 13)
        assert t.get_log_channel() == "sshwire.test.client"
        assert not set(disabled["ciphers"]) & set(t.preferred_ciphers)
        assert _run(client, "echo ok")[0] == b"ok\n"


def test_compress(sshd: SshdServer) -> None:
    with _connect(sshd, compress=True) as client:
        t = client.get_transport()
        assert t is not None and t.preferred_compression[0] != "none"
        out, _, status = _run(client, "head -c 100000 /dev/zero | tr '\\0' a")
        assert out == b"a" * 100000 and status == 0


def test_context_manager_closes(sshd: SshdServer) -> None:
    with _connect(sshd) as client:
        t = client.get_transport()
        assert t is not None and t.is_active()
    assert client.get_transport() is None
    assert not t.is_active() and not t.is_alive()
    client.close()  # again: nothing happens


# ------------------------------------------------------------------------------ lifetime


def _drop_connected_client(sshd: SshdServer) -> weakref.ref[Transport]:
    client = _connect(sshd)
    assert _run(client, "true")[2] == 0
    t = client.get_transport()
    assert t is not None and t.is_alive()
    return weakref.ref(t)


def _wait_released(ref: weakref.ref[Transport]) -> None:
    gc.collect()
    t = ref()
    if t is not None:
        t.join(10)
        assert not t.is_alive()
        assert not t.is_active()


def test_dropped_client_releases_transport_thread(sshd: SshdServer) -> None:
    baseline = len(_transport_threads())
    ref = _drop_connected_client(sshd)
    _wait_released(ref)
    assert len(_transport_threads()) == baseline
    gc.collect()
    assert ref() is None  # nothing keeps the transport itself alive either


def test_returned_files_keep_the_client_alive(sshd: SshdServer) -> None:
    def command_output() -> tuple[ChannelFile, weakref.ref[Transport]]:
        client = _connect(sshd)
        _, stdout, _ = client.exec_command("sleep 0.3; echo late")
        t = client.get_transport()
        assert t is not None
        return stdout, weakref.ref(t)

    stdout, ref = command_output()
    gc.collect()
    assert stdout.read() == b"late\n"
    t = ref()
    assert t is not None and t.is_active()
    del t, stdout
    _wait_released(ref)


def test_close_joins_thread(sshd: SshdServer) -> None:
    client = _connect(sshd)
    t = client.get_transport()
    assert t is not None
    client.close()
    assert not t.is_alive()


@pytest.mark.timeout(60)
def test_host_certificate_trusted_through_cert_authority(sshd: SshdServer) -> None:
    """With only a @cert-authority line, the server's host certificate is accepted."""
    from sshwire.client import RejectPolicy, SSHClient

    client = SSHClient()
    client.load_host_keys(str(sshd.known_hosts_ca_path))
    client.set_missing_host_key_policy(RejectPolicy())
    try:
        client.connect(
            sshd.host,
            sshd.port,
            username=sshd.user,
            key_filename=str(sshd.client_keys["ed25519"]),
            allow_agent=False,
            look_for_keys=False,
        )
        transport = client.get_transport()
        assert transport is not None and transport.host_key_type == (
            "ssh-ed25519-cert-v01@openssh.com"
        )
        _, stdout, _ = client.exec_command("echo certified")
        assert stdout.read() == b"certified\n"
    finally:
        client.close()

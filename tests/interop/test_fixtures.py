"""The real-peer fixtures work: proven with independent clients (paramiko, OpenSSH's own ssh).

sshwire's client does not exist yet, so paramiko 5.1 and the ``ssh`` binary stand in for it.
These tests also record what the fixtures' users must know (certificates, agent, password and
keyboard-interactive auth) in executable form.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest

from _openssh import (
    KEY_FORMATS,
    KEY_VARIANTS,
    REQUIRE_ENV,
    KeyFactory,
    OpenSSH,
    PasswordUser,
    SshAgent,
    SshdServer,
    locate_openssh,
    merge_config,
    require_openssh,
    unavailable,
    variant_id,
)

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]


# --------------------------------------------------------------------------------------------
# helpers


@contextlib.contextmanager
def paramiko_client(server: SshdServer, **kwargs: object) -> Iterator[paramiko.SSHClient]:
    """A paramiko client connected to ``server`` that trusts only its known_hosts file."""
    client = paramiko.SSHClient()
    client.load_host_keys(str(server.known_hosts_path))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    options: dict[str, object] = {
        "username": server.user,
        "look_for_keys": False,
        "allow_agent": False,
        "timeout": 10,
        "banner_timeout": 10,
        "auth_timeout": 10,
    }
    options.update(kwargs)
    try:
        client.connect(server.host, server.port, **options)  # type: ignore[arg-type]
        yield client
    finally:
        client.close()


def run_remote(client: paramiko.SSHClient, command: str) -> tuple[bytes, bytes, int]:
    _stdin, stdout, stderr = client.exec_command(command, timeout=10)
    out, err = stdout.read(), stderr.read()
    return out, err, stdout.channel.recv_exit_status()


def run_local(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        **kwargs,  # type: ignore[arg-type]
    )


def fingerprint(openssh: OpenSSH, pub: Path) -> str:
    return run_local([openssh.ssh_keygen, "-l", "-f", str(pub)]).stdout.split()[1]


# --------------------------------------------------------------------------------------------
# locating OpenSSH (these run even where OpenSSH is missing)


def test_missing_openssh_gives_a_reason() -> None:
    reason = locate_openssh(search_path="/nonexistent-sshwire-dir")
    assert isinstance(reason, str)
    assert "sshd" in reason
    assert "openssh-server" in reason


def test_missing_openssh_skips_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="INTEROP SKIPPED: no sshd"):
        unavailable("no sshd")


def test_missing_openssh_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="no sshd"):
        unavailable("no sshd")


def test_find_openssh(openssh: OpenSSH) -> None:
    assert require_openssh() == openssh
    assert openssh.version.startswith("OpenSSH_")
    for prog in (openssh.sshd, openssh.ssh, openssh.ssh_keygen, openssh.ssh_agent):
        assert Path(prog).is_absolute()
        assert Path(prog).exists()


def test_merge_config_overrides_by_keyword() -> None:
    base = [
        "Ciphers a,b",
        "Subsystem sftp internal-sftp",
        "HostKey /k1",
        "HostKey /k2",
        "UsePAM no",
    ]
    extra = ["ciphers c", "", "# comment", "Subsystem other /bin/cat", "HostKey /k3"]
    extra += ["Match User nobody", "  PasswordAuthentication no"]
    assert merge_config(base, extra) == [
        "ciphers c",
        "Subsystem other /bin/cat",
        "HostKey /k3",
        "Subsystem sftp internal-sftp",
        "UsePAM no",
        "Match User nobody",
        "PasswordAuthentication no",
    ]


# --------------------------------------------------------------------------------------------
# sshd with paramiko as the client


@pytest.mark.parametrize("key_name", ["ed25519", "ecdsa", "rsa"])
def test_paramiko_user_key(sshd: SshdServer, key_name: str) -> None:
    with paramiko_client(sshd, key_filename=str(sshd.client_keys[key_name])) as client:
        assert run_remote(client, "echo hello") == (b"hello\n", b"", 0)


@pytest.mark.parametrize(
    ("host_key_type", "paramiko_alg"),
    [
        ("ssh-ed25519", "ssh-ed25519"),
        ("ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256"),
        ("ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384"),
        ("ecdsa-sha2-nistp521", "ecdsa-sha2-nistp521"),
        ("ssh-rsa", "rsa-sha2-512"),
    ],
)
def test_every_host_key_is_served_and_known(
    sshd: SshdServer, host_key_type: str, paramiko_alg: str
) -> None:
    others = [k for k in paramiko.Transport._preferred_keys if k != paramiko_alg]
    with paramiko_client(
        sshd,
        key_filename=str(sshd.client_keys["ed25519"]),
        disabled_algorithms={"keys": others},
    ) as client:
        transport = client.get_transport()
        assert transport is not None
        assert transport.host_key_type == paramiko_alg
        server_key = transport.get_remote_server_key()
        seen = f"{server_key.get_name()} {server_key.get_base64()}"
        assert seen == sshd.host_public_keys[host_key_type]
        assert sshd.host_key_paths[host_key_type].exists()


def test_paramiko_user_certificate(sshd: SshdServer) -> None:
    # The certificate's key is not in authorized_keys: only TrustedUserCAKeys can accept it.
    # paramiko picks up "<key_filename>-cert.pub" by itself.
    assert sshd.client_cert == Path(f"{sshd.client_cert_key}-cert.pub")
    with paramiko_client(sshd, key_filename=str(sshd.client_cert_key)) as client:
        assert run_remote(client, "echo hello") == (b"hello\n", b"", 0)
    assert "Accepted publickey for" in sshd.log_text()
    assert "ED25519-CERT" in sshd.log_text()


def test_stderr_is_clean_and_exit_status_passes(sshd: SshdServer) -> None:
    # sshd runs with -E LOGFILE: with -e its debug lines would leak into sessions' stderr.
    with paramiko_client(sshd, key_filename=str(sshd.client_keys["ed25519"])) as client:
        assert run_remote(client, "echo out; echo err >&2; exit 3") == (b"out\n", b"err\n", 3)


def test_more_than_ten_sessions_per_connection(sshd: SshdServer) -> None:
    with paramiko_client(sshd, key_filename=str(sshd.client_keys["ed25519"])) as client:
        transport = client.get_transport()
        assert transport is not None
        channels = [transport.open_session(timeout=10) for _ in range(12)]
        for i, ch in enumerate(channels):
            ch.exec_command(f"echo {i}")
        for i, ch in enumerate(channels):
            assert ch.makefile("rb").read() == f"{i}\n".encode()
            assert ch.recv_exit_status() == 0
            ch.close()


# --------------------------------------------------------------------------------------------
# sshd with OpenSSH's ssh as the client


def test_openssh_client(sshd: SshdServer) -> None:
    res = run_local(sshd.ssh_command("echo ok"))
    assert (res.returncode, res.stdout, res.stderr) == (0, "ok\n", "")
    args = sshd.ssh_args()
    assert f"Port={sshd.port}" in args
    assert "StrictHostKeyChecking=yes" in args


@pytest.mark.parametrize("identity", ["ecdsa", "rsa", "cert"])
def test_openssh_client_other_identities(sshd: SshdServer, identity: str) -> None:
    res = run_local(sshd.ssh_command("echo ok", identity=identity))
    assert (res.returncode, res.stdout) == (0, "ok\n"), res.stderr


def test_openssh_client_host_certificate(sshd: SshdServer) -> None:
    argv = [
        sshd.openssh.ssh,
        *sshd.ssh_args(known_hosts=sshd.known_hosts_ca_path),
        "-o",
        "HostKeyAlgorithms=ssh-ed25519-cert-v01@openssh.com",
        "-v",
        sshd.host,
        "echo ok",
    ]
    res = run_local(argv)
    assert (res.returncode, res.stdout) == (0, "ok\n"), res.stderr
    assert "Server host certificate: ssh-ed25519-cert-v01@openssh.com" in res.stderr
    assert "is known and matches the ED25519-CERT host certificate" in res.stderr
    assert f"Found CA key in {sshd.known_hosts_ca_path}" in res.stderr
    assert sshd.known_hosts_ca_path.read_text().startswith(
        f"@cert-authority [127.0.0.1]:{sshd.port} ssh-ed25519 "
    )


def test_legacy_algorithms_can_be_negotiated(sshd: SshdServer) -> None:
    legacy = {
        "KexAlgorithms": "diffie-hellman-group1-sha1",
        "Ciphers": "aes128-cbc",
        "MACs": "hmac-md5",
        "HostKeyAlgorithms": "ssh-rsa",
        "PubkeyAcceptedAlgorithms": "ssh-rsa",
    }
    options = [arg for k, v in legacy.items() for arg in ("-o", f"{k}={v}")]
    argv = sshd.ssh_command("echo ok", identity="rsa", options=[*options, "-v"])
    res = run_local(argv)
    assert (res.returncode, res.stdout) == (0, "ok\n"), res.stderr
    assert "kex: algorithm: diffie-hellman-group1-sha1" in res.stderr
    assert "kex: host key algorithm: ssh-rsa" in res.stderr
    assert "cipher: aes128-cbc MAC: hmac-md5" in res.stderr


# --------------------------------------------------------------------------------------------
# a second sshd with other settings


def test_start_with_extra_settings(sshd: SshdServer) -> None:
    with sshd.start_with(["Ciphers aes128-ctr", "MACs hmac-sha2-256", "RekeyLimit 1M"]) as other:
        assert other.port != sshd.port
        assert other.tmpdir != sshd.tmpdir
        config = other.config_path.read_text()
        assert config.count("Ciphers ") == 1
        assert "Ciphers aes128-ctr\n" in config
        with paramiko_client(other, key_filename=str(other.client_keys["rsa"])) as client:
            transport = client.get_transport()
            assert transport is not None
            assert transport.remote_cipher == "aes128-ctr"
            assert transport.remote_mac == "hmac-sha2-256"
            assert run_remote(client, "echo hello") == (b"hello\n", b"", 0)
        proc = other.proc
        assert proc is not None
    assert proc.returncode is not None
    # the session sshd is untouched
    with paramiko_client(sshd, key_filename=str(sshd.client_keys["ed25519"])) as client:
        assert run_remote(client, "echo still") == (b"still\n", b"", 0)


def test_start_with_bad_config_reports_sshd_error(sshd: SshdServer) -> None:
    with (
        pytest.raises(RuntimeError, match="NoSuchOption"),
        sshd.start_with(["NoSuchOption yes"]),
    ):
        pass  # pragma: no cover


def test_stopped_sshd_refuses(sshd: SshdServer) -> None:
    with sshd.start_with([]) as other:
        port = other.port
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=5):
        pass  # pragma: no cover


# --------------------------------------------------------------------------------------------
# ssh-agent


def test_ssh_agent_lists_keys(openssh: OpenSSH, ssh_agent: SshAgent) -> None:
    assert ssh_agent.env["SSH_AUTH_SOCK"] == str(ssh_agent.socket_path)
    assert ssh_agent.socket_path.exists()
    res = run_local([openssh.ssh_add, "-l"], env=ssh_agent.env)
    assert res.returncode == 0, res.stderr
    listed = {line.split()[1] for line in res.stdout.splitlines()}
    expected = {fingerprint(openssh, k.pub_path) for k in ssh_agent.keys}
    assert len(expected) == 2
    assert listed == expected


def test_paramiko_authenticates_through_the_agent(
    ssh_agent: SshAgent, sshd: SshdServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSH_AUTH_SOCK", str(ssh_agent.socket_path))
    with paramiko_client(sshd, allow_agent=True) as client:
        assert run_remote(client, "echo agent") == (b"agent\n", b"", 0)


# --------------------------------------------------------------------------------------------
# keygen


@pytest.mark.parametrize("variant", KEY_VARIANTS, ids=variant_id)
def test_keygen_variant(
    openssh: OpenSSH, keygen: KeyFactory, variant: tuple[str, str, bool]
) -> None:
    key = keygen.get(*variant)
    assert (key.key_type, key.fmt, key.encrypted) == variant
    assert key.path.read_text().splitlines()[0] in KEY_FORMATS[key.fmt][1]
    assert key.path.stat().st_mode & 0o077 == 0
    # every variant of a type is the same key
    assert key.public_line == keygen.get(key.key_type).public_line
    assert key.public_line.startswith(key.wire_type + " ")
    derived = run_local([openssh.ssh_keygen, "-y", "-P", key.passphrase or "", "-f", str(key.path)])
    assert derived.returncode == 0, derived.stderr
    assert derived.stdout.split()[:2] == key.public_line.split()
    if key.encrypted:
        wrong = run_local([openssh.ssh_keygen, "-y", "-P", "wrong-pass", "-f", str(key.path)])
        assert wrong.returncode != 0


def test_keygen_make(keygen: KeyFactory) -> None:
    key = keygen.make("ecdsa384", fmt="pkcs8", passphrase="secret-1")
    assert key.wire_type == "ecdsa-sha2-nistp384"
    assert key.path.read_text().startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert keygen.make("ecdsa384").public_line != key.public_line
    with pytest.raises(ValueError, match="OPENSSH PRIVATE KEY"):
        keygen.make("ed25519", fmt="pem")  # ssh-keygen writes OpenSSH format instead
    with pytest.raises(ValueError, match="cannot write"):
        keygen.get("ed25519", "pkcs8")


# --------------------------------------------------------------------------------------------
# password and keyboard-interactive (CI only: needs a throwaway local user)


def test_password_user_logs_in(sshd: SshdServer, sshd_password_user: PasswordUser) -> None:
    name, password = sshd_password_user
    with paramiko_client(sshd, username=name, password=password) as client:
        assert run_remote(client, "id -un") == (f"{name}\n".encode(), b"", 0)
    with (
        pytest.raises(paramiko.AuthenticationException),
        paramiko_client(sshd, username=name, password=password + "x"),
    ):
        pass  # pragma: no cover


def _kbd_interactive(server: SshdServer, user: PasswordUser) -> list[list[str]]:
    """Authenticate ``user`` by keyboard-interactive; return the prompts seen per round."""
    rounds: list[list[str]] = []

    def handler(title: str, instructions: str, prompts: list[tuple[str, bool]]) -> list[str]:
        rounds.append([p for p, _echo in prompts])
        return [user.password for _ in prompts]

    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        transport = paramiko.Transport(sock)
        try:
            transport.start_client(timeout=10)
            transport.auth_interactive(user.name, handler)
            channel = transport.open_session(timeout=10)
            channel.exec_command("id -un")
            assert channel.makefile("rb").read() == f"{user.name}\n".encode()
        finally:
            transport.close()
    return rounds


def test_keyboard_interactive_needs_pam(sshd: SshdServer, sshd_password_user: PasswordUser) -> None:
    # UsePAM no (the session sshd): no keyboard-interactive device, every attempt fails.
    with pytest.raises(paramiko.AuthenticationException):
        _kbd_interactive(sshd, sshd_password_user)
    # UsePAM yes: PAM asks "Password: ", then sends one more round with no prompts.
    with sshd.start_with(["UsePAM yes"]) as pam_sshd:
        rounds = _kbd_interactive(pam_sshd, sshd_password_user)
    assert rounds[0] == ["Password: "]
    assert all(r == [] for r in rounds[1:])

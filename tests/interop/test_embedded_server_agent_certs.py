"""Agent forwarding and user certificates of the embedded server (sshwire.testing).

OpenSSH's ``ssh`` is the client: ``ssh -A`` with a private ssh-agent, and ``ssh -i`` with
keys certified by ``ssh-keygen -s``. Skipped with a loud reason when OpenSSH is missing;
failed instead with ``SSHWIRE_REQUIRE_OPENSSH=1`` (the ``openssh`` fixture).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from _openssh import KeyFile, OpenSSH, generate_key, run, running_agent, sign_certificate
from sshwire.pkey import PKey
from sshwire.ssh_exception import AuthenticationException
from sshwire.testing import SSHServer

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]

HOST = "127.0.0.1"
USER = "tester"


@dataclass
class Served:
    server: SSHServer
    openssh: OpenSSH
    dir: Path
    known_hosts: Path
    user_key: Path  # authorized for USER (not certified)
    ca: KeyFile  # trusted by the server
    rogue_ca: KeyFile  # not trusted

    def ssh(
        self,
        *args: str,
        identity: Path | None = None,
        certificate: Path | None = None,
        agent: bool = False,
        user: str = USER,
    ) -> list[str]:
        argv = [self.openssh.ssh, "-F", "/dev/null", "-p", str(self.server.port)]
        for opt in (
            f"IdentityFile={identity or self.user_key}",
            "IdentitiesOnly=yes",
            "BatchMode=yes",
            "StrictHostKeyChecking=yes",
            f"UserKnownHostsFile={self.known_hosts}",
            "GlobalKnownHostsFile=/dev/null",
            "UpdateHostKeys=no",
            "ConnectTimeout=10",
            "PasswordAuthentication=no",
            "KbdInteractiveAuthentication=no",
        ):
            argv += ["-o", opt]
        if certificate is not None:
            argv += ["-o", f"CertificateFile={certificate}"]
        if agent:
            argv += ["-A"]
        else:
            argv += ["-o", "IdentityAgent=none"]
        return [*argv, f"{user}@{HOST}", *args]

    def new_key(self, name: str) -> KeyFile:
        return generate_key(self.openssh.ssh_keygen, self.dir / name, "ed25519", comment=name)

    def certify(
        self, name: str, principals: Sequence[str], ca: KeyFile | None = None, *extra: str
    ) -> KeyFile:
        """A new key ``name`` with ``name-cert.pub`` signed by ``ca`` (default: trusted)."""
        key = self.new_key(name)
        sign_certificate(
            self.openssh.ssh_keygen,
            (ca or self.ca).path,
            key.pub_path,
            principals,
            identity=name,
            extra_args=extra,
        )
        return key


@pytest.fixture(scope="module")
def served(openssh: OpenSSH, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    directory = tmp_path_factory.mktemp("embedded-agent-certs")
    ca = generate_key(openssh.ssh_keygen, directory / "user_ca", "ed25519", comment="ca")
    rogue = generate_key(openssh.ssh_keygen, directory / "rogue_ca", "ed25519", comment="rogue")
    server = SSHServer(trusted_user_ca_keys=[ca.pub_path])
    user = server.add_user(USER, directory=directory)
    assert user.key_path is not None
    with server:
        known_hosts = server.write_known_hosts(directory / "known_hosts")
        yield Served(server, openssh, directory, known_hosts, user.key_path, ca, rogue)
        assert server.wait_until_idle(20)


def ssh_run(
    argv: Sequence[str], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(argv),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env=env,
        stdin=subprocess.DEVNULL,
    )


# ------------------------------------------------------------------------------ agent forwarding


def test_agent_forwarding_lists_keys(served: Served) -> None:
    key = served.new_key("agent-key")
    with running_agent(served.openssh, served.dir / "agent", [key]) as agent:
        res = ssh_run(served.ssh("ssh-add -l; ssh-add -L", agent=True), env=agent.env)
    assert res.returncode == 0, res.stderr
    fingerprint = PKey.from_path(key.path).fingerprint
    assert fingerprint in res.stdout
    assert key.public_line in res.stdout


def test_agent_socket_is_private_and_removed(served: Served) -> None:
    key = served.new_key("agent-key2")
    script = 'echo "$SSH_AUTH_SOCK"; stat -c %a "$(dirname "$SSH_AUTH_SOCK")"; ssh-add -l'
    with running_agent(served.openssh, served.dir / "agent2", [key]) as agent:
        res = ssh_run(served.ssh(script, agent=True), env=agent.env)
    assert res.returncode == 0, res.stderr
    path, mode, listing = res.stdout.split("\n", 2)
    assert mode == "700"
    assert PKey.from_path(key.path).fingerprint in listing
    assert served.server.wait_until_idle(20)
    assert not os.path.exists(os.path.dirname(path))  # removed with the session


def test_no_agent_without_forwarding(served: Served) -> None:
    res = ssh_run(served.ssh('echo "[$SSH_AUTH_SOCK]"'))
    assert (res.returncode, res.stdout) == (0, "[]\n"), res.stderr


def test_agent_forwarding_disabled(openssh: OpenSSH, tmp_path: Path) -> None:
    server = SSHServer(allow_agent_forwarding=False)
    user = server.add_user(USER, directory=tmp_path)
    assert user.key_path is not None
    key = generate_key(openssh.ssh_keygen, tmp_path / "k", "ed25519")
    with server, running_agent(openssh, tmp_path / "agent", [key]) as agent:
        served = Served(
            server, openssh, tmp_path, server.write_known_hosts(tmp_path / "kh"),
            user.key_path, key, key,
        )  # fmt: skip
        res = ssh_run(served.ssh('echo "[$SSH_AUTH_SOCK]"', agent=True), env=agent.env)
    assert (res.returncode, res.stdout) == (0, "[]\n"), res.stderr


# ------------------------------------------------------------------------------ certificates


def test_certificate_login(served: Served) -> None:
    key = served.certify("cert-ok", [USER])
    res = ssh_run(served.ssh("echo certified", identity=key.path))
    assert (res.returncode, res.stdout) == (0, "certified\n"), res.stderr


def test_certificate_without_principals_allows_anyone(served: Served) -> None:
    key = served.new_key("cert-any")
    # sign_certificate always passes -n: without it the certificate names no principal
    argv = [served.openssh.ssh_keygen, "-q", "-s", str(served.ca.path), "-I", "any"]
    run([*argv, str(key.pub_path)])
    res = ssh_run(served.ssh("echo any", identity=key.path, user="someone-else"))
    assert (res.returncode, res.stdout) == (0, "any\n"), res.stderr


@pytest.mark.parametrize("case", ["other-principal", "expired", "untrusted-ca", "not-yet-valid"])
def test_certificate_refused(served: Served, case: str) -> None:
    if case == "other-principal":
        key = served.certify(f"cert-{case}", ["somebody"])
    elif case == "expired":
        key = served.certify(f"cert-{case}", [USER], None, "-V", "-2h:-1h")
    elif case == "not-yet-valid":
        key = served.certify(f"cert-{case}", [USER], None, "-V", "+1h:+2h")
    else:
        key = served.certify(f"cert-{case}", [USER], served.rogue_ca)
    res = ssh_run(served.ssh("echo in", identity=key.path))
    assert res.returncode == 255, (res.stdout, res.stderr)
    assert "Permission denied" in res.stderr


def test_certificate_with_critical_option_refused(served: Served) -> None:
    key = served.certify("cert-forced", [USER], None, "-O", "force-command=true")
    res = ssh_run(served.ssh("echo in", identity=key.path))
    assert res.returncode == 255, (res.stdout, res.stderr)


def test_certificate_sshwire_client(served: Served) -> None:
    key = served.certify("cert-client", [USER])
    pkey = PKey.from_path(key.path)
    pkey.load_certificate(os.fspath(key.path) + "-cert.pub")
    client = served.server.connect_client(USER, pkey=pkey)
    try:
        _, stdout, _ = client.exec_command("echo via-sshwire")
        assert stdout.read() == b"via-sshwire\n"
        assert stdout.channel.recv_exit_status() == 0
    finally:
        client.close()


def test_certificate_sshwire_client_refused(served: Served) -> None:
    key = served.certify("cert-client-other", ["somebody"])
    pkey = PKey.from_path(key.path)
    pkey.load_certificate(os.fspath(key.path) + "-cert.pub")
    with pytest.raises(AuthenticationException):
        served.server.connect_client(USER, pkey=pkey)


def test_python_m_sshwire_serve_trusted_user_ca_keys(served: Served) -> None:
    """``python -m sshwire serve --trusted-user-ca-keys`` lets certified keys in, others not."""
    key = served.certify("cert-cli", [USER])
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sshwire",
            "serve",
            "--trusted-user-ca-keys",
            str(served.ca.pub_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("sshwire SSH server listening on 127.0.0.1:"), first
        port = first.rsplit(":", 1)[1].strip()
        common = [served.openssh.ssh, "-F", "/dev/null", "-p", port]
        for opt in (
            "IdentitiesOnly=yes",
            "IdentityAgent=none",
            "BatchMode=yes",
            "StrictHostKeyChecking=no",
            "UserKnownHostsFile=/dev/null",
            "LogLevel=ERROR",
        ):
            common += ["-o", opt]
        res = ssh_run([*common, "-i", str(key.path), f"{USER}@{HOST}", "echo certified"])
        assert (res.returncode, res.stdout) == (0, "certified\n"), res.stderr
        res = ssh_run([*common, "-i", str(served.user_key), f"{USER}@{HOST}", "echo in"])
        assert res.returncode == 255 and "Permission denied" in res.stderr, res.stderr
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err

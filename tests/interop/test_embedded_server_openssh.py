"""OpenSSH's own clients (ssh, scp, sftp) against the embedded server (sshwire.testing).

One server for the module, with every host key type and every algorithm sshwire has
(``enable_all_algorithms``). The algorithm matrix makes one ``ssh`` run per algorithm per
category (not the product); ``ssh -v`` says what was negotiated, and the test ids name it.
Skipped with a loud reason when OpenSSH is missing; failed instead with
``SSHWIRE_REQUIRE_OPENSSH=1`` (the ``openssh`` fixture, see tests/_openssh.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from _openssh import KeyFactory, OpenSSH, run, unavailable
from sshwire._proto.algorithms.cipher import CIPHERS
from sshwire._proto.algorithms.hostkey import HOSTKEY_ALGORITHMS
from sshwire._proto.algorithms.mac import MACS
from sshwire._proto.kex.negotiate import KEX_ALGORITHMS
from sshwire.testing import SSHServer, enable_all_algorithms

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]

HOST = "127.0.0.1"
SFTP_SERVERS = ("/usr/lib/openssh/sftp-server", "/usr/libexec/openssh/sftp-server")


def _ssh_query(kind: str) -> list[str]:
    ssh = shutil.which("ssh")
    if ssh is None:
        return []
    res = subprocess.run([ssh, "-Q", kind], capture_output=True, text=True, check=False)
    return res.stdout.split()


def _both(ours: Sequence[str], kind: str) -> list[str]:
    """Algorithms both sides implement, in our order (ours alone when ssh is missing, so
    that the ids stay stable and the tests skip or fail loudly through the fixture)."""
    theirs = set(_ssh_query(kind))
    return [a for a in ours if a in theirs] if theirs else list(ours)


KEX = _both(KEX_ALGORITHMS, "kex")
CIPHER_LIST = _both(list(CIPHERS), "cipher")
MAC_LIST = _both(list(MACS), "mac")
HOSTKEY_LIST = _both([a for a in HOSTKEY_ALGORITHMS if "-cert-" not in a], "HostKeyAlgorithms")


@dataclass
class Served:
    server: SSHServer
    openssh: OpenSSH
    dir: Path
    known_hosts: Path
    user: str
    key: Path
    password: str
    sftp: bool

    def options(self, identity: Path | None = None, batch: bool = True) -> list[str]:
        """``-o`` options for ssh, scp and sftp: this server's host keys, one user key."""
        argv: list[str] = []
        for opt in (
            f"IdentityFile={identity or self.key}",
            "IdentitiesOnly=yes",
            "IdentityAgent=none",
            f"BatchMode={'yes' if batch else 'no'}",
            "StrictHostKeyChecking=yes",
            f"UserKnownHostsFile={self.known_hosts}",
            "GlobalKnownHostsFile=/dev/null",
            "UpdateHostKeys=no",
            "ConnectTimeout=10",
        ):
            argv += ["-o", opt]
        return argv

    def ssh(
        self,
        *args: str,
        options: Sequence[str] = (),
        verbose: bool = False,
        identity: Path | None = None,
        batch: bool = True,
    ) -> list[str]:
        argv = [self.openssh.ssh, "-F", "/dev/null", "-p", str(self.server.port)]
        argv += ["-v"] if verbose else []
        argv += self.options(identity, batch)
        return [*argv, *options, f"{self.user}@{HOST}", *args]

    def copy_options(self) -> list[str]:
        """Options for scp and sftp (whose port flag is -P)."""
        return ["-F", "/dev/null", "-P", str(self.server.port), *self.options()]


@pytest.fixture(scope="module")
def served(openssh: OpenSSH, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    directory = tmp_path_factory.mktemp("embedded-openssh")
    sftp_server = next((p for p in SFTP_SERVERS if os.access(p, os.X_OK)), None)
    server = SSHServer(
        host_key_types=[
            "ed25519",
            "ecdsa-sha2-nistp256",
            "ecdsa-sha2-nistp384",
            "ecdsa-sha2-nistp521",
            "rsa",
        ],
        configure_transport=enable_all_algorithms,
        environment={"SHLVL": "1"},
        subsystems={"sftp": sftp_server} if sftp_server else None,
    )
    user = server.add_user("tester", directory=directory)
    assert user.key_path is not None
    with server:
        known_hosts = server.write_known_hosts(directory / "known_hosts")
        yield Served(
            server,
            openssh,
            directory,
            known_hosts,
            user.username,
            user.key_path,
            user.password,
            sftp_server is not None,
        )


def ssh_run(argv: Sequence[str], input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(list(argv), input=input, capture_output=True, timeout=30, check=False)


# ------------------------------------------------------------------------------------ exec


def test_exec_exit_status(served: Served) -> None:
    res = ssh_run(served.ssh("echo hi; echo err >&2; exit 3"))
    assert (res.returncode, res.stdout, res.stderr) == (3, b"hi\n", b"err\n")


def test_exec_exit_signal(served: Served) -> None:
    res = ssh_run(served.ssh("kill -TERM $$", verbose=True))
    assert res.returncode == 255  # what ssh exits with when the command died of a signal
    assert b"rtype exit-signal" in res.stderr


def test_exec_stdin(served: Served) -> None:
    data = os.urandom(3 * 1024 * 1024)
    res = ssh_run(served.ssh("sha256sum"), input=data)
    assert res.returncode == 0
    assert res.stdout.split()[0].decode() == hashlib.sha256(data).hexdigest()


def test_env(served: Served) -> None:
    res = ssh_run(served.ssh('echo "$SSHWIRE_VAR"', options=["-o", "SetEnv=SSHWIRE_VAR=set"]))
    assert (res.returncode, res.stdout) == (0, b"set\n")


def test_large_output(served: Served) -> None:
    res = ssh_run(served.ssh("head -c 8000000 /dev/zero; head -c 1000000 /dev/zero >&2"))
    assert (res.returncode, len(res.stdout), len(res.stderr)) == (0, 8_000_000, 1_000_000)


# ------------------------------------------------------------------------------------ pty


class Interactive:
    """A running ssh whose stdout is read with deadlines (no sleeps)."""

    def __init__(self, argv: Sequence[str]) -> None:
        self.proc = subprocess.Popen(
            list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self.seen = b""

    def send(self, text: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text)
        self.proc.stdin.flush()

    def expect(self, marker: bytes, timeout: float = 20) -> bytes:
        import select

        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while marker not in self.seen:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise AssertionError(f"{marker!r} not seen; got {self.seen!r}")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise AssertionError(f"EOF before {marker!r}; got {self.seen!r}")
            self.seen += chunk
        before, _, self.seen = self.seen.partition(marker)
        return before + marker

    def finish(self, timeout: float = 20) -> int:
        stdin, self.proc.stdin = self.proc.stdin, None
        if stdin is not None:
            with contextlib.suppress(OSError):
                stdin.close()  # EOF for the remote command
        try:
            self.proc.communicate(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.communicate()
        return self.proc.returncode


def test_pty_shell_driven_line_by_line(served: Served) -> None:
    sh = Interactive(served.ssh(options=["-tt", "-o", "SetEnv=TERM=vt220"]))
    try:
        sh.send(b'echo "A$((40 + 2))"; tty\n')
        got = sh.expect(b"A42")
        sh.expect(b"/dev/")
        sh.send(b'echo "T=$TERM"; stty size; echo "B$((1 + 1))"\n')
        got = sh.expect(b"B2")
        assert b"T=" in got
        sh.send(b"exit 5\n")
    finally:
        status = sh.finish()
    assert status == 5


def test_pty_exec(served: Served) -> None:
    res = ssh_run(served.ssh("tty; exit 2", options=["-tt"]))
    assert res.returncode == 2
    assert res.stdout.startswith(b"/dev/")


# ------------------------------------------------------------------------------------ forwarding


class Echo:
    def __init__(self) -> None:
        self.sock = socket.create_server((HOST, 0))
        self.port = int(self.sock.getsockname()[1])
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                while data := conn.recv(65536):
                    conn.sendall(data)

    def close(self) -> None:
        self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self.thread.join(10)


@pytest.fixture
def echo() -> Iterator[Echo]:
    server = Echo()
    yield server
    server.close()


def _echo_through(port: int) -> None:
    payload = os.urandom(256 * 1024)
    with socket.create_connection((HOST, port), timeout=20) as conn:
        sender = threading.Thread(target=conn.sendall, args=(payload,))
        sender.start()
        got = b""
        while len(got) < len(payload):
            chunk = conn.recv(65536)
            assert chunk, "the forward closed early"
            got += chunk
        sender.join(20)
    assert got == payload


def test_local_forward(served: Served, echo: Echo) -> None:
    from _openssh import free_port

    local = free_port()
    options = ["-o", "ExitOnForwardFailure=yes", "-L", f"{local}:{HOST}:{echo.port}"]
    sh = Interactive(served.ssh("echo ready; exec cat", options=options))
    try:
        sh.expect(b"ready")  # the command runs once the -L listener is up
        _echo_through(local)
        sh.send(b"bye\n")
        sh.expect(b"bye")
    finally:
        assert sh.finish() == 0


def test_remote_forward(served: Served, echo: Echo) -> None:
    options = ["-o", "ExitOnForwardFailure=yes", "-R", f"0:{HOST}:{echo.port}"]
    sh = Interactive(served.ssh("echo ready; exec cat", options=options))
    try:
        assert sh.proc.stderr is not None
        line = sh.proc.stderr.readline().decode()
        match = re.search(r"Allocated port (\d+) for remote forward", line)
        assert match, line
        sh.expect(b"ready")
        _echo_through(int(match.group(1)))
    finally:
        assert sh.finish() == 0


# ------------------------------------------------------------------------------------ algorithms


def _negotiated(stderr: bytes) -> dict[str, str]:
    text = stderr.decode(errors="replace")
    found: dict[str, str] = {}
    if m := re.search(r"kex: algorithm: (\S+)", text):
        found["kex"] = m.group(1)
    if m := re.search(r"kex: host key algorithm: (\S+)", text):
        found["hostkey"] = m.group(1)
    if m := re.search(r"kex: server->client cipher: (\S+) MAC: (\S+)", text):
        found["cipher"], found["mac"] = m.group(1), m.group(2)
    return found


def _check(served: Served, option: str, value: str, what: str, extra: Sequence[str] = ()) -> None:
    res = ssh_run(served.ssh("echo ok", options=["-o", f"{option}={value}", *extra], verbose=True))
    assert res.returncode == 0 and res.stdout == b"ok\n", res.stderr.decode(errors="replace")
    assert _negotiated(res.stderr)[what] == value


@pytest.mark.parametrize("kex", KEX, ids=[f"kex-{k}" for k in KEX])
def test_kex(served: Served, kex: str) -> None:
    _check(served, "KexAlgorithms", kex, "kex")


@pytest.mark.parametrize("cipher", CIPHER_LIST, ids=[f"cipher-{c}" for c in CIPHER_LIST])
def test_cipher(served: Served, cipher: str) -> None:
    _check(served, "Ciphers", cipher, "cipher")


@pytest.mark.parametrize("mac", MAC_LIST, ids=[f"mac-{m}" for m in MAC_LIST])
def test_mac(served: Served, mac: str) -> None:
    _check(served, "MACs", mac, "mac", extra=["-o", "Ciphers=aes128-ctr"])


@pytest.mark.parametrize("alg", HOSTKEY_LIST, ids=[f"hostkey-{a}" for a in HOSTKEY_LIST])
def test_host_key(served: Served, alg: str) -> None:
    _check(served, "HostKeyAlgorithms", alg, "hostkey")


@pytest.mark.parametrize(
    ("key_type", "algorithm"),
    [
        ("ed25519", "ssh-ed25519"),
        ("ecdsa256", "ecdsa-sha2-nistp256"),
        ("ecdsa384", "ecdsa-sha2-nistp384"),
        ("ecdsa521", "ecdsa-sha2-nistp521"),
        ("rsa", "rsa-sha2-512"),
        ("rsa", "rsa-sha2-256"),
    ],
    ids=lambda v: f"pubkey-{v}" if "-" in v else v,
)
def test_user_key_types(served: Served, keygen: KeyFactory, key_type: str, algorithm: str) -> None:
    key = keygen.get(key_type)
    served.server.add_authorized_key(key.pub_path, served.user)
    options = ["-o", f"PubkeyAcceptedAlgorithms={algorithm}"]
    res = ssh_run(served.ssh("echo ok", options=options, identity=key.path, verbose=True))
    assert res.returncode == 0 and res.stdout == b"ok\n", res.stderr.decode(errors="replace")
    # PubkeyAcceptedAlgorithms left ssh no other choice: accepted means signed with it
    assert f"Server accepts key: {key.path} ".encode() in res.stderr


# ------------------------------------------------------------------------------------ passwords


def _askpass(served: Served, answer: str) -> dict[str, str]:
    script = served.dir / "askpass.sh"
    script.write_text(f"#!/bin/sh\necho '{answer}'\n")
    script.chmod(0o700)
    return {**os.environ, "SSH_ASKPASS": str(script), "SSH_ASKPASS_REQUIRE": "force"}


@pytest.mark.parametrize("method", ["password", "keyboard-interactive"])
def test_password_methods(served: Served, method: str) -> None:
    options = ["-o", f"PreferredAuthentications={method}"]
    argv = served.ssh("echo in", options=options, batch=False)
    res = subprocess.run(
        argv,
        env=_askpass(served, served.password),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=30,
        check=False,
        start_new_session=True,  # no controlling tty: ssh must use SSH_ASKPASS
    )
    assert (res.returncode, res.stdout) == (0, b"in\n"), res.stderr.decode(errors="replace")


# ------------------------------------------------------------------------------------ scp, sftp


def _scp(openssh: OpenSSH) -> str:
    scp = shutil.which("scp", path=os.path.dirname(openssh.ssh)) or shutil.which("scp")
    if scp is None:
        unavailable("scp not found next to ssh")
    assert scp is not None
    return scp


def test_scp_legacy_protocol_both_ways(served: Served, tmp_path: Path) -> None:
    scp = _scp(served.openssh)
    source = tmp_path / "up.bin"
    data = os.urandom(2 * 1024 * 1024 + 7)
    source.write_bytes(data)
    remote = tmp_path / "remote.bin"
    back = tmp_path / "down.bin"
    common = [scp, "-O", "-q", *served.copy_options()]
    run([*common, str(source), f"{served.user}@{HOST}:{remote}"])
    assert hashlib.sha256(remote.read_bytes()).digest() == hashlib.sha256(data).digest()
    run([*common, f"{served.user}@{HOST}:{remote}", str(back)])
    assert hashlib.sha256(back.read_bytes()).digest() == hashlib.sha256(data).digest()


def test_sftp_through_a_command_subsystem(served: Served, tmp_path: Path) -> None:
    if not served.sftp:
        pytest.skip(f"no OpenSSH sftp-server at {' or '.join(SFTP_SERVERS)}")
    sftp = shutil.which("sftp", path=os.path.dirname(served.openssh.ssh)) or shutil.which("sftp")
    if sftp is None:
        unavailable("sftp not found next to ssh")
    assert sftp is not None
    source = tmp_path / "put.bin"
    data = os.urandom(300_000)
    source.write_bytes(data)
    batch = tmp_path / "batch"
    batch.write_text(f"put {source} {tmp_path}/remote\nget {tmp_path}/remote {tmp_path}/got\n")
    run([sftp, "-q", *served.copy_options(), "-b", str(batch), f"{served.user}@{HOST}"])
    assert (tmp_path / "got").read_bytes() == data

"""Real OpenSSH peers for the interop tests: sshd, ssh, ssh-keygen, ssh-agent, ssh-add.

Plain helpers, no fixtures: ``tests/conftest.py`` wraps them into session fixtures
(``openssh``, ``sshd``, ``ssh_agent``, ``keygen``, ``sshd_password_user``). Tests may also use
the helpers directly (``from _openssh import ...``; ``tests/`` is on ``sys.path`` through
``pythonpath`` in pyproject.toml).

Everything lives in a private temp dir and listens on 127.0.0.1 only. Processes are started
with ``subprocess.Popen`` and stopped by their own pid (never by name). On Linux they also get
``PR_SET_PDEATHSIG`` so that a pytest killed by a hard timeout does not leave them behind.

When OpenSSH is missing, :func:`require_openssh` skips the test with a loud reason, or fails it
when ``SSHWIRE_REQUIRE_OPENSSH=1`` (set in CI).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import getpass
import itertools
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REQUIRE_ENV = "SSHWIRE_REQUIRE_OPENSSH"
HOST = "127.0.0.1"
START_DEADLINE = 10.0  # seconds for sshd / ssh-agent to become ready
_SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/sbin")


# --------------------------------------------------------------------------------------------
# Locating OpenSSH


@dataclass(frozen=True)
class OpenSSH:
    """Absolute paths of the OpenSSH programs, and ``ssh -V``'s version line."""

    sshd: str
    ssh: str
    ssh_keygen: str
    ssh_agent: str
    ssh_add: str
    version: str


def openssh_required() -> bool:
    """True when a missing or broken OpenSSH must fail the run (CI) instead of skipping."""
    return os.environ.get(REQUIRE_ENV, "") == "1"


def locate_openssh(search_path: str | None = None) -> OpenSSH | str:
    """Find the OpenSSH programs on ``search_path`` (default: ``$PATH`` plus the sbin dirs).

    Returns an :class:`OpenSSH`, or a human-readable reason string when something is missing.
    """
    if search_path is None:
        search_path = os.pathsep.join([os.environ.get("PATH", os.defpath), *_SBIN_DIRS])
    names = {
        "sshd": "sshd",
        "ssh": "ssh",
        "ssh_keygen": "ssh-keygen",
        "ssh_agent": "ssh-agent",
        "ssh_add": "ssh-add",
    }
    found: dict[str, str] = {}
    missing: list[str] = []
    for attr, prog in names.items():
        path = shutil.which(prog, path=search_path)
        if path is None:
            missing.append(prog)
        else:
            found[attr] = path
    if missing:
        return (
            f"OpenSSH program(s) not found: {', '.join(missing)} "
            f"(searched {search_path}); on Debian: apt-get install openssh-server openssh-client"
        )
    try:
        out = subprocess.run(
            [found["ssh"], "-V"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"cannot run {found['ssh']} -V: {exc}"
    version = (out.stderr or out.stdout).strip()
    if not version.startswith("OpenSSH"):
        return f"{found['ssh']} -V did not report OpenSSH: {version!r}"
    return OpenSSH(version=version, **found)


@functools.cache
def find_openssh() -> OpenSSH | str:
    """Cached :func:`locate_openssh` on the default search path."""
    return locate_openssh()


def unavailable(reason: str) -> None:
    """Skip the current test loudly, or fail it when ``SSHWIRE_REQUIRE_OPENSSH=1``."""
    if openssh_required():
        pytest.fail(f"{reason} [{REQUIRE_ENV}=1 is set, so this is a failure]", pytrace=False)
    pytest.skip(f"INTEROP SKIPPED: {reason} [set {REQUIRE_ENV}=1 to turn this into a failure]")


def require_openssh() -> OpenSSH:
    """The OpenSSH programs, or skip/fail the current test (see :func:`unavailable`)."""
    found = find_openssh()
    if isinstance(found, str):
        unavailable(found)
        raise AssertionError("unreachable")  # pragma: no cover
    return found


# --------------------------------------------------------------------------------------------
# Processes


def _pdeathsig() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child get SIGTERM when pytest dies (Linux only)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def preexec() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)

    return preexec


def _popen(
    argv: Sequence[str], log_path: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            env=env,
            preexec_fn=_pdeathsig(),
            close_fds=True,
        )


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM the process by its pid and wait; SIGKILL if it does not exit in time."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)


def run(
    argv: Sequence[str], *, input: str | None = None, timeout: float = 30.0, **kw: object
) -> str:
    """Run a helper program, raise with its output when it fails, return its stdout."""
    res = subprocess.run(
        list(argv),
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **kw,  # type: ignore[arg-type]
    )
    if res.returncode != 0:
        raise RuntimeError(
            f"{' '.join(map(str, argv))} exited {res.returncode}\n"
            f"stdout: {res.stdout}\nstderr: {res.stderr}"
        )
    return res.stdout


def free_port() -> int:
    """A loopback port that was free a moment ago (callers retry on the rare collision)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------------------------------
# Keys


# (ssh-keygen -t, -b, wire key type) for the short type names used throughout the fixtures.
KEY_TYPES: dict[str, tuple[str, int | None, str]] = {
    "ed25519": ("ed25519", None, "ssh-ed25519"),
    "ecdsa256": ("ecdsa", 256, "ecdsa-sha2-nistp256"),
    "ecdsa384": ("ecdsa", 384, "ecdsa-sha2-nistp384"),
    "ecdsa521": ("ecdsa", 521, "ecdsa-sha2-nistp521"),
    "rsa": ("rsa", 3072, "ssh-rsa"),
}
# ssh-keygen -m value and the PEM header it must produce, per private key format.
KEY_FORMATS: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "openssh": (None, ("-----BEGIN OPENSSH PRIVATE KEY-----",)),
    "pem": (
        "PEM",
        ("-----BEGIN RSA PRIVATE KEY-----", "-----BEGIN EC PRIVATE KEY-----"),
    ),
    "pkcs8": (
        "PKCS8",
        ("-----BEGIN PRIVATE KEY-----", "-----BEGIN ENCRYPTED PRIVATE KEY-----"),
    ),
}
# Every (type, format, encrypted) combination ssh-keygen writes faithfully. Ed25519 only comes in
# the OpenSSH format: ssh-keygen (9.x) silently writes OpenSSH format for ``-m PEM``/``-m PKCS8``.
KEY_VARIANTS: list[tuple[str, str, bool]] = [
    (t, f, enc)
    for t in KEY_TYPES
    for f in KEY_FORMATS
    for enc in (False, True)
    if not (t == "ed25519" and f != "openssh")
]


def variant_id(variant: tuple[str, str, bool]) -> str:
    """pytest id for a KEY_VARIANTS entry, e.g. ``rsa-pem-encrypted``."""
    t, f, enc = variant
    return f"{t}-{f}-{'encrypted' if enc else 'plain'}"


@dataclass(frozen=True)
class KeyFile:
    """A private key written by ssh-keygen, and its ``.pub``."""

    key_type: str  # short name: a KEY_TYPES key
    fmt: str  # "openssh" | "pem" | "pkcs8"
    passphrase: str | None  # None: not encrypted
    path: Path
    pub_path: Path
    public_line: str  # "<wire type> <base64>" (no comment)

    @property
    def wire_type(self) -> str:
        return KEY_TYPES[self.key_type][2]

    @property
    def public_base64(self) -> str:
        return self.public_line.split()[1]

    @property
    def encrypted(self) -> bool:
        return self.passphrase is not None


def _public_line(pub_path: Path) -> str:
    fields = pub_path.read_text().split()
    return f"{fields[0]} {fields[1]}"


def generate_key(
    ssh_keygen: str,
    path: Path,
    key_type: str,
    *,
    fmt: str = "openssh",
    passphrase: str | None = None,
    comment: str = "sshwire-test",
) -> KeyFile:
    """Generate a new key with ssh-keygen in the requested private key format."""
    kt, bits, _ = KEY_TYPES[key_type]
    argv = [ssh_keygen, "-q", "-t", kt, "-N", passphrase or "", "-C", comment, "-f", str(path)]
    if bits is not None:
        argv += ["-b", str(bits)]
    m = KEY_FORMATS[fmt][0]
    if m is not None:
        argv += ["-m", m]
    run(argv)
    return _check_key(path, key_type, fmt, passphrase)


def convert_key(
    ssh_keygen: str,
    src: KeyFile,
    path: Path,
    *,
    fmt: str,
    passphrase: str | None,
) -> KeyFile:
    """Copy ``src`` to ``path`` rewritten (``ssh-keygen -p``) in another format/passphrase."""
    shutil.copyfile(src.path, path)
    os.chmod(path, 0o600)
    shutil.copyfile(src.pub_path, path.with_name(path.name + ".pub"))
    argv = [ssh_keygen, "-q", "-p", "-f", str(path), "-P", src.passphrase or ""]
    argv += ["-N", passphrase or ""]
    m = KEY_FORMATS[fmt][0]
    if m is not None:
        argv += ["-m", m]
    run(argv)
    return _check_key(path, src.key_type, fmt, passphrase)


def _check_key(path: Path, key_type: str, fmt: str, passphrase: str | None) -> KeyFile:
    header = path.read_text().splitlines()[0]
    if header not in KEY_FORMATS[fmt][1]:
        raise ValueError(f"ssh-keygen wrote {header!r} for {key_type} in format {fmt!r}")
    pub = path.with_name(path.name + ".pub")
    return KeyFile(key_type, fmt, passphrase, path, pub, _public_line(pub))


def sign_certificate(
    ssh_keygen: str,
    ca_key: Path,
    pub_path: Path,
    principals: Sequence[str],
    *,
    host: bool = False,
    identity: str = "sshwire-test",
    extra_args: Sequence[str] = (),
) -> Path:
    """``ssh-keygen -s CA``: certify ``pub_path``; returns the ``<key>-cert.pub`` path.

    ``extra_args`` go to ssh-keygen as they are, e.g. ``["-V", "-1h:-5m"]`` (expired) or
    ``["-O", "force-command=true"]``.
    """
    argv = [ssh_keygen, "-q", "-s", str(ca_key), "-I", identity, "-n", ",".join(principals)]
    argv += ["-h"] if host else []
    run([*argv, *extra_args, str(pub_path)])
    return pub_path.with_name(pub_path.name.removesuffix(".pub") + "-cert.pub")


# --------------------------------------------------------------------------------------------
# Server material: host keys, CAs, certificates, user keys (generated once per session)

USER_KEY_TYPES = {"ed25519": "ed25519", "ecdsa": "ecdsa256", "rsa": "rsa"}
HOST_KEY_TYPES = ("ed25519", "ecdsa256", "ecdsa384", "ecdsa521", "rsa")


@dataclass
class SshdMaterial:
    """Keys and certificates shared by every sshd started in one test session."""

    dir: Path
    user: str
    host_keys: dict[str, KeyFile]  # by wire type: ssh-ed25519, ecdsa-sha2-nistp256, ..., ssh-rsa
    host_cert_path: Path  # certificate for the ed25519 host key, signed by host_ca
    host_ca: KeyFile
    user_ca: KeyFile
    client_keys: dict[str, KeyFile]  # "ed25519" | "ecdsa" | "rsa", all in authorized_keys
    client_cert_key: KeyFile  # NOT in authorized_keys: accepted only through its certificate
    client_cert_path: Path  # <client_cert_key>-cert.pub, principal = user, signed by user_ca
    authorized_keys_path: Path
    trusted_user_ca_keys_path: Path

    @classmethod
    def create(cls, openssh: OpenSSH, directory: Path, user: str | None = None) -> SshdMaterial:
        user = user or getpass.getuser()
        directory.mkdir(parents=True, exist_ok=True)
        kg = openssh.ssh_keygen
        host_keys = {}
        for t in HOST_KEY_TYPES:
            key = generate_key(kg, directory / f"ssh_host_{t}_key", t, comment="sshwire-host")
            host_keys[key.wire_type] = key
        host_ca = generate_key(kg, directory / "host_ca", "ed25519", comment="sshwire-host-ca")
        user_ca = generate_key(kg, directory / "user_ca", "ed25519", comment="sshwire-user-ca")
        host_cert = sign_certificate(
            kg, host_ca.path, host_keys["ssh-ed25519"].pub_path, [HOST, "localhost"], host=True
        )
        client_keys = {
            name: generate_key(kg, directory / f"id_{name}", t, comment=f"sshwire-user-{name}")
            for name, t in USER_KEY_TYPES.items()
        }
        cert_key = generate_key(kg, directory / "id_cert", "ed25519", comment="sshwire-user-cert")
        client_cert = sign_certificate(kg, user_ca.path, cert_key.pub_path, [user])
        authorized = directory / "authorized_keys"
        authorized.write_text("".join(k.pub_path.read_text() for k in client_keys.values()))
        trusted = directory / "trusted_user_ca_keys"
        trusted.write_text(user_ca.pub_path.read_text())
        return cls(
            dir=directory,
            user=user,
            host_keys=host_keys,
            host_cert_path=host_cert,
            host_ca=host_ca,
            user_ca=user_ca,
            client_keys=client_keys,
            client_cert_key=cert_key,
            client_cert_path=client_cert,
            authorized_keys_path=authorized,
            trusted_user_ca_keys_path=trusted,
        )


# --------------------------------------------------------------------------------------------
# sshd configuration


class SshdStartError(RuntimeError):
    """sshd rejected its configuration or did not come up; the message holds its log."""


# keyword -> `ssh -Q` query giving every name this OpenSSH knows.
ALGORITHM_QUERIES = {
    "KexAlgorithms": "kex",
    "Ciphers": "cipher",
    "MACs": "mac",
    "HostKeyAlgorithms": "key-sig",
    "PubkeyAcceptedAlgorithms": "key-sig",
    "CASignatureAlgorithms": "sig",
}
# Settings that only some OpenSSH versions know; each is kept only if `sshd -t` accepts it.
OPTIONAL_LINES = (
    "PerSourcePenalties no",  # 9.8+: would throttle us after deliberate auth failures
)


def _keyword(line: str) -> str:
    return line.split(None, 1)[0].lower() if line.strip() else ""


def _line_key(line: str) -> tuple[str, ...]:
    """Identity of a config line for overriding: keyword, plus the name for Subsystem."""
    parts = line.split()
    kw = parts[0].lower()
    if kw == "subsystem" and len(parts) > 1:
        return (kw, parts[1])
    return (kw,)


def merge_config(base: Sequence[str], extra: Sequence[str]) -> list[str]:
    """Extra lines override base lines with the same keyword (Subsystem: same name).

    Everything from the first ``Match`` line of ``extra`` on goes to the end. Multi-valued
    keywords (HostKey, AcceptEnv, SetEnv, ...) given in ``extra`` replace the base list.
    """
    head: list[str] = []
    tail: list[str] = []
    for line in extra:
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if tail or _keyword(s) == "match":
            tail.append(s)
        else:
            head.append(s)
    overridden = {_line_key(s) for s in head}
    kept = [s for s in base if _line_key(s) not in overridden]
    return [*head, *kept, *tail]


def _sshd_test(openssh: OpenSSH, config: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """``sshd -t -f config [-o option]...``: validate a configuration."""
    argv = [openssh.sshd, "-t", "-f", str(config)]
    for opt in options:
        argv += ["-o", opt]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)


def _sshd_accepts(openssh: OpenSSH, config: Path, option: str) -> bool:
    return _sshd_test(openssh, config, option).returncode == 0


def supported_settings(openssh: OpenSSH, probe_config: Path) -> list[str]:
    """Algorithm lines listing every name this sshd accepts, plus accepted OPTIONAL_LINES.

    ``probe_config`` must be a valid config without these keywords (``sshd -t`` needs host
    keys). A whole list is tried first; only if sshd rejects it is each name tried alone.
    """
    res = _sshd_test(openssh, probe_config)
    if res.returncode != 0:
        raise SshdStartError(f"sshd rejected the probe config {probe_config}:\n{res.stderr}")
    lines: list[str] = []
    for keyword, query in ALGORITHM_QUERIES.items():
        names = run([openssh.ssh, "-Q", query]).split()
        if not _sshd_accepts(openssh, probe_config, f"{keyword}={','.join(names)}"):
            names = [n for n in names if _sshd_accepts(openssh, probe_config, f"{keyword}={n}")]
        if names:
            lines.append(f"{keyword} {','.join(names)}")
    lines += [ln for ln in OPTIONAL_LINES if _sshd_accepts(openssh, probe_config, ln)]
    return lines


def base_config(material: SshdMaterial, instance_dir: Path) -> list[str]:
    """The fixture's sshd settings, without ListenAddress and the algorithm lists."""
    lines = [f"HostKey {k.path}" for k in material.host_keys.values()]
    lines += [
        f"HostCertificate {material.host_cert_path}",
        f"AuthorizedKeysFile {material.authorized_keys_path}",
        f"TrustedUserCAKeys {material.trusted_user_ca_keys_path}",
        f"PidFile {instance_dir / 'sshd.pid'}",
        "UsePAM no",
        "StrictModes no",
        "PermitRootLogin yes",
        "PubkeyAuthentication yes",
        "PasswordAuthentication yes",
        "KbdInteractiveAuthentication yes",
        "PermitEmptyPasswords no",
        "MaxSessions 100",
        "MaxStartups 100:30:200",
        "MaxAuthTries 20",
        "SetEnv SHLVL=1",
        "AcceptEnv LANG LC_* SSHWIRE_*",
        "AllowTcpForwarding yes",
        "AllowStreamLocalForwarding yes",
        "AllowAgentForwarding yes",
        "GatewayPorts no",
        "X11Forwarding no",
        "PermitUserRC no",
        "PrintMotd no",
        "PrintLastLog no",
        "UseDNS no",
        "Subsystem sftp internal-sftp",
        "LogLevel DEBUG1",
    ]
    return lines


# --------------------------------------------------------------------------------------------
# sshd


@dataclass
class SshdServer:
    """A running private sshd on 127.0.0.1 (see ``tests/conftest.py::sshd``)."""

    openssh: OpenSSH
    material: SshdMaterial
    tmpdir: Path  # this instance's dir: config, log, pid file, known_hosts
    port: int
    config_path: Path
    log_path: Path
    pid_path: Path
    known_hosts_path: Path
    known_hosts_ca_path: Path
    config_lines: list[str]
    supported: list[str]  # algorithm/optional lines, reused by start_with()
    proc: subprocess.Popen[bytes] | None = None
    host: str = HOST
    _children: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def __repr__(self) -> str:  # short: pytest prints fixture values in failure reports
        return f"<SshdServer {self.host}:{self.port} pid={self.pid} log={self.log_path}>"

    # ---- material, flattened for convenience
    @property
    def user(self) -> str:
        return self.material.user

    @property
    def client_keys(self) -> dict[str, Path]:
        """Private user key paths by "ed25519" | "ecdsa" | "rsa" (authorized for ``user``)."""
        return {n: k.path for n, k in self.material.client_keys.items()}

    client_key = client_keys  # the name used in the original brief

    @property
    def client_cert_key(self) -> Path:
        """An ed25519 user key accepted only through its certificate (not in authorized_keys)."""
        return self.material.client_cert_key.path

    @property
    def client_cert(self) -> Path:
        """``<client_cert_key>-cert.pub``: principal ``user``, signed by the user CA."""
        return self.material.client_cert_path

    @property
    def host_key_paths(self) -> dict[str, Path]:
        """Private host key paths by wire type (ssh-ed25519, ecdsa-sha2-nistp*, ssh-rsa)."""
        return {t: k.path for t, k in self.material.host_keys.items()}

    @property
    def host_public_keys(self) -> dict[str, str]:
        """``"<wire type> <base64>"`` per host key, by wire type."""
        return {t: k.public_line for t, k in self.material.host_keys.items()}

    @property
    def host_cert_path(self) -> Path:
        return self.material.host_cert_path

    @property
    def host_ca_public(self) -> str:
        """The host CA's public key line (``ssh-ed25519 <base64>``)."""
        return self.material.host_ca.public_line

    @property
    def user_ca_public(self) -> str:
        return self.material.user_ca.public_line

    @property
    def user_ca_key(self) -> Path:
        """User CA private key: sign more user certificates with ``ssh-keygen -s``."""
        return self.material.user_ca.path

    @property
    def host_ca_key(self) -> Path:
        return self.material.host_ca.path

    @property
    def known_hosts_name(self) -> str:
        """The host name as it appears in known_hosts: ``[127.0.0.1]:PORT``."""
        return f"[{self.host}]:{self.port}"

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    # ---- lifecycle
    @classmethod
    def start(
        cls,
        openssh: OpenSSH,
        material: SshdMaterial,
        instance_dir: Path,
        extra_config_lines: Sequence[str] = (),
        supported: list[str] | None = None,
    ) -> SshdServer:
        """Write the config and start sshd; retry on a port collision; raise on failure."""
        _ensure_privsep_dir()
        instance_dir.mkdir(parents=True, exist_ok=True)
        config_path = instance_dir / "sshd_config"
        base = base_config(material, instance_dir)
        if supported is None:
            config_path.write_text("\n".join(base) + "\n")
            supported = supported_settings(openssh, config_path)
        lines = merge_config([*base, *supported], extra_config_lines)
        server = cls(
            openssh=openssh,
            material=material,
            tmpdir=instance_dir,
            port=0,
            config_path=config_path,
            log_path=instance_dir / "sshd.log",
            pid_path=instance_dir / "sshd.pid",
            known_hosts_path=instance_dir / "known_hosts",
            known_hosts_ca_path=instance_dir / "known_hosts_ca",
            config_lines=lines,
            supported=supported,
        )
        server._launch()
        return server

    def _write_files(self) -> None:
        listen = f"ListenAddress {self.host}:{self.port}"
        self.config_path.write_text("\n".join([listen, *self.config_lines]) + "\n")
        self.known_hosts_path.write_text(
            "".join(f"{self.known_hosts_name} {line}\n" for line in self.host_public_keys.values())
        )
        self.known_hosts_ca_path.write_text(
            f"@cert-authority {self.known_hosts_name} {self.host_ca_public}\n"
        )

    def _launch(self) -> None:
        self.port = free_port()
        self._write_files()
        res = _sshd_test(self.openssh, self.config_path)
        if res.returncode != 0:
            raise SshdStartError(
                f"sshd rejected {self.config_path}:\n{res.stderr}\n--- config ---\n"
                + self.config_path.read_text()
            )
        for _attempt in range(5):
            if _attempt:
                self.port = free_port()
                self._write_files()
            log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
            # -E (not -e): with -e, sshd's debug lines leak into the sessions' stderr.
            argv = [self.openssh.sshd, "-f", str(self.config_path), "-D", "-E", str(self.log_path)]
            self.proc = _popen(argv, self.log_path)
            outcome = self._wait_ready(time.monotonic() + START_DEADLINE)
            if outcome == "ready":
                return
            stop_process(self.proc)
            log = self.log_text()[log_start:]
            if outcome == "exited" and re.search(r"Bind to port|Cannot bind any address", log):
                continue  # somebody took the port between free_port() and sshd's bind
            raise SshdStartError(
                f"sshd on {self.host}:{self.port} did not become ready ({outcome}); "
                f"log {self.log_path}:\n{log}"
            )
        raise SshdStartError(f"sshd could not bind a free port; log:\n{self.log_text()}")

    def _wait_ready(self, deadline: float) -> str:
        """Poll until the port accepts and sends an SSH-2.0 banner, or sshd exits."""
        assert self.proc is not None
        last = "timeout"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return "exited"
            try:
                with socket.create_connection((self.host, self.port), timeout=2) as s:
                    s.settimeout(max(0.1, deadline - time.monotonic()))
                    data = b""
                    while b"\n" not in data and len(data) < 1024:
                        chunk = s.recv(256)
                        if not chunk:
                            break
                        data += chunk
                if data.startswith(b"SSH-2.0-"):
                    return "ready"
                last = f"unexpected banner {data!r}"
            except OSError as exc:
                last = f"timeout (last error: {exc})"
            time.sleep(0.02)  # bounded poll for the listener, not test synchronisation
        return last

    def stop(self) -> None:
        """Stop this sshd by its own pid and wait for it to exit."""
        if self.proc is not None:
            stop_process(self.proc)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    @contextlib.contextmanager
    def start_with(self, extra_config_lines: Sequence[str] | str) -> Iterator[SshdServer]:
        """A second, throwaway sshd with the same keys plus ``extra_config_lines``.

        Extra lines override the fixture's lines with the same keyword (see
        :func:`merge_config`); ``Match`` blocks go last. It gets its own port, dir, log,
        known_hosts files; it is stopped when the ``with`` block ends.
        """
        if isinstance(extra_config_lines, str):
            extra_config_lines = extra_config_lines.splitlines()
        n = next(self._children)
        instance_dir = self.tmpdir.parent / f"{self.tmpdir.name}-extra{n}"
        other = SshdServer.start(
            self.openssh, self.material, instance_dir, extra_config_lines, self.supported
        )
        try:
            yield other
        finally:
            other.stop()

    # ---- the OpenSSH client
    def identity_path(self, identity: str | os.PathLike[str] = "ed25519") -> Path:
        """Path of a user key: ed25519, ecdsa, rsa, cert (the certificate's key) or a path."""
        if isinstance(identity, str) and identity in self.material.client_keys:
            return self.client_keys[identity]
        if identity == "cert":
            return self.client_cert_key
        return Path(identity)

    def ssh_args(
        self,
        identity: str | os.PathLike[str] = "ed25519",
        *,
        known_hosts: str | os.PathLike[str] | None = None,
    ) -> list[str]:
        """Options for ``ssh`` (and ``scp``/``sftp``: only -F, -i and -o are used).

        Connect with ``[openssh.ssh, *sshd.ssh_args(), sshd.host, "command"]`` (or use
        :meth:`ssh_command`). The port and user are passed as ``-o Port=``/``-o User=``
        so the same list works for scp/sftp, whose port flag is ``-P``.
        """
        kh = self.known_hosts_path if known_hosts is None else known_hosts
        opts = {
            "Port": str(self.port),
            "User": self.user,
            "IdentitiesOnly": "yes",
            "IdentityAgent": "none",
            "BatchMode": "yes",
            "StrictHostKeyChecking": "yes",
            "UserKnownHostsFile": str(kh),
            "GlobalKnownHostsFile": "/dev/null",
            "UpdateHostKeys": "no",
            "ConnectTimeout": "10",
        }
        args = ["-F", "/dev/null", "-i", str(self.identity_path(identity))]
        for k, v in opts.items():
            args += ["-o", f"{k}={v}"]
        return args

    def ssh_command(
        self, *remote: str, identity: str = "ed25519", options: Sequence[str] = ()
    ) -> list[str]:
        """Full ``ssh`` argv: ``[ssh, *ssh_args(identity), *options, host, *remote]``."""
        return [self.openssh.ssh, *self.ssh_args(identity), *options, self.host, *remote]


def _ensure_privsep_dir() -> None:
    """sshd running as root refuses to start without its privilege separation dir."""
    try:
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    except OSError:
        pass  # not root: sshd does not chroot then


# --------------------------------------------------------------------------------------------
# ssh-agent


@dataclass
class SshAgent:
    """A private ``ssh-agent -D -a SOCKET``."""

    socket_path: Path
    proc: subprocess.Popen[bytes]
    log_path: Path
    keys: list[KeyFile]

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def env(self) -> dict[str, str]:
        """``os.environ`` plus SSH_AUTH_SOCK for this agent (pass to subprocess.run)."""
        return {**os.environ, "SSH_AUTH_SOCK": str(self.socket_path)}

    def stop(self) -> None:
        stop_process(self.proc)


@contextlib.contextmanager
def running_agent(
    openssh: OpenSSH, directory: Path, keys: Sequence[KeyFile] = ()
) -> Iterator[SshAgent]:
    """Start ``ssh-agent -D -a DIR/agent.sock``, add ``keys`` with ssh-add, stop it after."""
    directory.mkdir(parents=True, exist_ok=True)
    sock = directory / "agent.sock"
    if len(str(sock)) > 100:  # sun_path limit
        import tempfile

        sock = Path(tempfile.mkdtemp(prefix="sshwire-agent-")) / "agent.sock"
    log = directory / "ssh-agent.log"
    proc = _popen([openssh.ssh_agent, "-D", "-a", str(sock)], log)
    agent = SshAgent(sock, proc, log, list(keys))
    try:
        deadline = time.monotonic() + START_DEADLINE
        while not sock.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"ssh-agent did not create {sock}; log:\n{log.read_text()}")
            time.sleep(0.01)  # bounded poll for the socket file
        for key in keys:
            run([openssh.ssh_add, "-q", str(key.path)], env=agent.env)
        yield agent
    finally:
        agent.stop()


# --------------------------------------------------------------------------------------------
# keys at test time


class KeyFactory:
    """User keys made by ssh-keygen in every private key format (the ``keygen`` fixture).

    ``get(key_type, fmt, encrypted)`` returns one of the :data:`KEY_VARIANTS`; all variants of a
    type hold the SAME key (converted with ``ssh-keygen -p``), so loading any of them must give
    ``public_line``. ``make(...)`` generates a fresh key each call.
    """

    def __init__(self, openssh: OpenSSH, directory: Path) -> None:
        self.openssh = openssh
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self._variants: dict[tuple[str, str, bool], KeyFile] = {}
        self._count = itertools.count(1)

    @staticmethod
    def passphrase_for(key_type: str, fmt: str) -> str:
        return f"sshwire-{key_type}-{fmt}-passphrase"

    def get(self, key_type: str, fmt: str = "openssh", encrypted: bool = False) -> KeyFile:
        variant = (key_type, fmt, encrypted)
        if variant not in KEY_VARIANTS:
            raise ValueError(f"ssh-keygen cannot write {variant_id(variant)}")
        if variant not in self._variants:
            base = (key_type, "openssh", False)
            if base not in self._variants:
                self._variants[base] = generate_key(
                    self.openssh.ssh_keygen,
                    self.dir / f"{key_type}-openssh-plain",
                    key_type,
                    comment=f"sshwire-keygen-{key_type}",
                )
            if variant != base:
                self._variants[variant] = convert_key(
                    self.openssh.ssh_keygen,
                    self._variants[base],
                    self.dir / variant_id(variant),
                    fmt=fmt,
                    passphrase=self.passphrase_for(key_type, fmt) if encrypted else None,
                )
        return self._variants[variant]

    def all(self) -> list[KeyFile]:
        """Every variant (generated on first use)."""
        return [self.get(*v) for v in KEY_VARIANTS]

    def make(
        self,
        key_type: str = "ed25519",
        *,
        fmt: str = "openssh",
        passphrase: str | None = None,
        comment: str = "sshwire-keygen",
    ) -> KeyFile:
        """A brand-new key (ssh-keygen requires passphrases of at least 5 characters)."""
        path = self.dir / f"new{next(self._count)}-{key_type}-{fmt}"
        return generate_key(
            self.openssh.ssh_keygen, path, key_type, fmt=fmt, passphrase=passphrase, comment=comment
        )


# --------------------------------------------------------------------------------------------
# a throwaway local user with a password (CI only: root + SSHWIRE_REQUIRE_OPENSSH=1)


@dataclass(frozen=True)
class PasswordUser:
    name: str
    password: str

    def __iter__(self) -> Iterator[str]:  # so that ``name, password = user`` works
        return iter((self.name, self.password))


@contextlib.contextmanager
def password_user() -> Iterator[PasswordUser]:
    """Create ``sshwire-test-<hex>`` with a random password; ``userdel -r`` it afterwards."""
    import secrets

    tools = {
        n: shutil.which(n, path=os.pathsep.join(_SBIN_DIRS))
        for n in ("useradd", "chpasswd", "userdel")
    }
    missing = [n for n, p in tools.items() if p is None]
    if missing:
        raise RuntimeError(f"cannot create a test user: {', '.join(missing)} not found")
    user = PasswordUser(f"sshwire-test-{secrets.token_hex(4)}", secrets.token_urlsafe(18))
    run([tools["useradd"], "-m", "-s", "/bin/sh", "-c", "sshwire test user", user.name])
    try:
        run([tools["chpasswd"]], input=f"{user.name}:{user.password}\n")
        yield user
    finally:
        # userdel refuses (exit 8) while a session of the user is still closing: poll briefly.
        deadline = time.monotonic() + 10
        while True:
            res = subprocess.run(
                [tools["userdel"], "-r", user.name], capture_output=True, text=True, check=False
            )
            # 0 ok; 12: home/mail spool could not be removed (none created) - the user is gone
            if res.returncode in (0, 12) or time.monotonic() > deadline:
                break
            time.sleep(0.05)  # bounded poll, cleanup only
        if res.returncode not in (0, 12):
            run([tools["userdel"], "-r", "-f", user.name])

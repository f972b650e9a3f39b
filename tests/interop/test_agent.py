"""``sshwire.agent`` against a real OpenSSH ``ssh-agent``, a scripted fake agent, and paramiko.

* A private ``ssh-agent`` holds ed25519, ecdsa-256 and rsa keys made by ``ssh-keygen``. The
  keys sshwire lists must be exactly ``ssh-add -L``'s, and every signature the agent makes
  through sshwire (each applicable algorithm) must verify with sshwire's own key classes,
  with paramiko's key classes built from the same blob (for SHA-1 ``ssh-rsa``, which
  paramiko 5.1 does not verify, with ``cryptography`` directly), and must equal paramiko's
  agent signature byte for byte where the algorithm is deterministic.
* A fake agent on a Unix socket (a thread in this module) sends garbage, truncated, oversized
  and silent replies: each must end in ``SSHException`` within a bounded time, never a hang.
* sshwire's Transport authenticates to a real sshd with agent keys (ed25519; RSA with the
  SHA-512 and the SHA-256 flag), using the shared ``ssh_agent`` fixture.
* The forwarding classes are driven without SSH channels: a socket pair or a Unix socket
  stands in for each channel (the real channel integration waits for ``Channel``).

Missing OpenSSH programs skip the OpenSSH-backed tests loudly, or fail them when
``SSHWIRE_REQUIRE_OPENSSH=1``.
"""

from __future__ import annotations

import base64
import contextlib
import inspect
import os
import select
import shutil
import socket
import struct
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paramiko
import paramiko.agent
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

import sshwire.agent as agent_mod
from _openssh import (
    KeyFile,
    OpenSSH,
    SshAgent,
    SshdServer,
    find_openssh,
    generate_key,
    run,
    running_agent,
    unavailable,
)
from sshwire._proto.algorithms.hostkey import PublicKey
from sshwire.agent import (
    Agent,
    AgentClientProxy,
    AgentKey,
    AgentRequestHandler,
    AgentServerProxy,
    AgentSSH,
)
from sshwire.message import Message
from sshwire.pkey import PKey
from sshwire.ssh_exception import SSHException
from sshwire.transport import Transport

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]

DATA = b"sshwire agent test data \x00\xff" * 3
KEY_KINDS = ("ed25519", "ecdsa256", "rsa")
# Signature algorithms per key: (algorithm passed to sign_ssh_data, name in the signature).
SIGNING: dict[str, list[tuple[str | None, str]]] = {
    "ed25519": [(None, "ssh-ed25519"), ("ssh-ed25519", "ssh-ed25519")],
    "ecdsa256": [(None, "ecdsa-sha2-nistp256"), ("ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256")],
    "rsa": [
        (None, "ssh-rsa"),
        ("ssh-rsa", "ssh-rsa"),
        ("rsa-sha2-256", "rsa-sha2-256"),
        ("rsa-sha2-512", "rsa-sha2-512"),
        # the certificate forms ask for the same hash (the key is plain: signs the same)
        ("rsa-sha2-256-cert-v01@openssh.com", "rsa-sha2-256"),
        ("rsa-sha2-512-cert-v01@openssh.com", "rsa-sha2-512"),
    ],
}
SIGN_CASES = [(kind, alg, name) for kind in KEY_KINDS for alg, name in SIGNING[kind]]
PARAMIKO_KEY_CLASSES: dict[str, Any] = {
    "ed25519": paramiko.Ed25519Key,
    "ecdsa256": paramiko.ECDSAKey,
    "rsa": paramiko.RSAKey,
}


# --------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="module")
def agent_tools() -> OpenSSH:
    """ssh-agent, ssh-add and ssh-keygen (sshd and ssh are not needed here)."""
    found = find_openssh()
    if isinstance(found, OpenSSH):
        return found
    paths = {name: shutil.which(name) for name in ("ssh-agent", "ssh-add", "ssh-keygen")}
    missing = [name for name, path in paths.items() if path is None]
    if missing:
        unavailable(f"agent tests need {', '.join(missing)} (OpenSSH client): {found}")
    return OpenSSH(
        sshd="",
        ssh="",
        ssh_keygen=str(paths["ssh-keygen"]),
        ssh_agent=str(paths["ssh-agent"]),
        ssh_add=str(paths["ssh-add"]),
        version="(ssh not found)",
    )


@pytest.fixture(scope="module")
def agent_keys(agent_tools: OpenSSH, tmp_path_factory: pytest.TempPathFactory) -> list[KeyFile]:
    directory = tmp_path_factory.mktemp("agent-keys")
    return [
        generate_key(
            agent_tools.ssh_keygen, directory / f"id_{kind}", kind, comment=f"agent-{kind}-key"
        )
        for kind in KEY_KINDS
    ]


@pytest.fixture(scope="module")
def real_agent(
    agent_tools: OpenSSH, agent_keys: list[KeyFile], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SshAgent]:
    """A private ssh-agent holding ed25519, ecdsa-256 and rsa keys (in that order)."""
    with running_agent(agent_tools, tmp_path_factory.mktemp("agent"), agent_keys) as agent:
        yield agent


@pytest.fixture
def agent_env(real_agent: SshAgent, monkeypatch: pytest.MonkeyPatch) -> SshAgent:
    monkeypatch.setenv("SSH_AUTH_SOCK", str(real_agent.socket_path))
    return real_agent


@pytest.fixture
def sw_agent(agent_env: SshAgent) -> Iterator[Agent]:
    agent = Agent()
    try:
        yield agent
    finally:
        agent.close()


def _key_of(agent: AgentSSH, kind: str) -> AgentKey:
    wanted = {"ed25519": "ssh-ed25519", "ecdsa256": "ecdsa-sha2-nistp256", "rsa": "ssh-rsa"}
    (key,) = [k for k in agent.get_keys() if k.get_name() == wanted[kind]]
    return key


def _sig_parts(sig: bytes) -> tuple[str, bytes]:
    m = Message(sig)
    return m.get_text(), m.get_binary()


# --------------------------------------------------------------------------------------------
# a scripted fake agent on a Unix socket


@dataclass
class Reply:
    """What the fake agent does after reading one request."""

    data: bytes = b""
    then: str = "next"  # "next": read the next request; "hang": stay silent; "close"


def frame(payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + payload


def identities(*entries: tuple[bytes, bytes]) -> bytes:
    body = struct.pack(">I", len(entries))
    for blob, comment in entries:
        body += frame(blob) + frame(comment)
    return frame(bytes([12]) + body)


def ssh_string(b: bytes) -> bytes:
    return frame(b)


@dataclass
class FakeAgent:
    """Serves each connection with the same script of replies, one connection at a time."""

    script: Sequence[Reply]
    directory: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="sw-fake-")))
    requests: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.path = str(self.directory / "agent.sock")
        self._stop = threading.Event()
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self.path)
        self._listener.listen(4)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            readable, _, _ = select.select([self._listener], [], [], 0.05)
            if not readable:
                continue
            conn, _ = self._listener.accept()
            with conn:
                try:
                    self._handle(conn)
                except OSError:
                    pass  # the client went away first

    def _read_exact(self, conn: socket.socket, n: int) -> bytes | None:
        buf = b""
        while len(buf) < n:
            chunk = conn.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        for reply in self.script:
            header = self._read_exact(conn, 4)
            if header is None:
                return
            (size,) = struct.unpack(">I", header)
            request = self._read_exact(conn, min(size, 1 << 20))
            if request is None:
                return
            self.requests.append(request)
            if reply.data:
                conn.sendall(reply.data)
            if reply.then == "hang":
                self._stop.wait(30)
                return
            if reply.then == "close":
                return

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self._listener.close()
        shutil.rmtree(self.directory, ignore_errors=True)


@pytest.fixture
def fake_agent(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``fake_agent(script)`` starts a FakeAgent and points SSH_AUTH_SOCK at it.

    The reply deadline is cut to 0.5 s so that silent-agent cases end quickly.
    """
    started: list[FakeAgent] = []
    monkeypatch.setattr(AgentSSH, "timeout", 0.5)

    def start(script: Sequence[Reply]) -> FakeAgent:
        fake = FakeAgent(script)
        started.append(fake)
        monkeypatch.setenv("SSH_AUTH_SOCK", fake.path)
        return fake

    try:
        yield start
    finally:
        for fake in started:
            fake.close()


ED25519_BLOB = base64.b64decode(
    "AAAAC3NzaC1lZDI1NTE5AAAAIGBRpP8syUP/Tu+74B0Lh61N2xEep8UaVbZeEBZgQSXW"
)
UNKNOWN_BLOB = ssh_string(b"sk-ssh-ed25519@openssh.com") + ssh_string(b"\x01" * 32)


# --------------------------------------------------------------------------------------------
# listing keys


def test_keys_equal_ssh_add_L(
    agent_tools: OpenSSH, agent_env: SshAgent, sw_agent: Agent, agent_keys: list[KeyFile]
) -> None:
    listed = run([agent_tools.ssh_add, "-L"], env=agent_env.env).splitlines()
    ours = [f"{k.get_name()} {k.get_base64()} {k.comment}" for k in sw_agent.get_keys()]
    assert ours == listed
    assert [f"{k.get_name()} {k.get_base64()}" for k in sw_agent.get_keys()] == [
        kf.public_line for kf in agent_keys
    ]
    for key in sw_agent.get_keys():
        assert isinstance(key, AgentKey)
        assert key.blob == key.asbytes() == base64.b64decode(key.get_base64())
        assert key.name == key.get_name()
        assert key.public_blob is None
        assert key.agent is sw_agent
        assert key.can_sign()
        assert key.inner_key is not None and not key.inner_key.can_sign()
        assert key == key.inner_key and hash(key) == hash(key.inner_key)


def test_key_details_match_ssh_keygen(
    agent_tools: OpenSSH, sw_agent: Agent, agent_keys: list[KeyFile]
) -> None:
    for kf, key in zip(agent_keys, sw_agent.get_keys(), strict=True):
        # "256 SHA256:... comment (ED25519)"
        out = run([agent_tools.ssh_keygen, "-l", "-E", "sha256", "-f", str(kf.pub_path)]).split()
        assert int(out[0]) == key.get_bits()
        assert out[1] == key.fingerprint
        assert out[-1] == f"({key.algorithm_name})"
        assert key.get_fingerprint() == PKey.from_type_string(key.name, key.blob).get_fingerprint()


def test_keys_match_paramiko_agent(sw_agent: Agent, agent_env: SshAgent) -> None:
    theirs = paramiko.Agent()
    try:
        pairs = list(zip(sw_agent.get_keys(), theirs.get_keys(), strict=True))
        for ours, ref in pairs:
            assert ours.asbytes() == ref.asbytes()
            assert ours.blob == ref.blob
            assert ours.comment == ref.comment
            assert ours.name == ref.name and ours.get_name() == ref.get_name()
            assert ours.algorithm_name == ref.algorithm_name
            assert ours.get_bits() == ref.get_bits()
            assert ours.fingerprint == ref.fingerprint
            assert ours.get_fingerprint() == ref.get_fingerprint()
            assert ours.get_base64() == ref.get_base64()
            assert repr(ours) == repr(ref)
            assert type(ours.inner_key).__name__ == type(ref.inner_key).__name__
    finally:
        theirs.close()


def test_agent_attribute_proxy_to_inner_key(sw_agent: Agent) -> None:
    rsa_key = _key_of(sw_agent, "rsa")
    # RSAKey-only attributes are reached through the inner key, as with paramiko
    assert rsa_key.public_numbers.e == 65537
    with pytest.raises(AttributeError):
        _ = rsa_key.no_such_attribute


# --------------------------------------------------------------------------------------------
# signing


@pytest.mark.parametrize(("kind", "algorithm", "sig_name"), SIGN_CASES)
def test_sign_and_verify(sw_agent: Agent, kind: str, algorithm: str | None, sig_name: str) -> None:
    key = _key_of(sw_agent, kind)
    sig = key.sign_ssh_data(DATA, algorithm)
    assert isinstance(sig, bytes)  # paramiko returns the bare signature blob too
    name, raw = _sig_parts(sig)
    assert name == sig_name

    # sshwire's protocol-level key
    core = PublicKey.from_blob(key.blob)
    assert core.verify(sig_name, sig, DATA)
    assert not core.verify(sig_name, sig, DATA + b"!")

    if sig_name == "ssh-rsa":
        # Neither paramiko 5.1's RSAKey nor sshwire's verifies SHA-1 signatures: check with
        # cryptography directly.
        pub = serialization.load_ssh_public_key(f"ssh-rsa {key.get_base64()}".encode())
        assert isinstance(pub, rsa.RSAPublicKey)
        pub.verify(raw, DATA, padding.PKCS1v15(), hashes.SHA1())
        return

    # sshwire's public key classes
    sw_key = PKey.from_type_string(key.get_name(), key.blob)
    assert sw_key.verify_ssh_sig(DATA, Message(sig))
    assert not sw_key.verify_ssh_sig(DATA + b"!", Message(sig))
    assert key.verify_ssh_sig(DATA, Message(sig))

    # paramiko's key classes, built from the same public blob
    p_key = PARAMIKO_KEY_CLASSES[kind](data=key.blob)
    assert p_key.verify_ssh_sig(DATA, paramiko.Message(sig))
    assert not p_key.verify_ssh_sig(DATA + b"!", paramiko.Message(sig))


@pytest.mark.parametrize(("kind", "algorithm", "sig_name"), SIGN_CASES)
def test_signature_matches_paramiko_agent(
    sw_agent: Agent, kind: str, algorithm: str | None, sig_name: str
) -> None:
    theirs = paramiko.Agent()
    try:
        ref_key = next(k for k in theirs.get_keys() if k.blob == _key_of(sw_agent, kind).blob)
        ours = _key_of(sw_agent, kind).sign_ssh_data(DATA, algorithm)
        ref = ref_key.sign_ssh_data(DATA, algorithm)
        assert _sig_parts(ours)[0] == _sig_parts(ref)[0] == sig_name
        if kind != "ecdsa256":  # Ed25519 and RSA PKCS#1 v1.5 are deterministic
            assert ours == ref
    finally:
        theirs.close()


def test_concurrent_signing_on_one_connection(sw_agent: Agent) -> None:
    keys = sw_agent.get_keys()
    errors: list[BaseException] = []
    results: list[tuple[AgentKey, bytes, bytes]] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        try:
            for i in range(8):
                key = keys[(n + i) % len(keys)]
                data = f"thread {n} message {i}".encode()
                sig = key.sign_ssh_data(data, "rsa-sha2-256")
                with lock:
                    results.append((key, data, sig))
        except BaseException as exc:
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert len(results) == 48
    for key, data, sig in results:
        name, _ = _sig_parts(sig)
        assert PublicKey.from_blob(key.blob).verify(name, sig, data)


def test_sign_with_key_the_agent_lacks(
    sw_agent: Agent, agent_tools: OpenSSH, tmp_path: Path
) -> None:
    other = generate_key(agent_tools.ssh_keygen, tmp_path / "other", "ed25519")
    blob = base64.b64decode(other.public_base64)
    stranger = AgentKey(sw_agent, blob, "not in the agent")
    with pytest.raises(SSHException, match="key cannot be used for signing"):
        stranger.sign_ssh_data(DATA)
    # a FAILURE reply is a proper answer: the connection stays usable
    sig = _key_of(sw_agent, "ed25519").sign_ssh_data(DATA)
    assert PublicKey.from_blob(_key_of(sw_agent, "ed25519").blob).verify("ssh-ed25519", sig, DATA)


def test_sign_after_key_removed(agent_tools: OpenSSH, tmp_path: Path) -> None:
    key_file = generate_key(agent_tools.ssh_keygen, tmp_path / "id_rsa", "rsa")
    with running_agent(agent_tools, tmp_path / "private-agent", [key_file]) as private:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("SSH_AUTH_SOCK", str(private.socket_path))
            agent = Agent()
        try:
            (key,) = agent.get_keys()
            key.sign_ssh_data(DATA, "rsa-sha2-512")
            run([agent_tools.ssh_add, "-q", "-D"], env=private.env)
            with pytest.raises(SSHException, match="key cannot be used for signing"):
                key.sign_ssh_data(DATA, "rsa-sha2-512")
            run([agent_tools.ssh_add, "-q", str(key_file.path)], env=private.env)
            assert _sig_parts(key.sign_ssh_data(DATA, "rsa-sha2-512"))[0] == "rsa-sha2-512"
        finally:
            agent.close()


def test_oversized_request_is_refused_locally(sw_agent: Agent) -> None:
    key = _key_of(sw_agent, "ed25519")
    with pytest.raises(SSHException, match="too large"):
        key.sign_ssh_data(b"x" * (256 * 1024))
    assert _sig_parts(key.sign_ssh_data(DATA))[0] == "ssh-ed25519"


def test_sign_after_close(agent_env: SshAgent) -> None:
    agent = Agent()
    key = agent.get_keys()[0]
    agent.close()
    agent.close()  # idempotent
    assert agent.get_keys() == ()
    with pytest.raises(SSHException, match="lost ssh-agent"):
        key.sign_ssh_data(DATA)


# --------------------------------------------------------------------------------------------
# public key authentication with agent keys, against a real sshd


@pytest.mark.parametrize(
    ("key_type", "disabled"),
    [
        ("ssh-ed25519", []),
        ("ssh-rsa", []),  # server-sig-algs: rsa-sha2-512, so flag SSH_AGENT_RSA_SHA2_512
        ("ssh-rsa", ["rsa-sha2-512"]),  # rsa-sha2-256: flag SSH_AGENT_RSA_SHA2_256
    ],
)
def test_auth_publickey_with_agent_key(
    sshd: SshdServer,
    ssh_agent: SshAgent,
    monkeypatch: pytest.MonkeyPatch,
    key_type: str,
    disabled: list[str],
) -> None:
    monkeypatch.setenv("SSH_AUTH_SOCK", str(ssh_agent.socket_path))
    agent = Agent()
    transport = Transport(
        socket.create_connection((sshd.host, sshd.port), timeout=10),
        disabled_algorithms={"pubkeys": disabled},
    )
    try:
        (key,) = [k for k in agent.get_keys() if k.get_name() == key_type]
        transport.start_client(timeout=10)
        assert transport.auth_publickey(sshd.user, key) == []
        assert transport.is_authenticated()
    finally:
        transport.close()
        agent.close()


def _read_all(chan: Any) -> bytes:
    chunks = []
    while True:
        data = chan.recv(65536)
        if not data:
            return b"".join(chunks)
        chunks.append(data)


def test_forward_agent_to_sshd(
    sshd: SshdServer,
    agent_tools: OpenSSH,
    agent_env: SshAgent,
    agent_keys: list[KeyFile],
) -> None:
    """AgentRequestHandler over a real session: the command on the server lists our agent's
    keys and signs with each of them (``ssh-add -T``) through forwarded channels.

    (OpenSSH accepts one auth-agent-req per connection: a second one is refused.)
    """
    transport = Transport(socket.create_connection((sshd.host, sshd.port), timeout=10))
    handler: AgentRequestHandler | None = None
    try:
        transport.start_client(timeout=10)
        transport.auth_publickey(sshd.user, PKey.from_path(sshd.client_keys["ed25519"]))
        session = transport.open_session()
        session.settimeout(20)
        handler = AgentRequestHandler(session)
        pubs = " ".join(str(k.pub_path) for k in agent_keys)
        session.exec_command(f"ssh-add -L && ssh-add -T {pubs} && echo signed-ok")
        out = _read_all(session).decode()
        assert session.recv_exit_status() == 0, out
        local = run([agent_tools.ssh_add, "-L"], env=agent_env.env).splitlines()
        assert out.splitlines() == [*local, "signed-ok"]
        # each agent connection on the server is one channel, served by its own proxy
        assert len(handler._client_proxies) >= 2
        session.close()
        handler.close()
        assert all(not p.thread.is_alive() for p in handler._client_proxies)
    finally:
        if handler is not None:
            handler.close()
        transport.close()


# --------------------------------------------------------------------------------------------
# no agent


def test_no_ssh_auth_sock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    assert agent_mod.get_agent_connection() is None
    agent = Agent()
    assert agent.get_keys() == ()
    agent.close()
    ref = paramiko.Agent()
    assert ref.get_keys() == ()
    ref.close()


def test_stale_ssh_auth_sock(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for path in (str(tmp_path / "gone.sock"), "", "/" + "x" * 200):
        monkeypatch.setenv("SSH_AUTH_SOCK", path)
        assert agent_mod.get_agent_connection() is None
        assert Agent().get_keys() == ()
        # (paramiko also gives no keys here, but leaks the unconnected socket: not run, as
        # its ResourceWarning would fail the test)


# --------------------------------------------------------------------------------------------
# a misbehaving agent


@pytest.mark.parametrize(
    ("script", "match"),
    [
        pytest.param([Reply(frame(b"\x05"))], "could not get keys", id="failure"),
        pytest.param([Reply(frame(b"\x0e" + ssh_string(b"x")))], "could not get keys", id="type"),
        pytest.param([Reply(b"\x00\x00\x00\x00")], "empty reply", id="empty"),
        pytest.param([Reply(b"\x00\x04\x00\x01", "hang")], "too large", id="oversize"),
        pytest.param([Reply(b"\xff\xff\xff\xff", "hang")], "too large", id="huge"),
        pytest.param([Reply(b"\x00\x00", "close")], "lost ssh-agent", id="short-header"),
        pytest.param([Reply(b"\x00\x00\x00\x09\x0c\x00", "close")], "lost", id="short-body"),
        pytest.param([Reply(b"", "close")], "lost ssh-agent", id="closed"),
        pytest.param([Reply(b"", "hang")], "no reply within", id="silent"),
        pytest.param([Reply(b"\x00\x00\x00\x09\x0c\x00", "hang")], "no reply", id="stalled"),
        pytest.param(
            [Reply(frame(b"\x0c\xff\xff\xff\xff" + ssh_string(b"k")))], "malformed", id="count"
        ),
        pytest.param([Reply(frame(b"\x0c\x00\x00"))], "malformed", id="no-count"),
        pytest.param(
            [Reply(frame(b"\x0c\x00\x00\x00\x01" + ssh_string(ED25519_BLOB)))],
            "malformed",
            id="no-comment",
        ),
        pytest.param(
            [Reply(frame(b"\x0c\x00\x00\x00\x01\x00\x00\x01\x00abc"))],
            "malformed",
            id="truncated-blob",
        ),
        pytest.param(
            [Reply(identities((ssh_string(b"ssh-ed25519") + ssh_string(b"abc"), b"c")))],
            "invalid ssh-ed25519 key",
            id="bad-key",
        ),
        pytest.param(
            [Reply(identities((b"\x00\x00\x00\x05ab", b"c")))], "malformed key", id="bad-type"
        ),
    ],
)
def test_garbage_identities_reply(fake_agent: Any, script: list[Reply], match: str) -> None:
    fake = fake_agent(script)
    start = time.monotonic()
    with pytest.raises(SSHException, match=match) as info:
        Agent()
    assert time.monotonic() - start < 10
    assert fake.requests == [b"\x0b"]
    if "no reply" in match:
        assert isinstance(info.value, TimeoutError)  # also a socket.timeout


def test_unknown_key_type_is_listed(fake_agent: Any) -> None:
    fake_agent(
        [
            Reply(
                identities(
                    (UNKNOWN_BLOB, b"security key"),
                    (ED25519_BLOB, b"caf\xc3\xa9 \xff"),  # invalid UTF-8 is replaced
                )
            )
        ]
    )
    agent = Agent()
    try:
        unknown, known = agent.get_keys()
        assert unknown.name == "sk-ssh-ed25519@openssh.com"
        assert unknown.inner_key is None
        assert unknown.get_bits() == 0
        assert unknown.asbytes() == UNKNOWN_BLOB
        assert unknown.comment == "security key"
        assert unknown.can_sign()
        assert unknown == AgentKey(agent, UNKNOWN_BLOB)
        assert not unknown.verify_ssh_sig(DATA, Message(b""))
        with pytest.raises(AttributeError):
            _ = unknown.public_numbers
        assert known.comment == "caf\xe9 \ufffd"
        assert known.get_name() == "ssh-ed25519"
    finally:
        agent.close()


def test_unknown_key_type_like_paramiko(fake_agent: Any) -> None:
    fake_agent([Reply(identities((UNKNOWN_BLOB, b"sk"), (ED25519_BLOB, b"ed")))])
    ours, theirs = Agent(), paramiko.Agent()
    try:
        for a, b in zip(ours.get_keys(), theirs.get_keys(), strict=True):
            assert (a.name, a.comment, a.asbytes(), a.get_bits(), a.fingerprint) == (
                b.name,
                b.comment,
                b.asbytes(),
                b.get_bits(),
                b.fingerprint,
            )
            assert (a.inner_key is None) == (b.inner_key is None)
    finally:
        ours.close()
        theirs.close()


def _signing_fake(fake_agent: Any, *sign_replies: Reply) -> tuple[Any, Agent]:
    fake = fake_agent([Reply(identities((ED25519_BLOB, b"k"))), *sign_replies])
    return fake, Agent()


@pytest.mark.parametrize(
    ("reply", "match"),
    [
        pytest.param(Reply(frame(b"\x05")), "key cannot be used for signing", id="failure"),
        pytest.param(Reply(frame(b"\x1c")), "key cannot be used for signing", id="ext-failure"),
        pytest.param(Reply(frame(b"\x0c\x00\x00\x00\x00")), "cannot be used", id="wrong-type"),
        pytest.param(Reply(frame(b"\x0e")), "malformed signature", id="no-signature"),
        pytest.param(
            Reply(frame(b"\x0e" + ssh_string(b"\x00\x00\x00\x0bssh-ed"))),
            "malformed signature",
            id="bad-signature",
        ),
        pytest.param(
            Reply(frame(b"\x0e" + ssh_string(ssh_string(b"ssh-ed25519")))),
            "malformed signature",
            id="no-sig-body",
        ),
        pytest.param(Reply(b"\x00\x00\x10", "close"), "lost ssh-agent", id="truncated"),
        pytest.param(Reply(frame(b"\x0e")[:-1], "hang"), "no reply within", id="stalled"),
        pytest.param(Reply(b"\x7f\x00\x00\x00", "hang"), "too large", id="oversize"),
    ],
)
def test_garbage_sign_reply(fake_agent: Any, reply: Reply, match: str) -> None:
    fake, agent = _signing_fake(fake_agent, reply)
    try:
        (key,) = agent.get_keys()
        with pytest.raises(SSHException, match=match):
            key.sign_ssh_data(DATA, "ssh-ed25519")
        request = fake.requests[1]
        assert request == (
            b"\x0d" + ssh_string(ED25519_BLOB) + ssh_string(DATA) + b"\x00\x00\x00\x00"
        )
    finally:
        agent.close()


def test_connection_dropped_after_garbage(fake_agent: Any) -> None:
    fake, agent = _signing_fake(
        fake_agent, Reply(b"\x00\x00\x00\x05\x0e\x00", "hang"), Reply(frame(b"\x05"))
    )
    try:
        (key,) = agent.get_keys()
        with pytest.raises(SSHException, match="no reply within"):
            key.sign_ssh_data(DATA)
        # the stream is out of step: no further request goes out on it
        with pytest.raises(SSHException, match="connection is closed"):
            key.sign_ssh_data(DATA)
        assert len(fake.requests) == 2
    finally:
        agent.close()


@pytest.mark.parametrize(
    ("algorithm", "flags"),
    [
        (None, 0),
        ("ssh-rsa", 0),
        ("rsa-sha2-256", 2),
        ("rsa-sha2-512", 4),
        ("rsa-sha2-256-cert-v01@openssh.com", 2),
        ("rsa-sha2-512-cert-v01@openssh.com", 4),
        ("ssh-ed25519", 0),
    ],
)
def test_sign_request_flags(fake_agent: Any, algorithm: str | None, flags: int) -> None:
    sig = ssh_string(b"ssh-ed25519") + ssh_string(b"\x00" * 64)
    fake, agent = _signing_fake(fake_agent, Reply(frame(b"\x0e" + ssh_string(sig))))
    try:
        (key,) = agent.get_keys()
        assert key.sign_ssh_data(DATA, algorithm) == sig
        assert fake.requests[1][-4:] == struct.pack(">I", flags)
        assert agent_mod.ALGORITHM_FLAG_MAP.get(algorithm or "", 0) == flags
    finally:
        agent.close()


# --------------------------------------------------------------------------------------------
# forwarding, with sockets standing in for SSH channels


class FakeChannel(socket.socket):
    """A Unix socket with the one Channel method AgentServerProxy.connect() calls."""

    name = ""

    def set_name(self, name: str) -> None:
        self.name = name


class FakeTransport:
    """``open_forward_agent_channel()`` connects to a real agent instead of opening a
    channel to the client (which needs SSH channels: not built yet)."""

    def __init__(self, agent_path: str | None) -> None:
        self.agent_path = agent_path
        self.opened: list[FakeChannel] = []

    def open_forward_agent_channel(self) -> FakeChannel | None:
        if self.agent_path is None:
            return None
        chan = FakeChannel(socket.AF_UNIX, socket.SOCK_STREAM)
        chan.connect(self.agent_path)
        self.opened.append(chan)
        return chan

    def close(self) -> None:
        for chan in self.opened:
            chan.close()


@contextlib.contextmanager
def remote_agent(chan: socket.socket) -> Iterator[AgentSSH]:
    """The server's view: speak the agent protocol over the forwarded 'channel'."""
    remote = AgentSSH()
    try:
        remote._connect(chan)
        yield remote
    finally:
        remote._close()


def test_client_proxy_relays_to_local_agent(agent_env: SshAgent, sw_agent: Agent) -> None:
    ours, server_end = socket.socketpair()
    proxy = AgentClientProxy(ours)
    try:
        with remote_agent(server_end) as remote:
            assert [k.asbytes() for k in remote.get_keys()] == [
                k.asbytes() for k in sw_agent.get_keys()
            ]
            for key in remote.get_keys():
                sig = key.sign_ssh_data(DATA, "rsa-sha2-512")
                name, _ = _sig_parts(sig)
                assert PublicKey.from_blob(key.blob).verify(name, sig, DATA)
        proxy.close()
        assert not proxy.thread.is_alive()
    finally:
        proxy.close()
        ours.close()


def test_client_proxy_closes_channel_when_remote_closes(agent_env: SshAgent) -> None:
    ours, server_end = socket.socketpair()
    proxy = AgentClientProxy(ours)
    try:
        with remote_agent(server_end) as remote:
            assert len(remote.get_keys()) == 3
        proxy.thread.join(10)
        assert not proxy.thread.is_alive()
        assert proxy._conn is None or proxy._conn.fileno() == -1
    finally:
        proxy.close()
        ours.close()


def test_client_proxy_without_local_agent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    ours, server_end = socket.socketpair()
    proxy = AgentClientProxy(ours)
    try:
        server_end.settimeout(10)
        assert server_end.recv(1) == b""  # the forwarded channel is closed at once
        proxy.thread.join(10)
        assert not proxy.thread.is_alive()
    finally:
        proxy.close()
        ours.close()
        server_end.close()


def test_request_handler(agent_env: SshAgent) -> None:
    class FakeSession:
        handler: Any = None

        def request_forward_agent(self, handler: Any) -> bool:
            self.handler = handler
            return True

    session = FakeSession()
    handler = AgentRequestHandler(session)
    pairs = [socket.socketpair() for _ in range(2)]
    try:
        for ours, _ in pairs:
            session.handler(ours)  # the server opened an agent channel
        for _, server_end in pairs:
            with remote_agent(server_end) as remote:
                assert len(remote.get_keys()) == 3
        handler.close()
        assert all(not p.thread.is_alive() for p in handler._client_proxies)
    finally:
        handler.close()
        for a, b in pairs:
            a.close()
            b.close()


def test_server_proxy(agent_tools: OpenSSH, agent_env: SshAgent, sw_agent: Agent) -> None:
    transport = FakeTransport(str(agent_env.socket_path))
    proxy = AgentServerProxy(transport)
    try:
        env = proxy.get_env()
        sock_path = Path(env["SSH_AUTH_SOCK"])
        assert sock_path.exists()  # listening before the constructor returns
        assert stat_mode(sock_path.parent) == 0o700
        proxy.connect()
        assert transport.opened[-1].name == "auth-agent"
        keys = proxy.get_keys()
        assert [k.asbytes() for k in keys] == [k.asbytes() for k in sw_agent.get_keys()]
        sig = keys[0].sign_ssh_data(DATA)
        assert PublicKey.from_blob(keys[0].blob).verify("ssh-ed25519", sig, DATA)

        # a local program reaches the forwarded agent through the socket
        listed = run([agent_tools.ssh_add, "-L"], env={**os.environ, **env}).splitlines()
        assert listed == [f"{k.get_name()} {k.get_base64()} {k.comment}" for k in keys]
        proxy.thread.join(10)  # one connection is served, as with paramiko
        assert not proxy.thread.is_alive()
    finally:
        proxy.close()
        transport.close()
    assert not sock_path.exists() and not sock_path.parent.exists()
    proxy.close()  # idempotent


def test_server_proxy_close_without_client(agent_env: SshAgent) -> None:
    transport = FakeTransport(str(agent_env.socket_path))
    proxy = AgentServerProxy(transport)
    sock_path = Path(proxy.get_env()["SSH_AUTH_SOCK"])
    try:
        assert proxy.thread.is_alive()
    finally:
        proxy.close()
        transport.close()
    assert not proxy.thread.is_alive()  # woken at once, not left in accept()
    assert not sock_path.parent.exists()


def test_server_proxy_without_channel() -> None:
    proxy = AgentServerProxy(FakeTransport(None))
    try:
        with pytest.raises(SSHException, match="lost ssh-agent"):
            proxy.connect()
    finally:
        proxy.close()


def stat_mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


# --------------------------------------------------------------------------------------------
# the API shape, against paramiko 5.1


CLASSES = [
    "Agent",
    "AgentSSH",
    "AgentKey",
    "AgentProxyThread",
    "AgentLocalProxy",
    "AgentRemoteProxy",
    "AgentClientProxy",
    "AgentServerProxy",
    "AgentRequestHandler",
]


def _public_methods(cls: type) -> list[str]:
    return sorted(
        name
        for name, value in vars(cls).items()
        if callable(value) and (not name.startswith("_") or name in ("__init__", "__del__"))
    )


@pytest.mark.parametrize("name", CLASSES)
def test_same_classes_and_signatures(name: str) -> None:
    theirs = getattr(paramiko.agent, name)
    ours = getattr(agent_mod, name)
    assert ours.__mro__[1].__name__ == theirs.__mro__[1].__name__
    for method in _public_methods(theirs):
        mine = inspect.signature(getattr(ours, method)).parameters
        ref = inspect.signature(getattr(theirs, method)).parameters
        assert [(p.name, p.kind, p.default) for p in mine.values()] == [
            (p.name, p.kind, p.default) for p in ref.values()
        ], f"{name}.{method}"


def test_same_module_constants() -> None:
    for name in (
        "cSSH2_AGENTC_REQUEST_IDENTITIES",
        "SSH2_AGENT_IDENTITIES_ANSWER",
        "cSSH2_AGENTC_SIGN_REQUEST",
        "SSH2_AGENT_SIGN_RESPONSE",
        "SSH_AGENT_RSA_SHA2_256",
        "SSH_AGENT_RSA_SHA2_512",
        "ALGORITHM_FLAG_MAP",
    ):
        assert getattr(agent_mod, name) == getattr(paramiko.agent, name), name
    assert agent_mod.SSH2_AGENTC_REQUEST_IDENTITIES == 11
    assert agent_mod.SSH2_AGENTC_SIGN_REQUEST == 13
    assert agent_mod.SSH_AGENT_FAILURE == 5
    assert callable(agent_mod.get_agent_connection)

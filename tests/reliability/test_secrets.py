"""Secrets stay secret: not in logs, not in reprs, never sent to an unverified host.

* With DEBUG logging everywhere (and the hex dump off, its default), a session that logs in
  with a password, a wrong password, keyboard-interactive, and an encrypted key file, runs
  commands, rekeys and uses SFTP must log none of: the passwords, the passphrase, the private
  keys (user and host, raw and as file text), the kex shared secrets or any derived key.
* ``repr()`` of Transport (both ends), Channel, PKey, SSHClient and an auth ``Message`` shows
  none of them either.
* A host key mismatch raises ``BadHostKeyException`` before any credential is sent: the
  server records every payload it receives, and none is an authentication request.
* Private key files are created with mode 0600 (never chmod-ed afterwards), and an existing
  file is restricted before the key is written into it.
"""

from __future__ import annotations

import base64
import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from sshwire._proto import connection as core_connection
from sshwire.client import RejectPolicy, SSHClient
from sshwire.message import Message
from sshwire.pkey import PKey
from sshwire.ssh_exception import AuthenticationException, BadHostKeyException
from sshwire.testing import SSHServer, generate_key
from sshwire.transport import Transport

pytestmark = pytest.mark.timeout(120)

PASSWORD = "correct horse battery staple 42"
WRONG_PASSWORD = "Tr0ub4dor&3 is not it"
PASSPHRASE = "open sesame, said the key file"


# ------------------------------------------------------------------------------ secrets


class Secrets:
    """Every secret of a session, and the forms in which one could leak into text."""

    def __init__(self) -> None:
        self.texts: dict[str, str] = {}
        self.blobs: dict[str, bytes] = {}

    def add_text(self, name: str, value: str) -> None:
        self.texts[name] = value

    def add_bytes(self, name: str, value: bytes) -> None:
        if len(value) >= 8:
            self.blobs[name] = value

    def add_private_key(self, name: str, key: PKey) -> None:
        private = key._priv.key  # type: ignore[union-attr]
        raw = _raw_private(private)
        self.add_bytes(f"{name} (raw)", raw)
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        ).decode()
        for i, line in enumerate(pem.splitlines()[1:-1]):
            if len(line) >= 40:
                self.add_text(f"{name} (file line {i})", line)

    def forms(self) -> Iterator[tuple[str, str]]:
        for name, text in self.texts.items():
            yield name, text
            yield f"{name} (repr)", repr(text)[1:-1]
        for name, blob in self.blobs.items():
            head = blob[:16]
            yield f"{name} (hex)", head.hex()
            yield f"{name} (HEX)", head.hex().upper()
            yield f"{name} (spaced hex)", " ".join(f"{b:02X}" for b in head)
            yield f"{name} (base64)", base64.b64encode(blob).decode()[:20]
            shown = repr(head)[2:-1]
            if len(shown) >= 16:
                yield f"{name} (repr)", shown

    def find_in(self, text: str) -> list[str]:
        return [name for name, form in self.forms() if form and form in text]


def _raw_private(private: Any) -> bytes:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if isinstance(private, ed25519.Ed25519PrivateKey):
        return private.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
    if isinstance(private, rsa.RSAPrivateKey):
        d = private.private_numbers().d
        return d.to_bytes((d.bit_length() + 7) // 8, "big")
    if isinstance(private, ec.EllipticCurvePrivateKey):
        v = private.private_numbers().private_value
        return v.to_bytes((v.bit_length() + 7) // 8, "big")
    raise AssertionError(type(private))


@pytest.fixture
def session_keys(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every shared secret and derived key of every key exchange in this test (both ends)."""
    found: list[bytes] = []
    real = core_connection.derive_key

    def spy(hashed: Any, k: bytes, h: bytes, letter: bytes, sid: bytes, size: int) -> bytes:
        key: bytes = real(hashed, k, h, letter, sid, size)
        found.extend((bytes(k), key))
        return key

    monkeypatch.setattr(core_connection, "derive_key", spy)
    return found


# ------------------------------------------------------------------------------ the session


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SSHServer]:
    root = tmp_path / "sftp"
    root.mkdir()
    srv = SSHServer(passwords={"pat": PASSWORD}, sftp_root=root, host_key_types=("rsa",))
    with srv:
        yield srv


def _client(server: SSHServer) -> SSHClient:
    client = SSHClient()
    for key in server.host_keys:
        client.get_host_keys().add(f"[{server.host}]:{server.port}", key.get_name(), key)
    client.set_missing_host_key_policy(RejectPolicy())
    return client


def _run(client: SSHClient) -> None:
    _, stdout, _ = client.exec_command("echo hello")
    assert stdout.read() == b"hello\n"
    transport = client.get_transport()
    assert transport is not None
    transport.renegotiate_keys()
    sftp = client.open_sftp()
    with sftp.open("f", "wb") as f:
        f.write(b"data")
    with sftp.open("f", "rb") as f:
        assert f.read() == b"data"
    sftp.close()


def test_no_secret_in_debug_logs_or_reprs(
    server: SSHServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    session_keys: list[bytes],
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = Secrets()
    secrets.add_text("password", PASSWORD)
    secrets.add_text("wrong password", WRONG_PASSWORD)
    secrets.add_text("passphrase", PASSPHRASE)
    for i, key in enumerate(server.host_keys):
        secrets.add_private_key(f"host key {i}", key)

    user_key = generate_key("ecdsa")
    secrets.add_private_key("user key", user_key)
    key_path = tmp_path / "id_ecdsa"
    user_key.write_private_key_file(str(key_path), password=PASSPHRASE)
    server.add_authorized_key(user_key, "pat")
    reprs: list[str] = [repr(user_key), str(user_key), repr(PKey.from_path(key_path, PASSPHRASE))]

    # 1. password, a session, a rekey, SFTP
    client = _client(server)
    client.connect(server.host, server.port, username="pat", password=PASSWORD,
                   look_for_keys=False, allow_agent=False)  # fmt: skip
    _run(client)
    transport = client.get_transport()
    assert transport is not None
    chan = transport.open_session()
    reprs += [repr(client), repr(transport), repr(chan), str(chan)]
    chan.close()
    client.close()

    # 2. a wrong password
    client = _client(server)
    with pytest.raises(AuthenticationException) as failure:
        client.connect(server.host, server.port, username="pat", password=WRONG_PASSWORD,
                       look_for_keys=False, allow_agent=False)  # fmt: skip
    reprs += [repr(failure.value), str(failure.value)]
    client.close()

    # 3. keyboard-interactive
    t = Transport((server.host, server.port))
    t.start_client(timeout=30)
    assert t.auth_interactive("pat", lambda title, instr, prompts: [PASSWORD] * len(prompts)) == []
    reprs.append(repr(t))
    t.close()

    # 4. an encrypted key file
    client = _client(server)
    client.connect(server.host, server.port, username="pat", key_filename=str(key_path),
                   passphrase=PASSPHRASE, look_for_keys=False, allow_agent=False)  # fmt: skip
    _run(client)
    client.close()

    # the server's transports, and an auth request as a Message
    auth = Message()
    auth.add_byte(bytes([50]))
    auth.add_string("pat")
    auth.add_string("ssh-connection")
    auth.add_string("password")
    auth.add_boolean(False)
    auth.add_string(PASSWORD)
    reprs += [repr(auth), str(auth)]

    assert len(session_keys) >= 4 * 6  # four logins, a rekey in two of them: many keys
    for i, key in enumerate(session_keys):
        secrets.add_bytes(f"session secret {i}", key)

    log = "\n".join(
        [caplog.text]
        + [repr(r.args) for r in caplog.records]
        + [r.exc_text or "" for r in caplog.records]
    )
    assert any(r.levelno == logging.DEBUG and r.name.startswith("sshwire") for r in caplog.records)
    assert "kex done" in log  # the log did record the sessions
    leaked = secrets.find_in(log)
    assert not leaked, f"in the DEBUG log: {leaked}"
    leaked = secrets.find_in("\n".join(reprs))
    assert not leaked, f"in a repr: {leaked}"


def test_auth_message_repr_hides_its_contents() -> None:
    m = Message()
    m.add_byte(bytes([50]))
    m.add_string("pat")
    m.add_string("ssh-connection")
    m.add_string("password")
    m.add_boolean(False)
    m.add_string(PASSWORD)
    assert PASSWORD not in repr(m) and "USERAUTH_REQUEST" in repr(m)
    assert m.asbytes().endswith(PASSWORD.encode())  # the contents themselves are intact
    info = Message()
    info.add_byte(bytes([61]))  # USERAUTH_INFO_RESPONSE
    info.add_int(1)
    info.add_string(PASSWORD)
    assert PASSWORD not in repr(info)
    other = Message()
    other.add_byte(bytes([94]))  # CHANNEL_DATA: shown as in paramiko
    other.add_string("visible")
    assert "visible" in repr(other)


# ------------------------------------------------------------------------------ host key first


@pytest.mark.parametrize("credential", ["password", "key"])
def test_bad_host_key_raises_before_any_credential_is_sent(credential: str) -> None:
    received: list[bytes] = []

    def record(t: Transport) -> None:
        def dump(direction: str, payload: bytes) -> None:
            if direction == "IN":
                received.append(bytes(payload))

        t._dump_packet = dump  # type: ignore[method-assign]
        t.set_hexdump(True)

    user_key = generate_key()
    server = SSHServer(passwords={"pat": PASSWORD}, authorized_keys=[user_key],
                       configure_transport=record)  # fmt: skip
    with server:
        client = SSHClient()
        impostor = generate_key()  # what the client believes the host key is
        client.get_host_keys().add(
            f"[{server.host}]:{server.port}", server.host_key.get_name(), impostor
        )
        kwargs: dict[str, Any] = (
            {"password": PASSWORD} if credential == "password" else {"pkey": user_key}
        )
        with pytest.raises(BadHostKeyException):
            client.connect(server.host, server.port, username="pat", look_for_keys=False,
                           allow_agent=False, **kwargs)  # fmt: skip
        client.close()
        assert server.wait_until_idle(10)
    types = sorted({p[0] for p in received})
    # key exchange messages only (KEXINIT 20, NEWKEYS 21, KEX_ECDH_INIT 30), maybe a
    # DISCONNECT (1): no SERVICE_REQUEST (5), no USERAUTH_REQUEST (50)
    assert set(types) <= {1, 20, 21, 30}, types
    assert received, "the recorder saw nothing"
    assert not [p for p in received if PASSWORD.encode() in p]
    assert not [p for p in received if user_key.asbytes() in p]


# ------------------------------------------------------------------------------ key files


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.parametrize("kind", ["ed25519", "ecdsa", "rsa"])
def test_private_key_file_is_created_0600(
    tmp_path: Path, open_umask: None, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """Created with mode 0600 by open() itself: no chmod afterwards (which would leave a
    window in which the key is readable by others), even with umask 0."""
    key = generate_key(kind)
    created: list[tuple[str, int]] = []
    real_open = os.open

    def spying_open(path: Any, flags: int, mode: int = 0o777, **kw: Any) -> int:
        if flags & os.O_CREAT:
            created.append((os.fspath(path), mode))
        return real_open(path, flags, mode, **kw)

    def no_chmod(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("chmod after creation")

    monkeypatch.setattr(os, "open", spying_open)
    monkeypatch.setattr(os, "chmod", no_chmod)
    path = tmp_path / "key"
    key.write_private_key_file(str(path), password=PASSPHRASE)
    monkeypatch.undo()
    assert created == [(str(path), 0o600)]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert PKey.from_path(path, PASSPHRASE) == key


def test_existing_key_file_is_restricted_before_writing(tmp_path: Path, open_umask: None) -> None:
    path = tmp_path / "key"
    path.write_text("placeholder")
    path.chmod(0o644)
    generate_key().write_private_key_file(str(path))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_embedded_server_key_files_are_0600(tmp_path: Path, open_umask: None) -> None:
    server = SSHServer()
    user = server.add_user(directory=tmp_path)
    assert user.key_path is not None
    assert stat.S_IMODE(user.key_path.stat().st_mode) == 0o600

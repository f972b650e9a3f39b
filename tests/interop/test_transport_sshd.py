"""Client Transport against a real OpenSSH sshd: kex, host keys, ciphers, MACs, user auth.

Test ids name the negotiated algorithms. Password and keyboard-interactive tests need a real
local user and run in CI (SSHWIRE_REQUIRE_OPENSSH=1, as root); the rest run everywhere sshd is.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from _openssh import KeyFactory, PasswordUser, SshdServer
from sshwire._proto.algorithms.cipher import CIPHERS
from sshwire._proto.algorithms.mac import MACS
from sshwire._proto.kex.negotiate import KEX_ALGORITHMS
from sshwire.pkey import PKey
from sshwire.ssh_exception import AuthenticationException, BadAuthenticationType, SSHException
from sshwire.transport import Transport

pytestmark = pytest.mark.timeout(60)

# what this sshd offers, from `ssh -Q`, intersected with ours at collection time
HOST_KEY_ALGS = [
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "rsa-sha2-512",
    "rsa-sha2-256",
    "ssh-rsa",
]


def _sshd_supports(kind: str) -> set[str]:
    import shutil
    import subprocess

    ssh = shutil.which("ssh")
    if ssh is None:
        return set()
    out = subprocess.run([ssh, "-Q", kind], capture_output=True, text=True, check=False)
    return set(out.stdout.split())


SSHD_KEX = _sshd_supports("kex")
KEX_TESTED = [k for k in KEX_ALGORITHMS if k in SSHD_KEX] or list(KEX_ALGORITHMS)
CIPHERS_TESTED = list(CIPHERS)
NON_AEAD = [n for n, s in CIPHERS.items() if not s.is_aead]
CIPHER_MAC = [(c, None) for c, s in CIPHERS.items() if s.is_aead] + [
    (c, m) for c in NON_AEAD for m in MACS
]


def _connect(sshd: SshdServer, **kw: object) -> Transport:
    return Transport(socket.create_connection((sshd.host, sshd.port)), **kw)  # type: ignore[arg-type]


@pytest.fixture
def transport(sshd: SshdServer) -> Iterator[Transport]:
    t = _connect(sshd)
    yield t
    t.close()


def _key(sshd: SshdServer, name: str = "ed25519") -> PKey:
    return PKey.from_path(sshd.client_keys[name])


def _round_trip(t: Transport) -> None:
    """Traffic both ways over the negotiated keys: sshd answers unknown global requests."""
    t.send_ignore(100)
    assert t.global_request("no-such-request@sshwire", wait=True) is None


def test_connect_and_publickey(sshd: SshdServer, transport: Transport) -> None:
    transport.start_client(timeout=10)
    assert transport.is_active() and not transport.is_authenticated()
    assert transport.remote_version.startswith("SSH-2.0-OpenSSH")
    assert transport.local_version.startswith("SSH-2.0-sshwire")
    assert transport.agreed_on_strict_kex
    assert "server-sig-algs" in transport.server_extensions
    assert transport.session_id and len(transport.session_id) >= 32
    host_key = transport.get_remote_server_key()
    assert f"{host_key.get_name()} {host_key.get_base64()}" in sshd.host_public_keys.values()
    assert transport.auth_publickey(sshd.user, _key(sshd)) == []
    assert transport.is_authenticated() and transport.get_username() == sshd.user
    _round_trip(transport)
    assert "active" in repr(transport)


@pytest.mark.parametrize("host_key_alg", HOST_KEY_ALGS)
@pytest.mark.parametrize("kex", KEX_TESTED)
def test_kex_by_host_key(sshd: SshdServer, kex: str, host_key_alg: str) -> None:
    t = _connect(sshd)
    try:
        opts = t.get_security_options()
        opts.kex = (kex,)
        opts.key_types = (host_key_alg,)
        t.start_client(timeout=20)
        assert t._core is not None and t._core.negotiated is not None
        assert t._core.negotiated.kex == kex
        assert t.host_key_type == host_key_alg
        key = t.get_remote_server_key()
        expected = sshd.host_public_keys["ssh-rsa" if "rsa" in host_key_alg else host_key_alg]
        assert f"{key.get_name()} {key.get_base64()}" == expected
        _round_trip(t)  # before auth sshd answers UNIMPLEMENTED, which must not hang us
        t.auth_publickey(sshd.user, _key(sshd))
        _round_trip(t)
    finally:
        t.close()


@pytest.mark.parametrize(("cipher", "mac"), CIPHER_MAC, ids=lambda v: str(v))
def test_cipher_and_mac(sshd: SshdServer, cipher: str, mac: str | None) -> None:
    t = _connect(sshd)
    try:
        opts = t.get_security_options()
        opts.ciphers = (cipher,)
        if mac is not None:
            opts.digests = (mac,)
        t.start_client(timeout=20)
        assert t._core is not None and t._core.negotiated is not None
        n = t._core.negotiated
        assert (n.cipher_cs, n.cipher_sc, n.mac_cs, n.mac_sc) == (cipher, cipher, mac, mac)
        assert (t.local_cipher, t.remote_cipher, t.local_mac, t.remote_mac) == (
            cipher,
            cipher,
            mac,
            mac,
        )
        assert t.kex_engine_name == n.kex
        t.auth_publickey(sshd.user, _key(sshd))
        for _ in range(3):
            _round_trip(t)
    finally:
        t.close()


def test_compression(sshd: SshdServer, transport: Transport) -> None:
    transport.use_compression(True)
    transport.start_client(timeout=10)
    assert transport._core is not None and transport._core.negotiated is not None
    assert transport._core.negotiated.compression_cs == "zlib@openssh.com"
    transport.auth_publickey(sshd.user, _key(sshd))
    assert transport._core._writer.compression_active  # delayed compression started
    _round_trip(transport)


@pytest.mark.parametrize("name", ["ed25519", "ecdsa", "rsa"])
def test_publickey_each_type(sshd: SshdServer, transport: Transport, name: str) -> None:
    transport.start_client(timeout=10)
    key = _key(sshd, name)
    assert transport.auth_publickey(sshd.user, key) == []
    if name == "rsa":  # chosen from server-sig-algs: SHA-2, never ssh-rsa
        assert transport._pubkey_algorithm(key) == "rsa-sha2-512"


def test_rsa_sha256_when_512_disabled(sshd: SshdServer) -> None:
    t = _connect(sshd, disabled_algorithms={"pubkeys": ["rsa-sha2-512"]})
    try:
        t.start_client(timeout=10)
        key = _key(sshd, "rsa")
        assert t._pubkey_algorithm(key) == "rsa-sha2-256"
        assert t.auth_publickey(sshd.user, key) == []
    finally:
        t.close()


def test_user_certificate(sshd: SshdServer, transport: Transport) -> None:
    transport.start_client(timeout=10)
    from sshwire.ed25519key import Ed25519Key

    key = Ed25519Key.from_private_key_file(str(sshd.client_cert_key))
    with pytest.raises(AuthenticationException):  # not in authorized_keys on its own
        transport.auth_publickey(sshd.user, key)
    key.load_certificate(str(sshd.client_cert))
    assert transport.auth_publickey(sshd.user, key) == []
    # from_path picks up the neighbouring -cert.pub by itself, as paramiko's does
    assert PKey.from_path(sshd.client_cert_key).public_blob is not None


def test_unknown_key_is_refused(sshd: SshdServer, keygen: KeyFactory) -> None:
    t = _connect(sshd)
    try:
        t.start_client(timeout=10)
        stranger = PKey.from_path(keygen.make("ed25519").path)
        with pytest.raises(AuthenticationException) as info:
            t.auth_publickey(sshd.user, stranger)
        assert not isinstance(info.value, BadAuthenticationType)
        assert t.auth_publickey(sshd.user, _key(sshd)) == []  # a later attempt still works
    finally:
        t.close()


def test_auth_none_lists_methods(sshd: SshdServer, transport: Transport) -> None:
    transport.start_client(timeout=10)
    with pytest.raises(BadAuthenticationType) as info:
        transport.auth_none(sshd.user)
    assert "publickey" in info.value.allowed_types


def test_partial_success_two_keys(sshd: SshdServer) -> None:
    with sshd.start_with(["AuthenticationMethods publickey,publickey"]) as strict:
        t = _connect(strict)
        try:
            t.start_client(timeout=10)
            assert t.auth_publickey(strict.user, _key(strict, "ed25519")) == ["publickey"]
            assert not t.is_authenticated()
            assert t.auth_publickey(strict.user, _key(strict, "ecdsa")) == []
            assert t.is_authenticated()
        finally:
            t.close()


def test_auth_banner(sshd: SshdServer, tmp_path: Path) -> None:
    banner = tmp_path / "banner.txt"
    banner.write_text("Welcome to the sshwire test server\n")
    with sshd.start_with([f"Banner {banner}"]) as server:
        t = _connect(server)
        try:
            t.start_client(timeout=10)
            t.auth_publickey(server.user, _key(server))
            assert t.get_banner() == b"Welcome to the sshwire test server\n"
        finally:
            t.close()


def test_renegotiate_keys(sshd: SshdServer, transport: Transport) -> None:
    transport.start_client(timeout=10)
    transport.auth_publickey(sshd.user, _key(sshd))
    session_id = transport.session_id
    generation = transport._kex_generation
    transport.renegotiate_keys()
    assert transport._kex_generation == generation + 1
    assert transport.session_id == session_id
    _round_trip(transport)


def test_server_initiated_rekey_by_limit(sshd: SshdServer) -> None:
    with sshd.start_with(["RekeyLimit 64K"]) as server:
        t = _connect(server)
        try:
            t.start_client(timeout=10)
            t.auth_publickey(server.user, _key(server))
            for _ in range(200):  # ~2 MiB of traffic in IGNORE messages, with round trips
                t.send_ignore(10000)
                if t._kex_generation >= 4:
                    break
                _round_trip(t)
            assert t._kex_generation >= 4, "sshd's RekeyLimit should have rekeyed several times"
            _round_trip(t)
        finally:
            t.close()


def test_connect_checks_host_key(sshd: SshdServer) -> None:
    from sshwire.ed25519key import Ed25519Key

    line = sshd.host_public_keys["ssh-ed25519"]
    host_key = PKey.from_type_string("ssh-ed25519", __import__("base64").b64decode(line.split()[1]))
    assert isinstance(host_key, Ed25519Key)
    t = _connect(sshd)
    try:
        t.connect(hostkey=host_key, username=sshd.user, pkey=_key(sshd))
        assert t.is_authenticated()
    finally:
        t.close()
    wrong = PKey.from_path(sshd.client_keys["ed25519"])  # an ed25519 key, but not the host's
    t = _connect(sshd)
    try:
        with pytest.raises(SSHException, match="Bad host key"):
            t.connect(hostkey=wrong, username=sshd.user, pkey=_key(sshd))
    finally:
        t.close()


def test_password(sshd: SshdServer, sshd_password_user: PasswordUser) -> None:
    name, password = sshd_password_user
    t = _connect(sshd)
    try:
        t.start_client(timeout=10)
        with pytest.raises(AuthenticationException):
            t.auth_password(name, password + "-wrong", fallback=False)
        assert t.auth_password(name, password) == []
        assert t.get_username() == name
    finally:
        t.close()


def test_keyboard_interactive_pam(sshd: SshdServer, sshd_password_user: PasswordUser) -> None:
    name, password = sshd_password_user
    with sshd.start_with(["UsePAM yes", "PasswordAuthentication no"]) as pam:
        t = _connect(pam)
        try:
            t.start_client(timeout=10)
            rounds: list[list[tuple[str, bool]]] = []

            def handler(
                title: str, instructions: str, prompts: list[tuple[str, bool]]
            ) -> list[str]:
                rounds.append(prompts)
                return [password for _ in prompts]

            assert t.auth_interactive(name, handler) == []
            assert rounds and rounds[0] and not rounds[0][0][1]  # the password prompt, no echo
            t2 = _connect(pam)
            try:
                t2.start_client(timeout=10)
                # password auth is off: with fallback, auth_password uses keyboard-interactive
                assert t2.auth_password(name, password) == []
            finally:
                t2.close()
        finally:
            t.close()


def test_rekey_every_mib_during_channel_transfer(sshd: SshdServer) -> None:
    """sshd's RekeyLimit 1M while 32 MiB flow each way: nothing lost or reordered."""
    import hashlib
    import os

    with sshd.start_with(["RekeyLimit 1M"]) as server:
        t = _connect(server)
        try:
            t.start_client(timeout=10)
            t.auth_publickey(server.user, _key(server))
            payload = os.urandom(1 << 20) * 32
            up = t.open_session()
            up.exec_command("sha256sum")
            up.sendall(payload)
            up.shutdown_write()
            digest = b""
            while data := up.recv(1024):
                digest += data
            assert digest.split()[0].decode() == hashlib.sha256(payload).hexdigest()
            down = t.open_session()
            down.exec_command("head -c 33554432 /dev/zero | tr '\\0' 'x'")
            got = 0
            while data := down.recv(1 << 20):
                assert data.count(b"x") == len(data)
                got += len(data)
            assert got == 32 << 20
            assert t._kex_generation >= 30  # sshd rekeyed at every MiB
        finally:
            t.close()


def test_host_certificate_against_cert_authority(sshd: SshdServer) -> None:
    """The host certificate negotiated with sshd validates against a @cert-authority line."""
    from sshwire.hostkeys import HostKeys

    t = _connect(sshd)
    try:
        t.get_security_options().key_types = ("ssh-ed25519-cert-v01@openssh.com",)
        t.start_client(timeout=10)
        assert t.host_key_type == "ssh-ed25519-cert-v01@openssh.com"
        key = t.get_remote_server_key()
        assert key.public_blob is not None  # the certificate came with the key
        trusted = HostKeys(str(sshd.known_hosts_ca_path))
        host = f"[{sshd.host}]:{sshd.port}"
        assert trusted.check_certificate(host, key)
        assert not trusted.check_certificate("[other.example]:22", key)
        plain = HostKeys(str(sshd.known_hosts_path))
        assert plain.check(host, key)  # and the plain key inside matches the known key
    finally:
        t.close()


def test_hexdump_logs_packets(
    sshd: SshdServer, transport: Transport, caplog: pytest.LogCaptureFixture
) -> None:
    assert not transport.get_hexdump()
    transport.set_hexdump(True)
    assert transport.get_hexdump()
    transport.set_log_channel("sshwire.transport.dumped")
    assert transport.get_log_channel() == "sshwire.transport.dumped"
    with caplog.at_level(10, logger="sshwire.transport.dumped"):
        transport.start_client(timeout=10)
    lines = [r.getMessage() for r in caplog.records if r.name == "sshwire.transport.dumped"]
    assert any(line.startswith("OUT: 14 ") for line in lines)  # our KEXINIT (message 20)
    assert any(line.startswith("IN: 14 ") for line in lines)  # sshd's KEXINIT
    transport.set_hexdump(False)
    caplog.clear()
    with caplog.at_level(10, logger="sshwire.transport.dumped"):
        transport.auth_publickey(sshd.user, _key(sshd))
    assert not [r for r in caplog.records if r.getMessage().startswith(("IN: ", "OUT: "))]

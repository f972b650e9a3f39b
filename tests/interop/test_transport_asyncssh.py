"""Client Transport against an asyncssh server: kex, host keys, ciphers, MACs, user auth, rekey.

asyncssh is an independent implementation (its own kex, framing and auth code), so agreement
with it checks our wire format against something other than OpenSSH. One asyncssh server runs
per module on 127.0.0.1 in an asyncio event loop on a background thread; it accepts every
algorithm both libraries know, and our client narrows the offer per test through
``get_security_options()``. Test ids name the negotiated algorithms.
"""

from __future__ import annotations

import asyncio
import io
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

asyncssh = pytest.importorskip("asyncssh")

from asyncssh.encryption import get_encryption_algs  # noqa: E402
from asyncssh.kex import get_kex_algs  # noqa: E402
from asyncssh.mac import get_mac_algs  # noqa: E402

from sshwire._proto.algorithms.cipher import CIPHERS  # noqa: E402
from sshwire._proto.algorithms.mac import DEFAULT_MACS, MACS  # noqa: E402
from sshwire._proto.kex.mlkem import HAVE_MLKEM  # noqa: E402
from sshwire._proto.kex.negotiate import KEX_ALGORITHMS  # noqa: E402
from sshwire.ecdsakey import ECDSAKey  # noqa: E402
from sshwire.ed25519key import Ed25519Key  # noqa: E402
from sshwire.pkey import PKey  # noqa: E402
from sshwire.rsakey import RSAKey  # noqa: E402
from sshwire.ssh_exception import AuthenticationException  # noqa: E402
from sshwire.transport import Transport  # noqa: E402

pytestmark = [
    pytest.mark.timeout(30),
    # asyncssh (not sshwire) builds finite-field DH on cryptography's deprecated FFDH API
    pytest.mark.filterwarnings(
        "ignore:Diffie-Hellman over finite fields:cryptography.utils.CryptographyDeprecationWarning"
    ),
]

USER = "alice"
PASSWORD = "correct horse"
OTP = "424242"
BANNER = "asyncssh says hello\r\n"

_PEER_KEX = {a.decode() for a in get_kex_algs()}
_PEER_CIPHERS = {a.decode() for a in get_encryption_algs()}
_PEER_MACS = {a.decode() for a in get_mac_algs()}

MLKEM = "mlkem768x25519-sha256"
# every kex both sides know; ML-KEM is listed even when our backend lacks it, so that the
# test reports a loud skip instead of silently disappearing
KEX_BOTH = [k for k in KEX_ALGORITHMS if k in _PEER_KEX]
if MLKEM not in KEX_BOTH and MLKEM in _PEER_KEX:
    KEX_BOTH.append(MLKEM)
CIPHERS_BOTH = [c for c in CIPHERS if c in _PEER_CIPHERS]
MACS_BOTH = [m for m in MACS if m in _PEER_MACS]
CIPHER_MAC = [(c, None) for c in CIPHERS_BOTH if CIPHERS[c].is_aead] + [
    (c, m) for c in CIPHERS_BOTH if not CIPHERS[c].is_aead for m in MACS_BOTH
]
HOST_KEY_ALGS = [
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "rsa-sha2-256",
    "rsa-sha2-512",
]


def _combo_id(value: object) -> str:
    return "aead" if value is None else str(value)


class _Server(asyncssh.SSHServer):  # type: ignore[misc]
    """Password, one known public key, and a two-round keyboard-interactive dialogue."""

    def __init__(self, peer: AsyncsshPeer) -> None:
        self._peer = peer
        self._conn: Any = None

    def connection_made(self, conn: Any) -> None:
        self._conn = conn
        self._peer.connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        self._peer.connections.discard(self._conn)

    def begin_auth(self, username: str) -> bool:
        if self._peer.banner:
            self._conn.send_auth_banner(BANNER)
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return username == USER and password == PASSWORD

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: Any) -> bool:
        return username == USER and key.public_data in self._peer.client_blobs

    def kbdint_auth_supported(self) -> bool:
        return True

    def get_kbdint_challenge(self, username: str, lang: str, submethods: str) -> Any:
        return ("login", "first round", "", [("Password: ", False)])

    def validate_kbdint_response(self, username: str, responses: list[str]) -> Any:
        if list(responses) == [PASSWORD]:
            return ("token", "second round", "", [("One-time code: ", True)])
        return username == USER and list(responses) == [OTP]


class AsyncsshPeer:
    """An asyncssh server in its own event loop thread; ``stop()`` closes everything."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name="asyncssh-loop", daemon=True)
        self.connections: set[Any] = set()
        self.client_blobs: set[bytes] = set()
        self.client_keys: dict[str, PKey] = {}
        self.host_keys: dict[str, Any] = {}
        self.banner = False
        self.acceptor: Any = None
        self.port = 0

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def call(self, coro: Any, timeout: float = 20) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self) -> None:
        host_keys = [
            asyncssh.generate_private_key("ssh-ed25519"),
            asyncssh.generate_private_key("ecdsa-sha2-nistp256"),
            asyncssh.generate_private_key("ecdsa-sha2-nistp384"),
            asyncssh.generate_private_key("ecdsa-sha2-nistp521"),
            asyncssh.generate_private_key("ssh-rsa", key_size=2048),
        ]
        self.host_keys = {k.algorithm.decode(): k for k in host_keys}
        for name, alg, cls in (
            ("ed25519", "ssh-ed25519", Ed25519Key),
            ("ecdsa", "ecdsa-sha2-nistp256", ECDSAKey),
            ("rsa", "ssh-rsa", RSAKey),
        ):
            kw = {"key_size": 2048} if alg == "ssh-rsa" else {}
            key = asyncssh.generate_private_key(alg, **kw)
            text = key.export_private_key("openssh").decode()
            self.client_keys[name] = cls(file_obj=io.StringIO(text))
            self.client_blobs.add(key.public_data)
        self.thread.start()

        async def listen() -> Any:
            return await asyncssh.create_server(
                lambda: _Server(self),
                "127.0.0.1",
                0,
                server_host_keys=host_keys,
                kex_algs=[k for k in KEX_BOTH if k in _PEER_KEX],
                encryption_algs=CIPHERS_BOTH,
                mac_algs=MACS_BOTH,
                compression_algs=["none"],
                login_timeout=20,
            )

        self.acceptor = self.call(listen())
        self.port = self.acceptor.get_port()

    def stop(self) -> None:
        async def shut() -> None:
            self.acceptor.close()
            await self.acceptor.wait_closed()
            for conn in list(self.connections):
                conn.close()
                await conn.wait_closed()

        try:
            if self.acceptor is not None:
                self.call(shut())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            assert not self.thread.is_alive()
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.run_until_complete(self.loop.shutdown_default_executor())
            self.loop.close()


@pytest.fixture(scope="module")
def peer() -> Iterator[AsyncsshPeer]:
    server = AsyncsshPeer()
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _no_leaked_threads(peer: AsyncsshPeer) -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    leaked = [t for t in threading.enumerate() if t not in before]
    for t in leaked:
        t.join(10)
    assert not [t for t in leaked if t.is_alive()], "threads leaked"


@pytest.fixture
def transport(peer: AsyncsshPeer) -> Iterator[Transport]:
    t = Transport(socket.create_connection(("127.0.0.1", peer.port)))
    try:
        yield t
    finally:
        t.close()
        assert not t.is_alive()


def _negotiated(t: Transport) -> Any:
    assert t._core is not None and t._core.negotiated is not None
    return t._core.negotiated


def _round_trip(t: Transport) -> None:
    """Traffic both ways over the current keys: asyncssh refuses unknown global requests."""
    t.send_ignore(64)
    assert t.global_request("no-such-request@sshwire", wait=True) is None


# -------------------------------------------------------------------- (a) key exchange


@pytest.mark.parametrize("kex", KEX_BOTH)
def test_kex(transport: Transport, kex: str) -> None:
    if kex == MLKEM and not HAVE_MLKEM:
        pytest.skip(
            "!!! mlkem768x25519-sha256 NOT TESTED against asyncssh: this cryptography build "
            "has no ML-KEM (sshwire._proto.kex.mlkem.HAVE_MLKEM is False) !!!"
        )
    transport.get_security_options().kex = (kex,)
    transport.start_client(timeout=20)
    assert _negotiated(transport).kex == kex
    assert transport.auth_password(USER, PASSWORD) == []
    _round_trip(transport)


# -------------------------------------------------------------------- (b) host keys


@pytest.mark.parametrize("alg", HOST_KEY_ALGS)
def test_host_key(peer: AsyncsshPeer, transport: Transport, alg: str) -> None:
    transport.get_security_options().key_types = (alg,)
    transport.start_client(timeout=10)
    assert transport.host_key_type == alg
    key = transport.get_remote_server_key()
    expected = peer.host_keys["ssh-rsa" if alg.startswith("rsa-") else alg]
    assert key.get_name() == expected.algorithm.decode()
    assert key.asbytes() == expected.public_data
    assert transport.auth_password(USER, PASSWORD) == []


# -------------------------------------------------------------------- (c) ciphers and MACs


@pytest.mark.parametrize(("cipher", "mac"), CIPHER_MAC, ids=_combo_id)
def test_cipher_and_mac(transport: Transport, cipher: str, mac: str | None) -> None:
    opts = transport.get_security_options()
    opts.kex = ("curve25519-sha256",)
    opts.ciphers = (cipher,)
    opts.digests = (mac,) if mac else DEFAULT_MACS
    transport.start_client(timeout=10)
    n = _negotiated(transport)
    assert (n.cipher_cs, n.cipher_sc) == (cipher, cipher)
    assert (n.mac_cs, n.mac_sc) == (mac, mac)
    assert transport.auth_password(USER, PASSWORD) == []  # encrypted traffic both ways


# -------------------------------------------------------------------- (d) publickey, password


@pytest.mark.parametrize("name", ["ed25519", "ecdsa", "rsa"])
def test_auth_publickey(peer: AsyncsshPeer, transport: Transport, name: str) -> None:
    transport.start_client(timeout=10)
    assert transport.auth_publickey(USER, peer.client_keys[name]) == []
    # EXT_INFO precedes SERVICE_ACCEPT on the wire, so it is in by now
    assert b"rsa-sha2-256" in transport.server_extensions["server-sig-algs"]
    assert transport.is_authenticated() and transport.get_username() == USER
    _round_trip(transport)


def test_auth_publickey_unknown_key(transport: Transport) -> None:
    stranger = Ed25519Key(
        file_obj=io.StringIO(
            asyncssh.generate_private_key("ssh-ed25519").export_private_key("openssh").decode()
        )
    )
    transport.start_client(timeout=10)
    with pytest.raises(AuthenticationException):
        transport.auth_publickey(USER, stranger)
    assert not transport.is_authenticated()


def test_auth_password(transport: Transport) -> None:
    transport.start_client(timeout=10)
    assert transport.auth_password(USER, PASSWORD) == []
    assert transport.is_authenticated() and transport.get_username() == USER
    _round_trip(transport)


def test_auth_wrong_password(transport: Transport) -> None:
    transport.start_client(timeout=10)
    with pytest.raises(AuthenticationException):
        transport.auth_password(USER, "wrong", fallback=False)
    assert not transport.is_authenticated()
    # the connection survives a failed attempt
    assert transport.auth_password(USER, PASSWORD) == []


def test_auth_none_lists_methods(transport: Transport) -> None:
    from sshwire.ssh_exception import BadAuthenticationType

    transport.start_client(timeout=10)
    with pytest.raises(BadAuthenticationType) as info:
        transport.auth_none(USER)
    assert {"password", "publickey", "keyboard-interactive"} <= set(info.value.allowed_types)


def test_auth_banner(peer: AsyncsshPeer, transport: Transport) -> None:
    peer.banner = True
    try:
        transport.start_client(timeout=10)
        assert transport.auth_password(USER, PASSWORD) == []
        assert transport.get_banner() == BANNER.encode()
    finally:
        peer.banner = False


# -------------------------------------------------------------------- (e) keyboard-interactive


def test_auth_interactive(transport: Transport) -> None:
    seen: list[tuple[str, str, list[tuple[str, bool]]]] = []

    def handler(title: str, instructions: str, prompts: list[tuple[str, bool]]) -> list[str]:
        seen.append((title, instructions, list(prompts)))
        return [PASSWORD if "Password" in p else OTP for p, _ in prompts]

    transport.start_client(timeout=10)
    assert transport.auth_interactive(USER, handler) == []
    assert transport.is_authenticated()
    assert seen == [
        ("login", "first round", [("Password: ", False)]),
        ("token", "second round", [("One-time code: ", True)]),
    ]


def test_auth_interactive_wrong_answer(transport: Transport) -> None:
    transport.start_client(timeout=10)
    with pytest.raises(AuthenticationException):
        transport.auth_interactive(USER, lambda t, i, p: ["nope"] * len(p))
    assert not transport.is_authenticated()


# -------------------------------------------------------------------- (f) strict kex


def test_strict_kex_and_session_id(peer: AsyncsshPeer, transport: Transport) -> None:
    transport.start_client(timeout=10)
    assert transport.agreed_on_strict_kex
    assert transport.session_id is not None and len(transport.session_id) == 32  # sha256
    assert transport.remote_version.startswith("SSH-2.0-AsyncSSH")

    async def server_view() -> list[bool]:
        # earlier tests' connections may still be closing: pick ours by its session id
        return [c._strict_kex for c in peer.connections if c._session_id == transport.session_id]

    # asyncssh's own record of the exchange agrees with ours
    assert peer.call(server_view()) == [True]


def test_strict_kex_off(peer: AsyncsshPeer) -> None:
    t = Transport(socket.create_connection(("127.0.0.1", peer.port)), strict_kex=False)
    try:
        t.start_client(timeout=10)
        assert not t.agreed_on_strict_kex
        assert t.auth_password(USER, PASSWORD) == []
    finally:
        t.close()


# -------------------------------------------------------------------- (g) rekey


@pytest.mark.parametrize("authenticated", [False, True], ids=["before-auth", "after-auth"])
def test_renegotiate_keys(transport: Transport, authenticated: bool) -> None:
    transport.start_client(timeout=10)
    session_id = transport.session_id
    if authenticated:
        transport.auth_password(USER, PASSWORD)
    for _ in range(2):
        transport.renegotiate_keys()
        assert transport.session_id == session_id
        assert transport.is_active()
    if not authenticated:
        assert transport.auth_password(USER, PASSWORD) == []
    _round_trip(transport)

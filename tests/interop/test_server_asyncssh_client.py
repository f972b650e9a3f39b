"""asyncssh's client against sshwire's server ``Transport`` on loopback.

asyncssh is a second independent client implementation (its own kex, framing, auth and
channel code). Each test runs its asyncssh client in a fresh event loop (``asyncio.run``) in
the test thread; the server is ``_server_harness.SshwireServer`` (one sshwire server Transport
per connection, every host key type loaded, every sshwire algorithm enabled).

Covered: every kex both libraries know (ML-KEM hybrid and group exchange included), every
cipher x MAC pair both know, each host key type, publickey / password / keyboard-interactive
auth, exec with exit status and 8 MiB each way checked by sha256, strict kex, rekeys started
by either side in the middle of a transfer, and zlib / zlib@openssh.com compression.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

asyncssh = pytest.importorskip("asyncssh")

from asyncssh.compression import get_compression_algs  # noqa: E402
from asyncssh.encryption import get_encryption_algs  # noqa: E402
from asyncssh.kex import get_kex_algs  # noqa: E402
from asyncssh.mac import get_mac_algs  # noqa: E402

import sshwire  # noqa: E402
import sshwire._serving  # noqa: E402
from _server_harness import (  # noqa: E402
    BANNER,
    LOOPBACK,
    OTP,
    PASSWORD,
    USER,
    Policy,
    Served,
    SshwireServer,
    make_host_keys,
    private_pem,
    sshwire_server,
)
from sshwire._proto.algorithms.cipher import CIPHERS  # noqa: E402
from sshwire._proto.algorithms.mac import MACS  # noqa: E402
from sshwire._proto.kex.mlkem import HAVE_MLKEM  # noqa: E402
from sshwire._proto.kex.negotiate import KEX_ALGORITHMS  # noqa: E402

pytestmark = [
    pytest.mark.timeout(30),
    # asyncssh (not sshwire) builds finite-field DH on cryptography's deprecated FFDH API
    pytest.mark.filterwarnings(
        "ignore:Diffie-Hellman over finite fields:cryptography.utils.CryptographyDeprecationWarning"
    ),
]

_PEER_KEX = {a.decode() for a in get_kex_algs()}
_PEER_CIPHERS = {a.decode() for a in get_encryption_algs()}
_PEER_MACS = {a.decode() for a in get_mac_algs()}
_PEER_COMPRESSION = {a.decode() for a in get_compression_algs()}

MLKEM = "mlkem768x25519-sha256"
KEX_BOTH = [k for k in KEX_ALGORITHMS if k in _PEER_KEX]
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
GEX = [k for k in KEX_BOTH if "group-exchange" in k]
MODULI = "/etc/ssh/moduli"
BIG = 8 << 20


def _combo_id(value: object) -> str:
    return "aead" if value is None else str(value)


def _enable_everything(transport: sshwire.Transport) -> None:
    options = transport.get_security_options()
    options.kex = tuple(KEX_ALGORITHMS)
    options.ciphers = tuple(CIPHERS)
    options.digests = tuple(MACS)


# ------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def host_keys() -> dict[str, sshwire.PKey]:
    return make_host_keys()


@pytest.fixture
def server(host_keys: dict[str, sshwire.PKey]) -> Iterator[Callable[..., SshwireServer]]:
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


def _known_hosts(host_keys: dict[str, sshwire.PKey]) -> tuple[list[Any], list[Any], list[Any]]:
    trusted = [
        asyncssh.import_public_key(f"{k.get_name()} {k.get_base64()}") for k in host_keys.values()
    ]
    return (trusted, [], [])


def _options(host_keys: dict[str, sshwire.PKey], **overrides: Any) -> dict[str, Any]:
    """asyncssh connect options: no user config, no agent, no default keys, pinned host keys."""
    options: dict[str, Any] = {
        "username": USER,
        "password": PASSWORD,
        "known_hosts": _known_hosts(host_keys),
        "config": None,
        "agent_path": None,
        "client_keys": None,
        # asyncssh would answer our two-round keyboard-interactive with the password and
        # then give up at the second prompt; the kbdint tests ask for that method themselves
        "preferred_auth": "password",
        "login_timeout": 20,
    }
    options.update(overrides)
    return options


def _served(srv: SshwireServer) -> Served:
    served = srv.next(10)
    assert served.ready.wait(10)
    return served


async def _echo(conn: Any, data: bytes, command: str = "echo") -> None:
    """exec ``command`` (an echo): data comes back intact; stderr has size and sha256."""
    result = await asyncio.wait_for(
        conn.run(command, input=data, encoding=None, check=False), timeout=25
    )
    assert result.exit_status == 0
    assert len(result.stdout) == len(data)
    assert hashlib.sha256(result.stdout).digest() == hashlib.sha256(data).digest()
    assert result.stderr == f"{len(data)} {hashlib.sha256(data).hexdigest()}\n".encode()


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


# ------------------------------------------------------------------------------------ algorithms


@pytest.mark.parametrize("kex", [*KEX_BOTH, *([MLKEM] if MLKEM not in KEX_BOTH else [])])
def test_kex(server: Any, host_keys: dict[str, sshwire.PKey], kex: str) -> None:
    if kex == MLKEM and not HAVE_MLKEM:
        pytest.skip("the cryptography backend has no ML-KEM")
    assert kex in _PEER_KEX
    srv = server()

    async def main() -> None:
        async with asyncssh.connect(
            LOOPBACK, srv.port, **_options(host_keys, kex_algs=[kex])
        ) as conn:
            await _echo(conn, os.urandom(20_000))

    _run(main())
    served = _served(srv)
    assert served.transport.agreed_on_strict_kex


@pytest.fixture
def restore_moduli() -> Iterator[None]:
    saved = {bits: list(groups) for bits, groups in sshwire._serving._MODULI.items()}
    yield
    sshwire._serving._MODULI.clear()
    sshwire._serving._MODULI.update(saved)


@pytest.mark.parametrize("kex", GEX)
def test_group_exchange_with_moduli(
    server: Any, host_keys: dict[str, sshwire.PKey], restore_moduli: None, kex: str
) -> None:
    if not os.path.exists(MODULI):
        pytest.skip(f"{MODULI} is missing (Debian's openssh-server ships it)")
    assert sshwire.Transport.load_server_moduli(MODULI)
    srv = server()

    async def main() -> None:
        async with asyncssh.connect(
            LOOPBACK, srv.port, **_options(host_keys, kex_algs=[kex])
        ) as conn:
            await _echo(conn, b"gex")

    _run(main())


@pytest.mark.parametrize(("cipher", "mac"), CIPHER_MAC, ids=_combo_id)
def test_cipher_mac(
    server: Any, host_keys: dict[str, sshwire.PKey], cipher: str, mac: str | None
) -> None:
    srv = server()
    macs = [mac] if mac else ["hmac-sha2-256"]

    async def main() -> None:
        async with asyncssh.connect(
            LOOPBACK,
            srv.port,
            **_options(
                host_keys, kex_algs=["curve25519-sha256"], encryption_algs=[cipher], mac_algs=macs
            ),
        ) as conn:
            assert conn.get_extra_info("send_cipher") == cipher
            assert conn.get_extra_info("recv_cipher") == cipher
            if mac is not None:
                assert conn.get_extra_info("send_mac") == mac
                assert conn.get_extra_info("recv_mac") == mac
            await _echo(conn, os.urandom(70_000))

    _run(main())


@pytest.mark.parametrize("algorithm", HOST_KEY_ALGS)
def test_host_key_types(server: Any, host_keys: dict[str, sshwire.PKey], algorithm: str) -> None:
    srv = server()
    key_type = "ssh-rsa" if algorithm.startswith("rsa-") else algorithm
    expected = host_keys[key_type].asbytes()

    async def main() -> bytes:
        async with asyncssh.connect(
            LOOPBACK,
            srv.port,
            **_options(host_keys, server_host_key_algs=[algorithm], kex_algs=["curve25519-sha256"]),
        ) as conn:
            await _echo(conn, b"hi")
            return bytes(conn.get_server_host_key().public_data)

    assert _run(main()) == expected
    assert _served(srv).transport.get_server_key().asbytes() == expected


def test_unknown_host_key_is_refused(server: Any) -> None:
    srv = server()
    others = make_host_keys()  # not the server's keys

    async def main() -> None:
        async with asyncssh.connect(LOOPBACK, srv.port, **_options(others)):
            pass  # pragma: no cover - the connection must fail

    with pytest.raises(asyncssh.HostKeyNotVerifiable):
        _run(main())


@pytest.mark.parametrize("compression", [c for c in ("zlib@openssh.com", "zlib")])
def test_compression(server: Any, host_keys: dict[str, sshwire.PKey], compression: str) -> None:
    if compression not in _PEER_COMPRESSION:
        pytest.skip(f"asyncssh does not offer {compression}")

    def setup(transport: sshwire.Transport) -> None:
        _enable_everything(transport)
        transport.use_compression(True)

    srv = server(setup=setup)
    text = b"compress me, please; " * 50_000 + os.urandom(100_000)

    async def main() -> None:
        async with asyncssh.connect(
            LOOPBACK, srv.port, **_options(host_keys, compression_algs=[compression])
        ) as conn:
            assert conn.get_extra_info("send_compression") == compression
            assert conn.get_extra_info("recv_compression") == compression
            await _echo(conn, text)
            await _echo(conn, os.urandom(1000))

    _run(main())


# ------------------------------------------------------------------------------------ auth

PUBKEY_CASES = [
    ("ed25519", "ssh-ed25519"),
    ("ecdsa256", "ecdsa-sha2-nistp256"),
    ("ecdsa521", "ecdsa-sha2-nistp521"),
    ("rsa", "rsa-sha2-256"),
    ("rsa", "rsa-sha2-512"),
]


@pytest.fixture(scope="module")
def user_pems() -> dict[str, str]:
    return {kind: private_pem(kind) for kind in ("ed25519", "ecdsa256", "ecdsa521", "rsa")}


@pytest.mark.parametrize(("kind", "algorithm"), PUBKEY_CASES, ids=[a for _, a in PUBKEY_CASES])
def test_publickey(
    server: Any,
    host_keys: dict[str, sshwire.PKey],
    user_pems: dict[str, str],
    kind: str,
    algorithm: str,
) -> None:
    """The server accepts only ``algorithm`` for user keys; asyncssh signs with it."""
    key = asyncssh.import_private_key(user_pems[kind])
    blob = bytes(key.public_data)
    others = [a for a in ("rsa-sha2-256", "rsa-sha2-512") if a != algorithm]

    def setup(transport: sshwire.Transport) -> None:
        _enable_everything(transport)
        transport.disabled_algorithms = {"pubkeys": others}

    srv = server(lambda: Policy(authorized=[blob]), setup)

    async def main(sig_algs: list[str]) -> None:
        async with asyncssh.connect(
            LOOPBACK,
            srv.port,
            **_options(
                host_keys,
                password=None,
                client_keys=[key],
                signature_algs=sig_algs,
                preferred_auth="publickey",
            ),
        ) as conn:
            await _echo(conn, b"key ok")

    _run(main([algorithm]))
    served = _served(srv)
    assert served.transport.get_username() == USER
    assert ("publickey", USER, "ssh-rsa" if kind == "rsa" else algorithm) in served.policy.auth_log
    if others:  # an RSA signature algorithm the server turned off is refused
        with pytest.raises(asyncssh.PermissionDenied):
            _run(main(others))


def test_publickey_unknown_key_is_refused(
    server: Any, host_keys: dict[str, sshwire.PKey], user_pems: dict[str, str]
) -> None:
    srv = server(lambda: Policy(authorized=[]))
    key = asyncssh.import_private_key(user_pems["ed25519"])

    async def main() -> None:
        async with asyncssh.connect(
            LOOPBACK,
            srv.port,
            **_options(host_keys, password=None, client_keys=[key], preferred_auth="publickey"),
        ):
            pass  # pragma: no cover

    with pytest.raises(asyncssh.PermissionDenied):
        _run(main())


def test_password(server: Any, host_keys: dict[str, sshwire.PKey]) -> None:
    srv = server()

    async def main(password: str) -> None:
        async with asyncssh.connect(
            LOOPBACK, srv.port, **_options(host_keys, password=password, preferred_auth="password")
        ) as conn:
            await _echo(conn, b"password ok")

    with pytest.raises(asyncssh.PermissionDenied):
        _run(main("wrong"))
    _run(main(PASSWORD))
    _served(srv)
    served = _served(srv)
    assert ("password", USER, PASSWORD) in served.policy.auth_log


class _KbdClient(asyncssh.SSHClient):  # type: ignore[misc]
    def __init__(self, answers: list[str]) -> None:
        self.answers = answers
        self.rounds: list[tuple[str, str, list[tuple[str, bool]]]] = []
        self.banner: str | None = None

    def auth_banner_received(self, msg: str, lang: str) -> None:
        self.banner = msg

    def kbdint_auth_requested(self) -> str:
        return ""

    def kbdint_challenge_received(
        self, name: str, instructions: str, lang: str, prompts: list[tuple[str, bool]]
    ) -> list[str] | None:
        self.rounds.append((name, instructions, list(prompts)))
        if len(self.rounds) > len(self.answers):
            return None  # out of answers: asyncssh gives up on this method
        return [self.answers[len(self.rounds) - 1]] * len(prompts)


@pytest.mark.parametrize("good", [True, False], ids=["right-answers", "wrong-otp"])
def test_keyboard_interactive_and_banner(
    server: Any, host_keys: dict[str, sshwire.PKey], good: bool
) -> None:
    srv = server()
    client = _KbdClient([PASSWORD, OTP if good else "000000"])

    async def main() -> None:
        conn, _ = await asyncssh.create_connection(
            lambda: client,
            LOOPBACK,
            srv.port,
            **_options(host_keys, password=None, preferred_auth="keyboard-interactive"),
        )
        async with conn:
            await _echo(conn, b"kbdint ok")

    if good:
        _run(main())
    else:
        with pytest.raises(asyncssh.PermissionDenied):
            _run(main())
    assert client.rounds[:2] == [
        ("sshwire login", "Two questions.", [("Password: ", False)]),
        ("second factor", "", [("One-time code: ", True)]),
    ]
    # after a wrong code the server starts over with the first question
    assert client.rounds[2:] == ([] if good else [client.rounds[0]])
    assert client.banner == BANNER


def test_two_factor(
    server: Any, host_keys: dict[str, sshwire.PKey], user_pems: dict[str, str]
) -> None:
    key = asyncssh.import_private_key(user_pems["ed25519"])
    srv = server(lambda: Policy(authorized=[bytes(key.public_data)], two_factor=True))

    async def main() -> None:
        async with asyncssh.connect(
            LOOPBACK,
            srv.port,
            **_options(host_keys, client_keys=[key], preferred_auth="publickey,password"),
        ) as conn:
            await _echo(conn, b"two factors")

    _run(main())
    served = _served(srv)
    methods = [m for m, _, _ in served.policy.auth_log if m != "none"]
    # asyncssh may first ask whether the key would do (PK_OK), then sign: both reach the hook
    assert methods in (["publickey", "password"], ["publickey", "publickey", "password"])


# ------------------------------------------------------------------------------------ sessions


def test_exec_exit_status_and_streams(server: Any, host_keys: dict[str, sshwire.PKey]) -> None:
    srv = server()

    async def main() -> Any:
        async with asyncssh.connect(LOOPBACK, srv.port, **_options(host_keys)) as conn:
            with pytest.raises(asyncssh.ChannelOpenError):  # asyncssh's word for a refused exec
                await conn.run("no-such-command", check=False)
            return await conn.run("status 42 a b", input="stdin text", check=False)

    result = _run(main())
    assert result.exit_status == 42
    assert result.stdout == "out:stdin text"
    assert result.stderr == "err:a b"


def test_large_data_both_ways(server: Any, host_keys: dict[str, sshwire.PKey]) -> None:
    """8 MiB up and the same 8 MiB back down on one channel, checked by sha256."""
    srv = server()
    data = os.urandom(BIG)

    async def main() -> None:
        async with asyncssh.connect(LOOPBACK, srv.port, **_options(host_keys)) as conn:
            await _echo(conn, data)

    _run(main())
    assert _served(srv).transport.agreed_on_strict_kex


def test_large_download(server: Any, host_keys: dict[str, sshwire.PKey]) -> None:
    srv = server()

    async def main() -> Any:
        async with asyncssh.connect(LOOPBACK, srv.port, **_options(host_keys)) as conn:
            return await conn.run(f"source {BIG}", input=b"go", encoding=None, check=False)

    result = _run(main())
    assert result.exit_status == 0
    assert len(result.stdout) == BIG
    assert hashlib.sha256(result.stdout).hexdigest().encode() == result.stderr


def _kex_count(transport: sshwire.Transport) -> int:
    # sshwire has no public rekey counter; the transport counts completed exchanges here
    return int(transport._kex_generation)


def test_client_rekeys_mid_transfer(server: Any, host_keys: dict[str, sshwire.PKey]) -> None:
    """asyncssh rekeys every 1 MiB it sends: 8 MiB each way arrive intact across the rekeys."""
    srv = server()
    data = os.urandom(BIG)

    async def main() -> None:
        async with asyncssh.connect(
            LOOPBACK, srv.port, **_options(host_keys, rekey_bytes=1 << 20)
        ) as conn:
            await _echo(conn, data)

    _run(main())
    served = _served(srv)
    assert _kex_count(served.transport) >= 8


def test_server_rekeys_mid_transfer(server: Any, host_keys: dict[str, sshwire.PKey]) -> None:
    """The sshwire server starts a rekey after every 2 MiB it receives, mid-transfer."""
    srv = server()
    data = os.urandom(BIG)

    async def main() -> None:
        async with asyncssh.connect(LOOPBACK, srv.port, **_options(host_keys)) as conn:
            await _echo(conn, data, command=f"echo rekey {2 << 20}")

    _run(main())
    served = _served(srv)
    rekeys = [served.policy.results.get_nowait() for _ in range(served.policy.results.qsize())]
    assert len(rekeys) == 4 and all(r[0] == "rekeyed at" for r in rekeys)
    assert _kex_count(served.transport) == 1 + 4


def test_many_channels_concurrently(server: Any, host_keys: dict[str, sshwire.PKey]) -> None:
    srv = server()

    async def main() -> None:
        async with asyncssh.connect(LOOPBACK, srv.port, **_options(host_keys)) as conn:
            await asyncio.gather(*(_echo(conn, os.urandom(100_000 + i)) for i in range(16)))

    _run(main())


def test_server_respects_a_small_client_window(
    server: Any, host_keys: dict[str, sshwire.PKey]
) -> None:
    srv = server()

    async def main() -> Any:
        async with asyncssh.connect(LOOPBACK, srv.port, **_options(host_keys)) as conn:
            return await conn.run(
                "source 300000",
                input=b"go",
                encoding=None,
                check=False,
                window=40_000,
                max_pktsize=32768,
            )

    result = _run(main())
    assert len(result.stdout) == 300_000
    assert hashlib.sha256(result.stdout).hexdigest().encode() == result.stderr

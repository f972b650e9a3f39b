"""KEXINIT: building, parsing and algorithm negotiation (RFC 4253 §7.1).

Theory of operation
-------------------
Each side sends one KEXINIT listing, per category, the algorithms it accepts in preference
order. For each category the first algorithm in the *client's* list that the server also
lists wins. The kex list also carries pseudo-algorithms that never win but signal features:
``ext-info-c``/``ext-info-s`` (RFC 8308) and ``kex-strict-c/s-v00@openssh.com`` (OpenSSH's
strict kex, the Terrapin countermeasure). :func:`make_client` / :func:`make_server` build the
per-method exchange state machines once the method is known.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields

from cryptography.hazmat.primitives.asymmetric import ec

from ...ssh_exception import IncompatiblePeer
from .. import wire
from ..constants import MSG_KEXINIT
from .base import (
    ClientExchange,
    KexFailed,
    KexInputs,
    Rng,
    ServerExchange,
    Signer,
    SingleRound,
    SingleRoundClient,
    SingleRoundServer,
)
from .curve25519 import Curve25519
from .dh import DhGroup
from .ecdh import Ecdh
from .gex import GexClient, GexServer, GroupChooser, builtin_group
from .mlkem import HAVE_MLKEM, MlKem768X25519

EXT_INFO_C = "ext-info-c"
EXT_INFO_S = "ext-info-s"
STRICT_KEX_C = "kex-strict-c-v00@openssh.com"
STRICT_KEX_S = "kex-strict-s-v00@openssh.com"
PSEUDO_ALGORITHMS = frozenset({EXT_INFO_C, EXT_INFO_S, STRICT_KEX_C, STRICT_KEX_S})

_SINGLE_ROUND: dict[str, Callable[[Rng], SingleRound]] = {
    "curve25519-sha256": lambda rng: Curve25519(rng),
    "curve25519-sha256@libssh.org": lambda rng: Curve25519(rng),
    "ecdh-sha2-nistp256": lambda rng: Ecdh(rng, ec.SECP256R1(), "sha256"),
    "ecdh-sha2-nistp384": lambda rng: Ecdh(rng, ec.SECP384R1(), "sha384"),
    "ecdh-sha2-nistp521": lambda rng: Ecdh(rng, ec.SECP521R1(), "sha512"),
    "diffie-hellman-group14-sha256": lambda rng: DhGroup(rng, 2048, "sha256"),
    "diffie-hellman-group16-sha512": lambda rng: DhGroup(rng, 4096, "sha512"),
    "diffie-hellman-group18-sha512": lambda rng: DhGroup(rng, 8192, "sha512"),
    "diffie-hellman-group14-sha1": lambda rng: DhGroup(rng, 2048, "sha1"),
    "diffie-hellman-group1-sha1": lambda rng: DhGroup(rng, 1024, "sha1"),
}
if HAVE_MLKEM:
    _SINGLE_ROUND["mlkem768x25519-sha256"] = lambda rng: MlKem768X25519(rng)

_GEX = {
    "diffie-hellman-group-exchange-sha256": "sha256",
    "diffie-hellman-group-exchange-sha1": "sha1",
}

KEX_ALGORITHMS: tuple[str, ...] = (*_SINGLE_ROUND, *_GEX)
LEGACY_KEX = frozenset(
    {
        "diffie-hellman-group14-sha1",
        "diffie-hellman-group1-sha1",
        "diffie-hellman-group-exchange-sha1",
    }
)
DEFAULT_KEX: tuple[str, ...] = tuple(
    name
    for name in (
        "mlkem768x25519-sha256",
        "curve25519-sha256",
        "curve25519-sha256@libssh.org",
        "ecdh-sha2-nistp256",
        "ecdh-sha2-nistp384",
        "ecdh-sha2-nistp521",
        "diffie-hellman-group-exchange-sha256",
        "diffie-hellman-group16-sha512",
        "diffie-hellman-group18-sha512",
        "diffie-hellman-group14-sha256",
    )
    if name in KEX_ALGORITHMS
)


class NoCommonAlgorithm(KexFailed, IncompatiblePeer):
    """The two sides share no algorithm in some category."""


@dataclass
class KexInit:
    """The fields of one KEXINIT message (RFC 4253 §7.1)."""

    kex: list[str]
    host_key: list[str]
    cipher_cs: list[str]
    cipher_sc: list[str]
    mac_cs: list[str]
    mac_sc: list[str]
    compression_cs: list[str]
    compression_sc: list[str]
    language_cs: list[str] = field(default_factory=list)
    language_sc: list[str] = field(default_factory=list)
    first_kex_follows: bool = False
    cookie: bytes = bytes(16)

    def encode(self) -> bytes:
        lists = [getattr(self, f.name) for f in fields(self)[:10]]
        return b"".join(
            (
                wire.byte(MSG_KEXINIT),
                self.cookie,
                *(wire.name_list(names) for names in lists),
                wire.boolean(self.first_kex_follows),
                wire.uint32(0),
            )
        )

    @classmethod
    def parse(cls, body: wire.Reader) -> KexInit:
        """Parse a KEXINIT body (the reader positioned after the message number)."""
        cookie = body.raw(16)
        lists = [body.name_list() for _ in range(10)]
        follows = body.boolean()
        body.uint32()  # reserved
        # RFC 4253 leaves no room for trailing data, but be lenient as OpenSSH is
        kx, hk, c_cs, c_sc, m_cs, m_sc, z_cs, z_sc, l_cs, l_sc = lists
        return cls(kx, hk, c_cs, c_sc, m_cs, m_sc, z_cs, z_sc, l_cs, l_sc, follows, cookie)


@dataclass(frozen=True)
class Negotiated:
    kex: str
    host_key: str
    cipher_cs: str
    cipher_sc: str
    mac_cs: str | None  # None when the cipher is an AEAD one
    mac_sc: str | None
    compression_cs: str
    compression_sc: str
    strict: bool  # both sides offered strict kex
    guess_wrong: bool  # the peer's first_kex_packet_follows guess must be ignored


def _pick(category: str, client: Sequence[str], server: Sequence[str]) -> str:
    offered = set(server)
    for name in client:
        if name in offered and name not in PSEUDO_ALGORITHMS:
            return name
    raise NoCommonAlgorithm(
        f"no matching {category} algorithm: we and the peer offered "
        f"{', '.join(client) or '(none)'} / {', '.join(server) or '(none)'}"
    )


def negotiate(client: KexInit, server: KexInit, *, aead: frozenset[str]) -> Negotiated:
    """Choose algorithms from the two KEXINITs; ``aead`` names ciphers that carry their own MAC."""
    kex = _pick("key exchange", client.kex, server.kex)
    host_key = _pick("host key", client.host_key, server.host_key)
    cipher_cs = _pick("client-to-server cipher", client.cipher_cs, server.cipher_cs)
    cipher_sc = _pick("server-to-client cipher", client.cipher_sc, server.cipher_sc)
    mac_cs = (
        None if cipher_cs in aead else _pick("client-to-server MAC", client.mac_cs, server.mac_cs)
    )
    mac_sc = (
        None if cipher_sc in aead else _pick("server-to-client MAC", client.mac_sc, server.mac_sc)
    )
    comp_cs = _pick("client-to-server compression", client.compression_cs, server.compression_cs)
    comp_sc = _pick("server-to-client compression", client.compression_sc, server.compression_sc)
    strict = STRICT_KEX_C in client.kex and STRICT_KEX_S in server.kex
    # RFC 4253 §7: a guess is right only if both first kex and first host key entries agree
    guess_right = bool(
        client.kex
        and server.kex
        and client.kex[0] == server.kex[0]
        and client.host_key
        and server.host_key
        and client.host_key[0] == server.host_key[0]
    )
    return Negotiated(
        kex,
        host_key,
        cipher_cs,
        cipher_sc,
        mac_cs,
        mac_sc,
        comp_cs,
        comp_sc,
        strict,
        not guess_right,
    )


def make_client(name: str, inputs: KexInputs, rng: Rng) -> ClientExchange:
    if name in _GEX:
        return GexClient(inputs, rng, _GEX[name])
    method: SingleRound = _SINGLE_ROUND[name](rng)
    return SingleRoundClient(method, inputs, rng)


def make_server(
    name: str,
    inputs: KexInputs,
    rng: Rng,
    host_key: bytes,
    sign: Signer,
    choose_group: GroupChooser = builtin_group,
) -> ServerExchange:
    if name in _GEX:
        return GexServer(inputs, rng, host_key, sign, _GEX[name], choose_group)
    method: SingleRound = _SINGLE_ROUND[name](rng)
    return SingleRoundServer(method, inputs, rng, host_key, sign)


def hash_for(name: str) -> str:
    """The hash function a kex method uses for H and key derivation."""
    if name in _GEX:
        return _GEX[name]
    return _SINGLE_ROUND[name](lambda n: bytes(n)).hash_name

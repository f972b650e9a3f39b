"""Key exchange methods, run client against server in memory (no sockets)."""

from __future__ import annotations

import hashlib
import os

import pytest

from sshwire._proto import wire
from sshwire._proto.kex import negotiate as neg
from sshwire._proto.kex.base import KexFailed, KexInputs, KexOutput
from sshwire._proto.kex.derive import derive_key
from sshwire._proto.kex.groups import modp_prime
from sshwire._proto.kex.mlkem import HAVE_MLKEM

INPUTS = KexInputs(b"SSH-2.0-client", b"SSH-2.0-server", b"\x14client-kexinit", b"\x14server")
HOST_KEY = wire.string("ssh-test") + wire.string(b"public")


def _run(name: str) -> tuple[KexOutput, KexOutput]:
    client = neg.make_client(name, INPUTS, os.urandom)
    server = neg.make_server(name, INPUTS, os.urandom, HOST_KEY, lambda h: b"sig:" + h)
    to_server = client.start()
    for _ in range(4):
        r = wire.Reader(to_server)
        reply, server_out = server.receive(r.byte(), r)
        r = wire.Reader(reply)
        result = client.receive(r.byte(), r)
        if isinstance(result, KexOutput):
            assert server_out is not None
            return result, server_out
        to_server = result
    raise AssertionError("exchange did not finish")


@pytest.mark.parametrize("name", neg.KEX_ALGORITHMS)
def test_client_and_server_agree(name: str) -> None:
    c, s = _run(name)
    assert c.k == s.k and c.h == s.h
    assert c.host_key == HOST_KEY
    assert c.signature == b"sig:" + c.h
    assert len(c.h) == hashlib.new(neg.hash_for(name)).digest_size


def test_mlkem_offered_when_backend_has_it() -> None:
    if not HAVE_MLKEM:
        pytest.skip("LOUD: this cryptography backend lacks ML-KEM; mlkem768x25519 is not offered")
    assert neg.DEFAULT_KEX[0] == "mlkem768x25519-sha256"


def test_legacy_kex_never_default() -> None:
    assert not neg.LEGACY_KEX & set(neg.DEFAULT_KEX)


def test_x25519_low_order_point_refused() -> None:
    client = neg.make_client("curve25519-sha256", INPUTS, os.urandom)
    client.start()
    reply = wire.byte(31) + wire.string(HOST_KEY) + wire.string(bytes(32)) + wire.string(b"s")
    r = wire.Reader(reply)
    with pytest.raises(KexFailed):
        client.receive(r.byte(), r)


@pytest.mark.parametrize("value", [0, 1, "p-1", "p"])
def test_dh_public_out_of_range_refused(value: int | str) -> None:
    p = modp_prime(2048)
    f = {"p-1": p - 1, "p": p}.get(value, value)  # type: ignore[call-overload]
    client = neg.make_client("diffie-hellman-group14-sha256", INPUTS, os.urandom)
    client.start()
    reply = wire.byte(31) + wire.string(HOST_KEY) + wire.mpint(f) + wire.string(b"s")
    r = wire.Reader(reply)
    with pytest.raises(KexFailed):
        client.receive(r.byte(), r)


def test_ecdh_invalid_point_refused() -> None:
    client = neg.make_client("ecdh-sha2-nistp256", INPUTS, os.urandom)
    client.start()
    bad = b"\x04" + bytes(64)
    reply = wire.byte(31) + wire.string(HOST_KEY) + wire.string(bad) + wire.string(b"s")
    r = wire.Reader(reply)
    with pytest.raises(KexFailed):
        client.receive(r.byte(), r)


def test_wrong_message_refused() -> None:
    client = neg.make_client("curve25519-sha256", INPUTS, os.urandom)
    client.start()
    r = wire.Reader(wire.byte(33))
    with pytest.raises(KexFailed, match="expected"):
        client.receive(r.byte(), r)


def test_modp_primes_match_rfc_3526_text() -> None:
    # the first and last 64 bits are all ones, and group 14's published hex (RFC 3526 §3)
    # starts and ends as below
    p = modp_prime(2048)
    assert p >> (2048 - 64) == 2**64 - 1 and p & (2**64 - 1) == 2**64 - 1
    assert hex(p).startswith("0xffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd1")
    assert hex(p).endswith("15728e5a8aacaa68ffffffffffffffff")
    # and each is a (probable) prime: Fermat test to base 3
    for bits in (1024, 2048, 3072, 4096):
        q = modp_prime(bits)
        assert pow(3, q - 1, q) == 1


def test_derive_key_rfc4253_construction() -> None:
    k, h, sid = wire.mpint(12345), b"H" * 32, b"S" * 32
    first = hashlib.sha256(k + h + b"A" + sid).digest()
    second = hashlib.sha256(k + h + first).digest()
    assert derive_key("sha256", k, h, b"A", sid, 64) == first + second
    assert derive_key("sha256", k, h, b"A", sid, 16) == first[:16]


def _kexinit(kex: list[str], host: list[str], cipher: list[str], mac: list[str]) -> neg.KexInit:
    return neg.KexInit(kex, host, cipher, cipher, mac, mac, ["none"], ["none"])


def test_negotiation_prefers_client_order_and_ignores_pseudo() -> None:
    client = _kexinit(
        ["curve25519-sha256", "ecdh-sha2-nistp256", neg.EXT_INFO_C, neg.STRICT_KEX_C],
        ["ssh-ed25519", "rsa-sha2-256"],
        ["aes128-gcm@openssh.com", "aes128-ctr"],
        ["hmac-sha2-256"],
    )
    server = _kexinit(
        ["ecdh-sha2-nistp256", "curve25519-sha256", neg.STRICT_KEX_S],
        ["rsa-sha2-256", "ssh-ed25519"],
        ["aes128-ctr", "aes128-gcm@openssh.com"],
        ["hmac-sha1"],
    )
    got = neg.negotiate(client, server, aead=frozenset({"aes128-gcm@openssh.com"}))
    assert got.kex == "curve25519-sha256" and got.host_key == "ssh-ed25519"
    assert got.cipher_cs == "aes128-gcm@openssh.com" and got.mac_cs is None
    assert got.strict and got.guess_wrong


def test_negotiation_failure_is_incompatible_peer() -> None:
    from sshwire.ssh_exception import IncompatiblePeer

    client = _kexinit(["curve25519-sha256"], ["ssh-ed25519"], ["aes128-ctr"], ["hmac-sha2-256"])
    server = _kexinit(["curve25519-sha256"], ["ssh-ed25519"], ["aes256-ctr"], ["hmac-sha2-256"])
    with pytest.raises(IncompatiblePeer, match="client-to-server cipher"):
        neg.negotiate(client, server, aead=frozenset())


def test_kexinit_round_trip() -> None:
    k = _kexinit(["a", "b"], ["c"], ["d"], ["e"])
    k.first_kex_follows = True
    k.cookie = os.urandom(16)
    r = wire.Reader(k.encode())
    assert r.byte() == 20
    assert neg.KexInit.parse(r) == k

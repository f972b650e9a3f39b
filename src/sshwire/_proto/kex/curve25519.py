"""curve25519-sha256 (RFC 8731), also under its old name curve25519-sha256@libssh.org."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from .. import wire
from .base import KexFailed, Rng, SingleRound


def x25519_keypair(rng: Rng) -> tuple[X25519PrivateKey, bytes]:
    private = X25519PrivateKey.from_private_bytes(rng(32))
    return private, private.public_key().public_bytes_raw()


def x25519_shared(private: X25519PrivateKey, peer_public: bytes) -> bytes:
    """The raw 32-byte X25519 output; an all-zero result (a low-order point) is refused."""
    if len(peer_public) != 32:
        raise KexFailed(f"X25519 public value must be 32 bytes, got {len(peer_public)}")
    try:
        shared = private.exchange(X25519PublicKey.from_public_bytes(peer_public))
    except ValueError:  # cryptography refuses an all-zero shared secret
        raise KexFailed("X25519 exchange produced the all-zero secret") from None
    if not any(shared):
        raise KexFailed("X25519 exchange produced the all-zero secret")
    return shared


class Curve25519(SingleRound):
    hash_name = "sha256"

    def keypair(self) -> tuple[X25519PrivateKey, bytes]:
        private, public = x25519_keypair(self.rng)
        return private, wire.string(public)

    def combine(self, private: X25519PrivateKey, peer: wire.Reader) -> tuple[bytes, bytes]:
        q = peer.string()
        shared = x25519_shared(private, q)
        # RFC 8731 §3.1: the output is read as a big-endian integer and hashed as an mpint
        return wire.string(q), wire.mpint(int.from_bytes(shared, "big"))

"""Finite-field Diffie-Hellman: the fixed groups (RFC 4253 §8, RFC 8268) and the arithmetic
shared with group exchange (gex.py)."""

from __future__ import annotations

from .. import wire
from .base import KexFailed, Rng, SingleRound
from .groups import GENERATOR, modp_prime


def private_exponent(rng: Rng, p: int) -> int:
    """A random exponent x with 1 < x < q; 512 bits (or fewer for small p) is ample."""
    bits = min(512, p.bit_length() - 2)
    return (int.from_bytes(rng((bits + 7) // 8 + 8), "big") % ((1 << bits) - 2)) + 2


def check_public(value: int, p: int) -> None:
    """RFC 4253 §8: values outside [1, p-1] must not be sent or accepted (we also refuse 1)."""
    if not 1 < value < p - 1:
        raise KexFailed("Diffie-Hellman public value out of range")


class DhGroup(SingleRound):
    def __init__(self, rng: Rng, bits: int, hash_name: str) -> None:
        super().__init__(rng)
        self.p = modp_prime(bits)
        self.g = GENERATOR
        self.hash_name = hash_name

    def keypair(self) -> tuple[int, bytes]:
        x = private_exponent(self.rng, self.p)
        return x, wire.mpint(pow(self.g, x, self.p))

    def combine(self, private: int, peer: wire.Reader) -> tuple[bytes, bytes]:
        y = peer.positive_mpint()
        check_public(y, self.p)
        return wire.mpint(y), wire.mpint(pow(y, private, self.p))

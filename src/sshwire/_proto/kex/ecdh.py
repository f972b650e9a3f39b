"""ecdh-sha2-nistp256/384/521 (RFC 5656 §4, §6.2)."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from .. import wire
from .base import KexFailed, Rng, SingleRound

# the bit length of each curve's group order
_ORDER_BITS = {"secp256r1": 256, "secp384r1": 384, "secp521r1": 521}


class Ecdh(SingleRound):
    def __init__(self, rng: Rng, curve: ec.EllipticCurve, hash_name: str):
        super().__init__(rng)
        self.curve = curve
        self.hash_name = hash_name

    def keypair(self) -> tuple[ec.EllipticCurvePrivateKey, bytes]:
        private = self._private_key()
        point = private.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        return private, wire.string(point)

    def _private_key(self) -> ec.EllipticCurvePrivateKey:
        """A uniform scalar by rejection sampling (each order is within 2**-32 of 2**bits)."""
        bits = _ORDER_BITS[self.curve.name]
        for _ in range(64):
            scalar = int.from_bytes(self.rng((bits + 7) // 8), "big") >> (-bits % 8)
            if scalar:
                try:
                    return ec.derive_private_key(scalar, self.curve)
                except ValueError:  # scalar >= the group order: draw again
                    continue
        raise KexFailed("could not draw an ECDH private key")  # pragma: no cover

    def combine(
        self, private: ec.EllipticCurvePrivateKey, peer: wire.Reader
    ) -> tuple[bytes, bytes]:
        q = peer.string()
        try:
            public = ec.EllipticCurvePublicKey.from_encoded_point(self.curve, q)
            shared = private.exchange(ec.ECDH(), public)
        except ValueError:
            raise KexFailed(f"invalid {self.curve.name} public point from the peer") from None
        return wire.string(q), wire.mpint(int.from_bytes(shared, "big"))

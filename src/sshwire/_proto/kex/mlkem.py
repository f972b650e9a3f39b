"""mlkem768x25519-sha256: ML-KEM-768 combined with X25519 (draft-ietf-sshm-mlkem-hybrid-kex).

The client sends its ML-KEM-768 encapsulation key followed by an X25519 public key; the server
answers with the ML-KEM ciphertext followed by its X25519 public key. K is
SHA-256(ML-KEM shared secret ‖ X25519 shared secret), hashed and derived as a *string*.
"""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from .. import wire
from .base import KexFailed, SingleRound
from .curve25519 import x25519_keypair, x25519_shared

try:
    from cryptography.hazmat.primitives.asymmetric import mlkem as _mlkem

    HAVE_MLKEM = True
except ImportError:  # pragma: no cover - depends on the cryptography build
    HAVE_MLKEM = False

_PK_LEN = 1184
_CT_LEN = 1088
_X_LEN = 32


class MlKem768X25519(SingleRound):
    hash_name = "sha256"

    def keypair(self) -> tuple[tuple[_mlkem.MLKEM768PrivateKey, X25519PrivateKey], bytes]:
        kem = _mlkem.MLKEM768PrivateKey.from_seed_bytes(self.rng(64))
        x_private, x_public = x25519_keypair(self.rng)
        public = kem.public_key().public_bytes_raw() + x_public
        return (kem, x_private), wire.string(public)

    def combine(
        self, private: tuple[_mlkem.MLKEM768PrivateKey, X25519PrivateKey], peer: wire.Reader
    ) -> tuple[bytes, bytes]:
        kem, x_private = private
        reply = peer.string()
        if len(reply) != _CT_LEN + _X_LEN:
            raise KexFailed(f"ML-KEM hybrid reply has {len(reply)} bytes")
        try:
            pq = kem.decapsulate(reply[:_CT_LEN])
        except ValueError:
            raise KexFailed("ML-KEM decapsulation failed") from None
        classic = x25519_shared(x_private, reply[_CT_LEN:])
        return wire.string(reply), wire.string(hashlib.sha256(pq + classic).digest())

    def respond(self, client: wire.Reader) -> tuple[bytes, bytes, bytes]:
        init = client.string()
        if len(init) != _PK_LEN + _X_LEN:
            raise KexFailed(f"ML-KEM hybrid init has {len(init)} bytes")
        try:
            peer_kem = _mlkem.MLKEM768PublicKey.from_public_bytes(init[:_PK_LEN])
            # encapsulation draws its randomness inside the crypto backend
            pq, ciphertext = peer_kem.encapsulate()
        except ValueError:
            raise KexFailed("invalid ML-KEM-768 encapsulation key") from None
        x_private, x_public = x25519_keypair(self.rng)
        classic = x25519_shared(x_private, init[_PK_LEN:])
        k = wire.string(hashlib.sha256(pq + classic).digest())
        return wire.string(ciphertext + x_public), wire.string(init), k

"""mlkem768x25519-sha256 hybrid key exchange (draft-ietf-sshm-mlkem-hybrid-kex) as paramiko's
``KexMLKEM768X25519`` object.

A thin face over sshwire's ML-KEM-768 + X25519 engine (:mod:`sshwire._proto.kex.mlkem`) for
code that drives a paramiko-style transport; see :mod:`sshwire._kex_adapter` for the transport
hooks it uses. K is the SHA-256 of both shared secrets, handed to the transport as ``bytes``
(it is hashed and derived as an SSH string, not an mpint). Needs a ``cryptography`` build with
ML-KEM (:meth:`KexMLKEM768X25519.is_available`).
"""

from __future__ import annotations

import hashlib
import os

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from ._kex_adapter import SingleRoundKex
from ._proto.kex.base import SingleRound
from ._proto.kex.mlkem import HAVE_MLKEM, MlKem768X25519
from .common import byte_chr
from .ssh_exception import SSHException

__all__ = ["KexMLKEM768X25519", "c_MSG_KEX_HYBRID_INIT", "c_MSG_KEX_HYBRID_REPLY"]

# the hybrid draft reuses message numbers 30 and 31 (as ECDH does)
c_MSG_KEX_HYBRID_INIT = byte_chr(30)
c_MSG_KEX_HYBRID_REPLY = byte_chr(31)


class KexMLKEM768X25519(SingleRoundKex):
    """``mlkem768x25519-sha256``: ML-KEM-768 (FIPS 203) combined with X25519."""

    name = "mlkem768x25519-sha256"
    hash_algo = hashlib.sha256
    _K_IS_STRING = True

    @classmethod
    def is_available(cls) -> bool:
        """True when the crypto backend has ML-KEM-768 and X25519."""
        if not HAVE_MLKEM:
            return False
        try:
            from cryptography.hazmat.primitives.asymmetric import mlkem

            mlkem.MLKEM768PrivateKey.generate()
            X25519PrivateKey.generate()
        except UnsupportedAlgorithm:
            return False
        return True

    def _method(self) -> SingleRound:
        if not HAVE_MLKEM:
            raise SSHException("mlkem768x25519-sha256 needs a cryptography build with ML-KEM")
        return MlKem768X25519(os.urandom)

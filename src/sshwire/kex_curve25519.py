"""curve25519-sha256 key exchange (RFC 8731) as paramiko's ``KexCurve25519`` object.

A thin face over sshwire's X25519 engine (:mod:`sshwire._proto.kex.curve25519`) for code that
drives a paramiko-style transport; see :mod:`sshwire._kex_adapter` for the transport hooks it
uses. sshwire's own :class:`~sshwire.transport.Transport` runs the engine directly.
"""

from __future__ import annotations

import hashlib
import os

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from ._kex_adapter import SingleRoundKex
from ._proto.kex.curve25519 import Curve25519
from .common import byte_chr

__all__ = ["KexCurve25519", "c_MSG_KEXECDH_INIT", "c_MSG_KEXECDH_REPLY"]

# RFC 5656 §7.1 / RFC 8731 §3: the client's Q_C and the server's reply
c_MSG_KEXECDH_INIT = byte_chr(30)
c_MSG_KEXECDH_REPLY = byte_chr(31)


class KexCurve25519(SingleRoundKex):
    """``curve25519-sha256`` (also known as ``curve25519-sha256@libssh.org``)."""

    name = "curve25519-sha256"
    hash_algo = hashlib.sha256

    @classmethod
    def is_available(cls) -> bool:
        """True when the crypto backend can do X25519."""
        try:
            X25519PrivateKey.generate()
        except UnsupportedAlgorithm:
            return False
        return True

    def _method(self) -> Curve25519:
        return Curve25519(os.urandom)

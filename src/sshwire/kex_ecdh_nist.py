"""ecdh-sha2-nistp256/384/521 key exchange (RFC 5656 §4) as paramiko's ``KexNistp*`` objects.

Thin faces over sshwire's ECDH engine (:mod:`sshwire._proto.kex.ecdh`) for code that drives a
paramiko-style transport; see :mod:`sshwire._kex_adapter` for the transport hooks they use.
"""

from __future__ import annotations

import hashlib
import os

from cryptography.hazmat.primitives.asymmetric import ec

from ._kex_adapter import SingleRoundKex, hash_name
from ._proto.kex.ecdh import Ecdh
from .common import byte_chr

__all__ = [
    "KexNistp256",
    "KexNistp384",
    "KexNistp521",
    "c_MSG_KEXECDH_INIT",
    "c_MSG_KEXECDH_REPLY",
]

# RFC 5656 §7.1: SSH_MSG_KEX_ECDH_INIT and SSH_MSG_KEX_ECDH_REPLY
c_MSG_KEXECDH_INIT = byte_chr(30)
c_MSG_KEXECDH_REPLY = byte_chr(31)


class KexNistp256(SingleRoundKex):
    """``ecdh-sha2-nistp256``: ECDH on P-256 with SHA-256 (RFC 5656 §6.2.1)."""

    name = "ecdh-sha2-nistp256"
    hash_algo = hashlib.sha256
    curve: ec.EllipticCurve = ec.SECP256R1()

    def _method(self) -> Ecdh:
        return Ecdh(os.urandom, self.curve, hash_name(type(self).hash_algo))


class KexNistp384(KexNistp256):
    """``ecdh-sha2-nistp384``: ECDH on P-384 with SHA-384."""

    name = "ecdh-sha2-nistp384"
    hash_algo = hashlib.sha384
    curve = ec.SECP384R1()


class KexNistp521(KexNistp256):
    """``ecdh-sha2-nistp521``: ECDH on P-521 with SHA-512."""

    name = "ecdh-sha2-nistp521"
    hash_algo = hashlib.sha512
    curve = ec.SECP521R1()

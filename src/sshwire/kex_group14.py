"""diffie-hellman-group14-sha256 (RFC 8268 §3, group 14 of RFC 3526 §3) as paramiko's
``KexGroup14SHA256`` object.

A thin face over sshwire's finite-field Diffie-Hellman engine (:mod:`sshwire._proto.kex.dh`)
for code that drives a paramiko-style transport; see :mod:`sshwire._kex_adapter` for the
transport hooks it uses. The group is the class's ``P`` and ``G``, so a subclass may name
another fixed group.
"""

from __future__ import annotations

import hashlib
import os

from ._kex_adapter import SingleRoundKex, hash_name
from ._proto.kex.dh import DhGroup
from ._proto.kex.groups import GENERATOR, modp_prime
from .common import byte_chr

__all__ = [
    "KexGroup14SHA256",
    "b0000000000000000",
    "b7fffffffffffffff",
    "c_MSG_KEXDH_INIT",
    "c_MSG_KEXDH_REPLY",
]

# RFC 4253 §8: SSH_MSG_KEXDH_INIT (e) and SSH_MSG_KEXDH_REPLY (K_S, f, signature)
c_MSG_KEXDH_INIT = byte_chr(30)
c_MSG_KEXDH_REPLY = byte_chr(31)

# module constants kept from paramiko's module (eight bytes of 7f ff .. ff and of 00)
b7fffffffffffffff = byte_chr(0x7F) + b"\xff" * 7
b0000000000000000 = b"\x00" * 8


class _FixedGroup(DhGroup):
    """The DH engine over a given (p, g) rather than one looked up by size."""

    def __init__(self, p: int, g: int, hash_algo_name: str) -> None:
        self.rng = os.urandom
        self.p = p
        self.g = g
        self.hash_name = hash_algo_name


class KexGroup14SHA256(SingleRoundKex):
    """``diffie-hellman-group14-sha256``: the 2048-bit MODP group with SHA-256."""

    P = modp_prime(2048)
    G = GENERATOR
    name = "diffie-hellman-group14-sha256"
    hash_algo = hashlib.sha256

    def _method(self) -> DhGroup:
        return _FixedGroup(self.P, self.G, hash_name(type(self).hash_algo))

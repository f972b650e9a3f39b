"""diffie-hellman-group16-sha512 (RFC 8268 §3, group 16 of RFC 3526 §5) as paramiko's
``KexGroup16SHA512`` object: :class:`~sshwire.kex_group14.KexGroup14SHA256` with the 4096-bit
group and SHA-512."""

from __future__ import annotations

import hashlib

from ._proto.kex.groups import GENERATOR, modp_prime
from .kex_group14 import KexGroup14SHA256

__all__ = ["KexGroup16SHA512"]


class KexGroup16SHA512(KexGroup14SHA256):
    """``diffie-hellman-group16-sha512``: the 4096-bit MODP group with SHA-512."""

    name = "diffie-hellman-group16-sha512"
    P = modp_prime(4096)
    G = GENERATOR
    hash_algo = hashlib.sha512

"""Key derivation from K and H (RFC 4253 §7.2)."""

from __future__ import annotations

import hashlib


def derive_key(
    hash_name: str, k: bytes, h: bytes, letter: bytes, session_id: bytes, size: int
) -> bytes:
    """HASH(K ‖ H ‖ letter ‖ session_id), extended with HASH(K ‖ H ‖ K1 ‖ ...) to ``size``.

    ``k`` is K already encoded (an mpint, or a string for the ML-KEM hybrid).
    """
    out = hashlib.new(hash_name, k + h + letter + session_id).digest()
    while len(out) < size:
        out += hashlib.new(hash_name, k + h + out).digest()
    return out[:size]

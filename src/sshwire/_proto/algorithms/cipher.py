"""Transport ciphers (RFC 4253 §6.3, RFC 4344, RFC 5647, OpenSSH PROTOCOL.chacha20poly1305).

A table of :class:`CipherSpec` by SSH name, and the default preference list. The framing layer
(`_proto/framing.py`) builds the per-direction cipher state from a spec; key exchange reads
``key_size``/``iv_size`` to know how much key material to derive.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, algorithms, modes

Mode = Literal["ctr", "cbc", "gcm", "chacha"]


@dataclass(frozen=True)
class CipherSpec:
    """What the framing layer needs to know about one cipher."""

    name: str
    key_size: int
    iv_size: int
    block_size: int  # the packet alignment unit (8 for ChaCha20, as in OpenSSH)
    mode: Mode
    tag_size: int = 0  # AEAD tag length; 0 for ciphers that need a separate MAC
    legacy: bool = False  # never in the default lists

    @property
    def is_aead(self) -> bool:
        return self.tag_size != 0


CIPHERS: Final[dict[str, CipherSpec]] = {
    spec.name: spec
    for spec in (
        CipherSpec("aes128-gcm@openssh.com", 16, 12, 16, "gcm", 16),
        CipherSpec("aes256-gcm@openssh.com", 32, 12, 16, "gcm", 16),
        CipherSpec("chacha20-poly1305@openssh.com", 64, 0, 8, "chacha", 16),
        CipherSpec("aes128-ctr", 16, 16, 16, "ctr"),
        CipherSpec("aes192-ctr", 24, 16, 16, "ctr"),
        CipherSpec("aes256-ctr", 32, 16, 16, "ctr"),
        CipherSpec("aes128-cbc", 16, 16, 16, "cbc", legacy=True),
        CipherSpec("aes192-cbc", 24, 16, 16, "cbc", legacy=True),
        CipherSpec("aes256-cbc", 32, 16, 16, "cbc", legacy=True),
        CipherSpec("3des-cbc", 24, 8, 8, "cbc", legacy=True),
    )
}

DEFAULT_CIPHERS: Final[tuple[str, ...]] = tuple(n for n, s in CIPHERS.items() if not s.legacy)


def block_cipher_context(spec: CipherSpec, key: bytes, iv: bytes, encrypt: bool) -> CipherContext:
    """A persistent CTR or CBC context for one direction (kept across packets)."""
    algo: Any = TripleDES(key) if spec.name == "3des-cbc" else algorithms.AES(key)
    mode: Any = modes.CTR(iv) if spec.mode == "ctr" else modes.CBC(iv)
    cipher = Cipher(algo, mode)
    return cipher.encryptor() if encrypt else cipher.decryptor()

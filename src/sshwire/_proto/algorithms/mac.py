"""Message authentication codes (RFC 4253 §6.4, RFC 6668, OpenSSH's -etm@openssh.com forms)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final


@dataclass(frozen=True)
class MacSpec:
    """An HMAC variant: key length, tag length on the wire, and encrypt-then-MAC or not."""

    name: str
    digest: Callable[..., Any]
    key_size: int
    tag_size: int
    etm: bool = False
    legacy: bool = False

    def keyed(self, key: bytes) -> hmac.HMAC:
        """A pre-keyed HMAC object; callers ``.copy()`` it per packet."""
        return hmac.new(key, digestmod=self.digest)


def _specs() -> dict[str, MacSpec]:
    base = [
        ("hmac-sha2-256", hashlib.sha256, 32, 32, False),
        ("hmac-sha2-512", hashlib.sha512, 64, 64, False),
        ("hmac-sha1", hashlib.sha1, 20, 20, False),
        ("hmac-sha1-96", hashlib.sha1, 20, 12, True),
        ("hmac-md5", hashlib.md5, 16, 16, True),
        ("hmac-md5-96", hashlib.md5, 16, 12, True),
    ]
    table: dict[str, MacSpec] = {}
    # preference: ETM forms first (they authenticate the ciphertext, length included)
    for name, digest, key_size, tag_size, legacy in base:
        etm_name = f"{name}-etm@openssh.com"
        table[etm_name] = MacSpec(etm_name, digest, key_size, tag_size, True, legacy)
    for name, digest, key_size, tag_size, legacy in base:
        table[name] = MacSpec(name, digest, key_size, tag_size, False, legacy)
    return table


MACS: Final[dict[str, MacSpec]] = _specs()

DEFAULT_MACS: Final[tuple[str, ...]] = (
    "hmac-sha2-256-etm@openssh.com",
    "hmac-sha2-512-etm@openssh.com",
    "hmac-sha2-256",
    "hmac-sha2-512",
    "hmac-sha1-etm@openssh.com",
    "hmac-sha1",
)

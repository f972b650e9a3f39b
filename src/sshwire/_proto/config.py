"""Per-connection settings of the core: algorithm preferences, limits, rekey thresholds."""

from __future__ import annotations

from dataclasses import dataclass, field

from .algorithms.cipher import DEFAULT_CIPHERS
from .algorithms.compression import DEFAULT_COMPRESSIONS
from .algorithms.hostkey import DEFAULT_HOSTKEY_ALGORITHMS, DEFAULT_PUBKEY_ALGORITHMS
from .algorithms.mac import DEFAULT_MACS
from .constants import MAX_PACKET_LENGTH
from .kex.negotiate import DEFAULT_KEX

# RFC 4344 §3.2 asks for a rekey after 2**(L/4) blocks of an L-bit block cipher; RFC 4253 §9
# recommends one hour or a gigabyte. We use a gigabyte or 2**31 packets or an hour, whichever
# comes first, in either direction.
REKEY_BYTES = 1 << 30
REKEY_PACKETS = 1 << 31
REKEY_SECONDS = 3600.0


@dataclass
class ConnectionConfig:
    kex: tuple[str, ...] = DEFAULT_KEX
    host_key: tuple[str, ...] = DEFAULT_HOSTKEY_ALGORITHMS
    pubkey: tuple[str, ...] = DEFAULT_PUBKEY_ALGORITHMS  # server: accepted for user auth
    ciphers: tuple[str, ...] = DEFAULT_CIPHERS
    macs: tuple[str, ...] = DEFAULT_MACS
    compression: tuple[str, ...] = DEFAULT_COMPRESSIONS
    strict_kex: bool = True
    ext_info: bool = True  # client: offer ext-info-c; server: send server-sig-algs
    server_sig_algs: tuple[str, ...] = ()  # server: what EXT_INFO advertises
    software_version: str = "sshwire_0.1"
    max_packet_length: int = MAX_PACKET_LENGTH
    rekey_bytes: int = REKEY_BYTES
    rekey_packets: int = REKEY_PACKETS
    rekey_seconds: float = REKEY_SECONDS
    extra: dict[str, object] = field(default_factory=dict)

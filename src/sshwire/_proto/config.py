"""Per-connection settings of the core: algorithm preferences, limits, rekey thresholds."""

from __future__ import annotations

from dataclasses import dataclass, field

from .algorithms.cipher import DEFAULT_CIPHERS
from .algorithms.compression import DEFAULT_COMPRESSIONS
from .algorithms.hostkey import DEFAULT_HOSTKEY_ALGORITHMS, DEFAULT_PUBKEY_ALGORITHMS
from .algorithms.mac import DEFAULT_MACS
from .channel import MAX_CHANNELS  # channels per connection, ours and the peer's, in any state
from .constants import MAX_BANNER_LINE, MAX_PACKET_LENGTH
from .kex.negotiate import DEFAULT_KEX
from .version import MAX_PRE_BANNER_BYTES, MAX_PRE_BANNER_LINES

# RFC 4344 §3.2 asks for a rekey after 2**(L/4) blocks of an L-bit block cipher; RFC 4253 §9
# recommends one hour or a gigabyte. We use a gigabyte or 2**31 packets or an hour, whichever
# comes first, in either direction.
REKEY_BYTES = 1 << 30
REKEY_PACKETS = 1 << 31
REKEY_SECONDS = 3600.0

# Limits on what a peer may make us hold or do (docs/reliability.md lists them all)
MAX_AUTH_REQUESTS = 100  # server: USERAUTH_REQUESTs per connection, any method, any outcome
MAX_PENDING_CHANNEL_OPENS = 256  # the peer's CHANNEL_OPENs the application has not answered
MAX_PENDING_GLOBAL_REQUESTS = 1024  # the peer's want-reply GLOBAL_REQUESTs not yet answered


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
    #: a declared packet length above this is refused before the packet is read
    max_packet_length: int = MAX_PACKET_LENGTH
    #: a packet may inflate to at most this many bytes (zlib bombs)
    max_decompressed_payload: int = MAX_PACKET_LENGTH
    #: version exchange (RFC 4253 §4.2): the longest line, CR LF included, and how much text a
    #: peer may send before its version line
    max_banner_line: int = MAX_BANNER_LINE
    max_pre_banner_lines: int = MAX_PRE_BANNER_LINES
    max_pre_banner_bytes: int = MAX_PRE_BANNER_BYTES
    #: seconds (on the injected clock) from start() until the peer's version line must be
    #: complete, checked whenever bytes arrive (a peer trickling its banner); None leaves the
    #: deadline to the shell (``Transport.banner_timeout`` also covers a silent peer)
    banner_timeout: float | None = None
    max_auth_requests: int = MAX_AUTH_REQUESTS
    max_channels: int = MAX_CHANNELS
    max_pending_channel_opens: int = MAX_PENDING_CHANNEL_OPENS
    max_pending_global_requests: int = MAX_PENDING_GLOBAL_REQUESTS
    #: bytes a peer may send past a channel's window in all before we disconnect; they are
    #: discarded, as OpenSSH does (0: the first byte past the window disconnects)
    max_window_excess: int = 0
    rekey_bytes: int = REKEY_BYTES
    rekey_packets: int = REKEY_PACKETS
    rekey_seconds: float = REKEY_SECONDS
    extra: dict[str, object] = field(default_factory=dict)

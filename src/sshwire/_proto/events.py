"""Events the core returns from ``receive_data``; the shell dispatches on their type."""

from __future__ import annotations

from dataclasses import dataclass, field

from .kex.negotiate import Negotiated


class Event:
    """Base of every core event."""


@dataclass
class VersionReceived(Event):
    version: str


@dataclass
class KexCompleted(Event):
    """NEWKEYS went both ways; ``host_key`` is the server's verified K_S blob."""

    negotiated: Negotiated
    host_key: bytes
    first: bool


@dataclass
class ExtInfoReceived(Event):
    extensions: dict[str, bytes]


@dataclass
class ServiceAccepted(Event):
    name: str


@dataclass
class ServiceRequested(Event):
    name: str


@dataclass
class AuthBanner(Event):
    message: str
    language: str


@dataclass
class AuthSucceeded(Event):
    pass


@dataclass
class AuthFailed(Event):
    methods: list[str]
    partial: bool


@dataclass
class AuthPkOk(Event):
    algorithm: str
    key_blob: bytes


@dataclass
class AuthInfoRequest(Event):
    name: str
    instruction: str
    language: str
    prompts: list[tuple[str, bool]] = field(default_factory=list)


@dataclass
class AuthPasswordChangeRequired(Event):
    prompt: str
    language: str


@dataclass
class GlobalRequestReceived(Event):
    name: str
    want_reply: bool
    data: bytes


@dataclass
class GlobalReplyReceived(Event):
    success: bool
    data: bytes


@dataclass
class DebugReceived(Event):
    always_display: bool
    message: str


@dataclass
class UnimplementedReceived(Event):
    sequence: int


@dataclass
class PeerDisconnected(Event):
    """The peer sent DISCONNECT; nothing more will arrive."""

    reason: int
    description: str


@dataclass
class ConnectionLost(Event):
    """The byte stream ended (EOF) between packets."""

    description: str


@dataclass
class ChannelOpenConfirmed(Event):
    channel: int
    data: bytes


@dataclass
class ChannelOpenFailed(Event):
    channel: int
    reason: int
    description: str


@dataclass
class ChannelOpenRequested(Event):
    """The peer wants a channel; answer with ``accept_channel`` or ``reject_channel``."""

    channel: int
    kind: str
    window: int
    max_packet: int
    data: bytes


@dataclass
class ChannelData(Event):
    channel: int
    data: bytes
    ext: int | None  # None for ordinary data, else the extended data type (1: stderr)


@dataclass
class ChannelWindowAdjusted(Event):
    channel: int
    window: int


@dataclass
class ChannelEof(Event):
    channel: int


@dataclass
class ChannelClosed(Event):
    """The peer closed the channel (our CLOSE has been or is being sent)."""

    channel: int


@dataclass
class ChannelRequestReceived(Event):
    channel: int
    name: str
    want_reply: bool
    data: bytes


@dataclass
class ChannelRequestReply(Event):
    channel: int
    name: str
    success: bool


@dataclass
class AuthRequested(Event):
    """Server side: a USERAUTH_REQUEST; answer with auth_accept/auth_reject/..."""

    username: str
    service: str
    method: str
    password: str | None = None
    new_password: str | None = None
    key_algorithm: str | None = None
    key_blob: bytes | None = None
    has_signature: bool = False
    signature_valid: bool = False
    submethods: str = ""


@dataclass
class AuthInfoResponse(Event):
    """Server side: the client's answers to a keyboard-interactive INFO_REQUEST."""

    responses: list[str]

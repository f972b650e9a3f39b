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
class ConnectionMessage(Event):
    """A connection-protocol message (RFC 4254 channel messages) for the channel layer."""

    msg_type: int
    payload: bytes


@dataclass
class PeerDisconnected(Event):
    """The peer sent DISCONNECT; nothing more will arrive."""

    reason: int
    description: str


@dataclass
class ConnectionLost(Event):
    """The byte stream ended (EOF) between packets."""

    description: str

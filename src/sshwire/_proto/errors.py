"""Errors raised by the sans-IO core.

Every error the core raises is an :class:`~sshwire.ssh_exception.SSHException`; protocol
errors carry the DISCONNECT reason code (RFC 4250 §4.2.2) that the connection sends before it
closes.
"""

from __future__ import annotations

from ..ssh_exception import SSHException
from .constants import (
    DISCONNECT_COMPRESSION_ERROR,
    DISCONNECT_MAC_ERROR,
    DISCONNECT_PROTOCOL_ERROR,
)


class ProtocolError(SSHException):
    """The peer broke the protocol; ``reason`` is the DISCONNECT code to send."""

    reason: int = DISCONNECT_PROTOCOL_ERROR

    def __init__(self, message: str, reason: int | None = None) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason


class DecodeError(ProtocolError):
    """A message or field could not be decoded (truncated, overlong or malformed)."""


class PacketError(ProtocolError):
    """A packet's framing is invalid (length, padding, block alignment)."""


class IntegrityError(ProtocolError):
    """A packet failed its MAC or AEAD tag check; nothing of it was passed up."""

    reason = DISCONNECT_MAC_ERROR


class CompressionError(ProtocolError):
    """A compressed payload was corrupt or inflated past the configured limit."""

    reason = DISCONNECT_COMPRESSION_ERROR

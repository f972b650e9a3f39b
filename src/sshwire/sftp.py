"""SFTP protocol version 3: the numbers, the error type and the packet layer both ends share.

The wire format is draft-ietf-secsh-filexfer-02 (SFTP v3, what OpenSSH speaks): every packet is
``uint32 length || byte type || payload`` carried in the data of a ``session`` channel running
the ``sftp`` subsystem. :class:`BaseSFTP` frames packets over that channel (its ``sock``) and
performs the version handshake; :class:`~sshwire.sftp_client.SFTPClient` and
:class:`~sshwire.sftp_server.SFTPServer` build the requests and replies on top.
"""

from __future__ import annotations

import logging
import struct
from typing import Any, Final

from ._proto.errors import DecodeError
from ._proto.wire import Reader
from ._proto.wire import string as _string
from ._proto.wire import uint32 as _uint32
from .message import Message
from .util import get_logger

__all__ = [
    "CMD_ATTRS",
    "CMD_CLOSE",
    "CMD_DATA",
    "CMD_EXTENDED",
    "CMD_EXTENDED_REPLY",
    "CMD_FSETSTAT",
    "CMD_FSTAT",
    "CMD_HANDLE",
    "CMD_INIT",
    "CMD_LSTAT",
    "CMD_MKDIR",
    "CMD_NAME",
    "CMD_NAMES",
    "CMD_OPEN",
    "CMD_OPENDIR",
    "CMD_READ",
    "CMD_READDIR",
    "CMD_READLINK",
    "CMD_REALPATH",
    "CMD_REMOVE",
    "CMD_RENAME",
    "CMD_RMDIR",
    "CMD_SETSTAT",
    "CMD_STAT",
    "CMD_STATUS",
    "CMD_SYMLINK",
    "CMD_VERSION",
    "CMD_WRITE",
    "SFTP_BAD_MESSAGE",
    "SFTP_CONNECTION_LOST",
    "SFTP_DESC",
    "SFTP_EOF",
    "SFTP_FAILURE",
    "SFTP_FLAG_APPEND",
    "SFTP_FLAG_CREATE",
    "SFTP_FLAG_EXCL",
    "SFTP_FLAG_READ",
    "SFTP_FLAG_TRUNC",
    "SFTP_FLAG_WRITE",
    "SFTP_NO_CONNECTION",
    "SFTP_NO_SUCH_FILE",
    "SFTP_OK",
    "SFTP_OP_UNSUPPORTED",
    "SFTP_PERMISSION_DENIED",
    "BaseSFTP",
    "SFTPError",
    "int64",
]

# Packet types (filexfer-02 §3).
CMD_INIT: Final = 1
CMD_VERSION: Final = 2
CMD_OPEN: Final = 3
CMD_CLOSE: Final = 4
CMD_READ: Final = 5
CMD_WRITE: Final = 6
CMD_LSTAT: Final = 7
CMD_FSTAT: Final = 8
CMD_SETSTAT: Final = 9
CMD_FSETSTAT: Final = 10
CMD_OPENDIR: Final = 11
CMD_READDIR: Final = 12
CMD_REMOVE: Final = 13
CMD_MKDIR: Final = 14
CMD_RMDIR: Final = 15
CMD_REALPATH: Final = 16
CMD_STAT: Final = 17
CMD_RENAME: Final = 18
CMD_READLINK: Final = 19
CMD_SYMLINK: Final = 20
CMD_STATUS: Final = 101
CMD_HANDLE: Final = 102
CMD_DATA: Final = 103
CMD_NAME: Final = 104
CMD_ATTRS: Final = 105
CMD_EXTENDED: Final = 200
CMD_EXTENDED_REPLY: Final = 201

#: Packet type -> its name in lower case (for logs).
CMD_NAMES: Final[dict[int, str]] = {
    CMD_INIT: "init",
    CMD_VERSION: "version",
    CMD_OPEN: "open",
    CMD_CLOSE: "close",
    CMD_READ: "read",
    CMD_WRITE: "write",
    CMD_LSTAT: "lstat",
    CMD_FSTAT: "fstat",
    CMD_SETSTAT: "setstat",
    CMD_FSETSTAT: "fsetstat",
    CMD_OPENDIR: "opendir",
    CMD_READDIR: "readdir",
    CMD_REMOVE: "remove",
    CMD_MKDIR: "mkdir",
    CMD_RMDIR: "rmdir",
    CMD_REALPATH: "realpath",
    CMD_STAT: "stat",
    CMD_RENAME: "rename",
    CMD_READLINK: "readlink",
    CMD_SYMLINK: "symlink",
    CMD_STATUS: "status",
    CMD_HANDLE: "handle",
    CMD_DATA: "data",
    CMD_NAME: "name",
    CMD_ATTRS: "attrs",
    CMD_EXTENDED: "extended",
    CMD_EXTENDED_REPLY: "extended_reply",
}

# Status codes (filexfer-02 §7).
SFTP_OK: Final = 0
SFTP_EOF: Final = 1
SFTP_NO_SUCH_FILE: Final = 2
SFTP_PERMISSION_DENIED: Final = 3
SFTP_FAILURE: Final = 4
SFTP_BAD_MESSAGE: Final = 5
SFTP_NO_CONNECTION: Final = 6
SFTP_CONNECTION_LOST: Final = 7
SFTP_OP_UNSUPPORTED: Final = 8

#: A default text for each status code, indexed by the code.
SFTP_DESC: Final[list[str]] = [
    "Success",
    "End of file",
    "No such file",
    "Permission denied",
    "Failure",
    "Bad message",
    "No connection",
    "Connection lost",
    "Operation unsupported",
]

# Open flags (filexfer-02 §6.3, pflags).
SFTP_FLAG_READ: Final = 0x01
SFTP_FLAG_WRITE: Final = 0x02
SFTP_FLAG_APPEND: Final = 0x04
SFTP_FLAG_CREATE: Final = 0x08
SFTP_FLAG_TRUNC: Final = 0x10
SFTP_FLAG_EXCL: Final = 0x20

_VERSION: Final = 3
_HEADER: Final = struct.Struct(">IB")

#: The largest packet either end accepts (OpenSSH's sftp-server takes 256 KiB; our own reads
#: may ask for up to 255 KiB of data, so leave room for headers).
MAX_PACKET_SIZE: Final = 1 << 20


class int64(int):
    """An ``int`` that request builders write as a 64-bit field (file offsets and sizes)."""


class SFTPError(Exception):
    """An SFTP protocol failure: a bad reply, an unsupported version, a broken packet."""


class BaseSFTP:
    """Packet framing and the version handshake over a channel (``self.sock``).

    The channel is whatever the subclass stores in :attr:`sock`: anything with ``sendall``
    and ``recv`` (a :class:`~sshwire.channel.Channel`, or a socket in tests). A closed
    channel surfaces as :class:`EOFError`, as in paramiko.
    """

    sock: Any

    def __init__(self) -> None:
        self.logger: logging.Logger = get_logger("sshwire.sftp")
        self.sock = None
        self.ultra_debug = False
        #: Extensions the peer announced in its VERSION/INIT packet: name -> data.
        self._peer_extensions: dict[str, bytes] = {}

    # --- the handshake (filexfer-02 §4) ---

    def _send_version(self) -> int:
        """Client side: send INIT, read the server's VERSION and its extension pairs."""
        self._send_packet(CMD_INIT, _uint32(_VERSION))
        t, data = self._read_packet()
        if t != CMD_VERSION:
            raise SFTPError("Incompatible sftp protocol")
        version, self._peer_extensions = self._parse_hello(data)
        if version < _VERSION:
            raise SFTPError(f"Incompatible sftp protocol: server speaks version {version}")
        return version

    def _send_server_version(self) -> int:
        """Server side: read INIT, answer VERSION 3 with :meth:`_server_extensions`."""
        t, data = self._read_packet()
        if t != CMD_INIT:
            raise SFTPError("Incompatible sftp protocol")
        version, self._peer_extensions = self._parse_hello(data)
        body = [_uint32(_VERSION)]
        for name, value in self._server_extensions():
            body.append(_string(name) + _string(value))
        self._send_packet(CMD_VERSION, b"".join(body))
        return version

    def _server_extensions(self) -> list[tuple[str, bytes]]:
        """Extension pairs a server announces; the server class overrides this."""
        return []

    @staticmethod
    def _parse_hello(data: bytes) -> tuple[int, dict[str, bytes]]:
        reader = Reader(data)
        try:
            version = reader.uint32()
            extensions: dict[str, bytes] = {}
            while reader.remaining:
                name = reader.string().decode("utf-8", "replace")
                extensions[name] = reader.string()
        except DecodeError as exc:
            raise SFTPError(f"Garbage version packet: {exc}") from None
        return version, extensions

    # --- logging ---

    def _log(self, level: int, msg: Any, *args: Any) -> None:
        if isinstance(msg, list):
            for line in msg:
                self.logger.log(level, line, *args)
        else:
            self.logger.log(level, msg, *args)

    # --- packets ---

    def _write_all(self, out: bytes | bytearray | memoryview) -> None:
        try:
            self.sock.sendall(out)
        except OSError as exc:
            raise EOFError(f"SFTP channel closed: {exc}") from exc

    def _read_all(self, n: int) -> bytes:
        """Exactly *n* bytes from the channel; :class:`EOFError` if it ends first."""
        first = self.sock.recv(n)
        if len(first) == n:
            return bytes(first)
        parts = [first]
        have = len(first)
        while have < n:
            if not first:
                raise EOFError("SFTP channel closed")
            first = self.sock.recv(n - have)
            parts.append(first)
            have += len(first)
        return b"".join(parts)

    def _send_packet(self, t: int, packet: bytes | bytearray | memoryview | Message) -> None:
        if isinstance(packet, Message):
            packet = packet.asbytes()
        if self.ultra_debug:
            self._log(logging.DEBUG, "out packet %s, %d bytes", CMD_NAMES.get(t, t), len(packet))
        self._write_all(_HEADER.pack(len(packet) + 1, t) + packet)

    def _read_packet(self) -> tuple[int, bytes]:
        """The next packet as ``(type, payload)``."""
        size = struct.unpack(">I", self._read_all(4))[0]
        if size == 0 or size > MAX_PACKET_SIZE:
            raise SFTPError("Garbage packet received")
        data = self._read_all(size)
        if self.ultra_debug:
            self._log(logging.DEBUG, "in packet %s, %d bytes", CMD_NAMES.get(data[0]), size)
        return data[0], data[1:]

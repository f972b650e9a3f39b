"""zlib payload compression as callables, with paramiko's ``compress`` module names.

Each object holds one zlib stream for one direction of a connection (RFC 4253 §6.2: the
stream runs on across packets, so the same object must see every packet in order). Calling it
with a payload returns the transformed payload. They wrap the stream objects the protocol core
uses (:mod:`sshwire._proto.algorithms.compression`), so they flush and check exactly as
sshwire's own transport does:

* :class:`ZlibCompressor` ends every packet with a *sync* flush (as OpenSSH does), so each
  packet can be inflated on arrival while the dictionary carries over between packets;
* :class:`ZlibDecompressor` refuses corrupt input and a packet that would inflate past
  sshwire's 256 KiB packet limit, raising :class:`~sshwire.ssh_exception.SSHException`
  rather than ``zlib.error``.

:class:`~sshwire.packet.Packetizer` accepts them (or any callable of the same shape) through
``set_outbound_compressor`` and ``set_inbound_compressor``.
"""

from __future__ import annotations

from ._proto.algorithms.compression import Compressor, Decompressor
from ._proto.framing import MAX_DECOMPRESSED_PAYLOAD

__all__ = ["ZlibCompressor", "ZlibDecompressor"]


class ZlibCompressor:
    """Compress one direction's payloads: ``compressor(payload) -> compressed payload``."""

    def __init__(self) -> None:
        self._stream = Compressor()

    def __call__(self, data: bytes) -> bytes:
        return self._stream.compress(bytes(data))


class ZlibDecompressor:
    """Inflate one direction's payloads: ``decompressor(payload) -> payload``.

    Corrupt input, or a payload inflating past the packet limit, raises
    :class:`~sshwire.ssh_exception.SSHException`.
    """

    def __init__(self) -> None:
        self._stream = Decompressor(MAX_DECOMPRESSED_PAYLOAD)

    def __call__(self, data: bytes) -> bytes:
        return self._stream.decompress(bytes(data))

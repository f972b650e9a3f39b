"""SSH binary packets over a blocking socket, with paramiko's ``packet`` module API.

Theory of operation
-------------------
:class:`Packetizer` is the socket-facing half of a paramiko-style transport: it writes and
reads whole packets (RFC 4253 §6) on a socket-like object (anything with ``send``, ``recv``
and ``close``). The framing itself -- padding, length checks, sequence numbers, the order of
decryption and authentication -- is sshwire's sans-IO framing layer
(:class:`~sshwire._proto.framing.PacketWriter` and
:class:`~sshwire._proto.framing.PacketReader`); this module only moves bytes and accepts
cipher state in paramiko's form, as ``Transport._activate_outbound`` and
``_activate_inbound`` hand it over:

* ``block_engine``: a started ``cryptography`` cipher context (``.update()``; CTR or CBC), or
  an ``AESGCM`` object when ``aead`` is true (its nonce is ``iv_out``/``iv_in``: a 4-byte
  fixed field and a 64-bit counter bumped after every packet, RFC 5647 §7.1);
* ``mac_engine``: a hash constructor such as ``hashlib.sha256``; the HMAC key is ``mac_key``
  and the tag is cut to ``mac_size`` bytes (RFC 4253 §6.4). With ``etm`` the MAC covers the
  ciphertext and the length stays clear (OpenSSH's ``*-etm@openssh.com``).

New cipher state applies from the next packet, so a transport switches keys between two
``read_message``/``send_message`` calls, right after NEWKEYS. ``read_message`` reads exactly
the bytes of one packet from the socket, as paramiko's does.

Locks: ``send_message`` holds a re-entrant write lock while it seals and writes; only one
thread may call ``read_message`` at a time (the transport's reader thread).
"""

from __future__ import annotations

import errno
import hmac
import logging
import os
import struct
import threading
import time
from collections.abc import Callable
from typing import Any, Final

from cryptography.exceptions import InvalidTag

from . import util
from ._proto.errors import IntegrityError
from ._proto.framing import PacketReader, PacketWriter
from .common import MSG_NAMES
from .message import _SECRET_MESSAGES, Message
from .ssh_exception import ProxyCommandFailure, SSHException

__all__ = ["NeedRekeyException", "Packetizer", "compute_hmac", "first_arg"]

_U32: Final = struct.Struct(">I")
_MAX_LINE: Final = 32 * 1024  # a version or pre-banner line longer than this is refused
_LINE_CHUNK: Final = 128
_SEQ_MASK: Final = 0xFFFFFFFF


def compute_hmac(key: bytes, message: bytes, digest_class: Any) -> bytes:
    """HMAC of *message* under *key* with the hash *digest_class* (RFC 2104), untruncated."""
    return hmac.new(key, message, digest_class).digest()


class NeedRekeyException(Exception):
    """``read_message`` found no packet pending while a key exchange is due: start it."""


def first_arg(e: BaseException) -> Any:
    """The first argument an exception was raised with (``None`` if it had none)."""
    args = e.args
    if isinstance(args, tuple) and args:
        return args[0]
    return None


def _next_gcm_nonce(nonce: bytes) -> bytes:
    """RFC 5647 §7.1: the 64-bit invocation counter after the 4-byte fixed field, plus one."""
    counter = (int.from_bytes(nonce[4:12], "big") + 1) & 0xFFFFFFFFFFFFFFFF
    return nonce[:4] + counter.to_bytes(8, "big")


def _keyed_mac(mac_engine: Any, mac_size: int, mac_key: bytes | None) -> hmac.HMAC | None:
    if mac_size <= 0:
        return None
    if mac_engine is None:
        raise ValueError("a MAC size was given without a MAC engine")
    return hmac.new(bytes(mac_key or b""), digestmod=mac_engine)


class _EngineSealer:
    """Outbound cipher state in paramiko's form, for ``PacketWriter.set_sealer``."""

    def __init__(
        self,
        engine: Any,
        block_size: int,
        mac_engine: Any,
        mac_size: int,
        mac_key: bytes | None,
        etm: bool,
        aead: bool,
        nonce: bytes | None,
    ) -> None:
        self.block_size = block_size
        self.aad_len = 4 if etm or aead else 0
        self._engine = engine
        self._etm = etm
        self._aead = aead
        self._nonce = bytes(nonce or b"")
        self._mac = None if engine is None or aead else _keyed_mac(mac_engine, mac_size, mac_key)
        self._mac_size = mac_size

    def seal(self, seq: int, packet: bytes) -> bytes | bytearray:
        engine = self._engine
        if engine is None:
            return packet
        if self._aead:  # RFC 5647 §7.3: the clear length is the associated data
            nonce = self._nonce
            self._nonce = _next_gcm_nonce(nonce)
            sealed: bytes = engine.encrypt(nonce, packet[4:], packet[:4])
            return packet[:4] + sealed
        out: bytes
        if self._etm:  # OpenSSH PROTOCOL §1.5: the MAC covers seq ‖ clear length ‖ ciphertext
            out = packet[:4] + engine.update(packet[4:])
            covered = out
        else:  # RFC 4253 §6.4: the MAC covers seq ‖ the whole unencrypted packet
            out = engine.update(packet)
            covered = packet
        if self._mac is not None:
            mac = self._mac.copy()
            mac.update(_U32.pack(seq))
            mac.update(covered)
            out += mac.digest()[: self._mac_size]
        return out


class _EngineOpener:
    """Inbound cipher state in paramiko's form, for ``PacketReader.set_opener``.

    It also tracks the declared length of the packet being read, so the Packetizer can ask
    the socket for exactly the bytes still missing.
    """

    def __init__(
        self,
        engine: Any,
        block_size: int,
        mac_engine: Any,
        mac_size: int,
        mac_key: bytes | None,
        etm: bool,
        aead: bool,
        nonce: bytes | None,
    ) -> None:
        self.block_size = block_size
        self.aad_len = 4 if etm or aead else 0
        self.tag_size = mac_size if engine is not None else 0
        self._engine = engine
        self._etm = etm
        self._aead = aead
        self._nonce = bytes(nonce or b"")
        self._mac = None if engine is None or aead else _keyed_mac(mac_engine, mac_size, mac_key)
        self._first: bytes | None = None  # decrypted first block (encrypt-and-MAC only)
        self.pending: int | None = None  # declared length of the packet being read

    def missing(self, buffered: int) -> int:
        """How many more bytes the packet being read needs (at least one)."""
        if self.pending is None:
            return max(max(self.block_size, 4) - buffered, 1)
        return max(4 + self.pending + self.tag_size - buffered, 1)

    def length(self, buf: bytearray, seq: int) -> int | None:
        if self._engine is None or self.aad_len:
            if len(buf) < 4:
                return None
            length = int(_U32.unpack_from(buf)[0])
        else:
            if self._first is None:
                if len(buf) < self.block_size:
                    return None
                self._first = self._engine.update(bytes(buf[: self.block_size]))
            length = int(_U32.unpack_from(self._first)[0])
        self.pending = length
        return length

    def _check_mac(self, seq: int, covered: bytes, tag: bytes) -> None:
        if self._mac is None:
            return
        mac = self._mac.copy()
        mac.update(_U32.pack(seq))
        mac.update(covered)
        if not hmac.compare_digest(mac.digest()[: self.tag_size], tag):
            raise IntegrityError("Mismatched MAC")

    def open(self, buf: bytearray, seq: int, length: int) -> bytes:
        self.pending = None
        end = 4 + length
        engine = self._engine
        if engine is None:
            return bytes(buf[4:end])
        tag = bytes(buf[end : end + self.tag_size])
        if self._aead:
            nonce = self._nonce
            try:
                plain: bytes = engine.decrypt(nonce, bytes(buf[4:end]) + tag, bytes(buf[:4]))
            except InvalidTag:
                raise IntegrityError("Mismatched MAC (AES-GCM tag)") from None
            self._nonce = _next_gcm_nonce(nonce)
            return plain
        if self._etm:
            self._check_mac(seq, bytes(buf[:end]), tag)
            return bytes(engine.update(bytes(buf[4:end])))
        first = self._first
        assert first is not None
        self._first = None
        packet: bytes = first + engine.update(bytes(buf[self.block_size : end]))
        self._check_mac(seq, packet, tag)
        return packet[4:]


class Packetizer:
    """Reads and writes SSH packets on *socket*, with paramiko's ``Packetizer`` methods."""

    #: ask for a key exchange after this many packets in one direction (RFC 4344 §3.1) ...
    REKEY_PACKETS = pow(2, 29)
    #: ... or after this many bytes
    REKEY_BYTES = pow(2, 29)
    #: packets the peer may still send after we asked for a rekey, before we give up
    REKEY_PACKETS_OVERFLOW_MAX = pow(2, 29)
    #: bytes the peer may still send after we asked for a rekey, before we give up
    REKEY_BYTES_OVERFLOW_MAX = pow(2, 29)

    def __init__(self, socket: Any) -> None:
        self._socket = socket
        self._logger: logging.Logger | None = None
        self._closed = False
        self._dump_packets = False
        self._need_rekey = False
        self._init_count = 0  # bit 1: outbound keys set, bit 2: inbound keys set
        self._remainder = b""  # bytes read past a line by readline()
        #: set by the transport once the first key exchange is done (sequence-number
        #: wrap-around is fatal before that: strict kex, CVE-2023-48795)
        self._initial_kex_done = False
        self._writer = PacketWriter(os.urandom)
        self._reader = PacketReader()
        self._opener = _EngineOpener(None, 8, None, 0, None, False, False, None)
        self._reader.set_opener(self._opener)
        self._mac_size_out = 0
        self._mac_size_in = 0
        self._encrypting = False
        self._compress_out: Callable[[bytes], bytes] | None = None
        self._compress_in: Callable[[bytes], bytes] | None = None
        self._received_bytes_overflow = 0
        self._received_packets_overflow = 0
        self._write_lock = threading.RLock()
        self._keepalive_interval: float = 0
        self._keepalive_last = time.monotonic()
        self._keepalive_callback: Callable[[], Any] | None = None
        self._handshake_deadline: float | None = None
        self._handshake_complete = False
        self._timer_expired = False

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    # ------------------------------------------------------------------------ configuration

    def reset_seqno_out(self) -> None:
        """Restart the outbound sequence number at 0 (strict kex, after our NEWKEYS)."""
        self._writer.reset_sequence()

    def reset_seqno_in(self) -> None:
        """Restart the inbound sequence number at 0 (strict kex, after the peer's NEWKEYS)."""
        self._reader.reset_sequence()

    def set_log(self, log: logging.Logger) -> None:
        """Log through *log* (a :class:`logging.Logger`)."""
        self._logger = log

    def set_outbound_cipher(
        self,
        block_engine: Any,
        block_size: int,
        mac_engine: Any,
        mac_size: int,
        mac_key: bytes | None,
        sdctr: bool = False,
        etm: bool = False,
        aead: bool = False,
        iv_out: bytes | None = None,
    ) -> None:
        """Seal every later packet with this cipher state (see the module notes).

        *sdctr* is accepted for compatibility: sshwire pads with random bytes in every mode.
        """
        sealer = _EngineSealer(
            block_engine, block_size, mac_engine, mac_size, mac_key, etm, aead, iv_out
        )
        with self._write_lock:
            self._writer.set_sealer(sealer)
            self._mac_size_out = mac_size
            self._encrypting = block_engine is not None
            self._keys_installed(1)

    def set_inbound_cipher(
        self,
        block_engine: Any,
        block_size: int,
        mac_engine: Any,
        mac_size: int,
        mac_key: bytes | None,
        etm: bool = False,
        aead: bool = False,
        iv_in: bytes | None = None,
    ) -> None:
        """Open every later packet with this cipher state (see the module notes)."""
        opener = _EngineOpener(
            block_engine, block_size, mac_engine, mac_size, mac_key, etm, aead, iv_in
        )
        self._reader.set_opener(opener)
        self._opener = opener
        self._mac_size_in = mac_size
        self._received_bytes_overflow = 0
        self._received_packets_overflow = 0
        self._keys_installed(2)

    def _keys_installed(self, direction: int) -> None:
        # a pending rekey is over once both directions have their new keys
        self._init_count |= direction
        if self._init_count == 3:
            self._init_count = 0
            self._need_rekey = False

    def set_outbound_compressor(self, compressor: Callable[[bytes], bytes] | None) -> None:
        """Pass every later outgoing payload through *compressor* (``None``: stop)."""
        self._compress_out = compressor

    def set_inbound_compressor(self, compressor: Callable[[bytes], bytes] | None) -> None:
        """Pass every later incoming payload through *compressor* (``None``: stop)."""
        self._compress_in = compressor

    def close(self) -> None:
        """Mark the packetizer closed and close the socket."""
        self._closed = True
        self._socket.close()

    def set_hexdump(self, hexdump: bool) -> None:
        """Log every payload as a hex dump at DEBUG level (it shows secrets: debugging only)."""
        self._dump_packets = hexdump

    def get_hexdump(self) -> bool:
        return self._dump_packets

    def get_mac_size_in(self) -> int:
        return self._mac_size_in

    def get_mac_size_out(self) -> int:
        return self._mac_size_out

    def need_rekey(self) -> bool:
        """True once enough was sent or received that new keys should be negotiated."""
        return self._need_rekey

    def set_keepalive(self, interval: float, callback: Callable[[], Any]) -> None:
        """Call *callback* when *interval* seconds pass without traffic (0: never)."""
        self._keepalive_interval = interval
        self._keepalive_callback = callback
        self._keepalive_last = time.monotonic()

    # ------------------------------------------------------------------------ handshake timer

    def read_timer(self) -> None:
        """Mark the handshake as timed out now."""
        self._timer_expired = True

    def start_handshake(self, timeout: float) -> None:
        """Start the handshake clock: after *timeout* seconds, reads give up with EOFError."""
        if self._handshake_deadline is None:
            self._handshake_deadline = time.monotonic() + float(timeout)

    def handshake_timed_out(self) -> bool:
        """True if the handshake was started, has not completed, and ran out of time."""
        if self._handshake_deadline is None or self._handshake_complete:
            return False
        if not self._timer_expired and time.monotonic() >= self._handshake_deadline:
            self._timer_expired = True
        return self._timer_expired

    def complete_handshake(self) -> None:
        """Stop the handshake clock."""
        if self._handshake_deadline is not None:
            self._timer_expired = False
            self._handshake_complete = True

    # ------------------------------------------------------------------------ raw I/O

    def read_all(self, n: int, check_rekey: bool = False) -> bytes:
        """Exactly *n* bytes from the socket, blocking as long as it takes.

        Raises ``EOFError`` if the socket closes (or the handshake times out) first, and
        :class:`NeedRekeyException` on a socket timeout with nothing read yet while a rekey is
        due, if *check_rekey* is true.
        """
        out = self._remainder[:n]
        self._remainder = self._remainder[n:]
        parts = [out]
        n -= len(out)
        got = len(out)
        while n > 0:
            if self.handshake_timed_out():
                raise EOFError()
            timed_out = False
            try:
                data = self._socket.recv(n)
            except TimeoutError:
                timed_out = True
            except OSError as exc:
                if first_arg(exc) == errno.EAGAIN:
                    timed_out = True
                elif self._closed:
                    raise EOFError() from exc
                else:
                    raise
            if timed_out:
                if self._closed:
                    raise EOFError()
                if check_rekey and got == 0 and self._need_rekey:
                    raise NeedRekeyException()
                self._check_keepalive()
                continue
            if not data:
                raise EOFError()
            parts.append(data)
            n -= len(data)
            got += len(data)
        return b"".join(parts)

    def write_all(self, out: bytes | bytearray) -> None:
        """Send all of *out*; ``EOFError`` if the socket fails or stops taking data."""
        self._keepalive_last = time.monotonic()
        view = memoryview(out)
        zero_sends = 0
        while len(view) > 0:
            retry = False
            sent = -1
            try:
                sent = self._socket.send(view)
            except TimeoutError:
                retry = True
            except ProxyCommandFailure:
                raise
            except OSError as exc:
                retry = first_arg(exc) == errno.EAGAIN
            except Exception:  # a socket-like object failing its own way (a broken pipe)
                sent = -1
            if retry:
                sent = -1 if self._closed else 0
            elif sent == 0:
                # nothing taken: give a slow peer a few more tries before calling it gone
                zero_sends += 1
                if zero_sends > 10:
                    sent = -1
            if sent < 0:
                raise EOFError()
            view = view[sent:]

    def readline(self, timeout: float) -> str:
        """One line (without CR LF) from the socket, as text; ``socket.timeout`` if no byte
        arrives for *timeout* seconds, ``EOFError`` if the socket closes."""
        buf = self._remainder
        while b"\n" not in buf:
            if len(buf) > _MAX_LINE:
                raise SSHException(f"line longer than {_MAX_LINE} bytes from the peer")
            buf += self._read_timeout(timeout)
        n = buf.index(b"\n")
        self._remainder = buf[n + 1 :]
        line = buf[:n]
        if line.endswith(b"\r"):
            line = line[:-1]
        return util.u(line)

    def _read_timeout(self, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        while True:
            try:
                data: bytes = self._socket.recv(_LINE_CHUNK)
            except TimeoutError:
                if self._closed:
                    raise EOFError() from None
                if time.monotonic() >= deadline:
                    raise
                continue
            if not data:
                raise EOFError()
            return data

    # ------------------------------------------------------------------------ packets

    def send_message(self, data: Any) -> None:
        """Seal *data* (a :class:`~sshwire.message.Message` or bytes) and send it."""
        payload = bytes(util.asbytes(data))
        cmd = payload[0]
        with self._write_lock:
            if self._compress_out is not None:
                payload = self._compress_out(payload)
            writer = self._writer
            if writer.sequence == _SEQ_MASK and not self._initial_kex_done:
                raise SSHException("Sequence number rolled over during initial kex!")
            if self._dump_packets:
                self._log(logging.DEBUG, f"Write packet <{_msg_name(cmd)}>, length {len(payload)}")
                self._log(logging.DEBUG, util.format_binary(payload, "OUT: "))
            self.write_all(writer.encode(payload))
            due = writer.packets >= self.REKEY_PACKETS or writer.bytes >= self.REKEY_BYTES
            if due and not self._need_rekey:
                self._log(
                    logging.DEBUG,
                    f"Rekeying (hit {writer.packets} packets, {writer.bytes} bytes sent)",
                )
                self._received_bytes_overflow = 0
                self._received_packets_overflow = 0
                self._need_rekey = True

    def read_message(self) -> tuple[int, Message]:
        """The next packet as ``(message number, Message of the rest)``.

        Only one thread may read. Raises ``EOFError`` when the socket closes,
        :class:`~sshwire.ssh_exception.SSHException` for a corrupt or forged packet, and
        :class:`NeedRekeyException` (see :meth:`read_all`).
        """
        reader = self._reader
        before = reader.bytes
        payload = reader.next_payload()
        while payload is None:  # each round reads at least one byte, or raises
            need = self._opener.missing(reader.buffered)
            reader.feed(self.read_all(need, check_rekey=reader.buffered == 0))
            payload = reader.next_payload()
        if not payload:
            raise SSHException("empty packet payload from the peer")
        seqno = (reader.sequence - 1) & _SEQ_MASK
        if reader.sequence == 0 and not self._initial_kex_done:
            raise SSHException("Sequence number rolled over during initial kex!")
        if self._compress_in is not None:
            payload = self._compress_in(payload)
        if self._dump_packets:
            self._log(logging.DEBUG, util.format_binary(payload, "IN: "))
        self._count_received(reader.bytes - before)
        cmd = payload[0]
        if self._dump_packets:
            self._log(logging.DEBUG, f"Read packet <{_msg_name(cmd)}>, length {len(payload)}")
        msg = Message(payload[1:])
        msg._secret = _SECRET_MESSAGES.get(cmd)  # its repr must not show a password
        msg.seqno = seqno  # type: ignore[attr-defined]
        return cmd, msg

    def _count_received(self, wire_bytes: int) -> None:
        reader = self._reader
        if self._need_rekey:
            # we asked for new keys: the peer gets this much slack before we hang up
            self._received_bytes_overflow += wire_bytes
            self._received_packets_overflow += 1
            if (
                self._received_packets_overflow >= self.REKEY_PACKETS_OVERFLOW_MAX
                or self._received_bytes_overflow >= self.REKEY_BYTES_OVERFLOW_MAX
            ):
                raise SSHException("Remote transport is ignoring rekey requests")
        elif reader.packets >= self.REKEY_PACKETS or reader.bytes >= self.REKEY_BYTES:
            self._log(
                logging.DEBUG,
                f"Rekeying (hit {reader.packets} packets, {reader.bytes} bytes received)",
            )
            self._received_bytes_overflow = 0
            self._received_packets_overflow = 0
            self._need_rekey = True

    # ------------------------------------------------------------------------ internals

    def _log(self, level: int, msg: str | list[str]) -> None:
        if self._logger is None:
            return
        for line in msg if isinstance(msg, list) else [msg]:
            self._logger.log(level, line)

    def _check_keepalive(self) -> None:
        callback = self._keepalive_callback
        if not self._keepalive_interval or not self._encrypting or self._need_rekey:
            return  # only once encrypting, and never in the middle of a rekey
        now = time.monotonic()
        if callback is not None and now > self._keepalive_last + self._keepalive_interval:
            callback()
            self._keepalive_last = now


def _msg_name(cmd: int) -> str:
    return MSG_NAMES.get(cmd, f"${cmd:x}")

"""The binary packet protocol (RFC 4253 §6), sans-IO.

Theory of operation
-------------------
:class:`PacketWriter` turns payloads into wire packets and :class:`PacketReader` turns the
incoming byte stream, in any chunking, back into payloads. Each holds one *sealer*/*opener*:
the cipher state for its direction. Before the first NEWKEYS it is the plain one; after each
NEWKEYS the connection installs a new one with :meth:`set_keys`. Sequence numbers run on
across NEWKEYS (they wrap at 2**32) unless strict kex resets them (:meth:`reset_sequence`).

Packet layout::

    uint32 packet_length | byte padding_length | payload | padding | mac-or-tag

Four modes, by cipher and MAC:

* encrypt-and-MAC (CTR/CBC + plain HMAC): everything but the MAC is encrypted; the MAC covers
  seq ‖ plaintext packet. The reader decrypts the first block to learn the length.
* encrypt-then-MAC (CTR/CBC + ``*-etm@openssh.com``): the length stays clear; the MAC covers
  seq ‖ length ‖ ciphertext and is checked before anything is decrypted.
* AES-GCM (RFC 5647 as amended by OpenSSH): the length is the clear AAD.
* ChaCha20-Poly1305 (OpenSSH PROTOCOL.chacha20poly1305): the length is encrypted under K_1,
  the rest under K_2, and the Poly1305 tag covers both ciphertexts.

In the last three modes the 4-byte length is excluded from the block alignment.

The reader checks the declared length (at most ``max_packet_length``, a block multiple) before
it waits for, or allocates, the rest of the packet, and authenticates the packet before any of
its payload is returned. No locks here: the shell serialises each direction.
"""

from __future__ import annotations

import hmac
import struct
from collections.abc import Callable, Container
from typing import Final, Protocol

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, algorithms
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.poly1305 import Poly1305

from .algorithms.cipher import CIPHERS, CipherSpec, block_cipher_context
from .algorithms.compression import COMPRESSIONS, Compressor, Decompressor, is_delayed
from .algorithms.mac import MACS
from .constants import MAX_PACKET_LENGTH
from .errors import IntegrityError, PacketError, ProtocolError

Rng = Callable[[int], bytes]

_U32: Final = struct.Struct(">I")
_U64: Final = struct.Struct(">Q")
_HEADER: Final = struct.Struct(">IB")
_ZERO64: Final = bytes(64)
_ZERO8: Final = bytes(8)
_MIN_PADDING: Final = 4
_PAD_POOL_SIZE: Final = 4096
_HAS_ENCRYPT_INTO: Final = hasattr(AESGCM, "encrypt_into")
# the largest payload a peer may make us inflate a single packet into
MAX_DECOMPRESSED_PAYLOAD: Final = MAX_PACKET_LENGTH


def _chacha_contexts(key: bytes) -> tuple[CipherContext, CipherContext]:
    """K_2 (first 32 bytes: payload and Poly1305 key) and K_1 (last 32: the length)."""
    main = Cipher(algorithms.ChaCha20(key[:32], bytes(16)), None).encryptor()
    header = Cipher(algorithms.ChaCha20(key[32:64], bytes(16)), None).encryptor()
    return main, header


# --------------------------------------------------------------------------------------------
# Sealers: one per outbound mode. ``seal(seq, body)`` gets the unencrypted packet minus nothing
# (length, padding length, payload, padding) and returns the bytes to put on the wire.
# ``seal_into(seq, packet, out)`` writes the same ``len(packet) + tag_size`` bytes into ``out``
# (exactly that long), so that :meth:`PacketWriter.encode_data` seals a run of packets into one
# buffer with no copy after the cipher.


class _PlainSealer:
    block_size = 8
    aad_len = 0
    tag_size = 0

    def seal(self, seq: int, packet: bytes) -> bytes | bytearray:
        return packet

    def seal_into(self, seq: int, packet: bytes, out: memoryview) -> None:
        out[:] = packet


class _BlockSealer:
    """CTR or CBC with an HMAC, encrypt-and-MAC or encrypt-then-MAC."""

    def __init__(self, spec: CipherSpec, key: bytes, iv: bytes, mac_name: str, mac_key: bytes):
        mac = MACS[mac_name]
        self.block_size = spec.block_size
        self.aad_len = 4 if mac.etm else 0
        self._ctx = block_cipher_context(spec, key, iv, encrypt=True)
        self._mac = mac.keyed(mac_key[: mac.key_size])
        self._tag_size = self.tag_size = mac.tag_size
        self._etm = mac.etm
        self._stream = spec.mode == "ctr"  # update_into() may write exactly the input's size

    def seal_into(self, seq: int, packet: bytes, out: memoryview) -> None:
        n = len(packet)
        src = memoryview(packet)
        mac = self._mac.copy()
        mac.update(_U32.pack(seq))
        if self._etm:
            out[:4] = src[:4]
            self._encrypt(src[4:], out[4:n])
            mac.update(out[:n])
        else:
            mac.update(packet)
            self._encrypt(src, out[:n])
        out[n:] = mac.digest()[: self._tag_size]

    def _encrypt(self, src: memoryview, dst: memoryview) -> None:
        if self._stream:
            self._ctx.update_into(src, dst)
        else:  # CBC's update_into wants a block of slack past the output
            dst[:] = self._ctx.update(src)

    def seal(self, seq: int, packet: bytes) -> bytes | bytearray:
        return _sealed(self, seq, packet)


class _GcmSealer:
    block_size = 16
    aad_len = 4
    tag_size = 16

    def __init__(self, key: bytes, iv: bytes) -> None:
        self._aead = AESGCM(key)
        self._fixed = iv[:4]
        self._counter = int.from_bytes(iv[4:12], "big")

    def seal_into(self, seq: int, packet: bytes, out: memoryview) -> None:
        nonce = self._fixed + _U64.pack(self._counter)
        self._counter = (self._counter + 1) & 0xFFFFFFFFFFFFFFFF
        view = memoryview(packet)
        out[:4] = view[:4]
        if _HAS_ENCRYPT_INTO:
            self._aead.encrypt_into(nonce, view[4:], view[:4], out[4:])
        else:  # pragma: no cover - cryptography < 47
            out[4:] = self._aead.encrypt(nonce, view[4:], view[:4])

    def seal(self, seq: int, packet: bytes) -> bytes | bytearray:
        return _sealed(self, seq, packet)


class _ChachaSealer:
    block_size = 8
    aad_len = 4
    tag_size = 16

    def __init__(self, key: bytes) -> None:
        self._main, self._header = _chacha_contexts(key)

    def seal_into(self, seq: int, packet: bytes, out: memoryview) -> None:
        nonce = _ZERO8 + _U64.pack(seq)
        main = self._main
        self._header.reset_nonce(nonce)
        main.reset_nonce(nonce)
        n = len(packet)
        src = memoryview(packet)
        self._header.update_into(src[:4], out[:4])
        poly_key = main.update(_ZERO64)[:32]  # block 0; the payload starts at block 1
        main.update_into(src[4:], out[4:n])
        out[n:] = Poly1305.generate_tag(poly_key, out[:n])

    def seal(self, seq: int, packet: bytes) -> bytes | bytearray:
        return _sealed(self, seq, packet)


_Sealer = _PlainSealer | _BlockSealer | _GcmSealer | _ChachaSealer


def _sealed(
    sealer: _BlockSealer | _GcmSealer | _ChachaSealer, seq: int, packet: bytes
) -> bytearray:
    """``seal``: a fresh buffer for one packet."""
    out = bytearray(len(packet) + sealer.tag_size)
    with memoryview(out) as view:
        sealer.seal_into(seq, packet, view)
    return out


class Sealer(Protocol):
    """What :meth:`PacketWriter.set_sealer` accepts: the classes above, or cipher state built
    elsewhere (``sshwire.packet.Packetizer`` wraps engines handed over in paramiko's form)."""

    block_size: int  # the packet alignment unit
    aad_len: int  # 4 when the length field stays out of the alignment (etm, AEAD), else 0

    def seal(self, seq: int, packet: bytes) -> bytes | bytearray: ...


class PacketWriter:
    """Encodes outgoing payloads into packets for one direction."""

    def __init__(self, rng: Rng) -> None:
        self._rng = rng
        self._sealer: Sealer = _PlainSealer()
        self._block = 8
        self._aad = 0
        self._pool = b""
        self._pool_pos = 0
        self._compressor: Compressor | None = None
        self._pending_compression = False
        self.sequence = 0
        self.packets = 0  # packets sealed since the last set_keys (rekey accounting)
        self.bytes = 0  # wire bytes sealed since the last set_keys

    def set_keys(
        self,
        cipher: str,
        key: bytes,
        iv: bytes = b"",
        mac: str | None = None,
        mac_key: bytes = b"",
        compression: str = "none",
    ) -> None:
        """Install the cipher state that NEWKEYS switches this direction to."""
        spec = CIPHERS[cipher]
        self._sealer = _make_sealer(spec, key, iv, mac, mac_key)
        self._block = self._sealer.block_size
        self._aad = self._sealer.aad_len
        self._set_compression(compression)
        self.packets = 0
        self.bytes = 0

    def set_sealer(self, sealer: Sealer) -> None:
        """Install ready-made cipher state (no compression change); counters restart."""
        self._sealer = sealer
        self._block = sealer.block_size
        self._aad = sealer.aad_len
        self.packets = 0
        self.bytes = 0

    def _set_compression(self, name: str) -> None:
        if name not in COMPRESSIONS:
            raise ValueError(f"unknown compression {name!r}")
        self._compressor = None
        self._pending_compression = False
        if name != "none":
            if is_delayed(name):
                self._pending_compression = True
            else:
                self._compressor = Compressor()

    def start_delayed_compression(self) -> None:
        """Called when user auth succeeds: zlib@openssh.com starts with the next packet."""
        if self._pending_compression:
            self._pending_compression = False
            self._compressor = Compressor()

    @property
    def compression_active(self) -> bool:
        return self._compressor is not None

    def reset_sequence(self) -> None:
        """Strict kex (kex-strict-*-v00@openssh.com): the sequence number restarts at 0."""
        self.sequence = 0

    def _padding(self, n: int) -> bytes:
        pos = self._pool_pos
        if pos + n > len(self._pool):
            self._pool = self._rng(_PAD_POOL_SIZE)
            pos = 0
        self._pool_pos = pos + n
        return self._pool[pos : pos + n]

    def encode(self, payload: bytes | bytearray | memoryview) -> bytes | bytearray:
        """Seal one payload into a packet and advance the sequence number."""
        if self._compressor is not None:
            payload = self._compressor.compress(payload)  # type: ignore[arg-type]
        n = len(payload)
        block = self._block
        padding = block - (5 - self._aad + n) % block
        if padding < _MIN_PADDING:
            padding += block
        packet = b"".join((_HEADER.pack(n + padding + 1, padding), payload, self._padding(padding)))
        seq = self.sequence
        out = self._sealer.seal(seq, packet)
        self.sequence = (seq + 1) & 0xFFFFFFFF
        self.packets += 1
        self.bytes += len(out)
        return out

    def encode_data(self, head: bytes, data: bytes | memoryview, step: int) -> bytes | bytearray:
        """Seal one packet per ``step``-byte chunk of ``data``, each with the payload
        ``head ‖ uint32(len(chunk)) ‖ chunk`` (channel data), into one buffer.

        The packets are those :meth:`encode` makes of the joined payloads, but each chunk is
        copied once (into its plaintext) and the cipher writes straight into the buffer.
        """
        sealer = self._sealer
        seal_into = getattr(sealer, "seal_into", None)  # ours have it; Packetizer's may not
        tag = getattr(sealer, "tag_size", None)
        total = len(data)
        if seal_into is None or tag is None or self._compressor is not None or not total:
            view = memoryview(data)
            return b"".join(
                [
                    self.encode(b"".join((head, _U32.pack(len(chunk)), chunk)))
                    for chunk in (view[i : i + step] for i in range(0, total, step))
                ]
            )
        block = self._block
        overhead = 9 + len(head)  # uint32 length, padding length, head, uint32 data length
        base = overhead - self._aad

        def padded(n: int) -> int:
            padding = block - (base + n) % block
            return padding + block if padding < _MIN_PADDING else padding

        full, rest = divmod(total, step)
        size = full * (overhead + step + padded(step) + tag)
        if rest:
            size += overhead + rest + padded(rest) + tag
        out = bytearray(size)
        seq = self.sequence
        pos = 0
        prefixes: dict[int, bytes] = {}  # by chunk length: length, padding length, head, length
        pool = self._padding
        with memoryview(out) as view:
            if type(sealer) is _GcmSealer and _HAS_ENCRYPT_INTO:  # inlined (see seal_into)
                encrypt_into = sealer._aead.encrypt_into
                fixed, counter = sealer._fixed, sealer._counter
                # by chunk length: the clear length (the AAD), the rest of the header, padding
                shapes: dict[int, tuple[bytes, bytes, int]] = {}
                for start in range(0, total, step):
                    chunk = data[start : start + step]
                    n = len(chunk)
                    shape = shapes.get(n)
                    if shape is None:
                        padding = padded(n)
                        header = _HEADER.pack(overhead - 4 + n + padding, padding)
                        shape = shapes[n] = (header[:4], header[4:] + head + _U32.pack(n), padding)
                    aad, rest_of_header, padding = shape
                    body = b"".join((rest_of_header, chunk, pool(padding)))
                    end = pos + 20 + len(body)  # length field, body, tag
                    view[pos : pos + 4] = aad
                    encrypt_into(fixed + _U64.pack(counter), body, aad, view[pos + 4 : end])
                    counter = (counter + 1) & 0xFFFFFFFFFFFFFFFF
                    pos = end
                sealer._counter = counter
                seq = (seq + full + (1 if rest else 0)) & 0xFFFFFFFF
            else:
                for start in range(0, total, step):
                    chunk = data[start : start + step]
                    n = len(chunk)
                    padding = padded(n)
                    prefix = prefixes.get(n)
                    if prefix is None:
                        prefix = prefixes[n] = b"".join(
                            (_HEADER.pack(overhead - 4 + n + padding, padding), head, _U32.pack(n))
                        )
                    packet = b"".join((prefix, chunk, pool(padding)))
                    end = pos + len(packet) + tag
                    seal_into(seq, packet, view[pos:end])
                    seq = (seq + 1) & 0xFFFFFFFF
                    pos = end
        self.sequence = seq
        self.packets += full + (1 if rest else 0)
        self.bytes += size
        return out


def _make_sealer(
    spec: CipherSpec, key: bytes, iv: bytes, mac: str | None, mac_key: bytes
) -> _Sealer:
    _check_key(spec, key, iv)
    if spec.mode == "gcm":
        return _GcmSealer(key[: spec.key_size], iv[: spec.iv_size])
    if spec.mode == "chacha":
        return _ChachaSealer(key[:64])
    if mac is None or mac not in MACS:
        raise ValueError(f"cipher {spec.name} needs a MAC, got {mac!r}")
    return _BlockSealer(spec, key[: spec.key_size], iv[: spec.iv_size], mac, mac_key)


def _check_key(spec: CipherSpec, key: bytes, iv: bytes) -> None:
    if len(key) < spec.key_size or len(iv) < spec.iv_size:
        raise ValueError(
            f"{spec.name} needs a {spec.key_size}-byte key and a {spec.iv_size}-byte IV, "
            f"got {len(key)} and {len(iv)}"
        )


# --------------------------------------------------------------------------------------------
# Openers: one per inbound mode. ``length(buf, seq)`` returns the declared packet length once
# enough bytes are there (or None); ``open(buf, seq, length)`` authenticates and returns the
# plaintext from the padding-length byte on, once ``total(length)`` bytes are buffered.


class _PlainOpener:
    block_size = 8
    aad_len = 0
    tag_size = 0

    def length(self, buf: bytearray, seq: int) -> int | None:
        if len(buf) < 4:
            return None
        return int(_U32.unpack_from(buf)[0])

    def open(self, buf: bytearray, seq: int, length: int) -> bytes:
        return bytes(buf[4 : 4 + length])


class _BlockOpener:
    def __init__(self, spec: CipherSpec, key: bytes, iv: bytes, mac_name: str, mac_key: bytes):
        mac = MACS[mac_name]
        self.block_size = spec.block_size
        self.aad_len = 4 if mac.etm else 0
        self.tag_size = mac.tag_size
        self._ctx = block_cipher_context(spec, key, iv, encrypt=False)
        self._mac = mac.keyed(mac_key[: mac.key_size])
        self._etm = mac.etm
        self._first: bytes | None = None  # decrypted first block (encrypt-and-MAC only)

    def length(self, buf: bytearray, seq: int) -> int | None:
        if self._etm:
            if len(buf) < 4:
                return None
            return int(_U32.unpack_from(buf)[0])
        if self._first is None:
            if len(buf) < self.block_size:
                return None
            self._first = self._ctx.update(bytes(buf[: self.block_size]))
        return int(_U32.unpack_from(self._first)[0])

    def open(self, buf: bytearray, seq: int, length: int) -> bytes:
        view = memoryview(buf)
        end = 4 + length
        try:
            mac = self._mac.copy()
            mac.update(_U32.pack(seq))
            if self._etm:
                mac.update(view[:end])
                _verify(mac.digest()[: self.tag_size], view[end : end + self.tag_size])
                return self._ctx.update(view[4:end])
            first = self._first
            assert first is not None
            self._first = None
            plain = first + self._ctx.update(view[self.block_size : end])
            mac.update(plain)
            _verify(mac.digest()[: self.tag_size], view[end : end + self.tag_size])
            return plain[4:]
        finally:
            view.release()


def _verify(expected: bytes, got: memoryview) -> None:
    if not hmac.compare_digest(expected, got):
        raise IntegrityError("packet MAC check failed")


class _GcmOpener:
    block_size = 16
    aad_len = 4
    tag_size = 16

    def __init__(self, key: bytes, iv: bytes) -> None:
        self._aead = AESGCM(key)
        self._fixed = iv[:4]
        self._counter = int.from_bytes(iv[4:12], "big")

    def length(self, buf: bytearray, seq: int) -> int | None:
        if len(buf) < 4:
            return None
        return int(_U32.unpack_from(buf)[0])

    def open(self, buf: bytearray, seq: int, length: int) -> bytes:
        nonce = self._fixed + _U64.pack(self._counter)
        view = memoryview(buf)
        try:
            plain = self._aead.decrypt(nonce, view[4 : 4 + length + 16], view[:4])
        except InvalidTag:
            raise IntegrityError("packet AES-GCM tag check failed") from None
        finally:
            view.release()
        self._counter = (self._counter + 1) & 0xFFFFFFFFFFFFFFFF
        return plain


class _ChachaOpener:
    block_size = 8
    aad_len = 4
    tag_size = 16

    def __init__(self, key: bytes) -> None:
        self._main, self._header = _chacha_contexts(key)

    def length(self, buf: bytearray, seq: int) -> int | None:
        if len(buf) < 4:
            return None
        header = self._header
        header.reset_nonce(_ZERO8 + _U64.pack(seq))
        return int(_U32.unpack(header.update(bytes(buf[:4])))[0])

    def open(self, buf: bytearray, seq: int, length: int) -> bytes:
        main = self._main
        main.reset_nonce(_ZERO8 + _U64.pack(seq))
        poly_key = main.update(_ZERO64)[:32]
        view = memoryview(buf)
        end = 4 + length
        try:
            Poly1305.verify_tag(poly_key, view[:end], bytes(view[end : end + 16]))
        except InvalidSignature:
            raise IntegrityError("packet ChaCha20-Poly1305 tag check failed") from None
        try:
            return main.update(view[4:end])
        finally:
            view.release()


_Opener = _PlainOpener | _BlockOpener | _GcmOpener | _ChachaOpener


class Opener(Protocol):
    """What :meth:`PacketReader.set_opener` accepts (see :class:`Sealer`)."""

    block_size: int
    aad_len: int
    tag_size: int  # MAC or AEAD tag bytes after the packet

    def length(self, buf: bytearray, seq: int) -> int | None: ...

    def open(self, buf: bytearray, seq: int, length: int) -> bytes: ...


class PacketReader:
    """Decodes the incoming byte stream into payloads for one direction.

    Feed bytes with :meth:`feed`, then call :meth:`next_payload` until it returns ``None``. Key
    changes take effect from the packet after the one that carried NEWKEYS, so the connection
    pulls one payload at a time and calls :meth:`set_keys` between two pulls.
    """

    def __init__(
        self,
        max_packet_length: int = MAX_PACKET_LENGTH,
        max_decompressed: int = MAX_DECOMPRESSED_PAYLOAD,
    ) -> None:
        self.max_packet_length = max_packet_length
        self.max_decompressed = max_decompressed  # the most one packet may inflate to
        self._buf = bytearray()
        self._opener: Opener = _PlainOpener()
        self._length: int | None = None  # declared length of the packet being received
        self._error: ProtocolError | None = None  # found by next_packets after good packets
        self._decompressor: Decompressor | None = None
        self._pending_compression = False
        self.sequence = 0
        self.packets = 0
        self.bytes = 0

    def set_keys(
        self,
        cipher: str,
        key: bytes,
        iv: bytes = b"",
        mac: str | None = None,
        mac_key: bytes = b"",
        compression: str = "none",
    ) -> None:
        """Install the cipher state for packets after the peer's NEWKEYS."""
        if self._length is not None:
            raise PacketError("keys changed in the middle of a packet")
        spec = CIPHERS[cipher]
        _check_key(spec, key, iv)
        opener: _Opener
        if spec.mode == "gcm":
            opener = _GcmOpener(key[: spec.key_size], iv[: spec.iv_size])
        elif spec.mode == "chacha":
            opener = _ChachaOpener(key[:64])
        else:
            if mac is None or mac not in MACS:
                raise ValueError(f"cipher {spec.name} needs a MAC, got {mac!r}")
            opener = _BlockOpener(spec, key[: spec.key_size], iv[: spec.iv_size], mac, mac_key)
        self._opener = opener
        if compression not in COMPRESSIONS:
            raise ValueError(f"unknown compression {compression!r}")
        self._decompressor = None
        self._pending_compression = is_delayed(compression)
        if compression != "none" and not self._pending_compression:
            self._decompressor = Decompressor(self.max_decompressed)
        self.packets = 0
        self.bytes = 0

    def set_opener(self, opener: Opener) -> None:
        """Install ready-made cipher state for the next packet (no compression change)."""
        if self._length is not None:
            raise PacketError("keys changed in the middle of a packet")
        self._opener = opener
        self.packets = 0
        self.bytes = 0

    def start_delayed_compression(self) -> None:
        """Called when user auth succeeds: zlib@openssh.com applies from the next packet."""
        if self._pending_compression:
            self._pending_compression = False
            self._decompressor = Decompressor(self.max_decompressed)

    def reset_sequence(self) -> None:
        self.sequence = 0

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        self._buf += data

    @property
    def buffered(self) -> int:
        """Bytes received but not yet decoded."""
        return len(self._buf)

    def check_eof(self) -> None:
        """The stream ended: raise if it ended inside a packet."""
        if self._buf:
            raise PacketError(
                f"connection closed in the middle of a packet "
                f"({len(self._buf)} bytes of it received)"
            )

    def next_payload(self) -> bytes | None:
        """The next complete, authenticated payload, or None until more bytes arrive."""
        packet = self.next_packet()
        if packet is None:
            return None
        buf, start, end = packet
        return buf if start == 0 and end == len(buf) else buf[start:end]

    @property
    def error_pending(self) -> bool:
        """Whether :meth:`next_packets` holds back an error for its next call."""
        return self._error is not None

    def next_packets(self, more: Container[int]) -> list[tuple[bytes, int, int]]:
        """Every complete packet buffered, as :meth:`next_packet` gives them, up to and
        including the first whose message number is not in ``more``: that one may change
        the keys, so the caller handles it before it asks again. An error in a later packet
        is raised by the next call, after the packets before it have been handled.
        """
        error = self._error
        if error is not None:
            self._error = None
            raise error
        opener = self._opener
        if self._decompressor is None:
            if type(opener) is _GcmOpener:
                return self._gcm_packets(opener, more)
            if type(opener) is _ChachaOpener:
                return self._chacha_packets(opener, more)
        out: list[tuple[bytes, int, int]] = []
        try:
            while (packet := self.next_packet()) is not None:
                out.append(packet)
                buf, start, end = packet
                if end <= start or buf[start] not in more:
                    break
        except ProtocolError as exc:
            if not out:
                raise
            self._error = exc
        return out

    def _gcm_packets(
        self, opener: _GcmOpener, more: Container[int]
    ) -> list[tuple[bytes, int, int]]:
        """:meth:`next_packets` for AES-GCM, the common case, inlined: about half the work
        per packet of the general path (one slice of the buffer per packet, no calls)."""
        buf = self._buf
        have = len(buf)
        out: list[tuple[bytes, int, int]] = []
        decrypt = opener._aead.decrypt
        fixed, counter = opener._fixed, opener._counter
        max_length = self.max_packet_length
        pos = done = 0
        try:
            with memoryview(buf) as view:
                while have - pos >= 4:
                    length = self._length
                    if length is None:
                        length = _U32.unpack_from(buf, pos)[0]
                        if length > max_length or length < 5 or length % 16:
                            self._check_length(length)  # raises
                        self._length = length
                    total = length + 20  # the length field and the tag around it
                    if have - pos < total:
                        break
                    nonce = fixed + _U64.pack(counter)
                    try:
                        plain = decrypt(nonce, view[pos + 4 : pos + total], view[pos : pos + 4])
                    except InvalidTag:
                        raise IntegrityError("packet AES-GCM tag check failed") from None
                    counter = (counter + 1) & 0xFFFFFFFFFFFFFFFF
                    self._length = None
                    pos += total
                    done += 1
                    padding = plain[0]
                    if padding < _MIN_PADDING or padding > length - 1:
                        raise PacketError(
                            f"invalid padding length {padding} in a {length}-byte packet"
                        )
                    out.append((plain, 1, length - padding))
                    if length - padding <= 1 or plain[1] not in more:
                        break
        except ProtocolError as exc:
            if not out:
                raise
            self._error = exc
        finally:
            opener._counter = counter
            self.sequence = (self.sequence + done) & 0xFFFFFFFF
            self.packets += done
            self.bytes += pos
            del buf[:pos]
        return out

    def _chacha_packets(
        self, opener: _ChachaOpener, more: Container[int]
    ) -> list[tuple[bytes, int, int]]:
        """:meth:`next_packets` for ChaCha20-Poly1305, inlined as :meth:`_gcm_packets`."""
        buf = self._buf
        have = len(buf)
        out: list[tuple[bytes, int, int]] = []
        main, header = opener._main, opener._header
        max_length = self.max_packet_length
        seq = self.sequence
        pos = done = 0
        try:
            with memoryview(buf) as view:
                while have - pos >= 4:
                    nonce = _ZERO8 + _U64.pack(seq)
                    length = self._length
                    if length is None:
                        header.reset_nonce(nonce)
                        length = _U32.unpack(header.update(view[pos : pos + 4]))[0]
                        if length > max_length or length < 5 or length % 8:
                            self._check_length(length)  # raises
                        self._length = length
                    end = pos + 4 + length
                    if have < end + 16:
                        break
                    main.reset_nonce(nonce)
                    poly_key = main.update(_ZERO64)[:32]  # block 0; the payload is from block 1
                    try:
                        Poly1305.verify_tag(poly_key, view[pos:end], bytes(view[end : end + 16]))
                    except InvalidSignature:
                        raise IntegrityError("packet ChaCha20-Poly1305 tag check failed") from None
                    plain = main.update(view[pos + 4 : end])
                    self._length = None
                    pos = end + 16
                    seq = (seq + 1) & 0xFFFFFFFF
                    done += 1
                    padding = plain[0]
                    if padding < _MIN_PADDING or padding > length - 1:
                        raise PacketError(
                            f"invalid padding length {padding} in a {length}-byte packet"
                        )
                    out.append((plain, 1, length - padding))
                    if length - padding <= 1 or plain[1] not in more:
                        break
        except ProtocolError as exc:
            if not out:
                raise
            self._error = exc
        finally:
            self.sequence = seq
            self.packets += done
            self.bytes += pos
            del buf[:pos]
        return out

    def next_packet(self) -> tuple[bytes, int, int] | None:
        """Like :meth:`next_payload`, as ``(buffer, start, end)``: the payload is
        ``buffer[start:end]``, left in place (the channel data path copies only the data)."""
        opener = self._opener
        buf = self._buf
        length = self._length
        if length is None:
            length = opener.length(buf, self.sequence)
            if length is None:
                return None
            self._check_length(length)
            self._length = length
        total = 4 + length + opener.tag_size
        if len(buf) < total:
            return None
        plain = opener.open(buf, self.sequence, length)
        del buf[:total]
        self._length = None
        self.sequence = (self.sequence + 1) & 0xFFFFFFFF
        self.packets += 1
        self.bytes += total
        padding = plain[0]
        if padding < _MIN_PADDING or padding > length - 1:
            raise PacketError(f"invalid padding length {padding} in a {length}-byte packet")
        if self._decompressor is not None:
            payload = self._decompressor.decompress(plain[1 : length - padding])
            return payload, 0, len(payload)
        return plain, 1, length - padding

    def _check_length(self, length: int) -> None:
        opener = self._opener
        if length > self.max_packet_length:
            raise PacketError(
                f"declared packet length {length} exceeds the {self.max_packet_length}-byte limit"
            )
        if length < 5 or (4 - opener.aad_len + length) % opener.block_size:
            raise PacketError(
                f"declared packet length {length} is not a multiple of the "
                f"{opener.block_size}-byte cipher block"
            )


__all__ = ["Opener", "PacketReader", "PacketWriter", "Sealer"]

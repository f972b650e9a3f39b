"""The binary packet protocol against two independent implementations.

* asyncssh: its packet encryption objects (``asyncssh.encryption.get_encryption``), its zlib
  wrappers (``asyncssh.compression``), driven by a small loop that frames packets the way
  asyncssh's connection does (padding to max(8, block) with the length outside the alignment
  for etm/AEAD; the first block decrypted to learn the length).
* paramiko 5.1: its own ``Packetizer`` over ``socket.socketpair()``, configured exactly as
  ``Transport._activate_outbound``/``_activate_inbound`` do, from paramiko's
  ``Transport._cipher_info``/``_mac_info``/``_compression_info`` tables.

Every combination runs in both directions: sshwire seals and the peer opens, and the reverse.
Combinations a peer lacks are skipped with the reason.
"""

from __future__ import annotations

import hashlib
import socket
import struct
from collections.abc import Iterator
from typing import Any

import pytest

asyncssh = pytest.importorskip("asyncssh")
paramiko = pytest.importorskip("paramiko")

from asyncssh import compression as asyncssh_compression  # noqa: E402
from asyncssh import encryption as asyncssh_encryption  # noqa: E402
from asyncssh import mac as asyncssh_mac  # noqa: E402
from cryptography.hazmat.primitives.ciphers import Cipher  # noqa: E402
from paramiko.packet import Packetizer  # noqa: E402
from paramiko.transport import Transport  # noqa: E402

from sshwire._proto.algorithms.cipher import CIPHERS  # noqa: E402
from sshwire._proto.algorithms.mac import MACS  # noqa: E402
from sshwire._proto.framing import PacketReader, PacketWriter  # noqa: E402

pytestmark = pytest.mark.timeout(60)

KEY = hashlib.sha512(b"sshwire interop: encryption key").digest()  # 64 bytes
IV = hashlib.sha256(b"sshwire interop: iv").digest()  # 32 bytes
MAC_KEY = hashlib.sha512(b"sshwire interop: integrity key").digest()  # 64 bytes

# The first byte is a message number (paramiko's Packetizer splits it off); sizes straddle
# the block sizes and include a full 32 KiB channel-data packet.
PAYLOADS = [
    b"\x14" + bytes(range(200)),
    b"\x02",
    b"\x5e" + b"\x00\x00\x00\x00\x00\x00\x80\x00" + bytes(range(256)) * 128,  # 32 KiB data
    b"\x5e" + b"y" * 14,
    b"\x5e" + b"z" * 15,
    b"\x5e" + b"q" * 16,
    b"\x15",
]
# zlib@openssh.com: compression starts after this many packets (user auth succeeded)
DELAYED_AFTER = 2

COMBOS = [(c, m) for c, s in CIPHERS.items() if not s.is_aead for m in MACS] + [
    (c, None) for c, s in CIPHERS.items() if s.is_aead
]
COMPRESSIONS = ["none", "zlib", "zlib@openssh.com"]


def _combo_id(combo: tuple[str, str | None]) -> str:
    cipher, mac = combo
    return cipher if mac is None else f"{cipher}+{mac}"


def _ours(
    cipher: str, mac: str | None, compression: str, sequence: int = 0
) -> tuple[PacketWriter, PacketReader]:
    keys: dict[str, Any] = {
        "cipher": cipher,
        "key": KEY,
        "iv": IV,
        "mac": mac,
        "mac_key": MAC_KEY if mac else b"",
        "compression": compression,
    }
    writer = PacketWriter(rng=lambda n: bytes(n))
    writer.set_keys(**keys)
    writer.sequence = sequence
    reader = PacketReader()
    reader.set_keys(**keys)
    reader.sequence = sequence
    return writer, reader


def _delayed_start(i: int, compression: str) -> bool:
    return compression == "zlib@openssh.com" and i == DELAYED_AFTER


# ---------------------------------------------------------------------------------------------
# asyncssh


class AsyncsshEnd:
    """One end of a connection made of asyncssh's packet encryption and compression objects."""

    def __init__(self, cipher: str, mac: str | None, compression: str, sequence: int) -> None:
        enc_alg, mac_alg = cipher.encode(), (mac or "").encode()
        ek, ei, eb, mk, mh, etm = asyncssh_encryption.get_encryption_params(enc_alg, mac_alg)
        self._enc = asyncssh_encryption.get_encryption(
            enc_alg, KEY[:ek], IV[:ei], mac_alg, MAC_KEY[:mk], etm
        )
        self._block = max(8, eb)
        self._hdrlen = 1 if etm else 5  # bytes of the header inside the alignment
        self._macsize = mh
        self._compression = compression.encode()
        self._compressor: Any = None
        self._decompressor: Any = None
        if compression == "zlib":
            self.start_compression()
        self.seq = sequence
        self._buf = b""

    def start_compression(self) -> None:
        self._compressor = asyncssh_compression.get_compressor(self._compression)
        self._decompressor = asyncssh_compression.get_decompressor(self._compression)

    def seal(self, payload: bytes) -> bytes:
        if self._compressor is not None:
            payload = self._compressor.compress(payload)
        padlen = -(self._hdrlen + len(payload)) % self._block
        if padlen < 4:
            padlen += self._block
        packet = bytes([padlen]) + payload + bytes(padlen)
        body, mac = self._enc.encrypt_packet(self.seq, struct.pack(">I", len(packet)), packet)
        self.seq = (self.seq + 1) & 0xFFFFFFFF
        return bytes(body + mac)

    def feed(self, data: bytes) -> None:
        self._buf += data

    def open(self) -> bytes | None:
        if len(self._buf) < self._block:
            return None
        first, length_bytes = self._enc.decrypt_header(self.seq, self._buf[: self._block], 4)
        length = int.from_bytes(length_bytes, "big")
        total = 4 + length + self._macsize
        assert length <= 256 * 1024
        if len(self._buf) < total:
            return None
        rest = self._buf[self._block : total - self._macsize]
        mac = self._buf[total - self._macsize : total]
        plain = self._enc.decrypt_packet(self.seq, first, rest, 4, mac)
        assert plain, "asyncssh: MAC/tag check failed"
        self._buf = self._buf[total:]
        self.seq = (self.seq + 1) & 0xFFFFFFFF
        payload = plain[1 : -plain[0]]
        if self._decompressor is not None:
            payload = self._decompressor.decompress(payload)
            assert payload is not None, "asyncssh: decompression failed"
        return bytes(payload)


def _asyncssh_skip(cipher: str, mac: str | None, compression: str) -> None:
    if cipher.encode() not in asyncssh_encryption.get_encryption_algs():
        pytest.skip(f"asyncssh {asyncssh_version()} lacks the cipher {cipher}")
    if mac is not None and mac.encode() not in asyncssh_mac.get_mac_algs():
        pytest.skip(f"asyncssh {asyncssh_version()} lacks the MAC {mac}")
    if compression.encode() not in asyncssh_compression.get_compression_algs():
        pytest.skip(f"asyncssh {asyncssh_version()} lacks the compression {compression}")


def asyncssh_version() -> str:
    return str(asyncssh.__version__)


SEQUENCE_STARTS = {"seq0": 0, "seqwrap": 2**32 - 3}


@pytest.mark.parametrize("start", list(SEQUENCE_STARTS))
@pytest.mark.parametrize("compression", COMPRESSIONS)
@pytest.mark.parametrize("combo", COMBOS, ids=_combo_id)
def test_sshwire_to_asyncssh(combo: tuple[str, str | None], compression: str, start: str) -> None:
    cipher, mac = combo
    _asyncssh_skip(cipher, mac, compression)
    seq = SEQUENCE_STARTS[start]
    writer, _ = _ours(cipher, mac, compression, seq)
    peer = AsyncsshEnd(cipher, mac, compression, seq)
    for i, payload in enumerate(PAYLOADS):
        if _delayed_start(i, compression):
            writer.start_delayed_compression()
            peer.start_compression()
        peer.feed(bytes(writer.encode(payload)))
        assert peer.open() == payload, f"packet {i}"
        assert peer.open() is None
    assert peer.seq == writer.sequence


@pytest.mark.parametrize("start", list(SEQUENCE_STARTS))
@pytest.mark.parametrize("compression", COMPRESSIONS)
@pytest.mark.parametrize("combo", COMBOS, ids=_combo_id)
def test_asyncssh_to_sshwire(combo: tuple[str, str | None], compression: str, start: str) -> None:
    cipher, mac = combo
    _asyncssh_skip(cipher, mac, compression)
    seq = SEQUENCE_STARTS[start]
    _, reader = _ours(cipher, mac, compression, seq)
    peer = AsyncsshEnd(cipher, mac, compression, seq)
    wire = b""
    for i, payload in enumerate(PAYLOADS):
        if _delayed_start(i, compression):
            peer.start_compression()
        wire += peer.seal(payload)
    # our reader gets the whole stream at once and must switch compression between two pulls
    reader.feed(wire)
    for i, payload in enumerate(PAYLOADS):
        if _delayed_start(i, compression):
            reader.start_delayed_compression()
        assert reader.next_payload() == payload, f"packet {i}"
    assert reader.next_payload() is None
    reader.check_eof()
    assert reader.sequence == peer.seq


# ---------------------------------------------------------------------------------------------
# paramiko


def _paramiko_skip(cipher: str, mac: str | None, compression: str) -> None:
    if cipher not in Transport._cipher_info:
        pytest.skip(f"paramiko {paramiko.__version__} lacks the cipher {cipher}")
    if mac is not None and mac not in Transport._mac_info:
        pytest.skip(f"paramiko {paramiko.__version__} lacks the MAC {mac}")
    if compression not in Transport._compression_info:
        pytest.skip(f"paramiko {paramiko.__version__} lacks the compression {compression}")


def _paramiko_cipher_args(cipher: str, mac: str | None, encrypt: bool) -> dict[str, Any]:
    """What Transport._activate_outbound/_activate_inbound hand to the Packetizer."""
    info = Transport._cipher_info[cipher]
    aead = info.get("is_aead", False)
    block_size = info["block-size"]
    key = KEY[: info["key-size"]]
    iv = IV[: info.get("iv-size", block_size)]
    if aead:
        return {
            "block_engine": info["class"](key),
            "block_size": block_size,
            "mac_engine": None,
            "mac_size": 16,
            "mac_key": None,
            "etm": False,
            "aead": True,
            "iv_out" if encrypt else "iv_in": iv,
        }
    assert mac is not None
    engine = Cipher(info["class"](key), info["mode"](iv))
    mac_info = Transport._mac_info[mac]
    digest = mac_info["class"]
    args: dict[str, Any] = {
        "block_engine": engine.encryptor() if encrypt else engine.decryptor(),
        "block_size": block_size,
        "mac_engine": digest,
        "mac_size": mac_info["size"],
        "mac_key": MAC_KEY[: digest().digest_size],
        "etm": "etm@openssh.com" in mac,
        "aead": False,
    }
    if encrypt:
        args["sdctr"] = cipher.endswith("-ctr")
    return args


@pytest.fixture
def socket_pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    a.settimeout(10)
    b.settimeout(10)
    try:
        yield a, b
    finally:
        a.close()
        b.close()


PARAMIKO_COMPRESSIONS = ["none", "zlib", "zlib@openssh.com"]


@pytest.mark.parametrize("compression", PARAMIKO_COMPRESSIONS)
@pytest.mark.parametrize("combo", COMBOS, ids=_combo_id)
def test_sshwire_to_paramiko(
    combo: tuple[str, str | None],
    compression: str,
    socket_pair: tuple[socket.socket, socket.socket],
) -> None:
    cipher, mac = combo
    _paramiko_skip(cipher, mac, compression)
    ours, theirs = socket_pair
    writer, _ = _ours(cipher, mac, compression)
    packetizer = Packetizer(theirs)
    packetizer.set_inbound_cipher(**_paramiko_cipher_args(cipher, mac, encrypt=False))
    decompressor = Transport._compression_info[compression][1]
    for i, payload in enumerate(PAYLOADS):
        if (compression == "zlib" and i == 0) or _delayed_start(i, compression):
            writer.start_delayed_compression()
            packetizer.set_inbound_compressor(decompressor())
        ours.sendall(writer.encode(payload))
        cmd, message = packetizer.read_message()
        assert bytes([cmd]) + message.asbytes() == payload, f"packet {i}"
    # nothing left over: after EOF paramiko finds no further packet
    ours.shutdown(socket.SHUT_WR)
    with pytest.raises(EOFError):
        packetizer.read_message()


@pytest.mark.parametrize("compression", PARAMIKO_COMPRESSIONS)
@pytest.mark.parametrize("combo", COMBOS, ids=_combo_id)
def test_paramiko_to_sshwire(
    combo: tuple[str, str | None],
    compression: str,
    socket_pair: tuple[socket.socket, socket.socket],
) -> None:
    cipher, mac = combo
    _paramiko_skip(cipher, mac, compression)
    ours, theirs = socket_pair
    _, reader = _ours(cipher, mac, compression)
    packetizer = Packetizer(theirs)
    packetizer.set_outbound_cipher(**_paramiko_cipher_args(cipher, mac, encrypt=True))
    compressor = Transport._compression_info[compression][0]
    for i, payload in enumerate(PAYLOADS):
        if (compression == "zlib" and i == 0) or _delayed_start(i, compression):
            reader.start_delayed_compression()
            packetizer.set_outbound_compressor(compressor())
        packetizer.send_message(paramiko.Message(payload))
        got = reader.next_payload()
        while got is None:
            data = ours.recv(1 << 16)
            assert data, "paramiko closed the socket"
            reader.feed(data)
            got = reader.next_payload()
        assert got == payload, f"packet {i}"
    assert reader.buffered == 0
    reader.check_eof()
    assert reader.sequence == len(PAYLOADS)

"""Hypothesis properties of the binary packet protocol (``_proto/framing.py``).

(a) the payloads read back do not depend on how the byte stream is chunked;
(b) any single corrupted byte or flipped bit is detected, and no payload of (or after) the
    damaged packet is ever returned;
(c) a stream that ends inside a packet is reported by ``check_eof``;
(d) a declared length over the limit, or off the block alignment, is refused from the first
    block alone, before the body arrives;
(e) a padding length out of range is refused;
(f) a payload that inflates past the limit, or that ends the zlib stream, is refused;
(g) zlib@openssh.com stays off until ``start_delayed_compression`` on both ends;
(h) the sequence number wraps at 2**32, and ``reset_sequence`` (strict kex) restarts it.

Malformed-but-authentic packets for (d) and (e) are sealed by a small reference sealer here,
built from ``cryptography``/``hmac`` directly.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import struct
import zlib
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.poly1305 import Poly1305
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sshwire._proto.algorithms.cipher import CIPHERS
from sshwire._proto.algorithms.mac import MACS
from sshwire._proto.constants import MAX_PACKET_LENGTH
from sshwire._proto.errors import CompressionError, IntegrityError, PacketError
from sshwire._proto.framing import MAX_DECOMPRESSED_PAYLOAD, PacketReader, PacketWriter
from sshwire.ssh_exception import SSHException

pytestmark = pytest.mark.timeout(120)

SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])

KEY = hashlib.sha512(b"sshwire props: encryption key").digest()
IV = hashlib.sha256(b"sshwire props: iv").digest()
MAC_KEY = hashlib.sha512(b"sshwire props: integrity key").digest()

PLAIN = ("plain", None)  # before the first NEWKEYS
BLOCK_CIPHERS = [n for n, s in CIPHERS.items() if not s.is_aead]
AEAD_CIPHERS = [n for n, s in CIPHERS.items() if s.is_aead]
ENCRYPTED = (
    [(c, m) for c in BLOCK_CIPHERS for m in ("hmac-sha2-256", "hmac-sha2-256-etm@openssh.com")]
    + [
        ("aes128-ctr", "hmac-sha1-96"),  # truncated tags
        ("aes256-ctr", "hmac-md5-96-etm@openssh.com"),
        ("aes192-ctr", "hmac-sha2-512-etm@openssh.com"),
    ]
    + [(c, None) for c in AEAD_CIPHERS]
)
ALL_CONFIGS = [PLAIN, *ENCRYPTED]
# one of each mode, for the properties that go by mode
BY_MODE = [
    PLAIN,
    ("aes128-ctr", "hmac-sha2-256"),
    ("aes256-ctr", "hmac-sha2-256-etm@openssh.com"),
    ("3des-cbc", "hmac-sha1"),
    ("aes128-cbc", "hmac-sha1-etm@openssh.com"),
    ("aes128-gcm@openssh.com", None),
    ("aes256-gcm@openssh.com", None),
    ("chacha20-poly1305@openssh.com", None),
]


def _id(config: tuple[str, str | None]) -> str:
    cipher, mac = config
    return cipher if mac is None else f"{cipher}+{mac}"


def _keys(config: tuple[str, str | None], compression: str = "none") -> dict[str, Any] | None:
    cipher, mac = config
    if cipher == "plain":
        return None
    return {
        "cipher": cipher,
        "key": KEY,
        "iv": IV,
        "mac": mac,
        "mac_key": MAC_KEY if mac else b"",
        "compression": compression,
    }


def _pair(
    config: tuple[str, str | None], compression: str = "none", **reader_kw: Any
) -> tuple[PacketWriter, PacketReader]:
    writer = PacketWriter(rng=random.Random(4253).randbytes)
    reader = PacketReader(**reader_kw)
    keys = _keys(config, compression)
    if keys is not None:
        writer.set_keys(**keys)
        reader.set_keys(**keys)
    else:
        assert compression == "none", "compression is negotiated along with keys"
    return writer, reader


def _drain(reader: PacketReader) -> list[bytes]:
    out = []
    while (payload := reader.next_payload()) is not None:
        out.append(bytes(payload))
    return out


def _clear_length(config: tuple[str, str | None]) -> bool:
    cipher, mac = config
    return cipher in AEAD_CIPHERS or bool(mac and MACS[mac].etm)


def _length_region(config: tuple[str, str | None]) -> int:
    """Bytes at the start of a packet whose corruption may change the decoded length."""
    cipher, _ = config
    if cipher != "plain" and CIPHERS[cipher].mode == "cbc" and not _clear_length(config):
        return CIPHERS[cipher].block_size  # CBC: a damaged block garbles all its plaintext
    return 4


payload_lists = st.lists(st.binary(max_size=700), min_size=1, max_size=6)

# ---------------------------------------------------------------------------------------------
# (a) chunking invariance


CHUNKING_CASES = [
    pytest.param(config, compression, id=f"{_id(config)}-{compression}")
    for config in ALL_CONFIGS
    for compression in ("none", "zlib")
    if not (config == PLAIN and compression == "zlib")
]


@pytest.mark.parametrize(("config", "compression"), CHUNKING_CASES)
@SETTINGS
@given(payloads=payload_lists, data=st.data())
def test_any_chunking_gives_the_same_payloads(
    config: tuple[str, str | None], compression: str, payloads: list[bytes], data: st.DataObject
) -> None:
    writer, reader = _pair(config, compression)
    wire = b"".join(bytes(writer.encode(p)) for p in payloads)
    cuts = sorted(data.draw(st.sets(st.integers(0, len(wire)), max_size=12), label="cuts"))
    got: list[bytes] = []
    last = 0
    for cut in [*cuts, len(wire)]:
        reader.feed(memoryview(wire)[last:cut])
        last = cut
        got += _drain(reader)
    assert got == payloads
    assert reader.buffered == 0
    reader.check_eof()
    assert reader.sequence == writer.sequence == len(payloads)


@pytest.mark.parametrize("config", BY_MODE, ids=_id)
@SETTINGS
@given(payloads=payload_lists)
def test_byte_by_byte(config: tuple[str, str | None], payloads: list[bytes]) -> None:
    writer, reader = _pair(config)
    wire = b"".join(bytes(writer.encode(p)) for p in payloads)
    got: list[bytes] = []
    for i in range(len(wire)):
        reader.feed(wire[i : i + 1])
        got += _drain(reader)
    assert got == payloads


# ---------------------------------------------------------------------------------------------
# (b) corruption is always detected


def _check_corruption(
    config: tuple[str, str | None], payloads: list[bytes], target: int, offset: int, xor: int
) -> None:
    writer, reader = _pair(config)
    packets = [bytes(writer.encode(p)) for p in payloads]
    target %= len(packets)
    damaged = bytearray(packets[target])
    offset %= len(damaged)
    damaged[offset] ^= xor
    packets[target] = bytes(damaged)
    reader.feed(b"".join(packets))
    for i in range(target):
        assert reader.next_payload() == payloads[i]
    try:
        payload = reader.next_payload()
    except SSHException as exc:
        if offset >= _length_region(config):
            # the length decoded fine: only the MAC/tag can have caught it
            assert type(exc) is IntegrityError, exc
        else:
            assert isinstance(exc, (IntegrityError, PacketError)), exc
        return
    # only a damaged length can make the reader wait for bytes that never come
    assert payload is None, "a damaged packet was returned"
    assert offset < _length_region(config)
    with pytest.raises(PacketError):
        reader.check_eof()


@pytest.mark.parametrize("config", ENCRYPTED, ids=_id)
@SETTINGS
@given(
    payloads=payload_lists,
    target=st.integers(0, 5),
    offset=st.integers(0, 10_000),
    xor=st.integers(1, 255),
)
def test_corrupt_byte_is_detected(
    config: tuple[str, str | None], payloads: list[bytes], target: int, offset: int, xor: int
) -> None:
    _check_corruption(config, payloads, target, offset, xor)


@pytest.mark.parametrize("config", ENCRYPTED, ids=_id)
@SETTINGS
@given(
    payloads=payload_lists,
    target=st.integers(0, 5),
    offset=st.integers(0, 10_000),
    bit=st.integers(0, 7),
)
def test_flipped_bit_is_detected(
    config: tuple[str, str | None], payloads: list[bytes], target: int, offset: int, bit: int
) -> None:
    _check_corruption(config, payloads, target, offset, 1 << bit)


@pytest.mark.parametrize("config", ENCRYPTED, ids=_id)
def test_corrupt_tag_and_length_edges(config: tuple[str, str | None]) -> None:
    """Deterministic edges: first byte, last byte of the tag, first byte after the length."""
    payloads = [b"\x05" * 40, b"\x5e" * 300]
    for offset in (0, 3, 4, -1):
        _check_corruption(config, payloads, 1, offset, 0x80)


# ---------------------------------------------------------------------------------------------
# (c) truncated streams


@pytest.mark.parametrize("config", BY_MODE, ids=_id)
@SETTINGS
@given(payloads=payload_lists, data=st.data())
def test_truncated_stream(
    config: tuple[str, str | None], payloads: list[bytes], data: st.DataObject
) -> None:
    writer, reader = _pair(config)
    packets = [bytes(writer.encode(p)) for p in payloads]
    wire = b"".join(packets)
    cut = data.draw(st.integers(0, len(wire) - 1), label="cut")
    reader.feed(wire[:cut])
    got = _drain(reader)
    ends = [sum(map(len, packets[: i + 1])) for i in range(len(packets))]
    complete = sum(1 for end in ends if end <= cut)
    assert got == payloads[:complete]
    if cut in (0, *ends):
        reader.check_eof()  # ended on a packet boundary
    else:
        with pytest.raises(PacketError):
            reader.check_eof()


# ---------------------------------------------------------------------------------------------
# A reference sealer for one packet at a given sequence number (fresh cipher state, i.e. the
# first packet after NEWKEYS), so tests can frame packets the writer would never produce.


def _seal_first(config: tuple[str, str | None], packet: bytes, seq: int = 0) -> bytes:
    cipher, mac = config
    if cipher == "plain":
        return packet
    spec = CIPHERS[cipher]
    key, iv = KEY[: spec.key_size], IV[: spec.iv_size]
    if spec.mode == "gcm":
        return packet[:4] + AESGCM(key).encrypt(iv, packet[4:], packet[:4])
    if spec.mode == "chacha":
        nonce = seq.to_bytes(8, "big")

        def chacha(k: bytes, block: int, data: bytes) -> bytes:
            algo = algorithms.ChaCha20(k, block.to_bytes(8, "little") + nonce)
            return Cipher(algo, None).encryptor().update(data)

        enc = chacha(KEY[32:64], 0, packet[:4]) + chacha(KEY[:32], 1, packet[4:])
        return enc + Poly1305.generate_tag(chacha(KEY[:32], 0, bytes(32)), enc)
    assert spec.mode == "ctr" and mac is not None, "the reference sealer does CTR only"
    mspec = MACS[mac]
    ctx = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()

    def tag(data: bytes) -> bytes:
        mac_key = MAC_KEY[: mspec.key_size]
        digest = hmac.new(mac_key, struct.pack(">I", seq) + data, mspec.digest).digest()
        return digest[: mspec.tag_size]

    if mspec.etm:
        body = packet[:4] + ctx.update(packet[4:])
        return body + tag(body)
    return ctx.update(packet) + tag(packet)


def _align(config: tuple[str, str | None]) -> tuple[int, int]:
    """(alignment, bytes of the header inside it)."""
    cipher, _ = config
    block = 8 if cipher == "plain" else max(8, CIPHERS[cipher].block_size)
    return block, 1 if _clear_length(config) else 5


SEALABLE = [c for c in BY_MODE if c[0] == "plain" or CIPHERS[c[0]].mode != "cbc"]


def _frame(config: tuple[str, str | None], payload: bytes) -> bytes:
    """A well-formed plaintext packet with minimal, zero padding."""
    block, inside = _align(config)
    padding = -(inside + len(payload)) % block
    padding += block if padding < 4 else 0
    return struct.pack(">IB", 1 + len(payload) + padding, padding) + payload + bytes(padding)


@pytest.mark.parametrize("config", SEALABLE, ids=_id)
@pytest.mark.parametrize("seq", [0, 7])
def test_reference_sealer_agrees_with_writer(config: tuple[str, str | None], seq: int) -> None:
    """The sealer below is only trusted for malformed packets because it agrees here."""
    writer, reader = _pair(config)
    writer = PacketWriter(rng=bytes)  # zero padding, like _frame
    keys = _keys(config)
    if keys is not None:
        writer.set_keys(**keys)
    writer.sequence = reader.sequence = seq
    sealed = _seal_first(config, _frame(config, b"\x15hello"), seq)
    assert sealed == bytes(writer.encode(b"\x15hello"))
    reader.feed(sealed)
    assert reader.next_payload() == b"\x15hello"


# ---------------------------------------------------------------------------------------------
# (d) declared lengths refused from the first block alone


def _first_bytes(config: tuple[str, str | None], length: int) -> bytes:
    """Just enough of a packet for the reader to learn its declared length."""
    block, inside = _align(config)
    head = struct.pack(">I", length) + bytes(block)
    sealed = _seal_first(config, head)
    return sealed[:4] if inside == 1 or config[0] == "plain" else sealed[:block]


def _misaligned(config: tuple[str, str | None]) -> st.SearchStrategy[int]:
    block, inside = _align(config)
    return st.integers(0, MAX_PACKET_LENGTH).filter(
        lambda n: n < 5 or (n + inside - 1) % block != 0
    )


@pytest.mark.parametrize("config", SEALABLE, ids=_id)
@SETTINGS
@given(data=st.data())
def test_bad_declared_length_is_refused_early(
    config: tuple[str, str | None], data: st.DataObject
) -> None:
    length = data.draw(
        st.one_of(st.integers(MAX_PACKET_LENGTH + 1, 2**32 - 1), _misaligned(config)),
        label="length",
    )
    _, reader = _pair(config)
    reader.feed(_first_bytes(config, length))
    with pytest.raises(PacketError):
        reader.next_payload()


@pytest.mark.parametrize("config", SEALABLE, ids=_id)
@SETTINGS
@given(limit=st.integers(64, 40_000), data=st.data())
def test_configured_limit_is_enforced(
    config: tuple[str, str | None], limit: int, data: st.DataObject
) -> None:
    block, inside = _align(config)
    length = data.draw(st.integers(5, 2 * limit), label="length")
    length += -(length + inside - 1) % block  # aligned: only the limit can refuse it
    _, reader = _pair(config, max_packet_length=limit)
    reader.feed(_first_bytes(config, length))
    if length > limit:
        with pytest.raises(PacketError):
            reader.next_payload()
    else:
        assert reader.next_payload() is None  # a plausible length: wait for the body
        with pytest.raises(PacketError):
            reader.check_eof()


# ---------------------------------------------------------------------------------------------
# (e) padding length out of range


@pytest.mark.parametrize("config", SEALABLE, ids=_id)
@SETTINGS
@given(payload=st.binary(max_size=300), data=st.data())
def test_bad_padding_length_is_refused(
    config: tuple[str, str | None], payload: bytes, data: st.DataObject
) -> None:
    block, inside = _align(config)
    fill = -(inside + len(payload)) % block
    if 1 + len(payload) + fill < 5:
        fill += block
    length = 1 + len(payload) + fill
    bad = data.draw(
        st.one_of(st.integers(0, 3), st.integers(length, 255))
        if length <= 255
        else st.integers(0, 3),
        label="padding_length",
    )
    packet = struct.pack(">IB", length, bad) + payload + bytes(fill)
    _, reader = _pair(config)
    reader.feed(_seal_first(config, packet))
    with pytest.raises(PacketError, match="padding"):
        reader.next_payload()


@pytest.mark.parametrize("config", SEALABLE, ids=_id)
def test_largest_padding_gives_empty_payload(config: tuple[str, str | None]) -> None:
    block, inside = _align(config)
    fill = 4 + (-(inside + 4) % block)
    packet = struct.pack(">IB", 1 + fill, fill) + bytes(fill)
    _, reader = _pair(config)
    reader.feed(_seal_first(config, packet))
    assert reader.next_payload() == b""


# ---------------------------------------------------------------------------------------------
# (f) zlib bombs and a finished zlib stream


def _deflate(data: bytes, flush: int = zlib.Z_SYNC_FLUSH) -> bytes:
    z = zlib.compressobj(9)
    return z.compress(data) + z.flush(flush)


BOMB_CONFIGS = [("aes128-gcm@openssh.com", None), ("aes128-ctr", "hmac-sha2-256-etm@openssh.com")]


@pytest.mark.parametrize("config", BOMB_CONFIGS, ids=_id)
@settings(max_examples=25, deadline=None)
@given(
    extra=st.one_of(st.integers(1, 600), st.integers(1, 4 * MAX_DECOMPRESSED_PAYLOAD)),
    fill=st.sampled_from([b"\x00", b"ab", bytes(range(7))]),
    strip_flush=st.booleans(),
)
# all input consumed, output pending inside zlib: an empty unconsumed_tail proves nothing
@example(extra=100, fill=b"\x00", strip_flush=True)
@example(extra=1, fill=b"ab", strip_flush=True)
@example(extra=1, fill=b"\x00", strip_flush=False)
def test_zlib_bomb_is_refused(
    config: tuple[str, str | None], extra: int, fill: bytes, strip_flush: bool
) -> None:
    size = MAX_DECOMPRESSED_PAYLOAD + extra
    bomb = _deflate((fill * (size // len(fill) + 1))[:size])
    if strip_flush:  # a hostile peer need not end the packet with the sync-flush marker
        bomb = bomb[:-4]
    writer = PacketWriter(rng=bytes)
    reader = PacketReader()
    keys = _keys(config)
    assert keys is not None
    writer.set_keys(**keys)
    reader.set_keys(**{**keys, "compression": "zlib"})
    reader.feed(writer.encode(bomb))
    with pytest.raises(CompressionError):
        reader.next_payload()


@pytest.mark.parametrize("strip_flush", [False, True])
def test_zlib_payload_at_the_limit_is_accepted(strip_flush: bool) -> None:
    config = BOMB_CONFIGS[0]
    keys = _keys(config)
    assert keys is not None
    writer = PacketWriter(rng=bytes)
    writer.set_keys(**keys)
    reader = PacketReader()
    reader.set_keys(**{**keys, "compression": "zlib"})
    big = bytes(range(256)) * (MAX_DECOMPRESSED_PAYLOAD // 256)
    assert len(big) == MAX_DECOMPRESSED_PAYLOAD
    first = _deflate(big)
    reader.feed(writer.encode(first[:-4] if strip_flush else first))
    assert reader.next_payload() == big


def test_zlib_stream_end_is_refused() -> None:
    """A payload that finishes the zlib stream (Z_FINISH) is a protocol error (OpenSSH treats
    Z_STREAM_END as one); packets after it would otherwise decompress to nothing."""
    keys = _keys(BOMB_CONFIGS[0])
    assert keys is not None
    writer = PacketWriter(rng=bytes)
    writer.set_keys(**keys)
    reader = PacketReader()
    reader.set_keys(**{**keys, "compression": "zlib"})
    reader.feed(writer.encode(_deflate(b"\x5ehello", zlib.Z_FINISH)))
    reader.feed(writer.encode(b"more"))
    with pytest.raises(CompressionError):
        reader.next_payload()
        reader.next_payload()


def test_corrupt_zlib_data_is_refused() -> None:
    keys = _keys(BOMB_CONFIGS[0])
    assert keys is not None
    writer = PacketWriter(rng=bytes)
    writer.set_keys(**keys)
    reader = PacketReader()
    reader.set_keys(**{**keys, "compression": "zlib"})
    reader.feed(writer.encode(b"\xff\xff\xff\xff not zlib"))
    with pytest.raises(CompressionError):
        reader.next_payload()


# ---------------------------------------------------------------------------------------------
# (g) delayed compression


@pytest.mark.parametrize("config", BY_MODE[1:], ids=_id)
@SETTINGS
@given(before=payload_lists, after=payload_lists)
def test_delayed_compression_starts_on_request(
    config: tuple[str, str | None], before: list[bytes], after: list[bytes]
) -> None:
    writer, reader = _pair(config, "zlib@openssh.com")
    # a reader that never decompresses shows what is on the wire
    raw = PacketReader()
    keys = _keys(config)
    assert keys is not None
    raw.set_keys(**keys)
    assert not writer.compression_active

    wire = [bytes(writer.encode(p)) for p in before]
    for packet, payload in zip(wire, before):
        raw.feed(packet)
        reader.feed(packet)
        assert raw.next_payload() == payload  # sent uncompressed
        assert reader.next_payload() == payload

    writer.start_delayed_compression()
    reader.start_delayed_compression()
    assert writer.compression_active
    inflate = zlib.decompressobj()
    for payload in after:
        packet = bytes(writer.encode(payload))
        raw.feed(packet)
        reader.feed(packet)
        on_wire = raw.next_payload()
        assert on_wire is not None
        assert inflate.decompress(on_wire) == payload  # sent compressed
        assert reader.next_payload() == payload


def test_delayed_compression_needs_both_ends() -> None:
    config = ("aes128-gcm@openssh.com", None)
    writer, reader = _pair(config, "zlib@openssh.com")
    writer.start_delayed_compression()
    payload = b"\x5e" + b"abc" * 100
    reader.feed(writer.encode(payload))
    got = reader.next_payload()
    assert got is not None
    assert got != payload  # still compressed: the reader has not started
    assert zlib.decompressobj().decompress(got) == payload


def test_start_delayed_compression_is_a_no_op_for_other_methods() -> None:
    config = ("aes128-gcm@openssh.com", None)
    writer, _ = _pair(config, "none")
    writer.start_delayed_compression()
    assert not writer.compression_active
    writer, _ = _pair(config, "zlib")
    assert writer.compression_active


# ---------------------------------------------------------------------------------------------
# (h) sequence numbers: wrap at 2**32, strict-kex reset


@pytest.mark.parametrize("config", BY_MODE, ids=_id)
@SETTINGS
@given(
    start=st.one_of(st.integers(2**32 - 8, 2**32 - 1), st.integers(0, 2**32 - 1)),
    payloads=payload_lists,
)
def test_sequence_wraps(config: tuple[str, str | None], start: int, payloads: list[bytes]) -> None:
    writer, reader = _pair(config)
    writer.sequence = reader.sequence = start
    reader.feed(b"".join(bytes(writer.encode(p)) for p in payloads))
    assert _drain(reader) == payloads
    assert writer.sequence == reader.sequence == (start + len(payloads)) % 2**32


@pytest.mark.parametrize("config", ENCRYPTED, ids=_id)
@SETTINGS
@given(sent=st.integers(1, 5), payloads=payload_lists)
def test_reset_sequence(config: tuple[str, str | None], sent: int, payloads: list[bytes]) -> None:
    writer, reader = _pair(config)
    for _ in range(sent):
        reader.feed(writer.encode(b"\x02"))
    assert _drain(reader) == [b"\x02"] * sent
    # strict kex: both ends restart at 0 after NEWKEYS
    keys = _keys(config)
    assert keys is not None
    writer.set_keys(**keys)
    writer.reset_sequence()
    reader.set_keys(**keys)
    reader.reset_sequence()
    assert writer.sequence == reader.sequence == 0
    reader.feed(b"".join(bytes(writer.encode(p)) for p in payloads))
    assert _drain(reader) == payloads
    assert reader.sequence == len(payloads)


@pytest.mark.parametrize("config", [c for c in ENCRYPTED if "gcm" not in c[0]], ids=_id)
def test_sequence_mismatch_is_detected(config: tuple[str, str | None]) -> None:
    """Only one end resets: the MAC (or ChaCha20 nonce) no longer matches. (AES-GCM does not
    use the sequence number: its nonce is its own invocation counter.)"""
    writer, reader = _pair(config)
    reader.feed(writer.encode(b"\x02"))
    assert reader.next_payload() == b"\x02"
    writer.reset_sequence()
    reader.feed(writer.encode(b"\x02"))
    with pytest.raises((IntegrityError, PacketError)):
        reader.next_payload()


def test_keys_cannot_change_mid_packet() -> None:
    config = ("aes128-gcm@openssh.com", None)
    writer, reader = _pair(config)
    keys = _keys(config)
    assert keys is not None
    reader.feed(bytes(writer.encode(b"\x5e" * 100))[:20])
    assert reader.next_payload() is None
    with pytest.raises(PacketError):
        reader.set_keys(**keys)

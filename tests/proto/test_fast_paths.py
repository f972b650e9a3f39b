"""The bulk-transfer fast paths give exactly what the general paths give.

* ``PacketWriter.encode_data`` (channel data sealed into one buffer) against ``encode`` on each
  joined payload: the same wire bytes, sequence numbers and rekey counters, for every cipher
  and MAC, full and partial chunks.
* ``PacketReader.next_packets`` (a batch of packets, with the AES-GCM loop inlined) against
  ``next_payload``: the same payloads; a batch stops after a packet that is not bulk; an error
  in a later packet is raised only after the packets before it have been handed out.
* The connection's CHANNEL_DATA / WINDOW_ADJUST path against the general dispatch: the same
  events, and the same errors for a window overrun, an oversized message or an unknown channel.
* The channel's stream buffer: ``take`` in any sizes returns the bytes in order.
"""

from __future__ import annotations

import itertools
import os
import struct

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from sshwire._proto import constants as c
from sshwire._proto import events as ev
from sshwire._proto import wire
from sshwire._proto.algorithms.cipher import CIPHERS
from sshwire._proto.algorithms.hostkey import PrivateKey
from sshwire._proto.connection import Connection
from sshwire._proto.errors import IntegrityError, PacketError, ProtocolError
from sshwire._proto.framing import PacketReader, PacketWriter
from sshwire.channel import _Stream

pytestmark = pytest.mark.timeout(60)

SUITES = [
    (name, None if spec.is_aead else mac)
    for name, spec in CIPHERS.items()
    for mac in ("hmac-sha2-256", "hmac-sha2-256-etm@openssh.com", "hmac-sha1-96")
    if not (spec.is_aead and mac != "hmac-sha2-256")
]
BULK = frozenset((c.MSG_CHANNEL_DATA, c.MSG_CHANNEL_WINDOW_ADJUST))


def _counting_rng() -> object:
    counter = itertools.count()
    return lambda n: bytes(next(counter) & 0xFF for _ in range(n))


def _keys(cipher: str, mac: str | None) -> dict[str, object]:
    spec = CIPHERS[cipher]
    material = bytes(range(256))
    return {
        "cipher": cipher,
        "key": material[: max(spec.key_size, 64)],
        "iv": material[64 : 64 + spec.iv_size],
        "mac": mac,
        "mac_key": material[128:192],
    }


def _writer(cipher: str, mac: str | None, compression: str = "none") -> PacketWriter:
    writer = PacketWriter(_counting_rng())  # type: ignore[arg-type]
    writer.set_keys(**_keys(cipher, mac), compression=compression)  # type: ignore[arg-type]
    writer.sequence = 0xFFFFFFFE  # the sequence number wraps inside the batch
    return writer


def _reader(cipher: str, mac: str | None) -> PacketReader:
    reader = PacketReader()
    reader.set_keys(**_keys(cipher, mac))  # type: ignore[arg-type]
    reader.sequence = 0xFFFFFFFE
    return reader


@pytest.mark.parametrize(("cipher", "mac"), SUITES)
@pytest.mark.parametrize("size", [1, 100, 3 * 1000, 3 * 1000 + 17])
def test_encode_data_matches_encode(cipher: str, mac: str | None, size: int) -> None:
    data = bytes(i * 7 & 0xFF for i in range(size))
    head = bytes([c.MSG_CHANNEL_DATA]) + struct.pack(">I", 5)
    step = 1000
    fast, slow = _writer(cipher, mac), _writer(cipher, mac)
    got = bytes(fast.encode_data(head, memoryview(data), step))
    want = b"".join(
        bytes(slow.encode(head + struct.pack(">I", len(data[i : i + step])) + data[i : i + step]))
        for i in range(0, size, step)
    )
    assert got == want
    assert (fast.sequence, fast.packets, fast.bytes) == (slow.sequence, slow.packets, slow.bytes)
    # and the next packet after the batch is sealed alike (cipher state carried over)
    assert fast.encode(b"\x02after") == slow.encode(b"\x02after")


def test_encode_data_with_compression_matches_encode() -> None:
    head = bytes([c.MSG_CHANNEL_DATA]) + struct.pack(">I", 1)
    data = bytes(5000)
    fast = _writer("aes128-gcm@openssh.com", None, "zlib")
    slow = _writer("aes128-gcm@openssh.com", None, "zlib")
    got = bytes(fast.encode_data(head, memoryview(data), 2048))
    want = b"".join(
        bytes(slow.encode(head + struct.pack(">I", len(data[i : i + 2048])) + data[i : i + 2048]))
        for i in range(0, len(data), 2048)
    )
    assert got == want


def _stream(cipher: str, mac: str | None, payloads: list[bytes]) -> bytes:
    writer = _writer(cipher, mac)
    return b"".join(bytes(writer.encode(p)) for p in payloads)


def _payloads() -> list[bytes]:
    data = bytes([c.MSG_CHANNEL_DATA]) + struct.pack(">II", 0, 40) + bytes(range(40))
    adjust = bytes([c.MSG_CHANNEL_WINDOW_ADJUST]) + struct.pack(">II", 0, 1000)
    ignore = bytes([c.MSG_IGNORE]) + wire.string(b"x")
    return [data, adjust, data, ignore, data, data, adjust, ignore, ignore, data]


@pytest.mark.parametrize(("cipher", "mac"), SUITES)
def test_next_packets_matches_next_payload(cipher: str, mac: str | None) -> None:
    payloads = _payloads()
    wire_bytes = _stream(cipher, mac, payloads)
    for chunk in (len(wire_bytes), 37, 1):
        reader = _reader(cipher, mac)
        got: list[bytes] = []
        batches: list[list[int]] = []
        for i in range(0, len(wire_bytes), chunk):
            reader.feed(wire_bytes[i : i + chunk])
            while packets := reader.next_packets(BULK):
                batches.append([buf[start] for buf, start, _ in packets])
                got += [buf[start:end] for buf, start, end in packets]
        assert got == payloads
        assert reader.sequence == (0xFFFFFFFE + len(payloads)) & 0xFFFFFFFF
        assert reader.buffered == 0
        # a batch never runs past a packet that is not bulk
        assert all(m in BULK for batch in batches for m in batch[:-1])


@pytest.mark.parametrize(
    ("cipher", "mac"),
    [
        ("aes128-gcm@openssh.com", None),
        ("chacha20-poly1305@openssh.com", None),
        ("aes128-ctr", "hmac-sha2-256"),
    ],
)
def test_next_packets_raises_after_the_good_packets(cipher: str, mac: str | None) -> None:
    payloads = _payloads()[:3]
    wire_bytes = bytearray(_stream(cipher, mac, payloads))
    wire_bytes[-1] ^= 1  # the last packet's tag or MAC
    reader = _reader(cipher, mac)
    reader.feed(bytes(wire_bytes))
    first = reader.next_packets(BULK)
    assert [buf[start:end] for buf, start, end in first] == payloads[:2]
    assert reader.error_pending
    with pytest.raises(IntegrityError):
        reader.next_packets(BULK)


def test_next_packets_refuses_a_bad_length_at_once() -> None:
    reader = _reader("aes128-gcm@openssh.com", None)
    reader.feed(struct.pack(">I", 1 << 30) + bytes(32))
    with pytest.raises(PacketError, match="exceeds"):
        reader.next_packets(BULK)


# --------------------------------------------------------------------------------------------
# The connection's data path


def _pump(a: Connection, b: Connection) -> tuple[list[ev.Event], list[ev.Event]]:
    got_a: list[ev.Event] = []
    got_b: list[ev.Event] = []
    for _ in range(50):
        out_a, out_b = a.data_to_send(), b.data_to_send()
        if not out_a and not out_b:
            return got_a, got_b
        if out_a:
            got_b += b.receive_data(out_a)
        if out_b:
            got_a += a.receive_data(out_b)
    raise AssertionError("never quiet")


@pytest.fixture(params=["aes128-gcm@openssh.com", "chacha20-poly1305@openssh.com", "aes128-ctr"])
def channel_pair(request: pytest.FixtureRequest) -> tuple[Connection, Connection, int, int]:
    from sshwire._proto.config import ConnectionConfig

    key = PrivateKey(ed25519.Ed25519PrivateKey.generate())
    cfg = ConnectionConfig(ciphers=(request.param,))
    client = Connection(True, cfg, rng=os.urandom, clock=lambda: 0.0)
    server = Connection(False, cfg, rng=os.urandom, clock=lambda: 0.0, host_keys=[key])
    client.start()
    server.start()
    _pump(client, server)
    client.authenticated = server.authenticated = True
    cid = client.channels.open("session", 4096, 1024)
    _, server_events = _pump(client, server)
    sid = next(e for e in server_events if isinstance(e, ev.ChannelOpenRequested)).channel
    server.channels.accept(sid, 8192, 1024)
    _pump(client, server)
    return client, server, cid, sid


def test_data_and_adjust_events(channel_pair: tuple[Connection, Connection, int, int]) -> None:
    client, server, cid, sid = channel_pair
    data = bytes(range(256)) * 10
    assert server.channels.send_data(sid, data) == len(data)
    client.channels.send_data(cid, b"x" * 3000)
    client_events, server_events = _pump(client, server)
    chunks = [e for e in client_events if isinstance(e, ev.ChannelData)]
    assert all(e.channel == cid and e.ext is None and type(e.data) is bytes for e in chunks)
    assert b"".join(e.data for e in chunks) == data
    assert [len(e.data) for e in chunks] == [1024, 1024, 512]
    assert client.channels.channels[cid].local_window == 4096 - len(data)
    # once the client has consumed it, the adjust gives the server its whole window back
    client.channels.consumed(cid, len(data))
    _, server_events = _pump(client, server)
    adjusted = [e for e in server_events if isinstance(e, ev.ChannelWindowAdjusted)]
    assert adjusted and adjusted[-1].window == 4096


def _inject(conn: Connection, peer: Connection, payload: bytes) -> None:
    """Seal ``payload`` as ``peer`` would and feed it to ``conn``."""
    peer._send(payload)
    conn.receive_data(peer.data_to_send())


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        (lambda r: bytes([94]) + struct.pack(">II", r, 5000) + bytes(5000), "window"),
        (lambda r: bytes([94]) + struct.pack(">II", r, 2000) + bytes(2000), "maximum"),
        (lambda r: bytes([94]) + struct.pack(">II", 77, 4) + bytes(4), "unknown channel"),
        (lambda r: bytes([94]) + struct.pack(">II", r, 40) + bytes(4), "truncated"),
        (lambda r: bytes([93]) + struct.pack(">II", r, 0xFFFFFFFF), "overflows"),
        (lambda r: bytes([94]) + struct.pack(">I", r), "truncated"),
    ],
)
def test_fast_path_errors(
    channel_pair: tuple[Connection, Connection, int, int], payload: object, error: str
) -> None:
    client, server, cid, _ = channel_pair
    with pytest.raises(ProtocolError, match=error):
        _inject(client, server, payload(cid))  # type: ignore[operator]


def test_data_after_eof_is_refused(channel_pair: tuple[Connection, Connection, int, int]) -> None:
    client, server, cid, sid = channel_pair
    server.channels.send_eof(sid)
    _pump(client, server)
    with pytest.raises(ProtocolError, match="after EOF"):
        _inject(client, server, bytes([94]) + struct.pack(">II", cid, 3) + b"abc")


# --------------------------------------------------------------------------------------------
# The channel's stream buffer


@pytest.mark.parametrize("sizes", [[1, 2, 3, 100], [7], [1000], [0, 5, 10**6]])
def test_stream_take_in_any_sizes(sizes: list[int]) -> None:
    stream = _Stream()
    chunks = [bytes([i]) * (i * 13 % 50 + 1) for i in range(40)]
    for chunk in chunks:
        stream.append(chunk)
    expected = b"".join(chunks)
    got = bytearray()
    for size in itertools.cycle(sizes):
        if not len(stream):
            break
        part = stream.take(size)
        assert type(part) is bytes and len(part) == min(size, len(expected) - len(got))
        got += part
        assert len(stream) == len(expected) - len(got)
    assert bytes(got) == expected
    assert stream.take(10) == b""

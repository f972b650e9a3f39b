"""The core's channel table, client core against server core in memory."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from sshwire._proto import constants as c
from sshwire._proto import events as ev
from sshwire._proto import wire
from sshwire._proto.algorithms.hostkey import PrivateKey
from sshwire._proto.connection import Connection
from sshwire._proto.errors import ProtocolError

WINDOW = 64 * 1024
PACKET = 16 * 1024


def pump(a: Connection, b: Connection) -> tuple[list[ev.Event], list[ev.Event]]:
    got_a: list[ev.Event] = []
    got_b: list[ev.Event] = []
    for _ in range(200):
        out_a, out_b = a.data_to_send(), b.data_to_send()
        if not out_a and not out_b:
            return got_a, got_b
        if out_a:
            got_b += b.receive_data(out_a)
        if out_b:
            got_a += a.receive_data(out_b)
    raise AssertionError("never quiet")


@pytest.fixture
def pair() -> tuple[Connection, Connection]:
    key = PrivateKey(ed25519.Ed25519PrivateKey.generate())
    client = Connection(True, rng=os.urandom, clock=lambda: 0.0)
    server = Connection(False, rng=os.urandom, clock=lambda: 0.0, host_keys=[key])
    client.start()
    server.start()
    pump(client, server)
    client.authenticated = server.authenticated = True  # auth is not under test here
    return client, server


def open_channel(client: Connection, server: Connection) -> tuple[int, int]:
    cid = client.channels.open("session", WINDOW, PACKET)
    _, se = pump(client, server)
    req = next(e for e in se if isinstance(e, ev.ChannelOpenRequested))
    assert (req.kind, req.window, req.max_packet) == ("session", WINDOW, PACKET)
    server.channels.accept(req.channel, WINDOW, PACKET)
    ce, _ = pump(client, server)
    assert any(isinstance(e, ev.ChannelOpenConfirmed) and e.channel == cid for e in ce)
    return cid, req.channel


def test_open_data_eof_close(pair: tuple[Connection, Connection]) -> None:
    client, server = pair
    cid, sid = open_channel(client, server)
    assert client.channels.send_data(cid, b"hello") == 5
    client.channels.send_data(cid, b"err", ext=c.EXTENDED_DATA_STDERR)
    _, se = pump(client, server)
    data = [(e.data, e.ext) for e in se if isinstance(e, ev.ChannelData)]
    assert data == [(b"hello", None), (b"err", 1)]
    client.channels.send_eof(cid)
    _, se = pump(client, server)
    assert ev.ChannelEof(sid) in se
    server.channels.close(sid)
    ce, se = pump(client, server)
    assert ev.ChannelClosed(cid) in ce and ev.ChannelClosed(sid) in se
    assert not client.channels.channels and not server.channels.channels


def test_send_respects_window_and_packet_size(pair: tuple[Connection, Connection]) -> None:
    client, server = pair
    cid, sid = open_channel(client, server)
    big = os.urandom(WINDOW + 1000)
    assert client.channels.send_data(cid, big) == WINDOW  # no more than the window
    assert client.channels.send_data(cid, b"more") == 0
    _, se = pump(client, server)
    chunks = [e.data for e in se if isinstance(e, ev.ChannelData)]
    assert max(map(len, chunks)) == PACKET and b"".join(chunks) == big[:WINDOW]
    server.channels.consumed(sid, WINDOW // 2 - 1)
    ce, _ = pump(client, server)
    assert not [e for e in ce if isinstance(e, ev.ChannelWindowAdjusted)]  # below half
    server.channels.consumed(sid, 1)
    ce, _ = pump(client, server)
    adjusted = [e for e in ce if isinstance(e, ev.ChannelWindowAdjusted)]
    assert adjusted and adjusted[0].window == WINDOW // 2


def test_window_smaller_than_a_packet_is_never_overrun(pair: tuple[Connection, Connection]) -> None:
    """A window that ends inside a packet: exactly the window's bytes go out, once."""
    client, server = pair
    client.channels.open("session", 40_000, PACKET)
    _, se = pump(client, server)
    req = next(e for e in se if isinstance(e, ev.ChannelOpenRequested))
    server.channels.accept(req.channel, WINDOW, PACKET)
    pump(client, server)
    data = os.urandom(100_000)
    sent = server.channels.send_data(req.channel, data)
    assert sent == 40_000
    ce, _ = pump(client, server)
    got = b"".join(e.data for e in ce if isinstance(e, ev.ChannelData))
    assert got == data[:40_000]


def test_requests_and_replies_in_order(pair: tuple[Connection, Connection]) -> None:
    client, server = pair
    cid, sid = open_channel(client, server)
    client.channels.send_request(cid, "exec", True, wire.string("true"))
    client.channels.send_request(cid, "env", True, wire.string("A") + wire.string("1"))
    _, se = pump(client, server)
    reqs = [e for e in se if isinstance(e, ev.ChannelRequestReceived)]
    assert [r.name for r in reqs] == ["exec", "env"]
    server.channels.reply(sid, True)
    server.channels.reply(sid, False)
    ce, _ = pump(client, server)
    replies = [(e.name, e.success) for e in ce if isinstance(e, ev.ChannelRequestReply)]
    assert replies == [("exec", True), ("env", False)]


def test_open_failure(pair: tuple[Connection, Connection]) -> None:
    client, server = pair
    cid = client.channels.open("direct-tcpip", WINDOW, PACKET)
    _, se = pump(client, server)
    req = next(e for e in se if isinstance(e, ev.ChannelOpenRequested))
    server.channels.reject(req.channel, c.OPEN_FAILED_CONNECT_FAILED, "no route")
    ce, _ = pump(client, server)
    assert ev.ChannelOpenFailed(cid, c.OPEN_FAILED_CONNECT_FAILED, "no route") in ce
    assert cid not in client.channels.channels


def _inject(conn: Connection, payload: bytes) -> None:
    conn._send(payload)


def test_peer_overrunning_window_is_disconnected(pair: tuple[Connection, Connection]) -> None:
    client, server = pair
    _cid, sid = open_channel(client, server)
    remote = server.channels.channels[sid].remote_id
    too_much = wire.byte(c.MSG_CHANNEL_DATA) + wire.uint32(remote) + wire.string(bytes(PACKET))
    for _ in range(WINDOW // PACKET):
        _inject(server, too_much)
    client.receive_data(server.data_to_send())  # exactly the window: fine
    _inject(server, too_much)
    with pytest.raises(ProtocolError, match="window"):
        client.receive_data(server.data_to_send())
    assert client.data_to_send() != b""  # a DISCONNECT went out


def test_oversized_data_message_is_refused(pair: tuple[Connection, Connection]) -> None:
    client, server = pair
    _cid, sid = open_channel(client, server)
    remote = server.channels.channels[sid].remote_id
    _inject(server, wire.byte(94) + wire.uint32(remote) + wire.string(bytes(PACKET + 1)))
    with pytest.raises(ProtocolError, match="maximum"):
        client.receive_data(server.data_to_send())


def test_unknown_channel_is_refused(pair: tuple[Connection, Connection]) -> None:
    client, server = pair
    _inject(server, wire.byte(94) + wire.uint32(4242) + wire.string(b"x"))
    with pytest.raises(ProtocolError, match="unknown channel"):
        client.receive_data(server.data_to_send())


def test_window_adjust_overflow_is_refused(pair: tuple[Connection, Connection]) -> None:
    client, server = pair
    _cid, sid = open_channel(client, server)
    remote = server.channels.channels[sid].remote_id
    _inject(server, wire.byte(93) + wire.uint32(remote) + wire.uint32(0xFFFFFFFF))
    with pytest.raises(ProtocolError, match="overflows"):
        client.receive_data(server.data_to_send())


def test_data_after_close_sent_is_absorbed(pair: tuple[Connection, Connection]) -> None:
    client, server = pair
    cid, sid = open_channel(client, server)
    client.channels.close(cid)
    server.channels.send_data(sid, b"in flight")  # crosses our CLOSE on the wire
    ce, se = pump(client, server)
    assert not [e for e in ce if isinstance(e, ev.ChannelData)]
    assert not client.channels.channels and not server.channels.channels
    assert ev.ChannelClosed(sid) in se


def test_channel_messages_need_auth() -> None:
    key = PrivateKey(ed25519.Ed25519PrivateKey.generate())
    client = Connection(True, rng=os.urandom, clock=lambda: 0.0)
    server = Connection(False, rng=os.urandom, clock=lambda: 0.0, host_keys=[key])
    client.start()
    server.start()
    pump(client, server)
    client.authenticated = True
    client.channels.open("session", WINDOW, PACKET)
    with pytest.raises(ProtocolError, match="before user authentication"):
        pump(client, server)


def test_unassigned_message_gets_unimplemented(pair: tuple[Connection, Connection]) -> None:
    client, server = pair
    _inject(server, wire.byte(120) + b"whatever")
    client.receive_data(server.data_to_send())
    se = server.receive_data(client.data_to_send())
    assert any(isinstance(e, ev.UnimplementedReceived) for e in se)

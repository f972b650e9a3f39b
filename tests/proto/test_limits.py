"""The core's limits on what a peer can make it hold or do (``ConnectionConfig``).

Each limit has a sane default and can be tightened per connection; every test here drives a
real peer core past the limit and checks the answer: a DISCONNECT with an SSHException, or,
for channel opens, a polite OPEN_FAILURE (RFC 4254 §5.1, resource shortage).
"""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from sshwire._proto import constants as c
from sshwire._proto import events as ev
from sshwire._proto.algorithms.hostkey import PrivateKey
from sshwire._proto.channel import ChannelPhase
from sshwire._proto.config import ConnectionConfig
from sshwire._proto.connection import Connection, Phase
from sshwire._proto.constants import MAX_BANNER_LINE, MAX_PACKET_LENGTH
from sshwire._proto.errors import CompressionError, PacketError, ProtocolError
from sshwire._proto.version import BannerError
from sshwire.ssh_exception import SSHException

KEY = PrivateKey(ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33))))


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def make_pair(
    client_cfg: ConnectionConfig | None = None,
    server_cfg: ConnectionConfig | None = None,
    clock: Clock | None = None,
) -> tuple[Connection, Connection]:
    clock = clock or Clock()
    client = Connection(True, client_cfg, rng=os.urandom, clock=clock)
    server = Connection(False, server_cfg, rng=os.urandom, clock=clock, host_keys=[KEY])
    client.start()
    server.start()
    return client, server


def pump(a: Connection, b: Connection) -> tuple[list[ev.Event], list[ev.Event]]:
    got_a: list[ev.Event] = []
    got_b: list[ev.Event] = []
    for _ in range(100):
        out_a, out_b = a.data_to_send(), b.data_to_send()
        if not out_a and not out_b:
            return got_a, got_b
        if out_a:
            got_b += b.receive_data(out_a)
        if out_b:
            got_a += a.receive_data(out_b)
    raise AssertionError("never quiet")


def authenticated(
    client_cfg: ConnectionConfig | None = None, server_cfg: ConnectionConfig | None = None
) -> tuple[Connection, Connection]:
    client, server = make_pair(client_cfg, server_cfg)
    pump(client, server)
    client.request_service("ssh-userauth")
    client.auth_none("me")
    pump(client, server)
    server.auth_accept("me")
    pump(client, server)
    assert client.authenticated and server.authenticated
    return client, server


def refused(victim: Connection, data: bytes, error: type[SSHException], match: str) -> None:
    with pytest.raises(error, match=match):
        victim.receive_data(data)
    assert victim.phase is Phase.CLOSED
    assert victim.data_to_send()  # DISCONNECT


def test_defaults_are_sane() -> None:
    cfg = ConnectionConfig()
    assert cfg.max_packet_length == MAX_PACKET_LENGTH == 256 * 1024
    assert cfg.max_decompressed_payload == MAX_PACKET_LENGTH
    assert cfg.max_banner_line == MAX_BANNER_LINE == 255
    assert cfg.max_pre_banner_lines == 1024 and cfg.max_pre_banner_bytes == 64 * 1024
    assert cfg.banner_timeout is None  # the shell's Transport.banner_timeout applies
    assert cfg.max_auth_requests == 100
    assert cfg.max_channels == 8192
    assert cfg.max_pending_channel_opens == 256
    assert cfg.max_pending_global_requests == 1024
    assert cfg.max_window_excess == 0


# ------------------------------------------------------------------------------ packet size


@pytest.mark.parametrize("limit", [35000, MAX_PACKET_LENGTH])
def test_packet_length_limit(limit: int) -> None:
    """A declared length over the limit is refused from the first 4 bytes."""
    client, server = make_pair(server_cfg=ConnectionConfig(max_packet_length=limit))
    pump(client, server)
    client.send_ignore(bytes(limit - 100))  # fits
    server.receive_data(client.data_to_send())
    client.send_ignore(bytes(limit))  # declared length now above the limit
    head = client.data_to_send()[:64]  # the length block only: nothing else is needed
    refused(server, head, PacketError, "exceeds")


# ---------------------------------------------------------------------------------- banner


def test_banner_line_length() -> None:
    server = Connection(False, rng=os.urandom, clock=Clock(), host_keys=[KEY])
    server.receive_data(b"SSH-2.0-" + b"x" * 200 + b"\r\n")  # 210 bytes: fine
    tight = ConnectionConfig(max_banner_line=64)
    server = Connection(False, tight, rng=os.urandom, clock=Clock(), host_keys=[KEY])
    with pytest.raises(BannerError, match="longer than 64"):
        server.receive_data(b"SSH-2.0-" + b"x" * 60 + b"\r\n")


def test_banner_line_without_newline_is_bounded() -> None:
    server = Connection(False, rng=os.urandom, clock=Clock(), host_keys=[KEY])
    with pytest.raises(BannerError, match="longer than 255"):
        for _ in range(300):
            server.receive_data(b"x")


@pytest.mark.parametrize(("lines", "ok"), [(5, True), (6, False)])
def test_pre_banner_lines(lines: int, ok: bool) -> None:
    cfg = ConnectionConfig(max_pre_banner_lines=5)
    client = Connection(True, cfg, rng=os.urandom, clock=Clock())
    data = b"".join(b"line %d\r\n" % i for i in range(lines)) + b"SSH-2.0-x\r\n"
    if ok:
        assert ev.VersionReceived("SSH-2.0-x") in client.receive_data(data)
    else:
        with pytest.raises(BannerError, match="without an SSH version"):
            client.receive_data(data)


def test_pre_banner_bytes() -> None:
    cfg = ConnectionConfig(max_pre_banner_bytes=1000)
    client = Connection(True, cfg, rng=os.urandom, clock=Clock())
    with pytest.raises(BannerError):
        client.receive_data(b"y" * 200 + b"\r\n" + b"z" * 200 + b"\n" * 700)


@pytest.mark.parametrize("timeout", [None, 10.0])
def test_banner_time_slow_loris(timeout: float | None) -> None:
    """A peer trickling its version line a byte a second is cut off at banner_timeout."""
    clock = Clock()
    cfg = ConnectionConfig(banner_timeout=timeout)
    server = Connection(False, cfg, rng=os.urandom, clock=clock, host_keys=[KEY])
    server.start()
    line = b"SSH-2.0-" + b"s" * 30 + b"\r\n"
    if timeout is None:  # no deadline in the core: the whole line is accepted
        events: list[ev.Event] = []
        for byte in line:
            clock.now += 1.0
            events += server.receive_data(bytes([byte]))
        assert any(isinstance(e, ev.VersionReceived) for e in events)
        return
    with pytest.raises(BannerError, match="within 10 seconds"):
        for byte in line:
            clock.now += 1.0
            server.receive_data(bytes([byte]))
    assert server.phase is Phase.CLOSED


def test_banner_deadline_counts_from_the_first_byte_without_start() -> None:
    clock = Clock()
    cfg = ConnectionConfig(banner_timeout=5.0)
    server = Connection(False, cfg, rng=os.urandom, clock=clock, host_keys=[KEY])
    server.receive_data(b"SSH-")
    clock.now += 4.0
    server.receive_data(b"2.0-")
    clock.now += 2.0
    with pytest.raises(BannerError):
        server.receive_data(b"x")


# ------------------------------------------------------------------------------------ auth


def test_auth_requests_limit() -> None:
    client, server = make_pair(server_cfg=ConnectionConfig(max_auth_requests=3))
    pump(client, server)
    client.request_service("ssh-userauth")
    pump(client, server)
    for _ in range(3):
        client.auth_password("me", "wrong")
        _, se = pump(client, server)
        assert any(isinstance(e, ev.AuthRequested) for e in se)
        server.auth_reject(["password"])
        pump(client, server)
    client.auth_password("me", "fourth")
    with pytest.raises(ProtocolError, match="too many authentication requests") as info:
        server.receive_data(client.data_to_send())
    assert info.value.reason == c.DISCONNECT_NO_MORE_AUTH_METHODS_AVAILABLE
    events = client.receive_data(server.data_to_send())
    assert isinstance(events[-1], ev.PeerDisconnected)
    assert events[-1].reason == c.DISCONNECT_NO_MORE_AUTH_METHODS_AVAILABLE


# -------------------------------------------------------------------------------- channels


def _open(sender: Connection, count: int) -> list[int]:
    return [sender.channels.open("session", 1024, 1024) for _ in range(count)]


def test_pending_channel_opens_limit() -> None:
    """Opens the application has not answered yet beyond the limit fail politely."""
    client, server = authenticated(server_cfg=ConnectionConfig(max_pending_channel_opens=2))
    ids = _open(client, 3)
    ce, se = pump(client, server)
    asked = [e.channel for e in se if isinstance(e, ev.ChannelOpenRequested)]
    assert len(asked) == 2 and server.channels.pending_opens == 2
    assert [(e.channel, e.reason) for e in ce if isinstance(e, ev.ChannelOpenFailed)] == [
        (ids[2], c.OPEN_FAILED_RESOURCE_SHORTAGE)
    ]
    server.channels.accept(asked[0], 1024, 1024)
    server.channels.reject(asked[1], c.OPEN_FAILED_CONNECT_FAILED)
    assert server.channels.pending_opens == 0
    pump(client, server)
    _open(client, 2)
    _, se = pump(client, server)
    assert len([e for e in se if isinstance(e, ev.ChannelOpenRequested)]) == 2
    assert server.phase is Phase.OPEN


def test_channels_per_connection_limit() -> None:
    client, server = authenticated(server_cfg=ConnectionConfig(max_channels=2))
    _open(client, 3)
    ce, se = pump(client, server)
    for e in se:
        if isinstance(e, ev.ChannelOpenRequested):
            server.channels.accept(e.channel, 1024, 1024)
    ce += pump(client, server)[0]
    assert len([e for e in ce if isinstance(e, ev.ChannelOpenConfirmed)]) == 2
    assert len(server.channels.channels) == 2
    failed = [e for e in ce if isinstance(e, ev.ChannelOpenFailed)]
    assert [e.reason for e in failed] == [c.OPEN_FAILED_RESOURCE_SHORTAGE]
    with pytest.raises(ProtocolError, match="too many channels"):  # our own opens too
        server.channels.open("forwarded-tcpip", 1024, 1024)


def test_pending_global_requests_limit() -> None:
    client, server = authenticated(server_cfg=ConnectionConfig(max_pending_global_requests=2))
    for _ in range(2):
        client.global_request("keepalive@openssh.com", True)
    server.receive_data(client.data_to_send())
    server.global_reply(False)  # one answered: one owed
    client.global_request("keepalive@openssh.com", True)
    client.global_request("no-more-sessions@openssh.com", False)  # needs no answer
    server.receive_data(client.data_to_send())
    client.global_request("keepalive@openssh.com", True)  # a third one owed
    refused(server, client.data_to_send(), ProtocolError, "global requests waiting")


def _channel(client: Connection, server: Connection, window: int) -> tuple[int, int]:
    cid = client.channels.open("session", window, 32768)
    _, se = pump(client, server)
    sid = next(e.channel for e in se if isinstance(e, ev.ChannelOpenRequested))
    server.channels.accept(sid, 32768, 32768)
    pump(client, server)
    return cid, sid


def test_data_beyond_the_window_disconnects_by_default() -> None:
    client, server = authenticated()
    _, sid = _channel(client, server, 1000)
    server.channels.channels[sid].remote_window += 1  # a peer that ignores our window
    assert server.channels.send_data(sid, bytes(1001)) == 1001
    refused(client, server.data_to_send(), ProtocolError, "window")


def test_window_excess_allowance_discards_then_disconnects() -> None:
    client, server = authenticated(ConnectionConfig(max_window_excess=500))
    cid, sid = _channel(client, server, 1000)
    state = server.channels.channels[sid]
    assert server.channels.send_data(sid, bytes(1000)) == 1000  # the whole window
    got = client.receive_data(server.data_to_send())
    assert sum(len(e.data) for e in got if isinstance(e, ev.ChannelData)) == 1000
    state.remote_window += 800
    server.channels.send_data(sid, bytes(400))  # past the window: discarded, not delivered
    assert not [e for e in client.receive_data(server.data_to_send()) if e]
    assert client.channels.channels[cid].excess == 400
    server.channels.send_data(sid, bytes(200))  # 600 in all: over the allowance
    refused(client, server.data_to_send(), ProtocolError, "window")


# ---------------------------------------------------------------------------- decompression


@pytest.mark.parametrize("method", ["zlib", "zlib@openssh.com"])
def test_zlib_bomb_is_refused(method: str) -> None:
    """A 1 MiB payload compresses into ~1 KiB; the reader refuses to inflate past the limit."""
    cfg = ConnectionConfig(compression=(method,))
    client, server = authenticated(cfg, cfg)
    client.send_ignore(bytes(200_000))  # below the default limit: fine
    server.receive_data(client.data_to_send())
    client.send_ignore(bytes(1 << 20))
    bomb = client.data_to_send()
    assert len(bomb) < 8192
    refused(server, bomb, CompressionError, "inflates past")


def test_decompression_limit_is_configurable() -> None:
    cfg = ConnectionConfig(compression=("zlib",))
    tight = ConnectionConfig(compression=("zlib",), max_decompressed_payload=35000)
    client, server = authenticated(cfg, tight)
    client.send_ignore(bytes(30_000))
    server.receive_data(client.data_to_send())
    client.send_ignore(bytes(40_000))
    refused(server, client.data_to_send(), CompressionError, "35000")


def test_channel_table_counts_stay_consistent() -> None:
    """pending_opens tracks the PENDING channels through accept, reject and close."""
    client, server = authenticated()
    _open(client, 4)
    _, se = pump(client, server)
    ids = [e.channel for e in se if isinstance(e, ev.ChannelOpenRequested)]
    server.channels.accept(ids[0], 1024, 1024)
    server.channels.reject(ids[1], c.OPEN_FAILED_CONNECT_FAILED)
    server.channels.close(ids[2])  # closing a pending channel rejects it
    table = server.channels
    pending = [s for s in table.channels.values() if s.phase is ChannelPhase.PENDING]
    assert table.pending_opens == len(pending) == 1
    with pytest.raises(ProtocolError, match="not waiting"):
        table.reject(ids[1], c.OPEN_FAILED_CONNECT_FAILED)  # already answered

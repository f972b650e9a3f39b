"""Messages injected out of order into the core, both roles (issue 9, bad input).

Each test lets a real client core and a real server core run to a chosen point, then has one
of them seal a message it should not send there (with its live keys and sequence numbers, so
the message reaches the victim's dispatcher) and checks that the victim disconnects with an
SSHException subclass, or ignores the message where the RFCs say it may.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from sshwire._proto import constants as c
from sshwire._proto import events as ev
from sshwire._proto import wire
from sshwire._proto.algorithms.hostkey import PrivateKey
from sshwire._proto.config import ConnectionConfig
from sshwire._proto.connection import Connection, Phase
from sshwire._proto.errors import ProtocolError
from sshwire.ssh_exception import MessageOrderError, SSHException

KEY = PrivateKey(ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
WINDOW = 64 * 1024
PACKET = 16 * 1024

IGNORE = wire.byte(c.MSG_IGNORE) + wire.string(b"injected")
DEBUG = wire.byte(c.MSG_DEBUG) + wire.boolean(False) + wire.string("hi") + wire.string("")
UNIMPLEMENTED = wire.byte(c.MSG_UNIMPLEMENTED) + wire.uint32(7)


def make_pair(
    client_cfg: ConnectionConfig | None = None,
    server_cfg: ConnectionConfig | None = None,
    start: bool = True,
) -> tuple[Connection, Connection]:
    client = Connection(True, client_cfg, rng=os.urandom, clock=lambda: 0.0)
    server = Connection(False, server_cfg, rng=os.urandom, clock=lambda: 0.0, host_keys=[KEY])
    if start:
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


def roles(client: Connection, server: Connection, victim: str) -> tuple[Connection, Connection]:
    """(victim, sender) for a parametrized role."""
    return (client, server) if victim == "client" else (server, client)


def inject_before(sender: Connection, msg: int, payload: bytes) -> None:
    """Make ``sender`` seal ``payload`` right before its next message number ``msg``."""
    real = sender._send

    def send(p: bytes) -> None:
        if p and p[0] == msg:
            sender._send = real  # type: ignore[method-assign]
            real(payload)
        real(p)

    sender._send = send  # type: ignore[method-assign]


def expect_disconnect(
    victim: Connection,
    data: bytes,
    error: type[SSHException] = ProtocolError,
    match: str | None = None,
) -> None:
    """Feeding ``data`` makes the victim raise, close, and queue a DISCONNECT."""
    with pytest.raises(error, match=match):
        victim.receive_data(data)
    assert victim.phase is Phase.CLOSED
    assert victim.data_to_send()  # the DISCONNECT
    assert victim.receive_data(b"more") == []


def authenticated_pair(
    client_cfg: ConnectionConfig | None = None, server_cfg: ConnectionConfig | None = None
) -> tuple[Connection, Connection]:
    client, server = make_pair(client_cfg, server_cfg)
    pump(client, server)
    client.request_service("ssh-userauth")
    pump(client, server)
    client.auth_none("me")
    _, se = pump(client, server)
    assert any(isinstance(e, ev.AuthRequested) for e in se)
    server.auth_accept("me")
    ce, _ = pump(client, server)
    assert ev.AuthSucceeded() in ce
    return client, server


def open_channel(client: Connection, server: Connection) -> tuple[int, int]:
    cid = client.channels.open("session", WINDOW, PACKET)
    _, se = pump(client, server)
    req = next(e for e in se if isinstance(e, ev.ChannelOpenRequested))
    server.channels.accept(req.channel, WINDOW, PACKET)
    pump(client, server)
    return cid, req.channel


# ------------------------------------------------------------------------- strict kex (Terrapin)

TRANSPORT_MESSAGES = [("IGNORE", IGNORE), ("DEBUG", DEBUG), ("UNIMPLEMENTED", UNIMPLEMENTED)]


@pytest.mark.parametrize("victim", ["client", "server"])
@pytest.mark.parametrize(("name", "payload"), TRANSPORT_MESSAGES, ids=lambda v: str(v)[:14])
@pytest.mark.parametrize("before", ["method", "newkeys"])
def test_strict_kex_refuses_transport_messages_during_first_kex(
    victim: str, name: str, payload: bytes, before: str
) -> None:
    """Under strict kex, IGNORE/DEBUG/UNIMPLEMENTED anywhere before NEWKEYS disconnect."""
    client, server = make_pair()
    target, sender = roles(client, server, victim)
    # before the sender's first method message (client: its INIT, 30; server: its REPLY, 31)
    # or before its NEWKEYS
    method = c.MSG_KEX_FIRST if sender.client else c.MSG_KEX_FIRST + 1
    inject_before(sender, method if before == "method" else c.MSG_NEWKEYS, payload)
    with pytest.raises(MessageOrderError, match="strict kex"):
        pump(client, server)
    assert target.phase is Phase.CLOSED and sender.phase is not Phase.CLOSED


@pytest.mark.parametrize("victim", ["client", "server"])
@pytest.mark.parametrize(("name", "payload"), TRANSPORT_MESSAGES, ids=lambda v: str(v)[:14])
def test_strict_kex_needs_kexinit_first(victim: str, name: str, payload: bytes) -> None:
    """The Terrapin prefix: any packet before the peer's KEXINIT is refused."""
    client, server = make_pair(start=False)
    target, sender = roles(client, server, victim)
    target.start()
    inject_before(sender, c.MSG_KEXINIT, payload)
    sender.start()
    expect_disconnect(target, sender.data_to_send(), MessageOrderError, "first")


@pytest.mark.parametrize("victim", ["client", "server"])
def test_without_strict_kex_transport_messages_are_fine(victim: str) -> None:
    cfg = ConnectionConfig(strict_kex=False)
    client, server = make_pair(cfg, cfg, start=False)
    target, sender = roles(client, server, victim)
    inject_before(sender, c.MSG_KEXINIT, IGNORE)
    sender.start()
    target.start()
    inject_before(sender, c.MSG_NEWKEYS, DEBUG)
    ce, se = pump(client, server)
    assert target.phase is Phase.OPEN and not target.strict_kex
    assert any(isinstance(e, ev.DebugReceived) for e in (ce if victim == "client" else se))


@pytest.mark.parametrize("strict", [True, False])
def test_sequence_numbers_reset_at_newkeys_only_with_strict_kex(strict: bool) -> None:
    cfg = ConnectionConfig(strict_kex=strict)
    client, server = make_pair(cfg, cfg)
    pump(client, server)
    # server -> client after NEWKEYS: EXT_INFO only (strict), or also everything before it
    assert client._reader.sequence == server._writer.sequence
    assert (client._reader.sequence <= 1) == strict
    assert (server._reader.sequence == 0) == strict  # the client sent nothing since NEWKEYS


@pytest.mark.parametrize(
    ("cipher", "mac"),
    [
        ("chacha20-poly1305@openssh.com", "hmac-sha2-256"),
        ("aes128-ctr", "hmac-sha2-256-etm@openssh.com"),
    ],
)
def test_strict_kex_sequence_gap_fails_the_mac(cipher: str, mac: str) -> None:
    """A peer whose sequence number is off by one (a packet was slipped in or dropped, as in
    the Terrapin attack) fails the very next MAC check (AES-GCM keeps its own nonce counter and
    does not use the sequence number at all)."""
    cfg = ConnectionConfig(ciphers=(cipher,), macs=(mac,))
    client, server = make_pair(cfg, cfg)
    pump(client, server)
    server._writer.sequence += 1
    server.send_ignore(b"x")
    # chacha20-poly1305 decrypts the length with the sequence number: a wrong length or tag
    expect_disconnect(client, server.data_to_send(), ProtocolError)


@pytest.mark.parametrize("victim", ["client", "server"])
@pytest.mark.parametrize("rekey", [False, True])
def test_second_kexinit_during_a_kex(victim: str, rekey: bool) -> None:
    client, server = make_pair()
    if rekey:
        pump(client, server)
        assert client.start_rekey() and server.start_rekey()
    target, sender = roles(client, server, victim)
    target.receive_data(sender.data_to_send())  # the sender's version line and KEXINIT
    assert target._kex is not None and target._kex.theirs is not None
    sender._send(sender._kexinit().encode())
    expect_disconnect(target, sender.data_to_send(), ProtocolError, "second KEXINIT")


@pytest.mark.parametrize("victim", ["client", "server"])
def test_newkeys_before_the_exchange(victim: str) -> None:
    client, server = make_pair(start=False)
    target, sender = roles(client, server, victim)
    target.start()
    inject_before(sender, c.MSG_KEXINIT, wire.byte(c.MSG_NEWKEYS))
    sender.start()
    with pytest.raises(SSHException, match="NEWKEYS without"):
        target.receive_data(sender.data_to_send())
    assert target.phase is Phase.CLOSED


@pytest.mark.parametrize("victim", ["client", "server"])
def test_newkeys_without_kex_after_setup(victim: str) -> None:
    client, server = make_pair()
    pump(client, server)
    target, sender = roles(client, server, victim)
    sender._send(wire.byte(c.MSG_NEWKEYS))
    expect_disconnect(target, sender.data_to_send(), ProtocolError, "NEWKEYS")


@pytest.mark.parametrize("victim", ["client", "server"])
def test_second_newkeys(victim: str) -> None:
    client, server = make_pair()
    target, sender = roles(client, server, victim)
    real = sender._send

    def send(p: bytes) -> None:
        real(p)
        if p == wire.byte(c.MSG_NEWKEYS):
            real(p)  # twice

    sender._send = send  # type: ignore[method-assign]
    with pytest.raises(SSHException):
        pump(client, server)
    assert target.phase is Phase.CLOSED


@pytest.mark.parametrize("victim", ["client", "server"])
def test_kex_message_without_a_kex(victim: str) -> None:
    client, server = make_pair()
    pump(client, server)
    target, sender = roles(client, server, victim)
    sender._send(wire.byte(c.MSG_KEX_FIRST + 1) + wire.string(bytes(32)))
    expect_disconnect(target, sender.data_to_send(), ProtocolError, "unexpected key exchange")


@pytest.mark.parametrize("victim", ["client", "server"])
def test_connection_message_during_rekey(victim: str) -> None:
    """Between the peer's KEXINIT and its NEWKEYS only transport messages may arrive."""
    client, server = authenticated_pair()
    open_channel(client, server)
    target, sender = roles(client, server, victim)
    assert sender.start_rekey()  # its KEXINIT, then (sealed at once) a connection message
    sender._send(wire.byte(c.MSG_GLOBAL_REQUEST) + wire.string("x") + wire.boolean(False))
    expect_disconnect(target, sender.data_to_send(), ProtocolError, "during key exchange")


# ------------------------------------------------------------------------------ before auth


def kexed_pair() -> tuple[Connection, Connection]:
    client, server = make_pair()
    pump(client, server)
    return client, server


@pytest.mark.parametrize(
    "payload",
    [
        wire.byte(c.MSG_USERAUTH_SUCCESS),
        wire.byte(c.MSG_USERAUTH_FAILURE) + wire.name_list(["password"]) + wire.boolean(False),
        wire.byte(60) + wire.string("n") + wire.string("i") + wire.string("") + wire.uint32(0),
    ],
    ids=["SUCCESS", "FAILURE", "INFO_REQUEST"],
)
@pytest.mark.parametrize("when", ["before-service", "after-service"])
def test_client_refuses_unrequested_auth_answers(payload: bytes, when: str) -> None:
    client, server = kexed_pair()
    if when == "after-service":
        client.request_service("ssh-userauth")
        pump(client, server)
    server._send(payload)
    expect_disconnect(client, server.data_to_send(), ProtocolError, "without an authentication")
    assert not client.authenticated


def test_client_refuses_a_second_success() -> None:
    client, server = authenticated_pair()
    server._send(wire.byte(c.MSG_USERAUTH_SUCCESS))
    expect_disconnect(client, server.data_to_send(), ProtocolError, "after authentication")


def test_auth_banner_before_success_is_fine() -> None:
    client, server = kexed_pair()
    server.auth_banner("hello")
    ce, _ = pump(client, server)
    assert ev.AuthBanner("hello", "") in ce


CONNECTION_MESSAGES = [
    wire.byte(c.MSG_GLOBAL_REQUEST) + wire.string("keepalive@openssh.com") + wire.boolean(True),
    wire.byte(c.MSG_REQUEST_FAILURE),
    b"".join(
        (
            wire.byte(c.MSG_CHANNEL_OPEN),
            wire.string("session"),
            wire.uint32(0),
            wire.uint32(WINDOW),
            wire.uint32(PACKET),
        )
    ),
    wire.byte(c.MSG_CHANNEL_DATA) + wire.uint32(0) + wire.string(b"x"),
    wire.byte(c.MSG_CHANNEL_WINDOW_ADJUST) + wire.uint32(0) + wire.uint32(1),
    wire.byte(c.MSG_CHANNEL_CLOSE) + wire.uint32(0),
]


@pytest.mark.parametrize("victim", ["client", "server"])
@pytest.mark.parametrize(
    "payload", CONNECTION_MESSAGES, ids=["global", "reply", "open", "data", "adjust", "close"]
)
def test_connection_messages_before_auth(victim: str, payload: bytes) -> None:
    """Neither side accepts connection-protocol messages before user auth succeeded."""
    client, server = kexed_pair()
    client.request_service("ssh-userauth")
    pump(client, server)
    target, sender = roles(client, server, victim)
    sender._send(payload)
    expect_disconnect(target, sender.data_to_send(), ProtocolError, "before user auth")


def test_server_refuses_auth_before_service_request() -> None:
    client, server = kexed_pair()
    client._auth_outstanding = 0
    client._userauth_request("me", "none")
    expect_disconnect(server, client.data_to_send(), ProtocolError, "ssh-userauth service")


def test_server_refuses_second_service_after_auth() -> None:
    client, server = authenticated_pair()
    client._send(wire.byte(c.MSG_SERVICE_REQUEST) + wire.string("ssh-userauth"))
    expect_disconnect(server, client.data_to_send(), ProtocolError, "not available")


def test_user_auth_after_success_is_ignored_by_the_server() -> None:
    """RFC 4252 §5.1: later requests are ignored (not answered, not an error)."""
    client, server = authenticated_pair()
    client._userauth_request("other", "none")
    assert server.receive_data(client.data_to_send()) == []


# -------------------------------------------------------------------------------- ext-info


@pytest.mark.parametrize(
    "when", ["after-auth", "from-client", "not-offered", "during-kex", "before-kex-plain"]
)
def test_ext_info_at_the_wrong_time(when: str) -> None:
    ext = wire.byte(c.MSG_EXT_INFO) + wire.uint32(1) + wire.string("x") + wire.string("y")
    if when == "after-auth":
        client, server = authenticated_pair()
        server._send(ext)
        expect_disconnect(client, server.data_to_send(), ProtocolError, "EXT_INFO")
    elif when == "from-client":
        client, server = kexed_pair()
        client._send(ext)
        expect_disconnect(server, client.data_to_send(), ProtocolError, "EXT_INFO")
    elif when == "not-offered":
        client, server = make_pair(ConnectionConfig(ext_info=False))
        pump(client, server)
        server._send(ext)
        expect_disconnect(client, server.data_to_send(), ProtocolError, "ext-info-c")
    elif when == "during-kex":  # strict kex: not a kex message
        client, server = make_pair()
        inject_before(server, c.MSG_NEWKEYS, ext)
        with pytest.raises(MessageOrderError):
            pump(client, server)
    else:  # without strict kex, before any NEWKEYS: still refused
        cfg = ConnectionConfig(strict_kex=False)
        client, server = make_pair(cfg, cfg)
        inject_before(server, c.MSG_NEWKEYS, ext)
        with pytest.raises(ProtocolError, match="during key exchange"):
            pump(client, server)


def test_ext_info_right_after_newkeys_is_accepted() -> None:
    client, server = make_pair(server_cfg=ConnectionConfig(server_sig_algs=("ssh-ed25519",)))
    ce, _ = pump(client, server)
    assert any(isinstance(e, ev.ExtInfoReceived) for e in ce)


# -------------------------------------------------------------------------------- channels


def channel_pair() -> tuple[Connection, Connection, int, int]:
    client, server = authenticated_pair()
    cid, sid = open_channel(client, server)
    return client, server, cid, sid


@pytest.mark.parametrize("victim", ["client", "server"])
@pytest.mark.parametrize(
    "build",
    [
        lambda i: wire.byte(c.MSG_CHANNEL_DATA) + wire.uint32(i) + wire.string(b"x"),
        lambda i: (
            wire.byte(c.MSG_CHANNEL_EXTENDED_DATA)
            + wire.uint32(i)
            + wire.uint32(1)
            + wire.string(b"x")
        ),
        lambda i: wire.byte(c.MSG_CHANNEL_WINDOW_ADJUST) + wire.uint32(i) + wire.uint32(1),
        lambda i: wire.byte(c.MSG_CHANNEL_EOF) + wire.uint32(i),
        lambda i: wire.byte(c.MSG_CHANNEL_CLOSE) + wire.uint32(i),
        lambda i: (
            wire.byte(c.MSG_CHANNEL_REQUEST)
            + wire.uint32(i)
            + wire.string("exec")
            + wire.boolean(True)
            + wire.string("ls")
        ),
        lambda i: wire.byte(c.MSG_CHANNEL_SUCCESS) + wire.uint32(i),
        lambda i: wire.byte(c.MSG_CHANNEL_FAILURE) + wire.uint32(i),
        lambda i: wire.byte(c.MSG_CHANNEL_OPEN_CONFIRMATION) + wire.uint32(i) + bytes(12),
        lambda i: (
            wire.byte(c.MSG_CHANNEL_OPEN_FAILURE)
            + wire.uint32(i)
            + wire.uint32(2)
            + wire.string("")
            + wire.string("")
        ),
    ],
    ids=["data", "ext", "adjust", "eof", "close", "request", "success", "failure", "conf", "fail"],
)
@pytest.mark.parametrize("which", ["unknown", "closed"])
def test_messages_for_unknown_or_closed_channels(
    victim: str, build: Callable[[int], bytes], which: str
) -> None:
    client, server, cid, sid = channel_pair()
    target, sender = roles(client, server, victim)
    target_id = cid if victim == "client" else sid
    if which == "closed":
        client.channels.close(cid)
        pump(client, server)
        assert not client.channels.channels and not server.channels.channels
    else:
        target_id = 4242
    sender._send(build(target_id))
    expect_disconnect(target, sender.data_to_send(), ProtocolError)


@pytest.mark.parametrize("victim", ["client", "server"])
def test_window_adjust_past_2_32(victim: str) -> None:
    client, server, cid, sid = channel_pair()
    target, sender = roles(client, server, victim)
    target_id = cid if victim == "client" else sid
    have = target.channels.channels[target_id].remote_window
    adjust = wire.byte(c.MSG_CHANNEL_WINDOW_ADJUST) + wire.uint32(target_id)
    sender._send(adjust + wire.uint32(0xFFFFFFFF - have))  # exactly 2**32 - 1: fine
    target.receive_data(sender.data_to_send())
    assert target.channels.channels[target_id].remote_window == 0xFFFFFFFF
    sender._send(adjust + wire.uint32(1))
    expect_disconnect(target, sender.data_to_send(), ProtocolError, "overflows")


@pytest.mark.parametrize("victim", ["client", "server"])
def test_data_beyond_our_window(victim: str) -> None:
    client, server, cid, sid = channel_pair()
    target, sender = roles(client, server, victim)
    sender_id = sid if victim == "client" else cid
    sender.channels.channels[sender_id].remote_window += 1  # the sender cheats by one byte
    assert sender.channels.send_data(sender_id, bytes(WINDOW + 1)) == WINDOW + 1
    expect_disconnect(target, sender.data_to_send(), ProtocolError, "window")


@pytest.mark.parametrize("victim", ["client", "server"])
def test_channel_open_confirmation_twice(victim: str) -> None:
    client, server, cid, sid = channel_pair()
    target, sender = roles(client, server, victim)
    target_id = cid if victim == "client" else sid
    sender._send(wire.byte(c.MSG_CHANNEL_OPEN_CONFIRMATION) + wire.uint32(target_id) + bytes(12))
    expect_disconnect(target, sender.data_to_send(), ProtocolError, "unexpected open")


def test_unsolicited_global_reply() -> None:
    client, server = authenticated_pair()
    client.global_request("keepalive@openssh.com", True)
    _, se = pump(client, server)
    assert se == [ev.GlobalRequestReceived("keepalive@openssh.com", True, b"")]
    server.global_reply(False)
    ce, _ = pump(client, server)
    assert ce == [ev.GlobalReplyReceived(False, b"")]
    server.global_reply(True)  # nobody asked
    expect_disconnect(client, server.data_to_send(), ProtocolError, "without a request")


def test_global_reply_without_want_reply() -> None:
    client, server = authenticated_pair()
    client.global_request("no-more-sessions@openssh.com", False)
    pump(client, server)
    server._send(wire.byte(c.MSG_REQUEST_SUCCESS))
    expect_disconnect(client, server.data_to_send(), ProtocolError, "without a request")

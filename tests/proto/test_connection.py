"""The sans-IO connection, client core against server core in memory."""

from __future__ import annotations

import itertools
import os
from dataclasses import replace

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from sshwire._proto import events as ev
from sshwire._proto import wire
from sshwire._proto.algorithms.cipher import CIPHERS
from sshwire._proto.algorithms.hostkey import PrivateKey
from sshwire._proto.config import ConnectionConfig
from sshwire._proto.connection import Connection, Phase
from sshwire._proto.errors import ProtocolError
from sshwire._proto.kex.negotiate import KEX_ALGORITHMS
from sshwire.ssh_exception import MessageOrderError, SSHException


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def host_keys() -> list[PrivateKey]:
    return [
        PrivateKey(ed25519.Ed25519PrivateKey.generate()),
        PrivateKey(ec.generate_private_key(ec.SECP256R1())),
        PrivateKey(rsa.generate_private_key(65537, 2048)),
    ]


def pump(a: Connection, b: Connection, rounds: int = 50) -> tuple[list[ev.Event], list[ev.Event]]:
    """Shuttle bytes both ways until both sides are quiet."""
    got_a: list[ev.Event] = []
    got_b: list[ev.Event] = []
    for _ in range(rounds):
        out_a, out_b = a.data_to_send(), b.data_to_send()
        if not out_a and not out_b:
            return got_a, got_b
        if out_a:
            got_b += b.receive_data(out_a)
        if out_b:
            got_a += a.receive_data(out_b)
    raise AssertionError("connections never went quiet")


def pair(
    host_keys: list[PrivateKey], client_cfg: ConnectionConfig | None = None, **server_kw: object
) -> tuple[Connection, Connection, FakeClock]:
    clock = FakeClock()
    client = Connection(True, client_cfg, rng=os.urandom, clock=clock)
    server_cfg = ConnectionConfig(**server_kw)  # type: ignore[arg-type]
    server = Connection(False, server_cfg, rng=os.urandom, clock=clock, host_keys=host_keys)
    client.start()
    server.start()
    return client, server, clock


def test_first_kex_default(host_keys: list[PrivateKey]) -> None:
    client, server, _ = pair(host_keys, server_sig_algs=("ssh-ed25519", "rsa-sha2-512"))
    ce, se = pump(client, server)
    assert client.phase is Phase.OPEN and server.phase is Phase.OPEN
    assert client.session_id == server.session_id
    assert client.strict_kex and server.strict_kex
    done = [e for e in ce if isinstance(e, ev.KexCompleted)]
    assert done and done[0].first and done[0].host_key == host_keys[0].public.blob
    ext = [e for e in ce if isinstance(e, ev.ExtInfoReceived)]
    assert ext and ext[0].extensions["server-sig-algs"] == b"ssh-ed25519,rsa-sha2-512"
    assert any(isinstance(e, ev.VersionReceived) for e in se)


@pytest.mark.parametrize("kex", KEX_ALGORITHMS)
def test_every_kex(host_keys: list[PrivateKey], kex: str) -> None:
    client, server, _ = pair(host_keys, ConnectionConfig(kex=(kex,)), kex=(kex,))
    pump(client, server)
    assert client.negotiated is not None and client.negotiated.kex == kex
    assert client.phase is Phase.OPEN


CIPHER_MAC = [(cipher, None) for cipher, spec in CIPHERS.items() if spec.is_aead] + [
    (cipher, mac)
    for cipher, mac in itertools.product(
        [n for n, s in CIPHERS.items() if not s.is_aead],
        ["hmac-sha2-256", "hmac-sha2-512-etm@openssh.com", "hmac-sha1"],
    )
]


@pytest.mark.parametrize(("cipher", "mac"), CIPHER_MAC, ids=lambda v: str(v))
def test_ciphers_and_macs_carry_traffic(
    host_keys: list[PrivateKey], cipher: str, mac: str | None
) -> None:
    macs = (mac,) if mac else ("hmac-sha2-256",)
    cfg = ConnectionConfig(ciphers=(cipher,), macs=macs)
    client, server, _ = pair(host_keys, cfg, ciphers=(cipher,), macs=macs)
    pump(client, server)
    assert client.negotiated is not None
    assert client.negotiated.cipher_cs == cipher and client.negotiated.mac_cs == mac
    client.send_debug("over the encrypted link")
    _, se = pump(client, server)
    assert [e.message for e in se if isinstance(e, ev.DebugReceived)] == ["over the encrypted link"]


@pytest.mark.parametrize(
    "alg", ["ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-256", "rsa-sha2-512"]
)
def test_host_key_algorithms(host_keys: list[PrivateKey], alg: str) -> None:
    client, server, _ = pair(host_keys, ConnectionConfig(host_key=(alg,)))
    pump(client, server)
    assert client.negotiated is not None and client.negotiated.host_key == alg


class LyingKey(PrivateKey):
    """A host key whose signatures cover the wrong data."""

    def sign(self, algorithm: str, data: bytes) -> bytes:
        return super().sign(algorithm, data + b"x")


def test_bad_host_key_signature_is_refused() -> None:
    liar = LyingKey(ed25519.Ed25519PrivateKey.generate())
    client, server, _ = pair([liar])
    with pytest.raises(SSHException, match="signature"):
        pump(client, server)
    assert client.phase is Phase.CLOSED


def test_rekey_keeps_traffic_in_order(host_keys: list[PrivateKey]) -> None:
    client, server, _ = pair(host_keys)
    pump(client, server)
    first_sid = client.session_id
    assert client.start_rekey()
    # payloads queued mid-rekey are held back and arrive in order after it
    for i in range(5):
        client.send_debug(f"message {i}")
    ce, se = pump(client, server)
    assert [e.message for e in se if isinstance(e, ev.DebugReceived)] == [
        f"message {i}" for i in range(5)
    ]
    assert any(isinstance(e, ev.KexCompleted) and not e.first for e in ce)
    assert client.session_id == first_sid  # the session id never changes
    assert not client.rekeying and not server.rekeying


def test_server_started_rekey(host_keys: list[PrivateKey]) -> None:
    client, server, _ = pair(host_keys)
    pump(client, server)
    assert server.start_rekey()
    ce, _ = pump(client, server)
    assert any(isinstance(e, ev.KexCompleted) and not e.first for e in ce)


def test_automatic_rekey_by_bytes_and_time(host_keys: list[PrivateKey]) -> None:
    cfg = ConnectionConfig(rekey_bytes=4096, rekey_seconds=60)
    client, server, clock = pair(host_keys, cfg)
    pump(client, server)
    client.send_ignore(os.urandom(8000))
    ce, _ = pump(client, server)
    assert any(isinstance(e, ev.KexCompleted) and not e.first for e in ce)
    clock.now += 61
    client.send_ignore(b"tick")
    ce, _ = pump(client, server)
    assert any(isinstance(e, ev.KexCompleted) and not e.first for e in ce)


def test_strict_kex_refuses_ignore_during_first_kex(host_keys: list[PrivateKey]) -> None:
    client, server, _ = pair(host_keys)
    client.receive_data(server.data_to_send())  # server version + KEXINIT
    # inject an IGNORE from the "server" during the first kex, in plain framing
    server._send(wire.byte(2) + wire.string(b"sneaky"))
    with pytest.raises(MessageOrderError):
        client.receive_data(server.data_to_send())
    assert client.phase is Phase.CLOSED


def test_strict_kex_requires_kexinit_first(host_keys: list[PrivateKey]) -> None:
    clock = FakeClock()
    client = Connection(True, rng=os.urandom, clock=clock)
    server = Connection(False, rng=os.urandom, clock=clock, host_keys=host_keys)
    client.start()
    server._started = True
    server._out.append(server.local_version.encode() + b"\r\n")
    server._send(wire.byte(2) + wire.string(b"before kexinit"))  # IGNORE first: Terrapin-style
    server._begin_kex()
    with pytest.raises(MessageOrderError, match="first"):
        client.receive_data(server.data_to_send())


def test_without_strict_kex_ignore_is_fine(host_keys: list[PrivateKey]) -> None:
    cfg = ConnectionConfig(strict_kex=False)
    client, server, _ = pair(host_keys, cfg)
    client.receive_data(server.data_to_send())
    server._send(wire.byte(2) + wire.string(b"harmless"))
    client.receive_data(server.data_to_send())
    pump(client, server)
    assert client.phase is Phase.OPEN and not client.strict_kex


def test_connection_message_before_auth_is_refused(host_keys: list[PrivateKey]) -> None:
    client, server, _ = pair(host_keys)
    pump(client, server)
    server._send(wire.byte(94) + wire.uint32(0) + wire.string(b"data"))
    with pytest.raises(ProtocolError, match="before user authentication"):
        client.receive_data(server.data_to_send())


def test_newkeys_without_kex_is_refused(host_keys: list[PrivateKey]) -> None:
    client, server, _ = pair(host_keys)
    pump(client, server)
    server._send(wire.byte(21))
    with pytest.raises(ProtocolError, match="NEWKEYS"):
        client.receive_data(server.data_to_send())


def test_ext_info_at_wrong_time_is_refused(host_keys: list[PrivateKey]) -> None:
    client, server, _ = pair(host_keys)
    pump(client, server)
    client.authenticated = True
    server._send(wire.byte(7) + wire.uint32(0))
    with pytest.raises(ProtocolError, match="EXT_INFO"):
        client.receive_data(server.data_to_send())


def test_peer_disconnect_and_eof(host_keys: list[PrivateKey]) -> None:
    client, server, _ = pair(host_keys)
    pump(client, server)
    server.disconnect(11, "bye")
    events = client.receive_data(server.data_to_send())
    assert events == [ev.PeerDisconnected(11, "bye")]
    client2, server2, _ = pair(host_keys)
    pump(client2, server2)
    assert client2.receive_data(b"") == [ev.ConnectionLost("connection closed by the peer")]


def test_garbage_banner_is_quoted(host_keys: list[PrivateKey]) -> None:
    client = Connection(True, rng=os.urandom, clock=FakeClock())
    client.start()
    client.receive_data(b"HTTP/1.1 400 Bad Request\r\n")
    with pytest.raises(SSHException, match=r"HTTP/1\.1 400"):
        client.receive_data(b"")


def test_wrong_guess_packet_is_ignored(host_keys: list[PrivateKey]) -> None:
    """first_kex_packet_follows with a wrong guess: the guessed packet is dropped."""
    client, server, _ = pair(
        host_keys, ConnectionConfig(kex=("ecdh-sha2-nistp256", "curve25519-sha256"))
    )
    server_out = server.data_to_send()
    client_out = client.data_to_send()
    # rebuild the client's KEXINIT with first_kex_packet_follows set and a bogus guess packet
    client2 = Connection(
        True,
        ConnectionConfig(kex=("ecdh-sha2-nistp256", "curve25519-sha256")),
        rng=os.urandom,
        clock=FakeClock(),
    )
    kexinit = client2._kexinit()
    kexinit = replace(kexinit, first_kex_follows=True)
    client2._started = True
    client2._out.append(client2.local_version.encode() + b"\r\n")
    from sshwire._proto.connection import _KexRun

    payload = kexinit.encode()
    client2._kex = _KexRun(kexinit, payload)
    client2._send(payload)
    client2._send(wire.byte(30) + wire.string(os.urandom(65)))  # the wrong guess
    server.receive_data(client2.data_to_send())
    client2.receive_data(server_out)
    pump(client2, server)
    assert client2.phase is Phase.OPEN and server.phase is Phase.OPEN
    del client, client_out

"""Regression tests for the bugs the core fuzzer (``tests/_fuzz_core.py``) found.

Each test names the fuzz case that first showed the bug (``python tests/fuzz/run_fuzz.py
--seed S --only N`` replays it) and pins the fixed behaviour with the smallest input.
"""

from __future__ import annotations

import os
import random

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

import _fuzz_wire as fw
from sshwire._proto import events as ev
from sshwire._proto import wire
from sshwire._proto.algorithms.hostkey import PrivateKey, PublicKey
from sshwire._proto.connection import Connection, Phase
from sshwire._proto.errors import DecodeError
from sshwire.ssh_exception import SSHException

KEY = PrivateKey(ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(2, 34))))


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


# ---- bug 1 (cases 5:10516, 5:14832): certificates nested as CA keys recursed once per level; a few
# hundred levels fit in one packet and RecursionError escaped receive_data (server: a
# publickey USERAUTH_REQUEST; client: the host key in the kex reply).


@pytest.mark.parametrize("depth", [2, 3, 400, 700])
def test_nested_certificate_is_a_decode_error(depth: int) -> None:
    blob = fw.cert_blob(random.Random(depth), depth, tidy=True)
    with pytest.raises(DecodeError, match="signed by a certificate"):
        PublicKey.from_blob(blob)


def test_one_level_certificate_still_parses() -> None:
    key = PublicKey.from_blob(fw.cert_blob(random.Random(1), 1, tidy=True))
    assert key.cert is not None and key.key_type == "ssh-ed25519-cert-v01@openssh.com"


def test_server_answers_a_deeply_nested_certificate_with_an_event() -> None:
    """End to end: the signature simply does not verify; nothing escapes receive_data."""
    client = Connection(True, rng=os.urandom, clock=lambda: 0.0)
    server = Connection(False, rng=os.urandom, clock=lambda: 0.0, host_keys=[KEY])
    client.start()
    server.start()
    pump(client, server)
    client.request_service("ssh-userauth")
    pump(client, server)
    blob = fw.cert_blob(random.Random(7), 600, tidy=True)
    sig = wire.string("ssh-ed25519") + wire.string(bytes(64))
    client.auth_publickey("me", "ssh-ed25519-cert-v01@openssh.com", blob, sig)
    events = server.receive_data(client.data_to_send())
    (req,) = [e for e in events if isinstance(e, ev.AuthRequested)]
    assert req.has_signature and not req.signature_valid
    assert server.phase is Phase.OPEN


def test_client_refuses_a_deeply_nested_host_certificate() -> None:
    client = Connection(True, rng=os.urandom, clock=lambda: 0.0)
    server = Connection(False, rng=os.urandom, clock=lambda: 0.0, host_keys=[KEY])
    blob = fw.cert_blob(random.Random(8), 600, tidy=True)
    real = server._send

    def send(payload: bytes) -> None:  # the server's kex reply carries the nested blob
        if payload[:1] == bytes([31]):
            r = wire.Reader(payload)
            r.byte()
            r.string()
            payload = bytes([31]) + wire.string(blob) + r.rest()
        real(payload)

    server._send = send  # type: ignore[method-assign]
    client.start()
    server.start()
    with pytest.raises(SSHException):
        pump(client, server)
    assert client.phase is Phase.CLOSED

"""The sans-IO core's share of a bulk transfer: channel data in and out, no socket, no thread.

A client and a server :class:`~sshwire._proto.connection.Connection` finish a key exchange in
memory and open a session channel with a 4 GiB window. Then, per cipher:

* send: the client's ``channels.send_data`` of 256 KiB at a time plus ``data_to_send`` (the
  packets sealed into one buffer), N MiB in all;
* receive: the server seals N MiB of CHANNEL_DATA ahead of time, and the client's
  ``receive_data`` is fed it 256 KiB at a time from one reused buffer (as the transport's
  ``recv_into`` does); the cost of copying into that buffer is measured apart and taken off.

Prints thread CPU seconds per GiB (``time.thread_time``) and minor page faults per GiB for
each half. Usage: ``python tests/benchmarks/bench_core_path.py [--size-mib 256]
[--ciphers gcm,chacha,ctr,etm]``
"""

from __future__ import annotations

import argparse
import os
import resource
import time

from cryptography.hazmat.primitives.asymmetric import ed25519

from sshwire._proto import events as ev
from sshwire._proto.algorithms.hostkey import PrivateKey
from sshwire._proto.config import ConnectionConfig
from sshwire._proto.connection import Connection

SUITES = {
    "gcm": ("aes128-gcm@openssh.com", "hmac-sha2-256"),
    "chacha": ("chacha20-poly1305@openssh.com", "hmac-sha2-256"),
    "ctr": ("aes128-ctr", "hmac-sha2-256"),
    "etm": ("aes128-ctr", "hmac-sha2-256-etm@openssh.com"),
}
READ = 1 << 18


def _pump(a: Connection, b: Connection) -> list[ev.Event]:
    got: list[ev.Event] = []
    for _ in range(200):
        out_a, out_b = a.data_to_send(), b.data_to_send()
        if not out_a and not out_b:
            break
        if out_a:
            got += b.receive_data(out_a)
        if out_b:
            a.receive_data(out_b)
    return got


def _pair(suite: str) -> tuple[Connection, Connection, int, int]:
    cipher, mac = SUITES[suite]
    cfg = ConnectionConfig(ciphers=(cipher,), macs=(mac,), rekey_bytes=1 << 40)
    key = PrivateKey(ed25519.Ed25519PrivateKey.generate())
    client = Connection(True, cfg, rng=os.urandom, clock=lambda: 0.0)
    server = Connection(False, cfg, rng=os.urandom, clock=lambda: 0.0, host_keys=[key])
    client.start()
    server.start()
    _pump(client, server)
    client.authenticated = server.authenticated = True
    window = (1 << 32) - 1
    cid = client.channels.open("session", window, 32768)
    request = next(e for e in _pump(client, server) if isinstance(e, ev.ChannelOpenRequested))
    server.channels.accept(request.channel, window, 32768)
    _pump(client, server)
    return client, server, cid, request.channel


def _faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def run(suite: str, size: int) -> str:
    client, server, cid, sid = _pair(suite)
    block = memoryview(bytes(READ))
    per_gib = (1 << 30) / size
    faults, start = _faults(), time.thread_time()
    for _ in range(size // READ):
        client.channels.send_data(cid, block)
        client.data_to_send()
    send = (time.thread_time() - start) * per_gib
    send_faults = (_faults() - faults) * per_gib
    parts = []
    for _ in range(size // READ):
        server.channels.send_data(sid, block)
        parts.append(server.data_to_send())
    stream = memoryview(b"".join(parts))
    del parts
    buf = bytearray(READ + 4096)
    view = memoryview(buf)
    faults, start = _faults(), time.thread_time()
    for pos in range(0, len(stream), READ):
        piece = stream[pos : pos + READ]
        view[: len(piece)] = piece
        client.receive_data(view[: len(piece)])
    receive = time.thread_time() - start
    receive_faults = (_faults() - faults) * per_gib
    start = time.thread_time()
    for pos in range(0, len(stream), READ):
        piece = stream[pos : pos + READ]
        view[: len(piece)] = piece
    receive = (receive - (time.thread_time() - start)) * per_gib
    return (
        f"{suite:7} send {send:.3f} s/GiB ({send_faults:.0f} faults/GiB)   "
        f"receive {receive:.3f} s/GiB ({receive_faults:.0f} faults/GiB)"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--ciphers", default=",".join(SUITES))
    args = parser.parse_args()
    for suite in args.ciphers.split(","):
        print(run(suite, args.size_mib << 20), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

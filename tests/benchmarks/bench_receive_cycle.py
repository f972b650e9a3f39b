"""The receive path's cost per packet, without sshd's noise: a reproducible download harness.

A server-side sans-IO core, driven in this process over a ``socketpair``, does the handshake
with a real sshwire Transport, accepts a session and seals N data packets of 32 KiB ahead of
time. A forked child then writes them K at a time, and writes the next K only once the
application has ``recv()``-ed the previous ones: every cycle is the same reader wake-up,
decode, hand-over to the application thread and ``recv``. This is what a download from sshd
looks like when the client is faster than the server (about two packets per read), minus the
scheduling noise of a shared machine.

Reports the application thread's and the reader thread's CPU microseconds per packet
(``CLOCK_THREAD_CPUTIME`` and ``/proc/self/task/*/schedstat``) and their context switches per
cycle. Linux only (fork, /proc). Usage::

    python tests/benchmarks/bench_receive_cycle.py [--cipher aes128-gcm@openssh.com]
        [--per-cycle 2] [--packets 16384] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import threading
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ed25519

import sshwire
from sshwire import Transport
from sshwire._proto import events as ev
from sshwire._proto.algorithms.hostkey import PrivateKey
from sshwire._proto.config import ConnectionConfig
from sshwire._proto.connection import Connection

PACKET = 32768


def _cpu(tid: int) -> float:
    return int(Path(f"/proc/self/task/{tid}/schedstat").read_text().split()[0]) / 1e9


def _switches(tid: int) -> int:
    text = Path(f"/proc/self/task/{tid}/status").read_text()
    return sum(int(line.split(":")[1]) for line in text.splitlines() if "ctxt_switches" in line)


def _handshake(cipher: str) -> tuple[Transport, sshwire.Channel, Connection, int, socket.socket]:
    ours, theirs = socket.socketpair()
    key = PrivateKey(ed25519.Ed25519PrivateKey.generate())
    cfg = ConnectionConfig(ciphers=(cipher,), rekey_bytes=1 << 40)
    server = Connection(False, cfg, rng=os.urandom, clock=time.monotonic, host_keys=[key])
    opened: list[int] = []
    started = threading.Event()

    def serve() -> None:
        server.start()
        theirs.sendall(server.data_to_send())
        while not started.is_set():
            data = theirs.recv(65536)
            if not data:
                return
            for event in server.receive_data(data):
                if isinstance(event, ev.AuthRequested):
                    server.auth_accept(event.username)
                elif isinstance(event, ev.ChannelOpenRequested):
                    server.channels.accept(event.channel, 1 << 31, PACKET)
                    opened.append(event.channel)
                elif isinstance(event, ev.ChannelRequestReceived):
                    server.channels.reply(event.channel, True)
                    started.set()
            out = server.data_to_send()
            if out:
                theirs.sendall(out)

    thread = threading.Thread(target=serve)
    thread.start()
    transport = Transport(ours)
    transport.get_security_options().ciphers = (cipher,)
    transport.rekey_bytes = 1 << 40
    transport.start_client(timeout=10)
    transport.auth_password("bench", "bench")
    chan = transport.open_session(window_size=(1 << 31) - 1)
    chan.exec_command("bench")
    thread.join()
    return transport, chan, server, opened[0], theirs


def one(cipher: str, per_cycle: int, packets: int) -> tuple[float, float, float, float]:
    transport, chan, server, sid, theirs = _handshake(cipher)
    block = bytes(PACKET)
    sealed = []
    for _ in range(packets):
        server.channels.send_data(sid, block)
        sealed.append(bytes(server.data_to_send()))
    groups = [b"".join(sealed[i : i + per_cycle]) for i in range(0, packets, per_cycle)]
    del sealed
    ack_in, ack_out = socket.socketpair()
    pid = os.fork()
    if pid == 0:  # the peer: K packets, then wait until the application has them
        try:
            for group in groups:
                theirs.sendall(group)
                ack_in.recv(1)
        finally:
            os._exit(0)
    app, reader = threading.get_native_id(), transport.native_id or 0
    switches0 = _switches(app) + _switches(reader)
    app0, reader0 = time.thread_time(), _cpu(reader)
    got, step = 0, per_cycle * PACKET
    due = step
    while got < packets * PACKET:
        got += len(chan.recv(1 << 20))
        while got >= due:
            due += step
            ack_out.send(b"!")
    app_cpu, reader_cpu = time.thread_time() - app0, _cpu(reader) - reader0
    switches = _switches(app) + _switches(reader) - switches0
    os.waitpid(pid, 0)
    transport.close()
    theirs.close()
    cycles = len(groups)
    return app_cpu / packets * 1e6, reader_cpu / packets * 1e6, switches / cycles, 0.0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cipher", default="aes128-gcm@openssh.com")
    parser.add_argument("--per-cycle", type=int, default=2)
    parser.add_argument("--packets", type=int, default=16384)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    runs = [one(args.cipher, args.per_cycle, args.packets) for _ in range(args.rounds)]
    app = statistics.median(r[0] for r in runs)
    reader = statistics.median(r[1] for r in runs)
    switches = statistics.median(r[2] for r in runs)
    print(
        f"{args.cipher}, {args.per_cycle} x 32 KiB per cycle: application {app:.2f} + reader "
        f"{reader:.2f} = {app + reader:.2f} CPU us per packet "
        f"({(app + reader) * (1 << 30) / PACKET / 1e6:.3f} s/GiB), "
        f"{switches:.1f} context switches per cycle"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

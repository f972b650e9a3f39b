"""How the window-adjust threshold and the window size change a 256 MiB download.

Starts a private OpenSSH sshd (the test fixture's settings), then downloads 256 MiB of
`head -c` output with sshwire for each policy, interleaved over several rounds, and prints the
median MB/s and client CPU seconds. Usage: python tests/benchmarks/bench_window.py [--quick]
"""

from __future__ import annotations

import argparse
import resource
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sshwire._proto.channel as core_channel
from _openssh import SshdMaterial, SshdServer, require_openssh
from sshwire import PKey, Transport


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def download(
    server: SshdServer, key: PKey, size: int, divisor: int, window: int
) -> tuple[float, float]:
    core_channel.WINDOW_ADJUST_DIVISOR = divisor
    t = Transport(socket.create_connection((server.host, server.port)), default_window_size=window)
    try:
        t.start_client(timeout=10)
        t.auth_publickey(server.user, key)
        chan = t.open_session()
        chan.exec_command(f"head -c {size} /dev/zero")
        start, cpu = time.perf_counter(), _cpu()
        got = 0
        while data := chan.recv(1 << 20):
            got += len(data)
        elapsed, used = time.perf_counter() - start, _cpu() - cpu
        assert got == size
        return size / elapsed / 1e6, used
    finally:
        t.close()
        core_channel.WINDOW_ADJUST_DIVISOR = 2


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    size = (64 if args.quick else 256) << 20
    rounds = 2 if args.quick else 3
    policies = [(2, 2 << 20), (4, 2 << 20), (8, 2 << 20), (2, 8 << 20), (4, 8 << 20)]
    openssh = require_openssh()
    with tempfile.TemporaryDirectory() as tmp:
        material = SshdMaterial.create(openssh, Path(tmp) / "material")
        server = SshdServer.start(openssh, material, Path(tmp) / "sshd")
        try:
            key = PKey.from_path(server.client_keys["ed25519"])
            results: dict[tuple[int, int], list[tuple[float, float]]] = {p: [] for p in policies}
            for _ in range(rounds):
                for policy in policies:
                    results[policy].append(download(server, key, size, *policy))
        finally:
            server.stop()
    print(f"{size >> 20} MiB download, aes128-gcm, {rounds} rounds, medians")
    print(f"{'adjust at':>12} {'window':>8} {'MB/s':>8} {'CPU s':>7}")
    for (divisor, window), runs in results.items():
        mbps = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        print(f"{'1/' + str(divisor):>12} {window >> 20:>6}Mi {mbps:8.0f} {cpu:7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

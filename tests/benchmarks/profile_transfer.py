"""Where an sshwire transfer spends its CPU: cProfile around an upload or download.

Starts a private OpenSSH sshd (the test fixture's settings), connects an sshwire Transport
with one cipher, and moves N MiB to ``cat > /dev/null`` or from ``head -c``. Both the
caller's thread and the transport's reader thread are profiled (the reader's ``run`` is
wrapped for the duration), and the two profiles are merged. Without ``--profile`` it only
reports CPU seconds per thread (``RUSAGE_THREAD``), for quick A/B comparisons.

Usage::

    python tests/benchmarks/profile_transfer.py [--cipher aes128-gcm] [--direction upload]
        [--size-mib 256] [--rounds 3] [--profile] [--top 30] [--sort tottime]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import resource
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sshwire
from _openssh import SshdMaterial, SshdServer, require_openssh
from sshwire import PKey, Transport

MiB = 1 << 20
CHUNK = 256 * 1024
CIPHERS = {
    "aes256-gcm": ("aes256-gcm@openssh.com", "hmac-sha2-256"),
    "aes128-gcm": ("aes128-gcm@openssh.com", "hmac-sha2-256"),
    "chacha20-poly1305": ("chacha20-poly1305@openssh.com", "hmac-sha2-256"),
    "aes128-ctr+hmac-sha2-256": ("aes128-ctr", "hmac-sha2-256"),
    "aes128-ctr+hmac-sha2-256-etm": ("aes128-ctr", "hmac-sha2-256-etm@openssh.com"),
}


def _cpu(who: int = resource.RUSAGE_SELF) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _switches(tid: int) -> tuple[int, int]:
    """Voluntary and involuntary context switches of one thread so far (Linux)."""
    counts = {}
    for line in Path(f"/proc/self/task/{tid}/status").read_text().splitlines():
        if line.endswith("ctxt_switches") or "ctxt_switches:" in line:
            name, _, value = line.partition(":")
            counts[name.strip()] = int(value)
    return counts["voluntary_ctxt_switches"], counts["nonvoluntary_ctxt_switches"]


def _usage() -> tuple[float, float, int, int]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime, usage.ru_minflt, usage.ru_nvcsw + usage.ru_nivcsw


class _ReaderProbe:
    """Wraps Transport.run: profiles the reader thread and records its CPU seconds."""

    def __init__(self, profile: bool) -> None:
        self.profile = cProfile.Profile(time.thread_time) if profile else None
        self.cpu = 0.0
        self._run = Transport.run
        probe = self

        def run(transport: Transport) -> None:
            start = _cpu(resource.RUSAGE_THREAD)
            try:
                if probe.profile is not None:
                    probe.profile.runcall(probe._run, transport)
                else:
                    probe._run(transport)
            finally:
                probe.cpu += _cpu(resource.RUSAGE_THREAD) - start

        Transport.run = run  # type: ignore[method-assign]

    def restore(self) -> None:
        Transport.run = self._run  # type: ignore[method-assign]


def _connect(server: SshdServer, key: PKey, cipher: str) -> Transport:
    t = Transport(socket.create_connection((server.host, server.port)))
    opts = t.get_security_options()
    name, mac = CIPHERS[cipher]
    opts.ciphers = (name,)
    opts.digests = (mac,)
    t.start_client(timeout=30)
    t.auth_publickey(server.user, key)
    return t


def _upload(t: Transport, size: int) -> None:
    chan = t.open_session()
    chan.exec_command("cat > /dev/null")
    block = bytes(CHUNK)
    left = size
    while left:
        n = min(left, CHUNK)
        chan.sendall(block[:n] if n < CHUNK else block)
        left -= n
    chan.shutdown_write()
    assert chan.recv_exit_status() == 0
    chan.close()


def _download(t: Transport, size: int) -> None:
    chan = t.open_session()
    chan.exec_command(f"head -c {size} /dev/zero")
    got = 0
    while data := chan.recv(1 << 20):
        got += len(data)
    assert chan.recv_exit_status() == 0
    chan.close()
    assert got == size, got


def _chan64(t: Transport, size: int) -> None:
    """bench_compare's chan64: 64 threads, each downloading size/64 bytes on its channel."""
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            _download(t, size // 64)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(64)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def one(
    server: SshdServer, key: PKey, cipher: str, direction: str, size: int, profile: bool
) -> tuple[dict[str, float], list[cProfile.Profile]]:
    probe = _ReaderProbe(profile)
    try:
        t = _connect(server, key, cipher)
        main_profile = cProfile.Profile(time.thread_time) if profile else None
        me, reader = threading.get_native_id(), t.native_id or 0
        sw_me0, sw_reader0 = _switches(me), _switches(reader)
        usage0, thread0, wall0 = _usage(), _cpu(resource.RUSAGE_THREAD), time.perf_counter()
        work = {"upload": _upload, "download": _download, "chan64": _chan64}[direction]
        if main_profile is not None:
            main_profile.runcall(work, t, size)
        else:
            work(t, size)
        wall = time.perf_counter() - wall0
        usage1 = _usage()
        caller = _cpu(resource.RUSAGE_THREAD) - thread0
        sw_me1, sw_reader1 = _switches(me), _switches(reader)
        t.close()
        cpu = usage1[0] - usage0[0] + usage1[1] - usage0[1]
        figures = {
            "mbps": size / wall / 1e6,
            "wall": wall,
            "cpu": cpu,
            "user": usage1[0] - usage0[0],
            "sys": usage1[1] - usage0[1],
            "faults": usage1[2] - usage0[2],
            "switches": usage1[3] - usage0[3],
            "caller": caller,
            "reader": cpu - caller,  # every other thread: the transport's reader
            "caller_vol": sw_me1[0] - sw_me0[0],
            "caller_invol": sw_me1[1] - sw_me0[1],
            "reader_vol": sw_reader1[0] - sw_reader0[0],
            "reader_invol": sw_reader1[1] - sw_reader0[1],
        }
        profiles = [p for p in (main_profile, probe.profile) if p is not None]
        return figures, profiles
    finally:
        probe.restore()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cipher", default="aes128-gcm", help=",".join(CIPHERS))
    parser.add_argument("--direction", default="upload,download")
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--sort", default="tottime")
    args = parser.parse_args()
    size = args.size_mib * MiB
    openssh = require_openssh()
    print(f"sshwire {sshwire.__version__}, Python {sys.version.split()[0]}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        material = SshdMaterial.create(openssh, Path(tmp) / "material")
        server = SshdServer.start(openssh, material, Path(tmp) / "sshd", ["LogLevel ERROR"])
        try:
            key = PKey.from_path(server.client_keys["ed25519"])
            for cipher in args.cipher.split(","):
                for direction in args.direction.split(","):
                    runs: list[dict[str, float]] = []
                    profiles: list[cProfile.Profile] = []
                    for _ in range(args.rounds):
                        figures, profs = one(server, key, cipher, direction, size, args.profile)
                        runs.append(figures)
                        profiles += profs
                    _report(cipher, direction, size, runs)
                    if profiles:
                        stats = pstats.Stats(profiles[0])
                        for p in profiles[1:]:
                            stats.add(p)
                        stats.strip_dirs().sort_stats(args.sort).print_stats(args.top)
        finally:
            server.stop()
    return 0


def _report(cipher: str, direction: str, size: int, runs: list[dict[str, Any]]) -> None:
    def med(field: str) -> float:
        return float(statistics.median(r[field] for r in runs))

    per_gib = (1 << 30) / size
    cpus = ", ".join(f"{r['cpu'] * per_gib:.2f}" for r in runs)
    print(
        f"{direction:8} {cipher:30} {med('mbps'):7.0f} MB/s  wall {med('wall'):.2f} s  "
        f"CPU {med('cpu') * per_gib:.2f} s/GiB "
        f"(user {med('user') * per_gib:.2f} sys {med('sys') * per_gib:.2f}; "
        f"caller {med('caller') * per_gib:.2f}, reader {med('reader') * per_gib:.2f}; "
        f"{med('faults') * per_gib:.0f} faults, {med('switches') * per_gib:.0f} context "
        f"switches/GiB (caller {med('caller_vol') * per_gib:.0f}+"
        f"{med('caller_invol') * per_gib:.0f}, reader {med('reader_vol') * per_gib:.0f}+"
        f"{med('reader_invol') * per_gib:.0f} voluntary+not); runs {cpus})",
        flush=True,
    )


if __name__ == "__main__":
    threading.current_thread().name = "profile_transfer"
    sys.exit(main())

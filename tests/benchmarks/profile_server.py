"""Where sshwire's server mode spends its CPU: OpenSSH's ``ssh`` against SSHServer.

Runs :class:`sshwire.testing.SSHServer` in this process and OpenSSH's ``ssh`` client
uploading N MiB to ``cat > /dev/null`` or downloading N MiB from ``head -c``, the
``server`` row of bench_compare.py, and reports this process's CPU seconds per GiB (the
commands' own CPU is not in it), split by thread (the transport's reader, the session's
output and input pumps, ...) from ``/proc/self/task``. With ``--profile``, cProfile runs in
every thread the server starts.

Usage::

    python tests/benchmarks/profile_server.py [--direction upload,download] [--size-mib 256]
        [--rounds 3] [--cipher aes128-gcm@openssh.com] [--profile] [--top 30]
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import pstats
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _openssh import require_openssh
from sshwire import Transport
from sshwire.testing import SSHServer, generate_key

MiB = 1 << 20


_ENDED: dict[str, float] = collections.defaultdict(float)  # CPU of threads that have ended


def _threads() -> dict[str, float]:
    """CPU seconds so far of every thread, live or ended, by name (numbers stripped)."""
    out: dict[str, float] = collections.defaultdict(float, _ENDED)
    for thread in threading.enumerate():
        tid = thread.native_id
        try:
            ns = int(Path(f"/proc/self/task/{tid}/schedstat").read_text().split()[0])
        except (OSError, TypeError):
            continue
        out[re.sub(r"\d+", "N", thread.name)] += ns / 1e9
    return out


class _Threads:
    """Wraps Thread.run: each thread's CPU is recorded when it ends; cProfile optional."""

    def __init__(self, profile: bool) -> None:
        self.profiles: list[cProfile.Profile] = []
        self._lock = threading.Lock()
        self._originals = [(cls, cls.run) for cls in (threading.Thread, Transport)]
        for cls, orig in self._originals:
            cls.run = self._wrap(orig, profile)  # type: ignore[method-assign]

    def _wrap(self, orig: Any, profile: bool) -> Any:
        def run(thread: threading.Thread) -> None:
            try:
                if profile:
                    prof = cProfile.Profile(time.thread_time)
                    with self._lock:
                        self.profiles.append(prof)
                    prof.runcall(orig, thread)
                else:
                    orig(thread)
            finally:
                with self._lock:
                    _ENDED[re.sub(r"\d+", "N", thread.name)] += time.thread_time()

        return run

    def restore(self) -> None:
        for cls, orig in self._originals:
            cls.run = orig  # type: ignore[method-assign]


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--direction", default="upload,download")
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cipher", default="aes128-gcm@openssh.com")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    size = args.size_mib * MiB
    openssh = require_openssh()
    profiles = _Threads(args.profile)
    key = generate_key()
    server = SSHServer(authorized_keys=[key])
    server.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            key_path = Path(tmp) / "id"
            key.write_private_key_file(str(key_path))
            zero = Path(tmp) / "zero"
            with zero.open("wb") as f:
                f.truncate(size)
            argv = [
                openssh.ssh, "-F", "/dev/null", "-i", str(key_path),
                "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "BatchMode=yes",
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "LogLevel=ERROR", "-o", f"Ciphers={args.cipher}",
                "-p", str(server.port), "-l", "bench", "127.0.0.1",
            ]  # fmt: skip
            subprocess.run([*argv, "true"], check=True)
            for direction in args.direction.split(","):
                runs: list[dict[str, Any]] = []
                for _ in range(args.rounds):
                    runs.append(_one(argv, direction, size, zero))
                _report(direction, size, runs)
    finally:
        server.close()
        profiles.restore()
    if profiles.profiles:
        stats = pstats.Stats(profiles.profiles[0])
        for prof in profiles.profiles[1:]:
            stats.add(prof)
        stats.strip_dirs().sort_stats("tottime").print_stats(args.top)
    return 0


def _one(argv: list[str], direction: str, size: int, zero: Path) -> dict[str, Any]:
    threads0, cpu0, wall0 = _threads(), _cpu(), time.perf_counter()
    if direction == "upload":
        with zero.open("rb") as f:
            subprocess.run([*argv, "cat > /dev/null"], stdin=f, check=True)
    else:
        subprocess.run([*argv, f"head -c {size} /dev/zero"], stdout=subprocess.DEVNULL, check=True)
    wall, cpu = time.perf_counter() - wall0, _cpu() - cpu0
    threads1 = _threads()
    by_thread = {n: threads1[n] - threads0.get(n, 0.0) for n in threads1}
    return {"mbps": size / wall / 1e6, "cpu": cpu, "threads": by_thread}


def _report(direction: str, size: int, runs: list[dict[str, Any]]) -> None:
    per_gib = (1 << 30) / size
    mbps = statistics.median(r["mbps"] for r in runs)
    cpu = statistics.median(r["cpu"] for r in runs)
    names = sorted({n for r in runs for n in r["threads"]})
    split = ", ".join(
        f"{n} {statistics.median(r['threads'].get(n, 0.0) for r in runs) * per_gib:.2f}"
        for n in names
        if max(r["threads"].get(n, 0.0) for r in runs) * per_gib >= 0.01
    )
    cpus = ", ".join(f"{r['cpu'] * per_gib:.2f}" for r in runs)
    print(
        f"server {direction:8} {mbps:6.0f} MB/s  CPU {cpu * per_gib:.2f} s/GiB "
        f"(by thread: {split}; runs {cpus})",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())

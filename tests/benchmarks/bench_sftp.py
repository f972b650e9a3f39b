"""SFTP download and upload of one big file: sshwire, paramiko, asyncssh and OpenSSH's ``sftp``.

Starts a private OpenSSH sshd (the test fixture's settings: ``Subsystem sftp internal-sftp``),
writes a random file next to it, then gets and puts that file with every client, interleaved
over several rounds, and prints the median MB/s and client CPU seconds as a markdown table.

* sshwire, paramiko, asyncssh run in this process with their defaults (no tuning of request
  sizes or counts); CPU seconds are ``getrusage(RUSAGE_SELF)`` around the transfer, all
  threads included. The connection is made before the clock starts.
* OpenSSH's ``sftp -b`` runs as a child; CPU seconds are ``RUSAGE_CHILDREN`` (``sftp`` and
  its ``ssh``). The cost of a run whose batch holds only ``pwd`` (process start, key
  exchange, authentication) is measured in the same round and subtracted.
* Every client uses aes128-gcm@openssh.com, so the figures compare SFTP implementations and
  not ciphers. MB means 10**6 bytes.
* The files live in ``/dev/shm`` when it exists (``--dir``): the figures then measure the
  protocol stacks, not the disk's writeback.

Usage: ``python tests/benchmarks/bench_sftp.py [--quick] [--rounds N] [--size-mib N]
[--clients sshwire,paramiko,asyncssh,openssh] [--profile get|put]``. Not a test: nothing is
asserted (files are checked by size and SHA-256 once), pytest does not collect this file.
``--profile`` runs one sshwire transfer under cProfile and prints the top functions.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import hashlib
import os
import pstats
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _openssh import SshdMaterial, SshdServer, require_openssh

CIPHER = "aes128-gcm@openssh.com"
CLIENTS = ("sshwire", "paramiko", "asyncssh", "openssh")
Result = tuple[float, float]  # (seconds, CPU seconds)


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(run: Callable[[], object]) -> Result:
    cpu, start = _self_cpu(), time.perf_counter()
    run()
    return time.perf_counter() - start, _self_cpu() - cpu


class Bench:
    def __init__(self, server: SshdServer, workdir: Path, size: int) -> None:
        self.server = server
        self.work = workdir
        self.size = size
        self.remote = workdir / "remote.bin"
        self.local = workdir / "local.bin"
        self.digest = ""

    def make_files(self) -> None:
        h = hashlib.sha256()
        with open(self.remote, "wb") as f:
            left = self.size
            while left:
                block = os.urandom(min(left, 1 << 22))
                h.update(block)
                f.write(block)
                left -= len(block)
        self.digest = h.hexdigest()
        self.local.write_bytes(self.remote.read_bytes())

    def check(self, path: Path) -> None:
        if path.stat().st_size != self.size:
            raise SystemExit(f"{path}: wrong size {path.stat().st_size}")
        h = hashlib.sha256()
        with open(path, "rb") as f:
            while block := f.read(1 << 22):
                h.update(block)
        if h.hexdigest() != self.digest:
            raise SystemExit(f"{path}: wrong content")

    # --- sshwire -------------------------------------------------------------------------

    def sshwire(self, direction: str, profile: bool = False) -> Result:
        import sshwire

        key = sshwire.PKey.from_path(self.server.client_keys["ed25519"])
        t = sshwire.Transport(socket.create_connection((self.server.host, self.server.port)))
        t.get_security_options().ciphers = (CIPHER,)
        try:
            t.start_client(timeout=10)
            t.auth_publickey(self.server.user, key)
            sftp = t.open_sftp_client()
            assert sftp is not None
            target = self.work / f"out-sshwire-{direction}.bin"
            if direction == "get":

                def run() -> None:
                    sftp.get(str(self.remote), str(target))
            else:

                def run() -> None:
                    sftp.put(str(self.local), str(target))

            if profile:
                prof = cProfile.Profile()
                prof.enable()
                result = _timed(run)
                prof.disable()
                pstats.Stats(prof).sort_stats("tottime").print_stats(25)
            else:
                result = _timed(run)
            sftp.close()
            return result
        finally:
            t.close()

    # --- paramiko ------------------------------------------------------------------------

    def paramiko(self, direction: str) -> Result:
        import paramiko

        key = paramiko.Ed25519Key.from_private_key_file(str(self.server.client_keys["ed25519"]))
        t = paramiko.Transport(socket.create_connection((self.server.host, self.server.port)))
        t.get_security_options().ciphers = (CIPHER,)
        try:
            t.start_client(timeout=10)
            t.auth_publickey(self.server.user, key)
            sftp = paramiko.SFTPClient.from_transport(t)
            assert sftp is not None
            target = self.work / f"out-paramiko-{direction}.bin"
            if direction == "get":
                result = _timed(lambda: sftp.get(str(self.remote), str(target)))
            else:
                result = _timed(lambda: sftp.put(str(self.local), str(target)))
            sftp.close()
            return result
        finally:
            t.close()

    # --- asyncssh ------------------------------------------------------------------------

    def asyncssh(self, direction: str) -> Result:
        import asyncssh

        target = self.work / f"out-asyncssh-{direction}.bin"

        async def main() -> Result:
            async with (
                asyncssh.connect(
                    self.server.host,
                    self.server.port,
                    username=self.server.user,
                    client_keys=[str(self.server.client_keys["ed25519"])],
                    known_hosts=None,
                    encryption_algs=[CIPHER],
                    agent_path=None,
                ) as conn,
                conn.start_sftp_client() as sftp,
            ):
                cpu, start = _self_cpu(), time.perf_counter()
                if direction == "get":
                    await sftp.get(str(self.remote), str(target))
                else:
                    await sftp.put(str(self.local), str(target))
                return time.perf_counter() - start, _self_cpu() - cpu

        return asyncio.run(main())

    # --- OpenSSH's sftp ------------------------------------------------------------------

    def _sftp_batch(self, batch: str) -> Result:
        batch_file = self.work / "batch.txt"
        batch_file.write_text(batch)
        argv = [
            "sftp",
            *self.server.ssh_args(),
            "-o",
            f"Ciphers={CIPHER}",
            "-q",
            "-b",
            str(batch_file),
            self.server.host,
        ]
        cpu, start = _children_cpu(), time.perf_counter()
        subprocess.run(argv, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        return time.perf_counter() - start, _children_cpu() - cpu

    def openssh(self, direction: str) -> Result:
        target = self.work / f"out-openssh-{direction}.bin"
        base_wall, base_cpu = self._sftp_batch("pwd\n")
        if direction == "get":
            wall, cpu = self._sftp_batch(f'get "{self.remote}" "{target}"\n')
        else:
            wall, cpu = self._sftp_batch(f'put "{self.local}" "{target}"\n')
        return max(wall - base_wall, 1e-6), max(cpu - base_cpu, 0.0)

    def run(self, client: str, direction: str) -> Result:
        result: Result = getattr(self, client)(direction)
        return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="32 MiB, 3 rounds")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--size-mib", type=int, default=None)
    parser.add_argument("--clients", default=",".join(CLIENTS))
    parser.add_argument("--profile", choices=("get", "put"), default=None)
    parser.add_argument(
        "--dir",
        default="/dev/shm" if os.path.isdir("/dev/shm") else None,
        help="where the files live (default: /dev/shm, so disk writeback adds no noise)",
    )
    args = parser.parse_args()
    size = (args.size_mib or (32 if args.quick else 256)) << 20
    rounds = max(1, args.rounds or 3)
    clients = [c for c in args.clients.split(",") if c]
    for c in clients:
        if c not in CLIENTS:
            parser.error(f"unknown client {c!r}")
    openssh = require_openssh()
    with tempfile.TemporaryDirectory(prefix="sshwire-bench-sftp-", dir=args.dir) as tmp:
        root = Path(tmp)
        material = SshdMaterial.create(openssh, root / "material")
        server = SshdServer.start(openssh, material, root / "sshd")
        try:
            bench = Bench(server, root, size)
            bench.make_files()
            if args.profile:
                wall, cpu = bench.sshwire(args.profile, profile=True)
                print(f"{args.profile}: {size / wall / 1e6:.0f} MB/s, {cpu:.2f} CPU s")
                return 0
            results: dict[tuple[str, str], list[Result]] = {}
            for n in range(rounds):
                for client in clients:
                    for direction in ("get", "put"):
                        result = bench.run(client, direction)
                        results.setdefault((client, direction), []).append(result)
                        out = root / f"out-{client}-{direction}.bin"
                        if n == 0:
                            bench.check(out)
                        out.unlink()
                print(f"round {n + 1}/{rounds} done", file=sys.stderr)
        finally:
            server.stop()
    version = openssh.version.split(",")[0]
    print(
        f"\n{size >> 20} MiB file in {args.dir or tempfile.gettempdir()}, {CIPHER}, OpenSSH sshd "
        f"({version}, internal-sftp) on 127.0.0.1, medians of {rounds} interleaved rounds; "
        "CPU = client CPU seconds\n"
    )
    print("| client | get MB/s | get CPU s | put MB/s | put CPU s |")
    print("|---|---:|---:|---:|---:|")
    for client in clients:
        cells = []
        for direction in ("get", "put"):
            runs = results[(client, direction)]
            mbps = statistics.median(size / wall / 1e6 for wall, _ in runs)
            cpu = statistics.median(c for _, c in runs)
            cells += [f"{mbps:.0f}", f"{cpu:.2f}"]
        name = {"openssh": "OpenSSH `sftp -b`"}.get(client, client)
        print(f"| {name} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

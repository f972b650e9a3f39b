"""Micro-benchmark of the binary packet protocol: encode + decode throughput per cipher.

Run as ``python tests/benchmarks/bench_framing.py [--quick]`` (``nox -s bench`` does). Not a
test: nothing is asserted, and pytest does not collect this file.

Each row seals payloads with :class:`PacketWriter` and reads them back with
:class:`PacketReader` in the same thread. Sealed packets are copied into one reused 256 KiB
buffer, which the reader is fed in one piece (as a transport that ``recv_into``-s a reused
buffer would), and then drained. MB/s counts payload bytes (10**6 bytes per MB) through both
halves.

Every cell runs in a fresh child process, so rows do not depend on each other's leftover heap.
``faults/pkt`` (minor page faults per packet) watches the C allocator: a fresh 256 KiB
``bytes`` per batch (``b"".join(...)`` or ``sock.recv(256 * 1024)``) makes glibc hand the
memory back to the kernel and fault it in again every time, about 12 faults per 32 KiB packet,
which costs more than AES-GCM itself (large-packet figures drop about 3-4x). Keep buffers of
128 KiB and more alive and reuse them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

try:
    import sshwire
except ImportError:  # run from a checkout without an install
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
    import sshwire

import cryptography
from cryptography.hazmat.backends.openssl.backend import backend as openssl_backend

from sshwire._proto.algorithms.cipher import CIPHERS
from sshwire._proto.framing import PacketReader, PacketWriter


@dataclass(frozen=True)
class Case:
    cipher: str | None  # None: no cipher (before the first NEWKEYS), the baseline
    mac: str | None = None

    @property
    def label(self) -> str:
        if self.cipher is None:
            return "none (plaintext framing)"
        return self.cipher if self.mac is None else f"{self.cipher} + {self.mac}"


def cases() -> list[Case]:
    out = [Case(None)]
    out += [Case(name) for name, spec in CIPHERS.items() if spec.mode == "gcm"]
    out += [Case(name) for name, spec in CIPHERS.items() if spec.mode == "chacha"]
    for name, spec in CIPHERS.items():
        if spec.mode == "ctr":
            out.append(Case(name, "hmac-sha2-256"))
            out.append(Case(name, "hmac-sha2-256-etm@openssh.com"))
    return out


def _pair(case: Case) -> tuple[PacketWriter, PacketReader]:
    writer = PacketWriter(rng=os.urandom)
    reader = PacketReader()
    if case.cipher is not None:
        keys = {
            "cipher": case.cipher,
            "key": os.urandom(64),
            "iv": os.urandom(16),
            "mac": case.mac,
            "mac_key": os.urandom(64),
        }
        writer.set_keys(**keys)  # type: ignore[arg-type]
        reader.set_keys(**keys)  # type: ignore[arg-type]
    return writer, reader


def measure(case: Case, size: int, seconds: float) -> tuple[float, float, float]:
    """(payload MB/s, packets/s, minor page faults per packet) for encode + decode."""
    writer, reader = _pair(case)
    payload = b"\x5e" + os.urandom(size - 1)
    batch = max(1, (256 * 1024) // size)
    encode, feed, next_payload = writer.encode, reader.feed, reader.next_payload
    wire = bytearray(batch * (size + 256))  # room for header, padding and tag
    view = memoryview(wire)

    def run_batch() -> None:
        pos = 0
        for _ in range(batch):
            packet = encode(payload)
            end = pos + len(packet)
            view[pos:end] = packet
            pos = end
        feed(view[:pos])
        for _ in range(batch):
            if next_payload() is None:  # pragma: no cover - would be a framing bug
                raise RuntimeError(f"{case.label}: packet lost")

    run_batch()  # warm up
    packets = 0
    faults0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    t0 = time.perf_counter()
    deadline = t0 + seconds
    while True:
        run_batch()
        packets += batch
        now = time.perf_counter()
        if now >= deadline:
            break
    wall = now - t0
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults0
    return packets * size / wall / 1e6, packets / wall, faults / packets


def _measure_in_child(case: Case, size: int, seconds: float) -> tuple[float, float, float]:
    spec = json.dumps([case.cipher, case.mac, size, seconds])
    out = subprocess.run(
        [sys.executable, __file__, "--one", spec], check=True, capture_output=True, text=True
    ).stdout
    mbps, pps, faults = json.loads(out)
    return float(mbps), float(pps), float(faults)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="short runs (0.1 s per cell) for a smoke check"
    )
    parser.add_argument("--seconds", type=float, help="time per cell (default 1.0, quick 0.1)")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: one cell, JSON out
    args = parser.parse_args(argv)
    if args.one:
        cipher, mac, size, seconds = json.loads(args.one)
        print(json.dumps(measure(Case(cipher, mac), size, seconds)))
        return 0

    seconds = args.seconds or (0.1 if args.quick else 1.0)
    sizes = [("32 KiB", 32 * 1024), ("64 B", 64)]
    print(
        f"sshwire {sshwire.__version__} framing, encode + decode in one thread; "
        f"Python {platform.python_version()}, cryptography {cryptography.__version__}, "
        f"{openssl_backend.openssl_version_text()}, {os.cpu_count()} CPUs; "
        f"{seconds:g} s per cell, each in a fresh process"
    )
    header = f"{'cipher + mac':<44}"
    for name, _ in sizes:
        header += f" | {name + ' MB/s':>11} {'pkt/s':>10} {'faults/pkt':>10}"
    print(header)
    print("-" * len(header))
    for case in cases():
        row = f"{case.label:<44}"
        for _, size in sizes:
            mbps, pps, faults = _measure_in_child(case, size, seconds)
            row += f" | {mbps:>11.1f} {pps:>10,.0f} {faults:>10.2f}"
        print(row, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

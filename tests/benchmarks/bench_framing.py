"""Micro-benchmark of the binary packet protocol: encode + decode throughput per cipher.

Run as ``python tests/benchmarks/bench_framing.py [--quick]`` (``nox -s bench`` does). Not a
test: nothing is asserted, and pytest does not collect this file.

Each row seals payloads with :class:`PacketWriter` and reads them back with
:class:`PacketReader` in the same thread, feeding the reader a batch of packets at a time (as
the transport does when it reads the socket in large chunks). MB/s counts payload bytes
(10**6 bytes per MB) through both halves, so one core's worth of SSH framing in each
direction costs about twice the figure's reciprocal.
"""

from __future__ import annotations

import argparse
import os
import platform
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


def measure(case: Case, size: int, seconds: float) -> tuple[float, float]:
    """(payload MB/s, packets/s) for encode + decode."""
    writer, reader = _pair(case)
    payload = b"\x5e" + os.urandom(size - 1)
    batch = max(1, (256 * 1024) // size)
    encode, feed, next_payload = writer.encode, reader.feed, reader.next_payload

    def run_batch() -> None:
        feed(b"".join([encode(payload) for _ in range(batch)]))
        for _ in range(batch):
            if next_payload() is None:  # pragma: no cover - would be a framing bug
                raise RuntimeError(f"{case.label}: packet lost")

    run_batch()  # warm up
    packets = 0
    t0 = time.perf_counter()
    deadline = t0 + seconds
    while True:
        run_batch()
        packets += batch
        now = time.perf_counter()
        if now >= deadline:
            break
    wall = now - t0
    return packets * size / wall / 1e6, packets / wall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="short runs (about 0.1 s per row) for a smoke check"
    )
    parser.add_argument("--seconds", type=float, help="time per row (default 1.0, quick 0.1)")
    args = parser.parse_args(argv)
    seconds = args.seconds or (0.1 if args.quick else 1.0)
    sizes = [("32 KiB", 32 * 1024), ("64 B", 64)]

    print(
        f"sshwire {sshwire.__version__} framing, encode + decode in one thread; "
        f"Python {platform.python_version()}, cryptography {cryptography.__version__}, "
        f"{openssl_backend.openssl_version_text()}, {os.cpu_count()} CPUs; "
        f"{seconds:g} s per row"
    )
    header = f"{'cipher + mac':<46}"
    for name, _ in sizes:
        header += f" | {name + ' MB/s':>12} {name + ' pkt/s':>14}"
    print(header)
    print("-" * len(header))
    for case in cases():
        row = f"{case.label:<46}"
        for _, size in sizes:
            mbps, pps = measure(case, size, seconds)
            row += f" | {mbps:>12.1f} {pps:>14,.0f}"
        print(row, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

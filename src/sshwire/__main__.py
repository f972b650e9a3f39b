"""``python -m sshwire``: ``demo``, ``version``; ``serve`` and ``exec`` come with server mode."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence


def _demo() -> int:
    """Show what works today: frame and unframe packets under every default cipher."""
    from ._proto.algorithms.cipher import CIPHERS, DEFAULT_CIPHERS
    from ._proto.algorithms.mac import DEFAULT_MACS
    from ._proto.framing import PacketReader, PacketWriter

    print("sshwire demo: the binary packet protocol, round-tripped in memory")
    print("(the end-to-end demo against the embedded SSH server arrives with server mode)\n")
    payload = os.urandom(32 * 1024)
    count = 512
    for name in DEFAULT_CIPHERS:
        spec = CIPHERS[name]
        mac = None if spec.is_aead else DEFAULT_MACS[0]
        key, iv, mac_key = os.urandom(spec.key_size), os.urandom(spec.iv_size), os.urandom(64)
        writer, reader = PacketWriter(os.urandom), PacketReader()
        writer.set_keys(name, key, iv, mac, mac_key)
        reader.set_keys(name, key, iv, mac, mac_key)
        start = time.perf_counter()
        for _ in range(count):
            reader.feed(writer.encode(payload))
            got = reader.next_payload()
            if got != payload:
                print(f"  {name}: MISMATCH")
                return 1
        elapsed = time.perf_counter() - start
        label = name if mac is None else f"{name} + {mac}"
        mbps = count * len(payload) / elapsed / 1e6
        print(f"  {label:<50} {mbps:8.0f} MB/s encode+decode")
    print("\nall ciphers round-tripped")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sshwire", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="run the demo")
    sub.add_parser("version", help="print the version")
    args = parser.parse_args(argv)
    if args.command == "version":
        from . import __version__

        print(__version__)
        return 0
    return _demo()


if __name__ == "__main__":
    sys.exit(main())

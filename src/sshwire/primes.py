"""Diffie-Hellman group-exchange primes from an OpenSSH ``moduli`` file (paramiko's ``primes``).

A server offering ``diffie-hellman-group-exchange-*`` (RFC 4419) picks a safe prime near the
size the client asks for. OpenSSH keeps its candidates in ``/etc/ssh/moduli``, one per line::

    timestamp type tests tries size generator modulus-in-hex

where *size* is the prime's bit length minus one (``2047`` for a 2048-bit prime), *type* 2
means a safe prime and *tests* is a bit mask of the primality tests run on it (4: Miller-Rabin,
8 and up: further tests). :class:`ModulusPack` is the one parser of that format in sshwire:
:meth:`sshwire.transport.Transport.load_server_moduli` uses it too.
"""

from __future__ import annotations

import secrets

from .ssh_exception import SSHException

__all__ = ["ModulusPack"]

_SAFE_PRIME = 2  # moduli "type": at least this (a safe prime, p = 2q + 1)
_TEST_MILLER_RABIN = 4  # moduli "tests" bit
_TEST_STRONGER = 8  # any tests value from here on includes a test beyond Miller-Rabin
_MIN_MILLER_RABIN_ROUNDS = 100  # when Miller-Rabin is the strongest test, at least this many


class ModulusPack:
    """The usable primes of a moduli file, by bit length.

    ``pack`` maps a bit length to a list of ``(generator, prime)`` pairs; ``discarded`` lists
    ``(prime, reason)`` for the entries that were parsed but refused.
    """

    def __init__(self) -> None:
        self.pack: dict[int, list[tuple[int, int]]] = {}
        self.discarded: list[tuple[int, str]] = []

    def _parse_modulus(self, line: str) -> None:
        """Add one moduli line (raises ``ValueError`` when it is not seven numeric fields)."""
        _, kind_s, tests_s, tries_s, size_s, generator_s, modulus_s = line.split()
        kind, tests, tries = int(kind_s), int(tests_s), int(tries_s)
        size, generator, modulus = int(size_s), int(generator_s), int(modulus_s, 16)
        weak_test = (
            tests & _TEST_MILLER_RABIN
            and tests < _TEST_STRONGER
            and tries < _MIN_MILLER_RABIN_ROUNDS
        )
        if kind < _SAFE_PRIME or tests < _TEST_MILLER_RABIN or weak_test:
            self.discarded.append((modulus, "does not meet basic requirements"))
            return
        if generator == 0:
            generator = 2
        # the file states one bit less than the real length; accept either
        bits = modulus.bit_length()
        if bits not in (size, size + 1):
            self.discarded.append((modulus, f"incorrectly reported bit length {size}"))
            return
        self.pack.setdefault(bits, []).append((generator, modulus))

    def read_file(self, filename: str) -> None:
        """Replace the pack with the primes of *filename* (``OSError`` if it cannot be read).

        Blank lines, ``#`` comments and malformed lines are skipped.
        """
        self.pack = {}
        with open(filename, encoding="ascii", errors="replace") as f:
            for raw in f:
                line = raw.strip()
                if not line or line.startswith("#"):
                    continue
                try:
                    self._parse_modulus(line)
                except ValueError:
                    continue

    def get_modulus(self, min: int, prefer: int, max: int) -> tuple[int, int]:
        """A random ``(generator, prime)`` for a client asking for *min* ≤ *prefer* ≤ *max* bits.

        The size chosen is the smallest one of at least *prefer* bits within *max*; failing
        that, the largest one within [*min*, *max*]; failing that (no overlap at all), our
        smallest size if the request lies below it, else our largest.
        """
        sizes = sorted(self.pack)
        if not sizes:
            raise SSHException("no moduli available")
        at_least_preferred = [b for b in sizes if prefer <= b <= max]
        within = [b for b in sizes if min <= b <= max]
        if at_least_preferred:
            bits = at_least_preferred[0]
        elif within:
            bits = within[-1]
        else:
            bits = sizes[-1] if min > sizes[0] else sizes[0]
        choices = self.pack[bits]
        return choices[secrets.randbelow(len(choices))]

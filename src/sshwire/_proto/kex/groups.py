"""The fixed MODP groups (RFC 2409 §6.2, RFC 3526 §3-7), derived from their definition.

Each prime is ``2**n - 2**(n-64) - 1 + 2**64 * (floor(2**(n-130) * pi) + k)`` for the group's
published offset ``k``; the generator is 2. Deriving the numbers here (instead of pasting
2,000 hex digits) keeps them checkable: the tests compare them with the RFC text's values.
"""

from __future__ import annotations

from functools import cache
from typing import Final

GENERATOR: Final = 2

# bit length -> offset k, per the RFCs
_OFFSETS: Final[dict[int, int]] = {
    1024: 129093,  # RFC 2409 §6.2, Oakley group 2 ("group1" in SSH)
    2048: 124476,  # RFC 3526 §3, group 14
    3072: 1690314,  # RFC 3526 §4, group 15
    4096: 240904,  # RFC 3526 §5, group 16
    6144: 929484,  # RFC 3526 §6, group 17
    8192: 4743158,  # RFC 3526 §7, group 18
}


def _arctan_inverse(x: int, one: int) -> int:
    """arctan(1/x) in fixed point with ``one`` as 1.0 (Taylor series)."""
    power = one // x
    total = power
    x2 = x * x
    n = 1
    sign = -1
    while power:
        power //= x2
        n += 2
        total += sign * (power // n)
        sign = -sign
    return total


def _floor_pi_times_power_of_two(bits: int) -> int:
    """floor(pi * 2**bits), exact (Machin's formula with guard bits)."""
    guard = 64
    one = 1 << (bits + guard)
    pi = 16 * _arctan_inverse(5, one) - 4 * _arctan_inverse(239, one)
    return pi >> guard


@cache
def modp_prime(bits: int) -> int:
    """The MODP prime of the given size."""
    k = _OFFSETS[bits]
    return (
        (1 << bits)
        - (1 << (bits - 64))
        - 1
        + ((_floor_pi_times_power_of_two(bits - 130) + k) << 64)
    )


BUILTIN_SIZES: Final[tuple[int, ...]] = tuple(sorted(_OFFSETS))

"""diffie-hellman-group-exchange-sha256/-sha1 (RFC 4419, RFC 8270 minimums)."""

from __future__ import annotations

from collections.abc import Callable

from .. import wire
from .base import (
    ClientExchange,
    KexFailed,
    KexInputs,
    KexOutput,
    Rng,
    ServerExchange,
    Signer,
    exchange_hash,
    expect,
)
from .dh import check_public, private_exponent
from .groups import BUILTIN_SIZES, GENERATOR, modp_prime

MSG_KEX_DH_GEX_REQUEST_OLD = 30
MSG_KEX_DH_GEX_GROUP = 31
MSG_KEX_DH_GEX_INIT = 32
MSG_KEX_DH_GEX_REPLY = 33
MSG_KEX_DH_GEX_REQUEST = 34

GEX_MIN = 2048  # RFC 8270 §3
GEX_PREFERRED = 3072
GEX_MAX = 8192

GroupChooser = Callable[[int, int, int], "tuple[int, int] | None"]


def builtin_group(minimum: int, preferred: int, maximum: int) -> tuple[int, int] | None:
    """The smallest built-in MODP group of at least ``preferred`` bits within the bounds."""
    sizes = [b for b in BUILTIN_SIZES if minimum <= b <= maximum and b >= 2048]
    if not sizes:
        return None
    fitting = [b for b in sizes if b >= preferred] or sizes[-1:]
    return modp_prime(fitting[0]), GENERATOR


class GexClient(ClientExchange):
    def __init__(
        self,
        inputs: KexInputs,
        rng: Rng,
        hash_name: str,
        bounds: tuple[int, int, int] = (GEX_MIN, GEX_PREFERRED, GEX_MAX),
        old_style: bool = False,
    ) -> None:
        super().__init__(inputs, rng)
        self.hash_name = hash_name
        self.bounds = bounds
        # RFC 4419 §5: the obsolete request carries only the preferred size (old peers)
        self.old_style = old_style
        self._p = 0
        self._g = 0
        self._x = 0
        self._e = b""

    def start(self) -> bytes:
        if self.old_style:
            return wire.byte(MSG_KEX_DH_GEX_REQUEST_OLD) + wire.uint32(self.bounds[1])
        return wire.byte(MSG_KEX_DH_GEX_REQUEST) + b"".join(wire.uint32(v) for v in self.bounds)

    def receive(self, msg_type: int, body: wire.Reader) -> bytes | KexOutput:
        if not self._p:
            expect(msg_type, MSG_KEX_DH_GEX_GROUP, "the group exchange group")
            p, g = body.positive_mpint(), body.positive_mpint()
            body.check_end()
            minimum, _, maximum = self.bounds
            if not minimum <= p.bit_length() <= maximum:
                raise KexFailed(f"server offered a {p.bit_length()}-bit group, outside our bounds")
            if not 1 < g < p - 1:
                raise KexFailed("server offered an invalid group generator")
            self._p, self._g = p, g
            self._x = private_exponent(self.rng, p)
            self._e = wire.mpint(pow(g, self._x, p))
            return wire.byte(MSG_KEX_DH_GEX_INIT) + self._e
        expect(msg_type, MSG_KEX_DH_GEX_REPLY, "the group exchange reply")
        host_key = body.string()
        f = body.positive_mpint()
        signature = body.string()
        body.check_end()
        check_public(f, self._p)
        k = wire.mpint(pow(f, self._x, self._p))
        fields = _gex_fields(self.bounds, self._p, self._g, self.old_style)
        h = exchange_hash(self.hash_name, self.inputs, host_key, fields, self._e, wire.mpint(f), k)
        return KexOutput(k, h, host_key, signature, self.hash_name)


def _gex_fields(bounds: tuple[int, int, int], p: int, g: int, old_style: bool) -> bytes:
    """The hashed request sizes and group: min ‖ n ‖ max (RFC 4419 §3), or only n after an
    old-style request (as OpenSSH hashes it), then p ‖ g."""
    sizes = bounds[1:2] if old_style else bounds
    return b"".join(wire.uint32(v) for v in sizes) + wire.mpint(p) + wire.mpint(g)


class GexServer(ServerExchange):
    def __init__(
        self,
        inputs: KexInputs,
        rng: Rng,
        host_key: bytes,
        sign: Signer,
        hash_name: str,
        choose: GroupChooser = builtin_group,
    ) -> None:
        super().__init__(inputs, rng, host_key, sign)
        self.hash_name = hash_name
        self.choose = choose
        self._bounds: tuple[int, int, int] | None = None
        self._old_style = False
        self._p = 0
        self._g = 0

    def receive(self, msg_type: int, body: wire.Reader) -> tuple[bytes, KexOutput | None]:
        if self._bounds is None:
            if msg_type == MSG_KEX_DH_GEX_REQUEST_OLD:
                n = body.uint32()
                bounds = (n, n, n)
                self._old_style = True
            else:
                expect(msg_type, MSG_KEX_DH_GEX_REQUEST, "the group exchange request")
                bounds = (body.uint32(), body.uint32(), body.uint32())
            body.check_end()
            minimum, preferred, maximum = bounds
            if not minimum <= preferred <= maximum or maximum < 1024:
                raise KexFailed(f"invalid group exchange request {bounds}")
            group = self.choose(max(minimum, 2048), preferred, maximum)
            if group is None:
                raise KexFailed(f"no group fits the request {bounds}")
            self._bounds = bounds
            self._p, self._g = group
            reply = wire.byte(MSG_KEX_DH_GEX_GROUP) + wire.mpint(self._p) + wire.mpint(self._g)
            return reply, None
        expect(msg_type, MSG_KEX_DH_GEX_INIT, "the group exchange init")
        e = body.positive_mpint()
        body.check_end()
        check_public(e, self._p)
        y = private_exponent(self.rng, self._p)
        f = wire.mpint(pow(self._g, y, self._p))
        k = wire.mpint(pow(e, y, self._p))
        fields = _gex_fields(self._bounds, self._p, self._g, self._old_style)
        h = exchange_hash(self.hash_name, self.inputs, self.host_key, fields, wire.mpint(e), f, k)
        signature = self.sign(h)
        reply = b"".join(
            (wire.byte(MSG_KEX_DH_GEX_REPLY), wire.string(self.host_key), f, wire.string(signature))
        )
        return reply, KexOutput(k, h, self.host_key, signature, self.hash_name)

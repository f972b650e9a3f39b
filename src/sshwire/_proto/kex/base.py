"""The shape shared by every key exchange method, and the exchange hash (RFC 4253 §8).

A method runs as a small state machine per side. The client side is started with
:meth:`ClientExchange.start` (the first payload to send) and fed each kex-range message the
server sends; it returns the next payload or, at the end, a :class:`KexOutput`. The server
side is fed the client's messages and returns replies, the last one with the output. The host
key signature is produced by the server side (through the ``sign`` callable it is given) and
checked by the connection, not here.

Every single-round method (ECDH, X25519, fixed-group DH, the ML-KEM hybrid) only differs in
how it makes its ephemeral public value and combines the peer's into the shared secret; those
values travel as already-encoded fields (a ``string`` or an ``mpint``), which are hashed exactly
as they were sent.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import wire
from ..constants import DISCONNECT_KEY_EXCHANGE_FAILED
from ..errors import ProtocolError

Rng = Callable[[int], bytes]
Signer = Callable[[bytes], bytes]  # exchange hash -> signature blob

MSG_KEX_ECDH_INIT = 30  # also KEXDH_INIT and the hybrid INIT
MSG_KEX_ECDH_REPLY = 31  # also KEXDH_REPLY and the hybrid REPLY


class KexFailed(ProtocolError):
    """The key exchange cannot complete (bad peer value, wrong message)."""

    reason = DISCONNECT_KEY_EXCHANGE_FAILED


@dataclass(frozen=True)
class KexInputs:
    """What both sides hash besides the method's own values (RFC 4253 §8)."""

    v_c: bytes  # client identification string, without CR LF
    v_s: bytes
    i_c: bytes  # payload of the client's KEXINIT
    i_s: bytes


@dataclass(frozen=True)
class KexOutput:
    """The result of one exchange: what key derivation and host key checking need."""

    k: bytes  # the shared secret K, encoded as it is hashed (mpint or string)
    h: bytes  # the exchange hash H
    host_key: bytes  # K_S
    signature: bytes  # the signature blob over H (client side: still to be verified)
    hash_name: str


class ClientExchange(ABC):
    def __init__(self, inputs: KexInputs, rng: Rng) -> None:
        self.inputs = inputs
        self.rng = rng

    @abstractmethod
    def start(self) -> bytes: ...

    @abstractmethod
    def receive(self, msg_type: int, body: wire.Reader) -> bytes | KexOutput: ...


class ServerExchange(ABC):
    def __init__(self, inputs: KexInputs, rng: Rng, host_key: bytes, sign: Signer) -> None:
        self.inputs = inputs
        self.rng = rng
        self.host_key = host_key
        self.sign = sign

    @abstractmethod
    def receive(self, msg_type: int, body: wire.Reader) -> tuple[bytes, KexOutput | None]: ...


def exchange_hash(hash_name: str, inputs: KexInputs, host_key: bytes, *fields: bytes) -> bytes:
    """H = HASH(V_C ‖ V_S ‖ I_C ‖ I_S ‖ K_S ‖ method fields ‖ K), fields already encoded."""
    h = hashlib.new(hash_name)
    for value in (inputs.v_c, inputs.v_s, inputs.i_c, inputs.i_s, host_key):
        h.update(wire.string(value))
    for field in fields:
        h.update(field)
    return h.digest()


def expect(msg_type: int, wanted: int, what: str) -> None:
    if msg_type != wanted:
        raise KexFailed(f"expected {what} (message {wanted}), got message {msg_type}")


class SingleRound:
    """A method with one client value and one server reply (ECDH-like).

    Subclasses implement :meth:`keypair` (our encoded public field plus a private state),
    :meth:`combine` (the encoded K from our private state and the peer's encoded field) and,
    for methods where the server does not simply mirror the client (ML-KEM), :meth:`respond`.
    """

    hash_name = "sha256"

    def __init__(self, rng: Rng) -> None:
        self.rng = rng

    def keypair(self) -> tuple[Any, bytes]:
        raise NotImplementedError

    def combine(self, private: Any, peer: wire.Reader) -> tuple[bytes, bytes]:
        """Read the peer's field: (the field as encoded, the encoded K)."""
        raise NotImplementedError

    def respond(self, client: wire.Reader) -> tuple[bytes, bytes, bytes]:
        """Server side: (our encoded field, the client's encoded field, encoded K)."""
        private, ours = self.keypair()
        theirs, k = self.combine(private, client)
        return ours, theirs, k


class SingleRoundClient(ClientExchange):
    def __init__(self, method: SingleRound, inputs: KexInputs, rng: Rng) -> None:
        super().__init__(inputs, rng)
        self.method = method
        self._private: Any = None
        self._ours = b""

    def start(self) -> bytes:
        self._private, self._ours = self.method.keypair()
        return wire.byte(MSG_KEX_ECDH_INIT) + self._ours

    def receive(self, msg_type: int, body: wire.Reader) -> bytes | KexOutput:
        expect(msg_type, MSG_KEX_ECDH_REPLY, "the key exchange reply")
        host_key = body.string()
        server_field, k = self.method.combine(self._private, body)
        signature = body.string()
        body.check_end()
        name = self.method.hash_name
        h = exchange_hash(name, self.inputs, host_key, self._ours, server_field, k)
        return KexOutput(k, h, host_key, signature, name)


class SingleRoundServer(ServerExchange):
    def __init__(
        self, method: SingleRound, inputs: KexInputs, rng: Rng, host_key: bytes, sign: Signer
    ) -> None:
        super().__init__(inputs, rng, host_key, sign)
        self.method = method

    def receive(self, msg_type: int, body: wire.Reader) -> tuple[bytes, KexOutput | None]:
        expect(msg_type, MSG_KEX_ECDH_INIT, "the key exchange init")
        ours, client_field, k = self.method.respond(body)
        body.check_end()
        name = self.method.hash_name
        h = exchange_hash(name, self.inputs, self.host_key, client_field, ours, k)
        signature = self.sign(h)
        reply = b"".join(
            (
                wire.byte(MSG_KEX_ECDH_REPLY),
                wire.string(self.host_key),
                ours,
                wire.string(signature),
            )
        )
        return reply, KexOutput(k, h, self.host_key, signature, name)

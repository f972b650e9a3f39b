"""Key exchange objects in paramiko's shape, run by sshwire's sans-IO kex engines.

Theory of operation
-------------------
paramiko's ``Transport`` picks a kex class by name, builds it with the transport
(``KexX(transport)``), calls ``start_kex()`` once and then ``parse_next(ptype, message)``
for each kex-range message (RFC 4253 §7-8) until the method ends by calling back into the
transport. The classes of ``sshwire.kex_*`` keep that shape, but the exchange itself -- key
pairs, peer-value checks, the exchange hash H -- is done by the engines in
:mod:`sshwire._proto.kex` that sshwire's own transport runs. sshwire's ``Transport`` does not
use these classes (its core negotiates on its own); they exist for code that drives a
paramiko-style transport, and they talk to it only through the hooks such a transport offers:

* attributes ``server_mode``, ``local_version``, ``remote_version`` (text),
  ``local_kex_init``, ``remote_kex_init`` (KEXINIT payloads) and ``host_key_type``;
* ``_send_message(msg)``, ``_expect_packet(*types)``, ``_set_K_H(K, H)``,
  ``_verify_key(host_key_blob, signature_blob)``, ``_activate_outbound()``;
* server side: ``get_server_key()`` and, for group exchange, ``_get_modulus_pack()``.

``K`` is handed over as paramiko expects it: an ``int`` for methods whose shared secret is an
mpint, ``bytes`` for the ML-KEM hybrid (whose K is a string). Errors from a bad peer value or
an unexpected message raise :class:`~sshwire.ssh_exception.SSHException`.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from typing import Any

from . import util
from ._proto import wire
from ._proto.kex.base import (
    KexInputs,
    KexOutput,
    SingleRound,
    SingleRoundClient,
    SingleRoundServer,
)
from .message import Message
from .ssh_exception import SSHException

HashAlgo = Callable[..., Any]


def hash_name(hash_algo: HashAlgo) -> str:
    """``hashlib.sha256`` -> ``"sha256"`` (the name the engines take)."""
    name: str = hash_algo().name
    return name


def exchange_inputs(transport: Any) -> KexInputs:
    """V_C, V_S, I_C, I_S (RFC 4253 §8) from a paramiko-style transport, by role."""
    local = (util.b(transport.local_version), bytes(util.asbytes(transport.local_kex_init)))
    remote = (util.b(transport.remote_version), bytes(util.asbytes(transport.remote_kex_init)))
    client, server = (remote, local) if transport.server_mode else (local, remote)
    return KexInputs(v_c=client[0], v_s=server[0], i_c=client[1], i_s=server[1])


def message_body(m: Any) -> wire.Reader:
    """The unread rest of a kex message (its type byte already taken off)."""
    return wire.Reader(bytes(m.get_remainder()))


def signer(transport: Any) -> tuple[bytes, Callable[[bytes], bytes]]:
    """The server's host key blob and a function signing H with it."""
    key = transport.get_server_key()
    if key is None:
        raise SSHException("no host key to sign the key exchange with")

    def sign(h: bytes) -> bytes:
        return bytes(util.asbytes(key.sign_ssh_data(h, transport.host_key_type)))

    return bytes(key.asbytes()), sign


def shared_secret(out: KexOutput, as_string: bool) -> int | bytes:
    """K as paramiko's transport stores it: the mpint's value, or the string's bytes."""
    reader = wire.Reader(out.k)
    return reader.string() if as_string else reader.mpint()


def finish_client(transport: Any, out: KexOutput, as_string: bool = False) -> None:
    """Client: hand K and H over, check the host key's signature, send NEWKEYS."""
    transport._set_K_H(shared_secret(out, as_string), out.h)
    transport._verify_key(out.host_key, out.signature)
    transport._activate_outbound()


class SingleRoundKex:
    """A one-round method (client INIT, server REPLY: messages 30 and 31)."""

    hash_algo: HashAlgo = hashlib.sha256
    _INIT = 30
    _REPLY = 31
    _K_IS_STRING = False

    def __init__(self, transport: Any) -> None:
        self.transport = transport
        self._client: SingleRoundClient | None = None

    def _method(self) -> SingleRound:
        raise NotImplementedError

    def start_kex(self) -> None:
        """Client: send our public value and wait for the reply; server: wait for it."""
        t = self.transport
        if t.server_mode:
            t._expect_packet(self._INIT)
            return
        self._client = SingleRoundClient(self._method(), exchange_inputs(t), os.urandom)
        t._send_message(Message(self._client.start()))
        t._expect_packet(self._REPLY)

    def parse_next(self, ptype: int, m: Any) -> None:
        """Handle the peer's INIT (server) or REPLY (client); anything else is an error."""
        t = self.transport
        if t.server_mode and ptype == self._INIT:
            host_key, sign = signer(t)
            server = SingleRoundServer(
                self._method(), exchange_inputs(t), os.urandom, host_key, sign
            )
            reply, out = server.receive(ptype, message_body(m))
            assert out is not None
            t._set_K_H(shared_secret(out, self._K_IS_STRING), out.h)
            t._send_message(Message(reply))
            t._activate_outbound()
            return
        if not t.server_mode and ptype == self._REPLY and self._client is not None:
            result = self._client.receive(ptype, message_body(m))
            assert isinstance(result, KexOutput)
            finish_client(t, result, self._K_IS_STRING)
            return
        raise SSHException(f"{type(self).__name__} asked to handle packet type {ptype:d}")

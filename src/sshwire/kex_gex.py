"""diffie-hellman-group-exchange-sha256 (RFC 4419, RFC 8270) as paramiko's ``KexGexSHA256``.

A thin face over sshwire's group-exchange engines (:mod:`sshwire._proto.kex.gex`) for code
that drives a paramiko-style transport; see :mod:`sshwire._kex_adapter` for the transport
hooks it uses. As a client it asks for ``min_bits`` ≤ ``preferred_bits`` ≤ ``max_bits`` and
refuses a group outside those bounds; as a server it takes its primes from the transport's
modulus pack (:class:`~sshwire.primes.ModulusPack`).
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from ._kex_adapter import (
    exchange_inputs,
    finish_client,
    hash_name,
    message_body,
    shared_secret,
    signer,
)
from ._proto.kex.base import KexOutput
from ._proto.kex.gex import (
    MSG_KEX_DH_GEX_GROUP,
    MSG_KEX_DH_GEX_INIT,
    MSG_KEX_DH_GEX_REPLY,
    MSG_KEX_DH_GEX_REQUEST,
    MSG_KEX_DH_GEX_REQUEST_OLD,
    GexClient,
    GexServer,
)
from .common import byte_chr
from .message import Message
from .ssh_exception import SSHException

__all__ = [
    "KexGexSHA256",
    "c_MSG_KEXDH_GEX_GROUP",
    "c_MSG_KEXDH_GEX_INIT",
    "c_MSG_KEXDH_GEX_REPLY",
    "c_MSG_KEXDH_GEX_REQUEST",
    "c_MSG_KEXDH_GEX_REQUEST_OLD",
]

# RFC 4419 §5
c_MSG_KEXDH_GEX_REQUEST_OLD = byte_chr(MSG_KEX_DH_GEX_REQUEST_OLD)
c_MSG_KEXDH_GEX_GROUP = byte_chr(MSG_KEX_DH_GEX_GROUP)
c_MSG_KEXDH_GEX_INIT = byte_chr(MSG_KEX_DH_GEX_INIT)
c_MSG_KEXDH_GEX_REPLY = byte_chr(MSG_KEX_DH_GEX_REPLY)
c_MSG_KEXDH_GEX_REQUEST = byte_chr(MSG_KEX_DH_GEX_REQUEST)


class KexGexSHA256:
    """``diffie-hellman-group-exchange-sha256``: a server-chosen group, hashed with SHA-256."""

    name = "diffie-hellman-group-exchange-sha256"
    min_bits = 2048
    max_bits = 8192
    preferred_bits = 2048
    hash_algo = hashlib.sha256

    def __init__(self, transport: Any) -> None:
        self.transport = transport
        #: the group in use (set once it is known)
        self.p: int | None = None
        self.g: int | None = None
        #: True after an old-style request (only the preferred size, RFC 4419 §5)
        self.old_style = False
        self._client: GexClient | None = None
        self._server: GexServer | None = None

    def start_kex(self, _test_old_style: bool = False) -> None:
        """Client: send the size request (the obsolete one-size form if *_test_old_style*);
        server: wait for a request of either form."""
        t = self.transport
        if t.server_mode:
            t._expect_packet(MSG_KEX_DH_GEX_REQUEST, MSG_KEX_DH_GEX_REQUEST_OLD)
            return
        self.old_style = _test_old_style
        bounds = (self.min_bits, self.preferred_bits, self.max_bits)
        self._client = GexClient(
            exchange_inputs(t), os.urandom, hash_name(type(self).hash_algo), bounds, _test_old_style
        )
        t._send_message(Message(self._client.start()))
        t._expect_packet(MSG_KEX_DH_GEX_GROUP)

    def parse_next(self, ptype: int, m: Any) -> None:
        """Handle the next group-exchange message for our role."""
        t = self.transport
        if t.server_mode:
            self._server_step(ptype, m)
        elif self._client is not None and ptype in (MSG_KEX_DH_GEX_GROUP, MSG_KEX_DH_GEX_REPLY):
            result = self._client.receive(ptype, message_body(m))
            if isinstance(result, KexOutput):
                finish_client(t, result)
                return
            self.p, self.g = self._client._p, self._client._g
            t._send_message(Message(result))
            t._expect_packet(MSG_KEX_DH_GEX_REPLY)
        else:
            raise SSHException(f"KexGex {self.name} asked to handle packet type {ptype:d}")

    def _server_step(self, ptype: int, m: Any) -> None:
        t = self.transport
        if self._server is None:
            if ptype not in (MSG_KEX_DH_GEX_REQUEST, MSG_KEX_DH_GEX_REQUEST_OLD):
                raise SSHException(f"KexGex {self.name} asked to handle packet type {ptype:d}")
            getter = getattr(t, "_get_modulus_pack", None)
            pack = getter() if getter is not None else None
            if pack is None:
                raise SSHException("Can't do server-side gex with no modulus pack")

            def choose(minimum: int, preferred: int, maximum: int) -> tuple[int, int]:
                g, p = pack.get_modulus(minimum, preferred, maximum)
                return p, g

            host_key, sign = signer(t)
            self._server = GexServer(
                exchange_inputs(t),
                os.urandom,
                host_key,
                sign,
                hash_name(type(self).hash_algo),
                choose,
            )
            self.old_style = ptype == MSG_KEX_DH_GEX_REQUEST_OLD
            reply, _ = self._server.receive(ptype, message_body(m))
            self.p, self.g = self._server._p, self._server._g
            t._send_message(Message(reply))
            t._expect_packet(MSG_KEX_DH_GEX_INIT)
            return
        if ptype != MSG_KEX_DH_GEX_INIT:
            raise SSHException(f"KexGex {self.name} asked to handle packet type {ptype:d}")
        reply, out = self._server.receive(ptype, message_body(m))
        assert out is not None
        t._set_K_H(shared_secret(out, False), out.h)
        t._send_message(Message(reply))
        t._activate_outbound()

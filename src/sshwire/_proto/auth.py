"""Server side of user authentication (RFC 4252, RFC 4256), sans-IO.

Theory of operation
-------------------
:class:`ServerAuth` belongs to a server-role connection. It parses USERAUTH_REQUEST and
USERAUTH_INFO_RESPONSE into :class:`~sshwire._proto.events.AuthRequested` /
:class:`~sshwire._proto.events.AuthInfoResponse` events and never decides anything itself:
the shell asks ``ServerInterface`` and answers with :meth:`accept`, :meth:`reject`,
:meth:`pk_ok` or :meth:`info_request`. For publickey requests that carry a signature, the
signature is checked here (RFC 4252 §7: over the session id and the request up to the
signature) against the offered key, so the shell only sees whether it verified.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from . import constants as c
from . import events as ev
from . import wire
from .algorithms.hostkey import HOSTKEY_ALGORITHMS, PublicKey
from .errors import DecodeError, ProtocolError

MAX_PROMPTS = 64
MAX_RESPONSES = 64


class ServerAuth:
    def __init__(self, send: Callable[[bytes], None], pubkey_algorithms: Sequence[str]) -> None:
        self._send = send
        self._pubkey_algorithms = frozenset(pubkey_algorithms)
        self.in_progress: str | None = None  # method of the request being answered
        self.info_pending = False  # keyboard-interactive: INFO_REQUEST sent, awaiting reply

    def handle(
        self, msg: int, payload: bytes, body: wire.Reader, session_id: bytes, events: list[ev.Event]
    ) -> None:
        if msg == c.MSG_USERAUTH_REQUEST:
            self._request(payload, body, session_id, events)
        elif msg == c.MSG_USERAUTH_INFO_RESPONSE and self.info_pending:
            self.info_pending = False
            count = body.uint32()
            if count > MAX_RESPONSES:
                raise ProtocolError(f"keyboard-interactive response with {count} answers")
            events.append(ev.AuthInfoResponse([body.text() for _ in range(count)]))
        else:
            raise ProtocolError(f"unexpected user auth message {msg} from a client")

    def _request(
        self, payload: bytes, body: wire.Reader, session_id: bytes, events: list[ev.Event]
    ) -> None:
        username = body.text()
        service = body.text()
        method = body.text()
        self.in_progress = method
        self.info_pending = False
        request = ev.AuthRequested(username, service, method)
        if method == "password":
            change = body.boolean()
            request.password = body.text()
            if change:
                request.new_password = body.text()
        elif method == "publickey":
            has_signature = body.boolean()
            request.key_algorithm = body.text()
            request.key_blob = body.string()
            signed_end = body.position
            request.has_signature = has_signature
            if has_signature:
                signature = body.string()
                data = wire.string(session_id) + payload[:signed_end]
                request.signature_valid = self._verify(
                    request.key_algorithm, request.key_blob, signature, data
                )
        elif method == "keyboard-interactive":
            body.text()  # language tag (deprecated)
            request.submethods = body.text()
        events.append(request)

    def _verify(self, algorithm: str, blob: bytes, signature: bytes, data: bytes) -> bool:
        if algorithm not in self._pubkey_algorithms or algorithm not in HOSTKEY_ALGORITHMS:
            return False
        try:
            key = PublicKey.from_blob(blob)
        except DecodeError:
            return False
        if algorithm not in key.algorithms:
            return False
        # a certificate algorithm for a certificate: verify() checks the certified key's
        # signature (whose blob names the plain algorithm)
        return key.verify(algorithm, signature, data)

    # ---------------------------------------------------------------- answers

    def accept(self) -> None:
        self.in_progress = None
        self._send(wire.byte(c.MSG_USERAUTH_SUCCESS))

    def reject(self, methods: Sequence[str], partial: bool = False) -> None:
        self.in_progress = None
        self.info_pending = False
        self._send(
            wire.byte(c.MSG_USERAUTH_FAILURE) + wire.name_list(methods) + wire.boolean(partial)
        )

    def pk_ok(self, algorithm: str, blob: bytes) -> None:
        self.in_progress = None
        self._send(wire.byte(c.MSG_USERAUTH_PK_OK) + wire.string(algorithm) + wire.string(blob))

    def info_request(
        self, name: str, instruction: str, prompts: Sequence[tuple[str, bool]]
    ) -> None:
        if len(prompts) > MAX_PROMPTS:
            raise ValueError(f"at most {MAX_PROMPTS} prompts")
        self.info_pending = True
        self._send(
            b"".join(
                (
                    wire.byte(c.MSG_USERAUTH_INFO_REQUEST),
                    wire.string(name),
                    wire.string(instruction),
                    wire.string(""),
                    wire.uint32(len(prompts)),
                    *(wire.string(p) + wire.boolean(echo) for p, echo in prompts),
                )
            )
        )

    def banner(self, message: str, language: str = "") -> None:
        self._send(wire.byte(c.MSG_USERAUTH_BANNER) + wire.string(message) + wire.string(language))

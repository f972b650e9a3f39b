"""paramiko's ``AuthHandler`` and ``AuthOnlyHandler``: client authentication objects.

Theory of operation
-------------------
In sshwire user authentication (RFC 4252) is run by the transport itself
(:mod:`sshwire._client_auth`, over the sans-IO core). These classes keep paramiko's handler
API on top of it, for code that creates a handler and drives it directly:

* :class:`AuthHandler` has paramiko's event-style calls: ``auth_password(username, password,
  event)`` and so on, then ``wait_for_response(event)``, which returns ``[]`` on success or
  the methods still wanted after a partial success, and raises otherwise
  (:class:`~sshwire.ssh_exception.BadAuthenticationType`,
  :class:`~sshwire.ssh_exception.AuthenticationException`). Each ``auth_*`` call runs the
  request to its answer before it returns (``event`` is set by then), so a
  keyboard-interactive handler is called in the caller's thread.
* :class:`AuthOnlyHandler` (used by
  :class:`~sshwire.transport.ServiceRequestingTransport`) sends one USERAUTH_REQUEST per call
  and returns the outcome at once; :meth:`AuthOnlyHandler.send_auth_request` lets a caller add
  the method-specific fields itself.

Both go through the transport's core with the same locks and deadlines as
``Transport.auth_*`` (``Transport.auth_timeout`` bounds every wait).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from . import util
from ._client_auth import ClientAuth, _plain
from ._proto import events as ev
from ._proto import wire
from ._proto.constants import MSG_USERAUTH_REQUEST
from .common import cMSG_USERAUTH_REQUEST
from .message import Message
from .ssh_exception import AuthenticationException, SSHException

if TYPE_CHECKING:
    from .pkey import PKey

__all__ = ["AuthHandler", "AuthOnlyHandler"]

InteractiveHandler = Callable[[str, str, list[tuple[str, bool]]], Sequence[str]]
_SERVICE = "ssh-connection"  # RFC 4252 §5: the service to start once authenticated
_MAX_INFO_ROUNDS = 64  # keyboard-interactive INFO_REQUEST rounds answered per request


class AuthHandler:
    """Authenticates the client side of *transport* (paramiko's handler API).

    Attributes as in paramiko: ``username``, ``auth_method``, ``auth_event``, ``authenticated``,
    ``password``, ``private_key``, ``interactive_handler``, ``submethods``, ``banner``,
    ``auth_username`` and ``auth_fail_count`` (the last two describe the server side).
    """

    def __init__(self, transport: Any) -> None:
        # a proxy, as in paramiko: the handler does not keep its transport alive
        self.transport: Any = weakref.proxy(transport)
        self.username: str | None = None
        self.authenticated = False
        self.auth_event: threading.Event | None = None
        self.auth_method = ""
        self.banner: str | None = None
        self.password: str | None = None
        self.private_key: PKey | None = None
        self.interactive_handler: InteractiveHandler | None = None
        self.submethods: str | None = None
        self.auth_username: str | None = None
        self.auth_fail_count = 0
        self._outcome: list[str] | BaseException | None = None

    def _log(self, *args: Any) -> None:
        self.transport._log(*args)

    def is_authenticated(self) -> bool:
        """True once a request made through this handler succeeded (on a server-mode
        transport: once the client is authenticated)."""
        if self.transport.server_mode:
            return bool(self.transport.is_authenticated())
        return self.authenticated

    def get_username(self) -> str | None:
        """The user authenticated (server mode), or the one last asked for (client mode)."""
        if self.transport.server_mode:
            name: str | None = self.transport.get_username()
            return name
        return self.username

    # ------------------------------------------------------------------------ requests

    def _run(
        self, event: threading.Event, method: str, username: str, call: Callable[[], Any]
    ) -> None:
        """Run one request to its answer; keep the outcome for wait_for_response."""
        self.auth_event = event
        self.auth_method = method
        self.username = username
        self._outcome = None
        try:
            allowed = list(call())
        except Exception as exc:  # kept for wait_for_response, as paramiko keeps it
            self._outcome = exc
        else:
            self._outcome = allowed
            self.authenticated = not allowed
        finally:
            self.banner = self._transport_banner()
            event.set()

    def _transport_banner(self) -> str | None:
        banner = self.transport.get_banner()
        return None if banner is None else util.u(banner)

    def auth_none(self, username: str, event: threading.Event) -> None:
        """Try the ``none`` method (RFC 4252 §5.2); the answer is ready when *event* is set."""
        t = self.transport
        self._run(event, "none", username, lambda: ClientAuth.auth_none(t, username))

    def auth_publickey(self, username: str, key: PKey, event: threading.Event) -> None:
        """Sign in with *key* (RFC 4252 §7); the answer is ready when *event* is set."""
        t = self.transport
        self.private_key = key
        self._run(event, "publickey", username, lambda: ClientAuth.auth_publickey(t, username, key))

    def auth_password(self, username: str, password: str, event: threading.Event) -> None:
        """Sign in with *password* (RFC 4252 §8), with no keyboard-interactive fallback."""
        t = self.transport
        self.password = password

        def call() -> list[str]:
            result: list[str] = ClientAuth.auth_password(t, username, password, fallback=False)
            return result

        self._run(event, "password", username, call)

    def auth_interactive(
        self,
        username: str,
        handler: InteractiveHandler,
        event: threading.Event,
        submethods: str = "",
    ) -> None:
        """Keyboard-interactive auth (RFC 4256): ``handler(title, instructions, prompts)``
        answers each round with one response per ``(prompt, echo)`` pair."""
        t = self.transport
        self.interactive_handler = handler
        self.submethods = submethods
        self._run(
            event,
            "keyboard-interactive",
            username,
            lambda: ClientAuth.auth_interactive(t, username, handler, submethods),
        )

    def abort(self) -> None:
        """Wake whoever waits on the current request's event."""
        if self.auth_event is not None:
            self.auth_event.set()

    def wait_for_response(self, event: threading.Event) -> list[str]:
        """Wait for *event*, then return ``[]`` (authenticated) or the methods the server
        still wants after a partial success; raise the request's error otherwise.

        Gives up with :class:`~sshwire.ssh_exception.AuthenticationException` after the
        transport's ``auth_timeout``, or at once if the transport dies.
        """
        timeout = getattr(self.transport, "auth_timeout", None)
        deadline = None if timeout is None else time.monotonic() + timeout
        while not event.is_set():  # each round waits up to 0.1 s, bounded by the deadline
            if not self.transport.is_active():
                exc = self.transport.get_exception()
                if exc is None or isinstance(exc, EOFError):
                    exc = AuthenticationException(
                        "Authentication failed: transport shut down or saw EOF"
                    )
                raise exc
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise AuthenticationException("Authentication timeout.")
            event.wait(0.1 if remaining is None else min(0.1, remaining))
        outcome = self._outcome
        if isinstance(outcome, BaseException):
            raise outcome
        if outcome is None:  # aborted before any answer
            exc = self.transport.get_exception()
            raise exc if exc is not None else AuthenticationException("Authentication failed.")
        return outcome


class AuthOnlyHandler(AuthHandler):
    """Authentication without the service request (the transport has made it already):
    each call sends one USERAUTH_REQUEST and returns its outcome."""

    def send_auth_request(
        self,
        username: str,
        method: str,
        finish_message: Callable[[Message], Any] | None = None,
    ) -> list[str]:
        """Send USERAUTH_REQUEST for *method* and return the outcome (see
        :meth:`AuthHandler.wait_for_response`).

        The request starts with ``byte 50, string username, string "ssh-connection", string
        method`` (RFC 4252 §5); *finish_message*, if given, is called with that
        :class:`~sshwire.message.Message` to append the method's own fields.
        """
        self.auth_method = method
        self.username = username
        m = Message()
        m.add_byte(cMSG_USERAUTH_REQUEST)
        m.add_string(username)
        m.add_string(_SERVICE)
        m.add_string(method)
        head = len(m.asbytes())
        if finish_message is not None:
            finish_message(m)
        fields = m.asbytes()[head:]
        t = self.transport
        event = threading.Event()

        def call() -> list[str]:
            result = t._auth(lambda core: core._userauth_request(username, method, fields))
            for _ in range(_MAX_INFO_ROUNDS):
                if not isinstance(result, ev.AuthInfoRequest) or self.interactive_handler is None:
                    break
                answers = list(
                    self.interactive_handler(result.name, result.instruction, result.prompts)
                )
                result = t._auth(lambda core, a=answers: core.auth_info_response(a))
            outcome: list[str] = t._auth_outcome(method, result, username)
            return outcome

        self._run(event, method, username, call)
        return self.wait_for_response(event)

    def auth_none(self, username: str) -> list[str]:  # type: ignore[override]
        """Try the ``none`` method."""
        self.interactive_handler = None
        return self.send_auth_request(username, "none")

    def auth_publickey(self, username: str, key: PKey) -> list[str]:  # type: ignore[override]
        """Sign in with *key*: one signed publickey request (RFC 4252 §7)."""
        t = self.transport
        self.private_key = key
        self.interactive_handler = None
        t._ensure_userauth_service()  # its EXT_INFO (server-sig-algs) picks the algorithm
        algorithm: str = t._pubkey_algorithm(key)
        cert = getattr(key, "public_blob", None)
        blob = cert.key_blob if cert is not None else key.asbytes()
        session_id = t.session_id
        if session_id is None:
            raise SSHException("No existing session")
        signed = b"".join(
            (
                wire.string(session_id),
                wire.byte(MSG_USERAUTH_REQUEST),
                wire.string(username),
                wire.string(_SERVICE),
                wire.string("publickey"),
                wire.boolean(True),
                wire.string(algorithm),
                wire.string(blob),
            )
        )

        def finish(m: Message) -> None:
            m.add_boolean(True)
            m.add_string(algorithm)
            m.add_string(blob)
            m.add_string(util.asbytes(key.sign_ssh_data(signed, _plain(algorithm))))

        return self.send_auth_request(username, "publickey", finish)

    def auth_password(self, username: str, password: str) -> list[str]:  # type: ignore[override]
        """Sign in with *password* (RFC 4252 §8)."""
        self.password = password
        self.interactive_handler = None

        def finish(m: Message) -> None:
            m.add_boolean(False)  # not a password change
            m.add_string(util.b(password))

        return self.send_auth_request(username, "password", finish)

    def auth_interactive(  # type: ignore[override]
        self, username: str, handler: InteractiveHandler, submethods: str = ""
    ) -> list[str]:
        """Keyboard-interactive auth (RFC 4256 §3.1), answering each round with *handler*."""
        self.interactive_handler = handler
        self.submethods = submethods

        def finish(m: Message) -> None:
            m.add_string("")  # language tag (deprecated)
            m.add_string(submethods)

        return self.send_auth_request(username, "keyboard-interactive", finish)

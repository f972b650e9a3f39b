"""Client-side user authentication for :class:`~sshwire.transport.Transport`.

:class:`ClientAuth` is mixed into ``Transport`` (kept apart to keep modules short). Each
``auth_*`` method makes sure the ``ssh-userauth`` service is accepted (by then the server's
EXT_INFO has arrived), sends one request through the core and waits for its answer, with
paramiko's return values and exceptions: ``[]`` on success, the further methods on partial
success, ``BadAuthenticationType`` when the method is not allowed, ``AuthenticationException``
otherwise.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from . import util
from ._proto import events as ev
from ._proto.connection import Connection
from .ssh_exception import AuthenticationException, BadAuthenticationType, SSHException

if TYPE_CHECKING:
    from .pkey import PKey

InteractiveHandler = Callable[[str, str, list[tuple[str, bool]]], Sequence[str]]


class ClientAuth:
    """Transport methods for authenticating as a client."""

    _auth_result: ev.Event | None
    auth_username: str | None

    # -------------------------------------------------------------------- client auth

    def connect(
        self: Any,
        hostkey: PKey | None = None,
        username: str = "",
        password: str | None = None,
        pkey: PKey | None = None,
    ) -> None:
        """Negotiate, check the host key against ``hostkey`` and authenticate."""
        from .transport import _key_type_for_alg

        if hostkey is not None:
            self._preferred_keys = (
                tuple(a for a in self._preferred_keys if _key_type_for_alg(a) == hostkey.get_name())
                or self._preferred_keys
            )
        self.start_client(timeout=self.handshake_timeout + self.banner_timeout)
        if hostkey is not None:
            key = self.get_remote_server_key()
            if key.get_name() != hostkey.get_name() or key.asbytes() != hostkey.asbytes():
                self._log(logging.DEBUG, "host key mismatch")
                raise SSHException("Bad host key from server")
        # paramiko's rule: a key when one is given, else the password
        if pkey is not None:
            self.auth_publickey(username, pkey)
        elif password is not None:
            self.auth_password(username, password)

    def _ensure_userauth_service(self: Any) -> None:
        if self._service_accepted:
            return
        if not self.initial_kex_done:
            raise SSHException("No existing session")
        self._command(lambda core: core.request_service("ssh-userauth"))
        self._wait(lambda: self._service_accepted, self.auth_timeout, "the ssh-userauth service")

    def _auth(self: Any, send: Callable[[Connection], object]) -> ev.Event:
        self._ensure_userauth_service()
        with self._lock:
            self._auth_result = None
        self._command(send)
        self._wait(lambda: self._auth_result is not None, self.auth_timeout, "authentication")
        result: ev.Event = self._take_auth_result()
        return result

    def _take_auth_result(self: Any) -> ev.Event:
        with self._lock:
            result: ev.Event | None = self._auth_result
            self._auth_result = None
        if result is None:  # pragma: no cover - _wait guarantees one
            raise AuthenticationException("no authentication result")
        return result

    def _auth_outcome(self: Any, method: str, result: ev.Event, username: str) -> list[str]:
        if isinstance(result, ev.AuthSucceeded):
            self.auth_username = username
            self._log(logging.INFO, "Authentication (%s) successful!", method)
            return []
        if isinstance(result, ev.AuthFailed):
            if result.partial:
                self._log(logging.INFO, "Authentication (%s) partially successful", method)
                return list(result.methods)
            if method not in result.methods:
                raise BadAuthenticationType("Bad authentication type", list(result.methods))
            raise AuthenticationException("Authentication failed.")
        raise AuthenticationException(f"unexpected reply to {method} authentication")

    def auth_none(self: Any, username: str) -> list[str]:
        result = self._auth(lambda core: core.auth_none(username))
        outcome: list[str] = self._auth_outcome("none", result, username)
        return outcome

    def auth_password(
        self: Any,
        username: str,
        password: str,
        event: threading.Event | None = None,
        fallback: bool = True,
    ) -> list[str]:
        try:
            result = self._auth(lambda core: core.auth_password(username, password))
            if isinstance(result, ev.AuthPasswordChangeRequired):
                raise AuthenticationException("the server requires a password change")
            outcome: list[str] = self._auth_outcome("password", result, username)
        except BadAuthenticationType as exc:
            if not fallback or "keyboard-interactive" not in exc.allowed_types:
                raise
            try:
                fallback_outcome: list[str] = self.auth_interactive(
                    username, _password_handler(password)
                )
                return fallback_outcome
            except SSHException:
                raise exc from None
        finally:
            if event is not None:
                event.set()
        return outcome

    def _pubkey_algorithm(self: Any, key: PKey) -> str:
        """Which signature algorithm to use for ``key`` with this server."""
        from ._proto.algorithms.hostkey import algorithms_for_key_type

        blob = getattr(key, "public_blob", None)
        key_type = blob.key_type if blob is not None else key.get_name()
        candidates = [
            a for a in algorithms_for_key_type(key_type) if a in self.preferred_pubkeys
        ] or list(algorithms_for_key_type(key_type))
        sig_algs_raw = self.server_extensions.get("server-sig-algs")
        if sig_algs_raw is not None:
            server_algs = set(sig_algs_raw.decode("ascii", "replace").split(","))
            for alg in candidates:
                if alg in server_algs or _plain(alg) in server_algs:
                    return alg
            return candidates[0]
        # no server-sig-algs: SHA-1 RSA only if enabled (as OpenSSH), else our first choice
        sha1 = [a for a in candidates if a.startswith("ssh-rsa")]
        if sha1 and sha1[0] in self.preferred_pubkeys:
            return sha1[0]
        return candidates[0]

    def auth_publickey(
        self, username: str, key: PKey, event: threading.Event | None = None
    ) -> list[str]:
        try:
            # EXT_INFO (server-sig-algs) arrives by the time the service is accepted
            self._ensure_userauth_service()
            algorithm = self._pubkey_algorithm(key)
            cert = getattr(key, "public_blob", None)
            blob = cert.key_blob if cert is not None else key.asbytes()

            def send(core: Connection) -> None:
                data = core.publickey_signed_data(username, algorithm, blob)
                sig = key.sign_ssh_data(data, _plain(algorithm))
                core.auth_publickey(username, algorithm, blob, util.asbytes(sig))

            result = self._auth(send)
            return self._auth_outcome("publickey", result, username)
        finally:
            if event is not None:
                event.set()

    def auth_interactive(
        self, username: str, handler: InteractiveHandler, submethods: str = ""
    ) -> list[str]:
        result = self._auth(lambda core: core.auth_keyboard_interactive(username, submethods))
        for _ in range(64):  # each round answers one INFO_REQUEST
            if not isinstance(result, ev.AuthInfoRequest):
                break
            answers = list(handler(result.name, result.instruction, result.prompts))
            result = self._auth(lambda core, a=answers: core.auth_info_response(a))  # type: ignore[misc]
        return self._auth_outcome("keyboard-interactive", result, username)

    def auth_interactive_dumb(
        self, username: str, handler: InteractiveHandler | None = None, submethods: str = ""
    ) -> list[str]:
        if handler is None:

            def handler(
                title: str, instructions: str, prompts: list[tuple[str, bool]]
            ) -> list[str]:
                if title:
                    print(title.strip())
                if instructions:
                    print(instructions.strip())
                return [input(prompt.strip() + " ") for prompt, _ in prompts]

        return self.auth_interactive(username, handler, submethods)


def _password_handler(password: str) -> InteractiveHandler:
    def handler(title: str, instructions: str, prompts: list[tuple[str, bool]]) -> list[str]:
        return [password] * len(prompts)

    return handler


def _plain(algorithm: str) -> str:
    """The signature algorithm behind a certificate algorithm name."""
    return algorithm.replace("-cert-v01@openssh.com", "")

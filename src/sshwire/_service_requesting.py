"""paramiko's ``ServiceRequestingTransport`` and ``ChannelMap`` (re-exported by
:mod:`sshwire.transport`; kept apart to keep that module short).

:class:`ServiceRequestingTransport` is the transport paramiko's ``AuthStrategy`` flow uses:
``ensure_session()`` requests the ``ssh-userauth`` service once (RFC 4253 §10) and installs an
:class:`~sshwire.auth_handler.AuthOnlyHandler`, through which every ``auth_*`` call then sends
exactly one USERAUTH_REQUEST. Everything else is :class:`~sshwire.transport.Transport`.
"""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING, Any

from ._client_auth import InteractiveHandler
from .auth_handler import AuthOnlyHandler
from .ssh_exception import BadAuthenticationType, SSHException
from .transport import Transport

if TYPE_CHECKING:
    from .channel import Channel
    from .pkey import PKey

__all__ = ["ChannelMap", "ServiceRequestingTransport"]


class ServiceRequestingTransport(Transport):
    """A :class:`~sshwire.transport.Transport` that authenticates through an
    :class:`~sshwire.auth_handler.AuthOnlyHandler` after one explicit service request."""

    __module__ = "sshwire.transport"  # its public home (as paramiko.transport's)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._service_userauth_accepted = False
        #: the handler installed by :meth:`ensure_session`
        self.auth_handler: AuthOnlyHandler | None = None

    def ensure_session(self) -> None:
        """Request the ``ssh-userauth`` service unless that was done; install the handler.

        Raises :class:`~sshwire.ssh_exception.SSHException` before the first key exchange.
        """
        if not self.active or not self.initial_kex_done:
            raise SSHException("No existing session")
        if self._service_userauth_accepted and self.auth_handler is not None:
            return
        self._ensure_userauth_service()
        self._service_userauth_accepted = True
        self.auth_handler = self.get_auth_handler()

    def get_auth_handler(self) -> AuthOnlyHandler:
        """The handler :meth:`ensure_session` installs (override to use another)."""
        return AuthOnlyHandler(self)

    def _handler(self) -> AuthOnlyHandler:
        self.ensure_session()
        assert self.auth_handler is not None
        return self.auth_handler

    def auth_none(self, username: str) -> list[str]:
        return self._handler().auth_none(username)

    def auth_password(  # type: ignore[override]
        self, username: str, password: str, fallback: bool = True
    ) -> list[str]:
        """Password auth; if the server only takes keyboard-interactive and *fallback* is
        true, answer its single prompt with *password* instead."""
        handler = self._handler()
        try:
            return handler.auth_password(username, password)
        except BadAuthenticationType as exc:
            if not fallback or "keyboard-interactive" not in exc.allowed_types:
                raise

            def answer(title: str, instructions: str, prompts: list[tuple[str, bool]]) -> list[str]:
                if len(prompts) > 1:
                    raise SSHException("Fallback authentication failed.")
                return [password] * len(prompts)

            try:
                return self.auth_interactive(username, answer)
            except SSHException:
                raise exc from None

    def auth_publickey(self, username: str, key: PKey) -> list[str]:  # type: ignore[override]
        return self._handler().auth_publickey(username, key)

    def auth_interactive(
        self, username: str, handler: InteractiveHandler, submethods: str = ""
    ) -> list[str]:
        return self._handler().auth_interactive(username, handler, submethods)

    # auth_interactive_dumb: Transport's, which calls the auth_interactive above


class ChannelMap:
    """A thread-safe map from channel id to :class:`~sshwire.channel.Channel` that holds its
    channels weakly (paramiko's transport bookkeeping class)."""

    __module__ = "sshwire.transport"

    def __init__(self) -> None:
        self._map: weakref.WeakValueDictionary[int, Channel] = weakref.WeakValueDictionary()
        self._lock = threading.Lock()

    def put(self, chanid: int, chan: Channel) -> None:
        with self._lock:
            self._map[chanid] = chan

    def get(self, chanid: int) -> Channel | None:
        with self._lock:
            return self._map.get(chanid)

    def delete(self, chanid: int) -> None:
        with self._lock:
            self._map.pop(chanid, None)

    def values(self) -> list[Channel]:
        with self._lock:
            return list(self._map.values())

    def __len__(self) -> int:
        with self._lock:
            return len(self._map)

"""Server-side policy hooks: paramiko's ``ServerInterface``, ``InteractiveQuery`` and
``SubsystemHandler``.

A server application subclasses :class:`ServerInterface` and passes an instance to
:meth:`Transport.start_server <sshwire.transport.Transport.start_server>`. The transport calls
these hooks from its reader thread (never while holding its locks) and turns the answers into
protocol messages. Every default refuses, so a server allows only what it says it allows.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from ._proto.constants import (
    OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED,
    OPEN_FAILED_CONNECT_FAILED,
    OPEN_FAILED_RESOURCE_SHORTAGE,
    OPEN_FAILED_UNKNOWN_CHANNEL_TYPE,
    OPEN_SUCCEEDED,
)

if TYPE_CHECKING:
    from .channel import Channel
    from .message import Message
    from .pkey import PKey
    from .transport import Transport

AUTH_SUCCESSFUL = 0
AUTH_PARTIALLY_SUCCESSFUL = 1
AUTH_FAILED = 2

__all__ = [
    "AUTH_FAILED",
    "AUTH_PARTIALLY_SUCCESSFUL",
    "AUTH_SUCCESSFUL",
    "OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED",
    "OPEN_FAILED_CONNECT_FAILED",
    "OPEN_FAILED_RESOURCE_SHORTAGE",
    "OPEN_FAILED_UNKNOWN_CHANNEL_TYPE",
    "OPEN_SUCCEEDED",
    "InteractiveQuery",
    "ServerInterface",
    "SubsystemHandler",
]


class ServerInterface:
    """The decisions a server makes; override the hooks your server needs."""

    def check_channel_request(self, kind: str, chanid: int) -> int:
        """May the client open a channel of ``kind``? Return OPEN_SUCCEEDED or a failure code."""
        return OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def get_allowed_auths(self, username: str) -> str:
        """Comma-separated auth methods to offer ``username`` (e.g. ``"password,publickey"``)."""
        return "password"

    def check_auth_none(self, username: str) -> int:
        return AUTH_FAILED

    def check_auth_password(self, username: str, password: str) -> int:
        return AUTH_FAILED

    def check_auth_publickey(self, username: str, key: PKey) -> int:
        """Is ``key`` acceptable for ``username``? The signature has already been checked.

        Also asked, without a signature, when a client only queries whether a key would do.
        """
        return AUTH_FAILED

    def check_auth_interactive(self, username: str, submethods: str) -> int | InteractiveQuery:
        """Start keyboard-interactive auth: return an :class:`InteractiveQuery` or a result."""
        return AUTH_FAILED

    def check_auth_interactive_response(self, responses: list[str]) -> int | InteractiveQuery:
        return AUTH_FAILED

    def check_port_forward_request(self, address: str, port: int) -> int | bool:
        """Listen on ``address:port`` for the client; return the port bound, or False."""
        return False

    def cancel_port_forward_request(self, address: str, port: int) -> None:
        """Stop a listener started by :meth:`check_port_forward_request`."""

    def check_global_request(self, kind: str, msg: Message) -> bool | tuple[Any, ...] | list[Any]:
        """Answer another global request: False, True, or a tuple/list of values to return."""
        return False

    def check_channel_pty_request(
        self,
        channel: Channel,
        term: bytes,
        width: int,
        height: int,
        pixelwidth: int,
        pixelheight: int,
        modes: bytes,
    ) -> bool:
        return False

    def check_channel_shell_request(self, channel: Channel) -> bool:
        return False

    def check_channel_exec_request(self, channel: Channel, command: bytes) -> bool:
        return False

    def check_channel_subsystem_request(self, channel: Channel, name: str) -> bool:
        """Start the handler registered with ``Transport.set_subsystem_handler``, if any."""
        transport = channel.get_transport()
        if transport is None:
            return False
        handler_class, args, kwargs = transport._get_subsystem_handler(name)
        if handler_class is None:
            return False
        handler = handler_class(channel, name, self, *args, **kwargs)
        handler.start()
        return True

    def check_channel_window_change_request(
        self, channel: Channel, width: int, height: int, pixelwidth: int, pixelheight: int
    ) -> bool:
        return False

    def check_channel_x11_request(
        self,
        channel: Channel,
        single_connection: bool,
        auth_protocol: str,
        auth_cookie: bytes,
        screen_number: int,
    ) -> bool:
        return False

    def check_channel_forward_agent_request(self, channel: Channel) -> bool:
        return False

    def check_channel_direct_tcpip_request(
        self, chanid: int, origin: tuple[str, int], destination: tuple[str, int]
    ) -> int:
        return OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_env_request(self, channel: Channel, name: bytes, value: bytes) -> bool:
        return False

    def get_banner(self) -> tuple[str | None, str | None]:
        """The pre-auth banner and its language tag, or ``(None, None)``."""
        return (None, None)


class InteractiveQuery:
    """Prompts for one round of keyboard-interactive authentication."""

    def __init__(self, name: str = "", instructions: str = "", *prompts: Any) -> None:
        self.name = name
        self.instructions = instructions
        self.prompts: list[tuple[str, bool]] = []
        for prompt in prompts:
            if isinstance(prompt, str):
                self.add_prompt(prompt)
            else:
                self.add_prompt(prompt[0], prompt[1])

    def add_prompt(self, prompt: str, echo: bool = True) -> None:
        self.prompts.append((prompt, echo))


class SubsystemHandler(threading.Thread):
    """A thread that serves one subsystem (e.g. sftp) on one channel.

    Subclass it, implement :meth:`start_subsystem`, and register the class with
    ``Transport.set_subsystem_handler(name, cls, *args, **kwargs)``.
    """

    def __init__(self, channel: Channel, name: str, server: ServerInterface) -> None:
        threading.Thread.__init__(self, target=self._run, daemon=True)
        self.__channel = channel
        self.__transport: Transport | None = channel.get_transport()
        self.__name = name
        self.__server = server

    def get_server(self) -> ServerInterface:
        return self.__server

    def _run(self) -> None:
        try:
            assert self.__transport is not None
            self.start_subsystem(self.__name, self.__transport, self.__channel)
        except Exception:
            logging.getLogger("sshwire.transport").exception(
                "exception in subsystem handler for %r", self.__name
            )
        finally:
            self.finish_subsystem()

    def start_subsystem(self, name: str, transport: Transport, channel: Channel) -> None:
        """Serve the subsystem on ``channel``; return when done (the channel is closed)."""

    def finish_subsystem(self) -> None:
        """Called when :meth:`start_subsystem` returns; closes the channel."""
        self.__channel.close()

"""Transport's channel surface: opening channels, accepting them, port forwarding.

A mixin of :class:`~sshwire.transport.Transport` (kept apart to keep transport.py short); the
methods run on a Transport, so ``self`` is typed ``Any`` as in ``_client_auth`` and
``_serving``. RFC 4254 §5.1 (opening channels), §7 (TCP/IP forwarding), §6.3.2 (x11).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._proto import constants as c
from ._proto import events as ev
from ._proto import wire
from ._proto.connection import Connection
from ._proto.errors import DecodeError
from .channel import Channel
from .ssh_exception import ChannelException, SSHException

if TYPE_CHECKING:
    from .sftp_client import SFTPClient


class ChannelSurface:
    """``open_session``, ``open_channel``, ``accept``, port forwarding and their handlers."""

    def open_session(
        self,
        window_size: int | None = None,
        max_packet_size: int | None = None,
        timeout: float | None = None,
    ) -> Channel:
        return self.open_channel(
            "session", window_size=window_size, max_packet_size=max_packet_size, timeout=timeout
        )

    def open_sftp_client(self: Any) -> SFTPClient | None:
        """Open an SFTP session on a new channel; see ``SFTPClient.from_transport``."""
        from .sftp_client import SFTPClient  # lazily: most transports never use SFTP

        return SFTPClient.from_transport(self)

    def open_x11_channel(self, src_addr: tuple[str, int] | None = None) -> Channel:
        return self.open_channel("x11", src_addr=src_addr)

    def open_forward_agent_channel(self) -> Channel:
        return self.open_channel("auth-agent@openssh.com")

    def open_forwarded_tcpip_channel(
        self, src_addr: tuple[str, int], dest_addr: tuple[str, int]
    ) -> Channel:
        return self.open_channel("forwarded-tcpip", dest_addr, src_addr)

    def open_channel(
        self: Any,
        kind: str,
        dest_addr: tuple[str, int] | None = None,
        src_addr: tuple[str, int] | None = None,
        window_size: int | None = None,
        max_packet_size: int | None = None,
        timeout: float | None = None,
    ) -> Channel:
        """Open a channel of ``kind`` and wait for the peer's answer (RFC 4254 §5.1)."""
        if not self.active:
            raise SSHException("SSH session not active")
        window = window_size or self.default_window_size
        max_packet = max_packet_size or self.default_max_packet_size
        extra = b""
        if kind in ("forwarded-tcpip", "direct-tcpip"):
            if dest_addr is None or src_addr is None:
                raise SSHException(f"{kind} needs dest_addr and src_addr")
            extra = _addr(dest_addr) + _addr(src_addr)
        elif kind == "x11":
            extra = _addr(src_addr or ("", 0))
        chan: Channel | None = None

        def do_open(core: Connection) -> int:
            nonlocal chan
            local_id = core.channels.open(kind, window, max_packet, extra)
            chan = Channel(local_id)
            chan.kind = kind
            chan._attach(self, window, max_packet)
            self._channels[local_id] = chan
            return local_id

        local_id = int(self._command(do_open))
        assert chan is not None
        wait = self.channel_timeout if timeout is None else timeout
        try:
            self._wait(
                lambda: local_id in self._open_results, wait, "the channel to open", chan._cond
            )
        except SSHException as exc:
            with self._lock:
                self._channels.pop(local_id, None)
            if "timed out" in str(exc):
                raise SSHException("Timeout opening channel.") from None
            raise SSHException("Unable to open channel.") from exc
        with self._lock:
            ok, reason, description = self._open_results.pop(local_id)
            if not ok:
                self._channels.pop(local_id, None)
                raise ChannelException(reason, description)
            state = self._require_core().channels.channels[local_id]
            chan.remote_chanid = state.remote_id
            chan.out_window_size = state.remote_window
            chan.out_max_packet_size = state.remote_max_packet
            chan.active = True
        return chan

    def accept(self: Any, timeout: float | None = None) -> Channel | None:
        """The next channel the peer opened towards us, or None after ``timeout``."""
        try:
            # not counted: a server thread parked in accept() must not stop loans to the
            # channels it serves (a loan nobody uses ends within milliseconds anyway)
            self._wait(lambda: bool(self._accept_queue), timeout, "a channel", counted=False)
        except SSHException:
            return None
        with self._lock:
            channel: Channel = self._accept_queue.pop(0)
            return channel

    def request_port_forward(
        self: Any, address: str, port: int, handler: Callable[..., Any] | None = None
    ) -> int:
        """Ask the server to listen on ``address:port`` and forward connections to us."""
        if not self.active:
            raise SSHException("SSH session not active")
        response = self.global_request("tcpip-forward", (address, port), wait=True)
        if response is None:
            raise SSHException("TCP forwarding request denied")
        if port == 0:
            port = response.get_int()
        self._tcp_handler = handler or self._queue_channel_handler  # default: accept()
        return port

    def cancel_port_forward(self: Any, address: str, port: int) -> None:
        if not self.active:
            return
        self._tcp_handler = None
        self.global_request("cancel-tcpip-forward", (address, port), wait=True)

    def _set_x11_handler(self: Any, handler: Callable[..., Any] | None) -> None:
        self._x11_handler = handler

    def _set_forward_agent_handler(self: Any, handler: Callable[..., Any] | None) -> None:
        self._agent_handler = handler

    def _on_channel_open_request(self: Any, event: ev.ChannelOpenRequested) -> None:
        r = wire.Reader(event.data)
        kind = event.kind
        handler: Callable[..., Any] | None = None
        args: tuple[Any, ...] = ()
        reason, why = c.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED, "not accepted"
        try:
            if kind == "forwarded-tcpip" and self._tcp_handler is not None:
                dest = (r.text(), r.uint32())
                origin = (r.text(), r.uint32())
                handler, args = self._tcp_handler, (origin, dest)
            elif kind == "x11":
                origin = (r.text(), r.uint32())
                handler, args = self._x11_handler, (origin,)
                if handler is None:
                    handler = self._queue_channel_handler
            elif kind == "auth-agent@openssh.com" and self._agent_handler is not None:
                handler = self._agent_handler
        except DecodeError as exc:  # a malformed open is refused, the connection lives on
            handler, reason, why = None, c.OPEN_FAILED_CONNECT_FAILED, f"malformed {kind}: {exc}"
        if handler is None:
            self._command(lambda core: core.channels.reject(event.channel, reason, why))
            return
        window, max_packet = self.default_window_size, self.default_max_packet_size
        chan = Channel(event.channel)
        chan.kind = kind
        chan._attach(self, window, max_packet)
        chan.remote_chanid = 0
        chan.out_window_size = event.window
        chan.out_max_packet_size = event.max_packet
        chan.origin_addr = args[0] if args else None

        def do_accept(core: Connection) -> None:
            core.channels.accept(event.channel, window, max_packet)
            chan.remote_chanid = core.channels.channels[event.channel].remote_id
            chan.active = True
            self._channels[event.channel] = chan

        self._command(do_accept)
        handler(chan, *args)

    def _queue_channel_handler(self: Any, channel: Channel, *args: Any) -> None:
        with self._cond:
            self._accept_queue.append(channel)
            self._cond.notify_all()


def _addr(addr: tuple[str, int]) -> bytes:
    return wire.string(addr[0]) + wire.uint32(addr[1])

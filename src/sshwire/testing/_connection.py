"""One client connection of the embedded server: its transport, policy and forwardings.

Theory of operation
-------------------
:class:`Connection` is the :class:`~sshwire.server.ServerInterface` of one transport, and
:meth:`Connection.run` is its thread: it starts the server side of the transport, then takes
the channels the client opens with ``Transport.accept()`` until the transport dies, and
finally tears down what is left (listeners, unused sockets, unstarted sessions). Everything
a connection owns dies with it; other connections never notice.

The hooks run in the transport's reader thread and never block for long: sessions start
their process in a thread, and only after the request's reply has been sent
(:class:`_ServerTransport` runs deferred callbacks right after it answers a channel
request). The one exception is ``direct-tcpip``: the hook connects to the destination
(loopback only, unless told otherwise) so that a refused connection is reported to the
client as an open failure, as sshd does; a loopback connect answers at once.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
import threading
from collections.abc import Callable, Sequence
from typing import Any

from .._proto import events as ev
from ..channel import Channel
from ..pkey import PKey
from ..server import (
    AUTH_FAILED,
    AUTH_SUCCESSFUL,
    OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED,
    OPEN_FAILED_CONNECT_FAILED,
    OPEN_FAILED_UNKNOWN_CHANNEL_TYPE,
    OPEN_SUCCEEDED,
    InteractiveQuery,
    ServerInterface,
)
from ..ssh_exception import SSHException
from ..transport import Transport
from . import _relay
from ._common import Settings, is_loopback, logger
from ._session import Session, close_unstarted

#: Seconds a ``direct-tcpip`` open may spend connecting to its destination.
CONNECT_TIMEOUT = 5.0


class _ServerTransport(Transport):
    """A Transport that runs callbacks right after it has answered a channel request.

    Starting a session's process from inside ``check_channel_exec_request`` would let its
    first output (or even its CLOSE) reach the client before the SUCCESS reply.
    """

    def __init__(self, sock: socket.socket) -> None:
        super().__init__(sock)
        self._after_reply: list[Callable[[], None]] = []

    def after_reply(self, fn: Callable[[], None]) -> None:
        """From a channel request hook: run ``fn`` once the reply is on its way."""
        self._after_reply.append(fn)

    def _server_channel_request(self, event: ev.ChannelRequestReceived) -> None:
        self._after_reply = []
        super()._server_channel_request(event)
        callbacks, self._after_reply = self._after_reply, []
        for fn in callbacks:
            fn()


def _accept_until_stopped(
    settings: Settings,
    sock: socket.socket,
    cancel: _relay.Waker,
    thread_name: str,
    serve: Callable[[socket.socket, Any], None],
) -> None:
    """Accept on ``sock`` and serve each client in its own thread until cancelled or stopped."""
    fd, wakers = sock.fileno(), (cancel.fileno(), settings.stop.fileno())
    while True:
        ready = _relay.wait_fds((fd, *wakers))
        if any(w in ready for w in wakers):
            return
        try:
            client, origin = sock.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            continue
        except OSError as exc:
            logger.info("%s stopped: %s", thread_name, exc)
            return
        settings.threads.spawn(
            thread_name,
            lambda c=client, o=origin: serve(c, o),  # type: ignore[misc]
        )


class _RemoteListener:
    """A ``tcpip-forward`` listener: each connection becomes a forwarded-tcpip channel."""

    def __init__(self, conn: Connection, address: str, sock: socket.socket) -> None:
        self.conn = conn
        self.address = address  # as the client asked for it: it is echoed back in each open
        self.sock = sock
        self.port = int(sock.getsockname()[1])
        self.cancel = _relay.Waker()
        conn.settings.threads.spawn(f"sshwire.testing listener :{self.port}", self._run)

    def _run(self) -> None:
        try:
            _accept_until_stopped(
                self.conn.settings,
                self.sock,
                self.cancel,
                f"sshwire.testing forward :{self.port}",
                self._forward,
            )
        finally:
            self.sock.close()
            self.cancel.close()

    def _forward(self, client: socket.socket, origin: tuple[str, int]) -> None:
        transport = self.conn.transport
        try:
            chan = transport.open_forwarded_tcpip_channel(
                (origin[0], origin[1]), (self.address, self.port)
            )
        except (SSHException, OSError) as exc:
            logger.info("client refused a forwarded connection: %s", exc)
            client.close()
            return
        settings = self.conn.settings
        _relay.SocketRelay(chan, client, settings.stop, settings.threads.spawn)

    def close(self) -> None:
        """Stop listening now (new connections are refused); the thread closes the socket."""
        self.cancel.set()
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # Linux: the port stops accepting at once


class _AgentListener:
    """A forwarded agent's unix socket: each connection becomes an auth-agent channel.

    The socket lives in a private directory (mode 0700) made for it; both are removed when
    the listener stops (its session ended, its connection closed, or the server closed).
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.directory = tempfile.mkdtemp(prefix="sshwire-agent-")  # mode 0700
        self.path = os.path.join(self.directory, f"agent.{os.getpid()}")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(self.path)
            os.chmod(self.path, 0o600)
            sock.listen(16)
            sock.setblocking(False)
            self.cancel = _relay.Waker()
        except BaseException:
            sock.close()
            shutil.rmtree(self.directory, ignore_errors=True)
            raise
        self.sock = sock
        try:
            conn.settings.threads.spawn("sshwire.testing agent listener", self._run)
        except BaseException:
            self._cleanup()
            raise

    def _run(self) -> None:
        try:
            _accept_until_stopped(
                self.conn.settings,
                self.sock,
                self.cancel,
                "sshwire.testing agent forward",
                lambda client, _origin: self._forward(client),
            )
        finally:
            self._cleanup()

    def _cleanup(self) -> None:
        self.sock.close()
        self.cancel.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    def _forward(self, client: socket.socket) -> None:
        try:
            chan = self.conn.transport.open_forward_agent_channel()
        except (SSHException, OSError) as exc:
            logger.info("client refused an agent channel: %s", exc)
            client.close()
            return
        settings = self.conn.settings
        _relay.SocketRelay(chan, client, settings.stop, settings.threads.spawn)

    def close(self) -> None:
        """Remove the socket and its directory now; the listener's thread then stops."""
        shutil.rmtree(self.directory, ignore_errors=True)
        self.cancel.set()


class Connection(ServerInterface):
    """The policy and state of one client connection (see the module docstring)."""

    def __init__(
        self,
        settings: Settings,
        sock: socket.socket,
        host_keys: Sequence[PKey],
        on_done: Callable[[Connection], None],
    ) -> None:
        self.settings = settings
        self.peer = sock.getpeername()
        local = sock.getsockname()
        # Transport.close() closes the socket while its reader thread waits on it in a
        # selector, which loses shutdown()'s wake-up (the fd leaves the epoll set) and costs
        # the reader's 0.5 s poll interval. A second fd for the socket keeps it in the set
        # until the transport is closed (reported; harmless once fixed).
        self._sock_ref: int | None = os.dup(sock.fileno())
        self.transport = _ServerTransport(sock)
        self.transport.server_auth_timeout = settings.login_grace_time
        for key in host_keys:
            self.transport.add_server_key(key)
        for name, sub in settings.subsystems.items():
            if not isinstance(sub, str):
                self.transport.set_subsystem_handler(name, sub[0], *sub[1], **sub[2])
        self._on_done = on_done
        self._lock = threading.Lock()
        self._sessions: dict[int, Session] = {}
        self._direct: dict[int, socket.socket] = {}
        self._listeners: dict[tuple[str, int], _RemoteListener] = {}
        self._kbd_username = ""
        self._ssh_env = {
            "SSH_CLIENT": f"{self.peer[0]} {self.peer[1]} {local[1]}",
            "SSH_CONNECTION": f"{self.peer[0]} {self.peer[1]} {local[0]} {local[1]}",
        }

    # ------------------------------------------------------------------ the thread

    def run(self) -> None:
        transport = self.transport
        try:
            if self.settings.configure_transport is not None:
                self.settings.configure_transport(transport)
            transport.start_server(threading.Event(), self)
            while True:
                chan = transport.accept(None)  # None once the transport is gone
                if chan is None:
                    break
                self._accepted(chan)
        except Exception as exc:
            logger.info("connection from %s ended: %s", self.peer, exc)
        finally:
            self._teardown()

    def _accepted(self, chan: Channel) -> None:
        if chan.kind != "direct-tcpip":
            return  # sessions are driven by their requests
        with self._lock:
            sock = self._direct.pop(chan.get_id(), None)
        if sock is None:
            chan.close()
            return
        _relay.SocketRelay(chan, sock, self.settings.stop, self.settings.threads.spawn)

    def _teardown(self) -> None:
        self.transport.close()  # channels close too: running sessions hang up on their own
        self._release_sock_ref()
        with self._lock:
            direct, self._direct = list(self._direct.values()), {}
            listeners, self._listeners = list(self._listeners.values()), {}
            sessions, self._sessions = list(self._sessions.values()), {}
        for sock in direct:
            sock.close()
        for listener in listeners:
            listener.close()
        close_unstarted(sessions)
        self._on_done(self)

    def close(self) -> None:
        """Disconnect this client (the connection's thread then tears everything down)."""
        self.transport.close()
        self._release_sock_ref()

    def _release_sock_ref(self) -> None:
        transport = self.transport
        if transport.is_alive() and threading.current_thread() is not transport:
            transport.join(10)  # the reader may still be waiting on the socket
        with self._lock:
            fd, self._sock_ref = self._sock_ref, None
        if fd is not None:
            os.close(fd)

    # ------------------------------------------------------------------ authentication

    def get_allowed_auths(self, username: str) -> str:
        return ",".join(self.settings.authorizer.methods())

    def check_auth_password(self, username: str, password: str) -> int:
        if self.settings.authorizer.password_ok(username, password):
            return AUTH_SUCCESSFUL
        return AUTH_FAILED

    def check_auth_publickey(self, username: str, key: PKey) -> int:
        authorizer = self.settings.authorizer
        cert = getattr(key, "public_blob", None)
        if cert is not None:  # an OpenSSH certificate: only a trusted user CA vouches for it
            if authorizer.cert_ok(username, cert.key_blob):
                return AUTH_SUCCESSFUL
            return AUTH_FAILED
        if authorizer.key_ok(username, key.asbytes()):
            return AUTH_SUCCESSFUL
        return AUTH_FAILED

    def check_auth_interactive(self, username: str, submethods: str) -> int | InteractiveQuery:
        if not self.settings.authorizer.has_passwords:
            return AUTH_FAILED
        self._kbd_username = username
        return InteractiveQuery("", "", ("Password: ", False))

    def check_auth_interactive_response(self, responses: list[str]) -> int | InteractiveQuery:
        if len(responses) == 1 and self.settings.authorizer.password_ok(
            self._kbd_username, responses[0]
        ):
            return AUTH_SUCCESSFUL
        return AUTH_FAILED

    def get_banner(self) -> tuple[str | None, str | None]:
        banner = self.settings.banner
        return (banner, "en") if banner else (None, None)

    # ------------------------------------------------------------------ sessions

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return OPEN_SUCCEEDED
        return OPEN_FAILED_UNKNOWN_CHANNEL_TYPE

    def _session(self, chan: Channel) -> Session:
        with self._lock:
            session = self._sessions.get(chan.get_id())
            if session is None or session.chan is not chan:
                if len(self._sessions) > 64:  # forget finished ones
                    done = [s for s in self._sessions.values() if s.chan.closed]
                    close_unstarted(done)
                    self._sessions = {k: s for k, s in self._sessions.items() if not s.chan.closed}
                session = Session(self.settings, chan, self._ssh_env)
                self._sessions[chan.get_id()] = session
            return session

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
        session = self._session(channel)
        return session.request_pty(term, width, height, pixelwidth, pixelheight, modes)

    def check_channel_window_change_request(
        self, channel: Channel, width: int, height: int, pixelwidth: int, pixelheight: int
    ) -> bool:
        return self._session(channel).resize(width, height, pixelwidth, pixelheight)

    def check_channel_env_request(self, channel: Channel, name: bytes, value: bytes) -> bool:
        return self._session(channel).set_env(name, value)

    def check_channel_forward_agent_request(self, channel: Channel) -> bool:
        if not self.settings.allow_agent_forwarding:
            return False

        def listen() -> tuple[str, Callable[[], None]]:
            listener = _AgentListener(self)
            return listener.path, listener.close

        return self._session(channel).forward_agent(listen)

    def _start(self, session: Session, command: bytes | None, subsystem: bool = False) -> bool:
        if not session.prepare(command, subsystem=subsystem):
            return False
        self.transport.after_reply(session.start)
        return True

    def check_channel_exec_request(self, channel: Channel, command: bytes) -> bool:
        return self._start(self._session(channel), command)

    def check_channel_shell_request(self, channel: Channel) -> bool:
        return self._start(self._session(channel), None)

    def check_channel_subsystem_request(self, channel: Channel, name: str) -> bool:
        sub = self.settings.subsystems.get(name)
        if sub is None:
            return False
        if isinstance(sub, str):
            return self._start(self._session(channel), sub.encode(), subsystem=True)
        handler_class, args, kwargs = sub
        handler: Any = handler_class(channel, name, self, *args, **kwargs)

        def start() -> None:
            handler.start()
            self.settings.threads.adopt(handler)

        self.transport.after_reply(start)
        return True

    # ------------------------------------------------------------------ port forwarding

    def check_channel_direct_tcpip_request(
        self, chanid: int, origin: tuple[str, int], destination: tuple[str, int]
    ) -> int:
        settings = self.settings
        host, port = destination
        if not settings.allow_tcp_forwarding:
            return OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED
        if not (settings.forward_any_destination or is_loopback(host)):
            logger.info("refused a local forward to %s:%d (not loopback)", host, port)
            return OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED
        try:
            sock = socket.create_connection((host, port), timeout=CONNECT_TIMEOUT)
        except OSError as exc:
            logger.info("local forward to %s:%d failed: %s", host, port, exc)
            return OPEN_FAILED_CONNECT_FAILED
        with self._lock:
            self._direct[chanid] = sock
        return OPEN_SUCCEEDED

    def check_port_forward_request(self, address: str, port: int) -> int | bool:
        if not self.settings.allow_tcp_forwarding:
            return False
        # as sshd with GatewayPorts no: whatever the client asks for, listen on loopback
        family, bind_host = (
            (socket.AF_INET6, "::1") if address == "::1" else (socket.AF_INET, "127.0.0.1")
        )
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((bind_host, port))
            sock.listen(64)
            sock.setblocking(False)
        except OSError as exc:
            logger.info("remote forward %s:%d refused: %s", address, port, exc)
            sock.close()
            return False
        listener = _RemoteListener(self, address, sock)
        with self._lock:
            old = self._listeners.pop((address, listener.port), None)
            self._listeners[(address, listener.port)] = listener
        if old is not None:
            old.close()
        return listener.port

    def cancel_port_forward_request(self, address: str, port: int) -> None:
        with self._lock:
            listener = self._listeners.pop((address, port), None)
        if listener is not None:
            listener.close()

"""The threaded shell around the sans-IO core: paramiko's ``Transport``.

Theory of operation
-------------------
A :class:`Transport` owns a socket, a :class:`~sshwire._proto.connection.Connection` and one
reader thread (the Transport *is* that thread, as in paramiko). The reader thread receives,
feeds the core, flushes what the core wants to send, and dispatches the events. Every other
call runs in the caller's thread: it takes the send token (see "Sending" below), then the
core lock, gives the core a command, and sends what the core queued before giving the token
back, so packets leave in the order they were sealed.

Locks: ``_lock`` is the core lock, never held across socket I/O. Waiters block on ``_cond``
(built on ``_lock``) with a deadline; when the transport dies, ``_die`` wakes them all and
they raise.

Sending: the socket's write side belongs to the holder of the *send token* (``_sending``,
taken and given back under the core lock, in place of a write lock: token → core lock).
The holder sends what the core has sealed, in sealing order, and before it gives the token
back it looks again under the core lock, so output sealed meanwhile by a thread that found
the token taken is never stranded. Application threads wait for the token (with their
deadline, if they have one). The reader thread never waits, neither for the token nor for
the socket: it leaves its output to the holder, or sends what the socket takes at once and
keeps the rest in ``_unsent`` until the socket is writable. A peer that stops reading can
block a writer but never the reader, so two ends that flood each other cannot deadlock.
A send with a deadline that passes mid-packet leaves the rest of the stream in ``_unsent``,
in order, for whoever sends next.
"""

from __future__ import annotations

import logging
import os
import selectors
import socket
import struct
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from . import util
from ._channel_surface import ChannelSurface
from ._client_auth import ClientAuth
from ._lent_read import LentReading
from ._proto import constants as c
from ._proto import events as ev
from ._proto.algorithms.cipher import CIPHERS, DEFAULT_CIPHERS
from ._proto.algorithms.compression import COMPRESSING_PREFERENCE, COMPRESSIONS
from ._proto.algorithms.hostkey import (
    DEFAULT_HOSTKEY_ALGORITHMS,
    DEFAULT_PUBKEY_ALGORITHMS,
    HOSTKEY_ALGORITHMS,
)
from ._proto.algorithms.mac import DEFAULT_MACS, MACS
from ._proto.config import REKEY_BYTES, REKEY_PACKETS, REKEY_SECONDS, ConnectionConfig
from ._proto.connection import Connection, Phase
from ._proto.kex.negotiate import DEFAULT_KEX, KEX_ALGORITHMS
from ._send_path import SendPath
from ._serving import ServerMode
from .channel import Channel
from .message import Message
from .ssh_exception import (
    SSHException,
)

if TYPE_CHECKING:
    from .pkey import PKey

_READ_SIZE = 1 << 18  # the receive buffer of a busy connection
_FIRST_READ_SIZE = 1 << 14  # ... and of an idle or interactive one
_POLL_SECONDS = 0.5  # reader wake-up for banner/handshake deadlines and keepalives
_CLOSE_GRACE = 1.0  # seconds close() may spend saying goodbye to a peer that reads slowly
_READ_WRITE = selectors.EVENT_READ | selectors.EVENT_WRITE


_CERT = "-cert-v01@openssh.com"
# plain host key algorithms; their certificate forms are appended by preferred_keys
_CLIENT_HOSTKEY_ORDER: tuple[str, ...] = tuple(
    a for a in DEFAULT_HOSTKEY_ALGORITHMS if not a.endswith(_CERT)
)


class SecurityOptions:
    """The algorithm preferences of one transport, editable before negotiation.

    Each property is a tuple of algorithm names in preference order; assigning one checks
    that every name is known.
    """

    __slots__ = ("_transport",)

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    def __repr__(self) -> str:
        return f"<sshwire.SecurityOptions for {self._transport!r}>"

    def _set(self, attr: str, known: Iterable[str], value: Sequence[str]) -> None:
        # paramiko's rules and messages: exactly a tuple or a list, of known names
        if type(value) is list:
            value = tuple(value)
        if type(value) is not tuple:
            raise TypeError("expected tuple or list")
        known_set = set(known)
        if any(v not in known_set for v in value):
            raise ValueError("unknown cipher")
        setattr(self._transport, attr, value)

    @property
    def ciphers(self) -> tuple[str, ...]:
        return self._transport._preferred_ciphers

    @ciphers.setter
    def ciphers(self, value: Sequence[str]) -> None:
        self._set("_preferred_ciphers", CIPHERS, value)

    @property
    def digests(self) -> tuple[str, ...]:
        return self._transport._preferred_macs

    @digests.setter
    def digests(self, value: Sequence[str]) -> None:
        self._set("_preferred_macs", MACS, value)

    @property
    def key_types(self) -> tuple[str, ...]:
        return self._transport._preferred_keys

    @key_types.setter
    def key_types(self, value: Sequence[str]) -> None:
        self._set("_preferred_keys", HOSTKEY_ALGORITHMS, value)

    @property
    def kex(self) -> tuple[str, ...]:
        return self._transport._preferred_kex

    @kex.setter
    def kex(self, value: Sequence[str]) -> None:
        self._set("_preferred_kex", KEX_ALGORITHMS, value)

    @property
    def compression(self) -> tuple[str, ...]:
        return self._transport._preferred_compression

    @compression.setter
    def compression(self, value: Sequence[str]) -> None:
        self._set("_preferred_compression", COMPRESSIONS, value)


def _open_socket(dest: str | tuple[str, int]) -> socket.socket:
    if isinstance(dest, str):
        host, _, port_text = dest.rpartition(":")
        if not host:
            host, port_text = port_text, "22"
        dest = (host, int(port_text))
    sock = socket.create_connection(dest)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


class Transport(
    threading.Thread,
    ClientAuth,
    ServerMode,
    ChannelSurface,
    SendPath,
    LentReading,
    util.ClosingContextManager,
):
    """An SSH transport over one socket-like object; paramiko's Transport API."""

    _ENCRYPT_INFO = CIPHERS

    def __init__(
        self,
        sock: Any,
        default_window_size: int = 2097152,
        default_max_packet_size: int = 32768,
        disabled_algorithms: dict[str, Iterable[str]] | None = None,
        server_sig_algs: bool = True,
        strict_kex: bool = True,
        packetizer_class: Any = None,
    ) -> None:
        threading.Thread.__init__(self, daemon=True)
        self.name = "sshwire.transport"
        if isinstance(sock, str | tuple):
            sock = _open_socket(sock)
        elif isinstance(sock, socket.socket) and sock.family in (socket.AF_INET, socket.AF_INET6):
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:  # pragma: no cover - not a TCP socket after all
                pass
        self.sock = sock
        self.default_window_size = default_window_size
        self.default_max_packet_size = default_max_packet_size
        self.disabled_algorithms = {k: list(v) for k, v in (disabled_algorithms or {}).items()}
        self.server_sig_algs = server_sig_algs
        self.advertise_strict_kex = strict_kex
        self.packetizer_class = packetizer_class
        self._preferred_ciphers: tuple[str, ...] = DEFAULT_CIPHERS
        self._preferred_macs: tuple[str, ...] = DEFAULT_MACS
        # plain host keys first, so that plain known_hosts entries keep working as with
        # paramiko; certificate forms follow (see docs/compat.md)
        self._preferred_keys: tuple[str, ...] = _CLIENT_HOSTKEY_ORDER
        self._preferred_pubkeys: tuple[str, ...] = DEFAULT_PUBKEY_ALGORITHMS
        self._preferred_kex: tuple[str, ...] = DEFAULT_KEX
        self._preferred_compression: tuple[str, ...] = ("none",)
        self._prefer_host_certificates = False
        self._reader_started = time.monotonic()
        self.banner_timeout: float = 15
        self.handshake_timeout: float = 15
        self.auth_timeout: float = 30
        self.channel_timeout: float = 60 * 60
        self.server_mode = False
        self.active = False
        self.initial_kex_done = False
        self.saved_exception: BaseException | None = None
        self.local_version = ""
        self.remote_version = ""
        self.session_id: bytes | None = None
        self.host_key: PKey | None = None
        self.host_key_type: str | None = None
        self.server_extensions: dict[str, bytes] = {}
        self.agreed_on_strict_kex = False
        self.completion_event: threading.Event | None = None
        self.log_name = "sshwire.transport"
        self.logger = util.get_logger(self.log_name)
        self._hexdump = False
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._send_cond = threading.Condition(self._lock)  # waiting for the send token
        self._sending = False  # the send token (see the module docstring); core lock
        self._unsent = bytearray()  # sealed, not yet on the socket; the token holder's
        self._poller: Any = None  # select.poll for timed sends, made on first use
        self._core: Connection | None = None
        self._closed = False
        self._keepalive_interval = 0.0
        #: Opt-in dead-peer detection: with set_keepalive(interval) and this set to N > 0,
        #: the transport closes after N keepalives in a row go unanswered.
        self.keepalive_count_max = 0
        #: Start a new key exchange once either direction has carried this many bytes or
        #: packets, or after this many seconds (RFC 4344 §3); read when the transport starts.
        self.rekey_bytes: int = REKEY_BYTES
        self.rekey_packets: int = REKEY_PACKETS
        self.rekey_seconds: float = REKEY_SECONDS
        self._last_send = self._last_recv = self._last_probe = time.monotonic()
        self._probes_unanswered = 0
        self._auth_banner: str | None = None
        self._auth_result: ev.Event | None = None
        self._service_accepted = False
        self._global_replies: list[ev.GlobalReplyReceived] = []
        self._global_wanted = 0  # global requests sent with want_reply
        self._kex_generation = 0
        self.authenticated = False
        self.auth_username: str | None = None
        self._channels: dict[int, Channel] = {}
        self._open_results: dict[int, tuple[bool, int, str]] = {}
        self._accept_queue: list[Channel] = []
        self._tcp_handler: Callable[..., Any] | None = None
        self._x11_handler: Callable[..., Any] | None = None
        self._agent_handler: Callable[..., Any] | None = None
        self._server_init()
        self._lend_init()
        self._finalizer = weakref.finalize(self, _close_socket, self.sock)

    # -------------------------------------------------------------------- description

    def __repr__(self) -> str:
        state = "active" if self.active else "unconnected"
        if self.active and self._core is not None and self._core.negotiated is not None:
            n = self._core.negotiated
            state += f"; cipher {n.cipher_cs}"
        if self.authenticated:
            state += f" (authenticated as {self.auth_username})"
        return f"<sshwire.Transport at {id(self):#x} ({state})>"

    def atfork(self) -> None:
        """In a forked child: drop the socket without telling the peer."""
        self._closed = True
        try:
            self.sock.close()
        except OSError:  # pragma: no cover
            pass

    # -------------------------------------------------------------------- preferences

    def _filtered(self, kind: str, names: tuple[str, ...]) -> tuple[str, ...]:
        disabled = set(self.disabled_algorithms.get(kind, ()))
        return tuple(n for n in names if n not in disabled)

    @property
    def preferred_ciphers(self) -> tuple[str, ...]:
        return self._filtered("ciphers", self._preferred_ciphers)

    @property
    def preferred_macs(self) -> tuple[str, ...]:
        return self._filtered("macs", self._preferred_macs)

    @property
    def preferred_keys(self) -> tuple[str, ...]:
        # as paramiko: the enabled plain algorithms, then their certificate forms
        plain = self._filtered("keys", self._preferred_keys)
        certs = tuple(a + _CERT for a in plain if not a.endswith(_CERT))
        certs = tuple(a for a in certs if a in HOSTKEY_ALGORITHMS)
        # certificates first when a @cert-authority vouches for the host (as OpenSSH does)
        return certs + plain if self._prefer_host_certificates else plain + certs

    @property
    def preferred_pubkeys(self) -> tuple[str, ...]:
        return self._filtered("pubkeys", self._preferred_pubkeys)

    @property
    def preferred_kex(self) -> tuple[str, ...]:
        return self._filtered("kex", self._preferred_kex)

    @property
    def preferred_compression(self) -> tuple[str, ...]:
        return self._filtered("compression", self._preferred_compression)

    def get_security_options(self) -> SecurityOptions:
        return SecurityOptions(self)

    def use_compression(self, compress: bool = True) -> None:
        self._preferred_compression = COMPRESSING_PREFERENCE if compress else ("none",)

    def _config(self) -> ConnectionConfig:
        return ConnectionConfig(
            kex=self.preferred_kex,
            host_key=self.preferred_keys,
            ciphers=self.preferred_ciphers,
            macs=self.preferred_macs,
            compression=self.preferred_compression,
            strict_kex=self.advertise_strict_kex,
            ext_info=True,
            rekey_bytes=self.rekey_bytes,
            rekey_packets=self.rekey_packets,
            rekey_seconds=self.rekey_seconds,
        )

    # -------------------------------------------------------------------- logging

    def set_log_channel(self, name: str) -> None:
        self.log_name = name
        self.logger = util.get_logger(name)

    def get_log_channel(self) -> str:
        return self.log_name

    def set_hexdump(self, hexdump: bool) -> None:
        """Log every packet's payload as a hex dump at DEBUG level (never use in production:
        it shows everything, passwords included)."""
        self._hexdump = hexdump
        if self._core is not None:
            self._core.trace = self._dump_packet if hexdump else None

    def _dump_packet(self, direction: str, payload: bytes) -> None:
        for line in util.format_binary(payload, f"{direction}: "):
            self.logger.debug(line)

    def get_hexdump(self) -> bool:
        return self._hexdump

    def _log(self, level: int, msg: str, *args: object) -> None:
        self.logger.log(level, msg, *args)

    # -------------------------------------------------------------------- starting

    def start_client(
        self, event: threading.Event | None = None, timeout: float | None = None
    ) -> None:
        """Negotiate keys as the client; block until done unless ``event`` is given."""
        core = Connection(True, self._config(), rng=os.urandom, clock=time.monotonic)
        self._run_negotiation(core, event, timeout)

    def _run_negotiation(
        self, core: Connection, event: threading.Event | None, timeout: float | None
    ) -> None:
        self.active = True
        self.completion_event = event or threading.Event()
        self._core = core
        if self._hexdump:
            core.trace = self._dump_packet
        core.start()
        self.local_version = core.local_version
        self.start()
        if event is not None:
            return
        deadline = None if timeout is None else time.monotonic() + timeout
        done = self.completion_event
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise SSHException("Negotiation timed out.")
            done.wait(0.1 if remaining is None else min(0.1, remaining))
            if not self.active:
                exc = self.get_exception()
                if exc is not None:
                    raise exc
                raise SSHException("Negotiation failed.")
            if done.is_set():
                return

    def stop_thread(self) -> None:
        self.active = False
        self._wake_all()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(10)

    def close(self) -> None:
        """Close the transport, its socket and every channel; joins the reader thread."""
        if self._closed:
            return
        if self._core is not None and self.active:
            # say goodbye, within a grace period: a writer stuck on a peer that stopped
            # reading holds the send token, and the shutdown below is what frees it
            deadline = time.monotonic() + _CLOSE_GRACE
            try:
                with self._lock:
                    self._take_token(deadline)
                    try:
                        self._core.disconnect(c.DISCONNECT_BY_APPLICATION, "")
                        out = self._core.data_to_send()
                    except BaseException:
                        self._give_back_locked()
                        raise
                self._drain(out, deadline)
            except (OSError, SSHException):
                pass
        self._closed = True
        self.active = False
        try:
            # wakes the reader (its selector sees EOF); closing the fd first would drop the
            # fd from the epoll set and lose that wake-up
            self.sock.shutdown(socket.SHUT_RDWR)
        except (OSError, AttributeError):
            pass
        self.stop_thread()
        try:
            self.sock.close()  # the reader closes it too as it ends; this covers no reader
        except OSError:  # pragma: no cover
            pass

    # -------------------------------------------------------------------- status

    def is_active(self) -> bool:
        return self.active

    def is_authenticated(self) -> bool:
        return self.active and self.authenticated

    def get_username(self) -> str | None:
        return self.auth_username

    def get_banner(self) -> bytes | None:
        return None if self._auth_banner is None else self._auth_banner.encode()

    def get_exception(self) -> BaseException | None:
        with self._lock:
            exc, self.saved_exception = self.saved_exception, None
        return exc

    def getpeername(self) -> Any:
        gp = getattr(self.sock, "getpeername", None)
        if gp is None:
            return ("unknown", 0)
        return gp()

    def _negotiated_pair(self, client_side: str, server_side: str) -> tuple[Any, Any]:
        core = self._core
        if core is None or core.negotiated is None:
            return None, None
        n = core.negotiated
        ours, theirs = getattr(n, client_side), getattr(n, server_side)
        return (theirs, ours) if self.server_mode else (ours, theirs)

    @property
    def local_cipher(self) -> str | None:
        """The cipher of what we send (``None`` before the first key exchange)."""
        return self._negotiated_pair("cipher_cs", "cipher_sc")[0]  # type: ignore[no-any-return]

    @property
    def remote_cipher(self) -> str | None:
        return self._negotiated_pair("cipher_cs", "cipher_sc")[1]  # type: ignore[no-any-return]

    @property
    def local_mac(self) -> str | None:
        """The MAC of what we send (``None`` with an AEAD cipher or before kex)."""
        return self._negotiated_pair("mac_cs", "mac_sc")[0]  # type: ignore[no-any-return]

    @property
    def remote_mac(self) -> str | None:
        return self._negotiated_pair("mac_cs", "mac_sc")[1]  # type: ignore[no-any-return]

    @property
    def kex_engine_name(self) -> str | None:
        """The negotiated key exchange method."""
        core = self._core
        return None if core is None or core.negotiated is None else core.negotiated.kex

    def get_remote_server_key(self) -> PKey:
        if not self.active or self.host_key is None:
            raise SSHException("No existing session")
        return self.host_key

    # -------------------------------------------------------------------- plumbing

    def _command(self, fn: Callable[[Connection], object]) -> object:
        """Run a core command and send what it queued, in sealing order.

        An application thread waits for the send token. The reader thread (event handlers,
        keepalives) never waits: its output goes with the token's holder, or as far as the
        socket takes it now (see the module docstring).
        """
        if threading.current_thread() is self:
            with self._lock:
                result = fn(self._require_core())
            self._flush_nowait()
            return result
        with self._lock:
            core = self._require_core()
            self._take_token(None)
            try:
                result = fn(core)
                out = core.data_to_send()
            except BaseException:
                self._give_back_locked()
                raise
        self._drain(out, None)
        return result

    def _require_core(self) -> Connection:
        if self._core is None or not self.active:
            raise SSHException("SSH session not active")
        return self._core

    def _wait(
        self,
        predicate: Callable[[], bool],
        timeout: float | None,
        what: str,
        cond: threading.Condition | None = None,
        counted: bool = True,
    ) -> None:
        """Wait on ``cond`` (the core condition, or one built on the core lock: a channel's)
        until ``predicate`` holds; raise if the transport dies. ``counted``: the socket must
        be read for it (no loan to a ``recv()`` while this waits; see _lent_read)."""
        cond = cond or self._cond
        deadline = None if timeout is None else time.monotonic() + timeout
        with cond:
            while not predicate():
                if not self.active:
                    exc = self.saved_exception
                    raise SSHException(f"transport closed while waiting for {what}") from exc
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise SSHException(f"timed out waiting for {what}")
                if counted:
                    self._counted_wait_locked(cond, remaining)
                else:
                    self._want_reader_locked()
                    cond.wait(remaining)

    def _wake_all(self) -> None:
        with self._cond:
            self._cond.notify_all()
            self._send_cond.notify_all()
            self._read_cond.notify_all()
        if self.completion_event is not None:
            self.completion_event.set()

    def _die(self, exc: BaseException | None) -> None:
        with self._lock:
            if exc is not None and self.saved_exception is None:
                self.saved_exception = exc
            self.active = False
            channels = list(self._channels.values())
            self._channels.clear()
            cause = self.saved_exception if not self._closed else None
            for chan in channels:
                chan._on_transport_closed(cause)
        self._wake_all()

    # -------------------------------------------------------------------- reader thread

    def run(self) -> None:
        """The reader loop: receive, feed the core, flush, dispatch events."""
        started = self._reader_started = time.monotonic()
        selector: selectors.BaseSelector | None = None
        try:
            # the socket stays blocking (a send timeout would kill slow-reading peers); the
            # reader waits for input with a selector so it can wake for its deadlines
            if isinstance(self.sock, socket.socket) and self.sock.gettimeout() is not None:
                # paramiko's Transport puts its own timeout (0.1 s) on the socket it is given;
                # we make it blocking instead, so that a timeout left by the application
                # (SSHClient.connect(timeout=...), sshtunnel) does not cost the kernel
                # receive timeout below and the lent reads; the shell keeps every deadline
                self.sock.settimeout(None)
            try:
                fd = self.sock.fileno()
                selector = selectors.DefaultSelector()
                selector.register(fd, selectors.EVENT_READ)
            except (AttributeError, OSError, ValueError):
                selector = None
                settimeout = getattr(self.sock, "settimeout", None)
                if settimeout is not None:
                    settimeout(_POLL_SECONDS)
            self._flush_nowait()
            # one reused receive buffer (a fresh object per recv() costs page faults), small
            # while the connection is idle or interactive, grown once a read fills it
            buffer = bytearray(_FIRST_READ_SIZE)
            view = memoryview(buffer)
            recv_into = getattr(self.sock, "recv_into", None)
            writing = False  # also waiting for room to send the rest of _unsent
            # a blocking socket: wait in recv() itself, with a receive timeout for the
            # deadlines, unless there is output to watch for room: one system call per read
            timed_recv = selector is not None and _set_receive_timeout(self.sock, _POLL_SECONDS)
            # the read side may be lent to a waiting recv() (see _lent_read) on a real socket
            if not (timed_recv and isinstance(self.sock, socket.socket)):
                self._no_loans = True
            while self.active:
                if selector is not None and not (
                    timed_recv and not writing and not (self._unsent and not self._sending)
                ):
                    if writing is not (bool(self._unsent) and not self._sending):
                        writing = not writing
                        selector.modify(fd, _READ_WRITE if writing else selectors.EVENT_READ)
                    ready = selector.select(_POLL_SECONDS)
                    if not ready:
                        self._on_idle(started)
                        continue
                    if writing:
                        self._flush_nowait()
                        if not ready[0][1] & selectors.EVENT_READ:
                            continue
                try:
                    if recv_into is not None:
                        data: bytes | memoryview = view[: recv_into(buffer)]
                    else:  # socket-likes without recv_into (e.g. a ProxyCommand)
                        data = self.sock.recv(_READ_SIZE)
                except (TimeoutError, BlockingIOError):  # BlockingIOError: SO_RCVTIMEO passed
                    self._on_idle(started)
                    continue
                except OSError as exc:
                    if not self.is_active():
                        break
                    raise SSHException(f"socket error while receiving: {exc}") from exc
                self._lend_hint = False  # set again if this read feeds a waiting recv()
                self._feed(data)
                if not data:
                    break
                if self._lend_hint and not self._lend_after_feed():
                    break
                if len(data) == len(buffer) < _READ_SIZE:  # busy: read more per call
                    buffer = bytearray(min(_READ_SIZE, 4 * len(buffer)))
                    view = memoryview(buffer)
        except BaseException as exc:  # the reader thread must end cleanly on anything
            if self.active:
                self._log(logging.ERROR, "transport error: %s", exc)
            self._die(exc if isinstance(exc, Exception) else None)
        else:
            self._die(None)
        finally:
            if selector is not None:
                selector.close()
            try:
                # a writer blocked in send() on this socket wakes only on a shutdown (close()
                # alone would leave it blocked for ever)
                self.sock.shutdown(socket.SHUT_RDWR)
            except (OSError, AttributeError):
                pass
            try:
                self.sock.close()
            except OSError:  # pragma: no cover
                pass

    def _flush(self, wait: bool = True) -> None:
        """Application threads: send what the core has sealed.

        With ``wait`` (senders of channel data, who must not run ahead of the socket) wait
        for the send token. Without, leave the output to the token's holder, if there is one.
        """
        core = self._require_core()
        if not core.has_data_to_send and not self._unsent:
            return
        with self._lock:
            if self._sending and not wait:
                return  # the holder sends it before it gives the token back
            self._take_token(None)
            out = core.data_to_send()
        self._drain(out, None)

    def _flush_nowait(self) -> None:
        """The reader thread's flush: it waits neither for the token nor for the socket."""
        core = self._core
        if core is None or (not core.has_data_to_send and not self._unsent):
            return
        with self._lock:
            if self._sending:
                return  # the holder sends it before it gives the token back
            self._sending = True
            out = core.data_to_send()
        try:
            self._drain(out, 0.0)
        except TimeoutError:
            pass  # the rest waits in _unsent; the reader loop watches for room

    def _check_deadlines(self, started: float, now: float) -> None:
        """Banner, handshake and (server) login deadlines; raise when one has passed."""
        core = self._core
        assert core is not None
        if core.phase is Phase.VERSION and now - started > self.banner_timeout:
            raise SSHException("Error reading SSH protocol banner: no banner before the timeout")
        if (
            not self.initial_kex_done
            and now - started > self.banner_timeout + self.handshake_timeout
        ):
            raise SSHException("Negotiation timed out (handshake_timeout)")
        self._check_server_deadlines(now)

    def _on_idle(self, started: float) -> None:
        now = time.monotonic()
        self._check_deadlines(started, now)
        interval = self._keepalive_interval
        if not interval or not self.initial_kex_done:
            return
        if self.keepalive_count_max > 0:
            # dead-peer detection (OpenSSH's ServerAliveInterval/ServerAliveCountMax): a
            # keepalive that wants a reply after each silent interval; any packet resets
            if now - max(self._last_recv, self._last_probe) >= interval:
                if self._probes_unanswered >= self.keepalive_count_max:
                    raise SSHException(
                        f"Timeout: the peer answered none of {self._probes_unanswered} "
                        f"keepalives sent {interval:g}s apart"
                    )
                self._probes_unanswered += 1
                self._last_probe = now
                with self._lock:
                    self._global_wanted += 1
                self._command(lambda core: core.global_request("keepalive@openssh.com", True))
        elif now - self._last_send >= interval:
            self._command(lambda core: core.global_request("keepalive@lag.net", False))

    def _feed(self, data: bytes | memoryview) -> None:
        later, error = self._feed_core(data)
        if error is not None:
            # send the DISCONNECT the core queued, then give up
            try:
                self._flush_nowait()
            except (OSError, SSHException):
                pass
            raise error
        self._flush_nowait()
        if later:
            for event in later:
                self._handle_event(event)
            self._flush_nowait()

    def _feed_core(self, data: bytes | memoryview) -> tuple[list[ev.Event], BaseException | None]:
        """Whoever reads (the reader, or a lent recv()): give the core what arrived and apply
        the channel events; return the events left for :meth:`_handle_event` and the error
        the core raised (kept as the transport's cause), if any."""
        core = self._core
        assert core is not None
        now = self._last_recv = time.monotonic()
        self._probes_unanswered = 0
        if not self.authenticated:  # a busy peer must not outlive the deadlines either
            self._check_deadlines(self._reader_started, now)
        error: BaseException | None = None
        with self._lock:
            try:
                events = core.receive_data(data)
            except BaseException as exc:
                error, events = exc, []
                if self.saved_exception is None:
                    self.saved_exception = exc
            later = self._apply_events_locked(events)
        return later, error

    def _apply_events_locked(self, events: list[ev.Event]) -> list[ev.Event]:
        """Apply channel events in wire order (core lock held); return the ones left for
        :meth:`_handle_event`: from the first that needs the application on, all wait.

        Data is appended packet by packet, but a channel is woken once per run of its data
        packets, not once per packet (a 256 KiB read holds eight).
        """
        channels = self._channels
        pending: Channel | None = None  # holds data that its readers have not been told of
        for i, event in enumerate(events):
            if type(event) is ev.ChannelData:
                chan = channels.get(event.channel)
                if chan is not None:
                    if chan is not pending:
                        if pending is not None:
                            pending._announce()
                        pending = chan
                    if event.ext is None:
                        chan.in_buffer.append(event.data)
                    else:
                        chan._on_data(event.data, event.ext, False)
                    continue
            if pending is not None:
                pending._announce()
                pending = None
            if not self._channel_event_locked(event):
                return events[i:]
        if pending is not None:
            pending._announce()
        return []

    def _channel_event_locked(self, event: ev.Event) -> bool:
        """Apply a channel event under the core lock; False if it is not one."""
        if isinstance(event, ev.ChannelData):
            chan = self._channels.get(event.channel)
            if chan is not None:
                chan._on_data(event.data, event.ext)
            elif self._core is not None:
                self._core.channels.consumed(event.channel, len(event.data))
        elif isinstance(event, ev.ChannelWindowAdjusted):
            chan = self._channels.get(event.channel)
            if chan is not None:
                chan._on_window(event.window)
        elif isinstance(event, ev.ChannelEof):
            chan = self._channels.get(event.channel)
            if chan is not None:
                chan._on_eof()
        elif isinstance(event, ev.ChannelClosed):
            chan = self._channels.pop(event.channel, None)
            if chan is not None:
                chan._on_remote_close()
        elif isinstance(event, ev.ChannelRequestReply):
            chan = self._channels.get(event.channel)
            if chan is not None:
                chan._on_reply(event.name, event.success)
        elif isinstance(event, ev.ChannelRequestReceived) and not self.server_mode:
            # applied in order with the data and CLOSE around it; the reply is only sealed
            # here (the flush after the batch sends it)
            chan = self._channels.get(event.channel)
            ok = None if chan is None else chan._on_request(event.name, event.data)
            if event.want_reply and self._core is not None:
                self._core.channels.reply(event.channel, bool(ok))
        elif isinstance(event, ev.ChannelOpenConfirmed | ev.ChannelOpenFailed):
            if isinstance(event, ev.ChannelOpenConfirmed):
                self._open_results[event.channel] = (True, 0, "")
            else:
                self._open_results[event.channel] = (False, event.reason, event.description)
            # wake only the opener (64 concurrent opens would wake each other 64 times)
            chan = self._channels.get(event.channel)
            (self._cond if chan is None else chan._cond).notify_all()
        else:
            return False
        return True

    def _handle_event(self, event: ev.Event) -> None:
        core = self._core
        assert core is not None
        with self._lock:  # channel events deferred behind an earlier one (wire order)
            if self._channel_event_locked(event):
                return
        if isinstance(event, ev.VersionReceived):
            self.remote_version = event.version
            self._log(logging.DEBUG, "remote version %s", event.version)
        elif isinstance(event, ev.KexCompleted):
            self._on_kex_completed(event, core)
        elif isinstance(event, ev.ExtInfoReceived):
            with self._cond:
                self.server_extensions.update(event.extensions)
        elif isinstance(event, ev.ServiceAccepted):
            with self._cond:
                self._service_accepted = True
                self._cond.notify_all()
        elif isinstance(event, ev.AuthBanner):
            self._auth_banner = event.message
        elif isinstance(
            event,
            ev.AuthSucceeded
            | ev.AuthFailed
            | ev.AuthPkOk
            | ev.AuthInfoRequest
            | ev.AuthPasswordChangeRequired,
        ):
            with self._cond:
                if isinstance(event, ev.AuthSucceeded):
                    self.authenticated = True
                self._auth_result = event
                self._cond.notify_all()
        elif isinstance(event, ev.GlobalReplyReceived):
            with self._cond:
                self._global_replies.append(event)
                self._cond.notify_all()
        elif isinstance(event, ev.UnimplementedReceived):
            # a peer that does not know GLOBAL_REQUEST (sshd before auth) answers with
            # UNIMPLEMENTED: count it as a failed reply so the caller does not wait forever
            with self._cond:
                if self._global_wanted > len(self._global_replies):
                    self._global_replies.append(ev.GlobalReplyReceived(False, b""))
                    self._cond.notify_all()
        elif isinstance(event, ev.GlobalRequestReceived):
            if self.server_mode and self.authenticated:
                self._server_global_request(event)
            elif event.want_reply:
                self._command(lambda core: core.global_reply(False))
        elif isinstance(event, ev.ChannelOpenRequested):
            if self.server_mode:
                self._server_open_request(event)
            else:
                self._on_channel_open_request(event)
        elif isinstance(event, ev.ChannelRequestReceived):
            self._server_channel_request(event)
        elif isinstance(event, ev.AuthRequested):
            self._on_auth_requested(event)
        elif isinstance(event, ev.AuthInfoResponse):
            self._on_auth_info_response(event)
        elif isinstance(event, ev.PeerDisconnected):
            self._log(logging.INFO, "disconnected by peer: %s", event.description)
            self._die(SSHException(f"disconnected by the server: {event.description}"))
        elif isinstance(event, ev.ConnectionLost):
            self._die(SSHException("connection closed by the server"))
        elif isinstance(event, ev.DebugReceived):
            self._log(logging.DEBUG, "peer debug message: %s", event.message)

    def _on_kex_completed(self, event: ev.KexCompleted, core: Connection) -> None:
        n = event.negotiated
        key = _pkey_from_blob(event.host_key)
        with self._cond:
            self.host_key = key
            self.host_key_type = n.host_key
            self.session_id = core.session_id
            self.agreed_on_strict_kex = core.strict_kex
            self.initial_kex_done = True
            self._kex_generation += 1
            self._cond.notify_all()
            for chan in self._channels.values():  # senders paused for the exchange
                chan._cond.notify_all()
        self._log(
            logging.DEBUG,
            "kex done: %s, host key %s, ciphers %s/%s, macs %s/%s",
            n.kex,
            n.host_key,
            n.cipher_cs,
            n.cipher_sc,
            n.mac_cs,
            n.mac_sc,
        )
        if self.completion_event is not None:
            self.completion_event.set()

    # -------------------------------------------------------------------- transport commands

    def send_ignore(self, byte_count: int | None = None) -> None:
        if byte_count is None:
            byte_count = 10 + os.urandom(1)[0] % 32
        data = os.urandom(byte_count)
        self._command(lambda core: core.send_ignore(data))

    def renegotiate_keys(self) -> None:
        """Start a new key exchange and wait until it is done."""
        with self._lock:
            generation = self._kex_generation
        self._command(lambda core: core.start_rekey())
        self._wait(lambda: self._kex_generation > generation, self.handshake_timeout, "rekey")

    def set_keepalive(self, interval: float) -> None:
        """Send a keepalive after ``interval`` idle seconds (0 turns them off).

        Set :attr:`keepalive_count_max` as well to also detect a dead peer.
        """
        self._keepalive_interval = float(interval)

    def global_request(
        self, kind: str, data: Iterable[Any] | None = None, wait: bool = True
    ) -> Message | None:
        extra = Message()
        if data is not None:
            extra.add(*data)
        with self._lock:
            start = self._global_wanted
            if wait:
                self._global_wanted += 1
        self._command(lambda core: core.global_request(kind, wait, extra.asbytes()))
        if not wait:
            return None
        self._wait(lambda: len(self._global_replies) > start, None, "a global request reply")
        reply = self._global_replies[start]
        return Message(reply.data) if reply.success else None


def _set_receive_timeout(sock: Any, seconds: float) -> bool:
    """Give a blocking socket a kernel receive timeout (Linux; True if it is set).

    A blocking ``recv`` then returns (``BlockingIOError``) after ``seconds`` without data, so
    the reader needs no selector call before each read. Sends are not affected.
    """
    if (
        not sys.platform.startswith("linux")
        or not isinstance(sock, socket.socket)
        or sock.gettimeout() is not None
    ):
        return False
    whole = int(seconds)
    try:
        sock.setsockopt(
            socket.SOL_SOCKET,
            socket.SO_RCVTIMEO,
            struct.pack("@ll", whole, int((seconds - whole) * 1_000_000)),
        )
    except OSError:
        return False
    return True


def _key_type_for_alg(algorithm: str) -> str:
    if algorithm.startswith("rsa-sha2-"):
        return "ssh-rsa" + ("-cert-v01@openssh.com" if algorithm.endswith("@openssh.com") else "")
    return algorithm


def _pkey_from_blob(blob: bytes) -> PKey:
    """A PKey for a host key blob; for a certificate, the plain key with the cert loaded."""
    from ._proto.algorithms.hostkey import PublicKey
    from .pkey import PKey, PublicBlob

    public = PublicKey.from_blob(blob)
    if public.cert is None:
        return PKey.from_type_string(public.key_type, blob)
    plain = public.plain()
    key = PKey.from_type_string(plain.key_type, plain.blob)
    key.load_certificate(PublicBlob(public.key_type, blob))
    return key


def _close_socket(sock: Any) -> None:
    try:
        sock.close()
    except Exception:  # pragma: no cover - best effort in a finalizer
        pass


# paramiko.transport's other public classes, kept in their own module to keep this one short
from ._service_requesting import ChannelMap as ChannelMap  # noqa: E402
from ._service_requesting import (  # noqa: E402
    ServiceRequestingTransport as ServiceRequestingTransport,
)

"""Channels: paramiko's ``Channel`` and its file objects, over the core's channel table.

Theory of operation
-------------------
A :class:`Channel` is the threaded face of one entry in the core's channel table. The reader
thread appends incoming data to ``in_buffer``/``in_stderr_buffer`` and notifies the channel's
condition, which is built on the transport's core lock (so window, recv and exit-status waits
never invert the lock order). Calls from user threads wait on that condition with a deadline
and wake at once when the channel or the transport closes.

Flow control: bytes the application takes out of a buffer are reported to the core, which
returns window to the peer. To avoid the classic deadlock where a command fills the window
with stderr while the caller reads only stdout (or the reverse), a reader that has to wait
while the *other* stream holds data credits that data back to the peer, up to
``STREAM_BACKLOG_LIMIT`` bytes per stream (see docs/compat.md).

``fileno()`` is a pipe created on first use: one byte sits in it exactly while ``recv`` would
not block (data, EOF or close), so ``select``/``poll``/``selectors`` work on it.
"""

from __future__ import annotations

import binascii
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from . import util
from ._proto import constants as c
from ._proto import wire
from ._proto.errors import DecodeError
from .file import BufferedFile
from .ssh_exception import SSHException

if TYPE_CHECKING:
    from .transport import Transport

#: Unread bytes one stream may hold beyond the window before the peer is throttled while the
#: application waits on the other stream (the stderr-flood deadlock guard).
STREAM_BACKLOG_LIMIT = 16 * 1024 * 1024


class _Stream:
    """One inbound stream's buffer and the window credit already given for it.

    The data messages' bytes are queued as they arrived and copied once, when ``recv`` takes
    them (a ``bytearray`` that is appended to and cut from the front copies each byte several
    times as it grows and shrinks); a read that takes exactly one whole message copies nothing.
    """

    __slots__ = ("_chunks", "_offset", "credited", "size")

    def __init__(self) -> None:
        self._chunks: deque[bytes] = deque()
        self._offset = 0  # bytes already taken from the first chunk
        self.size = 0  # bytes buffered
        self.credited = 0  # buffered bytes already returned to the peer's window

    def __len__(self) -> int:
        return self.size

    def append(self, data: bytes) -> None:
        if data:
            self._chunks.append(data if type(data) is bytes else bytes(data))
            self.size += len(data)

    def take(self, nbytes: int) -> bytes:
        """Remove and return up to ``nbytes`` from the front."""
        chunks = self._chunks
        offset = self._offset
        if not offset and nbytes >= self.size:  # all of it (the bulk reader's case)
            self.size = 0
            if len(chunks) == 1:
                return chunks.popleft()
            data = b"".join(chunks)
            chunks.clear()
            return data
        want = min(max(nbytes, 0), self.size)
        parts: list[bytes | memoryview] = []
        got = 0
        while got < want:
            chunk = chunks[0]
            step = min(len(chunk) - offset, want - got)
            whole = not offset and step == len(chunk)
            parts.append(chunk if whole else memoryview(chunk)[offset : offset + step])
            got += step
            offset += step
            if offset == len(chunk):
                chunks.popleft()
                offset = 0
        self._offset = offset
        self.size -= got
        return b"".join(parts)

    def move_to(self, other: _Stream) -> None:
        """Append everything buffered here (and its credit) to ``other``."""
        other.append(self.take(self.size))
        other.credited += self.credited
        self.credited = 0


def open_only(func: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator: the method raises ``SSHException`` on a channel that is closed or not open."""

    def wrapper(self: Channel, *args: Any, **kwargs: Any) -> Any:
        if self.closed or self.eof_received or self.eof_sent or not self.active:
            raise SSHException("Channel is not open")
        return func(self, *args, **kwargs)

    wrapper.__name__ = func.__name__
    wrapper.__qualname__ = func.__qualname__
    wrapper.__doc__ = func.__doc__
    wrapper.__wrapped__ = func  # type: ignore[attr-defined]
    return wrapper


class Channel(util.ClosingContextManager):
    """One SSH channel, used like a socket (paramiko's ``Channel``)."""

    def __init__(self, chanid: int) -> None:
        self.chanid = chanid
        self.remote_chanid = 0
        self.transport: Transport | None = None
        self.active = False
        self.eof_received = 0
        self.eof_sent = 0
        self.in_buffer = _Stream()
        self.in_stderr_buffer = _Stream()
        self.timeout: float | None = None
        self.closed = False
        self.ultra_debug = False
        self.lock: threading.Lock = threading.Lock()
        self._cond = threading.Condition(self.lock)
        self.in_window_size = 0
        self.out_window_size = 0
        self.in_max_packet_size = 0
        self.out_max_packet_size = 0
        self.status_event = threading.Event()
        self._name = str(chanid)
        self.logger = util.get_logger("sshwire.transport")
        self.event = threading.Event()
        self.event_ready = False
        self.combine_stderr = False
        self.exit_status = -1
        self.exit_signal: str | None = None
        self.origin_addr: Any = None
        self.kind = "session"
        self._pipe: tuple[int, int] | None = None
        self._pipe_set = False
        self._replies: list[tuple[str, bool]] = []
        self._requests_sent = 0
        self._remote_closed = False
        self._x11_handler: Any = None
        self._agent_handler: Any = None
        self._lost: BaseException | None = None  # why the transport died under us, if it did
        # streams that callers are blocked on (None: waiting for the exit status)
        self._waiting: list[_Stream | None] = []
        self._window_waiters = 0  # senders waiting on the condition for window (or a rekey)

    def __repr__(self) -> str:
        out = f"<sshwire.Channel {self.chanid}"
        if self.closed:
            out += " (closed)"
        elif self.active:
            if self.eof_received:
                out += " (EOF received)"
            if self.eof_sent:
                out += " (EOF sent)"
            out += f" (open) window={self.out_window_size}"
            if len(self.in_buffer):
                out += f" in-buffer={len(self.in_buffer)}"
        out += " -> " + repr(self.transport) + ">"
        return out

    def __del__(self) -> None:
        try:
            self._close_pipe()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass

    # -------------------------------------------------------------- attachment (transport)

    def _attach(self, transport: Transport, window: int, max_packet: int) -> None:
        self.transport = transport
        self.lock = transport._lock
        self._cond = threading.Condition(self.lock)
        self.in_window_size = window
        self.in_max_packet_size = max_packet
        self.logger = transport.logger

    def _core_state(self) -> Any:
        assert self.transport is not None and self.transport._core is not None
        return self.transport._core.channels.channels.get(self.chanid)

    # -------------------------------------------------------------- naming and ids

    def get_transport(self) -> Transport | None:
        return self.transport

    def set_name(self, name: str) -> None:
        self._name = name

    def get_name(self) -> str:
        return self._name

    def get_id(self) -> int:
        return self.chanid

    def getpeername(self) -> Any:
        assert self.transport is not None
        return self.transport.getpeername()

    def set_combine_stderr(self, combine: bool) -> bool:
        with self.lock:
            old = self.combine_stderr
            self.combine_stderr = combine
            if combine and not old and len(self.in_stderr_buffer):
                self.in_stderr_buffer.move_to(self.in_buffer)
                self._update_pipe()
        return old

    # -------------------------------------------------------------- timeouts

    def settimeout(self, timeout: float | None) -> None:
        self.timeout = timeout

    def gettimeout(self) -> float | None:
        return self.timeout

    def setblocking(self, blocking: int | bool) -> None:
        self.settimeout(None if blocking else 0.0)

    # -------------------------------------------------------------- requests

    def _request(self, name: str, data: bytes = b"", want_reply: bool = True) -> None:
        """Send a channel request; with ``want_reply``, wait for the answer."""
        transport = self._require_transport()
        with self.lock:
            index = self._requests_sent
            if want_reply:
                self._requests_sent += 1
        transport._command(
            lambda core: core.channels.send_request(self.chanid, name, want_reply, data)
        )
        if not want_reply:
            return
        deadline = time.monotonic() + transport.channel_timeout
        with self._cond:
            while len(self._replies) <= index:
                if self.closed or not transport.active:
                    exc = transport.saved_exception
                    raise SSHException("Channel closed.") from exc
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise SSHException(f"timed out waiting for the reply to {name!r}")
                self._wait_counted(remaining)
            ok = self._replies[index][1]
        if not ok:
            # as paramiko: a refused request closes the channel
            self.close()
            raise SSHException("Channel closed.")

    def _require_transport(self) -> Transport:
        if self.transport is None:
            raise SSHException("Channel is not attached to a transport")
        return self.transport

    @open_only
    def get_pty(
        self,
        term: str | bytes = "vt100",
        width: int = 80,
        height: int = 24,
        width_pixels: int = 0,
        height_pixels: int = 0,
    ) -> None:
        """Ask for a pseudo-terminal (RFC 4254 §6.2)."""
        data = b"".join(
            (
                wire.string(term),
                wire.uint32(width),
                wire.uint32(height),
                wire.uint32(width_pixels),
                wire.uint32(height_pixels),
                wire.string(b""),  # no terminal modes
            )
        )
        self._request("pty-req", data)

    @open_only
    def invoke_shell(self) -> None:
        self._request("shell")

    @open_only
    def exec_command(self, command: str | bytes) -> None:
        self._request("exec", wire.string(command))

    @open_only
    def invoke_subsystem(self, subsystem: str | bytes) -> None:
        self._request("subsystem", wire.string(subsystem))

    @open_only
    def resize_pty(
        self, width: int = 80, height: int = 24, width_pixels: int = 0, height_pixels: int = 0
    ) -> None:
        data = b"".join(wire.uint32(v) for v in (width, height, width_pixels, height_pixels))
        self._request("window-change", data, want_reply=False)

    @open_only
    def update_environment(self, environment: Mapping[str | bytes, str | bytes]) -> None:
        for name, value in environment.items():
            try:
                self.set_environment_variable(name, value)
            except SSHException as exc:
                raise SSHException(f'Failed to set environment variable "{name!r}".') from exc

    @open_only
    def set_environment_variable(self, name: str | bytes, value: str | bytes) -> None:
        self._request("env", wire.string(name) + wire.string(value), want_reply=False)

    def exit_status_ready(self) -> bool:
        ready = self.closed or self.status_event.is_set()
        if not ready and self.transport is not None:
            self.transport._want_reader()  # a poller relies on the socket being read
        return ready

    def recv_exit_status(self) -> int:
        """Wait for the command's exit status (-1 if the server sends none).

        Unlike paramiko, this does not hang when the command's unread output exceeds the
        window: while it waits, output is buffered (up to ``STREAM_BACKLOG_LIMIT`` per
        stream) so the command can finish.
        """
        transport = self.transport
        with self._cond:
            self._waiting.append(None)
            credited = self._credit_locked(self.in_buffer)
            credited = self._credit_locked(self.in_stderr_buffer) or credited
            if transport is not None:
                transport._waiters += 1
                transport._want_reader_locked()
        try:
            if credited:
                self._flush()
            self.status_event.wait()
        finally:
            with self._cond:
                self._waiting.remove(None)
                if transport is not None:
                    transport._waiters -= 1
        if self.exit_status == -1 and self.exit_signal is None and self._lost is not None:
            raise SSHException(
                f"connection lost before the exit status arrived: {self._lost}"
            ) from self._lost
        return self.exit_status

    def send_exit_status(self, status: int) -> None:
        self._require_transport()._command(
            lambda core: core.channels.send_request(
                self.chanid, "exit-status", False, wire.uint32(status)
            )
        )

    @open_only
    def request_x11(
        self,
        screen_number: int = 0,
        auth_protocol: str | bytes | None = None,
        auth_cookie: str | bytes | None = None,
        single_connection: bool = False,
        handler: Callable[..., Any] | None = None,
    ) -> bytes:
        """Ask for X11 forwarding; a random 128-bit cookie is made when none is given."""
        if auth_protocol is None:
            auth_protocol = "MIT-MAGIC-COOKIE-1"
        if auth_cookie is None:
            auth_cookie = binascii.hexlify(os.urandom(16))
        data = b"".join(
            (
                wire.boolean(single_connection),
                wire.string(auth_protocol),
                wire.string(auth_cookie),
                wire.uint32(screen_number),
            )
        )
        self._request("x11-req", data)
        transport = self._require_transport()
        transport._set_x11_handler(handler)
        return auth_cookie if isinstance(auth_cookie, bytes) else auth_cookie.encode()

    @open_only
    def request_forward_agent(self, handler: Callable[..., Any]) -> bool:
        """Ask for agent forwarding on this session (OpenSSH's ``auth-agent-req``).

        As paramiko, without waiting for an answer: OpenSSH accepts one such request per
        connection and refuses the later ones, yet every session of the connection sees the
        forwarded agent (fabric asks again on each session it opens).
        """
        self._request("auth-agent-req@openssh.com", want_reply=False)
        self._require_transport()._set_forward_agent_handler(handler)
        return True

    # -------------------------------------------------------------- receiving

    def recv_ready(self) -> bool:
        with self.lock:
            return self._ready_locked(self.in_buffer)

    def recv_stderr_ready(self) -> bool:
        with self.lock:
            return self._ready_locked(self.in_stderr_buffer)

    def _ready_locked(self, stream: _Stream) -> bool:
        if stream.size:
            return True
        if self.transport is not None:  # a poller relies on the socket being read
            self.transport._want_reader_locked()
        return False

    def recv(self, nbytes: int) -> bytes:
        """Up to ``nbytes`` of data; ``b""`` once the stream has ended."""
        return self._recv_from(self.in_buffer, nbytes)

    def recv_stderr(self, nbytes: int) -> bytes:
        return self._recv_from(self.in_stderr_buffer, nbytes)

    def _recv_from(self, stream: _Stream, nbytes: int) -> bytes:
        timeout = self.timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        other = self.in_stderr_buffer if stream is self.in_buffer else self.in_buffer
        while True:
            with self.lock:  # the condition's lock (a plain lock's `with` is cheaper)
                if stream.size:
                    data = stream.take(nbytes)
                    due = len(data)
                    if stream.credited:  # part of it was returned to the window already
                        ahead = min(due, stream.credited)
                        stream.credited -= ahead
                        due -= ahead
                    if due:
                        self._core_consumed(due)
                    if self._pipe is not None:
                        self._update_pipe()
                    break
                transport = self.transport
                if self.closed or self.eof_received or transport is None or not transport.active:
                    return b""
                # the deadlock guard: data parked in the other stream must not hold the window
                credited = self._credit_locked(other)
                if not credited:
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        raise TimeoutError()
                    if not transport._take_read_locked():
                        self._waiting.append(stream)
                        try:
                            transport._counted_wait_locked(self._cond, remaining)
                        finally:
                            self._waiting.remove(stream)
                        continue
            if not credited:  # the read side is ours: read until our data is here

                def done() -> bool:  # core lock held: what ends the lent read
                    return bool(
                        stream.size
                        or (other.credited < other.size <= STREAM_BACKLOG_LIMIT)
                        or self.closed
                        or self.eof_received
                    )

                transport._read_lent(done, deadline)
                continue
            self._flush()  # send the WINDOW_ADJUST the credit sealed, then look again
        if due:
            self._flush()
        return data

    def _core_consumed(self, count: int) -> None:
        """Report consumed bytes to the core (core lock held)."""
        transport = self.transport
        if transport is not None and transport._core is not None:
            try:
                transport._core.channels.consumed(self.chanid, count)
            except SSHException:  # the connection just closed: no window to return; the
                pass  # transport's death wakes every reader with the end of the stream

    def _credit_locked(self, stream: _Stream) -> bool:
        """Return ``stream``'s uncredited backlog to the peer's window, within the limit."""
        backlog = stream.size - stream.credited
        if backlog > 0 and stream.size <= STREAM_BACKLOG_LIMIT:
            stream.credited += backlog
            self._core_consumed(backlog)
            return True
        return False

    def _flush(self) -> None:
        """Send the WINDOW_ADJUST a read sealed (left to a sender holding the socket)."""
        transport = self.transport
        if transport is not None and transport.active:
            try:
                transport._flush(wait=False)
            except SSHException:
                pass

    # -------------------------------------------------------------- sending

    def send_ready(self) -> bool:
        with self.lock:
            if self.closed or self.eof_sent:
                return True
            state = self._core_state()
            return state is None or state.remote_window > 0

    def send(self, s: bytes | str) -> int:
        return self._send(util.asbytes(s), None)

    def send_stderr(self, s: bytes | str) -> int:
        return self._send(util.asbytes(s), c.EXTENDED_DATA_STDERR)

    def sendall(self, s: bytes | str | memoryview) -> None:
        self._sendall(s if isinstance(s, memoryview) else util.asbytes(s), None)

    def sendall_stderr(self, s: bytes | str | memoryview) -> None:
        data = s if isinstance(s, memoryview) else util.asbytes(s)
        self._sendall(data, c.EXTENDED_DATA_STDERR)

    def _sendall(self, data: bytes | memoryview, ext: int | None) -> None:
        view = memoryview(data)
        timeout = self.timeout  # with a timeout, one deadline for the whole call
        deadline = None if timeout is None else time.monotonic() + timeout
        while view:
            if self.closed:
                raise OSError("Socket is closed")
            if deadline is None:
                sent = self._send(view, ext)
            else:
                sent = self._send_within(view, ext, deadline)
            if sent == 0 and (self.closed or self.eof_sent):
                raise OSError("Socket is closed")
            view = view[sent:]

    def _wait_window(self, nbytes: int, patience: float) -> bool:
        """Wait until the peer's window holds ``nbytes``, at most ``patience`` seconds.

        For bulk senders (SFTP uploads): one large send once the window has room, instead of
        a sliver after every WINDOW_ADJUST. Returns at once (False) on a closing channel.
        """
        transport = self.transport
        deadline = time.monotonic() + patience
        with self._cond:
            while True:
                if transport is None or transport._core is None or not transport.active:
                    return False
                state = self._core_state()
                if state is None or self.closed or self.eof_sent:
                    return False
                if state.remote_window >= nbytes:
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._wait_for_window(remaining)

    def _wait_for_window(self, timeout: float | None = None) -> None:
        """Core lock held: wait on the condition as a sender (see :meth:`_on_window`)."""
        self._window_waiters += 1
        try:
            self._wait_counted(timeout)
        finally:
            self._window_waiters -= 1

    def _wait_counted(self, timeout: float | None) -> None:
        """Core lock held: wait on the condition for something only a read can bring."""
        transport = self.transport
        if transport is None:
            self._cond.wait(timeout)
        else:
            transport._counted_wait_locked(self._cond, timeout)

    def _send(self, data: bytes | memoryview, ext: int | None) -> int:
        transport = self._require_transport()
        if self.timeout is not None:
            return self._send_within(data, ext, time.monotonic() + self.timeout)
        with self._cond:
            while True:
                if self.closed:
                    raise OSError("Socket is closed")
                if not transport.active:
                    raise OSError("Socket is closed")
                state = self._core_state()
                if state is None or self.eof_sent:
                    return 0
                core = transport._core
                assert core is not None
                # during a key exchange the core would only hold data back: wait instead
                if state.remote_window > 0 and not core.rekeying:
                    sent = core.channels.send_data(self.chanid, data, ext)
                    self.out_window_size = state.remote_window
                    break
                self._wait_for_window()
        try:
            transport._flush()
        except SSHException as exc:  # the connection died under us: a socket error, as paramiko
            raise OSError("Socket is closed") from exc
        return sent

    def _send_within(self, data: bytes | memoryview, ext: int | None, deadline: float) -> int:
        """``send`` under ``settimeout``: ``TimeoutError`` when nothing could be sent in time.

        The deadline bounds the waits for window, for the transport's send token and for
        room in the socket. Data is taken only once everything sent before it is on the
        socket, so a peer that stopped reading makes this raise rather than queue without
        bound. Data taken but still unsent when the deadline passes stays queued, in order,
        and goes out with the next write (or when the socket drains): it counts as sent, as
        with a socket whose buffer took it.
        """
        transport = self._require_transport()
        while True:
            with self._cond:
                while True:
                    if self.closed or not transport.active:
                        raise OSError("Socket is closed")
                    state = self._core_state()
                    if state is None or self.eof_sent:
                        return 0
                    core = transport._core
                    if state.remote_window > 0 and core is not None and not core.rekeying:
                        break
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise TimeoutError()
                    self._wait_for_window(remaining)
            try:
                transport._begin_send(deadline)  # TimeoutError passes through
                sent, out = 0, b""
                with self._cond:
                    try:
                        state = self._core_state()
                        closing = self.closed or self.eof_sent or not transport.active
                        core = transport._core
                        if (
                            state is not None
                            and core is not None
                            and not closing
                            and not core.rekeying
                            and state.remote_window > 0
                        ):
                            sent = core.channels.send_data(self.chanid, data, ext)
                            self.out_window_size = state.remote_window
                            out = bytes(core.data_to_send())
                    except BaseException:
                        transport._give_back_locked()
                        raise
                try:
                    transport._drain(out, deadline)
                except TimeoutError:
                    pass  # what was taken goes out with the next write
            except SSHException as exc:  # the connection died under us
                raise OSError("Socket is closed") from exc
            if sent:
                return sent

    # -------------------------------------------------------------- shutting down

    def shutdown(self, how: int) -> None:
        if how in (0, 2):
            with self.lock:
                self.eof_received = 1
                self._update_pipe()
                self._cond.notify_all()
        if how in (1, 2):
            self.shutdown_write()

    def shutdown_read(self) -> None:
        self.shutdown(0)

    def shutdown_write(self) -> None:
        transport = self.transport
        if transport is None or self.eof_sent or self.closed or not self.active:
            return
        self.eof_sent = 1
        try:
            transport._command(lambda core: core.channels.send_eof(self.chanid))
        except SSHException:
            pass

    def close(self) -> None:
        """Close the channel; further reads return EOF and writes fail."""
        transport = self.transport
        with self.lock:
            if self.closed:
                return
            self.closed = True
            self.active = False
            self._update_pipe()
            self._cond.notify_all()
        self.status_event.set()
        if transport is not None and transport.active:
            try:
                transport._command(lambda core: core.channels.close(self.chanid))
            except SSHException:
                pass

    # -------------------------------------------------------------- called by the transport

    def _on_data(self, data: bytes, ext: int | None, announce: bool = True) -> None:
        """Reader thread, core lock held. With ``announce`` false the caller calls
        :meth:`_announce` once after a batch of packets (one wake-up per batch)."""
        if ext is None or self.combine_stderr:
            stream = self.in_buffer
        elif ext == c.EXTENDED_DATA_STDERR:
            stream = self.in_stderr_buffer
        else:  # unknown extended data: nobody can read it, give the window back
            self._core_consumed(len(data))
            return
        stream.append(data)
        if announce:
            self._announce()

    def _announce(self) -> None:
        """Core lock held: new data is buffered; credit what must keep flowing and wake the
        readers (only ``recv`` waits for data, and it registers in ``_waiting``)."""
        if self._pipe is not None:
            self._update_pipe()
        waiting = self._waiting
        if waiting:
            for stream in (self.in_buffer, self.in_stderr_buffer):
                if stream.size and (None in waiting or any(w is not stream for w in waiting)):
                    # someone waits on the other stream or on the exit status
                    self._credit_locked(stream)
            self._cond.notify_all()
            transport = self.transport
            if transport is not None and any(w is not None and w.size for w in waiting):
                transport._lend_hint = True  # a recv() wakes with data: it may read next

    def _on_window(self, window: int) -> None:
        self.out_window_size = window
        if self._window_waiters:  # an upload gets a WINDOW_ADJUST every 96 KiB from sshd
            self._cond.notify_all()

    def _on_eof(self) -> None:
        self.eof_received = 1
        self._update_pipe()
        self._cond.notify_all()

    def _on_remote_close(self) -> None:
        self._remote_closed = True
        self.closed = True
        self.active = False
        self._update_pipe()
        self._cond.notify_all()
        self.status_event.set()

    def _on_reply(self, name: str, success: bool) -> None:
        self._replies.append((name, success))
        self._cond.notify_all()

    def _on_request(self, name: str, data: bytes) -> bool | None:
        """A request from the peer (client side: exit status and signal); None if unknown."""
        r = wire.Reader(data)
        try:
            if name == "exit-status":
                self.exit_status = r.uint32()
                self.status_event.set()
                return True
            if name == "exit-signal":
                self.exit_signal = r.text()
                self.status_event.set()
                return True
        except DecodeError:  # malformed: refuse this request, keep the connection
            return False
        if name == "keepalive@openssh.com":
            return False
        return None

    def _on_transport_closed(self, cause: BaseException | None = None) -> None:
        if cause is not None and not self._remote_closed:
            self._lost = cause
        self.closed = True
        self.active = False
        self._update_pipe()
        self._cond.notify_all()
        self.status_event.set()

    # -------------------------------------------------------------- fileno

    def fileno(self) -> int:
        """A file descriptor that is readable exactly while ``recv`` would not block."""
        with self.lock:
            if self._pipe is None:
                transport = self.transport
                if transport is not None:  # select() users rely on the reader thread
                    transport._no_loans = True
                    transport._want_reader_locked()
                self._pipe = os.pipe()
                self._pipe_set = False
                self._update_pipe()
            return self._pipe[0]

    def _update_pipe(self) -> None:
        """Core lock held: keep one byte in the pipe while recv() would not block."""
        pipe = self._pipe
        if pipe is None:
            return
        ready = bool(self.in_buffer.size) or bool(self.eof_received) or self.closed
        if ready and not self._pipe_set:
            os.write(pipe[1], b"*")
            self._pipe_set = True
        elif not ready and self._pipe_set:
            os.read(pipe[0], 1)
            self._pipe_set = False

    def _close_pipe(self) -> None:
        pipe, self._pipe = self._pipe, None
        if pipe is not None:
            for fd in pipe:
                try:
                    os.close(fd)
                except OSError:  # pragma: no cover
                    pass

    # -------------------------------------------------------------- files

    def makefile(self, *params: Any) -> ChannelFile:
        return ChannelFile(*([self, *params]))

    def makefile_stderr(self, *params: Any) -> ChannelStderrFile:
        return ChannelStderrFile(*([self, *params]))

    def makefile_stdin(self, *params: Any) -> ChannelStdinFile:
        return ChannelStdinFile(*([self, *params]))


class ChannelFile(BufferedFile):
    """A file over a channel's stdout (reads) and its data stream (writes)."""

    def __init__(self, channel: Channel, mode: str = "r", bufsize: int = -1) -> None:
        self.channel = channel
        BufferedFile.__init__(self)
        self._set_mode(mode, bufsize)

    def __repr__(self) -> str:
        return "<sshwire.ChannelFile from " + repr(self.channel) + ">"

    def _read(self, size: int) -> bytes:
        return self.channel.recv(size)

    def _write(self, data: memoryview) -> int:
        self.channel.sendall(data)
        return len(data)


class ChannelStderrFile(ChannelFile):
    """A file over a channel's stderr stream."""

    def _read(self, size: int) -> bytes:
        return self.channel.recv_stderr(size)

    def _write(self, data: memoryview) -> int:
        self.channel.sendall_stderr(data)
        return len(data)


class ChannelStdinFile(ChannelFile):
    """A file for writing to a command's stdin; closing it sends EOF."""

    def close(self) -> None:
        super().close()
        self.channel.shutdown_write()

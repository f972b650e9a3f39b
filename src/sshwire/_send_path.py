"""Transport's send path: the send token, partial writes and send deadlines.

A mixin of :class:`~sshwire.transport.Transport` (``self`` is typed ``Any``, as in
``_client_auth``). Lock rules (docs/design.md): whoever holds the *send token* — taken under
the core lock — writes sealed bytes to the socket, in order; the core lock is never held
across socket I/O, and the reader thread never waits for the token or for the socket: it
hands its output to the token holder or writes what fits and watches for room. Bytes of a
partly written packet stay in ``_unsent`` and go out first with the next write.
"""

from __future__ import annotations

import math
import select
import socket
import time
from typing import Any

from .ssh_exception import ProxyCommandFailure, SSHException


class SendPath:
    """The methods that move sealed bytes from the core to the socket."""

    def _sendall(self: Any, data: bytes | bytearray) -> None:
        try:
            gettimeout = getattr(self.sock, "gettimeout", None)
            if gettimeout is not None and gettimeout() is not None:
                self._send_despite_timeouts(data)
            else:
                self.sock.sendall(data)
        except OSError as exc:
            raise self._send_failed(exc) from exc
        except ProxyCommandFailure as exc:  # a ProxyCommand's program died: keep its error
            self._die(exc)
            raise
        self._last_send = time.monotonic()

    def _send_failed(self: Any, exc: OSError) -> SSHException:
        """The transport dies of a socket error while sending; the error to raise."""
        if isinstance(exc, BrokenPipeError | ConnectionResetError):
            error = SSHException(f"connection closed by the peer (while sending: {exc})")
        else:
            error = SSHException(f"socket error while sending: {exc}")
        self._die(error)
        return error

    def _send_despite_timeouts(self: Any, data: bytes | bytearray) -> None:
        """Send all of ``data`` over a socket that has a timeout (as paramiko does).

        Applications put timeouts on the transport's socket (``SSHClient.connect(timeout=)``
        keeps its connect timeout there; sshtunnel sets 0.1 s). A send that times out only
        means the peer reads slowly, so keep sending until everything is out or the
        transport is closed. ``sendall`` cannot do this: after a timeout it does not say how
        much it had sent.
        """
        view = memoryview(data)
        while view:
            try:
                sent = self.sock.send(view)
            except TimeoutError:
                if self._closed or not self.active:
                    raise
                continue
            view = view[sent:]

    # The send token (see the module docstring). Every holder ends with _drain, which gives
    # the token back; _give_back_locked does it on the error and timeout paths.

    def _take_token(self: Any, deadline: float | None) -> None:
        """Core lock held: wait for the send token and take it.

        Raises ``SSHException`` when the transport is (or dies) inactive, ``TimeoutError``
        once ``deadline`` has passed.
        """
        while True:
            if not self.active:
                raise SSHException("SSH session not active")
            if not self._sending:
                self._sending = True
                return
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise TimeoutError("timed out waiting to send: the peer is not reading")
            self._send_cond.wait(remaining)

    def _begin_send(self: Any, deadline: float) -> None:
        """Take the token and send what earlier timed-out sends left, both by ``deadline``.

        ``TimeoutError`` (the token given back) when that is not possible in time.
        """
        with self._lock:
            self._take_token(deadline)
        if self._unsent:
            try:
                self._write(b"", deadline)
            except BaseException:
                with self._lock:
                    self._give_back_locked()
                raise

    def _give_back_locked(self: Any) -> None:
        """Core lock held: give the token back after an error or a timeout.

        What the core sealed meanwhile joins ``_unsent`` (in order), so that the next
        writer, or the reader once the socket is writable, sends it.
        """
        core = self._core
        if core is not None and core.has_data_to_send:
            self._unsent += core.data_to_send()
        self._sending = False
        self._send_cond.notify()
        if self._unsent:  # the reader sends it once there is room: it must be reading
            self._want_reader_locked()

    def _drain(self: Any, out: bytes | bytearray, deadline: float | None) -> None:
        """Token held: send ``out`` and all the core seals meanwhile; give the token back.

        ``deadline`` None: as long as the socket needs. Otherwise ``TimeoutError`` once it
        has passed (0.0: do not wait at all), the unsent rest kept in ``_unsent``.
        """
        try:
            while True:
                if out or self._unsent:
                    self._write(out, deadline)
                with self._lock:
                    core = self._core
                    if core is None or not core.has_data_to_send:
                        self._sending = False
                        self._send_cond.notify()
                        return
                    out = core.data_to_send()
        except BaseException:
            with self._lock:
                self._give_back_locked()
            raise

    def _write(self: Any, data: bytes | bytearray, deadline: float | None) -> None:
        """Token held: put ``_unsent`` and then ``data`` on the socket.

        Without a deadline (and on socket-like objects that are not sockets) this sends
        everything, however long it takes (see :meth:`_send_despite_timeouts`). With one, it
        raises ``TimeoutError`` once the deadline has passed and the socket takes no more;
        the rest stays in ``_unsent``.
        """
        sock = self.sock
        if deadline is None or not isinstance(sock, socket.socket):
            if self._unsent:
                data, self._unsent = bytes(self._unsent) + data, bytearray()
            if isinstance(data, bytearray) and not isinstance(sock, socket.socket):
                data = bytes(data)  # socket-likes (a ProxyCommand, a Channel) may want bytes
            self._sendall(data)  # a batch of data packets goes out as the core built it
            return
        self._unsent += data
        try:
            done = self._write_until(sock, deadline)
        except OSError as exc:
            raise self._send_failed(exc) from exc
        self._last_send = time.monotonic()
        if not done:
            raise TimeoutError("timed out sending: the peer is not reading")

    def _write_until(self: Any, sock: socket.socket, deadline: float) -> bool:
        """Send ``_unsent`` until it is empty (True) or ``deadline`` has passed (False)."""
        poller = self._poller
        if poller is None:
            poller = self._poller = select.poll()
            poller.register(sock.fileno(), select.POLLOUT)
        buf = self._unsent
        done = 0
        try:
            while done < len(buf):
                remaining = deadline - time.monotonic()
                # wait for room here: a socket with a timeout would wait for it in send(),
                # for as long as its own timeout
                if not poller.poll(max(0, math.ceil(remaining * 1000))):
                    if remaining <= 0:
                        return False
                    continue
                try:
                    sent = sock.send(memoryview(buf)[done:], socket.MSG_DONTWAIT)
                except (BlockingIOError, TimeoutError):
                    sent = 0
                if sent:
                    done += sent
                elif remaining <= 0:
                    return False
            return True
        finally:
            del buf[:done]

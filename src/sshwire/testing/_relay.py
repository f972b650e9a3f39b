"""Byte pumps between SSH channels and file descriptors or sockets, for the embedded server.

Theory of operation
-------------------
Every pump is a plain function run by a thread of its own, one thread per direction, so
that backpressure on one side never stalls the other: a pump blocked in
``Channel.sendall`` (the client's window is full) does not stop input from flowing the
other way. Channel reads block in ``Channel.recv`` and end when the channel gets EOF or is
closed; fd and socket waits go through :func:`wait_fds`, which also watches *wakers*:

* the server's stop waker (set once by ``SSHServer.close()``): give up at once;
* a session's exit waker (set when its process has exited): output pumps then drain what
  the process left behind and stop after a short silence, instead of waiting for EOF
  that a background child holding the pipe may never send.

A :class:`Waker` is a non-blocking pipe: ``set()`` writes one byte that nobody reads, so it
stays readable for every later wait.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

from ..channel import Channel
from ..ssh_exception import SSHException

#: Bytes per read from a socket, and per read from a channel into a socket.
CHUNK = 64 * 1024
#: Bytes per read between a channel and a process's pipes (or pty), which are grown to this
#: size where the system allows (Linux): a bulk transfer then moves 256 KiB per wake-up
#: instead of one 64 KiB pipe buffer's worth.
PIPE_CHUNK = 256 * 1024
#: After a process exits, stop draining its output after this much silence (seconds).
DRAIN_SILENCE = 0.25
#: ... and after this long in any case (a background child may write forever).
DRAIN_LIMIT = 5.0

# errors meaning "this side is gone": an exited process, a closed channel or transport
_GONE = (OSError, SSHException)


class Waker:
    """A one-shot event that can be waited on together with file descriptors."""

    def __init__(self) -> None:
        self._r, self._w = os.pipe()
        os.set_blocking(self._r, False)
        os.set_blocking(self._w, False)
        self._lock = threading.Lock()
        self._set = False
        self._closed = False

    def fileno(self) -> int:
        return self._r

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        with self._lock:
            if self._set or self._closed:
                return
            self._set = True
            os.write(self._w, b"!")

    def close(self) -> None:
        """Release the pipe; only once no thread waits on it any more."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            os.close(self._r)
            os.close(self._w)


if sys.platform.startswith("linux"):

    def wait_fds(
        readable: Iterable[int], writable: Iterable[int] = (), timeout: float | None = None
    ) -> set[int]:
        """The fds that are ready (or in error/hang-up), empty after ``timeout`` seconds."""
        poller = select.poll()
        for fd in readable:
            poller.register(fd, select.POLLIN | select.POLLPRI)
        for fd in writable:
            poller.register(fd, select.POLLOUT)
        ms = None if timeout is None else max(0, int(timeout * 1000))
        return {fd for fd, _ in poller.poll(ms)}

else:  # pragma: no cover - poll() does not work on ptys on macOS; select() does

    def wait_fds(
        readable: Iterable[int], writable: Iterable[int] = (), timeout: float | None = None
    ) -> set[int]:
        """The fds that are ready (or in error/hang-up), empty after ``timeout`` seconds."""
        r, w, x = select.select(list(readable), list(writable), [], timeout)
        return {*r, *w, *x}


def grow_pipe(fd: int, size: int = PIPE_CHUNK) -> None:
    """Ask for a pipe buffer of ``size`` bytes (Linux; a best effort, errors ignored)."""
    setpipe = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl is not None else None
    if setpipe is not None:
        with contextlib.suppress(OSError):
            fcntl.fcntl(fd, setpipe, size)


def _read_into(fd: int, buf: bytearray) -> int | None:
    """One read into ``buf``: the count, 0 at EOF (EIO is how a pty master says so), None if
    nothing yet. A reused buffer: a fresh 256 KiB object per read would cost page faults."""
    try:
        return os.readv(fd, [buf])
    except BlockingIOError:
        return None
    except OSError as exc:
        if exc.errno == errno.EIO:
            return 0
        raise


def pump_fds_to_channel(
    sources: Mapping[int, Callable[[memoryview], object]], exited: Waker, stop: Waker
) -> None:
    """Copy each fd's output to its sender (e.g. ``chan.sendall``) until every fd is at EOF.

    When ``exited`` is set, keep reading only while output keeps coming (see the module
    docstring); when ``stop`` is set, return at once. Returns early if a sender fails (the
    channel was closed).
    """
    pending = dict(sources)
    drain_until: float | None = None
    buf = bytearray(PIPE_CHUNK)
    view = memoryview(buf)  # each sender copies what it takes before it returns
    while pending:
        wakers = [stop.fileno()] if drain_until is not None else [stop.fileno(), exited.fileno()]
        timeout = (
            None if drain_until is None else min(DRAIN_SILENCE, drain_until - time.monotonic())
        )
        if timeout is not None and timeout <= 0:
            return
        ready = wait_fds([*pending, *wakers], (), timeout)
        if stop.fileno() in ready:
            return
        if drain_until is None and exited.fileno() in ready:
            drain_until = time.monotonic() + DRAIN_LIMIT
        got = [fd for fd in pending if fd in ready]
        if not got and drain_until is not None and exited.fileno() not in ready:
            return  # silence after the process exited
        for fd in got:
            try:
                count = _read_into(fd, buf)
            except OSError:
                count = 0
            if count is None:
                continue
            if not count:
                del pending[fd]
                continue
            try:
                pending[fd](view[:count])
            except _GONE:
                return


def write_all(fd: int, data: bytes, wakers: Iterable[int]) -> bool:
    """Write all of ``data`` to the non-blocking ``fd``; False if a waker fired first."""
    view = memoryview(data)
    wakers = list(wakers)
    while view:
        try:
            view = view[os.write(fd, view) :]
            continue
        except BlockingIOError:
            pass
        ready = wait_fds(wakers, (fd,))
        if any(w in ready for w in wakers):
            return False
    return True


def pump_channel_to_fd(chan: Channel, fd: int, wakers: Iterable[int]) -> bool:
    """Copy what the client sends on ``chan`` into ``fd``.

    Returns True at the channel's EOF (or close), False when the fd stopped accepting data
    (the process is gone) or a waker fired.
    """
    wakers = list(wakers)
    while True:
        try:
            data = chan.recv(PIPE_CHUNK)
        except (*_GONE, TimeoutError):
            return True
        if not data:
            return True
        try:
            if not write_all(fd, data, wakers):
                return False
        except OSError:  # EPIPE / EIO: nobody reads this any more
            return False


class SocketRelay:
    """Relay one TCP connection and one channel both ways, one thread per direction.

    EOF is passed on in each direction (``shutdown(SHUT_WR)`` / channel EOF); when both
    directions are done, or either side fails, both the channel and the socket are closed.
    """

    def __init__(
        self,
        chan: Channel,
        sock: socket.socket,
        stop: Waker,
        spawn: Callable[[str, Callable[[], None]], object],
    ) -> None:
        self.chan = chan
        self.sock = sock
        self._stop = stop
        self._lock = threading.Lock()
        self._running = 2
        self._closed = False
        sock.setblocking(True)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:  # pragma: no cover - not TCP
            pass
        spawn("sshwire.testing relay channel->socket", self._channel_to_socket)
        spawn("sshwire.testing relay socket->channel", self._socket_to_channel)

    def _channel_to_socket(self) -> None:
        try:
            while True:
                try:
                    data = self.chan.recv(CHUNK)
                except (*_GONE, TimeoutError):
                    data = b""
                if not data:
                    if self.chan.closed:
                        self.abort()
                    else:
                        self._shutdown(socket.SHUT_WR)
                    return
                try:
                    self.sock.sendall(data)
                except OSError:
                    self.abort()
                    return
        finally:
            self._done()

    def _socket_to_channel(self) -> None:
        fd = self.sock.fileno()
        stop = self._stop.fileno()
        try:
            while True:
                ready = wait_fds((fd, stop))
                if stop in ready:
                    self.abort()
                    return
                try:
                    data = self.sock.recv(CHUNK)
                except OSError:
                    data = b""
                if not data:
                    try:
                        self.chan.shutdown_write()
                    except _GONE:
                        pass
                    return
                try:
                    self.chan.sendall(data)
                except _GONE:
                    self.abort()
                    return
        finally:
            self._done()

    def _shutdown(self, how: int) -> None:
        try:
            self.sock.shutdown(how)
        except OSError:
            pass

    def abort(self) -> None:
        """Tear both sides down now (wakes both threads; the last one closes the socket)."""
        self._shutdown(socket.SHUT_RDWR)
        try:
            self.chan.close()
        except _GONE:
            pass

    def _done(self) -> None:
        with self._lock:
            self._running -= 1
            last = self._running == 0
        if last:
            try:
                self.chan.close()
            except _GONE:
                pass
            self.sock.close()

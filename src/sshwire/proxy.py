"""SSH through a helper program's stdin and stdout: paramiko's ``ProxyCommand``.

Theory of operation
-------------------
A :class:`ProxyCommand` starts a program (``ssh -W host:port jumphost``, ``nc``, a relay
script, ...) and behaves like a connected socket: what is sent goes to the program's stdin,
what the program prints on stdout is what ``recv`` returns. Pass it to
:class:`~sshwire.transport.Transport` or to ``SSHClient.connect(sock=...)``.

The command line is split with :func:`shlex.split` and run without a shell, as paramiko does.

Waiting: ``recv`` and ``send`` block in :func:`select.poll` on the pipe (never a busy loop),
for at most the time given to :meth:`ProxyCommand.settimeout`; a timeout raises
:class:`socket.timeout`. ``recv`` returns what the program has written so far (up to the size
asked for), as a socket does. ``send`` writes everything unless the timeout passes while the
pipe is full; then it returns the count written so far (a socket's ``send`` contract, so a
caller's retry loop neither loses nor repeats bytes). :meth:`ProxyCommand.fileno` is the
program's stdout, so the transport's reader thread waits on it with its selector.

End of output: when the program closes its stdout, ``recv`` returns ``b""`` if the program
exits with status 0 (or is still running, or we ended it ourselves), and raises
:class:`~sshwire.ssh_exception.ProxyCommandFailure` with the exit status and the end of its
stderr if it failed. A failed write raises ``ProxyCommandFailure(command, strerror)``, as in
paramiko.

The program's stderr goes to an anonymous temporary file, never to a pipe nobody reads (a
chatty ``ssh -v`` would otherwise fill the pipe and stall), and its last lines are quoted in
``ProxyCommandFailure``.

Locks: one reader and one writer thread may use the object at once (``_read_lock`` is held
by ``recv``/``recv_into``, ``_write_lock`` by ``send``/``sendall``). :meth:`ProxyCommand.close`
may come from a third thread: it marks the object closed, wakes both through a private wake-up
pipe, takes both locks (write lock, then read lock), ends and reaps the program and closes
every descriptor.
Dropping the last reference does the same cleanup through a finalizer.

Ending the program: ``Transport.close()`` first calls :meth:`ProxyCommand.shutdown`, which
closes the program's stdin, so that a well-behaved proxy forwards our last bytes (the
DISCONNECT) and exits by itself; ``close()`` gives it a moment to, then sends SIGTERM (and
SIGKILL two seconds later), and always waits for it: no zombie is left.
"""

from __future__ import annotations

import errno
import math
import os
import select
import shlex
import signal
import socket
import subprocess
import tempfile
import threading
import time
import weakref
from typing import IO, Any

from .ssh_exception import ProxyCommandFailure
from .util import ClosingContextManager

__all__ = ["ProxyCommand"]

#: Seconds ``close()`` lets the program exit after SIGTERM before it sends SIGKILL.
_TERM_GRACE = 2.0
#: Seconds ``close()`` waits, after ``shutdown(SHUT_WR)``, for the program to exit by itself.
_EXIT_GRACE = 0.5
#: Seconds ``recv`` waits, once the program has closed its stdout, for its exit status.
_EXIT_WAIT = 1.0
#: Bytes of the program's stderr quoted in a ``ProxyCommandFailure``.
_STDERR_TAIL = 1024

_READABLE = select.POLLIN | select.POLLPRI | select.POLLHUP | select.POLLERR
_WRITABLE = select.POLLOUT | select.POLLHUP | select.POLLERR


class _Child:
    """The program and every descriptor we hold for it; released exactly once."""

    def __init__(self, process: subprocess.Popen[bytes], stderr: IO[bytes]) -> None:
        self.process = process
        self.stderr = stderr
        self.wake_r, self.wake_w = os.pipe()

    def release(self, grace: float = 0.0) -> None:
        """Close the program's stdin, end and reap it, close every descriptor.

        ``grace``: seconds the program may take to exit by itself first.
        """
        proc = self.process
        _close_file(proc.stdin)
        if grace > 0 and proc.poll() is None:
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        if proc.poll() is None:
            try:
                proc.send_signal(signal.SIGTERM)
                proc.wait(_TERM_GRACE)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            except ProcessLookupError:  # pragma: no cover - exited between poll and kill
                proc.wait()
        _close_file(proc.stdout)
        _close_file(self.stderr)
        for fd in (self.wake_r, self.wake_w):
            try:
                os.close(fd)
            except OSError:  # pragma: no cover
                pass

    def stderr_tail(self) -> str:
        """The last lines the program wrote to stderr, on one line."""
        try:
            fd = self.stderr.fileno()
            size = os.fstat(fd).st_size
            raw = os.pread(fd, _STDERR_TAIL, max(0, size - _STDERR_TAIL))
        except (OSError, ValueError):
            return ""
        lines = [ln.strip() for ln in raw.decode("utf-8", "replace").splitlines()]
        return " / ".join(ln for ln in lines if ln)


def _close_file(f: IO[bytes] | None) -> None:
    if f is not None:
        try:
            f.close()
        except OSError:  # pragma: no cover - e.g. EPIPE flushing nothing
            pass


class ProxyCommand(ClosingContextManager):
    """A socket-like object that talks through a running program's stdin and stdout.

    :param command_line: the program and its arguments, split like a POSIX shell would split
        them (no shell runs it: no pipes, redirections or variables)
    :raises OSError: (e.g. :class:`FileNotFoundError`) when the program cannot be started
    :raises ValueError: when ``command_line`` holds no program

    ``cmd`` is the split command, ``process`` the :class:`subprocess.Popen` of the program and
    ``timeout`` the value set with :meth:`settimeout`. Usable as a context manager, which
    closes it.
    """

    def __init__(self, command_line: str) -> None:
        self.cmd: list[str] = shlex.split(command_line)
        if not self.cmd:
            raise ValueError(f"ProxyCommand needs a program to run, got {command_line!r}")
        self.timeout: float | None = None
        stderr = tempfile.TemporaryFile()  # noqa: SIM115 - owned by _Child, closed there
        try:
            self.process: subprocess.Popen[bytes] = subprocess.Popen(
                self.cmd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                bufsize=0,
            )
        except BaseException:
            stderr.close()
            raise
        self._child = _Child(self.process, stderr)
        self._finalizer = weakref.finalize(self, _Child.release, self._child)
        assert self.process.stdin is not None and self.process.stdout is not None
        self._in_fd = self.process.stdin.fileno()
        self._out_fd = self.process.stdout.fileno()
        # our ends only: the program's ends are separate open file descriptions
        os.set_blocking(self._in_fd, False)
        os.set_blocking(self._out_fd, False)
        self._closed_flag = False
        self._read_shut = False
        self._write_shut = False
        self._state_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._read_poll = select.poll()
        self._read_poll.register(self._out_fd, _READABLE)
        self._read_poll.register(self._child.wake_r, select.POLLIN)
        self._write_poll = select.poll()
        self._write_poll.register(self._in_fd, _WRITABLE)
        self._write_poll.register(self._child.wake_r, select.POLLIN)

    def __repr__(self) -> str:
        state = "closed" if self._closed_flag else f"pid {self.process.pid}"
        return f"<sshwire.ProxyCommand {shlex.join(self.cmd)!r} ({state})>"

    @property
    def _command(self) -> str:
        return " ".join(self.cmd)

    # ------------------------------------------------------------------ socket-like API

    def send(self, content: bytes | bytearray | memoryview) -> int:
        """Write ``content`` to the program's stdin; returns how many bytes were written.

        Writes everything (and returns ``len(content)``, as paramiko's does) unless the
        :meth:`settimeout` time passes while the pipe is full: then the count written so far
        is returned, as :meth:`socket.socket.send` does.

        :raises socket.timeout: when the timeout passes before any byte was written
        :raises ProxyCommandFailure: when the program no longer reads its stdin
        :raises OSError: after :meth:`close` or ``shutdown(SHUT_WR)``
        """
        return self._write(content, partial=True)

    def sendall(self, content: bytes | bytearray | memoryview) -> None:
        """Write all of ``content``; like :meth:`socket.socket.sendall`, a timeout raises
        :class:`socket.timeout` (some of the bytes may have been written)."""
        self._write(content, partial=False)

    def _write(self, content: bytes | bytearray | memoryview, partial: bool) -> int:
        view = memoryview(content).cast("B")
        written = 0
        with self._write_lock:
            deadline = _deadline(self.timeout)
            while written < len(view):
                if self._closed_flag or self._write_shut:
                    raise OSError(errno.EBADF, "ProxyCommand is closed for writing")
                try:
                    written += os.write(self._in_fd, view[written:])
                    continue
                except BlockingIOError:
                    pass
                except OSError as exc:  # EPIPE: the program closed its stdin or died
                    raise ProxyCommandFailure(self._command, exc.strerror) from exc
                try:
                    self._poll(self._write_poll, deadline)
                except TimeoutError:
                    if partial and written:
                        break
                    raise
        return written

    def recv(self, size: int) -> bytes:
        """Up to ``size`` bytes of the program's output, as soon as there are any.

        Returns ``b""`` once the output has ended (or after :meth:`close`).

        :raises socket.timeout: when nothing arrives within the :meth:`settimeout` value
        :raises ProxyCommandFailure: when the output ended because the program failed
        """
        with self._read_lock:
            if not self._wait_output():
                return b""
            while True:
                try:
                    data = os.read(self._out_fd, size)
                    break
                except BlockingIOError:  # spurious wake-up: wait again
                    if not self._wait_output():
                        return b""
                except OSError as exc:
                    raise ProxyCommandFailure(self._command, exc.strerror) from exc
            if not data and size > 0:
                self._ended()
            return data

    def recv_into(self, buffer: Any, nbytes: int = 0) -> int:
        """Like :meth:`recv`, into a writable buffer; returns the byte count (0: ended)."""
        view = memoryview(buffer).cast("B")
        if nbytes:
            view = view[:nbytes]
        with self._read_lock:
            if not self._wait_output():
                return 0
            while True:
                try:
                    count = os.readv(self._out_fd, [view])
                    break
                except BlockingIOError:
                    if not self._wait_output():
                        return 0
                except OSError as exc:
                    raise ProxyCommandFailure(self._command, exc.strerror) from exc
            if count == 0 and len(view) > 0:
                self._ended()
            return count

    def fileno(self) -> int:
        """The read end of the program's stdout (for selectors), or -1 once closed."""
        return -1 if self._closed_flag else self._out_fd

    def settimeout(self, timeout: float | None) -> None:
        """Seconds ``recv``/``send`` may block (``None``: forever, ``0``: not at all)."""
        self.timeout = timeout

    def gettimeout(self) -> float | None:
        return self.timeout

    def shutdown(self, how: int) -> None:
        """``SHUT_WR``: close the program's stdin (it sees end of input); ``SHUT_RD``: later
        ``recv`` calls return ``b""``; ``SHUT_RDWR``: both. The program keeps running."""
        if how in (socket.SHUT_RD, socket.SHUT_RDWR):
            self._read_shut = True
        if how in (socket.SHUT_WR, socket.SHUT_RDWR):
            with self._write_lock:
                self._write_shut = True
                if not self._closed_flag:
                    _close_file(self.process.stdin)

    def close(self) -> None:
        """End the program (SIGTERM, then SIGKILL if it lingers), reap it, free every fd.

        After ``shutdown(SHUT_WR)`` (which ``Transport.close()`` does first) the program gets
        half a second to exit by itself before the SIGTERM. Threads blocked in ``recv`` or
        ``send`` wake up (``b""``, ``OSError``). Calling it again does nothing.
        """
        with self._state_lock:
            if self._closed_flag:
                return
            self._closed_flag = True
            try:
                os.write(self._child.wake_w, b"!")
            except OSError:  # pragma: no cover - released by the finalizer already
                pass
        with self._write_lock, self._read_lock:
            if self._finalizer.detach() is not None:
                # after shutdown(SHUT_WR) the program has seen the end of its input and is
                # likely finishing (forwarding what we sent last): let it end by itself
                self._child.release(_EXIT_GRACE if self._write_shut else 0.0)

    @property
    def closed(self) -> bool:
        """True once closed, or once the program has exited."""
        return self._closed_flag or self.process.poll() is not None

    @property
    def _closed(self) -> bool:
        # the attribute name socket-likes expose
        return self.closed

    # ------------------------------------------------------------------ helpers

    def _poll(self, poller: select.poll, deadline: float | None) -> list[tuple[int, int]]:
        """One wait on ``poller``'s descriptors; socket.timeout once ``deadline`` has passed."""
        if deadline is None:
            return poller.poll()
        remaining = deadline - time.monotonic()
        ready = poller.poll(max(0, math.ceil(remaining * 1000))) if remaining > 0 else []
        if not ready and time.monotonic() >= deadline:
            raise TimeoutError("timed out")
        return ready  # empty after a wake-up a moment early: the caller waits again

    def _reading_stopped(self) -> bool:
        return self._closed_flag or self._read_shut

    def _wait_output(self) -> bool:
        """Read lock held: wait until stdout is readable; False when closed or shut down."""
        deadline = _deadline(self.timeout)
        while not self._reading_stopped():
            # poll even with a zero timeout, so that waiting data is returned
            ready = self._read_poll.poll(0)
            if not ready:
                ready = self._poll(self._read_poll, deadline)
            if self._reading_stopped():
                break
            if any(fd == self._out_fd for fd, _ in ready):
                return True
        return False

    def _ended(self) -> None:
        """The program closed its stdout: a clean end, or raise if the program failed."""
        if self._closed_flag or self._read_shut or self._write_shut:
            return  # we asked for the end
        try:
            code = self.process.wait(_EXIT_WAIT)
        except subprocess.TimeoutExpired:
            return  # stdout closed but still running: an end of stream all the same
        if code != 0:
            raise ProxyCommandFailure(self._command, self._exit_text(code))

    def _exit_text(self, code: int) -> str:
        if code < 0:
            try:
                text = f"killed by {signal.Signals(-code).name}"
            except ValueError:
                text = f"killed by signal {-code}"
        else:
            text = str(code)
        tail = self._child.stderr_tail()
        return f"{text} ({tail})" if tail else text


def _deadline(timeout: float | None) -> float | None:
    return None if timeout is None else time.monotonic() + timeout

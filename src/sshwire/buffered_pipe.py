"""A thread-safe byte queue with blocking, timed reads: paramiko's ``buffered_pipe`` module.

One thread (typically the transport's reader) :meth:`~BufferedPipe.feed`\\ s bytes in; another
:meth:`~BufferedPipe.read`\\ s them out, waiting up to a timeout for data. An optional
:class:`threading.Event` mirrors "data available or closed", for ``select``-style waiting.
"""

from __future__ import annotations

import threading
import time

__all__ = ["BufferedPipe", "PipeTimeout"]


class PipeTimeout(IOError):
    """Raised by :meth:`BufferedPipe.read` when no data arrived before the timeout."""


class BufferedPipe:
    """A byte buffer fed by one thread and drained by another.

    All methods are safe to call from any thread; a single condition variable guards the
    buffer, the closed flag and the optional event.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cv = threading.Condition(self._lock)
        self._event: threading.Event | None = None
        self._buffer = bytearray()
        self._closed = False

    def set_event(self, event: threading.Event) -> None:
        """Attach ``event``: it is set while data is buffered or the pipe is closed.

        The event's state is brought up to date immediately.
        """
        with self._lock:
            self._event = event
            if self._closed or self._buffer:
                event.set()
            else:
                event.clear()

    def feed(self, data: bytes | str) -> None:
        """Append ``data`` (``str`` is UTF-8 encoded) and wake any waiting reader."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        with self._lock:
            if self._event is not None:
                self._event.set()
            self._buffer += data
            self._cv.notify_all()

    def read_ready(self) -> bool:
        """Return True if a :meth:`read` would return data without waiting.

        A closed, empty pipe is not "ready" even though its reads return at once.
        """
        with self._lock:
            return len(self._buffer) > 0

    def read(self, nbytes: int, timeout: float | None = None) -> bytes:
        """Remove and return up to ``nbytes`` bytes.

        If the buffer is empty this waits for :meth:`feed` or :meth:`close`, at most
        ``timeout`` seconds (``None`` waits forever). Returns ``b""`` once the pipe is closed
        and drained.

        :raises PipeTimeout: if the timeout passed with no data and the pipe still open.
        """
        with self._lock:
            if not self._buffer and not self._closed:
                deadline = None if timeout is None else time.monotonic() + timeout
                while not self._buffer and not self._closed:
                    if deadline is None:
                        self._cv.wait()
                        continue
                    remaining = deadline - time.monotonic()
                    if remaining <= 0.0:
                        raise PipeTimeout()
                    self._cv.wait(remaining)
            out = bytes(self._buffer[:nbytes])
            del self._buffer[:nbytes]
            if not self._buffer and self._event is not None and not self._closed:
                self._event.clear()
            return out

    def empty(self) -> bytes:
        """Remove and return everything buffered, without waiting."""
        with self._lock:
            out = bytes(self._buffer)
            self._buffer.clear()
            if self._event is not None and not self._closed:
                self._event.clear()
            return out

    def close(self) -> None:
        """Mark the pipe closed: blocked and future reads return the rest, then ``b""``."""
        with self._lock:
            self._closed = True
            self._cv.notify_all()
            if self._event is not None:
                self._event.set()

    def __len__(self) -> int:
        """Return the number of bytes buffered."""
        with self._lock:
            return len(self._buffer)

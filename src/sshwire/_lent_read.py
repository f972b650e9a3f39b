"""Lending the socket's read side to the one thread waiting in ``recv()``.

Theory of operation
-------------------
The reader thread owns the socket's read side, but handing each read from it to the thread
waiting in :meth:`Channel.recv <sshwire.channel.Channel.recv>` costs a thread wake-up and a
GIL hand-over per read: a third of a download's CPU. So when the only thread waiting on the
transport is one ``recv()`` that a read has just fed, the reader *lends* it the read side
and parks. The read token (``_read_owner``, core lock) then moves between three states:

``_READER``
    the reader thread reads, as always; the start state, and the only one before the
    transport is authenticated or while any channel has a ``fileno()`` pipe.
``_FREE``
    lent and nobody reading: the application is busy with the data ``recv()`` returned.
    A ``recv()`` that would wait takes the token (``_APP``); anything else that needs
    the socket read (another waiter, a poll that finds nothing, output waiting for room)
    gives it back to the reader at once (:meth:`_want_reader_locked`), and the parked reader
    takes it back by itself once nobody has taken it for ``_RECLAIM_SECONDS``.
``_APP``
    a ``recv()`` thread reads in its own thread: non-blocking reads while data comes, a
    short ``poll`` when it pauses, every complete packet decoded and dispatched as the
    reader would (other channels' data and windows included). It stops once its own
    stream has data, and leaves the token ``_FREE`` (or, when another thread waits, with
    the reader). Anything that needs the reader's full dispatch (events beyond the channel
    fast path, a protocol error, EOF, a socket error) it hands back with the token, in
    order, and the reader deals with it before it reads again.

The lending thread never waits for the send token or the socket's write side (it flushes
like the reader: what does not go at once stays in ``_unsent``, which ends the loan), so two
ends that flood each other still cannot deadlock. Every state is left within a bounded time,
so the reader's keepalives and deadlines, and callers' timeouts, hold as before.
"""

from __future__ import annotations

import math
import select
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from .ssh_exception import SSHException

_READER, _FREE, _APP = 0, 1, 2
_RECLAIM_SECONDS = 0.004  # a loan nobody has used for this long goes back to the reader
_SPIN_SECONDS = 0.02  # how long a lent recv() waits on a silent socket before giving up
_LENT_READ_SIZE = 1 << 19
# bulk data (a read of at least a whole 32 KiB packet): the next wait asks the kernel to wake
# us only once this much has queued (SO_RCVLOWAT), or after _BULK_WAIT; half the wake-ups
# and reads per GiB, for at most _BULK_WAIT more at the end of a burst
_BULK_READ = 1 << 15
_LOW_WATER = 1 << 18
_BULK_WAIT = 0.002
_RCVLOWAT = getattr(socket, "SO_RCVLOWAT", None)
_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)


class LentReading:
    """Mixin for :class:`~sshwire.transport.Transport`: the read token and the lent read."""

    def _lend_init(self: Any) -> None:
        self._read_owner = _READER
        self._read_gen = 0  # bumped each time an application thread takes the token
        self._read_cond = threading.Condition(self._lock)  # the reader parks on it
        self._handed_back: list[tuple[str, Any]] = []  # for the reader, in wire order
        self._waiters = 0  # threads blocked in the shell on this transport (core lock)
        self._lend_hint = False  # a read just fed a recv() waiter (core lock)
        # no loans once a channel has a fileno() pipe (select() users rely on the reader),
        # nor when the reader finds the socket unfit (not a real socket with a receive timeout)
        self._no_loans = False
        self._lent_buffer: bytearray | None = None
        self._lent_bulk = False  # the last lent read was bulk-sized
        self._read_poller: Any = None

    # ------------------------------------------------------------ everyone (core lock held)

    def _want_reader_locked(self: Any) -> None:
        """Core lock held: make sure the socket is being read (a loan nobody uses ends)."""
        owner = self._read_owner
        if owner == _FREE:
            self._read_owner = _READER
            self._read_cond.notify()

    def _counted_wait_locked(self: Any, cond: threading.Condition, timeout: float | None) -> None:
        """Core lock held (``cond`` is built on it): wait for something only a read of the
        socket can bring. Counted in ``_waiters``, so no loan is made or kept meanwhile."""
        self._waiters += 1
        self._want_reader_locked()
        try:
            cond.wait(timeout)
        finally:
            self._waiters -= 1

    def _want_reader(self: Any) -> None:
        if self._read_owner == _FREE:
            with self._lock:
                self._want_reader_locked()

    def _release_read_locked(self: Any) -> None:
        """Core lock held, token held by the caller: stop reading."""
        if self._read_owner != _APP:
            return
        if self._waiters or self._unsent or self._no_loans or not self.active:
            self._read_owner = _READER
            self._read_cond.notify()
        else:
            self._read_owner = _FREE

    def _take_read_locked(self: Any) -> bool:
        """Core lock held: take a loan nobody is using (a ``recv()`` about to wait)."""
        if self._read_owner == _FREE and not self._waiters and not self._no_loans:
            self._read_owner = _APP
            self._read_gen += 1
            return True
        return False

    # ------------------------------------------------------------ the reader thread

    def _lend_after_feed(self: Any) -> bool:
        """Reader thread, after a read that woke a ``recv()``: lend it the read side if it is
        the one thread waiting. Returns False when the connection has ended."""
        with self._lock:
            if (
                self._waiters > 1
                or self._unsent
                or self._no_loans
                or not self.authenticated
                or not self.active
                or self.sock.gettimeout() is not None  # set by the application meanwhile
            ):
                return True
            self._read_owner = _FREE
        going: bool = self._park()
        return going

    def _park(self: Any) -> bool:
        """Reader thread: wait while the read side is lent, then deal with what was handed
        back. Returns False when the connection has ended (EOF handed back)."""
        with self._lock:
            seen = -1
            while self.active and self._read_owner != _READER:
                if self._read_owner == _FREE and self._read_gen == seen:
                    self._read_owner = _READER  # an unused loan: read again ourselves
                    break
                seen = self._read_gen
                self._read_cond.wait(_RECLAIM_SECONDS)
            items, self._handed_back = self._handed_back, []
        going = True
        for kind, payload in items:
            if kind == "raise":
                raise payload
            if kind == "eof":
                going = False
            for event in payload:
                self._handle_event(event)
            self._flush_nowait()
        return going

    # ------------------------------------------------------------ the lent read (app thread)

    def _hand_back(self: Any, item: tuple[str, Any] | None) -> None:
        with self._lock:
            if item is not None:
                self._handed_back.append(item)
            if self._read_owner == _APP:
                self._read_owner = _READER
                self._read_cond.notify()

    def _poll_readable(self: Any, seconds: float) -> bool:
        poller = self._read_poller
        if poller is None:
            poller = self._read_poller = select.poll()
            poller.register(self.sock.fileno(), select.POLLIN)
        return bool(poller.poll(max(1, math.ceil(seconds * 1000))))

    def _wait_for_more(self: Any, seconds: float) -> None:
        """Wait until a low-water mark of data has queued, at most ``seconds`` (or just wait
        for any data where the low-water mark is not available). The mark is set only for
        this wait: the reader thread's blocking reads must never see it."""
        sock = self.sock
        try:
            sock.setsockopt(socket.SOL_SOCKET, _RCVLOWAT, _LOW_WATER)
        except (OSError, TypeError):
            self._poll_readable(seconds)
            return
        try:
            self._poll_readable(seconds)
        finally:
            try:
                sock.setsockopt(socket.SOL_SOCKET, _RCVLOWAT, 1)
            except OSError:  # closed meanwhile: the next read says so
                pass

    def _read_lent(self: Any, done: Callable[[], bool], deadline: float | None) -> None:
        """Application thread holding the token: read and dispatch until ``done()`` (checked
        under the core lock), a pause, ``deadline`` or anything for the reader."""
        buffer = self._lent_buffer
        if buffer is None:
            buffer = self._lent_buffer = bytearray(_LENT_READ_SIZE)
        view = memoryview(buffer)
        recv_into = self.sock.recv_into
        pause_ends: float | None = None
        try:
            while True:
                if self._unsent or not self.active or self.sock.gettimeout() is not None:
                    self._hand_back(None)
                    return
                try:
                    n = recv_into(buffer, 0, _DONTWAIT)
                except (BlockingIOError, TimeoutError):  # (a timeout the application set)
                    now = time.monotonic()
                    if pause_ends is None:
                        pause_ends = now + _SPIN_SECONDS
                    limit = pause_ends if deadline is None else min(pause_ends, deadline)
                    if self._lent_bulk and now < limit:
                        # then read whatever came: a short tail waits at most _BULK_WAIT
                        self._lent_bulk = False
                        self._wait_for_more(min(_BULK_WAIT, limit - now))
                        continue
                    if now >= limit or not self._poll_readable(limit - now):
                        self._hand_back(None)
                        return
                    continue
                except OSError as exc:
                    error = SSHException(f"socket error while receiving: {exc}")
                    self._hand_back(("raise", error) if self.active else None)
                    return
                pause_ends = None
                self._lent_bulk = n >= _BULK_READ
                later, error = self._feed_core(view[:n])
                if error is not None:
                    try:
                        self._flush_nowait()  # the DISCONNECT the core queued
                    except (OSError, SSHException):
                        pass
                    self._hand_back(("raise", error))
                    return
                self._flush_nowait()
                if not n:
                    self._hand_back(("eof", later))
                    return
                if later:
                    self._hand_back(("events", later))
                    return
                with self._lock:
                    if done():
                        self._release_read_locked()
                        return
        except BaseException:
            self._hand_back(None)
            raise

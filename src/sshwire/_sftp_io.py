"""The SFTP client's request engine: ids, pipelining, and reply dispatch by request id.

Theory of operation
-------------------
Every SFTP request carries a ``uint32`` id and every reply names the id it answers
(draft-ietf-secsh-filexfer-02 §3, §7), so any number of requests may be outstanding at once
and replies are matched to their requests by id, never by order. The engine keeps
``_expecting``: id -> *handler*, a callable ``handler(id, type, payload)`` where *payload* is a
:class:`memoryview` of the reply after its id (the view stays valid as long as it is
referenced: it points into an immutable ``bytes`` object).

There is no SFTP reader thread. A thread that needs a reply calls :meth:`_Engine.pump` with a
predicate; while the predicate is false, the thread either waits on ``_cond`` or, when nobody
else is reading, becomes *the* reader: it receives one large chunk from the channel, splits it
into packets and hands each packet to the handler registered for its id, whichever thread that
handler belongs to (a ``_Waiter`` of another thread, a prefetching file, a transfer loop).
Then it gives up the reader role and wakes every waiter, which re-checks its predicate.

Packets are parsed in place: a reply that lies wholly inside a received chunk is passed on as
a slice of it (no copy); only the one packet that straddles two chunks is joined.

Locks: ``_lock`` guards the id counter and ``_expecting`` registrations; ``_cond`` guards the
reader role (``_reading``) and is what waiters sleep on; ``_send_lock`` keeps one packet's bytes
together on the channel. No lock is held while a handler runs except by the handler itself,
and no engine lock is held across ``recv``. A handler must be quick and must not raise.

Finalizers (a garbage-collected file closing its handle) never wait: they send with
:meth:`_Engine.send_later`, which queues the packets when the send lock is taken (possibly by
the very thread the finalizer interrupted); every send flushes the queue first and last.
:attr:`_Engine.min_rtt`, the shortest round trip of a plain request, sizes upload pipelines.

Failure: end of channel, a malformed packet or any error while reading marks the engine
*broken*; every current and future waiter raises :class:`~sshwire.ssh_exception.SSHException`
at once. A timeout (the channel's ``settimeout``) only ends that one wait.
"""

from __future__ import annotations

import errno
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Final

from .sftp import (
    CMD_STATUS,
    MAX_PACKET_SIZE,
    SFTP_EOF,
    SFTP_NO_SUCH_FILE,
    SFTP_OK,
    SFTP_PERMISSION_DENIED,
    SFTPError,
)
from .ssh_exception import SSHException

#: ``uint32 length || byte type || uint32 id`` (filexfer-02 §3).
HEADER: Final = struct.Struct(">IBI")
U32: Final = struct.Struct(">I")
U64: Final = struct.Struct(">Q")
#: ``uint64 offset || uint32 length`` of READ and the offset/length prefix of WRITE (§6.4).
OFFSET_LEN: Final = struct.Struct(">QI")

#: How much one ``recv`` asks the channel for: everything it holds, up to this.
RECV_SIZE: Final = 4 << 20

Handler = Callable[[int, int, memoryview], None]


def _drop(num: int, t: int, data: memoryview) -> None:
    """The handler of a request whose reply nobody needs any more."""


class _Waiter:
    """The handler of one request some thread waits for; holds the reply once it lands."""

    __slots__ = ("data", "done", "length", "offset", "t")

    def __init__(self, offset: int = 0, length: int = 0) -> None:
        self.done = False
        self.t = 0
        self.data: memoryview | None = None
        # what the request asked for (reads and writes), for the transfer loops
        self.offset = offset
        self.length = length

    def __call__(self, num: int, t: int, data: memoryview) -> None:
        self.t = t
        self.data = data
        self.done = True

    def ready(self) -> bool:
        return self.done


def status_error(
    data: memoryview | bytes, path: Any = None, path2: Any = None
) -> BaseException | None:
    """The exception a STATUS reply stands for (``None`` for ``SSH_FX_OK``), as paramiko maps it.

    ``SSH_FX_EOF`` -> :class:`EOFError`; ``SSH_FX_NO_SUCH_FILE`` -> ``OSError(ENOENT)`` (a
    :class:`FileNotFoundError`); ``SSH_FX_PERMISSION_DENIED`` -> ``OSError(EACCES)`` (a
    :class:`PermissionError`); anything else -> ``OSError(text)``. Unlike paramiko, the
    path(s) of the request, when given, are attached as ``filename``/``filename2``.
    """
    code, text = parse_status(data)
    if code == SFTP_OK:
        return None
    if code == SFTP_EOF:
        return EOFError(text)
    if code in (SFTP_NO_SUCH_FILE, SFTP_PERMISSION_DENIED):
        number = errno.ENOENT if code == SFTP_NO_SUCH_FILE else errno.EACCES
        if path is None:
            return OSError(number, text)
        if path2 is None:
            return OSError(number, text, path)
        return OSError(number, text, path, None, path2)
    return OSError(text)


def parse_status(data: memoryview | bytes) -> tuple[int, str]:
    """``(code, message)`` of a STATUS payload (filexfer-02 §7); the language tag is ignored."""
    try:
        (code,) = U32.unpack_from(data, 0)
        if len(data) < 8:  # servers before draft 02 send no message at all
            return code, ""
        (n,) = U32.unpack_from(data, 4)
        if 8 + n > len(data):
            raise SFTPError("Garbage status reply: message runs past the packet")
        text = bytes(data[8 : 8 + n]).decode("utf-8", "replace")
    except struct.error:
        raise SFTPError("Garbage status reply: too short") from None
    return code, text


class _Engine:
    """Request ids, the send lock and the shared reader role over one SFTP channel."""

    def __init__(self, sock: Any, on_unexpected: Callable[[int], None]) -> None:
        self.sock = sock
        self._on_unexpected = on_unexpected
        # reentrant: a garbage-collected SFTPFile may register its CLOSE from a finalizer
        # that runs while this thread is inside register()
        self._lock = threading.RLock()
        self._cond = threading.Condition(threading.Lock())
        self._send_lock = threading.Lock()
        self._reading = False
        self._broken: BaseException | None = None
        self._expecting: dict[int, Handler] = {}
        self.request_number = 1
        # the packet that straddles chunks: its parts so far, their total, its full size
        self._parts: list[bytes | memoryview] = []
        self._parts_len = 0
        self._need = 0
        # packets a finalizer could not send at once (the send lock was busy)
        self._deferred: deque[bytes] = deque()
        #: The shortest round trip seen for a small request, in seconds (None: none yet).
        self.min_rtt: float | None = None

    # ------------------------------------------------------------------ sending

    def register(self, handler: Handler) -> int:
        """A new request id whose reply goes to *handler*."""
        with self._lock:
            num = self.request_number
            self.request_number = (num + 1) & 0xFFFFFFFF or 1
            self._expecting[num] = handler
        return num

    def forget(self, num: int) -> None:
        """Drop the handler of *num* if its reply has not landed (its reply is then ignored)."""
        with self._lock:
            if num in self._expecting:
                self._expecting[num] = _drop

    def send(self, packet: bytes | bytearray | memoryview) -> None:
        """Send one or more whole packets (the send lock keeps them together)."""
        self.check()
        with self._send_lock:
            if self._deferred:
                self._send_deferred()
            self.sock.sendall(packet)
            if self._deferred:  # queued by a finalizer while we were sending
                self._send_deferred()

    def send_many(self, packets: Sequence[bytes]) -> None:
        if len(packets) == 1:
            self.send(packets[0])
        elif packets:
            self.send(b"".join(packets))

    def send_later(self, packets: list[bytes]) -> None:
        """Send without ever blocking on the send lock (for finalizers): if another send is
        under way, or this thread is in the middle of one, queue the packets for the next."""
        if not self._send_lock.acquire(blocking=False):
            for packet in packets:
                self._deferred.append(packet)  # deque.append: safe from any thread
            return
        try:
            if self._deferred:
                self._send_deferred()
            self.sock.sendall(b"".join(packets))
        finally:
            self._send_lock.release()

    def _send_deferred(self) -> None:
        queued = []
        while self._deferred:
            queued.append(self._deferred.popleft())
        if queued:
            self.sock.sendall(b"".join(queued))

    def request(self, t: int, body: bytes) -> tuple[int, memoryview]:
        """Send one request and wait for its reply: ``(type, payload after the id)``."""
        waiter = _Waiter()
        num = self.register(waiter)
        start = time.monotonic()
        try:
            self.send(HEADER.pack(len(body) + 5, t, num) + body)
        except BaseException:
            self.forget(num)
            raise
        self.pump(waiter.ready)
        rtt = time.monotonic() - start
        if self.min_rtt is None or rtt < self.min_rtt:
            self.min_rtt = rtt
        assert waiter.data is not None
        return waiter.t, waiter.data

    # ------------------------------------------------------------------ receiving

    def check(self) -> None:
        """Raise if the engine is broken (the channel ended or sent garbage)."""
        if self._broken is not None:
            raise self._lost()

    def _lost(self) -> SSHException:
        cause = self._broken
        error = SSHException(f"Server connection dropped: {cause}")
        error.__cause__ = cause
        return error

    def _timeout(self) -> float | None:
        gettimeout = getattr(self.sock, "gettimeout", None)
        return None if gettimeout is None else gettimeout()

    def pump(self, ready: Callable[[], bool]) -> None:
        """Return once ``ready()`` is true, reading and dispatching replies meanwhile.

        Honours the channel's timeout (``TimeoutError``, i.e. ``socket.timeout``); raises
        :class:`~sshwire.ssh_exception.SSHException` as soon as the channel ends.
        """
        if ready():
            return
        timeout = self._timeout()
        deadline = None if timeout is None else time.monotonic() + timeout
        cond = self._cond
        while True:
            with cond:
                while True:
                    if ready():
                        return
                    if self._broken is not None:
                        raise self._lost()
                    if not self._reading:
                        self._reading = True
                        break
                    if deadline is None:
                        cond.wait()
                    else:
                        remaining = deadline - time.monotonic()
                        if remaining <= 0:
                            raise TimeoutError("timed out waiting for an SFTP reply")
                        cond.wait(remaining)
            try:
                self._read_some()
            except TimeoutError:
                raise
            except BaseException as exc:
                if self._broken is None:
                    self._broken = exc if isinstance(exc, Exception) else SSHException(repr(exc))
                if isinstance(exc, EOFError):
                    raise self._lost() from exc  # as paramiko: "Server connection dropped"
                raise  # the reader sees the real error (SFTPError for garbage, as paramiko)
            finally:
                with cond:
                    self._reading = False
                    cond.notify_all()

    def break_with(self, exc: BaseException) -> None:
        """Mark the engine broken (the client was closed) and wake every waiter."""
        with self._cond:
            if self._broken is None:
                self._broken = exc
            self._cond.notify_all()

    def _read_some(self) -> None:
        """Receive one chunk and dispatch every packet it completes (reader role held)."""
        data = self.sock.recv(RECV_SIZE)
        if not data:
            raise EOFError("the SFTP channel was closed")
        n = len(data)
        pos = 0
        if self._parts:
            pos = self._continue_packet(data)
            if pos < 0:
                return
        unpack = U32.unpack_from
        view = memoryview(data)
        dispatch = self._dispatch
        while n - pos >= 4:
            (length,) = unpack(data, pos)
            if length == 0 or length > MAX_PACKET_SIZE:
                raise SFTPError("Garbage packet received")
            end = pos + 4 + length
            if end > n:
                break
            dispatch(data, view, pos + 4, end)
            pos = end
        if pos < n:
            self._parts = [view[pos:]]
            self._parts_len = n - pos
            self._need = 0
            if self._parts_len >= 4:
                self._need = unpack(data, pos)[0] + 4
                if self._need == 4 or self._need > MAX_PACKET_SIZE + 4:
                    raise SFTPError("Garbage packet received")

    def _continue_packet(self, data: bytes) -> int:
        """Add *data* to the straddling packet; dispatch it once whole.

        Returns where the rest of *data* starts, or -1 if *data* was used up.
        """
        if self._parts_len < 4:
            # not even the length yet (rare): glue it on and look again
            head = b"".join([*self._parts, data[: 4 - self._parts_len]])
            used = len(head) - self._parts_len
            self._parts = [head]
            self._parts_len = len(head)
            if self._parts_len < 4:
                return -1
            self._need = U32.unpack_from(head, 0)[0] + 4
            if self._need == 4 or self._need > MAX_PACKET_SIZE + 4:
                raise SFTPError("Garbage packet received")
            data_view = memoryview(data)[used:]
            offset = used
        else:
            data_view = memoryview(data)
            offset = 0
        missing = self._need - self._parts_len
        if len(data_view) < missing:
            self._parts.append(data_view)
            self._parts_len += len(data_view)
            return -1
        self._parts.append(data_view[:missing])
        packet = b"".join(self._parts)
        self._parts = []
        self._parts_len = self._need = 0
        self._dispatch(packet, memoryview(packet), 4, len(packet))
        return offset + missing

    def _dispatch(self, buf: bytes, view: memoryview, start: int, end: int) -> None:
        if end - start < 5:
            raise SFTPError("Garbage packet received: too short for a reply")
        t = buf[start]
        (num,) = U32.unpack_from(buf, start + 1)
        handler = self._expecting.pop(num, None)
        if handler is None:
            self._on_unexpected(num)
            return
        handler(num, t, view[start + 5 : end])


def expect_status(t: int, data: memoryview, path: Any = None, path2: Any = None) -> None:
    """Raise unless the reply is ``SSH_FX_OK`` (what setstat-like requests return)."""
    if t != CMD_STATUS:
        raise SFTPError("Expected status")
    error = status_error(data, path, path2)
    if error is not None:
        raise error

"""Remote files of the SFTP client: paramiko's ``SFTPFile``.

Theory of operation
-------------------
An :class:`SFTPFile` is a :class:`~sshwire.file.BufferedFile` over an open handle
(draft-ietf-secsh-filexfer-02 §6.3). ``_read`` and ``_write`` turn into READ and WRITE
requests at ``_realpos`` (§6.4), sent through the client's request engine
(:mod:`sshwire._sftp_io`) so that several requests can be in flight:

* A read of more than one request's worth is split into requests that are all sent before
  the first reply is awaited (at most 64 in flight). A reply shorter than asked is followed by
  a request for the rest alone; ``SSH_FX_EOF`` ends the read.
* Writes: each ``write()`` sends its chunks without waiting for each reply. Without
  :meth:`SFTPFile.set_pipelined` the call returns once every chunk is confirmed; with it,
  WRITE requests stay unconfirmed and errors surface at the next non-write operation or at
  :meth:`~SFTPFile.close`. How much WRITE data is in flight follows the shortest round trip
  seen on the session (enough to cover it at :data:`ASSUMED_LINK_SPEED`, at least two full
  requests, at most 64 requests): more only queues data behind the peer's channel window,
  and measurably slows a loopback server down. A WRITE is handed to the channel once its
  window has room for all of it (or after a short wait), so it goes out in one piece
  instead of a sliver per WINDOW_ADJUST.
* :meth:`SFTPFile.prefetch` and :meth:`SFTPFile.readv` queue READ requests for a range and
  keep a bounded number in flight (64 by default); replies land in ``_prefetch_data`` whichever
  thread reads them, and ``read()`` tops the pipeline up as it consumes data. There is no
  background thread: nothing is fetched beyond the bound, and :meth:`~SFTPFile.close` cancels
  what is left at once.
* :meth:`SFTPClient.getfo`/:meth:`~SFTPClient.putfo` run ``_download``/``_upload``: the same
  pipelines, writing each chunk to the local file as it lands (in order) and reading the
  local file straight into the outgoing packet buffer.
"""

from __future__ import annotations

import bisect
import functools
import io
import logging
import math
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import IO, TYPE_CHECKING, Any, Final

from ._sftp_io import HEADER, OFFSET_LEN, U32, U64, _Waiter, expect_status, status_error
from .channel import Channel
from .file import BufferedFile
from .message import Message
from .sftp import (
    CMD_ATTRS,
    CMD_CLOSE,
    CMD_DATA,
    CMD_EXTENDED,
    CMD_FSETSTAT,
    CMD_FSTAT,
    CMD_READ,
    CMD_STATUS,
    CMD_WRITE,
    SFTPError,
)
from .sftp_attr import SFTPAttributes
from .ssh_exception import SSHException

if TYPE_CHECKING:
    import os

    from .sftp_client import SFTPClient

__all__ = ["SFTPFile"]

_DEFAULT_REQUEST_SIZE: Final = 32768
#: READ or WRITE requests one file keeps in flight.
MAX_IN_FLIGHT: Final = 64
#: The link speed assumed when sizing the pipeline of WRITE requests from the round-trip
#: time: enough bytes in flight to cover (speed x round trip), at least two full requests.
ASSUMED_LINK_SPEED: Final = 2e9  # bytes per second
# a WRITE waits for this much window (or this long) before it is sent
_WINDOW_TARGET: Final = 256 * 1024
_WINDOW_PATIENCE: Final = 0.05


def _string(data: bytes) -> bytes:
    return U32.pack(len(data)) + data


class SFTPFile(BufferedFile):
    """A file open on the SFTP server, returned by :meth:`SFTPClient.open`.

    The usual file methods work (``read``, ``readline``, iteration, ``write``, ``seek``,
    ``tell``, ``flush``, ``close``, context manager); data is always ``bytes``. Request sizes
    follow the server's limits; setting :attr:`MAX_REQUEST_SIZE` to something other than its
    default caps them.
    """

    #: paramiko's request size; changing it (on the class or a file) caps every request.
    MAX_REQUEST_SIZE = _DEFAULT_REQUEST_SIZE

    def __init__(self, sftp: SFTPClient, handle: bytes, mode: str = "r", bufsize: int = -1) -> None:
        BufferedFile.__init__(self)
        self.sftp = sftp
        self.handle = handle
        self.pipelined = False
        self._hstr = _string(handle)
        self._prefetching = False
        self._prefetch_done = False
        #: landed prefetch chunks not yet read: offset -> data (``_prefetch_keys`` sorted)
        self._prefetch_data: dict[int, bytes] = {}
        self._prefetch_keys: list[int] = []
        #: prefetch requests in flight: request id -> (offset, length)
        self._prefetch_extents: dict[int, tuple[int, int]] = {}
        self._prefetch_plan: deque[tuple[int, int]] = deque()
        self._prefetch_max = MAX_IN_FLIGHT
        self._prefetch_landed = 0  # counts replies, to wait for "the next one"
        self._prefetch_lock = threading.Lock()
        self._saved_exception: BaseException | None = None
        #: unconfirmed WRITE requests, oldest first, and the bytes they carry
        self._reqs: deque[_Waiter] = deque()
        self._reqs_bytes = 0
        BufferedFile._set_mode(self, mode, bufsize)

    def __del__(self) -> None:
        if not getattr(self, "_closed", True) and hasattr(self, "sftp"):
            try:
                self._close(async_=True)
            except Exception:  # pragma: no cover - a finalizer must not raise
                pass

    # ------------------------------------------------------------------ sizes and packets

    def _sizes(self) -> tuple[int, int]:
        if self.MAX_REQUEST_SIZE != _DEFAULT_REQUEST_SIZE:
            return self.MAX_REQUEST_SIZE, self.MAX_REQUEST_SIZE
        return self.sftp._transfer_sizes()

    def _read_packet(self, num: int, offset: int, length: int) -> bytes:
        # filexfer-02 §6.4: READ handle, uint64 offset, uint32 len
        hstr = self._hstr
        return HEADER.pack(len(hstr) + 17, CMD_READ, num) + hstr + OFFSET_LEN.pack(offset, length)

    def _write_header(self, num: int, offset: int, length: int) -> bytes:
        # filexfer-02 §6.4: WRITE handle, uint64 offset, string data
        hstr = self._hstr
        return (
            HEADER.pack(len(hstr) + 17 + length, CMD_WRITE, num)
            + hstr
            + OFFSET_LEN.pack(offset, length)
        )

    @staticmethod
    def _data_of(payload: memoryview, asked: int) -> memoryview:
        """The bytes of a DATA reply (filexfer-02 §7)."""
        if len(payload) < 4:
            raise SFTPError("Garbage data reply")
        (n,) = U32.unpack_from(payload, 0)
        if n > len(payload) - 4 or n > asked:
            raise SFTPError(f"Garbage data reply: {n} bytes for a read of {asked}")
        return payload[4 : 4 + n]

    # ------------------------------------------------------------------ closing

    def close(self) -> None:
        """Flush, wait for unconfirmed writes, and close the remote handle.

        Closing twice is allowed. Errors of pipelined writes are raised here.
        """
        self._close(async_=False)

    def _close(self, async_: bool = False) -> None:
        # Only one CLOSE per handle, ever: the server may hand the same handle value to the
        # next open, and a second CLOSE would close that file.
        if self._closed:
            return
        self.sftp._log(logging.DEBUG, f"close({self.handle.hex()})")
        if async_:
            self._close_without_waiting()
            return
        error: BaseException | None = None
        try:
            BufferedFile.close(self)
        except Exception as exc:
            error = exc
        self._closed = True
        try:
            self._collect_writes()
        except Exception as exc:
            error = error or exc
        self._prefetch_cancel()
        try:
            self.sftp._call(CMD_CLOSE, self._hstr)
        except (EOFError, OSError, SSHException):
            pass  # the connection may have gone first (as paramiko, closing never fails then)
        if error is not None:
            raise error

    def _close_without_waiting(self) -> None:
        """From a finalizer: send what is still buffered and the CLOSE, wait for nothing."""
        self._closed = True
        self._prefetch_cancel()
        packets: list[bytes] = []
        pending = self._wbuffer.getvalue()
        if pending:
            # never wait here (a finalizer may run inside this thread's own wait): 32 KiB
            # writes go to every server
            wsize = min(self.MAX_REQUEST_SIZE, _DEFAULT_REQUEST_SIZE)
            offset = self._realpos
            for start in range(0, len(pending), wsize):
                chunk = pending[start : start + wsize]
                packets.append(self._write_header(0, offset + start, len(chunk)) + chunk)
        packets.append(HEADER.pack(len(self._hstr) + 5, CMD_CLOSE, 0) + self._hstr)
        self.sftp._close_later(self.handle, packets)

    # ------------------------------------------------------------------ timeouts

    def settimeout(self, timeout: float | None) -> None:
        """Timeout (seconds, or ``None``) for every request on this SFTP session's channel."""
        self.sftp.sock.settimeout(timeout)

    def gettimeout(self) -> float | None:
        """The channel's timeout (see :meth:`settimeout`)."""
        return self.sftp.sock.gettimeout()  # type: ignore[no-any-return]

    def setblocking(self, blocking: int | bool) -> None:
        """``setblocking(0)`` is ``settimeout(0.0)``; ``setblocking(1)`` is ``settimeout(None)``."""
        self.sftp.sock.setblocking(blocking)

    # ------------------------------------------------------------------ positioning

    def seekable(self) -> bool:
        """Always ``True``: remote files support :meth:`seek`."""
        return True

    def seek(self, offset: int, whence: int = 0) -> None:
        """Move to *offset* relative to the start (``SEEK_SET``), the current position
        (``SEEK_CUR``) or the end of the file (``SEEK_END``, which asks the server for the
        size). Buffered writes are flushed first."""
        self.flush()
        if whence == self.SEEK_SET:
            self._realpos = self._pos = offset
        elif whence == self.SEEK_CUR:
            self._pos += offset
            self._realpos = self._pos
        else:
            self._realpos = self._pos = self._get_size() + offset
        self._rbuffer = b""

    def _get_size(self) -> int:
        try:
            return self.stat().st_size or 0
        except Exception:
            return 0

    # ------------------------------------------------------------------ attributes

    def _fsetstat(self, attrs: SFTPAttributes) -> None:
        self._collect_writes()
        self.sftp._call(CMD_FSETSTAT, self._hstr + attrs._to_bytes())

    def stat(self) -> SFTPAttributes:
        """Attributes of the open file (as :meth:`SFTPClient.stat`)."""
        self._collect_writes()
        t, data = self.sftp._call(CMD_FSTAT, self._hstr)
        if t != CMD_ATTRS:
            raise SFTPError("Expected attributes")
        return self.sftp._attrs_reply(t, data)

    def chmod(self, mode: int) -> None:
        """Set the permission bits of the open file."""
        self.sftp._log(logging.DEBUG, f"chmod({self.handle.hex()}, {mode!r})")
        attrs = SFTPAttributes()
        attrs.st_mode = mode
        self._fsetstat(attrs)

    def chown(self, uid: int, gid: int) -> None:
        """Set the owner and group ids of the open file."""
        self.sftp._log(logging.DEBUG, f"chown({self.handle.hex()}, {uid!r}, {gid!r})")
        attrs = SFTPAttributes()
        attrs.st_uid, attrs.st_gid = uid, gid
        self._fsetstat(attrs)

    def utime(self, times: tuple[float, float] | None) -> None:
        """Set ``(atime, mtime)`` of the open file; ``None`` means now."""
        if times is None:
            now = time.time()
            times = (now, now)
        self.sftp._log(logging.DEBUG, f"utime({self.handle.hex()}, {times!r})")
        attrs = SFTPAttributes()
        attrs.st_atime, attrs.st_mtime = times
        self._fsetstat(attrs)

    def truncate(self, size: int) -> None:
        """Set the size of the open file."""
        self.sftp._log(logging.DEBUG, f"truncate({self.handle.hex()}, {size!r})")
        attrs = SFTPAttributes()
        attrs.st_size = size
        self._fsetstat(attrs)

    def check(
        self, hash_algorithm: str, offset: int = 0, length: int = 0, block_size: int = 0
    ) -> bytes:
        """Ask the server to hash part of the file (the ``check-file`` extension): the
        concatenated hashes of each *block_size* block (one hash if 0) of the *length* bytes
        (0: to the end) from *offset*.

        :raises OSError: if the server does not support it (OpenSSH does not).
        """
        self._collect_writes()
        body = b"".join(
            (
                _string(b"check-file"),
                self._hstr,
                _string(hash_algorithm.encode()),
                U64.pack(offset),
                U64.pack(length),
                U32.pack(block_size),
            )
        )
        _, data = self.sftp._call(CMD_EXTENDED, body)
        msg = Message(bytes(data))
        msg.get_text()  # the extension name
        msg.get_text()  # the algorithm
        return msg.get_remainder()

    def fsync(self) -> None:
        """sshwire extra: flush the server's copy to disk (``fsync@openssh.com``, OpenSSH
        PROTOCOL §4.6)."""
        self.flush()
        self._collect_writes()
        self.sftp._extended("fsync@openssh.com", self._hstr)

    def statvfs(self) -> os.statvfs_result:
        """sshwire extra: file system statistics for the open file
        (``fstatvfs@openssh.com``, OpenSSH PROTOCOL §4.4)."""
        from .sftp_client import _statvfs_reply

        t, data = self.sftp._extended("fstatvfs@openssh.com", self._hstr)
        return _statvfs_reply(t, data)

    # ------------------------------------------------------------------ writing

    def set_pipelined(self, pipelined: bool = True) -> None:
        """With pipelining on, ``write()`` returns without waiting for the server to confirm
        (a bounded number of writes may be unconfirmed); a failed write is reported by a later
        operation, at the latest by :meth:`close`. Off by default."""
        self.pipelined = pipelined

    def _write(self, data: memoryview) -> int:
        engine = self.sftp._engine
        _, wsize = self._sizes()
        offset = self._realpos
        total = len(data)
        reqs = self._reqs
        budget = self._write_budget(wsize)
        for start in range(0, total, wsize):
            n = min(wsize, total - start)
            waiter = _Waiter(offset + start, n)
            num = engine.register(waiter)
            try:
                self._send_bulk(
                    self._write_header(num, offset + start, n) + data[start : start + n]
                )
            except BaseException:
                engine.forget(num)
                raise
            reqs.append(waiter)
            self._reqs_bytes += n
            while reqs and (len(reqs) >= MAX_IN_FLIGHT or self._reqs_bytes > budget):
                self._confirm_oldest()
        if not self.pipelined:
            self._collect_writes()
        return total

    def _write_budget(self, wsize: int) -> int:
        """How many bytes of WRITE requests may be unconfirmed: enough to cover the
        bandwidth-delay product at :data:`ASSUMED_LINK_SPEED` over the shortest round trip
        seen, at least two full requests (at most :data:`MAX_IN_FLIGHT` requests are in
        flight in any case). More buys nothing: it only queues data behind the peer's channel
        window, and on loopback it measurably slows OpenSSH's server down."""
        rtt = self.sftp._engine.min_rtt
        if rtt is None:
            return MAX_IN_FLIGHT * wsize
        return max(2 * wsize, math.ceil(rtt * ASSUMED_LINK_SPEED))

    def _send_bulk(self, packet: Any) -> None:
        """Send a WRITE once the channel's window has room for all of it (or after a short
        wait): one big send, not a sliver per WINDOW_ADJUST (fewer wake-ups and packets)."""
        wait_window = getattr(self.sftp.sock, "_wait_window", None)
        if wait_window is not None:
            wait_window(min(len(packet), _WINDOW_TARGET), _WINDOW_PATIENCE)
        self.sftp._engine.send(packet)

    def _confirm_oldest(self) -> None:
        head = self._reqs[0]
        try:
            self.sftp._engine.pump(head.ready)
        except SSHException:
            self._reqs.clear()  # the connection is gone: nothing more will be confirmed
            self._reqs_bytes = 0
            raise
        self._reqs.popleft()
        self._reqs_bytes -= head.length
        assert head.data is not None
        expect_status(head.t, head.data)

    def _collect_writes(self) -> None:
        """Wait for every unconfirmed write; raise the first failure."""
        error: BaseException | None = None
        while self._reqs:
            try:
                self._confirm_oldest()
            except SSHException:
                raise
            except Exception as exc:
                error = error or exc
        if error is not None:
            raise error

    # ------------------------------------------------------------------ reading

    def read(self, size: int | None = None) -> bytes:
        """Read up to *size* bytes (all that is left when *size* is ``None`` or negative).

        A big read is split into pipelined requests; reading everything asks the server for
        the size first, so the whole rest is fetched in one pipeline.
        """
        if (size is not None and size >= 0) or self._closed or not self.readable():
            return BufferedFile.read(self, size)
        rsize, _ = self._sizes()
        parts = []
        while True:
            want = max(self._get_size() - self._pos, 0) + rsize
            data = BufferedFile.read(self, want)
            parts.append(data)
            if len(data) < want:
                return b"".join(parts)

    def _read(self, size: int) -> bytes | None:
        self._check_exception()
        if self._reqs:
            self._collect_writes()
        if self._prefetching:
            data = self._read_prefetch(size)
            if data is not None:
                return data
        return self._read_range(self._realpos, size)

    def _read_range(self, offset: int, size: int) -> bytes:
        """Up to *size* bytes at *offset*, in pipelined requests (fewer only at EOF)."""
        engine = self.sftp._engine
        rsize, _ = self._sizes()
        pending: deque[_Waiter] = deque()
        out: list[bytes] = []
        pos, end = offset, offset + size
        while True:
            packets = []
            while pos < end and len(pending) < MAX_IN_FLIGHT:
                n = min(rsize, end - pos)
                waiter = _Waiter(pos, n)
                packets.append(self._read_packet(engine.register(waiter), pos, n))
                pending.append(waiter)
                pos += n
            engine.send_many(packets)
            if not pending:
                break
            head = pending[0]
            engine.pump(head.ready)
            pending.popleft()
            assert head.data is not None
            if head.t == CMD_DATA:
                chunk = self._data_of(head.data, head.length)
                if not chunk:
                    break  # a zero-length DATA reply: treat as the end
                out.append(bytes(chunk))
                if len(chunk) < head.length:
                    # short reply: ask for the rest alone, ahead of what is in flight
                    rest = _Waiter(head.offset + len(chunk), head.length - len(chunk))
                    num = engine.register(rest)
                    engine.send(self._read_packet(num, rest.offset, rest.length))
                    pending.appendleft(rest)
                continue
            if head.t != CMD_STATUS:
                raise SFTPError("Expected data")
            error = status_error(head.data)
            if isinstance(error, EOFError):
                break
            if error is None:
                raise SFTPError("Expected data")
            if out:
                break  # hand over what arrived; the next read retries from the failure alone
            raise error
        return b"".join(out)

    # ------------------------------------------------------------------ prefetch

    def prefetch(
        self, file_size: int | None = None, max_concurrent_requests: int | None = None
    ) -> None:
        """Start fetching the rest of the file (from the current position to *file_size*,
        stat'ed when ``None``) ahead of :meth:`read` calls.

        At most *max_concurrent_requests* (default 64) requests are in flight and at most as
        many chunks wait unread; each ``read()`` tops the pipeline up. Data may be read in any
        order; :meth:`close` cancels whatever is still outstanding.
        """
        if file_size is None:
            file_size = self.stat().st_size or 0
        rsize, _ = self._sizes()
        chunks = []
        n = self._realpos
        while n < file_size:
            chunk = min(rsize, file_size - n)
            chunks.append((n, chunk))
            n += chunk
        if chunks:
            self._start_prefetch(chunks, max_concurrent_requests)

    def readv(
        self,
        chunks: Iterable[tuple[int, int]],
        max_concurrent_prefetch_requests: int | None = None,
    ) -> Iterator[bytes]:
        """Yield the data of each ``(offset, length)`` in *chunks*, in order, fetching them
        all through the prefetch pipeline (at most *max_concurrent_prefetch_requests*, default
        64, in flight). A chunk past the end of the file comes back short or empty."""
        chunks = list(chunks)
        self.sftp._log(logging.DEBUG, f"readv({self.handle.hex()}, {chunks!r})")
        rsize, _ = self._sizes()
        read_chunks = []
        for offset, size in chunks:
            if self._data_in_prefetch_buffers(offset) is not None or (
                self._data_in_prefetch_requests(offset, size)
            ):
                continue
            while size > 0:
                chunk_size = min(size, rsize)
                read_chunks.append((offset, chunk_size))
                offset += chunk_size
                size -= chunk_size
        if read_chunks:
            self._start_prefetch(read_chunks, max_concurrent_prefetch_requests)
        for offset, size in chunks:
            self.seek(offset)
            yield self.read(size)

    def _data_in_prefetch_buffers(self, offset: int) -> int | None:
        """The key of the landed chunk holding *offset*, if any."""
        keys = self._prefetch_keys
        i = bisect.bisect_right(keys, offset) - 1
        if i >= 0:
            key = keys[i]
            if offset < key + len(self._prefetch_data[key]):
                return key
        return None

    def _data_in_prefetch_requests(self, offset: int, size: int) -> bool:
        """Whether ``[offset, offset + size)`` is wholly covered by requests in flight or
        queued."""
        extents = sorted([*self._prefetch_extents.values(), *self._prefetch_plan])
        pos, end = offset, offset + size
        for start, length in extents:
            if start > pos:
                break
            if start + length > pos:
                pos = start + length
                if pos >= end:
                    return True
        return False

    def _start_prefetch(
        self, chunks: list[tuple[int, int]], max_concurrent_requests: int | None = None
    ) -> None:
        self._collect_writes()
        with self._prefetch_lock:
            self._prefetch_plan.extend(chunks)
            self._prefetch_max = max(1, max_concurrent_requests or MAX_IN_FLIGHT)
            self._prefetching = True
            self._prefetch_done = False
        self._prefetch_top_up()

    def _prefetch_top_up(self, force: tuple[int, int] | None = None) -> None:
        """Send queued prefetch requests while the bound allows (and *force*, regardless)."""
        engine = self.sftp._engine
        packets = []
        with self._prefetch_lock:
            extents = self._prefetch_extents
            if force is not None:
                self._prefetch_plan.remove(force)
                num = engine.register(self._prefetch_reply)
                extents[num] = force
                packets.append(self._read_packet(num, *force))
            plan = self._prefetch_plan
            bound = self._prefetch_max
            while plan and len(extents) + len(self._prefetch_data) < bound:
                offset, length = plan.popleft()
                num = engine.register(self._prefetch_reply)
                extents[num] = (offset, length)
                packets.append(self._read_packet(num, offset, length))
        engine.send_many(packets)

    def _prefetch_reply(self, num: int, t: int, payload: memoryview) -> None:
        """Engine handler (any thread): file a prefetch reply."""
        with self._prefetch_lock:
            extent = self._prefetch_extents.pop(num, None)
            if extent is None:
                return  # cancelled
            offset, length = extent
            try:
                if t == CMD_DATA:
                    data = bytes(self._data_of(payload, length))
                    if data:
                        if offset not in self._prefetch_data:
                            bisect.insort(self._prefetch_keys, offset)
                        self._prefetch_data[offset] = data
                    if 0 < len(data) < length:
                        # short reply: the rest goes first in the queue, alone
                        self._prefetch_plan.appendleft((offset + len(data), length - len(data)))
                elif t == CMD_STATUS:
                    error = status_error(payload)
                    if error is not None and not isinstance(error, EOFError):
                        self._saved_exception = error
                else:
                    self._saved_exception = SFTPError("Expected data")
            except Exception as exc:
                self._saved_exception = exc
            self._prefetch_landed += 1
            if not self._prefetch_extents and not self._prefetch_plan:
                self._prefetch_done = True

    def _take_prefetched(self, pos: int, size: int) -> bytes | None:
        """Prefetched data at *pos* (at most *size* bytes), removed from the buffer; lock held."""
        key = self._data_in_prefetch_buffers(pos)
        if key is None:
            return None
        data = self._prefetch_data.pop(key)
        self._prefetch_keys.remove(key)
        if pos > key:
            data = data[pos - key :]  # bytes before pos are not kept (paramiko keeps them)
        if size < len(data):
            rest = pos + size
            self._prefetch_data[rest] = data[size:]
            bisect.insort(self._prefetch_keys, rest)
            data = data[:size]
        return data

    def _read_prefetch(self, size: int) -> bytes | None:
        """Data at ``_realpos`` from the prefetch pipeline, or ``None`` if it does not cover
        that position (the caller then reads normally)."""
        engine = self.sftp._engine
        while True:
            with self._prefetch_lock:
                pos = self._realpos
                data = self._take_prefetched(pos, size)
                landed = self._prefetch_landed
                in_flight = any(o <= pos < o + n for o, n in self._prefetch_extents.values())
                queued = None
                if data is None and not in_flight:
                    queued = next((c for c in self._prefetch_plan if c[0] <= pos < sum(c)), None)
            if data is not None:
                self._prefetch_top_up()
                return data
            self._check_exception()
            if in_flight:
                self._prefetch_top_up()
            elif queued is not None:
                self._prefetch_top_up(force=queued)
            else:
                with self._prefetch_lock:
                    if not self._prefetch_extents and not self._prefetch_plan:
                        self._prefetching = False
                return None
            engine.pump(functools.partial(self._landed_since, landed))

    def _landed_since(self, seen: int) -> bool:
        return self._prefetch_landed != seen

    def _prefetch_cancel(self) -> None:
        """Forget queued and outstanding prefetch requests (their replies are dropped)."""
        with self._prefetch_lock:
            self._prefetch_plan.clear()
            self._prefetch_extents.clear()
            self._prefetch_data.clear()
            self._prefetch_keys.clear()
            self._prefetching = False
            self._prefetch_done = True

    def _check_exception(self) -> None:
        """Raise (and forget) an error a prefetch reply brought."""
        error, self._saved_exception = self._saved_exception, None
        if error is not None:
            raise error

    # ------------------------------------------------------------------ whole-file transfers

    def _download(
        self,
        fl: IO[bytes],
        file_size: int,
        callback: Callable[[int, int], object] | None,
        max_requests: int | None,
    ) -> int:
        """Copy the file from the current position to its end into *fl* (for ``getfo``)."""
        engine = self.sftp._engine
        rsize, _ = self._sizes()
        limit = max(1, max_requests or MAX_IN_FLIGHT)
        write: Callable[[Any], object] = fl.write
        zero_copy = isinstance(fl, io.IOBase)
        pending: deque[_Waiter] = deque()
        next_offset = self._realpos
        total = 0
        retried_at = -1
        # top up in batches: one packet (and one system call) per batch, not per request
        low_water = limit - max(1, limit // 8)
        while True:
            packets: list[bytes] = []
            while (len(pending) < limit and (packets or len(pending) <= low_water)) and (
                next_offset < file_size or (not pending and not packets)
            ):
                # past the size we were told, one request at a time until EOF
                n = min(rsize, file_size - next_offset) if next_offset < file_size else rsize
                waiter = _Waiter(next_offset, n)
                packets.append(self._read_packet(engine.register(waiter), next_offset, n))
                pending.append(waiter)
                next_offset += n
            engine.send_many(packets)
            head = pending[0]
            engine.pump(head.ready)
            pending.popleft()
            assert head.data is not None
            if head.t == CMD_DATA:
                chunk = self._data_of(head.data, head.length)
                if not chunk:
                    break
                write(chunk if zero_copy else bytes(chunk))
                total += len(chunk)
                if callback is not None:
                    callback(total, file_size)
                if len(chunk) < head.length:
                    rest = _Waiter(head.offset + len(chunk), head.length - len(chunk))
                    engine.send(self._read_packet(engine.register(rest), rest.offset, rest.length))
                    pending.appendleft(rest)
                continue
            error = status_error(head.data) if head.t == CMD_STATUS else SFTPError("Expected data")
            if isinstance(error, EOFError):
                break
            if error is None:
                error = SFTPError("Expected data")
            if retried_at == head.offset:
                raise error
            # a failed chunk is retried once, alone, before giving up
            retried_at = head.offset
            pending.clear()
            retry = _Waiter(head.offset, head.length)
            engine.send(self._read_packet(engine.register(retry), retry.offset, retry.length))
            pending.append(retry)
            next_offset = head.offset + head.length
        return total

    def _upload(
        self,
        fl: IO[bytes],
        file_size: int,
        callback: Callable[[int, int], object] | None,
    ) -> int:
        """Copy *fl* to its end into this file from the current position (for ``putfo``)."""
        engine = self.sftp._engine
        _, wsize = self._sizes()
        hlen = len(self._write_header(0, 0, 0))
        readinto = getattr(fl, "readinto", None)
        # the channel copies (encrypts) a packet before sendall returns, so over a channel or
        # a socket one buffer serves every packet
        reuse = isinstance(self.sftp.sock, Channel | socket.socket)
        buf = bytearray(hlen + wsize)
        pending: deque[_Waiter] = deque()
        offset = self._realpos
        confirmed = 0
        in_flight = 0
        eof = False
        budget = self._write_budget(wsize)
        while True:
            while not eof and len(pending) < MAX_IN_FLIGHT and in_flight + wsize <= budget:
                if readinto is not None:
                    if not reuse:
                        buf = bytearray(hlen + wsize)
                    view = memoryview(buf)
                    n = readinto(view[hlen:])
                    if not n:
                        eof = True
                        break
                    waiter = _Waiter(offset, n)
                    num = engine.register(waiter)
                    view[:hlen] = self._write_header(num, offset, n)
                    packet: Any = view[: hlen + n]
                else:
                    data = fl.read(wsize)
                    if not data:
                        eof = True
                        break
                    n = len(data)
                    waiter = _Waiter(offset, n)
                    num = engine.register(waiter)
                    packet = self._write_header(num, offset, n) + bytes(data)
                try:
                    self._send_bulk(packet)
                except BaseException:
                    engine.forget(num)
                    raise
                pending.append(waiter)
                offset += n
                in_flight += n
            if not pending:
                break
            head = pending.popleft()
            engine.pump(head.ready)
            in_flight -= head.length
            assert head.data is not None
            expect_status(head.t, head.data)
            confirmed += head.length
            if callback is not None:
                callback(confirmed, file_size)
        self._realpos = self._pos = offset
        return confirmed

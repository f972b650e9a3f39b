"""Python-style file buffering over a raw byte stream (paramiko's ``paramiko.file``).

**Theory of operation.** :class:`BufferedFile` builds the familiar file API on two hooks:

``_read(size)``
    return up to *size* bytes from the stream; ``b""``, ``None`` or :class:`EOFError` mean
    end of file, any other exception propagates to the caller.
``_write(data)``
    push some prefix of the :class:`memoryview` *data* and return how many bytes were taken.

Subclasses (``ChannelFile`` over a channel, ``SFTPFile`` over a remote handle) call
``BufferedFile.__init__`` and then :meth:`BufferedFile._set_mode` with the ``mode``/``bufsize``
pair the user gave to ``makefile()``/``open()``.

State is kept in the attributes paramiko's subclasses and third-party code use directly:

* ``_rbuffer`` (``bytes``): bytes read from the stream but not yet handed to the user. It is
  a property over ``_rdata[_rstart:]``, so that taking a short line or a few bytes from a big
  buffer moves an offset instead of copying the rest; reading or assigning ``_rbuffer`` works
  as with paramiko's plain attribute.
* ``_wbuffer`` (:class:`io.BytesIO`): bytes written by the user but not yet pushed.
* ``_pos``: the user-visible position; ``_realpos``: the position of the underlying stream
  (``SFTPFile._read`` reads at ``_realpos``, so it is advanced after every single chunk).
* ``_size``: the file size, tracked for append mode.
* ``_flags``: a bit set of the ``FLAG_*`` constants; ``_bufsize``: the chunk size used by
  buffered reads and ``readline``, and the write-flush threshold.
* ``_at_trailing_cr``: in universal-newline mode, the last line ended with ``\\r`` at the very
  end of the buffered data, so a ``\\n`` arriving next belongs to that line ending.
* ``newlines``: the line endings seen in universal-newline mode (``None``, one ``bytes`` value,
  or a tuple of them).

Observable behaviour, quirks included, follows paramiko 5.1 exactly: :meth:`~BufferedFile.read`
always returns ``bytes`` while :meth:`~BufferedFile.readline` (and iteration) return ``str``
unless the mode contains ``"b"``; line endings are only translated in ``"U"`` mode, where the
translated ``\\n`` counts one byte towards :meth:`~BufferedFile.tell`. Unlike paramiko, the
internal work is linear in the data size: reads gather chunks in a list and join them once,
and ``readline`` scans each chunk once instead of the whole accumulated line.
"""

from __future__ import annotations

from collections.abc import Iterable
from io import BytesIO
from typing import Any, ClassVar, TypeAlias, TypeVar

from .util import ClosingContextManager

__all__ = ["BufferedFile"]

_LF: bytes = b"\n"
_CR: bytes = b"\r"
_CRLF: bytes = b"\r\n"

#: What :meth:`BufferedFile.write` accepts: text is encoded as UTF-8.
_WriteData: TypeAlias = str | bytes | bytearray | memoryview

_F = TypeVar("_F", bound="BufferedFile")


class BufferedFile(ClosingContextManager):
    """A buffered, file-like object over a simple byte stream.

    This base class is not usable on its own: a subclass provides :meth:`_read` and/or
    :meth:`_write` (and :meth:`_get_size` for append mode), and calls :meth:`_set_mode` from
    its constructor. Closing the file flushes the write buffer; using the object as a context
    manager closes it on exit, and so does garbage collection.
    """

    _DEFAULT_BUFSIZE: ClassVar[int] = 8192

    #: *whence* for :meth:`seek`: from the start of the file.
    SEEK_SET = 0
    #: *whence* for :meth:`seek`: from the current position.
    SEEK_CUR = 1
    #: *whence* for :meth:`seek`: from the end of the file.
    SEEK_END = 2

    #: Bit in ``_flags``: open for reading (mode ``r`` or ``+``).
    FLAG_READ = 0x1
    #: Bit in ``_flags``: open for writing (mode ``w``, ``a`` or ``+``).
    FLAG_WRITE = 0x2
    #: Bit in ``_flags``: writes go to the end of the file (mode ``a``).
    FLAG_APPEND = 0x4
    #: Bit in ``_flags``: lines are returned as ``bytes`` (mode ``b``).
    FLAG_BINARY = 0x10
    #: Bit in ``_flags``: writes are buffered (*bufsize* 1 or more).
    FLAG_BUFFERED = 0x20
    #: Bit in ``_flags``: writes are pushed at each newline (*bufsize* 1).
    FLAG_LINE_BUFFERED = 0x40
    #: Bit in ``_flags``: ``\r`` and ``\r\n`` end lines too (mode ``U``).
    FLAG_UNIVERSAL_NEWLINE = 0x80

    def __init__(self) -> None:
        #: Line endings met in universal-newline mode: ``None``, ``bytes`` or a tuple of bytes.
        self.newlines: bytes | tuple[bytes, ...] | None = None
        self._flags = 0
        self._bufsize = self._DEFAULT_BUFSIZE
        self._wbuffer = BytesIO()
        self._rdata = b""  # _rbuffer is _rdata[_rstart:]
        self._rstart = 0
        self._at_trailing_cr = False
        self._closed = False
        # _pos is where the user thinks the file is; _realpos is where the stream is (they
        # differ by whatever sits in _rbuffer/_wbuffer).
        self._pos = 0
        self._realpos = 0
        # Only meaningful for files that know their size (append mode, seekable subclasses).
        self._size = 0

    def __del__(self) -> None:
        self.close()

    @property
    def _rbuffer(self) -> bytes:
        # Read-ahead not yet consumed (see the module docstring).
        if self._rstart:
            self._rdata = self._rdata[self._rstart :]
            self._rstart = 0
        return self._rdata

    @_rbuffer.setter
    def _rbuffer(self, value: bytes) -> None:
        self._rdata = value
        self._rstart = 0

    # ----------------------------------------------------------------------------------------
    # Iteration

    def __iter__(self: _F) -> _F:
        """Iterate over the lines of the file (the file is its own iterator).

        :raises ValueError: if the file is closed.
        """
        if self._closed:
            raise ValueError("I/O operation on closed file")
        return self

    def __next__(self) -> Any:
        """The next line, as :meth:`readline` returns it; :class:`StopIteration` at EOF.

        Iteration and direct :meth:`readline` calls can be mixed freely.
        """
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def xreadlines(self: _F) -> _F:
        """Old spelling of ``iter(f)``: returns the file itself."""
        return self

    # ----------------------------------------------------------------------------------------
    # Status

    def close(self) -> None:
        """Flush buffered writes and mark the file closed; later reads and writes fail.

        Closing an already closed file is allowed.
        """
        self.flush()
        self._closed = True

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has been called."""
        return self._closed

    def readable(self) -> bool:
        """Whether the mode allows reading (otherwise :meth:`read` raises)."""
        return (self._flags & self.FLAG_READ) == self.FLAG_READ

    def writable(self) -> bool:
        """Whether the mode allows writing (otherwise :meth:`write` raises)."""
        return (self._flags & self.FLAG_WRITE) == self.FLAG_WRITE

    def seekable(self) -> bool:
        """Whether :meth:`seek` works: never for this base class."""
        return False

    def seek(self, offset: int, whence: int = 0) -> None:
        """Move the file position; this base class cannot, and always raises.

        Seekable subclasses interpret *whence* as :attr:`SEEK_SET` (absolute),
        :attr:`SEEK_CUR` (relative to the current position) or :attr:`SEEK_END` (relative to
        the end of the file).

        :raises OSError: always, in this class.
        """
        raise OSError("File does not support seeking.")

    def tell(self) -> int:
        """The current position, as counted from the bytes read and written so far.

        For streams and append-mode files this is a running count rather than a true
        offset; in universal-newline mode a translated line ending counts as one byte.
        """
        return self._pos

    # ----------------------------------------------------------------------------------------
    # Reading

    def read(self, size: int | None = None) -> bytes:
        """Read up to *size* bytes; all bytes up to EOF when *size* is ``None`` or negative.

        The result is always ``bytes``, whatever the mode (``"b"`` makes no difference: SSH
        files carry no encoding). Fewer bytes than asked, or ``b""``, mean EOF was reached.

        :raises OSError: if the file is closed or not open for reading.
        """
        if self._closed:
            raise OSError("File is closed")
        if not (self._flags & self.FLAG_READ):
            raise OSError("File is not open for reading")
        if size is None or size < 0:
            return self._read_to_eof(self._rbuffer)
        rdata, start = self._rdata, self._rstart
        if size <= len(rdata) - start:
            end = start + size
            result = rdata[start:end]
            if end == len(rdata):
                self._rdata, self._rstart = b"", 0
            else:
                self._rstart = end
            self._pos += size
            return result
        buffered = self._rbuffer
        # Gather chunks in a list and join once: linear, however small the chunks.
        chunks: list[bytes] = [buffered] if buffered else []
        have = len(buffered)
        try:
            while have < size:
                want = size - have
                if self._flags & self.FLAG_BUFFERED:
                    want = max(self._bufsize, want)
                try:
                    data = self._read(want)
                except EOFError:
                    data = None
                if data is None or len(data) == 0:
                    break
                chunks.append(data)
                have += len(data)
                self._realpos += len(data)
        except BaseException:
            # Keep what arrived before the failure for the next read.
            self._rbuffer = b"".join(chunks)
            raise
        joined = b"".join(chunks)
        if have <= size:
            self._rbuffer = b""
            result = joined
        else:
            result = joined[:size]
            self._set_rbuffer_from(joined, size)
        self._pos += len(result)
        return result

    def _read_to_eof(self, buffered: bytes) -> bytes:
        # As in paramiko, the read-ahead is handed over (and counted) up front, so if the
        # stream fails part-way the bytes gathered so far are gone with the exception.
        chunks: list[bytes] = [buffered] if buffered else []
        self._rbuffer = b""
        self._pos += len(buffered)
        chunk_size = self._DEFAULT_BUFSIZE
        while True:
            try:
                data = self._read(chunk_size)
            except EOFError:
                data = None
            if data is None or len(data) == 0:
                break
            chunks.append(data)
            self._realpos += len(data)
            self._pos += len(data)
        return b"".join(chunks)

    def readinto(self, buff: bytearray | memoryview) -> int:
        """Read up to ``len(buff)`` bytes into the writable buffer *buff*; return the count."""
        data = self.read(len(buff))
        buff[: len(data)] = data
        return len(data)

    def readline(self, size: int | None = None) -> Any:
        """Read one line, keeping its line ending (absent only at the end of the file).

        With *size* given and non-negative, at most *size* bytes are taken and the line may
        be incomplete. ``b""``/``""`` means EOF. The line is ``bytes`` if the mode contains
        ``"b"``, otherwise ``str`` decoded as UTF-8. In ``"U"`` (universal newline) mode,
        ``\\r`` and ``\\r\\n`` also end a line and are returned as ``\\n``, and the kinds seen
        are recorded in :attr:`newlines`.

        :raises OSError: if the file is closed or not open for reading.
        """
        if self._closed:
            raise OSError("File is closed")
        if not (self._flags & self.FLAG_READ):
            raise OSError("File not open for reading")
        flags = self._flags
        universal = flags & self.FLAG_UNIVERSAL_NEWLINE
        rdata, start = self._rdata, self._rstart
        if self._at_trailing_cr and universal and len(rdata) > start:
            # The previous line ended in a lone "\r" at the end of the buffer: a "\n" now at
            # the front completes a "\r\n" ending. (The buffer itself is only updated when
            # a line is returned, as with paramiko.)
            if rdata[start] == 0x0A:
                start += 1
                self._record_newline(_CRLF)
            else:
                self._record_newline(_CR)
            self._at_trailing_cr = False
        if size is None or size < 0 or size > len(rdata) - start:
            # Fast path: a whole line is already buffered.
            pos = rdata.find(_LF, start)
            if universal:
                rpos = rdata.find(_CR, start)
                if rpos >= 0 and (rpos < pos or pos < 0):
                    pos = rpos
            if pos >= 0:
                return self._take_line(rdata, start, pos, len(rdata))
        # Slow path: gather chunks until a line ending, the size limit or EOF. Each chunk is
        # scanned once, so a long line costs linear time.
        line: bytes | bytearray = rdata[start:]
        owned = False  # becomes True once `line` is our own bytearray
        scanned = 0  # line[:scanned] holds no line ending
        limit = -1  # where the line is cut by `size`, if it is
        while True:
            if self._at_trailing_cr and universal and len(line) > 0:
                if line[0] == 0x0A:
                    line = line[1:]
                    self._record_newline(_CRLF)
                else:
                    self._record_newline(_CR)
                self._at_trailing_cr = False
            if size is not None and size >= 0:
                if len(line) >= size:
                    limit = size
                    break
                want = size - len(line)
            else:
                want = self._bufsize
            if line.find(_LF, scanned) >= 0 or (universal and line.find(_CR, scanned) >= 0):
                break
            scanned = len(line)
            try:
                data = self._read(want)
            except EOFError:
                data = None
            if data is None or len(data) == 0:
                self._rbuffer = b""
                self._pos += len(line)
                return self._as_line(bytes(line))
            if not owned:
                line = bytearray(line)
                owned = True
            line += data
            self._realpos += len(data)

        text = bytes(line)
        if limit < 0:
            limit = len(text)
        pos = text.find(_LF, scanned, limit)
        if universal:
            rpos = text.find(_CR, scanned, limit)
            if rpos >= 0 and (rpos < pos or pos < 0):
                pos = rpos
        if pos < 0:
            # Cut by `size` before any line ending: hand out the first `size` bytes.
            self._set_rbuffer_from(text, limit)
            self._pos += limit
            return self._as_line(text[:limit])
        return self._take_line(text, 0, pos, limit)

    def _take_line(self, data: bytes, start: int, pos: int, limit: int) -> Any:
        """Return the line ``data[start:]`` ending at *pos*, keep the rest as read-ahead.

        A ``\r`` at *pos* absorbs a following ``\n`` only within ``data[:limit]``.
        """
        end = pos + 1
        if data[pos] == 0x0D and end < limit and data[end] == 0x0A:
            end += 1
        ending = data[pos:end]
        line = data[start:end] if ending == _LF else data[start:pos] + _LF
        self._set_rbuffer_from(data, end)
        if end == len(data) and ending == _CR:
            # A "\n" may still arrive with the next chunk; decide then.
            self._at_trailing_cr = True
        else:
            self._record_newline(ending)
        self._pos += len(line)
        return self._as_line(line)

    def _set_rbuffer_from(self, data: bytes, start: int) -> None:
        if start == len(data):
            self._rdata, self._rstart = b"", 0
        else:
            self._rdata, self._rstart = data, start

    def _as_line(self, line: bytes) -> Any:
        return line if self._flags & self.FLAG_BINARY else line.decode("utf8")

    def readlines(self, sizehint: int | None = None) -> list[Any]:
        """All remaining lines, as :meth:`readline` returns them.

        With *sizehint*, stop once the lines gathered total at least that many bytes
        (characters in text mode).
        """
        lines: list[Any] = []
        total = 0
        while True:
            line = self.readline()
            if len(line) == 0:
                break
            lines.append(line)
            total += len(line)
            if sizehint is not None and total >= sizehint:
                break
        return lines

    # ----------------------------------------------------------------------------------------
    # Writing

    def flush(self) -> None:
        """Push everything in the write buffer to the stream (nothing to do when unbuffered)."""
        self._write_all(self._wbuffer.getvalue())
        self._wbuffer = BytesIO()

    def write(self, data: _WriteData) -> None:
        """Write *data* (``bytes``, or ``str`` which is encoded as UTF-8).

        Unbuffered files (``bufsize`` 0 or negative) write immediately. Line-buffered files
        (``bufsize`` 1) push everything up to the last ``\\n`` written so far. Otherwise
        data is pushed once the buffer holds ``bufsize`` bytes; :meth:`flush` and
        :meth:`close` push the rest.

        :raises OSError: if the file is closed or not open for writing.
        """
        if isinstance(data, str):
            data = data.encode("utf-8")
        if self._closed:
            raise OSError("File is closed")
        if not (self._flags & self.FLAG_WRITE):
            raise OSError("File not open for writing")
        if not (self._flags & self.FLAG_BUFFERED):
            self._write_all(data)
            return
        self._wbuffer.write(data)
        if self._flags & self.FLAG_LINE_BUFFERED:
            # Only the new data can hold a newline that is not yet pushed. (Like paramiko,
            # this needs a bytes-like object with rfind: a memoryview raises AttributeError.)
            last = _rfind_lf(data)
            if last >= 0:
                pending = self._wbuffer.getvalue()
                cut = last + 1 + len(pending) - len(data)
                self._write_all(pending[:cut])
                self._wbuffer = BytesIO()
                self._wbuffer.write(pending[cut:])
            return
        if self._wbuffer.tell() >= self._bufsize:
            self.flush()

    def writelines(self, sequence: Iterable[_WriteData]) -> None:
        """:meth:`write` each item of *sequence* in turn (no separators are added)."""
        for item in sequence:
            self.write(item)

    # ----------------------------------------------------------------------------------------
    # Hooks for subclasses

    def _read(self, size: int) -> bytes | None:
        """Read up to *size* bytes from the stream (subclass hook).

        Return ``b""`` or ``None``, or raise :class:`EOFError`, at end of file. The default
        stream is always at EOF.
        """
        raise EOFError()

    def _write(self, data: memoryview) -> int:
        """Write a prefix of *data* to the stream and return its length (subclass hook).

        The default raises :class:`OSError`.
        """
        raise OSError("write not implemented")

    def _get_size(self) -> int:
        """The current size of the file (subclass hook; the default is 0).

        :meth:`_set_mode` calls it for append mode, to start positions at the end.
        """
        return 0

    # ----------------------------------------------------------------------------------------
    # Internals

    def _set_mode(self, mode: str = "r", bufsize: int = -1) -> None:
        """Apply a ``open()``-style *mode* string and *bufsize* (called by subclasses).

        *mode* letters: ``r`` read, ``w`` write, ``a`` append (write at the end), ``+`` read
        and write, ``b`` binary lines, ``U`` universal newlines. *bufsize*: negative or 0
        for unbuffered writes, 1 for line buffering, larger for a buffer of that size.
        Mode flags are only ever added, never cleared.
        """
        # Reset in every case: readline and buffered reads use it.
        self._bufsize = self._DEFAULT_BUFSIZE
        if bufsize < 0:
            # Unbuffered unless asked: buffered writes surprise people.
            bufsize = 0
        if bufsize == 1:
            self._flags |= self.FLAG_BUFFERED | self.FLAG_LINE_BUFFERED
        elif bufsize > 1:
            self._bufsize = bufsize
            self._flags |= self.FLAG_BUFFERED
            self._flags &= ~self.FLAG_LINE_BUFFERED
        elif bufsize == 0:
            self._flags &= ~(self.FLAG_BUFFERED | self.FLAG_LINE_BUFFERED)

        if "r" in mode or "+" in mode:
            self._flags |= self.FLAG_READ
        if "w" in mode or "+" in mode:
            self._flags |= self.FLAG_WRITE
        if "a" in mode:
            self._flags |= self.FLAG_WRITE | self.FLAG_APPEND
            self._size = self._get_size()
            self._pos = self._realpos = self._size
        if "b" in mode:
            self._flags |= self.FLAG_BINARY
        if "U" in mode:
            self._flags |= self.FLAG_UNIVERSAL_NEWLINE
            self.newlines = None

    def _write_all(self, raw_data: bytes | bytearray | memoryview) -> None:
        # The stream may take only part of the data per call (like a socket's send).
        data = memoryview(raw_data)
        while len(data) > 0:
            count = self._write(data)
            data = data[count:]
            if self._flags & self.FLAG_APPEND:
                self._size += count
                self._pos = self._realpos = self._size
            else:
                self._pos += count
                self._realpos += count

    def _record_newline(self, newline: bytes) -> None:
        # newlines goes None -> one bytes value -> a tuple of distinct values, like the
        # attribute of Python 2's universal-newline files.
        if not (self._flags & self.FLAG_UNIVERSAL_NEWLINE):
            return
        seen = self.newlines
        if seen is None:
            self.newlines = newline
        elif isinstance(seen, bytes):
            if seen != newline:
                self.newlines = (seen, newline)
        elif newline not in seen:
            self.newlines = (*seen, newline)


def _rfind_lf(data: bytes | bytearray | memoryview) -> int:
    """``data.rfind(b"\\n")``, failing like paramiko for objects without ``rfind``."""
    finder: Any = data
    result: int = finder.rfind(_LF)
    return result

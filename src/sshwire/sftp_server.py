"""The server side of SFTP version 3: :class:`SFTPServer`, a subsystem handler.

Theory of operation
-------------------
Register the class for the ``sftp`` subsystem::

    transport.set_subsystem_handler("sftp", SFTPServer, MyInterface)

Each subsystem request then makes an ``SFTPServer`` thread for that channel. It answers the
client's INIT with VERSION 3 (draft-ietf-secsh-filexfer-02 §4) and the OpenSSH extensions it
serves (OpenSSH's ``PROTOCOL`` file §4), calls ``session_started()`` on a new
``MyInterface(server, ...)``, and then serves requests one at a time, in order, until the
client closes the channel (or breaks the protocol): the interface does the work, this class
decodes requests, keeps the table of open handles and encodes replies.

Reading: the channel is read in large chunks; every complete packet in a chunk is decoded in
place (``memoryview`` slices of an immutable ``bytes``, so a WRITE's data reaches ``pwrite``
without a copy). READ and WRITE, the packets that carry the bytes, are picked apart with
``struct`` rather than the general decoder.

Writing: replies are queued and sent together when no request is waiting to be read (one
channel write for a whole pipeline of WRITE statuses); a DATA reply from a handle that can
read into a buffer is built in one ``bytearray`` with its header in front, and sent as is.

Bad input: a packet whose length is 0 or above :data:`~sshwire.sftp.MAX_PACKET_SIZE`, or one
too short to hold a request id, ends the session (its framing cannot be trusted); a packet
whose fields are truncated or malformed is answered with ``SFTP_BAD_MESSAGE``; an unknown
request type with ``SFTP_OP_UNSUPPORTED``; an unknown handle with ``SFTP_BAD_MESSAGE``
("Invalid handle"); a hook that raises with ``SFTP_FAILURE``. Open handles are capped
(:attr:`SFTPServer.max_open_handles`), and all of them are closed when the session ends.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import struct
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from ._proto.errors import DecodeError
from ._proto.wire import Reader
from .message import Message
from .server import SubsystemHandler
from .sftp import (
    CMD_ATTRS,
    CMD_CLOSE,
    CMD_DATA,
    CMD_EXTENDED,
    CMD_EXTENDED_REPLY,
    CMD_FSETSTAT,
    CMD_FSTAT,
    CMD_HANDLE,
    CMD_LSTAT,
    CMD_MKDIR,
    CMD_NAME,
    CMD_NAMES,
    CMD_OPEN,
    CMD_OPENDIR,
    CMD_READ,
    CMD_READDIR,
    CMD_READLINK,
    CMD_REALPATH,
    CMD_REMOVE,
    CMD_RENAME,
    CMD_RMDIR,
    CMD_SETSTAT,
    CMD_STAT,
    CMD_STATUS,
    CMD_SYMLINK,
    CMD_WRITE,
    MAX_PACKET_SIZE,
    SFTP_BAD_MESSAGE,
    SFTP_DESC,
    SFTP_EOF,
    SFTP_FAILURE,
    SFTP_FLAG_APPEND,
    SFTP_FLAG_CREATE,
    SFTP_FLAG_EXCL,
    SFTP_FLAG_READ,
    SFTP_FLAG_TRUNC,
    SFTP_FLAG_WRITE,
    SFTP_NO_SUCH_FILE,
    SFTP_OK,
    SFTP_OP_UNSUPPORTED,
    SFTP_PERMISSION_DENIED,
    BaseSFTP,
    SFTPError,
)
from .sftp_attr import SFTPAttributes
from .sftp_handle import SFTPHandle
from .sftp_si import SFTPServerInterface
from .util import get_logger

if TYPE_CHECKING:
    from .channel import Channel
    from .server import ServerInterface
    from .transport import Transport

__all__ = ["SFTPServer"]

_U32: Final = struct.Struct(">I")
_U64_U32: Final = struct.Struct(">QI")
_U64: Final = struct.Struct(">Q")
_HEADER_ID: Final = struct.Struct(">IBI")  # length, type, request id
_DATA_HEADER: Final = struct.Struct(">IBII")  # length, CMD_DATA, request id, data length
_STATVFS: Final = struct.Struct(">11Q")

#: read the channel in chunks this large (everything buffered, usually)
_RECV_SIZE: Final = 4 * 1024 * 1024
#: queued replies are sent once they add up to this much
_FLUSH_AT: Final = 64 * 1024
#: a reply at least this large is sent on its own rather than queued
_DIRECT_AT: Final = 16 * 1024

# OpenSSH's statvfs flag bits (PROTOCOL §4.4)
_SSH_FXE_STATVFS_ST_RDONLY: Final = 0x1
_SSH_FXE_STATVFS_ST_NOSUID: Final = 0x2

#: check-file algorithms (paramiko's extension, from draft-ietf-secsh-filexfer-10 §9.1.2)
_CHECK_FILE_HASHES: Final = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512")


class _Malformed(Exception):
    """A field of a request is missing or wrong: answer SFTP_BAD_MESSAGE."""


def _path(reader: Reader) -> str:
    """A path field: UTF-8, with undecodable bytes kept as surrogates (os functions take
    them back byte for byte)."""
    return bytes(reader.string_view()).decode("utf-8", "surrogateescape")


def _encode(text: str | bytes) -> bytes:
    if isinstance(text, bytes):
        return text
    return text.encode("utf-8", "surrogateescape")


def _string(value: str | bytes | bytearray | memoryview) -> bytes:
    raw = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else bytes(value)
    return _U32.pack(len(raw)) + raw


class SFTPServer(BaseSFTP, SubsystemHandler):
    """An SFTP (version 3) server for one channel; a :class:`~sshwire.server.SubsystemHandler`.

    Set it as the ``sftp`` subsystem handler with
    :meth:`Transport.set_subsystem_handler <sshwire.transport.Transport.set_subsystem_handler>`
    (or :meth:`sshwire.testing.SSHServer.set_subsystem_handler`); the transport creates it
    for each request with ``(channel, name, server)`` followed by the extra arguments given
    there.

    :param channel: the channel the client asked for the subsystem on.
    :param name: the subsystem's name (``"sftp"``).
    :param server: the connection's :class:`~sshwire.server.ServerInterface`.
    :param sftp_si: the :class:`~sshwire.sftp_si.SFTPServerInterface` subclass that serves
        the requests; it is created as ``sftp_si(server, *args, **kwargs)``.
    """

    #: ``max-packet-length`` announced by limits@openssh.com (OpenSSH's own figure); larger
    #: packets are still accepted, up to :data:`sshwire.sftp.MAX_PACKET_SIZE`.
    max_packet_length = 256 * 1024
    #: the most data one READ returns (longer requests get this much, as from OpenSSH)
    max_read_length = 256 * 1024 - 1024
    #: ``max-write-length`` announced by limits@openssh.com
    max_write_length = 256 * 1024 - 1024
    #: open file and folder handles allowed at once; OPEN and OPENDIR fail beyond it
    max_open_handles = 1024
    #: folder entries per READDIR reply (OpenSSH's sftp-server sends 100)
    readdir_batch = 100

    def __init__(
        self,
        channel: Channel,
        name: str,
        server: ServerInterface,
        sftp_si: type[SFTPServerInterface] = SFTPServerInterface,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        BaseSFTP.__init__(self)
        SubsystemHandler.__init__(self, channel, name, server)
        transport = channel.get_transport()
        log_name = transport.get_log_channel() if transport is not None else "sshwire.transport"
        self.logger = get_logger(log_name + ".sftp")
        self.ultra_debug = transport.get_hexdump() if transport is not None else False
        self.next_handle = 1
        #: open files and folders: handle string -> SFTPHandle
        self.file_table: dict[bytes, SFTPHandle] = {}
        self.folder_table: dict[bytes, SFTPHandle] = {}
        self.server: SFTPServerInterface = sftp_si(server, *args, **kwargs)
        self._out: list[bytes | bytearray | memoryview] = []
        self._out_size = 0
        self._sftp_finished = False
        self._sftp_clean_end = False
        self._handlers: dict[int, Callable[[int, memoryview], None]] = {
            CMD_OPEN: self._on_open,
            CMD_CLOSE: self._on_close,
            CMD_READ: self._on_read,
            CMD_WRITE: self._on_write,
            CMD_LSTAT: self._on_lstat,
            CMD_FSTAT: self._on_fstat,
            CMD_SETSTAT: self._on_setstat,
            CMD_FSETSTAT: self._on_fsetstat,
            CMD_OPENDIR: self._on_opendir,
            CMD_READDIR: self._on_readdir,
            CMD_REMOVE: self._on_remove,
            CMD_MKDIR: self._on_mkdir,
            CMD_RMDIR: self._on_rmdir,
            CMD_REALPATH: self._on_realpath,
            CMD_STAT: self._on_stat,
            CMD_RENAME: self._on_rename,
            CMD_READLINK: self._on_readlink,
            CMD_SYMLINK: self._on_symlink,
            CMD_EXTENDED: self._on_extended,
        }
        self._extended: dict[str, Callable[[int, Reader], None]] = {
            "posix-rename@openssh.com": self._ext_posix_rename,
            "statvfs@openssh.com": self._ext_statvfs,
            "fstatvfs@openssh.com": self._ext_fstatvfs,
            "hardlink@openssh.com": self._ext_hardlink,
            "fsync@openssh.com": self._ext_fsync,
            "lsetstat@openssh.com": self._ext_lsetstat,
            "limits@openssh.com": self._ext_limits,
            "expand-path@openssh.com": self._ext_expand_path,
            "check-file": self._ext_check_file,
        }

    def _log(self, level: int, msg: Any, *args: Any) -> None:
        get_name = getattr(self.sock, "get_name", None)
        prefix = f"[chan {get_name()}] " if get_name is not None else ""
        if isinstance(msg, list):
            for line in msg:
                BaseSFTP._log(self, level, prefix + str(line), *args)
        else:
            BaseSFTP._log(self, level, prefix + str(msg), *args)

    def _log_exc(self, level: int, msg: str, *args: Any) -> None:
        """Log with the current exception's traceback."""
        get_name = getattr(self.sock, "get_name", None)
        prefix = f"[chan {get_name()}] " if get_name is not None else ""
        self.logger.log(level, prefix + msg, *args, exc_info=True)

    # ------------------------------------------------------------------ the session

    def start_subsystem(self, name: str, transport: Transport, channel: Channel) -> None:
        """Serve the session on ``channel`` until the client closes it."""
        self.sock = channel
        self._log(logging.DEBUG, "Started sftp server on channel %r", channel)
        try:
            version = self._send_server_version()
        except (EOFError, SFTPError) as exc:
            self._log(logging.DEBUG, "sftp handshake failed: %s", exc)
            return
        self._flush()  # VERSION goes out before session_started() runs
        self._log(logging.DEBUG, "client speaks sftp version %d", version)
        self.server.session_started()
        try:
            self._serve_requests()
        except EOFError as exc:
            self._log(logging.DEBUG, "sftp session ended: %s", exc)
        except SFTPError as exc:
            self._log(logging.INFO, "sftp session ended on bad input: %s", exc)
        else:
            self._sftp_clean_end = True

    def finish_subsystem(self) -> None:
        """End the session: ``session_ended()``, close the channel and every open handle."""
        if self._sftp_finished:
            return
        self._sftp_finished = True
        try:
            try:
                self.server.session_ended()
            except Exception:
                self._log_exc(logging.WARNING, "session_ended() raised")
            if self._sftp_clean_end:
                send_exit_status = getattr(self.sock, "send_exit_status", None)
                if send_exit_status is not None:
                    try:  # what sshd reports when sftp-server exits
                        send_exit_status(0)
                    except Exception:
                        pass
            SubsystemHandler.finish_subsystem(self)
        finally:
            handles = list(self.file_table.values()) + list(self.folder_table.values())
            self.file_table = {}
            self.folder_table = {}
            for handle in handles:
                try:
                    handle.close()
                except Exception:
                    self._log_exc(logging.WARNING, "closing %r raised", handle)

    def _server_extensions(self) -> list[tuple[str, bytes]]:
        """What VERSION announces: each OpenSSH extension whose hook the interface has."""
        hooks = type(self.server)
        base = SFTPServerInterface

        def overridden(name: str) -> bool:
            return getattr(hooks, name) is not getattr(base, name)

        pairs: list[tuple[str, bytes]] = []
        if overridden("posix_rename"):
            pairs.append(("posix-rename@openssh.com", b"1"))
        if overridden("statvfs"):
            pairs += [("statvfs@openssh.com", b"2"), ("fstatvfs@openssh.com", b"2")]
        if overridden("hardlink"):
            pairs.append(("hardlink@openssh.com", b"1"))
        pairs.append(("fsync@openssh.com", b"1"))
        if overridden("lchattr"):
            pairs.append(("lsetstat@openssh.com", b"1"))
        pairs.append(("limits@openssh.com", b"1"))
        pairs.append(("expand-path@openssh.com", b"1"))
        pairs.append(("check-file", ",".join(_CHECK_FILE_HASHES).encode()))
        return pairs

    # ------------------------------------------------------------------ static helpers

    @staticmethod
    def convert_errno(e: int | None) -> int:
        """The SFTP status code for an ``errno`` value (as in ``OSError.errno``).

        ``EACCES`` is ``SFTP_PERMISSION_DENIED``; ``ENOENT`` and ``ENOTDIR`` are
        ``SFTP_NO_SUCH_FILE``; everything else is ``SFTP_FAILURE``.
        """
        if e == errno.EACCES:
            return SFTP_PERMISSION_DENIED
        if e in (errno.ENOENT, errno.ENOTDIR):
            return SFTP_NO_SUCH_FILE
        return SFTP_FAILURE

    @staticmethod
    def set_file_attr(filename: str, attr: SFTPAttributes) -> None:
        """Apply the attributes a request carried to the local file ``filename``.

        Permissions, owner and group (not on Windows), access and modification times, and
        the size (the file is truncated or extended to it): each only when the request
        included it. Raises :class:`OSError` as the underlying calls do.
        """
        flags = attr._flags
        if sys.platform != "win32":
            if flags & attr.FLAG_PERMISSIONS and attr.st_mode is not None:
                os.chmod(filename, attr.st_mode & 0o7777)
            if flags & attr.FLAG_UIDGID and attr.st_uid is not None and attr.st_gid is not None:
                os.chown(filename, attr.st_uid, attr.st_gid)
        if flags & attr.FLAG_AMTIME and attr.st_atime is not None and attr.st_mtime is not None:
            os.utime(filename, (attr.st_atime, attr.st_mtime))
        if flags & attr.FLAG_SIZE and attr.st_size is not None:
            os.truncate(filename, attr.st_size)

    # ------------------------------------------------------------------ the request loop

    def _serve_requests(self) -> None:
        """Read packets until EOF and dispatch each; SFTPError for broken framing."""
        sock = self.sock
        recv_ready: Callable[[], bool] | None = getattr(sock, "recv_ready", None)
        data: bytes = b""
        pos = 0
        size = 0
        while True:  # ends at EOF (return) or on broken framing (SFTPError)
            end = len(data)
            while end - pos >= 4:
                (size,) = _U32.unpack_from(data, pos)
                if size == 0 or size > MAX_PACKET_SIZE:
                    raise SFTPError(f"packet length {size} out of range")
                stop = pos + 4 + size
                if stop > end:
                    break
                self._dispatch(memoryview(data)[pos + 4 : stop])
                pos = stop
            have = end - pos
            parts = [data[pos:]] if have else []
            target = 4 + size if have >= 4 else 4
            while have < target:
                if self._out and not (recv_ready is not None and recv_ready()):
                    self._flush()  # nothing more to read now: let the replies go
                chunk = sock.recv(max(target - have, _RECV_SIZE))
                if not chunk:
                    self._flush()
                    if have:
                        raise SFTPError(f"channel closed inside a packet ({have} bytes)")
                    return
                parts.append(chunk)
                have += len(chunk)
            data = parts[0] if len(parts) == 1 else b"".join(parts)
            pos = 0

    def _dispatch(self, packet: memoryview) -> None:
        if len(packet) < 5:
            raise SFTPError("packet too short for a request id")
        t = packet[0]
        (request_number,) = _U32.unpack_from(packet, 1)
        if self.logger.isEnabledFor(logging.DEBUG):
            self._log(logging.DEBUG, "Request: %s", CMD_NAMES.get(t, t))
        handler = self._handlers.get(t)
        if handler is None:
            self._send_status(request_number, SFTP_OP_UNSUPPORTED)
            return
        try:
            handler(request_number, packet)
        except (_Malformed, DecodeError) as exc:
            self._log(logging.DEBUG, "malformed %s request: %s", CMD_NAMES.get(t, t), exc)
            self._send_status(request_number, SFTP_BAD_MESSAGE)
        except EOFError:  # the channel is gone
            raise
        except Exception as exc:  # a hook failed: the request fails, the session goes on
            self._log(logging.WARNING, "error serving %s: %r", CMD_NAMES.get(t, t), exc)
            self._log_exc(logging.DEBUG, "traceback")
            self._send_status(request_number, SFTP_FAILURE)

    # ------------------------------------------------------------------ replies

    def _send_packet(self, t: int, packet: bytes | bytearray | memoryview | Message) -> None:
        """Queue a reply (sent by :meth:`_flush`, in order with everything else)."""
        if isinstance(packet, Message):
            packet = packet.asbytes()
        if self.ultra_debug:
            self._log(logging.DEBUG, "out packet %s, %d bytes", CMD_NAMES.get(t, t), len(packet))
        head = _U32.pack(len(packet) + 1) + bytes((t,))
        if len(packet) >= _DIRECT_AT:
            self._flush()
            self._write_all(b"".join((head, packet)))
            return
        self._queue(head)
        self._queue(packet)

    def _queue(self, data: bytes | bytearray | memoryview) -> None:
        self._out.append(data)
        self._out_size += len(data)
        if self._out_size >= _FLUSH_AT:
            self._flush()

    def _flush(self) -> None:
        if not self._out:
            return
        out = b"".join(self._out)
        self._out.clear()
        self._out_size = 0
        self._write_all(out)

    def _reply(self, request_number: int, t: int, body: bytes = b"") -> None:
        self._queue(_HEADER_ID.pack(len(body) + 5, t, request_number))
        if body:
            self._queue(body)

    def _send_status(self, request_number: int, code: int, desc: str | None = None) -> None:
        if not isinstance(code, int) or not 0 <= code <= 0xFFFFFFFF:
            code = SFTP_FAILURE
        if desc is None:
            desc = SFTP_DESC[code] if 0 <= code < len(SFTP_DESC) else "Unknown"
        # filexfer-02 §7: code, message, language tag (empty)
        self._reply(request_number, CMD_STATUS, _U32.pack(code) + _string(desc) + _string(""))

    def _send_handle_response(
        self, request_number: int, handle: SFTPHandle | int, folder: bool = False
    ) -> None:
        if not isinstance(handle, SFTPHandle):
            self._send_status(request_number, handle)
            return
        if len(self.file_table) + len(self.folder_table) >= self.max_open_handles:
            handle.close()
            self._send_status(request_number, SFTP_FAILURE, "Too many open handles")
            return
        name = b"hx%d" % self.next_handle
        self.next_handle += 1
        handle._set_name(name)
        (self.folder_table if folder else self.file_table)[name] = handle
        self._reply(request_number, CMD_HANDLE, _string(name))

    def _send_attrs_or_status(self, request_number: int, result: SFTPAttributes | int) -> None:
        if isinstance(result, SFTPAttributes):
            self._reply(request_number, CMD_ATTRS, result._to_bytes())
        else:
            self._send_status(request_number, result)

    def _send_name(self, request_number: int, result: str | bytes | int) -> None:
        """A NAME reply with one entry (REALPATH, READLINK, expand-path), or a status."""
        if isinstance(result, str | bytes):
            body = _U32.pack(1) + _string(result) + _string(b"") + SFTPAttributes()._to_bytes()
            self._reply(request_number, CMD_NAME, body)
        else:
            self._send_status(request_number, result)

    # ------------------------------------------------------------------ decoding helpers

    def _file(self, request_number: int, handle: bytes) -> SFTPHandle | None:
        found = self.file_table.get(handle)
        if found is None:
            self._send_status(request_number, SFTP_BAD_MESSAGE, "Invalid handle")
        return found

    @staticmethod
    def _reader(packet: memoryview) -> Reader:
        return Reader(packet[5:])

    @staticmethod
    def _convert_pflags(pflags: int) -> int:
        """SFTP open flags (filexfer-02 §6.3) as :func:`os.open` flags."""
        if pflags & SFTP_FLAG_READ and pflags & SFTP_FLAG_WRITE:
            flags = os.O_RDWR
        elif pflags & SFTP_FLAG_WRITE:
            flags = os.O_WRONLY
        else:
            flags = os.O_RDONLY
        if pflags & SFTP_FLAG_APPEND:
            flags |= os.O_APPEND
        if pflags & SFTP_FLAG_CREATE:
            flags |= os.O_CREAT
        if pflags & SFTP_FLAG_TRUNC:
            flags |= os.O_TRUNC
        if pflags & SFTP_FLAG_EXCL:
            flags |= os.O_EXCL
        return flags

    # ------------------------------------------------------------------ requests (§6)

    def _on_open(self, request_number: int, packet: memoryview) -> None:
        r = self._reader(packet)  # §6.3: filename, pflags, attrs
        path = _path(r)
        flags = self._convert_pflags(r.uint32())
        attr = SFTPAttributes._read(r)
        self._send_handle_response(request_number, self.server.open(path, flags, attr))

    def _on_close(self, request_number: int, packet: memoryview) -> None:
        handle = self._reader(packet).string()  # §6.3
        found = self.file_table.pop(handle, None) or self.folder_table.pop(handle, None)
        if found is None:
            self._send_status(request_number, SFTP_BAD_MESSAGE, "Invalid handle")
            return
        found.close()
        self._send_status(request_number, SFTP_OK)

    def _on_read(self, request_number: int, packet: memoryview) -> None:
        # §6.4: string handle, uint64 offset, uint32 len (parsed with struct: the hot path)
        if len(packet) < 9:
            raise _Malformed("truncated READ")
        (hlen,) = _U32.unpack_from(packet, 5)
        fixed = 9 + hlen
        if len(packet) < fixed + 12:
            raise _Malformed("truncated READ")
        offset, length = _U64_U32.unpack_from(packet, fixed)
        handle = self._file(request_number, packet[9:fixed].tobytes())
        if handle is None:
            return
        length = min(length, self.max_read_length)
        buf = bytearray(_DATA_HEADER.size + length)
        try:
            got = handle._readinto(offset, memoryview(buf)[_DATA_HEADER.size :])
        except OSError as exc:
            self._send_status(request_number, self.convert_errno(exc.errno))
            return
        if got is None:  # the handle has only read()
            data: Any = handle.read(offset, length)
            if isinstance(data, str):  # paramiko's handles may answer text
                data = data.encode("utf-8")
            if not isinstance(data, bytes | bytearray | memoryview):
                self._send_status(request_number, data)
                return
            if not data:
                self._send_status(request_number, SFTP_EOF)
                return
            data = memoryview(data)[:length]  # never more than asked for
            got = len(data)
            head = _DATA_HEADER.pack(got + 9, CMD_DATA, request_number, got)
            self._flush()
            self._write_all(b"".join((head, data)))
            return
        if got == 0:
            self._send_status(request_number, SFTP_EOF)
            return
        _DATA_HEADER.pack_into(buf, 0, got + 9, CMD_DATA, request_number, got)
        out = memoryview(buf)[: _DATA_HEADER.size + got]
        if got >= _DIRECT_AT:
            self._flush()
            self._write_all(out)
        else:
            self._queue(out)

    def _on_write(self, request_number: int, packet: memoryview) -> None:
        # §6.4: string handle, uint64 offset, string data
        if len(packet) < 9:
            raise _Malformed("truncated WRITE")
        (hlen,) = _U32.unpack_from(packet, 5)
        fixed = 9 + hlen
        if len(packet) < fixed + 12:
            raise _Malformed("truncated WRITE")
        offset, dlen = _U64_U32.unpack_from(packet, fixed)
        start = fixed + 12
        if len(packet) - start < dlen:
            raise _Malformed("truncated WRITE data")
        handle = self._file(request_number, packet[9:fixed].tobytes())
        if handle is None:
            return
        view = packet[start : start + dlen]
        try:
            result = handle._write_view(offset, view)
        except OSError as exc:
            result = self.convert_errno(exc.errno)
        if result is None:
            result = handle.write(offset, view.tobytes())
        self._send_status(request_number, result)

    def _on_remove(self, request_number: int, packet: memoryview) -> None:
        path = _path(self._reader(packet))  # §6.5
        self._send_status(request_number, self.server.remove(path))

    def _on_rename(self, request_number: int, packet: memoryview) -> None:
        r = self._reader(packet)  # §6.5
        oldpath, newpath = _path(r), _path(r)
        self._send_status(request_number, self.server.rename(oldpath, newpath))

    def _on_mkdir(self, request_number: int, packet: memoryview) -> None:
        r = self._reader(packet)  # §6.6
        path = _path(r)
        attr = SFTPAttributes._read(r)
        self._send_status(request_number, self.server.mkdir(path, attr))

    def _on_rmdir(self, request_number: int, packet: memoryview) -> None:
        path = _path(self._reader(packet))  # §6.6
        self._send_status(request_number, self.server.rmdir(path))

    def _on_opendir(self, request_number: int, packet: memoryview) -> None:
        path = _path(self._reader(packet))  # §6.7
        listing = self.server.list_folder(path)
        if isinstance(listing, int):
            self._send_status(request_number, listing)
            return
        folder = SFTPHandle()
        folder._set_files(listing)
        self._send_handle_response(request_number, folder, True)

    def _on_readdir(self, request_number: int, packet: memoryview) -> None:
        handle = self._reader(packet).string()  # §6.7
        folder = self.folder_table.get(handle)
        if folder is None:
            self._send_status(request_number, SFTP_BAD_MESSAGE, "Invalid handle")
            return
        entries = folder._get_next_files(self.readdir_batch)
        if not entries:
            self._send_status(request_number, SFTP_EOF)
            return
        body = [_U32.pack(len(entries))]
        for attr in entries:
            longname = getattr(attr, "longname", None) or str(attr)
            body += [_string(attr.filename), _string(longname), attr._to_bytes()]
        self._reply(request_number, CMD_NAME, b"".join(body))

    def _on_stat(self, request_number: int, packet: memoryview) -> None:
        path = _path(self._reader(packet))  # §6.8
        self._send_attrs_or_status(request_number, self.server.stat(path))

    def _on_lstat(self, request_number: int, packet: memoryview) -> None:
        path = _path(self._reader(packet))  # §6.8
        self._send_attrs_or_status(request_number, self.server.lstat(path))

    def _on_fstat(self, request_number: int, packet: memoryview) -> None:
        handle = self._file(request_number, self._reader(packet).string())  # §6.8
        if handle is not None:
            self._send_attrs_or_status(request_number, handle.stat())

    def _on_setstat(self, request_number: int, packet: memoryview) -> None:
        r = self._reader(packet)  # §6.9
        path = _path(r)
        attr = SFTPAttributes._read(r)
        self._send_status(request_number, self.server.chattr(path, attr))

    def _on_fsetstat(self, request_number: int, packet: memoryview) -> None:
        r = self._reader(packet)  # §6.9
        name = r.string()
        attr = SFTPAttributes._read(r)
        handle = self._file(request_number, name)
        if handle is not None:
            self._send_status(request_number, handle.chattr(attr))

    def _on_readlink(self, request_number: int, packet: memoryview) -> None:
        path = _path(self._reader(packet))  # §6.10
        self._send_name(request_number, self.server.readlink(path))

    def _on_symlink(self, request_number: int, packet: memoryview) -> None:
        # §6.10 names (linkpath, targetpath), but OpenSSH (and every client since) sends the
        # target first: PROTOCOL §4.1 ("SSH_FXP_SYMLINK ... reversed").
        r = self._reader(packet)
        target_path, path = _path(r), _path(r)
        self._send_status(request_number, self.server.symlink(target_path, path))

    def _on_realpath(self, request_number: int, packet: memoryview) -> None:
        path = _path(self._reader(packet))  # §6.11
        self._send_name(request_number, self.server.canonicalize(path))

    def _on_extended(self, request_number: int, packet: memoryview) -> None:
        r = self._reader(packet)  # §8: string extended-request, then its own fields
        name = r.text()
        handler = self._extended.get(name)
        if handler is None:
            self._send_status(request_number, SFTP_OP_UNSUPPORTED)
            return
        handler(request_number, r)

    # ------------------------------------------------------------------ extensions

    def _ext_posix_rename(self, request_number: int, r: Reader) -> None:
        oldpath, newpath = _path(r), _path(r)  # PROTOCOL §4.3
        self._send_status(request_number, self.server.posix_rename(oldpath, newpath))

    def _send_statvfs(self, request_number: int, result: Any) -> None:
        if isinstance(result, int):
            self._send_status(request_number, result)
            return
        flag = 0
        raw_flag = int(getattr(result, "f_flag", 0))
        if raw_flag & getattr(os, "ST_RDONLY", 1):
            flag |= _SSH_FXE_STATVFS_ST_RDONLY
        if raw_flag & getattr(os, "ST_NOSUID", 2):
            flag |= _SSH_FXE_STATVFS_ST_NOSUID
        fields = (
            result.f_bsize,
            result.f_frsize,
            result.f_blocks,
            result.f_bfree,
            result.f_bavail,
            result.f_files,
            result.f_ffree,
            result.f_favail,
            getattr(result, "f_fsid", 0),
            flag,
            result.f_namemax,
        )
        mask = (1 << 64) - 1
        body = _STATVFS.pack(*(int(v) & mask for v in fields))
        self._reply(request_number, CMD_EXTENDED_REPLY, body)

    def _ext_statvfs(self, request_number: int, r: Reader) -> None:
        path = _path(r)  # PROTOCOL §4.4
        self._send_statvfs(request_number, self.server.statvfs(path))

    def _ext_fstatvfs(self, request_number: int, r: Reader) -> None:
        handle = self._file(request_number, r.string())  # PROTOCOL §4.4
        if handle is not None:
            self._send_statvfs(request_number, handle.statvfs())

    def _ext_hardlink(self, request_number: int, r: Reader) -> None:
        oldpath, newpath = _path(r), _path(r)  # PROTOCOL §4.5
        self._send_status(request_number, self.server.hardlink(oldpath, newpath))

    def _ext_fsync(self, request_number: int, r: Reader) -> None:
        handle = self._file(request_number, r.string())  # PROTOCOL §4.6
        if handle is not None:
            self._send_status(request_number, handle.fsync())

    def _ext_lsetstat(self, request_number: int, r: Reader) -> None:
        path = _path(r)  # PROTOCOL §4.7
        attr = SFTPAttributes._read(r)
        self._send_status(request_number, self.server.lchattr(path, attr))

    def _ext_limits(self, request_number: int, r: Reader) -> None:
        # PROTOCOL §4.8: max packet, read and write lengths, max open handles (uint64 each)
        body = b"".join(
            _U64.pack(v)
            for v in (
                self.max_packet_length,
                self.max_read_length,
                self.max_write_length,
                self.max_open_handles,
            )
        )
        self._reply(request_number, CMD_EXTENDED_REPLY, body)

    def _ext_expand_path(self, request_number: int, r: Reader) -> None:
        path = _path(r)  # PROTOCOL §4.10
        self._send_name(request_number, self.server.expand_path(path))

    def _ext_check_file(self, request_number: int, r: Reader) -> None:
        # draft-ietf-secsh-filexfer-10 §9.1.2 (check-file-handle), as paramiko serves it
        name = r.string()
        algorithms = r.text().split(",")
        start, length = r.uint64(), r.uint64()
        block_size = r.uint32()
        handle = self._file(request_number, name)
        if handle is None:
            return
        algorithm = next((a for a in algorithms if a in _CHECK_FILE_HASHES), None)
        if algorithm is None:
            self._send_status(request_number, SFTP_FAILURE, "No supported hash types found")
            return
        if length == 0:
            st = handle.stat()
            if not isinstance(st, SFTPAttributes) or st.st_size is None:
                self._send_status(
                    request_number, st if isinstance(st, int) else SFTP_FAILURE, "Unable to stat"
                )
                return
            length = max(0, st.st_size - start)
        if block_size == 0:
            block_size = length or 1
        if block_size < 256:
            self._send_status(request_number, SFTP_FAILURE, "Block size too small")
            return
        digest_size = hashlib.new(algorithm, usedforsecurity=False).digest_size
        blocks = -(-length // block_size)
        if blocks * digest_size > self.max_packet_length - 1024:
            self._send_status(request_number, SFTP_FAILURE, "Too many blocks to hash")
            return
        digests = []
        offset, end = start, start + length
        for _ in range(blocks):
            block_end = min(offset + block_size, end)
            hasher = hashlib.new(algorithm, usedforsecurity=False)
            while offset < block_end:
                data = handle.read(offset, min(block_end - offset, 65536))
                if isinstance(data, int):
                    self._send_status(request_number, data, "Unable to hash file")
                    return
                if not data:
                    break
                hasher.update(data)
                offset += len(data)
            digests.append(hasher.digest())
            offset = block_end
        body = _string("check-file") + _string(algorithm) + b"".join(digests)
        self._reply(request_number, CMD_EXTENDED_REPLY, body)

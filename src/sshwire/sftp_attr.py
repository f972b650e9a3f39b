"""File attributes as SFTP version 3 carries them (draft-ietf-secsh-filexfer-02 §5)."""

from __future__ import annotations

import stat
import struct
import time
from typing import Any, Final

from ._proto.wire import Reader
from .message import Message

__all__ = ["SFTPAttributes"]

_UNKNOWN_TIME: Final = 0xFFFFFFFF
_SIX_MONTHS: Final = 180 * 24 * 3600  # ls -l shows the year instead of the time beyond this
_KIND_LETTERS: Final = {
    stat.S_IFIFO: "p",
    stat.S_IFCHR: "c",
    stat.S_IFDIR: "d",
    stat.S_IFBLK: "b",
    stat.S_IFREG: "-",
    stat.S_IFLNK: "l",
    stat.S_IFSOCK: "s",
}


class SFTPAttributes:
    """What ``stat`` says about a file, in the shape of :func:`os.stat`'s result.

    Any of ``st_size``, ``st_uid``, ``st_gid``, ``st_mode``, ``st_atime`` and ``st_mtime`` may
    be ``None`` when the server did not send it. Extended attributes (name -> value, both
    bytes) live in :attr:`attr`. Listings also set ``filename`` and ``longname``.
    """

    FLAG_SIZE = 1
    FLAG_UIDGID = 2
    FLAG_PERMISSIONS = 4
    FLAG_AMTIME = 8
    FLAG_EXTENDED = 0x80000000

    filename: str
    longname: str

    def __init__(self) -> None:
        self._flags = 0
        self.st_size: int | None = None
        self.st_uid: int | None = None
        self.st_gid: int | None = None
        self.st_mode: int | None = None
        self.st_atime: int | float | None = None
        self.st_mtime: int | float | None = None
        self.attr: dict[Any, Any] = {}

    @classmethod
    def from_stat(cls, obj: Any, filename: str | None = None) -> SFTPAttributes:
        """Attributes copied from an :func:`os.stat` result (or anything with its fields)."""
        attrs = cls()
        attrs.st_size = obj.st_size
        attrs.st_uid = obj.st_uid
        attrs.st_gid = obj.st_gid
        attrs.st_mode = obj.st_mode
        attrs.st_atime = obj.st_atime
        attrs.st_mtime = obj.st_mtime
        if filename is not None:
            attrs.filename = filename
        return attrs

    def __repr__(self) -> str:
        return f"<SFTPAttributes: {self._debug_str()}>"

    # --- wire form ---

    @classmethod
    def _from_msg(
        cls, msg: Message, filename: str | None = None, longname: str | None = None
    ) -> SFTPAttributes:
        attrs = cls()
        attrs._unpack(msg)
        if filename is not None:
            attrs.filename = filename
        if longname is not None:
            attrs.longname = longname
        return attrs

    def _unpack(self, msg: Message) -> None:
        """Read the ATTRS structure from a :class:`~sshwire.message.Message`."""
        self._flags = flags = msg.get_int()
        if flags & self.FLAG_SIZE:
            self.st_size = msg.get_int64()
        if flags & self.FLAG_UIDGID:
            self.st_uid = msg.get_int()
            self.st_gid = msg.get_int()
        if flags & self.FLAG_PERMISSIONS:
            self.st_mode = msg.get_int()
        if flags & self.FLAG_AMTIME:
            self.st_atime = msg.get_int()
            self.st_mtime = msg.get_int()
        if flags & self.FLAG_EXTENDED:
            for _ in range(msg.get_int()):
                key = msg.get_string()
                self.attr[key] = msg.get_string()

    @classmethod
    def _read(cls, reader: Reader) -> SFTPAttributes:
        """Read the ATTRS structure strictly: a short or bad field raises ``DecodeError``."""
        attrs = cls()
        attrs._flags = flags = reader.uint32()
        if flags & cls.FLAG_SIZE:
            attrs.st_size = reader.uint64()
        if flags & cls.FLAG_UIDGID:
            attrs.st_uid = reader.uint32()
            attrs.st_gid = reader.uint32()
        if flags & cls.FLAG_PERMISSIONS:
            attrs.st_mode = reader.uint32()
        if flags & cls.FLAG_AMTIME:
            attrs.st_atime = reader.uint32()
            attrs.st_mtime = reader.uint32()
        if flags & cls.FLAG_EXTENDED:
            count = reader.uint32()
            if count > reader.remaining // 8:  # each pair needs two length fields at least
                reader.raw(reader.remaining + 1)  # raises DecodeError naming the shortfall
            for _ in range(count):
                key = reader.string()
                attrs.attr[key] = reader.string()
        return attrs

    def _flags_to_send(self) -> int:
        flags = 0
        if self.st_size is not None:
            flags |= self.FLAG_SIZE
        if self.st_uid is not None and self.st_gid is not None:
            flags |= self.FLAG_UIDGID
        if self.st_mode is not None:
            flags |= self.FLAG_PERMISSIONS
        if self.st_atime is not None and self.st_mtime is not None:
            flags |= self.FLAG_AMTIME
        if self.attr:
            flags |= self.FLAG_EXTENDED
        return flags

    def _to_bytes(self) -> bytes:
        """The ATTRS structure for the fields that are set."""
        self._flags = flags = self._flags_to_send()
        out = [struct.pack(">I", flags)]
        if flags & self.FLAG_SIZE:
            out.append(struct.pack(">Q", self.st_size))
        if flags & self.FLAG_UIDGID:
            out.append(struct.pack(">II", self.st_uid, self.st_gid))
        if flags & self.FLAG_PERMISSIONS:
            out.append(struct.pack(">I", self.st_mode))
        if flags & self.FLAG_AMTIME:
            out.append(struct.pack(">II", int(self.st_atime or 0), int(self.st_mtime or 0)))
        if flags & self.FLAG_EXTENDED:
            out.append(struct.pack(">I", len(self.attr)))
            for key, value in self.attr.items():
                for field in (key, value):
                    raw = field.encode("utf-8") if isinstance(field, str) else bytes(field)
                    out.append(struct.pack(">I", len(raw)) + raw)
        return b"".join(out)

    def _pack(self, msg: Message) -> None:
        """Append the ATTRS structure to a :class:`~sshwire.message.Message`."""
        msg.add_bytes(self._to_bytes())

    # --- display ---

    def _debug_str(self) -> str:
        parts = ["["]
        if self.st_size is not None:
            parts.append(f"size={self.st_size}")
        if self.st_uid is not None and self.st_gid is not None:
            parts.append(f"uid={self.st_uid} gid={self.st_gid}")
        if self.st_mode is not None:
            parts.append(f"mode={oct(self.st_mode)}")
        if self.st_atime is not None and self.st_mtime is not None:
            parts.append(f"atime={self.st_atime} mtime={self.st_mtime}")
        parts.extend(f'"{key!s}"={value!r}' for key, value in self.attr.items())
        return " ".join(parts) + " ]"

    @staticmethod
    def _rwx(n: int, suid: int | bool, sticky: bool = False) -> str:
        """One ``rwx`` triplet of ``ls -l``; *suid* is the set-id (or sticky) bit's value."""
        read = "r" if n & 4 else "-"
        write = "w" if n & 2 else "-"
        execute = bool(n & 1)
        if suid:
            special = "t" if sticky else "s"
            last = special if execute else special.upper()
        else:
            last = "x" if execute else "-"
        return read + write + last

    def __str__(self) -> str:
        """A line in the style of ``ls -l``."""
        mode = self.st_mode
        if mode is not None:
            kind = _KIND_LETTERS.get(stat.S_IFMT(mode), "?")
            perms = (
                self._rwx((mode >> 6) & 7, mode & stat.S_ISUID)
                + self._rwx((mode >> 3) & 7, mode & stat.S_ISGID)
                + self._rwx(mode & 7, mode & stat.S_ISVTX, True)
            )
            modestr = kind + perms
        else:
            modestr = "?---------"
        mtime = self.st_mtime
        if mtime is None or mtime == _UNKNOWN_TIME:
            datestr = "(unknown date)"
        else:
            when = time.localtime(mtime)
            if abs(time.time() - mtime) > _SIX_MONTHS:
                datestr = time.strftime("%d %b %Y", when)
            else:
                datestr = time.strftime("%d %b %H:%M", when)
        name = getattr(self, "filename", "?")
        uid = self.st_uid or 0
        gid = self.st_gid or 0
        size = self.st_size or 0
        return f"{modestr}   1 {uid:<8d} {gid:<8d} {size:8d} {datestr:<12s} {name}"

    def asbytes(self) -> bytes:
        return str(self).encode()

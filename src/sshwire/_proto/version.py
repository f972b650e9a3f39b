"""Protocol version exchange (RFC 4253 §4.2).

Each side sends ``SSH-2.0-softwareversion SP comments CR LF``. A server may send other lines
first; a client may not, but we accept them from either side as OpenSSH does. Lines are at
most 255 bytes including CR LF; we accept a bare LF as the terminator, as OpenSSH does.
"""

from __future__ import annotations

from ..ssh_exception import SSHException
from .constants import MAX_BANNER_LINE

MAX_PRE_BANNER_LINES = 1024  # lines of text before the version line (OpenSSH allows 1024)
MAX_PRE_BANNER_BYTES = 64 * 1024


class BannerError(SSHException):
    """The peer's version line is missing, malformed or unsupported."""


def version_line(software: str, comments: str = "") -> bytes:
    line = f"SSH-2.0-{software}" + (f" {comments}" if comments else "")
    raw = line.encode("ascii")
    if len(raw) + 2 > MAX_BANNER_LINE or any(c < 0x20 or c > 0x7E for c in raw):
        raise ValueError(f"invalid local version string {line!r}")
    return raw + b"\r\n"


class VersionReader:
    """Accumulates the peer's first bytes until its version line is complete."""

    def __init__(
        self,
        max_line: int = MAX_BANNER_LINE,
        max_pre_lines: int = MAX_PRE_BANNER_LINES,
        max_pre_bytes: int = MAX_PRE_BANNER_BYTES,
    ) -> None:
        self.max_line = max_line
        self.max_pre_lines = max_pre_lines
        self.max_pre_bytes = max_pre_bytes
        self._buf = bytearray()
        self._lines = 0
        self._consumed = 0
        self.version: str | None = None
        self.pre_lines: list[str] = []

    def feed(self, data: bytes | bytearray | memoryview) -> bytes | None:
        """Feed bytes; once the version line is complete, return what followed it."""
        if not data:
            raise BannerError(self._describe_eof())
        self._buf += data
        while True:
            end = self._buf.find(b"\n")
            if end < 0:
                if len(self._buf) > self.max_line:
                    raise BannerError(
                        f"peer sent a line longer than {self.max_line} bytes before its "
                        f"SSH version: {bytes(self._buf[:64])!r}..."
                    )
                return None
            line = bytes(self._buf[: end + 1])
            del self._buf[: end + 1]
            self._consumed += len(line)
            text = line.rstrip(b"\r\n")
            if len(line) > self.max_line:
                raise BannerError(
                    f"peer's line is longer than {self.max_line} bytes: {line[:64]!r}..."
                )
            if text.startswith(b"SSH-"):
                self.version = self._check(text)
                return bytes(self._buf)
            self._lines += 1
            if b"\0" in line:
                raise BannerError(f"peer sent a NUL byte before its SSH version: {line[:64]!r}")
            if self._lines > self.max_pre_lines or self._consumed > self.max_pre_bytes:
                raise BannerError(f"peer sent {self._lines} lines without an SSH version")
            self.pre_lines.append(text.decode("utf-8", "replace"))

    @staticmethod
    def _check(text: bytes) -> str:
        try:
            version = text.decode("ascii")
        except UnicodeDecodeError:
            raise BannerError(f"peer's version line is not ASCII: {text[:64]!r}") from None
        proto = version[4:].split("-", 1)[0]
        if proto not in ("2.0", "1.99") or version.count("-") < 2:
            raise BannerError(f"incompatible SSH protocol version: {version!r}")
        return version

    def _describe_eof(self) -> str:
        if self._buf or self.pre_lines:
            seen = bytes(self._buf[:64]) or "\n".join(self.pre_lines[-3:]).encode()
            return f"connection closed before the SSH version line; got {seen!r}"
        return "connection closed before the peer sent its SSH version"

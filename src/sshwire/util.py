"""Small helpers with the names and behaviour of ``paramiko.util``.

Integer/byte conversions used by :class:`~sshwire.message.Message`, text/bytes coercion,
hexdump formatting for debug logs, and the logging setup helpers.
"""

from __future__ import annotations

import hmac
import logging
import sys
import threading
import traceback
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Final, TypeVar

if TYPE_CHECKING:
    from os import PathLike

    from .config import SSHConfig, SSHConfigDict
    from .hostkeys import HostKeys

__all__ = [
    "DEBUG",
    "ClosingContextManager",
    "PFilter",
    "asbytes",
    "b",
    "bit_length",
    "clamp_value",
    "constant_time_bytes_eq",
    "deflate_long",
    "format_binary",
    "format_binary_line",
    "generate_key_bytes",
    "get_logger",
    "get_thread_id",
    "inflate_long",
    "load_host_keys",
    "log_to_file",
    "lookup_ssh_host_config",
    "mod_inverse",
    "parse_ssh_config",
    "safe_string",
    "tb_strings",
    "u",
]

DEBUG: Final = logging.DEBUG

# --------------------------------------------------------------------------------------------
# Integers as big-endian two's complement byte strings


def inflate_long(s: bytes | bytearray | memoryview, always_positive: bool = False) -> int:
    """Turn a big-endian byte string into an integer.

    The bytes are read as two's complement unless *always_positive* is true; the empty string
    is 0.
    """
    return int.from_bytes(s, "big", signed=not always_positive)


def deflate_long(n: int, add_sign_padding: bool = True) -> bytes:
    """Turn an integer into a big-endian two's complement byte string of minimal length.

    Zero is ``b"\\x00"`` (never empty) and -1 is ``b"\\xff"``. With *add_sign_padding* false,
    the sign byte that a minimal two's complement encoding may need (``00`` before a positive
    number whose top bit is set, ``ff`` before a negative one whose top bit is clear) is left
    off, so the result then reads back correctly only with ``always_positive`` or by a reader
    that knows the sign.
    """
    if n > 0:
        bits = n.bit_length()
        # With padding, room for a sign bit: a 00 byte appears exactly when bits % 8 == 0.
        return n.to_bytes(bits // 8 + 1 if add_sign_padding else (bits + 7) // 8, "big")
    if n == 0:
        return b"\x00"
    data = n.to_bytes((~n).bit_length() // 8 + 1, "big", signed=True)
    if not add_sign_padding and len(data) > 1 and data[0] == 0xFF:
        return data[1:]
    return data


def bit_length(n: int) -> int:
    """Number of bits needed to write ``abs(n)`` (0 for 0), like :meth:`int.bit_length`."""
    return n.bit_length()


# --------------------------------------------------------------------------------------------
# Text and bytes


def asbytes(s: Any) -> Any:
    """Coerce *s* for writing to the wire.

    ``bytes`` pass through, ``str`` is encoded as UTF-8, an object with an ``asbytes()``
    method (a key, a :class:`~sshwire.message.Message`) is asked for its bytes, and anything
    else is returned unchanged.
    """
    if isinstance(s, bytes):
        return s
    if isinstance(s, str):
        return s.encode("utf-8")
    method = getattr(s, "asbytes", None)
    if method is not None:
        return method()
    return s


def u(s: bytes | str, encoding: str = "utf8") -> str:
    """Return *s* as ``str``, decoding ``bytes`` with *encoding*."""
    if isinstance(s, bytes):
        return s.decode(encoding)
    if isinstance(s, str):
        return s
    raise TypeError(f"Expected unicode or bytes, got {type(s)!r}")


def b(s: bytes | str, encoding: str = "utf8") -> bytes:
    """Return *s* as ``bytes``, encoding ``str`` with *encoding*."""
    if isinstance(s, bytes):
        return s
    if isinstance(s, str):
        return s.encode(encoding)
    raise TypeError(f"Expected unicode or bytes, got {type(s)!r}")


def _as_comparable(x: Any) -> Any:
    # Characters compare by code point, like bytes compare by value; a character above 0xff
    # can never equal a byte, so it maps to None (which compares unequal to any bytes).
    if isinstance(x, str):
        try:
            return x.encode("latin-1")
        except UnicodeEncodeError:
            return None
    return x


def constant_time_bytes_eq(a: Any, b: Any) -> bool:
    """Compare two byte strings in time that does not depend on where they differ."""
    if isinstance(a, str) and isinstance(b, str):
        return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))
    left, right = _as_comparable(a), _as_comparable(b)
    if left is None or right is None:
        return False
    return hmac.compare_digest(left, right)


def _char_codes(data: Iterable[Any]) -> Iterable[int]:
    for item in data:
        yield item if isinstance(item, int) else ord(item)


# Escapes for safe_string: printable ASCII (and DEL) as itself, everything else as %XX.
_SAFE: Final = tuple(bytes((c,)) if 32 <= c <= 127 else b"%%%02X" % c for c in range(256))


def safe_string(s: Iterable[Any]) -> bytes:
    """Return *s* as bytes safe to log: bytes outside 32..127 become ``%XX`` (uppercase hex)."""
    if isinstance(s, (bytes, bytearray)):
        return b"".join([_SAFE[c] for c in s])
    return b"".join([_SAFE[c] if c < 256 else b"%%%02X" % c for c in _char_codes(s)])


def format_binary_line(data: Iterable[Any]) -> str:
    """Format up to 16 bytes as one hexdump line: hex column padded to 50, then the ASCII."""
    codes = list(_char_codes(data))
    hexes = " ".join([f"{c:02X}" for c in codes])
    text = "".join([chr(c) if 32 <= c <= 126 else "." for c in codes])
    return f"{hexes:<50} {text}"


def format_binary(data: bytes | bytearray | memoryview | str, prefix: str = "") -> list[str]:
    """Hexdump *data* as a list of lines, 16 bytes per line, each starting with *prefix*."""
    return [prefix + format_binary_line(data[i : i + 16]) for i in range(0, len(data), 16)]


# --------------------------------------------------------------------------------------------
# Logging

_thread_ids = threading.local()
_thread_id_lock = threading.Lock()
_next_thread_id = 1


def get_thread_id() -> int:
    """A small integer naming the calling thread: 1 for the first thread to ask, and so on."""
    global _next_thread_id
    try:
        return _thread_ids.id  # type: ignore[no-any-return]
    except AttributeError:
        with _thread_id_lock:
            tid = _next_thread_id
            _next_thread_id += 1
        _thread_ids.id = tid
        return tid


class PFilter(logging.Filter):
    """Stamps each record with ``_threadid`` (see :func:`get_thread_id`) for the log format."""

    def filter(self, record: logging.LogRecord) -> bool:
        record._threadid = get_thread_id()
        return True


_thread_id_filter: Final = PFilter()

_LOG_FORMAT: Final = (
    "%(levelname)-.3s [%(asctime)s.%(msecs)03d] thr=%(_threadid)-3d %(name)s: %(message)s"
)
_LOG_DATE_FORMAT: Final = "%Y%m%d-%H:%M:%S"


def get_logger(name: str) -> logging.Logger:
    """Return the named logger, set up so that its records carry a short thread id."""
    logger = logging.getLogger(name)
    logger.addFilter(_thread_id_filter)
    return logger


def log_to_file(filename: str, level: int = DEBUG) -> None:
    """Append sshwire's log records at *level* and above to *filename*.

    Does nothing if the ``sshwire`` logger already has a handler, so calling it twice is
    harmless.
    """
    logger = logging.getLogger("sshwire")
    if logger.handlers:
        return
    logger.setLevel(level)
    handler = logging.FileHandler(filename, mode="a", encoding="utf-8")
    handler.addFilter(_thread_id_filter)
    handler.setFormatter(logging.Formatter(_LOG_FORMAT, _LOG_DATE_FORMAT))
    logger.addHandler(handler)


# --------------------------------------------------------------------------------------------
# Context managers

_T = TypeVar("_T", bound="ClosingContextManager")


class ClosingContextManager:
    """Base class that makes ``with obj:`` call ``obj.close()`` on the way out."""

    if TYPE_CHECKING:

        def close(self) -> None: ...

    def __enter__(self: _T) -> _T:
        return self

    def __exit__(
        self,
        type: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


# --------------------------------------------------------------------------------------------
# Known hosts


def load_host_keys(filename: str | PathLike[str]) -> HostKeys:
    """Read the known-hosts file *filename* into a :class:`~sshwire.hostkeys.HostKeys`.

    The result maps each host name to its ``key type -> key`` mapping. Same as
    ``HostKeys(filename)``.
    """
    from .hostkeys import HostKeys  # here, not at the top: hostkeys imports this module

    return HostKeys(filename)


def parse_ssh_config(file_obj: IO[str]) -> SSHConfig:
    """An :class:`~sshwire.config.SSHConfig` read from an open ssh_config file (old API)."""
    from .config import SSHConfig  # here: config imports this module

    config = SSHConfig()
    config.parse(file_obj)
    return config


def lookup_ssh_host_config(hostname: str, config: SSHConfig) -> SSHConfigDict:
    """``config.lookup(hostname)`` (old API)."""
    return config.lookup(hostname)


# --------------------------------------------------------------------------------------------
# Small helpers paramiko's util module also offers


def tb_strings() -> list[str]:
    """The current exception's traceback as a list of lines (for logging)."""
    return "".join(traceback.format_exception(*sys.exc_info())).split("\n")


def generate_key_bytes(
    hash_alg: Callable[[], Any], salt: bytes, key: bytes | str, nbytes: int
) -> bytes:
    """Stretch a passphrase into *nbytes* of key material, OpenSSL ``EVP_BytesToKey`` style.

    Each round hashes the previous digest (none in the first round), the passphrase and the
    first 8 bytes of *salt*; the digests are concatenated until *nbytes* are ready. This is
    the derivation of legacy PEM ("Proc-Type: 4,ENCRYPTED") key files.
    """
    secret = asbytes(key)
    salt = salt[:8]
    out = b""
    digest = b""
    while len(out) < nbytes:
        h = hash_alg()
        h.update(digest + secret + salt)
        digest = h.digest()
        out += digest
    return out[:nbytes]


def mod_inverse(x: int, m: int) -> int:
    """The inverse of *x* modulo *m*, in ``[0, m)``."""
    return pow(x, -1, m)


def clamp_value(minimum: int, val: int, maximum: int) -> int:
    """*val* limited to ``[minimum, maximum]``."""
    return max(minimum, min(val, maximum))

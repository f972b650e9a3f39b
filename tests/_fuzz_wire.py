"""Message-level building blocks of the core fuzzer (``tests/_fuzz_core.py``).

* :func:`spans` splits a payload into typed fields (``u32``, ``u8``, ``bool``, ``s`` string,
  ``t`` text, ``n`` name-list, ``m`` mpint, ``raw``, ``r`` rest), knowing the layout of every
  SSH message and of the channel/global request and channel open types, so a mutation can hit
  one field and keep the rest valid.
* :func:`mutate_payload` applies one structure-aware or byte-level mutation.
* :func:`synth_payload` makes a fresh message of any type: valid in form, with field values
  drawn from boundaries, from the ids and windows really in use, or at random.

Everything takes a ``random.Random`` so a case is reproducible from its seed.
"""

from __future__ import annotations

import functools
import random
import struct
from collections.abc import Callable

from sshwire._proto import constants as c
from sshwire._proto import wire
from sshwire._proto.algorithms.cipher import CIPHERS
from sshwire._proto.algorithms.hostkey import HOSTKEY_ALGORITHMS
from sshwire._proto.algorithms.mac import MACS
from sshwire._proto.connection import Connection
from sshwire._proto.kex import negotiate as neg

U32_BOUNDS = (
    0,
    1,
    2,
    3,
    4,
    5,
    8,
    16,
    255,
    256,
    1023,
    1024,
    32767,
    32768,
    35000,
    65535,
    65536,
    262144,
    262145,
    0x7FFFFFFE,
    0x7FFFFFFF,
    0x80000000,
    0x80000001,
    0xFFFFFFFE,
    0xFFFFFFFF,
)
BYTE_BOUNDS = (0, 1, 2, 0x7F, 0x80, 0xFE, 0xFF)

CHANNEL_REQUESTS = (
    "pty-req",
    "x11-req",
    "env",
    "shell",
    "exec",
    "subsystem",
    "window-change",
    "xon-xoff",
    "signal",
    "exit-status",
    "exit-signal",
    "break",
    "auth-agent-req@openssh.com",
    "keepalive@openssh.com",
    "eow@openssh.com",
    "unknown-request@example.com",
)
GLOBAL_REQUESTS = (
    "tcpip-forward",
    "cancel-tcpip-forward",
    "keepalive@openssh.com",
    "no-more-sessions@openssh.com",
    "hostkeys-00@openssh.com",
    "hostkeys-prove-00@openssh.com",
    "streamlocal-forward@openssh.com",
    "cancel-streamlocal-forward@openssh.com",
    "unknown-global@example.com",
)
CHANNEL_TYPES = (
    "session",
    "direct-tcpip",
    "forwarded-tcpip",
    "x11",
    "auth-agent@openssh.com",
    "direct-streamlocal@openssh.com",
    "forwarded-streamlocal@openssh.com",
    "unknown-type@example.com",
)
AUTH_METHODS = ("none", "password", "publickey", "keyboard-interactive", "hostbased", "gssapi")
HOSTKEY_NAMES = tuple(HOSTKEY_ALGORITHMS)
PSEUDO_NAMES = tuple(sorted(neg.PSEUDO_ALGORITHMS))  # sorted: str hashing varies per process
SIGNALS = ("TERM", "KILL", "HUP", "INT", "", "X" * 300)

NAMES: tuple[str, ...] = (
    "",
    ",",
    "a,,b",
    ",leading",
    "trailing,",
    "ssh-userauth",
    "ssh-connection",
    "none",
    "x" * 64,
    "x" * 300,
    "\u00e9t\u00e9",
    *neg.KEX_ALGORITHMS,
    *PSEUDO_NAMES,
    *HOSTKEY_NAMES,
    *CIPHERS,
    *MACS,
    "zlib",
    "zlib@openssh.com",
    *CHANNEL_REQUESTS,
    *GLOBAL_REQUESTS,
    *CHANNEL_TYPES,
    *AUTH_METHODS,
)

BAD_UTF8 = (b"\xff", b"\xc3(", b"\xe2\x82", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"a\x00b")


class _Stop(Exception):
    """The payload ends (or is malformed) where the layout wants more."""


class _Cursor:
    def __init__(self, payload: bytes) -> None:
        self.p = payload
        self.pos = 1
        self.out: list[tuple[str, int, int]] = []

    def _take(self, kind: str, n: int) -> bytes:
        if self.pos + n > len(self.p):
            raise _Stop
        start = self.pos
        self.pos += n
        self.out.append((kind, start, self.pos))
        return self.p[start : self.pos]

    def u32(self) -> int:
        return int.from_bytes(self._take("u32", 4), "big")

    def u8(self) -> int:
        return self._take("u8", 1)[0]

    def bool(self) -> bool:
        return self._take("bool", 1)[0] != 0

    def raw(self, n: int) -> bytes:
        return self._take("raw", n)

    def string(self, kind: str = "s") -> bytes:
        if self.pos + 4 > len(self.p):
            raise _Stop
        n = int.from_bytes(self.p[self.pos : self.pos + 4], "big")
        if self.pos + 4 + n > len(self.p):
            raise _Stop
        return self._take(kind, 4 + n)[4:]

    def text(self) -> str:
        return self.string("t").decode("utf-8", "replace")

    def names(self) -> bytes:
        return self.string("n")

    def mpint(self) -> bytes:
        return self.string("m")

    def rest(self) -> None:
        if self.pos < len(self.p):
            self.out.append(("r", self.pos, len(self.p)))
            self.pos = len(self.p)

    @property
    def left(self) -> int:
        return len(self.p) - self.pos


def _request_data(cur: _Cursor, name: str) -> None:
    """Fields of a channel request's type-specific data (RFC 4254 §6, OpenSSH PROTOCOL)."""
    if name == "pty-req":
        cur.text()
        for _ in range(4):
            cur.u32()
        cur.string()
    elif name == "x11-req":
        cur.bool()
        cur.text()
        cur.text()
        cur.u32()
    elif name == "env":
        cur.text()
        cur.text()
    elif name in ("exec", "subsystem", "signal"):
        cur.text()
    elif name == "window-change":
        for _ in range(4):
            cur.u32()
    elif name == "xon-xoff":
        cur.bool()
    elif name in ("exit-status", "break"):
        cur.u32()
    elif name == "exit-signal":
        cur.text()
        cur.bool()
        cur.text()
        cur.text()


def _global_data(cur: _Cursor, name: str) -> None:
    if name in ("tcpip-forward", "cancel-tcpip-forward"):
        cur.text()
        cur.u32()
    elif name in ("streamlocal-forward@openssh.com", "cancel-streamlocal-forward@openssh.com"):
        cur.text()
    elif name in ("hostkeys-00@openssh.com", "hostkeys-prove-00@openssh.com"):
        for _ in range(16):
            if not cur.left:
                break
            cur.string()


def _open_data(cur: _Cursor, kind: str) -> None:
    if kind in ("direct-tcpip", "forwarded-tcpip"):
        cur.text()
        cur.u32()
        cur.text()
        cur.u32()
    elif kind == "x11":
        cur.text()
        cur.u32()
    elif kind == "direct-streamlocal@openssh.com":
        cur.text()
        cur.text()
        cur.u32()
    elif kind == "forwarded-streamlocal@openssh.com":
        cur.text()
        cur.text()


def _generic(cur: _Cursor) -> None:
    """Unknown layout: read length-prefixed strings while they fit, then the rest."""
    for _ in range(32):
        if cur.left < 4:
            break
        n = int.from_bytes(cur.p[cur.pos : cur.pos + 4], "big")
        if n > cur.left - 4:
            break
        cur.string()
    cur.rest()


def _layout(cur: _Cursor, msg: int) -> None:
    if msg == c.MSG_DISCONNECT:
        cur.u32()
        cur.text()
        cur.text()
    elif msg == c.MSG_IGNORE:
        cur.string()
    elif msg == c.MSG_UNIMPLEMENTED:
        cur.u32()
    elif msg == c.MSG_DEBUG:
        cur.bool()
        cur.text()
        cur.text()
    elif msg in (c.MSG_SERVICE_REQUEST, c.MSG_SERVICE_ACCEPT):
        cur.text()
    elif msg == c.MSG_EXT_INFO:
        count = cur.u32()
        for _ in range(min(count, 32)):
            cur.text()
            cur.string()
    elif msg == c.MSG_KEXINIT:
        cur.raw(16)
        for _ in range(10):
            cur.names()
        cur.bool()
        cur.u32()
    elif c.MSG_KEX_FIRST <= msg <= c.MSG_KEX_LAST:
        if cur.left in (4, 12):  # GEX requests: sizes
            for _ in range(cur.left // 4):
                cur.u32()
        else:
            _generic(cur)
    elif msg == c.MSG_USERAUTH_REQUEST:
        cur.text()
        cur.text()
        method = cur.text()
        if method == "password":
            change = cur.bool()
            cur.text()
            if change:
                cur.text()
        elif method == "publickey":
            signed = cur.bool()
            cur.text()
            cur.string()
            if signed:
                cur.string()
        elif method == "keyboard-interactive":
            cur.text()
            cur.text()
    elif msg == c.MSG_USERAUTH_FAILURE:
        cur.names()
        cur.bool()
    elif msg == c.MSG_USERAUTH_BANNER:
        cur.text()
        cur.text()
    elif msg == c.MSG_USERAUTH_INFO_REQUEST:
        cur.text()
        cur.text()
        if cur.left >= 8:  # INFO_REQUEST; PK_OK and PASSWD_CHANGEREQ are two strings
            cur.text()
            count = cur.u32()
            for _ in range(min(count, 32)):
                cur.text()
                cur.bool()
    elif msg == c.MSG_USERAUTH_INFO_RESPONSE:
        count = cur.u32()
        for _ in range(min(count, 32)):
            cur.text()
    elif msg == c.MSG_GLOBAL_REQUEST:
        name = cur.text()
        cur.bool()
        _global_data(cur, name)
    elif msg == c.MSG_REQUEST_SUCCESS:
        if cur.left == 4:
            cur.u32()
    elif msg == c.MSG_CHANNEL_OPEN:
        kind = cur.text()
        cur.u32()
        cur.u32()
        cur.u32()
        _open_data(cur, kind)
    elif msg == c.MSG_CHANNEL_OPEN_CONFIRMATION:
        for _ in range(4):
            cur.u32()
    elif msg == c.MSG_CHANNEL_OPEN_FAILURE:
        cur.u32()
        cur.u32()
        cur.text()
        cur.text()
    elif msg == c.MSG_CHANNEL_WINDOW_ADJUST:
        cur.u32()
        cur.u32()
    elif msg == c.MSG_CHANNEL_DATA:
        cur.u32()
        cur.string()
    elif msg == c.MSG_CHANNEL_EXTENDED_DATA:
        cur.u32()
        cur.u32()
        cur.string()
    elif msg in (c.MSG_CHANNEL_EOF, c.MSG_CHANNEL_CLOSE, 99, 100):
        cur.u32()
    elif msg == c.MSG_CHANNEL_REQUEST:
        cur.u32()
        name = cur.text()
        cur.bool()
        _request_data(cur, name)
    cur.rest()


def spans(payload: bytes) -> list[tuple[str, int, int]]:
    """Typed (kind, start, end) fields of ``payload`` after its message number."""
    if not payload:
        return []
    cur = _Cursor(payload)
    try:
        _layout(cur, payload[0])
    except _Stop:
        cur.rest()
    return cur.out


def request_name(payload: bytes) -> str | None:
    """The request or channel type named by a GLOBAL_REQUEST, CHANNEL_REQUEST or OPEN."""
    if not payload or payload[0] not in (
        c.MSG_CHANNEL_REQUEST,
        c.MSG_GLOBAL_REQUEST,
        c.MSG_CHANNEL_OPEN,
        c.MSG_USERAUTH_REQUEST,
    ):
        return None
    r = wire.Reader(payload)
    try:
        msg = r.byte()
        if msg == c.MSG_CHANNEL_REQUEST:
            r.uint32()
        elif msg == c.MSG_USERAUTH_REQUEST:
            r.string()
            r.string()
        return r.string().decode("utf-8", "replace")
    except Exception:
        return None


# -------------------------------------------------------------------------------------------
# field mutations


def _u32(v: int) -> bytes:
    return struct.pack(">I", v & 0xFFFFFFFF)


def _mutate_u32(rng: random.Random, old: bytes) -> bytes:
    v = int.from_bytes(old, "big")
    return _u32(
        rng.choice(
            [
                *U32_BOUNDS,
                v + 1,
                v - 1,
                v * 2,
                v + 0x80000000,
                rng.getrandbits(32),
                rng.getrandbits(8),
            ]
        )
    )


def _mutate_string(rng: random.Random, kind: str, old: bytes, depth: int = 0) -> bytes:
    body = old[4:]
    n = len(body)
    choice = rng.randrange(16)
    if choice == 0:
        return _u32(0)
    if choice == 1:  # the declared length claims more than is there
        return _u32(n + rng.choice((1, 2, 7, 100, 0x10000, 0x7FFFFFFF, 0xFFFFFFFF - n))) + body
    if choice == 2 and n:  # claims less: the tail bleeds into the next field
        return _u32(rng.randrange(n)) + body
    if choice == 3:  # large, still within (or just past) the 256 KiB packet limit
        size = rng.choice((1000, 35000, 65535, 200_000, 262_000, 300_000))
        return wire.string(bytes([rng.getrandbits(8)]) * size)
    if choice == 4:
        return wire.string(body + rng.choice(BAD_UTF8))
    if choice == 5:
        return wire.string(rng.randbytes(n))
    if choice == 6 and kind in ("t", "n", "s"):
        return wire.string(rng.choice(NAMES))
    if choice == 7 and kind == "n":
        count = rng.choice((2, 100, 5000))
        return wire.string(",".join(f"alg{i}" for i in range(count)))
    if choice == 8 and kind == "m":
        return rng.choice(
            (
                wire.string(b"\x80" + rng.randbytes(rng.randrange(0, 64))),  # negative
                wire.string(b"\x00\x00\x01"),  # not minimal
                wire.string(b"\x01"),
                wire.string(b"\xff" * rng.choice((32, 257, 1025, 4097))),
                wire.string(b"\x00" + b"\xff" * rng.choice((256, 512, 1024))),  # ~ p - 1
                wire.mpint(1 << rng.choice((2047, 4095, 8191, 16384, 65536))),
            )
        )
    if choice in (9, 10) and depth < 2 and n >= 4:  # an encoded structure: mutate inside it
        inner = bytes([0]) + body
        fields = spans_generic(inner)
        strings = [f for f in fields if f[0] == "s"]
        if strings:
            _, start, end = rng.choice(strings)
            new = _mutate_string(rng, "s", inner[start:end], depth + 1)
            return wire.string(inner[1:start] + new + inner[end:])
    if choice == 11 and n:
        cut = rng.randrange(n)
        return wire.string(body[:cut])
    if choice == 12:
        if rng.random() < 0.5:
            return wire.string(any_key_blob(rng))  # a key or certificate where one may go
        return wire.string(body + rng.randbytes(rng.choice((1, 3, 64))))
    if choice == 13 and n:
        b = bytearray(body)
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(n)] ^= 1 << rng.randrange(8)
        return wire.string(bytes(b))
    return _u32(0xFFFFFFFF) + body


def spans_generic(payload: bytes) -> list[tuple[str, int, int]]:
    cur = _Cursor(payload)
    _generic(cur)
    return cur.out


def _random_field(rng: random.Random) -> bytes:
    k = rng.randrange(5)
    if k == 0:
        return _u32(rng.choice(U32_BOUNDS))
    if k == 1:
        return bytes([rng.choice(BYTE_BOUNDS)])
    if k == 2:
        return wire.string(rng.choice(NAMES))
    if k == 3:
        return wire.string(rng.randbytes(rng.randrange(0, 40)))
    return _u32(rng.getrandbits(32))


def _looks_like_key(field: bytes) -> bool:
    """A string field holding a key or certificate blob (or a signature blob)."""
    body = field[4:]
    if len(body) < 8:
        return False
    n = int.from_bytes(body[:4], "big")
    return n <= 64 and body[4 : 4 + n].startswith((b"ssh-", b"ecdsa-", b"rsa-"))


def mutate_field(rng: random.Random, payload: bytes) -> bytes:
    """Change, drop, repeat, swap or insert one field; the others stay as they were."""
    fields = spans(payload)
    if not fields:
        return payload + _random_field(rng)
    keys = [
        j for j, f in enumerate(fields) if f[0] == "s" and _looks_like_key(payload[f[1] : f[2]])
    ]
    i = rng.choice(keys) if keys and rng.random() < 0.4 else rng.randrange(len(fields))
    kind, start, end = fields[i]
    old = payload[start:end]
    op = rng.randrange(10)
    if op == 0:
        return payload[:start] + payload[end:]  # field missing
    if op == 1:
        return payload[:end] + old + payload[end:]  # field twice
    if op == 2 and i + 1 < len(fields):  # two fields swapped
        _, s2, e2 = fields[i + 1]
        return payload[:start] + payload[s2:e2] + old + payload[e2:]
    if op == 3:
        return payload[:start] + _random_field(rng) + payload[start:]  # wrong-type insert
    if op == 4:
        return payload[: rng.randint(start, end)]  # truncated inside or before the field
    if kind == "s" and _looks_like_key(old) and rng.random() < 0.5:
        new = wire.string(any_key_blob(rng))  # another key, a certificate, nested ones
    elif kind == "u32":
        new = _mutate_u32(rng, old)
    elif kind in ("u8", "bool"):
        new = bytes([rng.choice((*BYTE_BOUNDS, old[0] ^ 1))])
    elif kind in ("s", "t", "n", "m"):
        new = _mutate_string(rng, kind, old)
    elif kind == "raw":
        new = rng.randbytes(len(old))
    else:  # rest
        new = rng.choice((b"", rng.randbytes(rng.randrange(1, 64)), old + old))
    return payload[:start] + new + payload[end:]


def mutate_bytes(rng: random.Random, payload: bytes) -> bytes:
    """Unstructured: flip bits, set bytes, insert, delete, truncate, extend."""
    b = bytearray(payload)
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(6)
        if op == 0 and b:
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
        elif op == 1 and b:
            b[rng.randrange(len(b))] = rng.choice(BYTE_BOUNDS)
        elif op == 2:
            i = rng.randint(0, len(b))
            b[i:i] = rng.randbytes(rng.randint(1, 8))
        elif op == 3 and len(b) > 1:
            i = rng.randrange(1, len(b))
            del b[i : i + rng.randint(1, 8)]
        elif op == 4 and len(b) > 1:
            del b[rng.randrange(1, len(b)) :]
        else:
            b += rng.randbytes(rng.randint(1, 16))
    return bytes(b)


def retype(rng: random.Random, payload: bytes) -> bytes:
    """The same body under another message number (type confusion)."""
    if not payload:
        return bytes([rng.randrange(256)])
    new = rng.choice(
        (
            rng.randrange(256),
            payload[0] + 1,
            payload[0] - 1,
            rng.choice((1, 2, 3, 4, 5, 6, 7, 20, 21, 30, 31, 50, 52, 60, 80, 90, 94, 98)),
        )
    )
    return bytes([new & 0xFF]) + payload[1:]


# -------------------------------------------------------------------------------------------
# key and certificate blobs


def key_blob(rng: random.Random) -> bytes:
    """A plain public key blob of a random type, fields valid in form, random in value."""
    kind = rng.randrange(4)
    if kind == 0:
        return wire.string("ssh-ed25519") + wire.string(rng.randbytes(rng.choice((32, 32, 31))))
    if kind == 1:
        return (
            wire.string("ssh-rsa")
            + wire.mpint(rng.choice((3, 65537, rng.getrandbits(64))))
            + wire.mpint(rng.getrandbits(rng.choice((512, 1024, 2048, 16385))) | 1)
        )
    curve = rng.choice(("nistp256", "nistp384", "nistp521"))
    point = b"\x04" + rng.randbytes({"nistp256": 64, "nistp384": 96, "nistp521": 132}[curve])
    return wire.string(f"ecdsa-sha2-{curve}") + wire.string(curve) + wire.string(point)


def cert_blob(
    rng: random.Random, depth: int = 1, tidy: bool = False, ca: bytes | None = None
) -> bytes:
    """An OpenSSH certificate blob (PROTOCOL.certkeys) with random content; its CA key is a
    plain key, or (depth > 1) itself a certificate, nested ``depth`` deep. ``tidy``: every
    field parses (Ed25519 keys, a known certificate type), so a parser gets to the bottom."""
    ed = wire.string("ssh-ed25519") + wire.string(rng.randbytes(32))
    if ca is not None:
        return cert_blob_signed_by(rng, tidy, ca, ed)
    ca = ed if tidy else key_blob(rng)
    for _ in range(depth - 1):  # innermost first (no recursion here)
        ca = cert_blob(rng, 1, tidy, ca)
    return cert_blob_signed_by(rng, tidy, ca, ed)


def cert_blob_signed_by(rng: random.Random, tidy: bool, ca: bytes, ed: bytes) -> bytes:
    inner = ed if tidy else key_blob(rng)
    r = wire.Reader(inner)
    plain_type = r.text()
    fields = inner[r.position :]

    def options() -> bytes:
        names = rng.sample(("force-command", "permit-pty", "source-address", "x"), 2)
        return b"".join(wire.string(n) + wire.string(wire.string("v")) for n in sorted(names))

    return b"".join(
        (
            wire.string(plain_type + "-cert-v01@openssh.com"),
            wire.string(rng.randbytes(32)),
            fields,
            wire.uint64(rng.getrandbits(64)),
            _u32(rng.choice((1, 2)) if tidy else rng.choice((1, 2, 0, 3))),
            wire.string("key id"),
            wire.string(b"".join(wire.string(p) for p in ("root", "fuzz")[: rng.randint(0, 2)])),
            wire.uint64(0),
            wire.uint64(rng.choice((0, 2**64 - 1))),
            wire.string(options() if rng.random() < 0.5 else b""),
            wire.string(options() if rng.random() < 0.5 else b""),
            wire.string(b""),
            wire.string(ca),
            wire.string(wire.string("ssh-ed25519") + wire.string(rng.randbytes(64))),
        )
    )


def any_key_blob(rng: random.Random) -> bytes:
    """A key or certificate blob; now and then a certificate nested hundreds deep."""
    k = rng.randrange(10)
    if k < 4:
        return key_blob(rng)
    if k < 7:
        return cert_blob(rng, rng.choice((1, 1, 2, 3)))
    return _deep_cert(rng.choice((50, 300, 400, 700)))


@functools.cache
def _deep_cert(depth: int) -> bytes:
    """Nested certificates are slow to build: one per depth, made once."""
    return cert_blob(random.Random(depth), depth, tidy=True)


# -------------------------------------------------------------------------------------------
# synthetic messages


def _ids(att: Connection) -> tuple[list[int], list[int]]:
    """Channel ids the *target* uses (``remote_id`` in the attacker's table), and ours."""
    theirs = [s.remote_id for s in att.channels.channels.values() if s.remote_id >= 0]
    ours = list(att.channels.channels)
    return theirs, ours


def _channel_id(rng: random.Random, att: Connection) -> int:
    theirs, _ = _ids(att)
    if theirs and rng.random() < 0.7:
        return rng.choice(theirs)
    return rng.choice((0, 1, 2, 5, 255, 8191, 8192, 0x7FFFFFFF, 0xFFFFFFFF, rng.getrandbits(32)))


def request_data(rng: random.Random, name: str) -> bytes:
    """Valid-looking type-specific data for a channel request."""
    if name == "pty-req":
        modes = b"".join(bytes([op]) + _u32(rng.getrandbits(8)) for op in (1, 53, 128, 129))
        return b"".join(
            (
                wire.string(rng.choice(("xterm", "vt100", "", "x" * 200))),
                *(_u32(rng.choice((0, 80, 24, 0xFFFFFFFF))) for _ in range(4)),
                wire.string(modes + b"\x00"),
            )
        )
    if name == "x11-req":
        return b"".join(
            (
                wire.boolean(rng.random() < 0.5),
                wire.string("MIT-MAGIC-COOKIE-1"),
                wire.string(rng.randbytes(16).hex()),
                _u32(rng.choice((0, 1, 0xFFFFFFFF))),
            )
        )
    if name == "env":
        return wire.string(rng.choice(("LANG", "LC_ALL", "", "X" * 300))) + wire.string("C.UTF-8")
    if name == "exec":
        return wire.string(rng.choice(("echo hi", "", "x" * 1000)))
    if name == "subsystem":
        return wire.string(rng.choice(("sftp", "netconf", "")))
    if name == "window-change":
        return b"".join(_u32(rng.choice((0, 80, 24, 0xFFFFFFFF))) for _ in range(4))
    if name == "xon-xoff":
        return wire.boolean(rng.random() < 0.5)
    if name == "signal":
        return wire.string(rng.choice(SIGNALS))
    if name == "exit-status":
        return _u32(rng.choice((0, 1, 127, 255, 0xFFFFFFFF)))
    if name == "exit-signal":
        return b"".join(
            (
                wire.string(rng.choice(SIGNALS)),
                wire.boolean(rng.random() < 0.5),
                wire.string("core dumped"),
                wire.string("en"),
            )
        )
    if name == "break":
        return _u32(rng.choice((0, 500, 0xFFFFFFFF)))
    return b""


def global_data(rng: random.Random, name: str) -> bytes:
    if name in ("tcpip-forward", "cancel-tcpip-forward"):
        return wire.string(rng.choice(("127.0.0.1", "", "localhost", "::1"))) + _u32(
            rng.choice((0, 22, 65535, 65536, 0xFFFFFFFF))
        )
    if name.startswith(("streamlocal", "cancel-streamlocal")):
        return wire.string("/tmp/fuzz.sock")
    if name.startswith("hostkeys"):
        return b"".join(wire.string(rng.randbytes(40)) for _ in range(rng.randint(0, 3)))
    return b""


def open_data(rng: random.Random, kind: str) -> bytes:
    if kind in ("direct-tcpip", "forwarded-tcpip"):
        return (
            wire.string("127.0.0.1")
            + _u32(rng.choice((22, 0, 65536)))
            + wire.string("10.0.0.1")
            + _u32(40000)
        )
    if kind == "x11":
        return wire.string("127.0.0.1") + _u32(6000)
    if kind == "direct-streamlocal@openssh.com":
        return wire.string("/tmp/s") + wire.string("") + _u32(0)
    if kind == "forwarded-streamlocal@openssh.com":
        return wire.string("/tmp/s") + wire.string("")
    return b""


def _kexinit(rng: random.Random) -> bytes:
    def pick(pool: tuple[str, ...]) -> list[str]:
        return rng.sample(pool, rng.randint(0, min(4, len(pool))))

    init = neg.KexInit(
        pick(neg.KEX_ALGORITHMS + PSEUDO_NAMES),
        pick(HOSTKEY_NAMES),
        pick(tuple(CIPHERS)),
        pick(tuple(CIPHERS)),
        pick(tuple(MACS)),
        pick(tuple(MACS)),
        pick(("none", "zlib", "zlib@openssh.com")),
        pick(("none", "zlib", "zlib@openssh.com")),
        first_kex_follows=rng.random() < 0.3,
        cookie=rng.randbytes(16),
    )
    return init.encode()


SYNTH_KINDS = 30


def synth_payload(rng: random.Random, att: Connection, pick: int | None = None) -> bytes:
    """One message of a random type (or of kind ``pick``), well-formed, with values chosen to
    provoke: boundaries, the channel ids and windows really in use, sizes at the limits."""
    r = rng.random
    if pick is None:
        pick = rng.randrange(SYNTH_KINDS)
    if pick == 0:
        return wire.byte(c.MSG_DISCONNECT) + _u32(rng.randrange(16)) + wire.string("bye") + _u32(0)
    if pick == 1:
        size = rng.choice((0, 1, 1000, 100_000, 262_000))
        return wire.byte(c.MSG_IGNORE) + wire.string(bytes(size))
    if pick == 2:
        return wire.byte(c.MSG_UNIMPLEMENTED) + _u32(rng.choice(U32_BOUNDS))
    if pick == 3:
        return b"".join(
            (wire.byte(c.MSG_DEBUG), wire.boolean(r() < 0.5), wire.string("dbg"), wire.string(""))
        )
    if pick == 4:
        return wire.byte(rng.choice((5, 6))) + wire.string(rng.choice(NAMES[:10]))
    if pick == 5:
        count = rng.choice((0, 1, 2, 1024, 1025, 0xFFFFFFFF))
        body = b"".join(
            wire.string(rng.choice(("server-sig-algs", "no-flow-control", "x"))) + wire.string("a")
            for _ in range(min(count, 3))
        )
        return wire.byte(c.MSG_EXT_INFO) + _u32(count) + body
    if pick == 6:
        return _kexinit(rng)
    if pick == 7:
        return wire.byte(c.MSG_NEWKEYS)
    if pick == 8:
        msg = rng.randint(c.MSG_KEX_FIRST, c.MSG_KEX_LAST)
        return wire.byte(msg) + rng.choice(
            (
                wire.string(any_key_blob(rng)) + wire.string(rng.randbytes(32)) + wire.string(b""),
                wire.string(rng.randbytes(32)),
                _u32(2048) + _u32(3072) + _u32(8192),
                _u32(0xFFFFFFFF) * 3,
                wire.mpint(rng.getrandbits(2048)),
                b"",
            )
        )
    if pick == 9:
        method = rng.choice(AUTH_METHODS)
        fields = b""
        if method == "password":
            fields = wire.boolean(r() < 0.3) + wire.string("pw") + wire.string("new")
        elif method == "publickey":
            fields = (
                wire.boolean(r() < 0.7)
                + wire.string(rng.choice(HOSTKEY_NAMES))
                + wire.string(any_key_blob(rng))
                + wire.string(wire.string("ssh-ed25519") + wire.string(rng.randbytes(64)))
            )
        elif method == "keyboard-interactive":
            fields = wire.string("") + wire.string("")
        return b"".join(
            (
                wire.byte(c.MSG_USERAUTH_REQUEST),
                wire.string(rng.choice(("user", "", "root" * 100))),
                wire.string(rng.choice(("ssh-connection", "ssh-userauth", "x"))),
                wire.string(method),
                fields,
            )
        )
    if pick == 10:
        return wire.byte(c.MSG_USERAUTH_FAILURE) + wire.name_list(["password"]) + wire.boolean(0)
    if pick == 11:
        return wire.byte(c.MSG_USERAUTH_SUCCESS)
    if pick == 12:
        return wire.byte(c.MSG_USERAUTH_BANNER) + wire.string("hello") + wire.string("")
    if pick == 13:
        count = rng.choice((0, 1, 2, 64, 65, 256, 257, 0xFFFFFFFF))
        prompts = b"".join(wire.string("p") + wire.boolean(0) for _ in range(min(count, 3)))
        return b"".join(
            (
                wire.byte(60),
                wire.string("n"),
                wire.string("i"),
                wire.string(""),
                _u32(count),
                prompts,
            )
        )
    if pick == 14:
        count = rng.choice((0, 1, 2, 64, 65, 0xFFFFFFFF))
        answers = b"".join(wire.string("a") for _ in range(min(count, 3)))
        return wire.byte(61) + _u32(count) + answers
    if pick == 15:
        name = rng.choice(GLOBAL_REQUESTS)
        return (
            wire.byte(c.MSG_GLOBAL_REQUEST)
            + wire.string(name)
            + wire.boolean(r() < 0.7)
            + global_data(rng, name)
        )
    if pick == 16:
        return wire.byte(rng.choice((81, 82))) + rng.choice((b"", _u32(8080)))
    if pick == 17:
        kind = rng.choice(CHANNEL_TYPES)
        return b"".join(
            (
                wire.byte(c.MSG_CHANNEL_OPEN),
                wire.string(kind),
                _u32(rng.getrandbits(32)),
                _u32(rng.choice((0, 1, 1 << 21, 0xFFFFFFFF))),
                _u32(rng.choice((0, 1, 32768, 0xFFFFFFFF))),
                open_data(rng, kind),
            )
        )
    if pick == 18:
        _, ours = _ids(att)
        theirs_pending = [
            cid for cid, s in att.channels.channels.items() if s.phase.value == "opening"
        ]
        recipient = rng.choice(theirs_pending or ours or [0])
        if r() < 0.3:
            recipient = rng.getrandbits(32)
        return b"".join(
            (
                wire.byte(rng.choice((91, 92))),
                _u32(recipient),
                _u32(rng.getrandbits(16)),
                _u32(rng.choice((0, 1 << 21, 0xFFFFFFFF))),
                _u32(rng.choice((0, 1, 32768, 0xFFFFFFFF))),
            )
        )
    if pick == 19:
        return (
            wire.byte(c.MSG_CHANNEL_WINDOW_ADJUST)
            + _u32(_channel_id(rng, att))
            + _u32(rng.choice((0, 1, 1 << 20, 0x7FFFFFFF, 0xFFFFFFFF)))
        )
    if pick in (20, 21):
        cid = _channel_id(rng, att)
        state = next((s for s in att.channels.channels.values() if s.remote_id == cid), None)
        window = state.remote_window if state is not None else 32768
        max_packet = state.remote_max_packet if state is not None else 32768
        size = rng.choice((0, 1, window, window + 1, max_packet, max_packet + 1, 70000))
        size = min(size, 250_000)
        if pick == 20:
            return wire.byte(c.MSG_CHANNEL_DATA) + _u32(cid) + wire.string(bytes(size))
        ext = rng.choice((1, 2, 0, 0xFFFFFFFF))
        return (
            wire.byte(c.MSG_CHANNEL_EXTENDED_DATA)
            + _u32(cid)
            + _u32(ext)
            + wire.string(bytes(size))
        )
    if pick == 22:
        return wire.byte(rng.choice((96, 97))) + _u32(_channel_id(rng, att))
    if pick in (23, 24, 25):
        name = rng.choice(CHANNEL_REQUESTS)
        return b"".join(
            (
                wire.byte(c.MSG_CHANNEL_REQUEST),
                _u32(_channel_id(rng, att)),
                wire.string(name),
                wire.boolean(r() < 0.6),
                request_data(rng, name),
            )
        )
    if pick == 26:
        return wire.byte(rng.choice((99, 100))) + _u32(_channel_id(rng, att))
    if pick == 27:  # message numbers nobody assigned, or the reserved ranges
        msg = rng.choice((0, 8, 19, 22, 29, 54, 59, 62, 79, 83, 89, 101, 127, 128, 192, 255))
        return wire.byte(msg) + rng.randbytes(rng.randrange(0, 16))
    if pick == 28:
        return b""  # an empty payload
    return rng.randbytes(rng.randint(1, 64))  # anything at all


MUTATORS: dict[str, Callable[[random.Random, bytes], bytes]] = {
    "field": mutate_field,
    "bytes": mutate_bytes,
    "retype": retype,
}

"""A structure-aware fuzzer for the sans-IO core's ``receive_data``: both roles, every phase.

How a case runs
---------------
A case is one seed string. From it we draw a *scenario* (kex, host key, cipher, MAC,
compression, strict kex on either side, ext-info, tight or default limits, which side is the
*target*) and a *plan* of one to five mutations. A real client core and a real server core then
run a whole session against each other in memory: version exchange, key exchange, the
ssh-userauth service, user auth (none, password, password change, publickey query and
signature, keyboard-interactive), global requests (tcpip-forward, cancel-tcpip-forward,
keepalive, no-more-sessions, hostkeys), session / direct-tcpip / forwarded-tcpip / x11 / agent
channels with every channel request type (pty-req, env, x11-req, auth-agent-req, exec, shell,
subsystem, window-change, signal, break, exit-status, exit-signal, xon-xoff, keepalive), data
and stderr both ways through small windows, rekeys started by either side, EOF and CLOSE.

The other side, the *attacker*, is tapped where it seals payloads, so every mutation happens
*before* encryption and MAC with the attacker's live keys and reaches the target's parsers in
whatever phase the session is in: one field changed (integers at boundaries, string lengths
that lie, truncated or huge strings, invalid UTF-8, wrong types, huge counts, mutated key and
signature blobs), bytes flipped, the message number changed, a payload dropped, duplicated,
swapped with the next, replayed later, a synthetic message of any type injected before or after
it, or a flood of up to 2000 of one kind. Wire-level steps damage sealed bytes, rewrite the
length, append garbage, end the stream inside a packet, or mangle or trickle the version line.
A tenth of the seeds are random-byte cases instead: noise to a fresh core, or plain packets
with random payloads after a real version line.

The oracle
----------
Every ``receive_data`` on either core returns a list of events or raises an SSHException
subclass; once it has raised, the core is CLOSED and ignores further input. The "application"
answering events on each side (it calls the same shell parsers as the threaded transport:
``_dispatch_channel_request``, ``Channel._on_request``) may see only SSHException from core
commands. Each pump is bounded in rounds (a ping-pong that never settles fails the case), and
the runner bounds each case's time and, with tracemalloc, its peak memory. After the session,
the target's channel table, pending counters and windows must still be consistent.
"""

from __future__ import annotations

import functools
import random
import time
import traceback
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

import _fuzz_wire as fw
from sshwire._proto import constants as c
from sshwire._proto import events as ev
from sshwire._proto import wire
from sshwire._proto.algorithms.cipher import CIPHERS
from sshwire._proto.algorithms.hostkey import PrivateKey
from sshwire._proto.algorithms.mac import MACS
from sshwire._proto.channel import MAX_WINDOW, ChannelPhase
from sshwire._proto.config import ConnectionConfig
from sshwire._proto.connection import Connection, Phase
from sshwire._proto.errors import DecodeError
from sshwire._proto.kex.mlkem import HAVE_MLKEM
from sshwire._serving import ServerMode, _dispatch_channel_request
from sshwire.channel import Channel
from sshwire.server import ServerInterface
from sshwire.ssh_exception import SSHException

MAX_ROUNDS = 400  # exchanges per pump before a case counts as a livelock
CASE_SECONDS = 20.0  # a case taking longer is reported (a hang or a CPU-amplification bug)
CASE_PEAK_BYTES = 64 << 20  # tracemalloc peak per case (the largest legitimate is ~10 MiB)
USER = "fuzz"
PASSWORD = "secret"


class FuzzFailure(AssertionError):
    """The oracle does not hold for this case."""


class _CaseOver(Exception):
    """A core raised an SSHException (an accepted ending): stop this case."""


# ------------------------------------------------------------------------------------- keys


def _random_prime(rng: random.Random, bits: int) -> int:
    small = [p for p in range(3, 2000, 2) if all(p % d for d in range(3, int(p**0.5) + 1, 2))]
    while True:
        n = rng.getrandbits(bits) | (1 << (bits - 1)) | (1 << (bits - 2)) | 1
        if any(n % p == 0 for p in small) or n % 65537 == 1:
            continue
        d, s = n - 1, 0
        while d % 2 == 0:
            d, s = d // 2, s + 1
        for _ in range(24):
            x = pow(rng.randrange(2, n - 2), d, n)
            if x in (1, n - 1):
                continue
            for _ in range(s - 1):
                x = pow(x, 2, n)
                if x == n - 1:
                    break
            else:
                break
        else:
            return n


@functools.cache
def host_key(kind: str) -> PrivateKey:
    """Fixed host and user keys, derived from constant seeds, so cases replay exactly."""
    rng = random.Random(f"sshwire-fuzz-{kind}")
    if kind in ("ed25519", "user"):
        return PrivateKey(ed25519.Ed25519PrivateKey.from_private_bytes(rng.randbytes(32)))
    if kind == "ecdsa":
        return PrivateKey(ec.derive_private_key(rng.getrandbits(200) + 1, ec.SECP256R1()))
    p, q = _random_prime(rng, 1024), _random_prime(rng, 1024)
    e = 65537
    d = pow(e, -1, (p - 1) * (q - 1))
    numbers = rsa.RSAPrivateNumbers(
        p, q, d, d % (p - 1), d % (q - 1), pow(q, -1, p), rsa.RSAPublicNumbers(e, p * q)
    )
    return PrivateKey(numbers.private_key())


# ------------------------------------------------------------------------------- scenarios

_KEX = [
    ("curve25519-sha256", 30.0),
    ("curve25519-sha256@libssh.org", 5.0),
    ("ecdh-sha2-nistp256", 10.0),
    ("ecdh-sha2-nistp384", 3.0),
    ("ecdh-sha2-nistp521", 3.0),
    ("diffie-hellman-group14-sha256", 1.5),
    ("diffie-hellman-group14-sha1", 0.5),
    ("diffie-hellman-group1-sha1", 0.5),
    ("diffie-hellman-group-exchange-sha256", 1.5),
    ("diffie-hellman-group-exchange-sha1", 0.5),
    ("diffie-hellman-group16-sha512", 0.4),
    ("diffie-hellman-group18-sha512", 0.1),
]
if HAVE_MLKEM:
    _KEX.append(("mlkem768x25519-sha256", 12.0))
_HOST_KEYS = [
    ("ssh-ed25519", "ed25519", 10.0),
    ("ecdsa-sha2-nistp256", "ecdsa", 3.0),
    ("rsa-sha2-256", "rsa", 2.0),
    ("rsa-sha2-512", "rsa", 1.0),
    ("ssh-rsa", "rsa", 0.5),
]


def _weighted(rng: random.Random, items: list[tuple[Any, float]]) -> Any:
    return rng.choices([i[0] for i in items], weights=[i[1] for i in items])[0]


@dataclass
class Scenario:
    target_client: bool
    kex: str
    host_key_alg: str
    host_key_kind: str
    cipher: str
    mac: str
    compression: str
    strict: tuple[bool, bool]  # client, server
    ext_info: bool
    limits: dict[str, Any]
    rekey_bytes: int
    server_starts_first: bool
    chunking: str

    @classmethod
    def draw(cls, rng: random.Random) -> Scenario:
        hk = _weighted(rng, [((alg, kind), w) for alg, kind, w in _HOST_KEYS])
        cipher = rng.choice(list(CIPHERS))
        strict = _weighted(
            rng, [((True, True), 70), ((False, False), 15), ((True, False), 8), ((False, True), 7)]
        )
        limits: dict[str, Any] = {}
        if rng.random() < 0.35:
            options: dict[str, tuple[Any, ...]] = {
                "max_channels": (1, 4, 16),
                "max_pending_channel_opens": (1, 2, 8),
                "max_pending_global_requests": (1, 4),
                "max_auth_requests": (1, 3, 10),
                "max_decompressed_payload": (1024, 35000),
                "max_packet_length": (35000, 65536),
                "max_window_excess": (0, 1024, 65536),
                "max_banner_line": (64, 255, 8192),
                "max_pre_banner_lines": (0, 5),
                "banner_timeout": (None, 5.0),
            }
            for name in rng.sample(sorted(options), rng.randint(1, 4)):
                limits[name] = rng.choice(options[name])
        return cls(
            target_client=rng.random() < 0.5,
            kex=_weighted(rng, _KEX),
            host_key_alg=hk[0],
            host_key_kind=hk[1],
            cipher=cipher,
            mac=rng.choice(list(MACS)),
            compression=_weighted(rng, [("none", 6), ("zlib", 2), ("zlib@openssh.com", 2)]),
            strict=strict,
            ext_info=rng.random() < 0.9,
            limits=limits,
            rekey_bytes=rng.choice((1 << 30,) * 9 + (16384,)),
            server_starts_first=rng.random() < 0.8,
            chunking=_weighted(rng, [("whole", 75), ("split", 20), ("bytes", 5)]),
        )

    def config(self, client: bool) -> ConnectionConfig:
        cfg = ConnectionConfig(
            kex=(self.kex,),
            host_key=(self.host_key_alg,),
            ciphers=(self.cipher,),
            macs=(self.mac,),
            compression=(self.compression,),
            strict_kex=self.strict[0 if client else 1],
            ext_info=self.ext_info,
            server_sig_algs=("ssh-ed25519", "rsa-sha2-256"),
            rekey_bytes=self.rekey_bytes,
            rekey_seconds=600.0,
        )
        if client == self.target_client:
            for name, value in self.limits.items():
                setattr(cfg, name, value)
        return cfg


# ----------------------------------------------------------------------------------- plans

_COMMON_SELECTORS: list[tuple[str, frozenset[int] | None, str | None, float]] = [
    ("kexinit", frozenset({20}), None, 6),
    ("kex", frozenset(range(30, 50)), None, 6),
    ("newkeys", frozenset({21}), None, 3),
    ("transport", frozenset({1, 2, 3, 4}), None, 1),
    ("any", None, None, 10),
    ("global", frozenset({80}), None, 2),
    ("global-reply", frozenset({81, 82}), None, 1),
    ("open", frozenset({90}), None, 3),
    ("open-reply", frozenset({91, 92}), None, 3),
    ("window", frozenset({93}), None, 3),
    ("data", frozenset({94, 95}), None, 5),
    ("eof", frozenset({96}), None, 2),
    ("close", frozenset({97}), None, 2),
    ("channel-reply", frozenset({99, 100}), None, 2),
]
_CLIENT_SELECTORS = [
    ("service-request", frozenset({5}), None, 2),
    ("userauth-request", frozenset({50}), None, 8),
    ("info-response", frozenset({61}), None, 2),
    *(
        (f"request:{n}", frozenset({98}), n, 1.5)
        for n in (
            "pty-req",
            "env",
            "x11-req",
            "auth-agent-req@openssh.com",
            "window-change",
            "signal",
            "break",
            "exec",
            "shell",
            "subsystem",
        )
    ),
    *((f"global:{n}", frozenset({80}), n, 1.0) for n in ("tcpip-forward", "cancel-tcpip-forward")),
    *((f"open:{n}", frozenset({90}), n, 1.5) for n in ("session", "direct-tcpip")),
]
_SERVER_SELECTORS = [
    ("service-accept", frozenset({6}), None, 2),
    ("ext-info", frozenset({7}), None, 2),
    ("userauth-reply", frozenset({51, 52, 53, 60}), None, 8),
    *(
        (f"request:{n}", frozenset({98}), n, 1.5)
        for n in ("exit-status", "exit-signal", "xon-xoff", "keepalive@openssh.com")
    ),
    *((f"global:{n}", frozenset({80}), n, 1.0) for n in ("hostkeys-00@openssh.com",)),
    *(
        (f"open:{n}", frozenset({90}), n, 1.5)
        for n in ("forwarded-tcpip", "x11", "auth-agent@openssh.com")
    ),
]
_ACTIONS = [
    ("field", 30),
    ("bytes", 8),
    ("retype", 5),
    ("empty", 1),
    ("drop", 4),
    ("dup", 4),
    ("swap", 4),
    ("replay", 3),
    ("inject_before", 10),
    ("inject_after", 6),
    ("flood", 4),
    ("wire_flip", 3),
    ("wire_length", 2),
    ("wire_garbage", 2),
    ("wire_trunc_eof", 2),
    ("banner", 3),
]
_BANNER_KINDS = (
    "long",
    "proto",
    "pre_lines",
    "many_pre_lines",
    "nul",
    "no_newline",
    "http",
    "cr_only",
    "slow",
    "garbage_after",
    "twice",
    "non_ascii",
)


@dataclass
class Op:
    action: str
    selector: str
    msgs: frozenset[int] | None
    name: str | None
    nth: int
    rng: random.Random
    seen: int = 0
    fired: bool = False

    def matches(self, payload: bytes) -> bool:
        if self.msgs is not None and (not payload or payload[0] not in self.msgs):
            return False
        return self.name is None or fw.request_name(payload) == self.name


def draw_plan(rng: random.Random, attacker_client: bool) -> list[Op]:
    selectors = _COMMON_SELECTORS + (_CLIENT_SELECTORS if attacker_client else _SERVER_SELECTORS)
    n = _weighted(rng, [(1, 70), (2, 18), (3, 7), (5, 5)])
    plan = []
    for i in range(n):
        action = _weighted(rng, _ACTIONS)
        label, msgs, name, _ = _weighted(rng, [(s, s[3]) for s in selectors])
        nth = _weighted(rng, [(0, 70), (1, 15), (2, 10), (5, 5)])
        if label == "any":  # anywhere in the session, not only at its first packet
            nth = rng.randrange(80)
        op_rng = random.Random(f"{rng.random()}-{i}")
        plan.append(Op(action, label, msgs, name, nth, op_rng))
    return plan


# ------------------------------------------------------------------------------------ the tap


class Tap:
    """Sits where the attacker seals payloads and applies the plan."""

    def __init__(self, session: Session, conn: Connection, plan: list[Op]) -> None:
        self.session = session
        self.conn = conn
        self.plan = plan
        self._encode = conn._writer.encode
        conn._writer.encode = self.encode  # type: ignore[method-assign]
        self.history: list[bytes] = []
        self.held: bytes | None = None
        self.broken = False  # the stream was cut: nothing more goes out
        self.eof_after = False
        self.first_chunk = True
        self.banner_op = next((op for op in plan if op.action == "banner"), None)

    def encode(self, payload: bytes | bytearray | memoryview) -> bytes | bytearray:
        if self.broken:
            return b""
        payload = bytes(payload)
        held, self.held = self.held, None  # swapped out by the previous payload: goes after
        outs: list[tuple[bytes, str | None]] = [(payload, None)]
        for op in self.plan:
            if not outs:
                break  # dropped or swapped out by an earlier op
            if op.fired or op.action == "banner" or not op.matches(payload):
                continue
            if op.seen < op.nth:
                op.seen += 1
                continue
            op.fired = True
            self.session.note_fired(op)
            outs = self._apply(op, outs)
        self.history.append(payload)
        sealed = bytearray()
        for p, how in outs:
            sealed += self._seal(p, how)
            if self.broken:
                return sealed
        if held is not None and not self.broken:
            sealed += self._seal(held, None)
        return sealed

    def _seal(self, payload: bytes, how: str | None) -> bytes | bytearray:
        out = bytearray(self._encode(payload))
        if how is None or not out:
            return out
        r = self.session.rng
        if how == "flip":
            i = r.randrange(len(out))
            out[i] ^= 1 << r.randrange(8)
        elif how == "length":
            out[:4] = fw._u32(r.choice(fw.U32_BOUNDS))
        elif how == "garbage":
            out += r.randbytes(r.randint(1, 64))
        elif how == "trunc":
            del out[r.randrange(1, len(out)) :]
            self.broken = True
            self.eof_after = True
        return out

    def _apply(
        self, op: Op, outs: list[tuple[bytes, str | None]]
    ) -> list[tuple[bytes, str | None]]:
        r = op.rng
        p = outs[-1][0]
        head = outs[:-1]
        a = op.action
        if a in fw.MUTATORS:
            return [*head, (fw.MUTATORS[a](r, p), None)]
        if a == "empty":
            return [*head, (b"", None)]
        if a == "drop":
            return head
        if a == "dup":
            return [*head, (p, None), (p, None)]
        if a == "swap":
            self.held = p
            return head
        if a == "replay":
            old = r.choice(self.history) if self.history else p
            return [*head, (p, None), (old, None)]
        if a in ("inject_before", "inject_after"):
            extra = fw.synth_payload(r, self.conn)
            if r.random() < 0.3:
                extra = fw.mutate_field(r, extra)
            pair = (
                [(extra, None), (p, None)] if a == "inject_before" else [(p, None), (extra, None)]
            )
            return [*head, *pair]
        if a == "flood":
            kind = r.randrange(fw.SYNTH_KINDS)
            flood: list[tuple[bytes, str | None]] = []
            total = 0
            for _ in range(r.choice((50, 300, 2000))):
                extra = fw.synth_payload(r, self.conn, kind)
                total += len(extra)
                if total > 2 << 20:  # the attacker's own output stays under 2 MiB
                    break
                flood.append((extra, None))
            return [*head, *flood, (p, None)]
        how = {"wire_flip": "flip", "wire_length": "length", "wire_garbage": "garbage"}.get(a)
        return [*head, (p, how or "trunc")]

    def wire_chunk(self, out: bytes) -> tuple[bytes, bool]:
        """Banner mutations on the attacker's first output; returns (bytes, slow)."""
        first, self.first_chunk = self.first_chunk, False
        op = self.banner_op
        if not first or op is None or not out:
            return out, False
        op.fired = True
        self.session.note_fired(op)
        r = op.rng
        end = out.find(b"\n") + 1
        line, rest = out[:end], out[end:]
        kind = r.choice(_BANNER_KINDS)
        op.selector = f"banner:{kind}"
        if kind == "long":
            line = b"SSH-2.0-" + b"x" * r.choice((240, 250, 300, 9000)) + b"\r\n"
        elif kind == "proto":
            line = r.choice(
                (b"SSH-1.5-x", b"SSH-1.99-x", b"SSH-2.1-x", b"SSH-2.0", b"SSH-", b"SSH-2.0-\xff")
            )
            line += b"\r\n"
        elif kind == "pre_lines":
            line = b"".join(b"hello %d\r\n" % i for i in range(r.choice((1, 3, 6)))) + line
        elif kind == "many_pre_lines":
            line = b"x\r\n" * r.choice((1024, 1025, 30000)) + line
        elif kind == "nul":
            line = b"hi\x00there\r\n" + line
        elif kind == "no_newline":
            line, rest = b"A" * r.choice((256, 70000)), b""
        elif kind == "http":
            line, rest = b"HTTP/1.1 400 Bad Request\r\n\r\n", b""
        elif kind == "cr_only":
            line = line.rstrip(b"\r\n") + b"\r"
        elif kind == "garbage_after":
            rest = r.randbytes(r.randint(1, 2000))
        elif kind == "twice":
            line = line + line
        elif kind == "non_ascii":
            line = b"SSH-2.0-caf\xc3\xa9\r\n"
        return line + rest, kind == "slow"


# ----------------------------------------------------------------------------------- the apps


class FuzzServer(ServerInterface):
    """Says yes to every channel request, so each one's data is parsed by the shell."""

    def check_channel_pty_request(self, *args: Any) -> bool:
        return True

    def check_channel_shell_request(self, channel: Any) -> bool:
        return True

    def check_channel_exec_request(self, channel: Any, command: bytes) -> bool:
        return True

    def check_channel_subsystem_request(self, channel: Any, name: str) -> bool:
        return True

    def check_channel_window_change_request(self, *args: Any) -> bool:
        return True

    def check_channel_x11_request(self, *args: Any) -> bool:
        return True

    def check_channel_forward_agent_request(self, channel: Any) -> bool:
        return True

    def check_channel_env_request(self, channel: Any, name: bytes, value: bytes) -> bool:
        return True

    def check_port_forward_request(self, address: str, port: int) -> int:
        self.forwards.append((address, port))
        return port or 40000

    def check_global_request(self, kind: str, msg: Any) -> bool:
        return kind.startswith("keepalive")

    def __init__(self) -> None:
        self.forwards: list[tuple[str, int]] = []


class _ShellStub:
    """What ``ServerMode._server_global_request`` needs of a Transport."""

    def __init__(self, conn: Connection, iface: FuzzServer) -> None:
        self.server_object = iface
        self._conn = conn

    def _command(self, action: Callable[[Connection], None]) -> None:
        action(self._conn)


class App:
    """The application on one side: answers events the way the threaded shell would."""

    def __init__(self, session: Session, conn: Connection, rng: random.Random, label: str):
        self.session = session
        self.conn = conn
        self.rng = rng
        self.label = label
        self.outbox: dict[int, list[tuple[bytes, int | None]]] = {}
        self.after: dict[int, list[Callable[[], None]]] = {}
        self.kinds: dict[int, str] = {}

    # channel output through windows -----------------------------------------------------

    def _open(self, cid: int) -> bool:
        state = self.conn.channels.channels.get(cid)
        return (
            state is not None
            and state.phase is ChannelPhase.OPEN
            and not state.close_sent
            and not state.eof_sent
        )

    def queue(self, cid: int, data: bytes, ext: int | None = None) -> None:
        self.outbox.setdefault(cid, []).append((data, ext))

    def then(self, cid: int, action: Callable[[], None]) -> None:
        self.after.setdefault(cid, []).append(action)

    def flush(self, cid: int) -> None:
        box = self.outbox.get(cid, [])
        while box:
            if not self._open(cid):
                box.clear()
                break
            data, ext = box[0]
            n = self.conn.channels.send_data(cid, data, ext)
            if n < len(data):
                box[0] = (data[n:], ext)
                return
            box.pop(0)
        for action in self.after.pop(cid, []):
            action()

    def send_eof_close(self, cid: int) -> None:
        if self._open(cid):
            self.conn.channels.send_eof(cid)
        self.conn.channels.close(cid)

    def request(self, cid: int, name: str, want_reply: bool, data: bytes) -> None:
        if self._open(cid):
            self.conn.channels.send_request(cid, name, want_reply, data)

    # events common to both sides ---------------------------------------------------------

    def common(self, e: ev.Event) -> bool:
        ch = self.conn.channels
        if isinstance(e, ev.ChannelData):
            ch.consumed(e.channel, len(e.data))
            if self.kinds.get(e.channel) in ("session", "direct-tcpip") and not self.is_client:
                self.queue(e.channel, e.data[:4096])  # echo
                self.flush(e.channel)
        elif isinstance(e, ev.ChannelWindowAdjusted):
            self.flush(e.channel)
        elif isinstance(e, ev.ChannelEof):
            if self.kinds.get(e.channel) != "session" or self.is_client:
                self.then(e.channel, lambda: self.send_eof_close(e.channel))
                self.flush(e.channel)
        elif isinstance(e, ev.ChannelClosed):
            self.outbox.pop(e.channel, None)
            self.after.pop(e.channel, None)
        elif isinstance(e, ev.GlobalRequestReceived):
            self.global_request(e)
        elif isinstance(e, ev.ChannelRequestReceived):
            self.channel_request(e)
        else:
            return False
        return True

    is_client = False

    def global_request(self, e: ev.GlobalRequestReceived) -> None:
        if e.want_reply:
            self.conn.global_reply(False)

    def channel_request(self, e: ev.ChannelRequestReceived) -> None:
        if e.want_reply:
            self.conn.channels.reply(e.channel, False)

    def handle(self, e: ev.Event) -> None:
        raise NotImplementedError


class ServerApp(App):
    def __init__(self, session: Session, conn: Connection, rng: random.Random) -> None:
        super().__init__(session, conn, rng, "server")
        self.iface = FuzzServer()
        self.banner_sent = False

    def handle(self, e: ev.Event) -> None:
        conn = self.conn
        if self.common(e):
            return
        if isinstance(e, ev.AuthRequested):
            self.auth(e)
        elif isinstance(e, ev.AuthInfoResponse):
            if e.responses == [PASSWORD, "123"]:
                conn.auth_accept(USER)
            else:
                conn.auth_reject(["password", "publickey"])
        elif isinstance(e, ev.ChannelOpenRequested):
            self.open_requested(e)
        elif isinstance(e, ev.ChannelOpenConfirmed):
            self.queue(e.channel, b"from the server " * 20)
            self.then(e.channel, lambda: self.send_eof_close(e.channel))
            self.flush(e.channel)

    def auth(self, e: ev.AuthRequested) -> None:
        conn = self.conn
        if not self.banner_sent:
            self.banner_sent = True
            conn.auth_banner("welcome to the fuzz server\r\n")
        methods = ["password", "publickey", "keyboard-interactive"]
        user_key = host_key("user").public
        if e.method == "password" and (
            e.new_password is not None or (e.password == PASSWORD and e.username == USER)
        ):
            conn.auth_accept(e.username)
        elif e.method == "publickey" and not e.has_signature and e.key_blob is not None:
            conn.auth_pk_ok(e.key_algorithm or "", e.key_blob)
        elif e.method == "publickey" and e.signature_valid and e.key_blob == user_key.blob:
            conn.auth_accept(e.username)
        elif e.method == "keyboard-interactive":
            conn.auth_info_request("fuzz", "answer", [("Password: ", False), ("Code: ", True)])
        else:
            conn.auth_reject(methods, partial=e.method == "password" and self.rng.random() < 0.1)

    def open_requested(self, e: ev.ChannelOpenRequested) -> None:
        ch = self.conn.channels
        if e.kind == "direct-tcpip":
            try:  # as _serving._server_open_request parses it
                r = wire.Reader(e.data)
                (r.text(), r.uint32(), r.text(), r.uint32())
            except DecodeError:
                ch.reject(e.channel, c.OPEN_FAILED_CONNECT_FAILED, "bad")
                return
        if e.kind in ("session", "direct-tcpip") and self.rng.random() < 0.95:
            ch.accept(e.channel, self.rng.choice((1024, 32768, 2 << 20)), 32768)
            self.kinds[e.channel] = e.kind
        else:
            ch.reject(e.channel, c.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED, "no")

    def global_request(self, e: ev.GlobalRequestReceived) -> None:
        # the shell's own handler: parses tcpip-forward & co, asks the interface, replies
        ServerMode._server_global_request(_ShellStub(self.conn, self.iface), e)
        for address, port in self.iface.forwards:
            self.session.server_later.append(lambda a=address, p=port: self.forward(a, p))
        self.iface.forwards.clear()

    def forward(self, address: str, port: int) -> None:  # a connection to the forwarded port
        if self.conn.authenticated:
            extra = wire.string(address) + wire.uint32(port) + wire.string("10.1.1.1")
            self.conn.channels.open("forwarded-tcpip", 32768, 16384, extra + wire.uint32(5555))

    def channel_request(self, e: ev.ChannelRequestReceived) -> None:
        chan = self.session.stub_channel(self, e.channel)
        try:  # the shell's own parser for pty-req, env, x11-req, exec, subsystem, ...
            ok = bool(_dispatch_channel_request(self.iface, chan, e.name, e.data))
        except DecodeError:
            ok = False
        if e.want_reply:
            self.conn.channels.reply(e.channel, ok)
        if ok and e.name in ("exec", "shell", "subsystem"):
            self.run_command(e.channel)
        elif ok and e.name == "x11-req":
            self.session.server_later.append(self.open_x11)
        elif ok and e.name == "auth-agent-req@openssh.com":
            self.session.server_later.append(self.open_agent)

    def open_x11(self) -> None:
        if self.conn.authenticated:
            self.conn.channels.open("x11", 32768, 16384, wire.string("127.0.0.1") + wire.uint32(1))

    def open_agent(self) -> None:
        if self.conn.authenticated:
            self.conn.channels.open("auth-agent@openssh.com", 32768, 16384)

    def run_command(self, cid: int) -> None:
        r = self.rng
        self.queue(cid, bytes(r.choice((0, 100, 5000, 40000))))
        self.queue(cid, b"oops\n" * r.choice((0, 1, 200)), c.EXTENDED_DATA_STDERR)

        def finish() -> None:
            self.request(cid, "xon-xoff", False, wire.boolean(True))
            self.request(cid, "keepalive@openssh.com", r.random() < 0.5, b"")
            self.request(cid, "exit-status", False, wire.uint32(r.choice((0, 1, 255))))
            if r.random() < 0.3:
                self.request(cid, "exit-signal", False, fw.request_data(r, "exit-signal"))
            if r.random() < 0.8:
                self.send_eof_close(cid)

        self.then(cid, finish)
        self.flush(cid)


class ClientApp(App):
    is_client = True

    def __init__(self, session: Session, conn: Connection, rng: random.Random) -> None:
        super().__init__(session, conn, rng, "client")
        self.auth_plan = rng.choice(
            (
                ["none", "password"],
                ["badpassword", "pkquery", "pksigned"],
                ["keyboard-interactive"],
                ["pksigned"],
                ["passwordchange"],
                ["none", "badpassword", "keyboard-interactive", "password"],
            )
        )
        self.channels_made: list[int] = []
        self.requests: dict[int, list[tuple[str, bool, bytes]]] = {}
        self.shells: dict[int, bytes] = {}

    def handle(self, e: ev.Event) -> None:
        conn = self.conn
        if self.common(e):
            return
        if isinstance(e, ev.KexCompleted) and e.first:
            conn.request_service("ssh-userauth")
        elif isinstance(e, ev.ServiceAccepted | ev.AuthFailed):
            self.next_auth()
        elif isinstance(e, ev.AuthPkOk):
            self.signed_publickey()
        elif isinstance(e, ev.AuthInfoRequest):
            conn.auth_info_response([PASSWORD, "123"][: len(e.prompts)])
        elif isinstance(e, ev.AuthPasswordChangeRequired):
            conn.auth_password_change(USER, "old", PASSWORD)
        elif isinstance(e, ev.ChannelOpenConfirmed):
            self.opened(e.channel)
        elif isinstance(e, ev.ChannelOpenRequested):
            self.open_requested(e)

    def next_auth(self) -> None:
        if not self.auth_plan:
            return
        method = self.auth_plan.pop(0)
        conn = self.conn
        if method == "none":
            conn.auth_none(USER)
        elif method == "password":
            conn.auth_password(USER, PASSWORD)
        elif method == "badpassword":
            conn.auth_password(USER, "wrong")
        elif method == "passwordchange":
            conn.auth_password_change(USER, "old", PASSWORD)
        elif method == "pkquery":
            key = host_key("user").public
            conn.auth_publickey(USER, "ssh-ed25519", key.blob, None)
        elif method == "pksigned":
            self.signed_publickey()
        else:
            conn.auth_keyboard_interactive(USER)

    def signed_publickey(self) -> None:
        key = host_key("user")
        data = self.conn.publickey_signed_data(USER, "ssh-ed25519", key.public.blob)
        self.conn.auth_publickey(
            USER, "ssh-ed25519", key.public.blob, key.sign("ssh-ed25519", data)
        )

    def open_session(self) -> None:
        r = self.rng
        cid = self.conn.channels.open("session", r.choice((1024, 65536, 2 << 20)), 32768)
        self.kinds[cid] = "session"
        reqs: list[tuple[str, bool, bytes]] = []
        for name in ("pty-req", "env", "x11-req", "auth-agent-req@openssh.com"):
            if r.random() < 0.6:
                reqs.append((name, r.random() < 0.7, fw.request_data(r, name)))
        for name in ("window-change", "signal", "break"):
            if r.random() < 0.3:
                reqs.append((name, r.random() < 0.3, fw.request_data(r, name)))
        command = r.choice(("exec", "shell", "subsystem"))
        reqs.append((command, True, fw.request_data(r, command)))
        self.requests[cid] = reqs
        self.shells[cid] = bytes(r.choice((0, 10, 3000, 50000)))

    def open_direct(self) -> None:
        data = fw.open_data(self.rng, "direct-tcpip")
        cid = self.conn.channels.open("direct-tcpip", 32768, 16384, data)
        self.kinds[cid] = "direct-tcpip"

    def opened(self, cid: int) -> None:
        kind = self.kinds.get(cid)
        for name, want, data in self.requests.pop(cid, []):
            self.request(cid, name, want, data)
        if kind == "session":
            self.queue(cid, self.shells.pop(cid, b""))
            if self.rng.random() < 0.5:
                self.then(
                    cid, lambda: self.conn.channels.send_eof(cid) if self._open(cid) else None
                )
        elif kind == "direct-tcpip":
            self.queue(cid, b"GET / HTTP/1.0\r\n\r\n" * 10)
            self.then(cid, lambda: self.send_eof_close(cid))
        else:
            self.queue(cid, b"reply")
            self.then(cid, lambda: self.send_eof_close(cid))
        self.flush(cid)

    def open_requested(self, e: ev.ChannelOpenRequested) -> None:
        ch = self.conn.channels
        try:  # as Transport._on_channel_open_request parses it
            r = wire.Reader(e.data)
            if e.kind == "forwarded-tcpip":
                (r.text(), r.uint32(), r.text(), r.uint32())
            elif e.kind == "x11":
                (r.text(), r.uint32())
        except DecodeError:
            self.session.shell_decode_errors += 1
            ch.reject(e.channel, c.OPEN_FAILED_CONNECT_FAILED, "bad")
            return
        if self.rng.random() < 0.8:
            ch.accept(e.channel, 32768, 16384)
            self.kinds[e.channel] = e.kind
            self.opened(e.channel)
        else:
            ch.reject(e.channel, c.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED, "no")

    def channel_request(self, e: ev.ChannelRequestReceived) -> None:
        chan = self.session.stub_channel(self, e.channel)
        try:  # the shell's parser for exit-status, exit-signal
            ok = chan._on_request(e.name, e.data)
        except DecodeError:
            self.session.shell_decode_errors += 1
            ok = False
        if e.want_reply:
            self.conn.channels.reply(e.channel, bool(ok))


# --------------------------------------------------------------------------------- the session


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Side:
    conn: Connection
    app: App
    label: str
    tap: Tap | None = None
    raised: BaseException | None = None


class Session:
    """One fuzz case: a scenario, a plan, a client and a server core, and the script."""

    def __init__(self, seed: str) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.scenario = sc = Scenario.draw(self.rng)
        self.clock = FakeClock()
        self.fired: list[str] = []
        self.shell_decode_errors = 0
        self.server_later: list[Callable[[], None]] = []
        self.stubs: dict[tuple[str, int], Channel] = {}
        keys = [host_key(sc.host_key_kind)]
        client_conn = Connection(
            True, sc.config(True), rng=random.Random(seed + "/c").randbytes, clock=self.clock
        )
        server_conn = Connection(
            False,
            sc.config(False),
            rng=random.Random(seed + "/s").randbytes,
            clock=self.clock,
            host_keys=keys,
        )
        self.client = Side(
            client_conn, ClientApp(self, client_conn, random.Random(seed + "/ca")), "client"
        )
        self.server = Side(
            server_conn, ServerApp(self, server_conn, random.Random(seed + "/sa")), "server"
        )
        self.target, self.attacker = (
            (self.client, self.server) if sc.target_client else (self.server, self.client)
        )
        self.plan = draw_plan(self.rng, attacker_client=not sc.target_client)
        self.attacker.tap = Tap(self, self.attacker.conn, self.plan)
        self.outcome = "completed"

    # bookkeeping ---------------------------------------------------------------------------

    def phase_of(self, conn: Connection) -> str:
        if conn.phase is Phase.VERSION:
            return "version"
        if conn.phase is Phase.KEX:
            return "kex"
        if conn.phase is Phase.CLOSED:
            return "closed"
        if conn.rekeying:
            return "rekey"
        return "connection" if conn.authenticated else "auth"

    def note_fired(self, op: Op) -> None:
        """Label: the target's role, the phase the message belongs to (the attacker's phase as
        it sealed it), the selector and the action."""
        role = "client" if self.scenario.target_client else "server"
        phase = self.phase_of(self.attacker.conn)
        if op.action == "banner":
            phase = "version"
        elif phase == "version":  # KEXINIT is sealed before the peer's version line arrives
            phase = "kex"
        self.fired.append(f"{role}|{phase}|{op.selector}|{op.action}")

    def stub_channel(self, app: App, cid: int) -> Channel:
        key = (app.label, cid)
        if key not in self.stubs:
            self.stubs[key] = Channel(cid)
        return self.stubs[key]

    # delivery ------------------------------------------------------------------------------

    def _chunks(self, data: bytes) -> Iterator[bytes]:
        how = self.scenario.chunking
        if how == "whole" or len(data) < 2:
            yield data
            return
        r = self.rng
        pos = 0
        if how == "bytes":
            while pos < min(len(data), 3000):
                yield data[pos : pos + 1]
                pos += 1
        while pos < len(data):
            step = r.randint(1, max(1, min(len(data) - pos, r.choice((7, 64, 1500, 40000)))))
            yield data[pos : pos + step]
            pos += step

    def deliver(self, dst: Side, data: bytes, slow: bool = False) -> None:
        if slow:  # slow-loris: the first 400 bytes one a second, then the rest
            chunks: Iterator[bytes] = iter([*(data[i : i + 1] for i in range(400)), data[400:]])
        else:
            chunks = self._chunks(data)
        for chunk in chunks:
            if slow:
                self.clock.now += 1.0
            if not chunk and data:
                continue
            events = self._receive(dst, chunk)
            for e in events:
                self._app(dst, e)

    def _receive(self, dst: Side, data: bytes) -> list[ev.Event]:
        try:
            events = dst.conn.receive_data(data)
        except SSHException as exc:
            self._ended(dst, exc, from_receive=True)
        except Exception as exc:
            raise FuzzFailure(
                f"{dst.label}.receive_data raised {type(exc).__name__}: {exc}\n"
                + "".join(traceback.format_exception(exc))
            ) from exc
        if not isinstance(events, list) or not all(isinstance(e, ev.Event) for e in events):
            raise FuzzFailure(f"{dst.label}.receive_data returned {events!r}")
        return events

    def _app(self, side: Side, e: ev.Event) -> None:
        try:
            side.app.handle(e)
        except SSHException as exc:
            self._ended(side, exc, from_receive=False)
        except Exception as exc:
            raise FuzzFailure(
                f"{side.label} command answering {type(e).__name__} raised "
                f"{type(exc).__name__}: {exc}\n" + "".join(traceback.format_exception(exc))
            ) from exc

    def command(self, side: Side, action: Callable[[], None]) -> None:
        if side.conn.phase is Phase.CLOSED:
            return
        try:
            action()
        except SSHException as exc:
            self._ended(side, exc, from_receive=False)
        except Exception as exc:
            raise FuzzFailure(
                f"{side.label} command raised {type(exc).__name__}: {exc}\n"
                + "".join(traceback.format_exception(exc))
            ) from exc

    def _ended(self, side: Side, exc: SSHException, from_receive: bool) -> None:
        side.raised = exc
        where = "" if from_receive else "command:"
        self.outcome = f"{side.label}:{where}{type(exc).__name__}"
        if from_receive:
            if side.conn.phase is not Phase.CLOSED:
                raise FuzzFailure(f"{side.label} raised {exc!r} but is not CLOSED")
            try:
                again = side.conn.receive_data(b"\x00\x00\x00\x0c more bytes")
            except Exception as exc2:
                raise FuzzFailure(f"{side.label} raised again after closing: {exc2!r}") from exc2
            if again:
                raise FuzzFailure(f"{side.label} returned {again!r} after closing")
        raise _CaseOver

    def pump(self) -> None:
        for _ in range(MAX_ROUNDS):
            moved = False
            for src, dst in ((self.client, self.server), (self.server, self.client)):
                out = src.conn.data_to_send()
                slow = False
                if src.tap is not None:
                    out, slow = src.tap.wire_chunk(out)
                if out:
                    moved = True
                    self.deliver(dst, out, slow)
                if src.tap is not None and src.tap.eof_after:
                    src.tap.eof_after = False
                    self.deliver(dst, b"")
                    moved = True
            later, self.server_later = self.server_later, []
            for action in later:
                moved = True
                self.command(self.server, action)
            if not moved:
                return
        raise FuzzFailure(f"no quiescence after {MAX_ROUNDS} rounds (livelock?)")

    # the script ----------------------------------------------------------------------------

    def steps(self) -> list[Callable[[], None]]:
        r = self.rng
        cl = self.client.conn
        capp = self.client.app
        sv = self.server.conn
        assert isinstance(capp, ClientApp)
        fwd = wire.string("127.0.0.1") + wire.uint32(0)
        menu: list[Callable[[], None]] = [
            lambda: cl.global_request("tcpip-forward", True, fwd),
            lambda: cl.global_request("keepalive@openssh.com", True),
            lambda: cl.global_request("no-more-sessions@openssh.com", False),
            capp.open_session,
            capp.open_session,
            capp.open_direct,
            lambda: sv.global_request("keepalive@openssh.com", True),
            lambda: sv.global_request(
                "hostkeys-00@openssh.com", False, wire.string(host_key("ed25519").public.blob)
            ),
            lambda: cl.send_ignore(b"x" * r.randrange(100)),
            lambda: sv.send_debug("server says hi"),
        ]
        steps = r.sample(menu, r.randint(3, len(menu)))
        for _ in range(r.choice((0, 0, 1, 2))):
            conn = r.choice((cl, sv))
            steps.insert(r.randrange(len(steps) + 1), conn.start_rekey)
        if r.random() < 0.1:

            def tick() -> None:
                self.clock.now += 601.0  # past rekey_seconds: the next packet starts a rekey
                cl.send_ignore(b"tick")

            steps.insert(r.randrange(len(steps) + 1), tick)
        steps.append(lambda: cl.global_request("cancel-tcpip-forward", True, fwd))
        return steps

    def run(self) -> None:
        sc = self.scenario
        try:
            self.command(self.client, self.client.conn.start)
            if sc.server_starts_first:
                self.command(self.server, self.server.conn.start)
            self.pump()
            for step in self.steps():
                if not self.client.conn.authenticated:
                    break
                self.command(self.client, step)
                self.pump()
            if self.rng.random() < 0.5:
                self.command(self.client, lambda: self.client.conn.disconnect())
                self.pump()
            else:  # the stream just ends
                events = self._receive(self.target, b"")
                if self.target.conn.phase is not Phase.CLOSED:
                    raise FuzzFailure(f"target not CLOSED after EOF: {events!r}")
        except _CaseOver:
            pass
        self.check_invariants()

    def check_invariants(self) -> None:
        conn = self.target.conn
        table = conn.channels
        channels = table.channels
        if len(channels) > table.max_channels:
            raise FuzzFailure(f"{len(channels)} channels, limit {table.max_channels}")
        pending = sum(1 for s in channels.values() if s.phase is ChannelPhase.PENDING)
        if pending != table.pending_opens or pending > table.max_pending_opens:
            raise FuzzFailure(f"pending opens {table.pending_opens}, counted {pending}")
        for s in channels.values():
            if not (0 <= s.local_window <= MAX_WINDOW and 0 <= s.remote_window <= MAX_WINDOW):
                raise FuzzFailure(
                    f"channel {s.local_id} windows {s.local_window}/{s.remote_window}"
                )
        if conn._global_unanswered < 0 or conn._global_wanted < 0:
            raise FuzzFailure("negative global request counters")


# ---------------------------------------------------------------------------- random bytes


def random_bytes_case(seed: str) -> str:
    """Noise to a fresh core (either role), or plain packets with random payloads."""
    rng = random.Random(seed)
    client = rng.random() < 0.5
    conn = Connection(
        client,
        rng=random.Random(seed + "/r").randbytes,
        clock=FakeClock(),
        host_keys=[host_key("ed25519")],
    )
    if rng.random() < 0.5:
        conn.start()
    kind = rng.choice(("noise", "banner+noise", "banner+packets"))
    data = b""
    if kind != "noise":
        data = b"SSH-2.0-Fuzz_1.0\r\n"
    if kind == "banner+packets":
        for _ in range(rng.randint(1, 20)):
            payload = bytes([rng.randrange(256)]) + rng.randbytes(rng.randrange(0, 300))
            if rng.random() < 0.5:
                payload = fw.synth_payload(rng, conn)
            pad = 8 - (5 + len(payload)) % 8
            pad += 8 if pad < 4 else 0
            data += wire.uint32(1 + len(payload) + pad) + bytes([pad]) + payload + bytes(pad)
    else:
        data += rng.randbytes(rng.randrange(0, 4096))
    pos = 0
    try:
        while pos < len(data):
            step = rng.randint(1, max(1, len(data) - pos))
            events = conn.receive_data(data[pos : pos + step])
            if not all(isinstance(e, ev.Event) for e in events):
                raise FuzzFailure(f"receive_data returned {events!r}")
            pos += step
        conn.receive_data(b"")
    except SSHException as exc:
        if conn.phase is not Phase.CLOSED:
            raise FuzzFailure(f"raised {exc!r} but is not CLOSED") from exc
        return f"random:{kind}:{type(exc).__name__}"
    except Exception as exc:
        raise FuzzFailure(
            f"receive_data raised {type(exc).__name__}: {exc}\n"
            + "".join(traceback.format_exception(exc))
        ) from exc
    return f"random:{kind}:completed"


# ------------------------------------------------------------------------------------ runner


@dataclass
class CaseResult:
    seed: str
    ok: bool
    outcome: str
    elapsed: float
    peak: int
    fired: list[str] = field(default_factory=list)
    error: str = ""
    shell_decode_errors: int = 0
    target: str = ""  # "client", "server" or "random"


def case_seed(base: int, index: int) -> str:
    return f"{base}:{index}"


def run_case(seed: str) -> CaseResult:
    """Run one case; tracemalloc (if the caller started it) measures its peak."""
    tracing = tracemalloc.is_tracing()
    if tracing:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
    started = time.perf_counter()
    fired: list[str] = []
    decode_errors = 0
    target = "random"
    try:
        if random.Random(seed + "/kind").random() < 0.1:
            outcome = random_bytes_case(seed)
        else:
            session = Session(seed)
            target = "client" if session.scenario.target_client else "server"
            try:
                session.run()
            finally:
                fired = session.fired
                decode_errors = session.shell_decode_errors
            outcome = session.outcome
        ok, error = True, ""
    except FuzzFailure as exc:
        ok, outcome, error = False, "FAILURE", str(exc)
    except Exception as exc:  # a bug in the harness is a failure too
        ok, outcome = False, "HARNESS"
        error = "".join(traceback.format_exception(exc))
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] - base if tracing else 0
    if ok and elapsed > CASE_SECONDS:
        ok, error = False, f"case took {elapsed:.1f}s (limit {CASE_SECONDS}s)"
    if ok and peak > CASE_PEAK_BYTES:
        ok, error = False, f"case peaked at {peak >> 20} MiB (limit {CASE_PEAK_BYTES >> 20})"
    return CaseResult(seed, ok, outcome, elapsed, peak, fired, error, decode_errors, target)


@dataclass
class Report:
    cases: int = 0
    failures: list[CaseResult] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    fired: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    max_peak: int = 0
    max_elapsed: float = 0.0
    slowest: str = ""
    shell_decode_errors: int = 0
    targets: Counter[str] = field(default_factory=Counter)

    def add(self, result: CaseResult) -> None:
        self.cases += 1
        self.targets[result.target] += 1
        self.outcomes[result.outcome] += 1
        self.fired.update(result.fired)
        self.max_peak = max(self.max_peak, result.peak)
        if result.elapsed > self.max_elapsed:
            self.max_elapsed, self.slowest = result.elapsed, result.seed
        self.shell_decode_errors += result.shell_decode_errors
        if not result.ok:
            self.failures.append(result)


def run_cases(
    base: int, count: int, start: int = 0, progress: Callable[[Report], None] | None = None
) -> Report:
    report = Report()
    began = time.perf_counter()
    for index in range(start, start + count):
        report.add(run_case(case_seed(base, index)))
        report.seconds = time.perf_counter() - began
        if progress is not None:
            progress(report)
    return report

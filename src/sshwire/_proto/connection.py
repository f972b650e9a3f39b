"""The sans-IO SSH connection: transport layer (RFC 4253) and client user auth (RFC 4252).

Theory of operation
-------------------
A :class:`Connection` owns one byte stream. The shell feeds it what the socket delivered
(:meth:`receive_data`, ``b""`` for EOF) and gets back a list of events; it sends whatever
:meth:`data_to_send` returns. Commands (``start``, ``auth_*``, ``send_payload``,
``start_rekey``…) only queue output. Nothing here blocks, sleeps, locks or reads a socket;
randomness and the clock are injected.

States (``phase``): VERSION (waiting for the peer's version line) → KEX (the first key
exchange) → OPEN (keys in place; auth and connection traffic) → CLOSED. A rekey runs inside
OPEN: ``_kex`` is not None while one is under way.

Key exchange from our side: we send KEXINIT, then (client) the method's first message; on the
peer's KEXINIT we negotiate; the method exchanges its messages; then each side sends NEWKEYS
and switches its outbound keys right after it, and its inbound keys right after it receives
the peer's NEWKEYS. While our KEXINIT is out and our NEWKEYS is not, connection-layer payloads
passed to :meth:`send_payload` are held back and flushed after NEWKEYS, so the shell never
needs to know a rekey is running. From the peer's KEXINIT to its NEWKEYS only transport
messages (1-49) may arrive; with strict kex during the first exchange, only kex messages.

Dispatch is by message-number range (RFC 4250 §4.1.2); the checks for "not during kex" and
"not before auth" happen in one place, :meth:`_dispatch`.
"""

from __future__ import annotations

import enum
import hmac
from collections.abc import Callable
from dataclasses import replace

from ..ssh_exception import MessageOrderError, SSHException
from . import constants as c
from . import events as ev
from . import wire
from .algorithms.cipher import CIPHERS
from .algorithms.hostkey import PrivateKey, PublicKey, algorithms_for_key_type
from .algorithms.mac import MACS
from .auth import ServerAuth
from .channel import ChannelTable
from .config import ConnectionConfig
from .errors import DecodeError, ProtocolError
from .framing import PacketReader, PacketWriter
from .kex import negotiate as neg
from .kex.base import ClientExchange, KexFailed, KexInputs, KexOutput, ServerExchange
from .kex.derive import derive_key
from .kex.gex import GroupChooser, builtin_group
from .version import BannerError, VersionReader, version_line

Rng = Callable[[int], bytes]
Clock = Callable[[], float]

_BULK_MESSAGES = frozenset((c.MSG_CHANNEL_DATA, c.MSG_CHANNEL_WINDOW_ADJUST))
_AEAD = frozenset(name for name, spec in CIPHERS.items() if spec.is_aead)


class Phase(enum.Enum):
    VERSION = "version"
    KEX = "kex"
    OPEN = "open"
    CLOSED = "closed"


class _KexRun:
    """One key exchange in progress (first or rekey)."""

    def __init__(self, ours: neg.KexInit, our_payload: bytes) -> None:
        self.ours = ours
        self.our_payload = our_payload
        self.theirs: neg.KexInit | None = None
        self.their_payload = b""
        self.negotiated: neg.Negotiated | None = None
        self.exchange: ClientExchange | ServerExchange | None = None
        self.output: KexOutput | None = None
        self.ignore_next = False  # the peer guessed wrong: drop its first kex packet
        self.sent_newkeys = False
        self.got_newkeys = False


class Connection:
    """One SSH connection, client or server side."""

    def __init__(
        self,
        client: bool,
        config: ConnectionConfig | None = None,
        *,
        rng: Rng,
        clock: Clock,
        host_keys: list[PrivateKey] | None = None,
        choose_group: GroupChooser = builtin_group,
    ) -> None:
        self.client = client
        self.config = config or ConnectionConfig()
        self._rng = rng
        self._clock = clock
        self._host_keys = {k.public.key_type: k for k in host_keys or []}
        self._choose_group = choose_group
        self.phase = Phase.VERSION
        self._out: list[bytes | bytearray] = []
        self._held: list[bytes] = []
        cfg = self.config
        self._version_reader = VersionReader(
            cfg.max_banner_line, cfg.max_pre_banner_lines, cfg.max_pre_banner_bytes
        )
        self._banner_deadline: float | None = None
        self._writer = PacketWriter(rng)
        self._reader = PacketReader(cfg.max_packet_length, cfg.max_decompressed_payload)
        self.local_version = version_line(self.config.software_version).rstrip(b"\r\n").decode()
        self.remote_version = ""
        self.session_id: bytes | None = None
        self.host_key: bytes | None = None  # server's K_S as verified in the last kex
        self.negotiated: neg.Negotiated | None = None
        self.strict_kex = False
        self.peer_ext_info = False  # the peer signalled ext-info (we may send EXT_INFO)
        self.server_extensions: dict[str, bytes] = {}
        self.authenticated = False
        self.username: str | None = None
        self._kex: _KexRun | None = None
        self._kex_count = 0
        self._keys_time = 0.0
        self._pending_service: str | None = None
        self._auth_method: str | None = None
        self._auth_service = "ssh-connection"
        self._started = False
        self.channels = ChannelTable(
            self.send_payload,
            cfg.max_channels,
            cfg.max_pending_channel_opens,
            cfg.max_window_excess,
        )
        self._auth_requests = 0  # server: USERAUTH_REQUESTs received
        self._auth_outstanding = 0  # client: USERAUTH_REQUESTs not yet answered
        self._global_wanted = 0  # our want-reply GLOBAL_REQUESTs not yet answered
        self._global_unanswered = 0  # the peer's want-reply GLOBAL_REQUESTs we owe a reply
        #: optional packet tracer: called with ("IN" | "OUT", payload) for every packet
        self.trace: Callable[[str, bytes], None] | None = None
        self.channels.send_chunks = self.send_data_chunks
        self.server_auth = ServerAuth(self.send_payload, self.config.pubkey)
        self._userauth_service = False  # server: ssh-userauth was requested and accepted

    # ------------------------------------------------------------------ output plumbing

    def data_to_send(self) -> bytes | bytearray:
        """Everything queued for the wire since the last call, as one buffer."""
        queued = self._out
        if not queued:
            return b""
        # a single buffer (a batch of data packets, typically) goes out as it is
        out = queued[0] if len(queued) == 1 else b"".join(queued)
        queued.clear()
        return out

    @property
    def has_data_to_send(self) -> bool:
        """Whether :meth:`data_to_send` would return anything (cheap; no copy)."""
        return bool(self._out)

    def _send(self, payload: bytes) -> None:
        """Seal and queue one transport-layer payload now (kex messages included)."""
        if self.trace is not None:
            self.trace("OUT", payload)
        self._out.append(self._writer.encode(payload))

    def send_data_chunks(self, head: bytes, data: memoryview, step: int) -> None:
        """Queue channel data: one payload ``head ‖ uint32(len) ‖ chunk`` per ``step``-byte
        chunk of ``data``, as :meth:`send_payload` would, sealed into one buffer.

        Takes :meth:`send_payload`'s path whenever that could do more than seal and queue:
        a key exchange holding payloads back, a tracer, or a rekey limit within this batch.
        """
        w, cfg = self._writer, self.config
        count = -(-len(data) // step)
        if (
            self.phase is not Phase.OPEN
            or self._kex is not None
            or self.trace is not None
            or w.bytes + len(data) + 256 * count >= cfg.rekey_bytes
            or w.packets + count >= cfg.rekey_packets
        ):
            for start in range(0, len(data), step):
                chunk = data[start : start + step]
                self.send_payload(b"".join((head, wire.uint32(len(chunk)), chunk)))
            return
        self._out.append(w.encode_data(head, data, step))
        self._maybe_rekey()

    def send_payload(self, payload: bytes) -> None:
        """Queue a connection/auth-layer payload; held back while our kex is under way."""
        if self.phase is Phase.CLOSED:
            raise SSHException("connection is closed")
        if self.phase is Phase.VERSION or (self._kex is not None and not self._kex.sent_newkeys):
            self._held.append(payload)
            return
        self._send(payload)
        self._maybe_rekey()

    # ------------------------------------------------------------------ start and close

    def start(self) -> None:
        """Queue our version line and our first KEXINIT."""
        if self._started:
            return
        self._started = True
        self._set_banner_deadline()
        self._out.append(self.local_version.encode() + b"\r\n")
        self._begin_kex()

    def disconnect(self, reason: int = c.DISCONNECT_BY_APPLICATION, description: str = "") -> None:
        """Queue DISCONNECT (once keys or plain framing allow) and close."""
        if self.phase is Phase.CLOSED:
            return
        if self._started:
            payload = b"".join(
                (
                    wire.byte(c.MSG_DISCONNECT),
                    wire.uint32(reason),
                    wire.string(description),
                    wire.string(""),
                )
            )
            self._send(payload)
        self.phase = Phase.CLOSED

    def send_ignore(self, data: bytes) -> None:
        self.send_payload(wire.byte(c.MSG_IGNORE) + wire.string(data))

    def send_debug(self, message: str, always_display: bool = False) -> None:
        payload = b"".join(
            (
                wire.byte(c.MSG_DEBUG),
                wire.boolean(always_display),
                wire.string(message),
                wire.string(""),
            )
        )
        self.send_payload(payload)

    # ------------------------------------------------------------------ input

    def receive_data(self, data: bytes | bytearray | memoryview) -> list[ev.Event]:
        """Feed bytes from the peer (``b""`` at EOF); returns the events they complete.

        A protocol violation raises an :class:`SSHException` subclass after queueing a
        DISCONNECT for the shell to flush.
        """
        if self.phase is Phase.CLOSED:
            return []
        events: list[ev.Event] = []
        try:
            if self.phase is Phase.VERSION:
                self._set_banner_deadline()
                rest = self._version_reader.feed(data)
                if rest is None:
                    self._check_banner_deadline()
                if rest is None:
                    return events
                self.remote_version = self._version_reader.version or ""
                events.append(ev.VersionReceived(self.remote_version))
                self.phase = Phase.KEX
                if not self._started:
                    self.start()
                data = rest
                if not data:
                    return events
            if not data:
                self._reader.check_eof()
                self.phase = Phase.CLOSED
                events.append(ev.ConnectionLost("connection closed by the peer"))
                return events
            reader = self._reader
            reader.feed(data)
            # CHANNEL_DATA and WINDOW_ADJUST, when _dispatch would hand them straight to the
            # channel table (no kex, authenticated, no tracer), go there without the payload
            # copy and the Reader: the per-packet cost of bulk transfers
            fast = self._data_fast_path()
            fast_packet = self.channels.fast_packet
            while self.phase is not Phase.CLOSED:
                # a batch ends with its first packet that is not bulk (it may be NEWKEYS)
                packets = reader.next_packets(_BULK_MESSAGES)
                if not packets:
                    break
                for buf, start, end in packets:
                    if fast and end > start and buf[start] in _BULK_MESSAGES:
                        fast_packet(buf, start, end, events)
                    else:
                        self._dispatch(buf[start:end], events)
                        fast = self._data_fast_path()
                if end > start and buf[start] in _BULK_MESSAGES and not reader.error_pending:
                    break  # the batch ended with the buffered data, not at a control message
        except SSHException as exc:
            self.disconnect(getattr(exc, "reason", c.DISCONNECT_PROTOCOL_ERROR), str(exc))
            raise
        if self.phase is Phase.OPEN:
            self._maybe_rekey()
        return events

    def _data_fast_path(self) -> bool:
        """Whether _dispatch would pass CHANNEL_DATA to the channel table unchecked."""
        kex = self._kex
        return (
            self.phase is Phase.OPEN
            and self.authenticated
            and self.trace is None
            and (kex is None or kex.theirs is None or kex.got_newkeys)
        )

    def _set_banner_deadline(self) -> None:
        timeout = self.config.banner_timeout
        if self._banner_deadline is None and timeout is not None:
            self._banner_deadline = self._clock() + timeout

    def _check_banner_deadline(self) -> None:
        """A peer trickling its version line must finish it in time (slow-loris)."""
        deadline = self._banner_deadline
        if deadline is not None and self._clock() > deadline:
            raise BannerError(
                f"peer did not complete its SSH version line within "
                f"{self.config.banner_timeout:g} seconds"
            )

    def _dispatch(self, payload: bytes, events: list[ev.Event]) -> None:
        if not payload:
            raise ProtocolError("empty packet payload")
        if self.trace is not None:
            self.trace("IN", payload)
        msg = payload[0]
        body = wire.Reader(payload)
        body.byte()
        kex = self._kex
        in_kex = self.phase is Phase.KEX or (
            kex is not None and kex.theirs is not None and not kex.got_newkeys
        )
        if in_kex and not _allowed_during_kex(msg, self._strict_first_kex()):
            # RFC 4253 §7.1: only transport messages between KEXINIT and NEWKEYS; strict kex
            # narrows that to the kex messages themselves during the first exchange
            if self._strict_first_kex():
                raise MessageOrderError(f"strict kex: unexpected message {msg} during kex")
            raise ProtocolError(f"unexpected message {msg} during key exchange")
        if msg <= c.MSG_DEBUG:
            self._transport_generic(msg, body, events)
        elif msg in _UNASSIGNED:
            self._unimplemented()
        elif msg in (c.MSG_SERVICE_REQUEST, c.MSG_SERVICE_ACCEPT):
            self._service(msg, body, events)
        elif msg == c.MSG_EXT_INFO:
            self._ext_info(body, events)
        elif msg == c.MSG_KEXINIT:
            self._on_kexinit(payload, body)
        elif msg == c.MSG_NEWKEYS:
            self._on_newkeys(body, events)
        elif c.MSG_KEX_FIRST <= msg <= c.MSG_KEX_LAST:
            self._on_kex_message(msg, body)
        elif msg < 80:
            if self.client:
                self._userauth(msg, body, events)
            else:
                self._server_userauth(msg, payload, body, events)
        elif not self.authenticated:
            raise ProtocolError(f"message {msg} before user authentication completed")
        elif msg in (c.MSG_GLOBAL_REQUEST, c.MSG_REQUEST_SUCCESS, c.MSG_REQUEST_FAILURE):
            self._global(msg, body, events)
        elif c.MSG_CHANNEL_OPEN <= msg <= c.MSG_CHANNEL_FAILURE:
            self.channels.handle(msg, body, events)
        else:
            self._unimplemented()  # RFC 4253 §11.4

    def _strict_first_kex(self) -> bool:
        return self.strict_kex and self._kex_count == 0

    # ------------------------------------------------------------------ transport generic

    def _transport_generic(self, msg: int, body: wire.Reader, events: list[ev.Event]) -> None:
        if msg == c.MSG_DISCONNECT:
            reason = body.uint32()
            description = body.text() if body.remaining else ""
            self.phase = Phase.CLOSED
            events.append(ev.PeerDisconnected(reason, description))
        elif msg == c.MSG_IGNORE:
            pass
        elif msg == c.MSG_UNIMPLEMENTED:
            events.append(ev.UnimplementedReceived(body.uint32()))
        elif msg == c.MSG_DEBUG:
            always = body.boolean()
            events.append(ev.DebugReceived(always, body.text()))

    def _unimplemented(self) -> None:
        seq = (self._reader.sequence - 1) & 0xFFFFFFFF
        self._send(wire.byte(c.MSG_UNIMPLEMENTED) + wire.uint32(seq))

    # ------------------------------------------------------------------ key exchange

    def _kexinit(self) -> neg.KexInit:
        cfg = self.config
        kex = list(cfg.kex)
        if self._kex_count == 0:
            if self.client:
                kex += [neg.EXT_INFO_C] if cfg.ext_info else []
                kex += [neg.STRICT_KEX_C] if cfg.strict_kex else []
            else:
                kex += [neg.STRICT_KEX_S] if cfg.strict_kex else []
        if self.client:
            host_key = list(cfg.host_key)
        else:
            host_key = [
                alg
                for alg in cfg.host_key
                if any(alg in algorithms_for_key_type(t) for t in self._host_keys)
            ]
        ciphers, macs, comp = list(cfg.ciphers), list(cfg.macs), list(cfg.compression)
        return neg.KexInit(
            kex, host_key, ciphers, ciphers, macs, macs, comp, comp, cookie=self._rng(16)
        )

    def _begin_kex(self) -> None:
        ours = self._kexinit()
        payload = ours.encode()
        self._kex = _KexRun(ours, payload)
        self._send(payload)

    def start_rekey(self) -> bool:
        """Begin a key re-exchange unless one is already running; True if one started."""
        if self.phase is not Phase.OPEN or self._kex is not None:
            return False
        self._begin_kex()
        return True

    @property
    def rekeying(self) -> bool:
        return self._kex is not None

    def _maybe_rekey(self) -> None:
        cfg = self.config
        w, r = self._writer, self._reader
        if (
            w.bytes >= cfg.rekey_bytes
            or r.bytes >= cfg.rekey_bytes
            or w.packets >= cfg.rekey_packets
            or r.packets >= cfg.rekey_packets
            or self._clock() - self._keys_time >= cfg.rekey_seconds
        ):
            self.start_rekey()

    def _on_kexinit(self, payload: bytes, body: wire.Reader) -> None:
        if self._kex is None:
            if self.phase is not Phase.OPEN:
                raise ProtocolError("unexpected KEXINIT")
            self._begin_kex()  # the peer started a rekey
        kex = self._kex
        assert kex is not None
        if kex.theirs is not None:
            raise ProtocolError("second KEXINIT during one key exchange")
        theirs = neg.KexInit.parse(body)
        kex.theirs, kex.their_payload = theirs, payload
        client_init, server_init = (kex.ours, theirs) if self.client else (theirs, kex.ours)
        negotiated = neg.negotiate(client_init, server_init, aead=_AEAD)
        if self._kex_count == 0:
            self.strict_kex = negotiated.strict and self.config.strict_kex
            peer_flag = neg.EXT_INFO_S if self.client else neg.EXT_INFO_C
            self.peer_ext_info = peer_flag in theirs.kex
            if self.strict_kex and self._reader.sequence != 1:
                raise MessageOrderError("strict kex: KEXINIT was not the peer's first message")
        else:
            negotiated = replace(negotiated, strict=self.strict_kex)
        kex.negotiated = negotiated
        kex.ignore_next = theirs.first_kex_follows and negotiated.guess_wrong
        v_c, v_s = (self.local_version, self.remote_version)
        if not self.client:
            v_c, v_s = v_s, v_c
        i_c, i_s = (kex.our_payload, payload) if self.client else (payload, kex.our_payload)
        inputs = KexInputs(v_c.encode(), v_s.encode(), i_c, i_s)
        if self.client:
            exchange = neg.make_client(negotiated.kex, inputs, self._rng)
            kex.exchange = exchange
            self._send(exchange.start())
        else:
            key = self._server_key(negotiated.host_key)
            alg = negotiated.host_key

            def sign(h: bytes) -> bytes:
                return key.sign(alg, h)

            kex.exchange = neg.make_server(
                negotiated.kex, inputs, self._rng, key.public.blob, sign, self._choose_group
            )

    def _server_key(self, algorithm: str) -> PrivateKey:
        for key_type, key in self._host_keys.items():
            if algorithm in algorithms_for_key_type(key_type):
                return key
        raise KexFailed(f"no host key for negotiated algorithm {algorithm}")

    def _on_kex_message(self, msg: int, body: wire.Reader) -> None:
        kex = self._kex
        if kex is None or kex.exchange is None or kex.output is not None:
            raise ProtocolError(f"unexpected key exchange message {msg}")
        if kex.ignore_next:
            kex.ignore_next = False
            return
        if isinstance(kex.exchange, ClientExchange):
            result = kex.exchange.receive(msg, body)
            if isinstance(result, KexOutput):
                self._verify_host_key(result)
                kex.output = result
                self._send_newkeys()
            else:
                self._send(result)
        else:
            reply, output = kex.exchange.receive(msg, body)
            self._send(reply)
            if output is not None:
                kex.output = output
                self._send_newkeys()

    def _verify_host_key(self, out: KexOutput) -> None:
        kex = self._kex
        assert kex is not None and kex.negotiated is not None
        alg = kex.negotiated.host_key
        key = PublicKey.from_blob(out.host_key)
        if key.key_type not in {t for t in _key_types_for(alg)}:
            raise KexFailed(f"server sent a {key.key_type} host key for algorithm {alg}")
        if not key.verify(alg, out.signature, out.h):
            raise KexFailed(f"server's host key signature ({alg}) does not verify")
        if self.host_key is not None and not hmac.compare_digest(out.host_key, self.host_key):
            raise KexFailed("server's host key changed during a rekey")

    def _send_newkeys(self) -> None:
        kex = self._kex
        assert kex is not None and kex.output is not None and kex.negotiated is not None
        out, n = kex.output, kex.negotiated
        if self.session_id is None:
            self.session_id = out.h
        self._send(wire.byte(c.MSG_NEWKEYS))
        kex.sent_newkeys = True
        if self.client:
            cipher, mac, comp, letters = n.cipher_cs, n.mac_cs, n.compression_cs, b"ACE"
        else:
            cipher, mac, comp, letters = n.cipher_sc, n.mac_sc, n.compression_sc, b"BDF"
        key, iv, mac_key = self._derive(out, cipher, mac, letters)
        self._writer.set_keys(cipher, key, iv, mac, mac_key, comp)
        if self.strict_kex:
            self._writer.reset_sequence()
        if self.authenticated:
            self._writer.start_delayed_compression()
        if not self.client and self._kex_count == 0 and self.peer_ext_info:
            self._send_ext_info()
        held, self._held = self._held, []
        for payload in held:
            self._send(payload)
        self._finish_kex_if_done()

    def _derive(
        self, out: KexOutput, cipher: str, mac: str | None, letters: bytes
    ) -> tuple[bytes, bytes, bytes]:
        spec = CIPHERS[cipher]
        sid = self.session_id
        assert sid is not None
        hashed = out.hash_name
        iv = derive_key(hashed, out.k, out.h, letters[0:1], sid, spec.iv_size)
        key = derive_key(hashed, out.k, out.h, letters[1:2], sid, spec.key_size)
        mac_key = b""
        if mac is not None:
            mac_key = derive_key(hashed, out.k, out.h, letters[2:3], sid, MACS[mac].key_size)
        return key, iv, mac_key

    def _on_newkeys(self, body: wire.Reader, events: list[ev.Event]) -> None:
        kex = self._kex
        body.check_end()
        if kex is None or kex.output is None or kex.got_newkeys:
            raise ProtocolError("NEWKEYS without a completed key exchange")
        n = kex.negotiated
        assert n is not None
        if self.client:
            cipher, mac, comp, letters = n.cipher_sc, n.mac_sc, n.compression_sc, b"BDF"
        else:
            cipher, mac, comp, letters = n.cipher_cs, n.mac_cs, n.compression_cs, b"ACE"
        key, iv, mac_key = self._derive(kex.output, cipher, mac, letters)
        self._reader.set_keys(cipher, key, iv, mac, mac_key, comp)
        if self.strict_kex:
            self._reader.reset_sequence()
        if self.authenticated:
            self._reader.start_delayed_compression()
        kex.got_newkeys = True
        events.append(ev.KexCompleted(n, kex.output.host_key, self._kex_count == 0))
        self._finish_kex_if_done()

    def _finish_kex_if_done(self) -> None:
        kex = self._kex
        if kex is None or not (kex.sent_newkeys and kex.got_newkeys):
            return
        assert kex.output is not None
        self.negotiated = kex.negotiated
        self.host_key = kex.output.host_key
        self._kex = None
        self._kex_count += 1
        self._keys_time = self._clock()
        self.phase = Phase.OPEN

    # ------------------------------------------------------------------ ext-info, service

    def _send_ext_info(self) -> None:
        algs = self.config.server_sig_algs
        if not algs:
            return
        payload = b"".join(
            (
                wire.byte(c.MSG_EXT_INFO),
                wire.uint32(1),
                wire.string("server-sig-algs"),
                wire.name_list(algs),
            )
        )
        self._send(payload)

    def _ext_info(self, body: wire.Reader, events: list[ev.Event]) -> None:
        # RFC 8308 §2.4: right after the first NEWKEYS, or just before USERAUTH_SUCCESS
        if not self.client or self.authenticated or self.session_id is None:
            raise ProtocolError("EXT_INFO at an unexpected time")
        if not self.config.ext_info:
            raise ProtocolError("EXT_INFO, but we did not offer ext-info-c")
        count = body.uint32()
        if count > 1024:
            raise ProtocolError(f"EXT_INFO claims {count} extensions")
        exts: dict[str, bytes] = {}
        for _ in range(count):
            name = body.text()
            exts[name] = body.string()
        self.server_extensions.update(exts)
        events.append(ev.ExtInfoReceived(exts))

    def request_service(self, name: str) -> None:
        self._pending_service = name
        self.send_payload(wire.byte(c.MSG_SERVICE_REQUEST) + wire.string(name))

    def accept_service(self, name: str) -> None:
        self.send_payload(wire.byte(c.MSG_SERVICE_ACCEPT) + wire.string(name))

    def _service(self, msg: int, body: wire.Reader, events: list[ev.Event]) -> None:
        name = body.text()
        if msg == c.MSG_SERVICE_ACCEPT:
            if not self.client or self._pending_service != name:
                raise ProtocolError(f"unexpected SERVICE_ACCEPT for {name!r}")
            self._pending_service = None
            events.append(ev.ServiceAccepted(name))
        else:
            if self.client:
                raise ProtocolError("SERVICE_REQUEST sent to a client")
            if name != "ssh-userauth" or self.authenticated:
                raise ProtocolError(
                    f"service {name!r} is not available", c.DISCONNECT_SERVICE_NOT_AVAILABLE
                )
            self._userauth_service = True
            self.accept_service(name)
            events.append(ev.ServiceRequested(name))

    # ------------------------------------------------------------------ user auth (server)

    def _server_userauth(
        self, msg: int, payload: bytes, body: wire.Reader, events: list[ev.Event]
    ) -> None:
        if not self._userauth_service:
            raise ProtocolError("user auth message before the ssh-userauth service request")
        if self.authenticated:
            return  # RFC 4252 §5.1: requests after success are ignored
        if msg == c.MSG_USERAUTH_REQUEST:
            self._auth_requests += 1
            if self._auth_requests > self.config.max_auth_requests:
                raise ProtocolError(
                    f"too many authentication requests (limit {self.config.max_auth_requests})",
                    c.DISCONNECT_NO_MORE_AUTH_METHODS_AVAILABLE,
                )
        assert self.session_id is not None
        self.server_auth.handle(msg, payload, body, self.session_id, events)

    def auth_accept(self, username: str) -> None:
        """Server: USERAUTH_SUCCESS; the connection protocol may start."""
        self.server_auth.accept()
        self.authenticated = True
        self.username = username
        # zlib@openssh.com starts after SUCCESS in both directions
        self._writer.start_delayed_compression()
        self._reader.start_delayed_compression()

    def auth_reject(self, methods: list[str], partial: bool = False) -> None:
        self.server_auth.reject(methods, partial)

    def auth_pk_ok(self, algorithm: str, key_blob: bytes) -> None:
        self.server_auth.pk_ok(algorithm, key_blob)

    def auth_info_request(
        self, name: str, instruction: str, prompts: list[tuple[str, bool]]
    ) -> None:
        self.server_auth.info_request(name, instruction, prompts)

    def auth_banner(self, message: str) -> None:
        self.server_auth.banner(message)

    # ------------------------------------------------------------------ user auth (client)

    def _userauth_request(self, username: str, method: str, *fields: bytes) -> None:
        if not self.client:
            raise SSHException("only a client authenticates")
        self.username = username
        self._auth_method = method
        self._auth_outstanding += 1
        payload = b"".join(
            (
                wire.byte(c.MSG_USERAUTH_REQUEST),
                wire.string(username),
                wire.string(self._auth_service),
                wire.string(method),
                *fields,
            )
        )
        self.send_payload(payload)

    def auth_none(self, username: str) -> None:
        self._userauth_request(username, "none")

    def auth_password(self, username: str, password: str | bytes) -> None:
        self._userauth_request(username, "password", wire.boolean(False), wire.string(password))

    def auth_password_change(self, username: str, old: str | bytes, new: str | bytes) -> None:
        fields = (wire.boolean(True), wire.string(old), wire.string(new))
        self._userauth_request(username, "password", *fields)

    def publickey_signed_data(self, username: str, algorithm: str, key_blob: bytes) -> bytes:
        """RFC 4252 §7: what the client signs for a publickey request."""
        assert self.session_id is not None
        return b"".join(
            (
                wire.string(self.session_id),
                wire.byte(c.MSG_USERAUTH_REQUEST),
                wire.string(username),
                wire.string(self._auth_service),
                wire.string("publickey"),
                wire.boolean(True),
                wire.string(algorithm),
                wire.string(key_blob),
            )
        )

    def auth_publickey(
        self, username: str, algorithm: str, key_blob: bytes, signature: bytes | None
    ) -> None:
        """Send a publickey request; without a signature it only asks if the key would do."""
        fields = [
            wire.boolean(signature is not None),
            wire.string(algorithm),
            wire.string(key_blob),
        ]
        if signature is not None:
            fields.append(wire.string(signature))
        self._userauth_request(username, "publickey", *fields)

    def auth_keyboard_interactive(self, username: str, submethods: str = "") -> None:
        fields = (wire.string(""), wire.string(submethods))
        self._userauth_request(username, "keyboard-interactive", *fields)

    def auth_info_response(self, responses: list[str]) -> None:
        payload = wire.byte(c.MSG_USERAUTH_INFO_RESPONSE) + wire.uint32(len(responses))
        payload += b"".join(wire.string(r) for r in responses)
        self.send_payload(payload)

    def _userauth(self, msg: int, body: wire.Reader, events: list[ev.Event]) -> None:
        if self.authenticated:
            raise ProtocolError(f"user auth message {msg} after authentication")
        if msg in (c.MSG_USERAUTH_SUCCESS, c.MSG_USERAUTH_FAILURE):
            # RFC 4252 §5.1: each answers one request of ours; never unasked
            if not self._auth_outstanding:
                raise ProtocolError(f"user auth message {msg} without an authentication request")
            self._auth_outstanding -= 1
        if msg == c.MSG_USERAUTH_SUCCESS:
            body.check_end()
            self.authenticated = True
            self._auth_method = None
            # zlib@openssh.com starts now in both directions (the server already switched)
            self._reader.start_delayed_compression()
            self._writer.start_delayed_compression()
            events.append(ev.AuthSucceeded())
        elif msg == c.MSG_USERAUTH_FAILURE:
            methods = body.name_list()
            partial = body.boolean()
            self._auth_method = None
            events.append(ev.AuthFailed(methods, partial))
        elif msg == c.MSG_USERAUTH_BANNER:
            message = body.text()
            language = body.text() if body.remaining else ""
            events.append(ev.AuthBanner(message, language))
        elif msg == c.MSG_USERAUTH_INFO_REQUEST and not self._auth_outstanding:
            raise ProtocolError("user auth message 60 without an authentication request")
        elif msg == c.MSG_USERAUTH_INFO_REQUEST and self._auth_method == "publickey":
            events.append(ev.AuthPkOk(body.text(), body.string()))
        elif msg == c.MSG_USERAUTH_INFO_REQUEST and self._auth_method == "password":
            prompt = body.text()
            events.append(ev.AuthPasswordChangeRequired(prompt, body.text()))
        elif msg == c.MSG_USERAUTH_INFO_REQUEST and self._auth_method == "keyboard-interactive":
            name, instruction, language = body.text(), body.text(), body.text()
            count = body.uint32()
            if count > 256:
                raise ProtocolError(f"keyboard-interactive request with {count} prompts")
            prompts = [(body.text(), body.boolean()) for _ in range(count)]
            events.append(ev.AuthInfoRequest(name, instruction, language, prompts))
        else:
            raise ProtocolError(f"unexpected user auth message {msg}")

    # ------------------------------------------------------------------ global requests

    def global_request(self, name: str, want_reply: bool, data: bytes = b"") -> None:
        payload = wire.byte(c.MSG_GLOBAL_REQUEST) + wire.string(name) + wire.boolean(want_reply)
        self.send_payload(payload + data)
        if want_reply:
            self._global_wanted += 1

    def global_reply(self, success: bool, data: bytes = b"") -> None:
        msg = c.MSG_REQUEST_SUCCESS if success else c.MSG_REQUEST_FAILURE
        self.send_payload(wire.byte(msg) + (data if success else b""))
        if self._global_unanswered:
            self._global_unanswered -= 1

    def _global(self, msg: int, body: wire.Reader, events: list[ev.Event]) -> None:
        if msg == c.MSG_GLOBAL_REQUEST:
            name = body.text()
            want_reply = body.boolean()
            if want_reply:
                limit = self.config.max_pending_global_requests
                if self._global_unanswered >= limit:
                    raise ProtocolError(f"more than {limit} global requests waiting for replies")
                self._global_unanswered += 1
            events.append(ev.GlobalRequestReceived(name, want_reply, body.rest()))
        else:
            # RFC 4254 §4: replies come in request order, one per want-reply request
            if not self._global_wanted:
                raise ProtocolError("global request reply without a request")
            self._global_wanted -= 1
            events.append(ev.GlobalReplyReceived(msg == c.MSG_REQUEST_SUCCESS, body.rest()))


# message numbers no RFC assigns below the connection protocol (RFC 4250 §4.1.2)
_UNASSIGNED = frozenset(range(8, 20)) | frozenset(range(22, 30)) | frozenset(range(54, 60))
_UNASSIGNED |= frozenset(range(62, 80)) - {64, 66}


def _allowed_during_kex(msg: int, strict: bool) -> bool:
    if msg in (c.MSG_KEXINIT, c.MSG_NEWKEYS, c.MSG_DISCONNECT):
        return True
    if c.MSG_KEX_FIRST <= msg <= c.MSG_KEX_LAST:
        return True
    return not strict and msg <= c.MSG_DEBUG


def _key_types_for(algorithm: str) -> set[str]:
    """Key blob types that may sign for a host key algorithm."""
    if algorithm.startswith("rsa-sha2-") and algorithm.endswith("-cert-v01@openssh.com"):
        return {"ssh-rsa-cert-v01@openssh.com"}
    if algorithm in ("rsa-sha2-256", "rsa-sha2-512"):
        return {"ssh-rsa"}
    return {algorithm}


__all__ = ["Connection", "DecodeError", "Phase"]

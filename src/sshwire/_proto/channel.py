"""Channel state and the connection protocol's channel messages (RFC 4254 §5), sans-IO.

Theory of operation
-------------------
:class:`ChannelTable` belongs to one :class:`~sshwire._proto.connection.Connection`. It keeps a
:class:`ChannelState` per local channel id and turns channel messages into events (by local
id) and channel commands into payloads, which it hands to the connection's ``send`` callable
(so they are held back during a key exchange like any other connection-layer payload).

Each channel's life: OPENING (we sent CHANNEL_OPEN) or PENDING (the peer did; the shell has
not answered yet) → OPEN → closing (CLOSE sent and/or received) → gone once CLOSE went both
ways. EOF is tracked per direction.

Flow control: ``local_window`` is what the peer may still send us; the shell reports bytes
it has consumed with :meth:`ChannelTable.consumed` and we send WINDOW_ADJUST once half the
initial window has been consumed (OpenSSH's policy, which keeps the pipe full with one adjust
per half window). ``remote_window`` is what we may still send; :meth:`send_data` never
exceeds it nor the peer's maximum packet size, and returns how much it accepted.

A peer that sends more than our window or our packet size, overflows its window past
2**32-1, or talks about a channel id we never gave out is disconnected (ProtocolError).
"""

from __future__ import annotations

import enum
import struct
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from . import constants as c
from . import events as ev
from . import wire
from .errors import ProtocolError

MAX_WINDOW = 0xFFFFFFFF
_TWO_U32 = struct.Struct(">II")  # DATA: channel, data length; WINDOW_ADJUST: channel, bytes
MAX_CHANNELS = 8192  # channels per connection (ConnectionConfig.max_channels)
MAX_PENDING_OPENS = 256  # the peer's unanswered opens (ConnectionConfig.max_pending_channel_opens)
#: WINDOW_ADJUST is sent once 1/WINDOW_ADJUST_DIVISOR of the initial window has been consumed
#: (2: OpenSSH's policy; tests/benchmarks/bench_window.py measures the alternatives)
WINDOW_ADJUST_DIVISOR = 2


class ChannelPhase(enum.Enum):
    OPENING = "opening"
    PENDING = "pending"
    OPEN = "open"


@dataclass
class ChannelState:
    local_id: int
    kind: str
    phase: ChannelPhase
    local_window: int
    local_max_packet: int
    initial_window: int
    remote_id: int = -1
    remote_window: int = 0
    remote_max_packet: int = 0
    unacked: int = 0  # consumed by the application but not yet returned in WINDOW_ADJUST
    excess: int = 0  # bytes the peer sent past the window (discarded)
    eof_sent: bool = False
    eof_received: bool = False
    close_sent: bool = False
    close_received: bool = False
    replies_pending: deque[str] = field(default_factory=deque)


class ChannelTable:
    """All channels of one connection."""

    def __init__(
        self,
        send: Callable[[bytes], None],
        max_channels: int = MAX_CHANNELS,
        max_pending_opens: int = MAX_PENDING_OPENS,
        max_window_excess: int = 0,
    ) -> None:
        self._send = send
        self.channels: dict[int, ChannelState] = {}
        self._next_id = 0
        self.max_channels = max_channels
        self.max_pending_opens = max_pending_opens
        self.max_window_excess = max_window_excess
        self.pending_opens = 0  # the peer's opens in PENDING (the application decides)
        #: bulk data: ``send_chunks(head, data, step)`` queues ``head ‖ uint32(len) ‖ chunk``
        #: per ``step``-byte chunk in one go (the connection seals them into one buffer)
        self.send_chunks: Callable[[bytes, memoryview, int], None] | None = None

    # ---------------------------------------------------------------- helpers

    def _allocate(self) -> int:
        if len(self.channels) >= self.max_channels:
            raise ProtocolError(f"too many channels (limit {self.max_channels})")
        while self._next_id in self.channels:
            self._next_id = (self._next_id + 1) & 0xFFFFFFFF
        local_id = self._next_id
        self._next_id = (self._next_id + 1) & 0xFFFFFFFF
        return local_id

    def get(self, local_id: int) -> ChannelState:
        try:
            return self.channels[local_id]
        except KeyError:
            raise ProtocolError(f"message for unknown channel {local_id}") from None

    def _open_state(self, local_id: int) -> ChannelState:
        state = self.get(local_id)
        if state.phase is not ChannelPhase.OPEN:
            raise ProtocolError(f"channel {local_id} is not open")
        return state

    # ---------------------------------------------------------------- commands

    def open(self, kind: str, window: int, max_packet: int, extra: bytes = b"") -> int:
        """Queue CHANNEL_OPEN; returns the new local id (RFC 4254 §5.1)."""
        local_id = self._allocate()
        self.channels[local_id] = ChannelState(
            local_id, kind, ChannelPhase.OPENING, window, max_packet, window
        )
        self._send(
            b"".join(
                (
                    wire.byte(c.MSG_CHANNEL_OPEN),
                    wire.string(kind),
                    wire.uint32(local_id),
                    wire.uint32(window),
                    wire.uint32(max_packet),
                    extra,
                )
            )
        )
        return local_id

    def accept(self, local_id: int, window: int, max_packet: int, extra: bytes = b"") -> None:
        state = self.get(local_id)
        if state.phase is not ChannelPhase.PENDING:
            raise ProtocolError(f"channel {local_id} is not waiting for an answer")
        self.pending_opens -= 1
        state.phase = ChannelPhase.OPEN
        state.local_window = state.initial_window = window
        state.local_max_packet = max_packet
        self._send(
            b"".join(
                (
                    wire.byte(c.MSG_CHANNEL_OPEN_CONFIRMATION),
                    wire.uint32(state.remote_id),
                    wire.uint32(local_id),
                    wire.uint32(window),
                    wire.uint32(max_packet),
                    extra,
                )
            )
        )

    def reject(self, local_id: int, reason: int, description: str = "") -> None:
        state = self.channels.get(local_id)
        if state is None or state.phase is not ChannelPhase.PENDING:
            raise ProtocolError(f"channel {local_id} is not waiting for an answer")
        del self.channels[local_id]
        self.pending_opens -= 1
        self._send(
            b"".join(
                (
                    wire.byte(c.MSG_CHANNEL_OPEN_FAILURE),
                    wire.uint32(state.remote_id),
                    wire.uint32(reason),
                    wire.string(description),
                    wire.string(""),
                )
            )
        )

    def send_data(self, local_id: int, data: bytes | memoryview, ext: int | None = None) -> int:
        """Queue as much of ``data`` as the peer's window allows; returns the count."""
        state = self._open_state(local_id)
        if state.eof_sent or state.close_sent:
            return 0
        total = min(len(data), state.remote_window)
        if total <= 0:
            return 0
        step = max(1, state.remote_max_packet)  # the peer's max packet bounds each message's data
        view = memoryview(data)[:total]  # never past the window, even in the last chunk
        if ext is None:
            head = wire.byte(c.MSG_CHANNEL_DATA) + wire.uint32(state.remote_id)
        else:
            head = wire.byte(c.MSG_CHANNEL_EXTENDED_DATA) + wire.uint32(state.remote_id)
            head += wire.uint32(ext)
        if self.send_chunks is not None:
            self.send_chunks(head, view, step)
        else:
            send = self._send
            for start in range(0, total, step):
                chunk = view[start : start + step]
                send(b"".join((head, wire.uint32(len(chunk)), chunk)))
        state.remote_window -= total
        return total

    def send_eof(self, local_id: int) -> None:
        state = self._open_state(local_id)
        if state.eof_sent or state.close_sent:
            return
        state.eof_sent = True
        self._send(wire.byte(c.MSG_CHANNEL_EOF) + wire.uint32(state.remote_id))

    def close(self, local_id: int, events: list[ev.Event] | None = None) -> None:
        """Queue CLOSE (once); the channel is forgotten when the peer's CLOSE arrives."""
        state = self.channels.get(local_id)
        if state is None or state.close_sent:
            return
        if state.phase is ChannelPhase.PENDING:
            self.reject(local_id, c.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED, "closed")
            return
        state.close_sent = True
        if state.phase is ChannelPhase.OPEN:
            self._send(wire.byte(c.MSG_CHANNEL_CLOSE) + wire.uint32(state.remote_id))
        if state.close_received:
            del self.channels[local_id]

    def send_request(self, local_id: int, name: str, want_reply: bool, data: bytes = b"") -> None:
        state = self._open_state(local_id)
        if state.close_sent:
            raise ProtocolError(f"channel {local_id} is closing")
        if want_reply:
            state.replies_pending.append(name)
        self._send(
            b"".join(
                (
                    wire.byte(c.MSG_CHANNEL_REQUEST),
                    wire.uint32(state.remote_id),
                    wire.string(name),
                    wire.boolean(want_reply),
                    data,
                )
            )
        )

    def reply(self, local_id: int, success: bool) -> None:
        state = self.channels.get(local_id)
        if state is None or state.phase is not ChannelPhase.OPEN or state.close_sent:
            return  # the channel went away while the application decided: nobody to tell
        msg = c.MSG_CHANNEL_SUCCESS if success else c.MSG_CHANNEL_FAILURE
        self._send(wire.byte(msg) + wire.uint32(state.remote_id))

    def consumed(self, local_id: int, count: int) -> None:
        """The application took ``count`` bytes; return window once half of it is used."""
        state = self.channels.get(local_id)
        if state is None or state.phase is not ChannelPhase.OPEN or count <= 0:
            return
        state.unacked += count
        if state.unacked >= state.initial_window // WINDOW_ADJUST_DIVISOR and not (
            state.close_sent or state.eof_received
        ):
            grant = min(state.unacked, MAX_WINDOW - state.local_window)
            state.unacked -= grant
            if grant > 0:
                state.local_window += grant
                self._send(
                    wire.byte(c.MSG_CHANNEL_WINDOW_ADJUST)
                    + wire.uint32(state.remote_id)
                    + wire.uint32(grant)
                )

    # ---------------------------------------------------------------- incoming

    def handle(self, msg: int, body: wire.Reader, events: list[ev.Event]) -> None:
        if msg == c.MSG_CHANNEL_DATA or msg == c.MSG_CHANNEL_EXTENDED_DATA:
            self._on_data(msg, body, events)
        elif msg == c.MSG_CHANNEL_WINDOW_ADJUST:
            state = self._open_state(body.uint32())
            self._adjust(state, body.uint32(), events)
        elif msg == c.MSG_CHANNEL_OPEN:
            self._on_open(body, events)
        elif msg == c.MSG_CHANNEL_OPEN_CONFIRMATION:
            state = self.get(body.uint32())
            if state.phase is not ChannelPhase.OPENING:
                raise ProtocolError(f"unexpected open confirmation for channel {state.local_id}")
            state.remote_id = body.uint32()
            state.remote_window = body.uint32()
            state.remote_max_packet = body.uint32()
            state.phase = ChannelPhase.OPEN
            events.append(ev.ChannelOpenConfirmed(state.local_id, body.rest()))
            if state.close_sent:  # closed by the application while the open was in flight
                state.close_sent = False
                self.close(state.local_id)
        elif msg == c.MSG_CHANNEL_OPEN_FAILURE:
            state = self.get(body.uint32())
            if state.phase is not ChannelPhase.OPENING:
                raise ProtocolError(f"unexpected open failure for channel {state.local_id}")
            reason = body.uint32()
            description = body.text() if body.remaining else ""
            del self.channels[state.local_id]
            events.append(ev.ChannelOpenFailed(state.local_id, reason, description))
        elif msg == c.MSG_CHANNEL_EOF:
            state = self._open_state(body.uint32())
            if not state.eof_received:
                state.eof_received = True
                if not state.close_sent:
                    events.append(ev.ChannelEof(state.local_id))
        elif msg == c.MSG_CHANNEL_CLOSE:
            state = self._open_state(body.uint32())
            if state.close_received:
                raise ProtocolError(f"second CLOSE for channel {state.local_id}")
            state.close_received = True
            events.append(ev.ChannelClosed(state.local_id))
            if state.close_sent:
                del self.channels[state.local_id]
            else:
                self.close(state.local_id)
        elif msg == c.MSG_CHANNEL_REQUEST:
            state = self._open_state(body.uint32())
            name = body.text()
            want_reply = body.boolean()
            if state.close_sent:
                return
            events.append(ev.ChannelRequestReceived(state.local_id, name, want_reply, body.rest()))
        elif msg in (c.MSG_CHANNEL_SUCCESS, c.MSG_CHANNEL_FAILURE):
            state = self._open_state(body.uint32())
            if not state.replies_pending:
                raise ProtocolError(f"unsolicited request reply on channel {state.local_id}")
            name = state.replies_pending.popleft()
            events.append(
                ev.ChannelRequestReply(state.local_id, name, msg == c.MSG_CHANNEL_SUCCESS)
            )
        else:
            raise ProtocolError(f"unknown connection protocol message {msg}")

    def fast_packet(self, buf: bytes, start: int, end: int, events: list[ev.Event]) -> None:
        """CHANNEL_DATA or CHANNEL_WINDOW_ADJUST (the payload is ``buf[start:end]``): what
        :meth:`handle` does, without a Reader, and the data copied once (bulk transfers)."""
        if end - start >= 9:
            local_id, value = _TWO_U32.unpack_from(buf, start + 1)
            state = self.channels.get(local_id)
            if state is not None and state.phase is ChannelPhase.OPEN:
                if buf[start] != c.MSG_CHANNEL_DATA:
                    self._adjust(state, value, events)
                    return
                if value <= end - start - 9:
                    data = buf[start + 9 : start + 9 + value]
                    if (  # what _deliver does when nothing is wrong
                        0 < value <= state.local_window
                        and value <= state.local_max_packet
                        and not (state.eof_received or state.close_sent)
                    ):
                        state.local_window -= value
                        events.append(ev.ChannelData(local_id, data, None))
                    else:
                        self._deliver(state, data, None, events)
                    return
        # short, or for a channel that is not open: the generic path raises its error
        body = wire.Reader(memoryview(buf)[start:end])
        self.handle(body.byte(), body, events)

    def _adjust(self, state: ChannelState, add: int, events: list[ev.Event]) -> None:
        if state.remote_window + add > MAX_WINDOW:
            raise ProtocolError(
                f"window adjust of {add} overflows channel {state.local_id}'s window"
            )
        state.remote_window += add
        if not state.close_sent:
            events.append(ev.ChannelWindowAdjusted(state.local_id, state.remote_window))

    def _on_data(self, msg: int, body: wire.Reader, events: list[ev.Event]) -> None:
        state = self._open_state(body.uint32())
        ext = body.uint32() if msg == c.MSG_CHANNEL_EXTENDED_DATA else None
        self._deliver(state, body.string(), ext, events)

    def _deliver(
        self, state: ChannelState, data: bytes, ext: int | None, events: list[ev.Event]
    ) -> None:
        n = len(data)
        if n > state.local_window:
            # RFC 4254 §5.2: never past the window; a little slack (as in OpenSSH) is opt-in
            state.excess += n
            if state.excess > self.max_window_excess:
                raise ProtocolError(
                    f"peer sent {n} bytes on channel {state.local_id} with only "
                    f"{state.local_window} left in the window"
                )
            return
        if n > state.local_max_packet:
            raise ProtocolError(
                f"peer sent a {n}-byte data message on channel {state.local_id}; "
                f"the maximum is {state.local_max_packet}"
            )
        state.local_window -= n
        if state.eof_received:
            raise ProtocolError(f"data after EOF on channel {state.local_id}")
        if state.close_sent or not n:
            # nobody will read it: give the window straight back
            self.consumed(state.local_id, n)
            return
        events.append(ev.ChannelData(state.local_id, data, ext))

    def _on_open(self, body: wire.Reader, events: list[ev.Event]) -> None:
        kind = body.text()
        remote_id = body.uint32()
        window = body.uint32()
        max_packet = body.uint32()
        extra = body.rest()
        try:
            if self.pending_opens >= self.max_pending_opens:
                raise ProtocolError("too many channel opens waiting for an answer")
            local_id = self._allocate()
        except ProtocolError as exc:
            self._send(
                b"".join(
                    (
                        wire.byte(c.MSG_CHANNEL_OPEN_FAILURE),
                        wire.uint32(remote_id),
                        wire.uint32(c.OPEN_FAILED_RESOURCE_SHORTAGE),
                        wire.string(str(exc)),
                        wire.string(""),
                    )
                )
            )
            return
        self.pending_opens += 1
        state = ChannelState(local_id, kind, ChannelPhase.PENDING, 0, 0, 0)
        state.remote_id = remote_id
        state.remote_window = window
        state.remote_max_packet = max_packet
        self.channels[local_id] = state
        events.append(ev.ChannelOpenRequested(local_id, kind, window, max_packet, extra))

"""``SFTPClient`` against a scripted SFTP peer on a socketpair: what no real server sends.

Real servers answer in order and well-formed; these tests make the peer answer out of order,
with replies to unknown ids, with malformed packets, or not at all, and check that the client
matches replies by request id, raises paramiko's exception types on bad input (never hangs),
honours the server's ``limits@openssh.com`` sizes, and wakes every waiting thread when the
stream ends. The peer speaks raw SFTP v3 bytes (draft-ietf-secsh-filexfer-02) written here.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from sshwire.sftp import (
    CMD_ATTRS,
    CMD_CLOSE,
    CMD_DATA,
    CMD_EXTENDED,
    CMD_EXTENDED_REPLY,
    CMD_HANDLE,
    CMD_INIT,
    CMD_NAME,
    CMD_OPEN,
    CMD_READ,
    CMD_STAT,
    CMD_STATUS,
    CMD_VERSION,
    CMD_WRITE,
    SFTPError,
)
from sshwire.sftp_client import SFTPClient
from sshwire.ssh_exception import SSHException

pytestmark = pytest.mark.timeout(30)


def _string(b: bytes) -> bytes:
    return struct.pack(">I", len(b)) + b


def _packet(t: int, body: bytes) -> bytes:
    return struct.pack(">IB", len(body) + 1, t) + body


def _status(num: int, code: int, text: bytes = b"") -> bytes:
    return _packet(CMD_STATUS, struct.pack(">II", num, code) + _string(text) + _string(b""))


def _attrs_size(num: int, size: int) -> bytes:
    return _packet(CMD_ATTRS, struct.pack(">IIQ", num, 1, size))


Request = tuple[int, int, bytes]  # (type, id, body after the id)


class Peer:
    """The server end of a socketpair, answering each request with ``handler``."""

    def __init__(
        self,
        handler: Callable[[Peer, Request], None],
        extensions: dict[bytes, bytes] | None = None,
        version: int = 3,
    ) -> None:
        self.client_sock, self.sock = socket.socketpair()
        self.client_sock.settimeout(10)
        self.sock.settimeout(10)
        self.handler = handler
        self.extensions = extensions or {}
        self.version = version
        self.requests: list[Request] = []
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _recv_exact(self, n: int) -> bytes:
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise EOFError
            out += chunk
        return out

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _run(self) -> None:
        try:
            size = struct.unpack(">I", self._recv_exact(4))[0]
            payload = self._recv_exact(size)
            assert payload[0] == CMD_INIT
            hello = struct.pack(">I", self.version)
            for name, value in self.extensions.items():
                hello += _string(name) + _string(value)
            self.send(_packet(CMD_VERSION, hello))
            while True:
                size = struct.unpack(">I", self._recv_exact(4))[0]
                payload = self._recv_exact(size)
                request = (payload[0], struct.unpack(">I", payload[1:5])[0], payload[5:])
                self.requests.append(request)
                self.handler(self, request)
        except (EOFError, OSError):
            pass
        except BaseException as exc:  # pragma: no cover - reported by the test
            self.errors.append(exc)

    def close(self) -> None:
        self.sock.close()
        self.client_sock.close()
        self.thread.join(5)


@pytest.fixture
def make_peer() -> Iterator[Callable[..., Peer]]:
    peers: list[Peer] = []

    def make(handler: Callable[[Peer, Request], None], **kw: Any) -> Peer:
        peer = Peer(handler, **kw)
        peers.append(peer)
        return peer

    yield make
    for peer in peers:
        peer.close()
        assert not peer.errors


def _file_server(content: bytes, reverse_batch: int = 0) -> Callable[[Peer, Request], None]:
    """OPEN -> handle ``h``; READ served from *content*; the first *reverse_batch* READs are
    held back and then answered newest first."""
    held: list[bytes] = []

    def handle(peer: Peer, request: Request) -> None:
        t, num, body = request
        if t == CMD_OPEN:
            peer.send(_packet(CMD_HANDLE, struct.pack(">I", num) + _string(b"h")))
        elif t == CMD_CLOSE:
            peer.send(_status(num, 0))
        elif t in (CMD_STAT, 8):  # STAT / FSTAT
            peer.send(_attrs_size(num, len(content)))
        elif t == CMD_READ:
            offset, length = struct.unpack(">QI", body[5:17])
            if offset >= len(content):
                reply = _status(num, 1, b"EOF")
            else:
                data = content[offset : offset + length]
                reply = _packet(CMD_DATA, struct.pack(">I", num) + _string(data))
            if len(held) < reverse_batch:
                held.append(reply)
                if len(held) == reverse_batch:
                    peer.send(b"".join(reversed(held)))
            else:
                peer.send(reply)
        elif t == CMD_WRITE:
            peer.send(_status(num, 0))
        elif t == CMD_EXTENDED:
            peer.send(_status(num, 8, b"unsupported"))
        else:
            peer.send(_status(num, 8))

    return handle


def test_replies_out_of_order_are_matched_by_id(make_peer: Callable[..., Peer]) -> None:
    content = bytes(range(256)) * 1024  # 256 KiB = 8 requests of 32 KiB
    peer = make_peer(_file_server(content, reverse_batch=8))
    sftp = SFTPClient(peer.client_sock)
    with sftp.open("/f", "rb") as f:
        assert f.read(len(content)) == content
    reads = [r for r in peer.requests if r[0] == CMD_READ]
    assert len(reads) == 8  # all in flight before the first reply


def test_getfo_with_reordered_replies(make_peer: Callable[..., Peer]) -> None:
    import io

    content = bytes(range(251)) * 4000
    peer = make_peer(_file_server(content, reverse_batch=16))
    sftp = SFTPClient(peer.client_sock)
    out = io.BytesIO()
    assert sftp.getfo("/f", out) == len(content)
    assert out.getvalue() == content


def test_limits_extension_sets_request_sizes(make_peer: Callable[..., Peer]) -> None:
    content = b"z" * 1_000_000

    def handler(peer: Peer, request: Request) -> None:
        t, num, body = request
        if t == CMD_EXTENDED and body.startswith(_string(b"limits@openssh.com")):
            limits = struct.pack(">QQQQ", 200_000, 100_000, 50_000, 64)
            peer.send(_packet(CMD_EXTENDED_REPLY, struct.pack(">I", num) + limits))
        else:
            _file_server(content)(peer, request)

    peer = make_peer(handler, extensions={b"limits@openssh.com": b"1"})
    sftp = SFTPClient(peer.client_sock)
    assert sftp._transfer_sizes() == (100_000, 50_000)
    with sftp.open("/f", "r+b") as f:
        assert f.read() == content
        f.write(b"w" * 120_000)
    reads = [struct.unpack(">QI", b[5:17])[1] for t, _, b in peer.requests if t == CMD_READ]
    writes = [struct.unpack(">I", b[13:17])[0] for t, _, b in peer.requests if t == CMD_WRITE]
    assert max(reads) == 100_000
    assert writes == [50_000, 50_000, 20_000]


def test_unknown_reply_ids_are_ignored(make_peer: Callable[..., Peer]) -> None:
    def handler(peer: Peer, request: Request) -> None:
        num = request[1]
        peer.send(_attrs_size(num + 1000, 1) + _status(num + 7, 0) + _attrs_size(num, 42))

    sftp = SFTPClient(make_peer(handler).client_sock)
    assert sftp.stat("/x").st_size == 42
    assert sftp.stat("/y").st_size == 42


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (lambda num: struct.pack(">I", 0), "Garbage packet"),
        (lambda num: struct.pack(">I", 1 << 30), "Garbage packet"),
        (lambda num: _packet(CMD_STATUS, struct.pack(">I", num) + b"\x00\x00"), "Garbage status"),
        (
            lambda num: _packet(CMD_STATUS, struct.pack(">III", num, 4, 50) + b"short"),
            "Garbage status",
        ),
        (lambda num: _packet(CMD_ATTRS, struct.pack(">II", num, 1) + b"\x00"), "Garbage attr"),
        (lambda num: _packet(CMD_NAME, struct.pack(">II", num, 5) + _string(b"a")), "Garbage name"),
        (lambda num: _packet(CMD_HANDLE, struct.pack(">I", num)), "Expected attributes"),
        (lambda num: _packet(CMD_STATUS, struct.pack(">I", num)[:3]), "Garbage packet"),
    ],
    ids=[
        "zero-length",
        "huge",
        "short-status",
        "status-text-overrun",
        "short-attrs",
        "name-count",
        "wrong-type",
        "no-id",
    ],
)
def test_malformed_replies_raise(
    make_peer: Callable[..., Peer], reply: Callable[[int], bytes], error: str
) -> None:
    def handler(peer: Peer, request: Request) -> None:
        if len(peer.requests) == 1:
            peer.send(reply(request[1]))
        else:
            peer.send(_attrs_size(request[1], 1))

    sftp = SFTPClient(make_peer(handler).client_sock)
    call = sftp.normalize if error == "Garbage name" else sftp.stat
    with pytest.raises(SFTPError, match=error):
        call("/x")


def test_malformed_data_reply(make_peer: Callable[..., Peer]) -> None:
    def handler(peer: Peer, request: Request) -> None:
        t, num, body = request
        if t == CMD_READ:  # more data than asked for
            length = struct.unpack(">I", body[13:17])[0]
            peer.send(_packet(CMD_DATA, struct.pack(">I", num) + _string(b"x" * (length + 1))))
        else:
            _file_server(b"")(peer, request)

    sftp = SFTPClient(make_peer(handler).client_sock)
    with sftp.open("/f", "rb") as f, pytest.raises(SFTPError, match="Garbage data"):
        f.read(10)


def test_stream_end_wakes_every_waiter(make_peer: Callable[..., Peer]) -> None:
    arrived = threading.Event()
    count = [0]

    def handler(peer: Peer, request: Request) -> None:
        count[0] += 1
        if count[0] == 3:
            arrived.set()  # three requests in flight, none answered: now hang up

    peer = make_peer(handler)
    sftp = SFTPClient(peer.client_sock)
    errors: list[BaseException] = []

    def stat() -> None:
        try:
            sftp.stat("/x")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=stat) for _ in range(3)]
    for t in threads:
        t.start()
    assert arrived.wait(10)
    peer.sock.shutdown(socket.SHUT_RDWR)
    for t in threads:
        t.join(5)
        assert not t.is_alive()
    assert len(errors) == 3
    assert all(isinstance(e, SSHException) for e in errors)
    assert any("Server connection dropped" in str(e) for e in errors)
    with pytest.raises(SSHException):
        sftp.stat("/x")  # and every later call fails at once


def test_threads_get_their_own_replies(make_peer: Callable[..., Peer]) -> None:
    pending: list[Request] = []
    lock = threading.Lock()

    def handler(peer: Peer, request: Request) -> None:
        with lock:
            pending.append(request)
            if len(pending) == 4:  # answer the four stats newest first, sizes by path
                for _, num, body in reversed(pending):
                    path = body[4:]
                    peer.send(_attrs_size(num, int(path[1:])))
                pending.clear()

    sftp = SFTPClient(make_peer(handler).client_sock)
    results: dict[int, int | None] = {}

    def stat(n: int) -> None:
        results[n] = sftp.stat(f"/{n}").st_size

    threads = [threading.Thread(target=stat, args=(n,)) for n in (11, 22, 33, 44)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == {11: 11, 22: 22, 33: 33, 44: 44}


def test_timeout_then_late_reply_is_dropped(make_peer: Callable[..., Peer]) -> None:
    release = threading.Event()

    def handler(peer: Peer, request: Request) -> None:
        _, num, body = request
        if body[4:] == b"/slow":
            release.wait(10)
            peer.send(_attrs_size(num, 1))
        else:
            peer.send(_attrs_size(num, 2))

    peer = make_peer(handler)
    sftp = SFTPClient(peer.client_sock)
    peer.client_sock.settimeout(0.3)
    with pytest.raises(TimeoutError):
        sftp.stat("/slow")
    peer.client_sock.settimeout(10)
    release.set()
    assert sftp.stat("/fast").st_size == 2  # the late reply to /slow is skipped


def test_version_and_eof_during_negotiation(make_peer: Callable[..., Peer]) -> None:
    old = make_peer(lambda p, r: None, version=2)
    with pytest.raises(SFTPError, match="Incompatible"):
        SFTPClient(old.client_sock)
    a, b = socket.socketpair()
    b.close()
    a.settimeout(5)
    with pytest.raises(SSHException, match="EOF during negotiation"):
        SFTPClient(a)
    a.close()


def test_unannounced_extension_is_not_sent(make_peer: Callable[..., Peer]) -> None:
    peer = make_peer(_file_server(b""))
    sftp = SFTPClient(peer.client_sock)
    for call in (
        lambda: sftp.statvfs("/"),
        lambda: sftp.hardlink("/a", "/b"),
        lambda: sftp.expand_path("~"),
    ):
        with pytest.raises(OSError, match="does not support"):
            call()
    assert peer.requests == []
    with pytest.raises(OSError, match="unsupported"):
        sftp.posix_rename("/a", "/b")  # paramiko sends this one regardless


def test_pipelined_small_writes_do_not_wait(make_peer: Callable[..., Peer]) -> None:
    held: list[int] = []

    def handler(peer: Peer, request: Request) -> None:
        t, num, _ = request
        if t == CMD_WRITE:  # answer nothing until 20 writes are in
            held.append(num)
            if len(held) == 20:
                peer.send(b"".join(_status(n, 0) for n in held))
                held.clear()
        else:
            _file_server(b"")(peer, request)

    peer = make_peer(handler)
    sftp = SFTPClient(peer.client_sock)
    f = sftp.open("/f", "wb")
    f.set_pipelined(True)
    for i in range(20):
        f.write(b"%d" % i)
    f.close()
    writes = [r for r in peer.requests if r[0] == CMD_WRITE]
    assert len(writes) == 20
    assert peer.requests[-1][0] == CMD_CLOSE

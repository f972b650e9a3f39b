"""sshwire's SFTP server under bad and hostile input, spoken to byte by byte.

Each test opens the ``sftp`` subsystem of an embedded server on a raw channel (sshwire's own
client) and writes SFTP packets by hand: truncated fields, absurd lengths, unknown types,
invalid handles, paths that try to leave the root. Every one must get an SFTP status reply
or a clean channel close; afterwards the session's thread has ended, ``session_ended`` has
run once, and no file descriptor is left open.
"""

from __future__ import annotations

import os
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sshwire.channel import Channel
from sshwire.client import SSHClient
from sshwire.sftp import (
    CMD_CLOSE,
    CMD_DATA,
    CMD_EXTENDED,
    CMD_EXTENDED_REPLY,
    CMD_FSETSTAT,
    CMD_FSTAT,
    CMD_HANDLE,
    CMD_INIT,
    CMD_MKDIR,
    CMD_NAME,
    CMD_OPEN,
    CMD_OPENDIR,
    CMD_READ,
    CMD_READDIR,
    CMD_READLINK,
    CMD_REALPATH,
    CMD_SETSTAT,
    CMD_STAT,
    CMD_STATUS,
    CMD_SYMLINK,
    CMD_VERSION,
    CMD_WRITE,
    SFTP_BAD_MESSAGE,
    SFTP_EOF,
    SFTP_FAILURE,
    SFTP_FLAG_CREATE,
    SFTP_FLAG_READ,
    SFTP_FLAG_WRITE,
    SFTP_NO_SUCH_FILE,
    SFTP_OK,
    SFTP_OP_UNSUPPORTED,
)
from sshwire.sftp_server import SFTPServer
from sshwire.testing import RootedSFTPServerInterface, SSHServer

pytestmark = pytest.mark.timeout(60)

READ_TIMEOUT = 15.0


def s(data: bytes | str) -> bytes:
    raw = data.encode() if isinstance(data, str) else data
    return struct.pack(">I", len(raw)) + raw


def u32(n: int) -> bytes:
    return struct.pack(">I", n)


def u64(n: int) -> bytes:
    return struct.pack(">Q", n)


class Recorder(RootedSFTPServerInterface):
    """Counts the session hooks, so tests can check each ran exactly once."""

    lock = threading.Lock()
    started = 0
    ended = 0
    done = threading.Condition(lock)

    def session_started(self) -> None:
        with Recorder.lock:
            Recorder.started += 1
        super().session_started()

    def session_ended(self) -> None:
        super().session_ended()
        with Recorder.done:
            Recorder.ended += 1
            Recorder.done.notify_all()


class SmallServer(SFTPServer):
    max_open_handles = 8


class Raw:
    """An sftp subsystem channel driven by hand."""

    def __init__(self, client: SSHClient, init: bool = True) -> None:
        transport = client.get_transport()
        assert transport is not None
        self.chan: Channel = transport.open_session()
        self.chan.settimeout(READ_TIMEOUT)
        self.chan.invoke_subsystem("sftp")
        self.next_id = 1
        self.extensions: dict[bytes, bytes] = {}
        if init:
            self.send_raw(u32(5) + bytes([CMD_INIT]) + u32(3))
            t, body = self.packet()
            assert t == CMD_VERSION and body[:4] == u32(3)
            rest = body[4:]
            while rest:
                (n,) = struct.unpack(">I", rest[:4])
                name, rest = rest[4 : 4 + n], rest[4 + n :]
                (n,) = struct.unpack(">I", rest[:4])
                self.extensions[name], rest = rest[4 : 4 + n], rest[4 + n :]

    def send_raw(self, data: bytes) -> None:
        self.chan.sendall(data)

    def send(self, t: int, payload: bytes, rid: int | None = None) -> int:
        if rid is None:
            rid, self.next_id = self.next_id, self.next_id + 1
        body = bytes([t]) + u32(rid) + payload
        self.send_raw(u32(len(body)) + body)
        return rid

    def _exact(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.chan.recv(n - len(data))
            if not chunk:
                raise EOFError(f"channel closed after {len(data)} of {n} bytes")
            data += chunk
        return data

    def packet(self) -> tuple[int, bytes]:
        (size,) = struct.unpack(">I", self._exact(4))
        body = self._exact(size)
        return body[0], body[1:]

    def reply(self, rid: int) -> tuple[int, bytes]:
        t, body = self.packet()
        assert body[:4] == u32(rid), f"reply to {struct.unpack('>I', body[:4])[0]}, not {rid}"
        return t, body[4:]

    def status(self, rid: int) -> tuple[int, str]:
        t, body = self.reply(rid)
        assert t == CMD_STATUS, f"expected STATUS, got type {t}"
        (code,) = struct.unpack(">I", body[:4])
        (n,) = struct.unpack(">I", body[4:8])
        return code, body[8 : 8 + n].decode()

    def call(self, t: int, payload: bytes) -> tuple[int, bytes]:
        return self.reply(self.send(t, payload))

    def open(self, path: bytes | str, pflags: int) -> bytes:
        t, body = self.call(CMD_OPEN, s(path) + u32(pflags) + u32(0))
        assert t == CMD_HANDLE, body
        (n,) = struct.unpack(">I", body[:4])
        return body[4 : 4 + n]

    def closed_by_server(self) -> bool:
        """True once the server has closed the channel (EOF on read)."""
        deadline = time.monotonic() + READ_TIMEOUT
        while time.monotonic() < deadline:
            try:
                if not self.chan.recv(65536):
                    return True
            except TimeoutError:
                return False
        return False


def sftp_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if isinstance(t, SFTPServer)]


def join_sftp_threads(timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    for t in sftp_threads():
        t.join(max(0.0, deadline - time.monotonic()))
    assert not sftp_threads(), "SFTP session threads still running"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "root"
    folder.mkdir()
    return folder


@pytest.fixture
def server(root: Path) -> Iterator[SSHServer]:
    srv = SSHServer()
    srv.add_user("tester")
    srv.set_subsystem_handler("sftp", SmallServer, Recorder, str(root))
    with srv:
        yield srv
    join_sftp_threads()


@pytest.fixture
def client(server: SSHServer) -> Iterator[SSHClient]:
    c = server.connect_client()
    yield c
    c.close()


@pytest.fixture(autouse=True)
def _reset_recorder() -> None:
    with Recorder.lock:
        Recorder.started = Recorder.ended = 0


def wait_ended(count: int) -> None:
    with Recorder.done:
        assert Recorder.done.wait_for(lambda: Recorder.ended >= count, READ_TIMEOUT)


# ------------------------------------------------------------------------------------ the handshake


def test_version_announces_the_extensions(client: SSHClient) -> None:
    raw = Raw(client)
    assert raw.extensions == {
        b"posix-rename@openssh.com": b"1",
        b"statvfs@openssh.com": b"2",
        b"fstatvfs@openssh.com": b"2",
        b"hardlink@openssh.com": b"1",
        b"fsync@openssh.com": b"1",
        b"lsetstat@openssh.com": b"1",
        b"limits@openssh.com": b"1",
        b"expand-path@openssh.com": b"1",
        b"check-file": b"md5,sha1,sha224,sha256,sha384,sha512",
    }
    t, body = raw.call(CMD_EXTENDED, s("limits@openssh.com"))
    assert t == CMD_EXTENDED_REPLY
    assert struct.unpack(">4Q", body) == (262144, 261120, 261120, 8)
    raw.chan.close()
    wait_ended(1)
    assert (Recorder.started, Recorder.ended) == (1, 1)


def test_garbage_instead_of_init_closes(client: SSHClient) -> None:
    raw = Raw(client, init=False)
    raw.send_raw(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")  # "GET " is a 1.2 GB length
    assert raw.closed_by_server()
    wait_ended(1)
    assert (Recorder.started, Recorder.ended) == (0, 1)  # as paramiko: ended without start


def test_wrong_first_packet_closes(client: SSHClient) -> None:
    raw = Raw(client, init=False)
    raw.send_raw(u32(9) + bytes([CMD_STAT]) + u32(1) + s(""))
    assert raw.closed_by_server()


# ------------------------------------------------------------------------------------ bad requests


def test_malformed_requests_get_bad_message(client: SSHClient, root: Path) -> None:
    raw = Raw(client)
    bad = [
        (CMD_OPEN, s("f")[:-1]),  # string shorter than its length
        (CMD_OPEN, s("f") + u32(SFTP_FLAG_READ)),  # no attrs
        (CMD_OPEN, s("f") + u32(SFTP_FLAG_WRITE) + u32(1) + u32(0)),  # attrs: size cut short
        (CMD_SETSTAT, s("f") + u32(0x80000000) + u32(0xFFFFFFFF)),  # extended count huge
        (CMD_READ, b""),
        (CMD_READ, s("hx1") + u64(0)),  # no length
        (CMD_READ, u32(0xFFFFFFF0) + b"h"),
        (CMD_WRITE, s("hx1") + u64(0) + u32(100) + b"short"),
        (CMD_STAT, u32(5) + b"ab"),
        (CMD_MKDIR, s("d")),  # no attrs
        (CMD_EXTENDED, b""),
        (CMD_EXTENDED, s("posix-rename@openssh.com") + s("a")),
        (CMD_EXTENDED, s("check-file") + s("hx1") + s("sha1")),
        (CMD_EXTENDED, s(b"\xff\xfe")),  # an extension name must be UTF-8
    ]
    for t, payload in bad:
        rid = raw.send(t, payload)
        assert raw.status(rid)[0] == SFTP_BAD_MESSAGE, (t, payload)
    assert not (root / "f").exists() and not (root / "d").exists()
    # the session is still fine
    t, body = raw.call(CMD_REALPATH, s("."))
    assert t == CMD_NAME and s("/") in body


def test_unknown_types_and_extensions_are_unsupported(client: SSHClient) -> None:
    raw = Raw(client)
    for t in (0, 21, 77, 99, CMD_STATUS, CMD_DATA, CMD_VERSION, CMD_EXTENDED_REPLY, 255):
        rid = raw.send(t, b"whatever")
        assert raw.status(rid)[0] == SFTP_OP_UNSUPPORTED, t
    rid = raw.send(CMD_EXTENDED, s("no-such-extension@example.com") + b"data")
    assert raw.status(rid)[0] == SFTP_OP_UNSUPPORTED


def test_invalid_handles(client: SSHClient, root: Path) -> None:
    raw = Raw(client)
    (root / "dir").mkdir()
    t, body = raw.call(CMD_OPENDIR, s("/dir"))
    assert t == CMD_HANDLE
    folder = body[4:]
    file_handle = raw.open("/file", SFTP_FLAG_WRITE | SFTP_FLAG_CREATE)
    for bogus in (b"", b"hx999", b"\x00" * 300, folder):  # a folder is no file handle
        for t, payload in (
            (CMD_READ, s(bogus) + u64(0) + u32(10)),
            (CMD_WRITE, s(bogus) + u64(0) + s(b"data")),
            (CMD_FSTAT, s(bogus)),
            (CMD_FSETSTAT, s(bogus) + u32(0)),
            (CMD_EXTENDED, s("fsync@openssh.com") + s(bogus)),
            (CMD_EXTENDED, s("fstatvfs@openssh.com") + s(bogus)),
        ):
            code, text = raw.status(raw.send(t, payload))
            assert (code, text) == (SFTP_BAD_MESSAGE, "Invalid handle"), (t, bogus)
    for bogus in (b"hx999", file_handle):  # a file is no folder handle
        assert raw.status(raw.send(CMD_READDIR, s(bogus)))[0] == SFTP_BAD_MESSAGE
    assert raw.status(raw.send(CMD_CLOSE, s(folder)))[0] == SFTP_OK
    assert raw.status(raw.send(CMD_CLOSE, s(folder)))[0] == SFTP_BAD_MESSAGE  # twice
    assert raw.status(raw.send(CMD_CLOSE, s(file_handle)))[0] == SFTP_OK


def test_handle_limit(client: SSHClient, root: Path) -> None:
    raw = Raw(client)
    handles = [raw.open(f"/f{i}", SFTP_FLAG_WRITE | SFTP_FLAG_CREATE) for i in range(8)]
    rid = raw.send(CMD_OPEN, s("/f8") + u32(SFTP_FLAG_WRITE | SFTP_FLAG_CREATE) + u32(0))
    assert raw.status(rid) == (SFTP_FAILURE, "Too many open handles")
    assert raw.status(raw.send(CMD_OPENDIR, s("/")))[0] == SFTP_FAILURE
    assert raw.status(raw.send(CMD_CLOSE, s(handles[0])))[0] == SFTP_OK
    raw.open("/f8", SFTP_FLAG_WRITE | SFTP_FLAG_CREATE)


def test_huge_read_is_clamped_and_offsets_are_64_bit(client: SSHClient, root: Path) -> None:
    data = os.urandom(600_000)
    (root / "blob").write_bytes(data)
    raw = Raw(client)
    handle = raw.open("/blob", SFTP_FLAG_READ)
    t, body = raw.call(CMD_READ, s(handle) + u64(1000) + u32(0xFFFFFFFF))
    assert t == CMD_DATA
    assert body[4:] == data[1000 : 1000 + 261120] and body[:4] == u32(261120)
    rid = raw.send(CMD_READ, s(handle) + u64(1 << 63) + u32(10))
    assert raw.status(rid)[0] == SFTP_FAILURE  # beyond off_t: EINVAL
    rid = raw.send(CMD_READ, s(handle) + u64(1 << 62) + u32(10))
    assert raw.status(rid)[0] == SFTP_EOF
    rid = raw.send(CMD_READ, s(handle) + u64(len(data)) + u32(10))
    assert raw.status(rid)[0] == SFTP_EOF


# ------------------------------------------------------------------------------------ framing


@pytest.mark.parametrize(
    "frame",
    [
        u32(0xFFFFFFFF) + b"x" * 100,  # oversize length
        u32((1 << 20) + 1),  # just above MAX_PACKET_SIZE
        u32(0),  # empty packet
        u32(1) + bytes([CMD_STAT]),  # no request id
        u32(3) + bytes([CMD_STAT]) + b"\x00\x00",
    ],
    ids=["oversize", "above-max", "zero", "no-id", "short-id"],
)
def test_broken_framing_closes_the_channel(client: SSHClient, frame: bytes) -> None:
    raw = Raw(client)
    raw.send_raw(frame)
    assert raw.closed_by_server()
    wait_ended(1)
    assert (Recorder.started, Recorder.ended) == (1, 1)
    # the connection itself survives: a new session works
    again = Raw(client)
    assert again.call(CMD_REALPATH, s("x"))[0] == CMD_NAME


def test_client_vanishing_mid_packet(server: SSHServer, root: Path) -> None:
    client = server.connect_client()
    raw = Raw(client)
    raw.open("/left-open", SFTP_FLAG_WRITE | SFTP_FLAG_CREATE)
    raw.send_raw(u32(1000) + bytes([CMD_WRITE]) + b"partial")
    client.close()
    wait_ended(1)
    join_sftp_threads()


def test_pipelined_requests_never_read(server: SSHServer, root: Path) -> None:
    """A client that floods requests and never reads the replies, then leaves."""
    (root / "blob").write_bytes(os.urandom(1 << 20))
    client = server.connect_client()
    raw = Raw(client)
    handle = raw.open("/blob", SFTP_FLAG_READ)
    read = bytes([CMD_READ]) + u32(7) + s(handle) + u64(0) + u32(65536)
    flood = (u32(len(read)) + read) * 500_000  # 14 MB of requests: far beyond both windows
    raw.chan.settimeout(2.0)
    with pytest.raises(TimeoutError):
        raw.send_raw(flood)  # stalls: the server is stuck sending into our full window
    assert sftp_threads()
    client.close()
    wait_ended(1)
    join_sftp_threads()


# ------------------------------------------------------------------------------------ confinement


def test_paths_cannot_escape_the_root(client: SSHClient, root: Path, tmp_path: Path) -> None:
    (tmp_path / "outside.txt").write_text("secret")
    os.symlink(str(tmp_path), root / "abs-link")  # absolute target: read inside the root
    os.symlink("../..", root / "rel-link")
    os.symlink("loop", root / "loop")
    raw = Raw(client)
    for path in (
        "../outside.txt",
        "/../outside.txt",
        "/../../../../../../../outside.txt",
        "rel-link/outside.txt",
        "rel-link/root/../outside.txt",
        "abs-link/outside.txt",
        f"{tmp_path}/outside.txt",
        "loop/x",
        "/./..//..//outside.txt",
    ):
        rid = raw.send(CMD_OPEN, s(path) + u32(SFTP_FLAG_READ) + u32(0))
        code, _ = raw.status(rid)
        assert code in (SFTP_NO_SUCH_FILE, SFTP_FAILURE), path
        rid = raw.send(CMD_STAT, s(path))
        assert raw.status(rid)[0] in (SFTP_NO_SUCH_FILE, SFTP_FAILURE), path
    for path, expected in (
        ("/..", "/"),
        ("../../..", "/"),
        ("rel-link", "/"),
        ("abs-link/x", None),
    ):
        t, body = raw.call(CMD_REALPATH, s(path))
        if expected is None:  # the target of abs-link does not exist inside the root
            assert t == CMD_STATUS
        else:
            assert t == CMD_NAME and body[4:8] == u32(len(expected)), (path, body)
            assert body[8 : 8 + len(expected)] == expected.encode()
    # creating things "outside" creates them inside
    assert raw.status(raw.send(CMD_MKDIR, s("../../made") + u32(0)))[0] == SFTP_OK
    assert (root / "made").is_dir() and not (tmp_path / "made").exists()
    handle = raw.open("../../../new.txt", SFTP_FLAG_WRITE | SFTP_FLAG_CREATE)
    assert raw.status(raw.send(CMD_WRITE, s(handle) + u64(0) + s(b"in")))[0] == SFTP_OK
    assert (root / "new.txt").read_bytes() == b"in"
    assert not (tmp_path / "new.txt").exists()
    # a link made by the client to an absolute path is resolved inside the root too
    rid = raw.send(CMD_SYMLINK, s(str(tmp_path)) + s("/client-link"))
    assert raw.status(rid)[0] == SFTP_OK
    t, body = raw.call(CMD_READLINK, s("/client-link"))
    assert t == CMD_NAME and str(tmp_path).encode() in body
    rid = raw.send(CMD_OPEN, s("/client-link/outside.txt") + u32(SFTP_FLAG_READ) + u32(0))
    assert raw.status(rid)[0] == SFTP_NO_SUCH_FILE
    rid = raw.send(CMD_SETSTAT, s("/client-link/outside.txt") + u32(4) + u32(0o777))
    assert raw.status(rid)[0] == SFTP_NO_SUCH_FILE
    assert (tmp_path / "outside.txt").stat().st_mode & 0o777 != 0o777


def test_non_utf8_names_round_trip(client: SSHClient, root: Path) -> None:
    name = b"caf\xe9-\xff.bin"  # Latin-1, not UTF-8
    raw = Raw(client)
    handle = raw.open(b"/" + name, SFTP_FLAG_WRITE | SFTP_FLAG_CREATE)
    assert raw.status(raw.send(CMD_WRITE, s(handle) + u64(0) + s(b"bytes")))[0] == SFTP_OK
    assert (os.fsencode(root) + b"/" + name) and os.path.exists(os.fsencode(root) + b"/" + name)
    t, body = raw.call(CMD_OPENDIR, s("/"))
    folder = body[4:]
    t, body = raw.call(CMD_READDIR, s(folder))
    assert t == CMD_NAME and s(name) in body


def test_special_files_do_not_hang_the_session(client: SSHClient, root: Path) -> None:
    os.mkfifo(root / "fifo")
    raw = Raw(client)
    # a FIFO with no writer: open() must not block, and reading fails rather than hangs
    handle = raw.open("/fifo", SFTP_FLAG_READ)
    rid = raw.send(CMD_READ, s(handle) + u64(0) + u32(100))
    t, _ = raw.reply(rid)
    assert t == CMD_STATUS
    assert raw.status(raw.send(CMD_CLOSE, s(handle)))[0] == SFTP_OK
    # no reader: opening for writing fails at once (ENXIO)
    rid = raw.send(CMD_OPEN, s("/fifo") + u32(SFTP_FLAG_WRITE) + u32(0))
    assert raw.status(rid)[0] == SFTP_FAILURE
    assert raw.call(CMD_REALPATH, s("."))[0] == CMD_NAME


# ------------------------------------------------------------------------------------ lifecycle


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd")
def test_no_fd_or_thread_left(server: SSHServer, root: Path) -> None:
    def session() -> None:
        client = server.connect_client()
        raw = Raw(client)
        for i in range(6):
            raw.open(f"/h{i}", SFTP_FLAG_WRITE | SFTP_FLAG_CREATE)  # never closed
        raw.call(CMD_OPENDIR, s("/"))
        raw.chan.sendall(u32(50) + b"half a packet")
        client.close()
        assert server.wait_until_idle(20)
        join_sftp_threads()

    session()  # warm up anything created once per process
    fds = len(os.listdir("/proc/self/fd"))
    ended = Recorder.ended
    session()
    assert Recorder.ended == ended + 1
    assert len(os.listdir("/proc/self/fd")) == fds


def test_concurrent_sessions_with_a_hostile_one(server: SSHServer, root: Path) -> None:
    client = server.connect_client()
    payloads = {i: os.urandom(300_000 + i) for i in range(6)}
    errors: list[BaseException] = []

    def good(i: int) -> None:
        try:
            raw = Raw(client)
            handle = raw.open(f"/c{i}", SFTP_FLAG_WRITE | SFTP_FLAG_READ | SFTP_FLAG_CREATE)
            data = payloads[i]
            rids = [
                raw.send(CMD_WRITE, s(handle) + u64(off) + s(data[off : off + 32768]))
                for off in range(0, len(data), 32768)
            ]
            for rid in rids:
                assert raw.status(rid)[0] == SFTP_OK
            got = b""
            while len(got) < len(data):
                t, body = raw.call(CMD_READ, s(handle) + u64(len(got)) + u32(100000))
                assert t == CMD_DATA
                got += body[4:]
            assert got == data
            raw.chan.close()
        except BaseException as exc:
            errors.append(exc)

    def hostile() -> None:
        try:
            raw = Raw(client)
            raw.send_raw(u32(0xFFFFFFFF))
            assert raw.closed_by_server()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=good, args=(i,)) for i in payloads]
    threads += [threading.Thread(target=hostile) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(40)
    assert not errors, errors
    for i, data in payloads.items():
        assert (root / f"c{i}").read_bytes() == data
    wait_ended(len(threads))
    assert Recorder.started == Recorder.ended == len(threads)
    client.close()


def test_sftp_root_configuration_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a directory"):
        SSHServer(sftp_root=tmp_path / "missing")
    with pytest.raises(ValueError, match="not both"):
        SSHServer(sftp_root=tmp_path, subsystems={"sftp": "/usr/lib/openssh/sftp-server"})

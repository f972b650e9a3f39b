"""``SFTPClient`` and ``SFTPFile`` against OpenSSH's sftp server (the ``sshd`` fixture runs
``internal-sftp`` as root on this machine, so every remote path is also a local path and the
tests check results with :mod:`os` directly).

Covers every client method, file modes, odd and non-UTF-8 names, a directory of 10,000
entries, symbolic links, errno mapping (``-R``/``-P`` servers for permission errors), files
past 4 GiB (sparse), reads across EOF, readv, prefetch and its cancellation, callbacks,
SHA-256 of every transfer, several threads on one client, timeouts while the server is
stopped, and a session killed in the middle of a download.
"""

from __future__ import annotations

import errno
import gc
import hashlib
import io
import logging
import os
import signal
import socket
import stat
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from _openssh import SshdServer
from sshwire.client import AutoAddPolicy, SSHClient
from sshwire.pkey import PKey
from sshwire.sftp import SFTPError
from sshwire.sftp_attr import SFTPAttributes
from sshwire.sftp_client import SFTP, SFTPClient
from sshwire.sftp_file import SFTPFile
from sshwire.ssh_exception import SSHException
from sshwire.transport import Transport

pytestmark = pytest.mark.timeout(120)

GiB = 1 << 30


def _connect(server: SshdServer) -> tuple[Transport, SFTPClient]:
    t = Transport(socket.create_connection((server.host, server.port)))
    t.start_client(timeout=10)
    t.auth_publickey(server.user, PKey.from_path(server.client_keys["ed25519"]))
    sftp = t.open_sftp_client()
    assert isinstance(sftp, SFTPClient)
    return t, sftp


@contextmanager
def _session(server: SshdServer) -> Iterator[SFTPClient]:
    t, sftp = _connect(server)
    try:
        yield sftp
    finally:
        sftp.close()
        t.close()


@pytest.fixture
def sftp(sshd: SshdServer) -> Iterator[SFTPClient]:
    with _session(sshd) as client:
        yield client


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_sha(path: Path | str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def _descendants(pid: int) -> list[int]:
    """Every process below *pid* (a private sshd: its per-connection processes)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


# ---------------------------------------------------------------------------- basics


def test_open_paths_and_alias(sshd: SshdServer, tmp_path: Path) -> None:
    client = SSHClient()
    client.set_missing_host_key_policy(AutoAddPolicy())
    client.connect(
        sshd.host,
        sshd.port,
        username=sshd.user,
        key_filename=str(sshd.client_keys["ed25519"]),
        allow_agent=False,
        look_for_keys=False,
        timeout=10,
    )
    with client:
        with client.open_sftp() as sftp:
            assert isinstance(sftp, SFTPClient)
            assert sftp.get_channel() is sftp.sock
            assert sftp.normalize(str(tmp_path)) == str(tmp_path)
        transport = client.get_transport()
        assert transport is not None
        chan = transport.open_session()
        chan.invoke_subsystem("sftp")
        alias = SFTP(chan)
        assert isinstance(alias, SFTPClient)
        assert alias.stat(str(tmp_path)).st_mode is not None
        alias.close()
        other = SFTPClient.from_transport(transport, window_size=1 << 20, max_packet_size=16384)
        assert other is not None
        assert other.get_channel().in_window_size == 1 << 20
        other.close()


def test_debug_logging(sftp: SFTPClient, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="sshwire")
    path = tmp_path / "100% sure %s"
    with sftp.open(str(path), "w") as f:
        f.write(b"x")
    assert sftp.stat(str(path)).st_size == 1
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("[chan ") and "100% sure %s" in m for m in messages), messages
    assert all(r.name == "sshwire.transport.sftp" for r in caplog.records if "[chan" in r.msg)


def test_sftp_client_keeps_ssh_client_alive(sshd: SshdServer, tmp_path: Path) -> None:
    def open_sftp() -> SFTPClient:
        client = SSHClient()
        client.set_missing_host_key_policy(AutoAddPolicy())
        client.connect(
            sshd.host,
            sshd.port,
            username=sshd.user,
            key_filename=str(sshd.client_keys["ed25519"]),
            allow_agent=False,
            look_for_keys=False,
            timeout=10,
        )
        return client.open_sftp()

    sftp = open_sftp()  # the SSHClient variable is gone: the session must survive
    (tmp_path / "f").write_bytes(b"x")
    assert sftp.listdir(str(tmp_path)) == ["f"]
    sftp.close()


def test_modes_read_write_append(sftp: SFTPClient, tmp_path: Path) -> None:
    path = tmp_path / "modes.txt"
    with sftp.open(str(path), "w") as f:
        assert isinstance(f, SFTPFile) and f.writable() and not f.readable()
        f.write("line one\n")
        f.write(b"line two\n")
        assert f.tell() == 18
    assert path.read_bytes() == b"line one\nline two\n"
    with sftp.open(str(path), "a") as f:
        assert f.tell() == 18
        f.write(b"three\n")
    assert path.read_bytes().endswith(b"two\nthree\n")
    with sftp.open(str(path)) as f:
        assert f.readline() == "line one\n"
        assert list(f) == ["line two\n", "three\n"]
        assert f.read() == b""
    with sftp.open(str(path), "rb") as f:
        assert f.readlines() == [b"line one\n", b"line two\n", b"three\n"]
    with sftp.open(str(path), "r+") as f:
        f.seek(5)
        f.write(b"ONE")
        f.seek(0)
        assert f.read(8) == b"line ONE"
    with sftp.open(str(path), "w+") as f:
        assert f.read() == b""
        f.write(b"fresh")
        f.seek(0)
        assert f.read() == b"fresh"
    with sftp.open(str(path), "a+") as f:
        f.write(b"!")
        f.seek(0)
        assert f.read() == b"fresh!"
    with pytest.raises(OSError):
        sftp.open(str(path), "wx")
    with sftp.open(str(tmp_path / "new"), "wxb") as f:
        f.write(b"x")
    assert (tmp_path / "new").read_bytes() == b"x"
    f = sftp.file(str(path), "rb")
    f.close()
    f.close()  # closing twice is fine
    with pytest.raises(OSError):
        f.read()


def test_buffered_write_and_flush(sftp: SFTPClient, tmp_path: Path) -> None:
    path = tmp_path / "buffered"
    f = sftp.open(str(path), "w", bufsize=1024)
    f.write(b"a" * 100)
    assert path.read_bytes() == b""  # still buffered
    f.flush()
    assert path.read_bytes() == b"a" * 100
    f.write(b"b" * 2000)  # over the buffer size: pushed
    assert path.stat().st_size == 2100
    f.close()
    with sftp.open(str(path), "w", bufsize=1) as f:  # line buffered
        f.write(b"no newline")
        assert path.read_bytes() == b""
        f.write(b" yet\nmore")
        assert path.read_bytes() == b"no newline yet\n"
    assert path.read_bytes() == b"no newline yet\nmore"


def test_seek_tell_and_reads_across_eof(sftp: SFTPClient, tmp_path: Path) -> None:
    data = os.urandom(1000)
    path = tmp_path / "eof.bin"
    path.write_bytes(data)
    with sftp.open(str(path), "rb") as f:
        assert f.seekable()
        f.seek(900)
        assert f.tell() == 900
        assert f.read(500) == data[900:]
        assert f.read(10) == b""
        assert f.read() == b""
        f.seek(-10, f.SEEK_END)
        assert f.read() == data[-10:]
        f.seek(100)
        f.seek(50, f.SEEK_CUR)
        assert f.read(5) == data[150:155]
        f.seek(5000)
        assert f.read(10) == b""
        f.seek(0)
        assert f.read() == data
        blocks = list(f.readv([(990, 100), (0, 10), (2000, 5), (500, 0)]))
        assert blocks == [data[990:], data[:10], b"", b""]


@pytest.mark.parametrize(
    "size", [0, 1, 32767, 32768, 32769, 261119, 261120, 261121, 3 * 261120 + 7, 5_000_003]
)
def test_put_get_sha256(sftp: SFTPClient, tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    local = tmp_path / "local.bin"
    local.write_bytes(data)
    remote = tmp_path / "remote.bin"
    progress: list[tuple[int, int]] = []
    attrs = sftp.put(str(local), str(remote), callback=lambda a, b: progress.append((a, b)))
    assert attrs.st_size == size
    assert _file_sha(remote) == _sha(data)
    if size:
        assert progress[-1] == (size, size)
        assert [p[0] for p in progress] == sorted(p[0] for p in progress)
    else:
        assert progress == []
    back = tmp_path / "back.bin"
    got: list[tuple[int, int]] = []
    assert sftp.get(str(remote), str(back), callback=lambda a, b: got.append((a, b))) is None
    assert _file_sha(back) == _sha(data)
    if size:
        assert got[-1] == (size, size)
    buf = io.BytesIO()
    assert sftp.getfo(str(remote), buf, prefetch=False) == size
    assert _sha(buf.getvalue()) == _sha(data)
    buf = io.BytesIO()
    assert sftp.getfo(str(remote), buf, max_concurrent_prefetch_requests=2) == size
    assert buf.getvalue() == data
    with sftp.open(str(remote), "rb") as f:
        assert _sha(f.read()) == _sha(data)
    with sftp.open(str(remote), "rb") as f:
        f.prefetch()
        assert _sha(f.read()) == _sha(data)
    attrs = sftp.putfo(io.BytesIO(data), str(tmp_path / "fo.bin"), confirm=False)
    assert attrs.st_size is None
    assert _file_sha(tmp_path / "fo.bin") == _sha(data)


def test_putfo_without_readinto_and_file_size(sftp: SFTPClient, tmp_path: Path) -> None:
    class Source:  # only read(): the copy loop must not need readinto
        def __init__(self, data: bytes) -> None:
            self.data = data

        def read(self, n: int) -> bytes:
            chunk, self.data = self.data[:n], self.data[n:]
            return chunk

    data = os.urandom(700_000)
    calls: list[tuple[int, int]] = []
    sftp.putfo(Source(data), str(tmp_path / "x"), 12345, lambda a, b: calls.append((a, b)))  # type: ignore[arg-type]
    assert (tmp_path / "x").read_bytes() == data
    assert calls[-1] == (700_000, 12345)

    class Sink:  # only write(bytes)
        def __init__(self) -> None:
            self.parts: list[bytes] = []

        def write(self, b: bytes) -> None:
            assert isinstance(b, bytes)
            self.parts.append(b)

    sink = Sink()
    assert sftp.getfo(str(tmp_path / "x"), sink) == 700_000  # type: ignore[arg-type]
    assert b"".join(sink.parts) == data


def test_get_of_a_growing_file_reads_to_the_end(sftp: SFTPClient, tmp_path: Path) -> None:
    path = tmp_path / "grows"
    path.write_bytes(b"a" * 1000)
    seen = []

    def grow(done: int, total: int) -> None:
        seen.append((done, total))
        if len(seen) == 1:
            with open(path, "ab") as f:
                f.write(b"b" * 300_000)

    out = io.BytesIO()
    assert sftp.getfo(str(path), out, callback=grow) == 301_000
    assert out.getvalue() == b"a" * 1000 + b"b" * 300_000
    assert seen[0] == (1000, 1000)


# ---------------------------------------------------------------------------- directories


def test_listdir_ten_thousand_entries(sftp: SFTPClient, tmp_path: Path) -> None:
    big = tmp_path / "big"
    big.mkdir()
    names = {f"entry-{i:05d}" for i in range(10_000)}
    for name in names:
        os.close(os.open(big / name, os.O_CREAT | os.O_WRONLY, 0o640))
    (big / "entry-00007").write_bytes(b"seven")
    assert set(sftp.listdir(str(big))) == names
    attrs = sftp.listdir_attr(str(big))
    assert len(attrs) == 10_000
    by_name = {a.filename: a for a in attrs}
    seven = by_name["entry-00007"]
    assert seven.st_size == 5
    assert seven.st_mode is not None and stat.S_IMODE(seven.st_mode) == 0o640
    assert seven.longname.endswith("entry-00007")
    assert str(seven).startswith("-rw-r-----")
    for ahead in (1, 3, 50):
        assert {a.filename for a in sftp.listdir_iter(str(big), read_aheads=ahead)} == names
    # an abandoned iterator leaves the session usable
    it = sftp.listdir_iter(str(big))
    assert next(it).filename in names
    del it
    assert set(sftp.listdir(str(big))) == names
    with pytest.raises(FileNotFoundError):
        sftp.listdir(str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError):
        list(sftp.listdir_iter(str(tmp_path / "missing")))


def test_mkdir_rmdir_chdir_getcwd(sftp: SFTPClient, tmp_path: Path) -> None:
    assert sftp.getcwd() is None
    sftp.mkdir(str(tmp_path / "d"), 0o750)
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o750
    sftp.chdir(str(tmp_path))
    assert sftp.getcwd() == str(tmp_path)
    sftp.mkdir("sub")
    assert (tmp_path / "sub").is_dir()
    sftp.chdir("sub")
    assert sftp.getcwd() == str(tmp_path / "sub")
    with sftp.open("inside.txt", "w") as f:
        f.write(b"in")
    assert (tmp_path / "sub" / "inside.txt").read_bytes() == b"in"
    assert sftp.listdir() == ["inside.txt"]
    assert sftp.listdir(str(tmp_path / "d")) == []
    sftp.chdir("..")
    assert sftp.getcwd() == str(tmp_path)
    with pytest.raises(SFTPError) as info:
        sftp.chdir("sub/inside.txt")
    assert info.value.args[0] == errno.ENOTDIR
    with pytest.raises(FileNotFoundError):
        sftp.chdir("nowhere")
    with pytest.raises(OSError):
        sftp.rmdir("sub")  # not empty
    sftp.remove("sub/inside.txt")
    sftp.rmdir("sub")
    assert not (tmp_path / "sub").exists()
    sftp.chdir(None)
    assert sftp.getcwd() is None
    sftp.chdir("/")
    assert sftp.getcwd() == "/"
    assert sftp.stat(str(tmp_path).lstrip("/")).st_mode is not None


# ---------------------------------------------------------------------------- names


ODD_NAMES = [
    "ünïcødé ✓ 日本語.txt",
    "with space",
    " leading and trailing ",
    "-dash",
    "percent %s %d %%",
    "quote'and\"double",
    "new\nline",
    "tab\there",
    "back\\slash",
    "*?[glob]",
    "x" * 255,
    "emoji 🐍",
]


@pytest.mark.parametrize("name", ODD_NAMES, ids=range(len(ODD_NAMES)))
def test_odd_file_names(sftp: SFTPClient, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    with sftp.open(str(path), "w") as f:
        f.write(name.encode())
    assert path.read_bytes() == name.encode()
    assert sftp.listdir(str(tmp_path)) == [name]
    assert sftp.stat(str(path)).st_size == len(name.encode())
    sftp.rename(str(path), str(tmp_path / ("2" + name[1:])))
    sftp.remove(str(tmp_path / ("2" + name[1:])))
    assert sftp.listdir(str(tmp_path)) == []


def test_non_utf8_names_round_trip(sftp: SFTPClient, tmp_path: Path) -> None:
    raw = os.fsencode(tmp_path) + b"/bad-\xff\xfe-name"
    with open(raw, "wb") as f:
        f.write(b"bytes")
    (name,) = sftp.listdir(str(tmp_path))
    assert name == "bad-\udcff\udcfe-name"
    assert sftp.stat(str(tmp_path) + "/" + name).st_size == 5
    with sftp.open(f"{tmp_path}/{name}", "rb") as f:
        assert f.read() == b"bytes"
    assert sftp.stat(raw).st_size == 5  # bytes paths go out as they are
    sftp.remove(f"{tmp_path}/{name}")
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------------------- attributes


def test_stat_chmod_chown_utime_truncate(sftp: SFTPClient, tmp_path: Path) -> None:
    path = tmp_path / "attrs"
    path.write_bytes(b"0123456789")
    attrs = sftp.stat(str(path))
    local = path.stat()
    assert attrs.st_size == 10
    assert attrs.st_mode == local.st_mode
    assert (attrs.st_uid, attrs.st_gid) == (local.st_uid, local.st_gid)
    assert attrs.st_mtime == int(local.st_mtime)
    sftp.chmod(str(path), 0o604)
    assert stat.S_IMODE(path.stat().st_mode) == 0o604
    sftp.chown(str(path), 1234, 4321)
    assert (path.stat().st_uid, path.stat().st_gid) == (1234, 4321)
    sftp.utime(str(path), (1_000_000_000, 1_200_000_000))
    assert (path.stat().st_atime, path.stat().st_mtime) == (1_000_000_000, 1_200_000_000)
    before = time.time()
    sftp.utime(str(path), None)
    assert path.stat().st_mtime >= int(before)
    sftp.truncate(str(path), 4)
    assert path.read_bytes() == b"0123"
    sftp.truncate(str(path), 6)
    assert path.read_bytes() == b"0123\0\0"
    with sftp.open(str(path), "r+") as f:
        assert f.stat().st_size == 6
        f.chmod(0o640)
        f.chown(11, 12)
        f.truncate(2)
        f.utime((5, 7))
        assert f.stat().st_size == 2
    local = path.stat()
    assert stat.S_IMODE(local.st_mode) == 0o640
    assert (local.st_uid, local.st_gid, local.st_atime, local.st_mtime) == (11, 12, 5, 7)
    assert path.read_bytes() == b"01"
    assert repr(sftp.stat(str(path))).startswith("<SFTPAttributes: [ size=2 ")


def test_symlinks(sftp: SFTPClient, tmp_path: Path) -> None:
    target = tmp_path / "target.txt"
    target.write_bytes(b"target data")
    link = tmp_path / "link"
    sftp.symlink("target.txt", str(link))
    assert os.readlink(link) == "target.txt"
    assert sftp.readlink(str(link)) == "target.txt"
    assert sftp.stat(str(link)).st_size == len(b"target data")
    lattrs = sftp.lstat(str(link))
    assert lattrs.st_mode is not None and stat.S_ISLNK(lattrs.st_mode)
    assert sftp.normalize(str(link)) == str(target)
    with sftp.open(str(link)) as f:
        assert f.read() == b"target data"
    sftp.symlink(str(tmp_path / "absent"), str(tmp_path / "dangling"))
    with pytest.raises(FileNotFoundError):
        sftp.stat(str(tmp_path / "dangling"))
    assert sftp.lstat(str(tmp_path / "dangling")).st_mode is not None
    with pytest.raises(OSError):
        sftp.readlink(str(target))  # not a link
    sftp.lutime(str(link), (100, 200))
    assert os.lstat(link).st_mtime == 200
    assert target.stat().st_mtime != 200
    sftp.lchown(str(link), 77, 88)
    assert (os.lstat(link).st_uid, os.lstat(link).st_gid) == (77, 88)
    sftp.unlink(str(link))
    assert not os.path.lexists(link)
    assert target.exists()


def test_rename_posix_rename_hardlink(sftp: SFTPClient, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"A")
    b.write_bytes(b"B")
    with pytest.raises(OSError) as info:
        sftp.rename(str(a), str(b))  # SFTP v3 rename refuses to replace
    assert info.value.errno is None
    sftp.posix_rename(str(a), str(b))
    assert b.read_bytes() == b"A" and not a.exists()
    sftp.rename(str(b), str(a))
    assert a.read_bytes() == b"A"
    sftp.hardlink(str(a), str(b))
    assert os.stat(a).st_ino == os.stat(b).st_ino
    with pytest.raises(FileNotFoundError) as missing:
        sftp.rename(str(tmp_path / "nope"), str(tmp_path / "c"))
    assert missing.value.filename == str(tmp_path / "nope")
    assert missing.value.filename2 == str(tmp_path / "c")


def test_openssh_extensions(sftp: SFTPClient, tmp_path: Path) -> None:
    extensions = sftp.server_extensions()
    for name in ("posix-rename@openssh.com", "statvfs@openssh.com", "limits@openssh.com"):
        assert name in extensions
    vfs = sftp.statvfs(str(tmp_path))
    local = os.statvfs(tmp_path)
    assert (vfs.f_bsize, vfs.f_namemax, vfs.f_files) == (
        local.f_bsize,
        local.f_namemax,
        local.f_files,
    )
    assert vfs.f_fsid is not None
    assert sftp.expand_path("~") == os.path.expanduser("~" + sshd_user())
    path = tmp_path / "sync"
    with sftp.open(str(path), "w") as f:
        f.write(b"data")
        f.fsync()
        assert f.statvfs().f_bsize == local.f_bsize
        with pytest.raises(OSError, match="Operation unsupported"):
            f.check("sha1")  # OpenSSH does not implement check-file
    attrs = SFTPAttributes()
    attrs.st_mode = 0o600
    sftp.lsetstat(str(path), attrs)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sftp._transfer_sizes() == (261120, 261120)  # OpenSSH 9.x limits@openssh.com


def sshd_user() -> str:
    import pwd

    return pwd.getpwuid(os.geteuid()).pw_name


# ---------------------------------------------------------------------------- errors


def test_error_mapping(sftp: SFTPClient, tmp_path: Path) -> None:
    missing = str(tmp_path / "missing")
    for call in (
        lambda: sftp.stat(missing),
        lambda: sftp.lstat(missing),
        lambda: sftp.open(missing),
        lambda: sftp.remove(missing),
        lambda: sftp.rmdir(missing),
        lambda: sftp.chmod(missing, 0o600),
        lambda: sftp.listdir(missing),
        lambda: sftp.get(missing, str(tmp_path / "x")),
    ):
        with pytest.raises(FileNotFoundError) as info:
            call()
        assert info.value.errno == errno.ENOENT
        assert info.value.strerror == "No such file"
        assert info.value.filename == missing
        assert isinstance(info.value, IOError)
    # OpenSSH resolves a missing last component, but not a missing directory on the way
    assert sftp.normalize(missing) == missing
    with pytest.raises(FileNotFoundError):
        sftp.normalize(missing + "/deeper")
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(OSError) as failure:
        sftp.mkdir(str(tmp_path / "file"))
    assert failure.value.errno is None and failure.value.args == ("Failure",)
    with pytest.raises(OSError):
        sftp.remove(str(tmp_path))  # a directory


def test_permission_errors(sshd: SshdServer, tmp_path: Path) -> None:
    (tmp_path / "ro").write_bytes(b"read only")
    readonly_lines = ["Subsystem sftp internal-sftp -R"]
    with sshd.start_with(readonly_lines) as readonly, _session(readonly) as sftp:
        assert sftp.open(str(tmp_path / "ro")).read() == b"read only"
        for call in (
            lambda: sftp.open(str(tmp_path / "ro"), "w"),
            lambda: sftp.remove(str(tmp_path / "ro")),
            lambda: sftp.mkdir(str(tmp_path / "d")),
            lambda: sftp.put(__file__, str(tmp_path / "up")),
            lambda: sftp.chmod(str(tmp_path / "ro"), 0o777),
        ):
            with pytest.raises(PermissionError) as info:
                call()
            assert info.value.errno == errno.EACCES
            assert isinstance(info.value.filename, str)
    denying_lines = ["Subsystem sftp internal-sftp -P remove,rename"]
    with sshd.start_with(denying_lines) as denying, _session(denying) as sftp:
        with pytest.raises(PermissionError) as denied:
            sftp.remove(str(tmp_path / "ro"))
        assert denied.value.filename == str(tmp_path / "ro")
        assert (tmp_path / "ro").exists()
        sftp.chmod(str(tmp_path / "ro"), 0o600)


def test_pipelined_write_errors_surface_at_close(sftp: SFTPClient, tmp_path: Path) -> None:
    path = tmp_path / "readonly-handle"
    path.write_bytes(b"x")
    f = sftp.open(str(path), "r")
    f.set_pipelined(True)
    f._flags |= f.FLAG_WRITE  # write through a read-only handle: the server refuses
    f.write(b"y" * 10)  # pipelined: returns before the server answers
    with pytest.raises(OSError) as late:  # (OpenSSH answers "No such file" here)
        f.close()
    assert late.value.errno in (None, errno.ENOENT, errno.EACCES)
    assert path.read_bytes() == b"x"
    g = sftp.open(str(path), "r")
    g._flags |= g.FLAG_WRITE
    with pytest.raises(OSError):
        g.write(b"z")  # not pipelined: the write itself fails
    g.close()
    assert sftp.stat(str(path)).st_size == 1


def _open_by_server(server: SshdServer, path: Path) -> int:
    """How many file descriptors the server's processes hold on *path*."""
    count = 0
    for pid in _descendants(server.pid or 0):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == str(path):
                    count += 1
            except OSError:
                continue
    return count


def test_dropped_files_are_flushed_and_closed(sshd: SshdServer, tmp_path: Path) -> None:
    path = tmp_path / "dropped"
    with sshd.start_with([]) as private, _session(private) as sftp:
        f = sftp.open(str(path), "w", bufsize=4096)
        f.write(b"buffered data")
        assert _open_by_server(private, path) == 1
        del f  # no close(): the finalizer sends the buffered data and CLOSE, waiting for none
        gc.collect()
        assert sftp.stat(str(path)).st_size == 13
        assert _open_by_server(private, path) == 0
        # dropped while a send is under way (here: the send lock is held): the packets are
        # queued and go out first with the next request
        g = sftp.open(str(path), "a", bufsize=4096)
        g.write(b"+more")
        with sftp._engine._send_lock:
            del g
            gc.collect()
        assert sftp.stat(str(path)).st_size == 18
        assert _open_by_server(private, path) == 0
        assert path.read_bytes() == b"buffered data+more"


# ---------------------------------------------------------------------------- big files


def test_files_past_4_gib(sftp: SFTPClient, tmp_path: Path) -> None:
    path = tmp_path / "sparse.bin"
    size = 5 * GiB + 12345
    with open(path, "wb") as f:
        os.truncate(f.fileno(), size)
        os.pwrite(f.fileno(), b"marker-at-4G+1", 4 * GiB + 1)
        os.pwrite(f.fileno(), b"tail!", size - 5)
    assert sftp.stat(str(path)).st_size == size
    assert sftp.listdir_attr(str(tmp_path))[0].st_size == size
    with sftp.open(str(path), "r+b") as f:
        assert f.stat().st_size == size
        f.seek(4 * GiB + 1)
        assert f.tell() == 4 * GiB + 1
        assert f.read(14) == b"marker-at-4G+1"
        f.seek(-5, f.SEEK_END)
        assert f.tell() == size - 5
        assert f.read(100) == b"tail!"
        f.seek(4 * GiB + 100)
        f.write(b"written past 4 GiB")
        chunks = [(4 * GiB + 1, 6), (size - 2, 10), (4 * GiB + 100, 18), (3 * GiB, 4)]
        assert list(f.readv(chunks)) == [b"marker", b"l!", b"written past 4 GiB", b"\0" * 4]
        f.truncate(6 * GiB)
    with open(path, "rb") as f:
        assert os.pread(f.fileno(), 18, 4 * GiB + 100) == b"written past 4 GiB"
    assert path.stat().st_size == 6 * GiB
    sftp.truncate(str(path), 4 * GiB + 3)
    assert sftp.stat(str(path)).st_size == 4 * GiB + 3


# ---------------------------------------------------------------------------- readv, prefetch


def test_readv_and_prefetch(sftp: SFTPClient, tmp_path: Path) -> None:
    data = os.urandom(3_000_000)
    path = tmp_path / "rv.bin"
    path.write_bytes(data)
    chunks = [(2_999_000, 5000), (0, 1), (1_000_000, 700_000), (17, 300_000), (2_500_000, 3)]
    with sftp.open(str(path), "rb") as f:
        assert list(f.readv(chunks)) == [data[o : o + n] for o, n in chunks]
        assert list(f.readv(chunks, max_concurrent_prefetch_requests=1)) == [
            data[o : o + n] for o, n in chunks
        ]
    with sftp.open(str(path), "rb") as f:
        f.prefetch(max_concurrent_requests=4)
        assert len(f._prefetch_extents) <= 4
        pieces = []
        while block := f.read(123_457):
            pieces.append(block)
            assert len(f._prefetch_extents) + len(f._prefetch_data) <= 5
        assert b"".join(pieces) == data
    with sftp.open(str(path), "rb") as f:
        f.prefetch(len(data))
        f.seek(2_000_000)  # jump ahead: prefetched data there is used, the rest is kept
        assert f.read(10) == data[2_000_000:2_000_010]
        f.seek(10)
        assert f.read(10) == data[10:20]
        for line in f:  # iteration goes through the prefetch buffer too
            assert line
        assert f.tell() == len(data)


def test_prefetch_cancel(sftp: SFTPClient, tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    with open(path, "wb") as f:
        f.truncate(256 << 20)
    f = sftp.open(str(path), "rb")
    f.prefetch()
    assert 0 < len(f._prefetch_extents) <= 64  # bounded: nothing like 256 MiB requested
    assert f.read(10) == b"\0" * 10
    start = time.monotonic()
    f.close()  # cancels at once: the outstanding replies are dropped
    assert time.monotonic() - start < 2
    assert sftp.stat(str(path)).st_size == 256 << 20
    # a download stopped by its callback
    calls = []

    class Stop(Exception):
        pass

    def stop(done: int, total: int) -> None:
        calls.append(done)
        if len(calls) == 3:
            raise Stop

    start = time.monotonic()
    with pytest.raises(Stop):
        sftp.get(str(path), str(tmp_path / "partial"), callback=stop)
    assert time.monotonic() - start < 5
    assert len(calls) == 3 and calls[-1] < 256 << 20
    assert sftp.listdir(str(tmp_path)) is not None  # the session still works
    (tmp_path / "small").write_bytes(b"small")
    assert sftp.open(str(tmp_path / "small")).read() == b"small"


# ---------------------------------------------------------------------------- threads


def test_concurrent_transfers_on_one_client(sftp: SFTPClient, tmp_path: Path) -> None:
    blobs = {f"blob{i}": os.urandom(1_000_000 + i * 77_777) for i in range(6)}
    for name, data in blobs.items():
        (tmp_path / name).write_bytes(data)
    errors: list[BaseException] = []
    results: dict[str, str] = {}

    def worker(name: str) -> None:
        try:
            out = io.BytesIO()
            sftp.getfo(str(tmp_path / name), out)
            results[name] = _sha(out.getvalue())
            sftp.putfo(io.BytesIO(blobs[name]), str(tmp_path / f"{name}.up"))
            with sftp.open(str(tmp_path / name), "rb") as f:
                f.prefetch()
                assert f.read() == blobs[name]
            for _ in range(20):
                assert sftp.stat(str(tmp_path / name)).st_size == len(blobs[name])
        except BaseException as exc:
            errors.append(exc)

    def lister() -> None:
        try:
            for _ in range(30):
                assert "blob0" in sftp.listdir(str(tmp_path))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in blobs]
    threads.append(threading.Thread(target=lister))
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    for name, data in blobs.items():
        assert results[name] == _sha(data)
        assert _file_sha(tmp_path / f"{name}.up") == _sha(data)


# ---------------------------------------------------------------------------- failures


def test_timeout_while_the_server_is_stopped(sshd: SshdServer, tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"content")
    with sshd.start_with([]) as private, _session(private) as sftp:
        assert sftp.stat(str(tmp_path / "f")).st_size == 7
        pids = _descendants(private.pid or 0)
        assert pids
        sftp.get_channel().settimeout(0.5)
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        try:
            start = time.monotonic()
            with pytest.raises(TimeoutError):
                sftp.stat(str(tmp_path / "f"))
            assert time.monotonic() - start < 2
            with pytest.raises(TimeoutError):
                sftp.listdir(str(tmp_path))
        finally:
            for pid in pids:
                os.kill(pid, signal.SIGCONT)
        sftp.get_channel().settimeout(10)
        # the late replies are dropped; the session goes on
        assert sftp.stat(str(tmp_path / "f")).st_size == 7
        assert sftp.open(str(tmp_path / "f")).read() == b"content"


def test_killed_session_fails_promptly(sshd: SshdServer, tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    with open(path, "wb") as f:
        f.truncate(512 << 20)
    with sshd.start_with([]) as private:
        t, sftp = _connect(private)
        try:
            killed_at: list[float] = []

            def kill_once(done: int, total: int) -> None:
                if not killed_at:
                    for pid in _descendants(private.pid or 0):
                        os.kill(pid, signal.SIGKILL)
                    killed_at.append(time.monotonic())

            waiter_error: list[BaseException] = []

            def other_waiter() -> None:  # a second thread blocked on the same session
                try:
                    while True:
                        sftp.stat(str(path))
                except BaseException as exc:
                    waiter_error.append(exc)

            helper = threading.Thread(target=other_waiter)
            helper.start()
            with pytest.raises((SSHException, OSError)):
                sftp.get(str(path), str(tmp_path / "out"), callback=kill_once)
            assert killed_at and time.monotonic() - killed_at[0] < 2
            helper.join(5)
            assert not helper.is_alive()
            assert isinstance(waiter_error[0], SSHException | OSError)
            with pytest.raises((SSHException, OSError)):
                sftp.listdir(str(tmp_path))
        finally:
            sftp.close()
            t.close()


def test_close_wakes_a_blocked_request(sshd: SshdServer, tmp_path: Path) -> None:
    with sshd.start_with([]) as private:
        t, sftp = _connect(private)
        pids = _descendants(private.pid or 0)
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        try:
            errors: list[BaseException] = []

            def blocked() -> None:
                try:
                    sftp.stat(str(tmp_path))
                except BaseException as exc:
                    errors.append(exc)

            thread = threading.Thread(target=blocked)
            thread.start()
            thread.join(0.3)
            assert thread.is_alive()
            t.close()  # the transport goes away: the waiter must not hang
            thread.join(5)
            assert not thread.is_alive()
            assert isinstance(errors[0], SSHException | OSError)
        finally:
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass
            t.close()

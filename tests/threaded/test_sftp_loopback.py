"""sshwire's SFTPClient against sshwire's SFTPServer, over loopback.

The server is the embedded one (``SSHServer(sftp_root=...)``); the client is
``SSHClient.open_sftp()``. Every client method is used once and its effect checked on the
served directory; then 64 MiB each way (sha256) and concurrent transfers on one connection
and on several. The same server is tested against OpenSSH's and paramiko's clients in
tests/interop, and the same client against OpenSSH's sftp-server elsewhere.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from sshwire.client import SSHClient
from sshwire.sftp_attr import SFTPAttributes
from sshwire.sftp_client import SFTPClient
from sshwire.testing import SSHServer

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("loopback-root")


@pytest.fixture(scope="module")
def server(root: Path) -> Iterator[SSHServer]:
    srv = SSHServer(sftp_root=root)
    srv.add_user("tester")
    with srv:
        yield srv
        assert srv.wait_until_idle(20)


@pytest.fixture
def client(server: SSHServer) -> Iterator[SSHClient]:
    c = server.connect_client()
    yield c
    c.close()


@pytest.fixture
def sftp(client: SSHClient) -> Iterator[SFTPClient]:
    with client.open_sftp() as session:
        assert isinstance(session, SFTPClient)
        yield session


@pytest.fixture
def area(root: Path, request: pytest.FixtureRequest) -> tuple[Path, str]:
    name = request.node.name.replace("[", "_").replace("]", "")
    folder = root / name
    folder.mkdir()
    return folder, f"/{name}"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# ------------------------------------------------------------------------------------ methods


def test_listing(sftp: SFTPClient, area: tuple[Path, str]) -> None:
    folder, remote = area
    names = {f"n{i:04d}" for i in range(1500)}
    for name in names:
        (folder / name).write_bytes(b"")
    assert set(sftp.listdir(remote)) == names
    attrs = sftp.listdir_attr(remote)
    assert {a.filename for a in attrs} == names
    assert all(stat.S_ISREG(a.st_mode or 0) and a.st_size == 0 for a in attrs)
    assert {a.filename for a in sftp.listdir_iter(remote, read_aheads=8)} == names


def test_files(sftp: SFTPClient, area: tuple[Path, str]) -> None:
    folder, remote = area
    with sftp.open(f"{remote}/f", "wb") as f:
        f.write(b"line one\nline two\n")
    with sftp.open(f"{remote}/f", "ab") as f:
        f.write(b"line three\n")
    with sftp.file(f"{remote}/f", "rb") as f:
        assert f.readline() == b"line one\n"
        assert f.readlines() == [b"line two\n", b"line three\n"]
    with sftp.open(f"{remote}/f", "r+b") as f:
        f.seek(5)
        f.write(b"ONE")
        f.seek(0)
        assert f.read(8) == b"line ONE"
        assert f.tell() == 8
        st = f.stat()
        assert st.st_size == 29
        f.chmod(0o600)
        f.truncate(8)
        f.utime((1_000_000_000, 1_100_000_000))
        f.fsync()
        assert f.statvfs().f_bsize > 0
    local = folder / "f"
    assert local.read_bytes() == b"line ONE"
    assert stat.S_IMODE(local.stat().st_mode) == 0o600
    assert local.stat().st_mtime == 1_100_000_000
    with pytest.raises(OSError):
        sftp.open(f"{remote}/f", "wbx")
    data = os.urandom(200_000)
    (folder / "g").write_bytes(data)
    with sftp.open(f"{remote}/g", "rb") as f:
        assert list(f.readv([(5, 10), (150_000, 50_000)])) == [data[5:15], data[150_000:]]
        assert f.check("sha256") == hashlib.sha256(data).digest()
        f.seek(0)
        f.prefetch()
        assert f.read() == data


def test_namespace(sftp: SFTPClient, area: tuple[Path, str]) -> None:
    folder, remote = area
    sftp.mkdir(f"{remote}/d", 0o700)
    assert stat.S_IMODE((folder / "d").stat().st_mode) == 0o700 & ~_umask()
    (folder / "a").write_text("a")
    (folder / "b").write_text("b")
    with pytest.raises(OSError):
        sftp.rename(f"{remote}/a", f"{remote}/b")
    sftp.posix_rename(f"{remote}/a", f"{remote}/b")
    assert (folder / "b").read_text() == "a" and not (folder / "a").exists()
    sftp.rename(f"{remote}/b", f"{remote}/d/c")
    sftp.symlink("d/c", f"{remote}/s")
    assert sftp.readlink(f"{remote}/s") == "d/c"
    assert stat.S_ISLNK(sftp.lstat(f"{remote}/s").st_mode or 0)
    assert sftp.stat(f"{remote}/s").st_size == 1
    assert sftp.normalize(f"{remote}/s") == f"{remote}/d/c"
    sftp.chmod(f"{remote}/d/c", 0o640)
    sftp.truncate(f"{remote}/d/c", 3)
    sftp.utime(f"{remote}/d/c", (1_234_567_890, 1_234_567_891))
    st = (folder / "d" / "c").stat()
    assert (stat.S_IMODE(st.st_mode), st.st_mtime, st.st_size) == (0o640, 1_234_567_891, 3)
    if os.geteuid() == 0:
        sftp.chown(f"{remote}/d/c", 1001, 1002)
        assert ((folder / "d" / "c").stat().st_uid, (folder / "d" / "c").stat().st_gid) == (
            1001,
            1002,
        )
    sftp.chdir(remote)
    assert sftp.getcwd() == remote
    assert sorted(sftp.listdir()) == ["d", "s"]
    sftp.unlink("s")
    sftp.remove("d/c")
    sftp.rmdir("d")
    assert sftp.listdir() == []
    assert sftp.get_channel() is not None


def test_openssh_extensions(sftp: SFTPClient, area: tuple[Path, str]) -> None:
    folder, remote = area
    extensions = sftp.server_extensions()
    for name in ("posix-rename@openssh.com", "statvfs@openssh.com", "hardlink@openssh.com"):
        assert name in extensions
    (folder / "t").write_text("t")
    sftp.hardlink(f"{remote}/t", f"{remote}/h")
    assert (folder / "h").stat().st_ino == (folder / "t").stat().st_ino
    vfs = sftp.statvfs(remote)
    assert vfs.f_blocks == os.statvfs(folder).f_blocks
    assert sftp.expand_path("~") == "/"
    assert sftp.expand_path(f"~{remote}/t") == f"{remote}/t"
    os.symlink("t", folder / "l")
    sftp.lutime(f"{remote}/l", (1_000_000, 2_000_000))
    assert os.lstat(folder / "l").st_mtime == 2_000_000
    assert (folder / "t").stat().st_mtime != 2_000_000
    attrs = SFTPAttributes()
    attrs.st_mode = 0o604
    sftp.lsetstat(f"{remote}/t", attrs)
    assert stat.S_IMODE((folder / "t").stat().st_mode) == 0o604
    if os.geteuid() == 0:
        sftp.lchown(f"{remote}/l", 1234, 4321)
        assert (os.lstat(folder / "l").st_uid, (folder / "t").stat().st_uid) != (1234, 1234)
        assert os.lstat(folder / "l").st_uid == 1234


def test_errors(sftp: SFTPClient, area: tuple[Path, str]) -> None:
    folder, remote = area
    with pytest.raises(FileNotFoundError) as info:
        sftp.stat(f"{remote}/nothing")
    assert info.value.errno == errno.ENOENT
    with pytest.raises(FileNotFoundError):
        sftp.open(f"{remote}/nothing/deeper", "wb")
    (folder / "full").mkdir()
    (folder / "full" / "x").touch()
    with pytest.raises(OSError):
        sftp.rmdir(f"{remote}/full")
    with pytest.raises(FileNotFoundError):
        sftp.stat("/../../../../etc/passwd")  # outside the root: not there


# ------------------------------------------------------------------------------------ transfers


def test_64_mib_put_get(sftp: SFTPClient, area: tuple[Path, str], tmp_path: Path) -> None:
    folder, remote = area
    data = os.urandom(64 * 1024 * 1024)
    want = hashlib.sha256(data).hexdigest()
    src = tmp_path / "src"
    src.write_bytes(data)
    progress: list[int] = []
    sftp.put(str(src), f"{remote}/big", callback=lambda done, total: progress.append(done))
    assert progress[-1] == len(data)
    assert hashlib.sha256((folder / "big").read_bytes()).hexdigest() == want
    back = tmp_path / "back"
    sftp.get(f"{remote}/big", str(back))
    assert hashlib.sha256(back.read_bytes()).hexdigest() == want
    buf = io.BytesIO()
    sftp.getfo(f"{remote}/big", buf)
    assert hashlib.sha256(buf.getvalue()).hexdigest() == want
    sftp.putfo(io.BytesIO(data[:5_000_001]), f"{remote}/fo")
    assert (folder / "fo").read_bytes() == data[:5_000_001]


def test_concurrent_transfers(server: SSHServer, area: tuple[Path, str]) -> None:
    folder, remote = area
    payloads = {i: os.urandom(4 * 1024 * 1024 + i) for i in range(8)}
    shared = server.connect_client()
    errors: list[BaseException] = []

    def work(i: int) -> None:
        own = server.connect_client() if i % 2 else None
        try:
            with (own or shared).open_sftp() as s:
                s.putfo(io.BytesIO(payloads[i]), f"{remote}/p{i}")
                out = io.BytesIO()
                s.getfo(f"{remote}/p{i}", out)
                assert out.getvalue() == payloads[i]
        except BaseException as exc:
            errors.append(exc)
        finally:
            if own is not None:
                own.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in payloads]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    shared.close()
    assert not errors, errors
    for i, data in payloads.items():
        assert (folder / f"p{i}").read_bytes() == data

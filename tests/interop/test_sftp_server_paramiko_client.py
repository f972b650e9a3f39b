"""paramiko 5.1's SFTPClient against sshwire's SFTP server (SFTPServer over the embedded server).

paramiko's client is an independent SFTP implementation, so every reply format the server
sends is checked by someone else's decoder: each SFTPClient and SFTPFile method is used, and
its effect is checked on the served directory. Also: a 32 MiB round trip (sha256), files
beyond 4 GiB (sparse), errors mapped to errno, and concurrent sessions.
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

import paramiko
import pytest

from _server_harness import PASSWORD as HARNESS_PASSWORD
from _server_harness import USER as HARNESS_USER
from _server_harness import make_host_keys, sshwire_server
from sshwire.sftp import SFTP_PERMISSION_DENIED
from sshwire.sftp_attr import SFTPAttributes
from sshwire.sftp_handle import SFTPHandle
from sshwire.sftp_server import SFTPServer
from sshwire.testing import RootedSFTPServerInterface, SSHServer

pytestmark = pytest.mark.timeout(120)

USER, PASSWORD = "alice", "wonderland"


def _connect(server: SSHServer) -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect(
        server.connect_host,
        server.port,
        username=USER,
        password=PASSWORD,
        allow_agent=False,
        look_for_keys=False,
        timeout=20,
    )
    return client


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SSHServer]:
    root = tmp_path_factory.mktemp("paramiko-sftp-root")
    with SSHServer(passwords={USER: PASSWORD}, sftp_root=root) as srv:
        yield srv
        assert srv.wait_until_idle(20)


@pytest.fixture(scope="module")
def root(server: SSHServer) -> Path:
    handler = server._settings.subsystems["sftp"]
    assert not isinstance(handler, str)
    return Path(handler[1][1])


@pytest.fixture
def sftp(server: SSHServer, root: Path) -> Iterator[paramiko.SFTPClient]:
    client = _connect(server)
    try:
        with client.open_sftp() as session:
            yield session
    finally:
        client.close()


@pytest.fixture
def area(root: Path, request: pytest.FixtureRequest) -> tuple[Path, str]:
    name = request.node.name.replace("[", "_").replace("]", "")
    folder = root / name
    folder.mkdir()
    return folder, f"/{name}"


# ------------------------------------------------------------------------------------ the client


def test_listdir_variants(sftp: paramiko.SFTPClient, area: tuple[Path, str]) -> None:
    folder, remote = area
    for i in range(120):  # more than one READDIR reply
        (folder / f"f{i:03d}").write_bytes(b"x" * i)
    expected = {f"f{i:03d}" for i in range(120)}
    assert set(sftp.listdir(remote)) == expected
    attrs = {a.filename: a for a in sftp.listdir_attr(remote)}
    assert set(attrs) == expected
    assert attrs["f007"].st_size == 7
    assert stat.S_ISREG(attrs["f007"].st_mode or 0)
    assert "f007" in attrs["f007"].longname
    assert {a.filename for a in sftp.listdir_iter(remote, read_aheads=5)} == expected


def test_open_modes(sftp: paramiko.SFTPClient, area: tuple[Path, str]) -> None:
    folder, remote = area
    with sftp.open(f"{remote}/f", "w") as f:
        f.write(b"hello\nworld\n")
    assert (folder / "f").read_bytes() == b"hello\nworld\n"
    with sftp.open(f"{remote}/f", "a") as f:
        f.write(b"more\n")
    with sftp.file(f"{remote}/f", "rb") as f:
        assert f.readline() == b"hello\n"
        assert f.readlines() == [b"world\n", b"more\n"]
    with sftp.open(f"{remote}/f", "r+") as f:
        f.seek(6)
        f.write(b"WORLD")
        assert f.tell() == 11
        f.seek(0)
        assert f.read(5) == b"hello"
    assert (folder / "f").read_bytes() == b"hello\nWORLD\nmore\n"
    with sftp.open(f"{remote}/f", "w+") as f:
        f.writelines([b"a", b"b"])
        f.flush()
        f.seek(0)
        buf = bytearray(2)
        assert f.readinto(buf) == 2 and buf == b"ab"
    with pytest.raises(OSError):
        sftp.open(f"{remote}/f", "wx")
    with sftp.open(f"{remote}/new", "wx") as f:
        f.write(b"exclusive")
    assert (folder / "new").read_bytes() == b"exclusive"


def test_file_methods(sftp: paramiko.SFTPClient, area: tuple[Path, str]) -> None:
    folder, remote = area
    data = os.urandom(300_000)
    (folder / "data").write_bytes(data)
    with sftp.open(f"{remote}/data", "r+") as f:
        st = f.stat()
        assert st.st_size == len(data)
        chunks = [(0, 10), (1000, 70000), (299_990, 10)]
        assert list(f.readv(chunks)) == [data[o : o + n] for o, n in chunks]
        f.seek(0)
        f.prefetch()
        assert f.read() == data
        for algorithm in ("sha1", "md5", "sha256"):
            digest = f.check(algorithm, 0, 0, 0)
            assert digest == hashlib.new(algorithm, data).digest()
        blocks = f.check("sha1", 1000, 4096 * 3, 4096)
        want = b"".join(
            hashlib.sha1(data[o : o + 4096]).digest() for o in range(1000, 1000 + 3 * 4096, 4096)
        )
        assert blocks == want
        f.chmod(0o640)
        f.utime((1_000_000, 2_000_000))
        f.truncate(1000)
        f.set_pipelined(True)
        f.seek(0, io.SEEK_END)
        f.write(b"tail")
    st_local = (folder / "data").stat()
    assert stat.S_IMODE(st_local.st_mode) == 0o640
    assert (folder / "data").read_bytes() == data[:1000] + b"tail"
    if os.geteuid() == 0:
        with sftp.open(f"{remote}/data", "r") as f:
            f.chown(1234, 4321)
        assert ((folder / "data").stat().st_uid, (folder / "data").stat().st_gid) == (1234, 4321)


def test_namespace_methods(sftp: paramiko.SFTPClient, area: tuple[Path, str]) -> None:
    folder, remote = area
    sftp.mkdir(f"{remote}/d", 0o750)
    assert stat.S_IMODE((folder / "d").stat().st_mode) == 0o750 & ~_umask()
    (folder / "d" / "x").write_text("x")
    (folder / "y").write_text("y")
    with pytest.raises(OSError):
        sftp.rename(f"{remote}/y", f"{remote}/d/x")  # RENAME never replaces
    sftp.posix_rename(f"{remote}/y", f"{remote}/d/x")
    assert (folder / "d" / "x").read_text() == "y"
    sftp.rename(f"{remote}/d/x", f"{remote}/z")
    assert (folder / "z").read_text() == "y"
    sftp.symlink("z", f"{remote}/link")
    assert os.readlink(folder / "link") == "z"
    assert sftp.readlink(f"{remote}/link") == "z"
    assert stat.S_ISLNK(sftp.lstat(f"{remote}/link").st_mode or 0)
    assert stat.S_ISREG(sftp.stat(f"{remote}/link").st_mode or 0)
    assert sftp.normalize(f"{remote}/link") == f"{remote}/z"
    assert sftp.normalize(f"{remote}/d/../d/./") == f"{remote}/d"
    sftp.chmod(f"{remote}/z", 0o604)
    assert stat.S_IMODE((folder / "z").stat().st_mode) == 0o604
    sftp.utime(f"{remote}/z", (1_500_000_000, 1_600_000_000))
    st = sftp.stat(f"{remote}/z")
    assert (st.st_atime, st.st_mtime) == (1_500_000_000, 1_600_000_000)
    sftp.truncate(f"{remote}/z", 10)
    assert (folder / "z").read_bytes() == b"y" + b"\0" * 9
    if os.geteuid() == 0:
        sftp.chown(f"{remote}/z", 4321, 1234)
        assert ((folder / "z").stat().st_uid, (folder / "z").stat().st_gid) == (4321, 1234)
    sftp.chdir(remote)
    assert sftp.getcwd() == remote
    assert sorted(sftp.listdir()) == ["d", "link", "z"]
    sftp.remove("link")
    sftp.unlink("z")
    sftp.rmdir("d")
    assert sftp.listdir() == []
    assert sftp.get_channel() is not None


def test_put_get_and_file_objects(
    sftp: paramiko.SFTPClient, area: tuple[Path, str], tmp_path: Path
) -> None:
    folder, remote = area
    data = os.urandom(1_234_567)
    src = tmp_path / "src"
    src.write_bytes(data)
    progress: list[tuple[int, int]] = []
    attrs = sftp.put(str(src), f"{remote}/up", callback=lambda a, b: progress.append((a, b)))
    assert attrs.st_size == len(data)
    assert progress[-1] == (len(data), len(data))
    assert (folder / "up").read_bytes() == data
    sftp.putfo(io.BytesIO(data[:1000]), f"{remote}/fo", confirm=True)
    assert (folder / "fo").read_bytes() == data[:1000]
    for prefetch in (True, False):
        out = tmp_path / f"out-{prefetch}"
        sftp.get(f"{remote}/up", str(out), prefetch=prefetch)
        assert out.read_bytes() == data
    buf = io.BytesIO()
    sftp.getfo(f"{remote}/up", buf, max_concurrent_prefetch_requests=4)
    assert buf.getvalue() == data


def test_32_mib_round_trip(
    sftp: paramiko.SFTPClient, area: tuple[Path, str], tmp_path: Path
) -> None:
    folder, remote = area
    data = os.urandom(32 * 1024 * 1024)
    src = tmp_path / "big"
    src.write_bytes(data)
    want = hashlib.sha256(data).hexdigest()
    sftp.put(str(src), f"{remote}/big")
    assert hashlib.sha256((folder / "big").read_bytes()).hexdigest() == want
    back = tmp_path / "big-back"
    sftp.get(f"{remote}/big", str(back))
    assert hashlib.sha256(back.read_bytes()).hexdigest() == want


def test_errors_carry_errno(sftp: paramiko.SFTPClient, area: tuple[Path, str]) -> None:
    folder, remote = area
    for call in (
        lambda: sftp.stat(f"{remote}/missing"),
        lambda: sftp.open(f"{remote}/missing"),
        lambda: sftp.remove(f"{remote}/missing"),
        lambda: sftp.listdir(f"{remote}/missing"),
        lambda: sftp.open(f"{remote}/missing/deeper/file", "w"),
    ):
        with pytest.raises(FileNotFoundError) as info:
            call()
        assert info.value.errno == errno.ENOENT
    (folder / "full").mkdir()
    (folder / "full" / "f").touch()
    with pytest.raises(OSError, match="Failure"):
        sftp.rmdir(f"{remote}/full")


def test_files_beyond_4_gib(sftp: paramiko.SFTPClient, area: tuple[Path, str]) -> None:
    folder, remote = area
    big = folder / "sparse"
    far = (4 << 30) + 12345
    with open(big, "wb") as f:
        f.truncate(5 << 30)
        f.seek(far)
        f.write(b"past four GiB")
    assert sftp.stat(f"{remote}/sparse").st_size == 5 << 30
    with sftp.open(f"{remote}/sparse", "r+") as f:
        f.seek(far)
        assert f.read(13) == b"past four GiB"
        f.seek((4 << 30) + (512 << 20))
        f.write(b"written far away")
        f.seek(-4, io.SEEK_END)
        assert f.read() == b"\0" * 4
    with open(big, "rb") as f:
        f.seek((4 << 30) + (512 << 20))
        assert f.read(16) == b"written far away"


def test_concurrent_sessions(server: SSHServer, area: tuple[Path, str]) -> None:
    folder, remote = area
    payloads = {i: os.urandom(2 * 1024 * 1024 + i) for i in range(6)}
    errors: list[BaseException] = []
    client = _connect(server)  # three sessions on one connection, three on their own

    def work(i: int) -> None:
        own = _connect(server) if i % 2 else None
        try:
            with (own or client).open_sftp() as s:
                with s.open(f"{remote}/c{i}", "w") as f:
                    f.set_pipelined(True)
                    f.write(payloads[i])
                with s.open(f"{remote}/c{i}") as f:
                    f.prefetch()
                    assert f.read() == payloads[i]
        except BaseException as exc:
            errors.append(exc)
        finally:
            if own is not None:
                own.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in payloads]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    client.close()
    assert not errors, errors
    for i, data in payloads.items():
        assert (folder / f"c{i}").read_bytes() == data


# ------------------------------------------------------------------------------------ custom hooks


class _Guarded(RootedSFTPServerInterface):
    """Refuses everything under /private, as an application's policy would."""

    def _denied(self, path: str) -> bool:
        return self.canonicalize(path) in ("/private",) or str(self.canonicalize(path)).startswith(
            "/private/"
        )

    def open(self, path: str, flags: int, attr: SFTPAttributes) -> SFTPHandle | int:
        return SFTP_PERMISSION_DENIED if self._denied(path) else super().open(path, flags, attr)

    def stat(self, path: str) -> SFTPAttributes | int:
        return SFTP_PERMISSION_DENIED if self._denied(path) else super().stat(path)

    def list_folder(self, path: str) -> list[SFTPAttributes] | int:
        return SFTP_PERMISSION_DENIED if self._denied(path) else super().list_folder(path)


def test_permission_denied_from_a_hook(tmp_path: Path) -> None:
    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "secret").write_text("s")
    (tmp_path / "public").write_text("p")
    srv = SSHServer(passwords={USER: PASSWORD})
    srv.set_subsystem_handler("sftp", SFTPServer, _Guarded, str(tmp_path))
    with srv:
        client = _connect(srv)
        try:
            with client.open_sftp() as s:
                assert s.open("/public").read() == b"p"
                for call in (
                    lambda: s.open("/private/secret"),
                    lambda: s.stat("/private/../private/secret"),
                    lambda: s.listdir("/private"),
                ):
                    with pytest.raises(PermissionError) as info:
                        call()
                    assert info.value.errno == errno.EACCES
        finally:
            client.close()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_plain_transport_subsystem_handler(tmp_path: Path) -> None:
    """paramiko's way: Transport.set_subsystem_handler("sftp", SFTPServer, interface, ...)."""
    (tmp_path / "hello.txt").write_text("hello")

    def setup(transport: object) -> None:
        transport.set_subsystem_handler(  # type: ignore[attr-defined]
            "sftp", SFTPServer, RootedSFTPServerInterface, str(tmp_path)
        )

    with sshwire_server(make_host_keys(), setup=setup) as srv:
        t = paramiko.Transport(srv.address)
        try:
            t.connect(username=HARNESS_USER, password=HARNESS_PASSWORD)
            with paramiko.SFTPClient.from_transport(t) as s:  # type: ignore[union-attr]
                assert s.listdir("/") == ["hello.txt"]
                with s.open("/hello.txt") as f:
                    assert f.read() == b"hello"
                s.mkdir("/made")
            assert (tmp_path / "made").is_dir()
        finally:
            t.close()

"""``SFTPClient`` against a second, independent server: paramiko 5.1's ``SFTPServer``.

The server side is paramiko's SFTP subsystem over a small ``SFTPServerInterface`` written here
that serves a temporary directory (paths are relative to it; a path containing ``forbidden``
answers ``SFTP_PERMISSION_DENIED``). paramiko's server announces ``check-file`` and not
``limits@openssh.com``, so the client must fall back to 32 KiB requests, and it processes
requests strictly one after the other in its own thread.

Most scenarios run twice, with sshwire's client and with paramiko's own client on the same
server, and their observable results (data, listings, attributes, exception types, errno,
``strerror``, ``args``) must agree.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import posixpath
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paramiko
import pytest
from paramiko.sftp_attr import SFTPAttributes as PSFTPAttributes

import sshwire
from sshwire.sftp_client import SFTPClient
from sshwire.transport import Transport

pytestmark = pytest.mark.timeout(120)

USER, PASSWORD = "sftp-user", "sftp-pass"


class _Policy(paramiko.ServerInterface):  # type: ignore[misc]
    def get_allowed_auths(self, username: str) -> str:
        return "password"

    def check_auth_password(self, username: str, password: str) -> int:
        ok = (username, password) == (USER, PASSWORD)
        return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED


class _Handle(paramiko.SFTPHandle):  # type: ignore[misc]
    filename = ""

    def stat(self) -> Any:
        try:
            return PSFTPAttributes.from_stat(os.fstat(self.readfile.fileno()))
        except OSError as exc:
            return paramiko.SFTPServer.convert_errno(exc.errno)

    def chattr(self, attr: Any) -> int:
        try:
            paramiko.SFTPServer.set_file_attr(self.filename, attr)
        except OSError as exc:
            return paramiko.SFTPServer.convert_errno(exc.errno)  # type: ignore[no-any-return]
        return paramiko.SFTP_OK


class _TreeSFTP(paramiko.SFTPServerInterface):  # type: ignore[misc]
    """Serves the directory *root*: ``/x`` on the wire is ``root/x`` on disk."""

    def __init__(self, server: Any, root: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(server, *args, **kwargs)
        self.root = root

    def canonicalize(self, path: str) -> str:
        return posixpath.normpath(posixpath.join("/", path))

    def _real(self, path: str) -> str:
        return self.root + self.canonicalize(path)

    def _run(self, path: str, fn: Callable[[str], Any]) -> Any:
        if "forbidden" in path:
            return paramiko.SFTP_PERMISSION_DENIED
        try:
            return fn(self._real(path))
        except OSError as exc:
            return paramiko.SFTPServer.convert_errno(exc.errno)

    def list_folder(self, path: str) -> Any:
        def listing(real: str) -> list[Any]:
            out = []
            for name in os.listdir(real):
                attrs = PSFTPAttributes.from_stat(os.lstat(os.path.join(real, name)))
                attrs.filename = name
                out.append(attrs)
            return out

        return self._run(path, listing)

    def stat(self, path: str) -> Any:
        return self._run(path, lambda real: PSFTPAttributes.from_stat(os.stat(real)))

    def lstat(self, path: str) -> Any:
        return self._run(path, lambda real: PSFTPAttributes.from_stat(os.lstat(real)))

    def open(self, path: str, flags: int, attr: Any) -> Any:
        def opener(real: str) -> Any:
            mode = getattr(attr, "st_mode", None) or 0o666
            fd = os.open(real, flags, mode)
            if flags & os.O_WRONLY:
                fmode = "ab" if flags & os.O_APPEND else "wb"
            elif flags & os.O_RDWR:
                fmode = "a+b" if flags & os.O_APPEND else "r+b"
            else:
                fmode = "rb"
            handle = _Handle(flags)
            handle.filename = real
            handle.readfile = handle.writefile = os.fdopen(fd, fmode)
            return handle

        return self._run(path, opener)

    def remove(self, path: str) -> Any:
        return self._run(path, lambda real: os.remove(real) or paramiko.SFTP_OK)

    def rename(self, oldpath: str, newpath: str) -> Any:
        def rename(real: str) -> int:
            target = self._real(newpath)
            if os.path.exists(target):
                return paramiko.SFTP_FAILURE
            os.rename(real, target)
            return paramiko.SFTP_OK

        return self._run(oldpath, rename)

    def posix_rename(self, oldpath: str, newpath: str) -> Any:
        return self._run(
            oldpath, lambda real: os.replace(real, self._real(newpath)) or paramiko.SFTP_OK
        )

    def mkdir(self, path: str, attr: Any) -> Any:
        return self._run(
            path, lambda real: os.mkdir(real, attr.st_mode or 0o777) or paramiko.SFTP_OK
        )

    def rmdir(self, path: str) -> Any:
        return self._run(path, lambda real: os.rmdir(real) or paramiko.SFTP_OK)

    def chattr(self, path: str, attr: Any) -> Any:
        return self._run(
            path, lambda real: paramiko.SFTPServer.set_file_attr(real, attr) or paramiko.SFTP_OK
        )

    def symlink(self, target_path: str, path: str) -> Any:
        return self._run(path, lambda real: os.symlink(target_path, real) or paramiko.SFTP_OK)

    def readlink(self, path: str) -> Any:
        return self._run(path, os.readlink)


class ParamikoSFTPServer:
    """paramiko's SFTP server on 127.0.0.1, one paramiko Transport per connection."""

    def __init__(self, root: Path) -> None:
        self.root = str(root)
        self.key = paramiko.ECDSAKey.generate()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.transports: list[paramiko.Transport] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            t = paramiko.Transport(conn)
            t.add_server_key(self.key)
            t.set_subsystem_handler("sftp", paramiko.SFTPServer, _TreeSFTP, self.root)
            t.start_server(server=_Policy())
            self.transports.append(t)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.listener.close()
        for t in self.transports:
            t.close()

    def sshwire_client(self) -> tuple[Transport, SFTPClient]:
        t = Transport(socket.create_connection(("127.0.0.1", self.port)))
        t.start_client(timeout=10)
        t.auth_password(USER, PASSWORD)
        sftp = t.open_sftp_client()
        assert sftp is not None
        return t, sftp

    def paramiko_client(self) -> tuple[paramiko.Transport, paramiko.SFTPClient]:
        t = paramiko.Transport(socket.create_connection(("127.0.0.1", self.port)))
        t.start_client(timeout=10)
        t.auth_password(USER, PASSWORD)
        sftp = paramiko.SFTPClient.from_transport(t)
        assert sftp is not None
        return t, sftp


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ParamikoSFTPServer]:
    root = tmp_path / "root"
    root.mkdir()
    srv = ParamikoSFTPServer(root)
    yield srv
    srv.close()


@pytest.fixture
def sftp(server: ParamikoSFTPServer) -> Iterator[SFTPClient]:
    t, client = server.sshwire_client()
    yield client
    client.close()
    t.close()


def _both(server: ParamikoSFTPServer, scenario: Callable[[Any, str], Any]) -> None:
    """Run *scenario(client, prefix)* with both clients (each in its own directory) and
    compare what they return."""
    results = []
    for name, connect in (("sshwire", server.sshwire_client), ("paramiko", server.paramiko_client)):
        os.mkdir(os.path.join(server.root, name))
        t, client = connect()  # type: ignore[operator]
        try:
            results.append(scenario(client, "/" + name))
        finally:
            client.close()
            t.close()
    assert results[0] == results[1]


def _outcome(fn: Callable[[], Any]) -> Any:
    """A comparable summary of a call: its value, or the exception's type, errno and args."""
    try:
        return ("ok", fn())
    except Exception as exc:
        return ("error", type(exc).__name__, getattr(exc, "errno", None), exc.args)


# ---------------------------------------------------------------------------- scenarios


def test_announces_no_limits_so_requests_stay_small(sftp: SFTPClient) -> None:
    assert "check-file" in sftp.server_extensions()
    assert sftp._transfer_sizes() == (32768, 32768)


def test_file_roundtrip_and_modes_same_as_paramiko(server: ParamikoSFTPServer) -> None:
    def scenario(c: Any, d: str) -> Any:
        out = []
        with c.open(d + "/f.txt", "w") as f:
            f.write("alpha\nbeta\r\ngamma")
            out.append(f.tell())
        with c.open(d + "/f.txt", "a") as f:
            f.write(b"\ndelta\n")
            out.append(f.tell())
        with c.open(d + "/f.txt") as f:
            out.append(f.readline())
            out.append(f.read(4))
            out.append(f.tell())
            out.append(list(f))
        with c.open(d + "/f.txt", "rb") as f:
            out.append(f.readlines())
            f.seek(3)
            out.append(f.read(2))
            f.seek(-3, 2)
            out.append((f.tell(), f.read(), f.read()))
            f.seek(2, 1)
            out.append(f.tell())
        with c.open(d + "/f.txt", "r+") as f:
            f.seek(1)
            f.write(b"LPH")
            f.seek(0)
            out.append(f.read(6))
        with c.open(d + "/f.txt", "rU") as f:
            out.append((f.readlines(), f.newlines))
        out.append(_outcome(lambda: c.open(d + "/f.txt", "wx")))
        out.append(_outcome(lambda: c.open(d + "/nope")))
        return out

    _both(server, scenario)


def test_directory_operations_same_as_paramiko(server: ParamikoSFTPServer) -> None:
    def scenario(c: Any, d: str) -> Any:
        out = []
        c.mkdir(d + "/sub", 0o755)
        for i in range(250):
            with c.open(f"{d}/sub/n{i:03d}", "w") as f:
                f.write(b"x" * i)
        out.append(sorted(c.listdir(d + "/sub")))
        attrs = sorted(c.listdir_attr(d + "/sub"), key=lambda a: a.filename)
        out.append([(a.filename, a.st_size, a.st_mode) for a in attrs])
        out.append(sorted(a.filename for a in c.listdir_iter(d + "/sub", read_aheads=7)))
        out.append(_outcome(lambda: c.listdir(d + "/missing")))
        out.append(_outcome(lambda: c.rmdir(d + "/sub")))
        c.chdir(d + "/sub")
        out.append(c.getcwd().endswith("/sub"))
        out.append(c.stat("n010").st_size)
        out.append(_outcome(lambda: c.chdir("n010")))
        c.chdir(None)
        out.append(c.getcwd())
        c.rename(d + "/sub/n001", d + "/sub/renamed")
        out.append(_outcome(lambda: c.rename(d + "/sub/n002", d + "/sub/renamed")))
        c.posix_rename(d + "/sub/n002", d + "/sub/renamed")
        out.append(c.stat(d + "/sub/renamed").st_size)
        c.symlink("renamed", d + "/sub/link")
        out.append(c.readlink(d + "/sub/link"))
        out.append(c.lstat(d + "/sub/link").st_size)
        out.append(c.normalize(d + "/sub/../sub/./n003").replace(d, "<d>"))
        c.unlink(d + "/sub/link")
        out.append(_outcome(lambda: c.remove(d + "/sub/link")))
        return out

    _both(server, scenario)


def test_attributes_same_as_paramiko(server: ParamikoSFTPServer) -> None:
    def scenario(c: Any, d: str) -> Any:
        out = []
        with c.open(d + "/a", "w") as f:
            f.write(b"0123456789")
            f.chmod(0o600)
            f.utime((1000, 2000))
        s = c.stat(d + "/a")
        out.append((s.st_size, oct(s.st_mode or 0), s.st_atime, s.st_mtime))
        c.chmod(d + "/a", 0o640)
        c.truncate(d + "/a", 3)  # (before utime: truncating sets mtime to now)
        c.utime(d + "/a", (3000, 4000))
        s = c.stat(d + "/a")
        out.append((s.st_size, oct(s.st_mode or 0), s.st_mtime))
        with c.open(d + "/a", "r+") as f:
            f.truncate(1)
            out.append(f.stat().st_size)
            out.append(_outcome(lambda: f.check("sha1", 0, 0, 0)))  # 1 byte: too small
        out.append(_outcome(lambda: c.chmod(d + "/missing", 0o600)))
        return out

    _both(server, scenario)


def test_errors_same_as_paramiko(server: ParamikoSFTPServer) -> None:
    def scenario(c: Any, d: str) -> Any:
        out = []
        os.mkdir(os.path.join(server.root, d[1:], "forbidden"))
        for call in (
            lambda: c.stat(d + "/forbidden"),
            lambda: c.open(d + "/forbidden/x", "w"),
            lambda: c.listdir(d + "/forbidden"),
            lambda: c.stat(d + "/missing"),
            lambda: c.remove(d + "/missing"),
            lambda: c.rmdir(d),
        ):
            out.append(_outcome(call))
        return out

    _both(server, scenario)


def test_transfers_and_readv(sftp: SFTPClient, server: ParamikoSFTPServer, tmp_path: Path) -> None:
    data = os.urandom(3_000_017)
    (tmp_path / "local").write_bytes(data)
    progress: list[int] = []
    attrs = sftp.put(str(tmp_path / "local"), "/up.bin", callback=lambda a, b: progress.append(a))
    assert attrs.st_size == len(data)
    assert progress[-1] == len(data)
    remote = Path(server.root) / "up.bin"
    assert hashlib.sha256(remote.read_bytes()).digest() == hashlib.sha256(data).digest()
    sftp.get("/up.bin", str(tmp_path / "back"))
    assert (tmp_path / "back").read_bytes() == data
    buf = io.BytesIO()
    assert sftp.getfo("/up.bin", buf, prefetch=False) == len(data)
    assert buf.getvalue() == data
    chunks = [(2_999_990, 100), (5, 70_000), (1_500_000, 1)]
    with sftp.open("/up.bin", "rb") as f:
        assert list(f.readv(chunks)) == [data[o : o + n] for o, n in chunks]
        assert f.tell() == 1_500_001
        f.seek(0)
        f.prefetch()
        assert f.read() == data
    with sftp.open("/up.bin", "rb") as f:
        # (blocks of at most 64 KiB: paramiko's server hashes bigger blocks wrongly)
        assert f.check("md5", 65536, 4 * 65536, 65536) == b"".join(
            hashlib.md5(data[i : i + 65536]).digest() for i in range(65536, 5 * 65536, 65536)
        )


def test_concurrent_clients_threads(sftp: SFTPClient, server: ParamikoSFTPServer) -> None:
    blobs = {f"/t{i}": os.urandom(200_000 + i) for i in range(4)}
    errors: list[BaseException] = []

    def worker(path: str, data: bytes) -> None:
        try:
            sftp.putfo(io.BytesIO(data), path)
            out = io.BytesIO()
            sftp.getfo(path, out)
            assert out.getvalue() == data
            assert sftp.stat(path).st_size == len(data)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=item) for item in blobs.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert sorted(sftp.listdir("/")) == sorted(p[1:] for p in blobs)


def test_unsupported_extension_is_refused_locally(sftp: SFTPClient) -> None:
    with pytest.raises(OSError) as info:
        sftp.statvfs("/")
    assert info.value.errno == errno.EOPNOTSUPP
    assert isinstance(sshwire.sftp_client.SFTPClient, type)

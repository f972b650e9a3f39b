"""``SFTPClient``/``SFTPFile`` differentially: the same scenarios with sshwire's client and
paramiko 5.1's client against the same OpenSSH sftp server (the ``sshd`` fixture), comparing
everything they return or raise (exception type, errno, strerror and args; sshwire adds the
path as ``filename``, which paramiko leaves unset, so that is not compared).

Also: every public method of paramiko's ``SFTPClient`` and ``SFTPFile`` exists in sshwire with
the same parameters and defaults.
"""

from __future__ import annotations

import inspect
import io
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paramiko
import pytest

import sshwire.sftp_client
import sshwire.sftp_file
from _openssh import SshdServer
from sshwire.pkey import PKey
from sshwire.transport import Transport

pytestmark = pytest.mark.timeout(120)


@pytest.mark.parametrize(
    ("theirs", "ours"),
    [
        (paramiko.SFTPClient, sshwire.sftp_client.SFTPClient),
        (paramiko.sftp_file.SFTPFile, sshwire.sftp_file.SFTPFile),
    ],
    ids=["SFTPClient", "SFTPFile"],
)
def test_public_methods_and_signatures(theirs: type, ours: type) -> None:
    for name in dir(theirs):
        if name.startswith("_") and name != "__init__":
            continue
        member = getattr(theirs, name)
        if not callable(member):
            assert hasattr(ours, name), name
            continue
        mine = getattr(ours, name)
        expected = inspect.signature(member).parameters
        got = inspect.signature(mine).parameters
        assert list(got) == list(expected), name
        for param in expected:
            assert got[param].default == expected[param].default, f"{name}({param})"
            assert got[param].kind == expected[param].kind, f"{name}({param})"
    if hasattr(theirs, "MAX_REQUEST_SIZE"):
        assert ours.MAX_REQUEST_SIZE == theirs.MAX_REQUEST_SIZE
    assert sshwire.sftp_client.SFTP.__mro__[1] is sshwire.sftp_client.SFTPClient


def _sshwire(sshd: SshdServer) -> tuple[Any, Any]:
    t = Transport(socket.create_connection((sshd.host, sshd.port)))
    t.start_client(timeout=10)
    t.auth_publickey(sshd.user, PKey.from_path(sshd.client_keys["ed25519"]))
    return t, t.open_sftp_client()


def _paramiko(sshd: SshdServer) -> tuple[Any, Any]:
    t = paramiko.Transport(socket.create_connection((sshd.host, sshd.port)))
    t.start_client(timeout=10)
    t.auth_publickey(
        sshd.user, paramiko.Ed25519Key.from_private_key_file(str(sshd.client_keys["ed25519"]))
    )
    return t, paramiko.SFTPClient.from_transport(t)


@pytest.fixture
def both(sshd: SshdServer, tmp_path: Path) -> Iterator[Callable[[Callable[[Any, str], Any]], None]]:
    opened: list[Any] = []

    def run(scenario: Callable[[Any, str], Any]) -> None:
        results = []
        for name, connect in (("sshwire", _sshwire), ("paramiko", _paramiko)):
            root = tmp_path / name
            if root.exists():
                for p in sorted(root.rglob("*"), reverse=True):
                    p.rmdir() if p.is_dir() and not p.is_symlink() else p.unlink()
                root.rmdir()
            root.mkdir()
            t, client = connect(sshd)
            opened.append(t)
            try:
                results.append(_normalise(scenario(client, str(root)), str(root)))
            finally:
                client.close()
                t.close()
        assert results[0] == results[1]

    yield run
    for t in opened:
        t.close()


def _normalise(value: Any, root: str) -> Any:
    """Replace the per-client directory name so results compare."""
    if isinstance(value, str):
        return value.replace(root, "<root>")
    if isinstance(value, list | tuple):
        return type(value)(_normalise(v, root) for v in value)
    return value


def _outcome(fn: Callable[[], Any]) -> Any:
    try:
        return ("ok", fn())
    except Exception as exc:
        return (
            "error",
            type(exc).__name__,
            getattr(exc, "errno", None),
            getattr(exc, "strerror", None),
            exc.args,
        )


def test_reading(both: Callable[..., None]) -> None:
    def scenario(c: Any, d: str) -> Any:
        Path(d, "text").write_bytes(b"one\ntwo\r\nthree\rfour\n\nlast")
        out = []
        with c.open(d + "/text") as f:
            out += [f.readline(), f.readline(5), f.read(3), f.tell(), f.readlines()]
            out += [f.read(), f.readline(), f.tell()]
        with c.open(d + "/text", "rb") as f:
            out += [list(f), f.tell()]
            f.seek(0)
            out += [f.readline(), f.readable(), f.writable(), f.seekable()]
            f.seek(-4, f.SEEK_END)
            out += [f.read(100), f.read(1)]
            f.seek(3, f.SEEK_SET)
            f.seek(2, f.SEEK_CUR)
            out += [f.tell(), f.read(2)]
            # (within the file: paramiko's readv hangs on a chunk past the end)
            out.append(list(f.readv([(0, 3), (20, 5), (4, 2)])))
        with c.open(d + "/text", "rU") as f:
            out += [f.readlines(), f.newlines]
        with c.open(d + "/text", "r", bufsize=4) as f:
            out += [f.read(2), f.readline(), f.read(), f.tell()]
        f = c.open(d + "/text")
        f.close()
        out.append(_outcome(f.read))
        out.append(_outcome(f.readline))
        out.append(_outcome(lambda: c.open(d + "/text", "w").read(1)))
        return out

    both(scenario)


def test_writing(both: Callable[..., None]) -> None:
    def scenario(c: Any, d: str) -> Any:
        out = []
        with c.open(d + "/w", "w") as f:
            f.write("text\n")
            f.writelines([b"a", b"b\n"])
            out.append(f.tell())
            out.append(_outcome(lambda: f.read(1)))
        with c.open(d + "/w", "a") as f:
            out.append(f.tell())
            f.write(b"more")
            out.append(f.tell())
        with c.open(d + "/w", "r+") as f:
            f.seek(2)
            f.write(b"XY")
            out.append(f.tell())
        with c.open(d + "/w", "w", bufsize=3) as f:
            f.write(b"ab")
            out.append(Path(d, "w").read_bytes())
            f.write(b"cd")
            out.append(Path(d, "w").read_bytes())
        with c.open(d + "/p", "w") as f:
            f.set_pipelined(True)
            for i in range(200):
                f.write(b"%d," % i)
        out.append(Path(d, "p").read_bytes())
        out.append(Path(d, "w").read_bytes())
        out.append(_outcome(lambda: c.open(d + "/w", "wx")))
        out.append(_outcome(lambda: c.open(d + "/nodir/x", "w")))
        return out

    both(scenario)


def test_paths_and_attributes(both: Callable[..., None]) -> None:
    def scenario(c: Any, d: str) -> Any:
        out = []
        Path(d, "f").write_bytes(b"12345")
        os.utime(Path(d, "f"), (1_600_000_000, 1_600_000_000))
        c.mkdir(d + "/sub", 0o700)
        os.utime(Path(d, "sub"), (1_600_000_000, 1_600_000_000))
        s = c.stat(d + "/f")
        out.append((s.st_size, s.st_mode, s.st_uid, s.st_gid, s.st_atime, s.st_mtime))
        out.append(str(s))
        entries = sorted(c.listdir_attr(d), key=lambda a: a.filename)
        out.append([(a.filename, str(a), a.longname.split()[0]) for a in entries])
        out.append(sorted(c.listdir(d)))
        out.append(sorted(a.filename for a in c.listdir_iter(d)))
        out.append(c.normalize(d + "/sub/../f"))
        c.chdir(d)
        out.append(c.getcwd())
        out.append(c.stat("f").st_size)
        out.append(_outcome(lambda: c.chdir("f")))
        out.append(_outcome(lambda: c.chdir("missing")))
        out.append(c.getcwd())
        c.chdir()
        out.append(c.getcwd())
        c.symlink("f", d + "/ln")
        out.append(c.readlink(d + "/ln"))
        out.append(c.lstat(d + "/ln").st_mode)
        c.chmod(d + "/f", 0o612)
        c.truncate(d + "/f", 2)  # (before utime: truncating sets mtime to now)
        c.utime(d + "/f", (1000, 2000))
        s = c.stat(d + "/f")
        out.append((s.st_size, s.st_mode, s.st_atime, s.st_mtime))
        with c.open(d + "/f", "r+") as f:
            f.truncate(1)
            f.chmod(0o644)
            f.utime((5, 6))
            s = f.stat()
            out.append((s.st_size, s.st_mode, s.st_mtime))
            out.append(_outcome(lambda: f.check("sha1")))
        c.rename(d + "/f", d + "/g")
        out.append(_outcome(lambda: c.rename(d + "/g", d + "/ln")))
        c.posix_rename(d + "/g", d + "/ln")
        out.append(sorted(c.listdir(d)))
        c.remove(d + "/ln")
        c.rmdir(d + "/sub")
        out.append(c.listdir(d))
        return out

    both(scenario)


def test_errors(both: Callable[..., None]) -> None:
    def scenario(c: Any, d: str) -> Any:
        Path(d, "file").write_bytes(b"")
        Path(d, "dir").mkdir()
        Path(d, "dir", "x").write_bytes(b"")
        calls = [
            lambda: c.stat(d + "/missing"),
            lambda: c.lstat(d + "/missing"),
            lambda: c.open(d + "/missing"),
            lambda: c.listdir(d + "/missing"),
            lambda: c.remove(d + "/missing"),
            lambda: c.remove(d + "/dir"),
            lambda: c.rmdir(d + "/dir"),
            lambda: c.rmdir(d + "/file"),
            lambda: c.mkdir(d + "/file"),
            lambda: c.readlink(d + "/file"),
            lambda: c.chmod(d + "/missing", 0),
            lambda: c.rename(d + "/missing", d + "/x"),
            lambda: c.symlink("x", d + "/file"),
            lambda: c.normalize(d + "/missing/deeper"),
            lambda: c.get(d + "/missing", d + "/out"),
            lambda: c.putfo(io.BytesIO(b"x"), d + "/dir"),
        ]
        return [_outcome(call) for call in calls]

    both(scenario)


def test_transfers(both: Callable[..., None]) -> None:
    data = os.urandom(1_234_567)

    def scenario(c: Any, d: str) -> Any:
        out = []
        Path(d, "src").write_bytes(data)
        calls: list[tuple[int, int]] = []
        attrs = c.put(d + "/src", d + "/up", callback=lambda a, b: calls.append((a, b)))
        out += [attrs.st_size, calls[-1], Path(d, "up").read_bytes() == data]
        calls.clear()
        out.append(c.get(d + "/up", d + "/down", callback=lambda a, b: calls.append((a, b))))
        out += [calls[-1], Path(d, "down").read_bytes() == data]
        buf = io.BytesIO()
        out.append(c.getfo(d + "/up", buf, prefetch=False))
        out.append(buf.getvalue() == data)
        out.append(c.putfo(io.BytesIO(b""), d + "/empty").st_size)
        out.append(c.putfo(io.BytesIO(b"abc"), d + "/nc", confirm=False).st_size)
        with c.open(d + "/up", "rb") as f:
            f.prefetch()
            out.append(f.read(10) == data[:10])
            out.append(f.read() == data[10:])
        with c.open(d + "/up", "rb") as f:
            f.seek(1_000_000)
            f.prefetch(len(data))
            out.append(f.read() == data[1_000_000:])
        return out

    both(scenario)

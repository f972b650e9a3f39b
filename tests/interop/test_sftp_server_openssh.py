"""OpenSSH's ``sftp`` (batch mode) and ``scp -s`` against sshwire's SFTP server.

The embedded server (``SSHServer(sftp_root=...)``) serves one directory through
``SFTPServer`` + ``RootedSFTPServerInterface``; every test checks the result on the local
filesystem (sha256 of the bytes, modes, links), not only what the client prints. Each test
works in its own folder of the shared root. Skipped with a loud reason when OpenSSH is
missing; failed instead with ``SSHWIRE_REQUIRE_OPENSSH=1`` (the ``openssh`` fixture).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from _openssh import OpenSSH, unavailable
from sshwire.testing import SSHServer, generate_key, public_key_line

pytestmark = [pytest.mark.interop, pytest.mark.timeout(90)]

HOST = "127.0.0.1"


def _tool(openssh: OpenSSH, name: str) -> str:
    path = shutil.which(name, path=os.path.dirname(openssh.ssh)) or shutil.which(name)
    if path is None:
        unavailable(f"{name} not found next to ssh")
    assert path is not None
    return path


@dataclass
class Served:
    server: SSHServer
    root: Path
    local: Path
    sftp: str
    scp: str
    options: list[str]
    user: str

    def sftp_batch(
        self, commands: Sequence[str], target: str = "", check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run ``sftp -b`` with ``commands``; with ``check``, fail unless it exits 0."""
        batch = self.local / "batch.txt"
        batch.write_text("\n".join(commands) + "\n")
        argv = [self.sftp, *self.options, "-b", str(batch), f"{self.user}@{HOST}{target}"]
        res = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        if check:
            assert res.returncode == 0, f"sftp failed:\n{res.stdout}\n{res.stderr}"
        return res

    def scp_run(self, *args: str) -> subprocess.CompletedProcess[str]:
        argv = [self.scp, "-s", "-q", *self.options, *args]
        return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture(scope="module")
def served(openssh: OpenSSH, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    sftp, scp = _tool(openssh, "sftp"), _tool(openssh, "scp")
    root = tmp_path_factory.mktemp("sftp-root")
    local = tmp_path_factory.mktemp("sftp-local")
    server = SSHServer(sftp_root=root)
    user = server.add_user("tester", directory=local)
    assert user.key_path is not None
    with server:
        known_hosts = server.write_known_hosts(local / "known_hosts")
        options = ["-F", "/dev/null", "-P", str(server.port)]
        for opt in (
            f"IdentityFile={user.key_path}",
            "IdentitiesOnly=yes",
            "IdentityAgent=none",
            "BatchMode=yes",
            "StrictHostKeyChecking=yes",
            f"UserKnownHostsFile={known_hosts}",
            "GlobalKnownHostsFile=/dev/null",
            "ConnectTimeout=10",
        ):
            options += ["-o", opt]
        yield Served(server, root, local, sftp, scp, options, user.username)
        assert server.wait_until_idle(20), "sftp sessions still open after the tests"


@pytest.fixture
def area(served: Served, request: pytest.FixtureRequest) -> tuple[Path, str]:
    """A fresh folder in the served root: (local path, path the client uses)."""
    name = request.node.name.replace("[", "_").replace("]", "")
    folder = served.root / name
    folder.mkdir()
    return folder, f"/{name}"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ------------------------------------------------------------------------------------ transfers


@pytest.mark.parametrize("size", [0, 1, 32768, 5 * 1024 * 1024 + 17])
def test_put_get_sha256(served: Served, area: tuple[Path, str], size: int) -> None:
    folder, remote = area
    source = served.local / f"source-{size}.bin"
    source.write_bytes(os.urandom(size))
    back = served.local / f"back-{size}.bin"
    served.sftp_batch([f"put {source} {remote}/file.bin", f"get {remote}/file.bin {back}"])
    assert _sha(folder / "file.bin") == _sha(source)
    assert _sha(back) == _sha(source)


def test_put_with_fsync_and_resume(served: Served, area: tuple[Path, str]) -> None:
    folder, remote = area
    source = served.local / "resume.bin"
    data = os.urandom(3 * 1024 * 1024)
    source.write_bytes(data)
    (folder / "part.bin").write_bytes(data[:1000000])  # an interrupted upload
    served.sftp_batch([f"put -f {source} {remote}/whole.bin", f"reput {source} {remote}/part.bin"])
    assert (folder / "whole.bin").read_bytes() == data
    assert (folder / "part.bin").read_bytes() == data


def test_recursive_put_and_get(served: Served, area: tuple[Path, str]) -> None:
    folder, remote = area
    tree = served.local / "tree"
    (tree / "a" / "b").mkdir(parents=True, exist_ok=True)
    files = {"top.txt": b"top\n", "a/one.bin": os.urandom(70000), "a/b/two.bin": os.urandom(5)}
    for rel, data in files.items():
        (tree / rel).write_bytes(data)
    back = served.local / "tree-back"
    shutil.rmtree(back, ignore_errors=True)
    served.sftp_batch([f"put -r {tree} {remote}/tree", f"get -r {remote}/tree {back}"])
    for rel, data in files.items():
        assert (folder / "tree" / rel).read_bytes() == data
        assert (back / rel).read_bytes() == data


# ------------------------------------------------------------------------------------ namespace


def test_mkdir_rename_rmdir_rm(served: Served, area: tuple[Path, str]) -> None:
    folder, remote = area
    (folder / "old.txt").write_text("x")
    (folder / "keep.txt").write_text("keep")
    served.sftp_batch(
        [
            f"mkdir {remote}/newdir",
            f"rename {remote}/old.txt {remote}/newdir/moved.txt",
            f"mkdir {remote}/gone",
            f"rmdir {remote}/gone",
            f"rm {remote}/keep.txt",
        ]
    )
    assert (folder / "newdir").is_dir()
    assert (folder / "newdir" / "moved.txt").read_text() == "x"
    assert not (folder / "old.txt").exists()
    assert not (folder / "gone").exists()
    assert not (folder / "keep.txt").exists()


def test_rename_replaces_through_posix_rename(served: Served, area: tuple[Path, str]) -> None:
    folder, remote = area
    (folder / "a").write_text("new")
    (folder / "b").write_text("old")
    served.sftp_batch([f"rename {remote}/a {remote}/b"])  # sftp uses posix-rename@openssh.com
    assert (folder / "b").read_text() == "new"
    assert not (folder / "a").exists()


def test_failures_are_reported(served: Served, area: tuple[Path, str]) -> None:
    folder, remote = area
    (folder / "full").mkdir()
    (folder / "full" / "f").write_text("f")
    res = served.sftp_batch([f"get {remote}/missing {served.local}/x"], check=False)
    assert res.returncode != 0
    assert "not found" in res.stderr
    res = served.sftp_batch([f"rmdir {remote}/full"], check=False)
    assert res.returncode != 0
    assert "Failure" in res.stderr
    assert (folder / "full" / "f").exists()
    res = served.sftp_batch([f"mkdir {remote}/full"], check=False)
    assert res.returncode != 0


def test_ls_long_and_short(served: Served, area: tuple[Path, str]) -> None:
    folder, remote = area
    (folder / "data.bin").write_bytes(b"z" * 1234)
    (folder / "sub").mkdir()
    res = served.sftp_batch([f"ls -l {remote}", f"ls -1 {remote}"])
    long_lines = [line for line in res.stdout.splitlines() if line.endswith("data.bin")]
    assert long_lines and long_lines[0].startswith("-rw")
    assert " 1234 " in long_lines[0]
    assert any(line.startswith("d") and line.endswith("sub") for line in res.stdout.splitlines())


def test_ls_ten_thousand_entries(served: Served, area: tuple[Path, str]) -> None:
    folder, remote = area
    names = {f"entry-{i:05d}" for i in range(10_000)}
    for name in names:
        (folder / name).touch()
    res = served.sftp_batch([f"ls -1 {remote}"])
    listed = {line.strip().rpartition("/")[2] for line in res.stdout.splitlines()[1:]}
    listed.discard("")
    assert listed == names


def test_chmod_and_chmod_no_follow(served: Served, area: tuple[Path, str]) -> None:
    folder, remote = area
    (folder / "f").write_text("f")
    (folder / "g").write_text("g")
    served.sftp_batch([f"chmod 600 {remote}/f", f"chmod -h 640 {remote}/g"])
    assert stat.S_IMODE((folder / "f").stat().st_mode) == 0o600
    assert stat.S_IMODE((folder / "g").stat().st_mode) == 0o640


def test_symlink_hardlink_and_readlink(served: Served, area: tuple[Path, str]) -> None:
    folder, remote = area
    (folder / "target.txt").write_text("through the link")
    got = served.local / "via-link.txt"
    served.sftp_batch(
        [
            f"ln -s target.txt {remote}/soft",
            f"ln {remote}/target.txt {remote}/hard",
            f"get {remote}/soft {got}",
        ]
    )
    assert os.readlink(folder / "soft") == "target.txt"
    assert (folder / "hard").stat().st_ino == (folder / "target.txt").stat().st_ino
    assert got.read_text() == "through the link"
    res = served.sftp_batch([f"ls -l {remote}"])
    assert any(line.startswith("l") and line.endswith("soft") for line in res.stdout.splitlines())


def test_df_uses_statvfs(served: Served, area: tuple[Path, str]) -> None:
    _, remote = area
    res = served.sftp_batch([f"df {remote}", f"df -i {remote}"])
    lines = res.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if "Size" in line)
    size, used, avail = (int(v) for v in lines[header + 1].split()[:3])
    vfs = os.statvfs(served.root)
    assert size == vfs.f_blocks * vfs.f_frsize // 1024
    assert used <= size and avail <= size
    assert any("Inodes" in line for line in lines)


# ------------------------------------------------------------------------------------ confinement


def test_client_cannot_leave_the_root(served: Served, area: tuple[Path, str]) -> None:
    folder, remote = area
    os.symlink("/etc", folder / "etc-link")
    os.symlink("../../../../../../..", folder / "up-link")
    res = served.sftp_batch(["cd /..", "pwd", "cd ../../..", "pwd"])
    assert res.stdout.count("Remote working directory: /\n") == 2
    for path in (
        "/../../../etc/passwd",
        f"{remote}/etc-link/passwd",
        f"{remote}/up-link/etc/passwd",
    ):
        res = served.sftp_batch([f"get {path} {served.local}/leak"], check=False)
        assert res.returncode != 0, path
        assert not (served.local / "leak").exists()
    # an absolute link target is taken from the served root, as in a chroot
    (served.root / "etc").mkdir(exist_ok=True)
    (served.root / "etc" / "passwd").write_text("inside the root\n")
    served.sftp_batch([f"get {remote}/etc-link/passwd {served.local}/inside"])
    assert (served.local / "inside").read_text() == "inside the root\n"


# ------------------------------------------------------------------------------------ scp -s


def test_scp_sftp_mode_both_ways(served: Served, area: tuple[Path, str]) -> None:
    folder, remote = area
    source = served.local / "scp.bin"
    source.write_bytes(os.urandom(4 * 1024 * 1024 + 3))
    res = served.scp_run(str(source), f"{served.user}@{HOST}:{remote}/up.bin")
    assert res.returncode == 0, res.stderr
    assert _sha(folder / "up.bin") == _sha(source)
    back = served.local / "scp-back.bin"
    res = served.scp_run(f"{served.user}@{HOST}:{remote}/up.bin", str(back))
    assert res.returncode == 0, res.stderr
    assert _sha(back) == _sha(source)


def test_scp_sftp_mode_recursive_and_tilde(served: Served, area: tuple[Path, str]) -> None:
    folder, remote = area
    tree = served.local / "scp-tree"
    (tree / "inner").mkdir(parents=True, exist_ok=True)
    (tree / "inner" / "x.txt").write_text("x")
    (tree / "y.txt").write_text("y")
    # "~" is the root: scp resolves it with expand-path@openssh.com
    res = served.scp_run("-r", str(tree), f"{served.user}@{HOST}:~{remote}/")
    assert res.returncode == 0, res.stderr
    assert (folder / "scp-tree" / "inner" / "x.txt").read_text() == "x"
    assert (folder / "scp-tree" / "y.txt").read_text() == "y"
    back = served.local / "scp-tree-back"
    shutil.rmtree(back, ignore_errors=True)
    res = served.scp_run("-r", f"{served.user}@{HOST}:{remote}/scp-tree", str(back))
    assert res.returncode == 0, res.stderr
    assert (back / "inner" / "x.txt").read_text() == "x"


# ------------------------------------------------------------------------------------ python -m


def test_python_m_sshwire_serve_sftp_root(served: Served, tmp_path: Path) -> None:
    key = generate_key()
    key_path = tmp_path / "id_ed25519"
    key.write_private_key_file(str(key_path))
    pub = tmp_path / "id_ed25519.pub"
    pub.write_text(public_key_line(key) + "\n")
    root = tmp_path / "served"
    root.mkdir()
    (root / "from-server.txt").write_text("served by python -m sshwire\n")
    serve = ["serve", "--authorized-keys", str(pub), "--sftp-root", str(root)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "sshwire", *serve],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("sshwire SSH server listening on 127.0.0.1:"), first
        port = first.rsplit(":", 1)[1].strip()
        banner = [proc.stdout.readline() for _ in range(4)]  # key, "connect with", ssh, sftp
        assert banner[3].strip().startswith(f"sftp -P {port} "), banner
        batch = tmp_path / "batch"
        got = tmp_path / "got.txt"
        batch.write_text(f"get /from-server.txt {got}\nmkdir /new\n")
        argv = [served.sftp, "-F", "/dev/null", "-P", port, "-b", str(batch)]
        for opt in (
            f"IdentityFile={key_path}",
            "IdentitiesOnly=yes",
            "IdentityAgent=none",
            "BatchMode=yes",
            "StrictHostKeyChecking=no",
            "UserKnownHostsFile=/dev/null",
            "LogLevel=ERROR",
        ):
            argv += ["-o", opt]
        res = subprocess.run(
            [*argv, f"anyone@{HOST}"], capture_output=True, text=True, timeout=60, check=False
        )
        assert res.returncode == 0, res.stderr
        assert got.read_text() == "served by python -m sshwire\n"
        assert (root / "new").is_dir()
        proc.terminate()
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "stopped" in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)

"""``python -m sshwire exec``: a minimal ssh client, against the embedded server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sshwire.testing import SSHServer

pytestmark = pytest.mark.timeout(60)


def _run(home: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "HOME": str(home)}
    env.pop("SSH_AUTH_SOCK", None)
    return subprocess.run(
        [sys.executable, "-m", "sshwire", "exec", *args],
        env=env,
        capture_output=True,
        timeout=50,
        check=False,
    )


def test_exec_with_known_hosts_and_default_key(tmp_path: Path) -> None:
    ssh_dir = tmp_path / ".ssh"
    ssh_dir.mkdir()
    server = SSHServer()
    user = server.add_user("alice", directory=ssh_dir)  # writes ~/.ssh/id_ed25519
    with server:
        target = f"alice@{server.host}:{server.port}"
        refused = _run(tmp_path, target, "true")
        assert refused.returncode == 255 and b"not found in known_hosts" in refused.stderr
        server.write_known_hosts(ssh_dir / "known_hosts")
        done = _run(tmp_path, target, "echo", "out;", "echo", "err", ">&2;", "exit", "7")
        assert done.returncode == 7
        assert done.stdout == b"out\n" and done.stderr == b"err\n"
        signalled = _run(tmp_path, target, "kill -TERM $$")
        assert signalled.returncode == 255 and b"signal TERM" in signalled.stderr
        assert user.key_path is not None


def test_exec_accept_new_remembers_the_host(tmp_path: Path) -> None:
    ssh_dir = tmp_path / ".ssh"
    ssh_dir.mkdir()
    server = SSHServer()
    server.add_user("bob", directory=ssh_dir)
    with server:
        target = f"bob@{server.host}"
        done = _run(tmp_path, target, "-p", str(server.port), "--accept-new", "echo hi")
        assert done.returncode == 0 and done.stdout == b"hi\n"

"""Unmodified third-party paramiko users on sshwire: scp, sshtunnel and fabric.

The test process imports the real paramiko (other tests use it as a peer), so each scenario
runs in a fresh interpreter: a script under ``third_party_scripts/`` calls
``sshwire.install_as_paramiko()`` first, checks that ``paramiko`` *is* sshwire, then imports
the package and works against the session's OpenSSH sshd. Parameters travel as JSON in
``$SSHWIRE_TP_PARAMS``; the script's result comes back as one JSON line on stdout. Each child
gets an empty ``$HOME`` (no ``~/.ssh/config``, no default keys, no known_hosts of the real user),
no ``$SSH_AUTH_SOCK`` unless the test hands it the agent fixture's, stdin from /dev/null,
``-W error`` and a timeout. Files are checked here, on disk: sshd runs on this machine, so the
"remote" side of a transfer is a local directory too.

What the packages needed and sshwire lacked was fixed in sshwire, with a plain sshwire test here
where the package is not needed to show it (a send that outlasts the socket's timeout).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _openssh import SshAgent, SshdServer
from sshwire.pkey import PKey
from sshwire.transport import Transport

pytestmark = [pytest.mark.interop, pytest.mark.timeout(120)]

SCRIPTS = Path(__file__).with_name("third_party_scripts")
PARAMS_ENV = "SSHWIRE_TP_PARAMS"
RESULT_PREFIX = "SSHWIRE-TP-RESULT "
SCENARIO_TIMEOUT = 90.0
MIB = 1024 * 1024


def run_scenario(
    script: str,
    scenario: str,
    params: dict[str, Any],
    home: Path,
    *,
    extra_env: dict[str, str] | None = None,
    timeout: float = SCENARIO_TIMEOUT,
) -> dict[str, Any]:
    """Run ``third_party_scripts/<script> <scenario>`` in a fresh interpreter; its result."""
    dropped = ("SSH_AUTH_SOCK", "PYTHONWARNINGS", "SSHWIRE_TP_BACKEND")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env["HOME"] = str(home)
    env.update(extra_env or {})
    env[PARAMS_ENV] = json.dumps(params)
    argv = [sys.executable, "-W", "error", str(SCRIPTS / script), scenario]
    try:
        proc = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,  # never the terminal: invoke would put it in cbreak mode
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            cwd=home,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(
            f"{script} {scenario} did not finish within {timeout} s\n"
            f"stdout:\n{exc.stdout!r}\nstderr:\n{exc.stderr!r}"
        )
    report = f"{script} {scenario} exited {proc.returncode}\nstdout:\n{proc.stdout}\n"
    report += f"stderr:\n{proc.stderr}"
    assert proc.returncode == 0, report
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_PREFIX)]
    assert len(lines) == 1, report
    result: dict[str, Any] = json.loads(lines[0][len(RESULT_PREFIX) :])
    assert "paramiko" in result["paramiko_modules"], result
    return result


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty home directory for the child interpreters."""
    path = tmp_path / "home"
    path.mkdir()
    return path


def _ssh_params(sshd: SshdServer) -> dict[str, Any]:
    return {
        "host": sshd.host,
        "port": sshd.port,
        "user": sshd.user,
        "key": str(sshd.client_keys["ed25519"]),
        "known_hosts": str(sshd.known_hosts_path),
        "host_key": sshd.host_public_keys["ssh-ed25519"],
    }


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_random(path: Path, size: int) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = os.urandom(size)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def _tree_listing(root: Path) -> dict[str, tuple[str, int, int]]:
    """relative path -> (sha256 or "dir", integer mtime, permission bits) for a whole tree."""
    listing: dict[str, tuple[str, int, int]] = {}
    for path in sorted(root.rglob("*")):
        st = path.stat()
        digest = "dir" if path.is_dir() else _sha256(path)
        listing[str(path.relative_to(root))] = (digest, int(st.st_mtime), st.st_mode & 0o777)
    return listing


# --------------------------------------------------------------------------------------------
# scp 0.16: SCPClient over the legacy scp protocol (exec "scp -t" / "scp -f" on sshd)


def test_scp_put_get_binary_file(sshd: SshdServer, home: Path, tmp_path: Path) -> None:
    src = tmp_path / "src" / "payload.bin"
    size = 3 * MIB + 12345
    digest = _write_random(src, size)
    remote = tmp_path / "remote" / "uploaded name.bin"  # a space: scp must quote it
    remote.parent.mkdir()
    dst = tmp_path / "dst" / "downloaded.bin"
    dst.parent.mkdir()
    params = {**_ssh_params(sshd), "src": str(src), "remote": str(remote), "dst": str(dst)}
    result = run_scenario("scp_scenarios.py", "file_roundtrip", params, home)
    assert _sha256(remote) == digest
    assert _sha256(dst) == digest
    assert result["put_progress"] == [size, size]
    assert result["get_progress"] == [size, size]


def test_scp_several_files_preserve_times(sshd: SshdServer, home: Path, tmp_path: Path) -> None:
    srcs = []
    for i, size in enumerate([0, 1, 70_000, MIB + 3]):
        path = tmp_path / "src" / f"file{i}.bin"
        _write_random(path, size)
        os.utime(path, (1_500_000_000 + i, 1_600_000_000 + 1000 * i))
        srcs.append(path)
    remote_dir = tmp_path / "remote"
    dst_dir = tmp_path / "dst"
    remote_dir.mkdir()
    dst_dir.mkdir()
    params = {
        **_ssh_params(sshd),
        "srcs": [str(s) for s in srcs],
        "remote_dir": str(remote_dir),
        "remotes": [str(remote_dir / s.name) for s in srcs],
        "dst_dir": str(dst_dir),
    }
    run_scenario("scp_scenarios.py", "many_files", params, home)
    for src in srcs:
        for copy in (remote_dir / src.name, dst_dir / src.name):
            assert _sha256(copy) == _sha256(src), copy
            assert int(copy.stat().st_mtime) == int(src.stat().st_mtime), copy


def _make_tree(root: Path) -> None:
    files = {
        "top.bin": 300_000,
        "notes.txt": 17,
        "sub/a.bin": MIB + 7,
        "sub/deeper/b.bin": 4096,
        "sub/deeper/c.txt": 0,
        "sub2/d.bin": 65_537,
    }
    for i, (name, size) in enumerate(files.items()):
        _write_random(root / name, size)
        os.utime(root / name, (1_600_000_000, 1_600_000_000 + 3600 * i))
    (root / "empty").mkdir()
    (root / "sub2" / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (root / "sub2" / "run.sh").chmod(0o755)
    os.utime(root / "sub2" / "run.sh", (1_600_000_000, 1_650_000_000))
    # directories last (creating files inside them moved their mtimes), deepest first
    dirs = sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts))
    for i, d in enumerate(dirs):
        os.utime(d, (1_600_000_000, 1_400_000_000 + 86400 * i))


def test_scp_recursive_tree_preserve_times(sshd: SshdServer, home: Path, tmp_path: Path) -> None:
    tree = tmp_path / "src" / "tree"
    _make_tree(tree)
    expected = _tree_listing(tree)
    remote_dir = tmp_path / "remote"
    dst_dir = tmp_path / "dst"
    remote_dir.mkdir()
    dst_dir.mkdir()
    params = {
        **_ssh_params(sshd),
        "tree": str(tree),
        "remote_dir": str(remote_dir),
        "remote_tree": str(remote_dir / "tree"),
        "dst_dir": str(dst_dir),
    }
    run_scenario("scp_scenarios.py", "recursive", params, home)
    assert _tree_listing(remote_dir / "tree") == expected
    assert _tree_listing(dst_dir / "tree") == expected


def test_scp_putfo(sshd: SshdServer, home: Path, tmp_path: Path) -> None:
    data_file = tmp_path / "data.bin"
    _write_random(data_file, 2 * MIB + 99)
    data = data_file.read_bytes()
    remote_dir = tmp_path / "remote"
    remote_dir.mkdir()
    params = {
        **_ssh_params(sshd),
        "data_file": str(data_file),
        "remote": str(remote_dir / "fo.bin"),
        "remote_sized": str(remote_dir / "fo-sized.bin"),
        "remote_empty": str(remote_dir / "empty.bin"),
    }
    run_scenario("scp_scenarios.py", "putfo", params, home)
    assert (remote_dir / "fo.bin").read_bytes() == data
    assert (remote_dir / "fo.bin").stat().st_mode & 0o777 == 0o640
    assert (remote_dir / "fo-sized.bin").read_bytes() == data
    assert (remote_dir / "empty.bin").read_bytes() == b""


def test_scp_remote_errors_raise_scpexception(sshd: SshdServer, home: Path, tmp_path: Path) -> None:
    src = tmp_path / "src.bin"
    digest = _write_random(src, 10_000)
    remote_dir = tmp_path / "remote"
    remote_dir.mkdir()
    params = {
        **_ssh_params(sshd),
        "missing": str(tmp_path / "no-such-file"),
        "dst_dir": str(tmp_path),
        "src": str(src),
        "bad_remote": str(tmp_path / "no-such-dir" / "x.bin"),
        "remote": str(remote_dir / "ok.bin"),
    }
    result = run_scenario("scp_scenarios.py", "errors", params, home)
    assert "No such file or directory" in result["get_missing"]
    assert "No such file or directory" in result["put_bad_dir"]
    assert result["still_active"] == "True"
    assert _sha256(remote_dir / "ok.bin") == digest


def test_scp_module_functions_over_bare_transport(
    sshd: SshdServer, home: Path, tmp_path: Path
) -> None:
    src = tmp_path / "src.bin"
    digest = _write_random(src, MIB)
    remote = tmp_path / "remote.bin"
    dst = tmp_path / "dst.bin"
    params = {**_ssh_params(sshd), "src": str(src), "remote": str(remote), "dst": str(dst)}
    result = run_scenario("scp_scenarios.py", "bare_transport", params, home)
    assert result["host_key_type"] == "ssh-ed25519"
    assert _sha256(remote) == digest
    assert _sha256(dst) == digest


# --------------------------------------------------------------------------------------------
# sshtunnel 0.5: SSHTunnelForwarder (local forwards over direct-tcpip channels)


class EchoServer:
    """A loopback TCP echo server (one thread per connection), stopped at teardown."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.sock.getsockname()[1]
        self.connections = 0
        self._conns: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._accepter = threading.Thread(target=self._accept, daemon=True)
        self._accepter.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            self._conns.append(conn)
            thread = threading.Thread(target=self._echo, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    @staticmethod
    def _echo(conn: socket.socket) -> None:
        try:
            while data := conn.recv(65536):
                conn.sendall(data)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
        except OSError:
            pass
        self.sock.close()
        self._accepter.join(5)
        for conn in self._conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in self._threads:
            thread.join(5)


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    server = EchoServer()
    yield server
    server.close()


@pytest.fixture
def echo2() -> Iterator[EchoServer]:
    server = EchoServer()
    yield server
    server.close()


class StallingProxy:
    """A loopback TCP relay to ``target`` that, once per connection, stops reading the
    client for ``pause`` seconds after ``after`` bytes came from it: a peer that reads slowly.

    Its listening socket has a small receive buffer, so the client's sends block soon.
    """

    def __init__(self, target: tuple[str, int], after: int = MIB, pause: float = 1.5) -> None:
        self.target, self.after, self.pause = target, after, pause
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port: int = self.sock.getsockname()[1]
        self.stalls = 0
        self._socks: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._accepter = threading.Thread(target=self._accept, daemon=True)
        self._accepter.start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target, timeout=10)
            upstream.settimeout(None)
            self._socks += [client, upstream]
            for src, dst, stall in ((client, upstream, True), (upstream, client, False)):
                thread = threading.Thread(target=self._pump, args=(src, dst, stall), daemon=True)
                thread.start()
                self._threads.append(thread)

    def _pump(self, src: socket.socket, dst: socket.socket, stall: bool) -> None:
        total = 0
        try:
            while data := src.recv(65536):
                dst.sendall(data)
                total += len(data)
                if stall and total >= self.after:
                    stall = False
                    self.stalls += 1
                    time.sleep(self.pause)  # the simulated slow reader, not synchronisation
        except OSError:
            pass
        finally:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self._accepter.join(5)
        for sock in self._socks:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in self._threads:
            thread.join(5)
        for sock in self._socks:
            sock.close()


@pytest.fixture
def stalling_proxy(sshd: SshdServer) -> Iterator[StallingProxy]:
    proxy = StallingProxy((sshd.host, sshd.port))
    yield proxy
    proxy.close()


def test_sshtunnel_echo_sequential_and_parallel(
    sshd: SshdServer, home: Path, echo: EchoServer
) -> None:
    params = {**_ssh_params(sshd), "echo_port": echo.port}
    result = run_scenario("sshtunnel_scenarios.py", "echo", params, home)
    assert result["is_active"] and result["is_alive"]
    assert result["transport_active"] and result["transport_authenticated"]
    assert result["local_bind_host"] == "127.0.0.1" and result["local_bind_port"] > 0
    assert result["sequential"] == 20
    assert result["parallel"] == [4] * 8 + [1]
    assert result["tunnel_is_up"] == [True]
    assert echo.connections >= 5 + 9  # every tunnelled connection reached the echo server
    # stop() is prompt and leaves nothing behind: transport closed, no thread left over
    assert result["stop_seconds"] < 5.0
    assert not result["transport_active_after"]
    assert not result["transport_thread_alive_after"]
    assert not result["forwarder_active_after"]
    assert result["leftover_threads"] == []


def test_sshtunnel_two_tunnels_one_connection(
    sshd: SshdServer, home: Path, echo: EchoServer, echo2: EchoServer
) -> None:
    params = {**_ssh_params(sshd), "echo_port": echo.port, "echo_port2": echo2.port}
    result = run_scenario("sshtunnel_scenarios.py", "two_tunnels", params, home)
    assert result["counts"] == [2, 2]
    assert len(set(result["ports"])) == 2
    assert result["bindings"] == {
        f"127.0.0.1:{echo.port}": ["127.0.0.1", result["ports"][0]],
        f"127.0.0.1:{echo2.port}": ["127.0.0.1", result["ports"][1]],
    }
    assert (echo.connections, echo2.connections) == (1, 1)
    assert result["leftover_threads"] == []


def test_sshtunnel_refuses_wrong_host_key(sshd: SshdServer, home: Path, echo: EchoServer) -> None:
    params = {
        **_ssh_params(sshd),
        "echo_port": echo.port,
        # a key the server does not have (the user's own public key)
        "wrong_host_key": sshd.material.client_keys["ed25519"].public_line,
    }
    result = run_scenario("sshtunnel_scenarios.py", "bad_host_key", params, home)
    assert result["error"].startswith("HandlerSSHTunnelForwarderError")
    assert any("Bad host key from server" in m for m in result["log"]), result["log"]
    assert echo.connections == 0


def test_sshtunnel_survives_a_slow_gateway(
    sshd: SshdServer, home: Path, echo: EchoServer, stalling_proxy: StallingProxy
) -> None:
    """sshtunnel's 0.1 s socket timeout must not kill the transport when sends block."""
    params = {**_ssh_params(sshd), "echo_port": echo.port, "proxy_port": stalling_proxy.port}
    result = run_scenario("sshtunnel_scenarios.py", "stalled_gateway", params, home)
    # sshtunnel leaves its 0.1 s on the socket; the transport clears it as it starts (as
    # paramiko's replaces it with its own), so the fast read path stays on
    assert result["socket_timeout"] is None
    assert result["counts"] == [1, 1, 1, 1]
    assert result["active"]
    assert stalling_proxy.stalls == 1


def test_sshtunnel_agent_keys(
    sshd: SshdServer, home: Path, echo: EchoServer, ssh_agent: SshAgent
) -> None:
    params = {**_ssh_params(sshd), "echo_port": echo.port}
    env = {"SSH_AUTH_SOCK": str(ssh_agent.socket_path)}
    result = run_scenario("sshtunnel_scenarios.py", "agent_keys", params, home, extra_env=env)
    assert result["agent_key_types"] == ["ssh-ed25519", "ssh-rsa"]
    assert result["key"] == "AgentKey"
    assert result["count"] == 2


def test_sshtunnel_host_alias_from_ssh_config(
    sshd: SshdServer, home: Path, echo: EchoServer
) -> None:
    """sshtunnel reads ``~/.ssh/config`` with paramiko's SSHConfig and keys from ``~/.ssh``."""
    ssh_dir = home / ".ssh"
    ssh_dir.mkdir()
    shutil.copyfile(sshd.client_keys["ed25519"], ssh_dir / "id_ed25519")
    (ssh_dir / "id_ed25519").chmod(0o600)
    (ssh_dir / "config").write_text(
        "Host tunnel-gateway\n"
        f"    HostName {sshd.host}\n"
        f"    Port {sshd.port}\n"
        f"    User {sshd.user}\n"
        "    Compression yes\n"
        "\n"
        "Host *\n"
        "    User somebody-else\n"
    )
    params = {"alias": "tunnel-gateway", "echo_port": echo.port}
    result = run_scenario("sshtunnel_scenarios.py", "ssh_config_alias", params, home)
    assert result["count"] == 1
    assert result["ssh_host"] == sshd.host
    assert result["ssh_port"] == sshd.port
    assert result["ssh_username"] == sshd.user
    assert result["keys"] == ["ssh-ed25519"]
    assert result["compression"] is True


def test_send_timeout_on_the_socket_is_not_fatal(
    sshd: SshdServer, stalling_proxy: StallingProxy
) -> None:
    """As with paramiko, a timeout on the transport's socket does not end the transport when
    the peer stops reading for longer than that. The timeout a socket comes with is cleared as
    the transport starts; this one is set afterwards, as an application reaching into
    ``transport.sock`` would."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 32 * 1024)
    sock.connect(("127.0.0.1", stalling_proxy.port))
    sock.settimeout(0.1)
    transport = Transport(sock)
    try:
        transport.start_client(timeout=10)
        assert sock.gettimeout() is None
        sock.settimeout(0.1)
        transport.auth_publickey(sshd.user, PKey.from_path(sshd.client_keys["ed25519"]))
        chan = transport.open_session()
        chan.exec_command("sha256sum")
        data = os.urandom(6 * MIB)
        chan.sendall(data)
        chan.shutdown_write()
        chan.settimeout(30)
        out = b""
        while chunk := chan.recv(4096):
            out += chunk
        assert out.split()[0].decode() == hashlib.sha256(data).hexdigest()
        assert chan.recv_exit_status() == 0
        assert stalling_proxy.stalls == 1
        assert transport.is_active()
    finally:
        transport.close()


# --------------------------------------------------------------------------------------------
# fabric 3.2: Connection.run (invoke runners over sshwire channels), forwards, gateway, agent


def _fabric_params(sshd: SshdServer, tmp_path: Path) -> dict[str, Any]:
    # an empty file stands in for /etc/ssh/ssh_config, so the host's settings cannot leak in
    no_system_config = tmp_path / "no_system_ssh_config"
    no_system_config.touch()
    return {**_ssh_params(sshd), "no_system_config": str(no_system_config)}


def test_fabric_run(sshd: SshdServer, home: Path, tmp_path: Path) -> None:
    result = run_scenario("fabric_scenarios.py", "run", _fabric_params(sshd, tmp_path), home)
    ok = {"exited": 0, "ok": True, "failed": False, "pty": False}
    assert result["hi"] == {"stdout": "hi\n", "stderr": "", **ok}
    assert result["hi_command"] == "echo hi"
    assert result["hi_host"] == sshd.host
    assert result["connected"] is True
    assert result["streams"] == {"stdout": "to-out\n", "stderr": "to-err\n", **ok}
    failed = {"ok": False, "failed": True, "pty": False}
    assert result["unexpected_exit"] == {"stdout": "partial\n", "stderr": "", "exited": 3, **failed}
    assert "Exit code: 3" in result["unexpected_exit_message"]
    assert result["warn"] == {"stdout": "", "stderr": "oops\n", "exited": 1, **failed}
    assert result["inline_env"] == "inline\n"
    assert result["request_env"] == "requested\n"
    assert result["sequence"] == [f"{i}\n" for i in range(10)]
    assert result["big"] == [3_000_001, 3_000_000, "done\n"]
    assert result["connected_after_close"] is False
    assert "paramiko.config" in result["paramiko_modules"]
    assert "paramiko.proxy" in result["paramiko_modules"]


def test_fabric_put_and_get(sshd: SshdServer, home: Path, tmp_path: Path) -> None:
    params = {**_fabric_params(sshd, tmp_path), "workdir": str(tmp_path)}
    result = run_scenario("fabric_scenarios.py", "transfer", params, home)
    assert result["uploaded"] == result["downloaded"] == result["get_fileobj"] == result["sha"]
    assert result["put_remote"] == str(tmp_path / "remote" / "up.bin")
    assert result["get_local"] == str(tmp_path / "down.bin")
    assert result["put_fileobj"] == "from a file object\n"
    assert result["mode_kept"] is True
    assert result["missing"] == f"FileNotFoundError errno={errno.ENOENT}"


def test_fabric_run_with_stdin(sshd: SshdServer, home: Path, tmp_path: Path) -> None:
    result = run_scenario("fabric_scenarios.py", "stdin", _fabric_params(sshd, tmp_path), home)
    assert result["cat"] == "alpha\nbeta\n"
    assert result["wc"] == "10"
    assert result["watchers"] == "Name? Colour? hello sshwire in green\n"


def test_fabric_run_with_pty(sshd: SshdServer, home: Path, tmp_path: Path) -> None:
    result = run_scenario("fabric_scenarios.py", "pty", _fabric_params(sshd, tmp_path), home)
    tty = result["tty"]
    lines = tty["stdout"].split("\r\n")  # a terminal turns \n into \r\n
    assert lines[0].startswith("/dev/pts/"), tty
    assert lines[1] == "TERM=vt100"  # paramiko's default terminal type
    assert lines[2] == "24 80"  # invoke's fallback size when stdout is not a terminal
    assert tty["pty"] is True and tty["exited"] == 0 and tty["stderr"] == ""
    assert result["exit"]["exited"] == 5 and result["exit"]["stdout"] == "before\r\n"
    assert result["stdin_is_tty"] == "yes\r\n"


def test_fabric_forward_local_and_remote(
    sshd: SshdServer, home: Path, tmp_path: Path, echo: EchoServer
) -> None:
    params = {**_fabric_params(sshd, tmp_path), "echo_port": echo.port}
    result = run_scenario("fabric_scenarios.py", "forwards", params, home)
    assert result["local"] == [True] * 3
    assert result["remote"] == [True] * 3
    assert result["still_works"] == "yes\n"
    assert echo.connections == 6


def test_fabric_agent_forwarding(
    sshd: SshdServer, home: Path, tmp_path: Path, ssh_agent: SshAgent
) -> None:
    env = {"SSH_AUTH_SOCK": str(ssh_agent.socket_path)}
    params = _fabric_params(sshd, tmp_path)
    result = run_scenario("fabric_scenarios.py", "agent_forwarding", params, home, extra_env=env)
    public = result["public"].splitlines()
    expected = [key.public_line for key in ssh_agent.keys]
    assert [" ".join(line.split()[:2]) for line in public] == expected
    assert len(result["listed"].splitlines()) == len(expected)


def test_fabric_gateway_connection(sshd: SshdServer, home: Path, tmp_path: Path) -> None:
    result = run_scenario("fabric_scenarios.py", "gateway", _fabric_params(sshd, tmp_path), home)
    assert result["hi"] == "through the gateway\n"
    # the inner connection came from sshd itself (a direct-tcpip channel of the outer one)
    client_ip, _client_port, server_ip, server_port = result["hop"].split()
    assert (client_ip, server_ip, int(server_port)) == (sshd.host, sshd.host, sshd.port)


def test_fabric_command_timeout(sshd: SshdServer, home: Path, tmp_path: Path) -> None:
    params = _fabric_params(sshd, tmp_path)
    result = run_scenario("fabric_scenarios.py", "command_timeout", params, home)
    assert result["error"] == "CommandTimedOut: timeout=1"
    assert 0.9 < result["elapsed"] < 10
    assert result["after"] == "still usable\n"


def test_fabric_host_alias_from_ssh_config(sshd: SshdServer, home: Path, tmp_path: Path) -> None:
    ssh_dir = home / ".ssh"
    ssh_dir.mkdir()
    key = ssh_dir / "gateway_key"
    shutil.copyfile(sshd.client_keys["ed25519"], key)
    key.chmod(0o600)
    (ssh_dir / "config").write_text(
        "Host fabric-target\n"
        f"    HostName {sshd.host}\n"
        f"    Port {sshd.port}\n"
        f"    User {sshd.user}\n"
        "    IdentityFile ~/.ssh/gateway_key\n"
        "    IdentitiesOnly yes\n"
    )
    params = {**_fabric_params(sshd, tmp_path), "alias": "fabric-target"}
    result = run_scenario("fabric_scenarios.py", "ssh_config_alias", params, home)
    assert result["whoami"] == f"{sshd.user}\n"
    assert result["host"] == sshd.host
    assert result["port"] == sshd.port
    assert result["user"] == sshd.user
    assert result["original"] == "fabric-target"
    assert result["keys"] == [str(key)]

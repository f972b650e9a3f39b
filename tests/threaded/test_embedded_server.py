"""The embedded server (sshwire.testing) against sshwire's own SSHClient and Transport.

Uses the pytest plugin's fixtures (``ssh_server``, ``ssh_client``, ``ssh_server_factory``),
so this file also tests them.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sshwire import SSHClient
from sshwire.channel import Channel
from sshwire.server import (
    OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED,
    OPEN_FAILED_CONNECT_FAILED,
    SubsystemHandler,
)
from sshwire.ssh_exception import AuthenticationException, ChannelException, SSHException
from sshwire.testing import SSHServer, generate_key
from sshwire.transport import Transport

pytestmark = pytest.mark.timeout(60)

HOST = "127.0.0.1"


# ------------------------------------------------------------------------------------ helpers


def run(client: SSHClient, command: str, **kw: object) -> tuple[bytes, bytes, int]:
    _, out, err = client.exec_command(command, timeout=20, **kw)  # type: ignore[arg-type]
    return out.read(), err.read(), out.channel.recv_exit_status()


def read_until(chan: Channel, marker: bytes, timeout: float = 15) -> bytes:
    """Read from a (pty) channel until ``marker`` shows up; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    data = b""
    chan.settimeout(timeout)
    while marker not in data:
        if time.monotonic() > deadline:
            raise AssertionError(f"{marker!r} not seen; got {data!r}")
        chunk = chan.recv(65536)
        if not chunk:
            raise AssertionError(f"EOF before {marker!r}; got {data!r}")
        data += chunk
    return data


def transport_of(client: SSHClient) -> Transport:
    t = client.get_transport()
    assert t is not None
    return t


class EchoServer:
    """A loopback TCP echo server (one thread per connection) that echoes until EOF."""

    def __init__(self) -> None:
        self.sock = socket.create_server((HOST, 0))
        self.port = int(self.sock.getsockname()[1])
        self.threads: list[threading.Thread] = []
        self._accept = threading.Thread(target=self._serve, daemon=True)
        self._accept.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            t = threading.Thread(target=self._echo, args=(conn,), daemon=True)
            self.threads.append(t)
            t.start()

    @staticmethod
    def _echo(conn: socket.socket) -> None:
        with conn:
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                conn.sendall(data)
            conn.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self._accept.join(10)
        for t in self.threads:
            t.join(10)


@pytest.fixture
def echo_server() -> Iterator[EchoServer]:
    server = EchoServer()
    yield server
    server.close()


def pump_both_ways(
    send: Callable[[bytes], object], recv: Callable[[int], bytes], payload: bytes
) -> bytes:
    """Send ``payload`` from a thread while reading everything back (backpressure-safe)."""
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            send(payload)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    t = threading.Thread(target=writer)
    t.start()
    got = bytearray()
    while len(got) < len(payload):
        chunk = recv(65536)
        if not chunk:
            break
        got += chunk
    t.join(30)
    assert not errors
    return bytes(got)


# ------------------------------------------------------------------------------------ exec


def test_exec_stdout_stderr_and_exit_status(ssh_client: SSHClient) -> None:
    assert run(ssh_client, "echo out; echo err >&2; exit 3") == (b"out\n", b"err\n", 3)
    assert run(ssh_client, "true") == (b"", b"", 0)
    out, err, status = run(ssh_client, "no-such-command-sshwire")
    assert status == 127 and b"not found" in err and out == b""


def test_exec_exit_signal(ssh_client: SSHClient) -> None:
    _, out, _ = ssh_client.exec_command("kill -TERM $$", timeout=20)
    assert out.read() == b""
    assert out.channel.recv_exit_status() == -1
    assert out.channel.exit_signal == "TERM"


def test_exec_stdin_and_eof(ssh_client: SSHClient) -> None:
    stdin, stdout, _ = ssh_client.exec_command("wc -c", timeout=20)
    stdin.write(b"x" * 100_000)
    stdin.close()  # EOF: wc only answers after it
    assert stdout.read().strip() == b"100000"
    assert stdout.channel.recv_exit_status() == 0


def test_exec_large_stdin_through_cat_under_backpressure(ssh_client: SSHClient) -> None:
    payload = os.urandom(8 * 1024 * 1024)  # four times the 2 MiB window, both ways at once
    chan = transport_of(ssh_client).open_session()
    chan.settimeout(30)
    chan.exec_command("cat")

    def send(data: bytes) -> None:
        chan.sendall(data)
        chan.shutdown_write()

    got = pump_both_ways(send, chan.recv, payload)
    assert hashlib.sha256(got).digest() == hashlib.sha256(payload).digest()
    assert chan.recv_exit_status() == 0


def test_exec_large_output_and_stderr_interleaved(ssh_client: SSHClient) -> None:
    out, err, status = run(ssh_client, "head -c 5000000 /dev/zero; head -c 3000000 /dev/zero >&2")
    assert (len(out), len(err), status) == (5_000_000, 3_000_000, 0)


def test_exec_env(ssh_client: SSHClient) -> None:
    out, _, _ = run(ssh_client, 'echo "$SSHWIRE_A|$SSHWIRE_B"', environment={"SSHWIRE_A": "1"})
    assert out == b"1|\n"
    out, _, _ = run(ssh_client, 'echo "$SSH_CONNECTION"')
    client_ip, client_port, server_ip, server_port = out.split()
    assert (client_ip, server_ip) == (b"127.0.0.1", b"127.0.0.1") and int(client_port) > 0
    assert int(server_port) > 0


def test_env_filter_and_server_environment(
    ssh_server_factory: Callable[..., SSHServer],
) -> None:
    server = ssh_server_factory(accept_env="LC_*", environment={"FROM_SERVER": "yes"})
    with server.connect_client() as client:
        out, _, _ = run(
            client, 'echo "$LC_X $OTHER $FROM_SERVER"', environment={"LC_X": "a", "OTHER": "b"}
        )
    assert out == b"a  yes\n"


def test_background_child_holding_stdout_does_not_hang(ssh_client: SSHClient) -> None:
    # the child keeps the stdout pipe open; the session still ends when the shell exits
    out, _, status = run(ssh_client, "sleep 30 & echo $!")
    assert status == 0
    os.kill(int(out), signal.SIGKILL)


def test_exec_with_and_without_pty(ssh_client: SSHClient) -> None:
    out, _, _ = run(ssh_client, "tty", get_pty=True)
    assert out.startswith((b"/dev/pts/", b"/dev/tty"))
    out, _, status = run(ssh_client, "tty")
    assert b"not a tty" in out and status == 1


# ------------------------------------------------------------------------------------ shells


def test_pty_shell_line_by_line_and_resize(ssh_client: SSHClient) -> None:
    chan = transport_of(ssh_client).open_session()
    chan.get_pty(term="xterm-256color", width=80, height=24)
    chan.invoke_shell()
    # markers computed by the shell, so that the terminal's echo of the command never matches
    chan.sendall(b'echo "T=$TERM"; stty size; echo "A$((40 + 2))"\n')
    got = read_until(chan, b"A42")
    assert b"T=xterm-256color" in got and b"24 80" in got
    chan.resize_pty(width=132, height=43)
    chan.sendall(b'stty size; echo "B$((40 + 3))"\n')
    got = read_until(chan, b"B43")
    assert b"43 132" in got
    chan.sendall(b"exit 7\n")
    assert chan.recv_exit_status() == 7


def test_pty_ctrl_c_interrupts_the_foreground_command(ssh_client: SSHClient) -> None:
    chan = transport_of(ssh_client).open_session()
    chan.get_pty()
    chan.invoke_shell()
    # the marker comes from the foreground process itself, just before it becomes the
    # sleep: a ^C that arrives before a plain `sleep` started would hit the shell instead
    chan.sendall(b'sh -c \'echo "S$((1 + 1))"; exec sleep 30\'; echo "E$((2 + 2))"\n')
    read_until(chan, b"S2")
    chan.sendall(b"\x03")  # ^C: SIGINT from the terminal, as the pty is the shell's ctty
    chan.sendall(b'echo "D$((3 + 3))"\n')
    got = read_until(chan, b"D6")
    assert b"E4" not in got
    chan.sendall(b"exit\n")
    assert chan.recv_exit_status() == 0


def test_shell_without_pty(ssh_client: SSHClient) -> None:
    chan = transport_of(ssh_client).open_session()
    chan.invoke_shell()
    chan.sendall(b"echo one\necho two >&2\nexit 4\n")
    chan.shutdown_write()
    assert chan.makefile("rb").read() == b"one\n"
    assert chan.makefile_stderr("rb").read() == b"two\n"
    assert chan.recv_exit_status() == 4


def test_closing_the_channel_hangs_up_the_process(
    ssh_server: SSHServer, ssh_client: SSHClient
) -> None:
    chan = transport_of(ssh_client).open_session()
    chan.exec_command("echo $$; exec sleep 60")
    pid = int(chan.makefile("rb").readline())
    assert ssh_server.session_count == 1
    chan.close()
    assert ssh_server.wait_until_idle(15, connections=False)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # reaped by the server


# ------------------------------------------------------------------------------------ subsystems


def test_command_subsystem(ssh_server_factory: Callable[..., SSHServer]) -> None:
    server = ssh_server_factory(subsystems={"upper": "tr a-z A-Z"})
    with server.connect_client() as client:
        chan = transport_of(client).open_session()
        chan.invoke_subsystem("upper")
        chan.sendall(b"subsystem data")
        chan.shutdown_write()
        assert chan.makefile("rb").read() == b"SUBSYSTEM DATA"
        chan = transport_of(client).open_session()
        with pytest.raises(SSHException):
            chan.invoke_subsystem("nope")


class Greeter(SubsystemHandler):
    def __init__(self, channel: Channel, name: str, server: object, greeting: bytes) -> None:
        super().__init__(channel, name, server)  # type: ignore[arg-type]
        self.greeting = greeting

    def start_subsystem(self, name: str, transport: Transport, channel: Channel) -> None:
        who = channel.recv(100)
        channel.sendall(self.greeting + who)
        channel.send_exit_status(0)


def test_subsystem_handler_class(ssh_server: SSHServer) -> None:
    ssh_server.set_subsystem_handler("greet", Greeter, b"hello, ")
    with ssh_server.connect_client() as client:
        chan = transport_of(client).open_session()
        chan.invoke_subsystem("greet")
        chan.sendall(b"world")
        assert chan.makefile("rb").read() == b"hello, world"
        assert chan.recv_exit_status() == 0


# ------------------------------------------------------------------------------------ forwarding


def test_local_forward(ssh_client: SSHClient, echo_server: EchoServer) -> None:
    t = transport_of(ssh_client)
    chan = t.open_channel("direct-tcpip", (HOST, echo_server.port), (HOST, 40000))
    chan.settimeout(30)
    payload = os.urandom(4 * 1024 * 1024)

    def send(data: bytes) -> None:
        chan.sendall(data)
        chan.shutdown_write()  # the echo server sees EOF, echoes the rest and closes

    got = pump_both_ways(send, chan.recv, payload)
    assert hashlib.sha256(got).digest() == hashlib.sha256(payload).digest()
    assert chan.recv(10) == b""
    chan.close()


def test_local_forward_refusals(ssh_client: SSHClient) -> None:
    t = transport_of(ssh_client)
    closed = socket.create_server((HOST, 0))
    port = closed.getsockname()[1]
    closed.close()
    with pytest.raises(ChannelException) as info:
        t.open_channel("direct-tcpip", (HOST, port), (HOST, 40000))
    assert info.value.code == OPEN_FAILED_CONNECT_FAILED
    with pytest.raises(ChannelException) as info:  # not loopback: refused without connecting
        t.open_channel("direct-tcpip", ("example.invalid", 80), (HOST, 40000))
    assert info.value.code == OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED


def test_forwarding_can_be_disabled(ssh_server_factory: Callable[..., SSHServer]) -> None:
    server = ssh_server_factory(allow_tcp_forwarding=False)
    with server.connect_client() as client:
        t = transport_of(client)
        with pytest.raises(ChannelException):
            t.open_channel("direct-tcpip", (HOST, server.port), (HOST, 40000))
        with pytest.raises(SSHException):
            t.request_port_forward(HOST, 0)


def test_remote_forward(ssh_client: SSHClient, echo_server: EchoServer) -> None:
    t = transport_of(ssh_client)
    relays: list[threading.Thread] = []

    def handler(chan: Channel, origin: tuple[str, int], dest: tuple[str, int]) -> None:
        # the client's side of ssh -R: relay each forwarded channel to the echo server
        sock = socket.create_connection((HOST, echo_server.port))

        def up() -> None:
            while data := chan.recv(65536):
                sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)

        def down() -> None:
            while data := sock.recv(65536):
                chan.sendall(data)
            chan.close()
            sock.close()

        for fn in (up, down):
            relays.append(threading.Thread(target=fn, daemon=True))
            relays[-1].start()

    port = t.request_port_forward(HOST, 0, handler)
    assert port > 0
    payload = os.urandom(2 * 1024 * 1024)
    for _ in range(2):  # two connections through the same forward
        with socket.create_connection((HOST, port), timeout=30) as conn:

            def send(data: bytes, conn: socket.socket = conn) -> None:
                conn.sendall(data)
                conn.shutdown(socket.SHUT_WR)

            got = pump_both_ways(send, conn.recv, payload)
            assert hashlib.sha256(got).digest() == hashlib.sha256(payload).digest()
    for r in relays:
        r.join(30)
    t.cancel_port_forward(HOST, port)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((HOST, port), timeout=10).close()


# ------------------------------------------------------------------------------------ auth


def test_password_key_and_keyboard_interactive(ssh_server: SSHServer, tmp_path: Path) -> None:
    user = ssh_server.default_user
    assert user is not None and user.key_path is not None
    with ssh_server.connect_client(user.username, password=user.password) as client:
        assert run(client, "echo pw")[0] == b"pw\n"
    with ssh_server.connect_client(user.username, key_filename=user.key_path) as client:
        assert run(client, "echo key")[0] == b"key\n"
    with pytest.raises(AuthenticationException):
        ssh_server.connect_client(user.username, password="wrong")
    with pytest.raises(AuthenticationException):  # the key belongs to the user only
        ssh_server.connect_client("someone-else", pkey=user.key)
    with pytest.raises(AuthenticationException):
        ssh_server.connect_client(user.username, pkey=generate_key())
    t = Transport(socket.create_connection((HOST, ssh_server.port)))
    try:
        t.start_client(timeout=10)
        answers = t.auth_interactive(user.username, lambda *_: [user.password])
        assert answers == [] and t.is_authenticated()
    finally:
        t.close()


def test_authorized_keys_for_any_user(tmp_path: Path) -> None:
    key = generate_key("ecdsa")
    pub = tmp_path / "id.pub"
    pub.write_text(f"{key.get_name()} {key.get_base64()} comment\n")
    with SSHServer(authorized_keys=[pub], host_key_types=["ed25519", "rsa"]) as server:
        assert [k.get_name() for k in server.host_keys] == ["ssh-ed25519", "ssh-rsa"]
        for name in ("alice", "bob"):
            with server.connect_client(name, pkey=key) as client:
                assert run(client, "echo ok")[0] == b"ok\n"


def test_refuses_to_start_without_authentication() -> None:
    server = SSHServer()
    with pytest.raises(ValueError, match="no authentication method"):
        server.start()
    server.close()


def test_known_hosts_line_and_fingerprint(ssh_server: SSHServer, tmp_path: Path) -> None:
    key = ssh_server.host_key
    assert ssh_server.host == HOST
    assert ssh_server.known_hosts_line() == (
        f"[{HOST}]:{ssh_server.port} ssh-ed25519 {key.get_base64()}"
    )
    assert ssh_server.host_key_fingerprint.startswith("SHA256:")
    client = SSHClient()
    client.load_host_keys(str(ssh_server.write_known_hosts(tmp_path / "known_hosts")))
    user = ssh_server.default_user
    assert user is not None
    client.connect(
        HOST,
        ssh_server.port,
        username=user.username,
        password=user.password,
        look_for_keys=False,
        allow_agent=False,
    )
    client.close()


def test_paramiko_client_as_in_the_docs(ssh_server: SSHServer, tmp_path: Path) -> None:
    paramiko = pytest.importorskip("paramiko")
    user = ssh_server.default_user
    assert user is not None and user.key_path is not None
    known_hosts = ssh_server.write_known_hosts(tmp_path / "known_hosts")
    client = paramiko.SSHClient()
    client.load_host_keys(str(known_hosts))
    client.connect(
        ssh_server.host,
        ssh_server.port,
        username=user.username,
        key_filename=str(user.key_path),
        look_for_keys=False,
        allow_agent=False,
    )
    try:
        stdin, stdout, stderr = client.exec_command("cat; echo done >&2; exit 9")
        stdin.write(b"through paramiko")
        stdin.channel.shutdown_write()
        assert stdout.read() == b"through paramiko"
        assert stderr.read() == b"done\n"
        assert stdout.channel.recv_exit_status() == 9
    finally:
        client.close()


# ------------------------------------------------------------------------------------ robustness


def test_fifty_concurrent_clients(ssh_server: SSHServer) -> None:
    def one(n: int) -> bytes:
        with ssh_server.connect_client() as client:
            return run(client, f"echo {n}")[0]

    with ThreadPoolExecutor(50) as pool:
        results = list(pool.map(one, range(50)))
    assert results == [f"{n}\n".encode() for n in range(50)]
    assert ssh_server.wait_until_idle(30)


def _bad_client(port: int, kind: int) -> None:
    sock = socket.create_connection((HOST, port), timeout=10)
    try:
        if kind == 0:
            pass  # connect and vanish
        elif kind == 1:
            sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
        elif kind == 2:
            sock.sendall(b"SSH-2.0-evil\r\n" + os.urandom(5000))
        elif kind == 3:
            sock.sendall(b"SSH-2.0-evil\r\n")
            sock.recv(100)  # the server's banner, then vanish in the middle of kex
        else:  # a reset instead of a FIN
            sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
    finally:
        sock.close()


def test_misbehaving_clients_do_not_affect_a_good_one(ssh_server: SSHServer) -> None:
    good = ssh_server.connect_client()
    stop = threading.Event()
    outputs: list[bytes] = []

    def keep_working() -> None:
        i = 0
        while not stop.is_set() and i < 1000:
            outputs.append(run(good, f"echo {i}")[0])
            i += 1

    worker = threading.Thread(target=keep_working)
    worker.start()
    try:
        with ThreadPoolExecutor(20) as pool:
            list(pool.map(lambda k: _bad_client(ssh_server.port, k % 5), range(20)))
        # abrupt vanishing of authenticated clients with commands running
        for _ in range(3):
            c = ssh_server.connect_client()
            c.exec_command("sleep 60")
            transport_of(c).sock.close()
            c.close()
    finally:
        stop.set()
        worker.join(30)
    assert outputs and outputs == [f"{i}\n".encode() for i in range(len(outputs))]
    assert run(good, "echo still fine")[0] == b"still fine\n"
    good.close()
    assert ssh_server.wait_until_idle(30)


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd")
def test_close_leaves_no_threads_or_fds(tmp_path: Path, echo_server: EchoServer) -> None:
    def cycle() -> int:
        server = SSHServer()
        server.add_user(directory=tmp_path)
        with server:
            client = server.connect_client()
            run(client, "echo hi")
            chan = transport_of(client).open_session()
            chan.get_pty()
            chan.invoke_shell()
            read_until(chan, b"#" if os.geteuid() == 0 else b"$")
            fwd = transport_of(client).open_channel(
                "direct-tcpip", (HOST, echo_server.port), (HOST, 1)
            )
            fwd.sendall(b"ping")
            assert fwd.recv(4) == b"ping"
            t = transport_of(client)
            t.request_port_forward(HOST, 0)
            running = transport_of(client).open_session()
            running.exec_command("echo $$; exec sleep 60")
            pid = int(running.makefile("rb").readline())
            # close the server under the client's feet, with everything still open
        client.close()
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
        return pid

    cycle()  # warm up lazily created process-wide state (imports, logging, ...)
    threads, fds = threading.active_count(), _fds()
    cycle()
    assert threading.active_count() == threads
    assert _fds() == fds


# ------------------------------------------------------------------------------------ python -m


def _python_m(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sshwire", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_demo_runs() -> None:
    res = _python_m("demo")
    assert res.returncode == 0, res.stderr
    out = res.stdout
    for expected in (
        "Started the embedded SSH server on 127.0.0.1:",
        "hello from",
        "-> exit status 3",
        "STDIN GOES THROUGH, EOF ENDS IT",
        "GREETING is hi!",
        "killed by signal TERM",
        "tick 5",
        "Done in",
    ):
        assert expected in out, out
    assert res.stderr == ""


def test_version() -> None:
    from sshwire import __version__

    res = _python_m("version")
    assert (res.returncode, res.stdout.strip()) == (0, __version__)


def test_serve_refuses_to_start_without_auth() -> None:
    res = _python_m("serve", timeout=30)
    assert res.returncode == 2
    assert "no authentication method" in res.stderr
    res = _python_m("serve", "--password", "nocolon", timeout=30)
    assert res.returncode == 2


def test_serve_until_interrupted() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "sshwire", "serve", "--password", "alice:s3cret"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("sshwire SSH server listening on 127.0.0.1:"), first
        port = int(first.rsplit(":", 1)[1])
        lines = [proc.stdout.readline() for _ in range(4)]
        assert lines[0].startswith("host key ssh-ed25519 SHA256:")
        assert lines[2].strip().startswith(f"ssh -p {port} alice@127.0.0.1")
        client = SSHClient()
        client.set_missing_host_key_policy(__import__("sshwire").AutoAddPolicy())
        client.connect(HOST, port, "alice", "s3cret", look_for_keys=False, allow_agent=False)
        assert run(client, "echo served")[0] == b"served\n"
        client.close()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "stopped" in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)


def test_client_send_larger_than_the_window(ssh_client: SSHClient, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    os.mkfifo(gate)
    chan = transport_of(ssh_client).open_session()
    chan.settimeout(30)
    # the command reads nothing until the gate opens: the window is not refilled meanwhile
    chan.exec_command(f"cat {gate} >/dev/null; sha256sum")
    payload = os.urandom(3 * 1024 * 1024)
    sent = chan.send(payload[:5000])
    sent += chan.send(payload[sent:])  # more than what is left of the window: a partial send
    assert sent < len(payload)
    with open(gate, "w"):  # opens once cat does; closing it lets sha256sum read stdin
        pass
    chan.sendall(payload[sent:])
    chan.shutdown_write()
    out = chan.makefile("rb").read()
    assert out.split()[0].decode() == hashlib.sha256(payload).hexdigest()


def test_command_that_cannot_run(ssh_client: SSHClient) -> None:
    out, err, status = run(ssh_client, "echo a\0b")  # a NUL cannot be in an argv
    assert (out, status) == (b"", 127) and b"cannot run" in err

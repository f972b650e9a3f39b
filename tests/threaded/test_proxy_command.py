"""``ProxyCommand`` on its own (with small programs: cat, sleep, sh, python) and as the socket
of sshwire's client talking to sshwire's embedded server.

Every test checks that the program was reaped and that no thread or file descriptor is left
behind. Waits are bounded by timeouts, never by sleeping.
"""

from __future__ import annotations

import gc
import hashlib
import os
import select
import shlex
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import paramiko
import pytest

from _proxy_relay import RELAY
from sshwire.client import SSHClient
from sshwire.proxy import ProxyCommand
from sshwire.ssh_exception import ProxyCommandFailure, SSHException
from sshwire.testing import SSHServer
from sshwire.transport import Transport

pytestmark = pytest.mark.timeout(60)


def py(code: str, *args: str) -> str:
    """A command line that runs ``code`` with this Python."""
    return shlex.join([sys.executable, "-c", code, *args])


def _fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture(autouse=True)
def nothing_left() -> Iterator[None]:
    """After each test: no new thread, no new file descriptor."""
    gc.collect()
    threads, fds = set(threading.enumerate()), _fd_count()
    yield
    gc.collect()
    new = [t for t in threading.enumerate() if t not in threads]
    for t in new:
        t.join(10)
    assert not [t for t in new if t.is_alive()], f"threads left: {new}"
    assert _fd_count() == fds, sorted(os.listdir("/proc/self/fd"))


def assert_reaped(proxy: ProxyCommand) -> None:
    assert proxy.closed
    assert proxy.process.returncode is not None
    with pytest.raises(ChildProcessError):
        os.waitpid(proxy.process.pid, os.WNOHANG)


def in_thread(fn: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    """Run ``fn`` in a thread; the dict gets ``result`` or ``error``."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = fn()
        except BaseException as exc:  # handed to the test
            box["error"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    return t, box


def recv_exactly(proxy: ProxyCommand, n: int) -> bytes:
    out = b""
    while len(out) < n:
        data = proxy.recv(n - len(out))
        assert data, f"EOF after {out!r}"
        out += data
    return out


# ------------------------------------------------------------------------------ construction


def test_attributes_mirror_paramiko() -> None:
    with ProxyCommand("cat -u") as ours:
        theirs = paramiko.ProxyCommand("cat -u")
        try:
            assert ours.cmd == theirs.cmd == ["cat", "-u"]
            assert ours.timeout is theirs.timeout is None
            assert isinstance(ours.process, subprocess.Popen)
            assert not ours.closed and not ours._closed
            ours.settimeout(2.5)
            assert ours.timeout == ours.gettimeout() == 2.5
        finally:
            theirs.close()
            theirs.process.wait(10)
            for f in (theirs.process.stdin, theirs.process.stdout, theirs.process.stderr):
                assert f is not None
                f.close()
    assert_reaped(ours)


def test_quoting_is_shell_like_but_no_shell_runs() -> None:
    with ProxyCommand("""printf '%s|' "two words" 'and $HOME' a\\ b""") as proxy:
        proxy.settimeout(10)
        assert recv_exactly(proxy, 24) == b"two words|and $HOME|a b|"
        assert proxy.recv(100) == b""


def test_missing_program_raises_like_paramiko() -> None:
    with pytest.raises(FileNotFoundError):
        paramiko.ProxyCommand("/nonexistent/sshwire-proxy")
    with pytest.raises(FileNotFoundError):
        ProxyCommand("/nonexistent/sshwire-proxy")


def test_empty_command_line() -> None:
    with pytest.raises(ValueError, match="needs a program"):
        ProxyCommand("   ")


# ------------------------------------------------------------------------------ recv and send


def test_recv_returns_what_is_there() -> None:
    with ProxyCommand("cat") as proxy:
        proxy.settimeout(10)
        assert proxy.send(b"hello") == 5
        # not paramiko's "wait for all 65536 bytes (or the timeout)": what arrived comes back
        # at once (cat writes the 5 bytes in one piece)
        started = time.monotonic()
        assert proxy.recv(65536) == b"hello"
        assert time.monotonic() - started < 5
        proxy.sendall(memoryview(b"into the buffer"))
        buf = bytearray(64)
        got = 0
        while got < 15:
            n = proxy.recv_into(memoryview(buf)[got:])
            assert n
            got += n
        assert bytes(buf[:15]) == b"into the buffer"


def test_large_transfer_both_ways_at_once() -> None:
    payload = os.urandom(4 * 1024 * 1024)
    with ProxyCommand("cat") as proxy:
        proxy.settimeout(30)
        writer, box = in_thread(lambda: proxy.sendall(payload))
        received = recv_exactly(proxy, len(payload))
        writer.join(30)
        assert "error" not in box
        assert received == payload


def test_fileno_works_with_select() -> None:
    with ProxyCommand("cat") as proxy:
        fd = proxy.fileno()
        assert select.select([fd], [], [], 0)[0] == []
        proxy.send(b"x")
        assert select.select([fd], [], [], 10)[0] == [fd]
        proxy.settimeout(0)
        assert proxy.recv(10) == b"x"
        assert select.select([fd], [], [], 0)[0] == []


def test_settimeout_bounds_recv_without_spinning() -> None:
    with ProxyCommand("sleep 30") as proxy:
        proxy.settimeout(0.5)
        wall, cpu = time.monotonic(), time.thread_time()
        with pytest.raises(socket.timeout):
            proxy.recv(1024)
        waited, spent = time.monotonic() - wall, time.thread_time() - cpu
        assert 0.45 <= waited < 5
        assert spent < 0.2, f"recv used {spent:.2f}s of CPU while waiting (busy loop?)"


def test_zero_timeout_does_not_block() -> None:
    with ProxyCommand("sleep 30") as proxy:
        proxy.settimeout(0)
        started = time.monotonic()
        with pytest.raises(socket.timeout):
            proxy.recv(1024)
        with pytest.raises(socket.timeout):
            proxy.recv_into(bytearray(8))
        assert time.monotonic() - started < 1


def test_send_timeout_when_the_program_does_not_read() -> None:
    payload = b"z" * (4 << 20)  # far more than a pipe holds
    with ProxyCommand("sleep 30") as proxy:
        proxy.settimeout(0.3)
        started = time.monotonic()
        # like socket.send: what fitted into the pipe before the timeout is reported ...
        sent = proxy.send(payload)
        assert 0 < sent < len(payload)
        assert 0.25 <= time.monotonic() - started < 5
        # ... and with nothing written at all, the timeout is raised
        with pytest.raises(socket.timeout):
            proxy.send(payload)
        # sendall raises as soon as the timeout passes
        with pytest.raises(socket.timeout):
            proxy.sendall(payload)


def test_transport_send_loop_over_a_proxy_with_a_timeout(server: SSHServer) -> None:
    """A timeout on the proxy (paramiko's Transport sets one on its socket) must not lose or
    repeat bytes. A zero timeout makes every full pipe a partial send or a timeout for the
    transport's send loop: a big upload through a relay hits both hundreds of times."""
    proxy = relay_to(server)
    proxy.settimeout(0.0)
    with server.connect_client(sock=proxy) as client:
        payload = os.urandom(8 << 20)
        stdin, stdout, _ = client.exec_command("sha256sum", timeout=30)
        stdin.write(payload)
        stdin.channel.shutdown_write()
        assert stdout.read().split()[0].decode() == hashlib.sha256(payload).hexdigest()
    assert_reaped(proxy)


def test_blocking_recv_wakes_on_data() -> None:
    with ProxyCommand("cat") as proxy:
        proxy.settimeout(None)
        reader, box = in_thread(lambda: proxy.recv(100))
        proxy.send(b"wake")
        reader.join(10)
        assert not reader.is_alive() and box == {"result": b"wake"}


# ------------------------------------------------------------------------------ end of output


def test_clean_exit_gives_eof() -> None:
    with ProxyCommand("printf bye") as proxy:
        proxy.settimeout(10)
        assert recv_exactly(proxy, 3) == b"bye"
        assert proxy.recv(10) == b""
        assert proxy.recv_into(bytearray(10)) == 0
        assert proxy.recv(10) == b""


def test_failed_program_raises_proxy_command_failure() -> None:
    cmd = "sh -c 'echo first >&2; echo doomed >&2; exit 3'"
    with ProxyCommand(cmd) as proxy:
        proxy.settimeout(10)
        with pytest.raises(ProxyCommandFailure) as info:
            proxy.recv(10)
    err = info.value
    assert err.command == "sh -c echo first >&2; echo doomed >&2; exit 3"
    assert err.error == "3 (first / doomed)"
    assert (
        str(err)
        == f'ProxyCommand("{err.command}") returned nonzero exit status: 3 (first / doomed)'
    )
    assert err.args == (err.command, err.error)


def test_program_killed_by_a_signal() -> None:
    with ProxyCommand("sh -c 'kill -KILL $$'") as proxy:
        proxy.settimeout(10)
        with pytest.raises(ProxyCommandFailure, match="killed by SIGKILL"):
            proxy.recv(10)


def test_send_to_a_dead_program_matches_paramiko() -> None:
    ours = ProxyCommand("true")
    theirs = paramiko.ProxyCommand("true")
    try:
        ours.process.wait(10)
        theirs.process.wait(10)
        with pytest.raises(paramiko.ProxyCommandFailure) as their_error:
            theirs.send(b"x" * 100_000)
        with pytest.raises(ProxyCommandFailure) as our_error:
            ours.send(b"x" * 100_000)
        assert our_error.value.args == their_error.value.args == ("true", "Broken pipe")
        assert str(our_error.value) == str(their_error.value)
    finally:
        ours.close()
        # (paramiko's close() would raise ProcessLookupError for a reaped program: ours
        # does not; just free paramiko's pipes)
        for f in (theirs.process.stdin, theirs.process.stdout, theirs.process.stderr):
            assert f is not None
            try:
                f.close()
            except BrokenPipeError:
                pass
    assert_reaped(ours)


def test_shutdown_write_lets_the_program_finish() -> None:
    with ProxyCommand("cat") as proxy:
        proxy.settimeout(10)
        proxy.send(b"last words")
        proxy.shutdown(socket.SHUT_WR)
        with pytest.raises(OSError):
            proxy.send(b"more")
        assert recv_exactly(proxy, 10) == b"last words"
        assert proxy.recv(10) == b""
        assert proxy.process.wait(10) == 0


def test_shutdown_read_ends_recv() -> None:
    with ProxyCommand("cat") as proxy:
        proxy.send(b"unread")
        proxy.shutdown(socket.SHUT_RD)
        assert proxy.recv(10) == b""


# ------------------------------------------------------------------------------ closing


def test_close_reaps_and_is_idempotent() -> None:
    proxy = ProxyCommand("sleep 30")
    pid = proxy.process.pid
    assert not proxy.closed
    proxy.close()
    assert_reaped(proxy)
    assert proxy.process.returncode == -15  # SIGTERM
    proxy.close()
    assert proxy.fileno() == -1
    assert proxy.recv(10) == b""
    with pytest.raises(OSError):
        proxy.send(b"x")
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_close_after_the_program_exited() -> None:
    proxy = ProxyCommand("true")
    proxy.process.wait(10)
    assert proxy.closed  # paramiko's meaning: the program is gone
    proxy.close()
    assert_reaped(proxy)
    assert proxy.process.returncode == 0


def test_close_wakes_a_blocked_recv_and_send() -> None:
    proxy = ProxyCommand("sleep 30")
    reader, rbox = in_thread(lambda: proxy.recv(100))
    writer, wbox = in_thread(lambda: proxy.send(b"w" * (4 << 20)))
    proxy.close()
    reader.join(10)
    writer.join(10)
    assert not reader.is_alive() and not writer.is_alive()
    assert rbox == {"result": b""}
    assert isinstance(wbox.get("error"), OSError)
    assert_reaped(proxy)


def test_sigterm_ignored_then_killed() -> None:
    code = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "sys.stdout.write('ready'); sys.stdout.flush()\n"
        "time.sleep(60)\n"
    )
    proxy = ProxyCommand(py(code))
    proxy.settimeout(20)
    assert recv_exactly(proxy, 5) == b"ready"
    proxy.close()
    assert_reaped(proxy)
    assert proxy.process.returncode == -9  # SIGKILL after the grace period


def test_dropped_without_close_is_cleaned_up() -> None:
    proxy = ProxyCommand("sleep 30")
    process = proxy.process
    del proxy
    gc.collect()
    assert process.returncode is not None
    with pytest.raises(ChildProcessError):
        os.waitpid(process.pid, os.WNOHANG)


# ------------------------------------------------------------------------------ with sshwire


@pytest.fixture
def server(ssh_server: SSHServer) -> SSHServer:
    return ssh_server


def relay_to(server: SSHServer) -> ProxyCommand:
    return ProxyCommand(py(RELAY, server.host, str(server.port)))


def run(client: SSHClient, command: str) -> tuple[bytes, bytes, int]:
    _, out, err = client.exec_command(command, timeout=20)
    return out.read(), err.read(), out.channel.recv_exit_status()


def test_client_over_relay(server: SSHServer) -> None:
    proxy = relay_to(server)
    with server.connect_client(sock=proxy) as client:
        t = client.get_transport()
        assert t is not None and t.sock is proxy
        assert run(client, "echo over-relay; exit 4") == (b"over-relay\n", b"", 4)
    assert_reaped(proxy)
    assert proxy.process.returncode == 0  # ended by the end of its input, not by a signal


def test_transport_over_relay(server: SSHServer) -> None:
    proxy = relay_to(server)
    user = server.default_user
    assert user is not None
    with Transport(proxy) as t:
        t.start_client(timeout=20)
        assert t.get_remote_server_key() == server.host_key
        t.auth_publickey(user.username, user.key)
        chan = t.open_session(timeout=20)
        chan.exec_command("printf raw")
        chan.settimeout(20)
        assert chan.makefile("rb").read() == b"raw"
    assert_reaped(proxy)


def test_proxy_jump_through_embedded_server(server: SSHServer) -> None:
    with server.connect_client() as first:
        t1 = first.get_transport()
        assert t1 is not None
        chan = t1.open_channel("direct-tcpip", server.address, ("127.0.0.1", 0), timeout=20)
        with server.connect_client(sock=chan) as second:
            assert run(second, "echo hop") == (b"hop\n", b"", 0)
            payload = os.urandom(2 << 20)
            stdin, stdout, _ = second.exec_command("cat", timeout=20)
            writer, box = in_thread(lambda: (stdin.write(payload), stdin.channel.shutdown_write()))
            assert stdout.read() == payload
            writer.join(20)
            assert "error" not in box
        assert chan.closed
        assert run(first, "echo first-still-up")[0] == b"first-still-up\n"


def test_dropped_client_reaps_its_proxy(server: SSHServer) -> None:
    proxy = relay_to(server)
    client = server.connect_client(sock=proxy)
    t = client.get_transport()
    assert t is not None
    del client
    gc.collect()
    t.join(10)  # the reader thread ends on its own and closes the proxy on its way out
    assert not t.is_alive()
    assert_reaped(proxy)


_HANG = "\nimport time; time.sleep(30)"


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (
            py("import sys\nfor _ in range(5000): sys.stdout.write('not ssh at all\\n')"),
            "without an SSH version",
        ),
        ("yes garbage", "without an SSH version"),
        (py("import os; os.write(1, b'\\x00' * 100 + b'\\n')" + _HANG), "NUL byte"),
        # half a line, then silence: the banner timeout (shortened here) ends it
        (py("import os; os.write(1, b'SSH-2.0-but never finished')" + _HANG), "no banner"),
    ],
    ids=["lines-then-exit", "endless-lines", "nul-bytes", "silence"],
)
def test_garbage_from_the_proxy_fails_cleanly(
    server: SSHServer, command: str, message: str
) -> None:
    proxy = ProxyCommand(command)
    client = SSHClient()
    started = time.monotonic()
    try:
        with pytest.raises(SSHException, match=message):
            client.connect(server.host, server.port, sock=proxy, timeout=20, banner_timeout=1)
    finally:
        client.close()
    assert time.monotonic() - started < 10
    proxy.close()
    assert_reaped(proxy)


@pytest.mark.parametrize(
    ("command", "error"),
    [
        ("true", SSHException),  # exits 0 at once: end of stream before the banner
        ("false", ProxyCommandFailure),  # exits 1 at once
        ("sh -c 'echo no route to anywhere >&2; exit 255'", ProxyCommandFailure),
    ],
)
def test_proxy_that_exits_at_once(server: SSHServer, command: str, error: type) -> None:
    proxy = ProxyCommand(command)
    client = SSHClient()
    started = time.monotonic()
    try:
        with pytest.raises(error) as info:
            client.connect(server.host, server.port, sock=proxy, timeout=20)
    finally:
        client.close()
    assert time.monotonic() - started < 10  # well before the 15 s banner timeout
    if isinstance(info.value, ProxyCommandFailure):
        assert info.value.command == " ".join(proxy.cmd)
        if "no route" in command:
            assert info.value.error in ("255 (no route to anywhere)", "Broken pipe")
    proxy.close()
    assert_reaped(proxy)

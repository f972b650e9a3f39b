"""Channels against a real OpenSSH sshd: exec, streams, exit status, windows, fileno."""

from __future__ import annotations

import hashlib
import os
import select
import selectors
import socket
import threading
from collections.abc import Callable, Iterator

import pytest

from _openssh import SshdServer
from sshwire.channel import Channel
from sshwire.pkey import PKey
from sshwire.ssh_exception import SSHException
from sshwire.transport import Transport

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def transport(sshd: SshdServer) -> Iterator[Transport]:
    t = Transport(socket.create_connection((sshd.host, sshd.port)))
    t.start_client(timeout=10)
    t.auth_publickey(sshd.user, PKey.from_path(sshd.client_keys["ed25519"]))
    yield t
    t.close()


def _read_all(chan: Channel, stderr: bool = False) -> bytes:
    out = bytearray()
    recv = chan.recv_stderr if stderr else chan.recv
    while True:
        data = recv(65536)
        if not data:
            return bytes(out)
        out += data


def test_exec_streams_and_exit_status(transport: Transport) -> None:
    chan = transport.open_session()
    assert chan.active and not chan.closed and chan.get_id() == chan.chanid
    chan.exec_command("echo out; echo err >&2; exit 7")
    assert _read_all(chan) == b"out\n"
    assert _read_all(chan, stderr=True) == b"err\n"
    assert chan.recv_exit_status() == 7
    assert chan.exit_status_ready()
    chan.close()
    assert chan.closed


def test_exit_signal(transport: Transport) -> None:
    chan = transport.open_session()
    chan.exec_command("kill -TERM $$")
    assert chan.recv_exit_status() == -1
    assert chan.exit_signal == "TERM"


def test_stdin_to_cat_and_eof(transport: Transport) -> None:
    chan = transport.open_session()
    chan.exec_command("cat")
    chan.sendall(b"hello through cat\n")
    chan.shutdown_write()
    assert chan.eof_sent
    assert _read_all(chan) == b"hello through cat\n"
    assert chan.recv_exit_status() == 0


def test_combine_stderr(transport: Transport) -> None:
    chan = transport.open_session()
    chan.set_combine_stderr(True)
    chan.exec_command("echo a; echo b >&2; echo c")
    data = _read_all(chan)
    assert sorted(data.split()) == [b"a", b"b", b"c"]
    assert not chan.recv_stderr_ready()


def test_refused_request_closes_channel(transport: Transport) -> None:
    chan = transport.open_session()
    with pytest.raises(SSHException):
        chan.invoke_subsystem("no-such-subsystem")
    assert chan.closed


def test_recv_timeout(transport: Transport) -> None:
    chan = transport.open_session()
    chan.exec_command("sleep 5")
    chan.settimeout(0.2)
    assert chan.gettimeout() == 0.2
    with pytest.raises(socket.timeout):
        chan.recv(10)
    chan.setblocking(False)
    with pytest.raises(socket.timeout):
        chan.recv(10)
    chan.close()


def test_pty_shell_line_by_line(transport: Transport) -> None:
    chan = transport.open_session()
    chan.get_pty("xterm", 100, 30)
    chan.invoke_shell()
    chan.settimeout(10)
    chan.sendall(b"stty -echo; echo READY$((1+1))\n")
    seen = b""
    while b"READY2" not in seen:
        seen += chan.recv(4096)
    chan.resize_pty(120, 40)
    chan.sendall(b"stty size\n")
    seen = b""
    while b"40 120" not in seen:
        seen += chan.recv(4096)
    chan.sendall(b"exit 3\n")
    assert chan.recv_exit_status() == 3


def test_environment(transport: Transport) -> None:
    chan = transport.open_session()
    chan.update_environment({"SSHWIRE_TEST_VAR": "forty-two"})
    chan.exec_command("echo $SSHWIRE_TEST_VAR")
    assert _read_all(chan) == b"forty-two\n"


def test_large_transfer_both_ways(transport: Transport) -> None:
    size = 64 * 1024 * 1024
    payload = os.urandom(1024 * 1024) * 64
    chan = transport.open_session()
    chan.exec_command("sha256sum")
    chan.sendall(payload)
    chan.shutdown_write()
    assert _read_all(chan).split()[0].decode() == hashlib.sha256(payload).hexdigest()
    chan = transport.open_session()
    name = f"/tmp/sshwire-test-{os.getpid()}-{id(chan)}"
    chan.exec_command(
        f"head -c {size} /dev/urandom > {name}; sha256sum < {name} >&2; cat {name}; rm {name}"
    )
    digest = hashlib.sha256()
    got = 0
    while True:
        data = chan.recv(1 << 20)
        if not data:
            break
        got += len(data)
        digest.update(data)
    assert got == size
    assert _read_all(chan, stderr=True).split()[0].decode() == digest.hexdigest()


def test_stderr_flood_while_reading_stdout(transport: Transport) -> None:
    """8 MiB of stderr (4x the window) before any stdout: paramiko deadlocks here."""
    chan = transport.open_session()
    chan.exec_command("head -c 8388608 /dev/zero >&2; echo done")
    assert _read_all(chan) == b"done\n"
    assert len(_read_all(chan, stderr=True)) == 8 * 1024 * 1024
    assert chan.recv_exit_status() == 0


def test_exit_status_without_reading(transport: Transport) -> None:
    """recv_exit_status before reading 8 MiB of output returns (paramiko may hang)."""
    chan = transport.open_session()
    chan.exec_command("head -c 8388608 /dev/zero; exit 5")
    assert chan.recv_exit_status() == 5
    assert len(_read_all(chan)) == 8 * 1024 * 1024


def test_many_channels_at_once(transport: Transport) -> None:
    chans = [transport.open_session() for _ in range(100)]
    for i, chan in enumerate(chans):
        chan.exec_command(f"echo {i}")
    for i, chan in enumerate(chans):
        assert _read_all(chan) == f"{i}\n".encode()
        assert chan.recv_exit_status() == 0


def test_select_loop_over_fileno(transport: Transport) -> None:
    chans = {}
    for i in range(50):
        chan = transport.open_session()
        chan.exec_command(f"head -c {1000 * (i + 1)} /dev/zero")
        chans[chan.fileno()] = (chan, bytearray())
    open_fds = set(chans)
    for _ in range(100000):
        if not open_fds:
            break
        readable, _, _ = select.select(list(open_fds), [], [], 10)
        assert readable, "select timed out"
        for fd in readable:
            chan, buf = chans[fd]
            assert chan.recv_ready() or chan.eof_received or chan.closed
            data = chan.recv(65536)
            if data:
                buf += data
            else:
                open_fds.discard(fd)
    for i, (_chan, buf) in enumerate(chans.values()):
        assert len(buf) == 1000 * (i + 1)


def test_fileno_with_selectors(transport: Transport) -> None:
    chan = transport.open_session()
    chan.exec_command("sleep 0.2; echo ready")
    with selectors.DefaultSelector() as sel:
        sel.register(chan.fileno(), selectors.EVENT_READ)
        assert not chan.recv_ready()
        assert sel.select(10)
        assert chan.recv(100) == b"ready\n"


def test_one_unread_channel_does_not_stall_others(transport: Transport) -> None:
    stalled = transport.open_session()
    stalled.exec_command("head -c 16777216 /dev/zero")  # nobody reads it
    other = transport.open_session()
    other.exec_command("head -c 4194304 /dev/zero | wc -c")
    assert _read_all(other) == b"4194304\n"
    stalled.close()


def test_transport_death_wakes_waiters(sshd: SshdServer) -> None:
    t = Transport(socket.create_connection((sshd.host, sshd.port)))
    t.start_client(timeout=10)
    t.auth_publickey(sshd.user, PKey.from_path(sshd.client_keys["ed25519"]))
    chans = []
    for _ in range(4):
        chan = t.open_session()
        chan.exec_command("sleep 30")
        chans.append(chan)
    results: list[object] = []

    def wait_status(chan: Channel) -> None:
        try:
            results.append(chan.recv_exit_status())
        except SSHException as exc:  # the connection died: raise, never hang
            results.append(exc)

    def wait_recv(chan: Channel) -> None:
        results.append(chan.recv(10))

    threads = [threading.Thread(target=wait_status, args=(chans[0],))]
    threads.append(threading.Thread(target=wait_recv, args=(chans[1],)))
    for th in threads:
        th.start()
    t.sock.shutdown(socket.SHUT_RDWR)  # the connection dies under them
    for th in threads:
        th.join(5)
        assert not th.is_alive()
    assert len(results) == 2 and b"" in results
    assert isinstance(next(r for r in results if r != b""), SSHException)
    t.close()
    assert not t.is_alive()


def test_files_over_a_channel(transport: Transport) -> None:
    chan = transport.open_session()
    chan.exec_command("cat; echo tail >&2")
    stdin, stdout, stderr = (
        chan.makefile_stdin("wb"),
        chan.makefile("rb"),
        chan.makefile_stderr("r"),
    )
    stdin.write(b"line one\nline two\n")
    stdin.writelines([b"line three\n"])
    stdin.flush()
    stdin.close()  # sends EOF: cat finishes
    assert chan.eof_sent
    assert stdout.readline() == b"line one\n"
    assert list(stdout) == [b"line two\n", b"line three\n"]
    assert stderr.read() == b"tail\n"  # paramiko returns bytes in every mode
    assert "ChannelFile" in repr(stdout)
    assert chan.recv_exit_status() == 0


def test_channel_attributes(transport: Transport) -> None:
    chan = transport.open_session()
    assert chan.get_transport() is transport
    assert chan.getpeername() == transport.getpeername()
    chan.set_name("worker")
    assert chan.get_name() == "worker"
    assert chan.remote_chanid >= 0 and chan.in_window_size == transport.default_window_size
    assert chan.in_max_packet_size == transport.default_max_packet_size
    # sshd gives a session channel no window until the session starts
    assert chan.out_window_size == 0 and chan.out_max_packet_size > 0
    assert not chan.send_ready()
    assert not chan.eof_received and not chan.eof_sent and not chan.combine_stderr
    assert chan.exit_status == -1 and not chan.exit_status_ready()
    assert "open" in repr(chan)
    assert chan.set_combine_stderr(True) is False
    with chan:
        pass
    assert chan.closed and "closed" in repr(chan)
    with pytest.raises(SSHException):
        chan.exec_command("true")


def test_no_thread_or_fd_left_after_close(sshd: SshdServer) -> None:
    def fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    threads_before, fds_before = threading.active_count(), fds()
    for _ in range(3):
        t = Transport(socket.create_connection((sshd.host, sshd.port)))
        t.start_client(timeout=10)
        t.auth_publickey(sshd.user, PKey.from_path(sshd.client_keys["ed25519"]))
        chan = t.open_session()
        chan.fileno()
        chan.exec_command("true")
        chan.recv_exit_status()
        chan.close()
        t.close()
        del chan
    assert threading.active_count() == threads_before
    import gc

    gc.collect()
    assert fds() == fds_before


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc), children first."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                parents[int(entry)] = int(fields[1])
            except (OSError, IndexError, ValueError):
                continue
    found: list[int] = []
    frontier = [pid]
    while frontier:
        current = frontier.pop()
        children = [p for p, parent in parents.items() if parent == current]
        found += children
        frontier += children
    return found


def test_sshd_killed_wakes_every_waiter(sshd: SshdServer) -> None:
    """SIGKILL to the sshd serving us while threads wait: each raises or ends, none hangs."""
    import signal

    with sshd.start_with([]) as server:
        t = Transport(socket.create_connection((server.host, server.port)))
        t.start_client(timeout=10)
        t.auth_publickey(server.user, PKey.from_path(server.client_keys["ed25519"]))
        chans = []
        for _ in range(4):
            chan = t.open_session()
            chan.exec_command("sleep 30")
            chans.append(chan)
        stdout = chans[3].makefile("rb")
        outcomes: list[str] = []

        def run(name: str, fn: Callable[[], object]) -> None:
            try:
                fn()
                outcomes.append(f"{name}: returned")
            except (SSHException, OSError) as exc:
                outcomes.append(f"{name}: {type(exc).__name__}")

        waiters = [
            threading.Thread(target=run, args=("status", chans[0].recv_exit_status)),
            threading.Thread(target=run, args=("recv", lambda: chans[1].recv(10))),
            threading.Thread(target=run, args=("sendall", lambda: chans[2].sendall(b"x" * 2**24))),
            threading.Thread(target=run, args=("read", stdout.read)),
        ]
        for w in waiters:
            w.start()
        for pid in _descendants(server.pid):
            os.kill(pid, signal.SIGKILL)
        for w in waiters:
            w.join(5)
            assert not w.is_alive(), "a waiter hung after sshd died"
        assert sorted(outcomes) == [
            "read: returned",
            "recv: returned",
            "sendall: OSError",
            "status: SSHException",
        ]
        t.close()
        assert not t.is_alive()

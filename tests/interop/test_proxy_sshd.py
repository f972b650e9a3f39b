"""``ProxyCommand`` and the ProxyJump pattern against a real OpenSSH sshd.

Proxies used here: OpenSSH's own ``ssh -W host:port`` (the classic ``ProxyCommand``), a small
Python socket relay run with ``python -c``, and a direct-tcpip :class:`Channel` of a first
connection used as the socket of a second one (what ``ssh -J`` does). Every test checks that
nothing is left behind: no proxy process, no thread, no file descriptor.
"""

from __future__ import annotations

import gc
import hashlib
import os
import shlex
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _openssh import SshdServer
from _proxy_relay import RELAY
from sshwire.channel import Channel
from sshwire.client import RejectPolicy, SSHClient
from sshwire.pkey import PKey
from sshwire.proxy import ProxyCommand
from sshwire.ssh_exception import ProxyCommandFailure, SSHException
from sshwire.transport import Transport

pytestmark = pytest.mark.timeout(90)


# ------------------------------------------------------------------------------ helpers


def _fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture(autouse=True)
def private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty home directory and no agent, for us and for the ``ssh`` proxies."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    return home


@pytest.fixture
def nothing_left(sshd: SshdServer) -> Iterator[None]:
    """After the test: no new thread and no new file descriptor (children are checked
    by the tests themselves, through the ProxyCommand's ``process``)."""
    gc.collect()
    threads, fds = set(threading.enumerate()), _fd_count()
    yield
    gc.collect()
    new = [t for t in threading.enumerate() if t not in threads]
    for t in new:
        t.join(10)
    assert not [t for t in new if t.is_alive()], f"threads left: {new}"
    assert _fd_count() == fds, sorted(os.listdir("/proc/self/fd"))


def ssh_w(sshd: SshdServer, target: tuple[str, int] | None = None, *options: str) -> str:
    """The command line of an ``ssh -W`` proxy through ``sshd`` to ``target`` (default: sshd)."""
    host, port = target or (sshd.host, sshd.port)
    argv = [sshd.openssh.ssh, *sshd.ssh_args(), *options, "-W", f"{host}:{port}", sshd.host]
    return shlex.join(argv)


def relay(host: str, port: int) -> str:
    return shlex.join([sys.executable, "-c", RELAY, host, str(port)])


def known_client(sshd: SshdServer) -> SSHClient:
    client = SSHClient()
    client.load_host_keys(str(sshd.known_hosts_path))
    client.set_missing_host_key_policy(RejectPolicy())
    return client


def connect(sshd: SshdServer, sock: Any, client: SSHClient | None = None) -> SSHClient:
    client = client or known_client(sshd)
    client.connect(
        sshd.host,
        sshd.port,
        username=sshd.user,
        key_filename=str(sshd.client_keys["ed25519"]),
        allow_agent=False,
        look_for_keys=False,
        timeout=20,
        sock=sock,
    )
    return client


def run(client: SSHClient, command: str) -> tuple[bytes, bytes, int]:
    stdin, stdout, stderr = client.exec_command(command, timeout=30)
    stdin.close()
    out, err = stdout.read(), stderr.read()
    return out, err, stdout.channel.recv_exit_status()


def assert_reaped(proxy: ProxyCommand) -> None:
    """The proxy's process has exited and was waited for (no zombie)."""
    assert proxy.closed
    assert proxy.process.returncode is not None
    with pytest.raises(ChildProcessError):
        os.waitpid(proxy.process.pid, os.WNOHANG)
    assert proxy.fileno() == -1


# ------------------------------------------------------------------------------ ssh -W


def test_client_through_ssh_w(sshd: SshdServer, nothing_left: None) -> None:
    proxy = ProxyCommand(ssh_w(sshd))
    client = connect(sshd, proxy)
    try:
        t = client.get_transport()
        assert t is not None and t.is_authenticated() and t.sock is proxy
        assert t.getpeername() == ("unknown", 0)  # a proxy has no peer address, as paramiko
        assert run(client, "echo through-the-proxy; id -un") == (
            f"through-the-proxy\n{sshd.user}\n".encode(),
            b"",
            0,
        )
        # several channels at once over the one pipe pair
        outputs = [client.exec_command(f"echo {i}")[1] for i in range(5)]
        assert [o.read() for o in outputs] == [f"{i}\n".encode() for i in range(5)]
    finally:
        client.close()
    assert_reaped(proxy)


def test_transport_over_ssh_w(sshd: SshdServer, nothing_left: None) -> None:
    proxy = ProxyCommand(ssh_w(sshd))
    with Transport(proxy) as t:
        t.start_client(timeout=20)
        key = t.get_remote_server_key()
        assert f"{key.get_name()} {key.get_base64()}" in sshd.host_public_keys.values()
        t.auth_publickey(sshd.user, PKey.from_path(sshd.client_keys["ecdsa"]))
        chan = t.open_session(timeout=20)
        chan.exec_command("printf transport-ok; exit 3")
        chan.settimeout(20)
        assert chan.makefile("rb").read() == b"transport-ok"
        assert chan.recv_exit_status() == 3
    assert not t.is_alive()
    assert_reaped(proxy)


def test_proxy_command_context_manager(sshd: SshdServer, nothing_left: None) -> None:
    with ProxyCommand(ssh_w(sshd)) as proxy, connect(sshd, proxy) as client:
        assert run(client, "echo ctx")[0] == b"ctx\n"
    assert_reaped(proxy)


def test_raw_recv_send_and_timeout_on_ssh_w(sshd: SshdServer, nothing_left: None) -> None:
    """recv returns what arrived (the banner) without waiting for ``size`` bytes; then
    nothing more comes until we speak, and settimeout bounds the wait."""
    with ProxyCommand(ssh_w(sshd)) as proxy:
        proxy.settimeout(20)
        banner = b""
        while not banner.endswith(b"\r\n"):
            data = proxy.recv(65536)
            assert data, f"EOF after {banner!r}"
            banner += data
        assert banner.startswith(b"SSH-2.0-OpenSSH")
        proxy.settimeout(0.3)
        started = time.monotonic()
        with pytest.raises(socket.timeout):
            proxy.recv(65536)
        assert 0.25 <= time.monotonic() - started < 5
        proxy.settimeout(20)
        assert proxy.send(b"SSH-2.0-sshwire_proxy_test\r\n") == 28
        kexinit = proxy.recv(65536)  # sshd answers with its KEXINIT packet
        assert len(kexinit) > 5 and kexinit[5] == 20  # SSH_MSG_KEXINIT (RFC 4253 §7.1)
    assert_reaped(proxy)


def test_ssh_w_to_closed_port_fails_cleanly(sshd: SshdServer, nothing_left: None) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    proxy = ProxyCommand(ssh_w(sshd, ("127.0.0.1", closed_port)))
    client = known_client(sshd)
    started = time.monotonic()
    try:
        with pytest.raises(ProxyCommandFailure) as info:
            connect(sshd, proxy, client)
    finally:
        client.close()
    assert time.monotonic() - started < 15
    err = info.value
    assert err.command == " ".join(proxy.cmd)
    assert str(err).startswith(f'ProxyCommand("{err.command}") returned nonzero exit status: ')
    # ssh exits 255 and its message is quoted (unless we first hit the pipe it closed)
    assert err.error == "Broken pipe" or (
        err.error is not None
        and err.error.startswith("255 (")
        and "stdio forwarding failed" in err.error
    ), err.error
    proxy.close()
    assert_reaped(proxy)


def test_ssh_w_refused_by_the_jump_host(
    sshd: SshdServer, tmp_path: Path, nothing_left: None
) -> None:
    """The jump login fails (unknown key, BatchMode): ssh's message reaches the error."""
    stranger = tmp_path / "no-such-key"
    argv = [sshd.openssh.ssh, *sshd.ssh_args(stranger), "-W", f"{sshd.host}:{sshd.port}"]
    proxy = ProxyCommand(shlex.join([*argv, sshd.host]))
    client = known_client(sshd)
    try:
        with pytest.raises(ProxyCommandFailure) as info:
            connect(sshd, proxy, client)
    finally:
        client.close()
    error = info.value.error
    assert error == "Broken pipe" or (
        error is not None and error.startswith("255 (") and "Permission denied" in error
    ), error
    proxy.close()
    assert_reaped(proxy)


# ------------------------------------------------------------------------------ python relay


def test_client_through_python_relay(sshd: SshdServer, nothing_left: None) -> None:
    proxy = ProxyCommand(relay(sshd.host, sshd.port))
    with connect(sshd, proxy) as client:
        out, err, status = run(client, "echo relayed; echo oops >&2; exit 7")
        assert (out, err, status) == (b"relayed\n", b"oops\n", 7)
    assert_reaped(proxy)
    # the relay saw our stdin end and exited by itself: no signal was needed
    assert proxy.process.returncode == 0


def test_relay_to_closed_port(sshd: SshdServer, nothing_left: None) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    proxy = ProxyCommand(relay("127.0.0.1", closed_port))
    client = known_client(sshd)
    try:
        with pytest.raises(ProxyCommandFailure) as info:
            connect(sshd, proxy, client)
    finally:
        client.close()
    error = info.value.error or ""
    assert error == "Broken pipe" or (
        error.startswith("1 (") and "ConnectionRefusedError" in error
    ), error
    proxy.close()
    assert_reaped(proxy)


# ------------------------------------------------------------------------------ ProxyJump


def _jump(first: SSHClient, sshd: SshdServer) -> Channel:
    t = first.get_transport()
    assert t is not None
    return t.open_channel("direct-tcpip", (sshd.host, sshd.port), ("127.0.0.1", 0), timeout=20)


def test_proxy_jump_exec(sshd: SshdServer, nothing_left: None) -> None:
    first = connect(sshd, None)
    try:
        chan = _jump(first, sshd)
        second = connect(sshd, chan)
        try:
            t2 = second.get_transport()
            assert t2 is not None and t2.sock is chan and t2.is_authenticated()
            out, _, status = run(second, "echo $SSH_CONNECTION")
            assert status == 0
            # the second login comes from sshd's own outgoing connection on loopback
            client_ip, _, server_ip, server_port = out.split()
            assert (client_ip, server_ip) == (b"127.0.0.1", b"127.0.0.1")
            assert int(server_port) == sshd.port
            # both hops stay usable side by side
            assert run(first, "echo first")[0] == b"first\n"
            assert run(second, "echo second")[0] == b"second\n"
        finally:
            second.close()
        assert chan.closed
        assert run(first, "echo still-here")[0] == b"still-here\n"
    finally:
        first.close()


def test_proxy_jump_through_ssh_w(sshd: SshdServer, nothing_left: None) -> None:
    """Both at once: the first hop runs over ``ssh -W``, the second over its channel."""
    proxy = ProxyCommand(ssh_w(sshd))
    with connect(sshd, proxy) as first:
        chan = _jump(first, sshd)
        with connect(sshd, chan) as second:
            assert run(second, "echo two-hops")[0] == b"two-hops\n"
    assert_reaped(proxy)


def test_proxy_jump_64mib_both_ways(sshd: SshdServer, tmp_path: Path, nothing_left: None) -> None:
    size = 64 * 1024 * 1024
    blob = tmp_path / "blob"
    local = hashlib.sha256()
    with open(blob, "wb") as f:
        for _ in range(size // (1 << 20)):
            chunk = os.urandom(1 << 20)
            local.update(chunk)
            f.write(chunk)
    with connect(sshd, None) as first:
        chan = _jump(first, sshd)
        with connect(sshd, chan) as second:
            # download: sshd reads the file, the bytes cross both hops to us
            _, stdout, _ = second.exec_command(f"cat {shlex.quote(str(blob))}", timeout=60)
            got = hashlib.sha256()
            total = 0
            while data := stdout.read(1 << 20):
                got.update(data)
                total += len(data)
            assert stdout.channel.recv_exit_status() == 0
            assert total == size and got.hexdigest() == local.hexdigest()
            # upload: the same bytes the other way, hashed by sha256sum on the far side
            stdin, stdout, _ = second.exec_command("sha256sum", timeout=60)
            with open(blob, "rb") as f:
                while chunk := f.read(1 << 20):
                    stdin.write(chunk)
            stdin.channel.shutdown_write()
            assert stdout.read().split()[0].decode() == local.hexdigest()
            assert stdout.channel.recv_exit_status() == 0


def test_jump_target_gone_ends_second_hop(sshd: SshdServer, nothing_left: None) -> None:
    """Closing the first client under the second: the second transport dies cleanly."""
    first = connect(sshd, None)
    second: SSHClient | None = None
    try:
        chan = _jump(first, sshd)
        second = connect(sshd, chan)
        t2 = second.get_transport()
        assert t2 is not None
        first.close()
        t2.join(10)
        assert not t2.is_alive() and not t2.is_active()
        with pytest.raises(SSHException):
            second.exec_command("echo never")
    finally:
        if second is not None:
            second.close()
        first.close()

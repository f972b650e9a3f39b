"""No leaks: 1,000 connect / exec / close cycles leave threads, fds and memory where they were.

Every other cycle drops its ``SSHClient`` without ``close()`` (the finalizer must end the
transport). After a warm-up, the thread count and the open fds must come back to exactly the
baseline, and the resident set may grow by less than 10 MiB. Against sshwire's embedded
server (both ends in this process, so the server's side is measured too) and against
OpenSSH's sshd.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable

import pytest

from _openssh import SshdServer
from _reliability import fd_listing, open_fds, rss_bytes
from sshwire.client import RejectPolicy, SSHClient
from sshwire.testing import SSHServer

pytestmark = pytest.mark.timeout(600)

CYCLES = 1000
WARMUP = 30
RSS_LIMIT = 10 << 20


def _exec_true(client: SSHClient) -> None:
    _, stdout, stderr = client.exec_command("true", timeout=30)
    assert stdout.read() == b"" and stderr.read() == b""
    assert stdout.channel.recv_exit_status() == 0


def _measure(cycle: Callable[[int], None], settle: Callable[[], None]) -> dict[str, float]:
    for i in range(WARMUP):
        cycle(i)
    settle()
    threads0, fds0, rss0 = threading.active_count(), fd_listing(), rss_bytes()
    peak_threads = peak_fds = 0
    for i in range(CYCLES):
        cycle(i)
        if i % 50 == 49:
            peak_threads = max(peak_threads, threading.active_count())
            peak_fds = max(peak_fds, open_fds())
    settle()
    fds = fd_listing()
    extra = {fd: target for fd, target in fds.items() if fd not in fds0}
    figures = {
        "threads_before": threads0,
        "threads_after": threading.active_count(),
        "threads_peak": peak_threads,
        "fds_before": len(fds0),
        "fds_after": len(fds),
        "fds_peak": peak_fds,
        "rss_growth_mib": (rss_bytes() - rss0) / (1 << 20),
    }
    print(f"\n{CYCLES} cycles: {figures}")
    assert figures["threads_after"] == threads0, figures
    assert not extra, f"fds left open: {extra}"
    assert figures["rss_growth_mib"] * (1 << 20) < RSS_LIMIT, figures
    return figures


def _join_strays(baseline: set[threading.Thread]) -> None:
    """Give the reader threads of dropped clients a moment to end (bounded)."""
    for t in threading.enumerate():
        if t not in baseline and t.name == "sshwire.transport":
            t.join(10)


def test_cycles_against_embedded_server() -> None:
    server = SSHServer()
    server.add_user()
    with server:
        resident = set(threading.enumerate())

        def cycle(i: int) -> None:
            client = server.connect_client()
            _exec_true(client)
            if i % 2:
                client.close()
            # else: dropped here without close()

        def settle() -> None:
            gc.collect()
            _join_strays(resident)
            assert server.wait_until_idle(30)
            gc.collect()

        _measure(cycle, settle)


@pytest.mark.slow
def test_cycles_against_sshd(sshd: SshdServer) -> None:
    resident = set(threading.enumerate())

    def cycle(i: int) -> None:
        client = SSHClient()
        client.load_host_keys(str(sshd.known_hosts_path))
        client.set_missing_host_key_policy(RejectPolicy())
        client.connect(
            sshd.host,
            sshd.port,
            username=sshd.user,
            key_filename=str(sshd.client_keys["ed25519"]),
            look_for_keys=False,
            allow_agent=False,
            timeout=30,
        )
        _exec_true(client)
        if i % 2:
            client.close()

    def settle() -> None:
        gc.collect()
        _join_strays(resident)
        gc.collect()

    _measure(cycle, settle)

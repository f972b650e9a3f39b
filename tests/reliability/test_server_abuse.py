"""The embedded server keeps serving a well-behaved client while 50 others misbehave.

The 50 connect at once and then: vanish abruptly at every stage (a FIN or an RST before
the version line, mid-kex, and after login with a transfer running), send garbage (with
and without a valid version line first), or log in, start a large transfer and stop reading.
Meanwhile a good client runs commands, moves data both ways and uses SFTP, and all of it must
come out right. Afterwards every misbehaving connection is gone and no thread or fd is left.
"""

from __future__ import annotations

import hashlib
import os
import socket
import struct
import threading
import time
from pathlib import Path

import pytest

from _reliability import Baseline, FaultyRelay
from sshwire._proto.connection import Connection
from sshwire.client import SSHClient
from sshwire.testing import SSHServer
from sshwire.transport import Transport

pytestmark = pytest.mark.timeout(300)

KINDS = (
    "fin-before-version",
    "rst-before-version",
    "rst-mid-kex",
    "fin-mid-kex",
    "garbage",
    "version-then-garbage",
    "rst-mid-transfer",
    "fin-mid-transfer",
    "stop-reading",
    "stop-reading-many-channels",
)
PER_KIND = 5  # 10 kinds x 5 = 50 misbehaving clients


def _rst(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _raw_opening() -> bytes:
    core = Connection(True, rng=os.urandom, clock=time.monotonic)
    core.start()
    return bytes(core.data_to_send())


class Misbehaving:
    """One misbehaving client; :meth:`run` does its thing, :meth:`close` cleans up after it."""

    def __init__(self, server: SSHServer, kind: str) -> None:
        self.server = server
        self.kind = kind
        self.client: SSHClient | None = None
        self.relay: FaultyRelay | None = None
        self.error: BaseException | None = None
        self.stalled = threading.Event()  # the stop-reading kinds: server is blocked on us

    def run(self) -> None:
        try:
            getattr(self, "_" + self.kind.replace("-", "_"))()
        except BaseException as exc:  # the test reports these; a bad client may fail
            self.error = exc

    def _sock(self, rcvbuf: int | None = None) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.settimeout(20)
        sock.connect(self.server.address)
        return sock

    def _fin_before_version(self) -> None:
        self._sock().close()

    def _rst_before_version(self) -> None:
        _rst(self._sock())

    def _mid_kex(self) -> socket.socket:
        sock = self._sock()
        sock.sendall(_raw_opening())
        sock.recv(1 << 16)  # the server's version (and maybe KEXINIT)
        return sock

    def _rst_mid_kex(self) -> None:
        _rst(self._mid_kex())

    def _fin_mid_kex(self) -> None:
        self._mid_kex().close()

    def _garbage(self) -> None:
        with self._sock() as sock:
            sock.sendall(os.urandom(64 << 10))
            while sock.recv(1 << 16):  # until the server hangs up
                pass

    def _version_then_garbage(self) -> None:
        with self._sock() as sock:
            sock.sendall(b"SSH-2.0-garbage\r\n" + os.urandom(64 << 10))
            while sock.recv(1 << 16):
                pass

    def _logged_in(self) -> SSHClient:
        """Logged in through a relay of its own (which can reset or stall the connection)."""
        self.relay = FaultyRelay(self.server.address, server_rcvbuf=1 << 14)
        sock = socket.create_connection(self.relay.address, timeout=20)
        sock.settimeout(None)
        client = self.server.connect_client(sock=sock)
        self.client = client
        return client

    def _mid_transfer(self) -> SSHClient:
        client = self._logged_in()
        _, stdout, _ = client.exec_command("cat /dev/zero")
        assert len(stdout.read(1 << 20)) == 1 << 20
        return client

    def _rst_mid_transfer(self) -> None:
        self._mid_transfer()
        assert self.relay is not None
        self.relay.reset_server()  # the server gets an RST, mid-transfer

    def _fin_mid_transfer(self) -> None:
        client = self._mid_transfer()
        transport = client.get_transport()
        assert transport is not None
        transport.sock.shutdown(socket.SHUT_RDWR)  # gone, without a DISCONNECT

    def _stop_reading(self, channels: int = 1) -> None:
        client = self._logged_in()
        for _ in range(channels):
            client.exec_command("cat /dev/zero", timeout=30)
        assert self.relay is not None
        self.relay.stop_reading_server()  # nothing the server sends is read any more
        self.stalled.set()  # the server fills the socket, then its writers wait

    def _stop_reading_many_channels(self) -> None:
        self._stop_reading(channels=8)

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
        if self.relay is not None:
            self.relay.close()


def _roundtrip(client: SSHClient, command: str, data: bytes = b"") -> tuple[bytes, int]:
    stdin, stdout, _ = client.exec_command(command, timeout=60)
    if data:
        stdin.write(data)
    stdin.close()
    return stdout.read(), stdout.channel.recv_exit_status()


def _good_work(client: SSHClient, tmp_path: Path, rounds: int) -> list[str]:
    """What a well-behaved client does; returns the failures (empty when all went well)."""
    failures: list[str] = []
    payload = os.urandom(4 << 20)
    digest = hashlib.sha256(payload).hexdigest()
    sftp = client.open_sftp()
    try:
        for i in range(rounds):
            out, status = _roundtrip(client, f"echo {i}")
            if (out, status) != (f"{i}\n".encode(), 0):
                failures.append(f"echo {i}: {out!r} {status}")
            out, status = _roundtrip(client, "sha256sum", payload)
            if not out.startswith(digest.encode()) or status:
                failures.append(f"upload {i}: {out!r} {status}")
            out, status = _roundtrip(client, f"head -c {len(payload)} /dev/zero")
            if out != bytes(len(payload)) or status:
                failures.append(f"download {i}: {len(out)} bytes, {status}")
            name = f"file{i}"
            with sftp.open(name, "wb") as f:
                f.write(payload[: 1 << 20])
            with sftp.open(name, "rb") as f:
                if f.read() != payload[: 1 << 20]:
                    failures.append(f"sftp {i}")
    finally:
        sftp.close()
    return failures


def test_good_client_is_served_while_50_misbehave(tmp_path: Path) -> None:
    def configure(t: Transport) -> None:
        t.banner_timeout = 5
        t.handshake_timeout = 5

    sftp_root = tmp_path / "sftp"
    sftp_root.mkdir()
    server = SSHServer(configure_transport=configure, sftp_root=sftp_root, login_grace_time=10)
    server.add_user()
    baseline = Baseline()
    with server:
        good = server.connect_client()
        bad = [Misbehaving(server, kind) for kind in KINDS for _ in range(PER_KIND)]
        assert len(bad) == 50
        threads = [threading.Thread(target=b.run, name=f"bad-{b.kind}") for b in bad]
        results: dict[str, list[str]] = {}

        def good_worker() -> None:
            results["failures"] = _good_work(good, tmp_path, rounds=5)

        worker = threading.Thread(target=good_worker, name="good-client")
        try:
            for t in threads:
                t.start()
            worker.start()
            for t in threads:
                t.join(120)
            assert not [t.name for t in threads if t.is_alive()], "a bad client hung"
            worker.join(240)
            assert not worker.is_alive(), "the good client hung"
            assert results["failures"] == []
            stallers = [b for b in bad if b.kind.startswith("stop-reading")]
            assert all(b.stalled.is_set() for b in stallers), [b.error for b in stallers]
            # the misbehaving clients that could log in did so (the server was not wedged)
            for b in bad:
                if b.kind.endswith("transfer") or b.kind.startswith("stop-reading"):
                    assert b.error is None, f"{b.kind}: {b.error!r}"
            # and the good client still works with the stallers still connected
            assert _roundtrip(good, "echo still fine") == (b"still fine\n", 0)
        finally:
            for b in bad:
                b.close()
            good.close()
        # every misbehaving connection is over: those that vanished, sent garbage or stalled
        assert server.wait_until_idle(60), f"{server.connection_count} connections left"
        with server.connect_client() as late:
            assert _roundtrip(late, "echo late") == (b"late\n", 0)
    baseline.check(join_timeout=30)


def test_stalled_and_vanished_clients_are_forgotten() -> None:
    """A server that only ever had misbehaving clients ends up idle, with nothing left over."""
    server = SSHServer(login_grace_time=5)
    server.add_user()
    baseline = Baseline()
    with server:
        bad = [Misbehaving(server, kind) for kind in KINDS for _ in range(2)]
        threads = [threading.Thread(target=b.run) for b in bad]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        for b in bad:
            b.close()
        assert server.wait_until_idle(60), f"{server.connection_count} connections left"
    baseline.check(join_timeout=30)

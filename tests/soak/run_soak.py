"""Soak test: a bounded, mixed sshwire workload against sshd and the embedded server.

    python tests/soak/run_soak.py --minutes 10

Worker threads loop until the time is up, each doing one operation after another, against
a private OpenSSH sshd and sshwire's embedded server in turn:

* ``exec``: a command on a long-lived connection, output checked;
* ``upload`` / ``download``: 4 MiB through ``sha256sum`` / ``cat`` of a random file, digests
  checked;
* ``local-forward``: a ``direct-tcpip`` channel to a loopback echo service, 1 MiB echoed;
* ``remote-forward``: a connection to the server's ``tcpip-forward`` port, echoed by us;
* ``sftp``: a 2 MiB file written, read back and removed;
* ``connect``: a new connection, a command, then ``close()`` or (every other time) the client
  dropped without it.

Every ``--report`` seconds it prints operations, errors, MB moved, MB/s, the resident set
size, threads and fds; at the end a summary. The exit status is 1 if any operation failed or
if the resident set grew by more than ``--max-rss-growth`` MiB between the first report and
the last (after a warm-up), else 0. Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import hashlib
import itertools
import os
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: _openssh, _reliability

from _openssh import REQUIRE_ENV, SshdMaterial, SshdServer, find_openssh
from _reliability import open_fds, rss_bytes
from sshwire.channel import Channel
from sshwire.client import RejectPolicy, SSHClient
from sshwire.testing import SSHServer

MiB = 1 << 20
TRANSFER = 4 * MiB
ECHO = MiB
SFTP_FILE = 2 * MiB


# ------------------------------------------------------------------------------ targets


@dataclass
class Target:
    """One server to soak: how to make a logged-in client for it."""

    name: str
    connect: Callable[[], SSHClient]
    data_file: str  # a random file the server can read (for downloads)
    data_digest: str
    sftp_dir: str  # where SFTP files go, as the server names it
    client: SSHClient | None = None  # the long-lived connection
    forward_port: int = 0  # its remote forward
    lock: threading.Lock = field(default_factory=threading.Lock)


class EchoService:
    """A loopback TCP echo service (local forwards connect to it)."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.address = self.listener.getsockname()
        self.thread = threading.Thread(target=self._accept, name="soak-echo", daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=_echo_socket, args=(conn,), daemon=True).start()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self.thread.join(10)


def _echo_socket(conn: socket.socket) -> None:
    with conn:
        conn.settimeout(60)
        with contextlib.suppress(OSError):
            while data := conn.recv(1 << 16):
                conn.sendall(data)


def _echo_channel(chan: Channel, *args: object) -> None:
    def run() -> None:
        try:
            chan.settimeout(60)
            while data := chan.recv(1 << 16):
                chan.sendall(data)
            chan.shutdown_write()
        except OSError:
            pass
        finally:
            chan.close()

    threading.Thread(target=run, name="soak-remote-echo", daemon=True).start()


def _read_all(recv: Callable[[int], bytes]) -> bytes:
    out = bytearray()
    while data := recv(1 << 16):
        out += data
    return bytes(out)


# ------------------------------------------------------------------------------ operations


class Soak:
    def __init__(self, targets: list[Target], echo: EchoService, payload: bytes) -> None:
        self.targets = targets
        self.echo = echo
        self.payload = payload
        self.payload_digest = hashlib.sha256(payload).hexdigest()
        self.lock = threading.Lock()
        self.ops: dict[str, int] = {}
        self.errors: list[str] = []
        self.bytes_moved = 0
        self.connects = itertools.count()

    def record(self, name: str, moved: int) -> None:
        with self.lock:
            self.ops[name] = self.ops.get(name, 0) + 1
            self.bytes_moved += moved

    def fail(self, what: str, exc: BaseException | str) -> None:
        with self.lock:
            self.errors.append(f"{what}: {exc!r}")

    def long_lived(self, target: Target) -> SSHClient:
        with target.lock:
            if target.client is None:
                client = target.connect()
                transport = client.get_transport()
                assert transport is not None
                target.forward_port = transport.request_port_forward("127.0.0.1", 0, _echo_channel)
                target.client = client
            return target.client

    # each returns the bytes it moved
    def op_exec(self, target: Target) -> int:
        _, stdout, _ = self.long_lived(target).exec_command("echo soak", timeout=60)
        out = stdout.read()
        if out != b"soak\n" or stdout.channel.recv_exit_status() != 0:
            raise AssertionError(f"exec: {out!r}")
        return len(out)

    def op_upload(self, target: Target) -> int:
        stdin, stdout, _ = self.long_lived(target).exec_command("sha256sum", timeout=60)
        stdin.write(self.payload)
        stdin.close()
        out = stdout.read()
        if not out.startswith(self.payload_digest.encode()):
            raise AssertionError(f"upload digest: {out!r}")
        return len(self.payload)

    def op_download(self, target: Target) -> int:
        _, stdout, _ = self.long_lived(target).exec_command(f"cat {target.data_file}", timeout=60)
        data = stdout.read()
        if hashlib.sha256(data).hexdigest() != target.data_digest:
            raise AssertionError(f"download digest ({len(data)} bytes)")
        return len(data)

    def op_local_forward(self, target: Target) -> int:
        transport = self.long_lived(target).get_transport()
        assert transport is not None
        chan = transport.open_channel(
            "direct-tcpip", self.echo.address, ("127.0.0.1", 1), timeout=60
        )
        with chan:
            chan.settimeout(60)
            data = self.payload[:ECHO]

            def send() -> None:
                chan.sendall(data)
                chan.shutdown_write()

            sender = threading.Thread(target=send)
            sender.start()
            back = _read_all(chan.recv)
            sender.join(60)
        if back != data:
            raise AssertionError(f"local forward: {len(back)} bytes back")
        return 2 * len(data)

    def op_remote_forward(self, target: Target) -> int:
        self.long_lived(target)
        data = self.payload[:ECHO]
        with socket.create_connection(("127.0.0.1", target.forward_port), timeout=60) as sock:

            def send() -> None:
                sock.sendall(data)
                sock.shutdown(socket.SHUT_WR)

            sender = threading.Thread(target=send)
            sender.start()
            back = _read_all(sock.recv)
            sender.join(60)
        if back != data:
            raise AssertionError(f"remote forward: {len(back)} bytes back")
        return 2 * len(data)

    def op_sftp(self, target: Target) -> int:
        name = f"{target.sftp_dir}/soak-{threading.get_ident()}"
        data = self.payload[:SFTP_FILE]
        sftp = self.long_lived(target).open_sftp()
        try:
            with sftp.open(name, "wb") as f:
                f.write(data)
            with sftp.open(name, "rb") as f:
                back = f.read()
            sftp.remove(name)
        finally:
            sftp.close()
        if back != data:
            raise AssertionError(f"sftp: {len(back)} bytes back")
        return 2 * len(data)

    def op_connect(self, target: Target) -> int:
        client = target.connect()
        _, stdout, _ = client.exec_command("true", timeout=60)
        stdout.read()
        stdout.channel.recv_exit_status()
        if next(self.connects) % 2:
            client.close()
        return 0  # else: dropped without close(); the finalizer must clean up

    def worker(self, index: int, deadline: float) -> None:
        ops = [
            ("exec", self.op_exec),
            ("upload", self.op_upload),
            ("download", self.op_download),
            ("local-forward", self.op_local_forward),
            ("remote-forward", self.op_remote_forward),
            ("sftp", self.op_sftp),
            ("connect", self.op_connect),
        ]
        for n in itertools.count(index):
            if time.monotonic() >= deadline:
                return
            name, op = ops[n % len(ops)]
            target = self.targets[(n // len(ops)) % len(self.targets)]
            try:
                self.record(name, op(target))
            except Exception as exc:  # counted: the soak fails if there is any
                self.fail(f"{target.name} {name}", exc)

    def close(self) -> None:
        for target in self.targets:
            if target.client is not None:
                target.client.close()


# ------------------------------------------------------------------------------ setup


@contextlib.contextmanager
def embedded_target(workdir: Path, data: Path, digest: str) -> Iterator[Target]:
    root = workdir / "sftp"
    root.mkdir()
    server = SSHServer(sftp_root=root)
    server.add_user()
    with server:
        yield Target(
            name="embedded",
            connect=server.connect_client,
            data_file=str(data),
            data_digest=digest,
            sftp_dir="/",
        )


@contextlib.contextmanager
def sshd_target(workdir: Path, data: Path, digest: str) -> Iterator[Target | None]:
    found = find_openssh()
    if isinstance(found, str):
        if os.environ.get(REQUIRE_ENV) == "1":
            raise SystemExit(f"OpenSSH is required ({REQUIRE_ENV}=1): {found}")
        print(f"NOTE: no OpenSSH, soaking the embedded server only: {found}", flush=True)
        yield None
        return
    material = SshdMaterial.create(found, workdir / "sshd-keys")
    server = SshdServer.start(found, material, workdir / "sshd")
    sftp_dir = workdir / "sshd-sftp"
    sftp_dir.mkdir()

    def connect() -> SSHClient:
        client = SSHClient()
        client.load_host_keys(str(server.known_hosts_path))
        client.set_missing_host_key_policy(RejectPolicy())
        client.connect(
            server.host,
            server.port,
            username=server.user,
            key_filename=str(server.client_keys["ed25519"]),
            look_for_keys=False,
            allow_agent=False,
            timeout=30,
        )
        return client

    try:
        yield Target("sshd", connect, str(data), digest, str(sftp_dir))
    finally:
        server.stop()


def report_line(soak: Soak, started: float, rss0: int) -> tuple[str, int]:
    gc.collect()
    rss = rss_bytes()
    elapsed = time.monotonic() - started
    with soak.lock:
        ops, errors, moved = sum(soak.ops.values()), len(soak.errors), soak.bytes_moved
    line = (
        f"{elapsed:7.0f}s  ops {ops:7d}  errors {errors}  moved {moved / MiB:9.0f} MiB  "
        f"{moved / MiB / max(elapsed, 1e-9):6.1f} MiB/s  rss {rss / MiB:7.1f} MiB "
        f"({(rss - rss0) / MiB:+.1f})  threads {threading.active_count():3d}  fds {open_fds()}"
    )
    return line, rss


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=1.0, help="how long (default 1)")
    parser.add_argument("--workers", type=int, default=4, help="worker threads (default 4)")
    parser.add_argument("--report", type=float, default=10.0, help="seconds between reports")
    parser.add_argument(
        "--max-rss-growth",
        type=float,
        default=64.0,
        help="MiB the resident set may grow after the first report (default 64)",
    )
    args = parser.parse_args(argv)
    if not 0 < args.minutes <= 60:
        parser.error("--minutes must be in (0, 60]")
    payload = os.urandom(TRANSFER)
    with tempfile.TemporaryDirectory(prefix="sshwire-soak-") as tmp:
        workdir = Path(tmp)
        data = workdir / "download.bin"
        data.write_bytes(os.urandom(TRANSFER))
        digest = hashlib.sha256(data.read_bytes()).hexdigest()
        echo = EchoService()
        with (
            embedded_target(workdir, data, digest) as ours,
            sshd_target(workdir, data, digest) as theirs,
        ):
            targets = [t for t in (ours, theirs) if t is not None]
            soak = Soak(targets, echo, payload)
            started = time.monotonic()
            deadline = started + args.minutes * 60
            print(
                f"soaking {', '.join(t.name for t in targets)} for {args.minutes:g} min "
                f"with {args.workers} workers",
                flush=True,
            )
            workers = [
                threading.Thread(target=soak.worker, args=(i, deadline), name=f"soak-{i}")
                for i in range(args.workers)
            ]
            for w in workers:
                w.start()
            rss0 = rss_bytes()
            first_rss: int | None = None
            last_rss = rss0
            next_report = started + args.report
            while any(w.is_alive() for w in workers):
                for w in workers:  # until the next report is due, or every worker is done
                    w.join(max(0.0, next_report - time.monotonic()))
                next_report += args.report
                line, last_rss = report_line(soak, started, rss0)
                if first_rss is None:
                    first_rss = last_rss  # after the warm-up of the first interval
                print(line, flush=True)
            for w in workers:
                w.join(120)
            hung = [w.name for w in workers if w.is_alive()]
            soak.close()
        echo.close()
    growth = (last_rss - (first_rss or rss0)) / MiB
    print("\nsummary")
    print(f"  operations: {dict(sorted(soak.ops.items()))}")
    print(f"  moved: {soak.bytes_moved / MiB:.0f} MiB")
    print(f"  errors: {len(soak.errors)}")
    for error in soak.errors[:20]:
        print(f"    {error}")
    print(f"  rss growth after the first report: {growth:+.1f} MiB")
    failed = bool(soak.errors) or bool(hung) or growth > args.max_rss_growth
    if hung:
        print(f"  HUNG workers: {hung}")
    print("  result: " + ("FAIL" if failed else "ok"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

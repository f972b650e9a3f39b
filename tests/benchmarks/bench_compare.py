"""The comparative benchmark: sshwire beside paramiko, asyncssh and OpenSSH's ``ssh``.

One run starts a private sshd (the test fixture's settings, quiet logging) and measures, for
every client, interleaved A B A B over several rounds, each measurement in a fresh process:

1. ``connect``: connect + auth + exec('true') + close, ms;
2. ``rtt``: 50 sequential exec('true') on one open connection, ms each;
3. ``upload``/``download``: N MiB to ``cat > /dev/null`` / from ``head -c``, per cipher: MB/s
   and the client's CPU seconds (user+sys of every thread; for ``ssh`` the ControlMaster's);
4. ``chan64``: 64 concurrent channels x 4 MiB each: wall and CPU seconds;
5. ``server``: OpenSSH's ``ssh`` uploading/downloading N MiB to/from an sshwire server and a
   paramiko server: server-process CPU seconds;
6. ``scale``: 1,000 idle channels on one transport and 200 idle transports in one process:
   bytes per channel / transport (tracemalloc and RSS) and thread count.

Usage::

    python tests/benchmarks/bench_compare.py [--quick] [--rounds N] [--only a,b]
        [--write-docs docs/performance.md] [--json out.json]

Both ends share the machine's cores, so the client CPU per byte is the figure that separates
libraries; MB/s is noisy. No figure here is asserted anywhere: these are measurements.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1]))

MiB = 1 << 20
LIBS = ("sshwire", "sshwire-base", "paramiko", "paramiko-nodelay", "asyncssh", "ssh")
#: --baseline SRC: "sshwire-base" is sshwire imported from SRC (another checkout's src/),
#: interleaved with the working tree's, for before/after figures from one run
BASELINE_ENV = "SSHWIRE_BENCH_BASELINE"
CIPHERS = {  # name in the table -> (cipher, mac)
    "aes256-gcm": ("aes256-gcm@openssh.com", "hmac-sha2-256"),
    "aes128-gcm": ("aes128-gcm@openssh.com", "hmac-sha2-256"),
    "chacha20-poly1305": ("chacha20-poly1305@openssh.com", "hmac-sha2-256"),
    "aes128-ctr+hmac-sha2-256": ("aes128-ctr", "hmac-sha2-256"),
}
PARAMIKO_CIPHERS = {"aes128-ctr", "aes192-ctr", "aes256-ctr", "aes128-gcm@openssh.com",
                    "aes256-gcm@openssh.com"}  # fmt: skip
CHUNK = 256 * 1024


def cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def proc_cpu(pid: int) -> float:
    """User+sys seconds of a running process (every thread), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


# ============================================================================================
# Workers: one measurement in a fresh process; prints one JSON line.


class Target:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.host: str = spec["host"]
        self.port: int = spec["port"]
        self.user: str = spec["user"]
        self.key: str = spec["key"]
        self.known_hosts: str = spec["known_hosts"]


def _blocking_lib(lib: str) -> Any:
    if lib == "sshwire":
        import sshwire

        return sshwire
    import paramiko

    return paramiko


def _sock(target: Target, nodelay: bool) -> socket.socket:
    sock = socket.create_connection((target.host, target.port))
    if nodelay:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _transport(lib: str, target: Target, cipher: tuple[str, str] | None) -> Any:
    mod = _blocking_lib(lib)
    t = mod.Transport(_sock(target, lib != "paramiko"))
    if cipher is not None:
        opts = t.get_security_options()
        opts.ciphers = (cipher[0],)
        opts.digests = (cipher[1],)
    t.start_client(timeout=30)
    t.auth_publickey(target.user, mod.PKey.from_path(target.key))
    return t


def _client(lib: str, target: Target) -> Any:
    mod = _blocking_lib(lib)
    client = mod.SSHClient()
    client.load_host_keys(target.known_hosts)
    kwargs: dict[str, Any] = {}
    if lib == "paramiko-nodelay":
        kwargs["sock"] = _sock(target, True)
    client.connect(
        target.host,
        target.port,
        username=target.user,
        key_filename=target.key,
        look_for_keys=False,
        allow_agent=False,
        **kwargs,
    )
    return client


def _exec_true_blocking(transport: Any) -> None:
    chan = transport.open_session()
    chan.exec_command("true")
    status = chan.recv_exit_status()
    chan.close()
    assert status == 0, status


def _upload_blocking(transport: Any, size: int) -> None:
    chan = transport.open_session()
    chan.exec_command("cat > /dev/null")
    block = bytes(CHUNK)
    left = size
    while left:
        n = min(left, CHUNK)
        chan.sendall(block[:n] if n < CHUNK else block)
        left -= n
    chan.shutdown_write()
    assert chan.recv_exit_status() == 0
    chan.close()


def _download_blocking(transport: Any, size: int) -> None:
    chan = transport.open_session()
    chan.exec_command(f"head -c {size} /dev/zero")
    got = 0
    while data := chan.recv(1 << 20):
        got += len(data)
    assert chan.recv_exit_status() == 0
    chan.close()
    assert got == size, got


def blocking_worker(job: dict[str, Any]) -> dict[str, Any]:
    lib, scenario, target = job["lib"], job["scenario"], Target(job["target"])
    if scenario == "connect":
        times = []
        for _ in range(job["repeat"]):
            start = time.perf_counter()
            client = _client(lib, target)
            _exec_true_blocking(client.get_transport())
            client.close()
            times.append(time.perf_counter() - start)
        return {"ms": statistics.median(times) * 1e3}
    if scenario == "scale":
        return scale_worker(lib, target, job)
    cipher = CIPHERS[job["cipher"]] if job.get("cipher") else None
    t = _transport(lib, target, cipher)
    try:
        if scenario == "rtt":
            _exec_true_blocking(t)  # warm up
            start = time.perf_counter()
            for _ in range(job["count"]):
                _exec_true_blocking(t)
            return {"ms": (time.perf_counter() - start) / job["count"] * 1e3}
        size = job["size"]
        cpu, start = cpu_self(), time.perf_counter()
        if scenario == "upload":
            _upload_blocking(t, size)
        elif scenario == "download":
            _download_blocking(t, size)
        elif scenario == "chan64":
            errors: list[BaseException] = []

            def one() -> None:
                try:
                    _download_blocking(t, size)
                except BaseException as exc:  # reported below
                    errors.append(exc)

            threads = [threading.Thread(target=one) for _ in range(job["channels"])]
            for th in threads:
                th.start()
            for th in threads:
                th.join(600)
            if errors:
                raise errors[0]
            size *= job["channels"]
        else:
            raise ValueError(scenario)
        wall, used = time.perf_counter() - start, cpu_self() - cpu
        return {"mbps": size / wall / 1e6, "cpu": used, "wall": wall}
    finally:
        t.close()


def asyncssh_worker(job: dict[str, Any]) -> dict[str, Any]:
    import asyncio

    import asyncssh

    target = Target(job["target"])
    scenario = job["scenario"]

    async def connect(cipher: tuple[str, str] | None) -> Any:
        kwargs: dict[str, Any] = {}
        if cipher is not None:
            kwargs = {"encryption_algs": [cipher[0]], "mac_algs": [cipher[1]]}
        return await asyncssh.connect(
            target.host,
            target.port,
            username=target.user,
            client_keys=[target.key],
            known_hosts=target.known_hosts,
            agent_path=None,
            config=None,
            **kwargs,
        )

    async def download(conn: Any, size: int) -> None:
        proc = await conn.create_process(f"head -c {size} /dev/zero", encoding=None)
        got = 0
        while data := await proc.stdout.read(1 << 20):
            got += len(data)
        await proc.wait()
        assert got == size

    async def upload(conn: Any, size: int) -> None:
        proc = await conn.create_process("cat > /dev/null", encoding=None)
        block = bytes(CHUNK)
        left = size
        while left:
            n = min(left, CHUNK)
            proc.stdin.write(block[:n] if n < CHUNK else block)
            await proc.stdin.drain()
            left -= n
        proc.stdin.write_eof()
        await proc.wait()

    async def main() -> dict[str, Any]:
        if scenario == "connect":
            times = []
            for _ in range(job["repeat"]):
                start = time.perf_counter()
                conn = await connect(None)
                result = await conn.run("true")
                assert result.exit_status == 0
                conn.close()
                await conn.wait_closed()
                times.append(time.perf_counter() - start)
            return {"ms": statistics.median(times) * 1e3}
        cipher = CIPHERS[job["cipher"]] if job.get("cipher") else None
        conn = await connect(cipher)
        try:
            if scenario == "rtt":
                await conn.run("true")
                start = time.perf_counter()
                for _ in range(job["count"]):
                    await conn.run("true")
                return {"ms": (time.perf_counter() - start) / job["count"] * 1e3}
            size = job["size"]
            cpu, start = cpu_self(), time.perf_counter()
            if scenario == "upload":
                await upload(conn, size)
            elif scenario == "download":
                await download(conn, size)
            elif scenario == "chan64":
                await asyncio.gather(*(download(conn, size) for _ in range(job["channels"])))
                size *= job["channels"]
            wall, used = time.perf_counter() - start, cpu_self() - cpu
            return {"mbps": size / wall / 1e6, "cpu": used, "wall": wall}
        finally:
            conn.close()
            await conn.wait_closed()

    return asyncio.run(main())


def scale_worker(lib: str, target: Target, job: dict[str, Any]) -> dict[str, Any]:
    """Memory per idle channel and per idle transport; threads per transport."""
    import gc
    import tracemalloc

    def rss() -> int:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    out: dict[str, Any] = {}
    t = _transport(lib, target, None)
    try:
        gc.collect()
        tracemalloc.start()
        before_trace, before_rss = tracemalloc.get_traced_memory()[0], rss()
        channels = [t.open_session(timeout=30) for _ in range(job["channels"])]
        gc.collect()
        after_trace, after_rss = tracemalloc.get_traced_memory()[0], rss()
        tracemalloc.stop()
        n = len(channels)
        out["channel_trace"] = (after_trace - before_trace) / n
        out["channel_rss"] = (after_rss - before_rss) / n
        for chan in channels:
            chan.close()
    finally:
        t.close()
    threads_before = threading.active_count()
    gc.collect()
    tracemalloc.start()
    before_trace, before_rss = tracemalloc.get_traced_memory()[0], rss()
    transports = [_transport(lib, target, None) for _ in range(job["transports"])]
    gc.collect()
    after_trace, after_rss = tracemalloc.get_traced_memory()[0], rss()
    tracemalloc.stop()
    n = len(transports)
    out["transport_trace"] = (after_trace - before_trace) / n
    out["transport_rss"] = (after_rss - before_rss) / n
    out["threads_per_transport"] = (threading.active_count() - threads_before) / n
    for t in transports:
        t.close()
    return out


# ============================================================================================
# Servers for scenario 5: an sshwire server and a paramiko server, each in its own process.


def serve_worker(lib: str, authorized_key: str) -> None:
    """Serve exec requests on 127.0.0.1 until stdin closes; print the port first."""
    if lib == "sshwire":
        from sshwire.testing import SSHServer

        server = SSHServer(authorized_keys=[authorized_key])
        server.start()
        print(json.dumps({"port": server.port}), flush=True)
        sys.stdin.read()
        server.close()
        return
    _paramiko_server(authorized_key)


def _paramiko_server(authorized_key: str) -> None:
    import paramiko

    allowed = paramiko.PublicBlob.from_file(authorized_key)
    host_key = paramiko.Ed25519Key.from_private_key_file(_bench_host_key())

    class Server(paramiko.ServerInterface):
        def __init__(self) -> None:
            self.exec_event = threading.Event()

        def check_auth_publickey(self, username: str, key: Any) -> int:
            if key.asbytes() == allowed.key_blob:
                return paramiko.AUTH_SUCCESSFUL
            return paramiko.AUTH_FAILED

        def get_allowed_auths(self, username: str) -> str:
            return "publickey"

        def check_channel_request(self, kind: str, chanid: int) -> int:
            return paramiko.OPEN_SUCCEEDED if kind == "session" else 1

        def check_channel_exec_request(self, channel: Any, command: bytes) -> bool:
            threading.Thread(target=_run_command, args=(channel, command), daemon=True).start()
            return True

    def _run_command(channel: Any, command: bytes) -> None:
        proc = subprocess.Popen(command, shell=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert proc.stdin is not None and proc.stdout is not None
        stdin, stdout = proc.stdin, proc.stdout

        def pump_in() -> None:
            while data := channel.recv(CHUNK):
                stdin.write(data)
            stdin.close()

        pump = threading.Thread(target=pump_in, daemon=True)
        pump.start()
        while data := stdout.read1(CHUNK):
            channel.sendall(data)
        pump.join()
        channel.send_exit_status(proc.wait())
        channel.close()

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    print(json.dumps({"port": listener.getsockname()[1]}), flush=True)
    transports = []

    def accept_loop() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            t = paramiko.Transport(conn)
            t.add_server_key(host_key)
            t.start_server(server=Server())
            transports.append(t)

    threading.Thread(target=accept_loop, daemon=True).start()
    sys.stdin.read()
    listener.close()
    for t in transports:
        t.close()


def _bench_host_key() -> str:
    return os.environ["BENCH_HOST_KEY"]


# ============================================================================================
# The parent: sshd, the OpenSSH client, scheduling and reporting.


def run_worker(job: dict[str, Any], timeout: float = 900) -> dict[str, Any]:
    env = None
    if job["lib"] == "sshwire-base":
        env = {**os.environ, "PYTHONPATH": os.environ[BASELINE_ENV]}
        job = {**job, "lib": "sshwire"}
    out = subprocess.run(
        [sys.executable, str(HERE), "--worker", json.dumps(job)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    if out.returncode != 0:
        raise RuntimeError(f"worker {job['lib']}/{job['scenario']} failed:\n{out.stderr[-3000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def run_timed(argv: list[str], stdin: Any = None, timeout: float = 900) -> tuple[float, float]:
    """Run a command; its wall seconds and its CPU seconds (user+sys, from wait4)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            proc.kill()
            raise TimeoutError(argv)
        time.sleep(0.002)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv} exited {proc.returncode}")
    return time.perf_counter() - start, usage.ru_utime + usage.ru_stime


class OpenSSHClient:
    """OpenSSH's ``ssh`` with one ControlMaster connection per cipher."""

    def __init__(self, server: Any, workdir: Path) -> None:
        self.server = server
        self.workdir = workdir
        self.masters: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}

    def base(self, cipher: str | None = None) -> list[str]:
        argv = [self.server.openssh.ssh, *self.server.ssh_args()]
        if cipher is not None:
            name, mac = CIPHERS[cipher]
            argv += ["-o", f"Ciphers={name}", "-o", f"MACs={mac}"]
        return argv

    @contextmanager
    def master(self, cipher: str) -> Iterator[tuple[list[str], int]]:
        path = self.workdir / f"ctl-{len(self.masters)}"
        argv = [*self.base(cipher), "-M", "-S", str(path), "-N", self.server.host]
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 20
            while not path.exists():
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("ssh ControlMaster did not start")
                time.sleep(0.01)
            yield [*self.base(cipher), "-S", str(path)], proc.pid
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:  # seen once: a master slow to let go of a mux
                proc.kill()
                proc.wait()

    def measure(self, job: dict[str, Any], zero_file: Path) -> dict[str, Any]:
        scenario, host = job["scenario"], self.server.host
        if scenario == "connect":
            times = [run_timed([*self.base(), host, "true"])[0] for _ in range(job["repeat"])]
            return {"ms": statistics.median(times) * 1e3}
        cipher = job.get("cipher") or "aes128-gcm"
        with self.master(cipher) as (mux, master_pid):
            run_timed([*mux, host, "true"])  # the master is up and authenticated
            if scenario == "rtt":
                start = time.perf_counter()
                for _ in range(job["count"]):
                    run_timed([*mux, host, "true"])
                return {"ms": (time.perf_counter() - start) / job["count"] * 1e3}
            size = job["size"]
            before = proc_cpu(master_pid)
            start = time.perf_counter()
            if scenario == "upload":
                with zero_file.open("rb") as f:
                    _, child = run_timed([*mux, host, "cat > /dev/null"], stdin=f)
            elif scenario == "download":
                _, child = run_timed([*mux, host, f"head -c {size} /dev/zero"])
            elif scenario == "chan64":
                results: list[tuple[float, float]] = []

                def one() -> None:
                    results.append(run_timed([*mux, host, f"head -c {size} /dev/zero"]))

                threads = [threading.Thread(target=one) for _ in range(job["channels"])]
                for th in threads:
                    th.start()
                for th in threads:
                    th.join(600)
                assert len(results) == job["channels"]
                child = sum(r[1] for r in results)
                size *= job["channels"]
            else:
                raise ValueError(scenario)
            wall = time.perf_counter() - start
            used = proc_cpu(master_pid) - before + child
            return {"mbps": size / wall / 1e6, "cpu": used, "wall": wall}


def server_mode(
    server_lib: str, sshd: Any, direction: str, size: int, zero: Path
) -> dict[str, Any]:
    """OpenSSH ssh -> a server process of *server_lib*: that process's CPU seconds."""
    env = dict(os.environ, BENCH_HOST_KEY=str(sshd.material.host_keys["ssh-ed25519"].path))
    pub = str(sshd.client_keys["ed25519"]) + ".pub"
    proc = subprocess.Popen(
        [sys.executable, str(HERE), "--serve", server_lib, pub],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None and proc.stdin is not None
    try:
        port = json.loads(proc.stdout.readline())["port"]
        argv = [
            sshd.openssh.ssh, "-F", "/dev/null", "-i", str(sshd.client_keys["ed25519"]),
            "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "LogLevel=ERROR", "-o", f"Ciphers={CIPHERS['aes128-gcm'][0]}",
            "-p", str(port), "-l", sshd.user, "127.0.0.1",
        ]  # fmt: skip
        run_timed([*argv, "true"])
        before = proc_cpu(proc.pid)
        start = time.perf_counter()
        if direction == "upload":
            with zero.open("rb") as f:
                run_timed([*argv, "cat > /dev/null"], stdin=f)
        else:
            run_timed([*argv, f"head -c {size} /dev/zero"])
        wall = time.perf_counter() - start
        return {"cpu": proc_cpu(proc.pid) - before, "mbps": size / wall / 1e6}
    finally:
        proc.stdin.close()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def summarize(values: list[float]) -> tuple[float, float, float]:
    return statistics.median(values), min(values), max(values)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small sizes, 1 round")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--only", default="connect,rtt,upload,download,chan64,server,scale")
    parser.add_argument("--libs", default=",".join(lib for lib in LIBS if lib != "sshwire-base"))
    parser.add_argument("--ciphers", default=",".join(CIPHERS))
    parser.add_argument("--size-mib", type=int, default=None)
    parser.add_argument("--write-docs", default=None, metavar="PERFORMANCE_MD")
    parser.add_argument("--json", default=None)
    parser.add_argument(
        "--baseline",
        default=None,
        metavar="SRC",
        help="also measure sshwire imported from SRC (e.g. a worktree's src/) as sshwire-base",
    )
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--serve", nargs=2, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        job = json.loads(args.worker)
        result = asyncssh_worker(job) if job["lib"] == "asyncssh" else blocking_worker(job)
        print(json.dumps(result))
        return 0
    if args.serve:
        serve_worker(*args.serve)
        return 0
    if args.baseline:
        os.environ[BASELINE_ENV] = str(Path(args.baseline).resolve())
        if "sshwire-base" not in args.libs.split(","):
            args.libs += ",sshwire-base"
    return compare(args)


def compare(args: argparse.Namespace) -> int:
    from _openssh import SshdMaterial, SshdServer, require_openssh

    rounds = args.rounds or (1 if args.quick else 3)
    size = (args.size_mib or (16 if args.quick else 256)) * MiB
    scenarios = args.only.split(",")
    libs = [lib for lib in args.libs.split(",") if lib]
    ciphers = [c for c in args.ciphers.split(",") if c]
    openssh = require_openssh()
    results: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        material = SshdMaterial.create(openssh, work / "material")
        extra = ["LogLevel ERROR", "MaxSessions 1200"]
        sshd = SshdServer.start(openssh, material, work / "sshd", extra)
        zero = work / "zero"
        with zero.open("wb") as f:
            f.truncate(size)
        target = {
            "host": sshd.host,
            "port": sshd.port,
            "user": sshd.user,
            "key": str(sshd.client_keys["ed25519"]),
            "known_hosts": str(sshd.known_hosts_path),
        }
        ssh_client = OpenSSHClient(sshd, work)
        jobs: list[dict[str, Any]] = []
        for scenario in scenarios:
            if scenario == "connect":
                jobs.append({"scenario": "connect", "repeat": 3 if args.quick else 10})
            elif scenario == "rtt":
                jobs.append({"scenario": "rtt", "count": 10 if args.quick else 50})
            elif scenario in ("upload", "download"):
                jobs += [{"scenario": scenario, "cipher": c, "size": size} for c in ciphers]
            elif scenario == "chan64":
                jobs.append({"scenario": "chan64", "channels": 64, "size": 4 * MiB})
        try:
            for rnd in range(rounds):
                for job in jobs:
                    for lib in libs:
                        if lib == "paramiko-nodelay" and job["scenario"] not in ("connect", "rtt"):
                            continue  # the same as paramiko once the stream is going
                        cipher = job.get("cipher")
                        if (
                            lib.startswith("paramiko")
                            and cipher
                            and (CIPHERS[cipher][0] not in PARAMIKO_CIPHERS)
                        ):
                            continue  # paramiko lacks it
                        full = {**job, "lib": lib, "target": target}
                        measure = ssh_client.measure if lib == "ssh" else None
                        res = measure(full, zero) if measure else run_worker(full)
                        key = (job["scenario"], job.get("cipher", ""), lib)
                        results.setdefault(key, []).append(res)
                        print(f"round {rnd + 1}: {key}: {res}", flush=True)
                if "server" in scenarios:
                    for server_lib in ("sshwire", "paramiko"):
                        for direction in ("upload", "download"):
                            res = server_mode(server_lib, sshd, direction, size, zero)
                            key = ("server", direction, server_lib)
                            results.setdefault(key, []).append(res)
                            print(f"round {rnd + 1}: {key}: {res}", flush=True)
            if "scale" in scenarios:
                for lib in ("sshwire", "paramiko"):
                    job = {
                        "scenario": "scale",
                        "lib": lib,
                        "target": target,
                        "channels": 100 if args.quick else 1000,
                        "transports": 20 if args.quick else 200,
                    }
                    res = run_worker(job, timeout=1800)
                    results[("scale", "", lib)] = [res]
                    print(f"scale: {lib}: {res}", flush=True)
        finally:
            sshd.stop()
    report = render(results, size, rounds)
    print(report)
    if args.json:
        Path(args.json).write_text(
            json.dumps({"|".join(k): v for k, v in results.items()}, indent=1)
        )
    if args.write_docs:
        chart = Path(args.write_docs).parent / "_static" / "cpu_per_gib.png"
        plot(results, size, chart)
        write_docs(Path(args.write_docs), report, chart.name)
    return 0


def render(results: dict[tuple[str, ...], list[dict[str, Any]]], size: int, rounds: int) -> str:
    def med(key: tuple[str, ...], field: str) -> tuple[float, float, float] | None:
        runs = results.get(key)
        if not runs:
            return None
        return summarize([r[field] for r in runs])

    def fmt(value: tuple[float, float, float] | None, digits: int = 1) -> str:
        if value is None:
            return "n/a"
        m, lo, hi = value
        return f"{m:.{digits}f} ({lo:.{digits}f}-{hi:.{digits}f})"

    lines = [
        f"Medians (min-max) of {rounds} round(s); transfers {size // MiB} MiB; "
        f"Python {sys.version.split()[0]}, {os.cpu_count()} cores.",
        "",
    ]
    libs = sorted({k[2] for k in results if k[0] not in ("server", "scale")}, key=LIBS.index)
    if any(k[0] in ("connect", "rtt") for k in results):
        lines += ["| client | connect+exec+close, ms | exec round trip, ms |", "|---|---|---|"]
        for lib in libs:
            connect, rtt = med(("connect", "", lib), "ms"), med(("rtt", "", lib), "ms")
            if connect or rtt:
                lines.append(f"| {lib} | {fmt(connect)} | {fmt(rtt, 2)} |")
        lines.append("")
    for scenario in ("upload", "download"):
        ciphers = sorted({k[1] for k in results if k[0] == scenario})
        if not ciphers:
            continue
        libs = sorted({k[2] for k in results if k[0] == scenario}, key=LIBS.index)
        lines += [
            f"**{scenario}** — MB/s and client CPU seconds per GiB",
            "",
            "| cipher | " + " | ".join(f"{lib} MB/s | {lib} CPU s/GiB" for lib in libs) + " |",
            "|---|" + "---|---|" * len(libs),
        ]
        for cipher in ciphers:
            row = [cipher]
            for lib in libs:
                mbps = med((scenario, cipher, lib), "mbps")
                cpu = med((scenario, cipher, lib), "cpu")
                per_gib = None if cpu is None else tuple(v * (1 << 30) / size for v in cpu)
                row += [fmt(mbps, 0), fmt(per_gib, 2)]  # type: ignore[arg-type]
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    if any(k[0] == "chan64" for k in results):
        lines += ["| client | 64 x 4 MiB wall s | CPU s |", "|---|---|---|"]
        for lib in libs:
            wall, cpu = med(("chan64", "", lib), "wall"), med(("chan64", "", lib), "cpu")
            if wall:
                lines.append(f"| {lib} | {fmt(wall, 2)} | {fmt(cpu, 2)} |")
        lines.append("")
    if any(k[0] == "server" for k in results):
        lines += [
            "Server mode (OpenSSH `ssh` client, aes128-gcm): server-process CPU seconds",
            "",
            "| server | upload CPU s | download CPU s | upload MB/s | download MB/s |",
            "|---|---|---|---|---|",
        ]
        for lib in ("sshwire", "paramiko"):
            up, down = ("server", "upload", lib), ("server", "download", lib)
            lines.append(
                f"| {lib} | {fmt(med(up, 'cpu'), 2)} | {fmt(med(down, 'cpu'), 2)} | "
                f"{fmt(med(up, 'mbps'), 0)} | {fmt(med(down, 'mbps'), 0)} |"
            )
        lines.append("")
    if any(k[0] == "scale" for k in results):
        lines += [
            "| library | per idle channel (tracemalloc / RSS) | per idle transport "
            "(tracemalloc / RSS) | threads per transport |",
            "|---|---|---|---|",
        ]
        for lib in ("sshwire", "paramiko"):
            runs = results.get(("scale", "", lib))
            if runs:
                r = runs[0]
                lines.append(
                    f"| {lib} | {r['channel_trace'] / 1024:.1f} KiB / "
                    f"{r['channel_rss'] / 1024:.1f} KiB | {r['transport_trace'] / 1024:.1f} KiB / "
                    f"{r['transport_rss'] / 1024:.1f} KiB | {r['threads_per_transport']:.2f} |"
                )
        lines.append("")
    return "\n".join(lines)


def plot(results: dict[tuple[str, ...], list[dict[str, Any]]], size: int, path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing: no chart", file=sys.stderr)
        return
    rows = sorted({(k[0], k[1]) for k in results if k[0] in ("upload", "download")})
    libs = sorted({k[2] for k in results if k[0] in ("upload", "download")}, key=LIBS.index)
    fig, ax = plt.subplots(figsize=(11, 5))
    width = 0.8 / max(1, len(libs))
    for i, lib in enumerate(libs):
        values = []
        for row in rows:
            runs = results.get((*row, lib))
            cpu = statistics.median(r["cpu"] for r in runs) if runs else 0.0
            values.append(cpu * (1 << 30) / size)
        ax.bar([x + i * width for x in range(len(rows))], values, width, label=lib)
    ax.set_xticks([x + width * (len(libs) - 1) / 2 for x in range(len(rows))])
    ax.set_xticklabels([f"{d}\n{c}" for d, c in rows], fontsize=7)
    ax.set_ylabel("client CPU seconds per GiB (lower is better)")
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)


START, END = "<!-- bench_compare:start -->", "<!-- bench_compare:end -->"


def write_docs(path: Path, report: str, chart: str) -> None:
    text = path.read_text()
    block = f"{START}\n\n{report}\n\n![CPU seconds per GiB](_static/{chart})\n\n{END}"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip() + "\n\n## Comparative benchmark\n\n" + block + "\n"
    path.write_text(text)


if __name__ == "__main__":
    sys.exit(main())

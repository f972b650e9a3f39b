"""Helpers for the reliability tests (``tests/reliability``) and the soak runner.

* :func:`open_fds`, :func:`rss_bytes`, :class:`Baseline`: what the process holds, and a check
  that threads and file descriptors return to where they were.
* :class:`FaultyRelay`: a loopback TCP relay for one connection that injects network faults
  on demand: stop reading from the client (a peer that stops reading), stall the server's
  bytes after its first N plaintext packets (a peer that stalls mid-kex), reset the client's
  connection (``SO_LINGER`` 0: an RST), or half-close it (a FIN, optionally with the relay no
  longer reading either).
* :func:`descendants` / :func:`session_sshd_pids`: the processes below a private sshd, to
  SIGKILL the sshd that serves a session.

Everything listens on 127.0.0.1 only, and every wait is bounded.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import socket
import struct
import threading
from collections.abc import Callable

HOST = "127.0.0.1"
_CHUNK = 1 << 16
_BUFFER_LIMIT = 1 << 20  # bytes the relay holds per direction before it stops reading


# --------------------------------------------------------------------------- process state


def open_fds() -> int:
    """File descriptors this process has open."""
    return len(os.listdir("/proc/self/fd"))


def fd_listing() -> dict[int, str]:
    """fd -> what it points at (for failure messages)."""
    out: dict[int, str] = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            out[int(name)] = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue
    return out


def rss_bytes() -> int:
    """The resident set size of this process right now."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class Baseline:
    """Threads and fds at a moment; :meth:`check` asserts both came back to it.

    New threads get ``join_timeout`` seconds (in all) to end before the check fails.
    """

    def __init__(self) -> None:
        self.threads = set(threading.enumerate())
        self.fds = fd_listing()

    def leftovers(self, join_timeout: float = 10.0) -> tuple[list[threading.Thread], list[str]]:
        import gc
        import time

        deadline = time.monotonic() + join_timeout
        for t in threading.enumerate():
            if t not in self.threads:
                t.join(max(0.0, deadline - time.monotonic()))
        threads = [t for t in threading.enumerate() if t not in self.threads]
        gc.collect()
        now = fd_listing()
        fds = [f"{fd} -> {target}" for fd, target in now.items() if fd not in self.fds]
        return threads, fds

    def check(self, join_timeout: float = 10.0) -> None:
        threads, fds = self.leftovers(join_timeout)
        assert not threads, f"threads left: {threads}"
        assert not fds, f"fds left: {fds}"


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.01) -> bool:
    """Poll ``predicate`` until it holds (True) or ``timeout`` seconds pass (False).

    For states that have no event to wait on (a thread blocked inside a system call).
    """
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
    return True


_SOCKET_SENDS = {"_sendall", "_send_despite_timeouts", "_write_until"}


def blocked_in_socket_send(thread: threading.Thread) -> bool:
    """Whether ``thread`` is inside one of the transport's socket writes right now."""
    import sys

    if thread.ident is None:
        return False
    frame = sys._current_frames().get(thread.ident)
    while frame is not None:
        code = frame.f_code
        if code.co_name in _SOCKET_SENDS and code.co_filename.endswith(
            ("transport.py", "_send_path.py")
        ):
            return True
        frame = frame.f_back
    return False


# --------------------------------------------------------------------------- processes


def _parents() -> dict[int, int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                parents[int(entry)] = int(fields[1])
            except (OSError, IndexError, ValueError):
                continue
    return parents


def descendants(pid: int) -> list[int]:
    """Every process below ``pid``, parents before their children."""
    parents = _parents()
    found: list[int] = []
    frontier = [pid]
    while frontier:
        current = frontier.pop(0)
        children = [p for p, parent in parents.items() if parent == current]
        found += children
        frontier += children
    return found


def command_name(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def session_sshd_pids(listener_pid: int) -> list[int]:
    """The sshd processes that serve sessions of the sshd listening as ``listener_pid``.

    Every sshd process below the listener: the per-connection monitor and its unprivileged
    child. The commands they run (shells, ``cat``...) are not included.
    """
    return [p for p in descendants(listener_pid) if command_name(p) == "sshd"]


# --------------------------------------------------------------------------- the relay


class FaultyRelay:
    """Relays one TCP connection from :attr:`address` to ``target``, with faults on demand.

    ``rcvbuf`` / ``server_rcvbuf``: the receive buffer of the relay's client-facing /
    server-facing socket, so that a paused relay backs up the sender's socket quickly.

    Faults (each callable from any thread; they take effect at once):

    * :meth:`stop_reading` / :meth:`resume_reading`: stop (and resume) reading what the
      client sends. The server's bytes still reach the client. :meth:`stop_reading_server`
      does the same to what the server sends.
    * :meth:`stall_server_after_packets` (before the connection): pass the server's version
      line and its first ``n`` binary packets (read in the clear: for the first key exchange
      only), then hold back everything else the server sends.
    * :meth:`stall_client_after_packets`: the same for the client's bytes.
    * :meth:`reset_client` / :meth:`reset_server`: close the connection to the client (the
      server) with ``SO_LINGER`` 0, an RST; the other side sees an orderly close.
    * :meth:`half_close_client`: send the client a FIN; with ``keep_reading=False`` also
      stop reading what it sends.
    """

    def __init__(
        self,
        target: tuple[str, int],
        rcvbuf: int | None = None,
        server_rcvbuf: int | None = None,
    ) -> None:
        self.target = target
        self.server_rcvbuf = server_rcvbuf
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if rcvbuf is not None:
            self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.listener.bind((HOST, 0))
        self.listener.listen(1)
        self.address: tuple[str, int] = self.listener.getsockname()
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = socket.socketpair()
        self._reading_client = True
        self._reading_server = True
        self._stall_down: int | None = None  # packets of the server's to pass, then stall
        self._stall_up: int | None = None
        self._reset: str | None = None  # "client" or "server": which side gets the RST
        self._half_close: bool | None = None  # None: no; else keep_reading
        self._stop = False
        self.client_bytes = 0  # bytes read from the client
        self.server_bytes = 0  # bytes read from the server
        self.connected = threading.Event()
        self.ended = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="faulty-relay", daemon=True)
        self._thread.start()

    # ---- faults
    def _poke(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send(b"!")

    def stop_reading(self) -> None:
        with self._lock:
            self._reading_client = False
        self._poke()

    def resume_reading(self) -> None:
        with self._lock:
            self._reading_client = True
        self._poke()

    def stop_reading_server(self) -> None:
        with self._lock:
            self._reading_server = False
        self._poke()

    def resume_reading_server(self) -> None:
        with self._lock:
            self._reading_server = True
        self._poke()

    def stall_server_after_packets(self, n: int) -> None:
        self._stall_down = n

    def stall_client_after_packets(self, n: int) -> None:
        self._stall_up = n

    def reset_client(self) -> None:
        with self._lock:
            self._reset = "client"
        self._poke()

    def reset_server(self) -> None:
        with self._lock:
            self._reset = "server"
        self._poke()

    def half_close_client(self, keep_reading: bool = True) -> None:
        with self._lock:
            self._half_close = keep_reading
        self._poke()

    def close(self) -> None:
        with self._lock:
            self._stop = True
        self._poke()
        self._thread.join(10)
        for s in (self.listener, self._wake_r, self._wake_w):
            s.close()
        assert not self._thread.is_alive(), "the relay thread did not end"

    def __enter__(self) -> FaultyRelay:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- the pump
    def _run(self) -> None:
        client = server = None
        try:
            sel = selectors.DefaultSelector()
            with sel:
                sel.register(self.listener, selectors.EVENT_READ)
                sel.register(self._wake_r, selectors.EVENT_READ)
                while True:
                    ready = {key.fileobj for key, _ in sel.select(30)}
                    if self._wake_r in ready:
                        self._wake_r.recv(4096)
                    if self._stop:
                        return
                    if self.listener in ready:
                        break
                client, _ = self.listener.accept()
            server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            if self.server_rcvbuf is not None:
                server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.server_rcvbuf)
            server.settimeout(10)
            server.connect(self.target)
            self.connected.set()
            self._pump(client, server)
        except BaseException as exc:  # reported through .error; the test decides
            self.error = exc
        finally:
            for s in (client, server):
                if s is not None:
                    s.close()
            self.ended.set()

    def _pump(self, client: socket.socket, server: socket.socket) -> None:
        client.setblocking(False)
        server.setblocking(False)
        up = bytearray()  # client -> server, not yet written
        down = bytearray()
        up_gate = _PacketGate(self._stall_up)
        down_gate = _PacketGate(self._stall_down)
        client_eof = server_eof = False
        fin_sent = False
        sel = selectors.DefaultSelector()
        with sel:
            sel.register(self._wake_r, selectors.EVENT_READ)
            while True:
                with self._lock:
                    stop, reset, half = self._stop, self._reset, self._half_close
                    reading_client = self._reading_client
                    reading_server = self._reading_server
                if stop:
                    return
                if reset is not None:
                    victim = client if reset == "client" else server
                    victim.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return  # the finally in _run closes both: an RST to the victim
                if half is not None:
                    if not fin_sent:
                        with contextlib.suppress(OSError):
                            client.shutdown(socket.SHUT_WR)
                        fin_sent = True
                    reading_client = reading_client and half
                    down.clear()
                want_client = 0
                if reading_client and not client_eof and len(up) < _BUFFER_LIMIT:
                    want_client |= selectors.EVENT_READ
                if down_gate.passable(down) and not fin_sent:
                    want_client |= selectors.EVENT_WRITE
                want_server = 0
                if reading_server and not server_eof and len(down) < _BUFFER_LIMIT and half is None:
                    want_server |= selectors.EVENT_READ
                if up_gate.passable(up):
                    want_server |= selectors.EVENT_WRITE
                for sock, want in ((client, want_client), (server, want_server)):
                    key = sel.get_map().get(sock)
                    if want and key is None:
                        sel.register(sock, want)
                    elif want and key is not None and key.events != want:
                        sel.modify(sock, want)
                    elif not want and key is not None:
                        sel.unregister(sock)
                for key, events in sel.select(30):
                    if key.fileobj is self._wake_r:
                        self._wake_r.recv(4096)
                        continue
                    sock = client if key.fileobj is client else server
                    if events & selectors.EVENT_READ:
                        try:
                            data = sock.recv(_CHUNK)
                        except (BlockingIOError, InterruptedError):
                            data = None
                        except OSError:
                            data = b""
                        if data is not None:
                            if sock is client:
                                if not data:
                                    client_eof = True
                                    with contextlib.suppress(OSError):
                                        server.shutdown(socket.SHUT_WR)
                                self.client_bytes += len(data)
                                up += data
                            else:
                                if not data:
                                    server_eof = True
                                    if not down:
                                        return  # the server is gone: so is the client
                                self.server_bytes += len(data)
                                down += data
                    if events & selectors.EVENT_WRITE:
                        buf, gate = (down, down_gate) if sock is client else (up, up_gate)
                        limit = gate.limit(buf)
                        try:
                            sent = sock.send(memoryview(buf)[:limit])
                        except (BlockingIOError, InterruptedError):
                            sent = 0
                        except OSError:
                            return
                        gate.consumed(buf, sent)
                        del buf[:sent]
                if server_eof and not down:
                    return


class _PacketGate:
    """Lets a direction's version line and first ``packets`` binary packets through, then
    nothing (``packets`` None: everything). Parses the plaintext framing of RFC 4253 §6."""

    def __init__(self, packets: int | None) -> None:
        self.packets = packets
        self.passed = 0  # bytes of the allowance already passed
        self.allowance: int | None = None  # total bytes to pass, once known

    def _compute(self, buf: bytearray) -> None:
        if self.packets is None or self.allowance is not None:
            return
        # everything up to the first "SSH-" line's end is the version exchange
        seen = bytes(buf)
        offset = 0
        while True:
            end = seen.find(b"\n", offset)
            if end < 0:
                return
            line = seen[offset : end + 1]
            offset = end + 1
            if line.startswith(b"SSH-"):
                break
        for _ in range(self.packets):
            if len(seen) < offset + 4:
                return
            (length,) = struct.unpack(">I", seen[offset : offset + 4])
            offset += 4 + length
        self.allowance = offset

    def passable(self, buf: bytearray) -> bool:
        return bool(buf) and self.limit(buf) > 0

    def limit(self, buf: bytearray) -> int:
        if self.packets is None:
            return len(buf)
        self._compute_from(buf)
        if self.allowance is None:
            return 0
        return max(0, min(len(buf), self.allowance - self.passed))

    def _compute_from(self, buf: bytearray) -> None:
        # buf holds everything from self.passed on (nothing passes before the allowance is
        # known, so while it is unknown, buf is the whole stream so far)
        if self.allowance is None and self.passed == 0:
            self._compute(buf)

    def consumed(self, buf: bytearray, sent: int) -> None:
        self.passed += sent

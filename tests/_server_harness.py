"""A small sshwire server application for the server-side tests.

Used by ``tests/interop/test_server_paramiko_client.py``, ``test_server_asyncssh_client.py``
and ``tests/threaded/test_server_robustness.py``: the clients there are independent peers
(paramiko, asyncssh, raw sockets), the server is sshwire's ``Transport`` in server mode driven
the way an application would drive it.

* :class:`SshwireServer` listens on 127.0.0.1 (ephemeral port); an accept thread wraps each
  connection in a server ``Transport`` (one reader thread per connection, as sshwire does) with
  a fresh :class:`Policy`, and hands ``(transport, policy)`` to the test through a queue.
* :class:`Policy` is a ``ServerInterface`` that records every decision it is asked for and
  runs toy "commands" (see :data:`COMMANDS`) in worker threads. Every worker reads its stdin
  before it writes anything, so its output never races the reply to its exec request.
* :func:`relay` pumps bytes between a channel and a socket (direct-tcpip, forwarded-tcpip).
* :class:`EchoServer` is a loopback TCP echo service for the forwarding tests.

Everything here is bounded: sockets and channels carry timeouts, threads are joined on close.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import queue
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

import sshwire
from sshwire.channel import Channel
from sshwire.server import (
    AUTH_FAILED,
    AUTH_PARTIALLY_SUCCESSFUL,
    AUTH_SUCCESSFUL,
    OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED,
    OPEN_SUCCEEDED,
    InteractiveQuery,
    ServerInterface,
    SubsystemHandler,
)

LOOPBACK = "127.0.0.1"
IO_TIMEOUT = 20.0  # every blocking socket/channel operation in a helper thread
USER = "alice"
PASSWORD = "s3cret pass"
OTP = "424242"
BANNER = "Welcome to the sshwire test server\r\n"


# ------------------------------------------------------------------------------------ keys


def private_pem(kind: str) -> str:
    """A fresh private key in OpenSSH PEM: ``ed25519``, ``ecdsa256/384/521`` or ``rsa``."""
    key: Any
    if kind == "ed25519":
        key = ed25519.Ed25519PrivateKey.generate()
    elif kind.startswith("ecdsa"):
        curve = {"256": ec.SECP256R1(), "384": ec.SECP384R1(), "521": ec.SECP521R1()}[kind[5:]]
        key = ec.generate_private_key(curve)
    elif kind == "rsa":
        key = rsa.generate_private_key(65537, 2048)
    else:  # pragma: no cover - test bug
        raise ValueError(kind)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode()


def sshwire_key(pem: str) -> sshwire.PKey:
    """The same private key as sshwire's PKey class for its type."""
    for cls in (sshwire.Ed25519Key, sshwire.ECDSAKey, sshwire.RSAKey):
        try:
            return cls.from_private_key(io.StringIO(pem))
        except Exception:
            continue
    raise ValueError("no sshwire key class loads this key")  # pragma: no cover


HOST_KEY_KINDS = ("ed25519", "ecdsa256", "ecdsa384", "ecdsa521", "rsa")


def make_host_keys() -> dict[str, sshwire.PKey]:
    """One host key per type, keyed by the key's wire type name."""
    keys = [sshwire_key(private_pem(kind)) for kind in HOST_KEY_KINDS]
    return {k.get_name(): k for k in keys}


# ------------------------------------------------------------------------------------ policy


@dataclass
class Policy(ServerInterface):
    """A recording ServerInterface.

    Auth: ``password`` for USER; any key whose blob is in ``authorized`` (publickey);
    keyboard-interactive asks two rounds (password, then OTP). With ``two_factor`` a key only
    gets AUTH_PARTIALLY_SUCCESSFUL and the password must follow.
    """

    authorized: list[bytes] = field(default_factory=list)
    two_factor: bool = False
    allowed: str = "publickey,password,keyboard-interactive"
    banner: str | None = BANNER
    transport: Any = None
    auth_log: list[tuple[str, str, str]] = field(default_factory=list)  # (method, user, detail)
    pubkey_queries: list[tuple[str, bytes]] = field(default_factory=list)
    env: dict[int, dict[bytes, bytes]] = field(default_factory=dict)
    pty: dict[int, tuple[bytes, int, int, int, int, bytes]] = field(default_factory=dict)
    window_changes: queue.Queue[tuple[int, int, int, int, int]] = field(default_factory=queue.Queue)
    size: dict[int, tuple[int, int]] = field(default_factory=dict)
    commands: list[bytes] = field(default_factory=list)
    x11: dict[int, tuple[bool, str, bytes, int]] = field(default_factory=dict)
    agent_requests: list[int] = field(default_factory=list)
    direct_tcpip: list[tuple[tuple[str, int], tuple[str, int]]] = field(default_factory=list)
    forwards: dict[tuple[str, int], _Forward] = field(default_factory=dict)
    global_requests: list[str] = field(default_factory=list)
    workers: list[threading.Thread] = field(default_factory=list)
    results: queue.Queue[Any] = field(default_factory=queue.Queue)  # worker -> test
    _pubkey_ok: bool = False

    # -- auth

    def get_allowed_auths(self, username: str) -> str:
        if self.two_factor and self._pubkey_ok:
            return "password"
        return self.allowed

    def check_auth_none(self, username: str) -> int:
        self.auth_log.append(("none", username, ""))
        return AUTH_FAILED

    def check_auth_password(self, username: str, password: str) -> int:
        self.auth_log.append(("password", username, password))
        if username != USER or password != PASSWORD:
            return AUTH_FAILED
        if self.two_factor and not self._pubkey_ok:
            return AUTH_FAILED  # the key must come first
        return AUTH_SUCCESSFUL

    def check_auth_publickey(self, username: str, key: sshwire.PKey) -> int:
        self.auth_log.append(("publickey", username, key.get_name()))
        self.pubkey_queries.append((username, key.asbytes()))
        if username != USER or key.asbytes() not in self.authorized:
            return AUTH_FAILED
        if self.two_factor:
            self._pubkey_ok = True
            return AUTH_PARTIALLY_SUCCESSFUL
        return AUTH_SUCCESSFUL

    def check_auth_interactive(self, username: str, submethods: str) -> int | InteractiveQuery:
        self.auth_log.append(("keyboard-interactive", username, submethods))
        if username != USER:
            return AUTH_FAILED
        self._kbd_round = 0
        return InteractiveQuery("sshwire login", "Two questions.", ("Password: ", False))

    def check_auth_interactive_response(self, responses: list[str]) -> int | InteractiveQuery:
        self.auth_log.append(("keyboard-interactive-response", USER, "|".join(responses)))
        if self._kbd_round == 0:
            if responses != [PASSWORD]:
                return AUTH_FAILED
            self._kbd_round = 1
            return InteractiveQuery("second factor", "", ("One-time code: ", True))
        return AUTH_SUCCESSFUL if responses == [OTP] else AUTH_FAILED

    def get_banner(self) -> tuple[str | None, str | None]:
        return (self.banner, "en-US") if self.banner else (None, None)

    # -- channels

    def check_channel_request(self, kind: str, chanid: int) -> int:
        return OPEN_SUCCEEDED if kind == "session" else OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_direct_tcpip_request(
        self, chanid: int, origin: tuple[str, int], destination: tuple[str, int]
    ) -> int:
        self.direct_tcpip.append((origin, destination))
        if destination[0] != LOOPBACK:
            return OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED
        return OPEN_SUCCEEDED

    def check_channel_env_request(self, channel: Channel, name: bytes, value: bytes) -> bool:
        self.env.setdefault(channel.get_id(), {})[name] = value
        return not name.startswith(b"REFUSED")

    def check_channel_pty_request(
        self,
        channel: Channel,
        term: bytes,
        width: int,
        height: int,
        pixelwidth: int,
        pixelheight: int,
        modes: bytes,
    ) -> bool:
        self.pty[channel.get_id()] = (term, width, height, pixelwidth, pixelheight, modes)
        self.size[channel.get_id()] = (width, height)
        return True

    def check_channel_window_change_request(
        self, channel: Channel, width: int, height: int, pixelwidth: int, pixelheight: int
    ) -> bool:
        self.size[channel.get_id()] = (width, height)
        self.window_changes.put((channel.get_id(), width, height, pixelwidth, pixelheight))
        return True

    def check_channel_shell_request(self, channel: Channel) -> bool:
        self._start(channel, toy_shell, [])
        return True

    def check_channel_exec_request(self, channel: Channel, command: bytes) -> bool:
        self.commands.append(command)
        argv = command.decode().split()
        if not argv or argv[0] not in COMMANDS:
            return False
        self._start(channel, COMMANDS[argv[0]], argv[1:])
        return True

    def check_channel_x11_request(
        self,
        channel: Channel,
        single_connection: bool,
        auth_protocol: str,
        auth_cookie: bytes,
        screen_number: int,
    ) -> bool:
        self.x11[channel.get_id()] = (single_connection, auth_protocol, auth_cookie, screen_number)
        return True

    def check_channel_forward_agent_request(self, channel: Channel) -> bool:
        self.agent_requests.append(channel.get_id())
        return True

    # -- global requests

    def check_port_forward_request(self, address: str, port: int) -> int | bool:
        self.global_requests.append(f"tcpip-forward {address}:{port}")
        if address not in (LOOPBACK, "localhost") or self.transport is None:
            return False
        forward = _Forward(self.transport, address, port)
        self.forwards[(address, forward.port)] = forward
        if port != 0:
            self.forwards[(address, port)] = forward
        return forward.port

    def cancel_port_forward_request(self, address: str, port: int) -> None:
        self.global_requests.append(f"cancel-tcpip-forward {address}:{port}")
        forward = self.forwards.pop((address, port), None)
        if forward is not None:
            forward.stop()

    def check_global_request(self, kind: str, msg: Any) -> bool:
        self.global_requests.append(kind)
        return False

    # -- workers

    def _start(self, channel: Channel, fn: Callable[..., Any], argv: list[str]) -> None:
        def run() -> None:
            channel.settimeout(IO_TIMEOUT)
            try:
                status = fn(self, channel, argv)
                if status is not None:
                    channel.send_exit_status(status)
            except Exception as exc:  # reported to the test, never raised in a thread
                self.results.put(exc)
            finally:
                channel.close()

        worker = threading.Thread(target=run, daemon=True, name=f"worker {argv}")
        self.workers.append(worker)
        worker.start()

    def close(self) -> None:
        for forward in list(self.forwards.values()):
            forward.stop()
        for worker in self.workers:
            worker.join(IO_TIMEOUT)


def read_all(channel: Any, limit: int = 1 << 26) -> bytes:
    """Everything until EOF (bounded by ``limit`` bytes)."""
    parts: list[bytes] = []
    total = 0
    while total <= limit:
        chunk = channel.recv(65536)
        if not chunk:
            break
        parts.append(chunk)
        total += len(chunk)
    return b"".join(parts)


# ------------------------------------------------------------------------------------ commands
# each takes (policy, channel, argv) and returns the exit status (or None for none)


def cmd_echo(policy: Policy, chan: Channel, argv: list[str]) -> int:
    """Copy stdin to stdout as it comes; stderr gets the byte count and sha256; exit 0.

    ``echo rekey N``: the server also starts a key re-exchange after every N bytes received
    (and waits for it to finish) while the transfer goes on.
    """
    rekey_every = int(argv[1]) if argv[:1] == ["rekey"] else 0
    next_rekey = rekey_every
    digest = hashlib.sha256()
    total = 0
    for _ in range(1 << 20):
        chunk = chan.recv(1 << 16)
        if not chunk:
            break
        digest.update(chunk)
        total += len(chunk)
        chan.sendall(chunk)
        if rekey_every and total >= next_rekey:
            next_rekey += rekey_every
            transport = chan.get_transport()
            assert transport is not None
            transport.renegotiate_keys()
            policy.results.put(("rekeyed at", total))
    chan.sendall_stderr(f"{total} {digest.hexdigest()}\n".encode())
    return 0


def cmd_status(policy: Policy, chan: Channel, argv: list[str]) -> int:
    """Read stdin; write "out:<stdin>" to stdout, "err:<argv>" to stderr; exit argv[0]."""
    data = read_all(chan)
    chan.sendall(b"out:" + data)
    chan.sendall_stderr(("err:" + " ".join(argv[1:])).encode())
    return int(argv[0])


def cmd_env(policy: Policy, chan: Channel, argv: list[str]) -> int:
    """Read stdin, then print the environment the client set on this channel."""
    read_all(chan)
    env = policy.env.get(chan.get_id(), {})
    chan.sendall(b"".join(k + b"=" + v + b"\n" for k, v in sorted(env.items())))
    return 0


def cmd_source(policy: Policy, chan: Channel, argv: list[str]) -> int:
    """Read stdin, then write int(argv[0]) pseudo-random bytes; stderr gets their sha256."""
    read_all(chan)
    size = int(argv[0])
    block = hashlib.sha512(b"sshwire").digest() * 1024  # 64 KiB pattern
    digest = hashlib.sha256()
    sent = 0
    while sent < size:
        piece = block[: min(len(block), size - sent)]
        chan.sendall(piece)
        digest.update(piece)
        sent += len(piece)
    chan.sendall_stderr(digest.hexdigest().encode())
    return 0


def cmd_x11(policy: Policy, chan: Channel, argv: list[str]) -> int:
    """Read stdin, open an x11 channel towards the client, talk over it, report back."""
    read_all(chan)
    transport = chan.get_transport()
    assert transport is not None
    x11 = transport.open_x11_channel((LOOPBACK, 6010))
    x11.settimeout(IO_TIMEOUT)
    try:
        x11.sendall(b"X11 hello")
        x11.shutdown_write()
        reply = read_all(x11)
    finally:
        x11.close()
    chan.sendall(b"x11 said: " + reply)
    return 0


SSH_AGENTC_REQUEST_IDENTITIES = 11
SSH_AGENT_IDENTITIES_ANSWER = 12
SSH_AGENTC_SIGN_REQUEST = 13
SSH_AGENT_SIGN_RESPONSE = 14


def agent_call(chan: Channel, payload: bytes) -> bytes:
    """One agent request/answer over a channel (RFC draft-miller-ssh-agent framing)."""
    chan.sendall(len(payload).to_bytes(4, "big") + payload)
    header = _recv_exact(chan, 4)
    return _recv_exact(chan, int.from_bytes(header, "big"))


def _recv_exact(chan: Channel, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = chan.recv(n - len(buf))
        if not chunk:
            raise EOFError(f"agent channel closed after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


def _ssh_string(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


def cmd_agent(policy: Policy, chan: Channel, argv: list[str]) -> int:
    """Read stdin; over a forwarded agent channel list identities and sign with the first.

    Puts ``(identities, (blob, data, signature))`` on ``policy.results``.
    """
    read_all(chan)
    transport = chan.get_transport()
    assert transport is not None
    agent = transport.open_forward_agent_channel()
    agent.settimeout(IO_TIMEOUT)
    try:
        answer = agent_call(agent, bytes([SSH_AGENTC_REQUEST_IDENTITIES]))
        assert answer[0] == SSH_AGENT_IDENTITIES_ANSWER, answer[:1]
        count = int.from_bytes(answer[1:5], "big")
        pos, identities = 5, []
        for _ in range(count):
            n = int.from_bytes(answer[pos : pos + 4], "big")
            blob = answer[pos + 4 : pos + 4 + n]
            pos += 4 + n
            n = int.from_bytes(answer[pos : pos + 4], "big")
            pos += 4 + n  # comment
            identities.append(blob)
        data = b"sign me, agent"
        request = (
            bytes([SSH_AGENTC_SIGN_REQUEST])
            + _ssh_string(identities[0])
            + _ssh_string(data)
            + (0).to_bytes(4, "big")
        )
        answer = agent_call(agent, request)
        assert answer[0] == SSH_AGENT_SIGN_RESPONSE, answer[:1]
        n = int.from_bytes(answer[1:5], "big")
        signature = answer[5 : 5 + n]
    finally:
        agent.close()
    policy.results.put((identities, (identities[0], data, signature)))
    chan.sendall(f"{count} identities".encode())
    return 0


def toy_shell(policy: Policy, chan: Channel, argv: list[str]) -> int:
    """A line-oriented shell: ``size`` prints the terminal size, ``exit N`` ends it."""
    chan.sendall(b"$ ")
    buf = b""
    for _ in range(10000):
        chunk = chan.recv(1024)
        if not chunk:
            return 0
        buf += chunk
        while b"\n" in buf or b"\r" in buf:
            cut = min(i for i in (buf.find(b"\n"), buf.find(b"\r")) if i >= 0)
            line, buf = buf[:cut].decode().strip(), buf[cut + 1 :]
            if not line:
                continue
            if line == "size":
                width, height = policy.size.get(chan.get_id(), (0, 0))
                chan.sendall(f"size {width}x{height}\r\n$ ".encode())
            elif line.startswith("exit"):
                return int(line.split()[1])
            else:
                chan.sendall(f"you said {line}\r\n$ ".encode())
    return 1


COMMANDS: dict[str, Callable[..., Any]] = {
    "echo": cmd_echo,
    "status": cmd_status,
    "env": cmd_env,
    "source": cmd_source,
    "x11": cmd_x11,
    "agent": cmd_agent,
}


class EchoSubsystem(SubsystemHandler):
    """A toy subsystem: echoes each chunk back with a prefix given to set_subsystem_handler."""

    def __init__(self, channel: Channel, name: str, server: Any, prefix: bytes) -> None:
        super().__init__(channel, name, server)
        self.prefix = prefix

    def start_subsystem(self, name: str, transport: Any, channel: Channel) -> None:
        channel.settimeout(IO_TIMEOUT)
        for _ in range(10000):
            chunk = channel.recv(4096)
            if not chunk:
                break
            channel.sendall(self.prefix + chunk)
        channel.send_exit_status(0)


# ------------------------------------------------------------------------------------ relays


def relay(chan: Any, sock: socket.socket) -> threading.Thread:
    """Pump both ways between ``chan`` and ``sock`` in a thread; closes both at the end."""
    chan.settimeout(IO_TIMEOUT)
    sock.settimeout(IO_TIMEOUT)

    def up() -> None:  # socket -> channel
        with contextlib.suppress(OSError, EOFError, sshwire.SSHException):
            for _ in range(1 << 20):
                data = sock.recv(65536)
                if not data:
                    break
                chan.sendall(data)
        with contextlib.suppress(OSError, EOFError, sshwire.SSHException):
            chan.shutdown_write()

    def run() -> None:
        pump = threading.Thread(target=up, daemon=True)
        pump.start()
        with contextlib.suppress(OSError, EOFError, sshwire.SSHException):
            for _ in range(1 << 20):
                data = chan.recv(65536)
                if not data:
                    break
                sock.sendall(data)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_WR)
        pump.join(IO_TIMEOUT)
        chan.close()
        sock.close()

    thread = threading.Thread(target=run, daemon=True, name="relay")
    thread.start()
    return thread


class _Forward:
    """A remote-forward listener on loopback: each connection becomes a forwarded-tcpip
    channel towards the client, relayed both ways."""

    def __init__(self, transport: Any, address: str, port: int) -> None:
        self.transport = transport
        self.address = address
        self.listener = socket.create_server((LOOPBACK, port))
        self.port = self.listener.getsockname()[1]
        self.threads: list[threading.Thread] = []
        self.thread = threading.Thread(target=self._serve, daemon=True, name="forward")
        self.thread.start()

    def _serve(self) -> None:
        for _ in range(1000):
            try:
                sock, peer = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._open, args=(sock, peer), daemon=True).start()

    def _open(self, sock: socket.socket, peer: tuple[str, int]) -> None:
        try:
            chan = self.transport.open_forwarded_tcpip_channel(
                (peer[0], peer[1]), (self.address, self.port)
            )
        except Exception:
            sock.close()
            return
        self.threads.append(relay(chan, sock))

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self.thread.join(IO_TIMEOUT)


class EchoServer:
    """A loopback TCP echo service (one thread per connection)."""

    def __init__(self) -> None:
        self.listener = socket.create_server((LOOPBACK, 0))
        self.address: tuple[str, int] = self.listener.getsockname()[:2]
        self.threads: list[threading.Thread] = []
        self.peers: list[tuple[str, int]] = []
        self.thread = threading.Thread(target=self._serve, daemon=True, name="echo")
        self.thread.start()

    def _serve(self) -> None:
        for _ in range(1000):
            try:
                sock, peer = self.listener.accept()
            except OSError:
                return
            self.peers.append(peer)
            t = threading.Thread(target=self._echo, args=(sock,), daemon=True)
            self.threads.append(t)
            t.start()

    @staticmethod
    def _echo(sock: socket.socket) -> None:
        sock.settimeout(IO_TIMEOUT)
        with sock, contextlib.suppress(OSError):
            for _ in range(1 << 20):
                data = sock.recv(65536)
                if not data:
                    break
                sock.sendall(data)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self.thread.join(IO_TIMEOUT)
        for t in self.threads:
            t.join(IO_TIMEOUT)


# ------------------------------------------------------------------------------------ server


@dataclass
class Served:
    transport: sshwire.Transport
    policy: Policy
    ready: threading.Event


class SshwireServer:
    """Listen on 127.0.0.1; serve each connection with a new server Transport and Policy.

    ``policy_factory()`` makes the policy; ``setup(transport)`` may adjust each transport
    (algorithms, subsystem handlers, limits) before ``start_server``.
    """

    def __init__(
        self,
        host_keys: dict[str, sshwire.PKey],
        policy_factory: Callable[[], Policy] = Policy,
        setup: Callable[[sshwire.Transport], None] | None = None,
    ) -> None:
        self.host_keys = host_keys
        self.policy_factory = policy_factory
        self.setup = setup
        self.served: queue.Queue[Served] = queue.Queue()
        self.all: list[Served] = []
        self.errors: list[BaseException] = []
        self.listener = socket.create_server((LOOPBACK, 0), backlog=64)
        self.port: int = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True, name="sshwire-server")
        self.thread.start()

    @property
    def address(self) -> tuple[str, int]:
        return (LOOPBACK, self.port)

    def _serve(self) -> None:
        for _ in range(10000):
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            try:
                transport = sshwire.Transport(sock)
                for key in self.host_keys.values():
                    transport.add_server_key(key)
                if self.setup is not None:
                    self.setup(transport)
                policy = self.policy_factory()
                policy.transport = transport
                ready = threading.Event()
                served = Served(transport, policy, ready)
                self.all.append(served)
                transport.start_server(ready, policy)
                self.served.put(served)
            except Exception as exc:  # surfaced by the test through .errors
                self.errors.append(exc)
                sock.close()

    def next(self, timeout: float = 10) -> Served:
        """The next connection served (its transport started)."""
        return self.served.get(timeout=timeout)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self.thread.join(IO_TIMEOUT)
        for served in self.all:
            served.transport.close()
        for served in self.all:
            served.policy.close()


@contextlib.contextmanager
def sshwire_server(
    host_keys: dict[str, sshwire.PKey],
    policy_factory: Callable[[], Policy] = Policy,
    setup: Callable[[sshwire.Transport], None] | None = None,
) -> Iterator[SshwireServer]:
    server = SshwireServer(host_keys, policy_factory, setup)
    try:
        yield server
    finally:
        server.close()

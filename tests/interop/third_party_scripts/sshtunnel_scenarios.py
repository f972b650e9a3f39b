"""sshtunnel (``SSHTunnelForwarder``: local forwards over direct-tcpip) on sshwire-as-paramiko.

Run by ``tests/interop/test_third_party.py``: ``python sshtunnel_scenarios.py SCENARIO`` with
the parameters in ``$SSHWIRE_TP_PARAMS``; the echo servers the tunnels lead to run in the test
process. sshtunnel reads ``~/.ssh/config`` and keys in ``~/.ssh``: the test points ``$HOME``
at an empty directory. sshtunnel puts a 0.1 s timeout on the transport's socket, uses
``set_keepalive``, ``use_compression``, ``is_active``, ``stop_thread`` and ``open_channel``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import _harness

IO_TIMEOUT = 20.0
STOP_DEADLINE = 10.0


def _echo_roundtrips(port: int, messages: list[bytes]) -> int:
    """Send each message on one connection through the tunnel; check its echo."""
    with socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT) as sock:
        for msg in messages:
            sock.sendall(msg)
            got = bytearray()
            while len(got) < len(msg):
                chunk = sock.recv(min(65536, len(msg) - len(got)))
                if not chunk:
                    raise AssertionError(f"tunnel closed after {len(got)} of {len(msg)} bytes")
                got += chunk
            if bytes(got) != msg:
                raise AssertionError("echo through the tunnel differs from what was sent")
    return len(messages)


def _leftover_threads(before: set[threading.Thread]) -> list[str]:
    """Threads started since ``before`` that do not end within STOP_DEADLINE."""
    deadline = time.monotonic() + STOP_DEADLINE
    for thread in threading.enumerate():
        if thread not in before and thread is not threading.current_thread():
            thread.join(max(0.0, deadline - time.monotonic()))
    return [t.name for t in threading.enumerate() if t not in before and t.is_alive()]


def _pkey_from_line(line: str) -> Any:
    import base64

    import paramiko

    key_type, b64 = line.split()[:2]
    return paramiko.PKey.from_type_string(key_type, base64.b64decode(b64))


def echo(p: _harness.Params) -> dict[str, Any]:
    """One tunnel: sequential and parallel echo round trips, then a prompt, clean stop()."""
    from sshtunnel import SSHTunnelForwarder

    before = set(threading.enumerate())
    server = SSHTunnelForwarder(
        (p["host"], p["port"]),
        ssh_username=p["user"],
        ssh_pkey=p["key"],
        ssh_host_key=_pkey_from_line(p["host_key"]),
        remote_bind_address=("127.0.0.1", p["echo_port"]),
        local_bind_address=("127.0.0.1", 0),
        allow_agent=False,
    )
    server.start()
    try:
        result: dict[str, Any] = {
            "is_active": server.is_active,
            "is_alive": server.is_alive,
            "local_bind_host": server.local_bind_host,
            "local_bind_port": server.local_bind_port,
            "transport_active": server._transport.is_active(),
            "transport_authenticated": server._transport.is_authenticated(),
        }
        port = server.local_bind_port
        # several connections one after another, several messages on each
        sequential = 0
        for i in range(5):
            sizes = [1, 100 + i, 16384, 70_000]
            sequential += _echo_roundtrips(port, [os.urandom(n) for n in sizes])
        result["sequential"] = sequential
        # parallel connections, bigger messages
        jobs = [[os.urandom(64 * 1024 + j) for j in range(4)] for _ in range(8)]
        jobs.append([os.urandom(1024 * 1024)])
        with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
            result["parallel"] = list(pool.map(lambda msgs: _echo_roundtrips(port, msgs), jobs))
        # (not check_tunnels(): a healthy tunnel makes it wait out its 11 s queue timeout)
        result["tunnel_is_up"] = list(server.tunnel_is_up.values())
        transport = server._transport
    finally:
        t0 = time.monotonic()
        server.stop()
        result["stop_seconds"] = time.monotonic() - t0
    result["transport_active_after"] = transport.is_active()
    result["transport_thread_alive_after"] = transport.is_alive()
    result["forwarder_active_after"] = server.is_active
    result["leftover_threads"] = _leftover_threads(before)
    return result


def stalled_gateway(p: _harness.Params) -> dict[str, Any]:
    """The SSH connection goes through a proxy that stops reading for a while mid-transfer.

    sshtunnel sets a 0.1 s timeout on the transport's socket, so sends block past that
    timeout: as with paramiko, that is a slow peer, not a dead connection.
    """
    from sshtunnel import SSHTunnelForwarder

    server = SSHTunnelForwarder(
        ("127.0.0.1", p["proxy_port"]),
        ssh_username=p["user"],
        ssh_pkey=p["key"],
        remote_bind_address=("127.0.0.1", p["echo_port"]),
        local_bind_address=("127.0.0.1", 0),
        allow_agent=False,
    )
    server.start()
    try:
        timeout = server._transport.sock.gettimeout()
        port = server.local_bind_port
        jobs = [[os.urandom(2 * 1024 * 1024)] for _ in range(4)]
        with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
            counts = list(pool.map(lambda msgs: _echo_roundtrips(port, msgs), jobs))
        active = server._transport.is_active()
    finally:
        server.stop()
    return {"socket_timeout": timeout, "counts": counts, "active": active}


def two_tunnels(p: _harness.Params) -> dict[str, Any]:
    """open_tunnel() with two remote binds over one SSH connection, as a context manager."""
    from sshtunnel import open_tunnel

    before = set(threading.enumerate())
    with open_tunnel(
        (p["host"], p["port"]),
        ssh_username=p["user"],
        ssh_pkey=p["key"],
        remote_bind_addresses=[("127.0.0.1", p["echo_port"]), ("127.0.0.1", p["echo_port2"])],
        local_bind_addresses=[("127.0.0.1", 0), ("127.0.0.1", 0)],
        allow_agent=False,
    ) as server:
        ports = server.local_bind_ports
        bindings = {f"{r[0]}:{r[1]}": list(loc) for r, loc in server.tunnel_bindings.items()}
        counts = [_echo_roundtrips(port, [os.urandom(5000), b"x"]) for port in ports]
    return {
        "ports": ports,
        "bindings": bindings,
        "counts": counts,
        "leftover_threads": _leftover_threads(before),
    }


def agent_keys(p: _harness.Params) -> dict[str, Any]:
    """No key given: sshtunnel takes the keys of the agent at ``$SSH_AUTH_SOCK``."""
    from sshtunnel import SSHTunnelForwarder

    keys = SSHTunnelForwarder.get_agent_keys()
    with SSHTunnelForwarder(
        (p["host"], p["port"]),
        ssh_username=p["user"],
        remote_bind_address=("127.0.0.1", p["echo_port"]),
        local_bind_address=("127.0.0.1", 0),
        allow_agent=True,
        host_pkey_directories=[],
    ) as server:
        count = _echo_roundtrips(server.local_bind_port, [b"through an agent key", b"!"])
        key_name = type(server.ssh_pkeys[0]).__name__
    return {"agent_key_types": [k.get_name() for k in keys], "count": count, "key": key_name}


def ssh_config_alias(p: _harness.Params) -> dict[str, Any]:
    """A host alias from ``~/.ssh/config`` (HostName, Port, User) and the key ``~/.ssh/id_*``."""
    from sshtunnel import SSHTunnelForwarder

    with SSHTunnelForwarder(
        p["alias"],
        remote_bind_address=("127.0.0.1", p["echo_port"]),
        local_bind_address=("127.0.0.1", 0),
        allow_agent=False,
    ) as server:
        count = _echo_roundtrips(server.local_bind_port, [b"via an ssh_config alias"])
        seen = {
            "ssh_host": server.ssh_host,
            "ssh_port": server.ssh_port,
            "ssh_username": server.ssh_username,
            "keys": [k.get_name() for k in server.ssh_pkeys],
            "compression": server.compression,
        }
    return {"count": count, **seen}


class _Records(logging.Handler):
    """Keeps the messages logged to it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def bad_host_key(p: _harness.Params) -> dict[str, Any]:
    """A host key that is not the server's: start() refuses, with the transport's reason.

    (sshtunnel itself leaves the refused transport open: it closes transports only after
    authentication failures. The real paramiko behaves the same way here.)
    """
    from sshtunnel import BaseSSHTunnelForwarderError, SSHTunnelForwarder

    records = _Records()
    logger = logging.getLogger("third-party.sshtunnel")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(records)
    server = SSHTunnelForwarder(
        (p["host"], p["port"]),
        ssh_username=p["user"],
        ssh_pkey=p["key"],
        ssh_host_key=_pkey_from_line(p["wrong_host_key"]),
        remote_bind_address=("127.0.0.1", p["echo_port"]),
        local_bind_address=("127.0.0.1", 0),
        allow_agent=False,
        logger=logger,
    )
    try:
        server.start()
    except BaseSSHTunnelForwarderError as exc:
        error = f"{type(exc).__name__}: {exc}"
    else:
        server.stop()
        error = ""
    server._transport.close()
    return {"error": error, "log": records.messages}


if __name__ == "__main__":
    _harness.main(
        {
            "echo": echo,
            "two_tunnels": two_tunnels,
            "bad_host_key": bad_host_key,
            "stalled_gateway": stalled_gateway,
            "agent_keys": agent_keys,
            "ssh_config_alias": ssh_config_alias,
        }
    )

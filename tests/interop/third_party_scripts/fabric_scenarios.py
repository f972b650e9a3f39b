"""fabric (``Connection``: remote commands through invoke's runners) on sshwire-as-paramiko.

Run by ``tests/interop/test_third_party.py``: ``python fabric_scenarios.py SCENARIO`` with the
parameters in ``$SSHWIRE_TP_PARAMS``. fabric imports ``paramiko.config.SSHConfig``,
``paramiko.proxy.ProxyCommand`` and ``paramiko.agent.AgentRequestHandler`` at import time, so
importing it at all is part of the test. The system ssh_config is replaced by an empty file
(``no_system_config``) so that the host's /etc/ssh/ssh_config cannot change the outcome; the
user's one is ``$HOME/.ssh/config`` in the test's empty home.

Not covered here: ``sudo`` (the fixture's user has no password to give it).
"""

from __future__ import annotations

import io
import os
import socket
import threading
import time
from typing import Any

import _harness


def _connection(p: _harness.Params, host: str | None = None, **kwargs: Any) -> Any:
    from fabric import Config, Connection

    config = Config(system_ssh_path=p["no_system_config"])
    if host is None:  # everything explicit; otherwise ~/.ssh/config supplies it
        host = p["host"]
        kwargs.setdefault("port", p["port"])
        kwargs.setdefault("user", p["user"])
        kwargs.setdefault(
            "connect_kwargs",
            {"key_filename": p["key"], "look_for_keys": False, "allow_agent": False},
        )
    return Connection(host, config=config, connect_timeout=10, **kwargs)


def _summary(result: Any) -> dict[str, Any]:
    return {
        "stdout": result.stdout,
        "stderr": result.stderr,
        "exited": result.exited,
        "ok": result.ok,
        "failed": result.failed,
        "pty": result.pty,
    }


def run(p: _harness.Params) -> dict[str, Any]:
    """run(): output, exit codes, UnexpectedExit, warn=True, env, several commands, close."""
    from invoke.exceptions import UnexpectedExit

    out: dict[str, Any] = {}
    c = _connection(p)
    with c:
        hi = c.run("echo hi", hide=True)
        out["hi"] = _summary(hi)
        out["hi_command"] = hi.command
        out["hi_host"] = hi.connection.host
        out["connected"] = c.is_connected
        out["streams"] = _summary(c.run("echo to-out; echo to-err >&2", hide=True))
        try:
            c.run("echo partial; exit 3", hide=True)
        except UnexpectedExit as exc:
            out["unexpected_exit"] = _summary(exc.result)
            out["unexpected_exit_message"] = str(exc)
        out["warn"] = _summary(c.run("echo oops >&2; false", warn=True, hide=True))
        out["inline_env"] = c.run(
            "echo $SSHWIRE_GREETING", env={"SSHWIRE_GREETING": "inline"}, hide=True
        ).stdout
        out["sequence"] = [c.run(f"echo {i}", hide=True).stdout for i in range(10)]
        big = c.run("head -c 3000000 /dev/zero | tr '\\0' x; echo; echo done >&2", hide=True)
        out["big"] = [len(big.stdout), big.stdout.count("x"), big.stderr]
    out["connected_after_close"] = c.is_connected
    # environment through "env" channel requests (sshd accepts SSHWIRE_*), not inline
    with _connection(p, inline_ssh_env=False) as c2:
        out["request_env"] = c2.run(
            "echo $SSHWIRE_GREETING", env={"SSHWIRE_GREETING": "requested"}, hide=True
        ).stdout
    return out


def stdin(p: _harness.Params) -> dict[str, Any]:
    """Commands that read stdin: in_stream, and watchers answering a prompt."""
    from invoke import Responder

    out: dict[str, Any] = {}
    with _connection(p) as c:
        out["cat"] = c.run("cat", in_stream=io.StringIO("alpha\nbeta\n"), hide=True).stdout
        # (invoke copies a non-terminal in_stream one character per 10 ms: keep it short)
        lines = "".join(f"{i}\n" for i in range(10))
        out["wc"] = c.run("wc -l", in_stream=io.StringIO(lines), hide=True).stdout.strip()
        name = Responder(pattern=r"Name\? ", response="sshwire\n")
        color = Responder(pattern=r"Colour\? ", response="green\n")
        out["watchers"] = c.run(
            'printf "Name? "; read n; printf "Colour? "; read k; echo "hello $n in $k"',
            watchers=[name, color],
            in_stream=False,
            hide=True,
        ).stdout
    return out


def pty(p: _harness.Params) -> dict[str, Any]:
    """run(pty=True) without sudo: a terminal, its size and type, exit codes."""
    out: dict[str, Any] = {}
    with _connection(p) as c:
        out["tty"] = _summary(c.run("tty; echo TERM=$TERM; stty size", pty=True, hide=True))
        out["exit"] = _summary(c.run("echo before; exit 5", pty=True, warn=True, hide=True))
        out["stdin_is_tty"] = c.run("test -t 0 && echo yes", pty=True, hide=True).stdout
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _connect(port: int) -> socket.socket:
    """Connect to a port that fabric's tunnel thread may not be listening on just yet."""
    deadline = time.monotonic() + 10
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=20)
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)  # bounded poll: forward_local() binds in a thread of its own


def _echo(port: int, payload: bytes) -> bytes:
    # no half-close: fabric's Tunnel ends the whole tunnel when one side stops sending
    with _connect(port) as sock:
        sock.sendall(payload)
        got = bytearray()
        while len(got) < len(payload) and (chunk := sock.recv(65536)):
            got += chunk
    return bytes(got)


def forwards(p: _harness.Params) -> dict[str, Any]:
    """forward_local and forward_remote to the test's echo server."""
    payload = os.urandom(300_000)
    out: dict[str, Any] = {}
    with _connection(p) as c:
        local_port = _free_port()
        with c.forward_local(
            local_port, remote_port=p["echo_port"], remote_host="127.0.0.1", local_host="127.0.0.1"
        ):
            out["local"] = [_echo(local_port, payload) == payload for _ in range(3)]
        remote_port = _free_port()
        with c.forward_remote(
            remote_port, local_port=p["echo_port"], remote_host="127.0.0.1", local_host="127.0.0.1"
        ):
            out["remote"] = [_echo(remote_port, payload) == payload for _ in range(3)]
        out["still_works"] = c.run("echo yes", hide=True).stdout
    out["threads"] = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
    return out


def agent_forwarding(p: _harness.Params) -> dict[str, Any]:
    """forward_agent=True: the remote ssh-add lists the local agent's keys."""
    with _connection(p, forward_agent=True) as c:
        listed = c.run("ssh-add -l", hide=True).stdout
        second = c.run("ssh-add -L", hide=True).stdout
    return {"listed": listed, "public": second}


def gateway(p: _harness.Params) -> dict[str, Any]:
    """A Connection through another Connection (ProxyJump over a direct-tcpip channel)."""
    with _connection(p) as jump, _connection(p, gateway=jump) as c:
        hop = c.run("echo $SSH_CONNECTION", hide=True).stdout
        hi = c.run("echo through the gateway", hide=True).stdout
    return {"hop": hop, "hi": hi}


def ssh_config_alias(p: _harness.Params) -> dict[str, Any]:
    """Host, port, user and key from ``~/.ssh/config``."""
    with _connection(p, host=p["alias"]) as c:
        result = c.run("whoami", hide=True).stdout
        seen = {"host": c.host, "port": c.port, "user": c.user, "original": c.original_host}
        keys = c.connect_kwargs.get("key_filename")
    return {"whoami": result, "keys": keys, **seen}


def command_timeout(p: _harness.Params) -> dict[str, Any]:
    """run(timeout=) stops a command that runs too long with CommandTimedOut."""
    from invoke.exceptions import CommandTimedOut

    with _connection(p) as c:
        started = time.monotonic()
        try:
            c.run("sleep 30", timeout=1, hide=True)
        except CommandTimedOut as exc:
            error = f"{type(exc).__name__}: timeout={exc.timeout}"
        else:
            error = ""
        elapsed = time.monotonic() - started
        after = c.run("echo still usable", hide=True).stdout
    return {"error": error, "elapsed": elapsed, "after": after}


def transfer(p: _harness.Params) -> dict[str, Any]:
    """Connection.put/get (SFTP): files by path and file objects, sha256 both ways."""
    import hashlib
    from pathlib import Path

    work = Path(p["workdir"])
    local = work / "local.bin"
    payload = os.urandom(3 * 1024 * 1024 + 17)
    local.write_bytes(payload)
    remote_dir = work / "remote"
    remote_dir.mkdir()
    out: dict[str, Any] = {"sha": hashlib.sha256(payload).hexdigest()}
    with _connection(p) as c:
        put = c.put(str(local), remote=str(remote_dir / "up.bin"))
        out["put_remote"] = put.remote
        out["uploaded"] = hashlib.sha256((remote_dir / "up.bin").read_bytes()).hexdigest()
        got = c.get(str(remote_dir / "up.bin"), local=str(work / "down.bin"))
        out["get_local"] = got.local
        out["downloaded"] = hashlib.sha256((work / "down.bin").read_bytes()).hexdigest()
        buffer = io.BytesIO()
        c.get(str(remote_dir / "up.bin"), local=buffer)
        out["get_fileobj"] = hashlib.sha256(buffer.getvalue()).hexdigest()
        c.put(io.BytesIO(b"from a file object\n"), remote=str(remote_dir / "obj.txt"))
        out["put_fileobj"] = (remote_dir / "obj.txt").read_text()
        c.put(str(local), remote=str(remote_dir / "mode.bin"), preserve_mode=True)
        out["mode_kept"] = (remote_dir / "mode.bin").stat().st_mode == local.stat().st_mode
        try:
            c.get(str(remote_dir / "missing.bin"), local=str(work / "never"))
        except FileNotFoundError as exc:
            out["missing"] = f"FileNotFoundError errno={exc.errno}"
    return out


if __name__ == "__main__":
    _harness.main(
        {
            "run": run,
            "stdin": stdin,
            "pty": pty,
            "forwards": forwards,
            "agent_forwarding": agent_forwarding,
            "gateway": gateway,
            "ssh_config_alias": ssh_config_alias,
            "command_timeout": command_timeout,
            "transfer": transfer,
        }
    )

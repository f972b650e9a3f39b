"""``python -m sshwire``: ``demo``, ``serve`` and ``version``.

``demo``
    Start the embedded SSH server on 127.0.0.1, connect an :class:`~sshwire.client.SSHClient`
    to it and run a few commands, showing what happens. Needs nothing but sshwire (and a
    POSIX ``/bin/sh`` for the commands).
``serve``
    Run the embedded server until Ctrl-C: ``--password USER:PASS``, ``--authorized-keys FILE``
    and/or ``--trusted-user-ca-keys FILE`` (at least one is required), ``--host``, ``--port``,
    ``--host-key FILE``, ``--sftp-root DIR`` (serve SFTP from DIR, shown to clients as
    ``/``). It prints the host key fingerprint and an ``ssh`` command line.
``version``
    Print sshwire's version.
"""

from __future__ import annotations

import argparse
import select
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .client import SSHClient

_STREAMED = 'i=1; while [ $i -le 5 ]; do echo "tick $i"; i=$((i+1)); sleep 0.2; done'


def _say(text: str = "") -> None:
    print(text, flush=True)


def _show(label: str, data: bytes) -> None:
    text = data.decode("utf-8", "replace").rstrip("\n")
    lines = text.splitlines() or [""]
    _say(f"     {label:<7} {lines[0]}")
    for line in lines[1:]:
        _say(f"     {'':<7} {line}")


def _run(client: SSHClient, command: str, stdin: bytes | None = None, **kw: Any) -> None:
    _say(f"   $ {command}")
    i, o, e = client.exec_command(command, **kw)
    if stdin is not None:
        _show("stdin", stdin)
        i.write(stdin)
        i.close()  # EOF: the command sees the end of its input
    out, err = o.read(), e.read()
    chan = o.channel
    status = chan.recv_exit_status()
    if out:
        _show("stdout", out)
    if err:
        _show("stderr", err)
    if chan.exit_signal is not None:
        _say(f"     -> killed by signal {chan.exit_signal}")
    else:
        _say(f"     -> exit status {status}")
    _say()


def _stream(client: SSHClient) -> None:
    """Read a slow command's output as it comes, with select() on Channel.fileno()."""
    transport = client.get_transport()
    assert transport is not None
    chan = transport.open_session()
    _say(f"   $ {_STREAMED}")
    chan.exec_command(_STREAMED)
    start = time.monotonic()
    pending = b""
    for _ in range(10_000):  # bounded; ends at the command's EOF
        readable, _, _ = select.select([chan], [], [], 10)
        if not readable:
            _say("     (no output for 10 s: giving up)")
            break
        data = chan.recv(4096)
        if not data:
            break
        pending += data
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            _say(f"     {time.monotonic() - start:5.2f}s  {line.decode()}")
    _say(f"     -> exit status {chan.recv_exit_status()}")
    chan.close()
    _say()


def _demo() -> int:
    from . import __version__
    from .testing import SSHServer

    started = time.monotonic()
    _say(f"sshwire {__version__} demo: a pure-Python SSH server and client talking over loopback")
    _say()
    with tempfile.TemporaryDirectory(prefix="sshwire-demo-") as home:
        server = SSHServer(cwd=home)
        user = server.add_user("demo")
        with server:
            _say(f"1. Started the embedded SSH server on {server.host}:{server.port}")
            _say(f"   host key {server.host_key.get_name()} {server.host_key_fingerprint}")
            _say()
            with server.connect_client() as client:
                transport = client.get_transport()
                assert transport is not None
                _say(f'2. Connected an SSHClient as "{user.username}" with its ed25519 key')
                core = getattr(transport, "_core", None)
                n = getattr(core, "negotiated", None)
                if n is not None:
                    _say(f"   key exchange  {n.kex}")
                    _say(f"   host key      {n.host_key}")
                    mac = n.mac_cs or "(built into the cipher)"
                    _say(f"   cipher        {n.cipher_cs}   mac {mac}")
                _say()
                _say("3. Commands run with SSHClient.exec_command()")
                _say()
                _run(client, 'echo "hello from $(uname -s)"; exit 0')
                _run(client, "echo to stderr >&2; exit 3")
                _run(client, "tr a-z A-Z", stdin=b"stdin goes through, EOF ends it\n")
                _run(client, 'echo "GREETING is $GREETING"', environment={"GREETING": "hi!"})
                _run(client, "kill -TERM $$")
                _say("4. A slow command, read as it runs with select() on Channel.fileno()")
                _say()
                _stream(client)
    _say(f"Done in {time.monotonic() - started:.1f} s: server stopped, connection closed.")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from .pkey import PKey
    from .testing import SSHServer

    passwords: dict[str, str] = {}
    for item in args.password:
        user, sep, password = item.partition(":")
        if not sep or not user:
            print(f"--password wants USER:PASS, not {item!r}", file=sys.stderr)
            return 2
        passwords[user] = password
    if not passwords and not args.authorized_keys and not args.trusted_user_ca_keys:
        print(
            "refusing to start: no authentication method. Give --password USER:PASS, "
            "--authorized-keys FILE and/or --trusted-user-ca-keys FILE.",
            file=sys.stderr,
        )
        return 2
    try:
        host_keys = [PKey.from_path(path) for path in args.host_key] or None
        server = SSHServer(
            host=args.host,
            port=args.port,
            passwords=passwords,
            authorized_keys=args.authorized_keys,
            trusted_user_ca_keys=args.trusted_user_ca_keys,
            host_keys=host_keys,
            sftp_root=args.sftp_root,
        )
        server.start()
    except (OSError, ValueError) as exc:
        print(f"cannot start the server: {exc}", file=sys.stderr)
        return 1
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        _say(f"sshwire SSH server listening on {server.host}:{server.port}")
        if server.host not in ("127.0.0.1", "::1", "localhost"):
            _say("WARNING: not a loopback address: anyone who can log in runs commands as you")
        for key in server.host_keys:
            _say(f"host key {key.get_name()} {key.fingerprint}")
        user = next(iter(passwords), None)
        _say("connect with:")
        _say(f"  {server.ssh_command_line(user)}")
        if args.sftp_root is not None:
            target = f"{user}@{server.connect_host}" if user else server.connect_host
            _say(f"  sftp -P {server.port} {target}    (serving {args.sftp_root})")
        _say("Ctrl-C stops it.")
        while not stop.wait(3600):  # interruptible by Ctrl-C (KeyboardInterrupt)
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.close()
    _say("stopped")
    return 0


def _parse_target(target: str, port: int | None) -> tuple[str | None, str, int]:
    """``[user@]host[:port]`` (``[v6addr]:port`` for IPv6) -> (user, host, port)."""
    user, _, hostport = target.rpartition("@")
    host, found_port = hostport, None
    if hostport.startswith("["):
        end = hostport.find("]")
        host = hostport[1:end]
        if hostport[end + 1 : end + 2] == ":":
            found_port = int(hostport[end + 2 :])
    elif hostport.count(":") == 1:
        host, port_text = hostport.split(":")
        found_port = int(port_text)
    return (user or None), host, port or found_port or 22


def _exec(args: argparse.Namespace) -> int:
    """Run one command remotely, as ``ssh host command`` does (BatchMode: never prompts)."""
    from .client import AutoAddPolicy, RejectPolicy, SSHClient
    from .ssh_exception import SSHException

    user, host, port = _parse_target(args.target, args.port)
    client = SSHClient()
    client.load_system_host_keys()
    client.set_missing_host_key_policy(AutoAddPolicy() if args.accept_new else RejectPolicy())
    try:
        client.connect(
            host,
            port,
            username=user,
            key_filename=args.identity or None,
            timeout=args.timeout,
        )
        transport = client.get_transport()
        assert transport is not None
        chan = transport.open_session()
        chan.exec_command(" ".join(args.remote_command))
        chan.shutdown_write()  # no stdin: like ssh -n
        out, err = sys.stdout.buffer, sys.stderr.buffer
        for _ in range(1_000_000):  # bounded; ends at EOF on both streams
            readable, _, _ = select.select([chan], [], [], 1.0)
            if chan.recv_stderr_ready():
                err.write(chan.recv_stderr(65536))
                err.flush()
            if readable:
                data = chan.recv(65536)
                if not data:
                    break
                out.write(data)
                out.flush()
        while data := chan.recv_stderr(65536):
            err.write(data)
        err.flush()
        status = chan.recv_exit_status()
        if chan.exit_signal:
            print(f"sshwire: remote command killed by signal {chan.exit_signal}", file=sys.stderr)
            return 255
        return status if status >= 0 else 255
    except (SSHException, OSError) as exc:
        print(f"sshwire: {host}: {exc}", file=sys.stderr)
        return 255
    finally:
        client.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sshwire", description="sshwire: a pure-Python SSH2 library."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="run an SSH server and client in this process and show them")
    serve = sub.add_parser("serve", help="run the embedded SSH server until Ctrl-C")
    serve.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    serve.add_argument(
        "--authorized-keys",
        action="append",
        default=[],
        metavar="FILE",
        help="public keys allowed to log in (authorized_keys or .pub file; repeatable)",
    )
    serve.add_argument(
        "--password",
        action="append",
        default=[],
        metavar="USER:PASS",
        help="a user allowed to log in with a password (repeatable)",
    )
    serve.add_argument(
        "--host-key",
        action="append",
        default=[],
        metavar="FILE",
        help="private host key file (repeatable; default: a new ed25519 key)",
    )
    serve.add_argument(
        "--trusted-user-ca-keys",
        action="append",
        default=[],
        metavar="FILE",
        help="CA public keys whose user certificates may log in, as sshd's TrustedUserCAKeys "
        "(repeatable)",
    )
    serve.add_argument(
        "--sftp-root",
        default=None,
        metavar="DIR",
        help="serve the sftp subsystem from DIR (clients see it as / and cannot leave it)",
    )
    run = sub.add_parser("exec", help="run a command on an SSH server, like ssh HOST COMMAND")
    run.add_argument("target", metavar="[user@]host[:port]")
    run.add_argument(
        "remote_command", nargs="+", metavar="command", help="joined with spaces, as ssh does"
    )
    run.add_argument("-p", "--port", type=int, default=None, help="port (default 22)")
    run.add_argument("-i", "--identity", action="append", default=[], metavar="FILE")
    run.add_argument("--timeout", type=float, default=30.0, help="connect timeout, seconds")
    run.add_argument(
        "--accept-new",
        action="store_true",
        help="trust and remember an unknown host key (default: refuse, like BatchMode)",
    )
    sub.add_parser("version", help="print the version")
    args = parser.parse_args(argv)
    if args.command == "version":
        from . import __version__

        print(__version__)
        return 0
    if args.command == "serve":
        return _serve(args)
    if args.command == "exec":
        return _exec(args)
    return _demo()


if __name__ == "__main__":
    sys.exit(main())

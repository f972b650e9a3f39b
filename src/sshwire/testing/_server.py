"""The embedded SSH server: :class:`SSHServer`, :class:`Credentials` and key helpers."""

from __future__ import annotations

import errno
import os
import secrets
import shlex
import socket
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ..pkey import PKey
from . import _relay
from ._common import Authorizer, Settings, authorized_key_blobs, iter_strings, logger
from ._connection import Connection
from ._session import KILL_GRACE

if TYPE_CHECKING:
    from ..client import SSHClient
    from ..transport import Transport

__all__ = ["Credentials", "SSHServer", "enable_all_algorithms", "generate_key"]

KeySource = PKey | str | os.PathLike[str]

_KEY_TYPES = {
    "ed25519": "ssh-ed25519",
    "ssh-ed25519": "ssh-ed25519",
    "ecdsa": "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp256": "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384": "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521": "ecdsa-sha2-nistp521",
    "rsa": "ssh-rsa",
    "ssh-rsa": "ssh-rsa",
}


def generate_key(key_type: str = "ed25519", bits: int | None = None) -> PKey:
    """A new private key: ``"ed25519"`` (the default), ``"ecdsa"`` or ``"rsa"``.

    The wire names (``"ssh-ed25519"``, ``"ecdsa-sha2-nistp384"``, ``"ssh-rsa"``, ...) work
    too. ``bits`` is the RSA modulus size (default 2048, quick to make) or the ECDSA curve
    size (256, 384 or 521).
    """
    try:
        wire_name = _KEY_TYPES[key_type]
    except KeyError:
        raise ValueError(
            f"unknown key type {key_type!r}: use one of {sorted(_KEY_TYPES)}"
        ) from None
    if wire_name == "ssh-ed25519":
        from cryptography.hazmat.primitives.asymmetric import ed25519

        from ..ed25519key import Ed25519Key

        return Ed25519Key._from_private(ed25519.Ed25519PrivateKey.generate())
    if wire_name == "ssh-rsa":
        from ..rsakey import RSAKey

        return RSAKey.generate(bits or 2048)
    from ..ecdsakey import ECDSAKey

    return ECDSAKey.generate(bits=bits or int(wire_name[-3:]))


def public_key_line(key: PKey, comment: str = "") -> str:
    """``"<type> <base64>[ comment]"``: the key as an ``authorized_keys``/``.pub`` line."""
    line = f"{key.get_name()} {key.get_base64()}"
    return f"{line} {comment}" if comment else line


def enable_all_algorithms(transport: Transport) -> None:
    """Offer every algorithm sshwire implements, legacy ones included (for interop tests).

    Pass it as ``SSHServer(configure_transport=enable_all_algorithms)``.
    """
    from .._proto.algorithms.cipher import CIPHERS
    from .._proto.algorithms.hostkey import HOSTKEY_ALGORITHMS
    from .._proto.algorithms.mac import MACS
    from .._proto.kex.negotiate import KEX_ALGORITHMS

    options = transport.get_security_options()
    options.kex = tuple(KEX_ALGORITHMS)
    options.ciphers = tuple(CIPHERS)
    options.digests = tuple(MACS)
    options.key_types = tuple(HOSTKEY_ALGORITHMS)


@dataclass(frozen=True)
class Credentials:
    """A user made by :meth:`SSHServer.add_user`: log in with the key or the password."""

    username: str
    password: str
    key: PKey
    #: the private key in OpenSSH format (mode 0600), if a directory was given
    key_path: Path | None = None

    @property
    def public_key_line(self) -> str:
        return public_key_line(self.key, self.username)


class SSHServer:
    """A real SSH server on 127.0.0.1, for tests and demos.

    It runs each ``exec`` command as ``SHELL -c COMMAND`` in a subprocess (as the user that
    runs the server, whatever name the client logs in with), with a pty when the client
    asks for one; it also serves interactive shells, environment variables, local and
    remote port forwarding, and subsystems. Connections are accepted by a background
    thread, one transport each; a client that misbehaves or vanishes affects no other.

    ::

        with SSHServer(passwords={"alice": "secret"}) as server:
            client = server.connect_client("alice", password="secret")
            stdin, stdout, stderr = client.exec_command("echo hello")

    :param host: the address to listen on. Loopback by default; anything else exposes
        command execution to the network.
    :param port: the port, or 0 (the default) for a free one (see :attr:`port`).
    :param authorized_keys: public keys that may log in as any user: :class:`~sshwire.pkey.PKey`
        objects, ``authorized_keys``-style lines, or paths of ``.pub``/``authorized_keys``
        files.
    :param passwords: ``{username: password}`` for password and keyboard-interactive auth.
    :param host_keys: host keys to use (keys or private key file paths); by default new
        ones are generated, one per entry of ``host_key_types``.
    :param host_key_types: the types to generate when ``host_keys`` is not given:
        ``"ed25519"``, ``"ecdsa"`` (or ``"ecdsa-sha2-nistp384"``, ...), ``"rsa"``.
    :param shell: the shell that runs commands (``shell -c command``) and shells.
    :param cwd: the working directory of commands (default: the home directory).
    :param environment: variables added to every command's environment (which otherwise
        holds only what sshd would set: PATH, HOME, USER, LOGNAME, SHELL, SSH_CLIENT,
        SSH_CONNECTION, and TERM and SSH_TTY with a pty).
    :param accept_env: ``fnmatch`` patterns of the variables a client may set with ``env``
        requests (default: all, as this is a test server).
    :param trusted_user_ca_keys: certificate authorities (keys, public key lines or files,
        like sshd's ``TrustedUserCAKeys``) whose OpenSSH user certificates may log in: the
        certificate must be a valid user certificate signed by one of them, be within its
        validity interval, and list the login name among its principals (or list none).
        Certificates with critical options are refused (none is implemented).
    :param allow_agent_forwarding: accept ``auth-agent-req@openssh.com`` (``ssh -A``): the
        session's commands then find the client's agent at ``SSH_AUTH_SOCK``, a unix socket
        in a private directory that is removed when the session ends.
    :param allow_tcp_forwarding: serve ``direct-tcpip`` (``ssh -L``) and ``tcpip-forward``
        (``ssh -R``). Remote forwards always listen on loopback (sshd's ``GatewayPorts no``).
    :param forward_any_destination: let ``ssh -L`` reach non-loopback destinations.
    :param subsystems: ``{name: command line}``, e.g. ``{"sftp":
        "/usr/lib/openssh/sftp-server"}``; handler classes go through
        :meth:`set_subsystem_handler`.
    :param sftp_root: serve the ``sftp`` subsystem with sshwire's own SFTP server
        (:class:`~sshwire.sftp_server.SFTPServer` over a
        :class:`~sshwire.testing.RootedSFTPServerInterface`), showing this directory to
        clients as ``/`` and confining them to it. OpenSSH's ``sftp``, ``scp`` (its
        SFTP mode) and any SFTP client work with it. Not together with
        ``subsystems={"sftp": ...}``.
    :param banner: a message shown to clients before authentication.
    :param login_grace_time: seconds a client has to authenticate.
    :param configure_transport: called with each new server
        :class:`~sshwire.transport.Transport` before it starts (e.g. to change its
        algorithms: see :func:`enable_all_algorithms`).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        authorized_keys: Iterable[KeySource] = (),
        passwords: Mapping[str, str] | None = None,
        host_keys: Iterable[KeySource] | None = None,
        host_key_types: str | Sequence[str] = ("ed25519",),
        shell: str = "/bin/sh",
        cwd: str | os.PathLike[str] | None = None,
        environment: Mapping[str, str] | None = None,
        accept_env: str | Sequence[str] = ("*",),
        trusted_user_ca_keys: Iterable[KeySource] = (),
        allow_agent_forwarding: bool = True,
        allow_tcp_forwarding: bool = True,
        forward_any_destination: bool = False,
        subsystems: Mapping[str, str] | None = None,
        sftp_root: str | os.PathLike[str] | None = None,
        banner: str | None = None,
        login_grace_time: float = 60.0,
        configure_transport: Callable[[Transport], object] | None = None,
    ) -> None:
        self._bind = (host, port)
        authorizer = Authorizer()
        for source in authorized_keys:
            for blob in _blobs(source):
                authorizer.add_key(blob)
        for user, password in (passwords or {}).items():
            authorizer.add_password(user, password)
        for source in trusted_user_ca_keys:
            for blob in _blobs(source):
                authorizer.add_user_ca(blob)
        if host_keys is not None:
            keys = [k if isinstance(k, PKey) else PKey.from_path(k) for k in host_keys]
        else:
            keys = [generate_key(t) for t in iter_strings(host_key_types)]
        if not keys:
            raise ValueError("an SSH server needs at least one host key")
        self._host_keys = keys
        self._settings = Settings(
            shell=shell,
            cwd=os.fspath(cwd) if cwd is not None else os.path.expanduser("~"),
            environment=dict(environment or {}),
            accept_env=tuple(iter_strings(accept_env)),
            allow_tcp_forwarding=allow_tcp_forwarding,
            forward_any_destination=forward_any_destination,
            login_grace_time=login_grace_time,
            banner=banner,
            authorizer=authorizer,
            configure_transport=configure_transport,
            allow_agent_forwarding=allow_agent_forwarding,
        )
        self._settings.subsystems.update(subsystems or {})
        if sftp_root is not None:
            self._serve_sftp(sftp_root)
        self._users: list[Credentials] = []
        self._lock = threading.Lock()
        self._activity = self._settings.activity  # guards _connections too
        self._connections: set[Connection] = set()
        self._listener: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._closed = False

    def __repr__(self) -> str:
        state = "closed" if self._closed else "running" if self._listener else "not started"
        return f"<sshwire.testing.SSHServer {self.host}:{self.port} ({state})>"

    # ------------------------------------------------------------------ configuration

    def add_user(
        self,
        username: str = "sshwire",
        *,
        password: str | None = None,
        key: PKey | None = None,
        directory: str | os.PathLike[str] | None = None,
    ) -> Credentials:
        """Create a user who may log in with a key (generated: ed25519) and a password.

        ``password`` defaults to a random one. With ``directory``, the private key is
        written there as ``id_<type>`` (OpenSSH format, mode 0600) with its ``.pub``, for
        clients that want a key file (``ssh -i``, ``key_filename=``). The first user added
        is :attr:`default_user`. Works before and after :meth:`start`.
        """
        key = key or generate_key()
        password = secrets.token_urlsafe(12) if password is None else password
        key_path = None
        if directory is not None:
            stem = key.get_name().removeprefix("ssh-").split("-")[0]
            key_path = Path(directory) / f"id_{stem}"
            key.write_private_key_file(os.fspath(key_path))
            key_path.with_name(key_path.name + ".pub").write_text(
                public_key_line(key, username) + "\n"
            )
        authorizer = self._settings.authorizer
        authorizer.add_key(key.asbytes(), username)
        authorizer.add_password(username, password)
        user = Credentials(username, password, key, key_path)
        with self._lock:
            self._users.append(user)
        return user

    def add_authorized_key(self, key: KeySource, username: str | None = None) -> None:
        """Let ``key`` (a key, a public key line or a file) log in, as ``username`` or anyone."""
        for blob in _blobs(key):
            self._settings.authorizer.add_key(blob, username)

    def add_password(self, username: str, password: str) -> None:
        """Let ``username`` log in with ``password``."""
        self._settings.authorizer.add_password(username, password)

    def add_trusted_user_ca(self, key: KeySource) -> None:
        """Trust ``key`` (a key, a public key line or a file) to certify user keys.

        See ``trusted_user_ca_keys``; affects logins from now on.
        """
        for blob in _blobs(key):
            self._settings.authorizer.add_user_ca(blob)

    def set_subsystem_handler(self, name: str, handler: type, *args: Any, **kwargs: Any) -> None:
        """Serve subsystem ``name`` with a :class:`~sshwire.server.SubsystemHandler` subclass.

        Each request creates ``handler(channel, name, server_interface, *args, **kwargs)``
        and starts it, as ``Transport.set_subsystem_handler`` does. Affects new connections.
        """
        self._settings.subsystems[name] = (handler, args, dict(kwargs))

    def _serve_sftp(self, root: str | os.PathLike[str]) -> None:
        from ..sftp_server import SFTPServer
        from ._sftp import RootedSFTPServerInterface

        if "sftp" in self._settings.subsystems:
            raise ValueError("give sftp_root or subsystems={'sftp': ...}, not both")
        path = os.path.abspath(os.fspath(root))
        if not os.path.isdir(path):
            raise ValueError(f"sftp_root is not a directory: {path!r}")
        self.set_subsystem_handler("sftp", SFTPServer, RootedSFTPServerInterface, path)

    @property
    def users(self) -> list[Credentials]:
        """The users made by :meth:`add_user`, in order."""
        with self._lock:
            return list(self._users)

    @property
    def default_user(self) -> Credentials | None:
        """The first user made by :meth:`add_user` (what :meth:`connect_client` logs in as)."""
        with self._lock:
            return self._users[0] if self._users else None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> SSHServer:
        """Listen and serve in a background thread; returns the server.

        Raises ``ValueError`` when no authentication method is configured (no authorized
        key, no password, no user): an SSH server that lets everyone in is not offered.
        """
        if self._closed:
            raise RuntimeError("this SSHServer was closed; make a new one")
        if self._listener is not None:
            return self
        if not self._settings.authorizer.methods():
            raise ValueError(
                "refusing to start an SSH server with no authentication method: "
                "give authorized_keys or passwords, or call add_user()"
            )
        host, port = self._bind
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listener = socket.create_server((host, port), family=family, backlog=128)
        listener.setblocking(False)
        self._listener = listener
        self._accept_thread = self._settings.threads.spawn(
            f"sshwire.testing accept :{self.port}", self._accept_loop
        )
        logger.info("embedded SSH server listening on %s:%d", self.host, self.port)
        return self

    def __enter__(self) -> SSHServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self, timeout: float = 10.0) -> None:
        """Stop listening, disconnect every client, end every process and join every thread.

        Processes still running get SIGHUP, then SIGKILL. Safe to call more than once.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
        settings = self._settings
        settings.stop.set()
        if self._accept_thread is not None:
            self._accept_thread.join(timeout)
        if self._listener is not None:
            self._listener.close()
        with self._activity:
            connections = list(self._connections)
        for conn in connections:
            conn.close()
        stuck = settings.threads.join_all(timeout + KILL_GRACE)
        if stuck:
            names = ", ".join(sorted(t.name for t in stuck))
            logger.warning("SSHServer.close(): threads still running: %s", names)
        else:
            settings.stop.close()

    def _accept_loop(self) -> None:
        listener = self._listener
        assert listener is not None
        stop = self._settings.stop.fileno()
        fd = listener.fileno()
        while True:
            ready = _relay.wait_fds((fd, stop))
            if stop in ready:
                return
            try:
                sock, _ = listener.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                continue
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    logger.warning("accept() failed: %s; pausing", exc)
                    _relay.wait_fds((stop,), timeout=0.1)  # let connections finish first
                    continue
                logger.error("accept() failed: %s; no longer listening", exc)
                return
            self._serve(sock)

    def _serve(self, sock: socket.socket) -> None:
        sock.setblocking(True)
        try:
            conn = Connection(self._settings, sock, self._host_keys, self._connection_done)
        except OSError:  # the client is already gone
            sock.close()
            return
        with self._activity:
            if self._closed:
                conn.close()
                return
            self._connections.add(conn)
        self._settings.threads.spawn(f"sshwire.testing connection {conn.peer}", conn.run)

    def _connection_done(self, conn: Connection) -> None:
        with self._activity:
            self._connections.discard(conn)
            self._activity.notify_all()

    # ------------------------------------------------------------------ state

    @property
    def host(self) -> str:
        """The address the server listens on."""
        if self._listener is None:
            return self._bind[0]
        return str(self._listener.getsockname()[0])

    @property
    def port(self) -> int:
        """The port the server listens on (known once started)."""
        if self._listener is None:
            return self._bind[1]
        return int(self._listener.getsockname()[1])

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    @property
    def connect_host(self) -> str:
        """Where a local client connects: :attr:`host`, or loopback for a wildcard address."""
        host = self.host
        if host in ("0.0.0.0", ""):
            return "127.0.0.1"
        if host == "::":
            return "::1"
        return host

    @property
    def host_keys(self) -> list[PKey]:
        return list(self._host_keys)

    @property
    def host_key(self) -> PKey:
        """The first host key (the only one by default: ed25519)."""
        return self._host_keys[0]

    @property
    def host_key_fingerprint(self) -> str:
        """SHA256 fingerprint of :attr:`host_key`, as ``ssh`` shows it (``SHA256:...``)."""
        return self.host_key.fingerprint

    @property
    def connection_count(self) -> int:
        """Clients connected right now."""
        with self._activity:
            return len(self._connections)

    @property
    def session_count(self) -> int:
        """Commands and shells running right now (their processes not yet reaped)."""
        with self._activity:
            return self._settings.running_sessions

    def wait_until_idle(self, timeout: float | None = None, *, connections: bool = True) -> bool:
        """Wait until no command runs and (with ``connections``) no client is connected.

        Returns False if ``timeout`` seconds passed first. Useful after a client closes:
        the server notices, hangs up its processes and forgets the connection.
        """
        settings = self._settings

        def idle() -> bool:
            return not settings.running_sessions and not (connections and self._connections)

        with self._activity:
            return self._activity.wait_for(idle, timeout)

    # ------------------------------------------------------------------ clients

    def _host_pattern(self) -> str:
        host = self.connect_host
        return host if self.port == 22 else f"[{host}]:{self.port}"

    def known_hosts_line(self, key: PKey | None = None) -> str:
        """The ``known_hosts`` line of ``key`` (default :attr:`host_key`) for this server."""
        return f"{self._host_pattern()} {public_key_line(key or self.host_key)}"

    def write_known_hosts(self, path: str | os.PathLike[str]) -> Path:
        """Write a ``known_hosts`` file with every host key of this server; returns its path."""
        target = Path(path)
        target.write_text("".join(self.known_hosts_line(k) + "\n" for k in self._host_keys))
        return target

    def connect_client(
        self,
        username: str | None = None,
        *,
        password: str | None = None,
        pkey: PKey | None = None,
        key_filename: str | os.PathLike[str] | None = None,
        **connect_kwargs: Any,
    ) -> SSHClient:
        """A connected, authenticated :class:`~sshwire.client.SSHClient`; close it when done.

        The client knows this server's host keys (and rejects any other). Without
        credentials it logs in as :attr:`default_user` with that user's key. Other keyword
        arguments go to :meth:`SSHClient.connect() <sshwire.client.SSHClient.connect>`.
        """
        from ..client import RejectPolicy, SSHClient

        if username is None and password is None and pkey is None and key_filename is None:
            user = self.default_user
            if user is None:
                raise ValueError("no credentials given and no user made with add_user()")
            username, pkey = user.username, user.key
        client = SSHClient()
        host_keys = client.get_host_keys()
        for key in self._host_keys:
            host_keys.add(self._host_pattern(), key.get_name(), key)
        client.set_missing_host_key_policy(RejectPolicy())
        connect_kwargs.setdefault("allow_agent", False)
        connect_kwargs.setdefault("look_for_keys", False)
        connect_kwargs.setdefault("timeout", 30)
        try:
            client.connect(
                self.connect_host,
                self.port,
                username=username,
                password=password,
                pkey=pkey,
                key_filename=None if key_filename is None else os.fspath(key_filename),
                **connect_kwargs,
            )
        except BaseException:
            client.close()
            raise
        return client

    def ssh_command(
        self,
        username: str | None = None,
        *,
        identity_file: str | os.PathLike[str] | None = None,
        known_hosts_file: str | os.PathLike[str] | None = None,
        ssh: str = "ssh",
    ) -> list[str]:
        """An OpenSSH ``ssh`` command line (argv) that connects to this server.

        ``username`` defaults to :attr:`default_user`'s, ``identity_file`` to its key file.
        Host keys are checked against ``known_hosts_file`` (see :meth:`write_known_hosts`)
        when given. Append the remote command, if any.
        """
        user = self.default_user
        if username is None and user is not None:
            username = user.username
            if identity_file is None:
                identity_file = user.key_path
        argv = [ssh, "-p", str(self.port)]
        if identity_file is not None:
            argv += ["-i", os.fspath(identity_file), "-o", "IdentitiesOnly=yes"]
        if known_hosts_file is not None:
            argv += ["-o", f"UserKnownHostsFile={os.fspath(known_hosts_file)}"]
            argv += ["-o", "StrictHostKeyChecking=yes"]
        target = self.connect_host if username is None else f"{username}@{self.connect_host}"
        return [*argv, target]

    def ssh_command_line(self, *args: Any, **kwargs: Any) -> str:
        """:meth:`ssh_command`, quoted for a shell."""
        return shlex.join(self.ssh_command(*args, **kwargs))


def _blobs(source: KeySource) -> list[bytes]:
    """Key blobs from a key, public key line(s), or a ``.pub``/``authorized_keys`` file."""
    if isinstance(source, PKey):
        return [source.asbytes()]
    if isinstance(source, str) and " " in source.strip() and not os.path.exists(source):
        text = source  # key text rather than a file name
    else:
        text = Path(source).read_text()
    blobs = authorized_key_blobs(text)
    if not blobs:
        raise ValueError(f"no public key in {source!r}")
    return blobs

"""The high-level client: paramiko's ``SSHClient`` and its missing-host-key policies.

Theory of operation
-------------------
:class:`SSHClient` is a thin conductor over one :class:`~sshwire.transport.Transport`:
:meth:`SSHClient.connect` opens the TCP connection (every address the name resolves to, in
order), starts the transport, checks the server's host key against two
:class:`~sshwire.hostkeys.HostKeys` tables (the "system" one, never written, and the client's
own, which :class:`AutoAddPolicy` may extend and save), and authenticates. Authentication
follows paramiko 5.1's order exactly unless an
:class:`~sshwire.auth_strategy.AuthStrategy` is given, which then decides alone.

Lifetime: the client owns its transport (and the agent connection it may open). ``close()``
shuts them down and joins the reader thread. A client that is dropped without ``close()`` lets
them go too: a :func:`weakref.finalize` callback (which holds the transport, never the
client) marks the transport inactive and shuts its socket down, so the reader thread sees the
end of the stream and exits on its own. That callback takes no lock and does no logging, as
it may run in any thread, the reader thread included, at any allocation. The file objects
returned by :meth:`SSHClient.exec_command` and the channel returned by
:meth:`SSHClient.invoke_shell` keep their client alive, so output stays readable after the
last direct reference to the client is gone (see ``docs/compat.md``).
"""

from __future__ import annotations

import getpass
import importlib
import inspect
import logging
import os
import socket
import warnings
import weakref
from binascii import hexlify
from collections.abc import Callable, Iterator, Sequence
from errno import ECONNREFUSED, EHOSTUNREACH
from typing import TYPE_CHECKING, Any

from .agent import Agent
from .ecdsakey import ECDSAKey
from .ed25519key import Ed25519Key
from .hostkeys import HostKeys
from .pkey import PKey
from .rsakey import RSAKey
from .ssh_exception import BadHostKeyException, NoValidConnectionsError, SSHException
from .transport import Transport
from .util import ClosingContextManager, get_logger

if TYPE_CHECKING:
    from .auth_strategy import AuthResult, AuthStrategy
    from .channel import Channel, ChannelFile, ChannelStderrFile, ChannelStdinFile

__all__ = [
    "AutoAddPolicy",
    "MissingHostKeyPolicy",
    "RejectPolicy",
    "SSHClient",
    "WarningPolicy",
]

#: The port whose host keys are recorded under the bare host name in known_hosts files.
_DEFAULT_PORT = 22
#: Methods that, offered after a partially successful public key, count as a second factor.
_SECOND_FACTOR_METHODS = frozenset({"keyboard-interactive", "password"})
#: Key classes tried, in order, for each ``key_filename``.
_KEY_FILE_CLASSES: tuple[type[PKey], ...] = (RSAKey, ECDSAKey, Ed25519Key)
#: ``~/.ssh/id_<name>`` files looked for when ``look_for_keys`` is true, in this order.
_DEFAULT_IDENTITIES: tuple[tuple[type[PKey], str], ...] = (
    (RSAKey, "rsa"),
    (ECDSAKey, "ecdsa"),
    (Ed25519Key, "ed25519"),
)
_CERT_SUFFIX = "-cert.pub"

_fallback_logger = get_logger("sshwire.client")


class _Owned:
    """What a client must let go of if it is dropped without ``close()``.

    It never refers to the client itself (that would keep the client alive for ever).
    """

    __slots__ = ("agents", "transports")

    def __init__(self) -> None:
        self.transports: list[Transport] = []
        self.agents: list[Agent] = []

    def release(self) -> None:
        """Let every transport and agent go, without locks or logging (finalizer-safe)."""
        transports, self.transports = self.transports, []
        agents, self.agents = self.agents, []
        for transport in transports:
            _abandon(transport)
        for agent in agents:
            try:
                agent.close()
            except Exception:  # pragma: no cover - best effort
                pass


def _abandon(transport: Transport) -> None:
    """Make a transport's reader thread exit, from any thread, taking no lock.

    Clearing ``active`` ends the reader loop at its next wake-up (it polls); shutting the
    socket down wakes it at once. The reader thread then closes the socket itself.
    """
    transport.active = False
    sock = getattr(transport, "sock", None)
    if isinstance(sock, socket.socket):
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _fingerprint(key: PKey) -> str:
    """A key's MD5 fingerprint as paramiko's log and warning messages show it (``b'9f..'``)."""
    return repr(hexlify(key.get_fingerprint()))


def _keep_alive(obj: object, client: SSHClient) -> None:
    """Let ``obj`` hold a strong reference to ``client`` (see the module docstring)."""
    try:
        vars(obj)["_sshwire_client"] = client
    except TypeError:  # pragma: no cover - an object without a __dict__
        pass


class SSHClient(ClosingContextManager):
    """A client session with one SSH server: connect, check the host key, authenticate, and
    run commands, shells and SFTP over the resulting :class:`~sshwire.transport.Transport`.

    A new client knows no host keys and rejects unknown servers (:class:`RejectPolicy`). Use
    :meth:`load_system_host_keys` and/or :meth:`load_host_keys` to make servers known, or
    :meth:`set_missing_host_key_policy` to decide what happens with an unknown one.

    Usable as a context manager: leaving the ``with`` block calls :meth:`close`.
    """

    def __init__(self) -> None:
        self._system_host_keys = HostKeys()
        self._host_keys = HostKeys()
        self._host_keys_filename: str | None = None
        self._log_channel: str | None = None
        self._policy: MissingHostKeyPolicy = RejectPolicy()
        self._transport: Transport | None = None
        self._agent: Agent | None = None
        self._owned = _Owned()
        self._finalizer = weakref.finalize(self, self._owned.release)

    # ------------------------------------------------------------------ host keys

    def load_system_host_keys(self, filename: str | None = None) -> None:
        """Read a known-hosts file into the *system* host keys, which are never saved.

        :param filename: the file to read; by default ``~/.ssh/known_hosts``, and then a file
            that cannot be read is silently skipped.
        :raises OSError: if an explicitly named file cannot be read.
        """
        if filename is None:
            try:
                self._system_host_keys.load(os.path.expanduser("~/.ssh/known_hosts"))
            except OSError:
                pass
            return
        self._system_host_keys.load(filename)

    def load_host_keys(self, filename: str) -> None:
        """Read a known-hosts file into the client's own host keys and remember its name.

        Keys added later (by :class:`AutoAddPolicy`) are written back to this file. Entries
        already loaded are kept; a host and key type found in the file replaces the one held.

        :raises OSError: if the file cannot be read.
        """
        self._host_keys_filename = filename
        self._host_keys.load(filename)

    def save_host_keys(self, filename: str) -> None:
        """Write the client's own host keys to ``filename``, one ``host type base64`` line
        per key.

        If a file was loaded with :meth:`load_host_keys`, it is read again first, so entries
        other programs added in the meantime are not lost.

        :raises OSError: if the file cannot be written.
        """
        if self._host_keys_filename is not None:
            self.load_host_keys(self._host_keys_filename)
        with open(filename, "w") as f:
            for hostname, keys in self._host_keys.items():
                for keytype, key in keys.items():
                    f.write(f"{hostname} {keytype} {key.get_base64()}\n")

    def get_host_keys(self) -> HostKeys:
        """The client's own host keys (not the system ones), as a live, editable object."""
        return self._host_keys

    def set_log_channel(self, name: str) -> None:
        """Log transports created by later :meth:`connect` calls under logger ``name``."""
        self._log_channel = name

    def set_missing_host_key_policy(
        self, policy: MissingHostKeyPolicy | type[MissingHostKeyPolicy]
    ) -> None:
        """Choose what :meth:`connect` does with a server whose host key is unknown.

        :param policy: a :class:`MissingHostKeyPolicy` instance, or a policy class, which is
            then instantiated without arguments.
        """
        if inspect.isclass(policy):
            policy = policy()
        self._policy = policy

    # ------------------------------------------------------------------ connecting

    def _families_and_addresses(self, hostname: str, port: int) -> Iterator[tuple[int, Any]]:
        """Yield ``(address family, socket address)`` for each stream address of a host."""
        infos = socket.getaddrinfo(hostname, port, socket.AF_UNSPEC, socket.SOCK_STREAM)
        streams = [(info[0], info[4]) for info in infos if info[1] == socket.SOCK_STREAM]
        # a resolver that leaves the socket type unset: take every answer as it comes
        yield from streams or [(info[0], info[4]) for info in infos]

    def _open_socket(self, hostname: str, port: int, timeout: float | None) -> socket.socket:
        """Connect to the first address of ``hostname`` that accepts, trying each in turn."""
        errors: dict[Any, BaseException] = {}
        candidates = list(self._families_and_addresses(hostname, port))
        for family, address in candidates:
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                if timeout is not None:
                    sock.settimeout(timeout)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.connect(address)
            except OSError as exc:
                sock.close()
                # only "nobody there" moves on to the next address; anything else (a timeout,
                # a resolver error, no route to the network) is raised as it is
                if exc.errno not in (ECONNREFUSED, EHOSTUNREACH):
                    raise
                errors[address] = exc
                continue
            return sock
        raise NoValidConnectionsError(errors)

    def connect(
        self,
        hostname: str,
        port: int = 22,
        username: str | None = None,
        password: str | None = None,
        pkey: PKey | None = None,
        key_filename: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
        timeout: float | None = None,
        allow_agent: bool = True,
        look_for_keys: bool = True,
        compress: bool = False,
        sock: Any = None,
        banner_timeout: float | None = None,
        auth_timeout: float | None = None,
        channel_timeout: float | None = None,
        passphrase: str | None = None,
        disabled_algorithms: dict[str, Any] | None = None,
        transport_factory: Callable[..., Transport] | None = None,
        auth_strategy: AuthStrategy | None = None,
    ) -> AuthResult | None:
        """Connect to ``hostname:port``, check its host key and authenticate.

        The server's host key is looked up under ``hostname`` (port 22) or
        ``"[hostname]:port"`` in the system host keys, then in the client's own. A known key
        that differs raises :class:`~sshwire.ssh_exception.BadHostKeyException`; an unknown
        host goes to the missing-host-key policy, which may raise.

        Without ``auth_strategy``, authentication tries, in this order, stopping at the first
        success: ``pkey``; each ``key_filename`` (a ``<name>-cert.pub`` next to it, or named
        instead of it, is loaded as its certificate); the keys of the SSH agent
        (``allow_agent``); ``~/.ssh/id_rsa``, ``id_ecdsa``, ``id_ed25519`` and their
        certificates (``look_for_keys``); and finally ``password``. If a key is accepted
        only as the first of two factors, the other key sources are skipped and the second
        factor is ``password`` when given, else an interactive prompt on the terminal.

        :param hostname: the server's host name or address.
        :param port: the server's port.
        :param username: the user to log in as; by default the local user name.
        :param password: password for password authentication (which falls back to
            keyboard-interactive when the server only offers that); also the passphrase of
            encrypted key files when ``passphrase`` is not given.
        :param pkey: a private key (:class:`~sshwire.pkey.PKey`) to try first.
        :param key_filename: a private key file name, or a list of them.
        :param timeout: seconds allowed for the TCP connect and for the key exchange.
        :param allow_agent: whether to try the keys of the agent at ``$SSH_AUTH_SOCK``.
        :param look_for_keys: whether to try the default key files in ``~/.ssh/``.
        :param compress: whether to ask for compression.
        :param sock: an already connected socket (or socket-like object, such as a channel
            of another transport) to use instead of connecting.
        :param banner_timeout: seconds to wait for the server's version banner.
        :param auth_timeout: seconds to wait for each authentication answer.
        :param channel_timeout: seconds to wait for a channel to open.
        :param passphrase: passphrase of encrypted key files.
        :param disabled_algorithms: passed to the transport: algorithm names to leave out,
            by kind (e.g. ``{"ciphers": ["aes128-ctr"]}``).
        :param transport_factory: called instead of :class:`~sshwire.transport.Transport` as
            ``transport_factory(sock, disabled_algorithms=...)``.
        :param auth_strategy: an :class:`~sshwire.auth_strategy.AuthStrategy` that replaces
            the whole authentication order above (``username``, ``password``, ``pkey``,
            ``key_filename``, ``allow_agent``, ``look_for_keys`` and ``passphrase`` are then
            ignored).
        :returns: the strategy's :class:`~sshwire.auth_strategy.AuthResult` when
            ``auth_strategy`` is given, else ``None``.
        :raises BadHostKeyException: if the server's host key differs from the known one.
        :raises AuthenticationException: if authentication failed.
        :raises NoValidConnectionsError: if every address of ``hostname`` refused the
            connection (a :class:`socket.error`).
        :raises SSHException: on any other SSH-level failure, including an unknown host
            rejected by the policy.
        :raises OSError: on other socket errors (a timeout, an unresolvable name, ...).
        """
        if not sock:
            sock = self._open_socket(hostname, port, timeout)
        factory: Callable[..., Transport] = transport_factory or Transport
        t = self._transport = factory(sock, disabled_algorithms=disabled_algorithms)
        self._owned.transports.append(t)
        t.use_compression(compress=compress)
        if self._log_channel is not None:
            t.set_log_channel(self._log_channel)
        if banner_timeout is not None:
            t.banner_timeout = banner_timeout
        if auth_timeout is not None:
            t.auth_timeout = auth_timeout
        if channel_timeout is not None:
            t.channel_timeout = channel_timeout

        server_hostkey_name = hostname if port == _DEFAULT_PORT else f"[{hostname}]:{port}"
        known = self._system_host_keys.get(server_hostkey_name)
        if known is None:
            known = self._host_keys.get(server_hostkey_name)
        if known is not None:
            self._prefer_known_key_type(t, next(iter(known.keys())))
        elif any(
            store.cert_authorities(server_hostkey_name)
            for store in (self._system_host_keys, self._host_keys)
        ):
            t._prefer_host_certificates = True

        t.start_client(timeout=timeout)

        server_key = t.get_remote_server_key()
        stores = (self._system_host_keys, self._host_keys)
        if any(store.is_revoked(server_key, server_hostkey_name) for store in stores):
            raise SSHException(f"the host key of {server_hostkey_name} is marked @revoked")
        if server_key.public_blob is not None and any(
            store.check_certificate(server_hostkey_name, server_key) for store in stores
        ):
            pass  # a host certificate signed by a @cert-authority trusted for this host
        elif known is None:
            self._policy.missing_host_key(self, server_hostkey_name, server_key)
        else:
            expected = known.get(server_key.get_name())
            if expected != server_key:
                if expected is None:
                    expected = next(iter(known.values()))
                raise BadHostKeyException(hostname, server_key, expected)

        if username is None:
            username = getpass.getuser()
        if auth_strategy is not None:
            return auth_strategy.authenticate(transport=t)

        if key_filename is None:
            key_filenames: list[str] = []
        elif isinstance(key_filename, str | os.PathLike):
            key_filenames = [os.fspath(key_filename)]
        else:
            key_filenames = [os.fspath(name) for name in key_filename]
        self._auth(username, password, pkey, key_filenames, allow_agent, look_for_keys, passphrase)
        return None

    @staticmethod
    def _prefer_known_key_type(transport: Transport, keytype: str) -> None:
        """Ask for the host key type we already know first, so that it can be checked."""
        options = transport.get_security_options()
        offered = list(options.key_types)
        if keytype == "ssh-rsa":
            # an RSA host key is known: ask for it with a SHA-2 signature when we can
            for algorithm in ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"):
                if algorithm in offered:
                    keytype = algorithm
                    break
        if keytype not in offered:
            return
        options.key_types = [keytype, *(a for a in offered if a != keytype)]

    # ------------------------------------------------------------------ closing

    def close(self) -> None:
        """Close the transport (every channel on it) and the agent connection, if any.

        Calling it again, or on a client that never connected, does nothing.
        """
        transport, self._transport = self._transport, None
        if transport is None:
            return
        if transport in self._owned.transports:
            self._owned.transports.remove(transport)
        transport.close()
        agent, self._agent = self._agent, None
        if agent is not None:
            if agent in self._owned.agents:
                self._owned.agents.remove(agent)
            agent.close()

    # ------------------------------------------------------------------ sessions

    def _require_transport(self) -> Transport:
        if self._transport is None:
            raise SSHException("SSHClient is not connected")
        return self._transport

    def exec_command(
        self,
        command: str | bytes,
        bufsize: int = -1,
        timeout: float | None = None,
        get_pty: bool = False,
        environment: dict[str, str] | None = None,
    ) -> tuple[ChannelStdinFile, ChannelFile, ChannelStderrFile]:
        """Run ``command`` on the server in a new session channel.

        :param command: the command line, run by the user's shell on the server.
        :param bufsize: buffering of the returned files, as for :func:`open`.
        :param timeout: seconds allowed to open the channel, and then for each read or write
            on the channel (:meth:`~sshwire.channel.Channel.settimeout`); ``None``: no limit.
        :param get_pty: whether to ask for a pseudo-terminal first (default ``vt100``, 80x24).
        :param environment: variables to set for the command. The server may ignore them
            (OpenSSH accepts only the names its ``AcceptEnv`` lists).
        :returns: ``(stdin, stdout, stderr)``: a write-only binary file (closing it sends EOF)
            and two read-only files for the output streams. The exit status is
            ``stdout.channel.recv_exit_status()``.
        :raises SSHException: if the server refuses the channel or the command.
        """
        chan = self._require_transport().open_session(timeout=timeout)
        if get_pty:
            chan.get_pty()
        chan.settimeout(timeout)
        if environment:
            chan.update_environment(environment)
        chan.exec_command(command)
        stdin = chan.makefile_stdin("wb", bufsize)
        stdout = chan.makefile("r", bufsize)
        stderr = chan.makefile_stderr("r", bufsize)
        for f in (stdin, stdout, stderr):
            _keep_alive(f, self)
        return stdin, stdout, stderr

    def invoke_shell(
        self,
        term: str = "vt100",
        width: int = 80,
        height: int = 24,
        width_pixels: int = 0,
        height_pixels: int = 0,
        environment: dict[str, str] | None = None,
    ) -> Channel:
        """Open an interactive shell on a pseudo-terminal; returns its channel.

        :param term: the terminal type (``TERM``).
        :param width: terminal width in characters.
        :param height: terminal height in characters.
        :param width_pixels: terminal width in pixels (0: unknown).
        :param height_pixels: terminal height in pixels (0: unknown).
        :param environment: variables to set for the shell (sent before the terminal
            request; paramiko 5.1 ignores this argument, see ``docs/compat.md``).
        :raises SSHException: if the server refuses the channel, the terminal or the shell.
        """
        chan = self._require_transport().open_session()
        if environment:
            chan.update_environment(environment)
        chan.get_pty(term, width, height, width_pixels, height_pixels)
        chan.invoke_shell()
        _keep_alive(chan, self)
        return chan

    def open_sftp(self) -> Any:
        """Open an SFTP session over this connection; returns an ``SFTPClient``.

        The SFTP client keeps this client alive while it is referenced.
        """
        transport = self._require_transport()
        sftp_client = importlib.import_module(".sftp_client", __package__)
        sftp = sftp_client.SFTPClient.from_transport(transport)
        if sftp is not None:
            _keep_alive(sftp, self)
        return sftp

    def get_transport(self) -> Transport | None:
        """The underlying :class:`~sshwire.transport.Transport`; ``None`` before
        :meth:`connect` and after :meth:`close`.

        The transport belongs to this client: dropping the last reference to the client
        closes it (see ``docs/compat.md``).
        """
        return self._transport

    # ------------------------------------------------------------------ authentication

    def _key_from_filepath(self, filename: str, klass: type[PKey], password: str | None) -> PKey:
        """Load the private key ``filename`` (or the key of certificate ``filename``) as a
        ``klass``, with its ``-cert.pub`` certificate attached when that file exists."""
        if filename.endswith(_CERT_SUFFIX):
            key_path, cert_path = filename[: -len(_CERT_SUFFIX)], filename
        else:
            key_path, cert_path = filename, filename + _CERT_SUFFIX
        key = klass.from_private_key_file(key_path, password)
        self._log(
            logging.DEBUG,
            f"Trying discovered key {_fingerprint(key)} in {key_path}",
        )
        if os.path.isfile(cert_path):
            key.load_certificate(cert_path)
            self._log(logging.DEBUG, f"Adding public certificate {cert_path}")
        return key

    @staticmethod
    def _default_key_files() -> list[tuple[type[PKey], str]]:
        """The existing ``~/.ssh/id_*`` (and ``~/ssh/id_*``) files and certificates."""
        found: list[tuple[type[PKey], str]] = []
        for klass, name in _DEFAULT_IDENTITIES:
            for directory in (".ssh", "ssh"):
                path = os.path.expanduser(f"~/{directory}/id_{name}")
                if os.path.isfile(path):
                    found.append((klass, path))
                    if os.path.isfile(path + _CERT_SUFFIX):
                        found.append((klass, path + _CERT_SUFFIX))
        return found

    def _auth(
        self,
        username: str,
        password: str | None,
        pkey: PKey | None,
        key_filenames: Sequence[str],
        allow_agent: bool,
        look_for_keys: bool,
        passphrase: str | None,
    ) -> None:
        """The legacy authentication order (see :meth:`connect`)."""
        transport = self._require_transport()
        last_error: BaseException | None = None
        second_factor: set[str] = set()
        if passphrase is None and password is not None:
            passphrase = password

        def done_with(key: PKey) -> bool:
            """Offer ``key``; True once no second factor is asked for (we are finished)."""
            nonlocal second_factor
            allowed = transport.auth_publickey(username, key)
            second_factor = set(allowed) & _SECOND_FACTOR_METHODS
            return not second_factor

        if pkey is not None:
            try:
                self._log(logging.DEBUG, f"Trying SSH key {_fingerprint(pkey)}")
                if done_with(pkey):
                    return
            except SSHException as exc:
                last_error = exc

        if not second_factor:
            for filename in key_filenames:
                for klass in _KEY_FILE_CLASSES:
                    try:
                        key = self._key_from_filepath(filename, klass, passphrase)
                        if done_with(key):
                            return
                        break  # first factor accepted: on to the next file
                    except SSHException as exc:
                        last_error = exc

        if not second_factor and allow_agent:
            if self._agent is None:
                self._agent = Agent()
                self._owned.agents.append(self._agent)
            for key in self._agent.get_keys():
                try:
                    self._log(
                        logging.DEBUG,
                        f"Trying SSH agent key {_fingerprint(key)}",
                    )
                    if done_with(key):
                        return
                    break
                except SSHException as exc:
                    last_error = exc

        if not second_factor and look_for_keys:
            for klass, filename in self._default_key_files():
                try:
                    key = self._key_from_filepath(filename, klass, passphrase)
                    if done_with(key):
                        return
                    break
                except (SSHException, OSError) as exc:
                    last_error = exc

        if password is not None:
            try:
                transport.auth_password(username, password)
                return
            except SSHException as exc:
                last_error = exc
        elif second_factor:
            try:
                transport.auth_interactive_dumb(username)
                return
            except SSHException as exc:
                last_error = exc

        if last_error is not None:
            raise last_error
        raise SSHException("No authentication methods available")

    def _log(self, level: int, msg: str) -> None:
        if self._transport is not None:
            self._transport._log(level, msg)
        else:
            _fallback_logger.log(level, msg)


# ---------------------------------------------------------------------- host key policies


class MissingHostKeyPolicy:
    """What :meth:`SSHClient.connect` does with a server whose host key it does not know.

    Subclass it and override :meth:`missing_host_key`; this base class accepts every key for
    this connection only, without recording it.
    """

    def missing_host_key(self, client: SSHClient, hostname: str, key: PKey) -> None:
        """Decide about an unknown host key: return to accept it, raise to refuse it (the
        exception propagates out of :meth:`SSHClient.connect`).

        :param client: the client that is connecting.
        :param hostname: the name the key would be known under: the host name, or
            ``"[host]:port"`` for a port other than 22.
        :param key: the server's host key.
        """


class AutoAddPolicy(MissingHostKeyPolicy):
    """Accept unknown host keys and add them to the client's own host keys; when a file was
    loaded with :meth:`SSHClient.load_host_keys`, save them to it right away."""

    def missing_host_key(self, client: SSHClient, hostname: str, key: PKey) -> None:
        client._host_keys.add(hostname, key.get_name(), key)
        if client._host_keys_filename is not None:
            client.save_host_keys(client._host_keys_filename)
        client._log(
            logging.DEBUG,
            f"Adding {key.get_name()} host key for {hostname}: {_fingerprint(key)}",
        )


class RejectPolicy(MissingHostKeyPolicy):
    """Refuse unknown host keys with :class:`~sshwire.ssh_exception.SSHException` (the
    default policy)."""

    def missing_host_key(self, client: SSHClient, hostname: str, key: PKey) -> None:
        client._log(
            logging.DEBUG,
            f"Rejecting {key.get_name()} host key for {hostname}: {_fingerprint(key)}",
        )
        raise SSHException(f"Server {hostname!r} not found in known_hosts")


class WarningPolicy(MissingHostKeyPolicy):
    """Accept unknown host keys for this connection, with a :class:`UserWarning` (through
    :func:`warnings.warn`); nothing is recorded."""

    def missing_host_key(self, client: SSHClient, hostname: str, key: PKey) -> None:
        warnings.warn(
            f"Unknown {key.get_name()} host key for {hostname}: {_fingerprint(key)}",
            stacklevel=1,  # as paramiko: the warning is attributed to this module
        )

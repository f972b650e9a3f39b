"""Talking to an SSH agent, and forwarding one over SSH channels.

Theory of operation
-------------------
The agent protocol (draft-miller-ssh-agent) is a plain request/response exchange over a
stream: every message is ``uint32 length || byte type || contents``. A client only needs two
requests, answered in order on one connection:

* ``SSH2_AGENTC_REQUEST_IDENTITIES`` (11) -> ``SSH2_AGENT_IDENTITIES_ANSWER`` (12): the keys the
  agent holds, as ``uint32 count`` then ``string key blob, string comment`` per key (§4.4).
* ``SSH2_AGENTC_SIGN_REQUEST`` (13) -> ``SSH2_AGENT_SIGN_RESPONSE`` (14): a signature in the
  RFC 4253 §6.6 encoding; ``flags`` picks the RSA hash (§4.5.1).

Any request may instead be answered with ``SSH_AGENT_FAILURE`` (5).

:class:`AgentSSH` owns one such connection: a Unix socket to the local agent (:class:`Agent`)
or an SSH channel to a forwarded agent (:class:`AgentServerProxy`). One lock serialises each
request with its reply; a reply is read against one deadline (:attr:`AgentSSH.timeout`) and
is at most 256 KiB long (OpenSSH's own limit). Once a reply is garbage, truncated or late,
the stream can no longer be trusted: the connection is closed and later requests fail at
once with :class:`~sshwire.ssh_exception.SSHException`.

Forwarding (RFC 4254 has no word on it; OpenSSH's ``auth-agent@openssh.com``) uses one
:class:`AgentProxyThread` per forwarded connection, a daemon thread that copies bytes both
ways between an agent connection and a local peer until either side closes. These threads
never block without a bound: they wait in ``select()`` together with a wake-up socket that
``_exit = True`` writes to, so stopping one takes effect at once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import socket
import stat
import sys
import tempfile
import threading
import time
from typing import Any, Final, Protocol

from ._proto.errors import DecodeError
from ._proto.wire import Reader, string, uint32
from .message import Message
from .pkey import PKey, UnknownKeyType
from .ssh_exception import AuthenticationException, SSHException
from .util import asbytes, get_logger

__all__ = [
    "ALGORITHM_FLAG_MAP",
    "SSH2_AGENTC_REQUEST_IDENTITIES",
    "SSH2_AGENTC_SIGN_REQUEST",
    "SSH2_AGENT_IDENTITIES_ANSWER",
    "SSH2_AGENT_SIGN_RESPONSE",
    "SSH_AGENT_EXTENSION_FAILURE",
    "SSH_AGENT_FAILURE",
    "SSH_AGENT_RSA_SHA2_256",
    "SSH_AGENT_RSA_SHA2_512",
    "Agent",
    "AgentClientProxy",
    "AgentKey",
    "AgentLocalProxy",
    "AgentProxyThread",
    "AgentRemoteProxy",
    "AgentRequestHandler",
    "AgentSSH",
    "AgentServerProxy",
    "cSSH2_AGENTC_REQUEST_IDENTITIES",
    "cSSH2_AGENTC_SIGN_REQUEST",
    "get_agent_connection",
]

# draft-miller-ssh-agent §5.1: message numbers.
SSH_AGENT_FAILURE: Final = 5
SSH2_AGENTC_REQUEST_IDENTITIES: Final = 11
SSH2_AGENT_IDENTITIES_ANSWER: Final = 12
SSH2_AGENTC_SIGN_REQUEST: Final = 13
SSH2_AGENT_SIGN_RESPONSE: Final = 14
SSH_AGENT_EXTENSION_FAILURE: Final = 28

#: The identities request as a one-byte message (paramiko's name and type).
cSSH2_AGENTC_REQUEST_IDENTITIES: Final = bytes([SSH2_AGENTC_REQUEST_IDENTITIES])
#: The sign request's message number as one byte (paramiko's name and type).
cSSH2_AGENTC_SIGN_REQUEST: Final = bytes([SSH2_AGENTC_SIGN_REQUEST])

# draft-miller-ssh-agent §5.3: signature flags. They are not combined: OpenSSH looks for
# SHA-256 first, so a request names exactly one of them (or none, for ssh-rsa / SHA-1).
SSH_AGENT_RSA_SHA2_256: Final = 2
SSH_AGENT_RSA_SHA2_512: Final = 4

_CERT: Final = "-cert-v01@openssh.com"

#: Signature algorithm name -> the sign request flag that asks the agent for it. Names not
#: listed (``ssh-rsa``, ``ssh-ed25519``, ECDSA, ...) are signed with flags 0.
ALGORITHM_FLAG_MAP: dict[str, int] = {
    name: flag
    for base, flag in (
        ("rsa-sha2-256", SSH_AGENT_RSA_SHA2_256),
        ("rsa-sha2-512", SSH_AGENT_RSA_SHA2_512),
    )
    for name in (base, base + _CERT)
}

# OpenSSH's AGENT_MAX_LEN: the agent drops connections that send more, and we refuse
# replies announcing more.
_MAX_MESSAGE: Final = 256 * 1024
_RECV_CHUNK: Final = 64 * 1024
_PROXY_CHUNK: Final = 32 * 1024
_POLL_SECONDS: Final = 0.5  # select() bound in proxy threads, a fallback to the wake-up
_JOIN_SECONDS: Final = 10.0  # how long close() waits for a proxy thread to finish
_ENV_SOCK: Final = "SSH_AUTH_SOCK"

_log = get_logger(__name__)


class _AgentTimeout(SSHException, TimeoutError):
    """The agent did not answer in time: both an SSHException and a ``socket.timeout``."""


def _send_all(conn: Any, data: bytes) -> None:
    """Write all of *data*: ``sendall`` where the object has it, else ``send`` in a loop."""
    sendall = getattr(conn, "sendall", None)
    if sendall is not None:
        sendall(data)
        return
    view = memoryview(data)
    while view:
        n = conn.send(view)
        if n <= 0:
            raise SSHException("lost ssh-agent: the connection accepts no more data")
        view = view[n:]


def _set_timeout(conn: Any, seconds: float | None) -> None:
    settimeout = getattr(conn, "settimeout", None)
    if settimeout is not None:
        settimeout(seconds)


def _close_quietly(conn: Any) -> None:
    """Shut *conn* down (waking any thread blocked reading it), then close it."""
    if conn is None:
        return
    shutdown = getattr(conn, "shutdown", None)
    if shutdown is not None:
        with contextlib.suppress(Exception):
            shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(Exception):
        conn.close()


def get_agent_connection() -> socket.socket | None:
    """A connection to the agent named by ``$SSH_AUTH_SOCK``, or ``None``.

    ``None`` when the variable is unset, when its socket cannot be reached (a stale variable
    whose agent has gone), and on Windows, where sshwire does not talk to Pageant or the
    Windows OpenSSH agent.
    """
    path = os.environ.get(_ENV_SOCK)
    if path is None or sys.platform == "win32":
        return None
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.settimeout(AgentSSH.timeout)
        conn.connect(path)
    except (OSError, ValueError) as exc:
        conn.close()
        _log.debug("cannot connect to the ssh-agent at %r: %s", path, exc)
        return None
    return conn


# --------------------------------------------------------------------------------------------
# The client side of the protocol


class AgentSSH:
    """One conversation with an SSH agent; the base of :class:`Agent` and
    :class:`AgentServerProxy`.

    It holds the connection and the keys listed when the connection was made.
    """

    #: Seconds allowed for each request and its reply (``None``: wait for ever). An agent that
    #: asks its user to confirm each use of a key (``ssh-add -c``) answers only after the user
    #: does, hence the generous default. An sshwire addition; paramiko waits without a bound.
    timeout: float | None = 60.0

    def __init__(self) -> None:
        self._conn: Any = None
        self._keys: tuple[AgentKey, ...] = ()
        self._lock = threading.Lock()
        self._deadline: float | None = None

    def get_keys(self) -> tuple[AgentKey, ...]:
        """The keys the agent offered when the connection was made, as :class:`AgentKey`
        objects; an empty tuple when there is no agent.

        No I/O happens here: the list is the one fetched on connecting.
        """
        return self._keys

    def _connect(self, conn: Any) -> None:
        """Adopt *conn* and fetch the agent's key list over it (§4.4)."""
        self._conn = conn
        ptype, result = self._send_message(cSSH2_AGENTC_REQUEST_IDENTITIES)
        if ptype != SSH2_AGENT_IDENTITIES_ANSWER:
            raise SSHException(f"could not get keys from ssh-agent{_reply_note(ptype)}")
        self._keys = tuple(
            AgentKey(agent=self, blob=blob, comment=comment)
            for blob, comment in _parse_identities(result.get_remainder())
        )

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        _close_quietly(conn)
        self._keys = ()

    def _send_message(self, msg: Any) -> tuple[int, Message]:
        """Send one request; return the reply's type and a :class:`Message` of its contents.

        Raises :class:`~sshwire.ssh_exception.SSHException` when the connection is closed or
        fails, when the reply is malformed or too long, or when none arrives within
        :attr:`timeout` (that exception is also a ``socket.timeout``).
        """
        payload = asbytes(msg)
        if len(payload) > _MAX_MESSAGE:
            raise SSHException(
                f"request too large for ssh-agent: {len(payload)} bytes (limit {_MAX_MESSAGE})"
            )
        with self._lock:
            conn = self._conn
            if conn is None:
                raise SSHException("lost ssh-agent: the connection is closed")
            timeout = self.timeout
            self._deadline = None if timeout is None else time.monotonic() + timeout
            try:
                _set_timeout(conn, timeout)
                _send_all(conn, uint32(len(payload)) + payload)
                size = int.from_bytes(self._read_all(4), "big")
                if size == 0:
                    raise SSHException("ssh-agent sent an empty reply")
                if size > _MAX_MESSAGE:
                    raise SSHException(
                        f"ssh-agent reply too large: {size} bytes (limit {_MAX_MESSAGE})"
                    )
                reply = self._read_all(size)
            except BaseException as exc:
                # The reply stream is out of step now; never read from it again.
                if self._conn is conn:
                    self._conn = None
                _close_quietly(conn)
                if isinstance(exc, SSHException):
                    raise
                if isinstance(exc, TimeoutError):
                    raise _AgentTimeout(f"lost ssh-agent: no reply within {timeout} s") from exc
                if isinstance(exc, OSError):
                    raise SSHException(f"lost ssh-agent: {exc}") from exc
                raise
            finally:
                self._deadline = None
        # As in paramiko: the whole reply, positioned after its type byte.
        result = Message(reply)
        result.get_byte()
        return reply[0], result

    def _read_all(self, wanted: int) -> bytes:
        """Read exactly *wanted* bytes, within the current request's deadline."""
        conn = self._conn
        if conn is None:
            raise SSHException("lost ssh-agent: the connection is closed")
        chunks: list[bytes] = []
        got = 0
        while got < wanted:
            if self._deadline is not None:
                left = self._deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("agent reply deadline passed")
                _set_timeout(conn, left)
            data = conn.recv(min(wanted - got, _RECV_CHUNK))
            if not data:
                raise SSHException(
                    f"lost ssh-agent: connection closed after {got} of {wanted} bytes"
                )
            chunks.append(data)
            got += len(data)
        return b"".join(chunks)


def _reply_note(ptype: int) -> str:
    if ptype in (SSH_AGENT_FAILURE, SSH_AGENT_EXTENSION_FAILURE):
        return " (the agent replied SSH_AGENT_FAILURE)"
    return f" (the agent replied with message type {ptype})"


def _parse_identities(body: bytes) -> list[tuple[bytes, str]]:
    """``uint32 nkeys`` then ``string key blob, string comment`` per key (§4.4)."""
    r = Reader(body)
    try:
        count = r.uint32()
        # Each entry takes at least 8 bytes, so a count above that cannot be honest.
        if count > r.remaining // 8:
            raise DecodeError(f"{count} keys announced in {r.remaining} bytes")
        entries = []
        for _ in range(count):
            blob = r.string()
            comment = r.string().decode("utf-8", "replace")
            entries.append((blob, comment))
    except DecodeError as exc:
        raise SSHException(f"could not get keys from ssh-agent: malformed reply: {exc}") from None
    return entries


class Agent(AgentSSH):
    """The local SSH agent: the one ``$SSH_AUTH_SOCK`` points to.

    Creating an ``Agent`` connects and fetches the list of keys (see :meth:`get_keys`). When no
    agent is reachable that is not an error: the list is simply empty. Windows agents are not
    supported (the list is empty there too).

    :raises ~sshwire.ssh_exception.SSHException: if an agent answers but not with a key list
        (the connection is closed again in that case).
    """

    def __init__(self) -> None:
        super().__init__()
        conn = get_agent_connection()
        if not conn:
            return
        try:
            self._connect(conn)
        except BaseException:
            self._close()
            _close_quietly(conn)
            raise

    def close(self) -> None:
        """Close the connection to the agent and forget its keys. Calling it again is fine."""
        self._close()


# --------------------------------------------------------------------------------------------
# Keys held by an agent


class AgentKey(PKey):
    """A key that lives in an SSH agent: the public half is here, signing happens there.

    It works wherever a :class:`~sshwire.pkey.PKey` with a private half is accepted for
    public key authentication.

    :param agent: the agent connection the key came from
    :param blob: the public key blob, as the agent listed it
    :param comment: the comment the agent listed with it

    Attributes: ``agent``, ``blob``, ``comment``, ``name`` (the key type), ``public_blob``
    (always ``None``) and ``inner_key``: a public-only key object of the matching class,
    built from ``blob`` (``None`` for key types sshwire does not know). Attributes this class
    lacks are looked up on ``inner_key``.
    """

    name: str
    inner_key: PKey | None

    def __init__(self, agent: AgentSSH, blob: bytes, comment: str = "") -> None:
        self.inner_key = None
        self.public_blob = None
        self.agent = agent
        self.blob = blob
        self.comment = comment
        self._logger = get_logger(__name__)
        try:
            self.name = Reader(blob).text()
        except DecodeError as exc:
            raise SSHException(f"ssh-agent listed a malformed key blob: {exc}") from None
        try:
            self.inner_key = PKey.from_type_string(key_type=self.name, key_bytes=blob)
        except UnknownKeyType:
            self.log(logging.DEBUG, "no key class for agent key type %r", self.name)
        except (SSHException, ValueError) as exc:
            raise SSHException(f"ssh-agent listed an invalid {self.name} key: {exc}") from None

    def log(self, *args: Any, **kwargs: Any) -> None:
        """Log through this key's logger; the arguments are those of ``Logger.log``."""
        self._logger.log(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        # Only reached for attributes this object lacks: hand them to the inner key.
        inner = self.__dict__.get("inner_key")
        if inner is None or name.startswith("__"):
            raise AttributeError(name)
        return getattr(inner, name)

    def asbytes(self) -> bytes:
        """The public key blob (for a certificate: the blob of the key it certifies)."""
        return self.inner_key.asbytes() if self.inner_key is not None else self.blob

    def get_name(self) -> str:
        """The key type, as the agent listed it (e.g. ``"ssh-ed25519"``)."""
        return self.name

    def get_bits(self) -> int:
        """The key size in bits (0 when the key type is unknown to sshwire)."""
        if self.inner_key is not None:
            return self.inner_key.get_bits()
        return super().get_bits()

    def can_sign(self) -> bool:
        """Always true: the agent signs with the private half.

        paramiko 5.1 answers ``False`` here although its agent keys do sign.
        """
        return True

    @property
    def _fields(self) -> tuple[Any, ...]:
        if self.inner_key is not None:
            return self.inner_key._fields
        return (self.get_name(), self.blob)

    def sign_ssh_data(self, data: bytes, algorithm: str | None = None) -> bytes:
        """Ask the agent to sign *data*; return the signature blob it sent back.

        The blob is in the RFC 4253 §6.6 encoding (``string algorithm, string signature``),
        as ``bytes`` like paramiko's (wrap it in a :class:`~sshwire.message.Message` to read
        it). *algorithm* chooses the RSA hash (``"rsa-sha2-256"``, ``"rsa-sha2-512"``, also
        with the certificate suffix); any other value, or ``None``, asks for the key type's
        default, which for RSA is SHA-1 ``ssh-rsa``.

        :raises ~sshwire.ssh_exception.SSHException: if the agent refuses (for instance
            because it no longer holds the key), if the connection is lost, or if the reply
            is malformed or late.
        """
        flags = ALGORITHM_FLAG_MAP.get(algorithm, 0) if algorithm is not None else 0
        request = cSSH2_AGENTC_SIGN_REQUEST + string(self.asbytes()) + string(asbytes(data))
        ptype, result = self.agent._send_message(request + uint32(flags))
        if ptype != SSH2_AGENT_SIGN_RESPONSE:
            raise SSHException(f"key cannot be used for signing{_reply_note(ptype)}")
        try:
            r = Reader(result.get_remainder())
            signature = r.string()
            inner = Reader(signature)
            sig_name = inner.text()
            inner.string()
        except DecodeError as exc:
            raise SSHException(f"ssh-agent sent a malformed signature: {exc}") from None
        if algorithm in ALGORITHM_FLAG_MAP and sig_name != algorithm.removesuffix(_CERT):
            self.log(
                logging.DEBUG, "asked ssh-agent for %s, it signed with %s", algorithm, sig_name
            )
        return signature

    def verify_ssh_sig(self, data: bytes, msg: Message) -> bool:
        """Check a signature with the public key (paramiko 5.1 always answers ``False``)."""
        if self.inner_key is None:
            return False
        return self.inner_key.verify_ssh_sig(data, msg)


# --------------------------------------------------------------------------------------------
# Agent forwarding


class _ProxyAgent(Protocol):
    """The agent side a proxy thread serves: ``connect()`` then use ``_conn``."""

    _conn: Any

    def connect(self) -> None: ...


class _Stopped(Exception):
    """A proxy thread was told to stop before it had a peer."""


class AgentProxyThread(threading.Thread):
    """A thread that copies bytes both ways between an agent and one peer.

    Subclasses supply :meth:`get_connection`, which returns the peer (a socket or a channel)
    and its address. ``run()`` then calls the agent's ``connect()`` and copies data until
    either side closes or ``_exit`` is set true. Threads are daemon threads, and failures end
    the thread with a log record rather than a traceback on stderr.

    :param agent: the object holding the agent connection: an :class:`AgentClientProxy` or
        an :class:`AgentServerProxy`
    """

    def __init__(self, agent: Any) -> None:
        super().__init__(name=f"sshwire-{type(self).__name__}", daemon=True)
        self._agent: _ProxyAgent = agent
        self._stop_flag = False
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        self._inr: Any = None
        self._addr: Any = None
        self._connected = False  # whether this thread opened the agent connection

    @property
    def _exit(self) -> bool:
        return self._stop_flag

    @_exit.setter
    def _exit(self, value: bool) -> None:
        # paramiko's API for stopping the thread is ``thread._exit = True``: wake it up too.
        self._stop_flag = value
        wake = self._wake_w
        if value and wake is not None:
            with contextlib.suppress(OSError):
                wake.send(b"\0")

    def get_connection(self) -> tuple[Any, Any]:
        """Return ``(peer, address)``: the connection to serve. Subclasses define it."""
        raise NotImplementedError

    def run(self) -> None:
        self._wake_r, self._wake_w = socket.socketpair()
        try:
            if self._exit:
                return
            self._inr, self._addr = self.get_connection()
            self._connected = True
            self._agent.connect()
            conn = self._agent._conn
            if conn is None or not hasattr(conn, "fileno"):
                raise AuthenticationException("Unable to connect to SSH agent")
            self._communicate()
        except _Stopped:
            pass
        except OSError as exc:  # one side went away: the usual end of a forwarding
            _log.debug("agent forwarding ended: %s", exc)
        except Exception as exc:
            _log.warning("agent forwarding stopped: %s: %s", type(exc).__name__, exc)
        finally:
            self._close()
            wake_r, wake_w = self._wake_r, self._wake_w
            self._wake_w = None
            _close_quietly(wake_w)
            _close_quietly(wake_r)

    def _communicate(self) -> None:
        """Copy data between the agent connection and the peer until one of them closes."""
        agent_conn = self._agent._conn
        peer = self._inr
        for end in (agent_conn, peer):
            _set_timeout(end, AgentSSH.timeout)  # bounds sendall() on a stalled reader
        routes = {id(agent_conn): peer, id(peer): agent_conn}
        waiting = [agent_conn, peer] + ([self._wake_r] if self._wake_r is not None else [])
        while not self._exit:
            readable, _, _ = select.select(waiting, [], [], _POLL_SECONDS)
            if self._wake_r in readable:
                return
            for src in readable:
                data = src.recv(_PROXY_CHUNK)
                if not data:
                    return
                _send_all(routes[id(src)], data)

    def _close(self) -> None:
        """Stop, and close both the peer and the agent connection."""
        self._stop_flag = True
        peer, self._inr = self._inr, None
        _close_quietly(peer)
        if self._connected:
            _close_quietly(getattr(self._agent, "_conn", None))

    def _stop_and_join(self, timeout: float = _JOIN_SECONDS) -> None:
        self._exit = True
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout)


class _LocalProxyAgent(_ProxyAgent, Protocol):
    def _get_filename(self) -> str: ...


class AgentLocalProxy(AgentProxyThread):
    """Serve a forwarded agent to one local program through a Unix socket.

    The socket is ``agent._get_filename()`` (an :class:`AgentServerProxy`'s). The thread
    accepts one connection, as paramiko's does, then relays it to the agent.
    """

    def __init__(self, agent: Any) -> None:
        super().__init__(agent)
        self._local_agent: _LocalProxyAgent = agent
        self._listener: socket.socket | None = None

    def _listen(self) -> socket.socket:
        """Create the listening socket (once); it exists as soon as this returns."""
        if self._listener is None:
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                listener.bind(self._local_agent._get_filename())
                listener.listen(1)
                listener.setblocking(False)  # accept() below never waits
            except BaseException:
                listener.close()
                raise
            self._listener = listener
        return self._listener

    def _unlisten(self) -> None:
        listener, self._listener = self._listener, None
        _close_quietly(listener)

    def get_connection(self) -> tuple[socket.socket, Any]:
        """Wait for a local program to connect to the socket; return ``(socket, address)``."""
        listener = self._listen()
        try:
            while not self._exit:
                waiting = [listener] + ([self._wake_r] if self._wake_r is not None else [])
                readable, _, _ = select.select(waiting, [], [], _POLL_SECONDS)
                if listener in readable:
                    try:
                        peer, address = listener.accept()
                    except (BlockingIOError, InterruptedError):
                        continue  # the caller gave up between select() and accept()
                    peer.setblocking(True)
                    return peer, address
            raise _Stopped
        finally:
            self._unlisten()

    def _close(self) -> None:
        self._unlisten()
        super()._close()


class AgentRemoteProxy(AgentProxyThread):
    """Relay an agent channel opened by the server to the local agent.

    :param agent: the :class:`AgentClientProxy` that connects to the local agent
    :param chan: the ``auth-agent@openssh.com`` channel the server opened
    """

    def __init__(self, agent: Any, chan: Any) -> None:
        super().__init__(agent)
        self._chan = chan

    def get_connection(self) -> tuple[Any, None]:
        """The channel, with no address."""
        return self._chan, None


class AgentClientProxy:
    """Client side of agent forwarding: serve one agent channel from the local agent.

    Created for each ``auth-agent@openssh.com`` channel the server opens (see
    :class:`AgentRequestHandler`); a thread (``self.thread``, an :class:`AgentRemoteProxy`)
    connects to the local agent and relays the channel to it.

    :param chanRemote: the channel the server opened
    """

    def __init__(self, chanRemote: Any) -> None:
        self._conn: Any = None
        self._chan_remote = chanRemote
        self.thread = AgentRemoteProxy(self, chanRemote)
        self.thread.start()

    def __del__(self) -> None:
        self._signal_stop()

    def _signal_stop(self) -> None:
        """Tell the thread to stop and close the agent connection, without waiting."""
        thread = getattr(self, "thread", None)
        if thread is not None:
            thread._exit = True
        _close_quietly(getattr(self, "_conn", None))

    def connect(self) -> None:
        """Connect to the local agent (``$SSH_AUTH_SOCK``); the proxy thread calls this."""
        conn = get_agent_connection()
        if not conn:
            return
        self._conn = conn

    def close(self) -> None:
        """Stop relaying: end the thread (waiting up to a few seconds) and close the agent
        connection."""
        thread = getattr(self, "thread", None)
        if thread is not None:
            thread._stop_and_join()
        conn, self._conn = self._conn, None
        _close_quietly(conn)


class AgentServerProxy(AgentSSH):
    """Server side of agent forwarding: use the client's agent, and offer it locally.

    Needs a transport whose client asked for agent forwarding. :meth:`connect` opens an
    agent channel to the client and lists its keys (:meth:`get_keys`); the keys sign through
    that channel. The agent is also offered to local programs through a Unix socket in a
    fresh private directory (see :meth:`get_env`), served by ``self.thread``, an
    :class:`AgentLocalProxy`, which relays one connection over its own agent channel.

    Call :meth:`close` when done: it stops the thread and removes the socket and directory.

    :param t: the transport to open agent channels on (``t.open_forward_agent_channel()``)
    :raises ~sshwire.ssh_exception.SSHException: from :meth:`connect` when no channel can
        be opened
    """

    def __init__(self, t: Any) -> None:
        super().__init__()
        self._transport = t
        self._dir = tempfile.mkdtemp("sshproxy")
        os.chmod(self._dir, stat.S_IRWXU)
        self._file = self._dir + "/sshproxy.ssh"
        self.thread = AgentLocalProxy(self)
        try:
            self.thread._listen()
        except BaseException:
            os.rmdir(self._dir)
            raise
        self.thread.start()

    def __del__(self) -> None:
        thread = getattr(self, "thread", None)
        if thread is not None:
            thread._exit = True
        if hasattr(self, "_dir"):
            self._remove_files()
        if hasattr(self, "_lock"):
            self._close()

    def connect(self) -> None:
        """Open an agent channel to the client and fetch its key list over it.

        :raises ~sshwire.ssh_exception.SSHException: if the transport gives no channel, or
            the client's agent does not answer properly
        """
        chan = self._transport.open_forward_agent_channel()
        if chan is None:
            raise SSHException("lost ssh-agent")
        chan.set_name("auth-agent")
        old = self._conn
        if old is not None and old is not chan:
            _close_quietly(old)
        self._connect(chan)

    def close(self) -> None:
        """Stop the local socket's thread, remove the socket and its directory, and close
        the agent channel. Calling it again is fine."""
        self.thread._stop_and_join()
        self._remove_files()
        self._close()

    def _remove_files(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.remove(self._file)
        with contextlib.suppress(FileNotFoundError):
            os.rmdir(self._dir)

    def get_env(self) -> dict[str, str]:
        """``{"SSH_AUTH_SOCK": path}`` for the local socket: add it to a program's
        environment to let it use the forwarded agent."""
        return {_ENV_SOCK: self._get_filename()}

    def _get_filename(self) -> str:
        return self._file


class AgentRequestHandler:
    """Forward the local agent over a session channel: the usual way to turn on forwarding.

    Give it an open session channel before running a command on it; the command then sees
    the local agent through ``$SSH_AUTH_SOCK`` on the server::

        session = client.get_transport().open_session()
        AgentRequestHandler(session)
        session.exec_command("ssh-add -l")

    It sends the forwarding request (``chanClient.request_forward_agent(handler)``) and serves
    each agent channel the server then opens with an :class:`AgentClientProxy`.

    :param chanClient: the session channel
    """

    def __init__(self, chanClient: Any) -> None:
        self._conn: Any = None
        self._chan_client = chanClient
        self._client_proxies: list[AgentClientProxy] = []
        chanClient.request_forward_agent(self._forward_agent_handler)

    def _forward_agent_handler(self, chanRemote: Any) -> None:
        self._client_proxies.append(AgentClientProxy(chanRemote))

    def __del__(self) -> None:
        for proxy in getattr(self, "_client_proxies", ()):
            proxy._signal_stop()

    def close(self) -> None:
        """Stop serving every agent channel opened so far."""
        for proxy in self._client_proxies:
            proxy.close()

"""Pluggable client authentication: a strategy tries a series of credential sources in turn.

The pieces, with the same names and behaviour as paramiko's ``paramiko.auth_strategy``:

* An :class:`AuthSource` is one way of proving who we are (no credentials at all, a
  password, a private key). Its :meth:`~AuthSource.authenticate` makes exactly one attempt
  through a connected :class:`~sshwire.transport.Transport` and returns what the transport's
  ``auth_*`` method returned, or lets its exception propagate.
* An :class:`AuthStrategy` decides *which* sources to try and in what order: subclasses
  implement :meth:`~AuthStrategy.get_sources`. :meth:`AuthStrategy.authenticate` walks that
  sequence, records one :class:`SourceResult` per attempt in an :class:`AuthResult`, and stops
  at the first attempt that does not raise.
* When every attempt raised, or there was nothing to try, :class:`AuthFailure` (an
  :class:`~sshwire.ssh_exception.AuthenticationException`) is raised carrying the
  :class:`AuthResult`, so the caller can see what was tried and why each attempt failed.

Semantics worth knowing (they match paramiko exactly):

* "Success" means "the source's ``authenticate`` did not raise". A partial success (the
  transport returned a non-empty list of further methods the server wants) therefore also ends
  the loop; the list is recorded as that source's result and the caller decides what to do next.
* Any :class:`Exception` raised by a source is recorded and the next source is tried, including
  errors that do not come from the server at all (say, a ``password_getter`` that failed).
  Exceptions that are not :class:`Exception` subclasses, such as :class:`KeyboardInterrupt`,
  are not caught.
* :meth:`~AuthStrategy.get_sources` is called once, and its result is consumed lazily: a
  generator is not advanced past the source that succeeded.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

from .ssh_exception import AuthenticationException
from .util import get_logger

if TYPE_CHECKING:
    from .pkey import PKey
    from .transport import Transport

__all__ = [
    "AuthFailure",
    "AuthResult",
    "AuthSource",
    "AuthStrategy",
    "InMemoryPrivateKey",
    "NoneAuth",
    "OnDiskPrivateKey",
    "Password",
    "PrivateKey",
    "SourceResult",
]

# Where an OnDiskPrivateKey may have come from (the values paramiko accepts).
_KEY_SOURCES = ("ssh-config", "python-config", "implicit-home")


def _is_agent_key(key: object) -> bool:
    """Whether *key* is an ``sshwire.agent.AgentKey``.

    Looked up through ``sys.modules`` so that this module neither imports the agent code nor
    depends on it existing: an ``AgentKey`` instance can only exist once that module is loaded.
    """
    agent = sys.modules.get(f"{__package__}.agent")
    agent_key_class = getattr(agent, "AgentKey", None)
    return isinstance(agent_key_class, type) and isinstance(key, agent_key_class)


# --------------------------------------------------------------------------------------------
# Sources


class AuthSource:
    """One way of authenticating as *username*: the base class of every source.

    Subclasses implement :meth:`authenticate`. ``repr()`` of a source is
    ``ClassName(field=value, ...)`` and is what logs and :class:`AuthResult` show.

    :param username: the remote user name to authenticate as.
    """

    def __init__(self, username: str) -> None:
        self.username = username

    def _repr(self, **kwargs: Any) -> str:
        """Build ``ClassName(key=repr(value), ...)`` from *kwargs*, in the order given."""
        fields = ", ".join(f"{name}={value!r}" for name, value in kwargs.items())
        return f"{type(self).__name__}({fields})"

    def __repr__(self) -> str:
        return self._repr()

    def authenticate(self, transport: Transport) -> list[str]:
        """Make one authentication attempt over *transport*.

        :returns: what the transport's ``auth_*`` call returned: ``[]`` when authentication
            is complete, or the methods the server still wants after a partial success.
        :raises AuthenticationException: (or a subclass) when the server refuses; other
            exceptions propagate unchanged.
        :raises NotImplementedError: always, on this base class.
        """
        raise NotImplementedError


class NoneAuth(AuthSource):
    """The ``none`` method (RFC 4252 §5.2): ask to be let in without credentials.

    Servers usually refuse, listing the methods they do accept in the
    :class:`~sshwire.ssh_exception.BadAuthenticationType` they cause to be raised.
    """

    def authenticate(self, transport: Transport) -> list[str]:
        """Try ``none`` authentication via :meth:`Transport.auth_none
        <sshwire.transport.Transport.auth_none>`."""
        return transport.auth_none(self.username)


class Password(AuthSource):
    """Password authentication, with the password fetched only when it is about to be sent.

    :param username: the remote user name.
    :param password_getter: a callable taking no arguments and returning the password. It is
        called inside :meth:`authenticate` (once per attempt), never earlier, so it may prompt a
        person or read a secret store only when the password is really needed.
    """

    def __init__(self, username: str, password_getter: Callable[[], str]) -> None:
        super().__init__(username=username)
        self.password_getter = password_getter

    def __repr__(self) -> str:
        return self._repr(user=self.username)

    def authenticate(self, transport: Transport) -> list[str]:
        """Call :attr:`password_getter`, then :meth:`Transport.auth_password
        <sshwire.transport.Transport.auth_password>` with the result."""
        password = self.password_getter()
        return transport.auth_password(self.username, password)


class PrivateKey(AuthSource):
    """Public-key authentication with an already loaded private key.

    A base class: it knows how to authenticate with :attr:`pkey` but not where the key comes
    from. Subclasses (:class:`InMemoryPrivateKey`, :class:`OnDiskPrivateKey`) set ``pkey``.
    """

    #: The private key to sign with; set by subclasses.
    pkey: PKey

    def authenticate(self, transport: Transport) -> list[str]:
        """Try :meth:`Transport.auth_publickey <sshwire.transport.Transport.auth_publickey>`
        with :attr:`pkey`."""
        return transport.auth_publickey(self.username, self.pkey)


class InMemoryPrivateKey(PrivateKey):
    """A private key object the program already holds, decrypted.

    Its ``repr()`` ends in ``" [agent]"`` when the key lives in an SSH agent
    (an ``sshwire.agent.AgentKey``).

    :param username: the remote user name.
    :param pkey: the :class:`~sshwire.pkey.PKey` to authenticate with.
    """

    def __init__(self, username: str, pkey: PKey) -> None:
        super().__init__(username=username)
        self.pkey = pkey

    def __repr__(self) -> str:
        text = self._repr(pkey=self.pkey)
        if _is_agent_key(self.pkey):
            text += " [agent]"
        return text


class OnDiskPrivateKey(PrivateKey):
    """A private key that was loaded from a file; the origin is kept for display and logs.

    :param username: the remote user name.
    :param source: how the file was chosen: ``"ssh-config"`` (an ``IdentityFile`` line),
        ``"python-config"`` (given by the program) or ``"implicit-home"`` (a default name
        under ``~/.ssh``). Anything else raises :class:`ValueError`.
    :param path: the file the key was read from.
    :param pkey: the loaded, decrypted :class:`~sshwire.pkey.PKey`.
    """

    def __init__(
        self, username: str, source: str, path: str | os.PathLike[str], pkey: PKey
    ) -> None:
        super().__init__(username=username)
        self.source = source
        if source not in _KEY_SOURCES:
            raise ValueError(f"source argument must be one of: {_KEY_SOURCES!r}")
        self.path = path
        self.pkey = pkey

    def __repr__(self) -> str:
        return self._repr(key=self.pkey, source=self.source, path=str(self.path))


# --------------------------------------------------------------------------------------------
# Results


class SourceResult(NamedTuple):
    """One attempt: the source that was tried and how it ended."""

    #: The :class:`AuthSource` that was tried.
    source: AuthSource
    #: What its :meth:`~AuthSource.authenticate` returned (``[]``, or the further methods
    #: after a partial success), or the exception it raised.
    result: Any


class AuthResult(list[SourceResult]):
    """Every attempt an :class:`AuthStrategy` made, in order: a list of :class:`SourceResult`.

    Extra positional and keyword arguments go to :class:`list`, so
    ``AuthResult(strategy, iterable)`` starts out holding *iterable*'s items. ``repr()`` is the
    plain list's. ``str()`` gives one line per attempt, ``"<source> -> <result>"``, where a
    false result (such as ``[]``, full success) is shown as ``success``.

    :param strategy: the :class:`AuthStrategy` that made the attempts.
    """

    def __init__(self, strategy: AuthStrategy, *args: Any, **kwargs: Any) -> None:
        self.strategy = strategy
        super().__init__(*args, **kwargs)

    def __str__(self) -> str:
        return "\n".join(f"{attempt.source} -> {attempt.result or 'success'}" for attempt in self)


class AuthFailure(AuthenticationException):
    """Raised by :meth:`AuthStrategy.authenticate` when no source succeeded.

    ``str()`` is a newline followed by ``str(result)``, so the message lists every attempt on
    its own line.

    :param result: the :class:`AuthResult` describing every attempt (possibly none).
    """

    def __init__(self, result: AuthResult) -> None:
        # Deliberately no super().__init__(): like paramiko, ``args`` holds only what was
        # passed positionally, so the AuthFailure raised by AuthStrategy.authenticate (built
        # with a keyword) has ``args == ()``.
        self.result = result

    def __str__(self) -> str:
        return "\n" + str(self.result)


# --------------------------------------------------------------------------------------------
# Strategy


class AuthStrategy:
    """Base class for a policy that authenticates by trying several sources in turn.

    Subclasses implement :meth:`get_sources`; :meth:`authenticate` usually needs no change.

    :param ssh_config: the parsed SSH configuration the strategy may consult (an
        ``SSHConfig``, as with paramiko); this base class only stores it.

    .. attribute:: log

       The ``sshwire.auth_strategy`` logger. Each attempt is logged at ``DEBUG``
       (``"Trying <source>"``) and each failure at ``INFO``, naming the exception class.
    """

    def __init__(self, ssh_config: Any) -> None:
        self.ssh_config = ssh_config
        self.log: logging.Logger = get_logger(__name__)

    def get_sources(self) -> Iterable[AuthSource]:
        """Return (or yield) the :class:`AuthSource` objects to try, in order.

        :raises NotImplementedError: always, on this base class.
        """
        raise NotImplementedError

    def authenticate(self, transport: Transport) -> AuthResult:
        """Try each source from :meth:`get_sources` on *transport* until one does not raise.

        :returns: the :class:`AuthResult`; its last entry is the attempt that succeeded
            (fully, or partially if its result is a non-empty list).
        :raises AuthFailure: when every source raised, or there was none to try.
        """
        attempts = AuthResult(strategy=self)
        succeeded = False
        for source in self.get_sources():
            self.log.debug(f"Trying {source}")
            try:
                result: Any = source.authenticate(transport)
            except Exception as exc:
                result = exc
                self.log.info(f"Authentication via {source} failed with {exc.__class__.__name__}")
            else:
                succeeded = True
            attempts.append(SourceResult(source, result))
            if succeeded:
                break
        if not succeeded:
            raise AuthFailure(result=attempts)
        return attempts

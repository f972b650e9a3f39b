"""Exception classes raised by sshwire.

This module reproduces the exception hierarchy of paramiko's ``paramiko.ssh_exception``:
the same class names, base classes, constructor arguments, instance attributes, ``str()``
text and pickling behaviour, so that ``except`` clauses and error-message handling written
for paramiko keep working unchanged.

Almost everything derives from :class:`SSHException`. The one exception is
:class:`NoValidConnectionsError`, which is a :class:`socket.error` (that is,
:class:`OSError`) so that ordinary socket error handling catches it.

This is a leaf module: it imports nothing else from sshwire.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from typing import Any, Protocol


class _Base64Key(Protocol):
    """Anything that can render its public blob as base64, such as a ``PKey``."""

    def get_base64(self) -> str: ...


class SSHException(Exception):
    """Base class for SSH protocol failures and misuse of the SSH API."""


class AuthenticationException(SSHException):
    """Authentication did not succeed.

    Retrying with other credentials may work. Subclasses narrow down the reason.
    """


class PasswordRequiredException(AuthenticationException):
    """A private key file is encrypted and no passphrase was supplied to decrypt it."""


class BadAuthenticationType(AuthenticationException):
    """The server refused the authentication method we tried.

    :param explanation: human-readable description of the failure
    :param types: the method names the server says it would accept
    :ivar explanation: the ``explanation`` argument
    :ivar allowed_types: the ``types`` argument: method names the server accepts,
        e.g. ``["publickey"]``
    """

    allowed_types: list[str] = []

    def __init__(self, explanation: str, types: list[str]) -> None:
        # Both values go into ``args`` so that the default exception pickling,
        # which calls ``cls(*args)``, can rebuild the instance.
        super().__init__(explanation, types)
        self.explanation = explanation
        self.allowed_types = types

    def __str__(self) -> str:
        return f"{self.explanation}; allowed types: {self.allowed_types!r}"


class PartialAuthentication(AuthenticationException):
    """Authentication succeeded, but the server requires a further method to finish.

    Used internally by the authentication machinery.

    :param types: the method names the server will accept for the next step
    :ivar allowed_types: the ``types`` argument
    """

    allowed_types: list[str] = []

    def __init__(self, types: list[str]) -> None:
        super().__init__(types)
        self.allowed_types = types

    def __str__(self) -> str:
        return f"Partial authentication; allowed types: {self.allowed_types!r}"


class UnableToAuthenticate(AuthenticationException):
    """Authentication through an auth strategy ran out of sources without succeeding."""


class ChannelException(SSHException):
    """The server rejected a request to open a new channel.

    :param code: the reason code from the server's ``SSH_MSG_CHANNEL_OPEN_FAILURE``
        (RFC 4254 §5.1)
    :param text: the description that came with the reason code
    :ivar code: the ``code`` argument
    :ivar text: the ``text`` argument
    """

    def __init__(self, code: int, text: str) -> None:
        super().__init__(code, text)
        self.code = code
        self.text = text

    def __str__(self) -> str:
        return f"ChannelException({self.code!r}, {self.text!r})"


class BadHostKeyException(SSHException):
    """The server's host key differs from the one recorded for that host.

    :param hostname: the name of the server we connected to
    :param got_key: the host key the server presented
    :param expected_key: the host key we had on record
    :ivar hostname: the ``hostname`` argument
    :ivar key: the ``got_key`` argument
    :ivar expected_key: the ``expected_key`` argument
    """

    def __init__(self, hostname: str, got_key: _Base64Key, expected_key: _Base64Key) -> None:
        super().__init__(hostname, got_key, expected_key)
        self.hostname = hostname
        self.key = got_key
        self.expected_key = expected_key

    def __str__(self) -> str:
        got = self.key.get_base64()
        expected = self.expected_key.get_base64()
        return (
            f"Host key for server '{self.hostname}' does not match: "
            f"got '{got}', expected '{expected}'"
        )


class IncompatiblePeer(SSHException):
    """The two sides share no acceptable algorithm (or version) needed for key exchange."""


class ProxyCommandFailure(SSHException):
    """A ``ProxyCommand`` subprocess failed while we were talking through it.

    :param command: the command line of the proxy process
    :param error: the error reported for it (may be ``None``)
    :ivar command: the ``command`` argument
    :ivar error: the ``error`` argument
    """

    def __init__(self, command: str, error: str | None) -> None:
        super().__init__(command, error)
        self.command = command
        self.error = error

    def __str__(self) -> str:
        return f'ProxyCommand("{self.command}") returned nonzero exit status: {self.error}'


class NoValidConnectionsError(socket.error):
    """Connecting failed on every address the hostname resolved to.

    It is an :class:`OSError` (``socket.error``) rather than an :class:`SSHException`, with
    ``errno`` set to ``None`` and one summary message as ``strerror``, so code that handles
    socket errors also handles this one.

    :param errors: maps each address tuple that was tried, such as ``("127.0.0.1", 22)``,
        to the exception raised when connecting to it; must not be empty
    :ivar errors: the ``errors`` argument, for inspecting the individual failures
    """

    def __init__(self, errors: Mapping[tuple[Any, ...], BaseException | None]) -> None:
        addresses = sorted(errors.keys())
        hosts = [address[0] for address in addresses]
        head = ", ".join(hosts[:-1])
        last = hosts[-1]
        # The port shown is the one of the first address in sorted order.
        port = addresses[0][1]
        where = f"{head} or {last}" if head else f"{last}"
        super().__init__(None, f"Unable to connect to port {port} on {where}")
        self.errors = errors

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuild from the errors mapping alone; the message is derived from it again.
        return (type(self), (self.errors,))


class CouldNotCanonicalize(SSHException):
    """Hostname canonicalization failed and the configuration forbids falling back."""


class ConfigParseError(SSHException):
    """The SSH configuration text is malformed badly enough that parsing must stop."""


class MessageOrderError(SSHException):
    """A message arrived out of the order required by strict key exchange.

    Strict kex (``kex-strict-*-v00@openssh.com``) is the countermeasure against the
    Terrapin attack (CVE-2023-48795).
    """

"""sshwire: a pure-Python SSH2 client and server library with paramiko's API.

``import sshwire as paramiko`` gives the same top-level names as paramiko 5.1 (the SFTP family and
the remaining drop-in names arrive with their issues).

PYTEST_DONT_REWRITE: sshwire registers a pytest plugin (sshwire.testing.pytest_plugin), so
pytest marks this package for assertion rewriting; the marker keeps pytest from warning when
sshwire was imported before pytest started (e.g. by install_as_paramiko() in sitecustomize).
"""

from __future__ import annotations

from . import (
    agent,
    auth_strategy,
    buffered_pipe,
    channel,
    client,
    common,
    ecdsakey,
    ed25519key,
    file,
    hostkeys,
    message,
    pipe,
    pkey,
    rsakey,
    server,
    ssh_exception,
    transport,
    util,
)
from ._compat import install_as_paramiko
from ._proto.constants import (
    OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED,
    OPEN_FAILED_CONNECT_FAILED,
    OPEN_FAILED_RESOURCE_SHORTAGE,
    OPEN_FAILED_UNKNOWN_CHANNEL_TYPE,
    OPEN_SUCCEEDED,
)
from .agent import Agent, AgentKey
from .auth_strategy import (
    AuthFailure,
    AuthResult,
    AuthSource,
    AuthStrategy,
    InMemoryPrivateKey,
    NoneAuth,
    OnDiskPrivateKey,
    Password,
    PrivateKey,
    SourceResult,
)
from .channel import Channel, ChannelFile, ChannelStderrFile, ChannelStdinFile
from .client import AutoAddPolicy, MissingHostKeyPolicy, RejectPolicy, SSHClient, WarningPolicy
from .common import io_sleep
from .ecdsakey import ECDSAKey
from .ed25519key import Ed25519Key
from .file import BufferedFile
from .hostkeys import HostKeys
from .message import Message
from .pkey import PKey, PublicBlob, UnknownKeyType, key_classes
from .rsakey import RSAKey
from .server import (
    AUTH_FAILED,
    AUTH_PARTIALLY_SUCCESSFUL,
    AUTH_SUCCESSFUL,
    InteractiveQuery,
    ServerInterface,
    SubsystemHandler,
)
from .ssh_exception import (
    AuthenticationException,
    BadAuthenticationType,
    BadHostKeyException,
    ChannelException,
    ConfigParseError,
    CouldNotCanonicalize,
    IncompatiblePeer,
    MessageOrderError,
    PasswordRequiredException,
    ProxyCommandFailure,
    SSHException,
)
from .transport import SecurityOptions, Transport

__version__ = "0.1.0"
__version_info__ = (0, 1, 0)

__all__ = [
    "AUTH_FAILED",
    "AUTH_PARTIALLY_SUCCESSFUL",
    "AUTH_SUCCESSFUL",
    "OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED",
    "OPEN_FAILED_CONNECT_FAILED",
    "OPEN_FAILED_RESOURCE_SHORTAGE",
    "OPEN_FAILED_UNKNOWN_CHANNEL_TYPE",
    "OPEN_SUCCEEDED",
    "Agent",
    "AgentKey",
    "AuthFailure",
    "AuthResult",
    "AuthSource",
    "AuthStrategy",
    "AuthenticationException",
    "AutoAddPolicy",
    "BadAuthenticationType",
    "BadHostKeyException",
    "BufferedFile",
    "Channel",
    "ChannelException",
    "ChannelFile",
    "ChannelStderrFile",
    "ChannelStdinFile",
    "ConfigParseError",
    "CouldNotCanonicalize",
    "ECDSAKey",
    "Ed25519Key",
    "HostKeys",
    "InMemoryPrivateKey",
    "IncompatiblePeer",
    "InteractiveQuery",
    "Message",
    "MessageOrderError",
    "MissingHostKeyPolicy",
    "NoneAuth",
    "OnDiskPrivateKey",
    "PKey",
    "Password",
    "PasswordRequiredException",
    "PrivateKey",
    "ProxyCommandFailure",
    "PublicBlob",
    "RSAKey",
    "RejectPolicy",
    "SSHClient",
    "SSHException",
    "SecurityOptions",
    "ServerInterface",
    "SourceResult",
    "SubsystemHandler",
    "Transport",
    "UnknownKeyType",
    "WarningPolicy",
    "__version__",
    "agent",
    "auth_strategy",
    "buffered_pipe",
    "channel",
    "client",
    "common",
    "ecdsakey",
    "ed25519key",
    "file",
    "hostkeys",
    "install_as_paramiko",
    "io_sleep",
    "key_classes",
    "message",
    "pipe",
    "pkey",
    "rsakey",
    "server",
    "ssh_exception",
    "transport",
    "util",
]

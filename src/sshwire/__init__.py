"""sshwire: a pure-Python SSH2 client and server library with paramiko's API.

``import sshwire as paramiko`` (or :func:`install_as_paramiko`) gives the same top-level names and
submodules as paramiko 5.1.

PYTEST_DONT_REWRITE: sshwire registers a pytest plugin (sshwire.testing.pytest_plugin), so
pytest marks this package for assertion rewriting; the marker keeps pytest from warning when
sshwire was imported before pytest started (e.g. by install_as_paramiko() in sitecustomize).
"""

from __future__ import annotations

from importlib import metadata

from . import (
    agent,
    auth_handler,
    auth_strategy,
    ber,
    buffered_pipe,
    channel,
    client,
    common,
    compress,
    config,
    ecdsakey,
    ed25519key,
    file,
    hostkeys,
    kex_curve25519,
    kex_ecdh_nist,
    kex_gex,
    kex_group14,
    kex_group16,
    kex_mlkem,
    message,
    packet,
    pipe,
    pkey,
    primes,
    proxy,
    rsakey,
    server,
    sftp,
    sftp_attr,
    sftp_client,
    sftp_file,
    sftp_handle,
    sftp_server,
    sftp_si,
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
from .auth_handler import AuthHandler
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
from .config import SSHConfig, SSHConfigDict
from .ecdsakey import ECDSAKey
from .ed25519key import Ed25519Key
from .file import BufferedFile
from .hostkeys import HostKeys
from .message import Message
from .packet import Packetizer
from .pkey import PKey, PublicBlob, UnknownKeyType, key_classes
from .proxy import ProxyCommand
from .rsakey import RSAKey
from .server import (
    AUTH_FAILED,
    AUTH_PARTIALLY_SUCCESSFUL,
    AUTH_SUCCESSFUL,
    InteractiveQuery,
    ServerInterface,
    SubsystemHandler,
)
from .sftp import (
    SFTP_BAD_MESSAGE,
    SFTP_CONNECTION_LOST,
    SFTP_EOF,
    SFTP_FAILURE,
    SFTP_NO_CONNECTION,
    SFTP_NO_SUCH_FILE,
    SFTP_OK,
    SFTP_OP_UNSUPPORTED,
    SFTP_PERMISSION_DENIED,
    BaseSFTP,
    SFTPError,
)
from .sftp_attr import SFTPAttributes
from .sftp_client import SFTP, SFTPClient
from .sftp_file import SFTPFile
from .sftp_handle import SFTPHandle
from .sftp_server import SFTPServer
from .sftp_si import SFTPServerInterface
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
from .transport import SecurityOptions, ServiceRequestingTransport, Transport

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
    "SFTP",
    "SFTP_BAD_MESSAGE",
    "SFTP_CONNECTION_LOST",
    "SFTP_EOF",
    "SFTP_FAILURE",
    "SFTP_NO_CONNECTION",
    "SFTP_NO_SUCH_FILE",
    "SFTP_OK",
    "SFTP_OP_UNSUPPORTED",
    "SFTP_PERMISSION_DENIED",
    "Agent",
    "AgentKey",
    "AuthFailure",
    "AuthHandler",
    "AuthResult",
    "AuthSource",
    "AuthStrategy",
    "AuthenticationException",
    "AutoAddPolicy",
    "BadAuthenticationType",
    "BadHostKeyException",
    "BaseSFTP",
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
    "Packetizer",
    "Password",
    "PasswordRequiredException",
    "PrivateKey",
    "ProxyCommand",
    "ProxyCommandFailure",
    "PublicBlob",
    "RSAKey",
    "RejectPolicy",
    "SFTPAttributes",
    "SFTPClient",
    "SFTPError",
    "SFTPFile",
    "SFTPHandle",
    "SFTPServer",
    "SFTPServerInterface",
    "SSHClient",
    "SSHConfig",
    "SSHConfigDict",
    "SSHException",
    "SecurityOptions",
    "ServerInterface",
    "ServiceRequestingTransport",
    "SourceResult",
    "SubsystemHandler",
    "Transport",
    "UnknownKeyType",
    "WarningPolicy",
    "__version__",
    "agent",
    "auth_handler",
    "auth_strategy",
    "ber",
    "buffered_pipe",
    "channel",
    "client",
    "common",
    "compress",
    "config",
    "ecdsakey",
    "ed25519key",
    "file",
    "hostkeys",
    "install_as_paramiko",
    "io_sleep",
    "kex_curve25519",
    "kex_ecdh_nist",
    "kex_gex",
    "kex_group14",
    "kex_group16",
    "kex_mlkem",
    "key_classes",
    "message",
    "metadata",
    "packet",
    "pipe",
    "pkey",
    "primes",
    "proxy",
    "rsakey",
    "server",
    "sftp",
    "sftp_attr",
    "sftp_client",
    "sftp_file",
    "sftp_handle",
    "sftp_server",
    "sftp_si",
    "ssh_exception",
    "transport",
    "util",
]

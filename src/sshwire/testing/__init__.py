"""An embedded SSH server for tests and demos, and pytest fixtures around it.

:class:`SSHServer` is a real SSH server (sshwire's server mode) listening on 127.0.0.1 with
a generated host key. It runs commands in subprocesses (with a pty when asked), serves
shells, environment variables, local and remote port forwarding, subsystems and SFTP
(``sftp_root=``: sshwire's own SFTP server over one directory), and lets in the keys and
passwords it is given::

    from sshwire.testing import SSHServer

    server = SSHServer()
    user = server.add_user("alice")                 # a generated key and a password
    with server:                                    # listening on 127.0.0.1:<free port>
        with server.connect_client() as client:     # an authenticated sshwire SSHClient
            _, stdout, _ = client.exec_command("echo hello")
            assert stdout.read() == b"hello\\n"

With sshwire installed, pytest gets the fixtures ``ssh_server``, ``ssh_client`` and
``ssh_server_factory`` (see :mod:`sshwire.testing.pytest_plugin` and docs/testing.md).

The server runs every command as the user running the server, whatever name the client
logs in with: it is for tests on your own machine, not for production.
"""

from __future__ import annotations

from ._server import Credentials, SSHServer, enable_all_algorithms, generate_key, public_key_line
from ._sftp import RootedSFTPHandle, RootedSFTPServerInterface

__all__ = [
    "Credentials",
    "RootedSFTPHandle",
    "RootedSFTPServerInterface",
    "SSHServer",
    "enable_all_algorithms",
    "generate_key",
    "public_key_line",
]

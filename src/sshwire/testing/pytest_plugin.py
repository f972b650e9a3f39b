"""pytest fixtures for testing code that speaks SSH (registered automatically with sshwire).

Installing sshwire registers this module as a pytest plugin (the ``pytest11`` entry point
``sshwire``), so any test suite can ask for:

``ssh_server``
    A running :class:`~sshwire.testing.SSHServer` on 127.0.0.1 with one user,
    ``ssh_server.default_user`` (a :class:`~sshwire.testing.Credentials`: ``username``,
    ``password``, ``key`` and ``key_path``, a private key file in OpenSSH format). New for
    each test; closed afterwards (processes ended, threads joined).
``ssh_client``
    A :class:`sshwire.SSHClient <sshwire.client.SSHClient>` connected to ``ssh_server``
    and logged in as its user; closed afterwards.
``ssh_server_factory``
    ``ssh_server_factory(**kwargs)`` starts another server, with
    :class:`~sshwire.testing.SSHServer`'s keyword arguments and a user added; every server
    it made is closed after the test.

Disable the plugin with ``-p no:sshwire``. Importing it imports nothing but pytest and
sshwire's package root; the server code loads when a fixture is first used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from sshwire.client import SSHClient
    from sshwire.testing import SSHServer

__all__ = ["ssh_client", "ssh_server", "ssh_server_factory"]


@pytest.fixture
def ssh_server_factory(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., SSHServer]]:
    """Make running :class:`~sshwire.testing.SSHServer` objects, each with one user."""
    from sshwire.testing import SSHServer

    servers: list[SSHServer] = []

    def make(**kwargs: Any) -> SSHServer:
        server = SSHServer(**kwargs)
        try:
            server.add_user(directory=tmp_path_factory.mktemp("ssh-server-user"))
            server.start()
        except BaseException:
            server.close()
            raise
        servers.append(server)
        return server

    try:
        yield make
    finally:
        for server in servers:
            server.close()


@pytest.fixture
def ssh_server(ssh_server_factory: Callable[..., SSHServer]) -> SSHServer:
    """A running embedded SSH server on 127.0.0.1 with one user (``default_user``)."""
    return ssh_server_factory()


@pytest.fixture
def ssh_client(ssh_server: SSHServer) -> Iterator[SSHClient]:
    """An sshwire ``SSHClient`` logged in to ``ssh_server`` as its ``default_user``."""
    client = ssh_server.connect_client()
    try:
        yield client
    finally:
        client.close()

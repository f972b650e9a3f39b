"""Shared fixtures: real OpenSSH peers for the interop tests (helpers in ``tests/_openssh.py``).

Session-scoped fixtures (each skips with a loud reason when OpenSSH is missing, and fails
instead when ``SSHWIRE_REQUIRE_OPENSSH=1``, as in CI):

``openssh``
    :class:`_openssh.OpenSSH`: absolute paths ``sshd``, ``ssh``, ``ssh_keygen``, ``ssh_agent``,
    ``ssh_add`` and the ``version`` line.
``sshd``
    :class:`_openssh.SshdServer`: a private sshd on 127.0.0.1 with every algorithm this OpenSSH
    supports enabled. Do not change its keys or files; for other settings use
    ``with sshd.start_with(["RekeyLimit 1M"]) as other: ...``.
``ssh_agent``
    :class:`_openssh.SshAgent`: ``ssh-agent -D -a SOCKET`` holding the ed25519 and rsa user keys
    of ``sshd``. Shared: do not add or remove keys (use ``_openssh.running_agent`` for a private
    one).
``keygen``
    :class:`_openssh.KeyFactory`: ssh-keygen-made user keys in every private key format.
``sshd_password_user``
    :class:`_openssh.PasswordUser` ``(name, password)``: a throwaway local account. Created only
    as root with ``SSHWIRE_REQUIRE_OPENSSH=1``; skipped otherwise.

Password auth works against ``sshd`` (UsePAM no: sshd checks /etc/shadow itself).
Keyboard-interactive does NOT: without PAM, Debian's sshd has no keyboard-interactive device
(it still advertises the method, then fails every attempt). PAM works in this container, so
start a second server for it::

    with sshd.start_with(["UsePAM yes"]) as pam_sshd:
        ...  # PAM sends one INFO_REQUEST with ["Password: "] (echo off), then one with no prompts

(see ``tests/interop/test_fixtures.py::test_keyboard_interactive_needs_pam``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from _openssh import (
    REQUIRE_ENV,
    KeyFactory,
    OpenSSH,
    PasswordUser,
    SshAgent,
    SshdMaterial,
    SshdServer,
    find_openssh,
    openssh_required,
    password_user,
    require_openssh,
    running_agent,
)


def pytest_report_header(config: pytest.Config) -> str:
    found = find_openssh()
    required = f"{REQUIRE_ENV}={'1' if openssh_required() else 'unset'}"
    if isinstance(found, str):
        return f"openssh: MISSING - interop tests will be skipped ({required}): {found}"
    return f"openssh: {found.version} ({found.sshd}; {required})"


@pytest.fixture(scope="session")
def openssh() -> OpenSSH:
    return require_openssh()


@pytest.fixture(scope="session")
def sshd_material(openssh: OpenSSH, tmp_path_factory: pytest.TempPathFactory) -> SshdMaterial:
    return SshdMaterial.create(openssh, tmp_path_factory.mktemp("sshd-keys"))


@pytest.fixture(scope="session")
def sshd(
    openssh: OpenSSH, sshd_material: SshdMaterial, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SshdServer]:
    server = SshdServer.start(openssh, sshd_material, tmp_path_factory.mktemp("sshd"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def ssh_agent(
    openssh: OpenSSH, sshd_material: SshdMaterial, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SshAgent]:
    keys = [sshd_material.client_keys["ed25519"], sshd_material.client_keys["rsa"]]
    with running_agent(openssh, tmp_path_factory.mktemp("agent"), keys) as agent:
        yield agent


@pytest.fixture(scope="session")
def keygen(openssh: OpenSSH, tmp_path_factory: pytest.TempPathFactory) -> KeyFactory:
    return KeyFactory(openssh, tmp_path_factory.mktemp("keygen"))


@pytest.fixture(scope="session")
def sshd_password_user() -> Iterator[PasswordUser]:
    if not (os.geteuid() == 0 and openssh_required()):
        pytest.skip(
            "password auth against sshd is tested in CI (root and "
            f"{REQUIRE_ENV}=1: a throwaway local user is created); "
            "locally it runs against paramiko's server"
        )
    with password_user() as user:
        yield user

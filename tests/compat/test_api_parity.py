"""Every public name and method signature of paramiko 5.1, or an explained gap.

The lists below are the work still open; when a name lands, remove it here (the test fails
while a listed name exists, so the lists stay true).
"""

from __future__ import annotations

import inspect

import paramiko
import pytest

import sshwire

SFTP_ISSUE = {  # the SFTP issue
    "BaseSFTP", "SFTP", "SFTPAttributes", "SFTPClient", "SFTPError", "SFTPFile", "SFTPHandle",
    "SFTPServer", "SFTPServerInterface", "SFTP_BAD_MESSAGE", "SFTP_CONNECTION_LOST", "SFTP_EOF",
    "SFTP_FAILURE", "SFTP_NO_CONNECTION", "SFTP_NO_SUCH_FILE", "SFTP_OK", "SFTP_OP_UNSUPPORTED",
    "SFTP_PERMISSION_DENIED", "sftp", "sftp_attr", "sftp_client", "sftp_file", "sftp_handle",
    "sftp_server", "sftp_si",
}  # fmt: skip
DROP_IN_ISSUE = {  # the drop-in parity issue: adapters, config, proxies, small modules
    "AuthHandler", "Packetizer", "ProxyCommand", "SSHConfig", "SSHConfigDict",
    "ServiceRequestingTransport", "auth_handler", "compress", "config", "kex_curve25519",
    "kex_ecdh_nist", "kex_gex", "kex_group14", "kex_group16", "kex_mlkem", "metadata",
    "packet", "primes", "proxy",
}  # fmt: skip
KNOWN_MISSING = SFTP_ISSUE | DROP_IN_ISSUE
KNOWN_MISSING_METHODS = {"Transport.open_sftp_client"}  # the SFTP issue

PARAMIKO_NAMES = sorted(n for n in dir(paramiko) if not n.startswith("_"))


@pytest.mark.parametrize("name", PARAMIKO_NAMES)
def test_top_level_name(name: str) -> None:
    if name in KNOWN_MISSING:
        assert not hasattr(sshwire, name), f"{name} exists now: remove it from KNOWN_MISSING"
        pytest.skip(f"{name}: not built yet (see the list's issue)")
    assert hasattr(sshwire, name)


def _methods(cls: type) -> dict[str, object]:
    return {
        name: member
        for name, member in vars(cls).items()
        if (not name.startswith("_") or name == "__init__")
        and (callable(member) or isinstance(member, property))
    }


CLASSES = [
    n for n in PARAMIKO_NAMES if n not in KNOWN_MISSING and inspect.isclass(getattr(paramiko, n))
]


@pytest.mark.parametrize("name", CLASSES)
def test_class_methods_and_signatures(name: str) -> None:
    theirs, ours = getattr(paramiko, name), getattr(sshwire, name)
    for method, member in _methods(theirs).items():
        qualified = f"{name}.{method}"
        if qualified in KNOWN_MISSING_METHODS:
            assert not hasattr(ours, method), f"{qualified} exists now: update the list"
            continue
        assert hasattr(ours, method), qualified
        mine = getattr(ours, method)
        if isinstance(member, property) or not callable(mine):
            continue
        try:
            expected = list(inspect.signature(member).parameters)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
        assert list(inspect.signature(mine).parameters) == expected, qualified

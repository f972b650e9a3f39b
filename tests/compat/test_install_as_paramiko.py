"""install_as_paramiko(): ``import paramiko`` gives sshwire's own modules (in a subprocess,
since this test process has imported the real paramiko)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.timeout(60)


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )


def test_paramiko_resolves_to_sshwire() -> None:
    done = _python(
        """
        import sshwire
        sshwire.install_as_paramiko()
        sshwire.install_as_paramiko()  # idempotent
        import paramiko
        import paramiko.transport, paramiko.channel, paramiko.server
        from paramiko.ssh_exception import SSHException
        from paramiko import SSHClient, RSAKey
        import paramiko.agent as agent
        assert paramiko is sshwire
        assert paramiko.transport is sshwire.transport
        assert paramiko.Transport is sshwire.Transport
        assert SSHException is sshwire.SSHException
        assert SSHClient is sshwire.SSHClient and RSAKey is sshwire.RSAKey
        import sys
        assert sys.modules["paramiko.agent"] is sys.modules["sshwire.agent"] is agent
        try:
            import paramiko.no_such_module
        except ImportError:
            pass
        else:
            raise AssertionError("an unknown submodule must not import")
        try:
            raise sshwire.ssh_exception.AuthenticationException("x")
        except paramiko.AuthenticationException:
            print("ok")
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_refuses_when_real_paramiko_is_loaded() -> None:
    done = _python(
        """
        import paramiko, sshwire
        try:
            sshwire.install_as_paramiko()
        except ImportError as exc:
            print("refused:", exc)
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("refused: the real paramiko is already imported")

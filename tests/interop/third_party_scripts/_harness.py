"""Start-up and result reporting shared by the third-party scenario scripts.

Each script runs in a fresh interpreter started by ``tests/interop/test_third_party.py``. It
calls :func:`start` before anything can import paramiko: that installs sshwire under the name
``paramiko`` and checks that the alias took, then returns the scenario's parameters (a JSON
object in the ``SSHWIRE_TP_PARAMS`` environment variable). The scenario's own imports of the
third-party package happen afterwards, inside the scenario functions. :func:`finish` checks
that no module of the real paramiko was loaded along the way and prints the scenario's result
as one JSON line, the last line of stdout, for the test to read.

For comparisons by hand, ``SSHWIRE_TP_BACKEND=paramiko`` runs a script on the real paramiko
instead (the tests never set it).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any

PARAMS_ENV = "SSHWIRE_TP_PARAMS"
RESULT_PREFIX = "SSHWIRE-TP-RESULT "
BACKEND_ENV = "SSHWIRE_TP_BACKEND"

Params = dict[str, Any]
Scenario = Callable[[Params], dict[str, Any]]


def start() -> Params:
    """Install sshwire as paramiko; return the scenario parameters."""
    if _real_paramiko():
        return dict(json.loads(os.environ[PARAMS_ENV]))
    loaded = [name for name in sys.modules if name == "paramiko" or name.startswith("paramiko.")]
    if loaded:
        raise SystemExit(f"paramiko was imported before install_as_paramiko(): {loaded}")
    import sshwire

    sshwire.install_as_paramiko()
    import paramiko
    import paramiko.transport

    assert sys.modules["paramiko"] is sshwire, sys.modules["paramiko"]
    assert paramiko is sshwire
    assert paramiko.transport is sshwire.transport
    return dict(json.loads(os.environ[PARAMS_ENV]))


def _real_paramiko() -> bool:
    """``SSHWIRE_TP_BACKEND=paramiko``: run on the real paramiko, to compare by hand."""
    return os.environ.get(BACKEND_ENV, "sshwire") == "paramiko"


def _foreign_paramiko_modules() -> list[str]:
    """Names under ``paramiko.`` whose module is not one of sshwire's."""
    bad = []
    for name, module in list(sys.modules.items()):
        if name == "paramiko" or name.startswith("paramiko."):
            real = getattr(module, "__name__", "")
            if not (real == "sshwire" or real.startswith("sshwire.")):
                bad.append(f"{name} -> {real}")
    return bad


def finish(result: dict[str, Any]) -> None:
    """Check that only sshwire served as paramiko, then report ``result`` on stdout."""
    foreign = [] if _real_paramiko() else _foreign_paramiko_modules()
    assert not foreign, f"the real paramiko was loaded: {foreign}"
    result["paramiko_modules"] = sorted(
        name
        for name in sys.modules
        if (name == "paramiko" or name.startswith("paramiko.")) and "._" not in name
    )
    sys.stdout.write(RESULT_PREFIX + json.dumps(result) + "\n")
    sys.stdout.flush()


def main(scenarios: dict[str, Scenario]) -> None:
    """Run the scenario named by ``sys.argv[1]``."""
    if len(sys.argv) != 2 or sys.argv[1] not in scenarios:
        raise SystemExit(f"usage: {sys.argv[0]} {{{','.join(scenarios)}}}")
    params = start()
    finish(scenarios[sys.argv[1]](params))

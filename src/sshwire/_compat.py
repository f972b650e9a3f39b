"""``install_as_paramiko()``: make ``import paramiko`` resolve to sshwire.

After the call, ``paramiko`` *is* the ``sshwire`` module object and ``paramiko.<name>`` is the
very module ``sshwire.<name>`` (one module object per name), so ``isinstance`` checks and
``except`` clauses agree whichever spelling a package used. Submodules not yet imported are
resolved on first import by a meta path finder that aliases them.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

ALIAS = "paramiko"
TARGET = "sshwire"


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(self.target)
        sys.modules[spec.name] = module
        return module

    def exec_module(self, module: ModuleType) -> None:
        """The target module is already executed: nothing to do."""


class _AliasFinder(importlib.abc.MetaPathFinder):
    """Finds ``paramiko.X`` as ``sshwire.X`` (after install_as_paramiko())."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: Any = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != ALIAS and not fullname.startswith(ALIAS + "."):
            return None
        real = TARGET + fullname[len(ALIAS) :]
        try:
            found = importlib.util.find_spec(real)
        except (ImportError, ValueError):
            return None
        if found is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(real))


_FINDER = _AliasFinder()


def install_as_paramiko() -> None:
    """Make ``import paramiko`` (and every ``paramiko.<module>``) give sshwire's modules.

    Call it once, early (a ``conftest.py`` or ``sitecustomize.py``)::

        import sshwire
        sshwire.install_as_paramiko()

    Calling it again does nothing. If the real paramiko is already imported, mixing the two
    would break ``isinstance`` and ``except`` clauses, so this raises :class:`ImportError`.
    """
    sshwire = sys.modules[TARGET]
    current = sys.modules.get(ALIAS)
    if current is sshwire:
        return
    if current is not None or any(name.startswith(ALIAS + ".") for name in sys.modules):
        raise ImportError(
            "the real paramiko is already imported; call sshwire.install_as_paramiko() "
            "before anything imports paramiko"
        )
    sys.modules[ALIAS] = sshwire
    for name, module in list(sys.modules.items()):
        if name.startswith(TARGET + "."):
            sys.modules[ALIAS + name[len(TARGET) :]] = module
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)

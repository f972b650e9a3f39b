"""Every paramiko 5.1 submodule, name by name: ``sshwire.<module>`` must exist and define every
public name paramiko's module defines, with the same signatures.

What paramiko's module *defines* is read from its source (top-level ``def``, ``class`` and
assignments; names it merely imports are not its own). For each function the parameter names,
kinds and simple defaults must match; for each class, every public method (and ``__init__``),
property, classmethod and staticmethod must exist with the same kind and signature, and every
public class attribute must exist with the same value when that value is a plain constant.

Two lists hold what is knowingly different; each entry is checked to still differ, so the
lists cannot go stale (an entry that starts matching fails the test until it is removed):

* ``KNOWN_GAP_MODULES``: modules other work is building (drop a name once it lands);
* ``ALLOWED``: deliberate or known differences, one line of reason each (docs/compat.md).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import paramiko
import pytest

import sshwire

# modules being built elsewhere (the SFTP, config and proxy issues): skipped while missing or
# incomplete, and an error once they match (then remove them here). config, proxy, sftp,
# sftp_attr, sftp_file, sftp_handle, sftp_server and sftp_si match already.
KNOWN_GAP_MODULES: set[str] = set()  # every paramiko submodule exists

# "module.name" (missing name) or "module.Class.member" (missing member or different
# signature/value) -> why it differs
ALLOWED: dict[str, str] = {
    # Windows-only helper: sshwire's pipe uses os.pipe()/socketpair on every platform
    "pipe.WindowsPipe": "Windows only; not provided",
}


def _own_names(module: ModuleType) -> list[str]:
    """Public names the module's own source defines at top level (not imports)."""
    source = Path(inspect.getfile(module)).read_text()
    names: list[str] = []

    def collect(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.append(node.name)
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    names.extend(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names.append(node.target.id)
            elif isinstance(node, ast.If | ast.Try):
                # import fallbacks and optional features: the names in either branch
                branches = [node.body, node.orelse]
                if isinstance(node, ast.Try):
                    branches += [h.body for h in node.handlers]
                for branch in branches:
                    collect(branch)

    collect(ast.parse(source).body)
    own = []
    for name in dict.fromkeys(names):
        value = getattr(module, name, None)
        if name.startswith("_") or isinstance(value, ModuleType):
            continue
        if name.endswith("_import_error") or name == "TYPE_CHECKING":
            continue  # optional-dependency bookkeeping
        own.append(name)
    return own


PARAMIKO_MODULES = sorted(
    name
    for name, value in vars(paramiko).items()
    if isinstance(value, ModuleType) and value.__name__ == f"paramiko.{name}"
)
PARAMIKO_MODULES += sorted(
    m.name
    for m in pkgutil.iter_modules(paramiko.__path__)
    if not m.name.startswith(("_", "win")) and m.name not in PARAMIKO_MODULES
)

_SIMPLE = (type(None), bool, int, float, str, bytes)


def _signature(obj: Any) -> list[tuple[str, str, Any]] | None:
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    out = []
    for p in sig.parameters.values():
        default = p.default
        if default is inspect.Parameter.empty:
            shown: Any = "<required>"
        elif isinstance(default, _SIMPLE):
            shown = default
        else:
            shown = f"<{type(default).__name__}>"
        out.append((p.name, p.kind.name, shown))
    return out


def _member_kind(cls: type, name: str) -> str:
    raw = inspect.getattr_static(cls, name)
    if isinstance(raw, property):
        return "property"
    if isinstance(raw, classmethod):
        return "classmethod"
    if isinstance(raw, staticmethod):
        return "staticmethod"
    if callable(raw):
        return "method"
    return "attribute"


def _class_problems(prefix: str, theirs: type, ours: type) -> dict[str, str]:
    problems: dict[str, str] = {}
    for name in vars(theirs):
        if name.startswith("_") and name != "__init__":
            continue
        key = f"{prefix}.{name}"
        if not hasattr(ours, name):
            problems[key] = "missing"
            continue
        kind = _member_kind(theirs, name)
        if kind == "attribute":
            expected = getattr(theirs, name)
            if isinstance(expected, _SIMPLE) and getattr(ours, name) != expected:
                problems[key] = f"value {getattr(ours, name)!r} != {expected!r}"
            continue
        mine = _member_kind(ours, name)
        if mine != kind:
            problems[key] = f"{mine}, paramiko has a {kind}"
            continue
        if kind == "property":
            continue
        expected_sig, got = _signature(getattr(theirs, name)), _signature(getattr(ours, name))
        if expected_sig is not None and got != expected_sig:
            problems[key] = f"signature {got} != {expected_sig}"
    return problems


@cache
def _problems(module_name: str) -> dict[str, str] | None:
    """Differences from paramiko's module (``None``: sshwire has no such module)."""
    theirs = importlib.import_module(f"paramiko.{module_name}")
    try:
        ours = importlib.import_module(f"sshwire.{module_name}")
    except ImportError:
        return None
    problems: dict[str, str] = {}
    for name in _own_names(theirs):
        key = f"{module_name}.{name}"
        value = getattr(theirs, name)
        if not hasattr(ours, name):
            problems[key] = "missing"
        elif inspect.isclass(value):
            problems.update(_class_problems(key, value, getattr(ours, name)))
        elif inspect.isfunction(value):
            expected, got = _signature(value), _signature(getattr(ours, name))
            if got != expected:
                problems[key] = f"signature {got} != {expected}"
    return problems


def _report(problems: dict[str, str]) -> str:
    return "\n".join(f"{key}: {why}" for key, why in sorted(problems.items()))


def test_known_modules_are_paramikos() -> None:
    for name in KNOWN_GAP_MODULES | {key.split(".")[0] for key in ALLOWED}:
        assert name in PARAMIKO_MODULES, name


@pytest.mark.parametrize("module_name", PARAMIKO_MODULES)
def test_submodule_matches_paramiko(module_name: str) -> None:
    problems = _problems(module_name)
    if module_name in KNOWN_GAP_MODULES:
        if problems is None:
            pytest.skip(f"sshwire.{module_name}: not built yet (KNOWN_GAP_MODULES)")
        if problems:
            pytest.skip(f"sshwire.{module_name}: in progress:\n{_report(problems)}")
        pytest.fail(f"sshwire.{module_name} matches paramiko now: remove it from KNOWN_GAP_MODULES")
    assert problems is not None, f"sshwire.{module_name} is missing"
    unexpected = {k: v for k, v in problems.items() if k not in ALLOWED}
    assert not unexpected, f"sshwire.{module_name} differs from paramiko:\n{_report(unexpected)}"


@pytest.mark.parametrize("entry", sorted(ALLOWED))
def test_allowed_difference_still_differs(entry: str) -> None:
    problems = _problems(entry.split(".")[0])
    assert problems is not None and entry in problems, (
        f"{entry} matches paramiko now: remove it from ALLOWED"
    )


def test_metadata_is_importlib_metadata() -> None:
    """``paramiko.metadata`` is :mod:`importlib.metadata` (imported in its ``__init__``)."""
    import importlib.metadata

    assert paramiko.metadata is importlib.metadata
    assert sshwire.metadata is importlib.metadata  # type: ignore[attr-defined]
    assert sshwire.metadata.version("paramiko") == paramiko.__version__  # type: ignore[attr-defined]

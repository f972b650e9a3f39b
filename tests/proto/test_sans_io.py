"""The core never does I/O, reads the clock, starts threads or draws randomness itself."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "src" / "sshwire" / "_proto"
FORBIDDEN_MODULES = {"socket", "threading", "select", "selectors", "time", "asyncio", "secrets"}
FORBIDDEN_ATTRS = {("os", "urandom"), ("random", "random"), ("os", "getrandom")}


def _core_files() -> list[Path]:
    return sorted(CORE.rglob("*.py"))


def test_core_files_exist() -> None:
    names = {p.name for p in _core_files()}
    assert {"framing.py", "constants.py", "errors.py"} <= names


@pytest.mark.parametrize("path", _core_files(), ids=lambda p: str(p.relative_to(CORE)))
def test_no_io_clock_threads_or_randomness(path: Path) -> None:
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                assert top not in FORBIDDEN_MODULES, f"{path.name} imports {alias.name}"
                assert top not in {"os", "random"}, f"{path.name} imports {alias.name}"
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            top = node.module.split(".")[0]
            assert top not in FORBIDDEN_MODULES, f"{path.name} imports from {node.module}"
            assert top not in {"os", "random"}, f"{path.name} imports from {node.module}"
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            assert (node.value.id, node.attr) not in FORBIDDEN_ATTRS, (
                f"{path.name} uses {node.value.id}.{node.attr}"
            )

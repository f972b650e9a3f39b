"""Every public name and method signature of paramiko 5.1.

The two lists hold names not built yet (empty now); the test fails while a listed name
exists, so a list can never go stale.
"""

from __future__ import annotations

import inspect

import paramiko
import pytest

import sshwire

KNOWN_MISSING: set[str] = set()  # every paramiko 5.1 name exists
KNOWN_MISSING_METHODS: set[str] = set()

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

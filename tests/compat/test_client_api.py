"""``sshwire.client`` against ``paramiko.client`` (5.1): names, signatures, policies.

Signatures must be equal for every public method of ``SSHClient`` and the host key policies.
The policies and the host key file handling are then run side by side on both libraries with
the same keys: messages, warnings, saved files and errors must be the same.
"""

from __future__ import annotations

import inspect
import warnings
from pathlib import Path
from typing import Any

import paramiko
import paramiko.client as pc
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

import sshwire.client as sc
from sshwire.hostkeys import HostKeys
from sshwire.pkey import PKey
from sshwire.util import ClosingContextManager

CLASSES = ["SSHClient", "MissingHostKeyPolicy", "AutoAddPolicy", "RejectPolicy", "WarningPolicy"]


def _public_methods(cls: type) -> dict[str, Any]:
    return {
        name: member
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_") or name == "__init__"
    }


@pytest.mark.parametrize("name", CLASSES)
def test_same_public_methods(name: str) -> None:
    theirs = _public_methods(getattr(pc, name))
    ours = _public_methods(getattr(sc, name))
    # __enter__/__exit__ come from ClosingContextManager in both
    assert sorted(ours) == sorted(theirs)


@pytest.mark.parametrize(
    ("cls", "method"),
    [(c, m) for c in CLASSES for m in sorted(_public_methods(getattr(pc, c)))],
)
def test_signatures_equal(cls: str, method: str) -> None:
    theirs = inspect.signature(getattr(getattr(pc, cls), method))
    ours = inspect.signature(getattr(getattr(sc, cls), method))
    assert [(p.name, p.kind, p.default) for p in ours.parameters.values()] == [
        (p.name, p.kind, p.default) for p in theirs.parameters.values()
    ]


def test_class_hierarchy() -> None:
    assert issubclass(sc.SSHClient, ClosingContextManager)
    for name in ("AutoAddPolicy", "RejectPolicy", "WarningPolicy"):
        assert issubclass(getattr(sc, name), sc.MissingHostKeyPolicy)
    assert [c.__name__ for c in sc.SSHClient.__mro__] == [c.__name__ for c in pc.SSHClient.__mro__]


def test_module_level_names() -> None:
    theirs = {n for n in vars(pc) if n in CLASSES}
    assert theirs == set(CLASSES)
    assert set(sc.__all__) == set(CLASSES)


# ---------------------------------------------------------------------------- behaviour


def _key_text(private: Any) -> str:
    return private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture(scope="module", params=["ed25519", "ecdsa"])
def key_pair(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[PKey, paramiko.PKey]:
    private = (
        ed25519.Ed25519PrivateKey.generate()
        if request.param == "ed25519"
        else ec.generate_private_key(ec.SECP256R1())
    )
    path = tmp_path_factory.mktemp("keys") / "key"
    path.write_text(_key_text(private))
    return PKey.from_path(path), paramiko.PKey.from_path(path)


class _Logged:
    """Stands in for a client in policy calls that only log."""

    def __init__(self) -> None:
        self.lines: list[tuple[int, str]] = []

    def _log(self, level: int, msg: str) -> None:
        self.lines.append((level, msg))


def test_default_policy_is_reject() -> None:
    assert type(sc.SSHClient()._policy).__name__ == type(pc.SSHClient()._policy).__name__


@pytest.mark.parametrize("name", ["AutoAddPolicy", "RejectPolicy", "WarningPolicy"])
def test_set_policy_accepts_class_or_instance(name: str) -> None:
    client = sc.SSHClient()
    client.set_missing_host_key_policy(getattr(sc, name))
    assert type(client._policy) is getattr(sc, name)
    instance = getattr(sc, name)()
    client.set_missing_host_key_policy(instance)
    assert client._policy is instance


def test_reject_policy_same_message_and_log(key_pair: tuple[PKey, paramiko.PKey]) -> None:
    ours_key, theirs_key = key_pair
    results = []
    for module, key in ((sc, ours_key), (pc, theirs_key)):
        client = _Logged()
        with pytest.raises(Exception) as info:
            module.RejectPolicy().missing_host_key(client, "[h.example]:2200", key)
        results.append((type(info.value).__name__, str(info.value), client.lines))
    assert results[0] == results[1]
    assert results[0][1] == "Server '[h.example]:2200' not found in known_hosts"


def test_warning_policy_same_warning(key_pair: tuple[PKey, paramiko.PKey]) -> None:
    ours_key, theirs_key = key_pair
    seen = []
    for module, key in ((sc, ours_key), (pc, theirs_key)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            module.WarningPolicy().missing_host_key(_Logged(), "h.example", key)
        assert len(caught) == 1
        seen.append((caught[0].category, str(caught[0].message)))
    assert seen[0] == seen[1]


def test_missing_host_key_policy_accepts_silently(key_pair: tuple[PKey, paramiko.PKey]) -> None:
    client = _Logged()
    sc.MissingHostKeyPolicy().missing_host_key(client, "h", key_pair[0])  # type: ignore[arg-type]
    assert client.lines == []


def test_auto_add_policy_same_files(key_pair: tuple[PKey, paramiko.PKey], tmp_path: Path) -> None:
    ours_key, theirs_key = key_pair
    other = ed25519.Ed25519PrivateKey.generate().public_key()
    other_line = other.public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ).decode()
    existing = f"old.example {other_line}\n"
    outputs = []
    for module, key in ((sc, ours_key), (pc, theirs_key)):
        path = tmp_path / f"known_{module.__name__}"
        path.write_text(existing)
        client = module.SSHClient()
        client.load_host_keys(str(path))
        logged: list[tuple[int, str]] = []
        client._log = lambda level, msg, logged=logged: logged.append((level, msg))
        module.AutoAddPolicy().missing_host_key(client, "[new.example]:2222", key)
        got = client.get_host_keys().lookup("[new.example]:2222")
        assert got is not None and got[key.get_name()] == key
        outputs.append((path.read_text(), logged))
    assert outputs[0] == outputs[1]
    assert outputs[0][0].startswith(existing)


def test_auto_add_policy_without_file(key_pair: tuple[PKey, paramiko.PKey]) -> None:
    client = sc.SSHClient()
    sc.AutoAddPolicy().missing_host_key(client, "h.example", key_pair[0])
    assert isinstance(client.get_host_keys(), HostKeys)
    assert len(client.get_host_keys()) == 1


def test_save_host_keys_rereads_loaded_file(
    key_pair: tuple[PKey, paramiko.PKey], tmp_path: Path
) -> None:
    ours_key, theirs_key = key_pair
    outputs = []
    for module, key in ((sc, ours_key), (pc, theirs_key)):
        loaded = tmp_path / f"loaded_{module.__name__}"
        loaded.write_text("")
        client = module.SSHClient()
        client.load_host_keys(str(loaded))
        client.get_host_keys().add("mine.example", key.get_name(), key)
        # another program adds a host to the file meanwhile: saving keeps it
        loaded.write_text(f"other.example {key.get_name()} {key.get_base64()}\n")
        out = tmp_path / f"saved_{module.__name__}"
        client.save_host_keys(str(out))
        outputs.append(out.read_text())
    assert outputs[0] == outputs[1]
    assert "other.example" in outputs[0] and "mine.example" in outputs[0]


def test_load_system_host_keys_default_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    for module in (sc, pc):
        client = module.SSHClient()
        client.load_system_host_keys()
        assert len(client.get_host_keys()) == 0
        with pytest.raises(FileNotFoundError):
            client.load_system_host_keys(str(tmp_path / "missing"))
        with pytest.raises(FileNotFoundError):
            client.load_host_keys(str(tmp_path / "missing"))


def test_system_host_keys_are_not_saved(
    key_pair: tuple[PKey, paramiko.PKey], tmp_path: Path
) -> None:
    key = key_pair[0]
    system = tmp_path / "system"
    system.write_text(f"sys.example {key.get_name()} {key.get_base64()}\n")
    client = sc.SSHClient()
    client.load_system_host_keys(str(system))
    assert len(client.get_host_keys()) == 0
    out = tmp_path / "out"
    client.save_host_keys(str(out))
    assert out.read_text() == ""


def test_close_without_connect_and_context_manager() -> None:
    for module in (sc, pc):
        with module.SSHClient() as client:
            assert client.get_transport() is None
        client.close()

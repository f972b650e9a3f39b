"""ServerInterface, InteractiveQuery, SubsystemHandler and the AUTH_* constants match paramiko."""

from __future__ import annotations

import inspect
import socket

import paramiko
import paramiko.server
import pytest

import sshwire
import sshwire.server


def _public_methods(cls: type) -> dict[str, object]:
    return {
        name: member
        for name, member in vars(cls).items()
        if callable(member) and (not name.startswith("_") or name == "__init__")
    }


@pytest.mark.parametrize("name", ["ServerInterface", "InteractiveQuery", "SubsystemHandler"])
def test_same_methods_and_signatures(name: str) -> None:
    ours = _public_methods(getattr(sshwire.server, name))
    theirs = _public_methods(getattr(paramiko.server, name))
    assert sorted(ours) == sorted(theirs)
    for method, func in theirs.items():
        assert list(inspect.signature(ours[method]).parameters) == list(  # type: ignore[arg-type]
            inspect.signature(func).parameters  # type: ignore[arg-type]
        ), method


def test_constants() -> None:
    for name in ("AUTH_SUCCESSFUL", "AUTH_PARTIALLY_SUCCESSFUL", "AUTH_FAILED"):
        assert getattr(sshwire, name) == getattr(paramiko, name)
    for name in (
        "OPEN_SUCCEEDED",
        "OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED",
        "OPEN_FAILED_CONNECT_FAILED",
        "OPEN_FAILED_UNKNOWN_CHANNEL_TYPE",
        "OPEN_FAILED_RESOURCE_SHORTAGE",
    ):
        assert getattr(sshwire, name) == getattr(paramiko, name)


def test_defaults_refuse_like_paramiko() -> None:
    ours, theirs = sshwire.ServerInterface(), paramiko.ServerInterface()
    a, b = socket.socketpair()
    try:
        chan = object()
        calls: list[tuple[str, tuple[object, ...]]] = [
            ("check_channel_request", ("session", 0)),
            ("get_allowed_auths", ("u",)),
            ("check_auth_none", ("u",)),
            ("check_auth_password", ("u", "p")),
            ("check_auth_publickey", ("u", None)),
            ("check_auth_interactive", ("u", "")),
            ("check_auth_interactive_response", (["x"],)),
            ("check_port_forward_request", ("127.0.0.1", 0)),
            ("cancel_port_forward_request", ("127.0.0.1", 0)),
            ("check_global_request", ("x", None)),
            ("check_channel_pty_request", (chan, b"vt100", 80, 24, 0, 0, b"")),
            ("check_channel_shell_request", (chan,)),
            ("check_channel_exec_request", (chan, b"true")),
            ("check_channel_window_change_request", (chan, 80, 24, 0, 0)),
            ("check_channel_x11_request", (chan, False, "MIT", b"c", 0)),
            ("check_channel_forward_agent_request", (chan,)),
            ("check_channel_direct_tcpip_request", (0, ("a", 1), ("b", 2))),
            ("check_channel_env_request", (chan, b"A", b"1")),
            ("get_banner", ()),
        ]
        for name, args in calls:
            assert getattr(ours, name)(*args) == getattr(theirs, name)(*args), name
    finally:
        a.close()
        b.close()


def test_interactive_query() -> None:
    ours = sshwire.InteractiveQuery("n", "i", "first", ("second", False))
    theirs = paramiko.InteractiveQuery("n", "i", "first", ("second", False))
    assert (ours.name, ours.instructions, ours.prompts) == (
        theirs.name,
        theirs.instructions,
        theirs.prompts,
    )
    ours.add_prompt("third")
    theirs.add_prompt("third")
    assert ours.prompts == theirs.prompts

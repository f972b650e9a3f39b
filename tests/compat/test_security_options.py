"""``disabled_algorithms`` and ``SecurityOptions``: the same calls on sshwire and paramiko 5.1.

Both transports are built on one end of a ``socket.socketpair()`` and never started. The
libraries' default lists differ (each has its own algorithms and order), so the comparisons are
about behaviour: which names a filter removes, which values a setter takes, and which exception
(type, then message) a bad value raises.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

paramiko = pytest.importorskip("paramiko")

from sshwire.transport import Transport  # noqa: E402

Factory = Callable[..., Any]

# kind of disabled_algorithms -> (SecurityOptions property or None, private preference attribute)
KINDS = {
    "ciphers": ("ciphers", "_preferred_ciphers"),
    "macs": ("digests", "_preferred_macs"),
    "keys": ("key_types", "_preferred_keys"),
    "pubkeys": (None, "_preferred_pubkeys"),
    "kex": ("kex", "_preferred_kex"),
    "compression": ("compression", "_preferred_compression"),
}
# names both libraries know, to disable or to set
DISABLE = {
    "ciphers": ["aes128-ctr", "aes256-gcm@openssh.com"],
    "macs": ["hmac-sha2-256", "hmac-sha2-512-etm@openssh.com"],
    "keys": ["ecdsa-sha2-nistp384", "rsa-sha2-256"],
    "pubkeys": ["ssh-ed25519", "rsa-sha2-512"],
    "kex": ["curve25519-sha256@libssh.org", "diffie-hellman-group14-sha256"],
    "compression": ["none"],
}
SETTABLE = {
    "ciphers": ("aes256-ctr", "aes128-gcm@openssh.com", "aes128-cbc"),
    "digests": ("hmac-sha2-512", "hmac-sha2-256-etm@openssh.com", "hmac-sha1"),
    "key_types": ("ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-512"),
    "kex": ("ecdh-sha2-nistp256", "diffie-hellman-group16-sha512"),
    "compression": ("zlib@openssh.com", "none"),
}
PROPERTIES = list(SETTABLE)


@pytest.fixture(params=["sshwire", "paramiko"])
def make(request: pytest.FixtureRequest) -> Iterator[Factory]:
    """A factory for an unstarted Transport of either library; closes everything after."""
    cls = Transport if request.param == "sshwire" else paramiko.Transport
    sockets: list[socket.socket] = []
    made: list[Any] = []

    def factory(**kw: Any) -> Any:
        a, b = socket.socketpair()
        sockets.extend((a, b))
        t = cls(a, **kw)
        made.append(t)
        return t

    yield factory
    for t in made:
        t.close()  # paramiko's close() is a no-op on an unstarted transport
    for s in sockets:
        s.close()


@pytest.fixture
def both() -> Iterator[tuple[Any, Any]]:
    """One unstarted transport of each library, for side-by-side comparisons."""
    pairs = [socket.socketpair(), socket.socketpair()]
    ours, theirs = Transport(pairs[0][0]), paramiko.Transport(pairs[1][0])
    yield ours, theirs
    ours.close()
    for a, b in pairs:
        a.close()
        b.close()


def _set(t: Any, prop: str, value: object) -> tuple[str, str]:
    """Assign ``value`` to a SecurityOptions property; the exception type and message."""
    try:
        setattr(t.get_security_options(), prop, value)
    except Exception as exc:
        return type(exc).__name__, str(exc)
    return "ok", ""


# -------------------------------------------------------------------- disabled_algorithms


@pytest.mark.parametrize("kind", list(KINDS))
def test_disabled_names_are_filtered_out_exactly(make: Factory, kind: str) -> None:
    disabled = DISABLE[kind]
    t = make(disabled_algorithms={kind: disabled})
    preferred = getattr(t, f"preferred_{kind}")
    configured = getattr(t, KINDS[kind][1])
    assert isinstance(preferred, tuple)
    assert not set(preferred) & set(disabled)
    expected = tuple(n for n in configured if n not in disabled)
    if kind == "keys":
        # both derive the certificate forms from the plain host key list
        expected += tuple(f"{n}-cert-v01@openssh.com" for n in expected)
    assert preferred == expected
    # the other kinds are untouched
    for other in KINDS:
        if other not in (kind, "keys"):
            assert getattr(t, f"preferred_{other}") == getattr(t, KINDS[other][1])


@pytest.mark.parametrize("kind", list(KINDS))
def test_disabling_unknown_names_is_harmless(make: Factory, kind: str) -> None:
    plain = make()
    t = make(disabled_algorithms={kind: ["no-such-algorithm@example.com"]})
    assert getattr(t, f"preferred_{kind}") == getattr(plain, f"preferred_{kind}")


def test_disabled_accepts_tuples(make: Factory) -> None:
    t = make(disabled_algorithms={"ciphers": ("aes128-ctr",), "kex": ("ecdh-sha2-nistp256",)})
    assert "aes128-ctr" not in t.preferred_ciphers
    assert "ecdh-sha2-nistp256" not in t.preferred_kex


def test_disabled_applies_after_setter(make: Factory) -> None:
    t = make(disabled_algorithms={"ciphers": ["aes128-ctr"], "kex": ["ecdh-sha2-nistp256"]})
    opts = t.get_security_options()
    opts.ciphers = ("aes256-ctr", "aes128-ctr")
    opts.kex = ["ecdh-sha2-nistp256", "diffie-hellman-group16-sha512"]
    assert opts.ciphers == ("aes256-ctr", "aes128-ctr")  # the getter is unfiltered
    assert t.preferred_ciphers == ("aes256-ctr",)
    assert t.preferred_kex == ("diffie-hellman-group16-sha512",)


def test_filtering_agrees_on_shared_names(both: tuple[Any, Any]) -> None:
    """With the same dict, the names both libraries share survive or vanish together."""
    disabled = {kind: DISABLE[kind] for kind in KINDS}
    pairs = [socket.socketpair(), socket.socketpair()]
    ours = Transport(pairs[0][0], disabled_algorithms=disabled)
    theirs = paramiko.Transport(pairs[1][0], disabled_algorithms=disabled)
    try:
        for kind in ("ciphers", "macs", "kex", "pubkeys"):
            a, b = getattr(ours, f"preferred_{kind}"), getattr(theirs, f"preferred_{kind}")
            plain_a = set(getattr(both[0], f"preferred_{kind}"))
            plain_b = set(getattr(both[1], f"preferred_{kind}"))
            shared = plain_a & plain_b
            assert set(a) & shared == set(b) & shared == shared - set(DISABLE[kind]), kind
    finally:
        ours.close()
        for a, b in pairs:
            a.close()
            b.close()


# -------------------------------------------------------------------- keys and certificates


def test_disabling_a_key_type_drops_its_certificate_form(both: tuple[Any, Any]) -> None:
    results = []
    pairs = [socket.socketpair(), socket.socketpair()]
    try:
        for cls, (a, _) in zip((Transport, paramiko.Transport), pairs):
            t = cls(a, disabled_algorithms={"keys": ["ssh-ed25519"]})
            results.append("ssh-ed25519-cert-v01@openssh.com" in t.preferred_keys)
            if cls is Transport:
                t.close()
    finally:
        for a, b in pairs:
            a.close()
            b.close()
    assert results == [False, False]


def test_key_types_setter_implies_certificate_form(both: tuple[Any, Any]) -> None:
    for t in both:
        t.get_security_options().key_types = ("ssh-ed25519",)
    assert both[0].preferred_keys == both[1].preferred_keys


# -------------------------------------------------------------------- setters


@pytest.mark.parametrize("prop", PROPERTIES)
@pytest.mark.parametrize("container", [tuple, list], ids=["tuple", "list"])
def test_setter_accepts_tuple_and_list(make: Factory, prop: str, container: type) -> None:
    opts = make().get_security_options()
    value = SETTABLE[prop]
    setattr(opts, prop, container(value))
    got = getattr(opts, prop)
    assert isinstance(got, tuple) and got == value


@pytest.mark.parametrize("prop", PROPERTIES)
def test_setter_accepts_empty(make: Factory, prop: str) -> None:
    opts = make().get_security_options()
    setattr(opts, prop, ())
    assert getattr(opts, prop) == ()


BAD_TYPES = [
    pytest.param("aes128-ctr", id="str"),
    pytest.param(None, id="None"),
    pytest.param(5, id="int"),
    pytest.param({"aes128-ctr"}, id="set"),
    pytest.param(iter(["aes128-ctr"]), id="iterator"),
    pytest.param({"aes128-ctr": 1}, id="dict"),
]


@pytest.mark.parametrize("prop", PROPERTIES)
@pytest.mark.parametrize("value", BAD_TYPES)
def test_setter_rejects_other_types(make: Factory, prop: str, value: object) -> None:
    opts = make().get_security_options()
    before = getattr(opts, prop)
    with pytest.raises(TypeError):
        setattr(opts, prop, value)
    assert getattr(opts, prop) == before


@pytest.mark.parametrize("prop", PROPERTIES)
def test_setter_rejects_unknown_names(make: Factory, prop: str) -> None:
    opts = make().get_security_options()
    before = getattr(opts, prop)
    with pytest.raises(ValueError):
        setattr(opts, prop, (SETTABLE[prop][0], "no-such-algorithm@example.com"))
    assert getattr(opts, prop) == before  # nothing half-applied


@pytest.mark.parametrize("prop", PROPERTIES)
def test_setter_exception_types_match_paramiko(both: tuple[Any, Any], prop: str) -> None:
    values: list[object] = ["x", None, 3, {"x"}, ("no-such-algorithm",), [SETTABLE[prop][0]]]
    outcomes = [[_set(t, prop, v)[0] for v in values] for t in both]
    assert outcomes[0] == outcomes[1]


# -- where sshwire differs from paramiko 5.1


@pytest.mark.parametrize("prop", PROPERTIES)
def test_unknown_name_message_matches_paramiko(both: tuple[Any, Any], prop: str) -> None:
    outcomes = [_set(t, prop, ("no-such-algorithm",)) for t in both]
    assert outcomes[0] == outcomes[1] == ("ValueError", "unknown cipher")


@pytest.mark.parametrize("prop", PROPERTIES)
def test_bad_type_message_matches_paramiko(both: tuple[Any, Any], prop: str) -> None:
    outcomes = [_set(t, prop, "x") for t in both]
    assert outcomes[0] == outcomes[1] == ("TypeError", "expected tuple or list")


@pytest.mark.parametrize(
    "value", [(1,), (b"aes128-ctr",), ("aes128-ctr", None)], ids=["int", "bytes", "None"]
)
def test_non_str_names_raise_value_error(both: tuple[Any, Any], value: tuple[object, ...]) -> None:
    outcomes = [_set(t, "ciphers", value) for t in both]
    assert outcomes[1][0] == "ValueError"
    assert outcomes[0][0] == outcomes[1][0]


class _Names(list):  # type: ignore[type-arg]
    pass


def test_list_subclass_is_rejected_like_paramiko(both: tuple[Any, Any]) -> None:
    outcomes = [_set(t, "ciphers", _Names(["aes256-ctr"])) for t in both]
    assert outcomes[1][0] == "TypeError"
    assert outcomes[0][0] == outcomes[1][0]

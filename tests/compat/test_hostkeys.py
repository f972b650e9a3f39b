"""Differential tests: ``sshwire.hostkeys`` against ``paramiko.hostkeys`` (5.1).

Both libraries load the same known_hosts text (plain, hashed, ``[host]:port``, several hosts
per line, comments, blank lines, bad lines, unknown key types) and must agree on lookups,
checks, iteration order, ``save()`` output and the exceptions raised. Hypothesis builds the
files and then drives both objects through the same mutations.

The last section covers what sshwire adds (``@cert-authority`` / ``@revoked``) with
certificates built by ``cryptography``; ``tests/interop/test_known_hosts_openssh.py`` does the
same with ``ssh-keygen``.
"""

from __future__ import annotations

import base64
import functools
import inspect
import pickle
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paramiko
import paramiko.hostkeys as phk
import paramiko.util
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sshwire import hostkeys as shk
from sshwire import util
from sshwire.ecdsakey import ECDSAKey
from sshwire.pkey import PKey, PublicBlob

# --------------------------------------------------------------------------------------------
# Keys: the same public blob loaded by both libraries


@dataclass(frozen=True)
class KeyPair:
    """One public key as ``(type, base64)`` plus the key object of each library."""

    key_type: str
    b64: str
    ours: PKey
    theirs: paramiko.PKey

    def line(self, hosts: str, sep: str = " ") -> str:
        return f"{hosts}{sep}{self.key_type}{sep}{self.b64}"


def _pair(public: Any) -> KeyPair:
    text = public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    key_type, b64 = text.decode("ascii").split()[:2]
    blob = base64.b64decode(b64)
    return KeyPair(
        key_type,
        b64,
        PKey.from_type_string(key_type, blob),
        paramiko.PKey.from_type_string(key_type, blob),
    )


@functools.cache
def key_pool() -> tuple[KeyPair, ...]:
    """Two Ed25519 keys, one key per NIST curve and one RSA key (made once per run)."""
    publics: list[Any] = [
        ed25519.Ed25519PrivateKey.generate().public_key(),
        ed25519.Ed25519PrivateKey.generate().public_key(),
        ec.generate_private_key(ec.SECP256R1()).public_key(),
        ec.generate_private_key(ec.SECP384R1()).public_key(),
        ec.generate_private_key(ec.SECP521R1()).public_key(),
        rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key(),
    ]
    return tuple(_pair(p) for p in publics)


def ed_a() -> KeyPair:
    return key_pool()[0]


def ed_b() -> KeyPair:
    return key_pool()[1]


def p256() -> KeyPair:
    return key_pool()[2]


def p384() -> KeyPair:
    return key_pool()[3]


def rsa_key() -> KeyPair:
    return key_pool()[5]


SALTS = [base64.b64encode(bytes([i]) * 20).decode("ascii") for i in range(1, 4)]
NAMES = [
    "a.example",
    "b.example",
    "10.0.0.1",
    "[a.example]:2222",
    "[::1]:22",
    "A.EXAMPLE",
    "*.example",
    "!b.example",
    "c?.example",
    "",
]


def hashed(name: str, salt_index: int = 0) -> str:
    return phk.HostKeys.hash_host(name, SALTS[salt_index])


# --------------------------------------------------------------------------------------------
# Comparing the two objects


def outcome(fn: Callable[[], Any]) -> tuple[str, Any]:
    """``("ok", value)`` or ``("raise", exception class name)``."""
    try:
        return ("ok", fn())
    except Exception as exc:
        return ("raise", type(exc).__name__)


def sub_view(sub: Any) -> Any:
    """A lookup result as plain data: ``None`` or ``[(type, base64), ...]`` in order."""
    if sub is None:
        return None
    return [(t, sub[t].get_base64()) for t in sub.keys()]  # noqa: SIM118 - keys() on purpose


def queries(hk: Any) -> list[str]:
    """Host names worth asking about: every known name, the pool names and their forms."""
    found = [str(n) for n in hk]
    return list(dict.fromkeys([*found, *NAMES, "unknown.example", "[a.example]:22"]))


def snapshot(hk: Any, path: Path, pool: tuple[KeyPair, ...], ours: bool) -> dict[str, Any]:
    """Everything observable through the public API, as plain data."""
    snap: dict[str, Any] = {
        "keys": outcome(lambda: list(hk.keys())),
        "iter": outcome(lambda: list(hk)),
        "len": outcome(lambda: len(hk)),
        "values": outcome(lambda: [sub_view(v) for v in hk.values()]),
    }
    for name in queries(hk):
        snap[f"lookup {name!r}"] = outcome(lambda name=name: sub_view(hk.lookup(name)))
        snap[f"in {name!r}"] = outcome(lambda name=name: name in hk)
        for i, pair in enumerate(pool):
            key = pair.ours if ours else pair.theirs
            snap[f"check {name!r} {i}"] = outcome(lambda name=name, key=key: hk.check(name, key))
    out = path / ("ours.txt" if ours else "theirs.txt")
    snap["save"] = outcome(lambda: (hk.save(str(out)), out.read_text())[1])
    return snap


def assert_same(ours: Any, theirs: Any, tmp_path: Path, *, compare_save: bool = True) -> None:
    pool = key_pool()
    mine = snapshot(ours, tmp_path, pool, True)
    reference = snapshot(theirs, tmp_path, pool, False)
    if not compare_save:
        del mine["save"], reference["save"]
    assert mine == reference


def load_both(text: str, tmp_path: Path) -> tuple[Any, Any]:
    """Load *text* with both libraries: the two objects, or the two exception outcomes."""
    path = tmp_path / "known_hosts"
    path.write_text(text, encoding="utf-8")
    ours = outcome(lambda: shk.HostKeys(str(path)))
    theirs = outcome(lambda: phk.HostKeys(str(path)))
    if ours[0] == "raise" or theirs[0] == "raise":
        assert ours == theirs, text
        return None, None
    return ours[1], theirs[1]


def check_text(text: str, tmp_path: Path) -> tuple[Any, Any]:
    ours, theirs = load_both(text, tmp_path)
    if ours is not None:
        assert_same(ours, theirs, tmp_path)
    return ours, theirs


# --------------------------------------------------------------------------------------------
# Signatures and names

HOSTKEYS_METHODS = [
    "__init__",
    "add",
    "load",
    "save",
    "lookup",
    "check",
    "clear",
    "__iter__",
    "__len__",
    "__getitem__",
    "__delitem__",
    "__setitem__",
    "keys",
    "values",
    "hash_host",
]


def _same_parameters(ours: Any, theirs: Any) -> None:
    """Same parameter names, kinds and defaults (annotations are ours to add)."""
    mine = inspect.signature(ours).parameters
    reference = inspect.signature(theirs).parameters
    assert list(mine) == list(reference)
    for name, param in reference.items():
        assert mine[name].kind == param.kind, name
        assert mine[name].default == param.default, name


@pytest.mark.parametrize("name", HOSTKEYS_METHODS)
def test_hostkeys_method_signatures_match(name: str) -> None:
    _same_parameters(getattr(shk.HostKeys, name), getattr(phk.HostKeys, name))


def test_hash_host_is_a_staticmethod() -> None:
    assert isinstance(inspect.getattr_static(shk.HostKeys, "hash_host"), staticmethod)


@pytest.mark.parametrize("name", ["__init__", "from_line", "to_line"])
def test_hostkeyentry_signatures_match(name: str) -> None:
    _same_parameters(getattr(shk.HostKeyEntry, name), getattr(phk.HostKeyEntry, name))


def test_other_signatures_match() -> None:
    _same_parameters(shk.InvalidHostKey.__init__, phk.InvalidHostKey.__init__)
    _same_parameters(util.load_host_keys, paramiko.util.load_host_keys)
    assert isinstance(inspect.getattr_static(shk.HostKeyEntry, "from_line"), classmethod)


def test_class_relations_match() -> None:
    from collections.abc import MutableMapping

    assert issubclass(shk.HostKeys, MutableMapping)
    assert issubclass(phk.HostKeys, MutableMapping)
    # InvalidHostKey is not an SSHException in paramiko, so load() lets it through.
    assert not issubclass(phk.InvalidHostKey, paramiko.SSHException)
    assert not issubclass(shk.InvalidHostKey, paramiko.SSHException)
    assert issubclass(shk.InvalidHostKey, Exception)


# --------------------------------------------------------------------------------------------
# hash_host


@pytest.mark.parametrize("name", ["a.example", "[a.example]:2222", "10.0.0.1", "ünï", "", "|1|x"])
@pytest.mark.parametrize("salt_index", range(3))
def test_hash_host_with_fixed_salt_matches(name: str, salt_index: int) -> None:
    salt = SALTS[salt_index]
    expected = phk.HostKeys.hash_host(name, salt)
    assert shk.HostKeys.hash_host(name, salt) == expected
    # the salt may also be given as a whole |1|salt|hash string
    assert shk.HostKeys.hash_host(name, expected) == expected
    assert phk.HostKeys.hash_host(name, expected) == expected
    # bytes host names are accepted too
    assert shk.HostKeys.hash_host(name.encode("utf-8"), salt) == expected


def test_hash_host_random_salt() -> None:
    first = shk.HostKeys.hash_host("a.example")
    second = shk.HostKeys.hash_host("a.example")
    assert first != second
    for value in (first, second):
        assert value.startswith("|1|")
        _, _, salt, digest = value.split("|")
        assert len(base64.b64decode(salt)) == 20
        assert len(base64.b64decode(digest)) == 20
        assert phk.HostKeys.hash_host("a.example", value) == value


@pytest.mark.parametrize(
    "salt",
    [
        "AAAA",
        "|1|AAAA|x",
        "|1|",
        "!!!",
        base64.b64encode(b"x" * 21).decode(),
        " " + SALTS[0] + "\n",
        b"|1|AAAA".decode() + "=",
    ],
)
def test_hash_host_odd_salts_match(salt: str) -> None:
    assert outcome(lambda: shk.HostKeys.hash_host("h", salt)) == outcome(
        lambda: phk.HostKeys.hash_host("h", salt)
    )


def test_hash_host_bytes_salt_fails_like_paramiko() -> None:
    salt = SALTS[0].encode()
    assert outcome(lambda: shk.HostKeys.hash_host("h", salt)) == outcome(  # type: ignore[arg-type]
        lambda: phk.HostKeys.hash_host("h", salt)
    )


# --------------------------------------------------------------------------------------------
# HostKeyEntry


def entry_view(entry: Any) -> Any:
    if entry is None:
        return None
    key = entry.key
    return (
        entry.hostnames,
        None if key is None else (key.get_name(), key.get_base64()),
        entry.valid,
        entry.to_line(),
        repr(entry),
    )


def entry_lines() -> list[str]:
    ed, ec256, r = ed_a(), p256(), rsa_key()
    return [
        ed.line("a,b"),
        ed.line("a,b") + " a comment  with spaces",
        ed.line("a,b", "\t"),
        ed.line("a,b") + "\n",
        ed.line("a,b  "),
        ed.line("a,,b"),
        ed.line(",") + "\r",
        ed.line(""),
        " " + ed.line("a"),
        "#" + ed.line("a"),
        f"a {ed.key_type}",
        "a",
        "",
        f"a ssh-dss {ed.b64}",
        f"a sk-ssh-ed25519@openssh.com {ed.b64}",
        f"a ssh-ed25519-cert-v01@openssh.com {ed.b64}",
        f"a {ec256.key_type} {ed.b64}",
        f"a ssh-rsa {ed.b64}",
        f"a rsa-sha2-256 {r.b64}",
        f"a rsa-sha2-512-cert-v01@openssh.com {r.b64}",
        f"a ecdsa-sha2-nistp384 {ec256.b64}",
        f"a {ed.key_type} {ed.b64}===",
        f"a {ed.key_type} {ed.b64[:-2]}",
        f"a {ed.key_type} !!!!",
        f"a {ed.key_type} AAAA",
        f"a {ed.key_type} ",
        f"@cert-authority a {ed.key_type} {ed.b64}",
        f"@revoked a {ed.key_type} {ed.b64}",
        f"@revoked a {ed.key_type}",
        f"{hashed('a')} {ed.key_type} {ed.b64}",
        f"[a]:2222,[b]:22 {r.key_type} {r.b64}",
    ]


def test_entry_from_line_matches() -> None:
    for lineno, line in enumerate(entry_lines(), 1):
        for n in (None, lineno):
            mine = outcome(lambda line=line, n=n: entry_view(shk.HostKeyEntry.from_line(line, n)))
            theirs = outcome(lambda line=line, n=n: entry_view(phk.HostKeyEntry.from_line(line, n)))
            assert mine == theirs, line


def test_invalid_host_key_matches() -> None:
    line = f"a  {ed_a().key_type} {ed_a().b64}"
    with pytest.raises(shk.InvalidHostKey) as ours:
        shk.HostKeyEntry.from_line(line)
    with pytest.raises(phk.InvalidHostKey) as theirs:
        phk.HostKeyEntry.from_line(line)
    assert ours.value.line == theirs.value.line == line
    assert type(ours.value.exc) is type(theirs.value.exc)
    assert str(ours.value.exc) == str(theirs.value.exc)
    assert ours.value.args[0] == theirs.value.args[0]
    assert len(ours.value.args) == len(theirs.value.args) == 2
    assert str(shk.InvalidHostKey("l", ValueError("x"))) == str(
        phk.InvalidHostKey("l", ValueError("x"))
    )
    assert repr(shk.InvalidHostKey("l", ValueError("x"))) == repr(
        phk.InvalidHostKey("l", ValueError("x"))
    )
    again = pickle.loads(pickle.dumps(shk.InvalidHostKey("l", ValueError("x"))))
    assert again.line == "l"
    assert str(again.exc) == "x"


def test_entry_constructor_matches() -> None:
    pair = ed_a()
    cases: list[tuple[Any, bool]] = [(None, False), (["a"], False), (None, True), (["a"], True)]
    for names, with_key in cases:
        mine = shk.HostKeyEntry(names, pair.ours if with_key else None)
        theirs = phk.HostKeyEntry(names, pair.theirs if with_key else None)
        assert entry_view(mine) == entry_view(theirs)
    assert entry_view(shk.HostKeyEntry()) == entry_view(phk.HostKeyEntry())
    assert shk.HostKeyEntry(["a"], pair.ours).marker is None


# --------------------------------------------------------------------------------------------
# Loading files: fixed cases


def test_plain_hashed_port_and_multi_host_file(tmp_path: Path) -> None:
    ed, other, ec256, ec384, r = ed_a(), ed_b(), p256(), p384(), rsa_key()
    text = "\n".join(
        [
            "# known hosts written by hand",
            "",
            ed.line("a.example,10.0.0.1"),
            ec256.line("a.example"),
            r.line("[a.example]:2222") + " comment",
            other.line(hashed("b.example")),
            ec384.line(hashed("b.example", 1)),
            ed.line(hashed("[b.example]:2200", 2)),
            "   # indented comment",
            "   ",
            ed.line("c.example,d.example,e.example", "\t"),
            r.line("*.example,!b.example"),
            "",
        ]
    )
    ours, _ = check_text(text, tmp_path)
    assert ours.lookup("b.example") is not None
    assert ours.lookup("*.example") is not None
    assert ours.lookup("z.example") is None  # no wildcard matching, as in paramiko
    assert ours.check("b.example", other.ours)
    assert ours.check("[b.example]:2200", ed.ours)
    assert not ours.check("b.example", ed.ours)


def test_crlf_and_whitespace_lines(tmp_path: Path) -> None:
    ed, ec256 = ed_a(), p256()
    text = f"{ed.line('a')}\r\n\t{ec256.line('b')}   \r\n\r\n"
    check_text(text, tmp_path)


def test_bad_and_unknown_lines_are_skipped(tmp_path: Path) -> None:
    ed, ec256, r = ed_a(), p256(), rsa_key()
    text = "\n".join(
        [
            f"a ssh-dss {ed.b64}",
            f"a sk-ssh-ed25519@openssh.com {ed.b64}",
            f"b {ed.key_type}",
            "c",
            f"d {ec256.key_type} {ed.b64}",  # key class rejects the blob
            f"e {ed.key_type} !!!!",  # decodes to nothing
            f"f rsa-sha2-256 {r.b64}",  # an RSA algorithm name is accepted as the type
            f"g ecdsa-sha2-nistp521 {ec256.b64}",  # the curve comes from the blob
            ed.line("h"),
        ]
    )
    ours, _ = check_text(text, tmp_path)
    assert list(ours) == ["f", "g", "h"]


@pytest.mark.parametrize(
    "bad",
    [
        "a  ssh-ed25519 {b64}",  # two spaces: the key field is the type name
        "a ssh-ed25519 {b64_cut}",
        "|1|AAAA|BBBB ssh-ed25519 {b64}\na ssh-ed25519 {b64}",  # hash with a short salt
        "x ssh-ed25519 {b64}\n|1|AAAA|BBBB ssh-ed25519 {b64}",
    ],
)
def test_failures_while_loading_match(bad: str, tmp_path: Path) -> None:
    ed = ed_a()
    text = bad.format(b64=ed.b64, b64_cut=ed.b64[:-2]) + "\n" + ed.line("ok") + "\n"
    ours, theirs = load_both(text, tmp_path)
    if ours is not None:
        assert_same(ours, theirs, tmp_path)
        # a broken hash makes later lookups fail, identically
        assert outcome(lambda: ours.lookup("zz")) == outcome(lambda: theirs.lookup("zz"))


def test_invalid_line_raises_invalid_host_key_from_load(tmp_path: Path) -> None:
    path = tmp_path / "kh"
    path.write_text(ed_a().line("ok") + "\n" + f"a  {ed_a().key_type} {ed_a().b64}\n")
    with pytest.raises(shk.InvalidHostKey):
        shk.HostKeys(str(path))
    with pytest.raises(phk.InvalidHostKey):
        phk.HostKeys(str(path))


def test_duplicate_names_are_dropped_like_paramiko(tmp_path: Path) -> None:
    # paramiko drops already-known names while iterating the same list, which skips the name
    # after each dropped one; the resulting entries must be identical.
    ed, ec256 = ed_a(), p256()
    text = "\n".join(
        [
            ed.line("a,b,c,d"),
            ed.line("a,b,c,d"),
            ed.line("d,c,b,a"),
            ed.line("a,a,x"),
            ec256.line("a,b"),
            ed.line("a"),
            "",
        ]
    )
    ours, theirs = check_text(text, tmp_path)
    assert [(e.hostnames, e.key.get_name()) for e in ours._entries] == [
        (e.hostnames, e.key.get_name()) for e in theirs._entries
    ]


def test_load_appends_and_missing_file(tmp_path: Path) -> None:
    ed, ec256 = ed_a(), p256()
    first = tmp_path / "one"
    second = tmp_path / "two"
    first.write_text(ed.line("a,b") + "\n")
    second.write_text(ed.line("b,c") + "\n" + ec256.line("a") + "\n")
    ours, theirs = shk.HostKeys(), phk.HostKeys()
    for hk in (ours, theirs):
        hk.load(str(first))
        hk.load(second)
    assert_same(ours, theirs, tmp_path)
    for name in ("missing", ""):
        assert outcome(lambda name=name: shk.HostKeys(str(tmp_path / name))) == outcome(
            lambda name=name: phk.HostKeys(str(tmp_path / name))
        )
    assert outcome(lambda: shk.HostKeys("")) == outcome(lambda: phk.HostKeys(""))


def test_load_host_keys_util(tmp_path: Path) -> None:
    path = tmp_path / "kh"
    path.write_text(ed_a().line("a,b") + "\n" + p256().line("[a]:2222") + "\n")
    ours = util.load_host_keys(str(path))
    theirs = paramiko.util.load_host_keys(str(path))
    assert isinstance(ours, shk.HostKeys)
    assert_same(ours, theirs, tmp_path)


def test_save_round_trip(tmp_path: Path) -> None:
    ed, other, ec256, r = ed_a(), ed_b(), p256(), rsa_key()
    text = "\n".join(
        [
            "# a comment that save() drops",
            ed.line("a,b") + " trailing comment",
            other.line(hashed("c")),
            ec256.line("[a]:2222", "\t"),
            f"d rsa-sha2-512 {r.b64}",
            "",
        ]
    )
    ours, theirs = check_text(text, tmp_path)
    saved = tmp_path / "saved"
    ours.save(str(saved))
    expected = tmp_path / "expected"
    theirs.save(str(expected))
    assert saved.read_text() == expected.read_text()
    reloaded_ours, _ = check_text(saved.read_text(), tmp_path)
    assert list(reloaded_ours) == list(ours)


def test_documented_differences_for_broken_blobs(tmp_path: Path) -> None:
    # docs/compat.md: paramiko pads a truncated blob into a wrong key, and lets a
    # UnicodeDecodeError escape for a blob whose type string is not UTF-8; sshwire skips both.
    ed = ed_a()
    truncated = base64.b64encode(base64.b64decode(ed.b64)[:-3]).decode()
    not_utf8 = base64.b64encode(b"\x00\x00\x00\x04\xff\xfe\xfd\xfc" + bytes(40)).decode()
    path = tmp_path / "kh"
    path.write_text(f"cut {ed.key_type} {truncated}\n{ed.line('ok')}\n")
    assert "cut" in phk.HostKeys(str(path))
    assert list(shk.HostKeys(str(path))) == ["ok"]
    path.write_text(f"bad {ed.key_type} {not_utf8}\n{ed.line('ok')}\n")
    with pytest.raises(UnicodeDecodeError):
        phk.HostKeys(str(path))
    assert list(shk.HostKeys(str(path))) == ["ok"]


# --------------------------------------------------------------------------------------------
# Mutation: add, __setitem__, __delitem__, the per-host mapping, clear


def plain(value: Any) -> Any:
    """A result as plain data: lookups as :func:`sub_view`, keys as base64."""
    if hasattr(value, "get_base64"):
        return value.get_base64()
    if hasattr(value, "keys") and not isinstance(value, dict):
        return sub_view(value)
    return value


def test_mapping_operations_fixed_sequence(tmp_path: Path) -> None:
    ed, other, ec256, r = ed_a(), ed_b(), p256(), rsa_key()
    ours, theirs = check_text(ed.line("a,b") + "\n" + ec256.line("a") + "\n", tmp_path)
    steps: list[Callable[[Any, bool], Any]] = [
        lambda hk, o: hk.add("a", "ssh-ed25519", other.ours if o else other.theirs),
        lambda hk, o: hk.add("c", "ssh-rsa", r.ours if o else r.theirs),
        lambda hk, o: hk.add("a", "ssh-rsa", ed.ours if o else ed.theirs),  # type mismatch
        lambda hk, o: hk.__setitem__("d", {}),
        lambda hk, o: hk.__setitem__("e", {"ssh-rsa": r.ours if o else r.theirs}),
        lambda hk, o: hk.__setitem__("a", {"ssh-ed25519": ed.ours if o else ed.theirs}),
        lambda hk, o: hk.lookup("a").__setitem__("ssh-rsa", r.ours if o else r.theirs),
        lambda hk, o: hk.lookup("a").__delitem__("ecdsa-sha2-nistp256"),
        lambda hk, o: hk.lookup("a").__delitem__("nope"),
        lambda hk, o: hk.lookup("d").keys(),
        lambda hk, o: len(hk.lookup("d")),
        lambda hk, o: hk.lookup("d")["ssh-rsa"],
        lambda hk, o: hk.lookup("d").__setitem__("ssh-rsa", r.ours if o else r.theirs),
        lambda hk, o: hk.__setitem__("d", {"ssh-rsa": r.ours if o else r.theirs}),
        lambda hk, o: hk.__delitem__("b"),
        lambda hk, o: hk.__delitem__("b"),
        lambda hk, o: hk["nope"],
        lambda hk, o: hk.get("nope"),
        lambda hk, o: sorted(k for k, _ in hk.items()),
        lambda hk, o: hk.clear(),
        lambda hk, o: hk.add("z", "ssh-ed25519", ed.ours if o else ed.theirs),
    ]
    for step in steps:
        mine = outcome(lambda step=step: plain(step(ours, True)))
        reference = outcome(lambda step=step: plain(step(theirs, False)))
        assert mine == reference
        state_ours = outcome(lambda: [sub_view(v) for v in ours.values()])
        state_theirs = outcome(lambda: [sub_view(v) for v in theirs.values()])
        assert state_ours == state_theirs
        assert list(ours) == list(theirs)


# --------------------------------------------------------------------------------------------
# Hypothesis: random files and random mutations


def _line_kinds(*, with_invalid: bool) -> st.SearchStrategy[str]:
    pool = key_pool()
    name = st.one_of(
        st.sampled_from(NAMES[:-1]),
        st.builds(hashed, st.sampled_from(NAMES[:5]), st.integers(0, 2)),
    )
    hosts = st.lists(name, min_size=1, max_size=3).map(",".join)
    pair = st.sampled_from(pool)
    sep = st.sampled_from([" ", "\t"])
    comment = st.sampled_from(["", " comment", " two words", "\t#x"])
    good = st.builds(lambda h, p, s, c: p.line(h, s) + c, hosts, pair, sep, comment)
    unknown = st.builds(
        lambda h, t, p: f"{h} {t} {p.b64}",
        hosts,
        st.sampled_from(["ssh-dss", "sk-ssh-ed25519@openssh.com", "x", ""]),
        pair,
    )
    mismatched = st.builds(
        lambda h, p, q: f"{h} {q.key_type} {p.b64}",
        hosts,
        pair,
        pair,
    )
    rsa_alias = st.builds(
        lambda h, t: f"{h} {t} {rsa_key().b64}",
        hosts,
        st.sampled_from(["rsa-sha2-256", "rsa-sha2-512", "ssh-rsa-cert-v01@openssh.com"]),
    )
    short = st.builds(lambda h, p: f"{h} {p.key_type}", hosts, pair)
    misc = st.sampled_from(["", "   ", "# comment", "\t# comment", "justonefield"])
    if with_invalid:  # lines that make load() raise InvalidHostKey in both libraries
        return st.one_of(
            st.builds(lambda h, p: f"{h}  {p.key_type} {p.b64}", hosts, pair),
            st.builds(lambda h, p: f"{h} {p.key_type} {p.b64[:-2]}", hosts, pair),
        )
    return st.one_of(good, good, good, good, unknown, mismatched, rsa_alias, short, misc)


@st.composite
def known_hosts_texts(draw: st.DrawFn) -> str:
    lines = draw(st.lists(_line_kinds(with_invalid=False), max_size=10))
    if draw(st.sampled_from([False] * 9 + [True])):  # now and then, one invalid line
        lines.insert(draw(st.integers(0, len(lines))), draw(_line_kinds(with_invalid=True)))
    ending = draw(st.sampled_from(["\n", "\r\n"]))
    return ending.join(lines) + draw(st.sampled_from(["", ending]))


@st.composite
def operations(draw: st.DrawFn) -> tuple[Any, ...]:
    pool = key_pool()
    host = draw(st.sampled_from([*NAMES[:6], hashed("a.example")]))
    i = draw(st.integers(0, len(pool) - 1))
    key_type = draw(st.sampled_from([pool[i].key_type, "ssh-ed25519", "ssh-rsa", "nope"]))
    kind = draw(
        st.sampled_from(
            [
                "add",
                "setitem",
                "setitem_empty",
                "delitem",
                "sub_set",
                "sub_del",
                "sub_get",
                "getitem",
                "clear",
            ]
        )
    )
    return (kind, host, i, key_type)


def apply(hk: Any, op: tuple[Any, ...], ours: bool) -> Any:
    kind, host, i, key_type = op
    pair = key_pool()[i]
    key = pair.ours if ours else pair.theirs
    if kind == "add":
        return hk.add(host, key_type, key)
    if kind == "setitem":
        hk[host] = {key.get_name(): key}
        return None
    if kind == "setitem_empty":
        hk[host] = {}
        return None
    if kind == "delitem":
        del hk[host]
        return None
    if kind == "getitem":
        return sub_view(hk[host])
    if kind == "clear":
        return hk.clear()
    sub = hk.lookup(host)
    if sub is None:
        return "no such host"
    if kind == "sub_set":
        sub[key_type] = key
        return sub_view(sub)
    if kind == "sub_del":
        del sub[key_type]
        return sub_view(sub)
    return sub[key_type].get_base64()


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=known_hosts_texts(), ops=st.lists(operations(), max_size=6))
def test_random_files_and_mutations_match(text: str, ops: list[Any], tmp_path: Path) -> None:
    ours, theirs = load_both(text, tmp_path)
    if ours is None:
        return
    assert_same(ours, theirs, tmp_path)
    for op in ops:
        mine = outcome(lambda op=op: apply(ours, op, True))
        reference = outcome(lambda op=op: apply(theirs, op, False))
        assert mine == reference, op
        assert_same(ours, theirs, tmp_path)


# --------------------------------------------------------------------------------------------
# Beyond paramiko: @cert-authority and @revoked
#
# paramiko 5.1 cannot load a file with marker lines at all (InvalidHostKey); sshwire reads them
# into a list of their own and leaves every ordinary entry exactly as paramiko has it.


def _cert_blob(
    ca: Any,
    subject_public: Any,
    *,
    host: bool = True,
    principals: tuple[str, ...] = ("127.0.0.1", "localhost"),
    valid_after: int = 0,
    valid_before: int = 2**64 - 1,
    critical: dict[bytes, bytes] | None = None,
) -> bytes:
    builder = (
        serialization.SSHCertificateBuilder()
        .public_key(subject_public)
        .serial(1)
        .type(
            serialization.SSHCertificateType.HOST if host else serialization.SSHCertificateType.USER
        )
        .key_id(b"test")
        .valid_after(valid_after)
        .valid_before(valid_before)
    )
    builder = (
        builder.valid_principals([p.encode() for p in principals])
        if principals
        else builder.valid_for_all_principals()
    )
    for name, value in (critical or {}).items():
        builder = builder.add_critical_option(name, value)
    cert = builder.sign(ca)
    text = cert.public_bytes()
    return base64.b64decode(text.split()[1])


def _public_line(public: Any) -> str:
    text = public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return text.decode("ascii")


@pytest.fixture(scope="module")
def ca_material() -> dict[str, Any]:
    ca = ed25519.Ed25519PrivateKey.generate()
    other_ca = ed25519.Ed25519PrivateKey.generate()
    host = ec.generate_private_key(ec.SECP256R1())
    return {"ca": ca, "other_ca": other_ca, "host": host}


def test_marker_lines_paramiko_fails_we_load(tmp_path: Path, ca_material: dict[str, Any]) -> None:
    ca_line = _public_line(ca_material["ca"].public_key())
    plain = [ed_a().line("a,b"), p256().line(hashed("c"))]
    text = "\n".join(
        [
            plain[0],
            f"@cert-authority *.example,!bad.example {ca_line}",
            f"@revoked * {ed_b().key_type} {ed_b().b64}",
            plain[1],
            "@cert-authority onlytwo",
            f"@revoked x ssh-dss {ed_a().b64}",
            f"@revoked x {ed_a().key_type} not*base64",
            "",
        ]
    )
    path = tmp_path / "with_markers"
    path.write_text(text)
    with pytest.raises(phk.InvalidHostKey):
        phk.HostKeys(str(path))
    ours = shk.HostKeys(str(path))
    theirs = phk.HostKeys()
    (tmp_path / "plain_only").write_text("\n".join(plain) + "\n")
    theirs.load(str(tmp_path / "plain_only"))
    # markers change nothing for ordinary lookups (save() output is checked below)
    assert_same(ours, theirs, tmp_path, compare_save=False)
    markers = ours.marker_entries
    assert [(e.marker, e.hostnames) for e in markers] == [
        ("cert-authority", ["*.example", "!bad.example"]),
        ("revoked", ["*"]),
    ]
    # save() writes the ordinary lines as paramiko does, then the marker lines
    ours.save(str(tmp_path / "saved"))
    saved = (tmp_path / "saved").read_text().splitlines()
    assert saved[:2] == [line for line in plain]
    assert saved[2].startswith("@cert-authority *.example,!bad.example ssh-ed25519 ")
    assert saved[3] == f"@revoked * {ed_b().key_type} {ed_b().b64}"
    again = shk.HostKeys(str(tmp_path / "saved"))
    assert [m.to_line() for m in again.marker_entries] == [m.to_line() for m in markers]
    ours.clear()
    assert ours.marker_entries == [] and len(ours) == 0


def test_cert_authorities_patterns(ca_material: dict[str, Any]) -> None:
    hk = shk.HostKeys()
    ca = _pair(ca_material["ca"].public_key())
    other = _pair(ca_material["other_ca"].public_key())
    hk.add_cert_authority("*.example,!bad.example", ca.ours)
    hk.add_cert_authority([hashed("hashed.host"), "[*]:2222"], other.ours)
    assert hk.cert_authorities("x.example") == [ca.ours]
    assert hk.cert_authorities("X.EXAMPLE") == [ca.ours]
    assert hk.cert_authorities("bad.example") == []
    assert hk.cert_authorities("example") == []
    assert hk.cert_authorities("hashed.host") == [other.ours]
    assert hk.cert_authorities("[a.example]:2222") == [other.ours]
    assert hk.cert_authorities("a.example:2222") == []
    assert len(hk) == 0 and hk.lookup("x.example") is None


def test_check_certificate(ca_material: dict[str, Any]) -> None:
    ca, other_ca, host = ca_material["ca"], ca_material["other_ca"], ca_material["host"]
    ca_pair = _pair(ca.public_key())
    host_pair = _pair(host.public_key())
    hk = shk.HostKeys()
    hk.add_cert_authority("127.0.0.1,localhost,[127.0.0.1]:2222", ca_pair.ours)
    good = _cert_blob(ca, host.public_key())
    now = int(time.time())
    assert hk.check_certificate("127.0.0.1", good)
    assert hk.check_certificate("localhost", good, now=now)
    assert hk.check_certificate("[127.0.0.1]:2222", good)  # principal compared without port
    assert hk.check_certificate("[127.0.0.1]:2200", good)  # CA found for the bare host
    assert not hk.check_certificate("example.com", good)
    as_pkey = ECDSAKey(data=good)  # the key, with the certificate attached
    assert hk.check_certificate("localhost", as_pkey)
    as_blob = PublicBlob("ecdsa-sha2-nistp256-cert-v01@openssh.com", good)
    assert hk.check_certificate("localhost", as_blob)
    assert not hk.check_certificate("localhost", host_pair.ours)  # a plain key
    assert not hk.check_certificate("localhost", host_pair.ours.asbytes())
    assert not hk.check_certificate("localhost", good[:-5])  # truncated

    window = _cert_blob(ca, host.public_key(), valid_after=now - 100, valid_before=now + 100)
    assert hk.check_certificate("localhost", window)
    assert not hk.check_certificate("localhost", window, now=now + 100)
    assert not hk.check_certificate("localhost", window, now=now - 101)
    assert hk.check_certificate("localhost", window, now=now - 100)

    user = _cert_blob(ca, host.public_key(), host=False)
    assert not hk.check_certificate("localhost", user)
    anywhere = _cert_blob(ca, host.public_key(), principals=())
    assert hk.check_certificate("localhost", anywhere)
    critical = _cert_blob(ca, host.public_key(), critical={b"force-command": b"true"})
    assert not hk.check_certificate("localhost", critical)
    foreign = _cert_blob(other_ca, host.public_key())
    assert not hk.check_certificate("localhost", foreign)

    tampered = bytearray(good)
    tampered[-1] ^= 1
    assert not hk.check_certificate("localhost", bytes(tampered))

    hk.add_revoked("*.other", ca_pair.ours)
    assert hk.check_certificate("localhost", good)  # that revocation is for other hosts
    assert hk.is_revoked(ca_pair.ours)
    assert not hk.is_revoked(ca_pair.ours, "localhost")
    hk.add_revoked("*", host_pair.ours)
    assert hk.is_revoked(good, "localhost")  # the certified key is revoked
    assert not hk.check_certificate("localhost", good)


def test_revoked_ca_and_check(ca_material: dict[str, Any]) -> None:
    ca, host = ca_material["ca"], ca_material["host"]
    ca_pair = _pair(ca.public_key())
    good = _cert_blob(ca, host.public_key())
    hk = shk.HostKeys()
    hk.add_cert_authority("*", ca_pair.ours)
    assert hk.check_certificate("localhost", good)
    hk.add_revoked("*", ca_pair.ours)
    assert hk.cert_authorities("localhost") == [ca_pair.ours]
    assert hk.is_revoked(good)
    assert not hk.check_certificate("localhost", good)

    # check(): a plain key listed on a matching @revoked line is refused
    ed = ed_a()
    hk.add("a", ed.key_type, ed.ours)
    assert hk.check("a", ed.ours)
    hk.add_revoked("a", ed.ours)
    assert not hk.check("a", ed.ours)
    assert hk.lookup("a") is not None  # lookup() itself stays paramiko's


def test_check_certificate_port_fallback(ca_material: dict[str, Any]) -> None:
    # Like ssh(1): "[host]:port" first; only when no marker line applies, the bare host.
    ca, host = ca_material["ca"], ca_material["host"]
    ca_key = _pair(ca.public_key()).ours
    host_key = _pair(host.public_key()).ours
    good = _cert_blob(ca, host.public_key())

    bare_only = shk.HostKeys()
    bare_only.add_cert_authority("localhost", ca_key)
    assert bare_only.check_certificate("[localhost]:2222", good)
    assert bare_only.cert_authorities("[localhost]:2222") == []

    port_only = shk.HostKeys()
    port_only.add_cert_authority("[localhost]:2222", ca_key)
    assert port_only.check_certificate("[localhost]:2222", good)
    assert not port_only.check_certificate("localhost", good)
    assert not port_only.check_certificate("[localhost]:2200", good)
    # a revocation for the bare host is never consulted once the port form matched
    port_only.add_revoked("localhost", ca_key)
    assert port_only.check_certificate("[localhost]:2222", good)

    revoked_with_port = shk.HostKeys()
    revoked_with_port.add_cert_authority("*", ca_key)
    revoked_with_port.add_revoked("[localhost]:2222", host_key)
    assert not revoked_with_port.check_certificate("[localhost]:2222", good)
    assert revoked_with_port.check_certificate("localhost", good)

    revoked_bare = shk.HostKeys()
    revoked_bare.add_cert_authority("localhost", ca_key)
    revoked_bare.add_revoked("localhost", ca_key)
    assert not revoked_bare.check_certificate("[localhost]:2222", good)

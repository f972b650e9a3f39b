"""Differential tests: ``sshwire.config`` against ``paramiko.config`` (5.1).

Both libraries parse the same ssh_config texts (realistic files in the style of the examples
of ssh_config(5): jump hosts, wildcards, negation, ``Match`` blocks, tokens, canonicalization)
and must return equal :meth:`lookup` results, raise their own ``ConfigParseError`` /
``CouldNotCanonicalize`` for the same bad input, and agree on ``get_hostnames()``,
``SSHConfigDict`` conversions and ``LazyFqdn``.

Where paramiko departs from OpenSSH, sshwire follows OpenSSH: every such case is in
``DIFFERENCES`` below with both libraries' results pinned (the same rows are in
docs/compat.md, and ``tests/interop/test_config_ssh_g.py`` checks sshwire's side against
``ssh -G``). Hypothesis generates further configs from the part of the format where both
agree.
"""

from __future__ import annotations

import copy
import fnmatch
import gc
import hashlib
import inspect
import os
import shlex
import socket
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paramiko
import paramiko.config as pconfig
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sshwire.config as sconfig
from sshwire.ssh_exception import ConfigParseError, CouldNotCanonicalize

LOCAL_USER = "tester"


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """A private HOME (never the real ~/.ssh), a fixed local user name and /bin/sh."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("LOGNAME", LOCAL_USER)
    monkeypatch.setenv("USER", LOCAL_USER)
    monkeypatch.setenv("SHELL", "/bin/sh")
    yield home


def _home() -> str:
    return os.environ["HOME"]


def ours(text: str, host: str) -> dict[str, Any]:
    return dict(sconfig.SSHConfig.from_text(text).lookup(host))


def theirs(text: str, host: str) -> dict[str, Any]:
    # paramiko runs Match exec through invoke, which reads the caller's stdin (pytest's
    # captured stdin refuses reads: give it an empty one) and leaves its pipes to the garbage
    # collector (collect them here, with invoke's ResourceWarnings silenced).
    with open(os.devnull) as devnull, warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        saved, sys.stdin = sys.stdin, devnull
        try:
            return dict(pconfig.SSHConfig.from_text(text).lookup(host))
        finally:
            sys.stdin = saved
            gc.collect()


# --------------------------------------------------------------------------------------------
# Configs on which both libraries agree


@dataclass(frozen=True)
class Case:
    name: str
    text: str
    hosts: tuple[str, ...]
    expect: dict[str, dict[str, Any]] = field(default_factory=dict)  # spot checks per host


SAME = [
    Case(
        "personal-config",
        """
# ~/.ssh/config of someone with a dev box, a bastion and internal hosts
Host dev
    HostName dev.example.com
    User deploy
    Port 2222
    IdentityFile ~/.ssh/dev_ed25519
    IdentitiesOnly yes

Host *.internal
    User ops
    ProxyJump bastion.example.com

Host bastion bastion.example.com
    HostName 203.0.113.10
    User jump
    ForwardAgent yes

Host *
    ServerAliveInterval 60
    ServerAliveCountMax 3
    Compression yes
    IdentityFile ~/.ssh/id_ed25519
""",
        ("dev", "db1.internal", "bastion", "bastion.example.com", "other", "203.0.113.10"),
        {
            "dev": {"hostname": "dev.example.com", "port": "2222", "user": "deploy"},
            "db1.internal": {"proxyjump": "bastion.example.com", "user": "ops"},
        },
    ),
    Case(
        "wildcards-and-negation",
        """
Host *.example.com !secure.example.com
  User web
Host ?? ???.lan
  Port 2022
Host 192.168.0.?
  User lan
Host !*.example.com *
  LogLevel QUIET
Host *
  User default
""",
        (
            "www.example.com",
            "secure.example.com",
            "ab",
            "abc",
            "abc.lan",
            "abcd.lan",
            "192.168.0.5",
            "192.168.0.55",
            "x",
        ),
        {
            "secure.example.com": {"user": "default"},
            "www.example.com": {"user": "web"},
            "ab": {"port": "2022", "loglevel": "QUIET"},
        },
    ),
    Case(
        "equals-signs-case-and-whitespace",
        "HOST=eq\n  HostName = eq.example.net\r\n  PORT=2200\n  user   =   someone\n"
        "\tIdentityFile\t~/.ssh/eq\n\n   # an indented comment\nHost = *\n  Port 22\n",
        ("eq", "other"),
        {"eq": {"port": "2200", "user": "someone", "hostname": "eq.example.net"}},
    ),
    Case(
        "quoted-values",
        'Host "spaced name" plain\n  IdentityFile "~/.ssh/my key"\n  User "bob"\n'
        'Host *\n  ProxyCommand "ssh -W %h:%p gw"\n',
        ("spaced name", "plain", "spaced"),
        {"plain": {"user": "bob", "proxycommand": "ssh -W plain:22 gw"}},
    ),
    Case(
        "tokens",
        """
Host *.corp
  HostName %h.example.org
  User admin
  Port 2201
  IdentityFile ~/.ssh/%h_%r
  IdentityFile %d/keys/%u-%r
  ProxyCommand ssh -q -W %h:%p gateway -i ~/.ssh/gw
  ControlPath /tmp/cm-%r@%h:%p-%u-%L-%n
Host *.jump
  ProxyJump admin@gw-%h:%p
Host *
  IdentityFile ~/.ssh/id_%u
""",
        ("app.corp", "plain", "b.jump"),
        {
            "app.corp": {
                "hostname": "app.corp.example.org",
                "proxycommand": "ssh -q -W app.corp.example.org:2201 gateway -i <HOME>/.ssh/gw",
            },
            "b.jump": {"proxyjump": "admin@gw-b.jump:22"},
        },
    ),
    Case(
        "first-value-wins-and-identityfile-lists",
        """
Host web*
  User first
  User second
  IdentityFile ~/.ssh/web
  Port 1001
Host *.example.com
  User third
  IdentityFile ~/.ssh/example
  IdentityFile ~/.ssh/web
  Port 1002
Host *
  IdentityFile ~/.ssh/default
  LocalForward 8080 localhost:80
  RemoteForward 9000 localhost:9000
""",
        ("web1.example.com", "db.example.com", "web", "none"),
        {"web1.example.com": {"user": "first", "port": "1001"}},
    ),
    Case(
        "proxycommand-none",
        "Host direct\n  ProxyCommand none\nHost *\n  ProxyCommand ssh -W %h:%p gw\n",
        ("direct", "other"),
        {"direct": {"proxycommand": None}},
    ),
    Case(
        "match-static-criteria",
        """
Host *
  User deploy
Match host *.prod.example.com user deploy
  IdentityFile ~/.ssh/prod
Match originalhost web*,!web-test*
  Port 8022
Match localuser tester
  Compression no
Match !localuser tester
  Compression yes
Match user root
  ForwardAgent no
Match host db*.example.com !originalhost db-legacy*
  Port 5022
Match all
  ServerAliveInterval 30
""",
        (
            "api.prod.example.com",
            "web1",
            "web-test1",
            "db1.example.com",
            "db-legacy1.example.com",
            "x",
        ),
        {"web1": {"port": "8022", "compression": "no"}},
    ),
    Case(
        "match-host-sees-hostname",
        """
Host alias
  HostName real.example.com
Match host real.example.com
  User realuser
Match originalhost alias
  Port 2020
""",
        ("alias", "real.example.com"),
        {"alias": {"user": "realuser", "port": "2020"}},
    ),
    Case(
        "match-exec",
        """
Match exec "test %h = alpha"
  Port 1001
Match exec "exit 1"
  Port 1002
Match host beta exec true
  Port 1003
Match exec "test %p = 22 -a %r = tester -a %n = gamma -a %u = tester"
  Port 1004
Match exec "test %d = $HOME"
  User home-ok
""",
        ("alpha", "beta", "gamma", "delta"),
        {"alpha": {"port": "1001"}, "beta": {"port": "1003"}, "gamma": {"port": "1004"}},
    ),
    Case(
        "match-canonical-without-canonicalization",
        "Match canonical\n  Port 1\nMatch !canonical\n  User plain\nMatch canonical all\n"
        "  Compression yes\n",
        ("foo",),
        {"foo": {"user": "plain"}},
    ),
    Case(
        "canonicalize-success",
        # "127.0.0" + ".1" resolves (it is an address); the first domain does not.
        """
CanonicalizeHostname yes
CanonicalDomains example.invalid 1
CanonicalizeMaxDots 2
Match canonical
  User canon
Host 127.0.0.1
  Port 2022
Host *
  Compression yes
""",
        ("127.0.0",),
        {"127.0.0": {"hostname": "127.0.0.1", "user": "canon", "port": "2022"}},
    ),
    Case(
        "canonicalize-fallback-local",
        "Host *\n  CanonicalizeHostname yes\n  CanonicalDomains example.invalid\n"
        "Match canonical\n  User canon\n",
        ("web",),
        {"web": {"hostname": "web", "user": "canon"}},
    ),
    Case(
        "canonicalize-off",
        "CanonicalizeHostname no\nCanonicalDomains example.invalid\nMatch canonical\n  Port 1\n",
        ("web",),
        {"web": {"hostname": "web"}},
    ),
    Case(
        "unknown-keywords-kept",
        "Host *\n  SomeFutureOption value with words\n  X_Custom 1\n",
        ("x",),
        {"x": {"somefutureoption": "value with words", "x_custom": "1"}},
    ),
    Case("empty", "", ("x",), {"x": {"hostname": "x"}}),
    Case("only-comments", "# nothing\n\n   \n#Host x\n", ("x",), {"x": {"hostname": "x"}}),
]


@pytest.mark.parametrize(
    ("case", "host"),
    [(c, h) for c in SAME for h in c.hosts],
    ids=lambda v: str(getattr(v, "name", v)),
)
def test_same_lookup_as_paramiko(case: Case, host: str) -> None:
    mine = ours(case.text, host)
    assert mine == theirs(case.text, host)
    for key, value in case.expect.get(host, {}).items():
        assert mine[key] == _fill(value), key


@pytest.mark.parametrize("case", [c for c in SAME if "Match" not in c.text], ids=lambda c: c.name)
def test_same_hostnames_and_block_count(case: Case) -> None:
    mine, their = sconfig.SSHConfig.from_text(case.text), pconfig.SSHConfig.from_text(case.text)
    assert mine.get_hostnames() == their.get_hostnames()
    assert len(mine._config) == len(their._config)  # fabric logs this count


def test_lookup_returns_sshconfigdict() -> None:
    result = sconfig.SSHConfig.from_text("Host x\n  Port 1\n").lookup("x")
    assert type(result) is sconfig.SSHConfigDict
    assert isinstance(result, dict)


# --------------------------------------------------------------------------------------------
# Bad input: both raise their ConfigParseError


BAD = [
    ("no-value", "Host foo\n  Port\n"),
    ("bare-keyword", "Host\n"),
    ("not-a-keyword", "Host foo\n  -x y\n"),
    ("host-bad-quotes", 'Host "foo\n'),
    ("match-missing-param", "Match host\n  Port 1\n"),
    ("match-all-mixed", "Match all host foo\n  Port 1\n"),
    ("match-all-before-canonical", "Match all canonical\n  Port 1\n"),
    ("match-host-then-all", "Match host foo all\n  Port 1\n"),
]


@pytest.mark.parametrize(("name", "text"), BAD, ids=[b[0] for b in BAD])
def test_bad_config_raises_like_paramiko(name: str, text: str) -> None:
    with pytest.raises(paramiko.ConfigParseError):
        pconfig.SSHConfig.from_text(text)
    with pytest.raises(ConfigParseError):
        sconfig.SSHConfig.from_text(text)


def test_could_not_canonicalize_like_paramiko() -> None:
    text = (
        "CanonicalizeHostname yes\nCanonicalDomains example.invalid\nCanonicalizeFallbackLocal no\n"
    )
    with pytest.raises(paramiko.CouldNotCanonicalize) as their_exc:
        theirs(text, "web")
    with pytest.raises(CouldNotCanonicalize) as my_exc:
        ours(text, "web")
    assert str(my_exc.value) == str(their_exc.value) == "web"


def test_canonicalize_method_like_paramiko() -> None:
    for options, domains, host in [
        ({}, ["example.invalid", "1"], "127.0.0"),
        ({}, ["example.invalid"], "web"),
        ({"addressfamily": "inet"}, ["1"], "127.0.0"),
    ]:
        mine = sconfig.SSHConfig().canonicalize(host, sconfig.SSHConfigDict(options), domains)
        assert mine == pconfig.SSHConfig().canonicalize(
            host, pconfig.SSHConfigDict(options), domains
        )
    options = {"canonicalizefallbacklocal": "no"}
    with pytest.raises(CouldNotCanonicalize):
        sconfig.SSHConfig().canonicalize("web", options, ["example.invalid"])


# --------------------------------------------------------------------------------------------
# Deliberate differences: sshwire follows OpenSSH, paramiko does not


@dataclass(frozen=True)
class Difference:
    name: str
    text: str
    host: str
    ours: dict[str, Any] | type[BaseException]  # expected subset of sshwire's result
    theirs: dict[str, Any] | type[BaseException]  # paramiko 5.1's, pinned
    absent: tuple[str, ...] = ()  # keys sshwire must not return


DIFFERENCES = [
    Difference(
        "trailing-comments",
        "Host foo # the dev box\n  Port 2222 # ssh on a high port\n  User bob #me\n"
        "  ProxyCommand nc %h %p # kept: command lines are taken whole\n",
        "foo",
        {
            "port": "2222",
            "user": "bob",
            "proxycommand": "nc foo 2222 # kept: command lines are taken whole",
        },
        {"port": "2222 # ssh on a high port", "user": "bob #me"},
    ),
    Difference(
        "forwards-accumulate-across-blocks",
        "Host foo\n  LocalForward 8080 localhost:80\n  RemoteForward 9000 localhost:9000\n"
        "Host *\n  LocalForward 8081 localhost:81\n  LocalForward 8080 localhost:80\n"
        "  RemoteForward 9001 localhost:9001\n",
        "foo",
        {
            "localforward": ["8080 localhost:80", "8081 localhost:81"],
            "remoteforward": ["9000 localhost:9000", "9001 localhost:9001"],
        },
        {"localforward": ["8080 localhost:80"], "remoteforward": ["9000 localhost:9000"]},
    ),
    Difference(
        "certificatefile-dynamicforward-lists",
        "Host foo\n  CertificateFile ~/.ssh/a-cert.pub\n  DynamicForward 1080\n"
        "Host *\n  CertificateFile ~/.ssh/b-cert.pub\n  DynamicForward 1081\n",
        "foo",
        {
            "certificatefile": ["<HOME>/.ssh/a-cert.pub", "<HOME>/.ssh/b-cert.pub"],
            "dynamicforward": ["1080", "1081"],
        },
        {"certificatefile": "~/.ssh/a-cert.pub", "dynamicforward": "1080"},
    ),
    Difference(
        "sendenv-accumulates",
        "Host foo\n  SendEnv LANG LC_*\nHost *\n  SendEnv EDITOR\n  SendEnv -LC_*\n",
        "foo",
        {"sendenv": "LANG EDITOR"},
        {"sendenv": "LANG LC_*"},
    ),
    Difference(
        "identityfile-duplicates-in-one-block",
        "Host foo\n  IdentityFile ~/.ssh/a\n  IdentityFile ~/.ssh/a\n",
        "foo",
        {"identityfile": ["<HOME>/.ssh/a"]},
        {"identityfile": ["<HOME>/.ssh/a", "<HOME>/.ssh/a"]},
    ),
    Difference(
        "proxycommand-before-proxyjump",
        "Host foo\n  ProxyCommand nc %h %p\nHost *\n  ProxyJump gw\n",
        "foo",
        {"proxycommand": "nc foo 22"},
        {"proxycommand": "nc foo 22", "proxyjump": "gw"},
        absent=("proxyjump",),
    ),
    Difference(
        "proxyjump-before-proxycommand",
        "Host foo\n  ProxyJump gw\n  ProxyCommand nc %h %p\n",
        "foo",
        {"proxyjump": "gw"},
        {"proxycommand": "nc foo 22", "proxyjump": "gw"},
        absent=("proxycommand",),
    ),
    Difference(
        "proxycommand-none-blocks-proxyjump",
        "Host foo\n  ProxyCommand none\nHost *\n  ProxyJump gw\n",
        "foo",
        {"proxycommand": None},
        {"proxycommand": None, "proxyjump": "gw"},
        absent=("proxyjump",),
    ),
    Difference(
        "no-second-pass-without-final",
        "Match user deploy\n  Port 1\nHost *\n  User deploy\n",
        "x",
        {"user": "deploy"},
        {"user": "deploy", "port": "1", "hostname": "x"},
        absent=("port",),
    ),
    Difference(
        "match-host-before-hostname-set",
        "Match host real\n  Port 1\nHost alias\n  HostName real\n",
        "alias",
        {"hostname": "real"},
        {"hostname": "real", "port": "1"},
        absent=("port",),
    ),
    Difference(
        "final-pass-host-sees-hostname",
        "Host alias\n  HostName target.example.com\nMatch final host target.example.com\n"
        "  Port 1111\nHost target.example.com\n  User viahost\n",
        "alias",
        {"hostname": "target.example.com", "port": "1111", "user": "viahost"},
        {"hostname": "target.example.com", "port": "1111"},
    ),
    Difference(
        "match-host-expands-hostname-tokens",
        "Host foo\n  HostName %h.example.com\nMatch host foo.example.com\n  Port 7\n",
        "foo",
        {"hostname": "foo.example.com", "port": "7"},
        {"hostname": "foo.example.com"},
    ),
    Difference(
        "canonical-pass-with-too-many-dots",
        "CanonicalizeHostname yes\nCanonicalDomains example.invalid\nCanonicalizeMaxDots 0\n"
        "Match canonical\n  Port 4444\n",
        "x.y",
        {"hostname": "x.y", "port": "4444"},
        {"hostname": "x.y"},
    ),
    Difference(
        "canonicalize-the-hostname-not-the-alias",
        "Host alias\n  HostName 127.0.0\nHost *\n  CanonicalizeHostname yes\n"
        "  CanonicalizeMaxDots 2\n  CanonicalDomains 1\n",
        "alias",
        {"hostname": "127.0.0.1"},
        {"hostname": "alias"},
    ),
    Difference(
        "no-canonicalization-through-a-proxy",
        "Host *\n  ProxyJump gw\n  CanonicalizeHostname yes\n  CanonicalizeMaxDots 2\n"
        "  CanonicalDomains 1\n  CanonicalizeFallbackLocal no\n",
        "127.0.0",
        {"hostname": "127.0.0"},
        {"hostname": "127.0.0.1"},
    ),
    Difference(
        "canonicalize-without-domains",
        "CanonicalizeHostname yes\n",
        "foo",
        {"hostname": "foo"},
        KeyError,
    ),
    Difference(
        "hostname-lowercased",
        "Host foo\n  HostName Foo.Example.COM\n",
        "foo",
        {"hostname": "foo.example.com"},
        {"hostname": "Foo.Example.COM"},
    ),
    Difference(
        "hostname-set-after-identityfile",
        "Host *\n  IdentityFile ~/.ssh/%h\nHost foo\n  HostName %h.example\n",
        "foo",
        {"identityfile": ["<HOME>/.ssh/foo.example"], "hostname": "foo.example"},
        {"identityfile": ["<HOME>/.ssh/%h.example"], "hostname": "foo.example"},
    ),
    Difference(
        "match-negated-all",
        "Match !all\n  Port 1\n",
        "foo",
        {"hostname": "foo"},
        {"port": "1", "hostname": "foo"},
        absent=("port",),
    ),
    Difference(
        "match-final-all",
        "Match final all\n  Port 1\n",
        "foo",
        {"port": "1"},
        paramiko.ConfigParseError,
    ),
    Difference(
        "match-keyword-case",
        "Match Host bar\n  Port 1\n",
        "foo",
        {"hostname": "foo"},
        {"port": "1", "hostname": "foo"},
        absent=("port",),
    ),
    Difference(
        "match-host-case-insensitive",
        "Match host WEB*\n  Port 1\n",
        "web1",
        {"port": "1"},
        {"hostname": "web1"},
    ),
    Difference(
        "no-bracket-classes",
        "Host foo[12]\n  Port 1\n",
        "foo1",
        {"hostname": "foo1"},
        {"port": "1", "hostname": "foo1"},
        absent=("port",),
    ),
    Difference(
        "percent-percent-and-tilde-in-controlpath",
        "Host foo\n  ControlPath ~/cm-%%h-%h\n",
        "foo",
        {"controlpath": "<HOME>/cm-%h-foo"},
        {"controlpath": "~/cm-%foo-foo"},
    ),
    Difference(
        "tilde-only-at-word-start",
        "Host foo\n  IdentityFile ~/a~b\n  ProxyCommand ssh x~y ~/z\n",
        "foo",
        {"identityfile": ["<HOME>/a~b"], "proxycommand": "ssh x~y <HOME>/z"},
        {
            "identityfile": ["<HOME>/a<HOME>b"],
            "proxycommand": "ssh x<HOME>y <HOME>/z",
        },
    ),
    Difference(
        "local-hostname-tokens",
        "Host foo\n  ControlPath /tmp/%l\n",
        "foo",
        {"controlpath": "/tmp/<HOSTNAME>"},
        {"controlpath": "/tmp/<FQDN>"},
    ),
    Difference(
        "connection-hash-with-port",
        "Host foo\n  Port 2222\n  ControlPath %C\n",
        "foo",
        {"controlpath": "<OPENSSH_C>"},
        {"controlpath": "<PARAMIKO_C>"},
    ),
    Difference(
        "more-tokens-in-more-options",
        "Host foo\n  HostKeyAlias fooalias\n  UserKnownHostsFile ~/kh %d/kh2-%k\n"
        "  CertificateFile %d/%h-cert.pub\n  IdentityAgent ${HOME}/agent-%i\n"
        "  RemoteCommand echo %h %%\n  IdentityFile ${HOME}/id-%k\n",
        "foo",
        {
            "userknownhostsfile": "<HOME>/kh <HOME>/kh2-fooalias",
            "certificatefile": ["<HOME>/foo-cert.pub"],
            "identityagent": "<HOME>/agent-<UID>",
            "remotecommand": "echo foo %",
            "identityfile": ["<HOME>/id-fooalias"],
        },
        {
            "userknownhostsfile": "~/kh %d/kh2-%k",
            "certificatefile": "%d/%h-cert.pub",
            "identityagent": "${HOME}/agent-%i",
            "remotecommand": "echo %h %%",
            "identityfile": ["${HOME}/id-%k"],
        },
    ),
    Difference(
        "unknown-match-criterion",
        "Match bogus x\n  Port 1\n",
        "foo",
        ConfigParseError,
        {"port": "1", "hostname": "foo"},
    ),
    Difference(
        "match-bad-quotes",
        'Match host "foo\n  Port 1\n',
        "foo",
        ConfigParseError,
        ValueError,
    ),
]


def _conn_hash(data: str) -> str:
    return hashlib.sha1(data.encode()).hexdigest()


def _fill(value: Any) -> Any:
    """Put this test's HOME, uid, host names and connection hashes into expected values."""
    if isinstance(value, list):
        return [_fill(v) for v in value]
    if not isinstance(value, str):
        return value
    local = socket.gethostname()
    places = {
        "<HOME>": _home(),
        "<UID>": str(os.getuid()),
        "<HOSTNAME>": local,
        "<FQDN>": socket.getfqdn(),
        # OpenSSH 9.2: sha1(%l %h %p %r); paramiko: short local name and repr() of the port
        "<OPENSSH_C>": _conn_hash(f"{local}foo2222{LOCAL_USER}"),
        "<PARAMIKO_C>": _conn_hash(f"{local.split('.')[0]}foo{'2222'!r}{LOCAL_USER}"),
    }
    for mark, text in places.items():
        value = value.replace(mark, text)
    return value


def _check(result: dict[str, Any], expected: dict[str, Any]) -> None:
    for key, value in expected.items():
        assert result.get(key, "<missing>") == _fill(value), key


@pytest.mark.parametrize("diff", DIFFERENCES, ids=lambda d: d.name)
def test_deliberate_difference(diff: Difference) -> None:
    if isinstance(diff.ours, type):
        with pytest.raises(diff.ours):
            ours(diff.text, diff.host)
    else:
        mine = ours(diff.text, diff.host)
        _check(mine, diff.ours)
        for key in diff.absent:
            assert key not in mine, key
    if isinstance(diff.theirs, type):
        with pytest.raises(diff.theirs):
            theirs(diff.text, diff.host)
    else:
        _check(theirs(diff.text, diff.host), diff.theirs)


def test_include_is_read(tmp_path: Path) -> None:
    (Path(_home()) / ".ssh" / "conf.d").mkdir()
    (Path(_home()) / ".ssh" / "conf.d" / "10-web.conf").write_text("Host web\n  Port 8022\n")
    (Path(_home()) / ".ssh" / "conf.d" / "20-all.conf").write_text("User included\n")
    text = "Include conf.d/*.conf\nHost *\n  User later\n"
    assert ours(text, "web") == {"hostname": "web", "port": "8022", "user": "included"}
    # paramiko 5.1 has no Include: the line is just another option
    assert theirs(text, "web") == {"include": "conf.d/*.conf", "user": "later", "hostname": "web"}


def test_get_hostnames_with_match_blocks() -> None:
    text = "Host a b\n  Port 1\nMatch host c\n  Port 2\nHost !d\n  Port 3\n"
    assert sconfig.SSHConfig.from_text(text).get_hostnames() == {"*", "a", "b", "!d"}
    with pytest.raises(KeyError):  # paramiko 5.1 indexes entry["host"] on Match blocks too
        pconfig.SSHConfig.from_text(text).get_hostnames()


# --------------------------------------------------------------------------------------------
# SSHConfigDict, LazyFqdn, class attributes and signatures


@pytest.mark.parametrize("value", ["yes", "no", "YES", "No", "", "maybe", True, False])
def test_as_bool_like_paramiko(value: Any) -> None:
    mine, their = sconfig.SSHConfigDict(k=value), pconfig.SSHConfigDict(k=value)
    assert mine.as_bool("k") == their.as_bool("k")


def test_as_bool_accepts_true_false() -> None:
    # OpenSSH's yes/no options also take true/false; paramiko 5.1 reads "true" as False.
    assert sconfig.SSHConfigDict(k="true").as_bool("k") is True
    assert sconfig.SSHConfigDict(k="False").as_bool("k") is False
    assert pconfig.SSHConfigDict(k="true").as_bool("k") is False


@pytest.mark.parametrize("value", ["22", " 7 ", "-1", "0x10", "abc", ""])
def test_as_int_like_paramiko(value: str) -> None:
    results = []
    for cls in (sconfig.SSHConfigDict, pconfig.SSHConfigDict):
        try:
            results.append(cls(k=value).as_int("k"))
        except ValueError:
            results.append(ValueError)
    assert results[0] == results[1]


def test_missing_key_raises_keyerror() -> None:
    with pytest.raises(KeyError):
        sconfig.SSHConfigDict().as_bool("nope")
    with pytest.raises(KeyError):
        sconfig.SSHConfigDict().as_int("nope")


@pytest.mark.parametrize(
    ("options", "host"),
    [({}, None), ({"addressfamily": "inet"}, "localhost"), ({"addressfamily": "any"}, "vm")],
)
def test_lazy_fqdn_like_paramiko(options: dict[str, str], host: str | None) -> None:
    mine, their = sconfig.LazyFqdn(options, host), pconfig.LazyFqdn(options, host)
    assert mine.fqdn is None and their.fqdn is None
    assert str(mine) == str(their)
    assert mine.fqdn == their.fqdn
    assert (mine.config, mine.host) == (options, host)


def test_class_attributes_and_signatures() -> None:
    assert sconfig.SSHConfig.SETTINGS_REGEX.pattern == pconfig.SSHConfig.SETTINGS_REGEX.pattern
    for key, tokens in pconfig.SSHConfig.TOKENS_BY_CONFIG_KEY.items():
        assert set(tokens) <= set(sconfig.SSHConfig.TOKENS_BY_CONFIG_KEY[key]), key
    assert sconfig.SSH_PORT == pconfig.SSH_PORT
    for cls_name in ("SSHConfig", "SSHConfigDict", "LazyFqdn"):
        mine, their = getattr(sconfig, cls_name), getattr(pconfig, cls_name)
        for name, member in vars(their).items():
            if name.startswith("_") and name not in ("__init__", "__str__"):
                continue
            if not callable(member) and not isinstance(member, classmethod):
                continue
            assert hasattr(mine, name), f"{cls_name}.{name}"
            func = getattr(their, name)
            assert list(inspect.signature(getattr(mine, name)).parameters) == list(
                inspect.signature(func).parameters
            ), f"{cls_name}.{name}"


def test_tokens_table_drives_expansion() -> None:
    class NoTokens(sconfig.SSHConfig):
        TOKENS_BY_CONFIG_KEY = {**sconfig.SSHConfig.TOKENS_BY_CONFIG_KEY, "identityfile": []}

    text = "Host x\n  IdentityFile ~/%h\n"
    assert NoTokens.from_text(text).lookup("x")["identityfile"] == ["~/%h"]
    assert sconfig.SSHConfig.from_text(text).lookup("x")["identityfile"] == [f"{_home()}/x"]


def test_parse_twice_appends_and_deepcopy_keeps_lookups(tmp_path: Path) -> None:
    # fabric parses ~/.ssh/config then /etc/ssh/ssh_config into one object, and clones it by
    # deep-copying _config into a fresh SSHConfig.
    inc = tmp_path / "inc.conf"
    inc.write_text("Port 2200\nHost other\n  Port 1\n")
    user = f"Host web\n  Include {inc}\n  User webuser\n"
    system = "Host *\n  User fallback\n  Compression yes\n"
    config = sconfig.SSHConfig()
    config.parse(user.splitlines(True))
    config.parse(iter(system.splitlines(True)))
    clone = sconfig.SSHConfig()
    clone._config = copy.deepcopy(config._config)
    for conf in (config, clone):
        assert conf.lookup("web") == {
            "hostname": "web",
            "port": "2200",
            "user": "webuser",
            "compression": "yes",
        }
        assert conf.lookup("other") == {
            "hostname": "other",
            "user": "fallback",
            "compression": "yes",
        }


def test_from_path_and_from_file(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text("Host a\n  Port 1\n")
    assert sconfig.SSHConfig.from_path(path).lookup("a")["port"] == "1"
    assert sconfig.SSHConfig.from_path(str(path)).lookup("a") == pconfig.SSHConfig.from_path(
        str(path)
    ).lookup("a")
    with open(path) as flo:
        assert sconfig.SSHConfig.from_file(flo).lookup("a")["port"] == "1"
    with pytest.raises(FileNotFoundError):
        sconfig.SSHConfig.from_path(tmp_path / "missing")


# --------------------------------------------------------------------------------------------
# Hypothesis: generated configs in the shared part of the format

_NAME = st.text(alphabet="abcxy0129.-", min_size=1, max_size=8)
_PATTERN = st.text(alphabet="abcxy019.-*?", min_size=1, max_size=6)
_SCALAR_KEYS = ["port", "user", "compression", "loglevel", "forwardagent", "hostkeyalias"]
_WORD = st.text(alphabet="abcdefghij0123456789", min_size=1, max_size=6)


@st.composite
def _host_configs(draw: st.DrawFn) -> str:
    lines: list[str] = []
    for _ in range(draw(st.integers(0, 6))):
        patterns = draw(st.lists(st.tuples(st.booleans(), _PATTERN), min_size=1, max_size=3))
        pats = " ".join(("!" if neg else "") + p for neg, p in patterns)
        lines.append(f"Host {pats}")
        for key in draw(st.lists(st.sampled_from(_SCALAR_KEYS), max_size=4)):
            lines.append(f"  {key} {draw(_WORD)}")
        if draw(st.booleans()):
            lines.append(f"  IdentityFile ~/.ssh/{draw(_WORD)}")
    return "\n".join(lines) + "\n"


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=_host_configs(), hosts=st.lists(_NAME, min_size=1, max_size=4))
def test_generated_host_configs_match_paramiko(text: str, hosts: list[str]) -> None:
    mine, their = sconfig.SSHConfig.from_text(text), pconfig.SSHConfig.from_text(text)
    assert mine.get_hostnames() == their.get_hostnames()
    for host in hosts:
        assert dict(mine.lookup(host)) == dict(their.lookup(host)), host


@settings(max_examples=300, deadline=None)
@given(target=_NAME, pattern=_PATTERN)
def test_wildcards_match_like_fnmatch(target: str, pattern: str) -> None:
    # Without '[', OpenSSH's wildcards and fnmatch's agree.
    assert sconfig._pattern_matches(target, pattern) == fnmatch.fnmatchcase(target, pattern)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab '\"\t", max_size=12))
def test_argument_splitting_like_shlex(text: str) -> None:
    # Without backslashes and '#', OpenSSH's argv_split and POSIX shlex agree.
    try:
        expected: list[str] | None = shlex.split(text)
    except ValueError:
        expected = None
    try:
        got: list[str] | None = sconfig._split_args(text)
    except ConfigParseError:
        got = None
    assert got == expected


_FUZZ_WORDS = st.sampled_from(
    [
        "Host", "Match", "host", "originalhost", "user", "localuser", "all", "canonical",
        "final", "!", "!final", "*", "?", "=", "Port", "User", "HostName", "%h", "%%", "%C",
        "~", "#", '"', "'", "\\", "IdentityFile", "LocalForward", "SendEnv", "-", "ProxyJump",
        "ProxyCommand", "none", "a", "b", ",", "\t", " ",
    ]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(_FUZZ_WORDS, max_size=6).map("".join), max_size=8).map("\n".join))
def test_garbage_raises_only_config_errors(text: str) -> None:
    try:
        config = sconfig.SSHConfig.from_text(text)
    except ConfigParseError:
        return
    result = config.lookup("a")
    assert isinstance(result["hostname"], str)


# --------------------------------------------------------------------------------------------
# sshwire behaviour paramiko has no counterpart for (Include, Match exec without invoke)


def _nest(directory: Path, depth: int) -> Path:
    """A chain of *depth* files, each including the next; the last sets Port."""
    directory.mkdir()
    for level in range(depth):
        nxt = directory / f"level{level + 1}.conf"
        (directory / f"level{level}.conf").write_text(f"Include {nxt}\n")
    (directory / f"level{depth}.conf").write_text("Port 1616\n")
    return directory / "level0.conf"


def test_include_depth_limit(tmp_path: Path) -> None:
    # ssh(1) allows 16 levels of Include below the file it reads.
    assert sconfig.SSHConfig.from_path(_nest(tmp_path / "ok", 16)).lookup("x")["port"] == "1616"
    with pytest.raises(ConfigParseError, match="recursive"):
        sconfig.SSHConfig.from_path(_nest(tmp_path / "deep", 17))
    loop = tmp_path / "loop.conf"
    loop.write_text(f"Include {loop}\n")
    with pytest.raises(ConfigParseError):
        sconfig.SSHConfig.from_path(loop)


def test_include_skips_what_cannot_be_read(tmp_path: Path) -> None:
    (tmp_path / "adir").mkdir()
    text = f"Include {tmp_path}/missing.conf {tmp_path}/adir nomatch*.conf\nPort 2\n"
    assert ours(text, "x") == {"hostname": "x", "port": "2"}


def test_include_rejects_non_utf8(tmp_path: Path) -> None:
    (tmp_path / "latin1.conf").write_bytes(b"User j\xf6rg\n")
    with pytest.raises(ConfigParseError):
        sconfig.SSHConfig.from_text(f"Include {tmp_path}/latin1.conf\n")


def test_include_tilde_and_relative_paths(tmp_path: Path) -> None:
    ssh_dir = Path(_home()) / ".ssh"
    (ssh_dir / "rel.conf").write_text("User relative\n")
    (ssh_dir / "tilde.conf").write_text("Port 3\n")
    text = "Include rel.conf ~/.ssh/tilde.conf\n"
    assert ours(text, "x") == {"hostname": "x", "user": "relative", "port": "3"}


def test_include_relative_to_system_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A file in /etc/ssh includes relative to /etc/ssh (here a stand-in directory); a user
    # file, or text without a file name, relative to ~/.ssh.
    system_dir = tmp_path / "etc-ssh"
    (system_dir / "ssh_config.d").mkdir(parents=True)
    (system_dir / "ssh_config.d" / "10.conf").write_text("User fromsystem\n")
    (Path(_home()) / ".ssh" / "ssh_config.d").mkdir()
    (Path(_home()) / ".ssh" / "ssh_config.d" / "10.conf").write_text("User fromuser\n")
    monkeypatch.setattr(sconfig, "_SYSTEM_CONFIG_DIR", str(system_dir))
    system_file = system_dir / "ssh_config"
    system_file.write_text("Include ssh_config.d/*.conf\n")
    assert sconfig.SSHConfig.from_path(system_file).lookup("x")["user"] == "fromsystem"
    assert ours("Include ssh_config.d/*.conf\n", "x")["user"] == "fromuser"


def test_include_in_match_block_follows_its_condition(tmp_path: Path) -> None:
    (tmp_path / "inc.conf").write_text("Port 5\nHost *\n  User inner\n")
    text = f"Match originalhost web*\n  Include {tmp_path}/inc.conf\n  Compression yes\n"
    assert ours(text, "web1") == {
        "hostname": "web1",
        "port": "5",
        "user": "inner",
        "compression": "yes",
    }
    assert ours(text, "db1") == {"hostname": "db1"}


def test_match_exec_runs_once_per_pass(tmp_path: Path) -> None:
    log = tmp_path / "runs"
    text = f'Match exec "echo run >> {log}"\n  Port 1\n'
    assert ours(text, "x")["port"] == "1"
    assert log.read_text().splitlines() == ["run"]
    log.unlink()
    ours(text + "Match final\n  User f\n", "x")
    assert log.read_text().splitlines() == ["run", "run"]  # first and final pass
    log.unlink()
    theirs(text, "x")  # paramiko always evaluates twice
    assert log.read_text().splitlines() == ["run", "run"]


def test_match_exec_skipped_after_failed_criterion(tmp_path: Path) -> None:
    log = tmp_path / "runs"
    ours(f'Match host other exec "touch {log}"\n  Port 1\n', "x")
    assert not log.exists()


def test_match_exec_tokens_and_quiet_stdout(capfd: pytest.CaptureFixture[str]) -> None:
    text = (
        'Host x\n  HostName x.example\n  Port 2200\nMatch exec "echo visible; '
        'test %h:%p:%n:%r:%u:%% = x.example:2200:x:tester:tester:%"\n  User matched\n'
    )
    assert ours(text, "x")["user"] == "matched"
    assert capfd.readouterr().out == ""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads Linux /proc")
def test_match_exec_timeout_kills_the_command(tmp_path: Path) -> None:
    class Quick(sconfig.SSHConfig):
        MATCH_EXEC_TIMEOUT = 0.5

    pidfile = tmp_path / "pid"
    config = Quick.from_text(f'Match exec "echo $$ > {pidfile}; sleep 60; true"\n  Port 1\n')
    with pytest.raises(ConfigParseError, match="did not finish"):
        config.lookup("x")
    pgid = int(pidfile.read_text())
    assert _live_group_members(pgid) == []  # the shell and its sleep are dead (or zombies)


def _live_group_members(pgid: int) -> list[int]:
    """Processes of group *pgid* that are not zombies (Linux /proc)."""
    live = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            live.append(int(entry.name))
    return live


def test_match_exec_killed_by_signal() -> None:
    with pytest.raises(ConfigParseError, match="signal"):
        ours('Match exec "kill -9 $$"\n  Port 1\n', "x")


def test_match_exec_without_a_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHELL", "/nonexistent/shell")
    with pytest.raises(ConfigParseError, match="could not be started"):
        ours("Match exec true\n  Port 1\n", "x")


def test_parse_accepts_bytes_lines() -> None:
    config = sconfig.SSHConfig()
    config.parse([b"Host x\n", b"  Port 9\n"])
    assert config.lookup("x")["port"] == "9"


def test_canonicalize_anchored_name() -> None:
    text = "CanonicalizeHostname yes\nCanonicalizeFallbackLocal no\n"
    with pytest.raises(CouldNotCanonicalize):
        ours(text, "no-such-host.invalid.")
    assert ours("CanonicalizeHostname yes\n", "no-such-host.invalid.")["hostname"] == (
        "no-such-host.invalid."
    )


def test_canonicalize_skips_addresses() -> None:
    text = "CanonicalizeHostname yes\nCanonicalizeMaxDots 9\nCanonicalDomains example.invalid\n"
    text += "CanonicalizeFallbackLocal no\n"
    assert ours(text, "127.0.0.1")["hostname"] == "127.0.0.1"
    assert ours(text, "::1")["hostname"] == "::1"


def test_canonicalize_bad_max_dots() -> None:
    with pytest.raises(ConfigParseError):
        ours("CanonicalizeHostname yes\nCanonicalizeMaxDots many\n", "x")

"""``SSHConfig.lookup()`` against OpenSSH's own reading of the same file: ``ssh -G -F FILE host``.

``ssh -G`` prints the configuration ssh(1) would use, defaults included. For every case the
options that our ``lookup()`` returns are compared with ssh's, after normalising how each
side writes them (``yes``/``true``, ``[host]:port`` in forwards, lists printed one per line).
Options that ssh prints unexpanded (``IdentityFile``, ``CertificateFile``, ``ProxyCommand``,
``ProxyJump``) are expanded here by a small independent expander from ssh's final
host/port/user; options ssh expands itself (``ControlPath``, ``RemoteCommand``,
``IdentityAgent``, ``UserKnownHostsFile``) are compared as printed, with ssh's home directory
(it uses the passwd entry, not ``$HOME``) swapped for the test's ``$HOME``. Configs that ssh
rejects must make ``from_text()``/``lookup()`` raise.

``HOME`` points at a temp dir for both sides, so no real ``~/.ssh`` is read (``-F`` also keeps
ssh away from ``~/.ssh/config`` and ``/etc/ssh/ssh_config``). A missing ``ssh`` skips loudly,
or fails with ``SSHWIRE_REQUIRE_OPENSSH=1``.
"""

from __future__ import annotations

import os
import pwd
import re
import shlex
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from _openssh import SshdServer, unavailable
from _proxy_relay import RELAY
from sshwire.client import RejectPolicy, SSHClient
from sshwire.config import SSHConfig
from sshwire.proxy import ProxyCommand
from sshwire.ssh_exception import ConfigParseError, CouldNotCanonicalize

pytestmark = pytest.mark.interop

LOCAL_USER = pwd.getpwuid(os.getuid()).pw_name
PW_DIR = pwd.getpwuid(os.getuid()).pw_dir
TEST_VAR = "SSHWIRE_CONFIG_TEST_VAR"


@pytest.fixture(scope="module")
def ssh_binary() -> str:
    path = shutil.which("ssh")
    if path is None:
        unavailable(
            "ssh not found on PATH; the ssh_config interop tests need `ssh -G` "
            "(Debian: apt-get install openssh-client)"
        )
        raise AssertionError("unreachable")  # pragma: no cover
    return path


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("LOGNAME", LOCAL_USER)
    monkeypatch.setenv("USER", LOCAL_USER)
    monkeypatch.setenv("SHELL", "/bin/sh")
    monkeypatch.setenv(TEST_VAR, "/var/lib/from-env")
    yield home


def ssh_g(ssh: str, config: Path, host: str) -> dict[str, list[str]] | str:
    """``ssh -G``'s options as ``{key: [values]}``, or its error text when it refuses."""
    proc = subprocess.run(
        [ssh, "-G", "-F", str(config), host],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ),
        stdin=subprocess.DEVNULL,
        check=False,
    )
    if proc.returncode != 0:
        return proc.stderr.strip() or f"exit status {proc.returncode}"
    options: dict[str, list[str]] = {}
    for line in proc.stdout.splitlines():
        key, _, value = line.partition(" ")
        options.setdefault(key.lower(), []).append(value)
    return options


# --------------------------------------------------------------------------------------------
# Normalising both sides

_BOOL = {"yes": "yes", "true": "yes", "no": "no", "false": "no"}
_BOOL_KEYS = {
    "batchmode", "checkhostip", "compression", "exitonforwardfailure", "forwardagent",
    "forwardx11", "gatewayports", "hashknownhosts", "identitiesonly", "passwordauthentication",
    "permitlocalcommand", "pubkeyauthentication", "tcpkeepalive", "canonicalizefallbacklocal",
    "canonicalizehostname", "stricthostkeychecking", "controlmaster", "visualhostkey",
}  # fmt: skip
_PLAIN_KEYS = {
    "hostname", "port", "user", "hostkeyalias", "canonicaldomains", "serveraliveinterval",
    "serveralivecountmax", "connectionattempts", "connecttimeout", "numberofpasswordprompts",
    "canonicalizemaxdots", "localcommand", "globalknownhostsfile", "ciphers", "macs",
    "kexalgorithms",
}  # fmt: skip
_CASELESS_KEYS = {"loglevel", "addressfamily", "requesttty"}
_RAW_PATH_LISTS = {"identityfile", "certificatefile"}  # ssh -G prints these unexpanded
_RAW_COMMANDS = {"proxycommand", "proxyjump"}  # likewise
_EXPANDED_BY_SSH = {"controlpath", "remotecommand", "identityagent", "userknownhostsfile"}
_FORWARDS = {"localforward", "remoteforward", "dynamicforward"}
_WORD_SETS = {"sendenv"}
_ARG_LISTS = {"setenv"}
# Options ssh -G prints only when set: their absence is compared too.
_OPTIONAL = (
    (_RAW_PATH_LISTS - {"identityfile"})
    | _RAW_COMMANDS
    | _FORWARDS
    | _WORD_SETS
    | _ARG_LISTS
    | {"controlpath", "remotecommand"}
)
COMPARABLE = (
    _BOOL_KEYS | _PLAIN_KEYS | _CASELESS_KEYS | _RAW_PATH_LISTS | _RAW_COMMANDS
    | _EXPANDED_BY_SSH | _FORWARDS | _WORD_SETS | _ARG_LISTS
)  # fmt: skip


def _expand_raw(value: str, ssh: dict[str, list[str]], original: str) -> str:
    """Expand what ssh -G printed unexpanded: ``~``, ``%%``, ``%d %h %n %p %r %u``."""
    home = os.environ["HOME"]
    value = re.sub(r"(?:(?<=\s)|^)~(?=/|\s|$)", home, value)
    tokens = {
        "%": "%",
        "d": home,
        "h": ssh["hostname"][0],
        "n": original,
        "p": ssh["port"][0],
        "r": ssh["user"][0],
        "u": LOCAL_USER,
    }
    return re.sub(r"%(.)", lambda m: tokens.get(m.group(1), m.group(0)), value)


def _unbracket_forward(value: str) -> str:
    value = value.replace(" [socks]:0", "")  # RemoteForward with no target: dynamic
    return " ".join(re.sub(r"\[([^\]]*)\]", r"\1", value).split())


def _rehome(value: str) -> str:
    home = os.environ["HOME"]
    return re.sub(rf"(?:(?<=\s)|^){re.escape(PW_DIR)}(?=/|\s|$)", home, value)


def normalise(key: str, ours: Any, ssh: dict[str, list[str]], original: str) -> tuple[Any, Any]:
    """``(our value, ssh's value)`` in comparable form."""
    theirs = ssh.get(key)
    if key in _BOOL_KEYS:
        first = (theirs or [""])[0].lower()
        return _BOOL.get(str(ours).lower(), str(ours).lower()), _BOOL.get(first, first)
    if key in _PLAIN_KEYS:
        return ours, (theirs or [None])[0]
    if key in _CASELESS_KEYS:
        return str(ours).lower(), (theirs or [""])[0].lower()
    if key in _RAW_PATH_LISTS:
        return ours, [_expand_raw(v, ssh, original) for v in theirs or []]
    if key in _RAW_COMMANDS:
        return ours, _expand_raw(theirs[0], ssh, original) if theirs else None
    if key in _EXPANDED_BY_SSH:
        if key == "userknownhostsfile":
            return str(ours).split(), _rehome(" ".join(theirs or [])).split()
        return ours, _rehome(theirs[0]) if theirs else None
    if key in _FORWARDS:
        return [_unbracket_forward(v) for v in ours], [_unbracket_forward(v) for v in theirs or []]
    if key in _WORD_SETS:
        return set(str(ours).split()), set(theirs or [])
    if key in _ARG_LISTS:
        return shlex.split(str(ours)), theirs or []
    raise AssertionError(f"no normaliser for {key}")


def compare(ours: dict[str, Any], ssh: dict[str, list[str]], original: str) -> set[str]:
    """Assert that every option we return equals ssh's; return the keys compared."""
    compared: set[str] = set()
    for key, value in ours.items():
        assert key in COMPARABLE, f"test has no rule for {key!r}: add one"
        if value is None or (key == "proxyjump" and str(value).lower() == "none"):
            assert key not in ssh, f"{key}: we have none, ssh has {ssh[key]}"
            continue
        mine, theirs = normalise(key, value, ssh, original)
        assert mine == theirs, f"{key}: sshwire {mine!r} != ssh -G {theirs!r}"
        compared.add(key)
    for key in _OPTIONAL - set(ours):
        assert key not in ssh, f"{key}: ssh -G has {ssh[key]}, sshwire has nothing"
    return compared


# --------------------------------------------------------------------------------------------
# Cases


@dataclass(frozen=True)
class Case:
    name: str
    text: str  # "{dir}" is replaced by a temp directory holding the "files"
    hosts: tuple[str, ...]
    must_compare: frozenset[str] = frozenset({"hostname"})
    files: tuple[tuple[str, str], ...] = ()  # extra files (for Include) relative to {dir}


CASES = [
    Case(
        "personal-config",
        """
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
        ("dev", "db1.internal", "bastion", "bastion.example.com", "other"),
        frozenset({"hostname", "port", "user", "identityfile", "compression"}),
    ),
    Case(
        "wildcards-negation",
        """
Host *.example.com !secure.example.com
  User web
Host ?? ???.lan
  Port 2022
Host 192.168.0.?
  User lan
Host !*.example.com *
  LogLevel ERROR
Host *
  User default
""",
        ("www.example.com", "secure.example.com", "ab", "abcd.lan", "192.168.0.5", "x"),
        frozenset({"user", "loglevel"}),
    ),
    Case(
        "tokens",
        f"""
Host *.corp
  HostName %h.example.org
  User admin
  Port 2201
  HostKeyAlias alias-%h
  IdentityFile ~/.ssh/%h_%r
  IdentityFile %d/keys/%u-%r
  CertificateFile ~/.ssh/%r@%h-cert.pub
  ProxyCommand ssh -q -W %h:%p gateway -i ~/.ssh/gw -l %r # %% and %n=%n
  ControlPath ~/.ssh/cm-%C-%r@%h:%p-%L-%l-%n-%i-%u-%k-%%
  RemoteCommand echo %h %r %p %n %%
  IdentityAgent ${{{TEST_VAR}}}/agent-%h-%C
  UserKnownHostsFile ~/kh1 %d/kh2_%h
Host *.jump
  ProxyJump jumper@gw-%h:2222,second
Host *
  ControlPath /tmp/plain-%h
""",
        ("app.corp", "b.jump", "plain"),
        frozenset({"hostname", "controlpath"}),
    ),
    Case(
        "accumulating-options",
        """
Host foo
  IdentityFile ~/.ssh/a
  IdentityFile ~/.ssh/b
  CertificateFile ~/.ssh/a-cert.pub
  LocalForward 8080 localhost:80
  LocalForward 127.0.0.1:8081 [::1]:81
  RemoteForward 9000 localhost:9000
  DynamicForward 1080
  SendEnv LANG LC_*
  SetEnv A=1 "B=two words"
Host *
  IdentityFile ~/.ssh/b
  IdentityFile ~/.ssh/c
  CertificateFile ~/.ssh/c-cert.pub
  LocalForward 8080 localhost:80
  LocalForward *:8082 localhost:82
  RemoteForward 9001
  DynamicForward 127.0.0.1:1081
  SendEnv EDITOR
  SendEnv -LC_*
  SetEnv C=3
""",
        ("foo", "bar"),
        frozenset({"identityfile", "certificatefile", "localforward", "remoteforward"}),
    ),
    Case(
        "match-criteria",
        f"""
Host alias
  HostName real.example.com
Host *
  User deploy
Match host real.example.com
  Port 2020
Match originalhost alias,!nope
  Compression yes
Match user deploy host *.example.com
  IdentityFile ~/.ssh/deploy
Match localuser {LOCAL_USER}
  ServerAliveInterval 15
Match !localuser {LOCAL_USER}
  ServerAliveInterval 99
Match exec "test %h = real.example.com -a %n = alias -a %r = deploy -a %p = 2020"
  LogLevel ERROR
Match exec "exit 3"
  LogLevel DEBUG
Match host other exec "test %h = other"
  BatchMode yes
Match all
  ConnectTimeout 10
""",
        ("alias", "other", "x.example.com"),
        frozenset({"port", "connecttimeout", "serveraliveinterval"}),
    ),
    Case(
        "final-pass",
        """
Host alias
  HostName Target.Example.COM
Match final host target.example.com
  Port 1111
Host target.example.com
  User viahost
Match originalhost alias final
  Compression yes
Match canonical
  ServerAliveInterval 5
Match !final
  LogLevel ERROR
Match final
  LogLevel DEBUG
""",
        ("alias", "target.example.com", "other"),
        frozenset({"hostname", "port", "loglevel"}),
    ),
    Case(
        "no-final-pass",
        "Match host real\n  Port 1\nHost alias\n  HostName real\n"
        "Match user deploy\n  Compression yes\nHost *\n  User deploy\n",
        ("alias",),
        frozenset({"hostname", "user"}),
    ),
    Case(
        "canonicalize-fallback",
        """
Host *
  CanonicalizeHostname yes
  CanonicalDomains example.invalid
  CanonicalizeMaxDots 0
Match canonical
  Port 4444
Match final
  User fin
""",
        ("xy", "x.y"),
        frozenset({"port", "user", "canonicalizehostname", "canonicaldomains"}),
    ),
    Case(
        "canonicalize-not-direct",
        """
Host *
  CanonicalizeHostname yes
  ProxyJump j
  CanonicalizeFallbackLocal no
  CanonicalDomains example.invalid
Match canonical
  Port 5
""",
        ("foo",),
        frozenset({"port", "proxyjump"}),
    ),
    Case(
        "include",
        """
Host foo
  Include {dir}/conf.d/*.conf
  LogLevel ERROR
Include {dir}/guarded.conf
Host *
  Include {dir}/top.conf
  BatchMode yes
""",
        ("foo", "bar", "baz"),
        frozenset({"batchmode"}),
        files=(
            ("conf.d/10-a.conf", "User incuser\nHost foo\n  Port 7\nHost bar\n  Port 8\n"),
            ("conf.d/20-b.conf", "Compression yes\nInclude {dir}/nested.conf\n"),
            ("nested.conf", "ServerAliveInterval 42\n"),
            ("top.conf", "Host baz\n  HostName baz.example.com\n"),
            # included from inside "Host foo" (indentation means nothing): only for foo
            ("guarded.conf", "Host baz\n  Port 99\nHost *\n  ConnectTimeout 3\n"),
        ),
    ),
    Case(
        "proxy-precedence",
        """
Host a
  ProxyJump j1
  ProxyCommand nc %h %p
Host b
  ProxyCommand nc %h %p
  ProxyJump j1
Host c
  ProxyCommand none
  ProxyJump j2
Host d
  ProxyJump none
  ProxyCommand nc %h %p
""",
        ("a", "b", "c", "d"),
    ),
    Case(
        "syntax",
        "HOST=eq # comment\n  HostName = eq.example.net # the box\n  PORT=2200\n"
        '  user   =   "some one"\n\tIdentityFile\t"~/.ssh/my key" # quoted\n'
        "  ProxyCommand ssh -W %h:%p gw # kept by both\n",
        ("eq",),
        frozenset({"hostname", "port", "user", "identityfile", "proxycommand"}),
    ),
    Case(
        "case",
        "Host FOO\n  Port 1\nHost foo\n  Port 2\nMatch host WEB*\n  User web\n",
        ("FOO", "foo", "Web1"),
        frozenset({"hostname", "port"}),
    ),
]


def _write_case(case: Case, directory: Path) -> Path:
    for name, text in case.files:
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.replace("{dir}", str(directory)))
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "config"
    config.write_text(case.text.replace("{dir}", str(directory)))
    return config


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_lookup_matches_ssh_G(case: Case, ssh_binary: str, home: Path, tmp_path: Path) -> None:
    config_path = _write_case(case, tmp_path / "cfg")
    config = SSHConfig.from_path(config_path)
    compared: set[str] = set()
    for host in case.hosts:
        ssh = ssh_g(ssh_binary, config_path, host)
        assert isinstance(ssh, dict), f"ssh -G refused the config: {ssh}"
        result = dict(config.lookup(host))
        compared |= compare(result, ssh, host)
    missing = case.must_compare - compared
    assert not missing, f"never compared: {sorted(missing)}"


# Spot checks that the cases above exercise what they claim (against ssh -G too).
SPOT = [
    ("tokens", "app.corp", "remotecommand", "echo app.corp.example.org admin 2201 app.corp %"),
    ("accumulating-options", "foo", "sendenv", "LANG EDITOR"),
    ("match-criteria", "alias", "loglevel", "ERROR"),
    ("final-pass", "alias", "user", "viahost"),
    ("final-pass", "alias", "loglevel", "ERROR"),
    ("canonicalize-fallback", "x.y", "port", "4444"),
    ("include", "foo", "serveraliveinterval", "42"),
    ("include", "baz", "hostname", "baz.example.com"),
    ("include", "foo", "connecttimeout", "3"),
    ("case", "FOO", "hostname", "foo"),
]


@pytest.mark.parametrize(("name", "host", "key", "value"), SPOT)
def test_spot_values(
    name: str, host: str, key: str, value: str, ssh_binary: str, home: Path, tmp_path: Path
) -> None:
    case = next(c for c in CASES if c.name == name)
    config_path = _write_case(case, tmp_path / "cfg")
    ssh = ssh_g(ssh_binary, config_path, host)
    assert isinstance(ssh, dict), ssh
    ours = SSHConfig.from_path(config_path).lookup(host)
    assert ours[key] == value
    assert normalise(key, ours[key], ssh, host)[1] == normalise(key, value, ssh, host)[0]


def test_connection_hash_is_openssh_s(ssh_binary: str, home: Path, tmp_path: Path) -> None:
    config_path = tmp_path / "config"
    config_path.write_text("Host *\n  Port 2222\n  User bob\n  ControlPath %C\n")
    ssh = ssh_g(ssh_binary, config_path, "some.host")
    assert isinstance(ssh, dict), ssh
    ours = SSHConfig.from_path(config_path).lookup("some.host")
    assert ours["controlpath"] == ssh["controlpath"][0]
    assert len(ours["controlpath"]) == 40 and socket.gethostname()


# --------------------------------------------------------------------------------------------
# Configs ssh refuses


REFUSED = [
    ("match-unknown", "Match bogus x\n  Port 1\n", "foo", ConfigParseError),
    ("match-missing-arg", "Match host\n  Port 1\n", "foo", ConfigParseError),
    ("match-all-combined", "Match all host foo\n  Port 1\n", "foo", ConfigParseError),
    ("match-all-first", "Match all canonical\n  Port 1\n", "foo", ConfigParseError),
    ("match-two-then-all", "Match canonical final all\n  Port 1\n", "foo", ConfigParseError),
    ("bad-quotes", 'Host "foo\n  Port 1\n', "foo", ConfigParseError),
    ("comment-only-value", "Host foo\n  Port #5\n", "foo", ConfigParseError),
    ("include-loop", "Include {dir}/config\n", "foo", ConfigParseError),
    (
        "canonicalize-fails",
        "CanonicalizeHostname yes\nCanonicalizeFallbackLocal no\n"
        "CanonicalDomains example.invalid\n",
        "foo",
        CouldNotCanonicalize,
    ),
    (
        "canonicalize-none-domain",
        "CanonicalizeHostname yes\nCanonicalizeFallbackLocal no\nCanonicalDomains none\n",
        "foo",
        CouldNotCanonicalize,
    ),
    (
        "canonicalize-always-through-proxy",
        "CanonicalizeHostname always\nProxyCommand nc %h %p\nCanonicalizeFallbackLocal no\n"
        "CanonicalDomains example.invalid\n",
        "foo",
        CouldNotCanonicalize,
    ),
]


@pytest.mark.parametrize(("name", "text", "host", "error"), REFUSED, ids=[r[0] for r in REFUSED])
def test_refused_by_both(
    name: str,
    text: str,
    host: str,
    error: type[Exception],
    ssh_binary: str,
    home: Path,
    tmp_path: Path,
) -> None:
    config_path = tmp_path / "config"
    config_path.write_text(text.replace("{dir}", str(tmp_path)))
    assert isinstance(ssh_g(ssh_binary, config_path, host), str), "ssh -G accepted it"
    with pytest.raises(error):
        SSHConfig.from_path(config_path).lookup(host)


ACCEPTED_EDGES = [
    # Accepted by both although they look odd.
    ("match-final-all", "Match final all\n  Port 1\n", "foo"),
    ("match-not-all", "Match !all\n  Port 1\n", "foo"),
    ("canonicalize-too-many-dots", "CanonicalizeHostname yes\nCanonicalizeFallbackLocal no\n"
     "CanonicalDomains example.invalid\n", "a.b.c"),
    ("canonicalize-through-proxy", "CanonicalizeHostname yes\nProxyCommand nc %h %p\n"
     "CanonicalizeFallbackLocal no\nCanonicalDomains example.invalid\n", "foo"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "text", "host"), ACCEPTED_EDGES, ids=[a[0] for a in ACCEPTED_EDGES]
)
def test_accepted_by_both(
    name: str, text: str, host: str, ssh_binary: str, home: Path, tmp_path: Path
) -> None:
    config_path = tmp_path / "config"
    config_path.write_text(text)
    ssh = ssh_g(ssh_binary, config_path, host)
    assert isinstance(ssh, dict), ssh
    compare(dict(SSHConfig.from_path(config_path).lookup(host)), ssh, host)


@pytest.mark.parametrize(("depth", "accepted"), [(16, True), (17, False)])
def test_include_depth_like_ssh(
    depth: int, accepted: bool, ssh_binary: str, home: Path, tmp_path: Path
) -> None:
    for level in range(depth):
        (tmp_path / f"level{level}.conf").write_text(f"Include {tmp_path}/level{level + 1}.conf\n")
    (tmp_path / f"level{depth}.conf").write_text("Port 1616\n")
    top = tmp_path / "level0.conf"
    ssh = ssh_g(ssh_binary, top, "x")
    if accepted:
        assert isinstance(ssh, dict), ssh
        assert ssh["port"] == ["1616"]
        assert SSHConfig.from_path(top).lookup("x")["port"] == "1616"
    else:
        assert isinstance(ssh, str) and "recursive" in ssh
        with pytest.raises(ConfigParseError):
            SSHConfig.from_path(top)


# --------------------------------------------------------------------------------------------
# End to end: one config file drives both OpenSSH's ssh and SSHClient.connect to a real sshd


def _connect_from_config(opts: dict[str, Any]) -> str:
    """The recipe of docs/api/config.rst: SSHClient.connect() fed from lookup()."""
    with SSHClient() as client:
        client.load_host_keys(opts["userknownhostsfile"].split()[0])
        client.set_missing_host_key_policy(RejectPolicy())
        proxy = opts.get("proxycommand")
        client.connect(
            opts["hostname"],
            port=int(opts.get("port", 22)),
            username=opts.get("user"),
            key_filename=[p for p in opts.get("identityfile", []) if os.path.exists(p)],
            timeout=float(opts.get("connecttimeout", 10)),
            allow_agent=False,
            look_for_keys=False,
            sock=ProxyCommand(proxy) if proxy else None,
        )
        _, stdout, _ = client.exec_command("echo config-ok $SSH_CONNECTION")
        return stdout.read().decode().split()[0]


@pytest.mark.parametrize("alias", ["box", "box-via-proxy"])
def test_one_config_for_ssh_and_sshclient(
    alias: str, sshd: SshdServer, home: Path, tmp_path: Path
) -> None:
    relay = tmp_path / "relay.py"
    relay.write_text(RELAY)
    config_path = tmp_path / "config"
    config_path.write_text(
        f"""
Host box-via-proxy
  ProxyCommand {shlex.quote(sys.executable)} {relay} %h %p
Host box*
  HostName {sshd.host}
  Port {sshd.port}
  User {sshd.user}
  IdentityFile ~/.ssh/missing_key
  IdentityFile {sshd.client_keys["ed25519"]}
  IdentitiesOnly yes
  IdentityAgent none
  BatchMode yes
  StrictHostKeyChecking yes
  UserKnownHostsFile {sshd.known_hosts_path}
  GlobalKnownHostsFile /dev/null
  UpdateHostKeys no
  ConnectTimeout 10
"""
    )
    opts = SSHConfig.from_path(config_path).lookup(alias)
    assert opts["hostname"] == sshd.host and opts["port"] == str(sshd.port)
    assert _connect_from_config(opts) == "config-ok"
    proc = subprocess.run(
        [sshd.openssh.ssh, "-F", str(config_path), alias, "echo config-ok"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "config-ok"

"""OpenSSH client configuration files (``ssh_config``), with paramiko's ``config`` API.

Theory of operation
-------------------
:meth:`SSHConfig.parse` turns the text into a flat list of *entries* (``self._config``), one
per ``Host`` or ``Match`` block, in file order. An entry is a plain dict, as in paramiko, so
that code which copies or counts ``_config`` (fabric does both) keeps working:

``{"host": [patterns], "config": {...}}``
    a ``Host`` block (the text before the first block is an implicit ``Host *``);
``{"matches": [{"type", "param", "negate"}, ...], "config": {...}}``
    a ``Match`` block;
``{"within": [entry, ...], "config": {...}}``
    lines that an ``Include`` brought in before the included file's first block, and the
    lines of a block that follow an ``Include``. ``within`` lists the enclosing blocks (the
    entries themselves); an entry under ``within`` applies only while all of them match.

``Include`` is resolved while parsing (ssh_config(5) "Include": globs, ``~``, paths relative
to ``~/.ssh`` for user files and to ``/etc/ssh`` for ``/etc/ssh/*`` files, at most 16 levels).

:meth:`SSHConfig.lookup` follows ssh(1)'s order of work: a first pass over the entries
(first value wins; the list options accumulate), then ``HostName`` is expanded and lowercased,
the name is canonicalized if ``CanonicalizeHostname`` asks for it, and a final pass runs when
canonicalization is enabled or a ``Match final`` line exists. In the final pass ``Host``
patterns see the new target name and ``Match canonical``/``Match final`` match. Each block's
condition is evaluated once per pass, at its place in the file, so ``Match`` lines see the
options collected before them and a ``Match exec`` command runs at most once per pass.
Tokens (``%h``, ``%p``, ...) are expanded at the end, per :attr:`SSHConfig.TOKENS_BY_CONFIG_KEY`.
"""

from __future__ import annotations

import getpass
import glob
import hashlib
import ipaddress
import os
import re
import signal
import socket
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from io import StringIO
from typing import IO, Any, ClassVar, TypeVar

from .ssh_exception import ConfigParseError, CouldNotCanonicalize

__all__ = ["SSH_PORT", "LazyFqdn", "SSHConfig", "SSHConfigDict"]

SSH_PORT = 22

_ConfigT = TypeVar("_ConfigT", bound="SSHConfig")

# Options that may be given many times and accumulate, in order, without duplicates
# (ssh_config(5): IdentityFile, CertificateFile, LocalForward, RemoteForward, DynamicForward).
_LIST_KEYS = frozenset(
    {"identityfile", "certificatefile", "localforward", "remoteforward", "dynamicforward"}
)
# Options whose value is a command line: the rest of the line is kept as written, ``#``
# included (readconf.c parse_command).
_COMMAND_KEYS = frozenset({"proxycommand", "localcommand", "remotecommand", "knownhostscommand"})
# Options where ssh(1) also expands ``${VAR}`` environment references.
_ENV_KEYS = frozenset(
    {
        "certificatefile",
        "controlpath",
        "identityagent",
        "identityfile",
        "knownhostscommand",
        "userknownhostsfile",
    }
)
_MATCH_BARE = frozenset({"all", "canonical", "final"})
_MATCH_WITH_ARG = frozenset({"exec", "host", "originalhost", "user", "localuser"})
_MAX_INCLUDE_DEPTH = 16  # readconf.c READCONF_MAX_DEPTH
_SYSTEM_CONFIG_DIR = "/etc/ssh"

# ssh_config(5) TOKENS: what most path-like options accept.
_PATH_TOKENS = ["%%", "%C", "%d", "%h", "%i", "%k", "%L", "%l", "%n", "%p", "%r", "%u"]

_TILDE_RE = re.compile(r"(?:(?<=\s)|^)~([^/\s]*)(?=/|\s|$)")
_ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class _Pass:
    """What one pass over the entries matches against."""

    host: str  # the name Host patterns see: the argument, then the final target name
    original: str  # the name given to lookup() (``%n``, ``Match originalhost``)
    final: bool  # the final pass (``Match canonical`` / ``Match final``)


class SSHConfig:
    """The contents of OpenSSH client configuration files, queried with :meth:`lookup`.

    The format and its semantics are those of ssh_config(5): ``Host`` and ``Match`` blocks,
    ``Include``, first value wins, token expansion. Build one with :meth:`from_path`,
    :meth:`from_file` or :meth:`from_text`, or create an empty one and call :meth:`parse`
    (once per file; later files add to earlier ones, as ssh(1) reads ``~/.ssh/config`` and
    then ``/etc/ssh/ssh_config``).
    """

    #: How a line splits into keyword and value: ``Keyword value`` or ``Keyword = value``.
    SETTINGS_REGEX = re.compile(r"(\w+)(?:\s*=\s*|\s+)(.+)")

    #: For each option, the tokens expanded in its value by :meth:`lookup` (``"~"`` stands
    #: for a ``~`` or ``~user`` at the start of a word). ``"match-exec"`` is the command of a
    #: ``Match exec`` line. The table follows ssh_config(5)'s TOKENS section; override it in a
    #: subclass to expand more or less.
    TOKENS_BY_CONFIG_KEY: ClassVar[dict[str, list[str]]] = {
        "controlpath": [*_PATH_TOKENS, "~"],
        "hostname": ["%%", "%h"],
        "identityfile": [*_PATH_TOKENS, "~"],
        "proxycommand": ["%%", "%h", "%n", "%p", "%r", "~"],
        "proxyjump": ["%%", "%h", "%n", "%p", "%r"],
        "match-exec": list(_PATH_TOKENS),
        "certificatefile": [*_PATH_TOKENS, "~"],
        "identityagent": [*_PATH_TOKENS, "~"],
        "userknownhostsfile": [*_PATH_TOKENS, "~"],
        "revokedhostkeys": [*_PATH_TOKENS, "~"],
        "remotecommand": list(_PATH_TOKENS),
    }

    #: Seconds a ``Match exec`` command may run; past that it is killed and
    #: :class:`~sshwire.ssh_exception.ConfigParseError` is raised (ssh(1) waits forever).
    MATCH_EXEC_TIMEOUT: ClassVar[float] = 60.0

    def __init__(self) -> None:
        """An empty configuration; :meth:`parse` adds files to it."""
        self._config: list[dict[str, Any]] = []

    @classmethod
    def from_text(cls: type[_ConfigT], text: str) -> _ConfigT:
        """A new configuration parsed from the string *text*."""
        return cls.from_file(StringIO(text))

    @classmethod
    def from_path(cls: type[_ConfigT], path: str | os.PathLike[str]) -> _ConfigT:
        """A new configuration parsed from the file at *path*."""
        with open(path) as flo:
            return cls.from_file(flo)

    @classmethod
    def from_file(cls: type[_ConfigT], flo: IO[str] | Iterable[str]) -> _ConfigT:
        """A new configuration parsed from the open text file (or iterable of lines) *flo*."""
        obj = cls()
        obj.parse(flo)
        return obj

    # ----------------------------------------------------------------------------------------
    # Parsing

    def parse(self, file_obj: IO[str] | Iterable[str]) -> None:
        """Add the configuration read from *file_obj* (an open text file or lines of text).

        Raises :class:`~sshwire.ssh_exception.ConfigParseError` for a line that cannot be
        understood (no value, bad quotes, an unknown ``Match`` criterion, ``Include`` nested
        too deeply).
        """
        name = getattr(file_obj, "name", None)
        system = isinstance(name, str) and _in_system_dir(name)
        self._config.extend(self._parse_lines(file_obj, system=system, depth=0, within=[]))

    def _parse_lines(
        self,
        lines: Iterable[str | bytes],
        *,
        system: bool,
        depth: int,
        within: list[dict[str, Any]],
    ) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = []
        context: dict[str, Any] = _new_entry(within) if within else {"host": ["*"], "config": {}}
        for raw in lines:
            line = (raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw).strip()
            if not line or line.startswith("#"):
                continue
            match = self.SETTINGS_REGEX.match(line)
            if match is None:
                raise ConfigParseError(f"Unparsable line {line}")
            key = match.group(1).lower()
            value = match.group(2)
            if key == "host":
                entries.append(context)
                context = _new_entry(within, host=_parse_host_patterns(value))
            elif key == "match":
                entries.append(context)
                context = _new_entry(within, matches=_parse_match(value))
            elif key == "include":
                entries.append(context)
                chain = [*within, context]
                for path in _include_paths(value, system):
                    entries.extend(self._read_include(path, system, depth + 1, chain))
                # The rest of the block applies under the same condition as its start.
                context = _new_entry(chain)
            else:
                _store_option(context["config"], key, _clean_value(key, value))
        entries.append(context)
        return entries

    def _read_include(
        self, path: str, system: bool, depth: int, within: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        if depth > _MAX_INCLUDE_DEPTH:
            raise ConfigParseError(
                f"Too many recursive configuration includes (more than {_MAX_INCLUDE_DEPTH}) "
                f"at {path}"
            )
        try:
            with open(path, encoding="utf-8") as flo:
                lines = flo.readlines()
        except UnicodeDecodeError as exc:
            raise ConfigParseError(f"Included file {path} is not UTF-8 text: {exc}") from exc
        except OSError:
            return []  # as ssh(1): an Include that cannot be opened is skipped
        return self._parse_lines(lines, system=system, depth=depth, within=within)

    # ----------------------------------------------------------------------------------------
    # Lookup

    def lookup(self, hostname: str) -> SSHConfigDict:
        """The options for *hostname*, as an :class:`SSHConfigDict` with lowercase keys.

        Values are strings, except the list options (``identityfile``, ``certificatefile``,
        ``localforward``, ``remoteforward``, ``dynamicforward``: lists of strings in the order
        given) and ``proxycommand`` set to ``none`` (``None``). ``hostname`` is always
        present: the ``HostName`` setting, or *hostname* itself, lowercased and, with
        ``CanonicalizeHostname``, canonicalized. Tokens are expanded per
        :attr:`TOKENS_BY_CONFIG_KEY`.

        Raises :class:`~sshwire.ssh_exception.CouldNotCanonicalize` when canonicalization
        fails and ``CanonicalizeFallbackLocal no`` is set, and
        :class:`~sshwire.ssh_exception.ConfigParseError` for a ``Match exec`` command that
        cannot run, is killed or outlives :attr:`MATCH_EXEC_TIMEOUT`.
        """
        options = SSHConfigDict()
        self._apply(options, _Pass(host=hostname, original=hostname, final=False))

        host = self._match_host(options, hostname, final=False)
        if not _is_address(host):
            host = host.lower()
        options["hostname"] = host

        mode = str(options.get("canonicalizehostname", "no")).lower()
        canonicalizing = mode in ("yes", "true", "always")
        if canonicalizing:
            direct = options.get("proxycommand") is None and (
                str(options.get("proxyjump", "none")).lower() == "none"
            )
            if (direct or mode == "always") and not _is_address(host):
                host = self._canonical_target(host, options)
                options["hostname"] = host

        if canonicalizing or self._wants_final_pass():
            self._apply(options, _Pass(host=host, original=hostname, final=True))

        self._expand_options(options, hostname)
        if "sendenv" in options:
            options["sendenv"] = " ".join(options["sendenv"])
        return options

    def canonicalize(self, hostname: str, options: Mapping[str, Any], domains: list[str]) -> str:
        """Canonicalize *hostname* with the first of *domains* under which it resolves.

        Each ``hostname.domain`` is resolved (with the address family of ``AddressFamily`` in
        *options*); the first that resolves is returned. A domain ``none`` ends the search.
        When none resolves, *hostname* is returned unchanged, unless *options* has
        ``CanonicalizeFallbackLocal no``: then
        :class:`~sshwire.ssh_exception.CouldNotCanonicalize` is raised.
        """
        for domain in domains:
            if domain.lower() == "none":
                break
            candidate = f"{hostname}.{domain}"
            if _resolves(candidate, options):
                return candidate
        if _flag(options.get("canonicalizefallbacklocal", "yes"), default=True):
            return hostname
        raise CouldNotCanonicalize(hostname)

    def get_hostnames(self) -> set[str]:
        """Every pattern named on a ``Host`` line (wildcards and ``!`` negations included)."""
        hosts: set[str] = set()
        for entry in self._config:
            hosts.update(entry.get("host", ()))
        return hosts

    def _canonical_target(self, host: str, options: SSHConfigDict) -> str:
        # ssh.c resolve_canonicalize(): an anchored name is resolved as it is; names with more
        # than CanonicalizeMaxDots dots are left alone; otherwise try each CanonicalDomains.
        if host.endswith("."):
            if _resolves(host, options):
                return host[:-1]
            return self.canonicalize(host, options, [])
        try:
            max_dots = int(options.get("canonicalizemaxdots", 1))
        except ValueError as exc:
            raise ConfigParseError(
                f"CanonicalizeMaxDots is not a number: {options['canonicalizemaxdots']!r}"
            ) from exc
        if host.count(".") > max_dots:
            return host
        domains = str(options.get("canonicaldomains", "")).split()
        return self.canonicalize(host, options, domains)

    def _wants_final_pass(self) -> bool:
        return any(
            crit["type"] == "final" and not crit["negate"]
            for entry in self._config
            for crit in entry.get("matches", ())
        )

    def _apply(self, options: SSHConfigDict, state: _Pass) -> None:
        active: dict[int, bool] = {}
        for entry in self._config:
            ok = all(active.get(id(parent), False) for parent in entry.get("within", ()))
            if ok and "host" in entry:
                ok = _host_patterns_match(entry["host"], state.host)
            elif ok and "matches" in entry:
                ok = self._does_match(entry["matches"], state, options)
            active[id(entry)] = ok
            if ok:
                _merge(options, entry["config"])

    def _does_match(
        self, criteria: list[dict[str, Any]], state: _Pass, options: SSHConfigDict
    ) -> bool:
        # readconf.c match_cfg_line(): every criterion must hold; an exec command runs only
        # when the criteria before it held.
        for crit in criteria:
            kind, param, negate = crit["type"], crit["param"], bool(crit["negate"])
            if kind == "all":
                return not negate
            if kind in ("canonical", "final"):
                passed = state.final
            elif kind == "host":
                host = self._match_host(options, state.original, state.final)
                passed = _pattern_list_matches(host.lower(), param.lower())
            elif kind == "originalhost":
                passed = _pattern_list_matches(state.original.lower(), param.lower())
            elif kind == "user":
                passed = _pattern_list_matches(_remote_user(options), param)
            elif kind == "localuser":
                passed = _pattern_list_matches(_local_user(), param)
            elif kind == "exec":
                host = self._match_host(options, state.original, state.final)
                values = _token_values(options, host, state.original, keyalias_default=host)
                command = self._tokenize_value("match-exec", param, values)
                passed = self._run_match_exec(command)
            else:
                raise ConfigParseError(f"Unsupported Match attribute {kind}")
            if passed == negate:
                return False
        return True

    def _match_host(self, options: Mapping[str, Any], original: str, final: bool) -> str:
        """The target name as ``Match host`` sees it at this point of a pass."""
        configured = options.get("hostname")
        if configured is None:
            return original
        if final:
            return str(configured)
        values = {"%h": original}
        return self._tokenize_value("hostname", str(configured), values)

    def _run_match_exec(self, command: str) -> bool:
        """Run a ``Match exec`` command in the user's shell; True when it exits with 0."""
        popen_args: dict[str, Any] = {
            "stdin": subprocess.DEVNULL,
            "stdout": subprocess.DEVNULL,  # stderr stays visible, as with ssh(1)
        }
        if os.name == "nt":
            argv: str | list[str] = command
            popen_args["shell"] = True
        else:
            argv = [os.environ.get("SHELL") or "/bin/sh", "-c", command]
            popen_args["start_new_session"] = True  # its own process group, killed on timeout
        try:
            proc = subprocess.Popen(argv, **popen_args)
        except OSError as exc:
            raise ConfigParseError(f"Match exec {command!r} could not be started: {exc}") from exc
        try:
            status = proc.wait(timeout=self.MATCH_EXEC_TIMEOUT)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            raise ConfigParseError(
                f"Match exec {command!r} did not finish within {self.MATCH_EXEC_TIMEOUT} s"
            ) from None
        if status < 0:
            raise ConfigParseError(f"Match exec {command!r} was killed by signal {-status}")
        return status == 0

    # ----------------------------------------------------------------------------------------
    # Token expansion (ssh_config(5) TOKENS)

    def _expand_options(self, options: SSHConfigDict, original: str) -> None:
        host = str(options["hostname"])
        values = _token_values(options, host, original, keyalias_default=original)
        for key, value in options.items():
            if key == "hostname" or value is None:
                continue  # HostName was expanded before the name was used
            if isinstance(value, list):
                options[key] = [self._tokenize_value(key, item, values) for item in value]
            elif isinstance(value, str):
                options[key] = self._tokenize_value(key, value, values)

    def _tokenize_value(self, key: str, value: str, values: Mapping[str, str]) -> str:
        allowed = self.TOKENS_BY_CONFIG_KEY.get(key, [])
        if not allowed:
            return value
        if "~" in allowed:
            value = _TILDE_RE.sub(_expand_tilde, value)
        if key in _ENV_KEYS:
            value = _ENV_RE.sub(lambda m: os.environ.get(m.group(1), m.group(0)), value)
        return _percent_expand(value, values, allowed)


# --------------------------------------------------------------------------------------------
# Parsing helpers


def _new_entry(
    within: list[dict[str, Any]],
    host: list[str] | None = None,
    matches: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    if host is not None:
        entry["host"] = host
    if matches is not None:
        entry["matches"] = matches
    if within:
        entry["within"] = list(within)
    entry["config"] = {}
    return entry


def _split_args(text: str) -> list[str]:
    """Split *text* into words the way ssh(1) does (misc.c argv_split).

    Single or double quotes group words, a backslash escapes a quote, a backslash or (outside
    quotes) a space, and a word starting with ``#`` ends the line.
    """
    args: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] in " \t":
            i += 1
            continue
        if text[i] == "#":
            break
        word: list[str] = []
        quote = ""
        while i < n:
            c = text[i]
            nxt = text[i + 1] if i + 1 < n else ""
            if c == "\\" and (nxt in ("'", '"', "\\") or (not quote and nxt == " ")) and nxt:
                word.append(nxt)
                i += 2
                continue
            if not quote and c in " \t":
                break
            if not quote and c in "'\"":
                quote = c
            elif quote and c == quote:
                quote = ""
            else:
                word.append(c)
            i += 1
        if quote:
            raise ConfigParseError(f"Unbalanced quotes in {text!r}")
        args.append("".join(word))
    return args


def _strip_comment(value: str) -> str:
    """Cut a trailing ``# comment`` (a ``#`` starting a word, outside quotes) off *value*."""
    quote = ""
    i, n = 0, len(value)
    while i < n:
        c = value[i]
        if c == "\\" and i + 1 < n:
            i += 2
            continue
        if quote:
            if c == quote:
                quote = ""
        elif c in "'\"":
            quote = c
        elif c == "#" and (i == 0 or value[i - 1] in " \t"):
            return value[:i].rstrip()
        i += 1
    return value


def _clean_value(key: str, value: str) -> str:
    if key not in _COMMAND_KEYS:
        value = _strip_comment(value)
        if not value:
            raise ConfigParseError(f"Missing argument for {key}")
    if value.startswith('"') and value.endswith('"'):
        value = value[1:-1]
    return value


def _store_option(config: dict[str, Any], key: str, value: str) -> None:
    if key == "proxycommand" and value.lower() == "none":
        config.setdefault(key, None)  # "none" means no proxy command, not a program
    elif key in _LIST_KEYS:
        config.setdefault(key, []).append(value)
    elif key == "sendenv":
        config.setdefault(key, []).extend(_split_args(value))
    else:
        config.setdefault(key, value)


def _parse_host_patterns(value: str) -> list[str]:
    patterns = _split_args(value)
    if not patterns or "" in patterns:
        raise ConfigParseError(f"Unparsable host {value}")
    return patterns


def _parse_match(value: str) -> list[dict[str, Any]]:
    words = _split_args(value)
    if not words:
        raise ConfigParseError(f"Match needs at least one criterion: {value!r}")
    criteria: list[dict[str, Any]] = []
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        negate = word.startswith("!")
        kind = (word[1:] if negate else word).lower()
        crit: dict[str, Any] = {"type": kind, "param": None, "negate": negate}
        if kind == "all":
            # ssh_config(5): 'all' appears alone or right after 'canonical' or 'final'.
            after_ok = not criteria or (
                len(criteria) == 1 and criteria[0]["type"] in ("canonical", "final")
            )
            if i < len(words) or not after_ok:
                raise ConfigParseError(
                    "Match 'all' must stand alone or follow only 'canonical' or 'final'"
                )
        elif kind not in _MATCH_BARE:
            if kind not in _MATCH_WITH_ARG:
                raise ConfigParseError(f"Unsupported Match attribute {word!r}")
            if i >= len(words) or not words[i]:
                raise ConfigParseError(f"Missing parameter to Match '{kind}' keyword")
            crit["param"] = words[i]
            i += 1
        criteria.append(crit)
    return criteria


def _in_system_dir(name: str) -> bool:
    return os.path.dirname(os.path.abspath(name)) == _SYSTEM_CONFIG_DIR


def _include_paths(value: str, system: bool) -> list[str]:
    words = _split_args(value)
    if not words:
        raise ConfigParseError("Include needs at least one file name")
    base = _SYSTEM_CONFIG_DIR if system else os.path.join(os.path.expanduser("~"), ".ssh")
    paths: list[str] = []
    for word in words:
        pattern = _TILDE_RE.sub(_expand_tilde, word)
        if not os.path.isabs(pattern):
            pattern = os.path.join(base, pattern)
        paths.extend(sorted(glob.glob(pattern)))
    return paths


# --------------------------------------------------------------------------------------------
# Lookup helpers


def _merge(options: SSHConfigDict, config: Mapping[str, Any]) -> None:
    """Add one block's options: first value wins, list options accumulate."""
    for key, value in config.items():
        if key in _LIST_KEYS:
            items = options.setdefault(key, [])
            items.extend(v for v in value if v not in items)
        elif key == "sendenv":
            _merge_sendenv(options.setdefault(key, []), value)
        elif key in options:
            continue
        elif key == "proxyjump" and "proxycommand" in options:
            continue  # ProxyCommand came first (ssh_config(5): the first of the two wins)
        elif key == "proxycommand" and str(options.get("proxyjump", "none")).lower() != "none":
            continue
        else:
            options[key] = value


def _merge_sendenv(names: list[str], words: list[str]) -> None:
    # ssh_config(5) SendEnv: names accumulate; "-pattern" removes names added before.
    for word in words:
        if word.startswith("-"):
            names[:] = [n for n in names if not _pattern_matches(n, word[1:])]
        elif word not in names:
            names.append(word)


def _host_patterns_match(patterns: Iterable[str], target: str) -> bool:
    matched = False
    for pattern in patterns:
        if pattern.startswith("!"):
            if _pattern_matches(target, pattern[1:]):
                return False
        elif _pattern_matches(target, pattern):
            matched = True
    return matched


def _pattern_list_matches(target: str, patterns: str) -> bool:
    """OpenSSH's comma-separated pattern lists (match.c match_pattern_list)."""
    return _host_patterns_match(patterns.split(","), target)


_PATTERN_CACHE: dict[str, re.Pattern[str]] = {}


def _pattern_matches(target: str, pattern: str) -> bool:
    """``*`` matches any run of characters, ``?`` exactly one; nothing else is special."""
    compiled = _PATTERN_CACHE.get(pattern)
    if compiled is None:
        parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
        compiled = re.compile("".join(parts), re.DOTALL)
        if len(_PATTERN_CACHE) < 4096:
            _PATTERN_CACHE[pattern] = compiled
    return compiled.fullmatch(target) is not None


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _address_family(options: Mapping[str, Any]) -> int | None:
    family = str(options.get("addressfamily", "any")).lower()
    if family == "inet":
        return socket.AF_INET
    if family == "inet6":
        return socket.AF_INET6
    return None


def _resolves(name: str, options: Mapping[str, Any]) -> bool:
    family = _address_family(options)
    try:
        infos = socket.getaddrinfo(name, None, family or socket.AF_UNSPEC, socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return False
    return bool(infos)


def _flag(value: Any, *, default: bool) -> bool:
    text = str(value).lower()
    if text in ("yes", "true"):
        return True
    if text in ("no", "false"):
        return False
    return default


def _local_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry and no LOGNAME/USER: nothing to match
        return ""


def _remote_user(options: Mapping[str, Any]) -> str:
    user = options.get("user")
    return str(user) if user else _local_user()


def _port_string(options: Mapping[str, Any]) -> str:
    port = options.get("port")
    if port is None:
        return str(SSH_PORT)
    text = str(port)
    if text.isdigit():
        return str(int(text))
    try:
        return str(socket.getservbyname(text, "tcp"))
    except OSError:
        return text


def _token_values(
    options: Mapping[str, Any], host: str, original: str, *, keyalias_default: str
) -> dict[str, str]:
    """The value of every token for the current options (ssh.c / readconf.c)."""
    thishost = socket.gethostname()
    port = _port_string(options)
    ruser = _remote_user(options)
    values = {
        # %C: SHA-1 of %l%h%p%r, as OpenSSH 9.2 computes it (ssh.c ssh_connection_hash).
        "%C": hashlib.sha1(f"{thishost}{host}{port}{ruser}".encode()).hexdigest(),
        "%d": os.path.expanduser("~"),
        "%h": host,
        "%k": str(options.get("hostkeyalias") or keyalias_default),
        "%L": thishost.split(".")[0],
        "%l": thishost,
        "%n": original,
        "%p": port,
        "%r": ruser,
        "%u": _local_user(),
    }
    getuid = getattr(os, "getuid", None)
    if getuid is not None:
        values["%i"] = str(getuid())
    return values


def _percent_expand(value: str, values: Mapping[str, str], allowed: Iterable[str]) -> str:
    """Replace the *allowed* ``%x`` tokens in one left-to-right scan; ``%%`` gives ``%``.

    A token that is not allowed (or has no value here) is left as it is.
    """
    if "%" not in value:
        return value
    permitted = set(allowed)
    out: list[str] = []
    i, n = 0, len(value)
    while i < n:
        c = value[i]
        token = value[i : i + 2]
        if c == "%" and token in permitted:
            if token == "%%":
                out.append("%")
                i += 2
                continue
            replacement = values.get(token)
            if replacement is not None:
                out.append(replacement)
                i += 2
                continue
        out.append(c)
        i += 1
    return "".join(out)


def _expand_tilde(match: re.Match[str]) -> str:
    expanded = os.path.expanduser("~" + match.group(1))
    return expanded if not expanded.startswith("~") else match.group(0)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    if os.name != "nt":
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
    else:  # pragma: no cover - Windows
        proc.kill()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:  # pragma: no cover - unkillable child
        pass


# --------------------------------------------------------------------------------------------
# Public helpers


class LazyFqdn:
    """The local host's fully qualified name, looked up the first time it is turned into text.

    With ``AddressFamily inet`` or ``inet6`` in *config*, *host* is resolved in that family and
    the first canonical name that contains a dot is used; otherwise (or when that finds
    nothing) :func:`socket.getfqdn` answers. The answer is kept in :attr:`fqdn`.
    """

    def __init__(self, config: Mapping[str, Any], host: str | None = None) -> None:
        self.fqdn: str | None = None
        self.config = config
        self.host = host

    def __str__(self) -> str:
        if self.fqdn is None:
            fqdn = None
            family = _address_family(self.config)
            if family is not None and self.host is not None:
                try:
                    infos = socket.getaddrinfo(
                        self.host,
                        None,
                        family,
                        socket.SOCK_DGRAM,
                        socket.IPPROTO_IP,
                        socket.AI_CANONNAME,
                    )
                except (OSError, UnicodeError):
                    infos = []
                fqdn = next((info[3] for info in infos if "." in info[3]), None)
            self.fqdn = fqdn if fqdn is not None else socket.getfqdn()
        return self.fqdn


class SSHConfigDict(dict[str, Any]):
    """The options :meth:`SSHConfig.lookup` found for one host: a dict with typed getters.

    Keys are lowercase option names; values are the strings from the file (lists for the
    options that may repeat). :meth:`as_bool` and :meth:`as_int` convert on demand::

        conf = SSHConfig.from_text("Host db\\n  Compression yes\\n  Port 2200\\n").lookup("db")
        conf["compression"]          # 'yes'
        conf.as_bool("compression")  # True
        conf.as_int("port")          # 2200
    """

    def as_bool(self, key: str) -> bool:
        """``True`` for ``yes`` or ``true`` (any case), ``False`` for anything else.

        A value that is already a :class:`bool` is returned as it is; a missing key raises
        :class:`KeyError`.
        """
        value = self[key]
        if isinstance(value, bool):
            return value
        return str(value).lower() in ("yes", "true")

    def as_int(self, key: str) -> int:
        """The value as an :class:`int` (:class:`ValueError` when it is not a number)."""
        return int(self[key])

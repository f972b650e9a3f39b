"""Known-hosts files: :class:`HostKeys` and :class:`HostKeyEntry`, with paramiko's behaviour.

A known-hosts file (OpenSSH's ``~/.ssh/known_hosts``, sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT")
holds one key per line: ``hostnames keytype base64 [comment]``. :class:`HostKeys` reads such a
file into a mapping ``hostname -> {key type -> key}`` and answers the questions an SSH client
asks: which keys are known for this host (:meth:`HostKeys.lookup`), is this the key we know
(:meth:`HostKeys.check`).

For ordinary lines the behaviour is paramiko's, including its limits, so that code written
against paramiko sees the same results:

* a host name matches a line only when it is literally one of the line's comma-separated
  names, or when it hashes to one of its ``|1|salt|hash`` names (:meth:`HostKeys.hash_host`).
  Wildcards (``*``, ``?``) and negations (``!host``) get no special meaning: they are plain
  names that only the very same string matches;
* a host on a non-standard port is spelled ``[host]:port``, as OpenSSH writes it;
* fields are separated by single spaces or tabs; blank lines and ``#`` comments are skipped;
* a line with fewer than three fields, or with a key type that no key class handles, is
  skipped; so is a line whose key blob the key class rejects (an
  :class:`~sshwire.ssh_exception.SSHException`); a key field that is not base64 makes
  :meth:`HostKeys.load` raise :class:`InvalidHostKey`.

Beyond paramiko (see ``docs/compat.md``), the ``@cert-authority`` and ``@revoked`` marker lines
are read instead of making :meth:`HostKeys.load` fail. They are kept apart from the mapping
(lookup, iteration and length never show them) and used by :meth:`HostKeys.cert_authorities`,
:meth:`HostKeys.is_revoked` and :meth:`HostKeys.check_certificate`, which validates OpenSSH
host certificates (``PROTOCOL.certkeys``). Marker lines use OpenSSH's host patterns (``*``,
``?``, ``!negation``, hashed names).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import os
import re
import time
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from ._proto.algorithms.hostkey import CERT_SUFFIX, PublicKey
from .pkey import PKey, PublicBlob, UnknownKeyType
from .ssh_exception import SSHException
from .util import b, constant_time_bytes_eq, get_logger

if TYPE_CHECKING:
    from os import PathLike

__all__ = ["HostKeyEntry", "HostKeys", "InvalidHostKey"]

#: The ``marker`` of a ``@cert-authority`` line: its key signs host certificates.
MARKER_CERT_AUTHORITY: Final = "cert-authority"
#: The ``marker`` of a ``@revoked`` line: its key must never be accepted.
MARKER_REVOKED: Final = "revoked"
_MARKER_WORDS: Final = {"@" + m: m for m in (MARKER_CERT_AUTHORITY, MARKER_REVOKED)}

_HASH_MAGIC: Final = "|1|"  # OpenSSH's HASH_MAGIC: HMAC-SHA1 hashed host names
_SALT_SIZE: Final = hashlib.sha1().digest_size
_FIELD_SEPARATOR: Final = re.compile("[ \t]")  # one space or one tab, never a run of them

_log = get_logger("sshwire.hostkeys")


class InvalidHostKey(Exception):
    """A known-hosts line whose key field is not valid base64.

    :param line: the offending line
    :param exc: the decoding error (a ``binascii.Error``)
    """

    def __init__(self, line: str, exc: BaseException) -> None:
        self.line = line
        self.exc = exc
        self.args = (line, exc)


def _key_type(entry: HostKeyEntry) -> str:
    """The key type of *entry*.

    An entry created by ``host_keys[name] = {}`` holds no key: as in paramiko, asking for its
    type then fails with ``AttributeError``.
    """
    key: Any = entry.key
    name: str = key.get_name()
    return name


class HostKeyEntry:
    """One line of a known-hosts file: host names and the key that belongs to them.

    :param hostnames: the host names (or ``|1|`` hashes, or ``[host]:port`` forms) of the line
    :param key: the host's public key, a :class:`~sshwire.pkey.PKey`

    ``valid`` is true when both were given. ``marker`` is ``None`` for an ordinary line, and
    ``"cert-authority"`` or ``"revoked"`` for a line read from a ``@cert-authority`` or
    ``@revoked`` line (an sshwire addition; see :class:`HostKeys`).
    """

    #: ``None``, or the marker of a marker line (``"cert-authority"`` / ``"revoked"``).
    marker: str | None = None

    def __init__(self, hostnames: list[str] | None = None, key: PKey | None = None) -> None:
        self.valid = hostnames is not None and key is not None
        self.hostnames = hostnames
        self.key = key

    @classmethod
    def from_line(cls, line: str, lineno: int | None = None) -> HostKeyEntry | None:
        """Parse one ordinary known-hosts line (``hosts keytype base64 [comment]``).

        Fields are split on single spaces and tabs, as paramiko does (two spaces in a row make
        an empty field). Returns ``None`` (and logs why) when the line has fewer than three
        fields or names a key type that no key class handles. Raises :class:`InvalidHostKey`
        when the key field is not base64, and
        :class:`~sshwire.ssh_exception.SSHException` when the key class rejects the blob.
        Marker lines are not understood here; :meth:`HostKeys.load` reads them itself.

        :param line: the line, without its end-of-line
        :param lineno: the line number, used in log messages only
        """
        fields = _FIELD_SEPARATOR.split(line)
        if len(fields) < 3:
            _log.info("known_hosts line %s has fewer than 3 fields: %r", lineno, line)
            return None
        names, key_type, key_text = fields[:3]
        try:
            blob = base64.decodebytes(key_text.encode("utf-8"))
        except binascii.Error as exc:
            raise InvalidHostKey(line, exc) from exc
        try:
            key = PKey.from_type_string(key_type, blob)
        except UnknownKeyType:
            _log.info("known_hosts line %s: skipping key of unknown type %r", lineno, key_type)
            return None
        return cls(names.split(","), key)

    def to_line(self) -> str | None:
        """The entry as a known-hosts line ending in ``\\n``, or ``None`` if it is not valid.

        A marker entry gets its ``@marker`` word in front.
        """
        if not self.valid or self.hostnames is None or self.key is None:
            return None
        prefix = f"@{self.marker} " if self.marker else ""
        hosts = ",".join(self.hostnames)
        return f"{prefix}{hosts} {self.key.get_name()} {self.key.get_base64()}\n"

    def __repr__(self) -> str:
        prefix = f"@{self.marker} " if self.marker else ""
        return f"<HostKeyEntry {prefix}{self.hostnames!r}: {self.key!r}>"


def _parse_marker_line(line: str, lineno: int | None) -> HostKeyEntry | None:
    """Parse ``@marker hosts keytype base64 [comment]``; ``None`` (logged) if it is unusable.

    Whitespace runs separate the fields here, as in OpenSSH.
    """
    fields = line.split()
    if len(fields) < 4:
        _log.info("known_hosts line %s: marker line with too few fields: %r", lineno, line)
        return None
    word, names, key_type, key_text = fields[:4]
    try:
        blob = base64.b64decode(key_text, validate=True)
        key = PKey.from_type_string(key_type, blob)
    except (binascii.Error, ValueError, UnknownKeyType, SSHException) as exc:
        _log.info("known_hosts line %s: skipping %s line: %s", lineno, word, exc)
        return None
    entry = HostKeyEntry(names.split(","), key)
    entry.marker = _MARKER_WORDS[word]
    return entry


def _marker_word(line: str) -> str | None:
    """The marker word (``@cert-authority`` / ``@revoked``) that starts *line*, if any."""
    if not line.startswith("@"):
        return None
    word = line.split(None, 1)[0]
    return word if word in _MARKER_WORDS else None


# --------------------------------------------------------------------------------------------
# OpenSSH host patterns (marker lines only)


@functools.lru_cache(maxsize=512)
def _compile_pattern(pattern: str) -> re.Pattern[str]:
    # match.c semantics: "*" is any run of characters, "?" exactly one, all else literal.
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, re.DOTALL)


def _hashed_name_matches(hostname: str, hashed: str) -> bool:
    try:
        computed = HostKeys.hash_host(hostname, hashed)
    except (AssertionError, binascii.Error, ValueError):
        return False  # a malformed hash matches nothing
    return constant_time_bytes_eq(computed, hashed)


def _patterns_match(hostname: str, names: Sequence[str]) -> bool:
    """Whether *hostname* matches a comma-split OpenSSH pattern list (``match_hostname``).

    Patterns compare case-insensitively; a matching ``!pattern`` vetoes the whole list.
    """
    lowered = hostname.lower()
    positive = False
    for name in names:
        if name.startswith(_HASH_MAGIC):
            positive = positive or _hashed_name_matches(hostname, name)
            continue
        negated = name.startswith("!")
        pattern = name[1:] if negated else name
        if _compile_pattern(pattern.lower()).fullmatch(lowered) is not None:
            if negated:
                return False
            positive = True
    return positive


def _bare_host(hostname: str) -> str:
    """*hostname* without the ``[...]:port`` wrapping used for non-standard ports."""
    if hostname.startswith("["):
        end = hostname.find("]")
        if end > 0:
            return hostname[1:end]
    return hostname


# --------------------------------------------------------------------------------------------
# Keys and certificates given in several shapes


def _certificate_of(value: Any) -> PublicKey | None:
    """The parsed certificate in *value* (a blob, a PublicBlob or a PKey), else ``None``."""
    blob: bytes | None = None
    if isinstance(value, (bytes, bytearray, memoryview)):
        blob = bytes(value)
    elif isinstance(value, PublicBlob):
        blob = value.key_blob
    elif isinstance(value, PKey):
        attached = value.public_blob
        if attached is not None and attached.key_type.endswith(CERT_SUFFIX):
            blob = attached.key_blob
    if blob is None:
        return None
    try:
        parsed = PublicKey.from_blob(blob)
    except SSHException:
        return None
    return parsed if parsed.cert is not None else None


def _blobs_of(value: Any) -> set[bytes]:
    """Public blobs a revocation of *value* could name: the key, and its CA for a cert."""
    blobs: set[bytes] = set()
    if isinstance(value, PKey):
        blobs.add(value.asbytes())
    elif isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        blobs.add(raw)
        try:
            blobs.add(PublicKey.from_blob(raw).plain_blob)
        except SSHException:
            pass
    elif isinstance(value, PublicBlob):
        blobs.add(value.key_blob)
    cert = _certificate_of(value)
    if cert is not None and cert.cert is not None:
        blobs.add(cert.plain_blob)
        blobs.add(cert.cert.signature_key)
    return blobs


# --------------------------------------------------------------------------------------------
# HostKeys


class _SubDict(MutableMapping[str, PKey]):
    """The keys known for one host name: ``key type -> key``, as :meth:`HostKeys.lookup`
    returns it. Setting a key type the host lacks adds an entry to the parent
    :class:`HostKeys`; deleting only removes it from this view.
    """

    def __init__(self, hostname: str, entries: list[HostKeyEntry], hostkeys: HostKeys) -> None:
        self._hostname = hostname
        self._entries = entries
        self._hostkeys = hostkeys

    def __iter__(self) -> Iterator[str]:
        yield from self.keys()

    def __len__(self) -> int:
        return len(self.keys())

    def __getitem__(self, key: str) -> PKey:
        for entry in self._entries:
            if _key_type(entry) == key:
                assert entry.key is not None
                return entry.key
        raise KeyError(key)

    def __setitem__(self, key: str, val: PKey) -> None:
        for entry in self._entries:
            if entry.key is not None and entry.key.get_name() == key:
                entry.key = val
                return
        added = HostKeyEntry([self._hostname], val)
        self._entries.append(added)
        self._hostkeys._entries.append(added)

    def __delitem__(self, key: str) -> None:
        for index, entry in enumerate(self._entries):
            if _key_type(entry) == key:
                del self._entries[index]
                return
        raise KeyError(key)

    def keys(self) -> list[str]:  # type: ignore[override]
        """The key types known for the host, in file order (repeats included)."""
        return [e.key.get_name() for e in self._entries if e.key is not None]


class HostKeys(MutableMapping[str, Mapping[str, PKey]]):
    """The contents of known-hosts files: ``hostname -> {key type -> key}``.

    :param filename: a known-hosts file to :meth:`load` right away (``None``: start empty)

    ``host_keys["example.com"]`` is a mapping of key type (``"ssh-ed25519"``) to
    :class:`~sshwire.pkey.PKey`; it raises ``KeyError`` for an unknown host. Iteration and
    :meth:`keys` give each host name of the ordinary entries once, in file order (hashed names
    as their hash). Marker lines (``@cert-authority``, ``@revoked``) are kept apart: see
    :meth:`cert_authorities`, :meth:`is_revoked` and :meth:`check_certificate`.
    """

    def __init__(self, filename: str | PathLike[str] | None = None) -> None:
        self._entries: list[HostKeyEntry] = []
        self._markers: list[HostKeyEntry] = []
        if filename is not None:
            self.load(filename)

    # ---- paramiko's API

    def add(self, hostname: str, keytype: str, key: PKey) -> None:
        """Record *key* as the *keytype* key of *hostname*.

        The first entry that lists *hostname* literally with a key of type *keytype* gets the
        new key; when there is none, a new one-host entry is appended.
        """
        for entry in self._entries:
            if hostname in (entry.hostnames or ()) and _key_type(entry) == keytype:
                entry.key = key
                return
        self._entries.append(HostKeyEntry([hostname], key))

    def load(self, filename: str | PathLike[str]) -> None:
        """Add the entries of the known-hosts file *filename* to this object.

        Entries already here are kept. A host name whose key is already known is dropped from
        the new line, and a line left without host names is not added; as in paramiko, the
        name that follows a dropped one on the same line is kept without being compared.
        ``@cert-authority`` and ``@revoked`` lines are read into the marker list (unusable
        ones are skipped). Raises ``OSError`` when the file cannot be read and
        :class:`InvalidHostKey` for a key field that is not base64.
        """
        with open(filename, encoding="utf-8") as f:
            for lineno, raw in enumerate(f, 1):
                line = raw.strip()
                if not line or line.startswith("#"):
                    continue
                if _marker_word(line) is not None:
                    marker_entry = _parse_marker_line(line, lineno)
                    if marker_entry is not None:
                        self._markers.append(marker_entry)
                    continue
                try:
                    entry = HostKeyEntry.from_line(line, lineno)
                except SSHException:
                    continue
                if entry is None or entry.hostnames is None:
                    continue
                self._drop_known_names(entry)
                if entry.hostnames:
                    self._entries.append(entry)

    def _drop_known_names(self, entry: HostKeyEntry) -> None:
        # paramiko removes names from the list it is iterating over, so the name that slides
        # into a removed name's slot is never looked at. The index below advances the same way.
        names = entry.hostnames
        assert names is not None and entry.key is not None
        index = 0
        while index < len(names):
            name = names[index]
            if self._check_plain(name, entry.key):
                names.remove(name)  # the first occurrence, as list.remove does
            index += 1

    def save(self, filename: str | PathLike[str]) -> None:
        """Write every valid entry to *filename* (replacing it), one line each.

        Ordinary entries come first in their order here, then the marker lines. Comments and
        lines that were skipped on loading are not written.
        """
        with open(filename, "w", encoding="utf-8") as f:
            for entry in [*self._entries, *self._markers]:
                line = entry.to_line()
                if line:
                    f.write(line)

    def lookup(self, hostname: str) -> MutableMapping[str, PKey] | None:
        """The keys known for *hostname*, as a mutable ``key type -> key`` mapping.

        Every ordinary entry that lists *hostname* (literally, or as a matching ``|1|`` hash)
        contributes its key. Returns ``None`` when no entry does.
        """
        entries = [e for e in self._entries if self._hostname_matches(hostname, e)]
        if not entries:
            return None
        return _SubDict(hostname, entries, self)

    def _hostname_matches(self, hostname: str, entry: HostKeyEntry) -> bool:
        """Whether *entry* lists *hostname*: the same string, or a ``|1|`` hash of it."""
        for name in entry.hostnames or ():
            if name == hostname:
                return True
            if (
                name.startswith(_HASH_MAGIC)
                and not hostname.startswith(_HASH_MAGIC)
                and constant_time_bytes_eq(self.hash_host(hostname, name), name)
            ):
                return True
        return False

    def check(self, hostname: str, key: PKey) -> bool:
        """Whether *key* is the key known for *hostname* for its key type.

        ``False`` when the host is unknown, has no key of that type, has another key, or
        (sshwire only) the key is listed on a ``@revoked`` line that matches *hostname*.
        """
        if not self._check_plain(hostname, key):
            return False
        return not (self._markers and self.is_revoked(key, hostname))

    def _check_plain(self, hostname: str, key: PKey) -> bool:
        known = self.lookup(hostname)
        if known is None:
            return False
        host_key = known.get(key.get_name(), None)
        if host_key is None:
            return False
        return constant_time_bytes_eq(host_key.asbytes(), key.asbytes())

    def clear(self) -> None:
        """Forget every entry, marker lines included."""
        self._entries = []
        self._markers = []

    def __iter__(self) -> Iterator[str]:
        yield from self.keys()

    def __len__(self) -> int:
        return len(self.keys())

    def __getitem__(self, key: str) -> MutableMapping[str, PKey]:
        found = self.lookup(key)
        if found is None:
            raise KeyError(key)
        return found

    def __delitem__(self, key: str) -> None:
        """Remove the first entry that lists host name *key* (``KeyError`` if none does)."""
        for index, entry in enumerate(self._entries):
            if self._hostname_matches(key, entry):
                del self._entries[index]
                return
        raise KeyError(key)

    def __setitem__(self, hostname: str, entry: Mapping[str, PKey]) -> None:
        """Set the keys of *hostname* from a ``key type -> key`` mapping.

        Every entry that lists *hostname* literally with a key of one of those types gets the
        new key; a type no entry has is appended as a new entry. An empty mapping appends an
        entry without a key, which is never saved.
        """
        if len(entry) == 0:
            self._entries.append(HostKeyEntry([hostname], None))
            return
        for key_type in entry:
            found = False
            for existing in self._entries:
                if hostname in (existing.hostnames or ()) and _key_type(existing) == key_type:
                    existing.key = entry[key_type]
                    found = True
            if not found:
                self._entries.append(HostKeyEntry([hostname], entry[key_type]))

    def keys(self) -> list[str]:  # type: ignore[override]
        """Every host name of the ordinary entries, once each, in entry order."""
        return list(dict.fromkeys(name for e in self._entries for name in e.hostnames or ()))

    def values(self) -> list[MutableMapping[str, PKey]]:  # type: ignore[override]
        """The :meth:`lookup` result of each name in :meth:`keys`, in the same order."""
        found = (self.lookup(name) for name in self.keys())
        return [sub for sub in found if sub is not None]

    @staticmethod
    def hash_host(hostname: str, salt: str | None = None) -> str:
        """Hash *hostname* as OpenSSH's ``HashKnownHosts`` does: ``|1|salt|hmac``.

        The HMAC-SHA1 of the host name is keyed with a 20-byte salt, random unless *salt*
        is given, either as base64 or as a whole ``|1|salt|hash`` string (whose salt is
        reused, which is how a name is compared with a hashed entry). A salt that does not
        decode to 20 bytes raises ``AssertionError``, as in paramiko.
        """
        if salt is None:
            raw_salt = os.urandom(_SALT_SIZE)
        else:
            if salt.startswith(_HASH_MAGIC):
                salt = salt.split("|")[2]
            raw_salt = base64.decodebytes(salt.encode("utf-8"))
            if len(raw_salt) != _SALT_SIZE:
                raise AssertionError
        digest = hmac.new(raw_salt, b(hostname), hashlib.sha1).digest()
        salt_text = base64.b64encode(raw_salt).decode("ascii")
        return f"{_HASH_MAGIC}{salt_text}|{base64.b64encode(digest).decode('ascii')}"

    # ---- sshwire additions: @cert-authority and @revoked

    @property
    def marker_entries(self) -> list[HostKeyEntry]:
        """The ``@cert-authority`` and ``@revoked`` entries, in file order (a copy)."""
        return list(self._markers)

    def add_cert_authority(self, hostnames: str | Sequence[str], key: PKey) -> None:
        """Trust *key* to sign host certificates for *hostnames* (a ``@cert-authority`` line).

        *hostnames* is an OpenSSH pattern list: a comma-separated string or a sequence of
        patterns such as ``"*.example.com"`` or ``"!bad.example.com"``.
        """
        self._add_marker(MARKER_CERT_AUTHORITY, hostnames, key)

    def add_revoked(self, hostnames: str | Sequence[str], key: PKey) -> None:
        """Refuse *key* (a host key or a CA key) for *hostnames* (a ``@revoked`` line)."""
        self._add_marker(MARKER_REVOKED, hostnames, key)

    def _add_marker(self, marker: str, hostnames: str | Sequence[str], key: PKey) -> None:
        names = hostnames.split(",") if isinstance(hostnames, str) else list(hostnames)
        entry = HostKeyEntry(names, key)
        entry.marker = marker
        self._markers.append(entry)

    def _marked(self, marker: str, hostname: str | None) -> Iterator[HostKeyEntry]:
        for entry in self._markers:
            if entry.marker != marker or entry.key is None:
                continue
            if hostname is None or _patterns_match(hostname, entry.hostnames or ()):
                yield entry

    def cert_authorities(self, hostname: str) -> list[PKey]:
        """The CA keys of the ``@cert-authority`` lines whose patterns match *hostname*.

        *hostname* is matched as given: for a non-standard port, OpenSSH's ``[host]:port``
        form. Revoked CAs are included; :meth:`check_certificate` refuses them.
        """
        return [e.key for e in self._marked(MARKER_CERT_AUTHORITY, hostname) if e.key]

    def is_revoked(self, key: Any, hostname: str | None = None) -> bool:
        """Whether a ``@revoked`` line lists *key*.

        *key* is a :class:`~sshwire.pkey.PKey`, a public key or certificate blob, or a
        :class:`~sshwire.pkey.PublicBlob`. A certificate counts as revoked when the certified
        key or its CA key is listed. With *hostname*, only ``@revoked`` lines whose patterns
        match it count (as in OpenSSH); without, every ``@revoked`` line does.
        """
        wanted = _blobs_of(key)
        return any(
            e.key is not None and e.key.asbytes() in wanted
            for e in self._marked(MARKER_REVOKED, hostname)
        )

    def check_certificate(self, hostname: str, certificate: Any, now: float | None = None) -> bool:
        """Whether *certificate* is a valid OpenSSH host certificate for *hostname*.

        *certificate* is the certificate blob (as sent in the key exchange), a
        :class:`~sshwire.pkey.PublicBlob`, or a :class:`~sshwire.pkey.PKey` with a certificate
        loaded. It is accepted when all of these hold, as OpenSSH's ssh(1) requires:

        * it is a host certificate (not a user certificate) and parses;
        * *now* (seconds since the epoch; default: the current time) is in its validity
          interval;
        * it carries no critical options;
        * its principals include *hostname* without any ``[...]:port`` wrapping (a
          certificate without principals is valid for every host, per ``PROTOCOL.certkeys``);
        * its CA key is on a ``@cert-authority`` line whose patterns match *hostname*, and
          neither the CA key nor the certified key is on a ``@revoked`` line that matches it.
          *hostname* is matched as given (``[host]:port`` for a non-standard port); when no
          ``@cert-authority`` line for it names the CA and no ``@revoked`` line applies, the
          bare host is tried next, as ssh(1) retries "without port identifier";
        * the CA's signature is good and made with an algorithm OpenSSH accepts by default
          (no SHA-1 ``ssh-rsa``).
        """
        parsed = _certificate_of(certificate)
        if parsed is None or parsed.cert is None:
            return False
        info = parsed.cert
        if not info.is_host:
            return False
        when = int(time.time() if now is None else now)
        if not info.valid_at(when):
            return False
        if info.critical_options:
            return False
        bare = _bare_host(hostname)
        if info.principals and bare not in info.principals:
            return False
        names = [hostname] if bare == hostname else [hostname, bare]
        for name in names:
            verdict = self._authority_verdict(name, certificate, info.signature_key)
            if verdict is not None:
                break
        else:
            return False
        if not verdict:
            return False
        return info.cert_signature_valid()

    def _authority_verdict(self, name: str, certificate: Any, ca_blob: bytes) -> bool | None:
        """What the marker lines for *name* say about a certificate signed by *ca_blob*.

        ``False`` when a matching ``@revoked`` line lists the CA or the certified key, ``True``
        when a matching ``@cert-authority`` line lists the CA, ``None`` when neither applies
        (OpenSSH's HOST_REVOKED, HOST_OK and HOST_NEW).
        """
        if self.is_revoked(certificate, name):
            return False
        for entry in self._marked(MARKER_CERT_AUTHORITY, name):
            if entry.key is not None and constant_time_bytes_eq(entry.key.asbytes(), ca_blob):
                return True
        return None

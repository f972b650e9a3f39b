"""What the parts of the embedded server share: settings, credentials, thread bookkeeping."""

from __future__ import annotations

import fnmatch
import hmac
import ipaddress
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .._proto.algorithms.hostkey import CERT_TYPE_USER, PublicKey
from ..pkey import PublicBlob
from ._relay import Waker

logger = logging.getLogger("sshwire.testing")

#: A subsystem is either a command line (run like ``exec``) or a
#: ``(SubsystemHandler subclass, args, kwargs)`` triple.
Subsystem = str | tuple[type, tuple[Any, ...], dict[str, Any]]


class ThreadGroup:
    """Every thread the server starts, so that ``close()`` can join them all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._threads: set[threading.Thread] = set()

    def spawn(self, name: str, target: Callable[[], None]) -> threading.Thread:
        def run() -> None:
            try:
                target()
            except Exception:  # a bug here must not go unnoticed, nor kill the server
                logger.exception("unexpected error in %s", name)
            finally:
                with self._cond:
                    self._threads.discard(thread)
                    self._cond.notify_all()

        thread = threading.Thread(target=run, name=name, daemon=True)
        with self._lock:
            self._threads.add(thread)
        thread.start()
        return thread

    def adopt(self, thread: threading.Thread) -> None:
        """Track a thread started elsewhere (a subsystem handler)."""
        with self._lock:
            self._threads = {t for t in self._threads if t.is_alive()}
            self._threads.add(thread)

    def __len__(self) -> int:
        with self._lock:
            return sum(1 for t in self._threads if t.is_alive())

    def join_all(self, timeout: float) -> list[threading.Thread]:
        """Join every tracked thread within ``timeout`` seconds; return those still running."""
        deadline = time.monotonic() + timeout
        me = threading.current_thread()
        while True:
            with self._lock:
                alive = [t for t in self._threads if t.is_alive() and t is not me]
            if not alive:
                return []
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return alive
            alive[0].join(remaining)


def authorized_key_blobs(text: str) -> list[bytes]:
    """The key blobs of an ``authorized_keys`` text (options before the key type are skipped)."""
    blobs: list[bytes] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        words = line.split()
        # "[options] type base64 [comment]": find the first "type base64" pair that parses
        for i in range(len(words) - 1):
            try:
                blob = PublicBlob.from_string(f"{words[i]} {words[i + 1]}")
            except Exception:
                continue
            blobs.append(blob.key_blob)
            break
        else:
            raise ValueError(f"not an authorized_keys line: {line[:60]!r}")
    return blobs


class Authorizer:
    """Who may log in: public keys (for any user or for one user) and passwords."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._any_user_keys: set[bytes] = set()
        self._user_keys: dict[str, set[bytes]] = {}
        self._passwords: dict[str, str] = {}
        self._user_cas: set[bytes] = set()

    def add_key(self, blob: bytes, username: str | None = None) -> None:
        with self._lock:
            if username is None:
                self._any_user_keys.add(blob)
            else:
                self._user_keys.setdefault(username, set()).add(blob)

    def add_password(self, username: str, password: str) -> None:
        with self._lock:
            self._passwords[username] = password

    def add_user_ca(self, blob: bytes) -> None:
        """Trust the CA whose public key blob is ``blob`` to certify user keys."""
        with self._lock:
            self._user_cas.add(blob)

    @property
    def has_keys(self) -> bool:
        with self._lock:
            return bool(self._any_user_keys or self._user_keys or self._user_cas)

    @property
    def has_passwords(self) -> bool:
        with self._lock:
            return bool(self._passwords)

    def methods(self) -> list[str]:
        methods = []
        if self.has_keys:
            methods.append("publickey")
        if self.has_passwords:
            methods += ["password", "keyboard-interactive"]
        return methods

    def key_ok(self, username: str, blob: bytes) -> bool:
        with self._lock:
            return blob in self._any_user_keys or blob in self._user_keys.get(username, ())

    def cert_ok(self, username: str, blob: bytes, now: float | None = None) -> bool:
        """Whether the user certificate ``blob`` lets ``username`` log in (sshd's checks).

        The certificate must be a user certificate signed (validly) by a trusted CA, valid
        now, and name ``username`` among its principals (no principals: any user). As no
        critical option is implemented (``force-command``, ``source-address``, ...), a
        certificate carrying any is refused rather than obeyed halfway.
        """
        with self._lock:
            cas = frozenset(self._user_cas)
        if not cas:
            return False
        try:
            cert = PublicKey.from_blob(blob).cert
        except Exception:  # malformed: DecodeError, or anything the parser lets through
            return False
        if cert is None or cert.cert_type != CERT_TYPE_USER or cert.signature_key not in cas:
            return False
        if not cert.valid_at(int(time.time() if now is None else now)):
            return False
        if cert.principals and username not in cert.principals:
            return False
        if cert.critical_options:
            return False
        return cert.cert_signature_valid()

    def password_ok(self, username: str, password: str) -> bool:
        with self._lock:
            expected = self._passwords.get(username)
        if expected is None:
            # compare anyway, so that unknown and known users take the same time
            hmac.compare_digest(password.encode(), password.encode())
            return False
        return hmac.compare_digest(expected.encode(), password.encode())


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class Settings:
    """The configuration every connection of one server reads (see ``SSHServer``)."""

    shell: str
    cwd: str
    environment: dict[str, str]
    accept_env: tuple[str, ...]
    allow_tcp_forwarding: bool
    forward_any_destination: bool
    login_grace_time: float
    banner: str | None
    authorizer: Authorizer
    configure_transport: Callable[[Any], object] | None
    allow_agent_forwarding: bool = True
    stop: Waker = field(default_factory=Waker)
    threads: ThreadGroup = field(default_factory=ThreadGroup)
    subsystems: dict[str, Subsystem] = field(default_factory=dict)
    #: notified whenever a connection or a session's process starts or ends
    activity: threading.Condition = field(default_factory=threading.Condition)
    running_sessions: int = 0

    def session_started(self) -> None:
        with self.activity:
            self.running_sessions += 1
            self.activity.notify_all()

    def session_ended(self) -> None:
        with self.activity:
            self.running_sessions -= 1
            self.activity.notify_all()

    def env_accepted(self, name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in self.accept_env)


def base_environment(settings: Settings, extra: Mapping[str, str]) -> dict[str, str]:
    """The environment of a session's process: what sshd would set, then ``extra``."""
    import pwd

    try:
        entry = pwd.getpwuid(os.getuid())
        user, home = entry.pw_name, entry.pw_dir
    except KeyError:  # a container user without a passwd entry
        user, home = str(os.getuid()), settings.cwd
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": home,
        "USER": user,
        "LOGNAME": user,
        "SHELL": settings.shell,
    }
    env.update(settings.environment)
    env.update(extra)
    return env


def iter_strings(value: str | Iterable[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)

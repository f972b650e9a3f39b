"""Server mode of :class:`~sshwire.transport.Transport` (kept apart to keep modules short).

Theory of operation
-------------------
:class:`ServerMode` is mixed into ``Transport``. Everything here runs in the reader thread,
outside the core lock, because it calls the application's
:class:`~sshwire.server.ServerInterface`: auth requests, channel opens, channel requests and
global requests arrive as core events, the hook decides, and the answer goes back to the core
through ``_command`` (core lock, then a send that never waits for the socket: see
``transport.py``).
"""

from __future__ import annotations

import os
import random
import threading
import time
from typing import TYPE_CHECKING, Any

from ._proto import constants as c
from ._proto import events as ev
from ._proto import wire
from ._proto.algorithms.hostkey import DEFAULT_HOSTKEY_ALGORITHMS
from ._proto.connection import Connection
from ._proto.errors import DecodeError
from ._proto.kex.gex import builtin_group
from .message import Message
from .primes import ModulusPack
from .server import (
    AUTH_FAILED,
    AUTH_PARTIALLY_SUCCESSFUL,
    AUTH_SUCCESSFUL,
    InteractiveQuery,
    ServerInterface,
)
from .ssh_exception import SSHException

if TYPE_CHECKING:
    from .channel import Channel
    from .pkey import PKey

# moduli loaded by load_server_moduli(): bit size -> [(generator, prime)]
_MODULI: dict[int, list[tuple[int, int]]] = {}


def _choose_group(minimum: int, preferred: int, maximum: int) -> tuple[int, int] | None:
    """A group from the loaded moduli (closest to ``preferred``), else a built-in one."""
    sizes = sorted(b for b in _MODULI if minimum <= b <= maximum)
    if sizes:
        fitting = [b for b in sizes if b >= preferred] or sizes[-1:]
        g, p = random.choice(_MODULI[fitting[0]])
        return p, g
    return builtin_group(minimum, preferred, maximum)


class ServerMode:
    """Transport methods for the server role."""

    auth_username: str | None

    #: refuse further attempts (and disconnect) after this many failed auth requests
    max_auth_attempts = 20
    #: seconds a client may take to authenticate (OpenSSH's LoginGraceTime)
    server_auth_timeout = 120.0

    def _server_init(self: Any) -> None:
        self.server_key_dict: dict[str, PKey] = {}
        self.server_object: ServerInterface | None = None
        self.subsystem_table: dict[str, tuple[type, tuple[Any, ...], dict[str, Any]]] = {}
        self._auth_failures = 0
        self._banner_sent = False
        self._kbd_username: str = ""
        self._started_at = time.monotonic()

    # ------------------------------------------------------------------ keys and setup

    def add_server_key(self: Any, key: PKey) -> None:
        """Add a host key; one per key type (several types may be served at once)."""
        self.server_key_dict[key.get_name()] = key

    def get_server_key(self: Any) -> PKey | None:
        """The host key used for this session (or the first one, before negotiation)."""
        from .transport import _key_type_for_alg

        keys: dict[str, PKey] = self.server_key_dict
        if self.host_key_type is not None:
            key = keys.get(_key_type_for_alg(self.host_key_type))
            if key is not None:
                return key
        return next(iter(keys.values()), None)

    @staticmethod
    def load_server_moduli(filename: str | None = None) -> bool:
        """Load Diffie-Hellman groups for group exchange (OpenSSH's moduli file format)."""
        paths = [filename] if filename else ["/etc/ssh/moduli", "/usr/local/etc/moduli"]
        for path in paths:
            pack = ModulusPack()
            try:
                pack.read_file(path)
            except OSError:
                continue
            # the pack's checks (safe prime, Miller-Rabin tested), and RFC 8270's 2048-bit floor
            loaded = {bits: list(groups) for bits, groups in pack.pack.items() if bits >= 2048}
            if loaded:
                _MODULI.clear()
                _MODULI.update(loaded)
                return True
        return False

    def set_subsystem_handler(
        self: Any, name: str, handler: type, *args: Any, **kwargs: Any
    ) -> None:
        with self._lock:
            self.subsystem_table[name] = (handler, args, kwargs)

    def _get_subsystem_handler(
        self: Any, name: str
    ) -> tuple[type | None, tuple[Any, ...], dict[str, Any]]:
        table: dict[str, tuple[type, tuple[Any, ...], dict[str, Any]]] = self.subsystem_table
        with self._lock:
            return table.get(name, (None, (), {}))

    # ------------------------------------------------------------------ start

    def start_server(
        self: Any, event: threading.Event | None = None, server: ServerInterface | None = None
    ) -> None:
        """Negotiate keys as the server; block until done unless ``event`` is given."""
        if not self.server_key_dict:
            raise SSHException("no host keys: call add_server_key() first")
        self.server_mode = True
        self.server_object = server or ServerInterface()
        config = self._config()
        keys = [key._proto_private() for key in self.server_key_dict.values()]
        config.host_key = DEFAULT_HOSTKEY_ALGORITHMS + tuple(
            a for a in self.preferred_keys if a not in DEFAULT_HOSTKEY_ALGORITHMS
        )
        config.server_sig_algs = self.preferred_pubkeys if self.server_sig_algs else ()
        config.pubkey = self.preferred_pubkeys
        self._started_at = time.monotonic()
        core = Connection(
            False,
            config,
            rng=os.urandom,
            clock=time.monotonic,
            host_keys=keys,
            choose_group=_choose_group,
        )
        self._run_negotiation(core, event, None)

    # ------------------------------------------------------------------ auth

    def _server_allowed(self: Any, username: str) -> list[str]:
        assert self.server_object is not None
        return [m for m in self.server_object.get_allowed_auths(username).split(",") if m]

    def _send_banner_once(self: Any) -> None:
        if self._banner_sent:
            return
        self._banner_sent = True
        assert self.server_object is not None
        banner, _ = self.server_object.get_banner()
        if banner:
            self._command(lambda core: core.auth_banner(banner))

    def _on_auth_requested(self: Any, req: ev.AuthRequested) -> None:
        server = self.server_object
        assert server is not None
        if self._auth_failures >= self.max_auth_attempts:
            self._too_many_failures()
        self._send_banner_once()
        username = req.username
        if req.service != "ssh-connection":
            self._finish_auth(username, AUTH_FAILED, req.method)
            return
        result: int | InteractiveQuery = AUTH_FAILED
        if req.method == "none":
            result = server.check_auth_none(username)
        elif req.method == "password" and req.password is not None:
            if req.new_password is None:
                result = server.check_auth_password(username, req.password)
        elif req.method == "publickey" and req.key_blob is not None:
            key = _key_from_blob(req.key_blob)
            if key is None:
                result = AUTH_FAILED
            elif not req.has_signature:
                # a query: would this key do? (RFC 4252 §7)
                if server.check_auth_publickey(username, key) != AUTH_FAILED:
                    alg, blob = req.key_algorithm or "", req.key_blob
                    self._command(lambda core: core.auth_pk_ok(alg, blob))
                    return
            elif req.signature_valid:
                result = server.check_auth_publickey(username, key)
        elif req.method == "keyboard-interactive":
            self._kbd_username = username
            result = server.check_auth_interactive(username, req.submethods)
        self._finish_auth(username, result, req.method)

    def _on_auth_info_response(self: Any, resp: ev.AuthInfoResponse) -> None:
        assert self.server_object is not None
        result = self.server_object.check_auth_interactive_response(resp.responses)
        self._finish_auth(self._kbd_username, result, "keyboard-interactive")

    def _finish_auth(self: Any, username: str, result: Any, method: str) -> None:
        if isinstance(result, InteractiveQuery):
            query = result
            self._command(
                lambda core: core.auth_info_request(query.name, query.instructions, query.prompts)
            )
            return
        if result == AUTH_SUCCESSFUL:
            self._log(20, "Auth granted (%s).", method)
            self.auth_username = username

            def accept(core: Connection) -> None:
                # marked before SUCCESS leaves, so the client never sees us unauthenticated
                self.authenticated = True
                core.auth_accept(username)

            self._command(accept)
            with self._cond:
                self._cond.notify_all()
            return
        allowed = self._server_allowed(username)
        partial = result == AUTH_PARTIALLY_SUCCESSFUL
        if not partial and method != "none":
            self._auth_failures += 1
            self._log(20, "Auth rejected (%s).", method)
        if self._auth_failures >= self.max_auth_attempts:
            self._too_many_failures()
        self._command(lambda core: core.auth_reject(allowed, partial))

    def _too_many_failures(self: Any) -> None:
        """OpenSSH's MaxAuthTries: disconnect at the limit, before judging another attempt."""
        self._command(
            lambda core: core.disconnect(
                c.DISCONNECT_NO_MORE_AUTH_METHODS_AVAILABLE, "too many authentication failures"
            )
        )
        raise SSHException("too many authentication failures")

    def _check_server_deadlines(self: Any, now: float) -> None:
        elapsed = now - self._started_at
        if self.server_mode and not self.authenticated and elapsed > self.server_auth_timeout:
            raise SSHException("client did not authenticate in time")

    # ------------------------------------------------------------------ channels

    def _server_open_request(self: Any, event: ev.ChannelOpenRequested) -> None:
        from .channel import Channel

        server = self.server_object
        assert server is not None
        kind = event.kind
        origin: tuple[str, int] | None = None
        try:
            if kind == "direct-tcpip":
                r = wire.Reader(event.data)
                destination = (r.text(), r.uint32())
                origin = (r.text(), r.uint32())
                result = server.check_channel_direct_tcpip_request(
                    event.channel, origin, destination
                )
            else:
                result = server.check_channel_request(kind, event.channel)
        except DecodeError:
            result = c.OPEN_FAILED_CONNECT_FAILED
        if result != c.OPEN_SUCCEEDED:
            code = int(result) if result else c.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED
            self._command(lambda core: core.channels.reject(event.channel, code, "refused"))
            return
        window, max_packet = self.default_window_size, self.default_max_packet_size
        chan = Channel(event.channel)
        chan.kind = kind
        chan._attach(self, window, max_packet)
        chan.origin_addr = origin
        chan.out_window_size = event.window
        chan.out_max_packet_size = event.max_packet

        def accept(core: Connection) -> None:
            core.channels.accept(event.channel, window, max_packet)
            chan.remote_chanid = core.channels.channels[event.channel].remote_id
            chan.active = True
            self._channels[event.channel] = chan

        self._command(accept)
        with self._cond:
            self._accept_queue.append(chan)
            self._cond.notify_all()

    def _server_channel_request(self: Any, event: ev.ChannelRequestReceived) -> None:
        server = self.server_object
        assert server is not None
        with self._lock:
            chan = self._channels.get(event.channel)
        ok = False
        if chan is not None:
            try:
                ok = bool(_dispatch_channel_request(server, chan, event.name, event.data))
            except DecodeError:
                ok = False
        if event.want_reply:
            self._command(lambda core: core.channels.reply(event.channel, ok))

    def _server_global_request(self: Any, event: ev.GlobalRequestReceived) -> None:
        server = self.server_object
        assert server is not None
        r = wire.Reader(event.data)
        extra = b""
        try:
            if event.name == "tcpip-forward":
                address, port = r.text(), r.uint32()
                bound = server.check_port_forward_request(address, port)
                ok = bool(bound)
                if ok and port == 0:
                    extra = wire.uint32(int(bound))
            elif event.name == "cancel-tcpip-forward":
                address, port = r.text(), r.uint32()
                server.cancel_port_forward_request(address, port)
                ok = True
            else:
                answer = server.check_global_request(event.name, Message(event.data))
                ok = bool(answer)
                if isinstance(answer, tuple | list):
                    m = Message()
                    m.add(*answer)
                    extra = m.asbytes()
        except DecodeError:
            ok = False
        if event.want_reply:
            self._command(lambda core: core.global_reply(ok, extra))


def _dispatch_channel_request(
    server: ServerInterface, chan: Channel, name: str, data: bytes
) -> bool:
    """Ask the server hook that matches a channel request (RFC 4254 §6)."""
    r = wire.Reader(data)
    if name == "exec":
        return server.check_channel_exec_request(chan, r.string())
    if name == "shell":
        return server.check_channel_shell_request(chan)
    if name == "subsystem":
        return server.check_channel_subsystem_request(chan, r.text())
    if name == "pty-req":
        term = r.string()
        width, height, pw, ph = r.uint32(), r.uint32(), r.uint32(), r.uint32()
        return server.check_channel_pty_request(chan, term, width, height, pw, ph, r.string())
    if name == "window-change":
        width, height, pw, ph = r.uint32(), r.uint32(), r.uint32(), r.uint32()
        return server.check_channel_window_change_request(chan, width, height, pw, ph)
    if name == "x11-req":
        single = r.boolean()
        protocol, cookie, screen = r.text(), r.string(), r.uint32()
        return server.check_channel_x11_request(chan, single, protocol, cookie, screen)
    if name == "auth-agent-req@openssh.com":
        return server.check_channel_forward_agent_request(chan)
    if name == "env":
        return server.check_channel_env_request(chan, r.string(), r.string())
    return False


def _key_from_blob(blob: bytes) -> PKey | None:
    from .transport import _pkey_from_blob

    try:
        return _pkey_from_blob(blob)
    except Exception:  # an unknown or malformed key cannot authenticate anyone
        return None

"""Session channels of the embedded server: exec, shell and command subsystems.

Theory of operation
-------------------
A :class:`Session` belongs to one "session" channel. The connection's request hooks (which
run in the transport's reader thread and must not block) record a pty, window changes and
environment variables, and finally :meth:`Session.prepare` accepts ``exec``/``shell``/
``subsystem``; the connection calls :meth:`Session.start` only after the request's reply has
been sent, so that no output can overtake it.

``start`` spawns the *main* thread: it runs the process (``SHELL -c COMMAND``, or ``SHELL``
for a shell) in a new session (``setsid``), with pipes, or with the pty as stdin/stdout/
stderr and as its controlling terminal. Two pump threads copy bytes (see ``_relay``):

* input: channel → process stdin (or pty master). At the channel's EOF it closes stdin
  (with a pty there is nothing to close), then waits for the channel to close; a channel
  closed while the process still runs (the client went away) hangs the process group up:
  SIGHUP, then SIGKILL after ``KILL_GRACE`` seconds.
* output: stdout and stderr (or the pty master) → channel data / extended data.

When the process exits, the main thread lets the output pump drain, then sends EOF, the
``exit-status`` (or ``exit-signal``) and CLOSE, as OpenSSH's sshd does, and releases the fds.
"""

from __future__ import annotations

import contextlib
import os
import signal
import struct
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence

from .._proto import wire
from ..channel import Channel
from ..ssh_exception import SSHException
from . import _relay
from ._common import Settings, base_environment, logger

#: Seconds between SIGHUP and SIGKILL when a session's client goes away.
KILL_GRACE = 2.0

# Make the pty the controlling terminal of the new session, then become the shell. Run as a
# tiny interpreter (instead of a preexec_fn, which is unsafe in a threaded process).
_CTTY_EXEC = (
    "import fcntl,os,sys,termios;fcntl.ioctl(0,termios.TIOCSCTTY,0);"
    "os.execvp(sys.argv[1],sys.argv[1:])"
)

# RFC 4254 §8 terminal mode opcodes -> termios names: control characters ...
_MODE_CC = {
    1: "VINTR", 2: "VQUIT", 3: "VERASE", 4: "VKILL", 5: "VEOF", 6: "VEOL", 7: "VEOL2",
    8: "VSTART", 9: "VSTOP", 10: "VSUSP", 11: "VDSUSP", 12: "VREPRINT", 13: "VWERASE",
    14: "VLNEXT", 15: "VFLUSH", 16: "VSWTCH", 17: "VSTATUS", 18: "VDISCARD",
}  # fmt: skip
# ... and flags, as (index in the tcgetattr list, name); 42 is IUTF8 (RFC 8160)
_MODE_FLAGS = {
    30: (0, "IGNPAR"), 31: (0, "PARMRK"), 32: (0, "INPCK"), 33: (0, "ISTRIP"),
    34: (0, "INLCR"), 35: (0, "IGNCR"), 36: (0, "ICRNL"), 37: (0, "IUCLC"), 38: (0, "IXON"),
    39: (0, "IXANY"), 40: (0, "IXOFF"), 41: (0, "IMAXBEL"), 42: (0, "IUTF8"),
    50: (3, "ISIG"), 51: (3, "ICANON"), 52: (3, "XCASE"), 53: (3, "ECHO"), 54: (3, "ECHOE"),
    55: (3, "ECHOK"), 56: (3, "ECHONL"), 57: (3, "NOFLSH"), 58: (3, "TOSTOP"),
    59: (3, "IEXTEN"), 60: (3, "ECHOCTL"), 61: (3, "ECHOKE"), 62: (3, "PENDIN"),
    70: (1, "OPOST"), 71: (1, "OLCUC"), 72: (1, "ONLCR"), 73: (1, "OCRNL"), 74: (1, "ONOCR"),
    75: (1, "ONLRET"), 92: (2, "PARENB"), 93: (2, "PARODD"),
}  # fmt: skip
_MODE_SIZES = {90: "CS7", 91: "CS8"}
_TTY_OP_END = 0


def apply_terminal_modes(fd: int, modes: bytes) -> None:
    """Apply an encoded ``pty-req`` mode list (RFC 4254 §8) to the terminal ``fd``.

    Modes this platform does not know are ignored, as are speeds; parsing stops at an
    undefined opcode (160-255), as the RFC says.
    """
    import termios

    attrs = termios.tcgetattr(fd)
    cc = attrs[6]
    pos = 0
    while pos + 5 <= len(modes):
        opcode = modes[pos]
        if opcode == _TTY_OP_END or opcode >= 160:
            break
        (value,) = struct.unpack_from(">I", modes, pos + 1)
        pos += 5
        if opcode in _MODE_CC:
            index = getattr(termios, _MODE_CC[opcode], None)
            if isinstance(index, int) and index < len(cc):
                cc[index] = bytes([0 if value == 255 else value & 0xFF])
        elif opcode in _MODE_FLAGS:
            where, name = _MODE_FLAGS[opcode]
            flag = getattr(termios, name, None)
            if isinstance(flag, int):
                attrs[where] = attrs[where] | flag if value else attrs[where] & ~flag
        elif opcode in _MODE_SIZES and value:
            size = getattr(termios, _MODE_SIZES[opcode], None)
            if isinstance(size, int):
                attrs[2] = (attrs[2] & ~termios.CSIZE) | size
    termios.tcsetattr(fd, termios.TCSANOW, attrs)


def set_window_size(fd: int, width: int, height: int, pixel_width: int, pixel_height: int) -> None:
    """TIOCSWINSZ: the kernel tells the terminal's foreground process group (SIGWINCH)."""
    import fcntl
    import termios

    clamp = [max(0, min(v, 0xFFFF)) for v in (height, width, pixel_width, pixel_height)]
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", *clamp))


def _close_fd(fd: int | None) -> None:
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)


class Session:
    """One session channel: its pty, environment and process."""

    def __init__(self, settings: Settings, chan: Channel, ssh_env: dict[str, str]) -> None:
        self.settings = settings
        self.chan = chan
        self.env: dict[str, str] = dict(ssh_env)
        self.argv: list[str | bytes] = []
        self.use_pty = False
        self.master: int | None = None
        self.slave: int | None = None
        self.term = "dumb"
        self.started = False  # exec/shell/subsystem accepted
        self.running = False  # start() called: the main thread owns the fds now
        self.proc: subprocess.Popen[bytes] | None = None
        self.exited = _relay.Waker()
        self._exit_event = threading.Event()
        self._lock = threading.Lock()
        self._closed = False
        #: the forwarded agent's socket (SSH_AUTH_SOCK), once ``auth-agent-req`` was accepted
        self.agent_socket: str | None = None
        self._on_release: list[Callable[[], None]] = []

    # ------------------------------------------------------------------ request hooks

    def request_pty(
        self, term: bytes, width: int, height: int, pw: int, ph: int, modes: bytes
    ) -> bool:
        if self.started or self.master is not None:
            return False
        try:
            master, slave = os.openpty()
        except OSError as exc:
            logger.info("cannot allocate a pty: %s", exc)
            return False
        self.master, self.slave = master, slave
        self.term = term.decode("utf-8", "replace") or "dumb"
        try:
            set_window_size(master, width, height, pw, ph)
            if modes:
                apply_terminal_modes(slave, modes)
        except (OSError, ValueError, ImportError) as exc:  # bad modes must not fail the pty
            logger.debug("terminal modes not applied: %s", exc)
        return True

    def resize(self, width: int, height: int, pw: int, ph: int) -> bool:
        master = self.master
        if master is None:
            return False
        try:
            set_window_size(master, width, height, pw, ph)
        except OSError:
            return False
        return True

    def set_env(self, name: bytes, value: bytes) -> bool:
        try:
            key, text = name.decode(), value.decode()
        except UnicodeDecodeError:
            return False
        if self.started or not key or "=" in key or "\0" in key + text:
            return False
        if not self.settings.env_accepted(key):
            return False
        self.env[key] = text
        return True

    def forward_agent(self, listen: Callable[[], tuple[str, Callable[[], None]]]) -> bool:
        """Accept ``auth-agent-req@openssh.com``: ``listen()`` gives the socket path and its
        close function (called when the session is released)."""
        if self.agent_socket is not None:
            return True
        if self.started:  # as sshd: only before the command starts
            return False
        try:
            path, close = listen()
        except OSError as exc:
            logger.info("cannot listen for a forwarded agent: %s", exc)
            return False
        with self._lock:
            released = self._closed  # e.g. the connection is being torn down
            if not released:
                self.agent_socket = path
                self._on_release.append(close)
        if released:
            close()
        return not released

    def prepare(self, command: bytes | None, *, subsystem: bool = False) -> bool:
        """Accept exec (``command``), shell (None) or a command subsystem; start() follows."""
        if self.started:
            return False
        shell = self.settings.shell
        if not os.access(shell, os.X_OK):
            logger.warning("shell %s is not executable", shell)
            return False
        self.argv = [shell] if command is None else [shell, "-c", command]
        self.use_pty = self.master is not None and not subsystem
        self.started = True
        return True

    def start(self) -> None:
        """Run the process and its pumps in threads (after the request's reply was sent)."""
        self.running = True
        self.settings.session_started()
        name = f"sshwire.testing session {self.chan.get_id()}"
        try:
            self.settings.threads.spawn(name, self._main)
        except BaseException:
            self.settings.session_ended()
            raise

    # ------------------------------------------------------------------ the process

    def _spawn(self) -> subprocess.Popen[bytes]:
        settings = self.settings
        env = base_environment(settings, self.env)
        if self.agent_socket is not None:  # as sshd: after the client's env requests
            env["SSH_AUTH_SOCK"] = self.agent_socket
        if self.use_pty:
            assert self.slave is not None
            env["TERM"] = self.term
            with contextlib.suppress(OSError):
                env["SSH_TTY"] = os.ttyname(self.slave)
            argv = list(self.argv)
            if sys.executable and sys.platform != "win32":
                argv = [sys.executable, "-I", "-S", "-c", _CTTY_EXEC, *argv]
            proc = subprocess.Popen(
                argv,
                stdin=self.slave,
                stdout=self.slave,
                stderr=self.slave,
                cwd=settings.cwd,
                env=env,
                start_new_session=True,
            )
            _close_fd(self.slave)  # the child has it; EIO on the master once it is gone
            self.slave = None
            return proc
        return subprocess.Popen(
            self.argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=settings.cwd,
            env=env,
            start_new_session=True,
        )

    def _main(self) -> None:
        try:
            self._serve()
        finally:
            self.settings.session_ended()

    def _serve(self) -> None:
        chan = self.chan
        try:
            with self._lock:
                if self._closed:
                    return
                self.proc = proc = self._spawn()
        except (OSError, ValueError, subprocess.SubprocessError) as exc:  # ValueError: NUL
            self._fail(f"sshwire.testing: cannot run {self.argv[0]!r}: {exc}\r\n")
            return
        threads = self.settings.threads
        stop = self.settings.stop
        if self.use_pty:
            assert self.master is not None
            os.set_blocking(self.master, False)
            in_fd, sources = self.master, {self.master: chan.sendall}
        else:
            assert proc.stdin and proc.stdout and proc.stderr
            in_fd = proc.stdin.fileno()
            sources = {
                proc.stdout.fileno(): chan.sendall,
                proc.stderr.fileno(): chan.sendall_stderr,
            }
            for fd in (in_fd, *sources):
                os.set_blocking(fd, False)
                _relay.grow_pipe(fd)
        name = f"sshwire.testing session {chan.get_id()}"
        out = threads.spawn(
            name + " output", lambda: _relay.pump_fds_to_channel(sources, self.exited, stop)
        )
        inp = threads.spawn(name + " input", lambda: self._input(in_fd))
        status = proc.wait()
        self._exit_event.set()
        self.exited.set()
        out.join()
        self._finish(status)
        inp.join()
        self.release()

    def _input(self, fd: int) -> None:
        chan = self.chan
        wakers = [self.exited.fileno(), self.settings.stop.fileno()]
        _relay.pump_channel_to_fd(chan, fd, wakers)
        if not self.use_pty and self.proc is not None and self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()  # the command sees EOF on its stdin
        # wait for the channel to close: by us when the process is done, or by the client
        chan.status_event.wait()
        if not self._exit_event.is_set():
            self.hang_up()

    def hang_up(self) -> None:
        """The client is gone: SIGHUP the process group, then SIGKILL if it lingers."""
        self._signal_group(signal.SIGHUP)
        if not self._exit_event.wait(KILL_GRACE):
            self._signal_group(signal.SIGKILL)

    def _signal_group(self, signum: int) -> None:
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signum)  # setsid made the pid the process group id
        if signum == signal.SIGHUP:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGCONT)  # a stopped job must see the SIGHUP

    def _finish(self, status: int) -> None:
        """EOF, exit-status or exit-signal, CLOSE (RFC 4254 §6.10), as OpenSSH orders them."""
        chan = self.chan
        with contextlib.suppress(OSError, SSHException):
            chan.shutdown_write()
        with contextlib.suppress(OSError, SSHException):
            if status >= 0:
                chan.send_exit_status(status)
            else:
                send_exit_signal(chan, -status)
        with contextlib.suppress(OSError, SSHException):
            chan.close()

    def _fail(self, message: str) -> None:
        chan = self.chan
        with contextlib.suppress(OSError, SSHException):
            chan.sendall_stderr(message.encode("utf-8", "replace"))
        self._finish(127)
        self.release()

    # ------------------------------------------------------------------ teardown

    def release(self) -> None:
        """Close every fd of this session (once its threads are done, or it never started)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        _close_fd(self.master)
        _close_fd(self.slave)
        self.master = self.slave = None
        proc = self.proc
        if proc is not None:
            for pipe in (proc.stdin, proc.stdout, proc.stderr):
                if pipe is not None:
                    with contextlib.suppress(OSError):
                        pipe.close()
        self.exited.close()
        for close in self._on_release:
            close()
        self._on_release.clear()


def send_exit_signal(chan: Channel, signum: int, core_dumped: bool = False) -> None:
    """Send ``exit-signal`` (RFC 4254 §6.10): the signal's name without "SIG"."""
    try:
        name = signal.Signals(signum).name.removeprefix("SIG")
    except ValueError:
        name = f"SIG{signum}"  # not a name the RFC knows; clients show it as it is
    data = b"".join(
        (wire.string(name), wire.boolean(core_dumped), wire.string(""), wire.string(""))
    )
    # Channel has no public call for this (paramiko's neither): use its request primitive
    chan._request("exit-signal", data, want_reply=False)


def close_unstarted(sessions: Sequence[Session]) -> None:
    for session in sessions:
        if not session.running:
            session.release()

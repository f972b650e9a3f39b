"""Selectable "flag" file descriptors: paramiko's ``pipe`` module (POSIX only).

A :class:`PosixPipe` is an OS pipe used as a boolean that :func:`select.select` can watch:
while set, one byte sits in the pipe and its read end is readable. :func:`make_or_pipe` makes
two :class:`OrPipe` handles sharing one pipe, so the pipe is set while either handle is.

paramiko also has a socket-based ``WindowsPipe`` chosen by :func:`make_pipe` on Windows;
sshwire does not provide it, and :func:`make_pipe` always returns a :class:`PosixPipe`.
"""

from __future__ import annotations

import os

__all__ = ["OrPipe", "PosixPipe", "make_or_pipe", "make_pipe"]


class PosixPipe:
    """An OS pipe whose read end is readable exactly while the flag is set."""

    def __init__(self) -> None:
        self._rfd, self._wfd = os.pipe()
        self._set = False
        self._forever = False
        self._closed = False

    def close(self) -> None:
        """Close both ends of the pipe; later :meth:`set` calls do nothing."""
        os.close(self._rfd)
        os.close(self._wfd)
        self._closed = True

    def clear(self) -> None:
        """Unset the flag (drain the byte), unless it is unset or was set forever."""
        if not self._set or self._forever:
            return
        os.read(self._rfd, 1)
        self._set = False

    def set(self) -> None:
        """Set the flag (write one byte), unless it is already set or the pipe is closed."""
        if self._set or self._closed:
            return
        self._set = True
        os.write(self._wfd, b"*")

    def set_forever(self) -> None:
        """Set the flag and make later :meth:`clear` calls do nothing."""
        self._forever = True
        self.set()

    def fileno(self) -> int:
        """Return the read end's descriptor, for :func:`select.select`."""
        return self._rfd


class OrPipe:
    """One of two handles on a shared pipe: the pipe is set while either handle is set.

    Create pairs with :func:`make_or_pipe`.
    """

    def __init__(self, pipe: PosixPipe) -> None:
        self._set = False
        self._partner: OrPipe | None = None
        self._pipe = pipe

    def set(self) -> None:
        """Set this handle; sets the shared pipe unless the partner already has."""
        self._set = True
        if self._partner is None or not self._partner._set:
            self._pipe.set()

    def clear(self) -> None:
        """Clear this handle; clears the shared pipe unless the partner is still set."""
        self._set = False
        if self._partner is None or not self._partner._set:
            self._pipe.clear()


def make_or_pipe(pipe: PosixPipe) -> tuple[OrPipe, OrPipe]:
    """Return two partnered :class:`OrPipe` handles that share ``pipe``."""
    first = OrPipe(pipe)
    second = OrPipe(pipe)
    first._partner = second
    second._partner = first
    return first, second


def make_pipe() -> PosixPipe:
    """Return a new, unset :class:`PosixPipe`."""
    return PosixPipe()

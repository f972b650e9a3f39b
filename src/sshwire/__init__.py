"""sshwire: a pure-Python SSH2 client and server library with paramiko's API."""

from __future__ import annotations

__version__ = "0.1.0"
__version_info__ = (0, 1, 0)

"""A client that stops reading altogether must not affect another client of the same server."""

from __future__ import annotations

import socket
import threading

import pytest

from sshwire import Transport
from sshwire.testing import SSHServer

pytestmark = pytest.mark.timeout(60)


class Stall:
    """Loopback proxy: relays both ways until told to stop passing server→client bytes."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.target = target
        self.passing = threading.Event()
        self.passing.set()
        self.sockets: list[socket.socket] = []
        self.threads: list[threading.Thread] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        client, _ = self.listener.accept()
        upstream = socket.create_connection(self.target)
        self.sockets += [client, upstream]
        for src, dst, gated in ((client, upstream, False), (upstream, client, True)):
            t = threading.Thread(target=self._pipe, args=(src, dst, gated), daemon=True)
            t.start()
            self.threads.append(t)

    def _pipe(self, src: socket.socket, dst: socket.socket, gated: bool) -> None:
        try:
            while True:
                if gated and not self.passing.is_set():
                    return  # stop reading from the server: its TCP buffers fill up
                data = src.recv(65536)
                if not data:
                    return
                dst.sendall(data)
        except OSError:
            return

    def close(self) -> None:
        for s in [self.listener, *self.sockets]:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


def _login(port: int, user: str, password: str) -> Transport:
    t = Transport(socket.create_connection(("127.0.0.1", port)))
    t.start_client(timeout=10)
    t.auth_password(user, password)
    return t


def test_stalled_reader_does_not_affect_others() -> None:
    server = SSHServer(passwords={"alice": "pw"})
    with server:
        proxy = Stall(server.address)
        stalled = _login(proxy.port, "alice", "pw")
        try:
            flood = stalled.open_session()
            flood.exec_command("yes sshwire-stall-test")
            proxy.passing.clear()  # from now on the client reads nothing at all
            for _ in range(3):  # meanwhile another client works normally, repeatedly
                good = _login(server.port, "alice", "pw")
                try:
                    chan = good.open_session()
                    chan.exec_command("echo still serving")
                    chan.settimeout(10)
                    assert chan.recv(100) == b"still serving\n"
                    assert chan.recv_exit_status() == 0
                finally:
                    good.close()
        finally:
            stalled.close()
            proxy.close()
    # leaving the with-block closed the server: the stalled connection did not hold it up

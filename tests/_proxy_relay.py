"""A stdin/stdout <-> TCP relay program for ProxyCommand tests (what ``nc host port`` does).

Run it as ``python -c RELAY host port`` (or write it to a file for an ssh_config
``ProxyCommand``): it copies stdin to the connection, half-closes the connection at stdin's
end, and copies the connection to stdout until the peer closes.
"""

RELAY = r"""
import os, selectors, socket, sys
conn = socket.create_connection((sys.argv[1], int(sys.argv[2])))
sel = selectors.DefaultSelector()
sel.register(0, selectors.EVENT_READ)
sel.register(conn, selectors.EVENT_READ)
while sel.get_map():
    for key, _ in sel.select():
        if key.fileobj == 0:
            data = os.read(0, 65536)
            if not data:
                sel.unregister(0)
                conn.shutdown(socket.SHUT_WR)
            else:
                conn.sendall(data)
        else:
            data = conn.recv(65536)
            if not data:
                sys.exit(0)
            view = memoryview(data)
            while view:
                view = view[os.write(1, view):]
"""

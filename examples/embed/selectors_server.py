"""fastdispatch hosted by a single-threaded ``selectors`` loop: non-blocking
sockets, the sans-IO connection turning received bytes into bytes to send.

    python examples/embed/selectors_server.py [--config site.conf] [--port 8080]

Handlers run on the loop's thread: fast, but one that blocks stalls every
connection (host them in threads -- threaded_server.py -- when they block).
"""
import argparse
import os
import selectors
import socket
import time

import fastdispatch

TUTORIAL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tutorial",
                        "site.conf")
R, W = selectors.EVENT_READ, selectors.EVENT_WRITE


class Client:
    def __init__(self, sock, conn):
        self.sock, self.conn, self.out, self.deadline = sock, conn, bytearray(), 0.0


def serve(app, lsock):
    sel = selectors.DefaultSelector()
    sel.register(lsock, R)
    clients = set()

    def close(c):
        sel.unregister(c.sock)
        c.sock.close()
        clients.discard(c)

    while True:
        for key, events in sel.select(timeout=1.0):
            if key.data is None:                          # the listening socket
                try:
                    sock, addr = lsock.accept()
                except BlockingIOError:
                    continue
                sock.setblocking(False)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                c = Client(sock, app.connection(client=addr, server=lsock.getsockname()[:2]))
                c.deadline = time.monotonic() + c.conn.keep_alive_timeout
                clients.add(c)
                sel.register(sock, R, c)
                continue
            c = key.data
            try:
                if events & R:
                    c.out += c.conn.receive(c.sock.recv(65536))   # b"" = EOF
                    c.deadline = time.monotonic() + (
                        c.conn.keep_alive_timeout if c.conn.idle else c.conn.timeout)
                if c.out:
                    del c.out[:c.sock.send(c.out)]
            except BlockingIOError:
                pass
            except OSError:
                close(c)
                continue
            if c.conn.closed and not c.out:
                close(c)
            else:   # while output is pending, read no more (back-pressure)
                sel.modify(c.sock, W if c.out else R, c)
        now = time.monotonic()
        for c in [c for c in clients if c.deadline < now and not c.out]:
            try:
                c.sock.send(c.conn.timed_out())           # 408 for a cut-short head
            except OSError:
                pass
            close(c)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--config", default=TUTORIAL)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    args = p.parse_args(argv)
    app = fastdispatch.Dispatcher.from_config(args.config)
    lsock = socket.create_server((args.host, args.port), backlog=1024)
    lsock.setblocking(False)
    print("serving on http://%s:%d" % lsock.getsockname()[:2], flush=True)
    try:
        serve(app, lsock)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

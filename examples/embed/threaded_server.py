"""fastdispatch hosted by the standard library's ``socketserver``: one thread
per connection, the sans-IO connection doing all of HTTP (keep-alive,
pipelining, bodies, timeouts' answers).

    python examples/embed/threaded_server.py [--config site.conf] [--port 8080]

Responses are written to the socket as the handler produces them
(``send=sock.sendall``), so streamed output is streamed, and a handler that
blocks holds only its own connection's thread.
"""
import argparse
import contextlib
import os
import socket
import socketserver

import fastdispatch

TUTORIAL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tutorial",
                        "site.conf")


class HTTPHandler(socketserver.BaseRequestHandler):
    def handle(self):
        sock = self.request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = self.server.app.connection(client=self.client_address,
                                          server=sock.getsockname()[:2], send=sock.sendall)
        while not conn.closed:
            sock.settimeout(conn.keep_alive_timeout if conn.idle else conn.timeout)
            try:
                conn.receive(sock.recv(65536))      # b"" (EOF) closes it
            except TimeoutError:          # Timeout, or KeepAliveTimeout while idle
                with contextlib.suppress(OSError):
                    conn.timed_out()      # writes a 408 if a request was cut short
            except OSError:               # the client went away
                break


class ThreadedServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--config", default=TUTORIAL)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    args = p.parse_args(argv)
    with ThreadedServer((args.host, args.port), HTTPHandler) as server:
        server.app = fastdispatch.Dispatcher.from_config(args.config)
        print("serving on http://%s:%d" % server.server_address[:2], flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()

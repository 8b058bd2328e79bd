"""The ceiling of Python: asyncio + httptools, answering every request with
the same fixed bytes (the hello response). No routing, no request object, no
handler -- only what any Python HTTP/1.1 server must do per request: parse
the head, write the answer.

    python ceiling.py --port 8000
"""
import argparse
import asyncio
import socket

import httptools

RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
            b"Content-Length: 12\r\n\r\nHello World!")
RESPONSE_CLOSE = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                  b"Content-Length: 12\r\nConnection: close\r\n\r\nHello World!")


class Protocol(asyncio.Protocol):
    __slots__ = ("transport", "parser")

    def connection_made(self, transport):
        self.transport = transport
        self.parser = httptools.HttpRequestParser(self)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data):
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.transport.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                                 b"Connection: close\r\n\r\n")
            self.transport.close()

    def on_message_complete(self):
        if self.parser.should_keep_alive():
            self.transport.write(RESPONSE)
        else:
            self.transport.write(RESPONSE_CLOSE)
            self.transport.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000)
    args = ap.parse_args()
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(loop.create_server(
        Protocol, args.host, args.port, backlog=1024, reuse_address=True))
    print("ceiling: serving on http://%s:%d" % (args.host, args.port), flush=True)
    try:
        loop.run_until_complete(server.serve_forever())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

"""Pieces the benchmark scripts share: a free loopback port, and a small
HTTP/1.1 client over one keep-alive connection (Content-Length and chunked
responses; requests may be pipelined)."""
import socket


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def close(self):
        self.sock.close()

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("closed")
        self.buf += data

    def _until(self, marker):
        while marker not in self.buf:
            self._fill()
        i = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def _exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send(self, method, path, headers=(), body=b""):
        """Send one request (several may go before their responses are read)."""
        hdrs = [("Host", "localhost")] + list(headers)
        if body:
            hdrs.append(("Content-Length", str(len(body))))
        self.sock.sendall(("%s %s HTTP/1.1\r\n" % (method, path)
                           + "".join("%s: %s\r\n" % h for h in hdrs) + "\r\n").encode()
                          + body)

    def response(self, method="GET"):
        """The next response: (status, lower-cased fields, body)."""
        head = self._until(b"\r\n\r\n").decode("latin-1")
        status = int(head.split(" ", 2)[1])
        fields = {}
        for line in head.split("\r\n")[1:]:
            k, _, v = line.partition(":")
            fields[k.strip().lower()] = v.strip()
        if method == "HEAD" or status in (204, 304):
            data = b""
        elif fields.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(self._until(b"\r\n").split(b";")[0], 16)
                if size == 0:
                    self._until(b"\r\n")
                    break
                parts.append(self._exact(size))
                self._exact(2)
            data = b"".join(parts)
        else:
            data = self._exact(int(fields.get("content-length", "0")))
        return status, fields, data

    def request(self, method, path, headers=(), body=b""):
        self.send(method, path, headers, body)
        return self.response(method)

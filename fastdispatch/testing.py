"""A test client that runs requests through the whole pipeline in-process:
no sockets, the same bytes a socket would carry."""
import base64
from urllib.parse import urlencode

from fastdispatch import _speedups
from fastdispatch.transport import BytesBody, ConnInfo


class Response:
    def __init__(self, status, reason, headers, body, raw):
        self.status = status
        self.reason = reason
        self.headers = headers          # list of (name, value) in order
        self.body = body
        self.raw = raw

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def __repr__(self):
        return "<Response %d %s, %d bytes>" % (self.status, self.reason, len(self.body))


def parse_response(raw, head_only=False):
    """Split a raw HTTP/1.1 response into status, headers and decoded body."""
    end = raw.index(b"\r\n\r\n")
    lines = raw[:end].decode("latin-1").split("\r\n")
    _, status, reason = (lines[0].split(" ", 2) + [""])[:3]
    headers = [tuple(line.split(": ", 1)) for line in lines[1:]]
    body = raw[end + 4:]
    te = [v for k, v in headers if k.lower() == "transfer-encoding"]
    if te and not head_only:
        reader = _speedups.http.ChunkedReader()
        body = reader.feed(body)
    return Response(int(status), reason, headers, body, raw)


class Client:
    """``Client(app).get("/myscript.py")`` -> Response."""

    def __init__(self, app, remote_ip="127.0.0.1"):
        self.app = app
        self.conn = ConnInfo(remote_ip, 50000, "127.0.0.1", 80)

    def request(self, method, url, *, headers=(), body=b"", auth=None, version="HTTP/1.1"):
        hdrs = [("Host", "localhost")] + list(headers)
        if auth is not None:
            token = base64.b64encode(("%s:%s" % auth).encode("latin-1")).decode()
            hdrs.append(("Authorization", "Basic " + token))
        if body or method in ("POST", "PUT"):
            hdrs.append(("Content-Length", str(len(body))))
        head_bytes = ("%s %s %s\r\n" % (method, url, version)
                      + "".join("%s: %s\r\n" % h for h in hdrs) + "\r\n").encode("latin-1")
        head, _ = _speedups.http.parse_head(head_bytes)
        out = []
        self.app.handle(head, BytesBody(body), self.conn, out.append)
        return parse_response(b"".join(out), head_only=method == "HEAD")

    def get(self, url, **kw):
        return self.request("GET", url, **kw)

    def head(self, url, **kw):
        return self.request("HEAD", url, **kw)

    def post(self, url, data=None, **kw):
        body = kw.pop("body", b"")
        headers = list(kw.pop("headers", ()))
        if data is not None:
            body = urlencode(data, doseq=True).encode("ascii")
            headers.append(("Content-Type", "application/x-www-form-urlencoded"))
        return self.request("POST", url, headers=headers, body=body, **kw)

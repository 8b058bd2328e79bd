"""A test client: requests through the whole pipeline in-process, no sockets.

    from fastdispatch import Dispatcher
    from fastdispatch.testing import Client

    client = Client(Dispatcher.from_config("site.conf"))
    r = client.get("/mywebdir/myscript.py")
    assert r.status == 200 and r.body == b"Hello World!"
    r = client.post("/secure/myscript.py", data={"a": "1"}, auth=("spam", "eggs"))
    r.status, r.headers, r.body, r.header("Content-Type"), r.text

The request is built as the client would send it (a ``Host`` header, the
``Content-Length`` or chunked framing of the body), parsed by the same head
parser as the builtin server's, and handed to ``Dispatcher.handle``; the
response is exactly the bytes a socket would carry (``r.raw``), split into
status, headers and the de-chunked body.
"""
import base64
import json as _json
from urllib.parse import urlencode

from fastdispatch import _speedups
from fastdispatch.transport import BytesBody, ConnInfo


class Response:
    """``status`` (int), ``reason``, ``headers`` (list of (name, value), in
    order), ``body`` (bytes, de-chunked), ``raw`` (the response's bytes)."""

    def __init__(self, status, reason, headers, body, raw):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.raw = raw

    def header(self, name, default=None):
        """The first value of header ``name`` (any case), or ``default``."""
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return _json.loads(self.body)

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


def _header_list(headers):
    if headers is None:
        return []
    if hasattr(headers, "items"):
        return list(headers.items())
    return list(headers)


def _chunked(body):
    return (b"%x\r\n%s\r\n" % (len(body), body) if body else b"") + b"0\r\n\r\n"


class Client:
    """``Client(app)``: ``get``/``head``/``post``/``put``/``delete``/``options``
    and ``request(method, url, ...)`` -> Response. ``app`` is a Dispatcher
    (anything with ``handle(head, body, conn, send)``)."""

    def __init__(self, app, remote_ip="127.0.0.1", host="localhost"):
        self.app = app
        self.host = host
        self.conn = ConnInfo(remote_ip, 50000, "127.0.0.1", 80)

    def request(self, method, url, *, params=None, headers=(), data=None, body=b"",
                json=None, auth=None, chunked=False, version="HTTP/1.1"):
        """``params``: added to the query string; ``data``: a dict or list of
        pairs (sent form-encoded) or bytes/str (sent as is); ``json``: sent as
        application/json; ``auth``: (user, password) for Basic;
        ``chunked``: send the body with chunked framing."""
        hdrs = _header_list(headers)
        names = {k.lower() for k, _ in hdrs}
        if "host" not in names and self.host is not None:
            hdrs.insert(0, ("Host", self.host))
        if params:
            url += ("&" if "?" in url else "?") + urlencode(params, doseq=True)
        if json is not None:
            body = _json.dumps(json).encode("utf-8")
            if "content-type" not in names:
                hdrs.append(("Content-Type", "application/json"))
        elif data is not None:
            if isinstance(data, str):
                body = data.encode("utf-8")
            elif isinstance(data, (bytes, bytearray, memoryview)):
                body = bytes(data)
            else:
                body = urlencode(data, doseq=True).encode("ascii")
                if "content-type" not in names:
                    hdrs.append(("Content-Type", "application/x-www-form-urlencoded"))
        if auth is not None:
            token = base64.b64encode(("%s:%s" % auth).encode("latin-1")).decode()
            hdrs.append(("Authorization", "Basic " + token))
        if chunked:
            hdrs.append(("Transfer-Encoding", "chunked"))
        elif (body or method in ("POST", "PUT", "PATCH")) and "content-length" not in names:
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
        return self.request("POST", url, data=data, **kw)

    def put(self, url, data=None, **kw):
        return self.request("PUT", url, data=data, **kw)

    def delete(self, url, **kw):
        return self.request("DELETE", url, **kw)

    def options(self, url, **kw):
        return self.request("OPTIONS", url, **kw)

"""Both directions of a host that speaks HTTP for us (WSGI, ASGI).

In: the host has parsed the request; ``make_head`` builds the same
``RequestHead`` the builtin server's parser would have produced.

Out: the dispatcher writes a whole HTTP/1.1 response (status line, headers,
body, chunked when streamed) through ``send(bytes)``. ``ResponseParser``
reads it back, incrementally: status and headers once the head is complete,
then the body de-chunked piece by piece as it arrives -- never the whole body
at once. Headers that belong to the hosting server's connection (hop-by-hop,
``Date``, ``Server``) are dropped: the host writes its own.
"""
from fastdispatch import _speedups

_RequestHead = _speedups.http.RequestHead
_ChunkedReader = _speedups.http.ChunkedReader

# RFC 9110 7.6.1 hop-by-hop fields (and the ones wsgiref refuses), plus the
# two a hosting server always writes itself.
HOP_BY_HOP = frozenset(("connection", "keep-alive", "proxy-connection", "te", "trailer",
                        "trailers", "transfer-encoding", "upgrade"))
HOST_OWNED = HOP_BY_HOP | frozenset(("date", "server"))

_HEAD, _LENGTH, _CHUNKED, _UNTIL_CLOSE, _NO_BODY = range(5)


class ResponseParser:
    """Feed it what the dispatcher sends; ``feed`` returns body bytes.

    After the head has been read: ``status`` (int), ``status_line``
    (``"200 OK"``, as WSGI's start_response wants it), ``headers``
    (list of (name, value) without the host-owned ones), ``head_done``.
    ``complete`` turns True once the body is known to be whole (its
    Content-Length reached, the last chunk read, or no body at all)."""

    __slots__ = ("head_only", "status", "status_line", "headers", "head_done", "complete",
                 "_buf", "_mode", "_left", "_chunks")

    def __init__(self, head_only=False):
        self.head_only = head_only
        self.status = 0
        self.status_line = ""
        self.headers = None
        self.head_done = False
        self.complete = False
        self._buf = b""
        self._mode = _HEAD
        self._left = 0
        self._chunks = None

    def feed(self, data):
        mode = self._mode
        if mode == _HEAD:
            buf = self._buf + data if self._buf else data
            while True:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    self._buf = bytes(buf)
                    return b""
                self._parse_head(buf, end)
                buf = buf[end + 4:]
                if self.status >= 200:
                    break
                self.head_done = False       # an interim (1xx) response: skip it
            self._buf = b""
            data = buf
            mode = self._mode
        if mode == _LENGTH:
            left = self._left
            if len(data) >= left:
                if len(data) > left:
                    data = data[:left]
                self._left = 0
                self.complete = True
            else:
                self._left = left - len(data)
            return data
        if mode == _CHUNKED:
            chunks = self._chunks
            data = chunks.feed(data) if data else b""
            if chunks.done:
                self.complete = True
            return data
        if mode == _UNTIL_CLOSE:
            return data
        return b""                            # _NO_BODY, or after the end

    def _parse_head(self, buf, end):
        lines = bytes(buf[:end]).decode("latin-1").split("\r\n")
        self.status_line = status_line = lines[0][9:]      # after "HTTP/1.1 "
        self.status = status = int(status_line[:3])
        headers = []
        length = -1
        chunked = False
        known = _KNOWN
        for i in range(1, len(lines)):
            line = lines[i]
            colon = line.find(":")
            name = line[:colon]
            action = known.get(name)
            if action is None:
                key = name.lower()
                action = _ACTIONS.get(key, _KEEP)
            if action is _KEEP:
                headers.append((name, line[colon + 1:].strip()))
            elif action is _LENGTH_FIELD:
                value = line[colon + 1:].strip()
                length = int(value)
                headers.append((name, value))
            elif action is _TE_FIELD:
                chunked = line[colon + 1:].strip().lower().endswith("chunked")
        self.headers = headers
        self.head_done = True
        if self.head_only or status in (204, 304) or status < 200:
            self._mode = _NO_BODY
            self.complete = status >= 200
        elif chunked:
            self._mode = _CHUNKED
            self._chunks = _ChunkedReader()
        elif length >= 0:
            self._mode = _LENGTH
            self._left = length
            self.complete = length == 0
        else:
            self._mode = _UNTIL_CLOSE


# what to do with a response header field: keep it, drop it (the host's),
# or read the framing from it
_KEEP, _DROP, _LENGTH_FIELD, _TE_FIELD = "keep", "drop", "length", "te"
_ACTIONS = dict.fromkeys(HOST_OWNED, _DROP)
_ACTIONS["content-length"] = _LENGTH_FIELD
_ACTIONS["transfer-encoding"] = _TE_FIELD
# the names as build_response_head writes them, and common ones: no lower()
_KNOWN = {"Date": _DROP, "Server": _DROP, "Connection": _DROP, "Keep-Alive": _DROP,
          "Transfer-Encoding": _TE_FIELD, "Content-Length": _LENGTH_FIELD,
          "Content-Type": _KEEP, "Last-Modified": _KEEP, "ETag": _KEEP,
          "Accept-Ranges": _KEEP, "Location": _KEEP, "WWW-Authenticate": _KEEP,
          "Set-Cookie": _KEEP, "Cache-Control": _KEEP, "Vary": _KEEP, "Allow": _KEEP}


_NAME_CACHE = {}


def title_case(name):
    """``content-type`` / ``CONTENT_TYPE`` -> ``Content-Type``: how a WSGI or
    ASGI host's (upper- or lower-cased) header names are shown to handlers,
    which is how clients write them."""
    t = _NAME_CACHE.get(name)
    if t is None:
        t = "-".join(p.capitalize() for p in name.replace("_", "-").split("-"))
        if len(_NAME_CACHE) < 1024:
            _NAME_CACHE[name] = t
    return t


def make_head(method, target, version, headers):
    """A RequestHead from a host's parsed request. ``version`` is ``"1.1"``,
    ``"1.0"`` or ``"2"`` (served as HTTP/1.1); ``headers`` a list of
    (name, value) str pairs."""
    version_num = 10 if version == "1.0" else 11
    proto = "HTTP/1.0" if version_num == 10 else "HTTP/1.1"
    length = -1
    chunked = False
    connection = None
    expect = False
    for name, value in headers:
        c = name[0]
        if c in "CcTtEe":
            key = name.lower()
            if key == "content-length":
                try:
                    length = int(value)
                except ValueError:
                    length = -1
            elif key == "transfer-encoding":
                chunked = value.lower().rstrip().endswith("chunked")
            elif key == "connection":
                connection = value.lower()
            elif key == "expect":
                expect = value.lower() == "100-continue" and version_num == 11
    if chunked:
        length = -1
    if version_num == 11:
        keep_alive = connection is None or "close" not in connection
    else:
        keep_alive = connection is not None and "keep-alive" in connection
    return _RequestHead(method, target, proto, version_num, headers, length, chunked,
                        keep_alive, expect, "%s %s %s" % (method, target, proto))

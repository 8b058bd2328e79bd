"""The dispatcher as a PEP 3333 application: ``app = dispatcher.wsgi()``.

    # site_app.py
    import fastdispatch
    app = fastdispatch.Dispatcher.from_config("site.conf").wsgi()

    $ gunicorn -w 4 -k gthread --threads 16 site_app:app

Each request runs through the whole pipeline in the calling (server) thread.
The request body is read from ``wsgi.input`` as the handler asks for it. The
response is streamed: a response that the handler finished without flushing
is returned as one body string (the server frames it, with the handler's
Content-Length); a streamed one (``req.write()``, flushed) goes out piece by
piece through the ``write`` callable of ``start_response`` as the handler
writes it, so a long-running handler's output reaches the client as it is
produced.

The request-target given to the dispatcher is the one the client sent
(``RAW_URI`` / ``REQUEST_URI`` when the server provides it, else
``SCRIPT_NAME + PATH_INFO`` re-quoted, plus ``QUERY_STRING``): the
configuration's ``<Location>`` and ``DocumentRoot`` see whole URL paths,
wherever the application is mounted.
"""
import logging
from urllib.parse import quote

from fastdispatch.errors import ClientGone, HTTPError
from fastdispatch.server._body import EMPTY_BODY
from fastdispatch.transport import ConnInfo

from ._body import StreamBody
from ._response import ResponseParser, make_head, title_case

log = logging.getLogger("fastdispatch.error")

# what quote() leaves alone in a path: RFC 3986 pchar and "/"
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


def _header_name(key):
    """The header a WSGI environ key stands for (``HTTP_USER_AGENT`` ->
    ``User-Agent``), or "" for a key that is no header."""
    name = _ENV_NAMES.get(key)
    if name is None:
        if key[:5] == "HTTP_":
            name = title_case(key[5:])
        elif key == "CONTENT_TYPE" or key == "CONTENT_LENGTH":
            name = title_case(key)
        else:
            name = ""
        if len(_ENV_NAMES) < 2048:
            _ENV_NAMES[key] = name
    return name


_ENV_NAMES = {}


def head_from_environ(environ):
    """The RequestHead of a WSGI request."""
    method = environ["REQUEST_METHOD"]
    target = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if not target:
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        target = quote(path.encode("latin-1"), safe=_PATH_SAFE) or "/"
        qs = environ.get("QUERY_STRING")
        if qs:
            target += "?" + qs
    headers = []
    names = _ENV_NAMES
    for key, value in environ.items():
        name = names.get(key)
        if name is None:
            name = _header_name(key)
        if name and (value or key[:5] == "HTTP_"):
            headers.append((name, value))
    protocol = environ.get("SERVER_PROTOCOL", "HTTP/1.1")
    return make_head(method, target, "1.0" if protocol == "HTTP/1.0" else "1.1", headers)


def conn_from_environ(environ):
    try:
        remote_port = int(environ.get("REMOTE_PORT") or 0)
    except ValueError:
        remote_port = 0
    try:
        local_port = int(environ.get("SERVER_PORT") or 0)
    except ValueError:
        local_port = 0
    return ConnInfo(environ.get("REMOTE_ADDR") or "127.0.0.1", remote_port,
                    environ.get("SERVER_ADDR") or environ.get("SERVER_NAME") or "127.0.0.1",
                    local_port, environ.get("wsgi.url_scheme") == "https")


def _input_puller(stream):
    read = stream.read

    def pull(n):
        try:
            return read(n)
        except OSError as exc:      # the host's socket: the client, not the handler
            raise ClientGone("reading the request body: %s" % exc) from exc
    return pull


class _Responder:
    """The dispatcher's ``send``: the response head becomes start_response,
    the body goes out through ``write`` as it comes (streamed), or is kept
    for the returned iterable when the whole response is already there."""

    __slots__ = ("parser", "start_response", "write", "pending")

    def __init__(self, start_response, head_only):
        self.parser = ResponseParser(head_only)
        self.start_response = start_response
        self.write = None
        self.pending = []

    def send(self, data):
        parser = self.parser
        body = parser.feed(data)
        if not parser.head_done:
            return
        write = self.write
        if write is None:
            if parser.complete:
                # the whole response: hand it back as the iterable, the
                # preferred WSGI way (and one write less for the server)
                if body:
                    self.pending.append(body)
                return
            write = self.write = self.start_response(parser.status_line, parser.headers)
            if self.pending:
                pending, self.pending = self.pending, []
                for piece in pending:
                    _client_write(write, piece)
        if body:
            _client_write(write, body)

    def result(self):
        if self.write is None:
            self.start_response(self.parser.status_line, self.parser.headers)
            return self.pending
        return ()


def _client_write(write, data):
    """The WSGI server's ``write``: its socket errors are the client's
    (ClientGone), not the handler's."""
    try:
        write(data)
    except OSError as exc:
        raise ClientGone("writing the response: %s" % exc) from exc


class WSGIApplication:
    """``dispatcher.wsgi()``: a PEP 3333 application over a Dispatcher."""

    def __init__(self, dispatcher):
        self.dispatcher = dispatcher
        self._handle = dispatcher.handle
        self._limit = dispatcher.server_config.limit_request_body

    def __call__(self, environ, start_response):
        head = head_from_environ(environ)
        if head.content_length > 0 or head.chunked:
            body = StreamBody(_input_puller(environ["wsgi.input"]), head.content_length,
                              self._limit)
        else:
            body = EMPTY_BODY
        responder = _Responder(start_response, head.method == "HEAD")
        try:
            self._handle(head, body, conn_from_environ(environ), responder.send)
        except Exception as exc:
            if responder.write is not None:
                raise                      # too late for an answer: the server aborts
            status = exc.status if isinstance(exc, HTTPError) else 500
            if status == 500:
                log.error("unhandled exception serving %s", head.request_line, exc_info=exc)
            responder = _Responder(start_response, head.method == "HEAD")
            responder.send(self.dispatcher.error_response(status, head))
        if not responder.parser.head_done:
            responder = _Responder(start_response, head.method == "HEAD")
            responder.send(self.dispatcher.error_response(500, head))
        return responder.result()

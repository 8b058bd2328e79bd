"""WSGI applications for tests/test_mp_wsgi_handler.py; ``dispatch`` picks
one by the first segment of PATH_INFO (``/w/<name>/...``)."""
import os
import sys

CLOSED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "closed.txt")


def _mark(what):
    with open(CLOSED, "a") as f:
        f.write(what + "\n")


def env(environ, start_response):
    """Each key, sorted, as key=repr(value) (the type's name for objects)."""
    lines = []
    for k in sorted(environ):
        v = environ[k]
        if not isinstance(v, (str, bool, int, tuple)):
            v = type(v).__name__
        lines.append("%s=%r" % (k, v))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("\n".join(lines) + "\n").encode()]


def hello(environ, start_response):
    # handlers.rst's example: a str body and a Content-Length
    output = "Hello World!"
    start_response("200 OK", [("Content-type", "text/plain"),
                              ("Content-Length", str(len(output)))])
    return [output]


def stream(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return (b"chunk%d\n" % i for i in range(3))


def longer(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
    return [b"0123456789"]


def shorter(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "20")])
    return [b"0123456789"]


def writer(environ, start_response):
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    write(b"written1\n")
    write("written2\n")
    return [b"returned\n"]


class Closing:
    def __init__(self, parts, fail=False):
        self.parts, self.fail = parts, fail

    def __iter__(self):
        for p in self.parts:
            yield p
        if self.fail:
            raise ValueError("iteration failed")

    def close(self):
        _mark("closed")


def closing(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return Closing([b"a", b"b"])


def closing_fails(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return Closing([b"x"], fail=True)


def marks(environ, start_response):
    try:
        with open(CLOSED) as f:
            data = f.read()
        os.unlink(CLOSED)
    except OSError:
        data = ""
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [data.encode()]


def raise_before(environ, start_response):
    raise RuntimeError("boom before start_response")


def raise_after(environ, start_response):
    start_response("201 Created", [("Content-Type", "text/plain"), ("X-App", "1")])
    raise RuntimeError("boom after start_response")


def raise_iter(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])

    def gen():
        yield b"partial\n"
        raise RuntimeError("boom in the iterable")
    return gen()


def post(environ, start_response):
    inp = environ["wsgi.input"]
    how = environ.get("QUERY_STRING", "")
    if how == "readline":
        body = repr([inp.readline(), inp.readline(), inp.readline(), inp.readline()])
    elif how == "readlines":
        body = repr(inp.readlines())
    elif how == "read":
        body = repr(inp.read())
    elif how == "iter":
        body = repr(list(inp))
    else:
        body = repr(inp.read(int(environ.get("CONTENT_LENGTH") or 0)))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]


def status(environ, start_response):
    line = environ["QUERY_STRING"].replace("+", " ").replace("%20", " ")
    start_response(line, [("Content-Type", "text/plain"), ("ETag", '"e1"')])
    return [b"status body"]


def exc_before(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-First", "1")])
    try:
        raise ValueError("handled by the application")
    except ValueError:
        start_response("503 Service Unavailable",
                       [("Content-Type", "text/plain"), ("X-Second", "2")], sys.exc_info())
    return [b"the application's error page"]


def exc_after(environ, start_response):
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    write(b"sent already\n")
    try:
        raise ValueError("too late to handle")
    except ValueError:
        start_response("500 Internal Server Error", [("Content-Type", "text/plain")],
                       sys.exc_info())
    return [b"never sent"]


def exc_none(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")], None)
    return [b"exc_info None"]


def twice(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-First", "1")])
    start_response("202 Accepted", [("X-Second", "2")])
    return [b"twice"]


def cookies(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/html"), ("Set-Cookie", "a=1"),
                              ("Set-Cookie", "b=2")])
    return [b"<p>cookies</p>"]


def bad_status(environ, start_response):
    start_response("abc", [])
    return [b"x"]


def bad_headers(environ, start_response):
    start_response("200 OK", (("Content-Type", "text/plain"),))
    return [b"x"]


def crlf_header(environ, start_response):
    start_response("200 OK", [("X-Split", "v\r\nInjected: 1")])
    return [b"x"]


def returns_none(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return None


def returns_str(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return "abc"


def empty(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"", b""]


def no_start(environ, start_response):
    return [b"no start_response"]


def errors(environ, start_response):
    environ["wsgi.errors"].write("mpwsgi: a line for wsgi.errors\n")
    environ["wsgi.errors"].flush()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"logged"]


def dispatch(environ, start_response):
    name = environ.get("PATH_INFO", "/").split("/")[1]
    app = globals().get(name)
    if not callable(app) or name.startswith("_") or name in ("dispatch", "Closing"):
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"no such test application"]
    return app(environ, start_response)

"""The work of each benchmark scenario, written once for the raw ASGI and
WSGI peers (raw_asgi.py, raw_wsgi.py): what the site's mod_python handlers
do, without mod_python. Every function returns (status, headers, body) with
the same status, Content-Type and body as fastdispatch and Apache +
mod_python send for the same request (run.py checks that before timing).
"""
import base64
import binascii
import os
from email.utils import formatdate
from urllib.parse import parse_qsl

SITE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "site")
HTDOCS = os.path.join(SITE, "htdocs")

HELLO = b"Hello World!"
TEXT = "text/plain"
HTML = "text/html"
NOT_HERE = b"Page not here.  Page left, not know where gone."
UNAUTHORIZED = (
    b"<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\">\n<html><head>\n"
    b"<title>401 Unauthorized</title>\n</head><body>\n<h1>Unauthorized</h1>\n"
    b"</body></html>\n")
NOT_FOUND = (
    b"<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\">\n<html><head>\n"
    b"<title>404 Not Found</title>\n</head><body>\n<h1>Not Found</h1>\n"
    b"</body></html>\n")


def hello(method, query, headers, body):
    """htdocs/hello/hellohandler.py: the tutorial's hello handler."""
    return 200, [("content-type", TEXT)], HELLO


def say(method, query, headers, body):
    """mod_python.publisher calling hello.say(req, what=...)."""
    what = "NOTHING"
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name == "what":
            what = value
    return 200, [("content-type", TEXT)], ("I am saying %s" % what).encode("utf-8")


def submit(method, query, headers, body):
    """mod_python.publisher calling hello.submit(req): every form field."""
    fields = parse_qsl(body.decode("latin-1"), keep_blank_values=True,
                       encoding="utf-8") if body else []
    text = "".join("%s=%s\n" % pair for pair in fields)
    return 200, [("content-type", TEXT)], text.encode("utf-8")


def secure(method, query, headers, body):
    """The tutorial's authenhandler (spam / eggs), then its hello handler."""
    auth = headers.get("authorization", "")
    scheme, _, cred = auth.partition(" ")
    user = pw = None
    if scheme.lower() == "basic":
        try:
            user, _, pw = base64.b64decode(cred.strip(), validate=True).decode(
                "latin-1").partition(":")
        except (binascii.Error, ValueError):
            user = None
    if user == "spam" and pw == "eggs":
        return 200, [("content-type", TEXT)], HELLO
    return 401, [("www-authenticate", 'Basic realm="Restricted Area"'),
                 ("content-type", "text/html; charset=iso-8859-1")], UNAUTHORIZED


def own404(method, query, headers, body):
    """The tutorial's own 404 handler for /errors/handler-error.html."""
    return 404, [("content-type", HTML)], NOT_HERE


def static(path):
    """The default handler on a file under htdocs: stat, headers, read."""
    filename = os.path.join(HTDOCS, path.lstrip("/"))
    try:
        st = os.stat(filename)
        with open(filename, "rb") as f:
            data = f.read()
    except OSError:
        return 404, [("content-type", "text/html; charset=iso-8859-1")], NOT_FOUND
    mtime_us = st.st_mtime_ns // 1000
    return 200, [("last-modified", formatdate(st.st_mtime, usegmt=True)),
                 ("etag", '"%x-%x"' % (st.st_size, mtime_us)),
                 ("accept-ranges", "bytes"),
                 ("content-type", TEXT)], data


ROUTES = {
    "/hello/hellohandler.py": hello,
    "/pub/hello.py/say": say,
    "/pub/hello.py/submit": submit,
    "/secure/authhandler.py": secure,
    "/errors/handler-error.html": own404,
}


def respond(method, path, query, headers, body):
    """(status, [(name, value)], body) for one request; ``headers`` a dict
    with lower-case names."""
    route = ROUTES.get(path)
    if route is not None:
        return route(method, query, headers, body)
    if path.startswith("/static/"):
        return static(path)
    return 404, [("content-type", "text/html; charset=iso-8859-1")], NOT_FOUND

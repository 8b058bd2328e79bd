"""The interpreter a handler is named to run in, and what a handler added
by req.add_handler() sees (tests/test_handler_dirs.py)."""
from mod_python import apache


def handler(req):
    req.content_type = "text/plain"
    req.write("interpreter=%r directory=%r\n" % (req.interpreter, req.hlist.directory))
    return apache.OK


def add(req):
    req.add_handler("PythonHandler", "hdinterp::added")
    return apache.OK


def added(req):
    req.write("added directory=%r\n" % (req.hlist.directory,))
    return apache.OK

"""mod_python's CGI handler: ``PythonHandler mod_python.cgihandler``.

Runs a CGI script in the handler's process, as handlers.rst ("CGI Handler")
describes: the file the URL maps to, without its extension (``/x.py``,
``/x`` and ``/x.txt`` all run ``x.py`` beside it; none is a 404), is
imported under its own name (so ``if __name__ == "__main__"`` blocks do not
run) with ``os.environ`` holding the CGI variables only, ``sys.stdin``
reading the request body and ``sys.stdout`` writing the response: the
lines before the first blank line are headers (``Status`` sets the status,
``Content-Type`` the type, the others go to ``headers_out``); the rest is
the body, sent as it is written. Output without a blank line sends nothing.
One script runs at a time per process (the working directory is the
script's), and the modules a script imported from outside the standard
library and site-packages are dropped afterwards, so the next run imports
them afresh.

Where mod_python 3.5 under Python 3 is broken this module does what a CGI
script expects instead: ``sys.stdin.read()`` and ``sys.stdin.buffer``
work (mod_python's raised TypeError/AttributeError, so cgi.FieldStorage
could not read a POST), ``sys.stdout.buffer`` writes bytes, and
``sys.exit()`` ends the script (mod_python reported SystemExit as an
error). mod_python's global side effects are not reproduced: it emptied
``os.environ`` for the whole process and swapped stdin and stdout back
wrongly; here everything is restored after the script.
"""
import importlib.machinery
import importlib.util
import io
import os
import sys
import sysconfig
import threading

from fastdispatch import apache

_lock = threading.Lock()
# os.environ while a script runs. Always this one dict, filled anew for each
# script: a module the script imports keeps what os.environ was then (as
# cgi.FieldStorage's environ=os.environ default does), so it must not be a
# new object each time (mod_python kept one dict too)
_environ = {}


def handler(req):
    path = req.subprocess_env.get("script_filename") or req.filename or ""
    directory, name = os.path.split(path)
    module_name = os.path.splitext(name)[0]
    # found as an import finds a module in that one directory (never on
    # sys.path), as mod_python's imp.find_module(name, [dir])
    spec = importlib.machinery.PathFinder.find_spec(module_name, [directory]) \
        if module_name else None
    if spec is None or spec.loader is None:
        raise apache.SERVER_RETURN(apache.HTTP_NOT_FOUND)

    env = apache.build_cgi_env(req)
    # the process-wide state a CGI script uses: one script at a time
    with _lock:
        saved = (os.getcwd(), os.environ, sys.stdin, sys.stdout, sys.argv)
        before = set(sys.modules)
        try:
            os.chdir(directory)
            for key, value in env.items():
                if isinstance(value, str):
                    _environ.setdefault(key, value)
            os.environ = _environ
            sys.stdin = _stdin(req)
            sys.stdout = _Stdout(req)
            sys.argv = []       # as mod_python (cgi.py reads sys.argv[1:])
            _run(spec, module_name)
        finally:
            sys.stdout.flush()
            cwd, os.environ, sys.stdin, sys.stdout, sys.argv = saved
            _environ.clear()
            os.chdir(cwd)
            _forget_modules(set(sys.modules) - before)
    return apache.OK


def _run(spec, module_name):
    module = importlib.util.module_from_spec(spec)
    # in sys.modules while it runs (as imp.load_module put it), unless the
    # name is taken: a script named like a library must not replace it
    taken = module_name in sys.modules
    if not taken:
        sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except SystemExit:
        pass    # a CGI script's exit ends it; what it wrote stands
    finally:
        if not taken:
            sys.modules.pop(module_name, None)


_KEPT_ROOTS = None


def _forget_modules(names):
    """Drop the modules the script imported, but not those of the standard
    library, site-packages or fastdispatch: the next run imports the
    script's own modules again (mod_python's reload of indirect imports)."""
    global _KEPT_ROOTS
    if _KEPT_ROOTS is None:
        paths = sysconfig.get_paths()
        roots = {paths.get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")}
        roots.add(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        _KEPT_ROOTS = tuple(os.path.join(os.path.abspath(r), "") for r in roots if r)
    for name in names:
        f = getattr(sys.modules.get(name), "__file__", None)
        if f and not os.path.abspath(f).startswith(_KEPT_ROOTS):
            sys.modules.pop(name, None)


class _Body(io.RawIOBase):
    """The request body as a raw stream (sys.stdin.buffer's source)."""

    def __init__(self, req):
        self._req = req

    def readable(self):
        return True

    def readinto(self, b):
        data = self._req.read(len(b))
        b[:len(data)] = data
        return len(data)


def _stdin(req):
    return io.TextIOWrapper(io.BufferedReader(_Body(req)), encoding="utf-8",
                            errors="surrogateescape")


class _Stdout(io.TextIOBase):
    """sys.stdout for the script: the head (up to the first blank line) is
    parsed into the response, the rest written to the client at once."""

    encoding = "utf-8"

    def __init__(self, req):
        self._req = req
        self._head = b""
        self._in_body = False
        self.buffer = _StdoutBuffer(self)

    def writable(self):
        return True

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError("write() argument must be str, not %s" % type(text).__name__)
        self.feed(text.encode(self.encoding))
        return len(text)

    def feed(self, data):
        if not data:
            return
        if self._in_body:
            self._req.write(data)
            return
        self._head += data
        # the head ends at the first CRLF CRLF, else at the first LF LF
        for end in (b"\r\n\r\n", b"\n\n"):
            head, sep, body = self._head.partition(end)
            if sep:
                break
        else:
            return
        self._in_body = True
        self._head = b""
        self._set_headers(head.decode("latin-1"))
        self._req.write(body)

    def _set_headers(self, head):
        req = self._req
        for line in head.replace("\r\n", "\n").split("\n"):
            # a line without a colon is an error (ValueError), as in mod_python
            name, value = line.split(":", 1)
            value = value.strip()
            key = name.lower()
            if key == "status":
                req.status = int(value.split()[0])
            elif key == "content-type":
                req.content_type = value
                req.headers_out[name] = value
            else:
                req.headers_out.add(name, value)


class _StdoutBuffer(io.RawIOBase):
    """sys.stdout.buffer: bytes into the same head-then-body stream."""

    def __init__(self, out):
        self._out = out

    def writable(self):
        return True

    def write(self, data):
        data = bytes(data)
        self._out.feed(data)
        return len(data)

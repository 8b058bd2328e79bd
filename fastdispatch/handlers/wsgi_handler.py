"""mod_python's WSGI handler: ``PythonHandler mod_python.wsgi``.

Runs the PEP 3333 application named by ``PythonOption
mod_python.wsgi.application module[::callable]`` (``application`` when no
callable is named) inside the request. See handlers.rst, "WSGI Handler".

What the application sees and gets, as mod_python 3.5 on Apache 2.4:

* the environ is the request's CGI variables (``req.add_cgi_vars()``,
  ``subprocess_env`` included) plus ``HTTP_AUTHORIZATION`` and the
  ``wsgi.*`` keys; ``wsgi.errors`` goes to the error log;
* ``SCRIPT_NAME`` is the ``mod_python.wsgi.base_uri`` option, else the path
  of the ``<Location>`` holding the handler (its trailing slash dropped),
  else "" (a ``<Directory>``); ``PATH_INFO`` is the rest of the URI (and
  becomes ``req.path_info``). A URI outside base_uri is declined (so 404);
* headers from ``start_response`` are added to ``headers_out`` as given
  (Content-Type included, in the table); its ``write`` sends at once;
* the iterable is written item by item (str is encoded as req.write does),
  then its ``close()`` is called, even after an error. An error becomes
  mod_python's 500 (the traceback page under PythonDebug On).

Where mod_python 3.5 under Python 3 breaks PEP 3333 this module follows the
PEP instead (tests/test_mp_wsgi_handler.py marks each case): the status given to start_response is the
response's status (mod_python sets only the status line, so a "404" went
out as 200), ``exc_info`` replaces the status and headers until the head is
sent (mod_python always re-raised; ``None`` crashed it), a body longer than
the Content-Length given is cut and a shorter one closes the connection,
base_uri matches whole path segments, header text must be latin-1 without
CR/LF, ``wsgi.run_once`` is present and ``wsgi.input`` iterates.
"""
import logging
import re
import sys

from fastdispatch import apache, loader
from fastdispatch.config.directives import PHASE_OF_DIRECTIVE

APP_OPTION = "mod_python.wsgi.application"
BASE_OPTION = "mod_python.wsgi.base_uri"

# mod_python reads the code as strtol does: blanks, then digits
_STATUS_CODE = re.compile(r"\s*(\d+)")
_HANDLER_DIRECTIVES = frozenset(PHASE_OF_DIRECTIVE) | {"pythonhandlermodule"}


def handler(req):
    options = req.get_options()
    # an empty PythonOption value means "unset" in mod_python; a missing
    # application option is the KeyError mod_python's handler raises
    app_name = options.get(APP_OPTION) or None
    if app_name is None:
        raise KeyError(APP_OPTION)
    app = _application(req, app_name)
    if app is None:
        req.log_error("WSGI handler: mod_python.wsgi.application (%r) not found, declining."
                      % app_name, apache.APLOG_WARNING)
        return apache.DECLINED

    environ = build_environ(req, options)
    if environ is None:
        req.log_error("WSGI handler: req.uri (%r) does not start with "
                      "mod_python.wsgi.base_uri (%r), declining."
                      % (req.uri, options.get(BASE_OPTION)), apache.APLOG_WARNING)
        return apache.DECLINED

    response = _Response(req)
    result = app(environ, response.start_response)
    try:
        for data in result:
            response.write(data)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    response.finish()
    return apache.OK


def _application(req, app_name):
    """The callable ``module[::name]`` names, or None when the module has no
    such name (an import error propagates: a 500)."""
    module_name, sep, name = app_name.partition("::")
    dc = req._dir_config
    module = loader.import_module(module_name, autoreload=dc.autoreload if dc else True,
                                  log=bool(dc and dc.debug))
    # a plain global of the module, as mod_python looks it up (no dotted path)
    return vars(module).get(name if sep else "application")


# ------------------------------------------------------------------ environ

def build_environ(req, options=None):
    """mod_python's ``req.build_wsgi_env()``: the environ dict, or None when
    the URI is not under the base URI. Sets ``req.path_info``."""
    if options is None:
        options = req.get_options()
    location = _handler_location(req)
    base = _base_uri(options, location)
    uri = req.uri
    if base:
        # whole segments only: "/app" is no base of "/apple" (mod_python
        # compared characters and answered PATH_INFO "le")
        if not uri.startswith(base) or len(uri) > len(base) and uri[len(base)] != "/":
            return None
        uri = uri[len(base):]
    req.path_info = uri
    req.add_cgi_vars()

    environ = {}
    for key, value in req.subprocess_env.items():
        environ.setdefault(key, value)
    if location is not None or not environ.get("SCRIPT_FILENAME"):
        # mod_python maps no file for a <Location> that holds the handler
        # (Apache's environ had None here, which no CGI variable may be)
        environ.pop("SCRIPT_FILENAME", None)
    auth = req.headers_in.get("Authorization")
    if auth is not None:
        environ["HTTP_AUTHORIZATION"] = auth
    environ["wsgi.input"] = _Input(req)
    environ["wsgi.errors"] = _ERRORS
    environ["wsgi.version"] = (1, 0)
    environ["wsgi.multithread"] = bool(apache.mpm_query(apache.AP_MPMQ_IS_THREADED))
    environ["wsgi.multiprocess"] = bool(apache.mpm_query(apache.AP_MPMQ_IS_FORKED))
    environ["wsgi.run_once"] = False
    environ["wsgi.url_scheme"] = "https" if req.is_https() else "http"
    return environ


def _base_uri(options, location):
    """The SCRIPT_NAME part of the URI: the base_uri option (which must not
    end with "/"), else the path of the <Location> holding the handler with
    one trailing slash dropped, else ""."""
    base = options.get(BASE_OPTION) or None
    if base is not None:
        if base.endswith("/"):
            raise ValueError("PythonOption '%s' ('%s') must not end with '/'"
                             % (BASE_OPTION, base))
        return base
    if location is None:
        return ""
    path = location.pattern
    return path[:-1] if path.endswith("/") else path


def _handler_location(req):
    """The <Location> section mod_python counts as the handler's: the most
    specific section merged, when it is a <Location> with a Python*Handler
    line in it (one that only sets options, or a <Directory>, is not)."""
    dc = req._dir_config
    sections = dc.sections if dc is not None else ()
    if sections and sections[-1].kind == "location" and _has_handler(sections[-1]):
        return sections[-1]
    return None


def _has_handler(section):
    return any(d.key in _HANDLER_DIRECTIVES for d in section.directives)


class _Input:
    """``wsgi.input``: the request's body, read through the request object
    (mod_python passed ``req`` itself, so its other attributes still answer),
    and iterable by lines as PEP 3333 asks."""

    def __init__(self, req):
        self._req = req

    def read(self, size=-1):
        return self._req.read(-1 if size is None else size)

    def readline(self, size=-1):
        return self._req.readline(-1 if size is None else size)

    def readlines(self, hint=-1):
        return self._req.readlines(-1 if hint is None else hint)

    def __iter__(self):
        return iter(self.readline, b"")

    def __getattr__(self, name):
        return getattr(self._req, name)


class _ErrorStream:
    """``wsgi.errors``: text written here goes to the error log unchanged,
    as a mod_python application's stderr (Apache's error log) takes it."""

    encoding = "utf-8"
    errors = "backslashreplace"

    def write(self, text):
        if not text:
            return 0
        data = text.encode(self.encoding, self.errors) if isinstance(text, str) else bytes(text)
        written = False
        for h in _error_log.handlers:
            write_line = getattr(h, "write_line", None)
            if write_line is not None:
                write_line(data)
                written = True
        if not written:
            sys.stderr.write(data.decode(self.encoding, "replace"))
        return len(text)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        pass


_error_log = logging.getLogger("fastdispatch.error")
_ERRORS = _ErrorStream()


# ------------------------------------------------------------------ response

class _Response:
    """start_response and write for one request."""

    def __init__(self, req):
        self.req = req
        self.length = None      # the Content-Length the application gave
        self.sent = 0
        self.before = None      # headers_out before the application's

    def start_response(self, status, headers, exc_info=None):
        req = self.req
        if exc_info is not None:
            try:
                if req._head_sent:
                    # too late to change anything: the error goes on up
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
            # not sent yet: this call's status and headers replace the
            # earlier calls' (PEP 3333); other phases' headers stay
            if self.before is not None:
                req.headers_out.clear()
                for name, value in self.before:
                    req.headers_out.add(name, value)
            self.length = None
        code = _status_code(status)
        checked = _checked_headers(headers)
        if req._head_sent:
            # mod_python took a late call without complaint; the head is out,
            # so it changes nothing the client sees
            return self.write
        if self.before is None:
            self.before = req.headers_out.items()
        req.status = code
        req.status_line = status
        for name, value in checked:
            # all into the table as given, Content-Type too (so a second
            # start_response adds a second one, as in mod_python)
            req.headers_out.add(name, value)
            if name.lower() == "content-length" and value.strip().isdigit():
                self.length = int(value)
        return self.write

    def write(self, data):
        """The ``write`` callable start_response returns; also each item of
        the iterable. Sent at once (req.write flushes)."""
        length = self.length
        if length is not None and data:
            if isinstance(data, str):
                data = data.encode("utf-8")     # as req.write would
            # never more than the Content-Length given (PEP 3333): the rest
            # would be read as the next response on a kept-alive connection
            room = length - self.sent
            if len(data) > room:
                data = data[:max(room, 0)]
        self.req.write(data)
        self.sent += len(data)

    def finish(self):
        req = self.req
        if self.length is not None and self.sent < self.length and req._head_sent \
                and not req.header_only:
            # the body is shorter than announced: only closing the connection
            # tells the client so (PEP 3333)
            req._close = True


def _status_code(status):
    if not isinstance(status, str):
        raise TypeError("wsgi_start_response() argument 1 must be str, not %s"
                        % type(status).__name__)
    m = _STATUS_CODE.match(status)
    code = int(m.group(1)) if m else 0
    # (a CR or LF would end the status line early: refused too)
    if not 100 <= code <= 599 or "\r" in status or "\n" in status:
        raise ValueError("Invalid status line: %s" % status)
    return code


def _checked_headers(headers):
    """(name, value) pairs as str, with mod_python's TypeErrors; text that
    cannot go on the wire (CR, LF, beyond latin-1) is refused here, before
    the head is built (Apache's header filter refused a CR LF with its
    plain 500; mod_python crashed the process on a character beyond
    ASCII)."""
    if not isinstance(headers, list):
        raise TypeError("headers argument must be a list, not a '%s'" % type(headers).__name__)
    checked = []
    for item in headers:
        if not isinstance(item, tuple):
            raise TypeError("each header must be a tuple, not a '%s'" % type(item).__name__)
        if len(item) != 2:
            raise TypeError("function takes exactly 2 arguments (%d given)" % len(item))
        pair = []
        for what, text in zip(("names", "values"), item):
            if isinstance(text, (bytes, bytearray)):
                text = bytes(text).decode("latin-1")
            elif not isinstance(text, str):
                raise TypeError("header %s must be strings, not '%s'"
                                % (what, type(text).__name__))
            if "\r" in text or "\n" in text:
                raise ValueError("header %s must not contain CR or LF: %r" % (what, text))
            text.encode("latin-1")  # UnicodeEncodeError for text the wire cannot carry
            pair.append(text)
        checked.append(tuple(pair))
    return checked

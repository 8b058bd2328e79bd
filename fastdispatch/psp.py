"""PSP, Python Server Pages: ``mod_python.psp`` (pythonapi.rst, "psp --
Python Server Pages"; handlers.rst, "PSP Handler").

A page is text with Python in it::

    <% code %>   <%= expression %>   <%@ include file="x.psp" %>   <%-- comment --%>

It is translated into Python code that writes the text with ``req.write``
(unflushed), compiled once per file version, and run with
``req``, ``psp``, ``form`` and ``session`` among its globals.

The translation is mod_python's to the character: its C lexer decides
where ``req.write`` calls go and how deep they are indented, and pages rely
on that (a block's body is the text after a ``%>`` that follows a line
ending with ``:``). ``_Translator`` reproduces what the lexer generates,
odd cases included (observed with mod_python 3.5's ``_psp`` module; see
tests/test_psp.py). Where mod_python 3.5 fails under Python 3 (a PSP from a
string, an absolute include, a re-raised exception's type) this module does
what the documentation says.

Compiled pages are kept in memory in each worker process; the dbm cache
(``PythonOption mod_python.psp.cache_database_filename``) is not
implemented: the option is ignored.
"""
import collections
import dbm
import marshal
import os
import re
import stat
import sys
import tempfile
import threading
import types
from html import escape

from fastdispatch import apache, util
from fastdispatch import session as Session

# ---------------------------------------------------------------- translation

_TEXT, _PYCODE, _INDENT, _DIR, _COMMENT = range(5)

# what needs a rule in text; the rest is copied as is
_TEXT_SPECIAL = re.compile(r'<%|["\\\r\n]')
# a backslash before one of these is doubled, before anything else kept
# single (so "\\" in a page is one backslash in the output, "\x41" an "A")
_BACKSLASHED = 'nrt"'
_CODE_SPECIAL = re.compile(r"%>|[:\r\n]")
# the lexer's rule, to the letter: spaces only (no tabs), at least one
# after "include"; double quotes; "[^ ]+" is greedy (it may run on to a later
# quote, and the name is what lies between the first two)
_INCLUDE = re.compile(r'include +file *= *"[^ ]+"')
_MAX_INCLUDE_DEPTH = 64


class _Terminated(Exception):
    """The input ended inside code, a directive or a comment: mod_python's
    lexer stops there and returns what it generated so far."""


class _Translator:
    """One translation: the lexer's state, shared by a page and the files
    it includes (an included file continues the page's string literal)."""

    def __init__(self, dir):
        self.dir = dir
        self.out = []
        self.indent = ""           # the indentation a code block's "%>" writes
        self.after_colon = False   # the last code character was ":"
        self.seen_newline = False  # the current code block has a newline
        self.echo = False          # in <%= %>
        self.error = None          # an include that could not be read

    def translate(self, text):
        if text:
            self.out.append('req.write("""')
            try:
                self._scan(text, 0)
                self.out.append('""",0)\n')
            except _Terminated:
                pass
        if self.error is not None:
            raise self.error
        code = "".join(self.out)
        # the C lexer's output is a C string: it ends at the first NUL
        return code.split("\0", 1)[0]

    def _scan(self, text, depth):
        """Translate ``text`` from the text state; returns at its end (in
        text), raises _Terminated when it ends in any other state."""
        out = self.out
        state, i, n = _TEXT, 0, len(text)
        at_bol = False     # the last character consumed was "\n"
        while i < n:
            if state == _TEXT:
                m = _TEXT_SPECIAL.search(text, i)
                if m is None:
                    out.append(text[i:])
                    break
                out.append(text[i:m.start()])
                i = m.start()
                c = text[i]
                if c == "<":
                    if text.startswith("<%--", i):
                        state, i = _COMMENT, i + 4
                    elif text.startswith("<%=", i):
                        out.append('""",0); req.write(str(')
                        self.echo = True
                        state, i = _PYCODE, i + 3
                    elif text.startswith("<%@", i):
                        state, i = _DIR, i + 3
                    else:
                        out.append('""",0);')
                        self.indent = ""
                        self.seen_newline = False
                        state, i = _PYCODE, i + 2
                elif c == '"':
                    out.append('\\"')
                    i += 1
                elif c == "\\":
                    nxt = text[i + 1:i + 2]
                    if nxt and nxt in _BACKSLASHED:
                        out.append("\\\\" + nxt)
                        i += 2
                    else:
                        out.append("\\")
                        i += 1
                elif c == "\n":
                    out.append("\n")
                    i += 1
                elif text.startswith("\r\n", i):
                    out.append("\n")
                    i += 2
                else:  # a lone "\r" stays in the text
                    out.append("\r")
                    i += 1
            elif state == _PYCODE:
                m = _CODE_SPECIAL.search(text, i)
                if m is None:
                    out.append(text[i:])
                    raise _Terminated
                if m.start() > i:
                    out.append(text[i:m.start()])
                    self.after_colon = False
                i = m.start()
                c = text[i]
                if c == ":":
                    out.append(":")
                    self.after_colon = True
                    i += 1
                elif c == "%":
                    i += 2
                    state = _TEXT
                    if self.echo:
                        out.append('),0); req.write("""')
                        self.echo = False
                        continue
                    if not self.seen_newline:
                        out.append(";")  # "<% x %>": the write follows on its line
                    if self.after_colon:
                        # "%>" right after a line ending with ":": the text
                        # is the block's body, one tab deeper (kept for the
                        # rest of this block)
                        self.indent += "\t"
                        self.after_colon = False
                    out.append(self.indent + 'req.write("""')
                else:
                    # "\r\n", "\n" and a lone "\r" all end a line of code
                    out.append("\n")
                    self.seen_newline = True
                    i += 2 if text.startswith("\r\n", i) else 1
                    at_bol = text[i - 1] == "\n"
                    state = _INDENT
            elif state == _INDENT:
                # A code line's leading blanks become the indentation of the
                # "%>" that follows; a line of "%>" alone keeps the one
                # before; anything else (a blank line too) resets it. Only
                # after "\n": the lexer's "^" does not count a lone "\r".
                c = text[i]
                if at_bol and c in " \t":
                    j = i
                    while j < n and text[j] in " \t":
                        j += 1
                    self.indent = text[i:j]
                    out.append(self.indent)
                    i = j
                elif not text.startswith("%>", i):
                    self.indent = ""
                state = _PYCODE
            elif state == _DIR:
                m = _INCLUDE.match(text, i)
                if m is not None:
                    i = m.end()
                    self._include(m.group().split('"')[1], depth)
                elif text.startswith("%>", i):
                    state, i = _TEXT, i + 2
                else:
                    i += 1  # anything else in a directive is ignored
            else:  # _COMMENT
                end = text.find("--%>", i)
                if end < 0:
                    raise _Terminated
                state, i = _TEXT, end + 4
        if state != _TEXT:
            raise _Terminated

    def _include(self, name, depth):
        # relative to the directory parse() was given (the top page's, for
        # nested includes too), else to the current directory
        path = name if not self.dir or name.startswith("/") else self.dir + name
        if depth >= _MAX_INCLUDE_DEPTH:
            raise OSError("PSP include nested more than %d deep: %s"
                          % (_MAX_INCLUDE_DEPTH, path))
        try:
            text = _read(path)
        except OSError as exc:
            # the lexer notes the error and goes on; parse() raises it
            self.error = exc
            return
        self._scan(text, depth + 1)


def _read(path):
    with open(path, "rb") as f:
        return f.read().decode("utf-8")


def parse(filename, dir=None):
    """The Python code for the PSP file ``filename``; with ``dir``, the file
    is ``dir + filename`` (no separator is added) and an include's relative
    path is relative to ``dir``."""
    return _Translator(dir).translate(_read(dir + filename if dir else filename))


def parsestring(string):
    """The Python code for the PSP source in ``string`` (bytes are read as
    UTF-8: mod_python's parser under Python 3 took only bytes)."""
    if isinstance(string, (bytes, bytearray)):
        string = bytes(string).decode("utf-8")
    # the C parser reads a C string: it ends at the first NUL
    return _Translator(None).translate(string.split("\0", 1)[0])


# ---------------------------------------------------------------- code cache

class _Cache:
    """Compiled pages, the least recently used dropped beyond ``size`` (512,
    as mod_python's). Thread-safe."""

    def __init__(self, size=512):
        self.size = size
        self._items = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, key, version=None):
        with self._lock:
            hit = self._items.get(key)
            if hit is None or hit[0] != version:
                return None
            self._items.move_to_end(key)
            return hit[1]

    def store(self, key, code, version=None):
        with self._lock:
            self._items[key] = (version, code)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


_file_cache = _Cache()
_string_cache = _Cache()


def _file_code(filename):
    """The compiled code of the page at ``filename``, cached until the file's
    mtime or size changes (an edited include is seen when its page is
    edited, as in mod_python). 404 when it is not a file."""
    try:
        st = os.stat(filename)
    except (OSError, ValueError):
        st = None
    if st is None or not stat.S_ISREG(st.st_mode):
        raise apache.SERVER_RETURN(apache.HTTP_NOT_FOUND)
    version = (st.st_mtime_ns, st.st_size)
    code = _file_cache.get(filename, version)
    if code is None:
        directory, name = os.path.split(filename)
        code = compile(parse(name, directory + "/"), filename, "exec")
        _file_cache.store(filename, code, version)
    return code


def _string_code(string):
    code = _string_cache.get(string)
    if code is None:
        code = compile(parsestring(string), "__psp__", "exec")
        _string_cache.store(string, code)
    return code


# ---------------------------------------------------------------- pages

class PSPInterface:
    """The ``psp`` global of a page."""

    def __init__(self, req, filename, form):
        self.req = req
        self.filename = filename
        self.error_page = None
        self.form = form

    def set_error_page(self, page):
        """Run the PSP page ``page`` instead of failing when this page raises;
        it gets the ``exception`` global (sys.exc_info()). A path starting
        with "/" is under the document root, any other is beside this page
        (beside req.filename for a page made from a string)."""
        if page and page[0] == "/":
            self.error_page = PSP(self.req, self.req.document_root() + page)
        else:
            here = self.filename or self.req.filename
            self.error_page = PSP(self.req, os.path.dirname(here) + "/" + page)

    def apply_data(self, object, **kw):
        """Call ``object`` with the form fields it accepts as keyword
        arguments (and ``req``, and ``kw``); returns its result."""
        if not self.form:
            # kept on the request, where the error page finds it
            if not hasattr(self.req, "form"):
                self.req.form = util.FieldStorage(self.req, keep_blank_values=1)
            self.form = self.req.form
        kw.setdefault("req", self.req)
        return util.apply_fs_data(object, self.form, **kw)

    def redirect(self, location, permanent=0):
        """Redirect (302, or 301 when ``permanent``) and end the request;
        only before anything is sent (IOError after)."""
        util.redirect(self.req, location, permanent)


class PSP:
    """A compiled PSP page, from ``filename`` (relative to req.filename's
    directory; req.filename by default) or from ``string``."""

    code = None

    def __init__(self, req, filename=None, string=None, vars={}):
        if string and filename:
            raise ValueError("Must specify either filename or string")
        self.req, self.vars = req, vars
        if not filename and not string:
            filename = req.filename
        self.filename, self.string = filename, string
        if filename:
            if not os.path.isabs(filename):
                self.filename = os.path.join(os.path.dirname(req.filename), filename)
            self.code = _file_code(self.filename)
        else:
            self.code = _string_code(string)

    def run(self, vars={}, flush=0):
        """Run the page; ``vars`` (over those given to the constructor) are
        extra globals. A session is made only for a page that names
        ``session`` (its code's co_names: an attribute ``x.session``
        counts), a FieldStorage only for one that names ``form``."""
        code, req = self.code, self.req
        session = None
        if "session" in code.co_names and not hasattr(req, "session"):
            # kept on the request so that an error page shares it (a second
            # Session would wait for this one's lock)
            req.session = session = Session.Session(req)
        form = None
        if "form" in code.co_names:
            if not hasattr(req, "form"):
                req.form = util.FieldStorage(req, keep_blank_values=1)
            form = req.form
        psp = PSPInterface(req, self.filename, form)
        try:
            scope = _page_globals.copy()
            scope.update(req=req, form=form, psp=psp,
                         session=getattr(req, "session", None))
            scope.update(self.vars)
            scope.update(vars)
            scope["__file__"] = req.filename
            try:
                exec(code, scope)
                if flush:
                    req.flush()
                # a session's access time changed by loading it: always saved
                if hasattr(req, "session"):
                    req.session.save()
            except BaseException:
                # (any exception, sys.exit() too, goes to the error page, as
                # mod_python's bare except sends it)
                if psp.error_page is None:
                    raise
                psp.error_page.run({"exception": sys.exc_info()}, flush)
        finally:
            if session is not None:
                # a session made here is not left locked on the request
                session.unlock()
                del req.session

    def __str__(self):
        self.req.content_type = "text/html"
        self.run()
        return ""

    def display_code(self):
        """Write an HTML table: the generated Python code, line by line,
        beside the page's source (mod_python's layout)."""
        req, filename = self.req, self.filename
        with open(filename, encoding="utf-8") as f:
            source = [s.rstrip() for s in f.read().splitlines()]
        directory, name = os.path.split(filename)
        pycode = [s.rstrip() for s in parse(name, directory + "/").splitlines()]

        def cell(s):
            return escape(s).replace("\t", " " * 4).replace(" ", "&nbsp;")

        req.write("<table>\n<tr>")
        for s in ("", "&nbsp;PSP-produced Python Code:", "&nbsp;%s:" % filename):
            req.write("<td><tt>%s</tt></td>" % s)
        req.write("</tr>\n")
        for n, line in enumerate(pycode, 1):
            right = cell(source[n - 1]) if n <= len(source) else ""
            req.write("<tr>")
            for s in ("%d.&nbsp;" % n, "<font color=blue>%s</font>" % cell(line),
                      "&nbsp;<font color=green>%s</font>" % right):
                req.write("<td><tt>%s</tt></td>" % s)
            req.write("</tr>\n")
        req.write("</table>\n")


def handler(req):
    """``PythonHandler mod_python.psp``: run the page req.filename names;
    under PythonDebug On, ``page.psp_`` shows page.psp's generated code."""
    req.content_type = "text/html"
    dc = req._dir_config
    if dc is not None and dc.debug and req.filename and req.filename[-1] == "_":
        p = PSP(req, req.filename[:-1])
        p.display_code()
    else:
        p = PSP(req)
        p.run()
    return apache.OK


class _InstanceInfo:
    """What mod_python's importer hangs on a module it loaded
    (``__mp_info__``): its label, file and cache."""

    def __init__(self, label, file, cache=None):
        self.label, self.file, self.cache = label, file, cache


# What a page has without importing it. mod_python gives a page a copy of
# its psp module's globals; pages came to use these names unimported.
_page_globals = {
    "__name__": "mod_python.psp",
    "apache": apache, "util": util, "Session": Session,
    "os": os, "sys": sys, "marshal": marshal, "types": types, "dbm": dbm,
    "tempfile": tempfile, "escape": escape,
    "PSP": PSP, "PSPInterface": PSPInterface, "parse": parse, "parsestring": parsestring,
    "handler": handler, "PY2": False, "tempdir": tempfile.gettempdir(), "dbm_types": {},
    # mod_python's C parser module, by the names pages call
    "_psp": types.SimpleNamespace(parse=parse, parsestring=parsestring),
    "__mp_info__": _InstanceInfo("mod_python.psp", __file__), "__mp_path__": [],
}

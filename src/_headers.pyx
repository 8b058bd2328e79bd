# cython: language_level=3
"""mod_python's table and the response head (compiled).

Same API and behaviour as the pure twin ``fastdispatch/_pure/_headers.py``,
which is the specification. The response head is sized first, then written
with memcpy into one bytes object (latin-1 text is copied byte for byte);
anything unusual (a str subclass, text beyond latin-1, a CR or LF) takes the
twin's algorithm so that the result or the error is exactly the twin's.
"""
cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.list cimport PyList_GET_SIZE, PyList_GET_ITEM
from cpython.tuple cimport PyTuple_GET_ITEM
from libc.string cimport memchr, memcpy
from libc.time cimport time_t, time as c_time

import time as _time

__all__ = ["Table", "http_date", "reason_phrase", "build_response_head", "REASONS"]


cdef extern from "Python.h":
    bint PyUnicode_IS_ASCII(object o)
    bint PyUnicode_IS_COMPACT_ASCII(object o)
    int PyUnicode_KIND(object o)
    Py_ssize_t PyUnicode_GET_LENGTH(object o)
    const unsigned char *PyUnicode_1BYTE_DATA(object o)
    object PyUnicode_New(Py_ssize_t size, unsigned int maxchar)
    int PyUnicode_1BYTE_KIND


# ---------------------------------------------------------------------------
# Table

_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


cdef str _fold(object key):
    """A-Z folded to a-z, nothing else (APR's strcasecmp); see the twin."""
    cdef Py_ssize_t i, n
    cdef const unsigned char *src
    cdef unsigned char *dst
    cdef str out
    if type(key) is str and PyUnicode_IS_COMPACT_ASCII(key):
        n = PyUnicode_GET_LENGTH(key)
        src = PyUnicode_1BYTE_DATA(key)
        i = 0
        while i < n and not (0x41 <= src[i] <= 0x5A):
            i += 1
        if i == n:
            return key                       # already folded: no new object
        out = PyUnicode_New(n, 127)
        dst = <unsigned char *>PyUnicode_1BYTE_DATA(out)
        memcpy(dst, src, n)
        while i < n:
            if 0x41 <= dst[i] <= 0x5A:
                dst[i] += 32
            i += 1
        return out
    if key.isascii():
        return key.lower()
    return key.translate(_ASCII_LOWER)


cdef inline int _check_str(key, value) except -1:
    if not isinstance(key, str):
        raise TypeError("table keys must be str, not %s" % type(key).__name__)
    if not isinstance(value, str):
        raise TypeError("table values must be str, not %s" % type(value).__name__)
    return 0


cdef inline bint _same_key(str a, str b) except -1:
    """_fold(a) == _fold(b), without building folded strings for ASCII keys."""
    cdef Py_ssize_t i, n
    cdef const unsigned char *p
    cdef const unsigned char *q
    cdef unsigned char x, y
    if a is b:
        return True
    if PyUnicode_IS_COMPACT_ASCII(a) and PyUnicode_IS_COMPACT_ASCII(b):
        n = PyUnicode_GET_LENGTH(a)
        if n != PyUnicode_GET_LENGTH(b):
            return False
        p = PyUnicode_1BYTE_DATA(a)
        q = PyUnicode_1BYTE_DATA(b)
        # i < n: both strings hold n one-byte characters.
        for i in range(n):
            x = p[i]
            y = q[i]
            if x != y:
                if 0x41 <= x <= 0x5A:
                    x += 32
                if 0x41 <= y <= 0x5A:
                    y += 32
                if x != y:
                    return False
        return True
    return _fold(a) == _fold(b)


cdef object _MISSING = object()


cdef class Table:
    """A case-insensitive, ordered, multi-valued str -> str mapping.

    Entries are (key, value) tuples in a list; keys are compared with
    _same_key (ASCII case folding in C), so no folded copy is stored.

    Bounds checks are off in the methods that read ``e[0]``/``e[1]``: every
    entry is a 2-tuple of str (only this class writes ``_entries``, a C-level
    attribute, and it appends nothing else), so both indices are in range.
    """

    cdef list _entries

    def __init__(self, init=None):
        cdef object item
        self._entries = []
        if init is None:
            return
        if type(init) is list:
            # the common case, a list of pairs (parse_head's headers): the
            # pairs themselves are kept when they are exact (str, str) tuples
            for item in <list>init:
                if type(item) is tuple and len(<tuple>item) == 2:
                    _check_str((<tuple>item)[0], (<tuple>item)[1])
                    if type((<tuple>item)[0]) is str and type((<tuple>item)[1]) is str:
                        self._entries.append(item)
                    else:
                        self._entries.append(((<tuple>item)[0], (<tuple>item)[1]))
                else:
                    key, value = item
                    _check_str(key, value)
                    self._entries.append((key, value))
            return
        for key, value in _pairs(init):
            _check_str(key, value)
            self._entries.append((key, value))

    # -- reading --------------------------------------------------------
    @cython.boundscheck(False)
    @cython.wraparound(False)
    def __getitem__(self, key):
        cdef tuple e
        cdef object first = None
        cdef list values = None
        if not isinstance(key, str):
            raise KeyError(key)
        for e in self._entries:
            if _same_key(<str>e[0], <str>key):
                if first is None:
                    first = e[1]
                elif values is None:
                    values = [first, e[1]]
                else:
                    values.append(e[1])
        if first is None:
            raise KeyError(key)
        if values is not None:
            return values
        return first

    @cython.boundscheck(False)
    @cython.wraparound(False)
    def get(self, key, default=None):
        cdef tuple e
        if isinstance(key, str):
            for e in self._entries:
                if _same_key(<str>e[0], <str>key):
                    return e[1]
        return default

    @cython.boundscheck(False)
    @cython.wraparound(False)
    def getall(self, key):
        cdef tuple e
        if not isinstance(key, str):
            return []
        return [e[1] for e in self._entries if _same_key(<str>e[0], <str>key)]

    def has_key(self, key):
        """mod_python's table keeps Python 2's spelling of ``key in table``:
        1 or 0."""
        return 1 if key in self else 0

    @cython.boundscheck(False)
    @cython.wraparound(False)
    def __contains__(self, key):
        cdef tuple e
        if not isinstance(key, str):
            return False
        for e in self._entries:
            if _same_key(<str>e[0], <str>key):
                return True
        return False

    def __len__(self):
        return len(self._entries)

    def __iter__(self):
        return iter(self.keys())

    @cython.boundscheck(False)
    @cython.wraparound(False)
    def keys(self):
        cdef tuple e
        return [e[0] for e in self._entries]

    @cython.boundscheck(False)
    @cython.wraparound(False)
    def values(self):
        cdef tuple e
        return [e[1] for e in self._entries]

    def items(self):
        # the entries are immutable (key, value) tuples: a shallow copy will do
        return list(self._entries)

    @cython.boundscheck(False)
    @cython.wraparound(False)
    def __repr__(self):
        # newest first, as mod_python's mp_table prints an APR table
        cdef tuple e
        return "{%s}" % ", ".join(["%r: %r" % (e[0], e[1]) for e in reversed(self._entries)])

    # -- writing --------------------------------------------------------
    def add(self, key, value):
        """Append an entry, keeping any others with the same key."""
        if type(value) is bytes:
            value = (<bytes>value).decode("latin-1")   # (mod_python's table takes bytes)
        _check_str(key, value)
        self._entries.append((key, value))

    def __setitem__(self, key, value):
        if type(value) is bytes:
            value = (<bytes>value).decode("latin-1")
        _check_str(key, value)
        self._set(key, value)

    @cython.boundscheck(False)
    @cython.wraparound(False)
    cdef _set(self, key, value):
        """Replace the first entry's value, drop the others; or append."""
        cdef list entries = self._entries
        cdef Py_ssize_t i, j, n = len(entries)
        cdef tuple e
        for i in range(n):
            e = entries[i]
            if _same_key(<str>e[0], <str>key):
                entries[i] = (e[0], value)
                for j in range(i + 1, n):
                    if _same_key(<str>(<tuple>entries[j])[0], <str>key):
                        entries[i + 1:] = [x for x in entries[i + 1:]
                                           if not _same_key(<str>(<tuple>x)[0], <str>key)]
                        break
                return
        entries.append((key, value))

    @cython.boundscheck(False)
    @cython.wraparound(False)
    def __delitem__(self, key):
        cdef tuple e
        if not isinstance(key, str):
            raise TypeError("table keys must be str, not %s" % type(key).__name__)
        self._entries = [e for e in self._entries if not _same_key(<str>e[0], <str>key)]

    def setdefault(self, key, default=""):
        if key in self:
            return self[key]
        self[key] = default
        return default

    def pop(self, key, default=_MISSING):
        if key in self:
            value = self[key]
            del self[key]
            return value
        if default is _MISSING:
            raise KeyError(key)
        return default

    def update(self, other=(), **kwargs):
        cdef list seen = []
        cdef object s
        cdef bint dup
        for key, value in _pairs(other, kwargs):
            _check_str(key, value)
            dup = False
            for s in seen:
                if _same_key(<str>s, <str>key):
                    dup = True
                    break
            if dup:
                self._entries.append((key, value))
            else:
                seen.append(key)
                self._set(key, value)

    def clear(self):
        self._entries = []

    def copy(self):
        cdef Table new = Table.__new__(Table)
        new._entries = list(self._entries)
        return new


def _pairs(init, kwargs=None):
    """(key, value) pairs of a Table, a mapping or an iterable of pairs, one
    at a time (so the first bad pair is the one reported), then kwargs."""
    if isinstance(init, Table):
        yield from init.items()
    elif hasattr(init, "keys"):
        for key in init.keys():
            yield key, init[key]
    else:
        for item in init:
            key, value = item
            yield key, value
    if kwargs:
        yield from kwargs.items()


# ---------------------------------------------------------------------------
# Date

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

cdef object _date_sec = None       # the second last formatted (a Python int)
cdef str _date_str = ""
cdef long long _now_sec_str = -1   # _date_sec as a C long long (-1: not one)
cdef long long _now_sec = -1       # the second _now_bytes is for
cdef bytes _now_bytes = b""        # b"Date: <IMF-fixdate>\r\n"


def http_date(ts=None):
    """RFC 9110 IMF-fixdate for ``ts`` (default: now); cached per second."""
    global _date_sec, _date_str
    cdef object sec
    if ts is None:
        if c_time(NULL) == _now_sec_str:
            return _date_str
        sec = <long long>c_time(NULL)
    else:
        sec = int(ts)
    if _date_sec == sec:
        return _date_str
    t = _time.gmtime(sec)
    text = "%s, %02d %s %04d %02d:%02d:%02d GMT" % (
        _DAYS[t.tm_wday], t.tm_mday, _MONTHS[t.tm_mon - 1], t.tm_year,
        t.tm_hour, t.tm_min, t.tm_sec)
    _date_sec = sec
    _date_str = text
    _remember_now(sec)
    return text


cdef void _remember_now(object sec):
    global _now_sec_str
    if -2 ** 62 < sec < 2 ** 62:
        _now_sec_str = <long long>sec
    else:
        _now_sec_str = -1


cdef bytes _date_line():
    """b"Date: ...\\r\\n" for now, rebuilt once a second."""
    global _now_sec, _now_bytes
    cdef long long now = <long long>c_time(NULL)
    if now != _now_sec:
        _now_bytes = ("Date: %s\r\n" % http_date()).encode("latin-1")
        _now_sec = now
    return _now_bytes


# ---------------------------------------------------------------------------
# Status lines (Apache 2.4's), and the response head

REASONS = {
    100: "Continue",
    101: "Switching Protocols",
    102: "Processing",
    103: "Early Hints",
    200: "OK",
    201: "Created",
    202: "Accepted",
    203: "Non-Authoritative Information",
    204: "No Content",
    205: "Reset Content",
    206: "Partial Content",
    207: "Multi-Status",
    208: "Already Reported",
    226: "IM Used",
    300: "Multiple Choices",
    301: "Moved Permanently",
    302: "Found",
    303: "See Other",
    304: "Not Modified",
    305: "Use Proxy",
    307: "Temporary Redirect",
    308: "Permanent Redirect",
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    409: "Conflict",
    410: "Gone",
    411: "Length Required",
    412: "Precondition Failed",
    413: "Request Entity Too Large",
    414: "Request-URI Too Long",
    415: "Unsupported Media Type",
    416: "Requested Range Not Satisfiable",
    417: "Expectation Failed",
    421: "Misdirected Request",
    422: "Unprocessable Entity",
    423: "Locked",
    424: "Failed Dependency",
    425: "Too Early",
    426: "Upgrade Required",
    428: "Precondition Required",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    451: "Unavailable For Legal Reasons",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    505: "HTTP Version Not Supported",
    506: "Variant Also Negotiates",
    507: "Insufficient Storage",
    508: "Loop Detected",
    510: "Not Extended",
    511: "Network Authentication Required",
}


def reason_phrase(status):
    """Apache's reason phrase; ``"Status N"`` for a code it has none for."""
    phrase = REASONS.get(status)
    if phrase is None:
        return "Status %d" % status
    return phrase


# _status_lines[status] = b"HTTP/1.1 <status> <reason>\r\n", built on first use
cdef list _status_lines = [None] * 1000


@cython.boundscheck(False)
@cython.wraparound(False)
cdef bytes _status_line(int status):
    # the caller has checked 100 <= status <= 999: in range of the list
    cdef object line = _status_lines[status]
    if line is None:
        line = ("HTTP/1.1 %d %s\r\n" % (status, reason_phrase(status))).encode("latin-1")
        _status_lines[status] = line
    return <bytes>line


cdef inline bint _plain(object s) noexcept:
    """An exact str of latin-1 text (one byte per character in CPython)."""
    return type(s) is str and PyUnicode_KIND(s) == PyUnicode_1BYTE_KIND


cdef inline bint _has_crlf(const unsigned char *p, Py_ssize_t n) noexcept:
    cdef Py_ssize_t i
    for i in range(n):              # i < n: p holds n one-byte characters
        if p[i] <= 0x0D and (p[i] == 0x0D or p[i] == 0x0A):
            return True
    return False


cdef inline char *_put(char *w, const void *src, Py_ssize_t n) noexcept:
    memcpy(w, src, n)
    return w + n


cdef inline char *_put_str(char *w, str s) noexcept:
    # only for _plain strings: their 1-byte data is the latin-1 encoding
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(s)
    memcpy(w, PyUnicode_1BYTE_DATA(s), n)
    return w + n


def build_response_head(version_num, status, headers, *, long long content_length=-1,
                        chunked=False, keep_alive=False, server="",
                        keep_alive_header="", content_type=None, body=b""):
    """The response head, serialised once, followed by ``body`` (see the twin)."""
    cdef list items
    cdef Py_ssize_t i, n_items, total, ln
    cdef object name, value
    cdef tuple item
    cdef bytes status_line, date_line, out
    cdef char *w
    cdef char digits[24]
    cdef int nd = 0
    cdef unsigned long long v
    cdef bint ka = keep_alive
    cdef bint want_server, want_kah, want_ct, te
    cdef Py_ssize_t body_len = 0

    if not 100 <= status <= 999:
        raise ValueError("status %r out of range" % (status,))
    status_line = _status_line(status)
    date_line = _date_line()
    want_server = bool(server)
    want_kah = ka and bool(keep_alive_header)
    want_ct = bool(content_type)
    te = bool(chunked) and content_length < 0

    # The (name, value) pairs. A list of 2-tuples (Table.items()) is used as
    # it is; anything else is unpacked as the twin's loop does (same errors).
    if type(headers) is list:
        items = list(<list>headers)   # our own list: nothing can shrink it under us
    elif type(headers) is tuple:
        items = list(<tuple>headers)
    else:
        items = [(name, value) for name, value in headers]
    n_items = len(items)
    for i in range(n_items):
        name = <object>PyList_GET_ITEM(items, i)
        if type(name) is not tuple or len(<tuple>name) != 2:
            items = [(name, value) for name, value in items]
            n_items = len(items)
            break

    # Size everything; anything not plain latin-1 str or with CR/LF goes slow.
    total = len(status_line) + len(date_line) + 2
    if want_server:
        if not _plain(server) or _has_crlf(PyUnicode_1BYTE_DATA(server),
                                           PyUnicode_GET_LENGTH(server)):
            return _slow(version_num, status, items, content_length, chunked, keep_alive,
                         server, keep_alive_header, content_type, body)
        total += 10 + PyUnicode_GET_LENGTH(server)
    for i in range(n_items):
        item = <tuple>PyList_GET_ITEM(items, i)
        name = <object>PyTuple_GET_ITEM(item, 0)
        value = <object>PyTuple_GET_ITEM(item, 1)
        if not (_plain(name) and _plain(value)):
            return _slow(version_num, status, items, content_length, chunked, keep_alive,
                         server, keep_alive_header, content_type, body)
        if (_has_crlf(PyUnicode_1BYTE_DATA(name), PyUnicode_GET_LENGTH(name))
                or _has_crlf(PyUnicode_1BYTE_DATA(value), PyUnicode_GET_LENGTH(value))):
            return _slow(version_num, status, items, content_length, chunked, keep_alive,
                         server, keep_alive_header, content_type, body)
        total += PyUnicode_GET_LENGTH(name) + PyUnicode_GET_LENGTH(value) + 4
    if content_length >= 0:
        v = <unsigned long long>content_length
        while True:
            digits[nd] = <char>(0x30 + v % 10)
            nd += 1
            v //= 10
            if v == 0:
                break
        total += 18 + nd                                  # "Content-Length: " CRLF
    if not ka:
        total += 19                                       # "Connection: close\r\n"
    elif want_kah:
        if not _plain(keep_alive_header) or _has_crlf(
                PyUnicode_1BYTE_DATA(keep_alive_header),
                PyUnicode_GET_LENGTH(keep_alive_header)):
            return _slow(version_num, status, items, content_length, chunked, keep_alive,
                         server, keep_alive_header, content_type, body)
        total += 38 + PyUnicode_GET_LENGTH(keep_alive_header)  # Keep-Alive + Connection
    if te:
        total += 28                                       # "Transfer-Encoding: chunked\r\n"
    if want_ct:
        if not _plain(content_type) or _has_crlf(PyUnicode_1BYTE_DATA(content_type),
                                                 PyUnicode_GET_LENGTH(content_type)):
            return _slow(version_num, status, items, content_length, chunked, keep_alive,
                         server, keep_alive_header, content_type, body)
        total += 16 + PyUnicode_GET_LENGTH(content_type)
    if type(body) is bytes:
        body_len = PyBytes_GET_SIZE(body)

    # One allocation, one pass of memcpy.
    out = PyBytes_FromStringAndSize(NULL, total + body_len)
    w = PyBytes_AS_STRING(out)
    w = _put(w, PyBytes_AS_STRING(status_line), PyBytes_GET_SIZE(status_line))
    w = _put(w, PyBytes_AS_STRING(date_line), PyBytes_GET_SIZE(date_line))
    if want_server:
        w = _put(w, b"Server: ", 8)
        w = _put_str(w, server)
        w = _put(w, b"\r\n", 2)
    for i in range(n_items):
        item = <tuple>PyList_GET_ITEM(items, i)
        w = _put_str(w, <str>PyTuple_GET_ITEM(item, 0))
        w = _put(w, b": ", 2)
        w = _put_str(w, <str>PyTuple_GET_ITEM(item, 1))
        w = _put(w, b"\r\n", 2)
    if content_length >= 0:
        w = _put(w, b"Content-Length: ", 16)
        while nd > 0:
            nd -= 1
            w[0] = digits[nd]
            w += 1
        w = _put(w, b"\r\n", 2)
    if not ka:
        w = _put(w, b"Connection: close\r\n", 19)
    elif want_kah:
        w = _put(w, b"Keep-Alive: ", 12)
        w = _put_str(w, keep_alive_header)
        w = _put(w, b"\r\nConnection: Keep-Alive\r\n", 26)
    if te:
        w = _put(w, b"Transfer-Encoding: chunked\r\n", 28)
    if want_ct:
        w = _put(w, b"Content-Type: ", 14)
        w = _put_str(w, content_type)
        w = _put(w, b"\r\n", 2)
    w = _put(w, b"\r\n", 2)
    if body_len:
        _put(w, PyBytes_AS_STRING(body), body_len)
    elif type(body) is not bytes and body:
        return out + body
    return out


def _slow(version_num, status, items, content_length, chunked, keep_alive, server,
          keep_alive_header, content_type, body):
    """The twin's algorithm, for input the fast path does not take: the same
    result, or the same error (TypeError, ValueError, UnicodeEncodeError)."""
    parts = ["HTTP/1.1 %d %s\r\nDate: %s\r\n" % (status, reason_phrase(status), http_date())]
    lines = 2
    if server:
        parts += ("Server: ", server, "\r\n")
        lines += 1
    for name, value in items:
        parts += (name, ": ", value, "\r\n")
        lines += 1
    if content_length >= 0:
        parts.append("Content-Length: %d\r\n" % content_length)
        lines += 1
    if not keep_alive:
        parts.append("Connection: close\r\n")
        lines += 1
    elif keep_alive_header:
        parts += ("Keep-Alive: ", keep_alive_header, "\r\nConnection: Keep-Alive\r\n")
        lines += 2
    if chunked and content_length < 0:
        parts.append("Transfer-Encoding: chunked\r\n")
        lines += 1
    if content_type:
        parts += ("Content-Type: ", content_type, "\r\n")
        lines += 1
    parts.append("\r\n")
    lines += 1
    text = "".join(parts)
    if text.count("\n") != lines or text.count("\r") != lines:
        raise ValueError("CR or LF in a response header")
    head = text.encode("latin-1")
    if body:
        return head + body
    return head

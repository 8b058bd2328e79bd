"""mod_python's table and the response head (pure-Python twin).

This module is the readable specification of ``fastdispatch._headers``
(compiled from ``src/_headers.pyx``); both expose the same names and behave the
same. See docs/internals.md, section ``_headers``.

``Table`` is mod_python's ``apache.table`` (an APR table): keys compare
case-insensitively (ASCII only, as APR's ``strcasecmp``), entries keep their
insertion order, a key may occur several times (``add``), and a subscript
returns a list when it does. As in mod_python, ``t[k] = v`` keeps the first
entry's place and spelling and drops the others, and ``del t[k]`` of a missing
key is not an error.

``build_response_head`` writes the whole response head (and the first body
bytes) into one buffer with one join, Apache's way: status line (always
``HTTP/1.1``), ``Date``, ``Server``, the handler's headers, framing, connection.
"""
import time

__all__ = ["Table", "http_date", "reason_phrase", "build_response_head", "REASONS"]

# ---------------------------------------------------------------------------
# Table

# APR compares keys with strcasecmp: only A-Z fold. str.lower() would also
# fold non-ASCII letters (and the Kelvin sign into "k"), so it is used only on
# ASCII keys, where the two agree.
_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


def _fold(key):
    if key.isascii():
        return key.lower()
    return key.translate(_ASCII_LOWER)


def _check_str(key, value):
    if not isinstance(key, str):
        raise TypeError("table keys must be str, not %s" % type(key).__name__)
    if not isinstance(value, str):
        raise TypeError("table values must be str, not %s" % type(value).__name__)


_MISSING = object()


class Table:
    """A case-insensitive, ordered, multi-valued str -> str mapping.

    ``Table(mapping_or_pairs)`` starts with the given entries: a mapping
    (anything with ``keys()``; another Table keeps its duplicates) or an
    iterable of (key, value) pairs, each added in order.
    """

    __slots__ = ("_entries",)    # list of (folded key, key, value)

    def __init__(self, init=None):
        self._entries = []
        if init is not None:
            for key, value in _pairs(init):
                _check_str(key, value)      # (str only here, as the compiled twin)
                self._entries.append((_fold(key), key, value))

    # -- reading --------------------------------------------------------
    def __getitem__(self, key):
        if not isinstance(key, str):
            raise KeyError(key)
        fkey = _fold(key)
        values = [v for f, _, v in self._entries if f == fkey]
        if not values:
            raise KeyError(key)
        if len(values) == 1:
            return values[0]
        return values

    def get(self, key, default=None):
        """The first value for ``key``, or ``default``."""
        if isinstance(key, str):
            fkey = _fold(key)
            for f, _, v in self._entries:
                if f == fkey:
                    return v
        return default

    def getall(self, key):
        """Every value for ``key``, in order (an empty list when there is none)."""
        if not isinstance(key, str):
            return []
        fkey = _fold(key)
        return [v for f, _, v in self._entries if f == fkey]

    def has_key(self, key):
        """mod_python's table keeps Python 2's spelling of ``key in table``:
        1 or 0."""
        return 1 if key in self else 0

    def __contains__(self, key):
        if not isinstance(key, str):
            return False
        fkey = _fold(key)
        for f, _, _ in self._entries:
            if f == fkey:
                return True
        return False

    def __len__(self):
        return len(self._entries)

    def __iter__(self):
        return iter(self.keys())

    def keys(self):
        return [k for _, k, _ in self._entries]

    def values(self):
        return [v for _, _, v in self._entries]

    def items(self):
        return [(k, v) for _, k, v in self._entries]

    def __repr__(self):
        # newest first, as mod_python's mp_table prints an APR table
        return "{%s}" % ", ".join("%r: %r" % (k, v) for _, k, v in reversed(self._entries))

    # -- writing --------------------------------------------------------
    def add(self, key, value):
        """Append an entry, keeping any others with the same key. A bytes
        value is taken as latin-1 text, as mod_python's table takes it."""
        if type(value) is bytes:
            value = value.decode("latin-1")
        _check_str(key, value)
        self._entries.append((_fold(key), key, value))

    def __setitem__(self, key, value):
        """Replace every value of ``key`` with ``value``.

        The first existing entry keeps its place and its key spelling (APR's
        apr_table_set); a new key goes to the end. A bytes value is taken
        as latin-1 text.
        """
        if type(value) is bytes:
            value = value.decode("latin-1")
        _check_str(key, value)
        fkey = _fold(key)
        entries = self._entries
        for i, (f, k, _) in enumerate(entries):
            if f == fkey:
                entries[i] = (f, k, value)
                entries[i + 1:] = [e for e in entries[i + 1:] if e[0] != fkey]
                return
        entries.append((fkey, key, value))

    def __delitem__(self, key):
        """Remove every entry of ``key``; a missing key is not an error (APR)."""
        if not isinstance(key, str):
            raise TypeError("table keys must be str, not %s" % type(key).__name__)
        fkey = _fold(key)
        self._entries = [e for e in self._entries if e[0] != fkey]

    def setdefault(self, key, default=""):
        """``self[key]`` if present, else set it to ``default`` and return that."""
        if key in self:
            return self[key]
        self[key] = default
        return default

    def pop(self, key, default=_MISSING):
        """Remove ``key`` and return what ``self[key]`` was, or ``default``."""
        if key in self:
            value = self[key]
            del self[key]
            return value
        if default is _MISSING:
            raise KeyError(key)
        return default

    def update(self, other=(), **kwargs):
        """Set each key of ``other`` (and ``kwargs``) as ``t[k] = v`` does.

        A key given several times (e.g. a Table with two Set-Cookie entries)
        keeps all its values: the first replaces, the others are added.
        """
        seen = set()
        for key, value in _pairs(other, kwargs):
            _check_str(key, value)
            fkey = _fold(key)
            if fkey in seen:
                self.add(key, value)
            else:
                seen.add(fkey)
                self[key] = value

    def clear(self):
        self._entries = []

    def copy(self):
        new = Table()
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
_date_cache = [None, ""]         # [second, its IMF-fixdate]


def http_date(ts=None):
    """RFC 9110 IMF-fixdate for ``ts`` (default: now), e.g.
    ``Sun, 06 Nov 1994 08:49:37 GMT``; English names whatever the locale.

    ``ts`` is truncated to the second; the last second formatted is cached.
    """
    sec = int(time.time() if ts is None else ts)
    if _date_cache[0] == sec:
        return _date_cache[1]
    t = time.gmtime(sec)
    text = "%s, %02d %s %04d %02d:%02d:%02d GMT" % (
        _DAYS[t.tm_wday], t.tm_mday, _MONTHS[t.tm_mon - 1], t.tm_year,
        t.tm_hour, t.tm_min, t.tm_sec)
    _date_cache[0] = sec
    _date_cache[1] = text
    return text


# ---------------------------------------------------------------------------
# Status lines

# Apache 2.4's status_lines (modules/http/http_protocol.c).
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
    """Apache's reason phrase; ``"Status N"`` for a code it has none for
    (what Apache 2.4's ap_get_status_line_ex sends)."""
    phrase = REASONS.get(status)
    if phrase is None:
        return "Status %d" % status
    return phrase


# ---------------------------------------------------------------------------
# The response head

def build_response_head(version_num, status, headers, *, content_length=-1,
                        chunked=False, keep_alive=False, server="",
                        keep_alive_header="", content_type=None, body=b""):
    """The response head, serialised once, followed by ``body``.

    Lines, in order, as Apache 2.4 writes them: ``HTTP/1.1 <status> <reason>``
    (whatever ``version_num`` the request had), ``Date``, ``Server`` (when not
    empty), each (name, value) of ``headers``, ``Content-Length`` (when >= 0);
    then, when ``keep_alive``: ``Keep-Alive: <keep_alive_header>`` and
    ``Connection: Keep-Alive`` if ``keep_alive_header`` is given (the client
    asked for keep-alive by name), nothing otherwise (HTTP/1.1 persistence
    is implicit); when not ``keep_alive``: ``Connection: close``; then
    ``Transfer-Encoding: chunked`` (when ``chunked`` and no length); then
    ``Content-Type`` when ``content_type`` is given (Apache's header filter
    adds it last); then the empty line.

    Names and values (and ``server``, ``keep_alive_header``,
    ``content_type``) must be str (TypeError); a CR or LF in any of them is
    refused with ValueError (response splitting), and so is text outside
    latin-1 (UnicodeEncodeError, checked last) or a status outside 100-999.
    """
    if not 100 <= status <= 999:
        raise ValueError("status %r out of range" % (status,))
    parts = ["HTTP/1.1 %d %s\r\nDate: %s\r\n" % (status, reason_phrase(status), http_date())]
    lines = 2
    if server:
        parts += ("Server: ", server, "\r\n")
        lines += 1
    for name, value in headers:
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
    # Every CR and LF must be one of the line ends we wrote.
    if text.count("\n") != lines or text.count("\r") != lines:
        raise ValueError("CR or LF in a response header: %r" % (_offender(
            server, headers, keep_alive_header, content_type),))
    head = text.encode("latin-1")
    if body:
        return head + body
    return head


def _offender(server, headers, keep_alive_header, content_type):
    for name, value in [("Server", server), ("Keep-Alive", keep_alive_header),
                        ("Content-Type", content_type or "")] + list(headers):
        if "\r" in name or "\n" in name or "\r" in value or "\n" in value:
            return (name, value)
    return None

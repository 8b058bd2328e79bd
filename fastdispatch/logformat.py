"""Apache's access-log formats (mod_log_config's ``LogFormat``), parsed once
into literal text and fields, and rendered once per request.

Every ``%`` directive of Apache 2.4 is recognised; those whose value this
layer does not have (environment variables, notes, response headers, the
handler, the file name, the log id) render as ``-``, as Apache renders a
field it has no value for. A directive Apache does not know is an error,
with Apache's words.
"""
import os
import re
import threading
import time
from urllib.parse import unquote_to_bytes

# The nicknames Debian's apache2.conf defines, which a site's CustomLog
# names without defining them: the reference system is Debian's Apache.
DEBIAN_FORMATS = {
    "vhost_combined": '%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"',
    "combined": '%h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"',
    "common": '%h %l %u %t "%r" %>s %O',
    "referer": "%{Referer}i -> %U",
    "agent": "%{User-agent}i",
}
# mod_log_config's own default: TransferLog with no LogFormat before it
CLF = '%h %l %u %t "%r" %>s %b'
DEFAULT_FORMAT = DEBIAN_FORMATS["combined"]


def split_server_name(name, default_port=80):
    """ServerName as (host, port): its own port, else ``default_port``."""
    host, sep, port = name.rpartition(":")
    if sep and port.isdigit() and not host.endswith(":"):
        return host, int(port)
    return name, default_port


def resolve_format(name, formats=None):
    """The format a CustomLog's argument names: a LogFormat nickname (the
    site's own first, then Debian's), or else the argument is the format."""
    if formats and name in formats:
        return formats[name]
    return DEBIAN_FORMATS.get(name, name)


class LogEntry:
    """What one access-log line is made from."""
    __slots__ = ("remote_ip", "remote_port", "local_ip", "local_port", "head", "status",
                 "body_bytes", "sent_bytes", "received_bytes", "user", "started",
                 "keepalives", "keep_alive", "server_name", "server_port")

    def __init__(self, remote_ip, head, status, body_bytes=0, user=None, *,
                 remote_port=0, local_ip="-", local_port=0, sent_bytes=0,
                 received_bytes=0, started=None, keepalives=0, keep_alive=False,
                 server_name="", server_port=80):
        self.remote_ip = remote_ip
        self.remote_port = remote_port
        self.local_ip = local_ip
        self.local_port = local_port
        self.head = head                # the parsed head, or a RawHead
        self.status = status
        self.body_bytes = body_bytes
        self.sent_bytes = sent_bytes
        self.received_bytes = received_bytes
        self.user = user
        self.started = started          # time.monotonic() when the request began
        self.keepalives = keepalives
        self.keep_alive = keep_alive
        self.server_name = server_name  # ServerName without its port
        self.server_port = server_port  # ServerName's port, else the scheme's


class RawHead:
    """The head of a request refused before it was parsed: its first line
    (Apache logs the part it read), split as far as it goes, no headers."""
    __slots__ = ("request_line", "method", "target", "version", "headers")

    def __init__(self, request_line):
        self.request_line = request_line
        parts = request_line.split(" ")
        self.method = parts[0] if parts and parts[0] else "-"
        self.target = parts[1] if len(parts) > 1 else "/"   # (Apache's r->uri then)
        self.version = parts[2] if len(parts) > 2 else "HTTP/1.0"
        self.headers = ()


# ------------------------------------------------------------------ parsing

def compile_format(fmt):
    """``fmt`` as a list of parts: literal strings, and (field, argument,
    statuses, negated) tuples. ValueError for what Apache refuses."""
    parts, text = [], []
    i, n = 0, len(fmt)
    while i < n:
        c = fmt[i]
        if c == "\\" and i + 1 < n:
            # Apache's escapes in a format: \n and \t, any other char as itself
            text.append({"n": "\n", "t": "\t"}.get(fmt[i + 1], fmt[i + 1]))
            i += 2
            continue
        if c != "%":
            text.append(c)
            i += 1
            continue
        i += 1
        if i < n and fmt[i] == "%":
            text.append("%")
            i += 1
            continue
        arg, statuses, negated = None, None, False
        while True:
            if i >= n:
                raise ValueError("Unrecognized LogFormat directive %")
            c = fmt[i]
            if c == "!":
                negated = True
                i += 1
            elif c in "<>":
                i += 1          # original or final request: one request here
            elif c == "{":
                end = fmt.find("}", i)
                if end < 0:
                    raise ValueError("Unrecognized LogFormat directive %{")
                arg = fmt[i + 1:end]
                i = end + 1
            elif c.isdigit() or c == ",":
                j = i
                while j < n and (fmt[j].isdigit() or fmt[j] == ","):
                    j += 1
                statuses = frozenset(int(s) for s in fmt[i:j].split(",") if s)
                i = j
            else:
                break
        if c == "^":
            c = fmt[i:i + 3]        # %^ti, %^to: trailers, two letters more
            if c not in ("^ti", "^to"):
                raise ValueError("Unrecognized LogFormat directive %" + c)
            i += 2
        field = _FIELDS.get(c)
        if field is None:
            raise ValueError("Unrecognized LogFormat directive %" + c)
        i += 1
        if text:
            parts.append("".join(text))
            text = []
        parts.append((field, arg, statuses, negated))
    if text:
        parts.append("".join(text))
    return parts


def render(parts, entry, stamp):
    """One line (without its newline) for ``entry``; ``stamp`` is the
    request time as %t writes it."""
    out = []
    for part in parts:
        if part.__class__ is str:
            out.append(part)
            continue
        field, arg, statuses, negated = part
        if statuses is not None and (entry.status in statuses) == negated:
            out.append("-")
            continue
        value = field(entry, arg, stamp)
        out.append("-" if value is None else value)
    return "".join(out)


# ------------------------------------------------------------------ the fields

_NEEDS_ESCAPE = re.compile(r'[^\x20-\x7e]|["\\]')
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\n": "\\n", "\r": "\\r",
            "\t": "\\t", "\v": "\\v"}


def _escape_char(m):
    c = m.group()
    esc = _ESCAPES.get(c)
    if esc is not None:
        return esc
    return "".join("\\x%02x" % b for b in c.encode("latin-1", "backslashreplace"))


def log_escape(value):
    """``value`` as Apache writes a log item (``ap_escape_logitem``)."""
    # the common case, without the regex: printable ASCII, no quote/backslash
    if (value.isascii() and value.isprintable() and '"' not in value
            and "\\" not in value):
        return value
    return _NEEDS_ESCAPE.sub(_escape_char, value)



def _header(entry, name):
    if name is None:
        return None
    lname = name.lower()
    for key, value in entry.head.headers:
        if key.lower() == lname:
            return value
    return None


def _request_header(entry, arg, stamp):
    value = _header(entry, arg)
    return None if value is None else log_escape(value)


def _cookie(entry, arg, stamp):
    cookies = _header(entry, "Cookie")
    if cookies is None or not arg:
        return None
    for pair in cookies.split(";"):
        name, sep, value = pair.strip().partition("=")
        if sep and name == arg:
            return log_escape(value)
    return None


def _elapsed(entry):
    if entry.started is None:
        return 0.0
    return max(0.0, time.monotonic() - entry.started)


def _micro(entry, arg, stamp):
    return str(int(_elapsed(entry) * 1e6))


def _taken(entry, arg, stamp):
    secs = _elapsed(entry)
    if arg == "ms":
        return str(int(secs * 1e3))
    if arg == "us":
        return str(int(secs * 1e6))
    return str(int(secs))


def _time(entry, arg, stamp):
    if not arg:
        return "[%s]" % stamp
    for prefix in ("begin:", "end:"):
        if arg.startswith(prefix):
            arg = arg[len(prefix):]
    now = time.time()
    if arg == "sec":
        return str(int(now))
    if arg == "msec":
        return str(int(now * 1e3))
    if arg == "usec":
        return str(int(now * 1e6))
    if arg == "msec_frac":
        return "%03d" % (int(now * 1e3) % 1000)
    if arg == "usec_frac":
        return "%06d" % (int(now * 1e6) % 1000000)
    return time.strftime(arg, time.localtime(now))


def _user(entry, arg, stamp):
    user = entry.user
    if user is None:
        return None
    return log_escape(user) or '""'


def _path(entry, arg, stamp):
    path = entry.head.target.split("?", 1)[0]
    if "%" in path:
        path = unquote_to_bytes(path).decode("latin-1")
    return log_escape(path)


def _query(entry, arg, stamp):
    _, sep, query = entry.head.target.partition("?")
    return "?" + log_escape(query) if sep and query else ""


def _port(entry, arg, stamp):
    if arg == "remote":
        return str(entry.remote_port)
    if arg == "local":
        return str(entry.local_port)
    return str(entry.server_port)       # canonical: ServerName's


def _host(entry, arg, stamp):
    """The server's name as the request gave it (UseCanonicalName Off):
    req.hostname's (absolute-form target, else Host), else ServerName."""
    from fastdispatch.request import _hostname      # (the request layer's rule)
    host = _hostname(entry.head.target, _header(entry, "Host"))
    return log_escape(host) if host else entry.server_name or None


def _pid(entry, arg, stamp):
    if arg == "tid":
        return str(threading.get_ident())
    if arg == "hextid":
        return "%x" % threading.get_ident()
    return str(os.getpid())


def _nothing(entry, arg, stamp):
    return None


_FIELDS = {
    "a": lambda e, a, s: e.remote_ip,
    "A": lambda e, a, s: e.local_ip,
    "B": lambda e, a, s: str(e.body_bytes),
    "b": lambda e, a, s: str(e.body_bytes) if e.body_bytes else None,
    "C": _cookie,
    "D": _micro,
    "e": _nothing,          # the request's environment variables
    "f": _nothing,          # the file name
    "h": lambda e, a, s: e.remote_ip,       # (HostnameLookups Off)
    "H": lambda e, a, s: log_escape(e.head.version),
    "i": _request_header,
    "I": lambda e, a, s: str(e.received_bytes),
    "k": lambda e, a, s: str(e.keepalives),
    "l": _nothing,          # identd
    "L": _nothing,          # the log id
    "m": lambda e, a, s: log_escape(e.head.method),
    "n": _nothing,          # notes
    "o": _nothing,          # response headers
    "O": lambda e, a, s: str(e.sent_bytes),
    "p": _port,
    "P": _pid,
    "q": _query,
    "r": lambda e, a, s: log_escape(e.head.request_line),
    "R": _nothing,          # the handler
    "s": lambda e, a, s: str(e.status),
    "S": lambda e, a, s: str(e.received_bytes + e.sent_bytes),
    "t": _time,
    "T": _taken,
    "u": _user,
    "U": _path,
    "v": lambda e, a, s: e.server_name or None,
    "V": _host,
    "X": lambda e, a, s: "+" if e.keep_alive else "-",
    "^ti": _nothing,        # request trailers
    "^to": _nothing,        # response trailers
}

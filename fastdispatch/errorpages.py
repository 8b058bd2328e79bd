"""Apache 2.4's canned error pages (ap_send_error_response) and mod_python's
PythonDebug traceback page."""
import ast
import linecache
import os
import traceback

from fastdispatch import _speedups, apache


def escape(text, quote=True):
    """ap_escape_html: &, <, > and the double quote; single quotes stay."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace('"', "&quot;") if quote else text


reason_phrase = _speedups.headers.reason_phrase

# the statuses Apache 2.4 has a status line for; it sends any other as 500
KNOWN_STATUSES = frozenset(s for s in range(100, 1000)
                           if not reason_phrase(s).startswith("Status "))

# Statuses after which Apache drops the connection (ap_status_drops_connection).
DROPS_CONNECTION = frozenset((400, 408, 411, 413, 414, 500, 501, 503))

# The reasons Apache prints in its 400 page; other details stay in the log.
APACHE_400_NOTES = frozenset((
    "Size of a request header field exceeds server limit.",
    "The number of request header fields exceeds this server's limit.",
))

_TEMPLATE = ('<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN" '
             '"http://www.w3.org/TR/html4/strict.dtd">\n'
             "<html><head>\n<title>%(status)d %(reason)s</title>\n</head><body>\n"
             "<h1>%(reason)s</h1>\n%(message)s%(address)s</body></html>\n")


# Apache's fixed texts (get_canned_error_string), as the real server sends
# them (the 502 text has CRLF line ends there too)
_FIXED = {
    401: ("<p>This server could not verify that you\n"
          "are authorized to access the document\n"
          "requested.  Either you supplied the wrong\n"
          "credentials (e.g., bad password), or your\n"
          "browser doesn't understand how to supply\n"
          "the credentials required.</p>\n"),
    403: "<p>You don't have permission to access this resource.</p>\n",
    404: "<p>The requested URL was not found on this server.</p>\n",
    406: ("<p>An appropriate representation of the requested resource could not be "
          "found on this server.</p>\n"),
    408: "<p>Server timeout waiting for the HTTP request from the client.</p>\n",
    410: ("<p>The requested resource is no longer available on this server and there "
          "is no forwarding address.\nPlease remove all references to this resource.</p>\n"),
    412: "<p>The precondition on the request for this URL evaluated to false.</p>\n",
    414: ("<p>The requested URL's length exceeds the capacity\n"
          "limit for this server.<br />\n</p>\n"),
    415: ("<p>The supplied request data is not in a format\n"
          "acceptable for processing by this resource.</p>\n"),
    416: ("<p>None of the range-specifier values in the Range\n"
          "request-header field overlap the current extent\n"
          "of the selected resource.</p>\n"),
    422: ("<p>The server understands the media type of the\n"
          "request entity, but was unable to process the\n"
          "contained instructions.</p>\n"),
    423: ("<p>The requested resource is currently locked.\n"
          "The lock must be released or proper identification\n"
          "given before the method can be applied.</p>\n"),
    426: ("<p>The requested resource can only be retrieved\n"
          "using SSL.  The server is willing to upgrade the current\n"
          "connection to SSL, but your client doesn't support it.\n"
          "Either upgrade your client, or try requesting the page\n"
          "using https://\n"),
    429: "<p>The user has sent too many requests\nin a given amount of time.</p>\n",
    451: "<p>Access to this URL has been denied for legal reasons.<br />\n</p>\n",
    502: ("<p>The proxy server received an invalid\r\n"
          "response from an upstream server.<br />\r\n</p>\n"),
    503: ("<p>The server is temporarily unable to service your\n"
          "request due to maintenance downtime or capacity\n"
          "problems. Please try again later.</p>\n"),
    504: ("<p>The gateway did not receive a timely response\n"
          "from the upstream server or application.</p>\n"),
    507: ("<p>The method could not be performed on the resource\n"
          "because the server is unable to store the\n"
          "representation needed to successfully complete the\n"
          "request.  There is insufficient free space left in\n"
          "your storage allocation.</p>\n"),
}


def _message(status, method, uri, location, server_admin, notes):
    """The paragraph(s) Apache's get_canned_error_string gives each status;
    ``notes`` is Apache's "error-notes" (why a request was bad). A status
    without a text of its own gets the 500 text, as in Apache."""
    fixed = _FIXED.get(status)
    if fixed is not None:
        return fixed
    if status == 300:
        return ""           # (the variant list, which only mod_negotiation gives)
    if status == 305:
        return ("<p>This resource is only accessible through the proxy\n<br />\n"
                "You will need to configure your client to use that proxy.</p>\n")
    if status == 303:
        return ('<p>The answer to your request is located <a href="%s">here</a>.</p>\n'
                % escape(location or ""))
    if status in (301, 302, 307, 308):
        return '<p>The document has moved <a href="%s">here</a>.</p>\n' % escape(location or "")
    if status == 400:
        shown = notes if notes in APACHE_400_NOTES else ""
        return ("<p>Your browser sent a request that this server could not understand."
                "<br />\n%s</p>\n" % escape(shown))
    if status == 405:
        return ("<p>The requested method %s is not allowed for this URL.</p>\n"
                % escape(method or "GET"))
    if status == 411:
        return ("<p>A request of the requested method %s requires a valid Content-length."
                "<br />\n</p>\n" % escape(method or "GET"))
    if status == 413:
        return ("The requested resource does not allow request data with %s requests, "
                "or the amount of data provided in\nthe request exceeds the capacity limit.\n"
                % escape(method or "GET"))
    if status == 417:
        # ``notes``: the request's Expect header (None: it had none)
        if notes is None:
            return ("<p>No expectation was seen, the Expect request-header \n"
                    "field was not presented by the client.\n</p>"
                    "<p>Only the 100-continue expectation is supported.</p>\n")
        return ("<p>The expectation given in the Expect request-header\n"
                "field could not be met by this server.\n"
                "The client sent<pre>\n    Expect: %s\n</pre>\n</p>"
                "<p>Only the 100-continue expectation is supported.</p>\n" % escape(notes or ""))
    if status == 501:
        return "<p>%s not supported for current URL.<br />\n</p>\n" % escape(method or "GET")
    return ("<p>The server encountered an internal error or\n"
            "misconfiguration and was unable to complete\n"
            "your request.</p>\n"
            "<p>Please contact the server administrator at \n %s to inform them of "
            "the time this error occurred,\n and the actions you performed just "
            "before this error.</p>\n"
            "<p>More information about this error may be available\n"
            "in the server error log.</p>\n" % escape(server_admin or "[no address given]"))


def error_page(status, *, method="GET", uri="", location=None, server_admin="",
               signature="", notes=None, additionally=None, status_line=None):
    """The HTML body Apache sends for ``status``. ``notes``: Apache's
    error notes (a 400's reason), for a 417 the request's Expect header
    (None when it had none). ``additionally``: the status whose
    ErrorDocument failed too (Apache then says so in a paragraph of its
    own). ``status_line``: the handler's req.status_line, whose reason
    titles the page when it starts with ``status`` (as Apache's
    ap_send_error_response)."""
    reason = None
    if status_line and len(status_line) > 4 and status_line[:3].isdigit() \
            and int(status_line[:3]) == status:
        reason = status_line[4:]
    if status not in KNOWN_STATUSES:
        status, reason = 500, None  # a code Apache has no line for: its 500 page
    address = "<hr>\n<address>%s</address>\n" % signature if signature else ""
    message = _message(status, method, uri, location, server_admin, notes)
    if additionally is not None:
        if additionally not in KNOWN_STATUSES:
            additionally = 500
        message += ("<p>Additionally, a %d %s\nerror was encountered while trying to use "
                    "an ErrorDocument to handle the request.</p>\n"
                    % (additionally, reason_phrase(additionally)))
    return (_TEMPLATE % {"status": status, "reason": reason or reason_phrase(status),
                         "message": message,
                         "address": address}).encode("latin-1", "replace")


def format_exception(exc_info):
    """``traceback.format_exception``, with the frames of the compiled layers
    (fastdispatch._layers) shown as their source's are: Cython names such a
    frame by the path it compiled (relative) and the qualified name, and
    gives no source line; the page and the log read the same either way."""
    te = traceback.TracebackException(*exc_info)
    _source_frames(te, set())
    return list(te.format())


_PROJECT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_PACKAGE_PREFIX = os.path.join(_PROJECT_DIR, "fastdispatch") + os.sep


def _compiled_frame(filename):
    """Whether a traceback entry is a compiled layer's: Cython names it by
    the relative path it compiled."""
    return not os.path.isabs(filename) and filename.startswith("fastdispatch" + os.sep)


def _call_columns(line):
    """(start, end) columns of the call a line like ``result = obj(req)``
    makes, where the interpreter would mark it (a compiled frame has no
    positions of its own); (None, None) for any other line."""
    text = line.strip()
    try:
        node = ast.parse(text).body[0]
    except (SyntaxError, IndexError, ValueError):
        return None, None
    value = getattr(node, "value", None)
    if not isinstance(node, (ast.Assign, ast.Return)) or not isinstance(value, ast.Call) \
            or not text.isascii():
        return None, None
    indent = len(line) - len(line.lstrip())
    return indent + value.col_offset, indent + value.end_col_offset


def _ours(filename):
    """Whether a traceback entry's file is fastdispatch's own (as its source
    names it, or as Cython names a compiled layer)."""
    return filename.startswith(_PACKAGE_PREFIX) or _compiled_frame(filename)


def handler_frames(tb):
    """``tb`` (which starts in the dispatcher's call of a handler) cut
    where it re-enters fastdispatch: an error fastdispatch raises inside
    a request method then reads as mod_python's, whose methods are C and
    leave no frame (``req.read()`` is the last line shown)."""
    entry = tb
    while entry is not None and entry.tb_next is not None:
        if _ours(entry.tb_next.tb_frame.f_code.co_filename) and entry is not tb:
            entry.tb_next = None
            break
        entry = entry.tb_next
    return tb


def _source_frames(te, seen):
    if te is None or id(te) in seen:
        return
    seen.add(id(te))
    for i, frame in enumerate(te.stack):
        if _compiled_frame(frame.filename):
            path = os.path.join(_PROJECT_DIR, frame.filename)
            colno, end_colno = _call_columns(linecache.getline(path, frame.lineno))
            te.stack[i] = traceback.FrameSummary(
                path, frame.lineno, frame.name.rpartition(".")[2],
                end_lineno=frame.lineno, colno=colno, end_colno=end_colno)
    _source_frames(te.__cause__, seen)
    _source_frames(te.__context__, seen)
    for sub in getattr(te, "exceptions", None) or ():
        _source_frames(sub, seen)


def debug_page(phase, handler, exc_info):
    """mod_python's PythonDebug On report (apache.py's ReportError)."""
    import html
    parts = ['\n<pre>\nMod_python error: "%s %s"\n\n' % (html.escape(phase), html.escape(handler))]
    for entry in format_exception(exc_info):
        parts.append(html.escape(entry) + "\n")
    parts.append("</pre>\n")
    return "".join(parts)


# The order Apache 2.4 lists allowed methods in: its method registry's hash
# order (seen on 2.4.71 with every method allowed). HEAD is GET's bit.
_ALLOW_ORDER = ("POST", "MKWORKSPACE", "LOCK", "CONNECT", "UNLOCK", "OPTIONS", "TRACE",
                "PATCH", "MERGE", "PROPPATCH", "BASELINE-CONTROL", "HEAD", "DELETE",
                "VERSION-CONTROL", "CHECKIN", "MKCOL", "CHECKOUT", "MOVE", "PUT",
                "UNCHECKOUT", "COPY", "REPORT", "GET", "LABEL", "PROPFIND", "UPDATE",
                "MKACTIVITY")
_ALLOW_BITS = tuple((name, 1 << apache.METHODS.index("GET" if name == "HEAD" else name))
                    for name in _ALLOW_ORDER)


def allow_header(allowed):
    """Apache's Allow for a 405/501: the methods whose bit is set in
    req.allowed, in Apache's order."""
    return ",".join([name for name, bit in _ALLOW_BITS if allowed & bit])

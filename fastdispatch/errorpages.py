"""Apache 2.4's canned error pages (ap_send_error_response) and mod_python's
PythonDebug traceback page."""
def escape(text, quote=True):
    """ap_escape_html: &, <, > and the double quote; single quotes stay."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace('"', "&quot;") if quote else text

from fastdispatch import _speedups

reason_phrase = _speedups.headers.reason_phrase

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


def _message(status, method, uri, location, server_admin, notes):
    """The paragraph(s) Apache's get_canned_error_string gives each status;
    ``notes`` is Apache's "error-notes" (why a request was bad)."""
    if status in (301, 302, 303, 307, 308):
        return '<p>The document has moved <a href="%s">here</a>.</p>\n' % escape(location or "")
    if status == 400:
        shown = notes if notes in APACHE_400_NOTES else ""
        return ("<p>Your browser sent a request that this server could not understand."
                "<br />\n%s</p>\n" % escape(shown))
    if status == 401:
        return ("<p>This server could not verify that you\n"
                "are authorized to access the document\n"
                "requested.  Either you supplied the wrong\n"
                "credentials (e.g., bad password), or your\n"
                "browser doesn't understand how to supply\n"
                "the credentials required.</p>\n")
    if status == 403:
        return "<p>You don't have permission to access this resource.</p>\n"
    if status == 404:
        return "<p>The requested URL was not found on this server.</p>\n"
    if status == 405:
        return ("<p>The requested method %s is not allowed for this URL.</p>\n"
                % escape(method or "GET"))
    if status == 408:
        return ("<p>Server timeout waiting for the HTTP request from the client.</p>\n")
    if status == 411:
        return "<p>A request of the requested method %s requires a valid Content-length.<br />\n</p>\n" % escape(method or "GET")
    if status == 413:
        return ("The requested resource does not allow request data with %s requests, "
                "or the amount of data provided in\nthe request exceeds the capacity limit.\n"
                % escape(method or "GET"))
    if status == 414:
        return ("<p>The requested URL's length exceeds the capacity\n"
                "limit for this server.<br />\n</p>\n")
    if status == 417:
        return ("<p>The expectation given in the Expect request-header\n"
                "field could not be met by this server.\n"
                "The client sent<pre>\n    Expect: %s\n</pre>\n</p>"
                "<p>Only the 100-continue expectation is supported.</p>\n" % escape(notes or ""))
    if status == 416:
        return ("<p>None of the range-specifier values in the Range\n"
                "request-header field overlap the current extent\n"
                "of the selected resource.</p>\n")
    if status == 412:
        return ("<p>The precondition on the request for this URL\n"
                "evaluated to false.</p>\n")
    if status == 501:
        return "<p>%s not supported for current URL.<br />\n</p>\n" % escape(method or "GET")
    if status == 505:
        return ("<p>The server encountered an internal error or\n"
                "misconfiguration and was unable to complete\n"
                "your request.</p>\n")
    if status == 503:
        return ("<p>The server is temporarily unable to service your\n"
                "request due to maintenance downtime or capacity\n"
                "problems. Please try again later.</p>\n")
    if status == 500 or status >= 500:
        return ("<p>The server encountered an internal error or\n"
                "misconfiguration and was unable to complete\n"
                "your request.</p>\n"
                "<p>Please contact the server administrator at \n %s to inform them of "
                "the time this error occurred,\n and the actions you performed just "
                "before this error.</p>\n"
                "<p>More information about this error may be available\n"
                "in the server error log.</p>\n" % escape(server_admin or "[no address given]"))
    return ("<p>The server encountered an internal error or\n"
            "misconfiguration and was unable to complete\n"
            "your request.</p>\n")


def error_page(status, *, method="GET", uri="", location=None, server_admin="",
               signature="", notes=""):
    """The HTML body Apache sends for ``status``."""
    address = "<hr>\n<address>%s</address>\n" % signature if signature else ""
    return (_TEMPLATE % {"status": status, "reason": reason_phrase(status),
                         "message": _message(status, method, uri, location, server_admin, notes),
                         "address": address}).encode("latin-1", "replace")


def debug_page(phase, handler, exc_info):
    """mod_python's PythonDebug On report (apache.py's ReportError)."""
    import html
    import traceback
    parts = ['\n<pre>\nMod_python error: "%s %s"\n\n' % (html.escape(phase), html.escape(handler))]
    for entry in traceback.format_exception(*exc_info):
        parts.append(html.escape(entry) + "\n")
    parts.append("</pre>\n")
    return "".join(parts)

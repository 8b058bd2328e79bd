"""HTTP/1.1 request head parsing and chunked body decoding (pure-Python twin).

This module is the readable specification of ``fastdispatch._http`` (compiled
from ``src/_http.pyx``); both expose the same names and behave the same, which
the test-suite checks input by input. See docs/internals.md, section ``_http``.

Strictness, per RFC 9112 and Apache 2.4's ``HttpProtocolOptions Strict``
(the lines below are the whole policy):

* Every line of the head ends with CRLF, the empty line that ends the head
  too. A bare LF as a line ending is an error (400), as Apache answers
  (RFC 9112 2.2 lets a server refuse it); so is a CR anywhere but before the
  LF. Up to ``MAX_BLANK_LINES`` empty lines (CRLF) before the request line
  are skipped (RFC 9112 2.2; Apache's bound); one more, or a bare LF or CR
  among them, is an error.
* Request line: ``method SP request-target SP HTTP-version``, exactly one SP
  between parts. The method is a token; the target is one or more visible
  ASCII or obs-text (0x80-0xFF) bytes, as Apache's strict mode allows; the
  version is ``HTTP/<digit>.<digit>`` with a major version of at least 1, as
  Apache reads it. ``version`` keeps the text as sent; ``version_num`` is 10
  for HTTP/1.0 and 11 for HTTP/1.1 and any later version (Apache serves
  ``HTTP/1.2`` or ``HTTP/2.0`` as HTTP/1.1). HTTP/0.x (HTTP/0.9 lines
  included), lower case, more digits or anything else is 400, and so is the
  HTTP/2 connection preface's line ``PRI * HTTP/2.0`` (RFC 9113 3.4).
* Field lines: ``token ":" OWS value OWS``; no whitespace before the colon, no
  line starting with SP/HT (obs-fold), value bytes are VCHAR, obs-text, SP or
  HT (so NUL, DEL and other controls are errors). Names are kept as sent;
  values have their surrounding OWS removed.
* Framing: at most one ``Content-Length`` (several are 400 even when equal),
  ``1*DIGIT`` up to 2**63-1, the largest apr_off_t (larger: 400, as Apache's
  apr_strtoff overflows; a large one within it meets LimitRequestBody when
  the body is read). ``Transfer-Encoding`` must end with
  ``chunked``, once: a final coding other than ``chunked`` (``gzip`` alone,
  an unknown coding), ``chunked`` twice, an empty element after it
  (``chunked,``) or an empty list is 400, as Apache answers; a coding before ``chunked`` (``gzip, chunked``), which we do not
  decode, is 501. ``Content-Length`` with ``Transfer-Encoding`` is 400, and
  so is ``Transfer-Encoding`` in an HTTP/1.0 request (RFC 9112 6.1).
* ``Host``: required from HTTP/1.1 on, never more than one, and its value
  must be ``uri-host [":" port]`` (RFC 9112 3.2, RFC 3986; an empty value too
  is 400 from HTTP/1.1 on, as Apache answers; HTTP/1.0's is taken as none).
* ``Expect``: as Apache, several Expect fields are one list (their values
  joined by ", "); ``100-continue`` (any case) sets ``expect_continue`` from
  HTTP/1.1 on, any other non-empty value is 417, whose ``detail`` is that
  value (Apache's 417 page quotes it).
* ``plain_headers``: no field name repeats (compared in ASCII lower case),
  every value is ASCII, and there are at most ``PLAIN_MAX_FIELDS`` fields.
  The request layer then takes the fields as they are, without merging
  repeated ones or decoding UTF-8 values (a shortcut: false means "look").
* ``plain_line``: the request line is printable ASCII without a ``"`` or a
  ``\\`` (its target has none of them, nor obs-text): a log writes it as it
  is, and the request layer takes it without decoding UTF-8 (a shortcut too).
* Limits, as Apache applies LimitRequestLine / LimitRequestFieldSize (measured
  on Apache 2.4: with 8190, a line of 8191 bytes passes and 8192 does not): a
  request line longer than ``max_line + 1`` bytes is 414, reported as soon as
  that many bytes have arrived without a line end; a field line longer than
  ``max_field_size + 1`` bytes or more than ``max_fields`` field lines is 400,
  also reported before the head is complete, with Apache's notes as the
  ``detail`` (``FIELD_TOO_LONG``, ``TOO_MANY_FIELDS``: the 400 page shows
  them). Lengths exclude the line ending.

Everything is decoded as latin-1. The first error in the order above (request
line, then field lines in order, then the head as a whole) is the one raised;
within a line, as Apache reads one: its length, then its ending, then (field
lines) the field count, then its content.
"""
import ipaddress
import re

from fastdispatch.errors import HTTPError

PLAIN_MAX_FIELDS = 64       # plain_headers is false beyond (not worth comparing)

__all__ = [
    "LIMIT_REQUEST_LINE", "LIMIT_REQUEST_FIELDSIZE", "LIMIT_REQUEST_FIELDS",
    "MAX_BLANK_LINES", "FIELD_TOO_LONG", "TOO_MANY_FIELDS", "RequestHead",
    "parse_head", "ChunkedReader",
]

LIMIT_REQUEST_LINE = 8190        # Apache's defaults
LIMIT_REQUEST_FIELDSIZE = 8190
LIMIT_REQUEST_FIELDS = 100
MAX_BLANK_LINES = 10             # Apache's DEFAULT_LIMIT_BLANK_LINES

# The details of the two limit errors: Apache's "error-notes", word for word
# (its 400 page shows them).
FIELD_TOO_LONG = "Size of a request header field exceeds server limit."
TOO_MANY_FIELDS = "The number of request header fields exceeds this server's limit."

# Content-Length values above this are refused with 400, as Apache's (an int64).
MAX_CONTENT_LENGTH = 2 ** 63 - 1

_TCHAR = rb"!#$%&'*+\-.^_`|~0-9A-Za-z"
_VCHAR_OBS = rb"\x21-\x7e\x80-\xff"

_REQUEST_LINE = re.compile(
    rb"([" + _TCHAR + rb"]+) ([" + _VCHAR_OBS + rb"]+) (HTTP/[1-9]\.[0-9])\Z")
_FIELD_LINE = re.compile(
    rb"([" + _TCHAR + rb"]+):[ \t]*"
    rb"((?:[" + _VCHAR_OBS + rb"]+(?:[ \t]+[" + _VCHAR_OBS + rb"]+)*)?)"
    rb"[ \t]*\Z")
_DIGITS = frozenset("0123456789")
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_")


def valid_host(host):
    """A Host value as Apache 2.4 accepts it (fix_hostname under
    HttpProtocolOptions Strict, its default): ``name[:port]`` or
    ``[IPv6][:port]``. The port is 1-65535 (leading zeros allowed). The
    IPv6 literal is an address, without a zone. The name is letters,
    digits, "-", "_" and dots, no ".." (one trailing dot is dropped); all
    digits and dots, it must be a dotted quad without leading zeros (no
    range check: 999.1.1.1 passes); otherwise its last label, after a dot,
    starts with a letter."""
    if host.startswith("["):
        close = host.find("]")
        if close < 0 or not ipv6_literal_ok(host[1:close]):
            return False
        name, rest = None, host[close + 1:]
    else:
        name, sep, port = host.partition(":")
        rest = sep + port
    if rest and (rest[0] != ":" or not _port_ok(rest[1:])):
        return False
    return name is None or _name_ok(name)


def ipv6_literal_ok(text):
    """An IPv6 address inside [ ], with no zone ("%eth0")."""
    if "%" in text:
        return False
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def _port_ok(port):
    return port.isascii() and port.isdigit() and 0 < int(port) <= 65535


def _name_ok(name):
    if ".." in name:
        return False
    if name.endswith("."):
        name = name[:-1]
    if not name:
        return False
    dotted_decimal = True
    for c in name:
        if c in _NAME_CHARS:
            dotted_decimal = False
        elif c != "." and c not in _DIGITS:
            return False
    labels = name.split(".")
    if dotted_decimal:
        return len(labels) == 4 and not any(len(n) > 1 and n[0] == "0" for n in labels)
    last = labels[-1]
    # (RFC 1123 2.1: the top-level label starts with a letter)
    return len(labels) == 1 or not last or (last[0].isascii() and last[0].isalpha())


class RequestHead:
    """A parsed request head: plain attributes, one object per request."""

    __slots__ = ("method", "target", "version", "version_num", "headers",
                 "content_length", "chunked", "keep_alive", "expect_continue",
                 "request_line", "plain_headers", "plain_line")

    def __init__(self, method="GET", target="/", version="HTTP/1.1", version_num=11,
                 headers=None, content_length=-1, chunked=False, keep_alive=True,
                 expect_continue=False, request_line=None, plain_headers=False,
                 plain_line=False):
        self.method = method
        self.target = target
        self.version = version
        self.version_num = version_num
        self.headers = [] if headers is None else headers
        self.content_length = content_length
        self.chunked = chunked
        self.keep_alive = keep_alive
        self.expect_continue = expect_continue
        if request_line is None:
            request_line = "%s %s %s" % (method, target, version)
        self.request_line = request_line
        self.plain_headers = plain_headers
        self.plain_line = plain_line

    def __repr__(self):
        return "<RequestHead %r headers=%d content_length=%d chunked=%r keep_alive=%r>" % (
            self.request_line, len(self.headers), self.content_length, self.chunked,
            self.keep_alive)


def _bad(detail, status=400):
    return HTTPError(status, detail)


# ---------------------------------------------------------------------------
# lines

def _skip_blank_lines(buf, pos, n):
    """Index of the request line's first byte, or -1 when more data is needed."""
    blanks = 0
    while pos < n:
        c = buf[pos]
        if c == 0x0A:
            raise _bad("bare LF before the request line")
        if c != 0x0D:
            return pos
        if pos + 1 >= n:
            return -1                                  # CR, LF may follow
        if buf[pos + 1] != 0x0A:
            raise _bad("bare CR before the request line")
        blanks += 1
        if blanks > MAX_BLANK_LINES:
            raise _bad("too many empty lines before the request line")
        pos += 2
    return -1


def _line(raw, limit, status, detail):
    """The content of one line of the head, ``raw`` being the bytes before its LF.

    As Apache reads a line: longer than ``limit`` without its ending is
    HTTPError(status, detail); then the line must end with CRLF.
    """
    crlf = raw[-1:] == b"\r"
    if crlf:
        raw = raw[:-1]
    if len(raw) > limit:
        raise _bad(detail, status)
    if not crlf:
        raise _bad("bare LF as a line ending")
    return raw


def _check_incomplete(buf, pos, max_line, max_field_size, max_fields):
    """What can be judged before the head is complete (no waiting): the
    limits and line endings of the lines received so far, and the request
    line once it is whole.
    """
    n = len(buf)
    lf = buf.find(b"\n", pos)
    if lf < 0:
        # The line is at least n - pos bytes, the last one possibly a CR.
        if n - pos > max_line + 1:
            raise _bad("request line too long", 414)
        return
    _parse_request_line(_line(bytes(buf[pos:lf]), max_line, 414, "request line too long"))
    pos = lf + 1
    fields = 0
    while True:
        lf = buf.find(b"\n", pos)
        if lf < 0:
            if n - pos > max_field_size + 1:
                raise _bad(FIELD_TOO_LONG)
            return
        _line(bytes(buf[pos:lf]), max_field_size, 400, FIELD_TOO_LONG)
        fields += 1
        if fields > max_fields:
            raise _bad(TOO_MANY_FIELDS)
        pos = lf + 1


# ---------------------------------------------------------------------------
# the request line and field lines

def _parse_request_line(line):
    """(method, target, version) of a request line without its CRLF."""
    if b"\r" in line:
        raise _bad("bare CR in request line")
    m = _REQUEST_LINE.match(line)
    if m is None:
        raise _bad("malformed request line")
    if line == b"PRI * HTTP/2.0":
        raise _bad("HTTP/2 connection preface")
    return m.group(1), m.group(2), m.group(3)


def _parse_field_line(line):
    m = _FIELD_LINE.match(line)
    if m is None:
        if line[:1] in (b" ", b"\t"):
            raise _bad("obsolete line folding")
        raise _bad("malformed header field")
    return m.group(1).decode("latin-1"), m.group(2).decode("latin-1")


def _comma_list(values):
    """Elements of a comma-separated list field, lower-cased, empty ones dropped."""
    out = []
    for value in values:
        for item in value.split(","):
            item = item.strip(" \t").lower()
            if item:
                out.append(item)
    return out


def _check_transfer_codings(values):
    """The Transfer-Encoding policy, on the values of its fields."""
    codings = _comma_list(values)
    if not codings:
        raise _bad("empty Transfer-Encoding")
    # an empty element last ("chunked,"; or a second, empty field) leaves
    # Apache's list without chunked at its end (ap_is_chunked): 400
    if codings[-1] != "chunked" or codings.count("chunked") > 1 \
            or not values[-1].rsplit(",", 1)[-1].strip(" \t"):
        raise _bad("chunked is not the final transfer coding")
    if len(codings) > 1:
        raise _bad("transfer coding not implemented", 501)


# ---------------------------------------------------------------------------
# parse_head

def parse_head(buf, start=0, max_line=LIMIT_REQUEST_LINE,
               max_field_size=LIMIT_REQUEST_FIELDSIZE, max_fields=LIMIT_REQUEST_FIELDS):
    """Parse the request head at ``buf[start:]``.

    Returns ``(head, end)``, ``end`` being the index just past the empty line
    that ends the head, or ``(None, start)`` when the head is not complete.
    Raises HTTPError for a request that must be refused.
    """
    if start < 0:
        raise ValueError("start must not be negative")
    # Apache's effective limits: one byte more than configured (see above).
    max_line += 1
    max_field_size += 1
    n = len(buf)
    pos = _skip_blank_lines(buf, start, n)
    if pos < 0:
        return None, start
    # The request line is not empty, so the first empty line is the first
    # CRLF right after a CRLF. (A bare LF before it is an error, found below.)
    end = buf.find(b"\r\n\r\n", pos)
    if end < 0:
        _check_incomplete(buf, pos, max_line, max_field_size, max_fields)
        return None, start
    end += 4

    # The lines of the head as they end at each LF, without the empty line.
    lines = bytes(buf[pos:end]).split(b"\n")[:-2]

    request_line = _line(lines[0], max_line, 414, "request line too long")
    method, target, version = _parse_request_line(request_line)
    version_num = 10 if version == b"HTTP/1.0" else 11

    headers = []
    content_lengths = []
    transfer_encodings = []
    connection = []
    hosts = 0
    host = expect = None
    for index, line in enumerate(lines[1:]):
        line = _line(line, max_field_size, 400, FIELD_TOO_LONG)
        if index >= max_fields:
            raise _bad(TOO_MANY_FIELDS)
        if b"\r" in line:
            raise _bad("bare CR in header field")
        name, value = _parse_field_line(line)
        headers.append((name, value))
        lname = name.lower()
        if lname == "content-length":
            content_lengths.append(value)
        elif lname == "transfer-encoding":
            transfer_encodings.append(value)
        elif lname == "connection":
            connection.append(value)
        elif lname == "host":
            hosts += 1
            host = value
        elif lname == "expect":
            # several are merged into one list, as Apache's table does
            expect = value if expect is None else expect + ", " + value

    # The head as a whole.
    if hosts > 1:
        raise _bad("more than one Host header")
    if hosts == 0 and version_num == 11:
        raise _bad("HTTP/1.1 request without Host")
    if host is not None and not valid_host(host) and (host or version_num == 11):
        # (an empty Host is no host on HTTP/1.0, as Apache reads it)
        raise _bad("invalid Host")

    content_length = -1
    if content_lengths:
        if len(content_lengths) > 1:
            raise _bad("more than one Content-Length")
        value = content_lengths[0]
        if not (value.isascii() and value.isdigit()):
            raise _bad("invalid Content-Length")
        content_length = int(value)
        if content_length > MAX_CONTENT_LENGTH:
            raise _bad("invalid Content-Length")

    chunked = False
    if transfer_encodings:
        if content_lengths:
            raise _bad("Content-Length with Transfer-Encoding")
        if version_num == 10:
            raise _bad("Transfer-Encoding in an HTTP/1.0 request")
        _check_transfer_codings(transfer_encodings)
        chunked = True

    expect_continue = False
    if expect:
        if expect.lower() != "100-continue":
            raise _bad(expect, 417)            # the detail is the value, as sent
        expect_continue = version_num == 11

    tokens = _comma_list(connection)
    if version_num == 11:
        keep_alive = "close" not in tokens
    else:
        keep_alive = "keep-alive" in tokens and "close" not in tokens

    plain = (len(headers) <= PLAIN_MAX_FIELDS
             and all(value.isascii() for _, value in headers)
             and len({name.lower() for name, _ in headers}) == len(headers))
    # (the method is a token and the version fixed: the target decides)
    plain_line = target.isascii() and b'"' not in target and b"\\" not in target
    head = RequestHead(method.decode("latin-1"), target.decode("latin-1"),
                       version.decode("latin-1"), version_num, headers,
                       content_length, chunked, keep_alive, expect_continue,
                       request_line.decode("latin-1"), plain, plain_line)
    return head, end


# ---------------------------------------------------------------------------
# chunked bodies

_HEXDIGITS = frozenset(b"0123456789abcdefABCDEF")
# The largest chunk size Apache takes (an apr_off_t): above it, 413.
MAX_CHUNK_SIZE = 2 ** 63 - 1
# Spaces or tabs Apache allows between the size and ";" or the line's end
# (BWS in RFC 9112's grammar; more is 400).
MAX_CHUNK_BWS = 10
# What may follow the size digits and BWS: ";" then extension bytes that are
# not controls (HT allowed). Extensions are not interpreted.
_CHUNK_EXT = re.compile(rb";[\t\x20-\x7e\x80-\xff]*\Z")

# ChunkedReader states
_SIZE, _DATA, _DATA_END, _TRAILER, _DONE = range(5)


class ChunkedReader:
    """Incremental decoder of a chunked request body (RFC 9112 7.1).

    ``feed(data)`` returns the body bytes decoded from what has arrived so far
    (``data`` plus anything buffered); once the last chunk and the trailer
    section have been read, ``done`` is true, ``trailers`` holds the trailer
    fields and ``unused`` the bytes received past the end (the next pipelined
    request). Data fed after that is appended to ``unused``.

    Chunk framing lines must end with CRLF (no bare LF: framing is where
    request smuggling lives). A chunk-size line is read as Apache 2.4's
    input filter reads it: ``1*HEXDIG`` (leading zeros are free; a size
    above 2**63-1 is 413), at most MAX_CHUNK_BWS spaces or tabs, then the
    line's end or ``";"`` and an extension, ignored, without control bytes
    but HT; the line with its CRLF is at most ``max_chunk_line`` bytes
    (Apache's LimitRequestFieldSize: longer is 413). Trailer fields follow
    the header-field syntax; their total size (lines with CRLF) is at most
    ``max_trailers_size``. Errors are HTTPError(400) unless said, raised as
    soon as they are certain: an over-long line or trailer section is
    refused before its line end arrives.
    """

    __slots__ = ("max_chunk_line", "max_trailers_size", "done", "unused", "trailers",
                 "_buf", "_state", "_remaining", "_trailer_bytes")

    def __init__(self, max_chunk_line=8190, max_trailers_size=8190):
        self.max_chunk_line = max_chunk_line
        self.max_trailers_size = max_trailers_size
        self.done = False
        self.unused = b""
        self.trailers = []
        self._buf = bytearray()
        self._state = _SIZE
        self._remaining = 0
        self._trailer_bytes = 0

    def feed(self, data):
        if self._state == _DONE:
            self.unused += bytes(data)
            return b""
        buf = self._buf
        buf += data
        out = []
        pos = 0
        n = len(buf)
        while pos < n:
            state = self._state
            if state == _DATA:
                take = min(self._remaining, n - pos)
                out.append(bytes(buf[pos:pos + take]))
                pos += take
                self._remaining -= take
                if self._remaining == 0:
                    self._state = _DATA_END
            elif state == _DATA_END:
                if buf[pos] != 0x0D or (n - pos >= 2 and buf[pos + 1] != 0x0A):
                    raise _bad("missing CRLF after chunk data")
                if n - pos < 2:
                    break
                pos += 2
                self._state = _SIZE
            elif state == _SIZE:
                nxt = self._size_line(buf, pos)
                if nxt < 0:
                    break
                pos = nxt
            elif state == _TRAILER:
                nxt = self._trailer_line(buf, pos)
                if nxt < 0:
                    break
                pos = nxt
            else:  # _DONE
                self.unused = bytes(buf[pos:])
                pos = n
        del buf[:pos]
        return b"".join(out)

    def _size_line(self, buf, pos):
        """Consume one chunk-size line: the index after it, or -1 if incomplete."""
        lf = buf.find(b"\n", pos)
        line_end = len(buf) if lf < 0 else lf
        if line_end - pos > self.max_chunk_line - 1:
            # (with its LF, the line is over the limit already)
            raise _bad("chunk size line too long", 413)
        digits_end = pos
        while digits_end < line_end and buf[digits_end] in _HEXDIGITS:
            digits_end += 1
        if digits_end > pos and int(bytes(buf[pos:digits_end]), 16) > MAX_CHUNK_SIZE:
            raise _bad("chunk size too large", 413)
        if lf < 0:
            return -1
        if lf == pos or buf[lf - 1] != 0x0D:
            raise _bad("chunk size line not ended by CRLF")
        if digits_end == pos:
            raise _bad("invalid chunk size")
        rest = bytes(buf[digits_end:lf - 1])
        if rest:
            ext = rest.lstrip(b" \t")
            if len(rest) - len(ext) > MAX_CHUNK_BWS:
                raise _bad("invalid chunk size")
            if ext and _CHUNK_EXT.match(ext) is None:
                raise _bad("invalid chunk extension")
        size = int(bytes(buf[pos:digits_end]), 16)
        if size == 0:
            self._state = _TRAILER
        else:
            self._state = _DATA
            self._remaining = size
        return lf + 1

    def _trailer_line(self, buf, pos):
        """Consume one trailer line: the index after it, or -1 if incomplete."""
        lf = buf.find(b"\n", pos)
        if lf < 0:
            # The line will count at least its bytes so far + 1 (CRLF, one CR seen).
            if self._trailer_bytes + (len(buf) - pos) > self.max_trailers_size + 2:
                raise _bad("trailer section too large")
            return -1
        if lf == pos or buf[lf - 1] != 0x0D:
            raise _bad("trailer line not ended by CRLF")
        line = bytes(buf[pos:lf - 1])
        if not line:
            self._state = _DONE
            self.done = True
            return lf + 1
        self._trailer_bytes += len(line) + 2
        if self._trailer_bytes > self.max_trailers_size:
            raise _bad("trailer section too large")
        if b"\r" in line:
            raise _bad("bare CR in trailer")
        self.trailers.append(_parse_field_line(line))
        return lf + 1

# cython: language_level=3
"""HTTP/1.1 request head parsing and chunked body decoding (compiled).

Same API and behaviour as the pure twin ``fastdispatch/_pure/_http.py``, which
is the specification (read its docstring for the policy). This module scans
the buffer with C loops over ``const unsigned char *`` and creates Python
objects only for what it returns.
"""
cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE, PyBytes_FromStringAndSize
from cpython.buffer cimport PyObject_GetBuffer, PyBuffer_Release, PyBUF_SIMPLE
from cpython.unicode cimport PyUnicode_DecodeLatin1
from libc.string cimport memchr, memcmp
from libc.stdint cimport INT64_MAX

cdef extern from "Python.h":
    bint PyUnicode_IS_ASCII(object)

import ipaddress

from fastdispatch.errors import HTTPError

__all__ = [
    "LIMIT_REQUEST_LINE", "LIMIT_REQUEST_FIELDSIZE", "LIMIT_REQUEST_FIELDS",
    "MAX_BLANK_LINES", "FIELD_TOO_LONG", "TOO_MANY_FIELDS", "RequestHead",
    "parse_head", "ChunkedReader",
]

LIMIT_REQUEST_LINE = 8190
LIMIT_REQUEST_FIELDSIZE = 8190
LIMIT_REQUEST_FIELDS = 100
MAX_BLANK_LINES = 10
MAX_CONTENT_LENGTH = 2 ** 63 - 1
MAX_CHUNK_SIZE = 2 ** 63 - 1

# Apache's error-notes for the two limit errors (the 400 page shows them).
cdef str S_FIELD_TOO_LONG = "Size of a request header field exceeds server limit."
cdef str S_TOO_MANY_FIELDS = "The number of request header fields exceeds this server's limit."
cdef str S_LINE_TOO_LONG = "request line too long"
FIELD_TOO_LONG = S_FIELD_TOO_LONG
TOO_MANY_FIELDS = S_TOO_MANY_FIELDS

cdef enum:
    C_MAX_BLANK_LINES = 10
    MAX_CHUNK_BWS = 10         # (the twin's)
    PLAIN_MAX_FIELDS = 64      # plain_headers is false beyond (see the twin)

# The largest chunk size (the twin's MAX_CHUNK_SIZE, an apr_off_t).
cdef unsigned long long C_MAX_CHUNK_SIZE = 0x7fffffffffffffffULL

# Limits above this are "no limit" (and leave room for + 2 without overflow).
cdef Py_ssize_t BIG = (<Py_ssize_t>1) << 60

# Memory safety: every scan works on a (pointer, length) pair taken from a
# bytes object (immutable) or from an exported buffer (a bytearray cannot be
# resized while exported), and every loop tests its index against the end it
# was given before reading; lines are found with memchr within those bounds.
# No Cython bounds-checked indexing is used, so no directive is needed.
ctypedef const unsigned char *cbytes

# Character classes, one table lookup per byte.
cdef enum:
    TCHAR = 1          # token characters (RFC 9110 5.6.2)
    VCHAR_OBS = 2      # 0x21-0x7E and obs-text 0x80-0xFF
    WS = 4             # SP, HT
    HEX = 8
    LOG_ESCAPED = 16   # '"', '\\' and obs-text: what a log line escapes (plain_line)

cdef unsigned char CLS[256]


cdef void _init_classes():
    cdef int c
    for c in range(256):
        CLS[c] = 0
        if 0x21 <= c <= 0x7E or c >= 0x80:
            CLS[c] |= VCHAR_OBS
        if (0x30 <= c <= 0x39) or (0x41 <= c <= 0x5A) or (0x61 <= c <= 0x7A):
            CLS[c] |= TCHAR
        if (0x30 <= c <= 0x39) or (0x41 <= c <= 0x46) or (0x61 <= c <= 0x66):
            CLS[c] |= HEX
        if c >= 0x80 or c == 0x22 or c == 0x5C:
            CLS[c] |= LOG_ESCAPED
    for c in b"!#$%&'*+-.^_`|~":
        CLS[c] |= TCHAR
    CLS[0x20] |= WS
    CLS[0x09] |= WS


_init_classes()

# Shared strings for the common cases (no new object per request).
cdef str S_GET = "GET"
cdef str S_POST = "POST"
cdef str S_HEAD = "HEAD"
cdef str S_HTTP11 = "HTTP/1.1"
cdef str S_HTTP10 = "HTTP/1.0"


cdef inline object _bad(str detail, int status=400):
    return HTTPError(status, detail)


cdef inline str _latin1(cbytes p, Py_ssize_t n):
    return PyUnicode_DecodeLatin1(<const char *>p, n, NULL)


cdef inline bint _same_name(cbytes a, cbytes b, Py_ssize_t n) noexcept:
    """ASCII case-insensitive comparison of a[:n] and b[:n] (as str.lower())."""
    cdef Py_ssize_t i
    cdef unsigned char x, y
    for i in range(n):
        x = a[i]
        y = b[i]
        if 0x41 <= x <= 0x5A:
            x += 32
        if 0x41 <= y <= 0x5A:
            y += 32
        if x != y:
            return False
    return True


cdef inline bint _ieq(cbytes p, Py_ssize_t n, const char *lower, Py_ssize_t m) noexcept:
    """ASCII case-insensitive comparison of p[:n] with the lower-case lower[:m]."""
    cdef Py_ssize_t i
    cdef unsigned char c
    if n != m:
        return False
    for i in range(n):
        c = p[i]
        if 0x41 <= c <= 0x5A:
            c += 32
        if c != <unsigned char>lower[i]:
            return False
    return True


cdef class RequestHead:
    """A parsed request head: plain attributes, one object per request
    (its fields are declared in fastdispatch/_http.pxd, where the compiled
    layers cimport it)."""

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


# ---------------------------------------------------------------------------
# lines

cdef Py_ssize_t _skip_blank_lines(cbytes p, Py_ssize_t pos, Py_ssize_t n) except -2:
    """Index of the request line's first byte, or -1 when more data is needed."""
    cdef int blanks = 0
    while pos < n:
        if p[pos] == 0x0A:
            raise _bad("bare LF before the request line")
        if p[pos] != 0x0D:
            return pos
        if pos + 1 >= n:
            return -1                                   # CR, LF may follow
        if p[pos + 1] != 0x0A:
            raise _bad("bare CR before the request line")
        blanks += 1
        if blanks > C_MAX_BLANK_LINES:
            raise _bad("too many empty lines before the request line")
        pos += 2
    return -1


cdef inline Py_ssize_t _find_lf(cbytes p, Py_ssize_t pos, Py_ssize_t n) noexcept:
    cdef const void *hit
    if pos >= n:
        return -1
    hit = memchr(p + pos, 0x0A, n - pos)
    if hit == NULL:
        return -1
    return <cbytes>hit - p


cdef Py_ssize_t _find_head_end(cbytes p, Py_ssize_t pos, Py_ssize_t n) noexcept:
    """Index just past the first CRLF CRLF at or after pos, or -1 (see the twin)."""
    cdef Py_ssize_t lf = _find_lf(p, pos + 1, n)
    while lf >= 0:
        # lf > pos: p[lf - 1] is inside the head
        if lf + 2 < n and p[lf + 1] == 0x0D and p[lf + 2] == 0x0A and p[lf - 1] == 0x0D:
            return lf + 3
        lf = _find_lf(p, lf + 1, n)
    return -1


cdef inline Py_ssize_t _line_end(cbytes p, Py_ssize_t pos, Py_ssize_t lf, Py_ssize_t limit,
                                 bint field) except -1:
    """End of the content of the line p[pos:lf], lf being its LF (see _line in
    the twin): a CRLF line within limit; anything else raises (_bad_line)."""
    if lf > pos and p[lf - 1] == 0x0D and lf - 1 - pos <= limit:
        return lf - 1
    return _bad_line(p, pos, lf, limit, field)


cdef Py_ssize_t _bad_line(cbytes p, Py_ssize_t pos, Py_ssize_t lf, Py_ssize_t limit,
                          bint field) except -1:
    """The error for a line _line_end refuses (kept out of the inlined path):
    longer than limit without its ending -> 414 for the request line, 400 for
    a field line; else it does not end with CRLF."""
    cdef Py_ssize_t end = lf - 1 if lf > pos and p[lf - 1] == 0x0D else lf
    if end - pos > limit:
        if field:
            raise _bad(S_FIELD_TOO_LONG)
        raise _bad(S_LINE_TOO_LONG, 414)
    raise _bad("bare LF as a line ending")


# Request line parts, as offsets into the buffer.
cdef struct ReqLine:
    Py_ssize_t method_end
    Py_ssize_t target_start
    Py_ssize_t target_end
    int version_num
    bint plain_target     # no byte of the target is LOG_ESCAPED


cdef int _parse_request_line(cbytes p, Py_ssize_t start, Py_ssize_t end,
                             ReqLine *out) except -1:
    """method SP target SP HTTP-version on p[start:end] (no line ending)."""
    cdef Py_ssize_t i = start
    cdef cbytes v
    cdef unsigned char seen = 0
    if memchr(p + start, 0x0D, end - start) != NULL:
        raise _bad("bare CR in request line")
    while i < end and CLS[p[i]] & TCHAR:
        i += 1
    if i == start or i >= end or p[i] != 0x20:
        raise _bad("malformed request line")
    out.method_end = i
    i += 1
    out.target_start = i
    while i < end and CLS[p[i]] & VCHAR_OBS:
        seen |= CLS[p[i]]
        i += 1
    if i == out.target_start or i >= end or p[i] != 0x20:
        raise _bad("malformed request line")
    out.target_end = i
    out.plain_target = not (seen & LOG_ESCAPED)
    i += 1
    # HTTP/<1-9>.<0-9>
    v = p + i
    if not (end - i == 8 and memcmp(v, b"HTTP/", 5) == 0 and 0x31 <= v[5] <= 0x39
            and v[6] == 0x2E and 0x30 <= v[7] <= 0x39):
        raise _bad("malformed request line")
    if (v[5] == 0x32 and v[7] == 0x30 and out.method_end - start == 3
            and memcmp(p + start, b"PRI", 3) == 0
            and out.target_end - out.target_start == 1 and p[out.target_start] == 0x2A):
        raise _bad("HTTP/2 connection preface")           # PRI * HTTP/2.0
    out.version_num = 10 if v[5] == 0x31 and v[7] == 0x30 else 11
    return 0


cdef int _check_incomplete(cbytes p, Py_ssize_t pos, Py_ssize_t n, Py_ssize_t max_line,
                           Py_ssize_t max_field_size, Py_ssize_t max_fields) except -1:
    """What can be judged before the head is complete (see the pure twin)."""
    cdef Py_ssize_t lf, end
    cdef Py_ssize_t fields = 0
    cdef ReqLine rl
    lf = _find_lf(p, pos, n)
    if lf < 0:
        if n - pos > max_line + 1:
            raise _bad(S_LINE_TOO_LONG, 414)
        return 0
    end = _line_end(p, pos, lf, max_line, False)
    _parse_request_line(p, pos, end, &rl)
    pos = lf + 1
    while True:
        lf = _find_lf(p, pos, n)
        if lf < 0:
            if n - pos > max_field_size + 1:
                raise _bad(S_FIELD_TOO_LONG)
            return 0
        _line_end(p, pos, lf, max_field_size, True)
        fields += 1
        if fields > max_fields:
            raise _bad(S_TOO_MANY_FIELDS)
        pos = lf + 1


cdef int _parse_field(cbytes p, Py_ssize_t start, Py_ssize_t end,
                      Py_ssize_t *name_end, Py_ssize_t *value_start,
                      Py_ssize_t *value_end) except -1:
    """token ":" OWS value OWS on p[start:end]; sets the name and value bounds."""
    cdef Py_ssize_t i = start
    cdef Py_ssize_t vs, ve
    while i < end and CLS[p[i]] & TCHAR:
        i += 1
    if i == start or i >= end or p[i] != 0x3A:
        if start < end and CLS[p[start]] & WS:
            raise _bad("obsolete line folding")
        raise _bad("malformed header field")
    name_end[0] = i
    i += 1
    # Every value byte is VCHAR, obs-text, SP or HT; then strip the OWS.
    vs = i
    while i < end:
        if not (CLS[p[i]] & (VCHAR_OBS | WS)):
            raise _bad("malformed header field")
        i += 1
    ve = end
    while vs < ve and CLS[p[vs]] & WS:
        vs += 1
    while ve > vs and CLS[p[ve - 1]] & WS:
        ve -= 1
    value_start[0] = vs
    value_end[0] = ve
    return 0


cdef int _connection_tokens(cbytes p, Py_ssize_t start, Py_ssize_t end) noexcept:
    """Bit 1: "close" among the comma-separated tokens; bit 2: "keep-alive"."""
    cdef int found = 0
    cdef Py_ssize_t i = start
    cdef Py_ssize_t s, e
    while i <= end:
        s = i
        while i < end and p[i] != 0x2C:
            i += 1
        e = i
        while s < e and CLS[p[s]] & WS:
            s += 1
        while e > s and CLS[p[e - 1]] & WS:
            e -= 1
        if _ieq(p + s, e - s, b"close", 5):
            found |= 1
        elif _ieq(p + s, e - s, b"keep-alive", 10):
            found |= 2
        i += 1
    return found


cdef bint _valid_host(cbytes p, Py_ssize_t start, Py_ssize_t end) noexcept:
    """name[:port] on p[start:end], as the pure twin's valid_host (an
    IPv6 literal is checked by _ipv6_host, in Python: rare)."""
    cdef Py_ssize_t i = start
    cdef Py_ssize_t name_end
    cdef long port = 0
    while i < end and p[i] != 0x3A:                  # ":"
        i += 1
    name_end = i
    if i < end:
        i += 1
        if i == end:
            return False
        while i < end:
            if not 0x30 <= p[i] <= 0x39:
                return False
            port = port * 10 + (p[i] - 0x30)
            if port > 65535:
                return False
            i += 1
        if port == 0:
            return False
    return _host_name_ok(p, start, name_end)


cdef bint _host_name_ok(cbytes p, Py_ssize_t start, Py_ssize_t end) noexcept:
    """Letters, digits, "-", "_", dots; no ".."; one trailing dot dropped;
    a dotted quad without leading zeros when only digits and dots, else a
    last label that starts with a letter."""
    cdef Py_ssize_t i, labels = 1, last_label = start
    cdef bint dotted_decimal = True, leading_zero = False
    cdef unsigned char c
    if end > start and p[end - 1] == 0x2E:
        end -= 1                                     # (one trailing dot)
        if end > start and p[end - 1] == 0x2E:
            return False
    if end == start:
        return False
    for i in range(start, end):
        c = p[i]
        if c == 0x2E:
            if i > start and p[i - 1] == 0x2E:
                return False                         # ".."
            labels += 1
            last_label = i + 1
        elif 0x30 <= c <= 0x39:
            if c == 0x30 and (i == start or p[i - 1] == 0x2E) and i + 1 < end \
                    and 0x30 <= p[i + 1] <= 0x39:
                leading_zero = True
        elif (0x41 <= c <= 0x5A) or (0x61 <= c <= 0x7A) or c == 0x2D or c == 0x5F:
            dotted_decimal = False
        else:
            return False
    if dotted_decimal:
        return labels == 4 and not leading_zero
    if labels == 1 or last_label == end:
        return True
    c = p[last_label]
    return (0x41 <= c <= 0x5A) or (0x61 <= c <= 0x7A)


def _ipv6_host(str host):
    """[IPv6][:port] (the pure twin's valid_host, for the rare literal)."""
    cdef Py_ssize_t close = host.find("]")
    if close < 0:
        return False
    literal, rest = host[1:close], host[close + 1:]
    if "%" in literal:
        return False
    try:
        ipaddress.IPv6Address(literal)
    except ValueError:
        return False
    if not rest:
        return True
    port = rest[1:]
    return rest[0] == ":" and port.isascii() and port.isdigit() and 0 < int(port) <= 65535


cdef _check_transfer_codings(list values):
    """The Transfer-Encoding policy, on the values of its fields (rare: Python)."""
    cdef list codings = []
    cdef str value, item
    for value in values:
        for item in value.split(","):
            item = item.strip(" \t").lower()
            if item:
                codings.append(item)
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

def parse_head(buf, Py_ssize_t start=0, Py_ssize_t max_line=LIMIT_REQUEST_LINE,
               Py_ssize_t max_field_size=LIMIT_REQUEST_FIELDSIZE,
               Py_ssize_t max_fields=LIMIT_REQUEST_FIELDS):
    """Parse the request head at ``buf[start:]``: ``(head, end)`` or ``(None, start)``."""
    cdef Py_buffer view
    if type(buf) is bytes:
        # immutable: the pointer stays valid while buf is referenced (by us)
        return _parse_head(<cbytes>PyBytes_AS_STRING(buf), PyBytes_GET_SIZE(buf),
                           start, max_line, max_field_size, max_fields)
    # A bytearray (or other buffer) is exported for the call: while exported
    # it cannot be resized, even by code a garbage collection might run.
    PyObject_GetBuffer(buf, &view, PyBUF_SIMPLE)
    try:
        return _parse_head(<cbytes>view.buf, view.len, start, max_line, max_field_size,
                           max_fields)
    finally:
        PyBuffer_Release(&view)


cdef tuple _parse_head(cbytes p, Py_ssize_t n, Py_ssize_t start, Py_ssize_t max_line,
                       Py_ssize_t max_field_size, Py_ssize_t max_fields):
    cdef Py_ssize_t pos, end, lf, line_end, nfields
    cdef Py_ssize_t name_end, vs, ve, i
    cdef ReqLine rl
    cdef list headers
    cdef str name, value
    cdef int hosts = 0, n_cl = 0, conn = 0
    cdef Py_ssize_t cl_start = 0, cl_end = 0
    cdef Py_ssize_t host_start = 0, host_end = 0
    cdef Py_ssize_t ex_start = 0, ex_end = 0
    cdef bint seen_expect = False
    cdef list ex_more = None
    cdef list te_values = None
    cdef bint expect_continue = False, keep_alive
    cdef long long content_length = -1
    cdef unsigned char c
    cdef cbytes v
    cdef RequestHead head
    # plain_headers (see the twin): the names seen so far, to find a repeat
    cdef bint plain = True
    cdef Py_ssize_t name_at[PLAIN_MAX_FIELDS]
    cdef Py_ssize_t name_len[PLAIN_MAX_FIELDS]
    cdef Py_ssize_t j

    if start < 0:
        raise ValueError("start must not be negative")
    # Apache's effective limits: one byte more than configured (see the twin).
    # Huge limits are clamped first (no buffer is that big) so that the
    # arithmetic below cannot overflow.
    max_line = min(max_line, BIG) + 1
    max_field_size = min(max_field_size, BIG) + 1
    pos = _skip_blank_lines(p, start, n) if start < n else -1
    if pos < 0:
        return None, start
    end = _find_head_end(p, pos, n)
    if end < 0:
        _check_incomplete(p, pos, n, max_line, max_field_size, max_fields)
        return None, start

    # The request line.
    lf = _find_lf(p, pos, end)
    line_end = _line_end(p, pos, lf, max_line, False)
    _parse_request_line(p, pos, line_end, &rl)

    head = RequestHead.__new__(RequestHead)
    if rl.method_end - pos == 3 and memcmp(p + pos, b"GET", 3) == 0:
        head.method = S_GET
    elif rl.method_end - pos == 4 and memcmp(p + pos, b"POST", 4) == 0:
        head.method = S_POST
    elif rl.method_end - pos == 4 and memcmp(p + pos, b"HEAD", 4) == 0:
        head.method = S_HEAD
    else:
        head.method = _latin1(p + pos, rl.method_end - pos)
    head.target = _latin1(p + rl.target_start, rl.target_end - rl.target_start)
    v = p + rl.target_end + 1                       # "HTTP/x.y", kept as sent
    if v[5] == 0x31 and v[7] == 0x31:
        head.version = S_HTTP11
    elif v[5] == 0x31 and v[7] == 0x30:
        head.version = S_HTTP10
    else:
        head.version = _latin1(v, 8)
    head.version_num = rl.version_num
    head.request_line = _latin1(p + pos, line_end - pos)
    # plain_line (see the twin): the method is a token and the version
    # fixed, so the target decides
    head.plain_line = rl.plain_target

    # The field lines, up to the empty line (the CRLF at end - 2: every line
    # before it ends with CRLF, or _line_end raises).
    headers = []
    nfields = 0
    pos = lf + 1
    while True:
        lf = _find_lf(p, pos, end)
        if lf == pos + 1 and p[pos] == 0x0D:
            break                                   # the empty line
        line_end = _line_end(p, pos, lf, max_field_size, True)
        if nfields >= max_fields:
            raise _bad(S_TOO_MANY_FIELDS)
        nfields += 1
        if memchr(p + pos, 0x0D, line_end - pos) != NULL:
            raise _bad("bare CR in header field")
        _parse_field(p, pos, line_end, &name_end, &vs, &ve)
        name = _latin1(p + pos, name_end - pos)
        value = _latin1(p + vs, ve - vs)
        headers.append((name, value))
        if plain:
            if nfields > PLAIN_MAX_FIELDS or not PyUnicode_IS_ASCII(value):
                plain = False
            else:
                for j in range(nfields - 1):
                    if name_len[j] == name_end - pos and \
                            _same_name(p + name_at[j], p + pos, name_end - pos):
                        plain = False
                        break
                name_at[nfields - 1] = pos
                name_len[nfields - 1] = name_end - pos
        # The fields that decide framing and connection handling.
        c = p[pos] | 0x20
        if c == 0x63:                                # c
            if _ieq(p + pos, name_end - pos, b"content-length", 14):
                n_cl += 1
                cl_start = vs
                cl_end = ve
            elif _ieq(p + pos, name_end - pos, b"connection", 10):
                conn |= _connection_tokens(p, vs, ve)
        elif c == 0x68:                              # h
            if _ieq(p + pos, name_end - pos, b"host", 4):
                hosts += 1
                host_start = vs
                host_end = ve
        elif c == 0x74:                              # t
            if _ieq(p + pos, name_end - pos, b"transfer-encoding", 17):
                if te_values is None:
                    te_values = []
                te_values.append(value)
        elif c == 0x65:                              # e
            if _ieq(p + pos, name_end - pos, b"expect", 6):
                if not seen_expect:
                    seen_expect = True
                    ex_start = vs
                    ex_end = ve
                else:
                    # several: Apache merges them into one list (and no
                    # list is "100-continue" alone: 417)
                    if ex_more is None:
                        ex_more = [_latin1(p + ex_start, ex_end - ex_start)]
                    ex_more.append(value)
        pos = lf + 1

    # The head as a whole.
    if hosts > 1:
        raise _bad("more than one Host header")
    if hosts == 0 and rl.version_num == 11:
        raise _bad("HTTP/1.1 request without Host")
    if hosts == 1 and (host_start < host_end or rl.version_num == 11):
        # (an empty Host is no host on HTTP/1.0, as Apache reads it)
        if host_start < host_end and p[host_start] == 0x5B:        # "[" IPv6 "]"
            if not _ipv6_host(_latin1(p + host_start, host_end - host_start)):
                raise _bad("invalid Host")
        elif not _valid_host(p, host_start, host_end):
            raise _bad("invalid Host")

    if n_cl:
        if n_cl > 1:
            raise _bad("more than one Content-Length")
        if cl_start == cl_end:
            raise _bad("invalid Content-Length")
        for i in range(cl_start, cl_end):
            if not (0x30 <= p[i] <= 0x39):
                raise _bad("invalid Content-Length")
        content_length = 0
        for i in range(cl_start, cl_end):
            # above 2**63-1 (apr_off_t) is Apache's 400; checked before the
            # step, so the int64 never overflows
            if content_length > (INT64_MAX - (p[i] - 0x30)) // 10:
                raise _bad("invalid Content-Length")
            content_length = content_length * 10 + (p[i] - 0x30)

    if te_values is not None:
        if n_cl:
            raise _bad("Content-Length with Transfer-Encoding")
        if rl.version_num == 10:
            raise _bad("Transfer-Encoding in an HTTP/1.0 request")
        _check_transfer_codings(te_values)
        head.chunked = True

    if ex_more is not None:
        raise _bad(", ".join(ex_more), 417)
    if ex_end > ex_start:
        if not _ieq(p + ex_start, ex_end - ex_start, b"100-continue", 12):
            # the detail is the value, as sent (Apache's 417 page quotes it)
            raise _bad(_latin1(p + ex_start, ex_end - ex_start), 417)
        expect_continue = rl.version_num == 11

    if rl.version_num == 11:
        keep_alive = not (conn & 1)
    else:
        keep_alive = (conn & 2) and not (conn & 1)

    head.headers = headers
    head.content_length = content_length
    head.keep_alive = keep_alive
    head.expect_continue = expect_continue
    head.plain_headers = plain
    return head, end


# ---------------------------------------------------------------------------
# chunked bodies

cdef enum:
    ST_SIZE, ST_DATA, ST_DATA_END, ST_TRAILER, ST_DONE


cdef class ChunkedReader:
    """Incremental decoder of a chunked request body (see the pure twin)."""

    cdef public Py_ssize_t max_chunk_line
    cdef public Py_ssize_t max_trailers_size
    cdef public bint done
    cdef public object unused
    cdef public object trailers
    cdef bytearray _buf
    cdef int _state
    cdef unsigned long long _remaining
    cdef Py_ssize_t _trailer_bytes

    def __init__(self, max_chunk_line=8190, max_trailers_size=8190):
        self.max_chunk_line = max_chunk_line
        self.max_trailers_size = max_trailers_size
        self.done = False
        self.unused = b""
        self.trailers = []
        self._buf = bytearray()
        self._state = ST_SIZE
        self._remaining = 0
        self._trailer_bytes = 0

    def feed(self, data):
        cdef bytearray buf
        cdef list out
        cdef Py_ssize_t pos
        cdef Py_buffer view
        if self._state == ST_DONE:
            self.unused += bytes(data)
            return b""
        buf = self._buf
        buf += data
        out = []
        # Exported while we hold a pointer into it: it cannot be resized.
        PyObject_GetBuffer(buf, &view, PyBUF_SIMPLE)
        try:
            pos = self._decode(<cbytes>view.buf, view.len, out)
        finally:
            PyBuffer_Release(&view)
        del buf[:pos]
        if not out:
            return b""
        if len(out) == 1:
            return out[0]
        return b"".join(out)

    cdef Py_ssize_t _decode(self, cbytes p, Py_ssize_t n, list out) except -1:
        """Decode p[:n] into out; the number of bytes consumed."""
        cdef Py_ssize_t pos = 0, nxt
        cdef unsigned long long take
        while pos < n:
            if self._state == ST_DATA:
                take = <unsigned long long>(n - pos)
                if self._remaining < take:
                    take = self._remaining
                out.append(PyBytes_FromStringAndSize(<const char *>p + pos, <Py_ssize_t>take))
                pos += <Py_ssize_t>take
                self._remaining -= take
                if self._remaining == 0:
                    self._state = ST_DATA_END
            elif self._state == ST_DATA_END:
                if p[pos] != 0x0D or (n - pos >= 2 and p[pos + 1] != 0x0A):
                    raise _bad("missing CRLF after chunk data")
                if n - pos < 2:
                    break
                pos += 2
                self._state = ST_SIZE
            elif self._state == ST_SIZE:
                nxt = self._size_line(p, pos, n)
                if nxt < 0:
                    break
                pos = nxt
            elif self._state == ST_TRAILER:
                nxt = self._trailer_line(p, pos, n)
                if nxt < 0:
                    break
                pos = nxt
            else:
                self.unused = PyBytes_FromStringAndSize(<const char *>p + pos, n - pos)
                pos = n
        return pos

    cdef Py_ssize_t _size_line(self, cbytes p, Py_ssize_t pos, Py_ssize_t n) except -2:
        cdef Py_ssize_t lf = _find_lf(p, pos, n)
        cdef Py_ssize_t line_end = n if lf < 0 else lf
        cdef Py_ssize_t digits_end = pos
        cdef Py_ssize_t i, ext
        cdef unsigned long long size = 0
        cdef unsigned char c
        if line_end - pos > min(self.max_chunk_line, BIG) - 1:
            raise _bad("chunk size line too long", 413)
        while digits_end < line_end and CLS[p[digits_end]] & HEX:
            c = p[digits_end]
            if c <= 0x39:
                c -= 0x30
            else:
                c = (c | 0x20) - 0x61 + 10
            # size * 16 + c above 2**63-1: checked before the step (no overflow)
            if size > (C_MAX_CHUNK_SIZE - c) >> 4:
                raise _bad("chunk size too large", 413)
            size = (size << 4) | c
            digits_end += 1
        if lf < 0:
            return -1
        if lf == pos or p[lf - 1] != 0x0D:
            raise _bad("chunk size line not ended by CRLF")
        if digits_end == pos:
            raise _bad("invalid chunk size")
        ext = digits_end
        while ext < lf - 1 and (p[ext] == 0x20 or p[ext] == 0x09):
            ext += 1
        if ext - digits_end > MAX_CHUNK_BWS:
            raise _bad("invalid chunk size")
        if ext < lf - 1:
            # ";" then extension bytes without controls (HT allowed).
            if p[ext] != 0x3B:
                raise _bad("invalid chunk extension")
            for i in range(ext + 1, lf - 1):
                if not (CLS[p[i]] & (VCHAR_OBS | WS)):
                    raise _bad("invalid chunk extension")
        if size == 0:
            self._state = ST_TRAILER
        else:
            self._state = ST_DATA
            self._remaining = size
        return lf + 1

    cdef Py_ssize_t _trailer_line(self, cbytes p, Py_ssize_t pos, Py_ssize_t n) except -2:
        cdef Py_ssize_t lf = _find_lf(p, pos, n)
        cdef Py_ssize_t name_end, vs, ve
        if lf < 0:
            if self._trailer_bytes + (n - pos) > min(self.max_trailers_size, BIG) + 2:
                raise _bad("trailer section too large")
            return -1
        if lf == pos or p[lf - 1] != 0x0D:
            raise _bad("trailer line not ended by CRLF")
        if lf - 1 == pos:
            self._state = ST_DONE
            self.done = True
            return lf + 1
        self._trailer_bytes += lf - 1 - pos + 2
        if self._trailer_bytes > self.max_trailers_size:
            raise _bad("trailer section too large")
        if memchr(p + pos, 0x0D, lf - 1 - pos) != NULL:
            raise _bad("bare CR in trailer")
        _parse_field(p, pos, lf - 1, &name_end, &vs, &ve)
        self.trailers.append((_latin1(p + pos, name_end - pos), _latin1(p + vs, ve - vs)))
        return lf + 1

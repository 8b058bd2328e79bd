# cython: language_level=3
"""Basic credentials (compiled; twin: fastdispatch/_pure/_auth.py).

Same names and results as the pure twin, which is the specification; read it
first. The header value is scanned in place (an ASCII str is stored one byte
per character) and decoded into a stack buffer.
"""
cimport cython
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.unicode cimport (
    PyUnicode_1BYTE_DATA, PyUnicode_DATA, PyUnicode_DecodeLatin1, PyUnicode_GET_LENGTH,
    PyUnicode_KIND, PyUnicode_READ,
)
from libc.string cimport memchr

cdef extern from "Python.h":
    bint PyUnicode_IS_ASCII(object o)
    int PyUnicode_READY(object o) except -1

# Credentials that decode to up to this many bytes are decoded on the stack.
cdef enum:
    STACK_BUF = 768

# RFC 4648 section 4 alphabet: value 0..63, or -1 (including "=").
cdef signed char _B64VAL[256]


cdef void _init_b64():
    cdef int c
    cdef bytes alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    for c in range(256):
        _B64VAL[c] = -1
    for c in range(64):
        _B64VAL[alphabet[c]] = c


_init_b64()


cdef inline bint _is_ows(unsigned char c) noexcept nogil:
    return c == b" " or c == b"\t"


@cython.boundscheck(False)
@cython.wraparound(False)
cdef Py_ssize_t _b64decode_strict(const unsigned char *src, Py_ssize_t n,
                                  unsigned char *out) noexcept nogil:
    """Strict RFC 4648 decoding of src[0:n] into out (room for n / 4 * 3
    bytes); the decoded length, or -1 when src is not strict base64."""
    cdef Py_ssize_t padding = 0, data_len, i, j = 0
    cdef int a, b, c, d
    if n % 4:
        return -1
    while padding < n and src[n - 1 - padding] == b"=":
        padding += 1
    if padding > 2:
        return -1
    data_len = n - padding
    # Whole quanta: i + 3 < data_len, so src[i .. i + 3] are data characters.
    i = 0
    while i + 3 < data_len:
        a = _B64VAL[src[i]]
        b = _B64VAL[src[i + 1]]
        c = _B64VAL[src[i + 2]]
        d = _B64VAL[src[i + 3]]
        if (a | b | c | d) < 0:
            return -1
        out[j] = <unsigned char>((a << 2) | (b >> 4))
        out[j + 1] = <unsigned char>(((b & 0x0F) << 4) | (c >> 2))
        out[j + 2] = <unsigned char>(((c & 0x03) << 6) | d)
        i += 4
        j += 3
    # The padded last quantum: data_len - i is 2 (with "==") or 3 (with "=").
    if padding:
        a = _B64VAL[src[i]]
        b = _B64VAL[src[i + 1]]
        if (a | b) < 0:
            return -1
        out[j] = <unsigned char>((a << 2) | (b >> 4))
        j += 1
        if padding == 1:
            c = _B64VAL[src[i + 2]]
            if c < 0:
                return -1
            out[j] = <unsigned char>(((b & 0x0F) << 4) | (c >> 2))
            j += 1
    return j


def parse_basic(str value):
    """(user, password) from an Authorization header value, or None; see the
    pure twin."""
    if value is None:
        return None
    PyUnicode_READY(value)
    if not PyUnicode_IS_ASCII(value):
        # Scheme, spaces and base64 are all ASCII: the twin returns None too.
        return None
    cdef const unsigned char *data = PyUnicode_1BYTE_DATA(value)
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(value)
    cdef Py_ssize_t start = 0, end = n, scheme_end, token
    # start < end keeps every read inside data[0:n].
    while start < end and _is_ows(data[start]):
        start += 1
    while end > start and _is_ows(data[end - 1]):
        end -= 1
    scheme_end = start
    while scheme_end < end and data[scheme_end] != b" ":   # (ap_getword(' '))
        scheme_end += 1
    # "basic" in any case: OR-ing 0x20 lower-cases ASCII letters only, and
    # maps no other byte onto a lower-case letter.
    if (scheme_end - start != 5
            or data[start] | 0x20 != b"b" or data[start + 1] | 0x20 != b"a"
            or data[start + 2] | 0x20 != b"s" or data[start + 3] | 0x20 != b"i"
            or data[start + 4] | 0x20 != b"c"):
        return None
    token = scheme_end
    while token < end and _is_ows(data[token]):
        token += 1
    if token == scheme_end:
        return None                     # no space after the scheme

    cdef unsigned char stack_buf[STACK_BUF]
    cdef unsigned char *out = stack_buf
    cdef Py_ssize_t out_len
    cdef const unsigned char *colon
    if (end - token) // 4 * 3 > STACK_BUF:
        out = <unsigned char *>PyMem_Malloc((end - token) // 4 * 3)
        if out == NULL:
            raise MemoryError()
    try:
        out_len = _b64decode_strict(data + token, end - token, out)
        if out_len < 0:
            return None
        colon = <const unsigned char *>memchr(out, b":", out_len)
        if colon == NULL:
            return None
        return (PyUnicode_DecodeLatin1(<char *>out, colon - out, NULL),
                PyUnicode_DecodeLatin1(<char *>colon + 1, out_len - (colon - out) - 1, NULL))
    finally:
        if out != stack_buf:
            PyMem_Free(out)


def basic_challenge(str realm not None):
    """'Basic realm="..."' with '"' and "\\" escaped; ValueError for a control
    character other than HTAB. See the pure twin."""
    PyUnicode_READY(realm)
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(realm), i
    cdef int kind = PyUnicode_KIND(realm)
    cdef void *data = PyUnicode_DATA(realm)
    cdef Py_UCS4 c
    cdef bint needs_escape = False
    for i in range(n):          # i < n: PyUnicode_READ stays in the string
        c = PyUnicode_READ(kind, data, i)
        if (c < 0x20 and c != 0x09) or c == 0x7F:
            raise ValueError("control character in realm: %r" % realm)
        if c == 0x22 or c == 0x5C:
            needs_escape = True
    if needs_escape:
        realm = realm.replace("\\", "\\\\").replace('"', '\\"')
    return 'Basic realm="' + realm + '"'

# cython: language_level=3
"""Request-target to path, query and file (compiled; twin: fastdispatch/_pure/_uri.py).

Same names, results and errors as the pure twin, which is the specification;
read it first. Here strings are scanned in typed C loops: wire text (every
character <= U+00FF) is stored by CPython as one byte per character, so its
latin-1 bytes are read in place without copying; any other str is encoded
once (UTF-8), as the twin does.
"""
cimport cython
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.unicode cimport (
    PyUnicode_1BYTE_DATA, PyUnicode_1BYTE_KIND, PyUnicode_DATA, PyUnicode_DecodeUTF8,
    PyUnicode_FromKindAndData, PyUnicode_GET_LENGTH, PyUnicode_KIND, PyUnicode_READ,
    PyUnicode_Substring,
)
from libc.errno cimport ENOENT, ENOTDIR, errno
from libc.stdint cimport uint8_t, uint16_t, uint32_t
from libc.string cimport memchr, memcpy
from posix.stat cimport S_ISDIR, stat, struct_stat
from posix.time cimport CLOCK_MONOTONIC, clock_gettime, timespec

import os
import re
import threading

from fastdispatch.errors import HTTPError

# uri-host [":" port] of an absolute-form target, checked as the Host field is
# (RFC 9112 3.2.2, RFC 3986 3.2.2): a bracketed IP literal or a reg-name.
_AUTHORITY = re.compile(r"(?:\[[0-9A-Za-z:._~!$&'()*+,;=%-]+\]"
                        r"|[0-9A-Za-z._~!$&'()*+,;=%-]*)(?::[0-9]*)?\Z")

cdef extern from "Python.h":
    bint PyUnicode_IS_ASCII(object o)
    int PyUnicode_READY(object o) except -1

# Decoded results up to this many bytes are built on the stack.
cdef enum:
    STACK_BUF = 1024

cdef signed char _HEXVAL[256]


cdef void _init_hex():
    cdef int c
    for c in range(256):
        _HEXVAL[c] = -1
    for c in range(10):
        _HEXVAL[ord("0") + c] = c
    for c in range(6):
        _HEXVAL[ord("a") + c] = 10 + c
        _HEXVAL[ord("A") + c] = 10 + c


_init_hex()


cdef inline bint _is_wire(str text) except -1:
    """True when every character is <= U+00FF (one byte each, read in place)."""
    PyUnicode_READY(text)
    return PyUnicode_KIND(text) == PyUnicode_1BYTE_KIND


# --- split_target --------------------------------------------------------

def split_target(str target not None):
    """Split a request-target into (path, query); see the pure twin."""
    PyUnicode_READY(target)
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(target)
    cdef int kind = PyUnicode_KIND(target)
    cdef void *data = PyUnicode_DATA(target)
    cdef Py_ssize_t i, question = -1
    cdef Py_UCS4 c
    # i < n: PyUnicode_READ never leaves the string.
    for i in range(n):
        c = PyUnicode_READ(kind, data, i)
        if c == u"#":
            raise HTTPError(400, "fragment in request-target")
        if c == u"?" and question < 0:
            question = i
    if n == 0:
        raise HTTPError(400, "invalid request-target")
    c = PyUnicode_READ(kind, data, 0)
    if c == u"/":
        if question < 0:
            return target, None
        return PyUnicode_Substring(target, 0, question), PyUnicode_Substring(target, question + 1, n)
    if n == 1 and c == u"*":
        return "*", None
    return _split_absolute(target)


cdef tuple _split_absolute(str target):
    """absolute-form: rare, written as the twin is."""
    scheme, sep, after = target.partition("://")
    if not sep or scheme.lower() not in ("http", "https") or not scheme.isascii():
        raise HTTPError(400, "invalid request-target")
    cdef Py_ssize_t slash = after.find("/")
    cdef Py_ssize_t question = after.find("?")
    cdef Py_ssize_t end = len(after)
    if slash >= 0:
        end = slash
    if 0 <= question < end:
        end = question
    authority = after[:end]
    if not authority or "@" in authority or _AUTHORITY.match(authority) is None:
        raise HTTPError(400, "invalid authority in request-target")
    rest = after[end:]
    if not rest.startswith("/"):
        rest = "/" + rest
    path, sep, query = rest.partition("?")
    return path, (query if sep else None)


# --- unquote_path --------------------------------------------------------

@cython.boundscheck(False)
@cython.wraparound(False)
cdef int _unescape_path(const unsigned char *src, Py_ssize_t n, unsigned char *out,
                        Py_ssize_t *out_len, bint allow_slash) noexcept nogil:
    """Decode %XX from src[0:n] into out (room for n bytes): 0 when all is well,
    400 for a bad escape, 404 for an encoded NUL or (unless allowed) "/"."""
    cdef Py_ssize_t i = 0, j = 0
    cdef int hi, lo, decoded
    cdef bint bad_escape = False, forbidden = False
    while i < n:
        if src[i] != b"%":
            out[j] = src[i]
            i += 1
        else:
            # src[i + 1] and src[i + 2] are read only when i + 2 < n.
            hi = _HEXVAL[src[i + 1]] if i + 2 < n else -1
            lo = _HEXVAL[src[i + 2]] if hi >= 0 else -1
            if lo < 0:
                bad_escape = True
                out[j] = src[i]
                i += 1
            else:
                decoded = (hi << 4) | lo
                if decoded == 0 or (decoded == 0x2F and not allow_slash):
                    forbidden = True
                out[j] = <unsigned char>decoded
                i += 3
        j += 1      # j <= i <= n: out has room for n bytes
    out_len[0] = j
    if bad_escape:
        return 400
    if forbidden:
        return 404
    return 0


def unquote_path(str raw not None, bint allow_encoded_slash=False):
    """Strict %XX decoding of a URL path, as Apache; see the pure twin."""
    cdef const unsigned char *data
    cdef Py_ssize_t n
    cdef bytes encoded
    if _is_wire(raw):
        data = PyUnicode_1BYTE_DATA(raw)
        n = PyUnicode_GET_LENGTH(raw)
        if memchr(data, b"%", n) == NULL and PyUnicode_IS_ASCII(raw):
            return raw          # nothing to decode: ASCII is its own UTF-8
    else:
        try:
            encoded = raw.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            raise HTTPError(400, "undecodable character in path") from None
        data = <const unsigned char *><const char *>encoded
        n = len(encoded)
    if memchr(data, b"%", n) == NULL:
        return PyUnicode_DecodeUTF8(<const char *>data, n, "surrogateescape")

    cdef unsigned char stack_buf[STACK_BUF]
    cdef unsigned char *out = stack_buf
    cdef Py_ssize_t out_len = 0
    cdef int status
    if n > STACK_BUF:
        out = <unsigned char *>PyMem_Malloc(n)
        if out == NULL:
            raise MemoryError()
    try:
        status = _unescape_path(data, n, out, &out_len, allow_encoded_slash)
        if status == 400:
            raise HTTPError(400, "bad %-escape in path")
        if status == 404:
            raise HTTPError(404, "encoded '/' or NUL in path")
        return PyUnicode_DecodeUTF8(<char *>out, out_len, "surrogateescape")
    finally:
        if out != stack_buf:
            PyMem_Free(out)


# --- normalize_path ------------------------------------------------------

cdef inline Py_ssize_t _segment_end(int kind, void *data, Py_ssize_t start, Py_ssize_t n) noexcept:
    """Index of the next "/" at or after start, or n."""
    while start < n and PyUnicode_READ(kind, data, start) != u"/":
        start += 1
    return start


cdef inline int _dot_kind(int kind, void *data, Py_ssize_t start, Py_ssize_t end) noexcept:
    """1 for a "." segment data[start:end], 2 for "..", 0 otherwise."""
    if end - start == 1 and PyUnicode_READ(kind, data, start) == u".":
        return 1
    if (end - start == 2 and PyUnicode_READ(kind, data, start) == u"."
            and PyUnicode_READ(kind, data, start + 1) == u"."):
        return 2
    return 0


cdef inline void _put_slash(char *out, Py_ssize_t pos, int kind) noexcept:
    """Store "/" at out[pos] in a buffer of kind-byte characters."""
    if kind == 1:
        (<uint8_t *>out)[pos] = 0x2F
    elif kind == 2:
        (<uint16_t *>out)[pos] = 0x2F
    else:
        (<uint32_t *>out)[pos] = 0x2F


cdef Py_ssize_t _kept_segments(int kind, void *data, Py_ssize_t n,
                               Py_ssize_t *kept) noexcept:
    """The segments of path data[:n] that normalization keeps, as (start, end)
    pairs in kept (room for n pairs: each segment follows a "/"): their number,
    or -1 when a ".." climbs above "/". A final "/", "." or ".." names the
    directory it ends in: an empty last pair (n, n) keeps its "/"."""
    cdef Py_ssize_t start = 1, end, count = 0
    cdef int dot
    while True:
        end = _segment_end(kind, data, start, n)
        dot = _dot_kind(kind, data, start, end)
        if dot == 2:
            if count == 0:
                return -1
            count -= 1
        elif dot == 0 and end > start:
            kept[2 * count] = start
            kept[2 * count + 1] = end
            count += 1
        if end >= n:
            break
        start = end + 1
    if count and (dot or end == start):
        kept[2 * count] = n
        kept[2 * count + 1] = n
        count += 1
    return count


def normalize_path(str path not None):
    """Dot segments and repeated slashes, as Apache; see the pure twin."""
    PyUnicode_READY(path)
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(path)
    cdef int kind = PyUnicode_KIND(path)
    cdef void *data = PyUnicode_DATA(path)
    if n == 0 or PyUnicode_READ(kind, data, 0) != u"/":
        raise HTTPError(400, "path does not start with '/'")

    # Fast path: no "." or ".." segment and no empty one but the last (a
    # trailing "/"): nothing to do.
    cdef Py_ssize_t start = 1, end
    cdef bint clean = True
    while True:
        end = _segment_end(kind, data, start, n)
        if end >= n:
            clean = not _dot_kind(kind, data, start, end)
            break
        if end == start or _dot_kind(kind, data, start, end):
            clean = False
            break
        start = end + 1
    if clean:
        return path

    cdef Py_ssize_t *kept = <Py_ssize_t *>PyMem_Malloc(2 * n * sizeof(Py_ssize_t))
    if kept == NULL:
        raise MemoryError()
    cdef char *out = NULL
    cdef Py_ssize_t count, k, length, pos
    try:
        count = _kept_segments(kind, data, n, kept)
        if count < 0:
            raise HTTPError(400, "'..' above the root of the path")
        length = 1
        for k in range(count):
            length += kept[2 * k + 1] - kept[2 * k] + (1 if k else 0)
        out = <char *>PyMem_Malloc(length * kind)
        if out == NULL:
            raise MemoryError()
        # Characters are copied in the input's storage (kind bytes each);
        # PyUnicode_FromKindAndData then picks the narrowest one, as any str.
        _put_slash(out, 0, kind)
        pos = 1
        for k in range(count):
            if k:
                _put_slash(out, pos, kind)
                pos += 1
            memcpy(out + pos * kind, <char *>data + kept[2 * k] * kind,
                   (kept[2 * k + 1] - kept[2 * k]) * kind)
            pos += kept[2 * k + 1] - kept[2 * k]
        return PyUnicode_FromKindAndData(kind, out, length)
    finally:
        PyMem_Free(kept)
        if out != NULL:
            PyMem_Free(out)


# --- parse_qsl -----------------------------------------------------------

@cython.boundscheck(False)
@cython.wraparound(False)
cdef Py_ssize_t _unquote_plus(const unsigned char *src, Py_ssize_t n,
                              unsigned char *out) noexcept nogil:
    """'+' -> ' ', valid %XX -> byte, anything else as is; returns the length
    written to out (room for n bytes: the result is never longer)."""
    cdef Py_ssize_t i = 0, j = 0
    cdef int hi, lo
    cdef unsigned char c
    while i < n:
        c = src[i]
        if c == b"+":
            out[j] = b" "
            i += 1
        elif c == b"%" and i + 2 < n:
            # i + 2 < n: both digits are inside src.
            hi = _HEXVAL[src[i + 1]]
            lo = _HEXVAL[src[i + 2]]
            if hi >= 0 and lo >= 0:
                out[j] = <unsigned char>((hi << 4) | lo)
                i += 3
            else:
                out[j] = c
                i += 1
        else:
            out[j] = c
            i += 1
        j += 1
    return j


cdef inline str _decode_part(const unsigned char *src, Py_ssize_t n, unsigned char *buf):
    cdef Py_ssize_t m = _unquote_plus(src, n, buf)
    return PyUnicode_DecodeUTF8(<char *>buf, m, "replace")


def parse_qsl(str qs not None, bint keep_blank_values=False):
    """mod_python's util.parse_qsl; see the pure twin."""
    cdef const unsigned char *data
    cdef Py_ssize_t n
    cdef bytes encoded
    if _is_wire(qs):
        data = PyUnicode_1BYTE_DATA(qs)
        n = PyUnicode_GET_LENGTH(qs)
    else:
        encoded = qs.encode("utf-8", "surrogatepass")
        data = <const unsigned char *><const char *>encoded
        n = len(encoded)

    cdef list pairs = []
    cdef unsigned char stack_buf[STACK_BUF]
    cdef unsigned char *buf = stack_buf
    if n > STACK_BUF:
        buf = <unsigned char *>PyMem_Malloc(n)
        if buf == NULL:
            raise MemoryError()
    cdef Py_ssize_t i = 0, start, end, eq, vstart
    try:
        while i < n:
            start = i
            while i < n and data[i] != b"&" and data[i] != b";":
                i += 1
            end = i
            i += 1                          # past the separator
            if end == start:
                continue
            eq = start
            while eq < end and data[eq] != b"=":
                eq += 1
            vstart = eq + 1 if eq < end else end
            if vstart < end or keep_blank_values:
                pairs.append((_decode_part(data + start, eq - start, buf),
                              _decode_part(data + vstart, end - vstart, buf)))
        return pairs
    finally:
        if buf != stack_buf:
            PyMem_Free(buf)


# --- map_to_storage ------------------------------------------------------

CACHE_SIZE = 4096     # entries
CACHE_TTL = 1.0       # seconds an answer is trusted
cdef Py_ssize_t _CACHE_SIZE = CACHE_SIZE
cdef double _CACHE_TTL = CACHE_TTL

# (root, path) -> (expires_at, (filename, path_info)); the same policy as the
# twin: insertion-ordered, refreshed entries re-inserted at the end, the
# first (closest to expiry) evicted when full; hits take no lock.
cdef dict _cache = {}
_cache_lock = threading.Lock()


cdef inline double _monotonic() noexcept nogil:
    """time.monotonic(): CPython reads the same clock on Linux."""
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return ts.tv_sec + ts.tv_nsec * 1e-9


def clear_map_cache():
    """Forget every cached map_to_storage answer."""
    with _cache_lock:
        _cache.clear()


def map_cache_size():
    """How many answers map_to_storage holds (for tests and monitoring)."""
    return len(_cache)


cdef int _walk_fs(char *buf, Py_ssize_t base_len, Py_ssize_t n,
                  Py_ssize_t *stop) noexcept nogil:
    """Apache's directory walk over the NUL-terminated file name buf[0:n]:
    stat buf[:b] for each component end b > base_len ("/" or n); set stop to
    the first b that is not a directory or does not exist (n when all are
    directories). Returns 0, or 403 for any other stat error."""
    cdef struct_stat st
    cdef Py_ssize_t b = base_len
    cdef char saved
    cdef int rc
    while b < n:
        b += 1
        while b < n and buf[b] != b"/":
            b += 1
        saved = buf[b]              # b <= n: buf[n] is the terminating NUL
        buf[b] = 0
        rc = stat(buf, &st)
        buf[b] = saved
        if rc != 0:
            if errno == ENOENT or errno == ENOTDIR:
                break
            return 403
        if not S_ISDIR(st.st_mode):
            break
    stop[0] = b
    return 0


def map_to_storage(str root not None, str path not None):
    """(filename, path_info) for a decoded, normalized path; see the pure twin."""
    key = (root, path)
    entry = _cache.get(key)
    cdef double now = _monotonic()
    if entry is not None and <double>(<tuple>entry)[0] > now:
        return (<tuple>entry)[1]
    if not path.startswith("/"):
        raise HTTPError(400, "path does not start with '/'")
    if "\x00" in path or "\x00" in root:
        raise HTTPError(404, "NUL in path")
    base = root.rstrip("/")
    cdef bytes fs_base, fs_name
    try:
        fs_base = os.fsencode(base)
        fs_name = os.fsencode(base + path)
    except UnicodeEncodeError:
        raise HTTPError(404, "path is not a file name") from None
    if _has_dot_segment(path):
        raise HTTPError(400, "path is not normalized")
    result = _walk(base, path, fs_name, len(fs_base))
    with _cache_lock:
        _cache.pop(key, None)
        while len(_cache) >= _CACHE_SIZE:
            del _cache[next(iter(_cache))]
        _cache[key] = (now + _CACHE_TTL, result)
    return result


cdef bint _has_dot_segment(str path) except -1:
    PyUnicode_READY(path)
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(path)
    cdef int kind = PyUnicode_KIND(path)
    cdef void *data = PyUnicode_DATA(path)
    cdef Py_ssize_t start = 1, end          # path[0] is "/"
    while True:
        end = _segment_end(kind, data, start, n)
        if _dot_kind(kind, data, start, end):
            return True
        if end >= n:
            return False
        start = end + 1


cdef tuple _walk(str base, str path, bytes fs_name, Py_ssize_t base_len):
    cdef Py_ssize_t n = len(fs_name)
    cdef char *buf = <char *>PyMem_Malloc(n + 1)
    cdef Py_ssize_t stop = n, slashes = 0, b, i
    cdef int status
    if buf == NULL:
        raise MemoryError()
    try:
        memcpy(buf, <char *>fs_name, n + 1)      # with the terminating NUL
        with nogil:
            status = _walk_fs(buf, base_len, n, &stop)
        if status:
            raise HTTPError(403, "cannot stat a component of the path")
    finally:
        PyMem_Free(buf)
    if stop >= n:
        return base + path, ""
    # stop is the byte offset of a "/". UTF-8 never puts 0x2F inside a
    # multi-byte character, so the k-th "/" byte is the k-th "/" character.
    cdef const char *fs = fs_name
    for b in range(base_len, stop):     # base_len <= b < stop < n
        if fs[b] == b"/":
            slashes += 1
    i = -1
    while slashes >= 0:
        i = path.find("/", i + 1)
        slashes -= 1
    return base + path[:i], path[i:]

# cython: language_level=3
"""Directive lookup (compiled; twin: fastdispatch/_pure/_lookup.py).

Same names, results and errors as the pure twin, which is the specification;
read it first. What differs is how the answer is found:

- ``match`` on a cache hit is one dict look-up keyed by the uri (its hash is
  cached in the str) and an equality test of the filename and walk_file
  against a short chain of entries (one per filename seen with that uri,
  normally one); no tuple key is built. The chain holds exactly the twin's
  (uri, filename, walk_file) keys, and the cache is cleared at the same
  moments.
- The filename's ancestors are not built as strings: one typed scan records
  where each ancestor ends, and plain <Directory> paths, wildcard patterns and
  the <Location> prefix test compare characters in place.
- fnmatch patterns are compiled once: a literal or a ``prefix*suffix`` shape
  (``*.py``, ``/home/*/public``) is tested in place; any other shape uses the
  very regex ``fnmatch.fnmatchcase`` would build.
- A <DirectoryMatch> regex is one search of the filename, as in the twin.
- A wildcard <Location> (apr_fnmatch with APR_FNM_PATHNAME in the twin, a
  port of the C code) is one regex fullmatch of the uri: the pattern is
  read once with apr_fnmatch's own rules into an equivalent regex
  (``_fnmatch_regex``). A uri or pattern that is not a str gets the twin's
  very code (``_location_matches``, imported from it).
"""
cimport cython
from cpython.dict cimport PyDict_GetItemWithError
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.object cimport Py_EQ, PyObject, PyObject_RichCompareBool
from cpython.ref cimport Py_INCREF
from cpython.tuple cimport PyTuple_New, PyTuple_SET_ITEM
from cpython.unicode cimport (
    PyUnicode_DATA, PyUnicode_GET_LENGTH, PyUnicode_KIND, PyUnicode_READ, PyUnicode_Substring,
)
from libc.string cimport memcmp, memset

import re
from fnmatch import fnmatchcase, translate as _fn_translate

from fastdispatch.config.pcre import translate as _pcre
# a uri or pattern that is not a str gets the twin's own test (the same
# answer or the same error): only a str pattern is compiled here
from fastdispatch._pure._lookup import _fnmatch_test, _location_matches

cdef extern from "Python.h":
    int PyUnicode_READY(object o) except -1

cdef enum:
    # Requests with up to this many sections / ancestors use stack buffers.
    STACK_SECTIONS = 128
    STACK_ENDS = 64

cdef enum:
    G_EXACT = 0     # no wildcard: the name equals the pattern
    G_AFFIX = 1     # prefix, one run of "*", suffix
    G_REGEX = 2     # the regex fnmatchcase builds, compiled once
    G_CALL = 3      # fnmatchcase itself (a pattern that is not a str)

cdef enum:
    LOC_REGEX = 0   # <LocationMatch>
    LOC_GLOB = 1    # <Location> with a wildcard (apr_fnmatch_test)
    LOC_PREFIX = 2  # <Location> path prefix, component-wise
    LOC_CALL = 3    # a pattern that is not a str: the twin's own test

# The compiled sections, one array per kind; every PyObject* is owned by
# Lookup._keep.

ctypedef struct _ExactDir:
    # all plain <Directory> sections with one path (shortest path first)
    Py_ssize_t length           # len(path), >= 2 ("/" is kept apart)
    Py_ssize_t first            # their indices: _exact_ids[first:first + count]
    Py_ssize_t count
    PyObject *path              # str (a reference is held in Lookup._keep)


ctypedef struct _WildDir:
    # a wildcard <Directory>, sorted by (depth, index)
    Py_ssize_t depth            # the ancestor it is tested against
    Py_ssize_t index
    PyObject *glob              # _Glob


ctypedef struct _RegexDir:
    # a <DirectoryMatch> / <Directory ~>, in file order
    Py_ssize_t index
    PyObject *search            # the compiled pattern's bound .search


ctypedef struct _FilesSec:
    # a <Files> / <FilesMatch>, in file order
    Py_ssize_t index
    Py_ssize_t parent           # -1: top level; >= 0: that <Directory> must
                                # have applied; -2: never; -3: never, after hash(parent)
    bint regex
    PyObject *matcher           # bound .search (regex) or _Glob
    PyObject *parent_obj


ctypedef struct _LocSec:
    # a <Location> / <LocationMatch>, in file order
    Py_ssize_t index
    int mode                    # LOC_REGEX, LOC_GLOB or LOC_PREFIX
    Py_ssize_t length           # len(pattern)
    bint root                   # pattern == "/"
    bint slash                  # pattern ends with "/"
    PyObject *a                 # bound .search / .fullmatch / pattern
    PyObject *pattern           # str (for a uri that is not a str)


_WILDCARD = re.compile(r"[*?\[]")
cdef str _ROOT = "/"


# --- characters ------------------------------------------------------------

cdef inline bint _same_chars(int kind, void *data, Py_ssize_t start, object p,
                             Py_ssize_t plen) noexcept:
    """s[start:start + plen] == p for the str s of (kind, data). The caller
    guarantees start >= 0, start + plen <= len(s) and plen == len(p) (p is a
    ready str), so every read below is inside both strings."""
    cdef int pkind = PyUnicode_KIND(p)
    cdef void *pdata = PyUnicode_DATA(p)
    cdef Py_ssize_t i
    if pkind == kind:
        return memcmp(<char *>data + start * kind, pdata, plen * kind) == 0
    for i in range(plen):
        if PyUnicode_READ(kind, data, start + i) != PyUnicode_READ(pkind, pdata, i):
            return False
    return True


cdef inline bint _same_key(object a, object b) except -1:
    """The filename half of the twin's tuple-key equality."""
    cdef Py_ssize_t n
    if a is b:
        return True
    if type(a) is str and type(b) is str:
        PyUnicode_READY(a)
        PyUnicode_READY(b)
        n = PyUnicode_GET_LENGTH(a)
        return n == PyUnicode_GET_LENGTH(b) and _same_chars(
            PyUnicode_KIND(a), PyUnicode_DATA(a), 0, b, n)
    return PyObject_RichCompareBool(a, b, Py_EQ)


cdef inline str _exact_str(object s):
    """A str subclass as a plain str (the C tests read its characters)."""
    if type(s) is not str:
        s = str.__str__(s)
    PyUnicode_READY(s)
    return <str>s


def _depth(path):
    return 0 if path == "/" else path.count("/")


# --- apr_fnmatch as a regex ----------------------------------------------------
#
# For a str pattern, the same answer as _fnmatch(pattern, uri) for every str
# uri: the pattern is read element by element as apr_fnmatch reads it (each
# element but "*" matches exactly one character that is not "/", so the
# greedy walk of the C code finds a match exactly when the regex does).

cdef str _cp(Py_UCS4 c):
    """One character as an escape valid in and out of a regex class."""
    cdef unsigned long cp = c
    if cp < 0x100:
        return "\\x%02x" % cp
    if cp < 0x10000:
        return "\\u%04x" % cp
    return "\\U%08x" % cp


cdef tuple _fnmatch_bracket(str p, Py_ssize_t i):
    """The bracket expression at p[i] == "[" as fnmatch_ch reads it:
    (negate, [(lo, hi), ...], index after the "]"), or None when it is no
    bracket (then the "[" is a literal)."""
    cdef Py_ssize_t n = len(p)
    cdef bint negate, leading
    i += 1
    negate = i < n and (p[i] == "!" or p[i] == "^")
    if negate:
        i += 1
    items = []
    leading = i < n and p[i] == "]"
    while leading or i < n:
        if not leading:
            if p[i] == "]":
                return negate, items, i + 1
            if p[i] == "\\":
                i += 1
                if i >= n:
                    return None
            if p[i] == "/":
                return None
        leading = False
        if i + 1 < n and p[i + 1] == "-" and (i + 2 >= n or p[i + 2] != "]"):
            lo = p[i]
            i += 3 if i + 2 < n and p[i + 2] == "\\" else 2
            if i >= n or p[i] == "/":
                return None
            items.append((lo, p[i]))
            i += 1
            continue
        items.append((p[i], p[i]))
        i += 1
    return None


def _fnmatch_regex(str pattern):
    """A regex whose fullmatch is apr_fnmatch(pattern, ., APR_FNM_PATHNAME)."""
    cdef Py_ssize_t i = 0, n = len(pattern)
    out = []
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            # "\/" is a "/"; "\x" a literal x
            out.append("/" if pattern[i + 1] == "/" else _cp(pattern[i + 1]))
            i += 2
        elif c == "/":
            out.append("/")
            i += 1
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            br = _fnmatch_bracket(pattern, i)
            if br is None:
                out.append(_cp(c))
                i += 1
                continue
            negate, items, i = br
            # a range such as "+-0" holds "/", which is never in a segment;
            # a range from high to low holds nothing
            spans = "".join(_cp(lo) if lo == hi else _cp(lo) + "-" + _cp(hi)
                            for lo, hi in items if lo <= hi)
            if negate:
                out.append("[^%s/]" % spans)
            elif not spans:
                out.append("(?!)")
            else:
                out.append("(?!/)[%s]" % spans)
        else:
            out.append(_cp(c))
            i += 1
    return re.compile("".join(out), re.DOTALL)


cdef inline void _file_order(Py_ssize_t *out, Py_ssize_t start, Py_ssize_t end) noexcept:
    """Sort out[start:end] (the sections of one depth, a handful) ascending:
    Apache merges sections of the same depth in file order."""
    cdef Py_ssize_t i, j, v
    for i in range(start + 1, end):
        v = out[i]
        j = i
        while j > start and out[j - 1] > v:
            out[j] = out[j - 1]
            j -= 1
        out[j] = v


# --- public types ------------------------------------------------------------

cdef class SectionSpec:
    """What lookup needs of a section: kind is "directory", "files" or
    "location"; parent is the index of an enclosing <Directory> or -1."""

    cdef public object kind
    cdef public object pattern
    cdef public object regex
    cdef public object parent

    def __init__(self, kind, pattern, regex=False, parent=-1):
        self.kind = kind
        self.pattern = pattern
        self.regex = regex
        self.parent = parent


cdef class _Glob:
    """fnmatchcase(name, pattern), compiled once."""

    cdef int mode
    cdef str prefix
    cdef str suffix         # G_AFFIX: name[:plen] == prefix, name[-slen:] == suffix
    cdef Py_ssize_t plen
    cdef Py_ssize_t slen
    cdef object rx_match    # G_REGEX
    cdef object pattern

    def __cinit__(self, pattern):
        cdef Py_ssize_t first, last
        self.pattern = pattern
        self.mode = G_CALL
        self.prefix = self.suffix = ""
        if not isinstance(pattern, str):
            return
        p = _exact_str(pattern)
        if _WILDCARD.search(p) is None:
            self.mode = G_EXACT
            self.prefix = p
            self.plen = len(p)
            return
        first = p.find("*")
        last = p.rfind("*")
        if first >= 0 and "?" not in p and "[" not in p and p[first:last + 1].strip("*") == "":
            self.mode = G_AFFIX
            self.prefix = _exact_str(p[:first])
            self.suffix = _exact_str(p[last + 1:])
            self.plen = len(self.prefix)
            self.slen = len(self.suffix)
            return
        try:
            self.rx_match = re.compile(_fn_translate(p)).match
            self.mode = G_REGEX
        except Exception:  # noqa: BLE001 - fnmatchcase will raise it at match time
            pass

    cdef bint test(self, str s, Py_ssize_t start, Py_ssize_t end) except -1:
        """fnmatchcase(s[start:end], pattern); 0 <= start <= end <= len(s)."""
        cdef Py_ssize_t n = end - start
        cdef int kind
        cdef void *data
        if self.mode == G_EXACT or self.mode == G_AFFIX:
            if n < self.plen + self.slen or (self.mode == G_EXACT and n != self.plen):
                return False
            kind = PyUnicode_KIND(s)
            data = PyUnicode_DATA(s)
            # n >= plen + slen: both the prefix and the suffix fit in s[start:end]
            return _same_chars(kind, data, start, self.prefix, self.plen) and \
                _same_chars(kind, data, end - self.slen, self.suffix, self.slen)
        if self.mode == G_REGEX:
            # match(s, start, end) sees exactly s[start:end]: fnmatch's regex
            # has no look-behind and no start anchor
            return self.rx_match(s, start, end) is not None
        return fnmatchcase(s[start:end], self.pattern)


@cython.final
cdef class _Entry:
    """One cached (uri, filename, walk_file) -> merged; chained per uri."""
    cdef object filename
    cdef bint walk_file
    cdef object merged
    cdef _Entry next


cdef class Lookup:
    """Lookup(sections, merge_fn, cache_size=4096); see the pure twin."""

    cdef object _merge_fn
    cdef object _cache_size
    cdef Py_ssize_t _csize          # _cache_size as a C integer, when _csize_ok
    cdef bint _csize_ok
    cdef dict _cache                # uri -> _Entry chain (one per filename)
    cdef Py_ssize_t _count          # entries in the chains: len() of the twin's cache
    cdef dict _merged               # indices tuple -> merge_fn(indices)
    cdef Py_ssize_t _n              # number of sections
    cdef tuple _idx                 # int objects 0 .. _n - 1
    cdef list _keep                 # owns what the arrays below point to
    cdef Py_ssize_t *_root_ids      # <Directory "/">
    cdef Py_ssize_t _n_root
    cdef _ExactDir *_exact
    cdef Py_ssize_t _n_exact
    cdef Py_ssize_t *_exact_ids
    cdef _WildDir *_wild
    cdef Py_ssize_t _n_wild
    cdef _RegexDir *_rdir
    cdef Py_ssize_t _n_rdir
    cdef _FilesSec *_files
    cdef Py_ssize_t _n_files
    cdef _LocSec *_locs
    cdef Py_ssize_t _n_locs

    def __cinit__(self, *args, **kwargs):
        self._cache = {}
        self._merged = {}
        self._idx = ()
        self._keep = []
        self._cache_size = 4096

    def __dealloc__(self):
        self._release()

    cdef void _release(self) noexcept:
        PyMem_Free(self._root_ids)
        PyMem_Free(self._exact)
        PyMem_Free(self._exact_ids)
        PyMem_Free(self._wild)
        PyMem_Free(self._rdir)
        PyMem_Free(self._files)
        PyMem_Free(self._locs)
        self._root_ids = NULL
        self._exact = NULL
        self._exact_ids = NULL
        self._wild = NULL
        self._rdir = NULL
        self._files = NULL
        self._locs = NULL
        self._n = self._n_root = self._n_exact = self._n_wild = 0
        self._n_rdir = self._n_files = self._n_locs = 0

    def __init__(self, sections, merge_fn, cache_size=4096):
        self._release()
        self._merge_fn = merge_fn
        self._cache_size = cache_size
        self._csize_ok = False
        if type(cache_size) is int and -(1 << 62) < cache_size < (1 << 62):
            self._csize = cache_size
            self._csize_ok = True
        self._cache = {}
        self._count = 0
        self._merged = {}
        keep = self._keep = []

        # Read the sections exactly as the twin does (same attributes, same
        # order, same errors), into Python lists first.
        root, exact, wild, rdirs, files, locs = [], {}, [], [], [], []
        n = 0
        for i, s in enumerate(sections):
            n = i + 1
            if s.kind == "directory":
                if s.regex:
                    rdirs.append((i, re.compile(_pcre(s.pattern))))
                elif _WILDCARD.search(s.pattern):
                    pattern = _exact_str(s.pattern)
                    wild.append((_depth(pattern), i, _Glob(pattern)))
                else:
                    pattern = _exact_str(s.pattern)
                    if pattern == "/":
                        root.append(i)
                    elif len(pattern) >= 2:  # no ancestor but "/" is shorter
                        exact.setdefault(pattern, []).append(i)
            elif s.kind == "files":
                parent = s.parent
                if s.regex:
                    files.append((i, parent, True, re.compile(_pcre(s.pattern)).search))
                else:
                    files.append((i, parent, False, _Glob(s.pattern)))
            elif s.kind == "location":
                if s.regex:
                    locs.append((i, LOC_REGEX, re.compile(_pcre(s.pattern)).search))
                else:
                    locs.append((i, -1, s.pattern))
            else:
                raise ValueError("unknown section kind %r" % s.kind)

        self._n = n
        self._idx = tuple(range(n))
        self._build_dirs(root, exact, wild, rdirs)
        self._build_files(files)
        self._build_locations(locs)

    cdef void *_alloc(self, Py_ssize_t count, size_t size) except NULL:
        cdef void *p = PyMem_Malloc(max(count, 1) * size)
        if p == NULL:
            raise MemoryError()
        return p

    cdef int _build_dirs(self, list root, dict exact, list wild, list rdirs) except -1:
        cdef Py_ssize_t k, pos
        cdef _ExactDir *ed
        cdef _RegexDir *rd
        self._n_root = len(root)
        self._root_ids = <Py_ssize_t *>self._alloc(len(root), sizeof(Py_ssize_t))
        for k in range(len(root)):
            self._root_ids[k] = root[k]

        # plain paths grouped, shortest first; their indices stay in file order
        paths = sorted(exact, key=len)
        self._n_exact = len(paths)
        self._exact = <_ExactDir *>self._alloc(len(paths), sizeof(_ExactDir))
        self._exact_ids = <Py_ssize_t *>self._alloc(
            sum(len(v) for v in exact.values()), sizeof(Py_ssize_t))
        pos = 0
        for k, path in enumerate(paths):
            self._keep.append(path)
            ed = &self._exact[k]
            ed.length = len(path)
            ed.first = pos
            ed.count = len(exact[path])
            ed.path = <PyObject *>path
            for i in exact[path]:
                self._exact_ids[pos] = i
                pos += 1

        wild.sort(key=lambda t: (t[0], t[1]))
        self._n_wild = len(wild)
        self._wild = <_WildDir *>self._alloc(len(wild), sizeof(_WildDir))
        for k, (depth, i, glob) in enumerate(wild):
            self._keep.append(glob)
            self._wild[k].depth = depth
            self._wild[k].index = i
            self._wild[k].glob = <PyObject *>glob

        self._n_rdir = len(rdirs)
        self._rdir = <_RegexDir *>self._alloc(len(rdirs), sizeof(_RegexDir))
        for k, (i, rx) in enumerate(rdirs):
            search = rx.search
            self._keep.append(search)
            rd = &self._rdir[k]
            rd.index = i
            rd.search = <PyObject *>search
        return 0

    cdef int _build_files(self, list files) except -1:
        cdef Py_ssize_t k
        cdef _FilesSec *f
        self._n_files = len(files)
        self._files = <_FilesSec *>self._alloc(len(files), sizeof(_FilesSec))
        for k, (i, parent, regex, matcher) in enumerate(files):
            self._keep.append(parent)
            self._keep.append(matcher)
            f = &self._files[k]
            f.index = i
            f.regex = regex
            f.matcher = <PyObject *>matcher
            f.parent_obj = <PyObject *>parent
            f.parent = _parent_slot(parent, self._n)
        return 0

    cdef int _build_locations(self, list locs) except -1:
        cdef Py_ssize_t k
        cdef _LocSec *loc
        self._n_locs = len(locs)
        self._locs = <_LocSec *>self._alloc(len(locs), sizeof(_LocSec))
        for k, (i, mode, obj) in enumerate(locs):
            self._keep.append(obj)
            loc = &self._locs[k]
            loc.index = i
            loc.pattern = <PyObject *>obj
            loc.a = <PyObject *>obj
            loc.length = 0
            loc.root = loc.slash = False
            if mode == LOC_REGEX:
                loc.mode = LOC_REGEX
            elif type(obj) is not str:  # a subclass too: the twin's test, as is
                loc.mode = LOC_CALL
            elif _fnmatch_test(obj):
                loc.mode = LOC_GLOB
                a = _fnmatch_regex(obj).fullmatch
                self._keep.append(a)
                loc.a = <PyObject *>a
            else:
                PyUnicode_READY(obj)
                loc.mode = LOC_PREFIX
                loc.length = len(obj)
                loc.root = obj == "/"
                loc.slash = obj.endswith("/")
        return 0

    # --- per request -------------------------------------------------------

    def match(self, uri, filename, walk_file=False):
        """merge_fn(sections_for(uri, filename, walk_file)), cached (see the twin)."""
        cdef PyObject *p = PyDict_GetItemWithError(self._cache, uri)
        cdef _Entry e
        cdef bint walk = walk_file
        if p is not NULL:
            e = <_Entry>p
            while e is not None:
                if e.walk_file == walk and _same_key(e.filename, filename):
                    if e.merged is not None:
                        return e.merged
                    break
                e = e.next
        return self._miss(uri, filename, walk)

    cdef bint _full(self, Py_ssize_t size) except -1:
        """The twin's ``len(cache) >= self._cache_size``."""
        if self._csize_ok:
            return size >= self._csize
        return bool(size >= self._cache_size)

    cdef object _miss(self, object uri, object filename, bint walk_file):
        cdef PyObject *p
        cdef _Entry e, new, head = None
        hash(filename)  # the twin hashes (uri, filename, walk_file) first
        if type(self) is Lookup:
            indices = self._sections_for(uri, filename, walk_file)
        else:  # the twin calls self.sections_for: a subclass may override it
            indices = self.sections_for(uri, filename, walk_file)
        p = PyDict_GetItemWithError(self._merged, indices)
        if p is not NULL and <object>p is not None:
            merged = <object>p
        else:
            merged = self._merge_fn(indices)
            if self._full(len(self._merged)):
                self._merged.clear()
            self._merged[indices] = merged
        if self._full(self._count):
            self._cache.clear()
            self._count = 0
        # Allocated first: from the look-up below to the insertion no Python
        # code runs (an allocation may run the GC, and finalizers, and let
        # another thread in), so the chain and the count stay in step.
        new = _Entry.__new__(_Entry)
        new.filename = filename
        new.walk_file = walk_file
        new.merged = merged
        # (looked up again: merge_fn may have used this lookup)
        p = PyDict_GetItemWithError(self._cache, uri)
        if p is not NULL:
            head = <_Entry>p
            e = head
            while e is not None:
                if e.walk_file == walk_file and _same_key(e.filename, filename):
                    e.merged = merged
                    return merged
                e = e.next
        new.next = head
        self._cache[uri] = new
        self._count += 1
        return merged

    def sections_for(self, uri, filename, walk_file=False):
        """Indices of the sections that apply, in merge order (see the twin)."""
        return self._sections_for(uri, filename, walk_file)

    @cython.boundscheck(False)  # out[k] < self._n == len(self._idx): a section index
    @cython.wraparound(False)
    cdef tuple _sections_for(self, object uri, object filename, bint walk_file):
        cdef Py_ssize_t stack_out[STACK_SECTIONS]
        cdef char stack_applied[STACK_SECTIONS]
        cdef Py_ssize_t *out = stack_out
        cdef char *applied = stack_applied
        cdef Py_ssize_t cnt = 0, k
        cdef tuple result
        if self._n > STACK_SECTIONS:
            # each section appears at most once in the answer
            out = <Py_ssize_t *>self._alloc(self._n, sizeof(Py_ssize_t) + 1)
            applied = <char *>(out + self._n)
        try:
            if isinstance(filename, str):
                PyUnicode_READY(filename)
                if PyUnicode_GET_LENGTH(filename) > 0:
                    memset(applied, 0, self._n)
                    cnt = self._directories(<str>filename, walk_file, out, applied)
                    cnt = self._files_for(<str>filename, out, cnt, applied)
            elif filename:
                filename.find("/", 1)  # what the twin does first with it: same error
                raise TypeError("filename must be a str or None, not %s"
                                % type(filename).__name__)
            cnt = self._locations(uri, out, cnt)
            result = PyTuple_New(cnt)
            for k in range(cnt):
                item = self._idx[out[k]]
                Py_INCREF(item)
                PyTuple_SET_ITEM(result, k, item)
        finally:
            if out != stack_out:
                PyMem_Free(out)
        return result

    cdef Py_ssize_t _directories(self, str filename, bint walk_file, Py_ssize_t *out,
                                 char *applied) except -1:
        """1. plain and wildcard <Directory>, by depth then file order; 2.
        regex ones. Returns the count written to out."""
        cdef Py_ssize_t n = PyUnicode_GET_LENGTH(filename)
        cdef int kind = PyUnicode_KIND(filename)
        cdef void *data = PyUnicode_DATA(filename)
        cdef const unsigned char *bytes_
        cdef Py_ssize_t stack_ends[STACK_ENDS]
        cdef Py_ssize_t *ends = stack_ends
        cdef Py_ssize_t na = 0, cnt = 0, i, j, k, w, d, e, idx, start
        cdef Py_UCS4 c, prev
        cdef _ExactDir *ed
        cdef _RegexDir *rd
        if self._n_root + self._n_exact + self._n_wild + self._n_rdir == 0:
            return 0
        # Ancestors: "/" (depth 0), then filename[:e] for each e in [2, n) with
        # filename[e] == "/" and filename[e - 1] != "/", and e == n with
        # walk_file when the filename does not end with "/" -- the twin's
        # _ancestors, which skips empty components and never the first
        # character. Ends are >= 2 apart, so there are at most n // 2.
        if n // 2 + 1 > STACK_ENDS:
            ends = <Py_ssize_t *>self._alloc(n // 2 + 1, sizeof(Py_ssize_t))
        try:
            if n >= 2:
                if kind == 1:
                    bytes_ = <const unsigned char *>data
                    for i in range(2, n):  # i - 1 >= 1 and i < n: in range
                        if bytes_[i] == 47 and bytes_[i - 1] != 47:  # "/"
                            ends[na] = i
                            na += 1
                    if walk_file and bytes_[n - 1] != 47:
                        ends[na] = n
                        na += 1
                else:
                    prev = PyUnicode_READ(kind, data, 1)
                    for i in range(2, n):
                        c = PyUnicode_READ(kind, data, i)
                        if c == u"/" and prev != u"/":
                            ends[na] = i
                            na += 1
                        prev = c
                    if walk_file and prev != u"/":
                        ends[na] = n
                        na += 1

            # 1. depth 0: <Directory "/"> and the wildcards of depth 0
            for k in range(self._n_root):
                idx = self._root_ids[k]
                out[cnt] = idx
                cnt += 1
                applied[idx] = 1
            w = 0
            while w < self._n_wild and self._wild[w].depth == 0:
                if (<_Glob>self._wild[w].glob).test(_ROOT, 0, 1):
                    idx = self._wild[w].index
                    out[cnt] = idx
                    cnt += 1
                    applied[idx] = 1
                w += 1
            _file_order(out, 0, cnt)
            # depth d >= 1 is filename[:ends[d - 1]]: the plain path of that
            # length if equal, and the wildcards of that depth
            j = 0
            for d in range(1, na + 1):
                e = ends[d - 1]
                start = cnt
                while j < self._n_exact and self._exact[j].length < e:
                    j += 1
                k = j
                while k < self._n_exact and self._exact[k].length == e:
                    ed = &self._exact[k]
                    if _same_chars(kind, data, 0, <object>ed.path, e):
                        for i in range(ed.first, ed.first + ed.count):
                            idx = self._exact_ids[i]
                            out[cnt] = idx
                            cnt += 1
                            applied[idx] = 1
                        break  # paths are distinct: no other one is equal
                    k += 1
                while w < self._n_wild and self._wild[w].depth == d:
                    if (<_Glob>self._wild[w].glob).test(filename, 0, e):
                        idx = self._wild[w].index
                        out[cnt] = idx
                        cnt += 1
                        applied[idx] = 1
                    w += 1
                _file_order(out, start, cnt)

            # 2. regex directories, file order: one search of the filename
            for k in range(self._n_rdir):
                rd = &self._rdir[k]
                if (<object>rd.search)(filename) is not None:
                    out[cnt] = rd.index
                    cnt += 1
                    applied[rd.index] = 1
        finally:
            if ends != stack_ends:
                PyMem_Free(ends)
        return cnt

    cdef Py_ssize_t _files_for(self, str filename, Py_ssize_t *out, Py_ssize_t cnt,
                               char *applied) except -1:
        """3. <Files>/<FilesMatch> on the last path component: the
        top-level ones, then those nested in each applied <Directory> in the
        order the directories applied, each group in file order."""
        cdef Py_ssize_t n = PyUnicode_GET_LENGTH(filename)
        cdef int kind = PyUnicode_KIND(filename)
        cdef void *data = PyUnicode_DATA(filename)
        cdef Py_ssize_t start = n, k, d, ndirs = cnt, group
        cdef _FilesSec *f
        cdef bint hit
        if self._n_files == 0:
            return cnt
        while start > 0 and PyUnicode_READ(kind, data, start - 1) != u"/":
            start -= 1
        base = None  # filename[start:], made only for a regex
        for k in range(self._n_files):
            f = &self._files[k]
            if f.parent == -3:
                hash(<object>f.parent_obj)  # the twin's ``parent not in applied``
        # group -1: the top-level ones; then group d: those nested in the
        # directory applied d-th (out[d])
        for group in range(-1, ndirs):
            for k in range(self._n_files):
                f = &self._files[k]
                if group == -1:
                    if f.parent != -1:
                        continue
                elif f.parent != out[group]:
                    continue
                if f.regex:
                    if base is None:
                        base = PyUnicode_Substring(filename, start, n)
                    hit = (<object>f.matcher)(base) is not None
                else:
                    hit = (<_Glob>f.matcher).test(filename, start, n)
                if hit:
                    out[cnt] = f.index
                    cnt += 1
        return cnt

    cdef Py_ssize_t _locations(self, object uri, Py_ssize_t *out, Py_ssize_t cnt) except -1:
        """4. <Location>/<LocationMatch>, file order."""
        cdef Py_ssize_t n = 0, k
        cdef int kind = 1
        cdef void *data = NULL
        cdef bint is_str, hit
        cdef _LocSec *loc
        if self._n_locs == 0:
            return cnt
        is_str = isinstance(uri, str)
        if is_str:
            PyUnicode_READY(uri)
            n = PyUnicode_GET_LENGTH(uri)
            kind = PyUnicode_KIND(uri)
            data = PyUnicode_DATA(uri)
        for k in range(self._n_locs):
            loc = &self._locs[k]
            if loc.mode == LOC_REGEX:
                hit = (<object>loc.a)(uri) is not None
            elif not is_str or loc.mode == LOC_CALL:
                hit = bool(_location_matches(uri, <object>loc.pattern))
            elif loc.mode == LOC_GLOB:
                hit = (<object>loc.a)(uri) is not None
            elif loc.root:
                hit = True
            elif n == loc.length:
                hit = _same_chars(kind, data, 0, <object>loc.pattern, n)
            elif n < loc.length:
                hit = False
            else:
                # n > length: uri[length] exists
                hit = _same_chars(kind, data, 0, <object>loc.pattern, loc.length) and (
                    loc.slash or PyUnicode_READ(kind, data, loc.length) == u"/")
            if hit:
                out[cnt] = loc.index
                cnt += 1
        return cnt


cdef Py_ssize_t _parent_slot(object parent, Py_ssize_t n) except? -9:
    """The twin tests ``parent != -1 and parent not in applied`` (a set of
    directory indices): -1, an index in range, -2 (never applies) or -3
    (unhashable: never applies, after the same error the twin raises)."""
    if parent == -1:
        return -1
    try:
        hash(parent)
    except Exception:  # noqa: BLE001 - raised again at match time
        return -3
    try:
        as_int = int(parent)
        if as_int != parent or not 0 <= as_int < n:
            return -2
    except Exception:  # noqa: BLE001 - equal to no index
        return -2
    return as_int

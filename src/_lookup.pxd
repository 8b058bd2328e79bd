# cython: language_level=3
"""C-level declarations of fastdispatch._lookup (see _lookup.pyx), so that
another extension module can ``cimport`` the classes and call
``Lookup.match`` without going through Python."""
cimport cython
from cpython.object cimport PyObject


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
    int root                    # search("/") known at build time: 0/1; -1: unknown
    bint regular                # no end-sensitive construct: searching the
                                # longest ancestor answers for all of them
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
    PyObject *a                 # bound .search / _Glob of pattern / pattern
    PyObject *b                 # _Glob of pattern.rstrip("/") + "/*"
    PyObject *pattern           # str (for a uri that is not a str)


cdef class SectionSpec:
    cdef public object kind
    cdef public object pattern
    cdef public object regex
    cdef public object parent


cdef class _Glob:
    cdef int mode
    cdef str prefix
    cdef str suffix
    cdef Py_ssize_t plen
    cdef Py_ssize_t slen
    cdef object rx_match
    cdef object pattern

    cdef bint test(self, str s, Py_ssize_t start, Py_ssize_t end) except -1


@cython.final
cdef class _Entry:
    cdef object filename
    cdef object merged
    cdef _Entry next


cdef class Lookup:
    cdef object _merge_fn
    cdef object _cache_size
    cdef Py_ssize_t _csize          # _cache_size as a C integer, when _csize_ok
    cdef bint _csize_ok
    cdef dict _cache                # uri -> _Entry chain (one per filename)
    cdef Py_ssize_t _count          # entries in _cache, as len() of the twin's
    cdef dict _merged               # indices tuple -> merge_fn(indices)
    cdef Py_ssize_t _n              # number of sections
    cdef tuple _idx                 # int objects 0 .. _n - 1
    cdef list _keep                 # owns what the C arrays point to

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

    cdef void _release(self) noexcept
    cdef void *_alloc(self, Py_ssize_t count, size_t size) except NULL
    cdef int _build_dirs(self, list root, dict exact, list wild, list rdirs) except -1
    cdef int _build_files(self, list files) except -1
    cdef int _build_locations(self, list locs) except -1
    cdef bint _full(self, Py_ssize_t size) except -1
    cdef object _miss(self, object uri, object filename)
    cdef tuple _sections_for(self, object uri, object filename)
    cdef Py_ssize_t _directories(self, str filename, Py_ssize_t *out, char *applied) except -1
    cdef Py_ssize_t _files_for(self, str filename, Py_ssize_t *out, Py_ssize_t cnt,
                               char *applied) except -1
    cdef Py_ssize_t _locations(self, object uri, Py_ssize_t *out, Py_ssize_t cnt) except -1

"""The Python layers that are also compiled, by Cython, from this same source.

These modules stay ordinary Python: what a reader, a debugger or the
pure-Python run (FASTDISPATCH_NO_EXTENSIONS=1) sees is the ``.py`` file.
When a C compiler is present, ``setup.py`` also builds each one, unchanged,
as an extension module of the same name (as pydantic 1 and black do with
theirs): every request runs through them, and compiled they spend about a
fifth less time in the interpreter (bench/README.md, "Compiled layers").
``fastdispatch._speedups`` decides at import time which of the two is
loaded. User-facing modules whose functions a handler may hand to the
publisher or inspect (``apache``, ``util``, ``cookie``, ``session``,
``psp``) are not on the list: there, what mod_python gives is a Python
function, and so is what fastdispatch gives.

No imports here: setup.py reads this file without importing the package.
"""

COMPILED_LAYERS = (
    "fastdispatch.request",
    "fastdispatch.dispatch",
    "fastdispatch.transport",
    "fastdispatch.loader",
    "fastdispatch.errorpages",
    "fastdispatch.byterange",
    "fastdispatch.httpdate",
    "fastdispatch.authz",
    "fastdispatch.access_compat",
    "fastdispatch.filters",
    "fastdispatch.logformat",
    "fastdispatch.handlers.static",
    "fastdispatch.handlers.publisher",
    "fastdispatch.server._worker",
    "fastdispatch.server._connection",
    "fastdispatch.server._logs",
    "fastdispatch.server._body",
    "fastdispatch.server._poller",
)

# A layer whose build cimports another layer's extension type (names it in
# its .pxd, to reach that type's fields in C) loads only beside that layer's
# build: it runs from its source whenever the other does.
# The same holds for a hot path's type (fastdispatch/_http.pxd): such a layer
# runs from its source whenever the hot path runs as its pure-Python twin.
CIMPORTS = {
    "fastdispatch.request": ("fastdispatch._http",),
    "fastdispatch.dispatch": ("fastdispatch.request",),
    "fastdispatch.server._logs": ("fastdispatch._http", "fastdispatch.transport"),
    "fastdispatch.server._worker": ("fastdispatch.server._connection", "fastdispatch._http",
                                    "fastdispatch.server._logs"),
}

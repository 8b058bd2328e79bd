# The compiled build's declaration of Dispatcher (dispatch.py stays the
# source): its fields become slots, which its methods, run for every
# request, read directly. Other attributes live in the instance __dict__.
#
# The methods every request runs through are cpdef: one calls another in C,
# not through a bound-method lookup and argument parsing (an attribute set on
# the instance still overrides one, as on the plain class). In them ``req`` is
# typed as the compiled Request, so its declared fields (request.pxd) are
# struct members here too; fastdispatch._speedups runs this module from its
# source whenever request runs from its own.

import cython
from fastdispatch.request cimport Request

cdef class _Route:
    cdef public object expires, filename, path_info, link_checked, dir_config
    cdef public object ctype, handler, is_dir, plain, alias

cdef class Dispatcher:
    cdef dict __dict__
    cdef object __weakref__     # (as the plain class: a weak reference may be taken)
    cdef public object config, server_config, server_info, server_header, document_root
    cdef public object global_dir, lookup, _location_handlers, _aliases
    cdef public dict _routes        # (a dict: looked up in C for every request)
    cdef public object _redirects, _location_redirects, _server_phases

    @cython.locals(req=Request)
    cpdef handle(self, head, body, conn, send)
    @cython.locals(req=Request)
    cpdef keep_alive_terms(self, req)
    @cython.locals(req=Request)
    cpdef _process(self, req)
    @cython.locals(req=Request, route=_Route)
    cpdef _run(self, req)
    @cython.locals(req=Request, route=_Route)
    cpdef _route(self, req)
    @cython.locals(req=Request)
    cpdef _respond(self, req, dc)
    # (handlers: a config's phase -> entries, a dict: .get in C)
    @cython.locals(req=Request, handlers=dict)
    cpdef _phase(self, req, phase, abort=*)
    @cython.locals(req=Request)
    cpdef _call(self, req, entry)
    @cython.locals(req=Request, handlers=dict)
    cpdef _log_and_cleanup(self, req)

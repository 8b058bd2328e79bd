# The compiled build's declaration of Dispatcher (dispatch.py stays the
# source): its fields become slots, which its methods, run for every
# request, read directly. Other attributes live in the instance __dict__.

cdef class Dispatcher:
    cdef dict __dict__
    cdef object __weakref__     # (as the plain class: a weak reference may be taken)
    cdef public object config, server_config, server_info, server_header, document_root
    cdef public object global_dir, lookup, _location_handlers, _routes, _aliases
    cdef public object _redirects, _location_redirects

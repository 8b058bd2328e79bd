# The compiled build's declaration of AccessLog (_logs.py stays the source):
# compiled, its fields are slots, read for every request's line.

cdef class AccessLog:
    cdef dict __dict__
    cdef object __weakref__     # (as the plain class: a weak reference may be taken)
    cdef public object logger, _write, enabled, _parts, _combined_sent
    cdef public object _server_name, _server_port, _stamp_sec, _stamp, _held, _flush_lock

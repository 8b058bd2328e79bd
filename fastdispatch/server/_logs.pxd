# The compiled build's declaration of AccessLog (_logs.py stays the source):
# compiled, its fields are slots, read for every request's line.
# fastdispatch._speedups runs this module from its source whenever _http or
# transport runs from its own (log() types the head and the outcome).

cimport cython
from fastdispatch._http cimport RequestHead
from fastdispatch.transport cimport Outcome

@cython.final
cdef class AccessLog:
    cdef dict __dict__
    cdef object __weakref__     # (as the plain class: a weak reference may be taken)
    cdef public object logger, _write, enabled, _parts, _combined_sent
    cdef public object _server_name, _server_port, _stamp_sec, _stamp, _held, _flush_lock

    # one line per request: the worker calls it in C (_worker.pxd types its
    # _access), and it reads the head's and the outcome's fields as struct
    # members. (Final, above: no check for an override at each call.)
    @cython.locals(head=RequestHead, outcome=Outcome)
    cpdef log(self, info, head, outcome, sent_bytes=*, received_bytes=*, started=*,
              keep_alive=*)

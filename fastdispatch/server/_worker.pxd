# The compiled build's declaration of Worker (_worker.py stays the source):
# its fields become slots, which the listener loop and the serving threads
# read directly. Other attributes live in the instance __dict__.
# fastdispatch._speedups runs this module from its source whenever
# server._connection or server._logs runs from its own (this one cimports
# Connection and AccessLog), or _http runs as its twin (_serve types the
# parsed head).

import cython
from fastdispatch._http cimport RequestHead
from fastdispatch.server._connection cimport Connection
from fastdispatch.server._logs cimport AccessLog

cdef class Worker:
    cdef dict __dict__
    cdef object __weakref__     # (as the plain class: a weak reference may be taken)
    cdef public object app, cfg, listeners, inline, grace, max_threads, parent_pid
    cdef public object started, stopped
    cdef public AccessLog _access
    cdef public object _accept_after, _accept_lock, _accepting, _active, _avail
    cdef public object _backlog, _cap, _claim_lock, _closing, _conns, _corked, _demand
    cdef public object _error_facts, _finished, _grow_step, _handle, _handler_timeout
    cdef public object _ka_timeout, _max_head, _parse_head, _poller, _pool_lock, _queue
    cdef public object _self_poll, _shed, _slot, _stall_mark, _stall_since, _stopping
    cdef public object _take_mark, _take_since, _threads, _timeout
    cdef public object _holding, _head_limits, _keep_alive, _max_ka

    # the per-request steps call each other in C (an attribute set on the
    # instance still overrides one); ``conn`` is the compiled Connection
    @cython.locals(conn=Connection)
    cpdef _ready(self, conn)
    @cython.locals(conn=Connection, head=RequestHead, access=AccessLog)
    cpdef _serve(self, conn)
    @cython.locals(conn=Connection)
    cpdef _park(self, conn, since=*)
    @cython.locals(conn=Connection)
    cpdef _uncork_all(self)

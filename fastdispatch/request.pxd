# The compiled build's declaration of Request (request.py stays the source):
# the fields every request sets and the pipeline reads become slots of the
# object, so request.py's own methods reach them directly and other modules
# through a descriptor, not a dict. Any other attribute (what a handler adds,
# the lazily made tables) lives in the instance __dict__ as before.
# A field declared here must not have a class-level default in request.py.

cimport cython
from fastdispatch._http cimport RequestHead

@cython.final
cdef class Request:
    cdef dict __dict__
    cdef object __weakref__     # (as the plain class: a weak reference may be taken)
    cdef public object status, status_line, content_type, _server_type, handler, user
    cdef public object filename, canonical_filename, path_info, _stat, _reading
    cdef public object no_cache, header_only, chunked, _chunked_in, _clength_in, _held
    cdef public object phase, hlist, main, prev, next, bytes_sent, _dir_config
    cdef public object _head_sent, _chunked, _buffered, _content_length, _read_bytes
    cdef public object _error_response, _unsized_error, _late_status, _drop_after
    cdef public object _filters, _filter_ended, _err_headers
    cdef public object content_encoding, content_languages
    cdef public object _send, _body, _dispatcher, _buffer, _close
    cdef public object the_request, method, method_number, protocol, proto_num
    cdef public object unparsed_uri, uri, args, headers_in, headers_out, server
    cdef public object connection, request_time, expecting_100, useragent_ip

    # __init__'s half that reads the parser's head, typed: its fields read as
    # struct members (so this module runs from its source whenever _http runs
    # as its twin)
    @cython.locals(head=RequestHead)
    cpdef _take_head(self, head, args, conn)

    # The output path every response runs through is cpdef: one method calls
    # the next in C, not through a bound-method lookup. The type is final
    # (above), so no call checks the instance for an override: an attribute
    # set on a request is what a handler's call finds, but these methods
    # still call each other directly (docs/internals.md, its opening part).
    cpdef write(self, data, flush=*)
    cpdef flush(self)
    cpdef _send_head(self, final)
    cpdef _send_body(self)
    @cython.locals(size=Py_ssize_t)
    cpdef _out(self, data)
    cpdef _release(self)
    cpdef _finish(self)

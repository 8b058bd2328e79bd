# The declaration of the compiled head parser's RequestHead (src/_http.pyx):
# here, beside the package's other .pxd files, so that a compiled layer can
# cimport the type and read a parsed head's fields as struct members.
# A layer that does runs from its source whenever _http runs as its
# pure-Python twin (fastdispatch._layers.CIMPORTS).

cdef class RequestHead:
    cdef public object method
    cdef public object target
    cdef public object version
    cdef public int version_num
    cdef public object headers
    cdef public long long content_length
    cdef public bint chunked
    cdef public bint keep_alive
    cdef public bint expect_continue
    cdef public object request_line
    cdef public bint plain_headers
    cdef public bint plain_line

# The compiled build's declaration of Connection (_connection.py stays the
# source, where __slots__ names the same fields): compiled, its own methods
# (send, corking, the waits) reach its fields as struct members.

cdef class Connection:
    cdef public object sock, fd, info, buf, state, since, partial, broken
    cdef public object sent, sent_bytes, timeout, linger_until, current, stuck
    cdef public object cork, corked, holding, held, lock

    # (no instance __dict__: a cpdef method is called in C, nothing to check)
    cpdef send(self, data)
    cpdef uncork(self)
    cpdef uncork_unless_sending(self)
    cpdef _uncork(self, more=*)
    cpdef _take_corked(self)
    cpdef push(self)
    cpdef _send_now(self, data, more=*)

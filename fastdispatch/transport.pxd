# The compiled build's declaration of Outcome (transport.py stays the source,
# where __slots__ names the same fields): every request makes one, and a
# type with slots in C is made and read without a dict.

cdef class Outcome:
    cdef public object status, bytes_sent, keep_alive, user

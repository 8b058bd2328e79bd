"""A request body pulled from a host that has already framed it (a WSGI
``wsgi.input``, ASGI ``receive``): the BodyReader of docs/internals.md.

The host owns the wire (Content-Length, chunked, 100 Continue); what reaches
this class is the decoded body, piece by piece, from ``pull(n)``. What stays
fastdispatch's is the request-body limit (``LimitRequestBody``, answered as
the builtin server does: HTTPError(413) at the first read for a declared
length over the limit, as soon as the running total passes it otherwise) and
the read/readline semantics the dispatcher relies on.
"""
from fastdispatch.errors import HTTPError
from fastdispatch.transport import PieceReader
from fastdispatch.server._body import ClientDisconnected

PIECE = 65536


class StreamBody(PieceReader):
    """``read(n=-1)``, ``readline(limit=-1)``, ``remaining_known()`` over
    ``pull(n) -> bytes`` (at most ``n`` bytes, maybe fewer; b"" at the end).

    ``length`` is the declared Content-Length, or -1 when the body ends where
    the host's source ends (a chunked request)."""

    __slots__ = ("_pull", "_left", "_pending", "_limit", "_total", "_eof")

    def __init__(self, pull, length=-1, limit=0):
        self._pull = pull
        self._left = length
        self._pending = b""
        self._limit = limit
        self._total = 0
        self._eof = length == 0

    def remaining_known(self):
        if self._left < 0:
            return len(self._pending) if self._eof else -1
        return self._left + len(self._pending)

    def _next(self, want=PIECE):
        """The next piece (at least one byte), or b"" at the end."""
        if self._pending:
            piece, self._pending = self._pending, b""
            return piece
        if self._eof:
            return b""
        left = self._left
        limit = self._limit
        if limit and left > limit and self._total == 0:
            raise HTTPError(413, "request body larger than LimitRequestBody")
        piece = self._pull(want if left < 0 else min(left, max(want, 1)))
        if not piece:
            self._eof = True
            if left > 0:
                raise ClientDisconnected("client closed the connection during the request body")
            return b""
        if left >= 0:
            if len(piece) > left:
                piece = piece[:left]
            left -= len(piece)
            self._left = left
            if left == 0:
                self._eof = True
        self._total += len(piece)
        if limit and self._total > limit:
            raise HTTPError(413, "request body larger than LimitRequestBody")
        return piece

    def read(self, n=-1):
        if n is None or n < 0:
            parts = []
            want = self._left if self._left > 0 else PIECE
            while True:
                piece = self._next(want)
                if not piece:
                    return b"".join(parts)
                parts.append(piece)
        if n == 0:
            return b""
        parts, got = [], 0
        while got < n:
            piece = self._next(n - got)
            if not piece:
                break
            if got + len(piece) > n:
                self._pending = piece[n - got:]
                piece = piece[:n - got]
            parts.append(piece)
            got += len(piece)
        return parts[0] if len(parts) == 1 else b"".join(parts)


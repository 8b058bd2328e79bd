"""The request body as the dispatcher reads it (docs/internals.md, BodyReader).

A ``BodyReader`` starts with the bytes that arrived with the head and reads
the rest from the connection on demand, with the server's ``Timeout`` for each
receive. Bytes received past the end of the body belong to the next
(pipelined) request: ``finish()`` hands them back to the connection.
"""
from fastdispatch import _speedups
from fastdispatch.errors import ClientGone, ClientReadEOF, HTTPError
from fastdispatch.transport import PieceReader

CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"

# What the server reads and throws away after the handler, at most, to keep a
# connection whose handler left part of the body unread.
DRAIN_MAX = 1 << 20


class ClientDisconnected(ClientGone):
    """The client closed the connection before the whole body arrived."""


class BodyEOF(ClientDisconnected, ClientReadEOF):
    """The client ended its side (EOF) before the whole body arrived."""


class EmptyBody:
    """The body of a request that has none (shared, stateless)."""
    __slots__ = ()
    continue_owed = False

    def read(self, n=-1):
        return b""

    def readline(self, limit=-1):
        return b""

    def remaining_known(self):
        return 0


class _ExpectingEmptyBody(EmptyBody):
    """No body, but the client asked for 100 Continue: Apache never sends
    it (there is nothing to read), so the request stays "expecting" and the
    connection is closed after the response."""
    __slots__ = ()
    continue_owed = True


EMPTY_BODY = EmptyBody()
EXPECTING_EMPTY_BODY = _ExpectingEmptyBody()


class BodyReader(PieceReader):
    """The body of one request, Content-Length or chunked.

    ``read(n)`` returns ``n`` bytes, fewer only at the end of the body (it
    blocks until they arrive); ``read()`` returns the rest. ``readline(limit)``
    stops after b"\\n" or ``limit`` bytes. Past the end both return b"". Before
    the first receive from the socket it sends ``100 Continue`` when the client
    asked for it and nothing of the body has arrived yet. A body larger than
    ``limit`` (LimitRequestBody; 0 = none) raises HTTPError(413): at once for a
    declared Content-Length, as soon as the running total passes it for a
    chunked one. A client that goes away mid-body raises ClientDisconnected; a
    receive that waits longer than the Timeout raises TimeoutError.
    """

    __slots__ = ("_conn", "_raw", "_pos", "_left", "_decoder", "_pending", "_expect",
                 "_limit", "_total", "_failed", "eof", "trailers")

    def __init__(self, conn, buf, start, head, limit=0):
        self._conn = conn
        # raw bytes received after the head and not consumed yet: _raw[_pos:]
        self._raw = buf
        self._pos = start
        self._limit = limit
        self._total = 0
        self._failed = False
        self.eof = False             # the client ended its side before the body's end
        self._pending = b""          # decoded bytes pushed back by readline/read(n)
        self.trailers = []
        if head.chunked:
            self._left = -1
            self._decoder = _speedups.http.ChunkedReader()
        else:
            self._left = head.content_length if head.content_length > 0 else 0
            self._decoder = None
        # 100 Continue goes out on the first read, as Apache's input filter
        # sends it, even when body bytes came with the head
        self._expect = head.expect_continue

    # -------------------------------------------------------------- contract
    def remaining_known(self):
        """Body bytes not read yet, or -1 when chunked and not finished."""
        if self._decoder is not None:
            return len(self._pending) if self._decoder.done else -1
        return self._left + len(self._pending)

    def read(self, n=-1):
        if n is None or n < 0:
            parts = []
            while True:
                piece = self._next()
                if not piece:
                    break
                parts.append(piece)
            return b"".join(parts)
        if n == 0:
            return b""
        piece = self._next()
        if len(piece) >= n or not piece:
            if len(piece) > n:
                self._pending = piece[n:]
                piece = piece[:n]
            return piece
        parts = [piece]
        got = len(piece)
        while got < n:
            piece = self._next()
            if not piece:
                break
            if got + len(piece) > n:
                self._pending = piece[n - got:]
                piece = piece[:n - got]
            parts.append(piece)
            got += len(piece)
        return b"".join(parts)


    @property
    def received(self):
        """Body bytes received so far (decoded), for the access log's %I."""
        return self._total

    # -------------------------------------------------------------- internals
    @property
    def continue_owed(self):
        """The client asked for 100 Continue and has not had it (Apache's
        r->expecting_100): the connection cannot be kept after the response."""
        return self._expect

    def _send_continue(self):
        """(Only before the response has started: Apache sends no 100 once
        anything went out, and the connection then closes after it.)"""
        self._expect = False
        conn = self._conn
        sent = conn.sent            # an interim response: the final one
        conn.send(CONTINUE)         # (or an error page) is still to come
        conn.sent = sent

    def _recv(self):
        """More raw bytes from the socket."""
        conn = self._conn
        data = conn.recv_wait()
        if not data:
            self._failed = True
            self.eof = True
            conn.broken = True
            raise BodyEOF("client closed the connection during the request body")
        return data

    def _raw_chunk(self):
        if self._expect and not self._conn.sent:
            self._send_continue()
        raw, pos = self._raw, self._pos
        if pos < len(raw):
            self._raw, self._pos = b"", 0
            return raw[pos:] if pos else raw
        return self._recv()

    def _next(self):
        """The next piece of body (at least one byte), or b"" at its end."""
        if self._pending:
            piece = self._pending
            self._pending = b""
            return piece
        if self._failed:
            # (a second read of a body that failed must not wait for bytes)
            raise HTTPError(400, "the request body could not be read")
        if self._decoder is None:
            left = self._left
            if left <= 0:
                return b""
            if self._limit and self._total == 0 and left > self._limit:
                self._failed = True
                raise HTTPError(413, "request body larger than LimitRequestBody")
            if self._expect and not self._conn.sent:
                self._send_continue()
            raw, pos = self._raw, self._pos
            if pos >= len(raw):
                raw, pos = self._recv(), 0
                self._raw, self._pos = raw, 0
            end = pos + left
            if end >= len(raw):
                piece = raw[pos:] if pos else raw
                self._raw, self._pos = b"", 0
            else:
                piece = raw[pos:end]
                self._pos = end
            self._left = left - len(piece)
            self._total += len(piece)
            return piece
        decoder = self._decoder
        while not decoder.done:
            try:
                piece = decoder.feed(self._raw_chunk())
            except HTTPError:
                self._failed = True
                raise
            if decoder.done:
                self._raw, self._pos = decoder.unused, 0
                self.trailers = decoder.trailers
            if piece:
                self._total += len(piece)
                if self._limit and self._total > self._limit:
                    self._failed = True
                    raise HTTPError(413, "request body larger than LimitRequestBody")
                return piece
        return b""

    # -------------------------------------------------------------- the server's side
    def at_end(self):
        """True when the whole body has been received and returned."""
        if self._pending or self._failed:
            return False
        if self._decoder is None:
            return self._left == 0
        return self._decoder.done

    def leftover(self):
        """Bytes received past the body (valid once ``at_end()``)."""
        raw, pos = self._raw, self._pos
        return raw[pos:] if pos else raw

    def finish(self, drain_max=DRAIN_MAX):
        """After the handler: read and drop what is left of the body (at most
        ``drain_max`` bytes). Returns the bytes received past the body (the
        next request's start), or None when the connection must be closed
        (body too large to drain, bad framing, client gone, 100 Continue never
        sent so the client may never send the body, limit exceeded).
        """
        if self._failed:
            return None
        self._pending = b""
        if self._decoder is None:
            if self._left > 0:
                if self._expect or self._left > drain_max:
                    return None
        elif not self._decoder.done and self._expect:
            return None
        drained = 0
        try:
            while True:
                piece = self._next()
                if not piece:
                    break
                drained += len(piece)
                if drained > drain_max:
                    return None
        except (HTTPError, OSError):
            return None
        raw, pos = self._raw, self._pos
        return raw[pos:] if pos else raw

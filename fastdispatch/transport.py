"""What a transport hands the dispatcher, and what it gets back.

The builtin server, the WSGI/ASGI adapters and the sans-IO connection all
speak to ``Dispatcher.handle`` through these small types (see
docs/internals.md, "Server <-> dispatcher").
"""


class ConnInfo:
    """The connection a request came on."""
    __slots__ = ("remote_ip", "remote_port", "local_ip", "local_port", "is_https",
                 "mp_connection", "coalesce")

    def __init__(self, remote_ip="127.0.0.1", remote_port=0, local_ip="127.0.0.1",
                 local_port=0, is_https=False):
        self.remote_ip = remote_ip
        self.remote_port = remote_port
        self.local_ip = local_ip
        self.local_port = local_port
        self.is_https = is_https
        self.mp_connection = None  # the request layer's connection object, made once
        # the transport runs each handler to completion on the thread that
        # reads the connection (the server's --inline mode): a flushed write
        # may then wait for the handler's next output or its return, so that
        # a response goes out in one send (request.py, Request._out)
        self.coalesce = False

    # the transport's ``send`` also takes a FileRegion (sent from the file
    # without copying it through Python, os.sendfile); a transport that can
    # overrides this in its ConnInfo subclass
    sendfile = False


class FileRegion:
    """``count`` bytes of the open file ``fd`` from ``offset``: what a
    response body is, for a ``send`` whose ConnInfo has ``sendfile``."""
    __slots__ = ("fd", "offset", "count")

    def __init__(self, fd, offset, count):
        self.fd = fd
        self.offset = offset
        self.count = count


class Outcome:
    """What the dispatcher did with one request, for the transport and its log."""
    __slots__ = ("status", "bytes_sent", "keep_alive", "user")

    def __init__(self, status, bytes_sent=0, keep_alive=True, user=None):
        self.status = status
        self.bytes_sent = bytes_sent
        self.keep_alive = keep_alive
        self.user = user

    def __repr__(self):
        return "Outcome(status=%r, bytes_sent=%r, keep_alive=%r, user=%r)" % (
            self.status, self.bytes_sent, self.keep_alive, self.user)


class BytesBody:
    """A request body that is already whole in memory (tests, adapters)."""

    def __init__(self, data=b""):
        self._data = data
        self._pos = 0

    def read(self, n=-1):
        if n is None or n < 0:
            n = len(self._data) - self._pos
        chunk = self._data[self._pos:self._pos + n]
        self._pos += len(chunk)
        return chunk

    def readline(self, limit=-1):
        end = self._data.find(b"\n", self._pos)
        end = len(self._data) if end < 0 else end + 1
        if limit is not None and limit >= 0:
            end = min(end, self._pos + limit)
        chunk = self._data[self._pos:end]
        self._pos = end
        return chunk

    def remaining_known(self):
        return len(self._data) - self._pos


class PieceReader:
    """readline() for a body read piece by piece: a subclass provides
    ``_next()`` (the next decoded piece, b"" at the end) and a ``_pending``
    slot for bytes pushed back. Shared by the server's BodyReader and the
    adapters' StreamBody."""
    __slots__ = ()

    def readline(self, limit=-1):
        if limit is None or limit < 0:
            limit = -1
        elif limit == 0:
            return b""
        parts, got = [], 0
        while True:
            piece = self._next()
            if not piece:
                break
            end = piece.find(b"\n") + 1 or len(piece)
            if limit >= 0 and got + end > limit:
                end = limit - got
            if end < len(piece):
                self._pending = piece[end:]
                piece = piece[:end]
            parts.append(piece)
            got += len(piece)
            if piece.endswith(b"\n") or got == limit:
                break
        return b"".join(parts)

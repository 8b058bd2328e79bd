"""The one exception family of fastdispatch's protocol layer.

Parsers (compiled or pure) raise HTTPError(status); the server turns it into a
response in one place. It is not mod_python's SERVER_RETURN (see apache.py).
"""


class HTTPError(Exception):
    """A request that must be answered with ``status`` (and usually a close)."""

    def __init__(self, status, detail=""):
        super().__init__(status, detail)
        self.status = status
        self.detail = detail

    def __str__(self):
        return "%d %s" % (self.status, self.detail)


class ClientGone(ConnectionError):
    """The client's connection failed: closed, reset, or silent past the
    Timeout. Only the transports raise it, for their I/O on the client's
    connection; a ConnectionError from a handler's own connections (a
    database, an SMTP server) is the handler's exception like any other."""


class ClientTimeout(ClientGone, TimeoutError):
    """The client sent or accepted nothing for the Timeout."""


class ClientReadTimeout(ClientTimeout):
    """The client sent nothing of the request body for the Timeout: a
    handler's read fails (mod_python's IOError), and its answer can still
    go out."""


class ClientReadEOF(ClientGone):
    """The client ended its side of the connection before the whole request
    body: a handler's read fails as on a timeout (mod_python's IOError),
    the body counts as malformed where the server reads it (400), and an
    answer can still go out (the client may still be reading)."""


class ConfigError(Exception):
    """A configuration line that cannot be accepted; names its file and line."""

    def __init__(self, message, filename=None, lineno=None):
        self.message = message
        self.filename = filename
        self.lineno = lineno
        where = ""
        if filename is not None:
            where = "%s:%s: " % (filename, lineno if lineno is not None else "?")
        super().__init__(where + message)


class ListenError(OSError):
    """A listening address could not be bound (in use, not ours to bind):
    ``errno`` and ``strerror`` as the system said, and which address."""

    def __init__(self, errno, strerror, address):
        super().__init__(errno, strerror)
        self.address = address

    def __str__(self):
        return "cannot listen on %s: %s" % (self.address, self.strerror)

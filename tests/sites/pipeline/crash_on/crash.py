import socket

from mod_python import apache


def _refused_port():
    """A loopback port nothing listens on (bound, then closed)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def handler(req):
    what = req.args or ""
    if what == "refused":
        # the handler's own connection fails (the tutorial's form talks SMTP):
        # its exception, not the client going away
        socket.create_connection(("127.0.0.1", _refused_port()), timeout=5)
    if what == "timeout":
        raise TimeoutError("the backend timed out")
    if what == "reset":
        raise ConnectionResetError(104, "Connection reset by the backend")
    raise ValueError("boom in the handler")

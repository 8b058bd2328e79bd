"""A client that ends its side of the connection (shutdown(SHUT_WR), FIN)
before its request is whole, answered as Apache 2.4 + mod_python 3.5 answer
(checked against a private Apache): within the request line, a silent
close; after a whole line of the head, a 400; a body cut short is a 400
where the server reads it, mod_python's "Client read error" where a handler
does, and a 400 naming the first status where an error page reads it first.
Real server, real sockets; each exchange is bounded."""
import os
import re
import socket
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "data", "hardening"))
import hsite  # noqa: E402


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    s = hsite.make_site(tmp_path_factory.mktemp("half-close"), extra="PythonDebug On")
    s.server = s.start(workers=1)
    yield s
    s.server.stop()


def half_close(port, data, limit=5.0):
    """Send ``data``, end our side, read to the server's close."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=limit)
    try:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        raw = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return raw
            raw += chunk
    finally:
        sock.close()


def split(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    fields = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), fields, body


@pytest.mark.parametrize("data", [
    b"GET /static/file.txt HTT",
    b"\r\n\r\nGET /static/fi",
    b"",
])
def test_within_the_request_line_a_silent_close(site, data):
    assert half_close(site.server.port, data) == b""


@pytest.mark.parametrize("data", [
    b"GET /static/file.txt HTTP/1.1\r\n",
    b"GET /static/file.txt HTTP/1.1\r\nHost: h\r\n",
    b"GET /static/file.txt HTTP/1.1\r\nHost: h\r\n\r",
    b"GET /static/file.txt HTTP/1.1\r\nHost: h\r\nX-A: b",
])
def test_after_a_line_of_the_head_a_400(site, data):
    status, fields, body = split(half_close(site.server.port, data))
    assert status == 400 and fields["Connection"] == "close"
    assert int(fields["Content-Length"]) == len(body)
    assert b"<title>400 Bad Request</title>" in body


def test_a_whole_request_then_a_partial_one(site):
    raw = half_close(site.server.port, b"GET /static/file.txt HTTP/1.1\r\nHost: h\r\n\r\n"
                                       b"GET /static/file.txt HTTP/1.1\r\n")
    assert raw.startswith(b"HTTP/1.1 200 OK\r\n")
    assert raw.count(b"HTTP/1.1 400 Bad Request\r\n") == 1


def cut_short(site, path):
    """POST to ``path`` 5 bytes of a 50-byte body, then end our side."""
    return split(half_close(site.server.port, b"POST %s HTTP/1.1\r\nHost: h\r\n"
                            b"Content-Length: 50\r\n\r\nhello" % path))


def test_body_cut_short_where_the_server_reads_it(site):
    status, fields, body = cut_short(site, b"/static/file.txt")
    assert status == 400 and int(fields["Content-Length"]) == len(body)


def test_body_cut_short_where_a_handler_reads_it(site):
    # mod_python's read raises; under PythonDebug On its page shows the
    # handler's own frames, down to the read (no frame inside fastdispatch's
    # request object: mod_python's is C), close-delimited
    status, fields, body = cut_short(site, b"/app/echo.py")
    assert status == 500 and fields["Connection"] == "close"
    assert "Content-Length" not in fields and "Transfer-Encoding" not in fields
    assert b"OSError: Client read error (Timeout?)" in body
    frames = re.findall(rb"File &quot;([^&]*)&quot;, line \d+, in (\w+)", body)
    assert [name for _, name in frames] == [b"_call", b"handler"], frames
    assert b"body = req.read()" in body


def test_body_cut_short_under_an_error_page(site):
    # the 401's page reads the body first: cut short, it is a 400 naming the 401
    status, fields, body = cut_short(site, b"/auth/x.py")
    assert status == 400 and fields["Connection"] == "close"
    assert "WWW-Authenticate" not in fields and "Content-Length" not in fields
    assert b"Additionally, a 401 Unauthorized\nerror was encountered" in body

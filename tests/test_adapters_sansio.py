"""The sans-IO connection (``Dispatcher.connection()``): bytes in, bytes out,
keep-alive and pipelining state, no socket; and the two examples/embed
servers that host it on real sockets."""
import hashlib
import os

import pytest

import hosting
from serverproc import Conn, copy_site

from fastdispatch import Directory, Dispatcher
from fastdispatch.testing import parse_response

HELLO = b"GET /mywebdir/myscript.py HTTP/1.1\r\nHost: localhost\r\n\r\n"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    d = tmp_path_factory.mktemp("sansio-site")
    return copy_site("embed", d, {"TUTORIAL_CONF": hosting.TUTORIAL_CONF})


@pytest.fixture(scope="module")
def app(site):
    return Dispatcher.from_config(site)


def probe_app(site, **server):
    """The probes alone, with server-wide directives of the test's choosing."""
    root = os.path.dirname(site)
    return Dispatcher.build(
        Directory("probe", SetHandler="mod_python", PythonHandler="probe", PythonDebug=True),
        DocumentRoot=".", base_dir=root, **server)


def responses(data, heads=()):
    """Split concatenated responses (each framed by Content-Length or chunked)."""
    out = []
    while data:
        end = data.index(b"\r\n\r\n") + 4
        head = data[:end].decode("latin-1")
        length = None
        for line in head.split("\r\n")[1:]:
            k, _, v = line.partition(": ")
            if k.lower() == "content-length":
                length = int(v)
        if "Transfer-Encoding: chunked" in head:
            i = data.index(b"\r\n0\r\n\r\n", end) + 7 if not data[end:].startswith(b"0\r\n") \
                else end + 5
            one, data = data[:i], data[i:]
        elif length is not None and len(out) not in heads:
            one, data = data[:end + length], data[end + length:]
        else:
            one, data = data[:end], data[end:]
        out.append(parse_response(one, head_only=len(out) in heads))
    return out


def test_one_request_bytes_in_bytes_out(app):
    conn = app.connection(client=("192.0.2.7", 4242))
    out = conn.receive(HELLO)
    r = parse_response(out)
    assert (r.status, r.body) == (200, b"Hello World!")
    assert r.header("Transfer-Encoding") == "chunked"
    assert not conn.closed and conn.idle


def test_byte_by_byte_is_the_same_as_at_once(app):
    raw = (b"POST /probe/echo?x=1 HTTP/1.1\r\nHost: localhost\r\nX-Probe: a\r\n"
           b"Content-Length: 11\r\n\r\nhello world")
    whole = parse_response(app.connection().receive(raw))
    conn = app.connection()
    out = b""
    for i in range(len(raw)):
        assert conn.idle == (i == 0)
        out += conn.receive(raw[i:i + 1])
        assert (out != b"") == (i == len(raw) - 1)
    r = parse_response(out)
    assert (r.status, r.body) == (whole.status, whole.body)
    assert b"body=11 " + hashlib.sha256(b"hello world").hexdigest().encode() in r.body
    assert conn.idle and not conn.closed


def test_pipelined_requests_answered_in_order(app):
    raw = (HELLO + b"GET /secure/myscript.py HTTP/1.1\r\nHost: localhost\r\n\r\n"
           + b"POST /probe/echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\nabc"
           + b"GET /errors/handler-error.html HTTP/1.1\r\nHost: localhost\r\n\r\n")
    conn = app.connection()
    rs = responses(conn.receive(raw))
    assert [r.status for r in rs] == [200, 401, 200, 404]
    assert rs[0].body == b"Hello World!"
    assert b"body=3 " in rs[2].body
    assert rs[3].body == b"Page not here.  Page left, not know where gone."
    assert not conn.closed
    assert conn.info.keepalives == 4


def test_pipelined_split_anywhere(app):
    raw = HELLO + b"POST /probe/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabcde" + HELLO
    want = app.connection().receive(raw)
    for cut in range(1, len(raw), 7):
        conn = app.connection()
        got = conn.receive(raw[:cut]) + conn.receive(raw[cut:])
        assert len(responses(got)) == 3
        assert [r.body for r in responses(got)] == [r.body for r in responses(want)]


def test_connection_close_and_http10(app):
    conn = app.connection()
    r = parse_response(conn.receive(b"GET /probe/length HTTP/1.1\r\nHost: x\r\n"
                                    b"Connection: close\r\n\r\n" + HELLO))
    assert r.status == 200 and r.header("Connection") == "close"
    assert conn.closed
    assert conn.receive(HELLO) == b""             # closed: input is ignored
    conn = app.connection()
    out = conn.receive(b"GET /mywebdir/myscript.py HTTP/1.0\r\n\r\n")
    assert out.endswith(b"\r\n\r\nHello World!") and conn.closed
    conn = app.connection()
    out = conn.receive(b"GET /probe/length HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    assert b"Connection: Keep-Alive" in out and not conn.closed


def test_max_keep_alive_requests_and_keepalive_off(site):
    app = probe_app(site, MaxKeepAliveRequests=3)
    conn = app.connection()
    req = b"GET /probe/length HTTP/1.1\r\nHost: x\r\n\r\n"
    rs = responses(conn.receive(req * 5))
    assert len(rs) == 4 and rs[-1].header("Connection") == "close"    # as Apache
    assert conn.closed
    app = probe_app(site, KeepAlive=False)
    conn = app.connection()
    assert len(responses(conn.receive(req * 2))) == 1 and conn.closed


def test_chunked_request_body_split_anywhere(app):
    body = bytes(range(256)) * 20
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 333]), body[i:i + 333])
                       for i in range(0, len(body), 333)) + b"0\r\nX-Trailer: t\r\n\r\n"
    raw = (b"POST /probe/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
           + chunked + HELLO)
    digest = hashlib.sha256(body).hexdigest().encode()
    for step in (1, 5, 64, 1000, len(raw)):
        conn = app.connection()
        out = b"".join(conn.receive(raw[i:i + step]) for i in range(0, len(raw), step))
        rs = responses(out)
        assert [r.status for r in rs] == [200, 200]
        assert b"body=%d %s" % (len(body), digest) in rs[0].body
        assert rs[1].body == b"Hello World!"


def test_expect_100_continue(app):
    conn = app.connection()
    head = b"POST /probe/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
    assert conn.receive(head) == b"HTTP/1.1 100 Continue\r\n\r\n"
    r = parse_response(conn.receive(b"hello"))
    assert r.status == 200 and b"body=5 " in r.body
    # the body came with the head: no 100 Continue
    out = app.connection().receive(head + b"hello")
    assert out.startswith(b"HTTP/1.1 200 OK")


@pytest.mark.parametrize("raw, status", [
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\n\r\n", 400),                      # no Host
    (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400),                # an HTTP/2 preface
    (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", 400),
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
    (b"GET /" + b"a" * 9000, 414),                          # before the head is complete
])
def test_protocol_errors_answer_and_close(app, raw, status):
    conn = app.connection()
    r = parse_response(conn.receive(raw))
    assert r.status == status
    assert r.header("Connection") == "close"
    assert conn.closed


def test_limit_request_body(site):
    """As from the builtin server: the handler's read fails, the answer is
    413, the connection is closed after it."""
    app = probe_app(site, LimitRequestBody=100)
    conn = app.connection()
    ok = conn.receive(b"POST /probe/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"
                      + b"x" * 100)
    assert b"body=100 " in ok and not conn.closed
    for raw in (b"POST /probe/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n",
                b"POST /probe/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"40\r\n" + b"x" * 64 + b"\r\n40\r\n" + b"y" * 64 + b"\r\n"):
        conn = app.connection()
        out = conn.receive(raw)
        assert parse_response(out).status == 413
        assert conn.closed
        assert b"100 Continue" not in out


def test_timeouts(app):
    conn = app.connection()
    assert conn.keep_alive_timeout == app.server_config.keep_alive_timeout
    assert conn.timeout == app.server_config.timeout
    assert conn.receive(b"GET /mywebdir/") == b"" and not conn.idle
    r = parse_response(conn.timed_out())
    assert r.status == 408 and conn.closed
    conn = app.connection()
    conn.receive(HELLO)
    assert conn.timed_out() == b"" and conn.closed      # idle: just close


def test_eof_closes(app):
    conn = app.connection()
    assert conn.receive(b"GET / HTTP/1.1\r\nHo") == b""
    assert conn.receive(b"") == b"" and conn.closed


def test_send_callback_streams(app):
    sent = []
    conn = app.connection(send=sent.append)
    assert conn.receive(b"GET /probe/stream?n=4 HTTP/1.1\r\nHost: x\r\n\r\n") == b""
    assert len(sent) == 5                       # head + first piece, 3 pieces, last chunk
    r = parse_response(b"".join(sent))
    assert r.body == b"".join(b"%d:xxxxxxxxxx\n" % i for i in range(4))


def test_remote_address_reaches_the_handler(tmp_path):
    (tmp_path / "h.py").write_text(
        "def handler(req):\n"
        "    req.write('%s %s %s' % (req.connection.remote_ip, req.connection.remote_addr[1],"
        " req.connection.local_addr[1]), 0)\n    return 0\n")
    app = Dispatcher.build(Directory(".", SetHandler="mod_python", PythonHandler="h"),
                           base_dir=str(tmp_path))
    conn = app.connection(client=("192.0.2.1", 5555), server=("127.0.0.1", 8443))
    assert parse_response(conn.receive(HELLO)).body == b"192.0.2.1 5555 8443"


# ---------------------------------------------------------------- the examples

@pytest.fixture(scope="module", params=["threaded_server.py", "selectors_server.py"])
def example(request):
    proc = hosting.start_example(request.param, hosting.TUTORIAL_CONF)
    yield proc
    proc.stop()


def test_example_serves_the_tutorial(example):
    with Conn(example.port) as c:
        r = c.request("GET", "/mywebdir/myscript.py")
        assert (r.status, r.body) == (200, b"Hello World!")
        assert c.request("GET", "/secure/myscript.py").status == 401
        import base64
        auth = ("Authorization", "Basic " + base64.b64encode(b"spam:eggs").decode())
        assert c.request("GET", "/secure/myscript.py", headers=[auth]).body == b"Hello World!"
        assert c.request("GET", "/errors/handler-error.html").status == 404
        r = c.request("GET", "/feedback/form.html")
        assert r.status == 200 and b"form.py/email" in r.body
        r = c.request("POST", "/feedback/form.py/email",
                      headers=[("Content-Type", "application/x-www-form-urlencoded")],
                      body=b"name=&email=&comment=")
        assert r.body.startswith(b"A required parameter is missing")


def test_example_pipelining_and_close(example):
    with Conn(example.port) as c:
        c.send(HELLO * 3 + b"GET /mywebdir/myscript.py HTTP/1.1\r\nHost: x\r\n"
                           b"Connection: close\r\n\r\n")
        for _ in range(4):
            assert c.read_response().body == b"Hello World!"
        assert c.is_closed()


def test_example_answers_408_to_a_stalled_head(tmp_path):
    conf = tmp_path / "site.conf"
    conf.write_text("Include %s\nTimeout 1\n" % hosting.TUTORIAL_CONF)
    for script in ("threaded_server.py", "selectors_server.py"):
        proc = hosting.start_example(script, str(conf))
        try:
            with Conn(proc.port) as c:
                c.send(b"GET /mywebdir/myscript.py HTTP/1.1\r\n")
                assert c.read_response().status == 408
                assert c.is_closed()
        finally:
            proc.stop()


def test_send_callback_failure_closes_and_raises(app):
    def broken(data):
        raise BrokenPipeError("client went away")
    conn = app.connection(send=broken)
    with pytest.raises(BrokenPipeError):
        conn.receive(b"GET /probe/stream?n=4 HTTP/1.1\r\nHost: x\r\n\r\n" + HELLO)
    assert conn.closed and conn.receive(HELLO) == b""


def test_example_survives_a_client_that_goes_away(example):
    import socket
    import struct
    s = socket.create_connection(("127.0.0.1", example.port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.sendall(b"GET /feedback/form.html HTTP/1.1\r\nHost: x\r\n\r\n" * 50)
    s.close()                                   # reset, with answers on their way
    with Conn(example.port) as c:
        assert c.request("GET", "/mywebdir/myscript.py").body == b"Hello World!"
    assert "Traceback" not in example.log

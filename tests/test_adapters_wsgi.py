"""``Dispatcher.wsgi()``: a PEP 3333 application. In-process against
wsgiref's validator and hand-made environs; for real under gunicorn (sync
and gthread workers, two of each) serving the tutorial's site."""
import base64
import hashlib
import io
import threading
import time
import wsgiref.util
import wsgiref.validate

import pytest

import hosting
from hosting import smtp_sink  # noqa: F401  (a fixture)
from serverproc import Conn

from fastdispatch import Dispatcher
from fastdispatch.adapters.wsgi import head_from_environ


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return hosting.embed_site(tmp_path_factory)


@pytest.fixture(scope="module")
def app(site):
    return Dispatcher.from_config(site).wsgi()


def environ(method="GET", path="/", query="", body=None, headers=(), chunked=False,
            protocol="HTTP/1.1", **extra):
    env = {}
    wsgiref.util.setup_testing_defaults(env)
    env.update(REQUEST_METHOD=method, PATH_INFO=path, QUERY_STRING=query,
               SERVER_PROTOCOL=protocol, HTTP_HOST="localhost", SERVER_NAME="127.0.0.1",
               SERVER_PORT="8000", REMOTE_ADDR="127.0.0.1")
    for k, v in headers:
        env["HTTP_" + k.upper().replace("-", "_")] = v
    if body is not None:
        env["wsgi.input"] = body if hasattr(body, "read") else io.BytesIO(body)
        if chunked:
            env["HTTP_TRANSFER_ENCODING"] = "chunked"
        elif not hasattr(body, "read"):
            env["CONTENT_LENGTH"] = str(len(body))
    env.update(extra)
    return env


class Recorder:
    """start_response + write, with the time each piece arrived."""

    def __init__(self):
        self.status = None
        self.headers = None
        self.writes = []
        self.calls = 0

    def __call__(self, status, headers, exc_info=None):
        self.calls += 1
        self.status, self.headers = status, headers
        return self.write

    def write(self, data):
        self.writes.append((time.monotonic(), data))

    def header(self, name):
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


def call(app, env):
    rec = Recorder()
    result = app(env, rec)
    body = b"".join(d for _, d in rec.writes) + b"".join(result)
    if hasattr(result, "close"):
        result.close()
    return rec, body


def test_hello_world(app):
    rec, body = call(app, environ(path="/mywebdir/myscript.py"))
    assert rec.status == "200 OK" and body == b"Hello World!"
    assert rec.header("Content-Type") == "text/plain"
    names = {k.lower() for k, _ in rec.headers}
    assert not names & {"date", "server", "connection", "keep-alive", "transfer-encoding"}


def test_passes_wsgiref_validator(app):
    checked = wsgiref.validate.validator(app)
    for env in (environ(path="/mywebdir/myscript.py"), environ(path="/feedback/form.html"),
                environ(path="/secure/myscript.py"), environ("HEAD", "/mywebdir/myscript.py"),
                environ("POST", "/probe/echo", body=b"abc"),
                environ(path="/probe/stream", query="n=3"), environ(path="/probe/fail")):
        rec, body = call(checked, env)
        assert rec.status[:3] in ("200", "401", "500")


def test_unflushed_response_is_returned_not_written(app):
    rec, body = call(app, environ(path="/feedback/form.html"))
    assert rec.writes == [] and rec.status == "200 OK"
    assert rec.header("Content-Length") == str(len(body)) and b"<form" in body


def test_streamed_response_is_written_as_produced(app):
    rec = Recorder()
    result = app(environ(path="/probe/stream", query="n=3&delay=0.3"), rec)
    assert list(result) == []
    assert [d for _, d in rec.writes] == [b"%d:xxxxxxxxxx\n" % i for i in range(3)]
    times = [t for t, _ in rec.writes]
    assert times[1] - times[0] >= 0.25 and times[2] - times[1] >= 0.25


def test_a_write_the_server_refuses_is_the_clients_end_not_a_handler_error(app, caplog):
    """The WSGI server's write failing (the client went away) ends the
    request as the server's problem: no handler traceback is reported."""
    class GoneAfterOne(Recorder):
        def write(self, data):
            if self.writes:
                raise BrokenPipeError(32, "Broken pipe")
            super().write(data)
    rec = GoneAfterOne()
    with caplog.at_level("ERROR", logger="fastdispatch"):
        with pytest.raises(ConnectionError):
            app(environ(path="/probe/stream", query="n=3"), rec)
    assert len(rec.writes) == 1
    assert not [r for r in caplog.records if "PythonHandler" in r.getMessage()]


def test_declared_length_streamed(app):
    rec, body = call(app, environ(path="/probe/length"))
    assert body == b"0123456789abcdefghij" and rec.header("Content-Length") == "20"


def test_head_has_no_body(app):
    rec, body = call(app, environ("HEAD", "/feedback/form.html"))
    assert rec.status == "200 OK" and body == b""
    assert rec.header("Content-Length") == "297"


class TrickleInput:
    """A wsgi.input that returns at most 7 bytes a read, and records reads."""

    def __init__(self, data):
        self.data = io.BytesIO(data)
        self.reads = []

    def read(self, n=-1):
        n = 7 if n is None or n < 0 else min(n, 7)
        self.reads.append(n)
        return self.data.read(n)


@pytest.mark.parametrize("chunked", [False, True])
def test_body_is_read_from_wsgi_input(app, chunked):
    data = bytes(range(256)) * 40
    stream = TrickleInput(data)
    env = environ("POST", "/probe/echo", headers=[("Content-Type", "text/plain")])
    env["wsgi.input"] = stream
    if chunked:
        env["HTTP_TRANSFER_ENCODING"] = "chunked"
    else:
        env["CONTENT_LENGTH"] = str(len(data))
    rec, body = call(app, env)
    assert b"body=%d %s" % (len(data), hashlib.sha256(data).hexdigest().encode()) in body
    assert len(stream.reads) > 1000
    if not chunked:                    # never asked beyond Content-Length
        assert sum(stream.reads) == len(data)


def test_body_lines_and_small_reads(app):
    data = b"".join(b"line %d\n" % i for i in range(200))
    _, direct = call(app, environ("POST", "/probe/pieces", body=data))
    _, trickled = call(app, environ("POST", "/probe/pieces", body=TrickleInput(data),
                                    CONTENT_LENGTH=str(len(data))))
    assert direct == trickled and direct.startswith(b"read=%d " % len(data))


def test_request_target_and_headers(app):
    env = environ(path="/probe/echo", query="a=1&b=%20x", headers=[("X-Probe", "v")],
                  RAW_URI="/probe/echo?a=1&b=%20x")
    _, body = call(app, env)
    assert b"unparsed_uri=/probe/echo?a=1&b=%20x\n" in body and b"in x-probe=v\n" in body
    # without RAW_URI/REQUEST_URI: SCRIPT_NAME + PATH_INFO, re-quoted
    head = head_from_environ(environ(path="/a b/\xc3\xa9", query="q=1", SCRIPT_NAME="/app"))
    assert head.target == "/app/a%20b/%C3%A9?q=1"
    assert head.method == "GET" and head.version == "HTTP/1.1" and head.keep_alive
    assert ("Host", "localhost") in head.headers
    head = head_from_environ(environ(protocol="HTTP/1.0", body=b"xy",
                                     headers=[("Content-Type", "a/b")]))
    assert head.version_num == 10 and not head.keep_alive and head.content_length == 2
    assert ("Content-Length", "2") in head.headers and ("Content-Type", "a/b") in head.headers


def test_limit_request_body(tmp_path):
    (tmp_path / "h.py").write_text("def handler(req):\n    req.write(req.read())\n    return 0\n")
    from fastdispatch import Directory
    app = Dispatcher.build(Directory(".", SetHandler="mod_python", PythonHandler="h"),
                           LimitRequestBody=10, base_dir=str(tmp_path)).wsgi()
    rec, body = call(app, environ("POST", "/x", body=b"0123456789"))
    assert rec.status == "200 OK" and body == b"0123456789"
    rec, body = call(app, environ("POST", "/x", body=b"0123456789a"))
    assert rec.status.startswith("413")


def test_exception_outside_the_pipeline_is_a_500(app, monkeypatch):
    def boom(*a):
        raise RuntimeError("dispatcher bug")
    monkeypatch.setattr(app, "_handle", boom)
    rec, body = call(app, environ(path="/"))
    assert rec.status.startswith("500") and b"Internal Server Error" in body


# ------------------------------------------------------------------ gunicorn

@pytest.fixture(scope="module", params=["sync", "gthread"])
def gunicorn(request, site, smtp_sink):
    proc = hosting.start_gunicorn(site, request.param, workers=2, threads=8,
                                  env={"FD_SMTP_PORT": str(smtp_sink.port)})
    proc.worker_class = request.param
    yield proc
    proc.stop()


def get(port, path, headers=(), **kw):
    with Conn(port) as c:
        return c.request("GET", path, headers=headers, **kw)


def test_gunicorn_tutorial(gunicorn, smtp_sink):
    p = gunicorn.port
    auth = ("Authorization", "Basic " + base64.b64encode(b"spam:eggs").decode())
    r = get(p, "/mywebdir/myscript.py")
    assert (r.status, r.body, r.header("Content-Type")) == (200, b"Hello World!", "text/plain")
    assert r.header("Server") == "gunicorn"
    r = get(p, "/secure/myscript.py")
    assert r.status == 401 and r.header("WWW-Authenticate") == 'Basic realm="Restricted Area"'
    assert get(p, "/secure/myscript.py", [auth]).body == b"Hello World!"
    r = get(p, "/errors/apache-error.html")
    assert r.status == 404 and b"<title>404 Not Found</title>" in r.body
    r = get(p, "/errors/handler-error.html")
    assert (r.status, r.body) == (404, b"Page not here.  Page left, not know where gone.")
    r = get(p, "/feedback/form.html")
    assert r.status == 200 and b'<form action="form.py/email" method="POST">' in r.body
    assert get(p, "/feedback/form.html", [("If-None-Match", r.header("ETag"))]).status == 304
    before = len(smtp_sink.envelopes)
    with Conn(p) as c:
        r = c.request("POST", "/feedback/form.py/email", headers=[
            ("Content-Type", "application/x-www-form-urlencoded")],
            body=b"name=Joe&email=joe%40example.org&comment=Via+gunicorn")
    assert r.status == 200 and r.body.startswith(b"<html>\n\nDear Joe,<br>")
    assert smtp_sink.wait_for(before + 1)
    assert b"Via gunicorn" in smtp_sink.envelopes[-1].content


@pytest.mark.parametrize("chunked", [False, True])
def test_gunicorn_big_body(gunicorn, chunked):
    data = bytes(range(256)) * 4096           # 1 MiB
    raw = hosting.raw_request("POST", "/probe/echo", [("Host", "x")], data, chunked=chunked,
                              chunk_size=65536)
    r = hosting.exchange(gunicorn.port, raw)
    assert r.status == 200
    assert b"body=%d %s" % (len(data), hashlib.sha256(data).hexdigest().encode()) in r.body


def test_gunicorn_streams(gunicorn):
    """The first piece arrives while the handler is still writing the rest."""
    with Conn(gunicorn.port) as c:
        start = time.monotonic()
        c.send(b"GET /probe/stream?n=3&delay=1 HTTP/1.1\r\nHost: x\r\n\r\n")
        head = c._read_until(b"\r\n\r\n")
        assert b"Transfer-Encoding: chunked" in head
        first = c._read_until(b"\r\n")
        c._read_until(b"\r\n")
        t_first = time.monotonic() - start
        while not c.buf.endswith(b"0\r\n\r\n"):
            c._fill()
        t_all = time.monotonic() - start
    assert int(first, 16) == 13 and t_first < 0.8 and t_all >= 2.5


def test_gunicorn_two_workers(gunicorn):
    """Both worker processes serve: a slow request holds one (sync), another
    answers meanwhile."""
    pids = set()
    slow = threading.Thread(target=get, args=(gunicorn.port, "/probe/slow?s=1.5"))
    slow.start()
    time.sleep(0.2)
    t0 = time.monotonic()
    for _ in range(3):
        pids.add(get(gunicorn.port, "/probe/pid").body)
    fast = time.monotonic() - t0
    slow.join(10)
    assert fast < 1.0
    deadline = time.monotonic() + 10
    while len(pids) < 2 and time.monotonic() < deadline:
        pids.add(get(gunicorn.port, "/probe/pid").body)
    assert len(pids) == 2

"""One site, one table of requests, every way of hosting the dispatcher: the
answers must be the same.

The hosts: the builtin server (``fastdispatch serve``), WSGI under gunicorn
(sync and gthread workers, two of them), ASGI under uvicorn, the sans-IO
connection (in-process, and on sockets in both examples/embed servers) and
the test client. The site is the mod_python tutorial's (hello world, Basic
auth, the 404 handler, the publisher's feedback form -- delivering real mail
to an SMTP sink --, static files) plus probes that echo what a handler sees
and answer with every kind of framing.

An answer is (status, headers, body). Compared are the status, the body
(de-chunked) and the headers in order, names case-insensitively (ASGI
lower-cases them), except those a hosting server owns: ``Server`` and
``Date``, and the connection's own framing fields (``Connection``,
``Keep-Alive``, ``Transfer-Encoding``), which each server sets for its
connection.
"""
import concurrent.futures
import email
import email.utils
import os
import smtplib
import threading

import pytest

import hosting
from hosting import smtp_sink  # noqa: F401  (a fixture)
from serverproc import Conn

from fastdispatch import Dispatcher
from fastdispatch.testing import Client, parse_response

HOST_OWNED = {"server", "date", "connection", "keep-alive", "transfer-encoding"}
HOST = ("Host", "localhost")
FORM = "application/x-www-form-urlencoded"
BIG = bytes(range(256)) * 400            # 100 KiB, every byte value
FORM_HTML_MTIME = email.utils.formatdate(
    os.path.getmtime(os.path.join(os.path.dirname(hosting.TUTORIAL_CONF), "htdocs",
                                  "feedback", "form.html")), usegmt=True)
LINES = b"".join(b"line %d of the body\n" % i for i in range(500))


class Row:
    def __init__(self, name, method, target, headers=(), body=b"", chunked=False,
                 version="HTTP/1.1", status=None):
        self.name = name
        self.method = method
        self.target = target
        self.headers = [HOST] + list(headers)
        self.body = body
        self.chunked = chunked
        self.version = version
        self.status = status              # what the reference answer must be

    @property
    def raw(self):
        return hosting.raw_request(self.method, self.target, self.headers, self.body,
                                   self.chunked, self.version)

    def __repr__(self):
        return self.name


def basic(user, pw):
    import base64
    return ("Authorization", "Basic " + base64.b64encode(
        ("%s:%s" % (user, pw)).encode()).decode())


ROWS = [
    # the tutorial: hello world
    Row("hello", "GET", "/mywebdir/myscript.py", status=200),
    Row("hello-head", "HEAD", "/mywebdir/myscript.py", status=200),
    Row("hello-http10", "GET", "/mywebdir/myscript.py", version="HTTP/1.0", status=200),
    Row("hello-any-name", "GET", "/mywebdir/other.py?x=1", status=200),
    Row("hello-dot-segments", "GET", "/mywebdir/../mywebdir/./myscript.py", status=200),
    Row("hello-encoded", "GET", "/mywebdir/my%73cript.py", status=200),
    Row("not-py", "GET", "/mywebdir/nothing.html", status=404),
    # Basic authentication
    Row("auth-none", "GET", "/secure/myscript.py", status=401),
    Row("auth-good", "GET", "/secure/myscript.py", [basic("spam", "eggs")], status=200),
    Row("auth-bad", "GET", "/secure/myscript.py", [basic("spam", "bacon")], status=401),
    Row("auth-post", "POST", "/secure/x.py", [basic("spam", "eggs"), ("Content-Type", FORM)],
        b"a=1", status=200),
    # the 404 handler
    Row("err-apache", "GET", "/errors/apache-error.html", status=404),
    Row("err-handler", "GET", "/errors/handler-error.html", status=404),
    Row("err-file", "GET", "/errors/index.html", status=200),
    # static files, mod_dir
    Row("static", "GET", "/feedback/form.html", status=200),
    Row("static-head", "HEAD", "/feedback/form.html", status=200),
    Row("static-304", "GET", "/feedback/form.html",
        [("If-Modified-Since", FORM_HTML_MTIME)], status=304),
    Row("index", "GET", "/", status=200),
    Row("dir-redirect", "GET", "/feedback", status=301),
    Row("missing", "GET", "/no/such/file.txt", status=404),
    Row("trace", "TRACE", "/", status=405),
    # the publisher's feedback form
    Row("form-missing", "POST", "/feedback/form.py/email", [("Content-Type", FORM)],
        b"name=Joe&email=&comment=", status=200),
    Row("form-mail", "POST", "/feedback/form.py/email", [("Content-Type", FORM)],
        b"name=Joe+Bloggs&email=joe%40example.org&comment=Great+tutorial%21", status=200),
    Row("form-get", "GET", "/feedback/form.py/email", status=500),
    Row("form-query", "GET", "/feedback/form.py/email?name=A&email=&comment=", status=200),
    # probes: what the handler sees
    Row("echo", "GET", "/probe/echo?a=1&b=%20x", [("X-Probe", "one"), ("X-Probe-Two", "2")],
        status=200),
    Row("echo-body", "POST", "/probe/echo", [("Content-Type", "application/octet-stream")],
        BIG, status=200),
    Row("echo-chunked", "POST", "/probe/echo", [("Content-Type", "text/plain")], BIG,
        chunked=True, status=200),
    Row("echo-empty-put", "PUT", "/probe/echo", status=200),
    Row("pieces", "POST", "/probe/pieces", [("Content-Type", "text/plain")], LINES,
        status=200),
    Row("pieces-chunked", "POST", "/probe/pieces", [("Content-Type", "text/plain")], LINES,
        chunked=True, status=200),
    Row("env", "GET", "/probe/env?q=%2Fx", [("X-Probe", "env")], status=200),
    # probes: every framing of an answer
    Row("stream", "GET", "/probe/stream?n=20&size=500", status=200),
    Row("stream-head", "HEAD", "/probe/stream?n=3", status=200),
    Row("status-409", "GET", "/probe/status?code=409", status=409),
    Row("status-204", "GET", "/probe/status?code=204", status=204),
    Row("length", "GET", "/probe/length", status=200),
    Row("fail", "GET", "/probe/fail", status=500),
    Row("probe-404", "GET", "/probe/nothing", status=404),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory, smtp_sink):
    return hosting.embed_site(tmp_path_factory)


def _normal(status, headers, body):
    return (status, [(k.lower(), v) for k, v in headers if k.lower() not in HOST_OWNED], body)


def _over_socket(port):
    def ask(row):
        r = hosting.exchange(port, row.raw, head_request=row.method == "HEAD")
        return _normal(r.status, r.headers, r.body)
    ask.port = port
    return ask


def _in_process_sansio(app):
    def ask(row):
        conn = app.connection(client=("127.0.0.1", 50000))
        out = conn.receive(row.raw)
        if row.version == "HTTP/1.0" or not conn.closed:
            out += conn.receive(b"")
        r = parse_response(out, head_only=row.method == "HEAD")
        return _normal(r.status, r.headers, r.body)
    return ask


def _test_client(app):
    client = Client(app, host=None)

    def ask(row):
        r = client.request(row.method, row.target, headers=row.headers, body=row.body,
                           chunked=row.chunked, version=row.version)
        return _normal(r.status, r.headers, r.body)
    return ask


SOCKET_HOSTS = {
    "own-server": lambda conf: hosting.start_own(conf),
    "gunicorn-sync": lambda conf: hosting.start_gunicorn(conf, "sync", workers=2,
                                                         env=_env()),
    "gunicorn-gthread": lambda conf: hosting.start_gunicorn(conf, "gthread", workers=2,
                                                            env=_env()),
    "uvicorn": lambda conf: hosting.start_uvicorn(conf, env=_env()),
    "sansio-selectors": lambda conf: hosting.start_example("selectors_server.py", conf,
                                                           env=_env()),
    "sansio-threaded": lambda conf: hosting.start_example("threaded_server.py", conf,
                                                          env=_env()),
}
_SMTP = {}


def _env():
    return {"FD_SMTP_PORT": str(_SMTP["port"])}


@pytest.fixture(scope="module")
def hosts(site, smtp_sink):
    """Every host, started in parallel; name -> ask(row) -> answer."""
    pytest.importorskip("gunicorn")
    pytest.importorskip("uvicorn")
    _SMTP["port"] = smtp_sink.port
    os.environ["FD_SMTP_PORT"] = str(smtp_sink.port)
    env = dict(os.environ)
    env["FD_SMTP_PORT"] = str(smtp_sink.port)
    started = {}
    with concurrent.futures.ThreadPoolExecutor(len(SOCKET_HOSTS)) as pool:
        futures = {name: pool.submit(start, site) for name, start in SOCKET_HOSTS.items()}
        errors = []
        for name, fut in futures.items():
            try:
                started[name] = fut.result(120)
            except Exception as exc:
                errors.append("%s: %s" % (name, exc))
    default_port = smtplib.SMTP.default_port
    try:
        if errors:
            pytest.fail("hosts did not start:\n" + "\n".join(errors))
        app = Dispatcher.from_config(site)        # its PythonImport reads FD_SMTP_PORT
        asks = {name: _over_socket(proc.port) for name, proc in started.items()}
        asks["sansio"] = _in_process_sansio(app)
        asks["test-client"] = _test_client(app)
        yield asks
    finally:
        for proc in started.values():
            proc.stop()
        smtplib.SMTP.default_port = default_port
        os.environ.pop("FD_SMTP_PORT", None)


@pytest.fixture(scope="module")
def answers(hosts, smtp_sink):
    """Every row through every host: name -> [answer per row]."""
    out = {}
    lock = threading.Lock()

    def run(name):
        got = [hosts[name](row) for row in ROWS]
        with lock:
            out[name] = got

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        for f in [pool.submit(run, name) for name in hosts]:
            f.result(300)
    smtp_sink.wait_for(len(hosts))
    smtp_sink.after_table = list(smtp_sink.envelopes)
    return out


def test_reference_answers_are_the_sites(answers):
    """The test client's answers are the site's (so that the comparisons
    below compare something meaningful)."""
    ref = dict(zip((r.name for r in ROWS), answers["test-client"]))
    for row in ROWS:
        assert ref[row.name][0] == row.status, (row.name, ref[row.name])
    assert ref["hello"][2] == b"Hello World!"
    assert ref["hello-head"][2] == b""
    assert ref["auth-good"][2] == b"Hello World!"
    assert ("www-authenticate", 'Basic realm="Restricted Area"') in ref["auth-none"][1]
    assert ref["err-handler"][2] == b"Page not here.  Page left, not know where gone."
    assert ref["form-mail"][2].startswith(b"<html>\n\nDear Joe Bloggs,<br>")
    assert ref["form-missing"][2].startswith(b"A required parameter is missing")
    assert ("location", "http://localhost/feedback/") in ref["dir-redirect"][1]
    assert b"body=102400 " in ref["echo-body"][2] and b"body=102400 " in ref["echo-chunked"][2]
    assert ref["echo-body"][2].split(b"body=")[1] == ref["echo-chunked"][2].split(b"body=")[1]
    assert ref["pieces"][2] == ref["pieces-chunked"][2]
    assert ref["stream"][2] == b"".join(b"%d:" % i + b"x" * 500 + b"\n" for i in range(20))
    assert ref["length"][2] == b"0123456789abcdefghij"
    assert b"ValueError: the probe failed on purpose" in ref["fail"][2]
    assert ref["status-204"][2] == b""


@pytest.mark.parametrize("host", ["own-server", "gunicorn-sync", "gunicorn-gthread",
                                  "uvicorn", "sansio-selectors", "sansio-threaded",
                                  "sansio"])
def test_same_answers_as_the_test_client(answers, host):
    ref = answers["test-client"]
    got = answers[host]
    diffs = []
    for row, a, b in zip(ROWS, ref, got):
        if a != b:
            diffs.append("%s:\n  test client: %r\n  %s: %r" % (
                row.name, (a[0], a[1], a[2][:300]), host, (b[0], b[1], b[2][:300])))
    assert not diffs, "\n".join(diffs)


def test_every_host_delivered_the_form_mail(answers, smtp_sink):
    """form-mail ran once per host (8 hosts): each one talked SMTP."""
    assert len(smtp_sink.after_table) == len(answers)
    for env in smtp_sink.after_table:
        assert env.mail_from == "joe@example.org" and env.rcpt_tos == ["webmaster"]
        msg = email.message_from_bytes(env.original_content or env.content)
        assert msg["Subject"] == "feedback"
        assert "Great tutorial!" in msg.get_payload()


# rows a server answers without closing the connection
PERSISTENT = [i for i, r in enumerate(ROWS) if r.version == "HTTP/1.1" and r.status != 500]


@pytest.mark.parametrize("pipelined", [False, True], ids=["keep-alive", "pipelined"])
@pytest.mark.parametrize("host", ["own-server", "gunicorn-gthread", "uvicorn",
                                  "sansio-selectors", "sansio-threaded"])
def test_same_answers_on_one_connection(hosts, answers, host, pipelined):
    """The persistent rows one after the other on one connection (or all
    written at once, pipelined): the same answers again."""
    ref = answers["test-client"]
    with Conn(hosts[host].port, timeout=20) as c:
        if pipelined:
            c.send(b"".join(ROWS[i].raw for i in PERSISTENT))
        for i in PERSISTENT:
            row = ROWS[i]
            if not pipelined:
                c.send(row.raw)
            r = c.read_response(head_request=row.method == "HEAD")
            assert _normal(r.status, r.headers, r.body) == ref[i], row.name

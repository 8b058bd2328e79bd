"""The phase pipeline end to end: each phase, each return code, stacked
handlers, exceptions, DONE, SERVER_RETURN, loading rules, concurrency —
against a real server process over sockets."""
import json
import os
import re
import socket
import threading
import time

import pytest

import fastdispatch

from serverproc import Conn, ServerProcess, basic, copy_site, request


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    d = tmp_path_factory.mktemp("pipeline")
    record = d / "record.log"
    conf = copy_site("pipeline", d, {"RECORD_FILE": record})
    return d, conf, record


@pytest.fixture(scope="module")
def server(site):
    _, conf, _ = site
    srv = ServerProcess(["serve", "--config", str(conf), "--port", "0", "--workers", "2"])
    yield srv
    srv.stop()


def get(server, path, **kw):
    return request(server.port, "GET", path, **kw)


def test_every_phase_runs_in_order(server, site):
    r = get(server, "/phases/anything")
    assert r.status == 200
    # (a PythonInitHandler in a <Directory> never runs: mod_python runs the
    # init list in post-read-request, where only the server's is known)
    assert r.header_all("X-Phase") == ["headerparser", "access", "type", "fixup"]
    assert r.body == b"headerparser,access,type,fixup"
    record = site[2]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        lines = record.read_text().splitlines() if record.exists() else []
        if "cleanup /phases/anything" in lines:
            break
        time.sleep(0.05)
    assert lines[-2:] == ["log /phases/anything", "cleanup /phases/anything"]


def test_stacked_handlers_several_per_line_and_several_lines(server):
    r = get(server, "/stack/x")
    assert r.status == 200
    assert r.body == b"first;second;third;"


def test_declined_ends_the_response_phase(server):
    """The handlers after a DECLINED do not run; the default handler answers
    and what the earlier ones buffered is dropped (Apache: 404 here)."""
    r = get(server, "/stack_declined/x")
    assert r.status == 404
    assert b"first;" not in r.body and b"second;" not in r.body
    assert b"<title>404 Not Found</title>" in r.body


@pytest.mark.parametrize("phase", ["headerparser", "access", "fixup", "handler"])
@pytest.mark.parametrize("code", [403, 404, 500, 401])
def test_http_code_from_a_phase_gives_server_error_page(server, phase, code):
    r = get(server, "/rc/x?phase=%s&rc=%d" % (phase, code))
    assert r.status == code
    assert b"<!DOCTYPE HTML PUBLIC" in r.body
    assert b"ran;" not in r.body


@pytest.mark.parametrize("phase", ["headerparser", "access", "fixup"])
def test_done_from_a_non_response_phase_ends_the_request(server, phase):
    r = get(server, "/rc/x?phase=%s&rc=-2" % phase)
    assert r.status == 200
    assert r.body == ("%s ran;" % phase).encode()


@pytest.mark.parametrize("phase", ["headerparser", "access", "fixup"])
def test_ok_and_declined_continue(server, phase):
    for rc in (0, -1):
        r = get(server, "/rc/x?phase=%s&rc=%d" % (phase, rc))
        assert r.status == 200
        assert r.body == ("%s ran;response;" % phase).encode()


def test_type_phase_ok_stops_the_phase_and_continues(server):
    r = get(server, "/rc/x?phase=type&rc=0")
    assert r.status == 200
    assert r.body == b"type ran;response;"


def test_handler_status_set_and_ok_is_handlers_page(server):
    r = get(server, "/rc/x?phase=handler&rc=0&status=404")
    assert r.status == 404
    assert r.body == b"handler ran;"


def test_handler_declined_falls_back_to_static(server):
    r = get(server, "/rc/missing.txt?phase=handler&rc=-1")
    assert r.status == 404  # default handler: no such file


def test_done_from_fixup_skips_response_handler(server):
    r = get(server, "/done/x")
    assert r.status == 200
    assert r.body == b"ended early by the fixup handler"


def test_server_return_exception(server):
    r = get(server, "/serverreturn/x")
    assert r.status == 403
    assert b"<title>403 Forbidden</title>" in r.body


def test_handler_returning_none_is_500(server):
    r = get(server, "/serverreturn/none.py")
    assert r.status == 500


def test_exception_with_debug_on_shows_traceback(server):
    r = get(server, "/crash_on/x")
    assert r.status == 500
    assert r.body.startswith(b'\n<pre>\nMod_python error: "PythonHandler crash"\n\n')
    assert r.header("Content-Type") == "text/html"
    assert r.header("Connection") == "close"
    assert b"ValueError: boom in the handler" in r.body
    assert b"Traceback (most recent call last)" in r.body
    # the dispatcher's own frame reads as its source does, compiled or not
    # (Cython names it by a relative path and a qualified name, no line)
    dispatch_py = os.path.join(os.path.dirname(fastdispatch.__file__), "dispatch.py")
    assert ("File &quot;%s&quot;" % dispatch_py).encode() in r.body
    assert re.search(rb", line \d+, in _call\n    result = obj\(req\)\n", r.body), r.body
    assert server.wait_for_log(r"ValueError: boom in the handler")
    assert server.wait_for_log(r", in _call\n.*\]     result = obj\(req\)")


@pytest.mark.parametrize("what, name", [("refused", b"ConnectionRefusedError"),
                                        ("timeout", b"TimeoutError: the backend timed out"),
                                        ("reset", b"ConnectionResetError")])
def test_a_handlers_own_connection_error_is_its_exception(server, what, name):
    """A ConnectionError or TimeoutError from a handler's own sockets (an SMTP
    or database server) is reported as any exception of the handler: 500,
    the traceback under PythonDebug On. Only the client's own connection
    failing ends a request without an answer."""
    r = get(server, "/crash_on/x?" + what)
    assert r.status == 500
    assert r.body.startswith(b'\n<pre>\nMod_python error: "PythonHandler crash"\n\n')
    assert name in r.body
    assert get(server, "/hello/a.py").body == b"Hello World!"


def test_exception_with_debug_off_hides_traceback_but_logs_it(server):
    r = get(server, "/crash_off/x")
    assert r.status == 500
    assert b"boom" not in r.body and b"Traceback" not in r.body
    assert b"<title>500 Internal Server Error</title>" in r.body
    assert server.wait_for_log(r"crash_off/x")


def test_worker_keeps_serving_after_crashes(server):
    for _ in range(5):
        assert get(server, "/crash_off/x").status == 500
    assert get(server, "/hello/a.py").body == b"Hello World!"


def test_ext_restriction(server):
    assert get(server, "/ext/a.ext").body == b"ext handler for a.ext"
    assert get(server, "/ext/b.other").body == b"ext handler for b.other"
    r = get(server, "/ext/page.html")
    assert r.status == 200 and r.body == b"<html>static in ext</html>\n"


def test_class_instantiated_with_req(server):
    assert get(server, "/classh/x").body == b"instance made with req for /classh/x"
    # a class named last is called as the handler: the instance it returns is
    # not a result, so 500 (as mod_python's resolve_object, seen on Apache)
    assert get(server, "/classh/callme").status == 500


def test_two_directories_with_same_module_name_stay_apart(server):
    for _ in range(3):
        assert get(server, "/twin_a/x").body == b"I am twin A"
        assert get(server, "/twin_b/x").body == b"I am twin B"


def test_request_attributes(server):
    r = get(server, "/echo/some/path?a=1&b=two", headers=[("X-Test", "1")])
    info = json.loads(r.body)
    assert info["uri"] == "/echo/some/path"
    assert info["args"] == "a=1&b=two"
    assert info["unparsed_uri"] == "/echo/some/path?a=1&b=two"
    assert info["the_request"] == "GET /echo/some/path?a=1&b=two HTTP/1.1"
    assert info["filename"].endswith("/echo/some")
    assert info["path_info"] == "/path"
    assert info["protocol"] == "HTTP/1.1"
    assert info["remote_ip"] == "127.0.0.1"
    assert info["options"] == {"record": info["options"]["record"], "color": "blue"}
    assert r.header("X-Echo") == "yes"


def test_request_body_content_length_and_chunked(server):
    r = request(server.port, "POST", "/echo/x", body=b"hello body",
                headers=[("Content-Type", "text/plain")])
    assert json.loads(r.body)["body"] == "hello body"
    with Conn(server.port) as c:
        c.send(b"POST /echo/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        assert json.loads(c.read_response().body)["body"] == "hello world"


def test_expect_100_continue(server):
    with Conn(server.port) as c:
        c.send(b"POST /echo/x HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n"
               b"Expect: 100-continue\r\n\r\n")
        interim = c.read_response()
        assert interim.status == 100
        c.send(b"data")
        r = c.read_response()
        assert json.loads(r.body)["body"] == "data"


def test_streamed_write_is_chunked(server):
    r = get(server, "/echo/stream")
    assert r.header("Transfer-Encoding") == "chunked"
    assert r.body == b"".join(b"part %d\n" % i for i in range(5))


def test_location_handler_without_filesystem(server):
    r = get(server, "/virtual/a/b")
    assert r.status == 200
    # a <Location> mod_python handles maps to no file: path_info (and
    # filename) None, as mod_python 3.5 on Apache 2.4.71 shows them
    assert r.body == b"location handler: uri=/virtual/a/b path_info=None"


def test_authz_phase(server):
    assert get(server, "/authz/x").status == 401
    assert get(server, "/authz/x", headers=[basic("bob", "secret")]).status == 403
    r = get(server, "/authz/x", headers=[basic("admin", "secret")])
    assert r.status == 200 and r.body == b"welcome admin"


def test_keep_alive_and_pipelining(server):
    with Conn(server.port) as c:
        c.send(b"GET /hello/1.py HTTP/1.1\r\nHost: a\r\n\r\n"
               b"GET /echo/x?n=2 HTTP/1.1\r\nHost: a\r\n\r\n"
               b"GET /hello/3.py HTTP/1.1\r\nHost: a\r\n\r\n")
        r1, r2, r3 = c.read_response(), c.read_response(), c.read_response()
        assert r1.body == b"Hello World!"
        assert json.loads(r2.body)["args"] == "n=2"
        assert r3.body == b"Hello World!"
        assert c.request("GET", "/hello/4.py").body == b"Hello World!"


@pytest.fixture(scope="module")
def one_worker(site):
    srv = ServerProcess(["serve", "--config", str(site[1]), "--port", "0", "--workers", "1"])
    yield srv
    srv.stop()


def test_blocking_handler_does_not_stall_other_connections(one_worker):
    server = one_worker
    result = {}

    def slow():
        result["slow"] = get(server, "/sleep/x").body

    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.3)
    start = time.monotonic()
    # several quick requests on other connections while the sleeper sleeps
    for _ in range(3):
        assert get(server, "/hello/x.py").body == b"Hello World!"
    elapsed = time.monotonic() - start
    t.join(10)
    assert result["slow"] == b"slept"
    assert elapsed < 1.5, "quick requests waited for the sleeping handler"


def test_bad_request_gets_400_and_close(server):
    with Conn(server.port) as c:
        c.send(b"GET / HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n")
        r = c.read_response()
        assert r.status == 400
        assert c.is_closed()


def test_path_escape_attempts_stay_in_root(server):
    for path in ("/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/hello/../../../etc/passwd"):
        r = get(server, path)
        assert r.status in (400, 403, 404)
        assert b"root:" not in r.body


def test_autoreload_picks_up_an_edited_handler(server, site):
    d = site[0]
    module = d / "hello" / "hello.py"
    original = module.read_text()
    try:
        assert get(server, "/hello/x.py").body == b"Hello World!"
        module.write_text(original.replace("Hello World!", "Hello again!"))
        stat = module.stat()
        os.utime(module, (stat.st_atime, stat.st_mtime + 2))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if get(server, "/hello/x.py").body == b"Hello again!":
                break
            time.sleep(0.2)
        # every worker process sees the new code within the check interval
        time.sleep(1.2)
        for _ in range(6):
            assert get(server, "/hello/x.py").body == b"Hello again!"
    finally:
        module.write_text(original)
        os.utime(module, None)


def test_logs_go_to_the_files_the_config_names(tmp_path):
    conf = copy_site("pipeline", tmp_path, {"RECORD_FILE": tmp_path / "record.log"})
    with open(conf, "a") as f:
        f.write("ErrorLog logs/error.log\nServerName logged.example\n"
                'LogFormat "%h %>s %b %B %m %U%q %H %X %k %v \\"%{User-Agent}i\\" '
                '%{Referer}i %404{Referer}i %!404{Referer}i %T %D %%" mine\n'
                "CustomLog logs/access.log mine\n")
    (tmp_path / "logs").mkdir()
    srv = ServerProcess(["serve", "--config", str(conf), "--port", "0", "--workers", "1"])
    try:
        get(srv, "/hello/x.py?a=%41", headers=[("User-Agent", "agent/1.0"),
                                                ("Referer", "http://r/")])
        get(srv, "/crash_off/x", headers=[("Connection", "close")])
    finally:
        srv.stop()
    access = (tmp_path / "logs" / "access.log").read_text().splitlines()
    assert len(access) == 2
    assert re.fullmatch(r'127\.0\.0\.1 200 12 12 GET /hello/x\.py\?a=%41 HTTP/1\.1 \+ 0 '
                        r'logged\.example "agent/1\.0" http://r/ - http://r/ 0 \d+ %',
                        access[0]), access[0]
    assert re.match(r"127\.0\.0\.1 500 \d+ \d+ GET /crash_off/x HTTP/1\.1 - 0 ", access[1])
    error = (tmp_path / "logs" / "error.log").read_text()
    assert "ValueError: boom in the handler" in error

"""The mod_python tutorial's examples, end to end, against a real
``fastdispatch serve --config examples/tutorial/site.conf`` over sockets."""
import os

import pytest

from serverproc import ROOT, Conn, ServerProcess, basic, request

CONF = os.path.join(ROOT, "examples", "tutorial", "site.conf")


@pytest.fixture(scope="module")
def server():
    srv = ServerProcess(["serve", "--config", CONF, "--host", "127.0.0.1", "--port", "0",
                         "--workers", "1"])
    yield srv
    srv.stop()


@pytest.mark.parametrize("name", ["myscript.py", "montypython.py", "sub.py"])
def test_hello_world_for_any_py_url(server, name):
    r = request(server.port, "GET", "/mywebdir/" + name)
    assert r.status == 200
    assert r.body == b"Hello World!"
    assert r.header("Content-Type") == "text/plain"


def test_hello_world_head_has_no_body(server):
    r = request(server.port, "HEAD", "/mywebdir/myscript.py")
    assert r.status == 200
    assert r.body == b""
    assert r.header("Content-Type") == "text/plain"


def test_hello_world_http10_closes_without_length(server):
    with Conn(server.port) as c:
        r = c.request("GET", "/mywebdir/myscript.py", version="HTTP/1.0")
        assert r.status == 200 and r.body == b"Hello World!"


def test_non_py_file_in_hello_dir_is_not_the_handler(server):
    r = request(server.port, "GET", "/mywebdir/nothing.html")
    assert r.status == 404


def test_auth_spam_eggs_gets_in(server):
    r = request(server.port, "GET", "/secure/myscript.py", headers=[basic("spam", "eggs")])
    assert r.status == 200
    assert r.body == b"Hello World!"


@pytest.mark.parametrize("headers", [
    [],
    [basic("spam", "bacon")],
    [basic("eggs", "spam")],
    [("Authorization", "Basic !!!not-base64!!!")],
    [("Authorization", "Bearer abc")],
    [("Authorization", "Basic\tc3BhbTplZ2dz")],    # Apache splits the scheme at a SP only
])
def test_auth_anything_else_is_401_with_challenge(server, headers):
    r = request(server.port, "GET", "/secure/myscript.py", headers=headers)
    assert r.status == 401
    assert r.header("WWW-Authenticate") == 'Basic realm="Restricted Area"'
    assert b"<title>401 Unauthorized</title>" in r.body
    assert b"Hello World" not in r.body


@pytest.mark.parametrize("framing, body, status", [
    ("Transfer-Encoding: chunked", b"zz\r\nabc\r\n0\r\n\r\n", 400),
    ("Content-Length: 9999999999", b"abc", 413),
])
def test_auth_refusal_reads_the_body_first(server, framing, body, status):
    # Apache's ap_die reads and drops the body before the 401 page: a body
    # that cannot be read is answered instead, close-delimited, its page
    # naming the 401, without the challenge (checked against Apache 2.4.68)
    with Conn(server.port) as c:
        c.send(("POST /secure/myscript.py HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n\r\n"
                % framing).encode() + body)
        r = c.read_response()
        assert r.status == status
        assert r.header("WWW-Authenticate") is None
        assert r.header("Connection") == "close" and r.header("Content-Length") is None
        assert b"Additionally, a 401 Unauthorized\nerror was encountered" in r.body
        assert c.is_closed()
    # a body that reads well: the 401 with its challenge, the connection kept
    with Conn(server.port) as c:
        r = c.request("POST", "/secure/myscript.py", body=b"name=a")
        assert r.status == 401 and r.header("WWW-Authenticate")
        assert c.request("GET", "/secure/myscript.py", headers=[basic("spam", "eggs")]).status == 200


def test_auth_applies_to_any_py_name(server):
    assert request(server.port, "GET", "/secure/other.py").status == 401
    r = request(server.port, "GET", "/secure/other.py", headers=[basic("spam", "eggs")])
    assert r.status == 200 and r.body == b"Hello World!"


def test_own_404_server_error_page(server):
    r = request(server.port, "GET", "/errors/apache-error.html")
    assert r.status == 404
    assert r.header("Content-Type") == "text/html; charset=iso-8859-1"
    assert b"<title>404 Not Found</title>" in r.body
    assert b"The requested URL was not found on this server." in r.body


def test_own_404_handler_page(server):
    r = request(server.port, "GET", "/errors/handler-error.html")
    assert r.status == 404
    assert r.body == b"Page not here.  Page left, not know where gone."


def test_own_404_handler_reads_existing_file(server):
    r = request(server.port, "GET", "/errors/index.html")
    assert r.status == 200
    with open(os.path.join(ROOT, "examples/tutorial/htdocs/errors/index.html"), "rb") as f:
        assert r.body == f.read()


def test_form_html_is_static(server):
    r = request(server.port, "GET", "/feedback/form.html")
    assert r.status == 200
    assert r.header("Content-Type") == "text/html"
    assert b'<form action="form.py/email" method="POST">' in r.body
    assert r.header("ETag") and r.header("Last-Modified")
    assert r.header("Content-Length") == str(len(r.body))


def test_keep_alive_serves_all_examples_on_one_connection(server):
    with Conn(server.port) as c:
        assert c.request("GET", "/mywebdir/myscript.py").body == b"Hello World!"
        assert c.request("GET", "/secure/myscript.py").status == 401
        assert c.request("GET", "/secure/x.py", headers=[basic("spam", "eggs")]).status == 200
        assert c.request("GET", "/errors/handler-error.html").status == 404
        assert c.request("GET", "/feedback/form.html").status == 200

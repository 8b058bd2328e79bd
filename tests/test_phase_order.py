"""When the log and cleanup handlers run, what an internal redirect keeps,
Basic credentials in a handler, authentication handlers' answers, '| .ext'
handler lists and the type check, each as Apache 2.4 + mod_python 3.5
answered for this site (tests/sites/phaseorder, run on a private Apache
2.4.71 with the same config), asserted against ``fastdispatch serve``."""
import os
import threading

import pytest

from serverproc import Conn, ServerProcess, basic, copy_site, request

BOB = basic("bob", "pw")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    d = tmp_path_factory.mktemp("phaseorder")
    conf = copy_site("phaseorder", d)
    srv = ServerProcess(["serve", "--config", str(conf), "--port", "0", "--workers", "1"])
    srv.dir = d
    yield srv
    srv.stop()


@pytest.fixture
def trace(site):
    """The phases the next requests run, as (phase, uri, status) lines."""
    path = os.path.join(site.dir, "trace.log")
    for p in (path, path + ".go"):
        if os.path.exists(p):
            os.unlink(p)

    def read(expect_last=None):
        # the log and cleanup handlers run after the response: wait for them
        for _ in range(500):
            lines = open(path).read().split("\n")[:-1] if os.path.exists(path) else []
            if expect_last is None or (lines and lines[-1].startswith(expect_last)):
                return lines
            threading.Event().wait(0.01)
        return lines
    yield read
    # the test's last request ends with its cleanup handler: waiting for it
    # keeps its trace lines out of the next test's
    read("cleanup")


def get(site, path, **kw):
    return request(site.port, "GET", path, **kw)


# ---------------------------------------------------------------- log and cleanup

def test_log_and_cleanup_run_after_the_response_is_out(site, trace):
    # the cleanup handler waits until the test has read the whole response:
    # run before the response's end (as fastdispatch once did), it would
    # hold it back for 10 s and the read below would time out
    with Conn(site.port, timeout=5) as c:
        r = c.request("GET", "/ph/x?cleanup=wait")
        assert r.status == 200 and r.body.startswith(b"uri=/ph/x status=200")
        open(os.path.join(site.dir, "trace.log.go"), "w").close()
        assert [l.split()[0] for l in trace("cleanup-waited")] == [
            "type", "handler", "log", "cleanup", "cleanup-waited"]


def test_a_log_handlers_status_and_headers_do_not_reach_the_response(site, trace):
    r = get(site, "/ph/x?handler=ok&log=status500")
    assert r.status == 200 and r.header("X-Set-In") is None
    assert r.body == b"" and r.header("Content-Length") == "0"
    assert trace("cleanup")[-1] == "cleanup /ph/x 500"   # (the cleanup sees it)


def test_what_a_log_handler_writes_follows_the_response(site, trace):
    # Apache sends it as it is, after the response's end: the client sees
    # bytes no response frames (the connection is then unusable, as there)
    with Conn(site.port) as c:
        r = c.request("GET", "/ph/x?handler=ok&log=write")
        assert r.status == 200 and r.body == b""
        trace("cleanup")
        assert c.buf + c.sock.recv(100) == b"written in log\n"


def test_a_log_handler_error_page_follows_the_response_under_debug(site, trace):
    r = request(site.port, "GET", "/ph/x?handler=ok&log=raise",
                headers=[("Connection", "close")])
    assert r.status == 200 and r.header("Content-Length") == "0"
    assert trace("cleanup")[-1] == "cleanup /ph/x 500"
    assert site.wait_for_log(r"PythonLogHandler phord::log")


# ---------------------------------------------------------------- internal redirect

def test_redirect_after_a_write_ends_the_chunked_body_once(site, trace):
    with Conn(site.port) as c:
        c.send(b"GET /ph/x?handler=redirect-after-write HTTP/1.1\r\nHost: a\r\n\r\n"
               b"GET /ph/x HTTP/1.1\r\nHost: a\r\n\r\n")
        r = c.read_response()
        assert r.body == b"before redirect\nuri=/ph/target status=200 user=None\n"
        r2 = c.read_response()      # a second last-chunk would break this one
        assert r2.status == 200 and r2.body.startswith(b"uri=/ph/x ")
    # the redirect target's own cleanup handler runs too, before the original's
    lines = trace("cleanup /ph/x")
    assert "cleanup /ph/target 200" in lines


def test_a_status_set_before_a_redirect_stays(site, trace):
    r = get(site, "/ph/x?handler=status-redirect")
    assert r.status == 404
    assert r.body == b"uri=/ph/target status=404 user=None\n"


def test_a_redirect_with_an_error_status_that_fails_names_both(site, trace):
    r = get(site, "/ph/x?handler=status-redirect-missing")
    assert r.status == 404
    assert b"<p>The requested URL was not found on this server.</p>" in r.body
    assert b"<p>Additionally, a 404 Not Found\nerror was encountered while trying to use " \
           b"an ErrorDocument to handle the request.</p>" in r.body


def test_a_redirect_to_an_empty_uri_is_one_to_the_root(site, trace):
    with Conn(site.port) as c:
        r = c.request("GET", "/ph/x?handler=redirect-empty")
        assert r.status == 200 and r.body == b"site index\n"
        assert c.buf + c.sock.recv(100) == b"after the redirect\n"


def test_a_redirect_to_a_relative_uri_is_a_bad_request_and_the_handler_goes_on(site, trace):
    with Conn(site.port) as c:
        r = c.request("GET", "/ph/x?handler=redirect-relative")
        assert r.status == 400 and b"<title>400 Bad Request</title>" in r.body
        assert c.buf + c.sock.recv(100) == b"after the redirect\n"


def test_an_error_document_sees_the_method_the_client_used(site, trace):
    r = request(site.port, "POST", "/ph/x?handler=402", body=b"a=1",
                headers=[("Content-Type", "application/x-www-form-urlencoded")])
    assert r.status == 402
    assert r.body == (b"402 [('REDIRECT_REQUEST_METHOD', 'POST'), "
                      b"('REDIRECT_STATUS', '402')]\n")


# ---------------------------------------------------------------- request attributes

def test_chunked_flags_are_apaches_and_get_config_flags_are_numbers(site, trace):
    # (a chunked body would be refused by mod_python's req.read() with 411;
    # fastdispatch reads it, README says so)
    r = request(site.port, "POST", "/ph/x?handler=attrs", body=b"ab")
    lines = r.body.decode().split("\n")
    assert lines[0] == "config=[('PythonAutoReload', '0'), ('PythonDebug', '1'), " \
        "('PythonPath', \"sys.path + ['%s']\")]" % site.dir
    # r->chunked is the response's: chunked once its head is out (the first
    # write sends it), not the request's
    assert lines[1] == "chunked=0 read_chunked=0"
    assert lines[2] == "read b'ab': chunked=0 read_chunked=0; written: chunked=1"
    assert lines[4] == "restart_time=float"


@pytest.mark.parametrize("target, hostname, host, parsed", [
    # an https:// target on an http server: the Host header stays in charge
    ("https://Example.org/ph/x?handler=attrs", "127.0.0.1", "127.0.0.1",
     "('https', 'Example.org', None, None, 'Example.org', None)"),
    # its own scheme: the target's host replaces Host, lower-cased
    ("HTTP://Example.org:81/ph/x?handler=attrs", "example.org", "example.org:81",
     "('HTTP', 'Example.org:81', None, None, 'Example.org', 81)"),
])
def test_an_absolute_target_names_the_host_only_in_the_servers_scheme(
        site, trace, target, hostname, host, parsed):
    r = request(site.port, "GET", target)
    line = r.body.decode().split("\n")[3]
    assert line == "hostname=%s Host=%s parsed=%s" % (hostname, host, parsed)


def test_an_error_page_is_titled_by_the_handlers_status_line(site, trace):
    r = get(site, "/ph/x?handler=status-line")
    assert (r.status, r.reason) == (404, "Really Not")
    assert b"<title>404 Really Not</title>\n</head><body>\n<h1>Really Not</h1>" in r.body


# ---------------------------------------------------------------- <Location> handlers

@pytest.mark.parametrize("path, status, body", [
    # a <Location> whose handler is mod_python's maps to no file...
    ("/lmap/x", 200, b"filename=None path_info=None\n"),
    # ...unless a later <Location> with mod_python directives but no handler
    # applies: the URL maps to a file again (mod_python 3.5's rule)
    ("/lmap/sub/x.txt", 200, b"filename=/lmap/sub/x.txt path_info=''\n"),
    ("/lmap/sub", 301, None),                   # (then mod_dir's redirect)
])
def test_a_location_handler_and_the_file_system(site, path, status, body):
    r = get(site, path)
    assert r.status == status
    if body is not None:
        assert r.body == body
    else:
        assert r.header("Location").endswith("/lmap/sub/")


# ---------------------------------------------------------------- writes

def test_a_whole_body_gets_its_own_length_whatever_the_handler_said(site, trace):
    with Conn(site.port) as c:
        r = c.request("GET", "/ph/x?handler=length-then-write0")
        assert r.header("Content-Length") == "6" and r.body == b"abcdef"
        assert c.request("GET", "/ph/x?handler=ok").status == 200    # (framing kept)


def test_a_head_answered_without_a_body_keeps_the_handlers_length(site, trace):
    r = request(site.port, "HEAD", "/ph/x?handler=length-only")
    assert r.status == 200 and r.header("Content-Length") == "6"


@pytest.mark.parametrize("query, size, length", [
    ("n=8000", 8000, "8000"),           # what ap_rwrite keeps: a whole response
    ("n=8001", 8001, None),             # more goes on at once: chunked
    ("n=5&times=1601", 8005, None),     # (the 1,601st write passes the 8,000 on)
    ("n=5&times=1600", 8000, "8000"),
])
def test_unflushed_writes_over_8000_bytes_go_out_chunked(site, trace, query, size, length):
    r = get(site, "/ph/x?handler=write0&" + query)
    assert r.status == 200 and len(r.body) == size
    assert r.header("Content-Length") == length
    assert r.header("Transfer-Encoding") == (None if length else "chunked")


def test_unflushed_writes_over_8000_bytes_close_an_http10_connection(site, trace):
    r = request(site.port, "GET", "/ph/x?handler=write0&n=9000", version="HTTP/1.0",
                headers=[("Connection", "keep-alive")])
    assert r.header("Content-Length") is None and r.header("Connection") == "close"
    assert len(r.body) == 9000


# ---------------------------------------------------------------- credentials

def test_get_basic_auth_pw_needs_authtype_basic(site):
    r = get(site, "/noauth/x", headers=[BOB])
    assert r.body == b"pw=None user=None\n"
    assert r.header("WWW-Authenticate") is None


def test_get_basic_auth_pw_reads_basic_credentials(site):
    r = get(site, "/basic/x", headers=[BOB])
    assert r.status == 200 and r.body == b"pw='pw' user='bob'\n"
    assert r.header("WWW-Authenticate") is None


@pytest.mark.parametrize("auth", [None, "Digest x=1"])
def test_get_basic_auth_pw_without_basic_credentials_notes_the_challenge(site, auth):
    r = get(site, "/basic/x", headers=[("Authorization", auth)] if auth else [])
    assert r.status == 200 and r.body == b"pw=None user=None\n"
    assert r.header("WWW-Authenticate") == 'Basic realm="BRealm"'


def test_authen_ok_without_a_user_is_a_server_error(site):
    r = get(site, "/auth/x", headers=[BOB])
    assert r.status == 500
    assert r.header("WWW-Authenticate") is None
    assert site.wait_for_log(r"AH00027: No authentication done")


def test_authen_naming_a_user_lets_the_request_in(site):
    r = get(site, "/auth/x?authen=user", headers=[BOB])
    assert r.status == 200 and r.body == b"uri=/auth/x status=200 user=bob\n"


def test_an_authz_handlers_401_carries_no_challenge(site):
    r = get(site, "/auth/x?authen=user&authz=401", headers=[BOB])
    assert r.status == 401
    assert r.header("WWW-Authenticate") is None


def test_mod_authz_cores_own_401_carries_the_challenge(site):
    r = get(site, "/auth/x?authen=declined")
    assert r.status == 401
    assert r.header("WWW-Authenticate") == 'Basic realm="PRealm"'


@pytest.mark.parametrize("headers", [[], [BOB]])
def test_another_authtype_declined_by_its_handler_is_a_server_error(site, headers):
    # nothing else checks users for AuthType Python (Apache's decl_die)
    r = get(site, "/pyauth/x?authen=declined", headers=headers)
    assert r.status == 500
    assert get(site, "/pyauth/x?authen=user", headers=headers).status == 200


# ---------------------------------------------------------------- handler lists

@pytest.mark.parametrize("path, body", [
    ("/ext/a.txt", b"for_txt\n"),           # the .txt list replaces the general one
    ("/ext/b.html", b"general\n"),
    ("/ext/sub/a.txt", b"for_txt\n"),       # a section's general list leaves it
    ("/ext/sub/b.html", b"sub_general\n"),
])
def test_an_extension_list_replaces_the_general_list(site, path, body):
    r = get(site, path)
    assert r.status == 200 and r.body == body


def test_a_handler_added_in_post_read_request_runs(site, trace):
    r = get(site, "/ph/x?postread=addhandler")
    assert r.status == 200
    assert [l.split()[0] for l in trace("cleanup")] == [
        "postread", "type", "added", "handler", "log", "cleanup"]


def test_the_servers_init_handler_runs_before_post_read_request(site, trace):
    # the <Directory>'s PythonInitHandler never runs, as on Apache
    r = get(site, "/ph/x?init=ok&postread=ok")
    assert r.status == 200
    assert [l.split()[0] for l in trace("cleanup")] == [
        "init", "postread", "type", "handler", "log", "cleanup"]


def test_the_servers_init_handler_can_end_the_request(site, trace):
    r = get(site, "/ph/x?init=403&postread=ok")
    assert r.status == 403
    # no directory is known then: the server's log and cleanup lists (none
    # here) are the ones that run; the next request's phases follow
    assert get(site, "/ph/x?handler=ok").status == 200
    assert [l.split()[0] for l in trace("cleanup")] == [
        "init", "type", "handler", "log", "cleanup"]


@pytest.mark.parametrize("query, status", [
    ("postread=403", 403), ("postread=404", 404), ("postread=done", 200),
    ("init=403&postread=ok", 403)])
@pytest.mark.parametrize("version", ["1.1", "1.0"])
def test_a_refusal_in_post_read_request_ends_the_connection_unannounced(
        site, trace, query, status, version):
    # (ap_read_request answers and gives up on the connection; the head
    # still says what keep-alive rules say of the request)
    with Conn(site.port) as c:
        c.send(("GET /ph/x?%s HTTP/%s\r\nHost: x\r\nConnection: keep-alive\r\n\r\n"
                % (query, version)).encode())
        r = c.read_response()
        assert r.status == status
        assert r.header("Connection") == "Keep-Alive"
        assert c.is_closed()
    trace()


@pytest.mark.parametrize("code", [1, 99, 600, 999, -5])
def test_a_code_that_is_no_http_status_is_a_500_that_ends_the_connection(site, code):
    with Conn(site.port) as c:
        r = c.request("GET", "/ph/x?handler=%d" % code)
        assert r.status == 500 and r.header("Connection") == "close"
        assert b"<title>500 Internal Server Error</title>" in r.body
        assert c.is_closed()


def test_an_authentication_handler_that_reads_the_password_and_declines(site):
    # (mod_auth_basic then checks the credentials itself: with no provider
    # that is a 500, whatever user the handler's read set; none sent: 401)
    r = get(site, "/auth/x?authen=readpw-declined", headers=[BOB])
    assert r.status == 500
    r = get(site, "/auth/x?authen=readpw-declined")
    assert r.status == 401 and r.header("WWW-Authenticate") == 'Basic realm="PRealm"'


# ---------------------------------------------------------------- the type check

def test_a_type_handlers_ok_skips_mod_mime(site):
    # no AddHandler: the file is served as it is, without a type
    r = get(site, "/mime/a.txt")
    assert r.status == 200 and r.body == b"file mime/a.txt\n"
    assert r.header("Content-Type") is None


def test_a_declining_type_handlers_type_gives_way_to_mod_mime(site):
    r = get(site, "/mime/a.txt?type=ctype&handler=ok")
    assert r.status == 200 and r.body == b""
    assert r.header("Content-Type") == "text/plain"

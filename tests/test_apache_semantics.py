"""Behaviours of Apache 2.4 + mod_python 3.5 a ported site relies on, each
observed on the real system (a private Apache 2.4.71, event MPM, with
mod_authz_host) for this exact site (tests/sites/semantics) and asserted
here against ``fastdispatch serve`` over a socket: Require without users,
a handler's redirect Location, ErrorDocument messages, err_headers_out
across an internal redirect, and Content-Length/-Type set in headers_out."""
import pytest

from fastdispatch import authz
from fastdispatch.config.parser import parse_config
from fastdispatch.errors import ConfigError
from serverproc import Conn, ServerProcess, basic, copy_site, request


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    d = tmp_path_factory.mktemp("semantics")
    conf = copy_site("semantics", d)
    srv = ServerProcess(["serve", "--config", str(conf), "--port", "0", "--workers", "1"])
    yield srv
    srv.stop()


def get(server, path, **kw):
    return request(server.port, "GET", path, **kw)


# ---------------------------------------------------------------- Require

def test_require_all_granted_needs_no_authtype(server):
    r = get(server, "/granted/g.txt")
    assert r.status == 200 and r.body == b"g\n"


def test_require_all_denied_is_403_without_a_prompt(server):
    r = get(server, "/denied/d.txt")
    assert r.status == 403
    assert r.header("WWW-Authenticate") is None
    assert b"<title>403 Forbidden</title>" in r.body
    assert server.wait_for_log(r"AH01630: client denied by server configuration")


def test_require_local_grants_loopback(server):
    assert get(server, "/local/l.txt").status == 200


def test_require_ip_refuses_other_networks(server):
    assert get(server, "/ipnet/i.txt").status == 403      # 127.0.0.1 is not in them


def test_denied_or_valid_user_asks_for_a_user(server):
    r = get(server, "/anyof/a.txt")
    assert r.status == 401
    assert r.header("WWW-Authenticate") == 'Basic realm="Any"'


@pytest.mark.parametrize("line, problem", [
    ("Require group admins", "unsupported authorization provider"),
    ("Require all maybe", "'granted' or 'denied'"),
    ("Require ip not-an-ip", "not an IP address"),
    ("Require user", "needs at least one argument"),
])
def test_a_require_line_it_cannot_decide_names_its_file_and_line(tmp_path, line, problem):
    conf = tmp_path / "site.conf"
    conf.write_text("DocumentRoot %s\n<Directory %s>\n    %s\n</Directory>\n"
                    % (tmp_path, tmp_path, line))
    with pytest.raises(ConfigError) as exc:
        parse_config(str(conf))
    assert problem in str(exc.value) and "%s:3" % conf in str(exc.value)


# ---------------------------------------------------------------- answers

@pytest.mark.parametrize("code, reason", [(301, "Moved Permanently"), (302, "Found"),
                                          (303, "See Other"), (307, "Temporary Redirect")])
def test_a_returned_redirect_keeps_the_handlers_location(server, code, reason):
    r = get(server, "/req/x?redirect%d" % code)
    assert r.status == code
    assert r.header("Location") == "http://example.test/target"
    located = b"is located" if code == 303 else b"has moved"
    assert located in r.body and b'<a href="http://example.test/target">here</a>' in r.body


def test_server_return_with_a_status_sets_it(server):
    r = get(server, "/req/x?created")
    assert r.status == 201
    assert r.header("Location") == "http://example.test/new"
    assert r.body == b""


def test_content_length_in_headers_out_is_the_length_once(server):
    for what in ("manual_cl", "manual_cl_unflushed"):
        r = get(server, "/req/x?" + what)
        assert r.status == 200 and r.body == b"abcd"
        assert r.header_all("Content-Length") == ["4"]
        assert r.header("Transfer-Encoding") is None


def test_content_type_in_headers_out_gives_way_to_req_content_type(server):
    r = get(server, "/req/x?ctype_twice")
    assert r.header_all("Content-Type") == ["text/plain"]


def test_err_headers_out_survive_an_internal_redirect(server):
    r = get(server, "/req/x?cookie_then_redirect")
    assert r.status == 200 and r.body == b"g\n"
    assert r.header("Set-Cookie") == "kept=1"


# ---------------------------------------------------------------- ErrorDocument

@pytest.mark.parametrize("code, text", [(404, b"Custom not found text"), (503, b"oneword")])
def test_error_document_message(server, code, text):
    r = get(server, "/errdoc/x?%d" % code)
    assert r.status == code and r.body == text
    assert r.header("Content-Type") == "text/html; charset=iso-8859-1"


def test_error_document_default_restores_the_builtin_page(server):
    """(the server-wide ErrorDocument 410 is a message; "default" in the
    directory gives Apache's own page back)"""
    r = get(server, "/errdoc/x?410")
    assert r.status == 410
    assert b"is no longer available on this server" in r.body     # Apache's 410 text


def test_error_document_local_url_keeps_the_status(server):
    r = get(server, "/errdoc/x?409")
    assert r.status == 409 and r.body == b"<html>Custom 401 page</html>\n"


def test_error_document_for_401_keeps_the_challenge(server):
    r = get(server, "/auth401/a4.py")
    assert r.status == 401 and r.body == b"<html>Custom 401 page</html>\n"
    assert r.header("WWW-Authenticate") == 'Basic realm="Custom401"'
    r = get(server, "/auth401/a4.py", headers=[basic("spam", "eggs")])
    assert r.status == 200 and r.body == b"in"


@pytest.mark.parametrize("lines, remote, verdict", [
    ([["all", "granted"]], "10.0.0.1", authz.GRANTED),
    ([["all", "denied"]], "127.0.0.1", authz.DENIED),
    ([["all", "denied"], ["valid-user"]], "127.0.0.1", authz.NEEDS_USER),
    ([["ip", "10.1"]], "10.1.200.3", authz.GRANTED),               # partial address
    ([["ip", "10.1"]], "10.2.0.1", authz.DENIED),
    ([["ip", "192.168.0.0/255.255.0.0"]], "192.168.7.7", authz.GRANTED),
    ([["ip", "2001:db8::/32"]], "2001:db8::5", authz.GRANTED),
    ([["ip", "10.0.0.0/8"]], "::ffff:10.9.9.9", authz.GRANTED),     # v4-mapped peer
    ([["ip", "10.0.0.0/8"], ["user", "bob"]], "127.0.0.1", authz.NEEDS_USER),
    ([["local"]], "127.0.0.2", authz.GRANTED),
    ([["local"]], "10.0.0.1", authz.DENIED),
])
def test_require_lines_decided_before_authentication(lines, remote, verdict):
    assert authz.verdict_without_user(lines, remote, "10.0.0.99") == verdict


def test_require_lines_after_authentication():
    assert authz.met_by_user("bob", [["user", "alice", "bob"]])
    assert not authz.met_by_user("eve", [["user", "alice", "bob"]])
    assert authz.met_by_user("eve", [["valid-user"]])
    assert not authz.met_by_user(None, [["valid-user"]])


# ---------------------------------------------------------------- request API

@pytest.mark.parametrize("header, status", [
    (None, 200),
    (("If-Modified-Since", "Sat, 01 Jan 2005 00:00:00 GMT"), 304),
    (("If-Modified-Since", "Sat, 01 Jan 2000 00:00:00 GMT"), 200),
    (("If-None-Match", '"abc"'), 304),
    (("If-None-Match", "*"), 304),
    (("If-None-Match", '"other"'), 200),
    (("If-Unmodified-Since", "Mon, 01 Jan 1990 00:00:00 GMT"), 412),
    (("If-Match", '"other"'), 412),
])
def test_meets_conditions(server, header, status):
    r = get(server, "/req/x?conditions", headers=[header] if header else [])
    assert r.status == status
    assert (r.body == b"fresh") == (status == 200)
    if status == 304:
        assert r.body == b"" and r.header("ETag") == '"abc"'


def test_no_cache_sends_expires(server):
    from email.utils import parsedate_to_datetime
    r = get(server, "/req/x?no_cache")
    assert r.body == b"n"
    # Expires is the request's time; Date the head's (Apache stamps both with
    # the request's time): they may fall on either side of a second
    lag = parsedate_to_datetime(r.header("Date")) - parsedate_to_datetime(r.header("Expires"))
    assert 0 <= lag.total_seconds() <= 1


def test_build_cgi_env(server):
    r = get(server, "/req/x?cgi_env")
    assert r.body == b"/req/x Python-CGI/1.1 GET"


# ---------------------------------------------------------------- error paths

def test_head_of_an_error_has_no_length(server):
    with Conn(server.port) as c:
        r = c.request("HEAD", "/nothere")
        assert r.status == 404 and r.header("Content-Length") is None
        r = c.request("HEAD", "/errdoc/x?404")             # ErrorDocument message
        assert r.status == 404 and r.header("Content-Length") is None
        assert c.request("GET", "/granted/g.txt").body == b"g\n"     # still kept alive


def test_an_error_after_a_write_appends_the_errordocument_message(server):
    r = get(server, "/req/x?write_then404")
    assert r.status == 200 and r.body == b"partial;Custom not found text"


def test_a_204_after_a_write_appends_nothing(server):
    r = get(server, "/req/x?write_then204")
    assert r.status == 200 and r.body == b"partial;"


def test_an_error_document_handler_for_a_500(server):
    """Its page is close-delimited (Apache marks the connection closed
    before the error response); add_common_vars gives it REDIRECT_URL."""
    with Conn(server.port) as c:
        r = c.request("GET", "/reqerr/x?crash")
        assert r.status == 500
        assert r.body == b"error page for /reqerr/x (500) None"
        assert r.header("Transfer-Encoding") is None and r.header("Content-Length") is None
        assert c.is_closed()


def test_static_allow_and_unknown_methods(server):
    r = request(server.port, "PUT", "/granted/g.txt")
    assert r.status == 405 and r.header("Allow") == "POST,OPTIONS,HEAD,GET"
    r = request(server.port, "FOO", "/granted/g.txt")
    assert r.status == 501 and b"FOO not supported for current URL." in r.body


def test_a_status_apache_has_no_line_for_is_sent_as_500(server):
    r = get(server, "/req/x?status418")
    assert r.status == 500 and r.body == b"teapot"
    r = get(server, "/req/x?return418")
    assert r.status == 500 and b"<title>500 Internal Server Error</title>" in r.body


@pytest.mark.parametrize("code", [418, 599, 999])
def test_a_status_apache_has_no_line_for_gets_the_500_error_document(server, code):
    """(Apache: the status is sent as a 500, and ErrorDocument 500 is its page)"""
    r = get(server, "/errdoc/x?%d" % code)
    assert r.status == 500 and r.body == b"Custom 500 text"
    assert r.header("Content-Type") == "text/html; charset=iso-8859-1"


@pytest.mark.parametrize("headers, text", [
    ((), b"<p>No expectation was seen, the Expect request-header \nfield was not presented "
         b"by the client.\n</p><p>Only the 100-continue expectation is supported.</p>\n"),
    ((("Expect", "100-continue"),),
     b"<p>The expectation given in the Expect request-header\nfield could not be met by "
     b"this server.\nThe client sent<pre>\n    Expect: 100-continue\n</pre>\n</p><p>Only "
     b"the 100-continue expectation is supported.</p>\n"),
    ((("Expect", ""),),
     b"<p>The expectation given in the Expect request-header\nfield could not be met by "
     b"this server.\nThe client sent<pre>\n    Expect: \n</pre>\n</p><p>Only "
     b"the 100-continue expectation is supported.</p>\n"),
])
def test_a_handlers_417_page_quotes_the_expect_header_if_any(server, headers, text):
    """Apache 2.4.71's words for a handler's 417, with and without an
    Expect header."""
    r = get(server, "/errdoc/x?417", headers=headers)
    assert r.status == 417
    assert r.body.split(b"</h1>\n", 1)[1].split(b"<hr>", 1)[0] == text


def test_status_line_is_honoured(server):
    with Conn(server.port) as c:
        c.send(b"GET /req/x?status_line HTTP/1.1\r\nHost: x\r\n\r\n")
        assert c.read_response().raw_head.startswith(b"HTTP/1.1 200 Just Fine\r\n")


def test_an_empty_write_sends_no_head_until_the_end(server):
    r = get(server, "/req/x?empty_write")
    assert r.status == 200 and r.body == b""
    assert r.header("Content-Length") == "0" and r.header("Transfer-Encoding") is None


def test_a_flush_with_nothing_written_sends_the_head(server):
    r = get(server, "/req/x?flush_only")
    assert r.status == 200 and r.body == b""
    assert r.header("Transfer-Encoding") == "chunked" and r.header("Content-Length") is None


def test_a_handlers_416_has_a_length(server):
    """(only the static handler's Range refusal is close-delimited)"""
    r = get(server, "/req/x?return416")
    assert r.status == 416 and r.header("Content-Length") == str(len(r.body))


# ------------------------------------------- handler API details (2.4.71)

def test_get_remote_host_looks_up_only_for_double_rev(server):
    """HostnameLookups Off: REMOTE_HOST is None, the default type gives the
    IP, until a REMOTE_DOUBLE_REV look-up, which the connection keeps."""
    import socket
    try:
        name = socket.getnameinfo(("127.0.0.1", 0), socket.NI_NAMEREQD)[0].lower()
        back = any(i[4][0] == "127.0.0.1" for i in socket.getaddrinfo(name, None))
    except OSError:
        name, back = "", False
    seen = eval(get(server, "/req/x?remote_host").body)
    assert seen[:3] == [None, "127.0.0.1", ("127.0.0.1", 1)]
    if back:
        assert seen[3:] == [name, (name, 0)]
    else:                                            # no name for loopback here
        assert seen[3] is None


def test_sendfile_flushes_so_the_response_is_chunked(server):
    r = get(server, "/req/x?sendfile")
    assert r.status == 200
    assert r.header("Transfer-Encoding") == "chunked" and r.header("Content-Length") is None
    with open(__file__.replace("test_apache_semantics.py", "sites/semantics/req/semh.py"), "rb") as f:
        assert r.body == f.read()[5:15] + b";sent=10"


def test_sendfile_of_a_missing_file_is_mod_pythons_oserror(server):
    r = get(server, "/req/x?sendfile_missing")
    assert r.status == 500
    assert b"OSError: Could not stat file for reading" in r.body


def test_writing_an_int_is_a_typeerror_in_mod_pythons_words(server):
    r = get(server, "/req/x?write_int")
    assert r.status == 500
    assert b"TypeError: a bytes-like object is required, not &#x27;int&#x27;" in r.body


def test_returning_none_is_mod_pythons_assertion(server):
    r = get(server, "/req/x?return_none")
    assert r.body.startswith(b"forgot return;\n<pre>\nMod_python error:")
    assert (b"AssertionError: Handler has returned result or raised SERVER_RETURN\n"
            b"exception with argument having non integer type. Type of value returned\n"
            b"was &lt;class &#x27;NoneType&#x27;&gt;, whereas expected &lt;class &#x27;int&#x27;&gt;."
            in r.body)


def test_server_return_without_a_result_is_an_indexerror(server):
    r = get(server, "/req/x?server_return_empty")
    assert r.status == 500
    assert b"IndexError: tuple index out of range" in r.body


def test_a_class_named_last_is_called_not_its_instance(server):
    r = get(server, "/classlast/x")
    assert r.status == 500
    assert b"was &lt;class &#x27;clsh.CallMe&#x27;&gt;, whereas expected" in r.body


@pytest.mark.parametrize("what, allow", [
    ("allow_some", "PATCH,DELETE,PUT"),
    ("allow_all", "POST,MKWORKSPACE,LOCK,CONNECT,UNLOCK,OPTIONS,TRACE,PATCH,MERGE,PROPPATCH,"
                  "BASELINE-CONTROL,HEAD,DELETE,VERSION-CONTROL,CHECKIN,MKCOL,CHECKOUT,MOVE,"
                  "PUT,UNCHECKOUT,COPY,REPORT,GET,LABEL,PROPFIND,UPDATE,MKACTIVITY"),
])
def test_allow_lists_methods_in_apaches_order(server, what, allow):
    r = get(server, "/req/x?" + what)
    assert r.status == 405 and r.header("Allow") == allow


def test_head_of_an_empty_response_has_no_length(server):
    """Apache's header filter drops a HEAD response's 'Content-Length: 0'
    (a GET of it keeps it)."""
    h = request(server.port, "HEAD", "/req/x?empty")
    assert h.status == 200 and h.header("Content-Length") is None
    assert get(server, "/req/x?empty").header("Content-Length") == "0"


@pytest.mark.parametrize("code, title, text", [
    ("404", b"404 Not Found", b"was not found on this server"),
    ("409", b"409 Conflict", b"The server encountered an internal error"),  # 409 has no text
    ("403", b"403 Forbidden", b"You don't have permission"),                # its own document again
])
def test_a_failing_error_document_keeps_the_first_status(server, code, title, text):
    r = get(server, "/eddoc/x?" + code)
    assert r.status == int(code)
    assert b"<title>%s</title>" % title in r.body and text in r.body
    assert (b"<p>Additionally, a %s\nerror was encountered while trying to use an "
            b"ErrorDocument to handle the request.</p>\n" % title) in r.body
    assert r.header("Content-Length") == str(len(r.body))


def test_hlist_directory_ends_with_a_slash(server):
    handler, directory = get(server, "/req/x?hlist").body.decode().split("|")
    assert handler == "semh" and directory.endswith("/req/")


@pytest.mark.parametrize("authorization, status", [
    (None, 401),
    ("Basic c3BhbTplZ2dz", 500),        # mod_auth_basic has no provider to ask
    ("basic !!!", 500),                 # whatever follows the scheme
    ("Bearer abc", 401),                # a scheme it does not take: asked again
])
def test_an_authen_handler_that_declines_leaves_it_to_mod_auth_basic(server, authorization, status):
    headers = [("Authorization", authorization)] if authorization else []
    r = get(server, "/authdecl/x", headers=headers)
    assert r.status == status
    assert (r.header("WWW-Authenticate") == 'Basic realm="Decl"') == (status == 401)
    if status == 500:
        assert server.wait_for_log(r"AH01616: No Authn provider configured")


def test_default_type_is_ignored_as_by_apache_2_4(server):
    r = get(server, "/deftype/a.zzunknown")
    assert r.status == 200 and r.body == b"data\n"
    assert r.header("Content-Type") is None


def test_apache_stat_is_an_mp_finfo(server):
    # the values as mod_python's on Apache 2.4.71: APR's valid bits, and for
    # a missing file no name and filetype 0 (APR_NOFILE)
    assert get(server, "/req/x?stat").body == b"True True 1 7598960|None 0"


def test_config_tree_lists_sections_as_mod_python(server):
    tree = eval(get(server, "/req/x?tree").body)
    assert ("ErrorDocument", '410 "Gone, said globally"') in tree
    i = tree.index(("<Directory", '"%s/req">' % server_site_dir(tree)))
    assert tree[i + 1][:2] == [("SetHandler", "mod_python"), ("PythonHandler", "semh")]


def server_site_dir(tree):
    for item in tree:
        if isinstance(item, tuple) and item[0] == "<Directory" and item[1].endswith('/req">'):
            return item[1][1:-len('/req">')]
    raise AssertionError("no <Directory .../req> in %r" % (tree,))


@pytest.mark.parametrize("status, closed", [(500, True), (503, True), (404, False)])
def test_an_error_after_output_with_a_dropping_status_closes(server, status, closed):
    """Apache appends the error page to what went out; a status that drops
    the connection (500, 503...) then ends it, as ap_die does."""
    with Conn(server.port) as c:
        r = c.request("GET", "/req/x?write_then%d" % status)
        assert r.status == 200 and r.body.startswith(b"partial;")
        assert c.is_closed(timeout=1.0) is closed


def test_sys_exit_in_a_handler_is_a_handler_error(server):
    with Conn(server.port) as c:
        r = c.request("GET", "/req/x?sys_exit")
        assert r.status == 500 and r.header("Connection") == "close"
        assert r.body.rstrip().endswith(b"SystemExit: 3\n\n</pre>")
        assert c.is_closed()
    assert get(server, "/req/x?empty").status == 200       # the worker serves on


def test_the_page_of_a_failed_error_document_has_its_length(server):
    # (its ErrorDocument's own page would be close-delimited: the canned
    # page is not)
    with Conn(server.port) as c:
        r = c.request("GET", "/eddoc/x?500")
        assert r.status == 500 and r.header("Content-Length") == str(len(r.body))
        assert b"<p>Additionally, a 500 Internal Server Error\n" in r.body
        assert r.header("Connection") == "close" and c.is_closed()


def test_a_location_handler_maps_to_no_file_and_no_directory(server):
    assert get(server, "/locopt/a/b?opts").body == b"None None [('fromloc', 'yes')]"
    # a <Directory> handler sees the <Directory> sections that hold it
    assert b"('fromdir', 'yes')" in get(server, "/req/x?opts").body


# ------------------------------------- seen by a differential run (2.4.71)

def test_internal_redirect_target_sees_the_new_uri_and_the_old_environment(server):
    assert get(server, "/req/x?redir_env").body == \
        b"('/req/target?redir_target&q=1', 'redir_target&q=1', True, '200', 'v1', None, " \
        b"{'python_init_ran': '1'})"


def test_cleanups_run_last_first_with_their_data(server):
    assert get(server, "/req/x?cleanups").status == 200
    assert get(server, "/req/x?cleanups_seen").body == \
        b"['ValueError: first argument must be a callable object', None, 2, 1]"


def test_request_line_text_is_utf8_as_mod_python_gives_it(server):
    with Conn(server.port) as c:
        c.send(b"GET /req/x?line&q=\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.read_response()
    assert r.body.decode("utf-8") == \
        "('line&q=\u00e9', 'GET /req/x?line&q=\u00e9 HTTP/1.1', '/req/x?line&q=\u00e9')"


def test_server_values_as_mod_python(server):
    # ServerName has no port: server.port is 0; loglevel is an APLOG_* number
    assert get(server, "/req/x?server").body == \
        b"(0, 4, None, None, 20120211, 2, 64, 'localhost', 'localhost')"


def test_status_line_is_filled_in_when_the_head_goes_out(server):
    with Conn(server.port) as c:
        c.send(b"GET /req/x?sent HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n")
        r = c.read_response()
    assert r.status == 201
    assert r.body == b"x;((None, 0), '201 Created', 1, 0, '1', 0, 0, '::1')"


def test_a_handlers_log_line_is_one_escaped_line_without_module_name(server):
    assert get(server, "/req/x?logmsg").status == 200
    assert server.wait_for_log(r"(?m)\[:warn\] \[pid \d+:tid \d+\] \[client 127\.0\.0\.1:\d+\] "
                               r"two\\nlines \\xc3\\xa9$")
    assert server.wait_for_log(r"(?m)\[:error\] .*\[client 127\.0\.0\.1:\d+\] from the connection$")


def test_a_redirect_targets_cleanups_run(server):
    assert get(server, "/req/x?redir_cleanup").status == 200
    assert get(server, "/req/x?cleanups_seen").body == b"['from the target']"


def test_server_name_with_a_port_and_odd_hosts():
    from fastdispatch.config.model import Config
    from fastdispatch.request import ServerInfo, _hostname
    cfg = Config()
    cfg.server.server_name = "www.example.test:8080"
    info = ServerInfo(cfg)
    assert (info.server_hostname, info.port) == ("www.example.test", 8080)
    assert _hostname("/", "[::1]:80") == "::1" and _hostname("/", "[abc") is None

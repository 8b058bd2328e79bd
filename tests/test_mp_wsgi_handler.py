"""mod_python's WSGI handler (``PythonHandler mod_python.wsgi``) and CGI
handler (``PythonHandler mod_python.cgihandler``) end to end, against a real
``fastdispatch serve`` over sockets (tests/sites/mpwsgi).

Each case was first sent to a private Apache 2.4.71 + mod_python 3.5 (event
MPM, Python 3.11) with the same site; the comments say what Apache
answered. Where mod_python 3.5 breaks PEP 3333 (or a CGI script's
expectations) under Python 3, the test says so and asserts the documented
behaviour fastdispatch chose instead ("deliberate").
"""
import ast

import pytest

from serverproc import Conn, ServerProcess, copy_site, request


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    d = tmp_path_factory.mktemp("mpwsgi")
    conf = copy_site("mpwsgi", d)
    srv = ServerProcess(["serve", "--config", str(conf), "--port", "0", "--workers", "1"])
    srv.site = d
    yield srv
    srv.stop()


def get(server, path, **kw):
    return request(server.port, "GET", path, **kw)


def environ_of(r):
    """The env application's body as a dict (values as Python literals,
    objects by their type's name)."""
    assert r.status == 200, r.text
    env = {}
    for line in r.text.splitlines():
        k, _, v = line.partition("=")
        env[k] = ast.literal_eval(v)
    return env


# ---------------------------------------------------------------- environ

def test_environ_under_a_location(server):
    r = get(server, "/env/a/b%20c/?x=1&y=%41",
            headers=[("Authorization", "Basic dTpw"), ("X-Custom-H", "v")])
    env = environ_of(r)
    # Apache: SCRIPT_NAME is the <Location>, PATH_INFO the rest, decoded;
    # REQUEST_URI is the decoded path too (mod_python's req.uri)
    assert env["SCRIPT_NAME"] == "/env"
    assert env["PATH_INFO"] == "/a/b c/"
    assert env["REQUEST_URI"] == "/env/a/b c/"
    assert env["QUERY_STRING"] == "x=1&y=%41"
    assert env["REQUEST_METHOD"] == "GET"
    assert env["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert env["GATEWAY_INTERFACE"] == "CGI/1.1"
    assert env["HTTP_HOST"] == "127.0.0.1"
    assert env["HTTP_X_CUSTOM_H"] == "v"
    assert env["HTTP_AUTHORIZATION"] == "Basic dTpw"     # added by mod_python
    assert env["REMOTE_ADDR"] == "127.0.0.1"
    assert env["SERVER_NAME"] == "127.0.0.1"
    assert env["SERVER_PORT"] == "80"
    assert env["REQUEST_SCHEME"] == "http"
    assert env["wsgi.version"] == (1, 0)
    assert env["wsgi.url_scheme"] == "http"
    # event MPM: threads and processes
    assert env["wsgi.multithread"] is True and env["wsgi.multiprocess"] is True
    assert env["wsgi.errors"] != "NoneType" and env["wsgi.input"] != "NoneType"
    assert "CONTENT_LENGTH" not in env and "CONTENT_TYPE" not in env
    # Apache had SCRIPT_FILENAME=None (a <Location> handler maps no file);
    # None is no CGI value (PEP 3333), so it is left out. Deliberate too:
    # wsgi.run_once, which PEP 3333 requires and mod_python omits
    assert "SCRIPT_FILENAME" not in env
    assert env["wsgi.run_once"] is False


def test_script_name_and_path_info_at_the_edges(server):
    # Apache: the <Location> itself has no PATH_INFO key at all, a trailing
    # slash is PATH_INFO "/", and a longer name is not under it (404)
    env = environ_of(get(server, "/env"))
    assert env["SCRIPT_NAME"] == "/env" and "PATH_INFO" not in env
    env = environ_of(get(server, "/env/"))
    assert env["SCRIPT_NAME"] == "/env" and env["PATH_INFO"] == "/"
    assert get(server, "/envelope").status == 404
    # Apache merges slashes and resolves dot segments first
    env = environ_of(get(server, "//env//x/../q"))
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("/env", "/q")


def test_a_location_with_a_trailing_slash(server):
    # Apache: <Location /slash/> gives SCRIPT_NAME "/slash" (mod_python drops
    # the slash), and /slash itself is not in that <Location>
    env = environ_of(get(server, "/slash/a"))
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("/slash", "/a")
    assert get(server, "/slash").status == 404


def test_base_uri_wins_over_the_location(server):
    env = environ_of(get(server, "/lb/x/y"))
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("/lb/x", "/y")
    env = environ_of(get(server, "/lb/x"))
    assert env["SCRIPT_NAME"] == "/lb/x" and "PATH_INFO" not in env


def test_a_uri_outside_base_uri_is_declined(server):
    # Apache: the handler declines (a warning in the log), so 404
    r = get(server, "/lb/z")
    assert r.status == 404
    assert server.wait_for_log(r"WSGI handler: req\.uri \('/lb/z'\) does not start with "
                               r"mod_python\.wsgi\.base_uri \('/lb/x'\), declining")
    # deliberate: mod_python compared characters, so /lb/xyz ran the
    # application with PATH_INFO "yz" and SCRIPT_NAME "/lb/xyz"; base_uri
    # matches whole path segments here
    assert get(server, "/lb/xyz").status == 404


def test_an_empty_base_uri_is_unset(server):
    # Apache: PythonOption with "" removes the option; the <Location> counts
    env = environ_of(get(server, "/lempty/q"))
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("/lempty", "/q")


def test_a_base_uri_ending_in_a_slash_is_an_error(server):
    r = get(server, "/badbase/q")
    assert r.status == 500
    assert "ValueError: PythonOption &#x27;mod_python.wsgi.base_uri&#x27; " \
           "(&#x27;/badbase/&#x27;) must not end with &#x27;/&#x27;" in r.text


def test_only_the_most_specific_section_gives_script_name(server):
    # Apache: <Location /nest/b> (options only) under the handler's
    # <Location /nest>: SCRIPT_NAME "" and PATH_INFO the whole URI
    env = environ_of(get(server, "/nest/b/c"))
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("", "/nest/b/c")
    env = environ_of(get(server, "/nest/q"))
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("/nest", "/q")


def test_under_a_directory(server):
    # Apache: a <Directory> is no base: SCRIPT_NAME "", PATH_INFO the URI,
    # SCRIPT_FILENAME the mapped file
    env = environ_of(get(server, "/dir/file.txt/more?q"))
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("", "/dir/file.txt/more")
    assert env["SCRIPT_FILENAME"] == str(server.site / "dir" / "file.txt")
    assert env["QUERY_STRING"] == "q"
    env = environ_of(get(server, "/dirb/nofile"))
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("/dirb", "/nofile")


def test_post_environ(server):
    r = request(server.port, "POST", "/env/p", body=b"abc",
                headers=[("Content-Type", "text/x-thing")])
    env = environ_of(r)
    assert env["REQUEST_METHOD"] == "POST"
    assert env["CONTENT_LENGTH"] == "3" and env["CONTENT_TYPE"] == "text/x-thing"


# ---------------------------------------------------------------- the option

def test_a_missing_application_option_is_a_key_error(server):
    r = get(server, "/noopt/x")
    assert r.status == 500
    assert "KeyError: &#x27;mod_python.wsgi.application&#x27;" in r.text


def test_a_missing_module_is_an_import_error(server):
    r = get(server, "/nomodule")
    assert r.status == 500
    assert "No module named &#x27;mpwsgi_no_such_module&#x27;" in r.text


def test_a_missing_callable_declines(server):
    r = get(server, "/nocallable")
    assert r.status == 404
    assert server.wait_for_log(r"WSGI handler: mod_python\.wsgi\.application "
                               r"\('mpwsgi_apps::no_such_callable'\) not found, declining")


def test_the_default_callable_is_application(server):
    r = get(server, "/default/x")
    assert r.status == 200 and r.body == b"default callable"


# ---------------------------------------------------------------- response

def test_the_documented_example_keeps_its_length(server):
    r = get(server, "/w/hello")
    # Apache: the application's header as it wrote it, no chunking
    assert r.status == 200 and r.body == b"Hello World!"
    assert ("Content-type", "text/plain") in r.headers
    assert r.header("Content-Length") == "12" and r.header("Transfer-Encoding") is None


def test_an_iterable_is_streamed(server):
    r = get(server, "/w/stream")
    # Apache: chunked, one chunk per item
    assert r.header("Transfer-Encoding") == "chunked"
    assert r.body == b"chunk0\nchunk1\nchunk2\n"
    # HTTP/1.0: no chunks, the close ends the body
    r = get(server, "/w/stream", version="HTTP/1.0")
    assert r.header("Transfer-Encoding") is None and r.header("Content-Length") is None
    assert r.body == b"chunk0\nchunk1\nchunk2\n"


def test_head_has_no_body(server):
    with Conn(server.port) as c:
        r = c.request("HEAD", "/w/hello")
        assert r.status == 200 and r.header("Content-Length") == "12"
        r = c.request("HEAD", "/w/stream")
        assert r.status == 200 and r.header("Content-Length") is None
        assert c.request("GET", "/w/hello").body == b"Hello World!"   # still in step


def test_write_callable_goes_first(server):
    r = get(server, "/w/writer")
    assert r.body == b"written1\nwritten2\nreturned\n"


def test_an_empty_body_has_length_zero(server):
    r = get(server, "/w/empty")
    assert r.status == 200 and r.header("Content-Length") == "0" and r.body == b""


def test_repeated_headers_are_kept(server):
    r = get(server, "/w/cookies")
    assert r.header_all("Set-Cookie") == ["a=1", "b=2"]
    assert r.header("Content-Type") == "text/html"


def test_without_start_response_the_body_still_goes(server):
    r = get(server, "/w/no_start")
    assert r.status == 200 and r.body == b"no start_response"


def test_a_str_result_is_written_character_by_character(server):
    r = get(server, "/w/returns_str")
    assert r.status == 200 and r.body == b"abc"


def test_close_is_called_even_after_an_error(server):
    get(server, "/w/marks")                       # start from nothing
    assert get(server, "/w/closing").body == b"ab"
    assert get(server, "/w/marks").body == b"closed\n"
    r = get(server, "/w/closing_fails")
    # Apache: what was sent, then the traceback page appended (200 stays)
    assert r.status == 200 and r.body.startswith(b"x")
    assert b"ValueError: iteration failed" in r.body
    assert get(server, "/w/marks").body == b"closed\n"


def test_status_and_reason(server):
    r = get(server, "/w/status?200+Fine+Thanks")
    assert (r.status, r.reason) == (200, "Fine Thanks") and r.body == b"status body"
    # deliberate: mod_python set only the status line, so Apache sent
    # "200 OK" for these; the status an application gives is the status
    r = get(server, "/w/status?404+Not+Found")
    assert (r.status, r.reason, r.body) == (404, "Not Found", b"status body")
    r = get(server, "/w/status?409+Busy+Now")
    assert (r.status, r.reason) == (409, "Busy Now")
    r = get(server, "/w/status?204+No+Content")
    assert r.status == 204 and r.body == b"" and r.header("Content-Length") is None
    r = get(server, "/w/status?304+Not+Modified")
    assert r.status == 304 and r.header("ETag") == '"e1"'


def test_start_response_checks_its_arguments(server):
    # Apache: mod_python's errors, as 500 traceback pages
    r = get(server, "/w/bad_status")
    assert r.status == 500 and "ValueError: Invalid status line: abc" in r.text
    r = get(server, "/w/bad_headers")
    assert r.status == 500
    assert "TypeError: headers argument must be a list, not a &#x27;tuple&#x27;" in r.text
    # a CR LF in a value: Apache's header filter refused it (500, its plain
    # page, AH02430 in the log); here start_response refuses it, so under
    # PythonDebug On the page is the ValueError's traceback (deliberate)
    r = get(server, "/w/crlf_header")
    assert r.status == 500 and r.header("Injected") is None
    assert "must not contain CR or LF" in r.text


def test_a_second_start_response_adds_headers(server):
    r = get(server, "/w/twice")
    # Apache: both calls' headers are in the table
    assert r.header("X-First") == "1" and r.header("X-Second") == "2"
    # (and the last status: deliberate, as above)
    assert r.status == 202


def test_exc_info_before_the_head_replaces_the_response(server):
    # deliberate: mod_python re-raised exc_info even before anything was
    # sent (Apache answered 500 with the ValueError's traceback); PEP 3333
    # lets the application's error response through
    r = get(server, "/w/exc_before")
    assert r.status == 503 and r.body == b"the application's error page"
    assert r.header("X-Second") == "2" and r.header("X-First") is None


def test_exc_info_after_the_head_is_raised(server):
    r = get(server, "/w/exc_after")
    # Apache: the partial body, then the re-raised error's traceback page
    assert r.status == 200 and r.body.startswith(b"sent already\n")
    assert b"ValueError: too late to handle" in r.body and b"never sent" not in r.body


def test_exc_info_none_is_no_exc_info(server):
    # deliberate: mod_python crashed on exc_info=None (SystemError)
    r = get(server, "/w/exc_none")
    assert r.status == 200 and r.body == b"exc_info None"


def test_a_body_longer_than_its_length_is_cut(server):
    # deliberate: Apache sent all 10 bytes after "Content-Length: 5", so a
    # kept-alive connection read the rest as the next response
    with Conn(server.port) as c:
        r = c.request("GET", "/w/longer")
        assert r.header("Content-Length") == "5" and r.body == b"01234"
        r = c.request("GET", "/w/hello")
        assert r.raw_head.startswith(b"HTTP/1.1 200 OK\r\n") and r.body == b"Hello World!"


def test_a_body_shorter_than_its_length_closes_the_connection(server):
    # deliberate: Apache kept the connection open and the client waited for
    # the 10 missing bytes; closing tells the client the body is short
    with Conn(server.port) as c:
        c.send(b"GET /w/shorter HTTP/1.1\r\nHost: x\r\n\r\n")
        c.sock.settimeout(2.0)      # well before KeepAliveTimeout (5 s)
        data = b""
        while True:
            chunk = c.sock.recv(65536)      # socket.timeout fails the test
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        assert b"Content-Length: 20" in head and body == b"0123456789"


# ---------------------------------------------------------------- errors

def test_an_error_before_start_response(server):
    r = get(server, "/w/raise_before")
    assert r.status == 500 and r.header("Content-Type") == "text/html"
    assert 'Mod_python error: "PythonHandler mod_python.wsgi"' in r.text
    assert "RuntimeError: boom before start_response" in r.text


def test_an_error_after_start_response(server):
    r = get(server, "/w/raise_after")
    # Apache: the traceback page as a 500; the application's other headers
    # stay, its Content-Type gives way to text/html
    assert r.status == 500 and r.header("Content-Type") == "text/html"
    assert r.header("X-App") == "1"
    assert "RuntimeError: boom after start_response" in r.text


def test_an_error_in_the_iterable_after_output(server):
    r = get(server, "/w/raise_iter")
    assert r.status == 200 and r.body.startswith(b"partial\n\n<pre>")
    assert b"RuntimeError: boom in the iterable" in r.body


def test_returning_none_is_an_error(server):
    r = get(server, "/w/returns_none")
    assert r.status == 500
    assert "TypeError: &#x27;NoneType&#x27; object is not iterable" in r.text


def test_errors_without_python_debug(server):
    r = get(server, "/quiet/raise_before")
    assert r.status == 500 and "<title>500 Internal Server Error</title>" in r.text
    assert "boom" not in r.text
    assert server.wait_for_log(r"RuntimeError: boom before start_response")
    r = get(server, "/quiet/raise_iter")
    # Apache: the partial body, then its 500 page appended
    assert r.status == 200 and r.body.startswith(b"partial\n<!DOCTYPE HTML")
    assert b"<title>500 Internal Server Error</title>" in r.body


def test_wsgi_errors_goes_to_the_error_log(server):
    assert get(server, "/w/errors").body == b"logged"
    assert server.wait_for_log(r"(?m)^mpwsgi: a line for wsgi\.errors$")


# ---------------------------------------------------------------- wsgi.input

@pytest.mark.parametrize("how, expected", [
    ("", "b'l1\\nl2\\nl3'"),
    ("read", "b'l1\\nl2\\nl3'"),
    ("readline", "[b'l1\\n', b'l2\\n', b'l3', b'']"),
    ("readlines", "[b'l1\\n', b'l2\\n', b'l3']"),
    # deliberate: mod_python's wsgi.input (the request) does not iterate
    ("iter", "[b'l1\\n', b'l2\\n', b'l3']"),
])
def test_wsgi_input(server, how, expected):
    r = request(server.port, "POST", "/w/post?" + how, body=b"l1\nl2\nl3")
    assert r.status == 200 and r.text == expected


def test_wsgi_input_without_a_body(server):
    assert get(server, "/w/post?read").text == "b''"


# ---------------------------------------------------------------- CGI

def test_cgi_script(server):
    r = get(server, "/cgi/hello.py")
    # Apache: each print() is a write, sent at once (chunked)
    assert r.status == 200 and r.header("Content-Type") == "text/plain"
    assert r.header("Transfer-Encoding") == "chunked"
    assert r.body == b"hello from cgi\n"


@pytest.mark.parametrize("path", ["/cgi/hello", "/cgi/hello.txt", "/cgi/hello.py/more/path"])
def test_cgi_script_found_by_its_name_without_extension(server, path):
    # Apache: the file name without its extension is the module imported
    assert get(server, path).body == b"hello from cgi\n"


@pytest.mark.parametrize("path", ["/cgi/missing.py", "/cgi/data.txt", "/cgi/"])
def test_cgi_without_a_script_is_404(server, path):
    assert get(server, path).status == 404


def test_cgi_environment(server):
    r = get(server, "/cgi/env.py/pi?x=y", headers=[("Authorization", "Basic dTpw")])
    lines = dict(line.split("=", 1) for line in r.text.splitlines())
    assert lines["GATEWAY_INTERFACE"] == "'Python-CGI/1.1'"
    assert lines["SCRIPT_NAME"] == "'/cgi/env.py'" and lines["PATH_INFO"] == "'/pi'"
    assert lines["SCRIPT_FILENAME"] == repr(str(server.site / "cgi" / "env.py"))
    assert lines["QUERY_STRING"] == "'x=y'"
    assert lines["HTTP_AUTHORIZATION"] == "'Basic dTpw'"
    # only the CGI variables, the script's directory, an empty argv and the
    # module's own name
    assert "HOME" not in lines
    assert lines["cwd"] == str(server.site / "cgi")
    assert lines["argv"] == "[]" and lines["name"] == "env"


def test_cgi_is_imported_not_run_as_main(server):
    assert get(server, "/cgi/mainguard.py").body == b"imported as mainguard\n"


def test_cgi_status_and_headers(server):
    r = get(server, "/cgi/status.py")
    # Apache: Status sets the code, the reason is its own
    assert (r.status, r.reason) == (404, "Not Found")
    assert r.header("Content-Type") == "text/html"
    assert r.header_all("X-Extra") == ["1", "2"]
    assert r.body == b"<p>custom 404</p>\n"


def test_cgi_output_without_a_blank_line_sends_nothing(server):
    r = get(server, "/cgi/noblank.py")
    assert r.status == 200 and r.header("Content-Length") == "0" and r.body == b""


def test_cgi_modules_are_imported_afresh(server):
    assert get(server, "/cgi/counter.py").body == b"count=1\n"
    assert get(server, "/cgi/counter.py").body == b"count=1\n"


def test_cgi_error_after_output(server):
    r = get(server, "/cgi/boom.py")
    assert r.status == 200 and r.body.startswith(b"before\n\n<pre>")
    assert b"RuntimeError: cgi boom" in r.body
    r = get(server, "/cgioff/boom.py")
    assert r.status == 200 and r.body.startswith(b"before\n<!DOCTYPE HTML")


def test_cgi_reads_the_body(server):
    # deliberate: under Python 3 mod_python's sys.stdin.read() raised
    # TypeError and sys.stdin.buffer / sys.stdout.buffer did not exist
    r = request(server.port, "POST", "/cgi/post.py", body=b"a=1&b=2")
    assert r.status == 200 and r.body == b"text='a=1&b=2'\n"
    r = request(server.port, "POST", "/cgi/postbin.py", body=b"\x00\x01\x02")
    assert r.status == 200 and r.body == b"\x02\x01\x00"
    r = request(server.port, "POST", "/cgi/form.py", body=b"a=7",
                headers=[("Content-Type", "application/x-www-form-urlencoded")])
    assert r.body == b"a=7\n"
    assert get(server, "/cgi/form.py?a=5").body == b"a=5\n"


def test_cgi_exit_ends_the_script(server):
    # deliberate: mod_python reported SystemExit as an error
    r = get(server, "/cgi/exits.py")
    assert r.status == 200 and r.body == b"exiting\n"
    assert get(server, "/cgi/hello.py").status == 200      # the worker lives on

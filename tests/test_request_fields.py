"""What mod_python's request object checks and remembers about the fields a
handler assigns, as Apache 2.4.71 + mod_python 3.5 answered for
tests/sites/fields (the same config on a private Apache), asserted against
``fastdispatch serve``:

* ``req._content_type_set`` is 1 once Python code assigned a content type,
  and the publisher keeps such a type - the callable's, a fixup's or an
  earlier handler's - instead of guessing text/html or text/plain;
* a status that is no int, a content type or header value that is no
  ISO-8859-1 string is a TypeError in the handler (500, and the traceback
  page under PythonDebug On);
* form bodies: the type is compared case-sensitively (another spelling is
  501), and a multipart line that only starts like a delimiter is content."""
import base64
import socket

import pytest

from serverproc import Conn, ServerProcess, copy_site, request


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    d = tmp_path_factory.mktemp("fields")
    conf = copy_site("fields", d)
    srv = ServerProcess(["serve", "--config", str(conf), "--port", "0", "--workers", "1"])
    yield srv
    srv.stop()


def test_content_type_set_tells_what_python_code_assigned(site):
    r = request(site.port, "GET", "/pub/fldpub.py/ctset")
    assert (r.status, r.body) == (200, b"before=0 after=1")


@pytest.mark.parametrize("path, ctype", [
    ("/fix/fldfixpage.py/html", "application/x-fixup"),
    ("/fix/fldfixpage.py/plain", "text/html"),
    ("/chain/fldchainpage.py/page", "application/x-chain"),
    ("/pub/fldpub.py/ctset", "text/plain"),
])
def test_the_publisher_keeps_a_type_python_code_set(site, path, ctype):
    r = request(site.port, "GET", path)
    assert r.status == 200
    assert r.header("Content-Type") == ctype


@pytest.mark.parametrize("name, message", [
    ("status_str", b"TypeError: &#x27;str&#x27; object cannot be interpreted as an integer"),
    ("ctype_euro", b"TypeError: not an ISO-8859-1 string"),
    ("ctype_int", b"TypeError: not an ISO-8859-1 string"),
    ("header_euro", b"TypeError: not an ISO-8859-1 string"),
])
def test_a_field_mod_python_refuses_is_a_handler_error(site, name, message):
    r = request(site.port, "GET", "/pub/fldpub.py/" + name)
    assert r.status == 500
    assert r.header("Content-Type") == "text/html"
    assert message in r.body
    assert name.encode() not in r.body.split(b"Traceback")[0]     # (not the value)


def test_a_latin1_header_value_is_sent(site):
    r = request(site.port, "GET", "/pub/fldpub.py/header_latin1")
    assert r.status == 200
    assert r.header("X-Latin") == "caf\u00e9"


def test_a_form_type_in_another_case_is_not_read(site):
    r = request(site.port, "POST", "/pub/fldpub.py/form", body=b"ba=bvalue",
                headers=[("Content-Type", "APPLICATION/X-WWW-FORM-URLENCODED"),
                         ("Content-Length", "9")])
    assert r.status == 501


def test_a_line_that_only_starts_like_a_delimiter_is_content(site):
    body = (b"--BB\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\n"
            b"line1\r\n--BBnot\r\nline2\r\n--BB--\r\n")
    r = request(site.port, "POST", "/pub/fldpub.py/form", body=body,
                headers=[("Content-Type", "multipart/form-data; boundary=BB"),
                         ("Content-Length", str(len(body)))])
    assert (r.status, r.body) == (200, b"f='line1\\r\\n--BBnot\\r\\nline2'")


@pytest.mark.parametrize("path, message", [
    ("/pub/fldpub.py/return_tuple",
     b"AssertionError: Handler has returned result or raised SERVER_RETURN"),
    ("/pub/fldpub.py/return_str_status",
     b"TypeError: &#x27;str&#x27; object cannot be interpreted as an integer"),
    ("/pub/fldpub.py/thing.", b"IndexError: string index out of range"),
    ("/pub/fldpub.py/.thing", b"IndexError: string index out of range"),
    ("/pub/fldpub.py/thing..meth", b"IndexError: string index out of range"),
])
def test_what_mod_python_cannot_read_is_a_handler_error(site, path, message):
    r = request(site.port, "GET", path)
    assert r.status == 500
    assert message in r.body


@pytest.mark.parametrize("path", ["/pub/fldpub.py/thing/meth", "/pub/fldpub.py/thing//meth",
                                  "/pub/fldpub.py/thing/meth/"])
def test_slashes_in_the_object_path_are_merged(site, path):
    r = request(site.port, "GET", path)
    assert (r.status, r.body) == (200, b"meth called")


@pytest.mark.parametrize("name", ["kbi", "genexit"])
def test_any_exception_in_a_handler_is_a_500(site, name):
    # (mod_python's bare except: a KeyboardInterrupt or GeneratorExit too)
    r = request(site.port, "GET", "/pub/fldpub.py/" + name)
    assert r.status == 500
    assert (b"KeyboardInterrupt" if name == "kbi" else b"GeneratorExit") in r.body
    assert request(site.port, "GET", "/pub/fldpub.py/ctset").status == 200


def _exchange(port, data):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(data)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk


def test_a_header_with_a_line_break_is_apaches_500(site):
    # (AH02430: the 500 page goes out, the handler's write fails, and its
    # error follows under PythonDebug On; nothing of the bad field is sent;
    # the connection ends, a request pipelined after it unanswered)
    raw = _exchange(site.port, b"GET /hdr/x?crlf HTTP/1.1\r\nHost: x\r\n\r\n"
                               b"GET /hdr/x HTTP/1.1\r\nHost: x\r\n\r\n")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 500 Internal Server Error\r\n")
    assert b"Injected" not in head and b"Connection: close" in head
    assert b"<title>500 Internal Server Error</title>" in body
    assert body.rstrip().endswith(b"OSError: Write failed, client closed connection.\n\n</pre>")
    assert raw.count(b"HTTP/1.1 ") == 1
    with Conn(site.port) as c:
        r = c.request("GET", "/hdr/x?crlf-late")
        assert r.status == 500 and r.header("Content-Length") is None
        assert b"<title>500 Internal Server Error</title>" in r.body and c.is_closed()


def test_server_date_and_connection_are_the_servers(site):
    r = request(site.port, "GET", "/hdr/x?own-fields", version="HTTP/1.0")
    names = [k.lower() for k, _ in r.headers]
    assert names.count("server") == 1 and r.header("Server") != "mine"
    assert names.count("date") == 1 and "1970" not in r.header("Date")
    assert [v for k, v in r.headers if k.lower() == "connection"] == ["x-custom, close"]


def test_vary_fields_are_merged(site):
    r = request(site.port, "GET", "/hdr/x?vary")
    assert [v for k, v in r.headers if k.lower() == "vary"] == ["Accept,Cookie"]


def test_send_http_header_is_there_and_does_nothing(site):
    r = request(site.port, "GET", "/hdr/x?send-http-header")
    assert (r.status, r.body) == (200, b"sent\n")


@pytest.mark.parametrize("mtime, future", [("0", False), ("4102444800", True)])
def test_last_modified_is_never_after_the_request(site, mtime, future):
    r = request(site.port, "GET", "/hdr/x?mtime=" + mtime)
    lm = r.header("Last-Modified")
    if future:
        assert lm == r.header("Date")
    else:
        assert lm == "Thu, 01 Jan 1970 00:00:00 GMT"


@pytest.mark.parametrize("credentials, shown", [
    ("\u00e9t\u00e9:\u00fc".encode(), "user='\u00c3\u00a9t\u00c3\u00a9' pw='\u00c3\u00bc'\n"),
    ("caf\u00e9:x".encode("latin-1"), "user='caf\u00e9' pw='x'\n"),
])
def test_the_user_is_latin1_as_the_password(site, credentials, shown):
    # (mod_python 3.5 decodes both as latin-1: a UTF-8 name shows its bytes)
    r = request(site.port, "GET", "/authu/x", headers=[
        ("Authorization", "Basic " + base64.b64encode(credentials).decode())])
    assert (r.status, r.body.decode()) == (200, shown)


SPAM = ("Authorization", "Basic c3BhbTplZ2dz")


@pytest.mark.parametrize("headers", [[], [SPAM]])
def test_authentication_without_authtype_or_authname_refuses(site, headers):
    # (the handler runs and finds no Basic credentials to read: 401; without
    # AuthName Apache's challenge breaks off after 'realm="')
    r = request(site.port, "GET", "/noat/x", headers=headers)
    assert r.status == 401 and r.header("WWW-Authenticate") is None
    r = request(site.port, "GET", "/noan/x", headers=headers)
    assert r.status == 401 and r.header("WWW-Authenticate") == 'Basic realm="'


def test_a_refused_body_gets_no_length_of_the_file(site):
    with Conn(site.port) as c:
        r = c.request("POST", "/lim/pub.txt", headers=[("Content-Length", "20")],
                      body=b"x" * 20)
        assert r.status == 413 and r.header("Content-Length") is None
        assert b"<title>413 Request Entity Too Large</title>" in r.body and c.is_closed()


@pytest.mark.parametrize("value, terms", [("keep-alive", True), ("Keep-Alive", True),
                                          ("x-keep-alive", False), ("keep-alived", False)])
def test_keep_alive_terms_answer_the_token_only(site, value, terms):
    r = request(site.port, "GET", "/lim/pub.txt", headers=[("Connection", value)])
    assert r.status == 200
    assert (r.header("Keep-Alive") is not None) == terms


def test_under_satisfy_any_an_access_handlers_refusal_asks_for_a_user(site):
    r = request(site.port, "GET", "/satany/x")
    assert r.status == 401 and r.header("WWW-Authenticate") == 'Basic realm="any"'
    r = request(site.port, "GET", "/satany/x", headers=[SPAM])
    assert (r.status, r.body) == (200, b"user='spam'\n")


def test_a_body_that_stops_coming_fails_the_handlers_read(site):
    # (after Timeout: mod_python's IOError in the handler, its 500, the end)
    with socket.create_connection(("127.0.0.1", site.port), timeout=10) as s:
        s.sendall(b"POST /hdr/x?readall HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: text/plain\r\nContent-Length: 10\r\n\r\nabc")
        raw = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            raw += chunk
    assert raw.startswith(b"HTTP/1.1 500 Internal Server Error\r\n")
    assert b"OSError: Client read error (Timeout?)" in raw


@pytest.mark.parametrize("query, closed", [
    ("late-status=500", True), ("late-status=503", True), ("late-status=400", True),
    ("late-status=404", False), ("late-status=200", False),
    ("late-raise", True)])
def test_a_status_set_after_the_head_ends_the_connection_as_apaches(site, query, closed):
    # (the head promised 3 bytes; under PythonDebug On the traceback page
    # follows them, so only the close keeps the next response in frame)
    with Conn(site.port) as c:
        r = c.request("GET", "/hdr/x?" + query)
        assert (r.status, r.body) == (200, b"ok\n")
        if closed:
            rest = c.buf
            while True:
                chunk = c.sock.recv(65536)
                if not chunk:
                    break
                rest += chunk
            assert (b"ValueError: after the head" in rest) == (query == "late-raise")
        else:
            assert c.request("GET", "/hdr/x").body == b"ok\n"


@pytest.mark.parametrize("status", [204, 304])
def test_a_bodiless_status_keeps_an_http10_keep_alive_connection(site, status):
    with socket.create_connection(("127.0.0.1", site.port), timeout=10) as s:
        s.sendall(b"GET /hdr/x?bodiless=%d HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
                  b"GET /hdr/x HTTP/1.0\r\n\r\n" % status)
        raw = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            raw += chunk
    first, _, rest = raw.partition(b"\r\n\r\n")
    assert first.startswith(b"HTTP/1.1 %d " % status)
    assert b"Connection: Keep-Alive" in first
    assert rest.startswith(b"HTTP/1.1 200 OK\r\n") and rest.endswith(b"\r\n\r\nok\n")


@pytest.mark.parametrize("method, status", [("OPTIONS", 200), ("PUT", 405)])
def test_the_default_handler_allows_what_a_handler_allowed_before_it(site, method, status):
    # (Apache's order of the list is its method registry's hash order, which
    # changes as Apache starts: the set is what counts)
    r = request(site.port, method, "/hdr/x?allow-declined")
    assert r.status == status
    assert set(r.header("Allow").split(",")) == {"GET", "PROPFIND", "POST", "OPTIONS", "HEAD"}


def test_the_request_object_takes_attributes_weak_references_and_copies(tmp_path):
    """What a plain Python object allows, the request allows, compiled or
    not: a handler's own attributes (seen by a later phase), a weak
    reference, and an internal redirect keeps both kinds of field."""
    from fastdispatch import Directory, Dispatcher, build_config
    from fastdispatch.testing import Client

    (tmp_path / "h").mkdir()
    (tmp_path / "h" / "fldobj.py").write_text(
        "import weakref\n"
        "from mod_python import apache\n"
        "def fixuphandler(req):\n"
        "    req.my_note = 'from the fixup'\n"
        "    req.status = 200\n"
        "    return apache.OK\n"
        "def handler(req):\n"
        "    ref = weakref.ref(req)\n"
        "    if req.uri.endswith('/again'):\n"
        "        req.content_type = 'text/plain'\n"
        "        req.write('%s|%s|%s|%s' % (req.my_note, req.prev.my_note,\n"
        "                                   req.prev.uri, ref() is req))\n"
        "        return apache.OK\n"
        "    req.internal_redirect('/h/fldobj.py/again')\n"
        "    return apache.OK\n")
    client = Client(Dispatcher(build_config(
        Directory("h", SetHandler="mod_python", PythonHandler="fldobj",
                  PythonFixupHandler="fldobj", PythonDebug=True),
        DocumentRoot=str(tmp_path), base_dir=str(tmp_path))))
    r = client.get("/h/fldobj.py/first")
    assert (r.status, r.body) == (200, b"from the fixup|from the fixup|/h/fldobj.py/first|True")

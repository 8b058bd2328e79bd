"""Output and input filters through a live server. Each expected answer is
what Apache 2.4.71 + mod_python 3.5 sent for the same site
(tests/sites/filters), byte for byte apart from the Server token, except
where a comment says otherwise."""
import socket

import pytest

from fastdispatch.config.parser import parse_config
from fastdispatch.errors import ConfigError
from fastdispatch.filters import Chain, Filter, FilterSpec
from serverproc import ServerProcess, copy_site, request


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    d = tmp_path_factory.mktemp("filters")
    conf = copy_site("filters", d)
    srv = ServerProcess(["serve", "--config", str(conf), "--port", "0", "--workers", "1"])
    yield srv
    srv.stop()


def raw(server, method, path, body=b""):
    """The whole exchange as sent (Connection: close), and the body after
    the head."""
    head = "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" % (method, path)
    if method == "POST":
        head += "Content-Length: %d\r\n" % len(body)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(head.encode() + b"\r\n" + body)
        data = b""
        while True:
            piece = s.recv(65536)
            if not piece:
                break
            data += piece
    head, _, rest = data.partition(b"\r\n\r\n")
    return head.decode("latin-1"), rest


def header(head, name):
    for line in head.split("\r\n")[1:]:
        k, _, v = line.partition(":")
        if k.lower() == name.lower():
            return v.strip()
    return None


# ------------------------------------------------------------ output filters

@pytest.mark.parametrize("query, length, body", [
    ("noflush", "11", b"HELLO WORLD"),       # one call that closes: a length
    ("setcl", "5", b"ABCDE"),
    ("empty", "0", b""),
])
def test_an_unflushed_response_through_a_closing_filter_has_a_length(server, query, length, body):
    head, rest = raw(server, "GET", "/f/x.py?" + query)
    assert head.startswith("HTTP/1.1 200 OK") and header(head, "Content-Length") == length
    assert rest == body


def test_each_flush_is_a_call_and_the_response_is_chunked(server):
    head, rest = raw(server, "GET", "/f/x.py?two")
    assert header(head, "Transfer-Encoding") == "chunked"
    assert rest == b"4\r\nONE \r\n3\r\nTWO\r\n0\r\n\r\n"
    head, rest = raw(server, "GET", "/count/x?two")
    assert rest == (b"f\r\n[1:b'one ':b'']\r\ne\r\n[2:b'two':b'']\r\n"
                    b"b\r\n[3:b'':EOS]\r\n0\r\n\r\n")


def test_the_filter_sees_end_of_stream_once(server):
    head, rest = raw(server, "GET", "/count/x?empty")
    assert header(head, "Content-Length") == "11" and rest == b"[1:b'':EOS]"
    h = request(server.port, "HEAD", "/count/x?noflush")
    # a HEAD runs the filter too: the length is that of what it made
    assert h.header("Content-Length") == "22" and h.body == b""


def test_a_static_file_is_filtered_with_its_new_length(server):
    head, rest = raw(server, "GET", "/f/s.txt")
    assert header(head, "Content-Length") == "17" and rest == b"STATIC TEXT FILE\n"
    head, rest = raw(server, "GET", "/countstatic/t.txt")     # a 13-byte file
    assert header(head, "Content-Length") == "25" and rest == b"[1:b'static in sf\\n':EOS]"


def test_error_pages_are_not_filtered(server):
    r = request(server.port, "GET", "/f/x.py?404")
    assert r.status == 404 and b"<title>404 Not Found</title>" in r.body


def test_an_error_after_output_appends_its_page_unfiltered(server):
    head, rest = raw(server, "GET", "/f/x.py?flush404")
    assert head.startswith("HTTP/1.1 200 OK")
    assert rest.startswith(b"4\r\nONE \r\n") and rest.endswith(b"</html>\n\r\n0\r\n\r\n")
    assert b"<title>404 Not Found</title>" in rest


def test_an_error_document_page_is_filtered_as_its_own_request(server):
    r = request(server.port, "GET", "/errdoc/x?404")
    assert r.status == 404 and r.body == b"HELLO WORLD"
    assert r.header("Content-Type") == "text/plain"


@pytest.mark.parametrize("query", ["two", "noflush", ""])
def test_a_filter_that_closes_at_once_ends_the_response_with_a_length(server, query):
    # (Apache then also sends what later calls write, past the length)
    head, rest = raw(server, "GET", "/closefirst/x?" + query)
    assert header(head, "Content-Length") == "8" and rest == b"replaced"


def test_filter_attributes_and_pass_on(server):
    head, rest = raw(server, "GET", "/attrs/x?noflush")
    assert rest == b"name=attrs is_input=0 handler=capf::attrs closed=0\n"
    head, rest = raw(server, "GET", "/passon/x?two")
    assert rest == b"4\r\none \r\n3\r\ntwo\r\n0\r\n\r\n"


def test_a_filter_that_never_closes_leaves_the_response_unended(server):
    """Apache sends no last chunk (and keeps a keep-alive connection open,
    which a client cannot read past); fastdispatch also closes it."""
    head, rest = raw(server, "GET", "/noclose/x?noflush")
    assert header(head, "Transfer-Encoding") == "chunked"
    assert rest == b"b\r\nhello world\r\n"


def test_a_filter_that_raises_under_debug_gives_its_traceback_as_a_500(server):
    head, rest = raw(server, "GET", "/crash/x")
    assert head.startswith("HTTP/1.1 500 Internal Server Error")
    assert header(head, "Content-Type") == "text/html"
    assert b'Mod_python error: "crash capf::crash"' in rest
    assert rest.endswith(b"ValueError: filter broke\n\n</pre>\n\r\n0\r\n\r\n")
    # the end-of-stream went into the failed call: no last chunk
    head, rest = raw(server, "GET", "/crash/x?noflush")
    assert rest.endswith(b"ValueError: filter broke\n\n</pre>\n\r\n")
    assert server.wait_for_log(r"crash capf::crash: Traceback")


@pytest.mark.parametrize("query, expect_head, body", [
    ("", "HTTP/1.1 200 OK", b""),                          # the end passes: length 0
    ("noflush", "", b""),                                  # nothing ever passes
    ("two", "HTTP/1.1 200 OK", b"3\r\ntwo\r\n0\r\n\r\n"),   # later pieces pass through
])
def test_a_filter_that_raises_without_debug_is_disabled(server, query, expect_head, body):
    head, rest = raw(server, "GET", "/crashoff/x?" + query)
    assert head.startswith(expect_head) and rest == body
    if query == "":
        assert header(head, "Content-Length") == "0"
    if query == "noflush":
        assert head == ""


def test_the_server_keeps_serving_after_filter_failures(server):
    for _ in range(3):
        raw(server, "GET", "/crashoff/x?noflush")
    assert request(server.port, "GET", "/f/x.py?noflush").body == b"HELLO WORLD"


def test_a_chain_runs_in_order_and_an_unknown_filter_is_logged(server):
    # (Apache 2.4.71 + mod_python 3.5 sends bytes of garbage through two
    # Python filters in a row; here each gets what the one before made)
    head, rest = raw(server, "GET", "/chain/x?noflush")
    assert rest == b"[1:b'HELLO WORLD':EOS]"
    assert server.wait_for_log(r"AH00082: an unknown filter was not added: unknownin")


# ------------------------------------------------- filters a handler adds

@pytest.mark.parametrize("query, expect", [
    ("unknown", b"added?"),
    ("content_length", b"content"),
    ("dyn", b"DYNAMIC FILTER"),
    ("server", b"SERVER FILTER"),
])
def test_a_handler_adds_filters_by_name(server, query, expect):
    head, rest = raw(server, "GET", "/dyn/x?" + query)
    assert header(head, "Content-Length") == str(len(expect)) and rest == expect


def test_a_filter_added_after_output_changes_only_what_follows(server):
    head, rest = raw(server, "GET", "/dyn/x?dynflush")
    assert rest == b"8\r\nDYNAMIC \r\n6\r\nFILTER\r\n0\r\n\r\n"
    head, rest = raw(server, "GET", "/dyn/x?afterwrite")
    assert rest == b"7\r\nbefore \r\n5\r\nAFTER\r\n0\r\n\r\n"


def test_a_registered_input_filter_and_a_missing_module(server):
    head, rest = raw(server, "POST", "/dyn/x?input", b"post body data")
    assert rest == b"got:POST BODY DATA"
    head, rest = raw(server, "GET", "/dyn/x?badmod")
    assert head.startswith("HTTP/1.1 500")
    # a filter registered by the request runs as mod_python's generic one
    assert b'Mod_python error: "mod_python nosuchmod::f"' in rest
    assert b"ModuleNotFoundError: No module named &#x27;nosuchmod&#x27;" in rest


# ------------------------------------------------------------- input filters

def test_an_input_filter_changes_what_the_handler_reads(server):
    head, rest = raw(server, "POST", "/infilter/x?echo", b"post body data")
    assert rest == b"got:POST BODY DATA"
    head, rest = raw(server, "POST", "/f/x.py?echo", b"post body data")
    assert rest == b"GOT:POST BODY DATA"
    head, rest = raw(server, "GET", "/infilter/x?echo")
    assert rest == b"got:"


def test_an_input_filter_that_raises_feeds_its_traceback_as_the_body(server):
    # mod_python's ReportError writes the page through the failing filter:
    # the handler reads it (Content-Length bytes of it) and the status is 500
    head, rest = raw(server, "POST", "/incrash/x?echo", b"post body data")
    assert head.startswith("HTTP/1.1 500 Internal Server Error")
    assert header(head, "Content-Type") == "text/html" and header(head, "Content-Length") == "18"
    assert rest == b"got:\n<pre>\nMod_pyt"


# ------------------------------------------------------------- units, config

def _run(fn, pieces, req=None):
    spec = FilterSpec("m::f", "F", is_input=False)
    chain = Chain(req, [spec])
    out = []
    import fastdispatch.filters as filters
    saved = filters._resolve
    filters._resolve = lambda spec, req: fn
    try:
        for data, eos in pieces:
            out.append(chain.run(data, eos))
    finally:
        filters._resolve = saved
    return out


def test_read_and_readline_end_with_empty_then_none():
    seen = []

    def fn(f):
        seen.append((f.readline(), f.readline(3), f.read(), f.read()))
        f.write(b"x")

    assert _run(fn, [(b"ab\ncdef", False), (b"", True)]) == [
        (b"x", True, False), (b"x", True, False)]
    assert seen == [(b"ab\n", b"cde", b"f", b""), (None, None, None, None)]


def test_a_closed_filter_refuses_io_and_takes_no_more():
    def fn(f):
        f.write(f.read())
        f.close()
        with pytest.raises(ValueError):
            f.write(b"late")

    assert _run(fn, [(b"a", False), (b"b", True)]) == [(b"a", True, True), (b"", False, False)]


def test_filter_names_are_case_insensitive_and_lower_case():
    f = Filter(FilterSpec("capf", "CAPF", is_input=False), None)
    assert f.name == "capf" and f.is_input == 0 and f.closed == 0


@pytest.mark.parametrize("line, where", [
    ("PythonOutputFilter capf", ":2: PythonOutputFilter takes exactly 2 arguments"),
    ("<Directory /tmp>\nPythonOutputFilter capf CAPF\n</Directory>",
     ":3: PythonOutputFilter not allowed in <directory> context"),   # server config only
])
def test_a_bad_filter_line_names_its_file_and_line(tmp_path, line, where):
    conf = tmp_path / "site.conf"
    conf.write_text("DocumentRoot %s\n%s\n" % (tmp_path, line))
    with pytest.raises(ConfigError) as e:
        parse_config(str(conf))
    assert str(e.value).startswith(str(conf) + where)


def test_a_filter_added_in_a_fixup_stays_beside_the_sections(server):
    head, rest = raw(server, "GET", "/fixupadd/x?noflush")
    assert rest.upper() == rest and b"[1:B'HELLO WORLD':EOS]" in rest.upper()
    assert rest.startswith(b"[1:")


def test_an_error_after_a_filter_ended_the_response_adds_nothing(server):
    from serverproc import Conn
    with Conn(server.port) as c:
        r = c.request("GET", "/closefirst/x?flush404")
        assert r.status == 200 and r.body == b"replaced"
        assert c.is_closed()


def test_a_redirect_target_has_its_own_sections_filters(server):
    head, rest = raw(server, "GET", "/f/x.py?redirect")
    assert rest == b"added?"        # /dyn has no filter: not capitalised

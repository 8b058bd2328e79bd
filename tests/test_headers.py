"""fastdispatch._headers: apache.table, Date, reason phrases, the response head.

Every test runs against the compiled module and its pure twin (``impl_headers``).
"""
import email.utils
import time

import pytest


# ---------------------------------------------------------------------------
# Table: mod_python's apache.table

def test_table_case_insensitive_lookup(impl_headers):
    t = impl_headers.Table()
    t["Content-Type"] = "text/html"
    assert t["content-type"] == "text/html"
    assert t["CONTENT-TYPE"] == "text/html"
    assert "content-TYPE" in t
    assert t.get("CoNtEnT-tYpE") == "text/html"


def test_table_has_key_as_mod_python(impl_headers):
    # (Python 2's spelling, kept by mod_python's table: 1 or 0)
    t = impl_headers.Table([("Host", "x")])
    assert t.has_key("host") == 1 and t.has_key("HOST") == 1 and t.has_key("nope") == 0
    assert t.has_key(3) == 0


def test_table_takes_bytes_values_as_latin1(impl_headers):
    # (mod_python's table on Apache 2.4.71 stored b"x" as "x")
    t = impl_headers.Table()
    t["X-A"] = b"x"
    t.add("X-B", b"caf\xe9")
    assert t.items() == [("X-A", "x"), ("X-B", "caf\u00e9")]
    with pytest.raises(TypeError):
        t["X-C"] = 3


def test_table_keeps_key_spelling_and_order(impl_headers):
    t = impl_headers.Table()
    t["B"] = "1"
    t["a"] = "2"
    t["C-Thing"] = "3"
    assert t.keys() == ["B", "a", "C-Thing"]
    assert t.values() == ["1", "2", "3"]
    assert t.items() == [("B", "1"), ("a", "2"), ("C-Thing", "3")]
    assert list(t) == ["B", "a", "C-Thing"]


def test_table_add_duplicates_subscript_returns_list(impl_headers):
    t = impl_headers.Table()
    t.add("Set-Cookie", "a=1")
    t.add("set-cookie", "b=2")
    t.add("X", "y")
    assert t["SET-COOKIE"] == ["a=1", "b=2"]
    assert t["x"] == "y"
    assert len(t) == 3
    assert t.keys() == ["Set-Cookie", "set-cookie", "X"]
    assert t.getall("set-cookie") == ["a=1", "b=2"]
    assert t.get("set-cookie") == "a=1"        # first value, as apr_table_get


def test_table_missing_key(impl_headers):
    t = impl_headers.Table()
    with pytest.raises(KeyError):
        t["nope"]
    assert t.get("nope") is None
    assert t.get("nope", "d") == "d"
    assert t.getall("nope") == []
    assert "nope" not in t
    assert 1 not in t


def test_table_setitem_replaces_all_keeps_first_place_and_spelling(impl_headers):
    t = impl_headers.Table()
    t.add("Set-Cookie", "a=1")
    t["Other"] = "o"
    t.add("SET-COOKIE", "b=2")
    t["set-cookie"] = "c=3"
    assert t.items() == [("Set-Cookie", "c=3"), ("Other", "o")]
    t["New"] = "n"
    assert t.keys() == ["Set-Cookie", "Other", "New"]


def test_table_delitem_deletes_all_and_missing_is_silent(impl_headers):
    t = impl_headers.Table([("A", "1"), ("b", "2"), ("a", "3")])
    del t["a"]
    assert t.items() == [("b", "2")]
    del t["not-there"]                        # mod_python: apr_table_unset
    assert len(t) == 1


def test_table_type_checks(impl_headers):
    t = impl_headers.Table()
    with pytest.raises(TypeError):
        t["a"] = 1
    with pytest.raises(TypeError):
        t[b"a"] = "1"
    with pytest.raises(TypeError):
        t.add("a", None)
    with pytest.raises(TypeError):
        t.add(1, "a")
    with pytest.raises(TypeError):
        impl_headers.Table({"a": 1})
    with pytest.raises(TypeError):
        t.update({"a": b"x"})
    assert len(t) == 0


def test_table_str_subclass_accepted(impl_headers):
    class S(str):
        pass
    t = impl_headers.Table()
    t[S("Key")] = S("value")
    assert t["key"] == "value"


def test_table_init_from_mapping_pairs_and_table(impl_headers):
    t1 = impl_headers.Table({"A": "1", "B": "2"})
    assert t1.items() == [("A", "1"), ("B", "2")]
    t2 = impl_headers.Table([("A", "1"), ("a", "2")])
    assert t2["A"] == ["1", "2"]
    t3 = impl_headers.Table(t2)
    assert t3.items() == [("A", "1"), ("a", "2")]
    t3.add("c", "3")
    assert len(t2) == 2                       # a copy, not a view


def test_table_update(impl_headers):
    t = impl_headers.Table([("A", "1"), ("B", "2"), ("a", "x")])
    t.update({"a": "9", "C": "3"})
    assert t.items() == [("A", "9"), ("B", "2"), ("C", "3")]
    t.update([("D", "4")], E="5")
    assert t.keys() == ["A", "B", "C", "D", "E"]
    src = impl_headers.Table()
    src.add("Set-Cookie", "s=1")
    src.add("Set-Cookie", "s=2")
    t.update(src)
    assert t["set-cookie"] == ["s=1", "s=2"]


def test_table_setdefault_pop_clear_copy(impl_headers):
    t = impl_headers.Table()
    assert t.setdefault("A", "1") == "1"
    assert t.setdefault("a", "2") == "1"
    assert t.items() == [("A", "1")]
    t.add("a", "3")
    assert t.setdefault("A") == ["1", "3"]
    c = t.copy()
    assert type(c) is impl_headers.Table
    assert t.pop("a") == ["1", "3"]
    assert len(t) == 0
    assert c.items() == [("A", "1"), ("a", "3")]
    assert t.pop("a", "dflt") == "dflt"
    with pytest.raises(KeyError):
        t.pop("a")
    c.clear()
    assert len(c) == 0 and c.items() == []


def test_table_repr_like_dict_newest_first(impl_headers):
    # mod_python's mp_table prints its entries newest first
    t = impl_headers.Table()
    assert repr(t) == "{}"
    t["A"] = "1"
    t.add("a", "2")
    assert repr(t) == "{'a': '2', 'A': '1'}"


def test_table_dict_conversion(impl_headers):
    t = impl_headers.Table([("Host", "h"), ("Accept", "*/*")])
    assert dict(t) == {"Host": "h", "Accept": "*/*"}


def test_table_ascii_only_case_folding(impl_headers):
    # APR's strcasecmp folds A-Z only: "\u212a" (Kelvin sign) is not "k".
    t = impl_headers.Table()
    t["\u212aey"] = "kelvin"
    t["\xc9t\xe9"] = "accent"
    assert "key" not in t
    assert "\u212aEY" in t
    assert "\xe9t\xe9" not in t
    assert t["\xc9T\xe9"] == "accent"


def test_table_bool_and_len(impl_headers):
    t = impl_headers.Table()
    assert not t
    t.add("a", "")
    assert t and len(t) == 1


# ---------------------------------------------------------------------------
# Date

def test_http_date_format(impl_headers):
    assert impl_headers.http_date(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT"
    assert impl_headers.http_date(0) == "Thu, 01 Jan 1970 00:00:00 GMT"
    assert impl_headers.http_date(784111777.9) == "Sun, 06 Nov 1994 08:49:37 GMT"
    assert impl_headers.http_date(4102444800) == "Fri, 01 Jan 2100 00:00:00 GMT"


def test_http_date_matches_stdlib(impl_headers):
    for ts in (1, 951782400, 1234567890, 1700000000, 1709251199):
        assert impl_headers.http_date(ts) == email.utils.formatdate(ts, usegmt=True)


def test_http_date_now_is_cached_and_current(impl_headers):
    a = impl_headers.http_date()
    b = impl_headers.http_date()
    assert a == b or (time.time() % 1) < 0.1
    now = email.utils.formatdate(time.time(), usegmt=True)
    assert abs(email.utils.parsedate_to_datetime(a).timestamp()
               - email.utils.parsedate_to_datetime(now).timestamp()) <= 1


def test_http_date_alternating_values(impl_headers):
    assert impl_headers.http_date(1) != impl_headers.http_date(2)
    assert impl_headers.http_date(1) == "Thu, 01 Jan 1970 00:00:01 GMT"


# ---------------------------------------------------------------------------
# Reason phrases: Apache 2.4's

@pytest.mark.parametrize("status,phrase", [
    (200, "OK"), (302, "Found"), (304, "Not Modified"), (401, "Unauthorized"),
    (404, "Not Found"), (405, "Method Not Allowed"), (408, "Request Timeout"),
    (413, "Request Entity Too Large"), (414, "Request-URI Too Long"),
    (416, "Requested Range Not Satisfiable"), (500, "Internal Server Error"),
    (501, "Not Implemented"), (503, "Service Unavailable"),
    (505, "HTTP Version Not Supported"),
])
def test_reason_phrase(impl_headers, status, phrase):
    assert impl_headers.reason_phrase(status) == phrase


def test_reason_phrase_unknown(impl_headers):
    assert impl_headers.reason_phrase(299) == "Status 299"
    assert impl_headers.reason_phrase(418) == "Status 418"


# ---------------------------------------------------------------------------
# build_response_head

def _split(head):
    text, _, body = head.partition(b"\r\n\r\n")
    lines = text.decode("latin-1").split("\r\n")
    return lines, body


def test_head_basic_content_length(impl_headers):
    date = impl_headers.http_date()
    out = impl_headers.build_response_head(
        11, 200, [("Content-Type", "text/plain")], content_length=5, body=b"hello")
    lines, body = _split(out)
    assert lines[0] == "HTTP/1.1 200 OK"
    assert lines[1].startswith("Date: ")
    assert lines[1][6:] in (date, impl_headers.http_date())
    assert lines[2:] == ["Content-Type: text/plain", "Content-Length: 5", "Connection: close"]
    assert body == b"hello"
    assert out.endswith(b"\r\n\r\nhello")


def test_head_order_and_keep_alive(impl_headers):
    t = impl_headers.Table()
    t["Content-Type"] = "text/html"
    t.add("Set-Cookie", "a=1")
    t.add("Set-Cookie", "b=2")
    out = impl_headers.build_response_head(
        11, 404, t.items(), content_length=0, keep_alive=True, server="Apache",
        keep_alive_header="timeout=5, max=100")
    lines, body = _split(out)
    assert lines[0] == "HTTP/1.1 404 Not Found"
    assert lines[2:] == [
        "Server: Apache", "Content-Type: text/html", "Set-Cookie: a=1", "Set-Cookie: b=2",
        "Content-Length: 0", "Keep-Alive: timeout=5, max=100", "Connection: Keep-Alive"]
    assert body == b""


def test_head_chunked(impl_headers):
    # HTTP/1.1 persistence without "Connection: keep-alive" from the client:
    # Apache names neither Keep-Alive nor Connection.
    out = impl_headers.build_response_head(11, 200, [], chunked=True, keep_alive=True)
    lines, _ = _split(out)
    assert lines[2:] == ["Transfer-Encoding: chunked"]


def test_head_apache_order_chunked_keep_alive(impl_headers):
    # Captured from Apache 2.4 (tests/data/apache/responses.json,
    # hello_get_11_conn_keepalive): Keep-Alive, Connection, Transfer-Encoding,
    # Content-Type.
    out = impl_headers.build_response_head(
        11, 200, [], chunked=True, keep_alive=True, server="Apache/2.4.71 (Debian)",
        keep_alive_header="timeout=5, max=100", content_type="text/plain")
    lines, _ = _split(out)
    assert lines[2:] == ["Server: Apache/2.4.71 (Debian)", "Keep-Alive: timeout=5, max=100",
                         "Connection: Keep-Alive", "Transfer-Encoding: chunked",
                         "Content-Type: text/plain"]
    out = impl_headers.build_response_head(
        11, 200, [], chunked=True, server="Apache", content_type="text/plain")
    lines, _ = _split(out)
    assert lines[2:] == ["Server: Apache", "Connection: close", "Transfer-Encoding: chunked",
                         "Content-Type: text/plain"]


def test_head_content_length_wins_over_chunked(impl_headers):
    out = impl_headers.build_response_head(11, 200, [], content_length=3, chunked=True)
    lines, _ = _split(out)
    assert lines[2:] == ["Content-Length: 3", "Connection: close"]


def test_head_always_http11_status_line(impl_headers):
    out = impl_headers.build_response_head(10, 500, ())
    assert out.startswith(b"HTTP/1.1 500 Internal Server Error\r\nDate: ")
    assert out.endswith(b"\r\nConnection: close\r\n\r\n")


def test_head_accepts_generator_and_tuples(impl_headers):
    out = impl_headers.build_response_head(
        11, 204, ((k, v) for k, v in [("A", "1"), ("B", "2")]))
    lines, _ = _split(out)
    assert lines[0] == "HTTP/1.1 204 No Content"
    assert lines[2:] == ["A: 1", "B: 2", "Connection: close"]


def test_head_latin1_values(impl_headers):
    out = impl_headers.build_response_head(11, 200, [("X-Name", "caf\xe9")])
    assert b"X-Name: caf\xe9\r\n" in out
    with pytest.raises(UnicodeEncodeError):
        impl_headers.build_response_head(11, 200, [("X-Name", "\u20ac")])


@pytest.mark.parametrize("bad", [
    [("X", "a\r\nSet-Cookie: evil=1")],
    [("X", "a\nb")],
    [("X", "a\rb")],
    [("X\r\nY", "v")],
    [("X", "ok"), ("Y", "trailing\n")],
])
def test_head_refuses_response_splitting(impl_headers, bad):
    with pytest.raises(ValueError):
        impl_headers.build_response_head(11, 200, bad)


def test_head_refuses_crlf_in_server_and_keepalive(impl_headers):
    with pytest.raises(ValueError):
        impl_headers.build_response_head(11, 200, [], server="x\r\nY: z")
    with pytest.raises(ValueError):
        impl_headers.build_response_head(11, 200, [], keep_alive=True,
                                         keep_alive_header="timeout=5\n")


def test_head_bad_status(impl_headers):
    with pytest.raises(ValueError):
        impl_headers.build_response_head(11, 99, [])
    with pytest.raises(ValueError):
        impl_headers.build_response_head(11, 1000, [])


def test_head_non_str_header_is_type_error(impl_headers):
    with pytest.raises(TypeError):
        impl_headers.build_response_head(11, 200, [("X", 1)])
    with pytest.raises(TypeError):
        impl_headers.build_response_head(11, 200, [(b"X", "1")])


def test_head_unknown_status_phrase(impl_headers):
    out = impl_headers.build_response_head(11, 299, [])
    assert out.startswith(b"HTTP/1.1 299 Status 299\r\n")


def test_head_body_types(impl_headers):
    out = impl_headers.build_response_head(11, 200, [], content_length=3, body=bytearray(b"abc"))
    assert isinstance(out, bytes) and out.endswith(b"\r\n\r\nabc")
    out = impl_headers.build_response_head(11, 200, [], content_length=3, body=memoryview(b"abc"))
    assert isinstance(out, bytes) and out.endswith(b"\r\n\r\nabc")


def test_head_parses_with_h11(impl_headers):
    h11 = pytest.importorskip("h11")
    out = impl_headers.build_response_head(
        11, 200, [("Content-Type", "text/plain"), ("X-A", "1")], content_length=2,
        keep_alive=True, server="fastdispatch", keep_alive_header="timeout=5", body=b"ok")
    conn = h11.Connection(h11.CLIENT)
    conn.send(h11.Request(method="GET", target="/", headers=[("Host", "x")]))
    conn.send(h11.EndOfMessage())
    conn.receive_data(out)
    resp = conn.next_event()
    assert isinstance(resp, h11.Response)
    assert resp.status_code == 200 and resp.reason == b"OK"
    hdrs = dict(resp.headers)
    assert hdrs[b"content-length"] == b"2" and hdrs[b"server"] == b"fastdispatch"
    assert conn.next_event().data == b"ok"


def test_head_content_type_last(impl_headers):
    out = impl_headers.build_response_head(
        11, 200, [("X-A", "1")], content_length=2, keep_alive=True,
        keep_alive_header="timeout=5, max=100", content_type="text/html", body=b"ok")
    lines, body = _split(out)
    assert lines[2:] == ["X-A: 1", "Content-Length: 2", "Keep-Alive: timeout=5, max=100",
                         "Connection: Keep-Alive", "Content-Type: text/html"]
    assert body == b"ok"
    out = impl_headers.build_response_head(11, 200, [], content_type="")
    assert b"Content-Type" not in out
    with pytest.raises(ValueError):
        impl_headers.build_response_head(11, 200, [], content_type="text/html\r\nX: y")

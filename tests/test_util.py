"""``mod_python.util`` (fastdispatch.util): FieldStorage and Field over a
request whose body arrives in pieces of any size, the query parsers, the
limits, redirect; and the publisher's per-function inspection cache."""
import io
import os
import re
import sys
import types

import pytest

from fastdispatch import apache, loader, util
from fastdispatch.errors import HTTPError
from fastdispatch.handlers import publisher


class FakeRequest:
    """Enough of a request for FieldStorage: its body is handed out ``piece``
    bytes at a time, however much is asked (as a socket would)."""

    def __init__(self, body=b"", ctype=None, method="POST", args=None, piece=1 << 20,
                 limit=None, options=None, length=True, fail=None):
        self.method = method
        self.args = args
        self.headers_in = apache.table()
        if ctype is not None:
            self.headers_in["Content-Type"] = ctype
        if length and method == "POST":
            self.headers_in["Content-Length"] = str(len(body))
        self._data = body
        self._pos = 0
        self._piece = piece
        self._fail = fail
        self._dir_config = types.SimpleNamespace(limit_request_body=limit,
                                                 options=options or {})
        self._head_sent = False
        self.err_headers_out = apache.table()
        self.status = 200
        self.written = []

    def read(self, n=-1):
        if self._fail is not None:
            raise self._fail
        if n is None or n < 0:
            n = len(self._data)
        n = min(n, self._piece)
        chunk = self._data[self._pos:self._pos + n]
        self._pos += len(chunk)
        return chunk

    def write(self, data, flush=1):
        self.written.append(data)


def status_of(excinfo):
    return excinfo.value.args[0]


def mp(parts, boundary="AaB03x", crlf=b"\r\n"):
    out = []
    for headers, content in parts:
        out.append(b"--" + boundary.encode() + crlf)
        for h in headers:
            out.append(h.encode() + crlf)
        out.append(crlf)
        out.append(content)
        out.append(crlf)
    out.append(b"--" + boundary.encode() + b"--" + crlf)
    return b"".join(out)


SIMPLE = mp([
    (['Content-Disposition: form-data; name="field1"'], b"Joe Blow\r\nalmost --AaB03 a boundary"),
    (['Content-Disposition: form-data; name="pics"; filename="file1.txt"',
      "Content-Type: text/plain; charset=utf-8"], b"...contents of file1.txt...\r\n"),
    (['Content-Disposition: form-data; name="field1"'], "second \u00e9".encode()),
    (['Content-Disposition: form-data; name="empty"; filename=""',
      "Content-Type: application/octet-stream"], b""),
])


# ------------------------------------------------------------ multipart

@pytest.mark.parametrize("piece", [1, 2, 3, 5, 7, 13, 64, 1 << 20])
def test_multipart_any_piece_size(piece):
    fs = util.FieldStorage(FakeRequest(SIMPLE, "multipart/form-data; boundary=AaB03x",
                                       piece=piece))
    assert fs.keys() == ["field1", "pics", "empty"]
    assert fs.getlist("field1") == ["Joe Blow\r\nalmost --AaB03 a boundary", "second \u00e9"]
    pic = fs["pics"]
    assert isinstance(pic, util.Field)
    assert pic.filename == "file1.txt"
    assert pic.type == "text/plain"
    assert pic.type_options == {"charset": "utf-8"}
    assert pic.disposition == "form-data"
    assert pic.disposition_options == {"name": "pics", "filename": "file1.txt"}
    assert pic.value == b"...contents of file1.txt...\r\n"
    assert pic.file.read() == b"...contents of file1.txt...\r\n"
    # (the part's header as it came, as mod_python keeps it)
    assert pic.headers["Content-Type"] == " text/plain; charset=utf-8\r\n"
    # an empty file input (filename="") is a plain, empty value, as mod_python
    assert isinstance(fs["empty"], util.StringField) and fs["empty"] == ""


def test_multipart_string_fields_are_str_with_field_attributes():
    fs = util.FieldStorage(FakeRequest(SIMPLE, "multipart/form-data; boundary=AaB03x"))
    first = fs.getfirst("field1")
    assert type(first) is util.StringField and isinstance(first, str)
    assert first.value == "Joe Blow\r\nalmost --AaB03 a boundary"
    assert type(first.value) is str
    assert first.name == "field1"
    assert first.filename is None
    assert first.type == "text/plain"
    assert first.file.read() == b"Joe Blow\r\nalmost --AaB03 a boundary"
    assert repr(first) == "Field('field1', 'Joe Blow\\r\\nalmost --AaB03 a boundary')"


def test_multipart_quoted_boundary_preamble_epilogue_and_bare_lf():
    body = (b"preamble\r\n" +
            mp([(['Content-Disposition: form-data; name="a"'], b"1")], boundary="x y",
               crlf=b"\n") + b"epilogue\r\n")
    fs = util.FieldStorage(FakeRequest(body, 'multipart/form-data; boundary="x y"', piece=3))
    assert fs.items() == [("a", "1")]


def test_multipart_folded_header_and_names_read_as_latin1():
    # (as mod_python's: a folded line joins the header as it came; names
    # and file names are ISO-8859-1, RFC 5987 filename* is a parameter
    # like any other, a backslash is kept, and every ';' splits)
    body = mp([(["Content-Disposition: form-data; name=\"f\";",
                 "  filename=\"caf\u00e9.txt\"; filename*=UTF-8''x.txt"], b"data"),
               (['Content-Disposition: form-data; name="a;b"; filename="x\\"y"'], b"2")])
    fs = util.FieldStorage(FakeRequest(body, "multipart/form-data; boundary=AaB03x"))
    assert fs["f"].filename == "caf\xc3\xa9.txt"
    assert fs["f"].disposition_options["filename*"] == "UTF-8''x.txt"
    assert fs["f"].value == b"data"
    assert fs.list[1].name == '"a'
    assert fs.list[1].filename == 'x\\"y'


def test_multipart_without_closing_delimiter_keeps_what_came():
    body = b"--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--B\r\n" \
           b"Content-Disposition: form-data; name=\"b\"\r\n\r\n2"
    fs = util.FieldStorage(FakeRequest(body, "multipart/form-data; boundary=B", piece=4))
    assert fs.getfirst("a") == "1"
    assert fs.getfirst("b") == "2"


def test_multipart_upload_spools_to_disk_past_the_threshold():
    data = os.urandom(300 * 1024)
    body = mp([(['Content-Disposition: form-data; name="u"; filename="u.bin"'], data)])
    fs = util.FieldStorage(FakeRequest(body, "multipart/form-data; boundary=AaB03x",
                                       piece=65536))
    f = fs["u"].file
    assert f._rolled                      # on disk (SpooledTemporaryFile)
    assert fs["u"].value == data
    small = mp([(['Content-Disposition: form-data; name="u"; filename="u.bin"'], b"x")])
    fs = util.FieldStorage(FakeRequest(small, "multipart/form-data; boundary=AaB03x"))
    assert not fs["u"].file._rolled       # small uploads stay in memory


def test_multipart_spool_threshold_option():
    body = mp([(['Content-Disposition: form-data; name="u"; filename="u.bin"'], b"x" * 100)])
    fs = util.FieldStorage(FakeRequest(body, "multipart/form-data; boundary=AaB03x",
                                       options={"fastdispatch.util.spool_threshold": "10"}))
    assert fs["u"].file._rolled


def test_file_and_field_callbacks():
    made = []

    def file_cb(filename):
        made.append(("file", filename))
        return io.BytesIO()

    def field_cb():
        made.append(("field",))
        return io.BytesIO()
    fs = util.FieldStorage(FakeRequest(SIMPLE, "multipart/form-data; boundary=AaB03x"),
                           file_callback=file_cb, field_callback=field_cb)
    assert made == [("field",), ("file", "file1.txt"), ("field",), ("file", "")]
    assert fs["pics"].value == b"...contents of file1.txt...\r\n"


def test_multipart_without_boundary_is_400():
    with pytest.raises(apache.SERVER_RETURN) as e:
        util.FieldStorage(FakeRequest(b"x", "multipart/form-data"))
    assert status_of(e) == 400


@pytest.mark.parametrize("ctype", ["multipart/form-data; boundary=",
                                   "multipart/form-data; boundary=AaB03x; charset=utf-8"])
def test_a_boundary_no_delimiter_matches_gives_an_empty_form(ctype):
    # (as mod_python's: the boundary is all after "boundary=", even a
    # parameter that follows it)
    fs = util.FieldStorage(FakeRequest(SIMPLE, ctype))
    assert fs.list == []


def test_the_last_boundary_parameter_counts():
    fs = util.FieldStorage(FakeRequest(SIMPLE, 'multipart/form-data; boundary=x; BOUNDARY="AaB03x"'))
    assert fs.getfirst("field1") == "Joe Blow\r\nalmost --AaB03 a boundary"


def test_multipart_header_without_colon_is_400():
    body = b"--B\r\nnot a header\r\n\r\nx\r\n--B--\r\n"
    with pytest.raises(apache.SERVER_RETURN) as e:
        util.FieldStorage(FakeRequest(body, "multipart/form-data; boundary=B"))
    assert status_of(e) == 400


# ------------------------------------------------------------ urlencoded and query

def test_query_and_urlencoded_body_together():
    fs = util.FieldStorage(FakeRequest(b"b=2&a=3&%C3%A9=%E2%82%AC&blank=",
                                       "application/x-www-form-urlencoded", args="a=1&q",
                                       piece=2), keep_blank_values=1)
    assert fs.keys() == ["a", "q", "b", "\u00e9", "blank"]
    assert fs.getlist("a") == ["1", "3"]
    assert fs["\u00e9"] == "\u20ac"
    assert fs["q"] == "" and fs["blank"] == ""
    assert all(type(k) is str for k in fs.keys())


def test_blank_values_dropped_by_default():
    fs = util.FieldStorage(FakeRequest(method="GET", args="a=&b=1&c"))
    assert fs.keys() == ["b"]


def test_body_is_read_only_for_post():
    fs = util.FieldStorage(FakeRequest(b"a=1", "application/x-www-form-urlencoded",
                                       method="PUT", args="q=1"))
    assert fs.keys() == ["q"]


def test_missing_content_type_is_urlencoded():
    fs = util.FieldStorage(FakeRequest(b"a=1"))
    assert fs["a"] == "1"


def test_post_without_length_is_411():
    with pytest.raises(apache.SERVER_RETURN) as e:
        util.FieldStorage(FakeRequest(b"a=1", length=False))
    assert status_of(e) == 411


def test_post_of_another_type_is_501():
    with pytest.raises(apache.SERVER_RETURN) as e:
        util.FieldStorage(FakeRequest(b"{}", "application/json"))
    assert status_of(e) == 501


# ------------------------------------------------------------ limits

def test_limit_request_body_by_content_length():
    with pytest.raises(apache.SERVER_RETURN) as e:
        util.FieldStorage(FakeRequest(b"a=" + b"1" * 100, limit=50))
    assert status_of(e) == 413


def test_limit_request_body_while_reading_unknown_length():
    req = FakeRequest(b"a=" + b"1" * 100, limit=50, length=False)
    req.headers_in["Transfer-Encoding"] = "chunked"
    with pytest.raises(apache.SERVER_RETURN) as e:
        util.FieldStorage(req)
    assert status_of(e) == 413


def test_transport_errors_become_their_status():
    req = FakeRequest(b"a=1", fail=HTTPError(413, "too large"))
    with pytest.raises(apache.SERVER_RETURN) as e:
        util.FieldStorage(req)
    assert status_of(e) == 413


def test_max_fields_counts_query_and_body():
    opts = {"fastdispatch.util.max_fields": "3"}
    util.FieldStorage(FakeRequest(b"b=1&c=1", args="a=1", options=opts))
    with pytest.raises(apache.SERVER_RETURN) as e:
        util.FieldStorage(FakeRequest(b"b=1&c=1&d=1", args="a=1", options=opts))
    assert status_of(e) == 413
    body = mp([(['Content-Disposition: form-data; name="f%d"' % i], b"x") for i in range(4)])
    with pytest.raises(apache.SERVER_RETURN) as e:
        util.FieldStorage(FakeRequest(body, "multipart/form-data; boundary=AaB03x",
                                      options=opts))
    assert status_of(e) == 413


def test_max_memory_bounds_values_but_not_uploads():
    opts = {"fastdispatch.util.max_memory": "1000"}
    with pytest.raises(apache.SERVER_RETURN) as e:
        util.FieldStorage(FakeRequest(b"a=" + b"1" * 2000, options=opts))
    assert status_of(e) == 413
    big_value = mp([(['Content-Disposition: form-data; name="t"'], b"x" * 2000)])
    with pytest.raises(apache.SERVER_RETURN) as e:
        util.FieldStorage(FakeRequest(big_value, "multipart/form-data; boundary=AaB03x",
                                      options=opts, piece=100))
    assert status_of(e) == 413
    big_file = mp([(['Content-Disposition: form-data; name="t"; filename="t"'], b"x" * 5000)])
    fs = util.FieldStorage(FakeRequest(big_file, "multipart/form-data; boundary=AaB03x",
                                       options=opts))
    assert len(fs["t"].value) == 5000


# ------------------------------------------------------------ the mapping API

def test_mapping_api():
    fs = util.FieldStorage(FakeRequest(method="GET", args="a=1&b=2&a=3"))
    assert len(fs) == 2 and list(fs) == ["a", "b"]
    assert fs.has_key("a") and "b" in fs and "z" not in fs
    assert fs["a"] == ["1", "3"] and fs["b"] == "2"
    assert fs.get("a") == ["1", "3"] and fs.get("z", "d") == "d" and fs.get("z") is None
    assert fs.getfirst("a") == "1" and fs.getfirst("z", "d") == "d"
    assert fs.getlist("z") == []
    assert [(k, str(v)) for k, v in fs.items()] == [("a", "1"), ("b", "2"), ("a", "3")]
    fs.add_field("b", "4")
    assert fs.getlist("b") == ["2", "4"]
    fs["a"] = "new"
    assert fs.getlist("a") == ["new"]
    del fs["b"]
    assert "b" not in fs
    with pytest.raises(KeyError):
        fs["b"]
    fs.clear()
    assert fs.keys() == [] and len(fs.list) == 0


def test_field_old_constructor():
    f = util.Field("n", io.BytesIO(b"abc"), "text/plain", {}, "form-data",
                   {"name": "n", "filename": "x.txt"})
    assert f.filename == "x.txt" and f.value == b"abc" and f.type == "text/plain"


# ------------------------------------------------------------ functions

def test_parse_qsl_and_parse_qs():
    assert util.parse_qsl("a=1&b=%C3%A9&a=x+y&c") == [("a", "1"), ("b", "\u00e9"), ("a", "x y")]
    assert util.parse_qsl("a=1&c", 1) == [("a", "1"), ("c", "")]
    assert util.parse_qsl(b"a=%C3%A9&b=\xc3\xa9") == [("a", "\u00e9"), ("b", "\u00e9")]
    assert util.parse_qs("a=1&b=2&a=3") == {"a": ["1", "3"], "b": ["2"]}
    assert util.parse_qs("a=&b", keep_blank_values=1) == {"a": [""], "b": [""]}
    assert apache.parse_qsl("a=1;b=2") == [("a", "1"), ("b", "2")]
    assert apache.parse_qs("a=1", 0, 0) == {"a": ["1"]}


def test_parse_header():
    # (mod_python's: every ';' splits, quotes at both ends go, nothing else)
    assert util.parse_header('form-data; name="a;b"; filename="x\\"y"') == \
        ("form-data", {"name": '"a', "filename": 'x\\"y'})
    assert util.parse_header(b'form-data; name="caf\xc3\xa9"') == \
        ("form-data", {"name": "caf\xc3\xa9"})
    assert util.parse_header(b"Text/Plain; Charset=UTF-8") == ("text/plain", {"charset": "UTF-8"})


def test_redirect():
    req = FakeRequest(method="GET")
    with pytest.raises(apache.SERVER_RETURN) as e:
        util.redirect(req, "/x?a=<b>")
    assert status_of(e) == apache.DONE
    assert req.status == 302 and req.err_headers_out["Location"] == "/x?a=<b>"
    assert req.written == ['<p>The document has moved <a href="/x?a=&lt;b&gt;">here</a></p>\n']
    req = FakeRequest(method="GET")
    with pytest.raises(apache.SERVER_RETURN):
        util.redirect(req, "http://e/", permanent=1, text="moved")
    assert req.status == 301 and req.written == ["moved"]
    req._head_sent = True
    with pytest.raises(IOError):
        util.redirect(req, "/y")
    with pytest.raises(TypeError):
        util.redirect(FakeRequest(method="GET"), b"/bytes")


def test_apply_fs_data():
    fs = util.FieldStorage(FakeRequest(method="GET", args="a=1&b=2&b=3&z=9"))

    def f(req, a, b=None):
        return (req, a, b)
    assert util.apply_fs_data(f, fs, req="R") == ("R", "1", ["2", "3"])

    class K:
        def __init__(self, a, **kw):
            self.got = (a, sorted(kw))
    assert util.apply_fs_data(K, fs).got == ("1", ["b", "z"])


def test_mod_python_util_alias():
    loader.install_aliases()
    from mod_python import util as mp_util
    from mod_python import publisher as mp_publisher
    assert mp_util is util
    assert mp_publisher is publisher


# ------------------------------------------------------------ the publisher's inspection cache

def test_call_spec_is_computed_once_per_function(monkeypatch):
    def published(req, name, *, flag="0", **kw):
        return name

    class C:
        def meth(self, req, x):
            return x

        def __call__(self, y):
            return y
    spec = publisher.call_spec(published)
    assert spec.names == {"req", "name", "flag"} and spec.varkw
    c = C()
    assert publisher.call_spec(c.meth).names == {"req", "x"}
    assert publisher.call_spec(c).names == {"y"}

    def boom(*a, **k):
        raise AssertionError("inspect.signature called again")
    monkeypatch.setattr(publisher.inspect, "signature", boom)
    for _ in range(3):
        assert publisher.call_spec(published) is spec
        assert publisher.call_spec(C().meth).names == {"req", "x"}
        assert publisher.call_spec(C()).names == {"y"}


def test_publisher_requests_do_not_inspect_again(tmp_path, monkeypatch):
    from fastdispatch.dispatch import Dispatcher
    from fastdispatch.testing import Client
    from serverproc import copy_site
    conf = copy_site("publisher", tmp_path)
    client = Client(Dispatcher.from_config(conf))
    assert client.get("/pub/hello.py/say?what=a").body == b"I am saying a"
    calls = []
    real = publisher.inspect.signature
    monkeypatch.setattr(publisher.inspect, "signature",
                        lambda *a, **k: calls.append(a) or real(*a, **k))
    for word in ("b", "c", "d"):
        assert client.get("/pub/hello.py/say?what=" + word).body == b"I am saying " + word.encode()
    assert calls == []


def test_function_guards_are_cached_and_read_without_running():
    ran = []

    def page(req):
        __auth_realm__ = "R"
        __access__ = ("a", "b")

        def __auth__(req, user, pw):
            return user == "u"
        ran.append(1)
        return "x"
    g = publisher.function_guards(page)
    assert g["__auth_realm__"] == "R" and g["__access__"] == ("a", "b")
    assert g["__auth__"](None, "u", "") and not g["__auth__"](None, "v", "")
    assert publisher.function_guards(page) is g
    assert ran == []


def test_function_guards_ignore_arguments_and_keep_literal_defaults():
    def takes(req, __auth__=None):
        return "x"
    assert publisher.function_guards(takes) == {}

    def with_defaults(req):
        def __auth__(req, user, pw, allowed=("u",), *, strict=True):
            return strict and user in allowed
        return "x"
    g = publisher.function_guards(with_defaults)
    assert g["__auth__"](None, "u", "") and not g["__auth__"](None, "v", "")


@pytest.mark.parametrize("body", [
    "    __auth__ = make()\n",
    "    if req:\n        __auth__ = 0\n",
    "    @staticmethod\n    def __auth__(req, user, pw):\n        return 1\n",
    "    x = 1\n    def __auth__(req, user, pw):\n        return x\n",
])
def test_unreadable_function_guards_fail_closed(tmp_path, body):
    src = tmp_path / "page.py"
    src.write_text("def make():\n    return 1\n\ndef page(req):\n" + body + "    return 'x'\n")
    mod = loader.import_module(str(src))
    with pytest.raises(publisher.GuardError):
        publisher.function_guards(mod.page)


def test_module_names_are_mod_pythons(tmp_path):
    """A module loaded by path (the publisher's) is named after its path; one
    found by name keeps the name and is the module a sibling imports."""
    src = tmp_path / "my-page.py"
    src.write_text("class Plain:\n    pass\n")
    mod = loader.import_module(str(src))
    assert mod.__name__ == re.sub(r"\W+", "_", str(src))
    assert repr(mod.Plain()).startswith("<%s.Plain object at " % mod.__name__)
    (tmp_path / "fd_named_handler.py").write_text("import fd_sibling\nVALUE = 1\n")
    (tmp_path / "fd_sibling.py").write_text("import fd_named_handler\n")
    sys.path.insert(0, str(tmp_path))
    try:
        mod = loader.import_module("fd_named_handler", path=[str(tmp_path)])
        assert mod.__name__ == "fd_named_handler"
        assert sys.modules["fd_sibling"].fd_named_handler is mod
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("fd_named_handler", None)
        sys.modules.pop("fd_sibling", None)


def test_a_handler_module_named_like_a_library_does_not_replace_it(tmp_path):
    (tmp_path / "json.py").write_text("MINE = True\n")
    import json
    mod = loader.import_module("json", path=[str(tmp_path)])
    assert mod.MINE and sys.modules["json"] is json

"""fastdispatch._uri: every test runs against the compiled module and the twin."""
import os
import time
import urllib.parse

import pytest

from fastdispatch.errors import HTTPError


def status_of(fn, *args, **kwargs):
    with pytest.raises(HTTPError) as info:
        fn(*args, **kwargs)
    return info.value.status


# --- split_target --------------------------------------------------------

@pytest.mark.parametrize("target, expected", [
    ("/", ("/", None)),
    ("/p", ("/p", None)),
    ("/p?q", ("/p", "q")),
    ("/p?", ("/p", "")),
    ("/p?a=1?b=2", ("/p", "a=1?b=2")),
    ("/a%20b?x=%2F", ("/a%20b", "x=%2F")),
    ("//double/slash", ("//double/slash", None)),
    ("/form.py/email?name=Joe+Smith", ("/form.py/email", "name=Joe+Smith")),
    ("http://example.com/p?q", ("/p", "q")),
    ("HTTPS://example.com:8443/a/b", ("/a/b", None)),
    ("http://example.com", ("/", None)),
    ("http://example.com?q=1", ("/", "q=1")),
    ("http://example.com/", ("/", None)),
    ("*", ("*", None)),
])
def test_split_target(impl_uri, target, expected):
    assert impl_uri.split_target(target) == expected


@pytest.mark.parametrize("target", [
    "", "p", "p/q", "*?x", "**", "/p#frag", "/p?q#frag", "#", "http://h/p#f",
    "ftp://example.com/p", "http:/p", "http//h/p", "http://", "http:///p",
    "http://user@host/p", "http://user:pw@host/", "example.com:443",
    "h\u0131ttp://x/",
])
def test_split_target_rejects(impl_uri, target):
    assert status_of(impl_uri.split_target, target) == 400


@pytest.mark.parametrize("target", [
    "/p?q", "/p?", "/", "/a/b?c=d&e=f", "http://h/p?q", "https://h:1/x",
])
def test_split_target_matches_urlsplit(impl_uri, target):
    parts = urllib.parse.urlsplit(target)
    path, query = impl_uri.split_target(target)
    assert path == (parts.path or "/")
    assert (query or "") == parts.query


# --- unquote_path --------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    ("/", "/"),
    ("/plain/path.py", "/plain/path.py"),
    ("/a%20b", "/a b"),
    ("/a+b", "/a+b"),
    ("/%41%42%43", "/ABC"),
    ("/%7e%7E", "/~~"),
    ("/caf%C3%A9", "/caf\u00e9"),
    ("/caf\u00c3\u00a9", "/caf\u00e9"),            # raw UTF-8 bytes as latin-1 text
    ("/caf%E9", "/caf\udce9"),                      # not UTF-8: surrogateescape
    ("/\u00e9", "/\udce9"),                         # a lone raw byte 0xE9
    ("/%25", "/%"),
    ("/%2541", "/%41"),                             # decoded once only
    ("/%5C", "/\\"),
    ("/%2e%2E", "/.."),                             # dots decode; normalize removes
    ("/\u20ac", "/\u20ac"),                         # non-wire text is read as UTF-8
    ("/\udce9", "/\udce9"),                         # an fsdecoded name round-trips
])
def test_unquote_path(impl_uri, raw, expected):
    assert impl_uri.unquote_path(raw) == expected


@pytest.mark.parametrize("raw, status", [
    ("/%", 400), ("/%4", 400), ("/%zz", 400), ("/%4g", 400), ("/a%", 400),
    ("/%%41", 400), ("/%\u00e9\u00e9", 400),
    ("/%2F", 404), ("/a%2fb", 404), ("/%00", 404), ("/a%00.py", 404),
    ("/%2F%zz", 400),                               # a bad escape wins, as Apache
    ("/%zz%2F", 400),
    ("/\ud800", 400),                               # not encodable at all
])
def test_unquote_path_rejects(impl_uri, raw, status):
    assert status_of(impl_uri.unquote_path, raw) == status


def test_unquote_path_encoded_slash_allowed(impl_uri):
    assert impl_uri.unquote_path("/a%2Fb", allow_encoded_slash=True) == "/a/b"
    assert impl_uri.unquote_path("/a%2fb", True) == "/a/b"
    assert status_of(impl_uri.unquote_path, "/a%00", True) == 404


@pytest.mark.parametrize("raw", [
    "/a%20b", "/%C3%A9t%C3%A9", "/x/y%3Bz", "/%7Euser/", "/%E9", "/a%FFb",
])
def test_unquote_path_matches_stdlib(impl_uri, raw):
    expected = urllib.parse.unquote(raw, encoding="utf-8", errors="surrogateescape")
    assert impl_uri.unquote_path(raw) == expected


# --- normalize_path ------------------------------------------------------

def rfc3986_remove_dot_segments(path):
    """RFC 3986 5.2.4, transcribed step by step: the oracle."""
    inp, out = path, ""
    while inp:
        if inp.startswith("../"):
            inp = inp[3:]
        elif inp.startswith("./"):
            inp = inp[2:]
        elif inp.startswith("/./"):
            inp = inp[2:]
        elif inp == "/.":
            inp = "/"
        elif inp.startswith("/../"):
            inp = inp[3:]
            out = out[:max(out.rfind("/"), 0)]
        elif inp == "/..":
            inp = "/"
            out = out[:max(out.rfind("/"), 0)]
        elif inp in (".", ".."):
            inp = ""
        else:
            start = 1 if inp.startswith("/") else 0
            nxt = inp.find("/", start)
            if nxt < 0:
                nxt = len(inp)
            out += inp[:nxt]
            inp = inp[nxt:]
    return out


def apache_normalize_path(path):
    """Apache 2.4's ap_normalize_path (server/util.c), transcribed character
    by character, with the flags its core gives a request's path:
    AP_NORMALIZE_NOT_ABOVE_ROOT | AP_NORMALIZE_MERGE_SLASHES (MergeSlashes On,
    the default). The other oracle. Returns the path, or None where Apache
    answers 400 ("invalid URI path"). ``path`` holds no NUL (a C string).
    """
    if not path.startswith("/"):
        return None
    p = path + "\0"
    out = ["/"]                                 # path[:w]
    ok = True
    l = 1
    while p[l] != "\0":
        if out[-1] == "/":                      # at the start of a segment
            if p[l] == "/":                     # collapse ///// to /
                while p[l] == "/":
                    l += 1
                continue
            if p[l] == ".":
                if p[l + 1] in "/\0":           # remove /./
                    l += 1
                    if p[l] != "\0":
                        l += 1
                    continue
                n = l + 1
                if p[n] == "." and p[n + 1] in "/\0":   # remove /xx/../
                    if len(out) > 1:
                        w = len(out) - 1
                        while w and out[w - 1] != "/":
                            w -= 1
                        del out[w:]
                    else:
                        ok = False              # already at the root
                    l = n + 1
                    if p[l] != "\0":
                        l += 1
                    continue
        out.append(p[l])
        l += 1
    return "".join(out) if ok else None


NORMALIZE_CASES = [
    ("/", "/"),
    ("/a/b/c", "/a/b/c"),
    ("/a/b/", "/a/b/"),
    ("/a/./b", "/a/b"),
    ("/a/../b", "/b"),
    ("/a/b/c/./../../g", "/a/g"),
    ("/a/b/..", "/a/"),
    ("/a/b/.", "/a/b/"),
    ("/.", "/"),
    ("/a/..", "/"),
    ("/./", "/"),
    ("/...", "/..."),
    ("/..a/b..", "/..a/b.."),
    ("/.hidden", "/.hidden"),
    ("/a/.b/..c", "/a/.b/..c"),
    ("/\u00e9/../\udce9", "/\udce9"),
    # repeated slashes are merged (MergeSlashes On), before ".." counts
    ("//", "/"),
    ("/a//b", "/a/b"),
    ("//static//file.txt", "/static/file.txt"),     # Apache: edge_double_slash
    ("/a/b//", "/a/b/"),
    ("///a///b///", "/a/b/"),
    ("/a//../b", "/b"),
    ("/a/.//b", "/a/b"),
    ("/a/..//b", "/b"),
    ("/a//.//", "/a/"),
    ("/\u20ac//x", "/\u20ac/x"),
]


@pytest.mark.parametrize("path, expected", NORMALIZE_CASES)
def test_normalize_path(impl_uri, path, expected):
    assert impl_uri.normalize_path(path) == expected


@pytest.mark.parametrize("path, _", NORMALIZE_CASES)
def test_normalize_path_matches_apache(impl_uri, path, _):
    assert impl_uri.normalize_path(path) == apache_normalize_path(path)


@pytest.mark.parametrize("path, _", [c for c in NORMALIZE_CASES if "//" not in c[0]])
def test_normalize_path_matches_rfc3986_without_empty_segments(impl_uri, path, _):
    expected = rfc3986_remove_dot_segments(path) or "/"
    assert impl_uri.normalize_path(path) == expected


ABOVE_ROOT = [
    "/..", "/../", "/../a", "/../../etc/passwd",          # Apache: edge_dotdot_etc_passwd
    "/a/../..", "/a/../../b", "/a/b/../../..", "/./..", "//..", "/a//../..",
    "/hello/../../", "/hello/../../etc/passwd",            # edge_encoded_dotdot(_etc), decoded
]


@pytest.mark.parametrize("path", ABOVE_ROOT)
def test_normalize_path_refuses_climbing_above_root(impl_uri, path):
    assert apache_normalize_path(path) is None            # Apache: 400
    with pytest.raises(HTTPError) as info:
        impl_uri.normalize_path(path)
    assert info.value.status == 400 and info.value.detail


@pytest.mark.parametrize("path", ["", "a/b", "../a", ".", "..", "*", "http://h/"])
def test_normalize_path_rejects(impl_uri, path):
    assert status_of(impl_uri.normalize_path, path) == 400


def test_normalize_path_leaves_a_clean_path_as_it_is(impl_uri):
    for path in ("/", "/a/b", "/a/b/", "/.a/..b/...", "/\u20ac/x"):
        assert impl_uri.normalize_path(path) == path


@pytest.mark.parametrize("name, expected", [
    ("edge_dotdot_etc_passwd", 400),            # GET /../../etc/passwd
    ("edge_encoded_dotdot", 400),               # GET /hello/%2e%2e/%2e%2e/
    ("edge_encoded_dotdot_etc", 400),           # GET /hello/%2e%2e/%2e%2e/etc/passwd
    ("edge_double_slash", "/static/file.txt"),  # GET //static//file.txt: 200
    ("edge_dotdot_inside", "/static/file.txt"),  # GET /static/sub/../file.txt: 200
])
def test_request_paths_as_apache_captures(impl_uri, name, expected):
    import json
    path = os.path.join(os.path.dirname(__file__), "data", "apache", "responses.json")
    with open(path) as f:
        case = next(c for c in json.load(f) if c["name"] == name)
    target = case["request"].split(" ")[1]
    path, _ = impl_uri.split_target(target)
    if expected == 400:
        assert case["status"] == 400
        assert status_of(impl_uri.normalize_path, impl_uri.unquote_path(path)) == 400
    else:
        assert case["status"] == 200
        assert impl_uri.normalize_path(impl_uri.unquote_path(path)) == expected


# --- parse_qsl -----------------------------------------------------------

QS_CASES = [
    "",
    "a=1",
    "a=1&b=2",
    "a=1;b=2",
    "name=Joe+Smith&email=joe%40example.com&comment=Hello%2C+world",
    "a=&b=2",
    "a&b=2",
    "&&a=1&&",
    "=v",
    "=",
    "a=b=c",
    "a+b=c+d",
    "a%20b=c%2Bd",
    "x=%zz&y=%4&z=%",
    "x=%%41",
    "x=%C3%A9",
    "x=%E9",
    "x=%00",
    "a=1&a=2&a=",
    "%3D=%26",
]


@pytest.mark.parametrize("keep", [False, True])
@pytest.mark.parametrize("qs", QS_CASES)
def test_parse_qsl_matches_urllib(impl_uri, qs, keep):
    expected = urllib.parse.parse_qsl(qs.replace(";", "&"), keep_blank_values=keep)
    assert impl_uri.parse_qsl(qs, keep) == expected
    assert impl_uri.parse_qsl(qs, keep_blank_values=keep) == expected


def test_parse_qsl_mod_python_examples(impl_uri):
    qs = "name=Joe+Smith&email=joe%40example.com&comment=Hello%2C+world"
    assert impl_uri.parse_qsl(qs) == [
        ("name", "Joe Smith"), ("email", "joe@example.com"), ("comment", "Hello, world")]
    assert impl_uri.parse_qsl("a=&b") == []
    assert impl_uri.parse_qsl("a=&b", True) == [("a", ""), ("b", "")]
    assert impl_uri.parse_qsl("a=1;b=2") == [("a", "1"), ("b", "2")]


def test_parse_qsl_wire_text(impl_uri):
    # raw UTF-8 bytes in a query (latin-1 text) decode as UTF-8, like escapes
    assert impl_uri.parse_qsl("x=\u00c3\u00a9") == [("x", "\u00e9")]
    assert impl_uri.parse_qsl("x=\u00e9") == [("x", "\ufffd")]
    # a str that is not wire text is read as UTF-8
    assert impl_uri.parse_qsl("x=\u00e9\u20ac&y=%E2%82%AC") == [
        ("x", "\u00e9\u20ac"), ("y", "\u20ac")]
    assert impl_uri.parse_qsl("x=\ud800") == [("x", "\ufffd\ufffd\ufffd")]


# --- map_to_storage ------------------------------------------------------

@pytest.fixture
def docroot(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "b").mkdir()
    (tmp_path / "a" / "form.py").write_text("def email(req): pass\n")
    (tmp_path / "index.html").write_text("hi")
    (tmp_path / "caf\u00e9").mkdir()
    return str(tmp_path)


@pytest.mark.parametrize("path, filename, path_info", [
    ("/", "/", ""),
    ("/index.html", "/index.html", ""),
    ("/index.html/extra/info", "/index.html", "/extra/info"),
    ("/a", "/a", ""),
    ("/a/", "/a/", ""),
    ("/a/b", "/a/b", ""),
    ("/a/b/", "/a/b/", ""),
    ("/a/form.py", "/a/form.py", ""),
    ("/a/form.py/email", "/a/form.py", "/email"),
    ("/a/form.py/email/", "/a/form.py", "/email/"),
    ("/a/missing.py/x/y", "/a/missing.py", "/x/y"),
    ("/missing", "/missing", ""),
    ("/missing/deeper", "/missing", "/deeper"),
    ("/a//b/c", "/a//b/c", ""),
    ("/a/b/c/d", "/a/b/c", "/d"),
    ("/caf\u00e9/x", "/caf\u00e9/x", ""),
    ("/index.html/", "/index.html", "/"),
])
def test_map_to_storage(impl_uri, docroot, path, filename, path_info):
    impl_uri.clear_map_cache()
    assert impl_uri.map_to_storage(docroot, path) == (docroot + filename, path_info)
    # the cached answer is the same
    assert impl_uri.map_to_storage(docroot, path) == (docroot + filename, path_info)


def test_map_to_storage_root_with_slash(impl_uri, docroot):
    assert impl_uri.map_to_storage(docroot + "/", "/a/form.py/x") == (
        docroot + "/a/form.py", "/x")


def test_map_to_storage_contract_example(impl_uri, tmp_path):
    root = tmp_path / "docroot"
    (root / "a").mkdir(parents=True)
    assert impl_uri.map_to_storage(str(root), "/a/b.py/x/y") == (
        str(root) + "/a/b.py", "/x/y")


@pytest.mark.parametrize("path, status", [
    ("", 400), ("a", 400), ("/a/../b", 400), ("/./a", 400), ("/a/..", 400),
    ("/a\x00b", 404), ("/\ud800", 404),
])
def test_map_to_storage_rejects(impl_uri, docroot, path, status):
    assert status_of(impl_uri.map_to_storage, docroot, path) == status


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores permissions")
def test_map_to_storage_forbidden(impl_uri, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "inner").mkdir()
    locked.chmod(0)
    try:
        assert status_of(impl_uri.map_to_storage, str(tmp_path), "/locked/inner/x") == 403
    finally:
        locked.chmod(0o755)


def test_map_to_storage_cache_is_short_lived(impl_uri, docroot, monkeypatch):
    impl_uri.clear_map_cache()
    assert impl_uri.map_to_storage(docroot, "/new/x") == (docroot + "/new", "/x")
    os.mkdir(os.path.join(docroot, "new"))
    # cached for up to a second: still the old answer
    assert impl_uri.map_to_storage(docroot, "/new/x") == (docroot + "/new", "/x")
    time.sleep(impl_uri.CACHE_TTL + 0.05)
    assert impl_uri.map_to_storage(docroot, "/new/x") == (docroot + "/new/x", "")
    impl_uri.clear_map_cache()


def test_map_to_storage_cache_is_bounded(impl_uri, docroot):
    impl_uri.clear_map_cache()
    for i in range(impl_uri.CACHE_SIZE + 50):
        impl_uri.map_to_storage(docroot, "/missing%d/x" % i)
    assert impl_uri.map_cache_size() <= impl_uri.CACHE_SIZE
    impl_uri.clear_map_cache()
    assert impl_uri.map_cache_size() == 0


def test_map_to_storage_symlink_loop_is_forbidden(impl_uri, tmp_path):
    os.symlink("loop", str(tmp_path / "loop"))
    impl_uri.clear_map_cache()
    assert status_of(impl_uri.map_to_storage, str(tmp_path), "/loop/x") == 403


def test_map_to_storage_symlinks_are_followed(impl_uri, docroot):
    os.symlink("a", os.path.join(docroot, "link"))
    impl_uri.clear_map_cache()
    assert impl_uri.map_to_storage(docroot, "/link/form.py/x") == (
        docroot + "/link/form.py", "/x")


def test_map_to_storage_errors_are_not_cached(impl_uri, tmp_path):
    impl_uri.clear_map_cache()
    os.symlink("loop", str(tmp_path / "loop"))
    assert status_of(impl_uri.map_to_storage, str(tmp_path), "/loop") == 403
    os.remove(str(tmp_path / "loop"))
    assert impl_uri.map_to_storage(str(tmp_path), "/loop") == (str(tmp_path) + "/loop", "")


def test_long_inputs_use_the_heap(impl_uri):
    # longer than the compiled module's stack buffers
    raw = "/" + "a%20b%C3%A9/" * 500
    assert impl_uri.unquote_path(raw) == "/" + "a b\u00e9/" * 500
    assert impl_uri.normalize_path("/" + "x/../" * 2000 + "y") == "/y"
    assert impl_uri.normalize_path("/\u20ac" + "/a/./.." * 1000) == "/\u20ac/"
    assert impl_uri.normalize_path("/" * 3000 + "a" + "/" * 3000) == "/a/"
    assert status_of(impl_uri.normalize_path, "/a" * 1000 + "/.." * 1001) == 400
    qs = "&".join("k%d=v+%%41%d" % (i, i) for i in range(1000))
    assert impl_uri.parse_qsl(qs) == [("k%d" % i, "v A%d" % i) for i in range(1000)]
    assert impl_uri.parse_qsl("x=" + "%E2%82%AC" * 1000) == [("x", "\u20ac" * 1000)]
    assert status_of(impl_uri.unquote_path, "/" + "a" * 5000 + "%2F") == 404


def test_normalize_keeps_narrow_strings(impl_uri):
    # a wide character removed with its segment leaves an ordinary ASCII str
    result = impl_uri.normalize_path("/\u20ac/../a")
    assert result == "/a" and result.isascii() and hash(result) == hash("/a")

"""mod_python's Cookie module (fastdispatch.cookie, imported by handlers as
``from mod_python import Cookie``).

Expected strings were observed on Apache 2.4.71 + mod_python 3.5 (Python
3.11), running the same calls in a handler. mod_python's SignedCookie and
MarshalCookie raise under Python 3 (TypeError from hmac, no
base64.encodestring); their signatures here are what mod_python's own
Cookie.py gives under Python 2.7, where it works as documented.
"""
import hmac
import importlib

import pytest

from fastdispatch import cookie as C
from fastdispatch import loader
from fastdispatch.apache import table
from serverproc import ServerProcess, copy_site, request


class Req:
    """What add_cookie/get_cookies use of a request: its header tables."""

    def __init__(self, cookie_header=None):
        self.headers_in = table()
        if cookie_header is not None:
            self.headers_in["Cookie"] = cookie_header
        self.headers_out = table()
        self.err_headers_out = table()


def summary(cookies):
    return {k: (type(c).__name__, c.value) for k, c in cookies.items()}


# ------------------------------------------------------------ the alias

def test_mod_python_cookie_is_this_module_in_both_import_forms():
    loader.install_aliases()
    mod = importlib.import_module("mod_python.Cookie")
    assert mod is C
    from mod_python import Cookie
    import mod_python
    assert Cookie is C and mod_python.Cookie is C


# ------------------------------------------------------------ the string form

@pytest.mark.parametrize("args, kw, expected", [
    (("spam", "eggs"), {}, "spam=eggs"),
    (("n", 5), {}, "n=5"),
    (("", ""), {}, "="),
    (("a b", "c; d"), {}, "a b=c; d"),                 # nothing quoted or checked
    (("a", "b"), {"expires": 0}, "a=b; expires=Thu, 01-Jan-1970 00:00:00 GMT"),
    (("a", "b"), {"expires": 1700000000.75}, "a=b; expires=Tue, 14-Nov-2023 22:13:20 GMT"),
    (("a", "b"), {"expires": "Sat, 14-Jun-2003 02:42:36 GMT"},
     "a=b; expires=Sat, 14-Jun-2003 02:42:36 GMT"),
    # a string is only checked, and kept as given
    (("a", "b"), {"expires": "sat, 14-jun-2003 2:42:36 GMT"},
     "a=b; expires=sat, 14-jun-2003 2:42:36 GMT"),
    # every attribute, given in reverse: the order is mod_python's, not the caller's
    (("a", "b"), {"httponly": 1, "port": "80", "discard": 1, "samesite": "Lax", "max_age": 300,
                  "expires": 1e9, "comment": "hi there", "secure": True, "domain": ".ex.com",
                  "path": "/p", "version": 1},
     "a=b; version=1; path=/p; domain=.ex.com; secure; comment=hi there; "
     "expires=Sun, 09-Sep-2001 01:46:40 GMT; max_age=300; samesite=Lax; discard; port=80; httponly"),
    (("a", "b"), {"secure": False, "httponly": 0, "discard": None}, "a=b; secure; discard; httponly"),
    (("a", "b"), {"Path": "/", "DOMAIN": "x.org", "Max_Age": 5}, "a=b; path=/; domain=x.org; max_age=5"),
])
def test_str_as_mod_python_sends_it(args, kw, expected):
    c = C.Cookie(*args, **kw)
    assert str(c) == expected
    assert repr(c) == "<Cookie: %s>" % expected


def test_expires_reads_back_as_the_date():
    assert C.Cookie("a", "b", expires=86400).expires == "Fri, 02-Jan-1970 00:00:00 GMT"
    with pytest.raises(AttributeError, match="'Cookie' object has no attribute '_expires'"):
        C.Cookie("a", "b").expires
    assert not hasattr(C.Cookie("a", "b"), "path")


@pytest.mark.parametrize("value", ["tomorrow", "Sat, 14-Jun-2003 02:42:36", "never"])
def test_an_invalid_expires_string_is_a_value_error(value):
    with pytest.raises(ValueError) as exc:
        C.Cookie("a", "b", expires=value)
    assert str(exc.value) == "Invalid expires time: %s" % value
    c = C.Cookie("a", "b")
    with pytest.raises(ValueError):
        c.expires = value


def test_expires_neither_string_nor_number_is_a_type_error():
    with pytest.raises(TypeError, match="'bytes' object cannot be interpreted as an integer"):
        C.Cookie("a", "b", expires=b"x")


def test_only_cookie_attributes_can_be_set():
    with pytest.raises(AttributeError, match="^'Cookie' object has no attribute 'foo'$"):
        C.Cookie("a", "b", foo=1)
    c = C.Cookie("a", "b")
    with pytest.raises(AttributeError, match="'foo'"):
        c.foo = 1
    # keywords are lower-cased, so commentURL is refused there but not as an attribute
    with pytest.raises(AttributeError, match="^'Cookie' object has no attribute 'commenturl'$"):
        C.Cookie("a", "b", commentURL="http://x/")
    c.commentURL = "http://x/"
    assert str(c) == "a=b; commentURL=http://x/"
    sub = type("Sub", (C.Cookie,), {})("a", "b")
    with pytest.raises(AttributeError, match="^'Sub' object has no attribute 'foo'$"):
        sub.foo = 1
    assert sub.__data__ == {}


def test_class_constants():
    assert (C.Cookie.DOWNGRADE, C.Cookie.IGNORE, C.Cookie.EXCEPTION) == (0, 1, 3)
    assert C.Cookie._valid_attr[:3] == ("version", "path", "domain")


# ------------------------------------------------------------ parsing

@pytest.mark.parametrize("header, expected", [
    # the documentation's example: "expires" becomes a cookie of its own
    ("spam=eggs; expires=Sat, 14-Jun-2003 02:42:36 GMT",
     {"spam": "eggs", "expires": "Sat, 14-Jun-2003 02:42:36 GMT"}),
    # quotes kept, trailing spaces kept, $-names dropped, commas start a name
    # only after a quoted value, a bare name has an empty value
    ('  a=1;b = 2 ;c="x;y\\"z" ; $Version=1; d; e=; f=g=h,, ,i=j, k=l',
     {"a": "1", "b": "2 ", "c": '"x;y\\"z"', "d": "", "e": "", "f": "g=h,, ,i=j, k=l"}),
    ("a=1;\tb=2;  c =  3", {"a": "1", "\tb": "2", "c": "3"}),
    ("a=1; a=2", {"a": "2"}),
    ("a=\u00e9; b=\u20ac", {"a": "\u00e9", "b": "\u20ac"}),
    ("", {}),
])
def test_parse_as_mod_python_does(header, expected):
    cookies = C.Cookie.parse(header)
    assert {k: c.value for k, c in cookies.items()} == expected
    assert all(type(c) is C.Cookie and c.name == k for k, c in cookies.items())


def test_parse_keeps_only_the_names_asked_for():
    assert summary(C.Cookie.parse("a=1; b=2", names=["b"])) == {"b": ("Cookie", "2")}


def test_get_cookies_and_get_cookie():
    req = Req('a=1; b="quoted; val" ;  c = 3 ;q="x\\"y", $Version=1; d=4,e=5')
    assert summary(C.get_cookies(req)) == {
        "a": ("Cookie", "1"), "b": ("Cookie", '"quoted; val"'), "c": ("Cookie", "3 "),
        "q": ("Cookie", '"x\\"y"'), "d": ("Cookie", "4,e=5")}
    assert repr(C.get_cookie(req, "b")) == '<Cookie: b="quoted; val">'
    assert C.get_cookie(req, "missing") is None
    assert C.get_cookies(Req()) == {} and C.get_cookies(Req("   ")) == {}
    assert C.get_cookie(Req(), "a", C.MarshalCookie, secret="k") is None


def test_get_cookies_joins_several_table_entries():
    req = Req()
    req.headers_in.add("Cookie", "a=1")
    req.headers_in.add("Cookie", "b=2")
    assert summary(C.get_cookies(req)) == {"a": ("Cookie", "1"), "b": ("Cookie", "2")}


# ------------------------------------------------------------ signed and marshalled

def test_signed_cookie_signature_is_mod_pythons():
    # both from mod_python's Cookie.py under Python 2.7
    assert str(C.SignedCookie("s", "v", "secret")) == "s=896609fbaf6b585e83454f4004b56417v"
    c = C.SignedCookie("spam", "eggs", "k", path="/", httponly=1)
    assert str(c) == "spam=3502cdb60cf920e3dee1c49128b3a4ebeggs; path=/; httponly"
    assert c.__data__ == {"secret": "k"}


@pytest.mark.parametrize("secret", [None, ""])
def test_signing_needs_a_secret(secret):
    with pytest.raises(C.CookieError, match="^Cannot sign without a secret$"):
        str(C.SignedCookie("s", "v", secret))
    with pytest.raises(C.CookieError, match="^Cannot sign without a secret$"):
        str(C.MarshalCookie("m", {"a": 1}, secret))


def test_signed_round_trip_and_tampering():
    good = C.SignedCookie.parse("spam=3502cdb60cf920e3dee1c49128b3a4ebeggs", "k")
    assert summary(good) == {"spam": ("SignedCookie", "eggs")}
    assert repr(good["spam"]) == "<SignedCookie: spam=3502cdb60cf920e3dee1c49128b3a4ebeggs>"
    bad = "spam=3502cdb60cf920e3dee1c49128b3a4ebEGGS; x=1"
    # mod_python (Python 2): downgraded to a plain Cookie with the whole value
    assert summary(C.SignedCookie.parse(bad, "k")) == {
        "spam": ("Cookie", "3502cdb60cf920e3dee1c49128b3a4ebEGGS"), "x": ("Cookie", "1")}
    assert C.SignedCookie.parse(bad, "k", mismatch=C.Cookie.IGNORE) == {}
    with pytest.raises(C.CookieError, match="^Incorrectly Signed Cookie: spam=3502"):
        C.SignedCookie.parse(bad, "k", mismatch=C.Cookie.EXCEPTION)
    assert summary(C.SignedCookie.parse("spam=3502cdb60cf920e3dee1c49128b3a4ebeggs", "other")) == {
        "spam": ("Cookie", "3502cdb60cf920e3dee1c49128b3a4ebeggs")}
    # an empty secret verifies nothing (it would accept an empty-key forgery)
    mac = hmac.new(b"", b"s", "md5")
    mac.update(b"v")
    forged = "s=%sv" % mac.hexdigest()
    assert type(C.SignedCookie.parse(forged, "")["s"]) is C.Cookie
    assert type(C.SignedCookie.parse(forged, None)["s"]) is C.Cookie


def test_marshal_cookie_round_trip():
    value = {"egg_count": 32, "color": "white"}
    sent = str(C.MarshalCookie("m", value, "secret007", path="/"))
    assert sent.endswith("; path=/") and "\n" not in sent
    got = C.MarshalCookie.parse(sent.split(";")[0], "secret007")["m"]
    assert type(got) is C.MarshalCookie and got.value == value
    long_value = list(range(100))      # base64 longer than one 76-column line
    got = C.MarshalCookie.parse(str(C.MarshalCookie("m", long_value, "k")), "k")["m"]
    assert got.value == long_value


def test_marshal_cookie_tampered_or_undecodable_is_downgraded():
    sent = str(C.MarshalCookie("m", {"a": 1}, "k"))
    tampered = sent[:-3] + "AAA"
    assert tampered != sent
    assert type(C.MarshalCookie.parse(tampered, "k")["m"]) is C.Cookie
    # correctly signed but not marshal data: downgraded without its signature,
    # as mod_python (Python 2) does
    junk = "m=" + C.SignedCookie("m", "@@@", "k").hexdigest("@@@") + "@@@"
    assert summary(C.MarshalCookie.parse(junk, "k")) == {"m": ("Cookie", "@@@")}
    with pytest.raises(C.CookieError, match="^Cannot Unmarshal Cookie: m=@@@$"):
        C.MarshalCookie.parse(junk, "k", mismatch=C.Cookie.EXCEPTION)


# ------------------------------------------------------------ add_cookie

def test_add_cookie_uses_headers_out_and_one_cache_control():
    req = Req()
    C.add_cookie(req, "spam", "eggs", path="/", expires=1000000000)
    C.add_cookie(req, C.Cookie("obj", "v", httponly=1, secure=1, max_age=60), "ignored", path="/x")
    C.add_cookie(req, "novalue")
    assert req.headers_out.items() == [
        ("Cache-Control", 'no-cache="set-cookie"'),
        ("Set-Cookie", "spam=eggs; path=/; expires=Sun, 09-Sep-2001 01:46:40 GMT"),
        ("Set-Cookie", "obj=v; secure; max_age=60; httponly"),
        ("Set-Cookie", "novalue="),
    ]
    assert len(req.err_headers_out) == 0


def test_add_cookie_next_to_headers_already_set():
    req = Req()
    req.headers_out["Cache-Control"] = "private"
    C.add_cookie(req, "a", "1")
    assert req.headers_out.items() == [("Cache-Control", "private"),
                                       ("Cache-Control", 'no-cache="set-cookie"'),
                                       ("Set-Cookie", "a=1")]
    req = Req()
    req.headers_out.add("Set-Cookie", "pre=1")
    C.add_cookie(req, "a", "1")
    assert req.headers_out.items() == [("Set-Cookie", "pre=1"), ("Set-Cookie", "a=1")]


def test_add_cookie_that_cannot_render_leaves_the_cache_control():
    req = Req()
    with pytest.raises(C.CookieError):
        C.add_cookie(req, C.SignedCookie("s", "v"))
    assert req.headers_out.items() == [("Cache-Control", 'no-cache="set-cookie"')]


# ------------------------------------------------------------ through a real server

@pytest.fixture(scope="module")
def server(tmp_path_factory):
    d = tmp_path_factory.mktemp("cookie")
    conf = copy_site("cookie", d)
    srv = ServerProcess(["serve", "--config", str(conf), "--port", "0", "--workers", "1"])
    yield srv
    srv.stop()


def test_live_set_cookie_headers(server):
    r = request(server.port, "GET", "/c/x?set")
    assert r.status == 200
    assert r.header_all("Cache-Control") == ['no-cache="set-cookie"']
    assert r.header_all("Set-Cookie") == [
        "spam=eggs; path=/; expires=Sun, 09-Sep-2001 01:46:40 GMT",
        "obj=v; secure; max_age=60; httponly",
        "when=x; version=1; domain=.example.com; comment=hi; expires=Sat, 14-Jun-2003 02:42:36 GMT",
        "novalue=",
    ]
    names = [k for k, _ in r.headers]
    assert names.index("Cache-Control") < names.index("Set-Cookie")


def test_live_error_response_drops_the_cookie(server):
    r = request(server.port, "GET", "/c/x?notfound")
    assert r.status == 404
    assert r.header("Set-Cookie") is None and r.header("Cache-Control") is None


def test_live_invalid_expires_is_a_500_naming_it(server):
    r = request(server.port, "GET", "/c/x?badexpires")
    assert r.status == 500
    assert b"ValueError: Invalid expires time: never" in r.body
    assert r.header("Set-Cookie") is None


def test_live_get_cookies_from_two_header_lines(server):
    r = request(server.port, "GET", "/c/x?get", headers=[
        ("Cookie", 'a=1; b="quoted; val" ;  c = 3 ;$Path=/; q="x\\"y"'), ("Cookie", "d=4")])
    assert r.text == ('a=[1] Cookie\nb=["quoted; val"] Cookie\nc=[3 ] Cookie\nd=[4] Cookie\n'
                      'q=["x\\"y"] Cookie\nb: <Cookie: b="quoted; val">\nmissing: None\n')


def test_live_signed_and_marshal_round_trip(server):
    r = request(server.port, "GET", "/c/x?signed")
    assert r.text == "s: NoneType None\nm: NoneType None\n"
    sent = r.header_all("Set-Cookie")
    assert sent[0] == "s=896609fbaf6b585e83454f4004b56417v"
    assert sent[1].startswith("m=") and len(sent) == 2
    back = "; ".join(sent)
    r = request(server.port, "GET", "/c/x?signed", headers=[("Cookie", back)])
    assert r.text == "s: SignedCookie 'v'\nm: MarshalCookie {'egg_count': 32}\n"
    r = request(server.port, "GET", "/c/x?signed", headers=[("Cookie", back.replace("7v", "7w"))])
    assert r.text.startswith("s: Cookie '896609fbaf6b585e83454f4004b56417w'\nm: MarshalCookie")


def test_live_attribute_import_form(server):
    assert request(server.port, "GET", "/c/x?alias").text == "True\n"

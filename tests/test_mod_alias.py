"""mod_alias as Apache 2.4 answers: Redirect, RedirectMatch,
RedirectPermanent, RedirectTemp (server-wide, in <Directory> and
<Location>), an Alias to a single file, Alias matching and concatenation,
and the context an Alias gives (CONTEXT_PREFIX, CONTEXT_DOCUMENT_ROOT).

Every expected status, Location and page below is what a private Apache
2.4.71 (Debian) + mod_python 3.5 answered for the same lines (the site
written out by ``site`` below, with "Host: 127.0.0.1"), word for word;
only the <address> line differs (the server's name)."""
import pytest

from fastdispatch.config.parser import parse_config
from fastdispatch.dispatch import Dispatcher
from fastdispatch.errors import ConfigError
from fastdispatch.testing import Client

CONF = r"""
DocumentRoot htdocs
Alias /al htdocs/static
Alias /alf htdocs/static/a.txt
Alias /ov htdocs/static
Alias /ov/sub htdocs/types
Alias /pal/ htdocs/pub/
Alias /pal2/ htdocs/pub
Alias /hal htdocs/h
<Directory htdocs/h>
    SetHandler mod_python
    PythonHandler h
</Directory>
Redirect /r1 http://example.com/t1
Redirect permanent /r2 /local/t2
Redirect temp /r3 http://example.com/t3?fixed=1
Redirect seeother /r4 http://example.com/t4
Redirect gone /r5
Redirect 307 /r6 http://example.com/t6
Redirect 308 /r6b http://example.com/t6b
Redirect 410 /r7
Redirect 300 /r9 http://example.com/t9
Redirect 305 /r9b http://example.com/t9b
Redirect 399 /r9c http://example.com/t9c
Redirect /r10/ http://example.com/t10/
Redirect /r11 http://example.com/t11/
Redirect /r12 http://example.com/first
Redirect /r12 http://example.com/second
Redirect /r12/deeper http://example.com/deeper
Redirect /al/redir http://example.com/alredir
Redirect /r13 mailto:someone
Redirect /r14 /local/t14#frag
Redirect /r15//a http://example.com/t15
Redirect /r16 https://user:pw@example.com:443/t16
Redirect 200 /r17
RedirectMatch ^/m1/(.*)\.html$ http://example.com/m1/$1.htm
RedirectMatch permanent (.*)\.gif$ /img$1.png
RedirectMatch 410 ^/m3
RedirectMatch ^/m4/(.*)$ http://example.com/m4?x=$1
RedirectMatch ^/m5(.*)$ /m5t$1#f
RedirectMatch ^/m6/(.*)$ m6rel/$1
RedirectMatch seeother ^/m7 http://example.com:80/m7
RedirectMatch ^/m8/(.*)$ http://example.com/$1$2&\$1
RedirectPermanent /rp http://example.com/rp
RedirectTemp /rt http://example.com/rt
<Directory htdocs/rd>
    Redirect /rd/f.txt http://example.com/df
    Redirect permanent /rd/missing http://example.com/dmissing
    Redirect /rd/sub/s.txt http://example.com/outer
    RedirectMatch ^/rd/m/(.*) http://example.com/dm/$1
</Directory>
<Directory htdocs/rd/sub>
    Redirect /rd/sub http://example.com/inner
    ErrorDocument 302 "moved text
</Directory>
<Directory htdocs/rd/exp>
    Redirect seeother /exp/target
</Directory>
<Location /rdloc/a>
    Redirect /rdloc/a http://example.com/la
</Location>
<Location /rdloc/b>
    Redirect permanent "http://example.com/lb"
</Location>
<Location /rdloc/c>
    Redirect gone
</Location>
<Location /rdloc/d>
    Redirect http://example.com/ld
</Location>
<Location /rdloc/e>
    Redirect /rdloc/e/x http://example.com/le
    ErrorDocument 302 /errdoc.html
</Location>
<Location /rdloc/f>
    Redirect /x$1
</Location>
<Location /rdloc/g>
    Redirect 301 foo
</Location>
<Location /rdloc/h>
    Redirect 301 "/a b?c d#e f"
</Location>
<Directory htdocs/eq>
    ErrorDocument 404 "quoted text with \"escaped\" quote
    ErrorDocument 410 "oneword
</Directory>
Redirect gone /eq/gone
"""

HANDLER = """from mod_python import apache

def handler(req):
    req.add_common_vars()
    env = req.subprocess_env
    req.content_type = "text/plain"
    req.write("%s|%s" % (env["CONTEXT_PREFIX"], env["CONTEXT_DOCUMENT_ROOT"]))
    return apache.OK
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("mod_alias")
    docs = root / "htdocs"
    for d in ("static", "types", "pub", "h", "rd/sub", "rd/exp", "eq"):
        (docs / d).mkdir(parents=True)
    (docs / "static" / "a.txt").write_text("the a file\n")
    (docs / "types" / "x.txt").write_text("types\n")
    (docs / "pub" / "p.txt").write_text("pub\n")
    (docs / "rd" / "f.txt").write_text("hello\n")
    (docs / "rd" / "sub" / "s.txt").write_text("sub\n")
    (docs / "errdoc.html").write_text("<p>custom 404 doc</p>\n")
    (docs / "h" / "h.py").write_text(HANDLER)
    (root / "site.conf").write_text(CONF)
    return root


@pytest.fixture(scope="module")
def client(site):
    return Client(Dispatcher.from_config(str(site / "site.conf")), host="127.0.0.1")


MOVED = '<p>The document has moved <a href="%s">here</a>.</p>\n'
SEE_OTHER = '<p>The answer to your request is located <a href="%s">here</a>.</p>\n'
GONE = ("<p>The requested resource is no longer available on this server and there is no "
        "forwarding address.\nPlease remove all references to this resource.</p>\n")
NOT_FOUND = "<p>The requested URL was not found on this server.</p>\n"
ERROR_500 = ("<p>The server encountered an internal error or\nmisconfiguration and was "
             "unable to complete\nyour request.</p>\n<p>Please contact the server "
             "administrator at \n [no address given] to inform them of the time this error "
             "occurred,\n and the actions you performed just before this error.</p>\n"
             "<p>More information about this error may be available\nin the server error "
             "log.</p>\n")


def message(body):
    """The part of an Apache error page between its <h1> and its <hr>."""
    text = body.decode("latin-1")
    return text.split("</h1>\n", 1)[1].split("<hr>", 1)[0]


# (path, status, Location or None, the page's message)
CASES = [
    ("/r1", 302, "http://example.com/t1", None),
    ("/r1/", 302, "http://example.com/t1/", None),
    ("/r1/a/b?q=1&z", 302, "http://example.com/t1/a/b?q=1&z", None),
    ("/r1?", 302, "http://example.com/t1?", None),
    ("/r1x", 404, None, NOT_FOUND),
    ("/r2", 301, "http://127.0.0.1/local/t2", None),
    ("/r2/x?y", 301, "http://127.0.0.1/local/t2/x?y", None),
    ("/r3/a?q=1", 302, "http://example.com/t3?fixed=1/a", None),
    ("/r4", 303, "http://example.com/t4", None),
    ("/r5", 410, None, GONE),
    ("/r6", 307, "http://example.com/t6", None),
    ("/r6b", 308, "http://example.com/t6b", None),
    ("/r7", 410, None, GONE),
    ("/r9", 300, "http://example.com/t9", ""),
    ("/r9b", 305, "http://example.com/t9b",
     "<p>This resource is only accessible through the proxy\n<br />\nYou will need to "
     "configure your client to use that proxy.</p>\n"),
    ("/r9c", 500, "http://example.com/t9c", ERROR_500),
    ("/r10", 404, None, NOT_FOUND),
    ("/r10/", 302, "http://example.com/t10/", None),
    ("/r10/x", 302, "http://example.com/t10/x", None),
    ("/r11/x", 302, "http://example.com/t11//x", None),
    ("/r12", 302, "http://example.com/first", None),
    ("/r12/deeper", 302, "http://example.com/first/deeper", None),
    ("/al/redir/x", 302, "http://example.com/alredir/x", None),
    ("/r13/x", 302, "mailto:someone/x", None),
    ("/r14/x?q", 302, "http://127.0.0.1/local/t14#frag/x?q", None),
    ("/r15/a/b", 302, "http://example.com/t15/b", None),
    ("/r15//a/b", 302, "http://example.com/t15/b", None),
    ("/r15/b", 404, None, NOT_FOUND),
    ("/r16/x", 302, "https://user:pw@example.com:443/t16/x", None),
    ("/r17", 200, None, ERROR_500),
    ("/r1/a%20b/%3f%23%25%26%3b%3a%40%2b%24%2c%22%3c%3e%7e%27%21%2a%28%29%5b%5d%7b%7d%7c%5c"
     "%5e%60", 302,
     "http://example.com/t1/a%20b/%3f%23%25&;:@+$,%22%3c%3e~'!*()%5b%5d%7b%7d%7c%5c%5e%60",
     None),
    ("/r1/%c3%a9", 302, "http://example.com/t1/%c3%a9", None),
    ("/r1/a+b?x%20y", 302, "http://example.com/t1/a+b?x%20y", None),
    ("/m1/a.html", 302, "http://example.com/m1/a.htm", None),
    ("/m1/a%20b.html?q=1", 302, "http://example.com/m1/a%20b.htm?q=1", None),
    ("/m1/%25.html", 302, "http://example.com/m1/%25.htm", None),
    ("/m1/a.htm", 404, None, NOT_FOUND),
    ("/x/y.gif", 301, "http://127.0.0.1/img/x/y.png", None),
    ("/x/y.gif?z", 301, "http://127.0.0.1/img/x/y.png?z", None),
    ("/m3", 410, None, GONE),
    ("/m3x/y", 410, None, GONE),
    ("/m4/abc?orig", 302, "http://example.com/m4?x=abc", None),
    ("/m4/a%3fb", 302, "http://example.com/m4?x=a?b", None),
    ("/m4/a%23b", 302, "http://example.com/m4?x=a#b", None),
    ("/m5/q", 302, "http://127.0.0.1/m5t/q#f", None),
    ("/m6/q", 500, None, ERROR_500),
    ("/m7?a", 303, "http://example.com/m7?a", None),
    ("/m8/zz", 302, "http://example.com/zz&$1", None),
    ("/rp/x", 301, "http://example.com/rp/x", None),
    ("/rt", 302, "http://example.com/rt", None),
    # in a <Directory>: at the fixup stage, the most specific section first
    ("/rd/f.txt", 302, "http://example.com/df", None),
    ("/rd/f.txt?q", 302, "http://example.com/df?q", None),
    ("/rd/missing/x", 301, "http://example.com/dmissing/x", None),
    ("/rd/m/abc", 302, "http://example.com/dm/abc", None),
    ("/rd/", 404, None, NOT_FOUND),
    ("/rd/exp", 303, "http://127.0.0.1/exp/target", None),
    ("/rd/exp/?q=1", 303, "http://127.0.0.1/exp/target?q=1", None),
    # in a <Location>
    ("/rdloc/a/b", 302, "http://example.com/la/b", None),
    ("/rdloc/b", 301, "http://example.com/lb", None),
    ("/rdloc/b/x?q=1", 301, "http://example.com/lb?q=1", None),
    ("/rdloc/c", 410, None, GONE),
    ("/rdloc/d", 302, "http://example.com/ld", None),
    ("/rdloc/e", 404, None, NOT_FOUND),
    ("/rdloc/f", 302, "http://127.0.0.1/x", None),
    ("/rdloc/g", 500, None, ERROR_500),
    ("/rdloc/h", 301, "http://127.0.0.1/a%20b?c d#e f", None),
    ("/eq/gone/x", 410, None, GONE),
]


@pytest.mark.parametrize("path, status, location, text", CASES)
def test_redirect_as_apache_answers(client, path, status, location, text):
    r = client.get(path)
    assert r.status == status
    assert r.header("Location") == location
    assert r.header("Content-Type") == "text/html; charset=iso-8859-1"
    if text is None:
        text = (SEE_OTHER if status == 303 else MOVED) % location.replace("&", "&amp;")
    assert message(r.body) == text
    assert int(r.header("Content-Length")) == len(r.body)


def test_redirect_head_has_no_body_and_no_length(client):
    r = client.request("HEAD", "/r1")
    assert r.status == 302 and r.header("Location") == "http://example.com/t1"
    assert r.body == b"" and r.header("Content-Length") is None


@pytest.mark.parametrize("path, status, location", [
    ("/r1", 302, "http://example.com/t1"),              # (a server-wide Redirect first)
    ("/m1/x.html", 302, "http://example.com/m1/x.htm"),
    ("/rd/f.txt", 405, None),                           # (a directory's: after the refusal)
    ("/rdloc/a", 405, None),
    ("/al/a.txt", 405, None),
])
def test_trace_is_refused_after_a_server_wide_redirect(client, path, status, location):
    # (TraceEnable Off: core refuses TRACE in map_to_storage, after
    # mod_alias's translate_name but before the fixups)
    r = client.request("TRACE", path)
    assert (r.status, r.header("Location")) == (status, location)
    if status == 405:
        assert r.header("Allow") == ""


def test_redirect_uses_the_sections_error_document(client):
    """(Apache: the ErrorDocument 302 of the <Directory>, a message; of the
    <Location>, a local page, which keeps the Location)"""
    r = client.get("/rd/sub/s.txt")
    assert (r.status, r.header("Location"), r.body) == (
        302, "http://example.com/inner/s.txt", b"moved text")
    r = client.get("/rd/sub")          # mod_alias's fixup comes before mod_dir's
    assert (r.status, r.header("Location")) == (302, "http://example.com/inner")
    r = client.get("/rdloc/e/x/y?k")
    assert (r.status, r.header("Location"), r.body) == (
        302, "http://example.com/le/y?k", b"<p>custom 404 doc</p>\n")
    assert r.header("Content-Type") == "text/html"


def test_alias_to_a_file(client):
    for path in ("/alf", "/alf?x=1"):
        r = client.get(path)
        assert r.status == 200 and r.body == b"the a file\n"
        assert r.header("Content-Type") == "text/plain"
    for path in ("/alf/", "/alf/x", "/alfx"):
        assert client.get(path).status == 404          # (path_info on a file)


def test_aliases_in_config_order_and_put_together_as_apache(client):
    """The first Alias that matches wins (Apache warns of the second);
    the target and the rest of the URL are put together as they are."""
    assert client.get("/ov/sub/x.txt").status == 404   # htdocs/static/sub/x.txt
    assert client.get("/pal/p.txt").body == b"pub\n"
    assert client.get("/pal2/p.txt").status == 404     # htdocs/pubp.txt


def test_context_prefix_and_root_under_an_alias(client, site):
    r = client.get("/hal/x")
    assert r.body.decode() == "/hal|%s" % (site / "htdocs" / "h")


def test_error_document_message_without_its_closing_quote(client):
    r = client.get("/eq/x")
    assert r.status == 404 and r.body == b'quoted text with "escaped" quote'
    assert r.header("Content-Type") == "text/html; charset=iso-8859-1"


# ------------------------------------------------------------ config errors

@pytest.mark.parametrize("line, words", [
    ("Redirect", "Redirect takes one, two or three arguments"),
    ("Redirect permanent", "URL to redirect to is missing"),
    ("Redirect /x", "URL to redirect to is missing"),
    ("Redirect permanent /x", "URL to redirect to is missing"),
    ("Redirect gone /x http://foo", "Redirect URL not valid for this status"),
    ("Redirect foo /x http://a", "Redirect: invalid first argument (of three)"),
    ("Redirect /x foo", "Redirect to non-URL"),
    ("Redirect 999 /x http://a", "Redirect URL not valid for this status"),
    ("Redirect 301 /x /y /z", "Redirect takes one, two or three arguments"),
    ("RedirectMatch ^/a", "RedirectMatch takes two or three arguments"),
    ("RedirectMatch permanent ^/a", "URL to redirect to is missing"),
    ("RedirectMatch ( http://a", "Regular expression could not be compiled."),
    ("RedirectMatch foo ^/a http://x", "Redirect: invalid first argument (of three)"),
    ("RedirectPermanent /x", "RedirectPermanent takes two arguments"),
    ("RedirectTemp /x y", "Redirect to non-URL"),
    ("<Location /a>\nRedirect permanent\n</Location>", "URL to redirect to is missing"),
    ("<Location /a>\nRedirectPermanent /x\n</Location>", "RedirectPermanent takes two"),
])
def test_bad_redirect_lines_name_file_and_line(tmp_path, line, words):
    """Apache's words for each (apache2 -t on the same line)."""
    path = tmp_path / "site.conf"
    path.write_text("DocumentRoot .\n\n" + line + "\n")
    with pytest.raises(ConfigError) as info:
        parse_config(str(path))
    err = info.value
    assert err.filename == str(path)
    assert err.lineno == 3 + line.count("\n") - (1 if line.startswith("<") else 0)
    assert words in err.message


@pytest.mark.parametrize("line", [
    "Redirect 404 /x", "RedirectMatch ^/a foo", "Redirect /x http://a",
    "<Directory /tmp>\nRedirect permanent /x\n</Directory>",
    "<Location /a>\nRedirect /x\n</Location>", "<Location /a>\nRedirect gone\n</Location>",
    "<Location /a>\nRedirect gone /x\n</Location>",
    "<Files x>\nRedirect /x http://a\n</Files>",
])
def test_redirect_lines_apache_accepts(tmp_path, line):
    path = tmp_path / "site.conf"
    path.write_text("DocumentRoot .\n" + line + "\n")
    Dispatcher(parse_config(str(path)))


def test_redirect_written_in_python(tmp_path):
    from fastdispatch.builder import Location
    app = Dispatcher.build(Location("/old", Redirect=("permanent", "http://example.com/new")),
                           ("Redirect", "/a", "http://example.com/b"), base_dir=str(tmp_path))
    c = Client(app)
    r = c.get("/old/x")
    assert (r.status, r.header("Location")) == (301, "http://example.com/new")
    r = c.get("/a/b?q")
    assert (r.status, r.header("Location")) == (302, "http://example.com/b/b?q")
    with pytest.raises(ConfigError):
        Dispatcher.build(("Redirect", "/a", "nourl"), base_dir=str(tmp_path))

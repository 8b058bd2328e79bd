"""Paths, handler source, the publisher and Basic credentials, over a real
socket: nothing outside the document root (or outside the <Directory> it
belongs to) is served or executed, handler modules are never served as
files, the publisher reaches nothing private, and malformed credentials
never become a user.

Handlers leave marker files naming what ran (tests/data/hardening/hsite.py):
a refused URL must leave none."""
import base64
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "data", "hardening"))
import hsite  # noqa: E402


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    s = hsite.make_site(tmp_path_factory.mktemp("hardening-paths"))
    s.server = s.start(workers=1)
    s.pid = hsite.pid_of(s.server.port)
    yield s
    s.server.stop()


@pytest.fixture(autouse=True)
def no_marks_left(site):
    site.clear_marks()
    yield


def fetch(site, path, **kw):
    return hsite.get(site.server.port, path, **kw)


# ---------------------------------------------------------------- paths

PATHS = [
    # (path as sent, status, why)
    ("/static/file.txt", 200, "control"),
    ("/static/./file.txt", 200, "dot segment inside the root (edge_dot_segments)"),
    ("/static/sub/../file.txt", 200, "dot-dot inside the root (edge_dotdot_inside)"),
    ("/static//file.txt", 200, "merged slashes (edge_double_slash)"),
    ("/static/%2e%2e/static/file.txt", 200, "encoded dot-dot that stays inside"),
    ("/../../etc/passwd", 400, "above the root: Apache 400 (edge_dotdot_etc_passwd)"),
    ("/static/../../etc/passwd", 400, "above the root"),
    ("/static/%2e%2e/%2e%2e/etc/passwd", 400, "encoded dots (edge_encoded_dotdot_etc)"),
    ("/static/%2E%2E/%2E%2E/etc/passwd", 400, "encoded dots, upper case"),
    ("/static/.%2e/.%2e/etc/passwd", 400, "half-encoded dots"),
    ("/%2e%2e/%2e%2e/etc/passwd", 400, "encoded dots from the root"),
    ("/static/..%2f..%2fetc/passwd", 404, "encoded slash: AllowEncodedSlashes Off (edge_escaped_slash)"),
    ("/static/%2fetc/passwd", 404, "encoded slash"),
    ("/static/%2F..%2F..%2Fetc%2Fpasswd", 404, "encoded slash, upper case"),
    ("/static/file.txt%00", 404, "encoded NUL (edge_escaped_nul)"),
    ("/static/file.txt%00.html", 404, "encoded NUL before an extension"),
    ("/static/%00/../file.txt", 404, "encoded NUL in a segment"),
    ("/static/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd", 404, "overlong UTF-8 dots are not dots"),
    ("/static/%c0%af..%c0%afetc%c0%afpasswd", 404, "overlong UTF-8 slash is not a slash"),
    ("/static/%e0%80%ae%e0%80%ae/etc/passwd", 404, "3-byte overlong dots"),
    ("/static/%c0%2e%c0%2e/%c0%2e%c0%2e/etc/passwd", 404, "mixed overlong"),
    ("/static/%ef%bc%8e%ef%bc%8e/etc/passwd", 404, "fullwidth dots are not dots"),
    ("/static\\..\\..\\etc\\passwd", 404, "backslashes are not separators (edge_backslash)"),
    ("/static/%5c..%5c..%5cetc%5cpasswd", 404, "encoded backslashes"),
    ("/static/..%5c..%5cfile.txt", 404, "encoded backslash dot-dot"),
    ("//etc/passwd", 404, "merged slashes stay under the root"),
    ("/etc/passwd", 404, "an absolute path is a URL path"),
    ("/static/file.txt/..", 404, "normalised to the directory, which has no index"),
    ("/static/caf%C3%A9", 404, "non-ASCII name (edge_non_ascii_path)"),
    ("/static/%ff%fe", 404, "invalid UTF-8 name"),
    ("/static/%zz", 400, "bad escape (edge_bad_escape_zz)"),
    # symbolic links
    ("/static/link-in.txt", 200, "a link that stays inside, same sections"),
    ("/static/link-in-dir/inner.txt", 200, "a directory link that stays inside"),
    ("/static/link-out.txt", 403, "a link to a file outside the root"),
    ("/static/link-rel-out.txt", 403, "a relative link climbing out of the root"),
    ("/static/link-out-dir/secret.txt", 403, "a directory link out of the root"),
    ("/static/link-etc-passwd", 403, "a link to /etc/passwd"),
    ("/static/loop", 403, "a link loop"),
    ("/static/link-private.txt", 403, "a link into <Directory private> (Require valid-user)"),
    ("/static/link-private-dir/secret.txt", 403, "a directory link into <Directory private>"),
    ("/private/secret.txt", 401, "control: the private directory asks for credentials"),
    ("/static/.htaccess", 403, ".ht* files are never served"),
    # handler source and compiled code
    ("/code/lib.py", 403, "a handler module beside the files it handles (AddHandler .psp)"),
    ("/code/LIB.PY", 404, "case variant: no such file"),
    ("/code/lib.py.", 404, "trailing dot: no such file"),
    ("/code/__pycache__/lib.cpython-311.pyc", 403, "compiled handler code"),
    ("/code/__pycache__/", 404, "a directory: no listing"),
    ("/static/stray.pyc", 403, "bytecode is never content"),
    ("/static/app-source.txt", 403, "a link from static into the handler directory"),
    ("/app/source_link.txt", 403, "a link named .txt to the handler module, same directory"),
    ("/pub/evil_link.py", 403, "a link into the publisher directory from elsewhere"),
    ("/pub/outside_link.py", 403, "a link to a module outside the root"),
]


@pytest.mark.parametrize("path, status, why", PATHS, ids=[p[0] for p in PATHS])
def test_path(site, path, status, why):
    got, _, body = fetch(site, path)
    assert got == status, "%s -> %d (%s): %r" % (path, got, why, body[:200])
    for leak in (b"outside the document root", b"root:x:0:0", b"private data",
                 b"must not leak", b"def handler", b"import"):
        assert leak not in body, "%s leaked %r" % (path, leak)
    assert site.marks_now() == [], "code ran: %s" % site.marks_now()


def test_static_python_is_content_not_code(site):
    # a .py file in a directory without Python handlers is a file like any other:
    # served, never imported
    status, _, body = fetch(site, "/static/evil.py")
    assert status == 200 and body.startswith(b"# A .py file")
    assert site.marks_now() == []


def test_handler_urls_run_the_handler_not_serve_source(site):
    assert fetch(site, "/app/app.py")[2] == b"app app.py\n"
    assert fetch(site, "/code/page.psp")[2] == b"lib handler\n"
    assert fetch(site, "/pub/pubmod.py")[2] == b"pubmod index"


def test_refusals_are_logged(site):
    fetch(site, "/static/link-out.txt")
    fetch(site, "/code/lib.py")
    assert site.wait_for_error_log(r"AH00037: Symbolic link not allowed.*link-out\.txt")
    assert site.wait_for_error_log(r"Python code is never served as a file")


# ---------------------------------------------------------------- publisher

PUB = "/pub/pubmod.py"
PUBLISHER = [
    # (path, status, why) -- every refusal is 404 (handlers.rst), nothing runs
    ("/_secret", 404, "a private function"),
    ("/_private", 404, "a private value"),
    ("/__dict__", 404, "the module's namespace"),
    ("/__builtins__", 404, "the builtins"),
    ("/__builtins__/eval?source=1", 404, "eval through the builtins"),
    ("/__loader__", 404, "the loader"),
    ("/__spec__/origin", 404, "the module spec"),
    ("/os", 404, "an imported module"),
    ("/os/system?command=touch+x", 404, "a function of an imported module"),
    ("/sys/modules", 404, "sys.modules"),
    ("/functools", 404, "another module"),
    ("/join?a=/etc&p=passwd", 404, "an imported function"),
    ("/nuke?path=/tmp/x", 404, "an imported function under another name"),
    ("/mylen", 404, "a builtin bound to a module name"),
    ("/myeval?source=1", 404, "eval bound to a module name"),
    ("/partial_join", 404, "a functools.partial of an imported function"),
    ("/public/__globals__", 404, "a function's globals"),
    ("/public/__code__", 404, "a function's code"),
    ("/public/__defaults__", 404, "a function's defaults"),
    ("/public/__call__", 404, "a function's call slot"),
    ("/public.__globals__", 404, "dotted form"),
    ("/public/__globals__/os/system", 404, "the CVE-2005-0088 shape"),
    ("/public/func_globals", 404, "mod_python 2's name for it"),
    ("/thing/__class__", 404, "an instance's class"),
    ("/thing/__dict__", 404, "an instance's namespace"),
    ("/thing/__init__", 404, "an instance's constructor"),
    ("/thing/__call__", 404, "dunder call"),
    ("/thing/_private_method", 404, "a private method"),
    ("/thing/method/__func__", 404, "a bound method's function"),
    ("/thing/method/__self__", 404, "a bound method's instance"),
    ("/thing/method/__globals__", 404, "a bound method's globals"),
    ("/thing.__class__.__init__.__globals__", 404, "dotted chain to the globals"),
    ("/thing/__class__/__subclasses__", 404, "subclasses walk"),
    ("/Klass/method", 404, "a class is not a container"),
    ("/Klass/__subclasses__", 404, "subclasses"),
    ("/Klass/__init__/__globals__", 404, "through the class"),
    ("/logger/disable?level=50", 404, "a method of a library object"),
    ("/logger/manager/loggerDict", 404, "into a library object"),
    ("/mydict/clear", 404, "a builtin method of a dict"),
    ("/mydict/__class__", 404, "a dict's class"),
    ("/text/upper", 404, "a builtin method of a str"),
    ("/text/__class__/__base__/__subclasses__", 404, "the classic sandbox escape"),
    ("/SECRET_TOKEN/__len__", 404, "into a str"),
    ("/%5f_dict__", 404, "an encoded underscore is still one"),
    ("/thing/./__class__", 404, "dot segments do not help"),
    ("/thing/%2e/__class__", 404, "encoded dot segments do not help"),
    ("/thing%2f__class__", 404, "encoded slash: refused by the URL layer"),
    ("/nosuch", 404, "a missing name"),
    ("/protected/__globals__", 401, "a guarded function: its __auth__ first"),
]


@pytest.mark.parametrize("path, status, why", PUBLISHER, ids=[p[0] for p in PUBLISHER])
def test_publisher_refuses(site, path, status, why):
    got, _, body = fetch(site, PUB + path)
    assert got == status, "%s -> %d (%s): %r" % (path, got, why, body[:200])
    assert site.marks_now() == [], "code ran for %s: %s" % (path, site.marks_now())


def test_publisher_controls(site):
    assert fetch(site, PUB + "/public?what=x")[2] == b"public x"
    assert site.marks_now() == ["pub-public"]
    site.clear_marks()
    status, _, body = fetch(site, PUB + "/Klass")      # rendered, never instantiated
    assert status == 200 and b"Klass" in body
    assert site.marks_now() == []
    assert fetch(site, PUB + "/thing/method")[2] == b"method"
    assert site.marks_now() == ["pub-klass_method"]


# ---------------------------------------------------------------- auth

def b64(raw):
    return base64.b64encode(raw).decode("ascii")


GOOD = "Basic " + b64(b"spam:eggs")
MALFORMED = [
    # (Authorization value, or a list of values for repeated fields)
    "Basic !!!not-base64!!!",
    "Basic " + b64(b"spameggs"),                 # no colon
    "Basic " + b64(b"spam:eggs") + "=",          # bad padding
    "Basic " + b64(b"spam:eggs")[:-1],           # truncated
    "Basic " + b64(b"spam:egg").rstrip("="),     # padding missing
    "Basic",
    "Basic ",
    "Basic\t",
    "Basicc3BhbTplZ2dz",
    "Bearer " + b64(b"spam:eggs"),
    'Digest username="spam", realm="Hardening", response="x"',
    "NTLM TlRMTVNTUAABAAAAB4IIAAAAAAAAAAAAAAAAAAAAAAA=",
    "Basic c3Bh\u00e9bTplZ2dz",                  # a non-ASCII byte in the token
    "B\u00e4sic " + b64(b"spam:eggs"),           # a non-ASCII scheme
    "Basic " + "A" * 8000,                       # huge, valid base64, no colon
    "Basic " + "=" * 4000,                       # huge, padding only
    "Basic " + b64(b"spam:eggs") + " extra",
    "Basic " + b64(b"spam:eggs") + "," + b64(b"x:y"),
    [GOOD, "Basic " + b64(b"other:pw")],         # two fields (merged: not base64)
]


def _headers(value):
    return [("Authorization", v) for v in (value if isinstance(value, list) else [value])]


@pytest.mark.parametrize("value", MALFORMED, ids=range(len(MALFORMED)))
def test_malformed_credentials_are_no_user(site, value):
    status, hdrs, body = fetch(site, "/auth/whoami.py", headers=_headers(value))
    assert status == 401, (status, body[:200])
    assert b"user=" not in body
    assert hdrs.get("www-authenticate") == 'Basic realm="Hardening"'
    assert site.marks_now() == []


def _pub_params():
    # the publisher's __auth__ decodes with the same strict _auth as req does
    for i, value in enumerate(MALFORMED):
        yield pytest.param(value, id=str(i))


@pytest.mark.parametrize("value", list(_pub_params()))
def test_malformed_credentials_publisher_auth(site, value):
    # mod_python's publisher answers undecodable credentials with 400
    status, _, _ = fetch(site, PUB + "/protected", headers=_headers(value))
    assert status in (400, 401)
    assert site.marks_now() == [], "the guarded function ran"


def test_credentials_over_the_field_limit(site):
    status, _, _ = fetch(site, "/auth/whoami.py",
                         headers=[("Authorization", "Basic " + "A" * 9000)])
    assert status == 400                        # LimitRequestFieldSize


def test_credentials_control_and_worker_alive(site):
    status, _, body = fetch(site, "/auth/whoami.py", headers=[("Authorization", GOOD)])
    assert (status, body) == (200, b"user='spam'\n")
    assert fetch(site, PUB + "/protected", headers=[("Authorization", GOOD)])[2] == b"protected"
    # everything above ran in the worker the module started with
    assert hsite.pid_of(site.server.port) == site.pid
    assert "Traceback" not in site.error_log()

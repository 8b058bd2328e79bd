"""The publisher handler (``PythonHandler mod_python.publisher``) end to end,
against a real ``fastdispatch serve`` over sockets: handlers.rst's examples,
argument matching, rendering, every ``__auth__``/``__access__`` variant, the
refusal rules, form data and limits, a 50 MB upload with the worker's memory
measured, the tutorial's feedback form delivering real mail to an SMTP sink,
and the rest of the handler API the issue lists."""
import base64
import email
import hashlib
import json
import os
import re
import socket
import time

import pytest

from serverproc import ROOT, Conn, ServerProcess, basic, copy_site, request


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    d = tmp_path_factory.mktemp("publisher")
    conf = copy_site("publisher", d)
    return d, conf


@pytest.fixture(scope="module")
def server(site):
    _, conf = site
    srv = ServerProcess(["serve", "--config", str(conf), "--port", "0", "--workers", "1"])
    yield srv
    srv.stop()


def get(server, path, **kw):
    return request(server.port, "GET", path, **kw)


def post(server, path, body, ctype="application/x-www-form-urlencoded", headers=(), **kw):
    if isinstance(body, str):
        body = body.encode()
    return request(server.port, "POST", path, body=body,
                   headers=[("Content-Type", ctype)] + list(headers), **kw)


def multipart(parts, boundary="----fdBoundary7MA4YWxk"):
    """parts: (name, value) or (name, filename, content_type, data)."""
    out = []
    for p in parts:
        out.append(b"--" + boundary.encode() + b"\r\n")
        if len(p) == 2:
            name, value = p
            out.append(b'Content-Disposition: form-data; name="%s"\r\n\r\n' % name.encode())
            out.append(value.encode() if isinstance(value, str) else value)
        else:
            name, filename, ctype, data = p
            out.append(b'Content-Disposition: form-data; name="%s"; filename="%s"\r\n'
                       % (name.encode(), filename.encode()))
            out.append(b"Content-Type: %s\r\n\r\n" % ctype.encode())
            out.append(data)
        out.append(b"\r\n")
    out.append(b"--" + boundary.encode() + b"--\r\n")
    return b"".join(out), "multipart/form-data; boundary=" + boundary


NOT_FOUND = b"<title>404 Not Found</title>"


# ------------------------------------------------------------ handlers.rst examples

def test_intro_say_default(server):
    r = get(server, "/pub/hello.py/say")
    assert r.status == 200
    assert r.body == b"I am saying NOTHING"
    assert r.header("Content-Type") == "text/plain"


def test_intro_say_with_argument(server):
    r = get(server, "/pub/hello.py/say?what=hello")
    assert (r.status, r.body) == (200, b"I am saying hello")


@pytest.mark.parametrize("path, body", [
    ("/docs/index/index", b"We are in index()"),
    ("/docs/index/", b"We are in index()"),
    ("/docs/index/hello", b"We are in hello()"),
    ("/docs/hello", b"We are in hello()"),
    ("/docs/", b"We are in index()"),          # empty path: module and object default
    ("/docs/index", b"We are in index()"),
    ("/docs/index.py/hello", b"We are in hello()"),
])
def test_traversal_examples(server, path, body):
    r = get(server, path)
    assert (r.status, r.body) == (200, body)


def test_traversal_spam_is_404(server):
    r = get(server, "/docs/spam")
    assert r.status == 404
    assert NOT_FOUND in r.body


def test_module_default_index_and_object_default_index(server):
    assert get(server, "/pub/render.py").body == b"index of render"
    assert get(server, "/pub/render.py/").body == b"index of render"


def test_missing_module_file_is_404(server):
    assert get(server, "/pub/nosuch.py/email").status == 404


def test_handler_extension_is_dropped(server):
    # AddHandler mod_python .pub: the URL's page.pub is the module page.py
    r = get(server, "/ext/page.pub")
    assert (r.status, r.body) == (200, b"page.py index")
    assert get(server, "/ext/page.pub/index").body == b"page.py index"
    # page.py is the module: its source is never served (the publisher is
    # bound to .pub here), as SECURITY.md says
    assert get(server, "/ext/page.py").status == 403
    assert get(server, "/ext/other.pub").status == 404


def test_dotted_and_slashed_paths_traverse_alike(server):
    assert get(server, "/pub/render.py/thing/x").body == b"thing-x"
    assert get(server, "/pub/render.py/thing.x").body == b"thing-x"
    assert get(server, "/pub/render.py/thing//x").body == b"thing-x"


# ------------------------------------------------------------ argument matching

def test_req_is_passed_only_when_accepted(server):
    r = get(server, "/pub/args.py/noreq?a=1")
    assert (r.status, r.body) == (200, b"a=1 b=x")
    assert get(server, "/pub/args.py/withreq?a=2").body == b"Request 2"


def test_unmatched_fields_are_dropped(server):
    r = get(server, "/pub/args.py/noreq?a=1&c=3&zzz=4")
    assert (r.status, r.body) == (200, b"a=1 b=x")


def test_kwargs_receive_unmatched_fields(server):
    r = get(server, "/pub/args.py/kwargs?a=1&b=2&b=3&c=")
    assert r.status == 200
    assert json.loads(r.body) == {"a": "1", "kw": {"b": ["2", "3"], "c": ""}}


def test_keyword_only_arguments_match(server):
    assert get(server, "/pub/args.py/kwonly?name=k").body == b"name=k"


def test_a_field_named_req_never_replaces_the_request(server):
    assert get(server, "/pub/args.py/withreq?a=2&req=zz").body == b"Request 2"
    r = get(server, "/pub/args.py/kwargs?req=zz")
    assert json.loads(r.body) == {"a": None, "kw": {}}


def test_missing_required_argument_is_the_python_error(server):
    # what mod_python gives (PythonDebug On): a 500 with the TypeError
    r = get(server, "/pub/args.py/required?name=x")
    assert r.status == 500
    assert b"Mod_python error: &quot;PythonHandler mod_python.publisher&quot;" in r.body \
        or b'Mod_python error: "PythonHandler mod_python.publisher"' in r.body
    assert (b"TypeError: required() missing 2 required positional arguments: "
            b"&#x27;email&#x27; and &#x27;comment&#x27;") in r.body


def test_missing_argument_without_debug_is_a_bare_500(server):
    r = get(server, "/ext/page.pub/fail")
    assert r.status == 500
    assert b"<title>500 Internal Server Error</title>" in r.body
    assert b"Traceback" not in r.body


def test_repeated_fields_are_lists(server):
    assert json.loads(get(server, "/pub/args.py/repeated?x=1&x=2&x=").body) == ["1", "2", ""]
    assert json.loads(get(server, "/pub/args.py/repeated?x=1").body) == "1"


def test_callable_instance_and_its_methods(server):
    assert get(server, "/pub/args.py/greeter?who=me").body == b"called me"
    assert get(server, "/pub/args.py/greeter/greet?who=me").body == b"hello, me"


def test_a_returned_function_of_the_module_is_called_in_turn(server):
    assert get(server, "/pub/args.py/returns_function?a=q").body == b"a=q b=x"


def test_a_returned_builtin_is_rendered_not_called(server):
    assert get(server, "/pub/args.py/returns_builtin").body == b"<built-in function len>"


# ------------------------------------------------------------ rendering

def test_non_callables_are_rendered_as_their_string(server):
    assert get(server, "/pub/render.py/greeting").body == b"hello attribute"
    assert get(server, "/pub/render.py/number").body == b"42"
    assert get(server, "/pub/render.py/mapping").body == b"{'k': 'v'}"
    assert get(server, "/pub/render.py/thing").body == b"a Thing"


def test_a_class_is_rendered_as_its_string(server):
    r = get(server, "/pub/render.py/Thing")
    assert r.status == 200
    assert re.fullmatch(rb"<class '[\w.]+\.Thing'>", r.body)


@pytest.mark.parametrize("name, ctype, body", [
    ("text", "text/plain", b"plain"),
    ("html", "text/html", b"<html><body>hi</body></HTML>  \n"),
    ("html_early", "text/plain", b"<html></html>" + b"x" * 200),   # only the last 100 chars
    ("unicode", "text/plain", "caf\u00e9 \u20ac".encode("utf-8")),
    ("raw", "text/plain", b"raw \xff bytes"),                     # bytes are the body
    ("raw_html", "text/html", b"<HTML>\xe9</html>"),
    ("integer", "text/plain", b"123"),
    ("a_dict", "text/plain", b"{'a': 1}"),
    ("own_type", "application/json", b'{"a": 1}'),
    ("own_type_same", "text/x-python", b"<html></html>"),
    ("headers", "text/plain", b"with header"),
])
def test_return_value_rendering_and_content_type(server, name, ctype, body):
    r = get(server, "/pub/render.py/" + name)
    assert r.status == 200
    assert r.header("Content-Type") == ctype
    assert r.body == body
    assert r.header("Content-Length") == str(len(body))


def test_none_publishes_nothing_with_the_files_type(server):
    r = get(server, "/pub/render.py/none")
    assert r.status == 200
    assert r.body == b""
    assert r.header("Content-Length") == "0"
    assert r.header("Content-Type") == "text/x-python"   # as mod_python: mod_mime's


def test_written_then_returned(server):
    r = get(server, "/pub/render.py/writes")
    assert r.body == b"written;returned"


def test_headers_out_reach_the_client(server):
    assert get(server, "/pub/render.py/headers").header("X-Pub") == "yes"


def test_head_has_the_get_length_and_no_body(server):
    g = get(server, "/pub/args.py/greeter/greet?who=me")
    h = request(server.port, "HEAD", "/pub/args.py/greeter/greet?who=me")
    assert h.status == 200
    assert h.body == b""
    assert h.header("Content-Length") == g.header("Content-Length") == str(len(g.body))
    assert h.header("Content-Type") == "text/plain"


@pytest.mark.parametrize("method", ["PUT", "DELETE", "OPTIONS", "PATCH"])
def test_other_methods_are_405_with_allow(server, method):
    r = request(server.port, method, "/pub/hello.py/say")
    assert r.status == 405
    assert r.header("Allow") == "POST,HEAD,GET"     # Apache 2.4.71's order


def test_server_return_from_a_published_function(server):
    assert get(server, "/pub/render.py/raises_forbidden").status == 403


def test_redirect(server):
    r = get(server, "/pub/render.py/redirect")
    assert r.status == 302
    assert r.header("Location") == "/elsewhere?a=1&b=<x>"
    # the location is escaped in the page (mod_python writes it raw)
    assert r.body == (b'<p>The document has moved <a href="/elsewhere?a=1&amp;b=&lt;x&gt;">'
                      b"here</a></p>\n")
    r = get(server, "/pub/render.py/redirect_permanent")
    assert (r.status, r.header("Location"), r.body) == (301, "http://example.com/", b"gone")
    h = request(server.port, "HEAD", "/pub/render.py/redirect")
    assert (h.status, h.body) == (302, b"")


# ------------------------------------------------------------ authentication

def B(user, password):
    return [basic(user, password)]


@pytest.mark.parametrize("module", ["auth_callable", "auth_dict"])
def test_docs_auth_examples(server, module):
    path = "/pub/%s.py/hello" % module
    r = get(server, path)
    assert r.status == 401
    assert r.header("WWW-Authenticate") == 'Basic realm="Members only"'
    r = get(server, path, headers=B("eggs", "spam"))
    assert (r.status, r.body) == (200, b"hello")
    r = get(server, path, headers=B("joe", "eoj"))       # authenticated, no access
    assert r.status == 403
    r = get(server, path, headers=B("eggs", "wrong"))
    assert r.status == 401
    # mod_python writes the refusal's challenge with spaces around "="
    assert r.header("WWW-Authenticate") == 'Basic realm = "Members only"'


@pytest.mark.parametrize("value", ["Basic !!!!", "Basic " + base64.b64encode(b"nocolon").decode(),
                                   "Bearer abc", "Basic " + base64.b64encode(b"\xff:x").decode()])
def test_undecodable_credentials_are_400(server, value):
    r = get(server, "/pub/auth_callable.py/hello", headers=[("Authorization", value)])
    assert r.status == 400


def test_constant_auth_and_access(server):
    r = get(server, "/pub/auth_const.py/hello")
    assert r.status == 401                                # true, but a user is needed
    assert get(server, "/pub/auth_const.py/hello", headers=B("a", "b")).body == b"hello True"


def test_auth_checked_at_every_traversal_step(server):
    # module __auth__ = 1, then the instance's class says __auth__ = 0
    r = get(server, "/pub/auth_const.py/closed/hello", headers=B("a", "b"))
    assert r.status == 401
    assert r.header("WWW-Authenticate") == 'Basic realm = "unknown"'
    # module lets the user in, the instance's __access__ = 0 does not
    assert get(server, "/pub/auth_const.py/public/hello", headers=B("a", "b")).status == 403


def test_module_guards_from_a_module_getattr(server):
    # PEP 562: a module's __getattr__ answers for __auth__ and __auth_realm__
    r = get(server, "/pub/auth_getattr.py/hello")
    assert r.status == 401
    assert r.header("WWW-Authenticate") == 'Basic realm="Lazy realm"'
    assert get(server, "/pub/auth_getattr.py/hello", headers=B("spam", "x")).status == 401
    r = get(server, "/pub/auth_getattr.py/hello", headers=B("spam", "eggs"))
    assert (r.status, r.body) == (200, b"hello lazy")


def test_auth_defined_inside_the_function(server):
    r = get(server, "/pub/auth_func.py/sensitive")
    assert r.status == 401
    assert r.header("WWW-Authenticate") == 'Basic realm="unknown"'
    r = get(server, "/pub/auth_func.py/sensitive", headers=B("spam", "eggs"))
    assert (r.status, r.body) == (200, b"sensitive information")
    assert get(server, "/pub/auth_func.py/sensitive", headers=B("spam", "x")).status == 401


def test_auth_realm_and_constant_inside_the_function(server):
    r = get(server, "/pub/auth_func.py/realm_const")
    assert r.header("WWW-Authenticate") == 'Basic realm="Function realm"'
    r = get(server, "/pub/auth_func.py/realm_const", headers=B("a", "b"))
    assert r.status == 401
    assert r.header("WWW-Authenticate") == 'Basic realm = "Function realm"'
    assert get(server, "/pub/auth_func.py/open_const").status == 401
    assert get(server, "/pub/auth_func.py/open_const", headers=B("a", "b")).status == 200


def test_access_defined_inside_the_function(server):
    assert get(server, "/pub/auth_func.py/access_func", headers=B("eggs", "x")).status == 200
    assert get(server, "/pub/auth_func.py/access_func", headers=B("joe", "x")).status == 403
    assert get(server, "/pub/auth_func.py/access_func").status == 403    # user None
    assert get(server, "/pub/auth_func.py/access_const", headers=B("eggs", "x")).status == 403
    assert get(server, "/pub/auth_func.py/access_list", headers=B("eggs", "x")).status == 200
    assert get(server, "/pub/auth_func.py/access_list", headers=B("joe", "x")).status == 403


def test_dict_auth_inside_the_function(server):
    # mod_python's docs say this does not work there; fastdispatch reads it
    assert get(server, "/pub/auth_func.py/auth_dict", headers=B("eggs", "spam")).status == 200
    assert get(server, "/pub/auth_func.py/auth_dict", headers=B("eggs", "x")).status == 401


def test_unreadable_auth_inside_a_function_fails_closed(server):
    r = get(server, "/pub/auth_func.py/unreadable", headers=B("a", "b"))
    assert r.status == 500
    assert b"never" not in r.body
    assert b"GuardError" in r.body


def test_auth_on_an_instance_with_its_realm(server):
    r = get(server, "/pub/auth_func.py/page/view")
    assert r.status == 401
    assert r.header("WWW-Authenticate") == 'Basic realm="Page realm"'
    assert get(server, "/pub/auth_func.py/page/view", headers=B("page", "pw")).body \
        == b"page view"
    assert get(server, "/pub/auth_func.py/page/view", headers=B("page", "x")).status == 401
    # a method of the instance with its own __access__
    assert get(server, "/pub/auth_func.py/page/guarded", headers=B("page", "pw")).status == 403


# ------------------------------------------------------------ refusals

@pytest.mark.parametrize("path, why", [
    ("/pub/render.py/_private", "it starts with an underscore"),
    ("/pub/refuse.py/__dict__", "it starts with an underscore"),
    ("/pub/refuse.py/__builtins__", "it starts with an underscore"),
    ("/pub/refuse.py/index/__globals__", "it starts with an underscore"),
    ("/pub/refuse.py/mine/ok/__func__", "it starts with an underscore"),
    ("/pub/refuse.py/mine/__class__", "it starts with an underscore"),
    ("/pub/refuse.py/os", "it is a module"),
    ("/pub/refuse.py/os/system", "it is a module"),
    ("/pub/refuse.py/join?a=/etc&p=passwd", "it is a function imported from elsewhere"),
    ("/pub/refuse.py/rmtree", "it is a function imported from elsewhere"),
    ("/pub/refuse.py/JSONDecoder", "it is a class imported from elsewhere"),
    ("/pub/refuse.py/builtin_len", "it is a builtin"),
    ("/pub/refuse.py/partial_join?b=passwd", "it is a callable not defined in the published"),
    ("/pub/refuse.py/text/upper", "a str is not a traversable object"),
    ("/pub/refuse.py/table/clear", "a dict is not a traversable object"),
    ("/pub/refuse.py/logger/disable?level=50", "a Logger is not a traversable object"),
    ("/pub/refuse.py/decoder/decode?s=1", "a JSONDecoder is not a traversable object"),
    ("/pub/refuse.py/mine/cfg/decode?s=1", "a JSONDecoder is not a traversable object"),
    ("/pub/refuse.py/child/decode?s=1", "it is a method not defined in the published"),
    ("/pub/refuse.py/Mine/ok", "a type is not a traversable object"),
    ("/pub/refuse.py/index/func_globals", "a function is not a traversable object"),
    ("/pub/refuse.py/mine/ok/im_func", "a method is not a traversable object"),
])
def test_refused_paths_are_404_and_logged(server, path, why):
    r = get(server, path)
    assert r.status == 404
    assert NOT_FOUND in r.body
    assert server.wait_for_log(re.escape(why)), server.log[-2000:]


def test_refused_function_is_never_called(server, site):
    victim = site[0] / "victim"
    victim.mkdir()
    r = get(server, "/pub/refuse.py/rmtree?path=%s" % victim)
    assert r.status == 404
    assert victim.is_dir()


@pytest.mark.parametrize("path, body", [
    ("/pub/refuse.py/mine/ok", b"mine ok"),
    ("/pub/refuse.py/mine/label", b"mine"),
    ("/pub/refuse.py/child/own", b"own method"),
    ("/pub/refuse.py/logger", b"<Logger refuse (WARNING)>"),
])
def test_what_the_module_defines_is_published(server, path, body):
    r = get(server, path)
    assert (r.status, r.body) == (200, body)


def test_not_found_attribute_is_404(server):
    assert get(server, "/pub/render.py/nosuch").status == 404
    assert get(server, "/pub/render.py/thing/nosuch").status == 404


# ------------------------------------------------------------ form data

def test_get_fields_are_str_and_getlist_works(server):
    r = get(server, "/pub/args.py/fields?a=1&a=2&b=%C3%A9&c")
    out = json.loads(r.body)
    assert out["keys"] == ["a", "b", "c"]
    assert out["getlist"] == {"a": ["1", "2"], "b": ["\u00e9"], "c": [""]}
    assert out["getfirst"] == {"a": "1", "b": "\u00e9", "c": ""}
    assert out["types"] == ["StringField", "str"]


def test_post_urlencoded_fields(server):
    r = post(server, "/pub/args.py/fields?q=0",
             "a=x&a=y&%C3%A9=%C3%BC&empty=&plus=a+b")
    out = json.loads(r.body)
    assert out["keys"] == ["q", "a", "\u00e9", "empty", "plus"]
    assert out["getlist"]["a"] == ["x", "y"]
    assert out["getfirst"]["\u00e9"] == "\u00fc"
    assert out["getfirst"]["plus"] == "a b"


def test_post_matches_arguments(server):
    r = post(server, "/pub/args.py/required", "name=n&email=e&comment=c")
    assert (r.status, r.body) == (200, b"ok")


def test_post_multipart_fields(server):
    body, ctype = multipart([("name", "Joe"), ("email", "j@x"), ("comment", "Hi \u00e9")])
    r = post(server, "/pub/args.py/fields", body, ctype)
    out = json.loads(r.body)
    assert out["getfirst"] == {"name": "Joe", "email": "j@x", "comment": "Hi \u00e9"}


def test_post_with_chunked_body(server):
    with Conn(server.port) as c:
        c.send(b"POST /pub/args.py/repeated HTTP/1.1\r\nHost: x\r\n"
               b"Content-Type: application/x-www-form-urlencoded\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n3\r\nx=1\r\n4\r\n&x=2\r\n0\r\n\r\n")
        r = c.read_response()
    assert json.loads(r.body) == ["1", "2"]


def test_post_of_another_type_is_501(server):
    r = post(server, "/pub/args.py/fields", b"{}", "application/json")
    assert r.status == 501


def test_upload_fields(server):
    body, ctype = multipart([("note", "n1"),
                             ("upload", "a b.bin", "application/octet-stream",
                              b"\x00\r\n--not-the-boundary\r\n\xff")])
    r = post(server, "/upload/files.py/save", body, ctype)
    out = json.loads(r.body)
    data = b"\x00\r\n--not-the-boundary\r\n\xff"
    assert out["filename"] == "a b.bin"
    assert out["type"] == "application/octet-stream"
    assert out["disposition"] == "form-data"
    assert out["size"] == len(data)
    assert out["sha256"] == hashlib.sha256(data).hexdigest()
    assert out["note"] == "n1"


# ------------------------------------------------------------ limits

def test_limit_request_body_is_413(server):
    r = post(server, "/limits/form.py/echo", "a=" + "1" * 5000)
    assert r.status == 413


def test_limit_request_body_chunked_is_413(server):
    with Conn(server.port) as c:
        c.send(b"POST /limits/form.py/echo HTTP/1.1\r\nHost: x\r\n"
               b"Content-Type: application/x-www-form-urlencoded\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n")
        for _ in range(3):
            c.send(b"800\r\n" + b"a" * 0x800 + b"\r\n")
        c.send(b"0\r\n\r\n")
        r = c.read_response()
    assert r.status == 413


def test_field_count_limit_is_413(server):
    assert post(server, "/limits/form.py/echo", "a=1&b=2").body == b"a=1,b=2"
    r = post(server, "/limits/form.py/echo", "&".join("f%d=1" % i for i in range(6)))
    assert r.status == 413
    assert get(server, "/limits/form.py/echo?" +
               "&".join("f%d=1" % i for i in range(6))).status == 413


def test_memory_limit_is_413(server):
    r = post(server, "/limits/form.py/echo", "a=" + "1" * 2000)
    assert r.status == 413


# ------------------------------------------------------------ 50 MB upload, memory bounded

def _worker_pid(server):
    master = server.proc.pid
    try:
        with open("/proc/%d/task/%d/children" % (master, master)) as f:
            kids = [int(p) for p in f.read().split()]
    except OSError:
        kids = []
        for p in os.listdir("/proc"):
            if p.isdigit():
                try:
                    with open("/proc/%s/stat" % p) as f:
                        if int(f.read().rsplit(")", 1)[1].split()[1]) == master:
                            kids.append(int(p))
                except (OSError, ValueError, IndexError):
                    pass
    assert len(kids) == 1, kids
    return kids[0]


def _status_kb(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def test_50mb_upload_keeps_worker_memory_bounded(server, capsys):
    size = 50 * 1024 * 1024
    get(server, "/upload/files.py/rss")                   # warm: module imported
    pid = _worker_pid(server)
    rss_before = _status_kb(pid, "VmRSS")
    boundary = "----fd50MBboundary"
    head = (b"--%s\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"big.bin\"\r\n"
            b"Content-Type: application/octet-stream\r\n\r\n" % boundary.encode())
    tail = b"\r\n--%s\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nbig\r\n--%s--\r\n" \
        % (boundary.encode(), boundary.encode())
    block = hashlib.sha256(b"seed").digest() * 2048      # 64 KiB, not compressible into RSS
    h = hashlib.sha256()
    peak_sampled = rss_before
    with Conn(server.port, timeout=60) as c:
        c.send(b"POST /upload/files.py/save HTTP/1.1\r\nHost: x\r\n"
               b"Content-Type: multipart/form-data; boundary=%s\r\n"
               b"Content-Length: %d\r\n\r\n" % (boundary.encode(), len(head) + size + len(tail)))
        c.send(head)
        sent = 0
        while sent < size:
            piece = block[:min(len(block), size - sent)]
            c.send(piece)
            h.update(piece)
            sent += len(piece)
            if sent % (4 << 20) == 0:
                peak_sampled = max(peak_sampled, _status_kb(pid, "VmRSS"))
        c.send(tail)
        r = c.read_response()
    assert r.status == 200, r.body[:2000]
    out = json.loads(r.body)
    assert out["size"] == size
    assert out["sha256"] == h.hexdigest()
    assert out["note"] == "big"
    assert out["on_disk"] is True
    hwm = _status_kb(pid, "VmHWM")                        # the worker's peak RSS
    growth_mb = (max(hwm, peak_sampled) - rss_before) / 1024
    with capsys.disabled():
        print("\n50 MB upload: worker RSS before %.1f MB, peak %.1f MB (+%.1f MB), "
              "sampled peak %.1f MB" % (rss_before / 1024, hwm / 1024, growth_mb,
                                        peak_sampled / 1024))
    assert growth_mb < 16, "worker grew by %.1f MB during a 50 MB upload" % growth_mb


# ------------------------------------------------------------ the rest of the handler API

def test_add_common_vars_are_apaches(server):
    r = get(server, "/api/env?a=1", headers=[("Authorization", "Basic eDp5"), ("X-Foo", "bar"),
                                             ("Content-Type", "text/plain"), ("Proxy", "p"),
                                             ("X_Under", "1")])
    env = dict(line.split("=", 1) for line in r.text.split("\n") if "=" in line)
    assert env["HTTP_X_FOO"] == "bar"
    assert env["CONTENT_TYPE"] == "text/plain"
    for absent in ("HTTP_AUTHORIZATION", "HTTP_CONTENT_TYPE", "HTTP_PROXY", "HTTP_X_UNDER"):
        assert absent not in env
    assert env["REMOTE_ADDR"] == "127.0.0.1"
    assert env["SERVER_SIGNATURE"].startswith("<address>")
    for key in ("SERVER_SOFTWARE", "SERVER_NAME", "SERVER_ADDR", "SERVER_PORT",
                "DOCUMENT_ROOT", "REQUEST_SCHEME", "CONTEXT_PREFIX", "CONTEXT_DOCUMENT_ROOT",
                "SERVER_ADMIN", "SCRIPT_FILENAME", "REMOTE_PORT", "PATH"):
        assert key in env


def test_add_cgi_vars(server):
    r = get(server, "/api/cgi/a%20b/./c?x=1")
    env = dict(line.split("=", 1) for line in r.text.split("\n") if "=" in line)
    assert env["GATEWAY_INTERFACE"] == "CGI/1.1"
    assert env["REQUEST_METHOD"] == "GET"
    assert env["QUERY_STRING"] == "x=1"
    assert env["REQUEST_URI"] == "/api/cgi/a b/c"       # as mod_python 3.5 gives it
    assert env["SCRIPT_NAME"] == "/api/cgi"
    assert env["PATH_INFO"] == "/a b/c"


def test_internal_redirect(server):
    r = get(server, "/api/redir")
    assert (r.status, r.body) == (200, b"target args=x=1 prev=/api/redir")


def test_add_handler_runs_in_the_same_phase(server):
    assert get(server, "/api/addh").body == b"first;second;"


def test_get_remote_host(server):
    assert get(server, "/api/host").body == b"'127.0.0.1' '127.0.0.1' ('127.0.0.1', 1)"


def test_allow_methods_make_the_allow_header(server):
    r = get(server, "/api/allow405")
    assert r.status == 405
    assert r.header("Allow") == "HEAD,PUT,GET"      # Apache 2.4.71's order


def test_log_error(server):
    assert get(server, "/api/log").body == b"logged"
    # as mod_python's lines on Apache 2.4.71: no module name
    assert server.wait_for_log(r"\[:warn\].*hello from apache\.log_error")
    assert server.wait_for_log(r"\[:error\].*\[client 127\.0\.0\.1:\d+\] "
                               r"hello from req\.log_error")


def test_import_module(server):
    assert re.fullmatch(rb"imported \S+ 7", get(server, "/api/imp").body)


# ------------------------------------------------------------ the tutorial's feedback form

class _Sink:
    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture(scope="module")
def smtp_sink():
    controller_mod = pytest.importorskip("aiosmtpd.controller")
    sink = _Sink()
    for _ in range(5):
        port = _free_port()
        controller = controller_mod.Controller(sink, hostname="127.0.0.1", port=port)
        try:
            controller.start()
            break
        except Exception:
            continue
    else:
        pytest.fail("could not start the SMTP sink")
    sink.port = port
    yield sink
    controller.stop()


@pytest.fixture(scope="module")
def tutorial(tmp_path_factory, smtp_sink):
    """The tutorial's own site.conf and files, unchanged, served with one
    test-only addition: a PythonImport that points smtplib's default port
    (25) at the sink, so form.py's ``smtplib.SMTP("localhost")`` reaches it."""
    d = tmp_path_factory.mktemp("tutorial")
    shim = d / "smtp_sink_port.py"
    shim.write_text("import smtplib\nsmtplib.SMTP.default_port = %d\n" % smtp_sink.port)
    conf = d / "site.conf"
    conf.write_text("Include %s\nPythonImport %s main_interpreter\n"
                    % (os.path.join(ROOT, "examples", "tutorial", "site.conf"), shim))
    srv = ServerProcess(["serve", "--config", str(conf), "--port", "0", "--workers", "1"])
    yield srv
    srv.stop()


def test_tutorial_form_page_posts_to_the_publisher(tutorial):
    r = get(tutorial, "/feedback/form.html")
    assert r.status == 200
    assert b'<form action="form.py/email" method="POST">' in r.body


def test_tutorial_form_sends_the_mail(tutorial, smtp_sink):
    before = len(smtp_sink.envelopes)
    r = post(tutorial, "/feedback/form.py/email",
             "name=Joe+Bloggs&email=joe%40example.org&comment=Great+tutorial%21")
    assert r.status == 200, r.body[:3000]
    assert r.header("Content-Type") == "text/html"
    assert r.body == (b"<html>\n\nDear Joe Bloggs,<br>\nThank You for your kind comments, we\n"
                      b"will get back to you shortly.\n\n</html>")
    deadline = time.monotonic() + 10
    while len(smtp_sink.envelopes) == before and time.monotonic() < deadline:
        time.sleep(0.05)
    env = smtp_sink.envelopes[-1]
    assert env.mail_from == "joe@example.org"
    assert env.rcpt_tos == ["webmaster"]
    msg = email.message_from_bytes(env.original_content or env.content)
    assert msg["From"] == "joe@example.org"
    assert msg["Subject"] == "feedback"
    assert msg["To"] == "webmaster"
    body = msg.get_payload().replace("\r\n", "\n")
    assert body == ("I have the following comment:\n\nGreat tutorial!\n\nThank You,\n\n"
                    "Joe Bloggs\n\n")


def test_tutorial_form_missing_parameter_sends_nothing(tutorial, smtp_sink):
    before = len(smtp_sink.envelopes)
    r = post(tutorial, "/feedback/form.py/email", "name=Joe&email=&comment=")
    assert r.status == 200
    assert r.body.startswith(b"A required parameter is missing")
    time.sleep(0.2)
    assert len(smtp_sink.envelopes) == before


def test_a_new_module_file_is_published_within_the_reload_interval(server, site):
    """Which file a URL names is kept for the reload-check interval (as the
    module itself): a module file added beside index.py takes over its
    name within a second or two, and one removed gives way to index.py."""
    d, _ = site
    pub = d / "pub" / "late"
    pub.mkdir()
    (pub / "index.py").write_text("class _Late:\n    hello = 'index attribute'\n\n"
                                  "latecomer = _Late()\n")
    path = "/pub/late/latecomer.py/hello"
    assert get(server, path).body == b"index attribute"
    (pub / "latecomer.py").write_text("def hello(req):\n    return 'from latecomer'\n")

    def body_becomes(expected):
        deadline = time.monotonic() + 5
        while (r := get(server, path)).body != expected:
            assert time.monotonic() < deadline, r.body
            time.sleep(0.1)

    body_becomes(b"from latecomer")
    (pub / "latecomer.py").unlink()
    body_becomes(b"index attribute")

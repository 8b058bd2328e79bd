"""How a response leaves: coalesced sends (the --inline server's mode, where
a flushed write waits for the handler's next output or its return) against
immediate sends, and the per-URI route cache of the pipeline.

Coalescing may change how many system calls carry a response, never its
bytes, its order against reading the request body, or what the request
object says was sent."""
import re
import time

import pytest

from fastdispatch import Directory, Dispatcher
from fastdispatch.request import HELD_MAX
from fastdispatch.testing import parse_response
from fastdispatch.transport import BytesBody, ConnInfo
from fastdispatch import _speedups

HANDLERS = '''
from mod_python import apache, util

def hello(req):
    req.content_type = "text/plain"
    req.write("Hello World!")
    return apache.OK

def stream(req):
    for i in range(3):
        req.write("part %d;" % i)
    return apache.OK

def unflushed(req):
    req.write("one", 0)
    req.write("two", 0)
    return apache.OK

def big(req):
    block = b"x" * 8192
    for _ in range(40):
        req.write(block)
    return apache.OK

def echo_after_write(req):
    req.write("before;")
    req.write(req.read())
    return apache.OK

def raise_after_write(req):
    req.write("started;")
    raise ValueError("late failure")

def redirect_after_write(req):
    req.write("started;")
    util.redirect(req, "/elsewhere")

def status_after_write(req):
    req.write("started;")
    return apache.HTTP_NOT_FOUND

BLOB = bytes(range(256)) * 4096         # 1 MiB

def huge_flushed(req):
    req.write(BLOB)
    req.write("tail")
    return apache.OK

def huge_unflushed(req):
    req.write(BLOB, 0)
    return apache.OK

def many_small_unflushed(req):
    for i in range(3000):
        req.write(b"%05d;" % i, 0)
    return apache.OK

def wide_items(req):
    import array
    req.write("first")
    req.write(memoryview(array.array("i", [0x41424344]) * 70000), 0)
    return apache.OK

def wide_items_whole(req):
    import array
    # (6,000 bytes, under what write(s, 0) keeps: the response has a length)
    req.write(memoryview(array.array("i", [0x41424344]) * 1500), 0)
    return apache.OK

def flushed_then_many_small(req):
    req.write("first")
    for i in range(3000):
        req.write(b"%05d;" % i, 0)
    req.write(BLOB, 0)
    return apache.OK
'''

NAMES = ["hello", "stream", "unflushed", "big", "echo_after_write", "raise_after_write",
         "redirect_after_write", "status_after_write", "huge_flushed", "huge_unflushed",
         "many_small_unflushed", "flushed_then_many_small", "wide_items",
         "wide_items_whole"]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    d = tmp_path_factory.mktemp("sends")
    for name in NAMES:       # one <Directory> per handler, the module in each
        (d / name).mkdir()
        (d / name / "h.py").write_text(HANDLERS)
    sections = [Directory(name, SetHandler="mod_python", PythonHandler="h::" + name,
                          PythonDebug=True)
                for name in NAMES]
    return Dispatcher.build(*sections, DocumentRoot=".", base_dir=str(d))


class RecordingBody(BytesBody):
    """A request body that notes, in ``events``, when it was first read."""

    def __init__(self, data, events):
        super().__init__(data)
        self.events = events

    def read(self, n=-1):
        self.events.append("read")
        return super().read(n)


class StreamingConnInfo(ConnInfo):
    """A transport that writes each send to the client as it comes (the own
    server's kind): a large body may be sent apart from its head."""
    __slots__ = ()
    sendfile = True


def run(app, path, coalesce, body=b"", info=ConnInfo):
    """(sends, events) of one request: each send's bytes, and the order of
    sends and body reads."""
    head_bytes = ("%s /%s/x HTTP/1.1\r\nHost: t\r\n%s\r\n"
                  % ("POST" if body else "GET", path,
                     "Content-Length: %d\r\n" % len(body) if body else "")).encode()
    head, _ = _speedups.http.parse_head(head_bytes)
    conn = info("127.0.0.1", 50000, "127.0.0.1", 80)
    conn.coalesce = coalesce
    sends, events = [], []

    def send(data):
        sends.append(bytes(data))
        events.append("send")

    app.handle(head, RecordingBody(body, events), conn, send)
    return sends, events


def same_bytes(a, b):
    date = re.compile(rb"Date: [^\r]*\r\n")
    return date.sub(b"", a) == date.sub(b"", b)


@pytest.mark.parametrize("name", NAMES)
def test_coalescing_changes_no_byte(app, name):
    body = b"the body" if name == "echo_after_write" else b""
    plain, _ = run(app, name, False, body)
    held, _ = run(app, name, True, body)
    assert same_bytes(b"".join(plain), b"".join(held))
    assert len(held) <= len(plain)


def test_a_flushed_write_and_the_end_leave_in_one_send(app):
    plain, _ = run(app, "hello", False)
    held, _ = run(app, "hello", True)
    assert len(plain) == 2                    # head + chunk, then the last chunk
    assert len(held) == 1
    r = parse_response(held[0])
    assert r.header("Transfer-Encoding") == "chunked"   # as mod_python: flushed once
    assert r.body == b"Hello World!"


def test_several_flushes_leave_together(app):
    plain, _ = run(app, "stream", False)
    held, _ = run(app, "stream", True)
    assert len(plain) == 4
    assert len(held) == 1
    assert parse_response(held[0]).body == b"part 0;part 1;part 2;"


def test_held_output_is_bounded(app):
    held, _ = run(app, "big", True)
    assert len(held) > 1
    assert all(len(s) <= HELD_MAX + 8192 + 64 for s in held)
    assert parse_response(b"".join(held)).body == b"x" * 8192 * 40


BLOB = bytes(range(256)) * 4096
SMALL = b"".join(b"%05d;" % i for i in range(3000))


@pytest.mark.parametrize("coalesce", [False, True])
def test_a_large_body_is_sent_after_its_head_not_joined_to_it(app, coalesce):
    """To a streaming transport, a body of SEND_APART bytes or more goes out
    as the handler's bytes, in sends of its own (joining it to the head
    would copy it twice into fresh memory); small pieces in a row are still
    joined, so the sends stay few. A write(s, 0) of more than 8,000 bytes
    goes on at once, as Apache's ap_rwrite passes it down: its response is
    chunked (Apache 2.4 + mod_python answer so)."""
    sends, _ = run(app, "huge_unflushed", coalesce)
    r = parse_response(b"".join(sends))
    assert r.header("Transfer-Encoding") == "chunked" and r.body == BLOB
    assert len(sends) <= 2

    def streamed(name):
        return run(app, name, coalesce, info=StreamingConnInfo)
    sends, _ = streamed("huge_flushed")
    r = parse_response(b"".join(sends))
    assert r.header("Transfer-Encoding") == "chunked" and r.body == BLOB + b"tail"
    assert BLOB in sends and len(sends) <= 5
    sends, _ = streamed("huge_unflushed")
    r = parse_response(b"".join(sends))
    assert r.header("Transfer-Encoding") == "chunked" and r.body == BLOB
    assert BLOB in sends and len(sends) <= 4
    for name, body in (("many_small_unflushed", SMALL),
                       ("flushed_then_many_small", b"first" + SMALL + BLOB)):
        sends, _ = streamed(name)
        assert parse_response(b"".join(sends)).body == body
        # (a write(s, 0) passes on what is kept at each 8,000 bytes)
        assert len(sends) <= 10, [len(x) for x in sends]


@pytest.mark.parametrize("info", [ConnInfo, StreamingConnInfo])
def test_a_memoryview_of_wide_items_counts_its_bytes(app, info):
    # (its len() is its item count: 70,000 items of 4 bytes here)
    wide = bytes(memoryview(__import__("array").array("i", [0x41424344]) * 70000))
    small = wide[:6000]
    for coalesce in (False, True):
        r = parse_response(b"".join(run(app, "wide_items", coalesce, info=info)[0]))
        assert r.header("Transfer-Encoding") == "chunked" and r.body == b"first" + wide
        r = parse_response(b"".join(run(app, "wide_items_whole", coalesce, info=info)[0]))
        assert r.header("Content-Length") == "6000" and r.body == small


def test_reading_the_body_sends_what_was_held_first(app):
    sends, events = run(app, "echo_after_write", True, b"the body")
    assert events[:2] == ["send", "read"]
    assert parse_response(b"".join(sends)).body == b"before;the body"


def test_the_head_counts_as_sent_while_held(app):
    # mod_python: the head went out with the first flush, so a late error is
    # appended to the 200 body and a redirect refused: the same when held
    for name in ("raise_after_write", "redirect_after_write", "status_after_write"):
        r = parse_response(b"".join(run(app, name, True)[0]))
        assert r.status == 200, name
        assert r.body.startswith(b"started;"), name
    r = parse_response(b"".join(run(app, "raise_after_write", True)[0]))
    assert b"ValueError: late failure" in r.body
    r = parse_response(b"".join(run(app, "redirect_after_write", True)[0]))
    assert b"Cannot redirect after headers have already been sent" in r.body


# ---------------------------------------------------------------- route cache

ROUTED = '''
from mod_python import apache

def headerparserhandler(req):
    if req.args == "move":
        req.filename = req.filename[:-len("page.txt")] + "data.json"
    return apache.OK
'''


@pytest.fixture()
def routed(tmp_path):
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "page.txt").write_text("text")
    (tmp_path / "site" / "data.json").write_text("{}")
    (tmp_path / "site" / "mover.py").write_text(ROUTED)
    app = Dispatcher.build(Directory("site", PythonHeaderParserHandler="mover"),
                           DocumentRoot=".", base_dir=str(tmp_path))
    return app, tmp_path


def get(app, target):
    head, _ = _speedups.http.parse_head(("GET %s HTTP/1.1\r\nHost: t\r\n\r\n"
                                         % target).encode())
    out = []
    app.handle(head, BytesBody(b""), ConnInfo(), out.append)
    return parse_response(b"".join(out))


def test_a_cached_route_does_not_outlive_a_handler_that_moves_the_request(routed):
    app, _ = routed
    for _ in range(3):   # the second and third come from the route cache
        r = get(app, "/site/page.txt")
        assert (r.status, r.header("Content-Type"), r.body) == (200, "text/plain", b"text")
        r = get(app, "/site/page.txt?move")
        assert (r.status, r.header("Content-Type"), r.body) == \
            (200, "application/json", b"{}")


def test_a_new_file_is_served_within_the_cache_time(routed):
    app, d = routed
    assert get(app, "/site/new.txt").status == 404
    (d / "site" / "new.txt").write_text("new")
    deadline = time.monotonic() + 5
    while get(app, "/site/new.txt").status != 200:
        assert time.monotonic() < deadline, "the new file was never served"
        time.sleep(0.1)
    assert get(app, "/site/new.txt").body == b"new"


# ---------------------------------------------------------------- plain routes

PLAIN = '''
from mod_python import apache

def handler(req):
    req.content_type = req.content_type + ";seen"
    req.write("%s|%s|%s|%s" % (req.handler, req.filename.rsplit("/", 1)[-1],
                               req.canonical_filename == req.filename, req.path_info))
    return apache.OK

def declines(req):
    return apache.DECLINED
'''


@pytest.fixture()
def plain_site(tmp_path):
    site = tmp_path / "site"
    (site / "sub").mkdir(parents=True)
    (site / "h.py").write_text(PLAIN)
    (site / "page.txt").write_text("static text")
    (site / ".htsecret").write_text("never")
    (site / "sub" / "index.html").write_text("<p>index</p>")
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "h.py").write_text(PLAIN)
    app = Dispatcher.build(
        Directory("site", SetHandler="mod_python", PythonHandler="h"),
        Directory("site/sub", SetHandler="None"),
        Directory("locked", SetHandler="mod_python", PythonHandler="h", AuthType="Basic",
                  AuthName="locked", Require="valid-user"),
        DocumentRoot=".", base_dir=str(tmp_path))
    return app


def test_plain_route_gives_what_the_phases_would(plain_site):
    for _ in range(2):       # made, then from the route cache
        r = get(plain_site, "/site/page.txt/more")
        assert r.status == 200
        assert r.body == b"mod_python|page.txt|True|/more"
        assert r.header("Content-Type").startswith("text/plain;seen")


def test_plain_or_not_every_check_still_applies(plain_site):
    for _ in range(2):
        assert get(plain_site, "/site/.htsecret").status == 403      # .ht* denied
        r = get(plain_site, "/locked/x")                              # Require
        assert (r.status, r.header("WWW-Authenticate")) == (401, 'Basic realm="locked"')
        r = get(plain_site, "/site/sub")                              # mod_dir
        assert (r.status, r.header("Location")) == (301, "http://t/site/sub/")
        assert get(plain_site, "/site/sub/").body == b"<p>index</p>"


# ---------------------------------------------------------------- lazy attributes

LAZY = '''
from mod_python import apache

def handler(req):
    req.notes["set-before-read"] = "1"
    before = req.__dict__.get("subprocess_env")
    req.err_headers_out = apache.table({"X-Replaced": "yes"})
    req.content_type = "text/plain"
    req.write("%s|%s|%s|%s|%s" % (req.notes["set-before-read"], before, req.hostname,
                                  req.useragent_addr[0], req.interpreter))
    return apache.OK
'''


def test_lazy_attributes_are_made_on_use_and_assignable(tmp_path):
    from fastdispatch.request import Request
    (tmp_path / "lazy").mkdir()
    (tmp_path / "lazy" / "h.py").write_text(LAZY)
    app = Dispatcher.build(Directory("lazy", SetHandler="mod_python", PythonHandler="h"),
                           DocumentRoot=".", base_dir=str(tmp_path), ServerName="srv.example")
    r = get(app, "/lazy/x")
    assert r.status == 200
    assert r.body == b"1|None|t|127.0.0.1|srv.example"
    assert r.header("X-Replaced") == "yes"
    # a __getattr__ on the class would slow every attribute read (docs/internals.md)
    assert "__getattr__" not in vars(Request)

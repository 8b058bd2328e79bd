"""Static files for what no handler claims, over real sockets: MIME type,
validators, conditional requests, ranges, HEAD, DirectoryIndex, and no way
out of the document root."""
import os
import re
import socket
import time

import pytest

from fastdispatch import Directory, Dispatcher, _speedups, byterange
from fastdispatch.handlers import static
from fastdispatch.testing import parse_response
from fastdispatch.transport import BytesBody, ConnInfo, FileRegion
from serverproc import Conn, ServerProcess, request


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("static")
    www = root / "www"
    (www / "docs").mkdir(parents=True)
    (www / "docs" / "index.html").write_text("<p>docs index</p>\n")
    (www / "page.html").write_text("<html>" + "x" * 4000 + "</html>\n")
    (www / "notes.txt").write_text("plain text file\n")
    (www / "style.css").write_text("body { color: red; }\n")
    (www / "data.unknownext").write_bytes(b"\x00\x01\x02")
    (www / ".htpasswd").write_text("spam:secret\n")
    (www / "empty").mkdir()
    (root / "secret.txt").write_text("outside the root\n")
    os.symlink(root / "secret.txt", www / "link-out.txt")
    # old enough that the ETag is strong
    old = time.time() - 3600
    for p in www.rglob("*"):
        os.utime(p, (old, old), follow_symlinks=False)
    conf = root / "site.conf"
    conf.write_text("Listen 127.0.0.1:0\nDocumentRoot www\nDirectoryIndex index.html\n"
                    "AddType application/x-custom .unknownext\n")
    return root, conf


@pytest.fixture(scope="module")
def server(site):
    srv = ServerProcess(["serve", "--config", str(site[1]), "--workers", "1"])
    yield srv
    srv.stop()


def get(server, path, **kw):
    return request(server.port, "GET", path, **kw)


@pytest.mark.parametrize("path, ctype", [
    ("/page.html", "text/html"), ("/notes.txt", "text/plain"), ("/style.css", "text/css"),
    ("/data.unknownext", "application/x-custom"),
])
def test_mime_types_and_body(server, site, path, ctype):
    r = get(server, path)
    assert r.status == 200
    assert r.header("Content-Type") == ctype
    assert r.body == (site[0] / "www" / path.lstrip("/")).read_bytes()
    assert r.header("Content-Length") == str(len(r.body))
    assert r.header("Accept-Ranges") == "bytes"


def test_validators_and_conditional_get(server):
    r = get(server, "/page.html")
    etag, lm = r.header("ETag"), r.header("Last-Modified")
    assert etag.startswith('"') and lm.endswith("GMT")
    for headers in ([("If-None-Match", etag)], [("If-None-Match", "W/" + etag)],
                    [("If-None-Match", "*")], [("If-Modified-Since", lm)]):
        r304 = get(server, "/page.html", headers=headers)
        assert r304.status == 304
        assert r304.body == b""
        assert r304.header("Content-Length") is None and r304.header("Content-Type") is None
        assert r304.header("ETag") == etag
    assert get(server, "/page.html", headers=[("If-None-Match", '"other"')]).status == 200
    assert get(server, "/page.html",
               headers=[("If-Modified-Since", "Thu, 01 Jan 1970 00:00:00 GMT")]).status == 200
    assert get(server, "/page.html", headers=[("If-Match", '"nope"')]).status == 412
    # as Apache: a GET's 412 has the empty body's length, a HEAD's the file's
    r = get(server, "/page.html", headers=[("If-Match", '"nope"')])
    assert r.header("Content-Length") == "0"
    with Conn(server.port) as c:
        r = c.request("HEAD", "/page.html", headers=[("If-Match", '"nope"')])
        assert r.status == 412 and r.header("Content-Length") == "4014"


def test_head_has_headers_and_no_body(server):
    with Conn(server.port) as c:
        r = c.request("HEAD", "/page.html")
        assert r.status == 200 and r.body == b""
        assert r.header("Content-Length") == "4014"
        # the connection is still in step: a second request works
        assert c.request("GET", "/notes.txt").body == b"plain text file\n"


def test_ranges(server):
    r = get(server, "/notes.txt", headers=[("Range", "bytes=0-4")])
    assert r.status == 206 and r.body == b"plain"
    assert r.header("Content-Range") == "bytes 0-4/16"
    r = get(server, "/notes.txt", headers=[("Range", "bytes=-5")])
    assert r.status == 206 and r.body == b"file\n"
    r = get(server, "/notes.txt", headers=[("Range", "bytes=0-1,6-9")])
    assert r.status == 206
    assert r.header("Content-Type").startswith("multipart/byteranges; boundary=")
    assert b"Content-range: bytes 0-1/16\r\n\r\npl\r\n" in r.body
    with Conn(server.port) as c:
        # the byterange filter's page has no length: chunked, and the
        # connection is kept (as Apache 2.4.71 answers)
        r = c.request("GET", "/notes.txt", headers=[("Range", "bytes=100-200")])
        assert r.status == 416 and r.header("Content-Length") is None
        assert r.header("Transfer-Encoding") == "chunked"
        assert b"None of the range-specifier values" in r.body
        assert c.request("GET", "/notes.txt").status == 200
    with Conn(server.port) as c:
        r = c.request("GET", "/notes.txt", headers=[("Range", "bytes=100-200")],
                      version="HTTP/1.0")
        assert r.status == 416 and r.header("Content-Length") is None
        assert b"None of the range-specifier values" in r.body and c.is_closed()


# What Apache 2.4.71's ap_meets_conditions answered for a static file (a
# differential run of 1,260 combinations): If-Match, then If-Unmodified-Since,
# then a 304 only when every If-None-Match / If-Modified-Since sent agrees.
LM, PAST, FUTURE = "LM", "Thu, 01 Jan 2004 00:00:00 GMT", "Fri, 01 Jan 2100 00:00:00 GMT"


@pytest.mark.parametrize("method, conditions, status", [
    ("GET", {"If-None-Match": "ETAG"}, 304),
    ("GET", {"If-None-Match": "ETAG", "If-Modified-Since": LM}, 304),
    ("GET", {"If-None-Match": "ETAG", "If-Modified-Since": "garbage"}, 200),
    ("GET", {"If-None-Match": "ETAG", "If-Modified-Since": FUTURE}, 200),
    ("GET", {"If-None-Match": '"other"', "If-Modified-Since": LM}, 200),
    ("GET", {"If-None-Match": "*", "If-Modified-Since": PAST}, 200),
    ("GET", {"If-Match": "ETAG", "If-Unmodified-Since": LM, "If-None-Match": "ETAG"}, 200),
    ("GET", {"If-Unmodified-Since": "garbage", "If-Modified-Since": LM}, 200),
    ("GET", {"If-Match": "ETAG", "If-Unmodified-Since": PAST}, 412),
    ("GET", {"If-Unmodified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"}, 200),
    ("GET", {"If-Unmodified-Since": "Wed, 31 Dec 1969 23:59:59 GMT"}, 200),
    ("GET", {"If-Match": '"other"', "If-None-Match": "ETAG"}, 412),
    ("POST", {"If-None-Match": "ETAG"}, 412),
    ("POST", {"If-None-Match": "ETAG", "If-Unmodified-Since": LM}, 412),
    ("GET", {"Range": "bytes=0-1", "If-Range": "ETAG", "If-None-Match": "ETAG"}, 206),
])
def test_conditions_in_apaches_order(server, method, conditions, status):
    first = get(server, "/notes.txt")
    etag, lm = first.header("ETag"), first.header("Last-Modified")
    headers = [(k, v.replace("ETAG", etag) if v != LM else lm) for k, v in conditions.items()]
    assert request(server.port, method, "/notes.txt", headers=headers).status == status


@pytest.mark.parametrize("value, answer", [
    # what Apache 2.4.71's byterange filter answered for a 100-byte file
    ("bytes=0-9,,20-29", [(0, 9), (20, 29)]),     # commas in a row count as one
    ("bytes=0-9,,,", [(0, 9)]),
    ("bytes=,0-9", None),                         # an empty first spec: no ranges
    ("bytes=0-18446744073709551616", None),       # over 2**63-1: the header is ignored
    ("bytes=18446744073709551616-", None),
    ("bytes=-18446744073709551616", None),
    ("bytes=0-9223372036854775807", [(0, 99)]),   # (2**63-1 itself is read)
    ("bytes=0-1,2-3", [(0, 3)]),                  # adjacent: merged
    ("bytes=0-5,3-8", [(0, 8)]),                  # overlapping: merged
    ("bytes=0-50,10-60,20-99", [(0, 99)]),
    ("bytes=10-20,0-", [(0, 99)]),                # "0-" alone: the whole file, as a 206
    ("bytes=0-1,4-5", [(0, 1), (4, 5)]),
    ("Bytes=0-4", [(0, 4)]),                      # the unit is case-insensitive
    ("bytes=-5", [(95, 99)]),
    ("bytes=5-", [(5, 99)]),
    ("bytes=0-1,200-300", [(0, 1)]),
    ("bytes=200-300", "unsatisfiable"),
    ("bytes=-0", None),                           # malformed: the whole file, 200
    ("bytes= 0-1, 4-5", None),
    ("bytes=3-2", None),
    ("bytes=abc", None),
    ("items=0-1", None),
])
def test_range_header_as_apache_reads_it(value, answer):
    assert byterange.parse_ranges(value, 100) == answer


def test_directory_index_and_redirect(server):
    r = get(server, "/docs")
    assert r.status == 301
    assert r.header("Location") == "http://127.0.0.1/docs/"
    # an empty query stays (a field-less GET form aimed at the directory)
    assert get(server, "/docs?").header("Location") == "http://127.0.0.1/docs/?"
    assert get(server, "/docs?a=1").header("Location") == "http://127.0.0.1/docs/?a=1"
    r = get(server, "/docs/")
    assert r.status == 200 and r.body == b"<p>docs index</p>\n"
    assert get(server, "/empty/").status == 404


def test_missing_and_path_info(server):
    assert get(server, "/nothere.html").status == 404
    assert get(server, "/page.html/extra").status == 404


@pytest.mark.parametrize("count, framing", [(32, "length"), (33, "chunked")])
def test_more_than_32_ranges_go_without_a_length(server, count, framing):
    # as Apache 2.4.71 sends them: chunked (close-delimited on HTTP/1.0)
    spec = "bytes=" + ",".join("%d-%d" % (i * 2, i * 2) for i in range(count))
    with Conn(server.port) as c:
        r = c.request("GET", "/page.html", headers=[("Range", spec)])
        assert r.status == 206
        assert r.body.count(b"Content-range: bytes ") == count
        if framing == "length":
            assert r.header("Content-Length") == str(len(r.body))
        else:
            assert r.header("Content-Length") is None
            assert r.header("Transfer-Encoding") == "chunked"
        assert c.request("GET", "/notes.txt").status == 200
    with Conn(server.port) as c:
        r = c.request("GET", "/page.html", headers=[("Range", spec)], version="HTTP/1.0")
        assert r.status == 206 and r.body.count(b"Content-range: bytes ") == count
        assert (r.header("Content-Length") is None) == (framing == "chunked")


def test_a_name_the_file_system_refuses_is_403_and_the_connection_stays(server):
    # a component longer than the file system allows (ENAMETOOLONG): 403 from
    # the directory walk, as Apache's, on a connection that is kept
    with Conn(server.port) as c:
        r = c.request("GET", "/" + "a" * 300)
        assert r.status == 403
        assert b"You don't have permission to access this resource." in r.body
        assert r.header("Connection") != "close"
        assert c.request("GET", "/notes.txt").status == 200


def test_ht_files_are_never_served(server):
    r = get(server, "/.htpasswd")
    assert r.status == 403
    assert b"secret" not in r.body


@pytest.mark.parametrize("path", [
    "/../secret.txt", "/%2e%2e/secret.txt", "/docs/../../secret.txt", "/docs/%2e%2e/%2e%2e/secret.txt",
    "/..%2fsecret.txt", "/%2e%2e%2fsecret.txt", "/docs/..%5c..%5csecret.txt",
])
def test_no_escape_from_the_root(server, path):
    r = get(server, path)
    assert r.status in (400, 403, 404)
    assert b"outside the root" not in r.body


def test_post_is_served_like_get_and_put_is_refused(server):
    r = request(server.port, "POST", "/notes.txt", body=b"abc")
    assert r.status == 200 and r.body == b"plain text file\n"
    r = request(server.port, "PUT", "/notes.txt", body=b"abc")
    assert r.status == 405
    assert r.header("Allow")


def test_serve_a_directory_from_the_command_line(site):
    srv = ServerProcess(["serve", str(site[0] / "www"), "--host", "127.0.0.1", "--port", "0",
                         "--workers", "1"])
    try:
        assert get(srv, "/notes.txt").body == b"plain text file\n"
        assert get(srv, "/docs/").body == b"<p>docs index</p>\n"
    finally:
        srv.stop()


def test_files_that_are_not_regular_or_readable(tmp_path):
    """A FIFO is refused without blocking the worker (opened non-blocking,
    then fstat), an unreadable file is 403, a missing one 404; large files
    stream, small ones go out whole."""
    from fastdispatch import Dispatcher
    from fastdispatch.handlers.static import WHOLE_READ_MAX
    from fastdispatch.testing import Client

    www = tmp_path / "www"
    www.mkdir()
    os.mkfifo(www / "pipe.txt")
    (www / "locked.txt").write_text("no")
    os.chmod(www / "locked.txt", 0)
    big = bytes(range(256)) * (WHOLE_READ_MAX // 256 * 3 + 7)
    (www / "big.bin").write_bytes(big)
    client = Client(Dispatcher.build(DocumentRoot=str(www)))
    assert client.get("/pipe.txt").status == 403
    if os.geteuid() != 0:                     # root reads any file
        assert client.get("/locked.txt").status == 403
    assert client.get("/missing.txt").status == 404
    r = client.get("/big.bin")
    assert (r.status, r.header("Content-Length"), r.body) == (200, str(len(big)), big)
    r = client.get("/pipe.txt/extra")
    assert r.status in (403, 404)


def test_remembered_files_never_serve_old_bytes(tmp_path, monkeypatch):
    """Small files' bytes are kept between requests and checked with a stat
    each time: a rewrite (even to the same size, in the same second), a
    replacement by rename, a removal, a FIFO or directory in its place are
    all seen on the very next request."""
    from fastdispatch import Dispatcher
    from fastdispatch.handlers import static
    from fastdispatch.testing import Client

    www = tmp_path / "www"
    www.mkdir()
    page = www / "page.txt"
    page.write_text("version 1")
    client = Client(Dispatcher.build(DocumentRoot=str(www)))
    assert client.get("/page.txt").body == b"version 1"
    assert str(page) not in static._contents       # just written: not yet
    monkeypatch.setattr(static, "SETTLE_NS", 200_000_000)
    time.sleep(0.25)
    for _ in range(2):
        assert client.get("/page.txt").body == b"version 1"
    assert str(page) in static._contents           # remembered

    page.write_text("version 2")                   # same size, same second
    assert client.get("/page.txt").body == b"version 2"
    r = client.get("/page.txt")
    assert r.body == b"version 2"
    etag = r.header("ETag")

    (www / "new.txt").write_text("replacement")
    os.rename(www / "new.txt", page)
    r = client.get("/page.txt")
    assert r.body == b"replacement" and r.header("ETag") != etag

    page.unlink()
    assert client.get("/page.txt").status == 404
    os.mkfifo(page)
    assert client.get("/page.txt").status == 403
    page.unlink()
    page.mkdir()
    # never the old bytes; mod_dir's 301 once the route cache (1 s) has seen
    # the directory
    assert client.get("/page.txt").status in (301, 404)
    assert str(page) not in static._contents


def test_remembered_bytes_are_bounded(tmp_path, monkeypatch):
    from fastdispatch import Dispatcher
    from fastdispatch.handlers import static
    from fastdispatch.testing import Client

    monkeypatch.setattr(static, "REMEMBER_TOTAL", 10000)
    monkeypatch.setattr(static, "SETTLE_NS", 0)
    www = tmp_path / "www"
    www.mkdir()
    for i in range(6):
        (www / ("f%d.txt" % i)).write_bytes(b"%d" % i * 3000)
    (www / "large.txt").write_bytes(b"L" * (static.REMEMBER_MAX + 1))
    client = Client(Dispatcher.build(DocumentRoot=str(www)))
    for _ in range(2):
        for i in range(6):
            assert client.get("/f%d.txt" % i).body == b"%d" % i * 3000
        assert client.get("/large.txt").body == b"L" * (static.REMEMBER_MAX + 1)
    held = sum(len(v[1]) for v in static._contents.values())
    assert held == static._contents_size <= 10000
    assert str(www / "large.txt") not in static._contents


def test_a_stalled_body_is_answered_408(site):
    # the default handler reads and drops the body first, as Apache's does:
    # a client that stops sending it gets Apache's 408, not a silent close
    conf = site[0] / "timeout.conf"
    conf.write_text(site[1].read_text() + "Timeout 1\n")
    srv = ServerProcess(["serve", "--config", str(conf), "--workers", "1"])
    try:
        with Conn(srv.port) as c:
            c.send(b"POST /notes.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
            assert c.read_response().status == 408
        # with the body whole, the file is served and the connection kept
        with Conn(srv.port) as c:
            c.send(b"POST /notes.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
            assert c.read_response().body == b"plain text file\n"
            c.send(b"GET /notes.txt HTTP/1.1\r\nHost: x\r\n\r\n")
            assert c.read_response().status == 200
    finally:
        srv.stop()


@pytest.mark.parametrize("body_head, status", [
    (b"Transfer-Encoding: chunked\r\n\r\nzz\r\n", 400),       # malformed chunks
    (b"Content-Length: 2000000000\r\n\r\nabc", 413),            # over LimitRequestBody
])
def test_a_body_that_cannot_be_read_gets_a_close_delimited_page(server, body_head, status):
    # as Apache's default handler after a failed ap_discard_request_body:
    # no Content-Length, the close ends the page
    with Conn(server.port) as c:
        c.send(b"POST /notes.txt HTTP/1.1\r\nHost: x\r\n" + body_head)
        r = c.read_response()
        assert r.status == status and r.header("Content-Length") is None
        assert r.header("Connection") == "close"
        assert b"</body></html>\n" in r.body


# ------------------------------------------------------------ large files
# From SENDFILE_MIN up, the own server sends a file's bytes with os.sendfile
# after the head; these go through the socket's send buffer many times over.

@pytest.fixture(scope="module")
def large(tmp_path_factory):
    root = tmp_path_factory.mktemp("large")
    (root / "www").mkdir()
    data = os.urandom(3 << 20)
    (root / "www" / "big.bin").write_bytes(data)
    (root / "www" / "edge.bin").write_bytes(data[:static.SENDFILE_MIN])
    (root / "www" / "huge.bin").write_bytes(data * 6)
    conf = root / "site.conf"
    conf.write_text("Listen 127.0.0.1:0\nDocumentRoot www\nTimeout 2\n"
                    "LogFormat \"%r %>s %B %O\" bytes\nCustomLog access.log bytes\n")
    return root, conf, data


@pytest.fixture(scope="module", params=["threads", "inline"])
def large_server(request, large):
    args = ["serve", "--config", str(large[1]), "--workers", "1"]
    if request.param == "inline":
        args.append("--inline")
    srv = ServerProcess(args, cwd=str(large[0]))
    yield srv
    srv.stop()


def test_large_files_go_out_whole_and_the_connection_stays_in_step(large_server, large):
    data = large[2]
    with Conn(large_server.port) as c:
        r = c.request("GET", "/big.bin")
        assert r.status == 200 and r.header("Content-Length") == str(len(data))
        assert r.body == data
        r = c.request("GET", "/edge.bin")
        assert r.body == data[:static.SENDFILE_MIN]
        r = c.request("GET", "/big.bin", headers=[("Range", "bytes=100000-2100000")])
        assert r.status == 206 and r.header("Content-Range") == "bytes 100000-2100000/%d" % len(data)
        assert r.body == data[100000:2100001]
        r = c.request("HEAD", "/big.bin")
        assert r.header("Content-Length") == str(len(data)) and r.body == b""
        r = c.request("GET", "/big.bin", headers=[("Range", "bytes=0-1,3000000-3000001")])
        assert r.status == 206 and data[3000000:3000002] in r.body
        assert not c.is_closed(0.2)


def test_large_files_are_counted_in_the_access_log(large_server, large):
    data = large[2]
    with Conn(large_server.port) as c:
        c.request("GET", "/big.bin?counted")
        c.request("GET", "/big.bin?ranged", headers=[("Range", "bytes=10-70009")])
    log = large[0] / "access.log"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        text = log.read_text() if log.exists() else ""
        if "ranged" in text:
            break
        time.sleep(0.05)
    sent = dict((m[0], (int(m[1]), int(m[2]))) for m in re.findall(
        r"GET /big\.bin\?(\w+) HTTP/1\.1 2\d\d (\d+) (\d+)", text))
    assert sent["counted"][0] == len(data) and sent["ranged"][0] == 70000
    # %O: the head too
    assert 100 < sent["counted"][1] - len(data) < 400
    assert 100 < sent["ranged"][1] - 70000 < 400


def _small_window(port):
    """A client socket whose receive buffer is set before it connects (the
    window is agreed on then): the server's sends must wait for it."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    return sock


def _drain(sock):
    got = bytearray()
    try:
        while True:
            chunk = sock.recv(1 << 20)
            if not chunk:
                break
            got += chunk
    except ConnectionResetError:
        pass
    return bytes(got)


def test_a_slow_reader_gets_the_whole_file(large_server, large):
    # larger than any send buffer the kernel grows to (4 MiB)
    huge = large[2] * 6
    sock = _small_window(large_server.port)
    try:
        sock.sendall(b"GET /huge.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        time.sleep(0.5)         # the server's send waits for room meanwhile
        got = _drain(sock)
    finally:
        sock.close()
    head, _, body = got.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ") and body == huge


def test_a_client_that_stops_reading_is_dropped_after_the_timeout(large_server, large):
    sock = _small_window(large_server.port)
    try:
        sock.sendall(b"GET /huge.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(3.5)         # Timeout 2: the server gives up on its send
        # the worker goes on serving (inline too: its wait was bounded)
        assert request(large_server.port, "GET", "/edge.bin").status == 200
        got = _drain(sock)      # what was on its way, then the close
    finally:
        sock.close()
    assert got.startswith(b"HTTP/1.1 200 ") and len(got) < len(large[2]) * 6
    # the access line shows the 200 that was going out, and what of it went
    log = large[0] / "access.log"
    deadline = time.monotonic() + 5
    line = None
    while line is None and time.monotonic() < deadline:
        lines = [x for x in log.read_text().splitlines() if x.startswith("GET /huge.bin")]
        line = lines[-1] if lines else None
        time.sleep(0.05)
    m = re.fullmatch(r"GET /huge\.bin HTTP/1\.1 200 (\d+) (\d+)", line or "")
    assert m and 0 < int(m[2]) < len(large[2]) * 6, line     # %O: what went


def test_a_file_cut_short_while_sent_closes_the_connection():
    """Connection.send of a FileRegion longer than what the file has left
    (truncated after its length went out): ClientGone, and the connection is
    marked broken, so the worker closes it instead of reusing it."""
    from fastdispatch.errors import ClientGone
    from fastdispatch.server._connection import Connection, ServerConnInfo
    from fastdispatch.transport import FileRegion
    import tempfile

    a, b = socket.socketpair()
    a.setblocking(False)
    conn = Connection(a, ServerConnInfo("127.0.0.1", 1, "127.0.0.1", 2), 1.0)
    with tempfile.TemporaryFile() as f:
        f.write(b"x" * 1000)
        f.flush()
        conn.send(FileRegion(f.fileno(), 100, 900))
        assert b.recv(4096) == b"x" * 900 and not conn.broken
        assert conn.sent_bytes == 900
        with pytest.raises(ClientGone, match="short"):
            conn.send(FileRegion(f.fileno(), 0, 2000))
        assert conn.broken
    a.close()
    b.close()


def test_a_file_sendfile_cannot_serve_is_sent_by_reads(monkeypatch):
    """os.sendfile refused (a file system without it): the same bytes go
    out, read through Python."""
    import errno
    import tempfile
    from fastdispatch.server import _connection
    from fastdispatch.server._connection import Connection, ServerConnInfo
    from fastdispatch.transport import FileRegion

    def refuse(*args):
        raise OSError(errno.EINVAL, "Invalid argument")
    monkeypatch.setattr(_connection.os, "sendfile", refuse)
    a, b = socket.socketpair()
    a.setblocking(False)
    conn = Connection(a, ServerConnInfo("127.0.0.1", 1, "127.0.0.1", 2), 1.0)
    data = os.urandom(5000)
    with tempfile.TemporaryFile() as f:
        f.write(data)
        f.flush()
        conn.send(FileRegion(f.fileno(), 10, 4000))
    got = b""
    while len(got) < 4000:
        got += b.recv(65536)
    assert got == data[10:4010] and conn.sent_bytes == 4000 and not conn.broken
    a.close()
    b.close()


class _SendfileInfo(ConnInfo):
    """A transport's ConnInfo that says its ``send`` takes a FileRegion."""
    __slots__ = ()
    sendfile = True


@pytest.mark.parametrize("info, whole_bytes", [(_SendfileInfo, False), (ConnInfo, True)])
def test_what_the_default_handler_hands_its_transport(tmp_path, info, whole_bytes):
    """Large files (and large single ranges) go to a transport that can send
    files as a FileRegion after the head; a transport that cannot, a HEAD,
    a small file and a multipart range all get bytes."""
    data = os.urandom(static.SENDFILE_MIN + 1000)
    (tmp_path / "big.bin").write_bytes(data)
    (tmp_path / "small.txt").write_text("small")
    app = Dispatcher.build(DocumentRoot=str(tmp_path))

    def run(method, target, *headers):
        head, _ = _speedups.http.parse_head((
            "%s %s HTTP/1.1\r\nHost: t\r\n%s\r\n" % (method, target, "".join(
                "%s: %s\r\n" % h for h in headers))).encode())
        sends, regions = [], []

        def send(item):
            if isinstance(item, FileRegion):
                regions.append((item.offset, item.count))
                item = os.pread(item.fd, item.count, item.offset)
            sends.append(item)
        outcome = app.handle(head, BytesBody(b""), info(), send)
        return parse_response(b"".join(sends), head_only=method == "HEAD"), regions, outcome

    r, regions, outcome = run("GET", "/big.bin")
    assert r.body == data and outcome.bytes_sent == len(data)
    assert regions == ([] if whole_bytes else [(0, len(data))])
    if not whole_bytes:
        # EnableSendfile Off (Apache's default; on here): the bytes go through
        (tmp_path / "off").mkdir()
        (tmp_path / "off" / "big.bin").write_bytes(data)
        app_ = app
        app = Dispatcher.build(Directory(str(tmp_path / "off"), EnableSendfile="Off"),
                               DocumentRoot=str(tmp_path))
        r, regions, _ = run("GET", "/off/big.bin")
        assert r.body == data and regions == []
        app = app_
    r, regions, outcome = run("GET", "/big.bin", ("Range", "bytes=10-%d" % (len(data) - 1)))
    assert r.status == 206 and r.body == data[10:] and outcome.bytes_sent == len(data) - 10
    assert regions == ([] if whole_bytes else [(10, len(data) - 10)])
    for args in (("HEAD", "/big.bin"), ("GET", "/small.txt"),
                 ("GET", "/big.bin", ("Range", "bytes=0-1,5-9")),
                 ("GET", "/big.bin", ("Range", "bytes=0-99"))):
        r, regions, _ = run(*args)
        assert r.status in (200, 206) and regions == []

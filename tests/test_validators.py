"""Validators, ranges and body limits of a handler's response, as a private
Apache 2.4.71 + mod_python 3.5 answered them for this exact site
(tests/sites/validators), asserted against ``fastdispatch serve``:

* ``req.set_etag()`` names req.finfo's file (``"size-mtime"``, mtime in
  microseconds), a file assigned with ``req.finfo = apache.stat(...)``, or,
  for a name with no file, the mtime alone of its directory;
* ``req.meets_conditions()`` answers 304 to a matching If-None-Match;
* a handler's response that arrives whole is ranged (206, multipart) as
  Apache's byterange filter ranges it; a flushed one goes whole;
* a directory's LimitRequestBody holds for ``req.read()`` (Apache: 500, its
  read error; fastdispatch: 413, as for the server's limit, see README).

Also the parts that need no server: HTTP dates as APR reads them, the
constants of mod_python.apache, finfo's tuple indexes."""
import os
import re

import pytest

from fastdispatch import apache
from fastdispatch.httpdate import parse_http_date
from serverproc import Conn, ServerProcess, copy_site, request

JAN_2020 = 1577836800       # realfile's mtime (set by the fixture, as in the capture)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    d = tmp_path_factory.mktemp("validators")
    conf = copy_site("validators", d)
    os.utime(d / "v" / "realfile", (JAN_2020, JAN_2020))
    srv = ServerProcess(["serve", "--config", str(conf), "--port", "0", "--workers", "1"])
    srv.site = d
    yield srv
    srv.stop()


def get(server, path, **kw):
    return request(server.port, "GET", path, **kw)


def test_set_etag_names_the_file(server):
    r = get(server, "/v/realfile")
    assert r.status == 200
    assert r.header("ETag") == '"5-59b08c1fa4000"'      # Apache's, byte for byte
    assert r.body == b"filetype=1 mtime=0.0 size=5\n"


def test_a_matching_if_none_match_is_304(server):
    r = get(server, "/v/realfile", headers=[("If-None-Match", '"5-59b08c1fa4000"')])
    assert r.status == 304 and r.body == b""
    assert r.header("ETag") == '"5-59b08c1fa4000"'


def test_without_a_file_the_etag_is_the_directory_mtime(server):
    mtime_us = os.stat(server.site / "v").st_mtime_ns // 1000
    r = get(server, "/v/nofile")
    assert r.header("ETag") == '"%x"' % mtime_us
    assert r.body == b"filetype=0 mtime=0.0 size=None\n"
    # update_mtime() changes neither; it keeps whole seconds, as mod_python
    r = get(server, "/v/nofile?mtime=1577836801.7")
    assert r.header("ETag") == '"%x"' % mtime_us
    assert r.body == b"filetype=0 mtime=1577836801.0 size=None\n"


def test_an_assigned_finfo_gives_the_validators(server):
    r = get(server, "/v/nofile?finfo")
    assert r.status == 200
    assert r.header("ETag") == '"5-59b08c1fa4000"'
    assert r.header("Last-Modified") == "Wed, 01 Jan 2020 00:00:00 GMT"
    assert r.body == b"filetype=1 mtime=1577836800.0 size=5\n"
    r = get(server, "/v/nofile?finfo", headers=[("If-None-Match", '"5-59b08c1fa4000"')])
    assert r.status == 304


def test_a_whole_handler_response_is_ranged(server):
    r = get(server, "/pub/page.py", headers=[("Range", "bytes=6-9")])
    assert r.status == 206
    assert r.header("Content-Range") == "bytes 6-9/23"
    assert r.body == b"0123"
    r = get(server, "/pub/page.py", headers=[("Range", "bytes=0-1,6-7")])
    assert r.status == 206
    ctype = r.header("Content-Type")
    boundary = re.fullmatch(r"multipart/byteranges; boundary=([0-9a-f]+)", ctype).group(1)
    assert r.body == ("\r\n--{b}\r\nContent-type: text/html\r\nContent-range: bytes 0-1/23"
                      "\r\n\r\n<h\r\n--{b}\r\nContent-type: text/html\r\nContent-range: "
                      "bytes 6-7/23\r\n\r\n01\r\n--{b}--\r\n").format(b=boundary).encode()
    assert get(server, "/pub/page.py", headers=[("Range", "bytes=99-")]).status == 416
    r = get(server, "/pub/page.py", headers=[("Range", "bytes=6-9"), ("If-Range", '"other"')])
    assert (r.status, r.body) == (200, b"<html>0123456789</html>")


@pytest.mark.parametrize("chunked", [False, True], ids=["length", "chunked"])
def test_directory_body_limit_holds_for_req_read(server, chunked):
    body = b"0123456789"
    assert request(server.port, "POST", "/small/x", body=body).body == b"read 10"
    with Conn(server.port) as c:
        if chunked:
            c.send(b"POST /small/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                   b"b\r\n0123456789a\r\n0\r\n\r\n")
        else:
            c.send(b"POST /small/x HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n"
                   b"0123456789a")
        r = c.read_response()
        assert r.status == 413
        assert r.header("Connection") == "close"


@pytest.mark.parametrize("text, expected", [
    ("Wed, 01 Jan 2020 00:00:00 GMT", JAN_2020),
    ("Wed, 1 Jan 2020 00:00:00 GMT", JAN_2020),             # one-digit day
    ("Wednesday, 01-Jan-20 00:00:00 GMT", JAN_2020),        # RFC 850
    ("Wed Jan  1 00:00:00 2020", JAN_2020),                 # asctime
    ("Thu, 01 Jan 1970 00:00:00 GMT", 0),
    ("Sun, 06 Nov 1994 08:49:37 XYZ", 784111777),           # the zone is not read
    ("Wed, 01 Jan 2020 00:00:00", None),                    # no zone: no space after the time
    ("wed, 01 jan 2020 00:00:00 gmt", None),                # month names are case-sensitive
    ("Wed, 01 JAN 2020 00:00:00 GMT", None),
    ("Wed, 31 Apr 2020 00:00:00 GMT", None),
    ("Sat, 29 Feb 2020 00:00:00 GMT", 1582934400),
    ("Fri, 29 Feb 2019 00:00:00 GMT", None),
    ("Wed, 01 Jan 2020 24:00:00 GMT", None),
    ("Wed, 01 Jan 1820 00:00:00 GMT", None),
    ("2020-01-01T00:00:00Z", None),
    ("", None),
    ("   ", None),
])
def test_http_dates_as_apr_reads_them(text, expected):
    assert parse_http_date(text) == expected


def test_documented_constants():
    # pythonapi.rst's own examples use these
    assert (apache.APR_NOFILE, apache.APR_REG, apache.APR_DIR, apache.APR_UNKFILE) == \
        (0, 1, 2, 127)
    assert apache.APR_FINFO_MIN == 0x8170 and apache.APR_FINFO_NORM == 0x73B170
    assert (apache.URI_PATH, apache.URI_QUERY, apache.FINFO_MTIME, apache.FINFO_SIZE) == \
        (6, 7, 8, 6)
    assert (apache.AP_CONN_KEEPALIVE, apache.PROXYREQ_NONE, apache.REQ_ABORTED,
            apache.REQUEST_NO_BODY, apache.DIR_MAGIC_TYPE) == \
        (2, 0, 500, 0, "httpd/unix-directory")


def test_finfo_as_a_tuple(tmp_path):
    f = tmp_path / "f"
    f.write_bytes(b"abc")
    info = apache.stat(str(f), apache.APR_FINFO_MIN)
    assert info[apache.FINFO_SIZE] == 3 == info.size == info["size"]
    assert info[apache.FINFO_MTIME] == info.mtime
    assert info[apache.FINFO_FNAME] == str(f)
    with pytest.raises(IndexError):
        info[apache.FINFO_FILETYPE]         # (mod_python's tuple stops before it)


@pytest.mark.parametrize("body_head, body", [
    ("Transfer-Encoding: chunked", b"zz\r\nabc\r\n0\r\n\r\n"),     # malformed: 400
    ("Content-Length: 11", b"0123456789a"),                        # over the limit: 413
], ids=["bad-chunk", "over-limit"])
def test_a_body_the_handler_left_unread(server, body_head, body):
    """Apache reads and drops an unread body before a whole response's head
    (ap_finalize_request_protocol): a body that cannot be read is answered
    with its error instead, close-delimited; once the head has gone out
    (a flushed write), the connection just closes after the response. The
    request pipelined behind it is not served either way."""
    status = 400 if "chunked" in body_head else 413
    for query, expected in (("noread", status), ("noread-flush", 200)):
        with Conn(server.port) as c:
            c.send(("POST /small/x?%s HTTP/1.1\r\nHost: x\r\n%s\r\n\r\n"
                    % (query, body_head)).encode() + body
                   + b"GET /small/x?noread HTTP/1.1\r\nHost: x\r\n\r\n")
            r = c.read_response()
            assert r.status == expected
            if expected != 200:
                assert r.header("Content-Length") is None
                assert r.header("Connection") == "close"
            assert c.is_closed()
    # a body that reads well is dropped, and the connection goes on
    with Conn(server.port) as c:
        c.send(b"POST /small/x?noread HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n01234"
               b"GET /small/x?noread HTTP/1.1\r\nHost: x\r\n\r\n")
        assert c.read_response().body == b"not read"
        assert c.read_response().body == b"not read"

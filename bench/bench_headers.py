"""_headers: compiled vs pure twin vs plain-Python peers, in one run.

Run (all groups):
    python -m pytest bench/bench_http.py bench/bench_headers.py --benchmark-only \
        --benchmark-group-by=group --benchmark-columns=min,median,mean,ops

Which lines of the compiled module still touch Python objects:
    FASTDISPATCH_ANNOTATE=1 python setup.py build_ext --inplace --force
    (writes src/_headers.html)

Peers: what one would write without a table type or a head builder:
- a dict with lower-cased keys for the 12 request headers (no duplicates, no
  original spelling, no order guarantees for duplicates: less than a Table);
- one %-format of the status line, Date and 5 headers, encoded.
"""
import email.utils

import pytest

from fastdispatch import _speedups

PURE = _speedups.load_pure("_headers")
COMPILED = _speedups.load_compiled("_headers")

IMPLS = [pytest.param(PURE, id="pure")]
if COMPILED is not None:
    IMPLS.insert(0, pytest.param(COMPILED, id="compiled"))

# The 12 headers of a browser request, as parse_head returns them.
REQUEST_HEADERS = [
    ("Host", "www.example.com"),
    ("Connection", "keep-alive"),
    ("Cache-Control", "max-age=0"),
    ("Upgrade-Insecure-Requests", "1"),
    ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                   "Chrome/120.0.0.0 Safari/537.36"),
    ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,"
               "image/webp,*/*;q=0.8"),
    ("Sec-Fetch-Site", "none"),
    ("Sec-Fetch-Mode", "navigate"),
    ("Sec-Fetch-User", "?1"),
    ("Sec-Fetch-Dest", "document"),
    ("Accept-Encoding", "gzip, deflate, br"),
    ("Accept-Language", "en-GB,en;q=0.9"),
]

# What a handler typically sets: 5 headers.
RESPONSE_HEADERS = [
    ("Last-Modified", "Thu, 26 Nov 2026 10:40:03 GMT"),
    ("ETag", '"1000-6612b90f75c5d"'),
    ("Accept-Ranges", "bytes"),
    ("Cache-Control", "no-cache"),
    ("Set-Cookie", "session=abc123; Path=/; HttpOnly"),
]
BODY = b"<html><body>Hello World!</body></html>\n"


# ---------------------------------------------------------------------------
# headers_in: build from the parsed list, then what a request reads from it

def table_in(mod):
    t = mod.Table(REQUEST_HEADERS)
    return t.get("host"), t.get("Content-Length"), t.get("connection"), t.get("Cookie")


def dict_in():
    d = {n.lower(): v for n, v in REQUEST_HEADERS}
    return d.get("host"), d.get("content-length"), d.get("connection"), d.get("cookie")


@pytest.mark.benchmark(group="headers: headers_in from 12 headers + 4 lookups")
@pytest.mark.parametrize("mod", IMPLS)
def test_headers_in(benchmark, mod):
    assert benchmark(table_in, mod) == dict_in()


@pytest.mark.benchmark(group="headers: headers_in from 12 headers + 4 lookups")
def test_headers_in_dict(benchmark):
    benchmark(dict_in)


# ---------------------------------------------------------------------------
# headers_out: what a handler does to it

def table_out(mod):
    t = mod.Table()
    t["Content-Type"] = "text/html"
    for n, v in RESPONSE_HEADERS:
        t.add(n, v)
    t["Cache-Control"] = "private"
    return t.items()


@pytest.mark.benchmark(group="headers: headers_out, 7 writes + items()")
@pytest.mark.parametrize("mod", IMPLS)
def test_headers_out(benchmark, mod):
    items = benchmark(table_out, mod)
    assert len(items) == 6


# ---------------------------------------------------------------------------
# the response head: status line, Date, Server, 5 headers, framing, body

def head(mod):
    return mod.build_response_head(
        11, 200, RESPONSE_HEADERS, content_length=len(BODY), keep_alive=True,
        server="Apache/2.4.71 (Debian)", keep_alive_header="timeout=5, max=100",
        content_type="text/html", body=BODY)


def percent_format():
    return ((
        "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: %s\r\n%s: %s\r\n%s: %s\r\n%s: %s\r\n%s: %s\r\n"
        "%s: %s\r\nContent-Length: %d\r\nKeep-Alive: %s\r\nConnection: Keep-Alive\r\n"
        "Content-Type: %s\r\n\r\n") % (
        200, "OK", email.utils.formatdate(usegmt=True), "Apache/2.4.71 (Debian)",
        "Last-Modified", "Thu, 26 Nov 2026 10:40:03 GMT", "ETag", '"1000-6612b90f75c5d"',
        "Accept-Ranges", "bytes", "Cache-Control", "no-cache",
        "Set-Cookie", "session=abc123; Path=/; HttpOnly", len(BODY), "timeout=5, max=100",
        "text/html")).encode("latin-1") + BODY


@pytest.mark.benchmark(group="headers: response head, 5 headers + status line + body")
@pytest.mark.parametrize("mod", IMPLS)
def test_response_head(benchmark, mod):
    out = benchmark(head, mod)
    assert len(out) == len(percent_format())


@pytest.mark.benchmark(group="headers: response head, 5 headers + status line + body")
def test_response_head_percent_format(benchmark):
    benchmark(percent_format)


# ---------------------------------------------------------------------------
# Date, cached per second

@pytest.mark.benchmark(group="headers: Date header value (now)")
@pytest.mark.parametrize("mod", IMPLS)
def test_http_date(benchmark, mod):
    benchmark(mod.http_date)


@pytest.mark.benchmark(group="headers: Date header value (now)")
def test_http_date_email_utils(benchmark):
    benchmark(email.utils.formatdate, usegmt=True)

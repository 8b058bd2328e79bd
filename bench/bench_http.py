"""_http: compiled vs pure twin vs peers (httptools, h11), in one run.

Run (all groups):
    python -m pytest bench/bench_http.py bench/bench_headers.py --benchmark-only \
        --benchmark-group-by=group --benchmark-columns=min,median,mean,ops

Which lines of the compiled module still touch Python objects:
    FASTDISPATCH_ANNOTATE=1 python setup.py build_ext --inplace --force
    (writes src/_http.html; the scanning loops must be white)

The peers do the job their usual way:
- httptools: one HttpRequestParser per connection (reused, as a keep-alive
  connection would), Python callbacks building a dict of the headers plus
  method, URL and version; that is what a server on httptools pays per request.
- h11: a new Connection per head (receive_data + next_event -> Request); h11
  lower-cases names and validates with regexes, as our pure twin does.
"""
import pytest

from fastdispatch import _speedups

PURE = _speedups.load_pure("_http")
COMPILED = _speedups.load_compiled("_http")

IMPLS = [pytest.param(PURE, id="pure")]
if COMPILED is not None:
    IMPLS.insert(0, pytest.param(COMPILED, id="compiled"))

# A realistic browser request: 12 header fields, 580 bytes.
BROWSER = (
    b"GET /app/page.py/func?name=Jane&x=1 HTTP/1.1\r\n"
    b"Host: www.example.com\r\n"
    b"Connection: keep-alive\r\n"
    b"Cache-Control: max-age=0\r\n"
    b"Upgrade-Insecure-Requests: 1\r\n"
    b"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    b"Chrome/120.0.0.0 Safari/537.36\r\n"
    b"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,"
    b"image/webp,*/*;q=0.8\r\n"
    b"Sec-Fetch-Site: none\r\n"
    b"Sec-Fetch-Mode: navigate\r\n"
    b"Sec-Fetch-User: ?1\r\n"
    b"Sec-Fetch-Dest: document\r\n"
    b"Accept-Encoding: gzip, deflate, br\r\n"
    b"Accept-Language: en-GB,en;q=0.9\r\n"
    b"\r\n"
)

SMALL = b"GET / HTTP/1.1\r\nHost: localhost:8080\r\n\r\n"


def _chunked(payload, size):
    out = b"".join(b"%x\r\n" % len(payload[i:i + size]) + payload[i:i + size] + b"\r\n"
                   for i in range(0, len(payload), size))
    return out + b"0\r\n\r\n"


PAYLOAD = bytes(range(256)) * 256                 # 64 KiB
CHUNKED = _chunked(PAYLOAD, 4096)
RECV = [CHUNKED[i:i + 16384] for i in range(0, len(CHUNKED), 16384)]   # 16 KiB reads


# ---------------------------------------------------------------------------
# peers

class _DictProto:
    """httptools callbacks that build what parse_head returns."""
    __slots__ = ("url", "headers", "done")

    def __init__(self):
        self.url = None
        self.headers = {}
        self.done = False

    def on_message_begin(self):
        self.url = None
        self.headers = {}
        self.done = False

    def on_url(self, url):
        self.url = url.decode("latin-1")

    def on_header(self, name, value):
        self.headers[name.decode("latin-1")] = value.decode("latin-1")

    def on_headers_complete(self):
        self.done = True


def _httptools_parser():
    httptools = pytest.importorskip("httptools")
    proto = _DictProto()
    return proto, httptools.HttpRequestParser(proto)


def httptools_head(proto, parser, data):
    parser.feed_data(data)
    return (parser.get_method().decode("latin-1"), proto.url,
            parser.get_http_version(), proto.headers, parser.should_keep_alive())


def h11_head(data):
    import h11
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(data)
    return conn.next_event()


# ---------------------------------------------------------------------------
# the 12-header browser head

@pytest.mark.benchmark(group="http: 12-header browser head")
@pytest.mark.parametrize("mod", IMPLS)
def test_browser_head(benchmark, mod):
    head, end = benchmark(mod.parse_head, BROWSER)
    assert end == len(BROWSER) and len(head.headers) == 12


@pytest.mark.benchmark(group="http: 12-header browser head")
def test_browser_head_httptools(benchmark):
    proto, parser = _httptools_parser()
    result = benchmark(httptools_head, proto, parser, BROWSER)
    assert proto.done and len(result[3]) == 12


@pytest.mark.benchmark(group="http: 12-header browser head")
def test_browser_head_h11(benchmark):
    pytest.importorskip("h11")
    ev = benchmark(h11_head, BROWSER)
    assert len(ev.headers) == 12


# ---------------------------------------------------------------------------
# a minimal head

@pytest.mark.benchmark(group="http: minimal head (GET / + Host)")
@pytest.mark.parametrize("mod", IMPLS)
def test_small_head(benchmark, mod):
    head, end = benchmark(mod.parse_head, SMALL)
    assert end == len(SMALL)


@pytest.mark.benchmark(group="http: minimal head (GET / + Host)")
def test_small_head_httptools(benchmark):
    proto, parser = _httptools_parser()
    benchmark(httptools_head, proto, parser, SMALL)
    assert proto.done


@pytest.mark.benchmark(group="http: minimal head (GET / + Host)")
def test_small_head_h11(benchmark):
    pytest.importorskip("h11")
    benchmark(h11_head, SMALL)


# ---------------------------------------------------------------------------
# an incomplete head (what a trickling client costs per recv)

@pytest.mark.benchmark(group="http: incomplete head (browser head minus last CRLF)")
@pytest.mark.parametrize("mod", IMPLS)
def test_incomplete_head(benchmark, mod):
    assert benchmark(mod.parse_head, BROWSER[:-2]) == (None, 0)


# ---------------------------------------------------------------------------
# chunked body: 64 KiB in 4 KiB chunks, received in 16 KiB reads

def decode(mod):
    r = mod.ChunkedReader()
    out = [r.feed(piece) for piece in RECV]
    assert r.done
    return out


@pytest.mark.benchmark(group="http: chunked body 64 KiB (4 KiB chunks, 16 KiB reads)")
@pytest.mark.parametrize("mod", IMPLS)
def test_chunked_body(benchmark, mod):
    out = benchmark(decode, mod)
    assert b"".join(out) == PAYLOAD


@pytest.mark.benchmark(group="http: chunked body 64 KiB (4 KiB chunks, 16 KiB reads)")
def test_chunked_body_h11(benchmark):
    h11 = pytest.importorskip("h11")
    head = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"

    def run():
        conn = h11.Connection(h11.SERVER)
        conn.receive_data(head)
        conn.next_event()
        out = []
        for piece in RECV:
            conn.receive_data(piece)
            while True:
                ev = conn.next_event()
                if ev is h11.NEED_DATA or isinstance(ev, h11.EndOfMessage):
                    break
                out.append(ev.data)
        return out

    out = benchmark(run)
    assert b"".join(out) == PAYLOAD

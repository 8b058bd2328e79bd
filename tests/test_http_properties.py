"""Property tests: the compiled _http/_headers give exactly the pure twins' answers.

Generated inputs, well-formed and hostile: the same result, or the same
HTTPError status and detail (or the same exception type), for every input. Also checks
generated well-formed requests against h11 as an independent oracle. Bounded:
about 200 examples per property, no deadline.
"""
import os
import re

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from fastdispatch import _speedups
from fastdispatch.errors import HTTPError

pure_http = _speedups.load_pure("_http")
pure_headers = _speedups.load_pure("_headers")
comp_http = _speedups.load_compiled("_http")
comp_headers = _speedups.load_compiled("_headers")

needs_http = pytest.mark.skipif(
    comp_http is None or _speedups.NO_EXTENSIONS, reason="fastdispatch._http not compiled")
needs_headers = pytest.mark.skipif(
    comp_headers is None or _speedups.NO_EXTENSIONS,
    reason="fastdispatch._headers not compiled")

# FASTDISPATCH_HYPOTHESIS_EXAMPLES raises the bound for a longer hunt.
SETTINGS = settings(max_examples=int(os.environ.get("FASTDISPATCH_HYPOTHESIS_EXAMPLES", "200")),
                    deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def outcome(fn, *args, **kw):
    """A comparable summary of calling fn: its result or its exception."""
    try:
        return ("ok", fn(*args, **kw))
    except HTTPError as exc:
        # the detail too: the server shows some (limit notes, the Expect value)
        return ("http-error", exc.status, exc.detail)
    except Exception as exc:          # the same exception type, whatever it is
        return ("error", type(exc).__name__)


def head_summary(result):
    head, end = result
    if head is None:
        return None, end
    return (head.method, head.target, head.version, head.version_num, head.headers,
            head.content_length, head.chunked, head.keep_alive, head.expect_continue,
            head.request_line, head.plain_headers, head.plain_line), end


def parse_both(data, **kw):
    a = outcome(lambda: head_summary(pure_http.parse_head(data, **kw)))
    b = outcome(lambda: head_summary(comp_http.parse_head(data, **kw)))
    return a, b


# ---------------------------------------------------------------------------
# strategies: request heads, from well-formed to hostile

TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
token = st.text(alphabet=TCHARS, min_size=1, max_size=12).map(str.encode)
nasty_byte = st.sampled_from(b"\x00\x01\t\r\n \x7f\x80\xff:;,\"()[]{}/@?=\\")
nasty = st.lists(st.one_of(nasty_byte.map(lambda c: bytes([c])), token),
                 max_size=6).map(b"".join)

method = st.one_of(st.sampled_from([b"GET", b"POST", b"HEAD", b"PUT", b"OPTIONS"]),
                   token, nasty)
target = st.one_of(
    st.sampled_from([b"/", b"*", b"/a%20b?x=1&y=2", b"http://h/p?q", b"/\xe9t\xe9"]),
    st.binary(min_size=0, max_size=20),
    st.text(alphabet="/abc%?=&.~-_", min_size=1, max_size=20).map(str.encode))
version = st.one_of(
    st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"HTTP/1.2", b"HTTP/0.9",
                     b"http/1.1", b"HTTP/1", b"HTTP/3.0", b"HTTP/1.10", b""]),
    st.tuples(st.integers(0, 255), st.integers(0, 255)).map(
        lambda d: b"HTTP/%c.%c" % d),
    st.binary(max_size=9))
sep = st.sampled_from([b" ", b" ", b" ", b"  ", b"\t", b""])
eol = st.sampled_from([b"\r\n", b"\r\n", b"\r\n", b"\n", b"\r", b"\r\r\n"])

header_name = st.one_of(
    st.sampled_from([b"Host", b"Content-Length", b"Transfer-Encoding", b"Connection",
                     b"Expect", b"host", b"CONTENT-LENGTH", b"Accept", b"X-A"]),
    token, nasty)
header_value = st.one_of(
    st.sampled_from([b"h", b"example.com:80", b"5", b"0", b"007", b"-1", b"5, 5", b"",
                     b"chunked", b"gzip, chunked", b"Chunked", b"foo", b"close",
                     b"keep-alive", b"Keep-Alive, close", b"100-continue", b"bad host",
                     b"[::1]:8080", b"99999999999999999999", b"1000000000000000000"]),
    st.binary(max_size=16))
colon = st.sampled_from([b": ", b":", b" : ", b":\t", b"", b"::"])
header_line = st.tuples(st.sampled_from([b"", b"", b"", b" ", b"\t"]), header_name, colon,
                        header_value, st.sampled_from([b"", b"", b" ", b"\t "])
                        ).map(b"".join)


@st.composite
def mutate(draw, data):
    """0-2 random byte edits (insert, replace, delete) of well-formed input."""
    data = bytearray(data)
    for _ in range(draw(st.integers(0, 2))):
        i = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["insert", "replace", "delete"]))
        c = draw(st.one_of(nasty_byte, st.integers(0, 255)))
        if kind == "insert":
            data[i:i] = bytes([c])
        elif i < len(data):
            if kind == "replace":
                data[i] = c
            else:
                del data[i]
    return bytes(data)


safe_value = st.text(alphabet=TCHARS + " ,;=/", max_size=12).map(str.encode)


@st.composite
def good_head(draw):
    e = b"\r\n"
    v = draw(st.sampled_from([b"HTTP/1.1", b"HTTP/1.1", b"HTTP/1.0", b"HTTP/1.2",
                              b"HTTP/2.0"]))
    m = draw(st.sampled_from([b"GET", b"POST", b"HEAD", b"PUT", b"DELETE", b"PRI"]))
    t = b"/" + draw(st.text(alphabet="abc%20?=&/.~_-", max_size=15)).encode()
    lines = [m + b" " + t + b" " + v]
    if v != b"HTTP/1.0" or draw(st.booleans()):
        lines.append(b"Host: " + draw(st.sampled_from([b"h", b"example.com:8080",
                                                      b"[::1]", b"127.0.0.1"])))
    for _ in range(draw(st.integers(0, 6))):
        name = draw(st.one_of(token, st.sampled_from(
            [b"Connection", b"Expect", b"Content-Length", b"Transfer-Encoding", b"Accept"])))
        value = draw(st.one_of(safe_value, header_value))
        lines.append(name + b":" + draw(st.sampled_from([b" ", b"", b"\t "])) + value)
    return b"".join(ln + e for ln in lines) + e + draw(st.binary(max_size=8))


@st.composite
def hostile_head(draw):
    e = draw(eol)
    line = draw(method) + draw(sep) + draw(target) + draw(sep) + draw(version)
    lines = [line] + draw(st.lists(header_line, max_size=8))
    mixed = draw(st.booleans())
    out = draw(st.sampled_from([b"", b"\r\n", b"\n", b"\r\n\n", b"\r"]))
    for ln in lines:
        out += ln + (draw(eol) if mixed else e)
    out += draw(eol) if mixed else e
    out += draw(st.binary(max_size=8))                    # body / next request
    return out


def request_head():
    return st.one_of(good_head(), good_head().flatmap(mutate), hostile_head())


@st.composite
def cut(draw, data_strategy):
    data = draw(data_strategy)
    i = draw(st.integers(0, len(data)))
    return data[:i] if draw(st.booleans()) else data


limits = st.one_of(st.just({}), st.fixed_dictionaries({}, optional={
    "max_line": st.integers(0, 60),
    "max_field_size": st.integers(0, 40),
    "max_fields": st.integers(0, 8),
}))


@needs_http
@SETTINGS
@given(cut(request_head()), limits)
def test_parse_head_same_on_generated_heads(data, kw):
    a, b = parse_both(data, **kw)
    assert a == b


@needs_http
@SETTINGS
@given(st.binary(max_size=200), st.integers(0, 10))
def test_parse_head_same_on_random_bytes(data, start):
    a, b = parse_both(data, start=start)
    assert a == b
    a, b = parse_both(bytearray(data), start=start)
    assert a == b


@needs_http
@SETTINGS
@given(request_head(), st.integers(0, 30))
def test_parse_head_same_with_start_and_bytearray(data, start):
    prefix = b"x" * start
    a, b = parse_both(bytearray(prefix + data), start=start)
    assert a == b
    c, _ = parse_both(data)
    if a[0] == "ok" and c[0] == "ok" and a[1][0] is not None and c[1][0] is not None:
        assert a[1][0] == c[1][0] and a[1][1] == c[1][1] + start


@needs_http
@SETTINGS
@given(request_head())
def test_parse_head_prefixes_never_disagree(data):
    """Any prefix is incomplete, the same error, or (once whole) the same head."""
    final = outcome(lambda: head_summary(pure_http.parse_head(data)))
    for i in range(0, len(data) + 1, max(1, len(data) // 15)):
        a, b = parse_both(data[:i])
        assert a == b
        if a[0] == "ok" and a[1][0] is not None and final[0] == "ok":
            assert a[1][0] == final[1][0]


def _both_http_modules():
    return [m for m in (pure_http, comp_http) if m is not None and not (
        m is comp_http and _speedups.NO_EXTENSIONS)]


@SETTINGS
@given(good_head(), st.data())
def test_a_bare_lf_anywhere_in_the_head_is_400(data, draw):
    """CRLF only: turn any one CRLF of an accepted head into LF -> 400, in both."""
    assume(outcome(pure_http.parse_head, data)[0] == "ok")
    head_end = data.index(b"\r\n\r\n") + 4
    crlfs = [i for i in range(head_end - 1) if data[i:i + 2] == b"\r\n"]
    i = draw.draw(st.sampled_from(crlfs))
    bad = data[:i] + data[i + 1:]
    for mod in _both_http_modules():
        with pytest.raises(HTTPError) as info:
            mod.parse_head(bad)
        assert info.value.status in (400, 414), bad


@SETTINGS
@given(st.integers(0, 9), st.integers(0, 9), st.booleans())
def test_versions_as_apache(major, minor, host):
    """HTTP/<digit>.<digit>: 400 below 1.0; 10 for 1.0; 11 above, text kept."""
    version = b"HTTP/%d.%d" % (major, minor)
    data = b"GET / " + version + b"\r\n" + (b"Host: h\r\n" if host else b"") + b"\r\n"
    for mod in _both_http_modules():
        result = outcome(mod.parse_head, data)
        if major == 0 or (not host and (major, minor) != (1, 0)):
            assert result[:2] == ("http-error", 400)
        else:
            head = result[1][0]
            assert head.version == version.decode()
            assert head.version_num == (10 if (major, minor) == (1, 0) else 11)


# ---------------------------------------------------------------------------
# h11 as an oracle on well-formed requests

h11 = pytest.importorskip("h11")

field_value = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7e),
                      min_size=1, max_size=10)
good_header = st.tuples(
    st.text(alphabet=TCHARS, min_size=1, max_size=10).filter(
        lambda n: n.lower() not in ("host", "content-length", "transfer-encoding",
                                    "expect", "connection")),
    st.lists(field_value, min_size=0, max_size=3).map(" ".join))


@st.composite
def good_request(draw):
    m = draw(st.text(alphabet=TCHARS, min_size=1, max_size=8))
    t = "/" + draw(st.text(alphabet="abc%20?=&/.~_-", max_size=20))
    hdrs = [("Host", "example.com")] + draw(st.lists(good_header, max_size=10))
    body = draw(st.binary(max_size=20))
    if body:
        hdrs.append(("Content-Length", str(len(body))))
    ows = draw(st.sampled_from(["", " ", "\t", "  "]))
    raw = "%s %s HTTP/1.1\r\n" % (m, t)
    raw += "".join("%s:%s%s%s\r\n" % (n, ows, v, ows) for n, v in hdrs) + "\r\n"
    return raw.encode("latin-1") + body, hdrs, body


@SETTINGS
@given(good_request())
def test_well_formed_requests_match_h11(req):
    data, hdrs, body = req
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(data)
    ev = conn.next_event()
    assert isinstance(ev, h11.Request)
    for mod in filter(None, (pure_http, comp_http)):
        head, end = mod.parse_head(data)
        assert head.method == ev.method.decode()
        assert head.target == ev.target.decode()
        assert head.headers == [(n.decode(), v.decode()) for n, v in ev.headers.raw_items()]
        assert head.headers == [(n, v.strip(" \t")) for n, v in hdrs]
        assert data[end:end + max(head.content_length, 0)] == body


# ---------------------------------------------------------------------------
# ChunkedReader

chunk_size_line = st.one_of(
    st.integers(0, 40).map(lambda n: b"%x" % n),
    st.sampled_from([b"", b"g", b"-1", b"0x5", b"5 ", b" 5", b"ffffffffffffffff",
                     b"11111111111111111", b"0000000000000003"]),
)
chunk_ext = st.one_of(st.just(b""), st.just(b";a=b"), st.just(b" ;x"),
                      st.binary(max_size=6).map(lambda b: b";" + b))
chunk_eol = st.sampled_from([b"\r\n", b"\r\n", b"\r\n", b"\n", b"\r", b""])


@st.composite
def good_chunked(draw):
    out = b""
    for _ in range(draw(st.integers(0, 4))):
        n = draw(st.integers(1, 30))
        out += draw(st.sampled_from([b"%x", b"%X", b"00%x"])) % n
        out += draw(st.sampled_from([b"", b"", b";a=b", b";x"])) + b"\r\n"
        out += draw(st.binary(min_size=n, max_size=n)) + b"\r\n"
    out += b"0\r\n"
    for _ in range(draw(st.integers(0, 2))):
        out += draw(token) + b": " + draw(safe_value) + b"\r\n"
    return out + b"\r\n" + draw(st.binary(max_size=6))


@st.composite
def hostile_chunked(draw):
    out = b""
    for _ in range(draw(st.integers(0, 4))):
        n = draw(st.integers(1, 20))
        out += b"%x" % n + draw(chunk_ext) + draw(chunk_eol)
        out += draw(st.binary(min_size=n, max_size=n)) + draw(chunk_eol)
    if draw(st.booleans()):          # something hostile in the middle
        out += draw(chunk_size_line) + draw(chunk_ext) + draw(chunk_eol)
        out += draw(st.binary(max_size=6)) + draw(chunk_eol)
    out += b"0" + draw(chunk_ext) + draw(chunk_eol)
    for _ in range(draw(st.integers(0, 2))):
        out += draw(header_line) + draw(chunk_eol)
    out += draw(chunk_eol) + draw(st.binary(max_size=6))
    return out


def chunked_body():
    return st.one_of(good_chunked(), good_chunked().flatmap(mutate), hostile_chunked())


def run_reader(mod, pieces, **kw):
    r = mod.ChunkedReader(**kw)
    outs = []
    for p in pieces:
        try:
            outs.append(r.feed(p))
        except HTTPError as exc:
            outs.append(("http-error", exc.status))
            break
    return outs, r.done, r.unused, r.trailers


@needs_http
@SETTINGS
@given(st.one_of(chunked_body(), st.binary(max_size=60)), st.lists(st.integers(0, 80)),
       st.fixed_dictionaries({}, optional={"max_chunk_line": st.integers(0, 8),
                                           "max_trailers_size": st.integers(0, 40)}))
def test_chunked_same_for_any_split(data, cuts, kw):
    points = sorted({min(c, len(data)) for c in cuts})
    pieces, last = [], 0
    for p in points:
        pieces.append(data[last:p])
        last = p
    pieces.append(data[last:])
    pure = run_reader(pure_http, pieces, **kw)
    comp = run_reader(comp_http, pieces, **kw)
    assert pure == comp
    # and the decoded body does not depend on how the input was split
    whole = run_reader(pure_http, [data], **kw)
    if not any(isinstance(o, tuple) for o in pure[0] + whole[0]):
        assert b"".join(pure[0]) == b"".join(whole[0]) and pure[1:] == whole[1:]


# ---------------------------------------------------------------------------
# Table: the same observable behaviour under random operations

keys = st.one_of(st.sampled_from(["Host", "host", "HOST", "Set-Cookie", "set-cookie", "X",
                                  "x", "\u212a", "K", "k", "\xc9", "\xe9", ""]),
                 st.text(max_size=4))
vals = st.text(max_size=4)
bad = st.one_of(st.none(), st.integers(), st.binary(max_size=2))
ops = st.lists(st.one_of(
    st.tuples(st.just("add"), keys, vals),
    st.tuples(st.just("set"), keys, vals),
    st.tuples(st.just("del"), keys),
    st.tuples(st.just("get"), keys),
    st.tuples(st.just("getitem"), st.one_of(keys, bad)),
    st.tuples(st.just("getall"), keys),
    st.tuples(st.just("contains"), st.one_of(keys, bad)),
    st.tuples(st.just("setdefault"), keys, vals),
    st.tuples(st.just("pop"), keys),
    st.tuples(st.just("update"), st.lists(st.tuples(keys, vals), max_size=3)),
    st.tuples(st.just("badset"), st.one_of(keys, bad), st.one_of(vals, bad)),
    st.tuples(st.just("copy")),
    st.tuples(st.just("clear")),
), max_size=25)


def apply_ops(mod, operations):
    t = mod.Table()
    log = []
    for op in operations:
        name, args = op[0], op[1:]
        if name == "add":
            r = outcome(t.add, *args)
        elif name in ("set", "badset"):
            r = outcome(t.__setitem__, *args)
        elif name == "del":
            r = outcome(t.__delitem__, *args)
        elif name == "get":
            r = outcome(t.get, *args)
        elif name == "getitem":
            r = outcome(t.__getitem__, *args)
        elif name == "getall":
            r = outcome(t.getall, *args)
        elif name == "contains":
            r = outcome(t.__contains__, *args)
        elif name == "setdefault":
            r = outcome(t.setdefault, *args)
        elif name == "pop":
            r = outcome(t.pop, *args)
        elif name == "update":
            r = outcome(t.update, mod.Table(args[0]))
        elif name == "copy":
            t = t.copy()
            r = None
        else:
            r = outcome(t.clear)
        log.append((r, t.items(), len(t), repr(t), list(t)))
    return log


@needs_headers
@SETTINGS
@given(ops)
def test_table_same_under_random_operations(operations):
    assert apply_ops(pure_headers, operations) == apply_ops(comp_headers, operations)


# ---------------------------------------------------------------------------
# build_response_head

hname = st.one_of(st.sampled_from(["Content-Type", "Set-Cookie", "X-A", "Location"]),
                  st.text(max_size=6))
hval = st.one_of(st.text(alphabet=st.characters(max_codepoint=0xff), max_size=12),
                 st.text(max_size=4), st.sampled_from(["a\r\nb", "x\n", "\r", "caf\xe9"]))
header_pairs = st.lists(st.one_of(st.tuples(hname, hval),
                                  st.tuples(hname, st.one_of(hval, bad))), max_size=6)
_DATE = re.compile(rb"\r\nDate: [^\r]*\r\n")


@needs_headers
@SETTINGS
@given(st.one_of(st.sampled_from([200, 204, 302, 304, 404, 413, 500, 299, 418]),
                 st.integers(0, 1100)),
       header_pairs,
       st.integers(-2, 10 ** 12), st.booleans(), st.booleans(),
       st.sampled_from(["", "Apache", "fastdispatch/0.1", "a\nb", "\xe9"]),
       st.sampled_from(["", "timeout=5, max=100", "x\r"]),
       st.sampled_from([None, "", "text/html", "text/plain; charset=\u20ac", "a\r\n"]),
       st.sampled_from([b"", b"hello", bytearray(b"ba"), memoryview(b"mv")]))
def test_build_response_head_same(status, pairs, cl, chunked, keep_alive, server, kah, ct,
                                  body):
    def build(mod):
        out = mod.build_response_head(
            11, status, pairs, content_length=cl, chunked=chunked, keep_alive=keep_alive,
            server=server, keep_alive_header=kah, content_type=ct, body=body)
        return _DATE.sub(b"\r\nDate: X\r\n", out, count=1)
    a = outcome(build, pure_headers)
    b = outcome(build, comp_headers)
    assert a == b


@needs_headers
@SETTINGS
@given(st.integers(0, 2 ** 33), st.floats(0, 2 ** 33, allow_nan=False))
def test_http_date_and_reason_same(ts, fts):
    assert pure_headers.http_date(ts) == comp_headers.http_date(ts)
    assert pure_headers.http_date(fts) == comp_headers.http_date(fts)
    status = ts % 1000
    assert pure_headers.reason_phrase(status) == comp_headers.reason_phrase(status)


@needs_headers
@SETTINGS
@given(st.lists(st.one_of(st.tuples(keys, vals), st.tuples(keys, vals),
                          st.tuples(st.one_of(keys, bad), st.one_of(vals, bad)),
                          st.tuples(keys), st.lists(keys, max_size=3)), max_size=6))
def test_table_init_forms_same(pairs):
    good = [p for p in pairs if len(p) == 2 and all(type(x) is str for x in p)]
    factories = [lambda: pairs, lambda: tuple(pairs), lambda: iter(pairs),
                 lambda: [list(p) for p in pairs], lambda: dict(good), lambda: good]
    for make in factories:
        a = outcome(lambda: pure_headers.Table(make()).items())
        b = outcome(lambda: comp_headers.Table(make()).items())
        assert a == b
        t1, t2 = pure_headers.Table([("Host", "x")]), comp_headers.Table([("Host", "x")])
        a = outcome(lambda: (t1.update(make()), t1.items()))
        b = outcome(lambda: (t2.update(make()), t2.items()))
        assert a == b

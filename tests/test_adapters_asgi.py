"""``Dispatcher.asgi()``: an ASGI 3 application. In-process on an asyncio
loop with hand-made scopes, and for real under uvicorn serving the
tutorial's site; blocking handlers run off the event loop."""
import asyncio
import base64
import hashlib
import threading
import time

import pytest

import hosting
from hosting import smtp_sink  # noqa: F401  (a fixture)
from serverproc import Conn

from fastdispatch import Dispatcher
from fastdispatch.adapters import asgi as asgi_mod
from fastdispatch.adapters.asgi import head_from_scope


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return hosting.embed_site(tmp_path_factory)


@pytest.fixture(scope="module")
def dispatcher(site):
    return Dispatcher.from_config(site)


@pytest.fixture(scope="module")
def app(dispatcher):
    return dispatcher.asgi(threads=16)


def scope(method="GET", path="/", query=b"", headers=(), version="1.1"):
    hdrs = [(b"host", b"localhost")] + [(k.lower().encode(), v.encode()) for k, v in headers]
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": version,
            "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
            "query_string": query, "root_path": "", "headers": hdrs,
            "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000)}


class Exchange:
    """The server's side of one request: body messages to give, what was sent."""

    def __init__(self, body_messages=(), disconnect_after=False):
        self.incoming = list(body_messages)
        self.disconnect_after = disconnect_after
        self.sent = []
        self.receives = 0

    async def receive(self):
        self.receives += 1
        if self.incoming:
            return self.incoming.pop(0)
        if self.disconnect_after:
            return {"type": "http.disconnect"}
        await asyncio.sleep(3600)

    async def send(self, msg):
        self.sent.append((time.monotonic(), msg))

    @property
    def status(self):
        return self.sent[0][1]["status"]

    @property
    def headers(self):
        return [(k.decode(), v.decode()) for k, v in self.sent[0][1]["headers"]]

    @property
    def body(self):
        return b"".join(m.get("body", b"") for _, m in self.sent[1:])


def run(app, sc, ex=None, timeout=20):
    ex = ex or Exchange()
    asyncio.run(asyncio.wait_for(app(sc, ex.receive, ex.send), timeout))
    return ex


def body_messages(data, size):
    pieces = [data[i:i + size] for i in range(0, len(data), size)] or [b""]
    return [{"type": "http.request", "body": p, "more_body": i < len(pieces) - 1}
            for i, p in enumerate(pieces)]


def test_hello_world(app):
    ex = run(app, scope(path="/mywebdir/myscript.py"))
    assert ex.status == 200 and ex.body == b"Hello World!"
    assert ("content-type", "text/plain") in ex.headers
    assert all(k == k.lower() for k, _ in ex.headers)          # ASGI: lower-case names
    assert not {k for k, _ in ex.headers} & {"date", "server", "transfer-encoding"}
    assert ex.sent[-1][1] == {"type": "http.response.body", "body": b"", "more_body": False}
    assert all(m["type"] == "http.response.body" for _, m in ex.sent[1:])


def test_unflushed_response_is_one_message(app):
    ex = run(app, scope(path="/feedback/form.html"))
    assert len(ex.sent) == 2 and ex.sent[1][1]["more_body"] is False
    assert ("content-length", str(len(ex.body))) in ex.headers


@pytest.mark.parametrize("size", [1, 1000, 1 << 20])
def test_body_in_messages(app, size):
    data = bytes(range(256)) * 40
    ex = Exchange(body_messages(data, size))
    run(app, scope("POST", "/probe/echo", headers=[("Content-Length", str(len(data)))]), ex)
    assert b"body=%d %s" % (len(data), hashlib.sha256(data).hexdigest().encode()) in ex.body


def test_chunked_body_and_readline(app):
    data = b"".join(b"line %d\n" % i for i in range(300))
    ex = Exchange(body_messages(data, 333))
    run(app, scope("POST", "/probe/pieces", headers=[("Transfer-Encoding", "chunked")]), ex)
    assert ex.body.startswith(b"read=%d lines=" % len(data))


def test_expect_continue_body_is_not_fetched_before_the_handler_reads(app):
    ex = Exchange(body_messages(b"abc", 10))
    run(app, scope("POST", "/probe/length", headers=[("Content-Length", "3"),
                                                     ("Expect", "100-continue")]), ex)
    assert ex.status == 200 and ex.receives == 0        # "length" never reads the body


def test_streaming_is_sent_as_written(app):
    ex = run(app, scope(path="/probe/stream", query=b"n=3&delay=0.3"))
    pieces = [(t, m["body"]) for t, m in ex.sent[1:] if m["body"]]
    assert [b for _, b in pieces] == [b"%d:xxxxxxxxxx\n" % i for i in range(3)]
    assert pieces[1][0] - pieces[0][0] >= 0.25 and pieces[2][0] - pieces[1][0] >= 0.25


def test_blocking_handler_does_not_block_the_loop(app):
    done = {}

    async def one(name, sc):
        ex = Exchange()
        await app(sc, ex.receive, ex.send)
        done[name] = time.monotonic()
        return ex

    async def main():
        ticks = []

        async def heartbeat():
            for _ in range(20):
                ticks.append(time.monotonic())
                await asyncio.sleep(0.05)
        t0 = time.monotonic()
        hb = asyncio.ensure_future(heartbeat())
        slow, hello = await asyncio.gather(one("slow", scope(path="/probe/slow", query=b"s=1")),
                                           one("hello", scope(path="/mywebdir/myscript.py")))
        await hb
        return t0, ticks, slow, hello
    t0, ticks, slow, hello = asyncio.run(main())
    assert slow.body == b"slow done" and hello.body == b"Hello World!"
    assert done["hello"] - t0 < 0.5 <= 1.0 <= done["slow"] - t0
    assert max(b - a for a, b in zip(ticks, ticks[1:])) < 0.3    # the loop kept running


def test_client_disconnect_during_body(app):
    msgs = [{"type": "http.request", "body": b"x" * 10, "more_body": True}]
    ex = Exchange(msgs, disconnect_after=True)
    run(app, scope("POST", "/probe/echo", headers=[("Content-Length", "1000")]), ex)
    assert ex.sent == [] or ex.status >= 400


def test_send_failure_stops_the_handler(app):
    calls = []

    async def send(msg):
        calls.append(msg)
        if len(calls) >= 2:
            raise OSError("client went away")
    ex = Exchange()
    t0 = time.monotonic()
    asyncio.run(asyncio.wait_for(app(scope(path="/probe/stream", query=b"n=50&delay=0.05"),
                                     ex.receive, send), 10))
    assert time.monotonic() - t0 < 2.0           # not 50 * 0.05 s... and no hang
    assert len(calls) == 2


def test_head_and_304_have_no_body(app):
    ex = run(app, scope("HEAD", "/feedback/form.html"))
    assert ex.status == 200 and ex.body == b"" and ("content-length", "297") in ex.headers
    ex = run(app, scope(path="/feedback/form.html"))
    etag = dict(ex.headers)["etag"]
    ex = run(app, scope(path="/feedback/form.html", headers=[("If-None-Match", etag)]))
    assert ex.status == 304 and ex.body == b""


def test_lifespan_and_websocket(app):
    async def main():
        msgs = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
        sent = []

        async def receive():
            return msgs.pop(0)

        async def send(m):
            sent.append(m["type"])
        await app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)
        ws = []
        await app({"type": "websocket", "path": "/"}, receive, lambda m: _append(ws, m))
        return sent, ws

    async def _append(lst, m):
        lst.append(m)
    sent, ws = asyncio.run(main())
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert ws[0]["type"] == "websocket.close"


def test_inline_mode(dispatcher):
    app = dispatcher.asgi(inline=True)
    ex = run(app, scope(path="/mywebdir/myscript.py"))
    assert ex.status == 200 and ex.body == b"Hello World!"
    data = b"abc" * 1000
    ex = run(app, scope("POST", "/probe/echo", headers=[("Content-Length", str(len(data)))]),
             Exchange(body_messages(data, 700)))
    assert b"body=3000 " in ex.body


def test_scope_to_head():
    head = head_from_scope(scope("POST", "/a%20b", b"x=1", [("Content-Length", "3"),
                                                             ("X-Thing", "v")], "1.0"))
    assert head.target == "/a%20b?x=1" and head.version == "HTTP/1.0"
    assert head.content_length == 3 and not head.keep_alive
    assert ("X-Thing", "v") in head.headers and ("Host", "localhost") in head.headers
    sc = scope(path="/p q")
    del sc["raw_path"]
    assert head_from_scope(sc).target == "/p%20q"
    assert head_from_scope(scope(version="2")).version == "HTTP/1.1"


def test_back_pressure(monkeypatch):
    """A handler writing faster than the client reads waits once HIGH_WATER
    bytes are queued: memory stays bounded."""
    monkeypatch.setattr(asgi_mod, "HIGH_WATER", 100_000)
    piece = b"x" * 10_000
    seen = []

    async def main():
        loop = asyncio.get_running_loop()
        ex = asgi_mod._Exchange(loop, None, False, 10)

        def produce():
            ex.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (len(piece) * 100))
            for _ in range(100):
                ex.send(piece)
                seen.append(ex._queued)
            ex.close()

        async def slow_send(msg):
            await asyncio.sleep(0.002)
        t = threading.Thread(target=produce)
        t.start()
        await ex.relay(slow_send)
        t.join(10)
    asyncio.run(main())
    assert len(seen) == 100 and max(seen) <= 100_000 + 10_000


# ------------------------------------------------------------------ uvicorn

@pytest.fixture(scope="module")
def uvicorn(site, smtp_sink):
    proc = hosting.start_uvicorn(site, env={"FD_SMTP_PORT": str(smtp_sink.port)})
    yield proc
    proc.stop()


def get(port, path, headers=()):
    with Conn(port) as c:
        return c.request("GET", path, headers=headers)


def test_uvicorn_tutorial(uvicorn, smtp_sink):
    p = uvicorn.port
    auth = ("Authorization", "Basic " + base64.b64encode(b"spam:eggs").decode())
    r = get(p, "/mywebdir/myscript.py")
    assert (r.status, r.body, r.header("Content-Type")) == (200, b"Hello World!", "text/plain")
    assert r.header("Server") == "uvicorn"
    assert get(p, "/secure/myscript.py").status == 401
    assert get(p, "/secure/myscript.py", [auth]).body == b"Hello World!"
    r = get(p, "/errors/handler-error.html")
    assert (r.status, r.body) == (404, b"Page not here.  Page left, not know where gone.")
    assert get(p, "/feedback/form.html").status == 200
    before = len(smtp_sink.envelopes)
    with Conn(p) as c:
        r = c.request("POST", "/feedback/form.py/email",
                      headers=[("Content-Type", "application/x-www-form-urlencoded")],
                      body=b"name=Ann&email=ann%40example.org&comment=Via+uvicorn")
    assert r.status == 200 and r.body.startswith(b"<html>\n\nDear Ann,<br>")
    assert smtp_sink.wait_for(before + 1)
    assert b"Via uvicorn" in smtp_sink.envelopes[-1].content


def test_uvicorn_blocking_handler_does_not_stall_others(uvicorn):
    results = {}

    def slow(i):
        t0 = time.monotonic()
        r = get(uvicorn.port, "/probe/slow?s=2")
        results[i] = (r.body, time.monotonic() - t0)
    threads = [threading.Thread(target=slow, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    t0 = time.monotonic()
    with Conn(uvicorn.port) as c:
        for _ in range(20):
            assert c.request("GET", "/mywebdir/myscript.py").body == b"Hello World!"
    fast = time.monotonic() - t0
    for t in threads:
        t.join(15)
    assert fast < 1.0
    assert all(body == b"slow done" for body, _ in results.values()) and len(results) == 8
    assert max(d for _, d in results.values()) < 3.5   # in parallel, not 8 x 2 s


def test_uvicorn_streams(uvicorn):
    with Conn(uvicorn.port) as c:
        start = time.monotonic()
        c.send(b"GET /probe/stream?n=3&delay=1 HTTP/1.1\r\nHost: x\r\n\r\n")
        c._read_until(b"\r\n\r\n")
        size = c._read_until(b"\r\n")
        t_first = time.monotonic() - start
        r_rest = b""
        while not (c.buf + r_rest).endswith(b"0\r\n\r\n"):
            c._fill()
        t_all = time.monotonic() - start
    assert int(size, 16) == 13 and t_first < 0.8 and t_all >= 2.5


@pytest.mark.parametrize("chunked", [False, True])
def test_uvicorn_big_body(uvicorn, chunked):
    data = bytes(range(256)) * 4096
    raw = hosting.raw_request("POST", "/probe/echo", [("Host", "x")], data, chunked=chunked,
                              chunk_size=65536)
    r = hosting.exchange(uvicorn.port, raw)
    assert r.status == 200
    assert b"body=%d %s" % (len(data), hashlib.sha256(data).hexdigest().encode()) in r.body

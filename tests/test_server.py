"""The builtin server (fastdispatch.server), over real sockets on 127.0.0.1.

A small fake app stands in for the dispatcher: it echoes the method, target
and body, sleeps on ``/sleep``, and leaves the body unread on ``/nobody``.
Protocol tests run in-process (``Server``) in each serving mode; the
pre-fork tests run ``serve()`` in a subprocess. Every wait is bounded, and no
test asserts a duration: "the second connection is answered while the first
still sleeps" is checked by order, with generous limits.
"""
import json
import logging
import os
import re
import select
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from fastdispatch.config.model import ServerConfig
from fastdispatch.server import Server, setup_logging
from fastdispatch.server._logs import ACCESS_LOGGER, ERROR_LOGGER, ApacheErrorFormatter
from fastdispatch.transport import Outcome

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HERE = os.path.dirname(os.path.abspath(__file__))
LIMIT = 10.0        # seconds: the bound on any wait in these tests


class EchoApp:
    """``handle``/``error_response`` as the dispatcher has them, minimal."""

    def handle(self, head, body, conn, send):
        path = head.target.split("?")[0]
        if path == "/sleep":
            time.sleep(float(head.target.partition("?s=")[2] or 2))
        if path == "/io":
            time.sleep(0.003)       # a handler waiting on I/O (the GIL released)
        if path == "/raise":
            raise RuntimeError("handler bug")
        if path == "/pid":
            payload = str(os.getpid()).encode()
        elif path == "/burn":
            end = time.thread_time() + 0.001    # a millisecond of Python: the GIL held
            while time.thread_time() < end:
                pass
            payload = str(threading.get_ident()).encode()
        elif path == "/bytes":
            payload = b"0123456789abcdef" * (int(head.target.split("=")[1]) // 16)
        elif path == "/remaining":
            before = body.remaining_known()
            data = body.read(3)
            payload = b"%d %d %s %d" % (before, body.remaining_known(), data,
                                        len(body.read()))
        elif path == "/held":
            return self._held(head, send)
        elif path == "/held-at-start":
            # whether the connection's last response was still corked as
            # this request began (it was sent if not)
            payload = b"%d" % bool(send.__self__.held)
        elif path == "/nobody":
            payload = b"not read\n"
        elif path == "/lines":
            lines = []
            while True:
                line = body.readline()
                if not line:
                    break
                lines.append(line)
            payload = json.dumps([x.decode() for x in lines]).encode()
        else:
            payload = ("%s %s\n" % (head.method, head.target)).encode() + body.read()
        extra = b"X-Keepalives: %d\r\n" % getattr(conn, "keepalives", -1)
        if not head.keep_alive:
            extra += b"Connection: close\r\n"
        send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s"
             % (len(payload), extra, payload))
        return Outcome(200, len(payload), head.keep_alive, None)

    @staticmethod
    def _held(head, send):
        """A handler that flushes, then waits on something other than its
        client. With a connection that holds (default mode, epoll: small
        sends stay corked until its thread's batch is served, see
        Connection.send) the listener must push the flushed bytes while
        the handler waits: it
        waits (bounded) until the Connection behind ``send`` says so, and
        ends the body with what it saw."""
        owner = send.__self__
        holds = owner.holding is not None
        send(b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\nX-Holds: %d\r\n\r\nfirst;" % holds)
        end = time.monotonic() + LIMIT
        while owner.held and time.monotonic() < end:
            time.sleep(0.001)
        send(b"stuck;" if owner.held else b"sent!;")
        return Outcome(200, 12, head.keep_alive, None)

    def error_response(self, status, head, detail=""):
        body = b"error %d\n" % status
        return (b"HTTP/1.1 %d Error\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                % (status, len(body)) + body)


# ---------------------------------------------------------------------------
# a tiny client

class Client:
    def __init__(self, port, timeout=LIMIT):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("connection closed")
        self.buf += data

    def read_until(self, marker):
        while marker not in self.buf:
            self._fill()
        i = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def read_response(self):
        """(status, headers dict lower-cased, body) of one response."""
        head = self.read_until(b"\r\n\r\n").decode("latin-1")
        lines = head.split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        n = int(headers.get("content-length", 0))
        while len(self.buf) < n:
            self._fill()
        body, self.buf = self.buf[:n], self.buf[n:]
        return status, headers, body

    def closed(self):
        """True when the server closed the connection (EOF or reset)."""
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return True
                self.buf += data
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    def readable_now(self):
        return bool(self.buf) or bool(select.select([self.sock], [], [], 0)[0])

    def close(self):
        self.sock.close()


def get(path, host=b"x"):
    return b"GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (path.encode(), host)


MODES = {
    "threads-epoll": dict(poller="epoll"),
    "threads-selector": dict(poller="selector"),
    "inline": dict(inline=True),
}


def _server(cfg=None, **kw):
    cfg = cfg or ServerConfig()
    return Server(EchoApp(), cfg, host="127.0.0.1", port=0, grace=5.0, **kw).start()


@pytest.fixture(params=sorted(MODES))
def mode(request):
    if request.param == "threads-epoll" and not hasattr(select, "epoll"):
        pytest.skip("no epoll here")
    return MODES[request.param]


@pytest.fixture
def make_server(mode):
    servers = []

    def make(cfg=None, **kw):
        srv = _server(cfg, **dict(mode, **kw))
        servers.append(srv)
        return srv

    yield make
    for srv in servers:
        srv.stop(timeout=LIMIT)


@pytest.fixture
def client_factory():
    clients = []

    def make(port):
        c = Client(port)
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.close()


# ---------------------------------------------------------------------------
# HTTP/1.x framing, in every mode

def test_keep_alive_serves_several_requests(make_server, client_factory):
    srv = make_server()
    c = client_factory(srv.port)
    for i in range(3):
        c.send(get("/k%d" % i))
        status, headers, body = c.read_response()
        assert status == 200
        assert body == b"GET /k%d\n" % i
        assert headers["x-keepalives"] == str(i)      # requests before this one


def test_pipelined_requests_answered_in_order(make_server, client_factory):
    srv = make_server()
    c = client_factory(srv.port)
    reqs = b"".join(get("/p%d" % i) for i in range(20))
    reqs += b"POST /post HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc" + get("/last")
    c.send(reqs)
    for i in range(20):
        assert c.read_response()[2] == b"GET /p%d\n" % i
    assert c.read_response()[2] == b"POST /post\nabc"
    assert c.read_response()[2] == b"GET /last\n"


def test_a_blocked_handlers_flushed_bytes_are_pushed(make_server, client_factory, mode):
    """Holding (epoll's serving threads), what a handler flushed before it
    blocks is pushed by the listener while it still blocks."""
    srv = make_server()
    c = client_factory(srv.port)
    for _ in range(2):
        c.send(get("/held"))
        status, headers, body = c.read_response()
        assert headers["x-holds"] == ("1" if "epoll" in str(mode) else "0")
        assert body == b"first;sent!;"


def test_a_serving_thread_pushes_the_responses_it_served(make_server, client_factory,
                                                          mode, monkeypatch):
    """Each response a serving thread corks is sent once it has served
    the ready connections at hand, not left for the listener (which waits
    HOLD_SECS, here made a minute): as each next request begins, the
    response before it is no longer held."""
    from fastdispatch.server import _worker
    monkeypatch.setattr(_worker, "HOLD_SECS", 60.0)
    srv = make_server()
    c = client_factory(srv.port)
    for i in range(6):
        c.send(get("/held-at-start"))
        assert c.read_response()[2] == b"0", i
    # pipelined, served in one go: held until all three are, then pushed together
    c.send(get("/held-at-start") * 3)
    held = b"1" if "epoll" in str(mode) else b"0"
    assert [c.read_response()[2] for _ in range(3)] == [b"0", held, held]
    c.send(get("/held-at-start"))
    assert c.read_response()[2] == b"0"


def test_request_head_in_pieces(make_server, client_factory):
    srv = make_server()
    c = client_factory(srv.port)
    for piece in (b"GET /sl", b"ow HTTP/1.1\r\nHo", b"st: x\r\n", b"\r\n"):
        c.send(piece)
        time.sleep(0.05)
    assert c.read_response()[2] == b"GET /slow\n"


def test_http10_closes_unless_keep_alive(make_server, client_factory):
    srv = make_server()
    c = client_factory(srv.port)
    c.send(b"GET /one HTTP/1.0\r\n\r\n")
    assert c.read_response()[2] == b"GET /one\n"
    assert c.closed()
    c2 = client_factory(srv.port)
    c2.send(b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    assert c2.read_response()[2] == b"GET /a\n"
    c2.send(b"GET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    assert c2.read_response()[2] == b"GET /b\n"


def test_connection_close_request(make_server, client_factory):
    srv = make_server()
    c = client_factory(srv.port)
    c.send(b"GET /bye HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    status, headers, body = c.read_response()
    assert body == b"GET /bye\n" and headers["connection"] == "close"
    assert c.closed()


def test_chunked_body(make_server, client_factory):
    srv = make_server()
    c = client_factory(srv.port)
    c.send(b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel")
    time.sleep(0.05)
    c.send(b"lo\r\n6;ext=1\r\n world\r\n0\r\nTrailer: t\r\n\r\n" + get("/after"))
    assert c.read_response()[2] == b"POST /c\nhello world"
    assert c.read_response()[2] == b"GET /after\n"


def test_body_arriving_later_and_readline(make_server, client_factory):
    srv = make_server()
    c = client_factory(srv.port)
    body = b"line one\nline two\nlast"
    c.send(b"POST /lines HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body))
    time.sleep(0.05)
    c.send(body[:12])
    time.sleep(0.05)
    c.send(body[12:] + get("/next"))
    assert json.loads(c.read_response()[2]) == ["line one\n", "line two\n", "last"]
    assert c.read_response()[2] == b"GET /next\n"


def test_unread_body_is_drained(make_server, client_factory):
    srv = make_server()
    c = client_factory(srv.port)
    c.send(b"POST /nobody HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01234")
    assert c.read_response()[2] == b"not read\n"
    c.send(b"56789" + get("/again"))
    assert c.read_response()[2] == b"GET /again\n"
    c.send(b"POST /nobody HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"3\r\nabc\r\n0\r\n\r\n" + get("/again2"))
    assert c.read_response()[2] == b"not read\n"
    assert c.read_response()[2] == b"GET /again2\n"


def test_expect_100_continue(make_server, client_factory):
    srv = make_server()
    c = client_factory(srv.port)
    c.send(b"POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
    assert c.read_until(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
    c.send(b"hello")
    assert c.read_response()[2] == b"POST /e\nhello"
    # body sent along with the head: 100 Continue all the same, on the
    # first read (Apache's input filter cannot tell)
    c.send(b"POST /f HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue"
           b"\r\n\r\nhi")
    assert c.read_until(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
    status, _, body = c.read_response()
    assert (status, body) == (200, b"POST /f\nhi")


def test_pipelined_response_then_100_continue_in_order(make_server, client_factory):
    """A response waiting for its send (inline: corked to the round's end)
    leaves before the next request's 100 Continue, and before the server
    waits for that request's body."""
    srv = make_server()
    c = client_factory(srv.port)
    c.send(get("/first") + b"POST /second HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
           b"Expect: 100-continue\r\n\r\n")
    assert c.read_response()[2] == b"GET /first\n"
    assert c.read_until(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
    c.send(b"hello")
    assert c.read_response()[2] == b"POST /second\nhello"


def test_expect_100_continue_not_read_closes(make_server, client_factory):
    srv = make_server()
    c = client_factory(srv.port)
    c.send(b"POST /nobody HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
           b"Expect: 100-continue\r\n\r\n")
    status, _, body = c.read_response()
    assert (status, body) == (200, b"not read\n")
    assert not c.buf.startswith(b"HTTP/1.1 100")
    assert c.closed()


def test_limit_request_body_413(make_server, client_factory):
    srv = make_server(ServerConfig(limit_request_body=10))
    c = client_factory(srv.port)
    c.send(b"POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + b"x" * 100)
    status, _, body = c.read_response()
    assert (status, body) == (413, b"error 413\n")
    assert c.closed()
    c = client_factory(srv.port)
    c.send(b"POST /big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n")
    assert c.read_response()[0] == 413
    assert c.closed()
    # within the limit: fine
    c = client_factory(srv.port)
    c.send(b"POST /ok HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789")
    assert c.read_response()[2] == b"POST /ok\n0123456789"


def test_413_before_100_continue(make_server, client_factory):
    srv = make_server(ServerConfig(limit_request_body=10))
    c = client_factory(srv.port)
    c.send(b"POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
           b"Expect: 100-continue\r\n\r\n")
    assert c.read_response()[0] == 413          # no 100 Continue before it


@pytest.mark.parametrize("request_bytes, status", [
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\n\r\n", 400),                       # no Host
    (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400),              # the HTTP/2 preface
    (b"GET / HTTP/1.1\nHost: x\n\n", 400),                   # bare LF
    (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n", 414),        # head not even complete
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
    # the facts the dispatcher's error_response takes besides (a HEAD's
    # method, a 417's Host): an app that takes three arguments gets three
    (b"GET / HTTP/1.1\r\nHost: x\r\nExpect: bogus\r\n\r\n", 417),
    (b"HEAD / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n", 400),
])
def test_bad_request_error_response_and_close(make_server, client_factory,
                                              request_bytes, status):
    srv = make_server()
    c = client_factory(srv.port)
    c.send(get("/fine") + request_bytes)
    assert c.read_response()[2] == b"GET /fine\n"
    got, _, body = c.read_response()
    assert (got, body) == (status, b"error %d\n" % status)
    assert c.closed()


def test_bad_chunked_framing_closes(make_server, client_factory):
    srv = make_server()
    c = client_factory(srv.port)
    c.send(b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
    assert c.read_response()[0] == 400
    assert c.closed()


def test_max_keep_alive_requests(make_server, client_factory):
    """MaxKeepAliveRequests 3: three requests are kept alive and a fourth
    is served, then the connection closes (Apache keeps a connection while
    its kept-alive requests are fewer than the maximum: 101 requests for
    the default 100, the last one answered with Connection: close)."""
    srv = make_server(ServerConfig(max_keep_alive_requests=3))
    c = client_factory(srv.port)
    for i in range(4):
        c.send(get("/m%d" % i))
        status, headers, body = c.read_response()
        assert body == b"GET /m%d\n" % i
        assert (headers.get("connection") == "close") is (i == 3)
    assert c.closed()


def test_keep_alive_off(make_server, client_factory):
    srv = make_server(ServerConfig(keep_alive=False))
    c = client_factory(srv.port)
    c.send(get("/x"))
    assert c.read_response()[1].get("connection") == "close"
    assert c.closed()


def test_keep_alive_timeout_closes_idle_connection(make_server, client_factory):
    srv = make_server(ServerConfig(keep_alive_timeout=0.3))
    c = client_factory(srv.port)
    c.send(get("/idle"))
    assert c.read_response()[0] == 200
    assert c.closed()                # within the client's LIMIT timeout
    assert _eventually(lambda: srv.worker.connections == 0)


def test_incomplete_head_times_out_with_408(make_server, client_factory):
    srv = make_server(ServerConfig(timeout=0.3))
    c = client_factory(srv.port)
    c.send(b"GET /never HTTP/1.1\r\nHost: x\r\n")
    status, _, body = c.read_response()
    assert (status, body) == (408, b"error 408\n")
    assert c.closed()


def test_idle_connections_cost_no_thread(make_server, client_factory, mode):
    if mode.get("inline"):
        pytest.skip("inline mode has no serving threads")
    srv = make_server()
    clients = []
    for _ in range(40):
        c = client_factory(srv.port)
        c.send(get("/hello"))
        assert c.read_response()[0] == 200
        clients.append(c)
    assert _eventually(lambda: srv.worker.connections == 40)
    # 40 open keep-alive connections, used one after the other: the pool is
    # as large as the concurrency it saw, not one thread per connection.
    assert len(srv.worker._threads) <= 10
    assert srv.worker._backlog == 0


def test_blocking_handler_does_not_stall_other_connections(make_server, client_factory,
                                                           mode):
    if mode.get("inline"):
        pytest.skip("inline mode serves on the listener thread by design")
    srv = make_server()
    slow = client_factory(srv.port)
    fast = client_factory(srv.port)
    slow.send(get("/sleep"))
    time.sleep(0.1)
    fast.send(get("/quick"))
    assert fast.read_response()[2] == b"GET /quick\n"
    assert not slow.readable_now()            # still sleeping: we were not stalled
    assert slow.read_response()[2] == b"GET /sleep\n"


def run_clients(run, n, limit):
    """Run ``run(i)`` for i < n in threads; True when all ended in ``limit`` s."""
    import threading
    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(n)]
    deadline = time.monotonic() + limit
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    return not any(t.is_alive() for t in threads)


def test_the_pool_grows_when_its_threads_block(make_server, client_factory, mode):
    """Fast handlers are served by a small pool; handlers that block get
    threads of their own (no request waits for another's sleep)."""
    if mode.get("inline"):
        pytest.skip("inline mode serves on the listener thread by design")
    srv = make_server()
    sleepers = [client_factory(srv.port) for _ in range(6)]
    start = time.monotonic()
    for c in sleepers:
        c.send(get("/sleep"))                 # 2 s each
    for c in sleepers:
        assert c.read_response()[2] == b"GET /sleep\n"
    assert time.monotonic() - start < 2 * 2.0    # side by side, not 6 x 2 s
    assert len(srv.worker._threads) >= 6


def test_a_keep_alive_request_is_not_stuck_behind_a_blocked_one(make_server,
                                                                client_factory, mode):
    """The only serving thread blocks; a request on another, idle keep-alive
    connection (no new connection to wake the listener) is still served at
    once, whenever it comes in the listener's (1 s) tick."""
    if mode.get("inline"):
        pytest.skip("inline mode serves on the listener thread by design")
    srv = make_server()
    a, b = client_factory(srv.port), client_factory(srv.port)
    for c in (a, b):
        c.send(get("/warm"))
        c.read_response()
    waits = []
    for offset in (0.1, 0.3, 0.5, 0.7, 0.9):
        time.sleep(0.1)         # the serving thread has gone back to waiting
        a.send(get("/sleep?s=1.1"))
        time.sleep(offset)
        start = time.monotonic()
        b.send(get("/quick"))
        assert b.read_response()[2] == b"GET /quick\n"
        waits.append(time.monotonic() - start)
        assert a.read_response()[2] == b"GET /sleep?s=1.1\n"
    assert max(waits) < 0.2, waits


def _grow_pool(srv, n, seconds):
    """Give the worker ``n`` serving threads: ``n`` requests that sleep for
    ``seconds`` at once, then idle."""
    sleepers = [Client(srv.port) for _ in range(n)]
    for c in sleepers:
        c.send(get("/sleep?s=%s" % seconds))
    for c in sleepers:
        c.read_response()
        c.close()
    time.sleep(0.1)
    assert len(srv.worker._threads) >= n


def test_handlers_waiting_on_io_run_side_by_side(make_server, mode):
    """Once the pool has threads, handlers that wait on I/O on
    different connections overlap instead of queueing behind one taker
    (3 ms each: shorter than the 5 ms that counts as a stall)."""
    if mode.get("inline"):
        pytest.skip("inline mode serves on the listener thread by design")
    srv = make_server(ServerConfig(max_keep_alive_requests=0))
    _grow_pool(srv, 6, 0.5)
    n, per = 8, 40

    def run(i):
        c = Client(srv.port)
        time.sleep(0.003 * i)   # one after the other: the first is a taker by then
        for k in range(per):
            c.send(get("/io"))
            c.read_response()
        c.close()

    start = time.monotonic()
    assert run_clients(run, n, LIMIT)
    serial = n * per * 0.003
    assert time.monotonic() - start < serial * 0.6


def test_busy_handlers_are_not_spread_over_idle_threads(make_server, mode):
    """Handlers that keep the GIL busy gain nothing from a second serving
    thread, only GIL hand-offs: with idle threads in the pool (as after a
    burst of blocking requests), one thread serves them all. (Handlers
    that wait on I/O do get them: the test above.)"""
    if mode.get("poller") != "epoll":
        pytest.skip("only serving threads that take ready connections (epoll)")
    srv = make_server(ServerConfig(max_keep_alive_requests=0))
    _grow_pool(srv, 6, 0.3)
    served = []

    def run(i):
        c = Client(srv.port)
        for k in range(80):
            c.send(get("/burn"))
            served.append((time.monotonic(), c.read_response()[2]))
        c.close()

    assert run_clients(run, 6, LIMIT)
    served.sort()
    last = [thread for _, thread in served[len(served) // 2:]]
    top = max(last.count(t) for t in set(last))
    assert top >= 0.9 * len(last), {t: last.count(t) for t in set(last)}


def test_quick_requests_keep_the_pool_small(make_server, mode):
    if mode.get("inline"):
        pytest.skip("inline mode serves on the listener thread by design")
    srv = make_server(ServerConfig(max_keep_alive_requests=0))

    def run(n):
        c = Client(srv.port)
        for i in range(40):
            c.send(get("/q%d/%d" % (n, i)))
            c.read_response()
        c.close()

    assert run_clients(run, 24, LIMIT * 2)
    # 24 busy connections: a thread per connection would be 24 threads
    assert len(srv.worker._threads) < 24


def test_idle_timeouts_racing_busy_connections(make_server, mode):
    """Connections that go idle right around KeepAliveTimeout while others
    are busy: the sweep closing one and a serving thread taking it must not
    both get it. Each request is answered whole, or its connection is
    closed before any byte of an answer (and a retry on a new one works)."""
    import random
    srv = make_server(ServerConfig(keep_alive_timeout=0.05, max_keep_alive_requests=0))
    errors, answered = [], [0]

    def run(n):
        rnd = random.Random(n)
        c = Client(srv.port)
        try:
            for i in range(60):
                time.sleep(rnd.choice((0, 0, 0.001, 0.03, 0.045, 0.05, 0.055, 0.07)))
                path = "/r%d/%d" % (n, i)
                try:
                    c.send(get(path))
                    status, _, body = c.read_response()
                except (EOFError, ConnectionError):
                    c.close()
                    c = Client(srv.port)        # closed while idle: retry once
                    c.send(get(path))
                    status, _, body = c.read_response()
                assert (status, body) == (200, b"GET %s\n" % path.encode())
                answered[0] += 1
        except Exception as exc:             # reported below
            errors.append(exc)
        finally:
            c.close()

    assert run_clients(run, 12, LIMIT * 3), "stalled"
    assert not errors, errors[:3]
    assert answered[0] == 12 * 60


def test_connection_cap_stops_accepting(make_server, client_factory):
    srv = make_server(ServerConfig(max_connections_per_worker=2))
    a, b = client_factory(srv.port), client_factory(srv.port)
    for c in (a, b):
        c.send(get("/held"))
        assert c.read_response()[0] == 200
    third = client_factory(srv.port)          # completes in the kernel's backlog
    third.send(get("/third"))
    time.sleep(0.3)
    assert not third.readable_now()
    a.close()
    assert third.read_response()[2] == b"GET /third\n"


def test_many_connections_many_requests(make_server):
    """A burst of keep-alive traffic on 16 connections; a lost wake-up or a
    stuck hand-off shows as a stall far past the (generous) bound."""
    srv = make_server(ServerConfig(max_keep_alive_requests=0))
    errors = []

    def run(n):
        try:
            c = Client(srv.port)
            for i in range(150):
                c.send(get("/c%d/%d" % (n, i)))
                assert c.read_response()[2] == b"GET /c%d/%d\n" % (n, i)
            c.close()
        except Exception as exc:             # reported below
            errors.append(exc)

    assert run_clients(run, 16, LIMIT * 2), "stalled"
    assert not errors


def test_blocking_and_fast_handlers_mixed_on_many_connections(make_server):
    """Handlers that block beside fast ones on 24 keep-alive connections:
    serving threads come and go (the pool grows while some block, threads
    stop taking when connections queue), and ready connections one thread
    held back for its next take must reach another. A lost one stalls its
    client far past the bound."""
    srv = make_server(ServerConfig(max_keep_alive_requests=0))
    errors = []

    def run(n):
        try:
            c = Client(srv.port)
            for i in range(40):
                path = "/sleep?s=0.01" if (n + i) % 3 == 0 else "/m%d/%d" % (n, i)
                c.send(get(path))
                status, _, body = c.read_response()
                assert status == 200
                if not path.startswith("/sleep"):
                    assert body == b"GET %s\n" % path.encode()
            c.close()
        except Exception as exc:             # reported below
            errors.append(exc)

    assert run_clients(run, 24, LIMIT * 3), "stalled"
    assert not errors, errors[:3]


def test_handler_exception_gives_500_and_logs(make_server, client_factory):
    logger = logging.getLogger(ERROR_LOGGER)
    handler = _Records()
    logger.addHandler(handler)
    try:
        srv = make_server()
        c = client_factory(srv.port)
        c.send(get("/raise"))
        assert c.read_response()[:3:2] == (500, b"error 500\n")
        assert c.closed()
        assert _eventually(lambda: any("unhandled exception" in x for x in handler.lines))
        c = client_factory(srv.port)           # the worker is fine
        c.send(get("/after"))
        assert c.read_response()[2] == b"GET /after\n"
    finally:
        logger.removeHandler(handler)


def test_large_response_to_a_slow_reader(make_server, client_factory):
    srv = make_server()
    c = client_factory(srv.port)
    c.send(get("/bytes?n=%d" % (8 << 20)) + get("/small"))
    time.sleep(0.3)                           # let the server fill the socket buffers
    status, _, body = c.read_response()
    assert status == 200 and len(body) == 8 << 20
    assert body[:32] == b"0123456789abcdef" * 2
    assert c.read_response()[2] == b"GET /small\n"


def test_large_request_body(make_server, client_factory):
    srv = make_server()
    c = client_factory(srv.port)
    data = os.urandom(3 << 20)
    c.send(b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(data))
    c.send(data)
    status, _, body = c.read_response()
    assert body == b"POST /up\n" + data


def test_remaining_known(make_server, client_factory):
    srv = make_server()
    c = client_factory(srv.port)
    c.send(b"POST /remaining HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789")
    assert c.read_response()[2] == b"10 7 012 7"
    c.send(b"POST /remaining HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"a\r\n0123456789\r\n0\r\n\r\n")
    assert c.read_response()[2] == b"-1 7 012 7"     # known once the end was seen


def test_client_gone_mid_body(make_server, client_factory):
    srv = make_server()
    c = client_factory(srv.port)
    c.send(b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly a bit")
    time.sleep(0.1)
    c.close()
    assert _eventually(lambda: srv.worker.connections == 0)
    c = client_factory(srv.port)
    c.send(get("/still"))
    assert c.read_response()[2] == b"GET /still\n"


def test_stop_lets_in_flight_request_finish(mode):
    if mode.get("inline"):
        pytest.skip("covered by the threaded modes")
    srv = _server(**mode)
    c = Client(srv.port)
    try:
        c.send(get("/sleep"))
        time.sleep(0.2)
        srv.worker.stop()
        status, headers, body = c.read_response()
        assert (status, body) == (200, b"GET /sleep\n")
        assert c.closed()
        assert srv.worker.stopped.wait(LIMIT)
    finally:
        c.close()
        srv.stop(timeout=LIMIT)


def _eventually(cond, limit=LIMIT):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


# ---------------------------------------------------------------------------
# logs

class _Records(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


COMBINED = re.compile(
    r'^127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] '
    r'"(?P<r>(?:[^"\\]|\\.)*)" (?P<s>\d{3}) (?P<b>\d+|-) "(?P<ref>[^"]*)" "(?P<ua>[^"]*)"$')


def test_access_log_through_logging(make_server, client_factory):
    logger = logging.getLogger(ACCESS_LOGGER)
    handler = _Records()
    old = (logger.level, logger.propagate, list(logger.handlers))
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        srv = make_server()
        c = client_factory(srv.port)
        c.send(b'GET /log?q="1" HTTP/1.1\r\nHost: x\r\nReferer: http://r/\r\n'
               b"User-Agent: tester/1.0\r\n\r\n")
        c.send(b"GARBAGE\r\n\r\n")
        assert c.closed()       # (after the 400)
        raw = c.buf
        body = b'GET /log?q="1"\n'
        first = raw.index(body) + len(body)
        sizes = [first, len(raw) - first]       # the 200, then the 400
        assert raw[first:].startswith(b"HTTP/1.1 400 ")
        assert _eventually(lambda: len(handler.lines) == 2)
    finally:
        logger.setLevel(old[0])
        logger.propagate = old[1]
        logger.handlers[:] = old[2]
    m = COMBINED.match(handler.lines[0])
    assert m, handler.lines[0]
    assert m["r"] == r'GET /log?q=\"1\" HTTP/1.1' and m["s"] == "200"
    # (Debian's combined format: %O, the bytes sent with the head)
    assert m["b"] == str(sizes[0])
    assert (m["ref"], m["ua"]) == ("http://r/", "tester/1.0")
    m = COMBINED.match(handler.lines[1])
    assert m and (m["r"], m["s"], m["b"]) == ("GARBAGE", "400", str(sizes[1]))


ERROR_LINE = re.compile(
    r"^\[\w{3} \w{3} \d\d \d\d:\d\d:\d\d\.\d{6} \d{4}\] \[(\w*):(\w+)\] "
    r"\[pid \d+:tid \d+\] (\[client [\d.]+:\d+\] )?(.*)$")


def test_error_log_format():
    fmt = ApacheErrorFormatter()
    rec = logging.LogRecord(ERROR_LOGGER, logging.ERROR, __file__, 1, "boom %d", (1,), None)
    rec.client = "127.0.0.1:5555"
    m = ERROR_LINE.match(fmt.format(rec))
    assert m and m.group(1, 2, 4) == ("core", "error", "boom 1")
    assert m.group(3) == "[client 127.0.0.1:5555] "
    try:
        raise ValueError("bad")
    except ValueError:
        rec = logging.LogRecord(ERROR_LOGGER, logging.WARNING, __file__, 1, "tb", (),
                                sys.exc_info())
    rec.apache_module = "python"
    lines = fmt.format(rec).split("\n")
    assert len(lines) > 2 and all(ERROR_LINE.match(x) for x in lines)
    assert ERROR_LINE.match(lines[0]).group(1, 2) == ("python", "warn")
    assert lines[-1].endswith("ValueError: bad")


@pytest.fixture
def saved_loggers():
    """The server's loggers as they were, restored after the test."""
    saved = {name: (logging.getLogger(name).level, logging.getLogger(name).propagate,
                    list(logging.getLogger(name).handlers))
             for name in (ERROR_LOGGER, ACCESS_LOGGER)}
    yield
    for name, (level, propagate, handlers) in saved.items():
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.propagate = propagate
        logger.handlers[:] = handlers


def test_setup_logging_files(tmp_path, saved_loggers):
    cfg = ServerConfig(error_log=str(tmp_path / "error.log"),
                       access_log=str(tmp_path / "access.log"), log_level="info")
    err, acc = setup_logging(cfg)
    err2, acc2 = setup_logging(cfg)              # replaces, does not stack
    assert logging.getLogger(ERROR_LOGGER).handlers == [err2]
    srv = _server()
    c = Client(srv.port)
    c.send(get("/f"))
    c.read_response()
    c.close()
    logging.getLogger(ERROR_LOGGER).info("hello")
    srv.stop(timeout=LIMIT)
    err2.close()
    acc2.close()
    access = (tmp_path / "access.log").read_text().splitlines()
    assert len(access) == 1 and COMBINED.match(access[0])
    errors = (tmp_path / "error.log").read_text().splitlines()
    assert any(ERROR_LINE.match(x) and x.endswith("] hello") for x in errors)


def test_access_lines_are_written_while_serving(mode, tmp_path, saved_loggers):
    """Inline, a poll round's lines leave in one write: still whole lines, in
    order, and written before the next wait (not at stop)."""
    cfg = ServerConfig(access_log=str(tmp_path / "access.log"), log_level="info")
    _, acc = setup_logging(cfg)
    srv = _server(**mode)
    try:
        c = Client(srv.port)
        c.send(b"".join(get("/p%d" % i) for i in range(20)))    # pipelined
        for i in range(20):
            assert c.read_response()[2] == b"GET /p%d\n" % i
        c.close()
        path = tmp_path / "access.log"
        assert _eventually(lambda: len(path.read_text().splitlines()) == 20)
        lines = path.read_text().splitlines()
        assert all(COMBINED.match(x) for x in lines)
        assert ['"GET /p%d HTTP/1.1"' % i in x for i, x in enumerate(lines)] == [True] * 20
    finally:
        srv.stop(timeout=LIMIT)
        acc.close()


# ---------------------------------------------------------------------------
# serve(): pre-fork, in a subprocess

SCRIPT = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, %(root)r)
    sys.path.insert(0, %(here)r)
    from test_server import EchoApp
    from fastdispatch.config.model import ServerConfig
    from fastdispatch.server import serve
    opts = json.loads(sys.argv[1])
    if opts.get("ready_fd") == "file":
        opts["ready_fd"] = open(opts.pop("ready_path"), "w")
    cfg = ServerConfig(**opts.pop("cfg"))
    cfg.graceful_shutdown_timeout = opts.pop("grace", 10)
    serve(EchoApp(), cfg, **opts)
    print("serve returned", flush=True)
""")


class Served:
    def __init__(self, tmp_path, workers=2, cfg=None, **opts):
        script = tmp_path / "run_server.py"
        script.write_text(SCRIPT % {"root": ROOT, "here": HERE})
        cfg = dict(cfg or {})
        cfg.setdefault("error_log", str(tmp_path / "error.log"))
        cfg.setdefault("access_log", str(tmp_path / "access.log"))
        args = dict(opts, workers=workers, host="127.0.0.1", port=0, cfg=cfg)
        env = dict(os.environ, PYTHONPATH=ROOT)
        self.tmp_path = tmp_path
        self.proc = subprocess.Popen([sys.executable, str(script), json.dumps(args)],
                                     stderr=subprocess.PIPE, stdout=subprocess.PIPE,
                                     env=env)
        line = self._ready_line()
        m = re.match(r"fastdispatch: serving on http://127\.0\.0\.1:(\d+) \((\d+) workers?\)",
                     line)
        assert m, line
        self.port = int(m.group(1))
        self.workers = int(m.group(2))

    def _ready_line(self):
        end = time.monotonic() + LIMIT
        buf = b""
        fd = self.proc.stderr.fileno()
        while b"\n" not in buf and time.monotonic() < end:
            if select.select([fd], [], [], 0.1)[0]:
                data = os.read(fd, 4096)
                if not data:
                    break
                buf += data
        return buf.decode(errors="replace").split("\n")[0]

    def children(self):
        """pids whose parent is the master (from /proc)."""
        kids = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open("/proc/%s/stat" % entry) as f:
                        stat = f.read()
                except OSError:
                    continue
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                if ppid == self.proc.pid:
                    kids.append(int(entry))
        return sorted(kids)

    def error_log(self):
        path = self.tmp_path / "error.log"
        return path.read_text() if path.exists() else ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(LIMIT + 20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


needs_proc = pytest.mark.skipif(not os.path.isdir("/proc") or not hasattr(os, "fork"),
                                reason="needs fork and /proc")


@pytest.fixture
def served(tmp_path):
    running = []

    def start(**kw):
        s = Served(tmp_path, **kw)
        running.append(s)
        return s

    yield start
    for s in running:
        s.stop()


@needs_proc
def test_serve_prefork_answers_and_logs(served):
    s = served(workers=2)
    assert s.workers == 2
    assert _eventually(lambda: len(s.children()) == 2)
    c = Client(s.port)
    c.send(get("/hello"))
    assert c.read_response()[2] == b"GET /hello\n"
    c.close()
    assert _eventually(lambda: "GET /hello HTTP/1.1" in
                       (s.tmp_path / "access.log").read_text())
    line = (s.tmp_path / "access.log").read_text().splitlines()[0]
    assert COMBINED.match(line), line


@needs_proc
def test_sigterm_is_graceful(served):
    s = served(workers=2, grace=10)
    c = Client(s.port)
    c.send(get("/sleep"))
    time.sleep(0.3)                           # the request is in flight
    s.proc.send_signal(signal.SIGTERM)
    status, _, body = c.read_response()
    assert (status, body) == (200, b"GET /sleep\n")
    assert s.proc.wait(LIMIT) == 0
    assert b"serve returned" in s.proc.stdout.read()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", s.port), timeout=1).close()
    c.close()


@needs_proc
def test_killed_worker_is_replaced(served):
    s = served(workers=2)
    assert _eventually(lambda: len(s.children()) == 2)
    before = s.children()
    os.kill(before[0], signal.SIGKILL)
    assert _eventually(lambda: len(s.children()) == 2 and s.children() != before)
    assert before[0] not in s.children()
    assert _eventually(lambda: "died" in s.error_log())
    assert re.search(r"\[core:error\] \[pid \d+:tid \d+\] worker process %d died "
                     r"\(exit signal SIGKILL \(9\)\)" % before[0], s.error_log())
    for _ in range(4):                        # both workers answer
        c = Client(s.port)
        c.send(get("/pid"))
        assert int(c.read_response()[2]) in s.children()
        c.close()


@needs_proc
def test_serve_ready_fd(served, tmp_path):
    path = tmp_path / "ready.txt"
    s = served(workers=1, ready_fd="file", ready_path=str(path))
    assert s.workers == 1
    assert _eventually(lambda: path.read_text().startswith(
        "fastdispatch: serving on http://127.0.0.1:%d (1 worker)\n" % s.port))


@needs_proc
def test_serve_single_process_mode(served):
    s = served(workers=0, inline=True)
    assert s.children() == []
    c = Client(s.port)
    c.send(get("/solo"))
    assert c.read_response()[2] == b"GET /solo\n"
    c.close()
    s.proc.send_signal(signal.SIGINT)
    assert s.proc.wait(LIMIT) == 0


# ---------------------------------------------------------------------------
# BodyReader on its own (a scripted connection, no socket)

class ScriptedConn:
    """What BodyReader needs of a connection: recv_wait() and send()."""

    def __init__(self, *chunks):
        self.chunks = list(chunks)
        self.sent = False
        self.sends = []
        self.broken = False

    def recv_wait(self):
        return self.chunks.pop(0) if self.chunks else b""

    def send(self, data):
        self.sent = True
        self.sends.append(data)


def _head(raw):
    from fastdispatch import _speedups
    head, end = _speedups.http.parse_head(raw)
    return head, end


def _reader(raw_head, buffered=b"", chunks=(), limit=0):
    from fastdispatch.server import BodyReader
    head, end = _head(raw_head)
    buf = raw_head + buffered
    conn = ScriptedConn(*chunks)
    return BodyReader(conn, buf, end, head, limit), conn


CL10 = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n"
CHUNKED = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
EXPECT = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"


@pytest.fixture(params=["inline", "holding"])
def corked(request):
    """(conn, client): a corked Connection (as --inline makes them, or
    holding, as epoll's serving threads make them) on one end of a
    socketpair, the client's socket on the other."""
    from fastdispatch.server._connection import Connection, ServerConnInfo
    a, b = socket.socketpair()
    a.setblocking(False)
    b.settimeout(LIMIT)
    conn = Connection(a, ServerConnInfo("127.0.0.1", 1, "127.0.0.1", 2), LIMIT)
    conn.cork = []
    if request.param == "holding":
        conn.holding = []
        conn.lock = threading.Lock()
    yield conn, b
    a.close()
    b.close()


def _pending(sock):
    return bool(select.select([sock], [], [], 0.05)[0])


def _recv_exactly(sock, n):
    got = b""
    while len(got) < n:
        got += sock.recv(1 << 20)
    return got


def test_corked_sends_wait_for_uncork_and_keep_their_order(corked):
    conn, client = corked
    conn.send(b"one;")
    conn.send(b"two;")
    assert not _pending(client)                 # kept back
    assert conn.sent and conn.sent_bytes == 8 and conn.corked == 8
    conn.uncork()
    assert _recv_exactly(client, 8) == b"one;two;"
    assert conn.sent_bytes == 8 and conn.corked == 0 and conn.cork == []


def test_a_large_send_goes_at_once_after_what_is_corked(corked):
    from fastdispatch.server._connection import CORK_MAX
    conn, client = corked
    conn.send(b"head;")
    big = b"x" * (CORK_MAX + 1)
    conn.send(big)
    assert _recv_exactly(client, len(big) + 5) == b"head;" + big
    assert conn.cork == [] and conn.sent_bytes == len(big) + 5


def _send_head_and_file(conn, tmp_path):
    """Send b"head;", then a 4-byte file ("file") as a FileRegion."""
    from fastdispatch.transport import FileRegion
    path = tmp_path / "f"
    path.write_bytes(b"file")
    with open(path, "rb") as f:
        conn.send(b"head;")
        conn.send(FileRegion(f.fileno(), 0, 4))


def test_a_file_region_goes_after_what_is_corked(corked, tmp_path):
    conn, client = corked
    _send_head_and_file(conn, tmp_path)
    assert _recv_exactly(client, 9) == b"head;file" and conn.sent_bytes == 9


def test_waiting_for_the_client_sends_what_is_corked_first(corked):
    """A client may wait for the answer before it sends more: recv_wait
    uncorks before it waits."""
    conn, client = corked
    conn.send(b"HTTP/1.1 100 Continue\r\n\r\n")
    assert not _pending(client)
    client.send(b"body")
    assert conn.recv_wait() == b"body"
    assert _recv_exactly(client, 25) == b"HTTP/1.1 100 Continue\r\n\r\n"


def test_uncork_to_a_gone_client_raises_client_gone(corked):
    from fastdispatch.errors import ClientGone
    conn, client = corked
    client.close()
    conn.send(b"answer")
    with pytest.raises(ClientGone):
        conn.uncork()
    assert conn.broken


@pytest.fixture
def held():
    """(conn, client): a Connection that holds (as epoll's serving threads
    have them: corked, listed for the listener's push, a lock ordering the
    threads' sends; see Connection.send) on one end of a TCP connection
    over the loopback, the client on the other."""
    from fastdispatch.server._connection import Connection, ServerConnInfo
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname(), timeout=LIMIT)
    ours, _ = listener.accept()
    listener.close()
    ours.setblocking(False)
    ours.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    conn = Connection(ours, ServerConnInfo("127.0.0.1", 1, "127.0.0.1", 2), LIMIT)
    conn.cork = []
    conn.holding = []
    conn.lock = threading.Lock()
    yield conn, client
    ours.close()
    client.close()


def test_holding_lists_a_corked_send_for_the_listeners_push(held):
    conn, client = held
    conn.send(b"one;")
    since = conn.held
    assert since and conn.holding == [conn]     # (listed for the listener)
    assert conn.sent and conn.sent_bytes == 4
    conn.send(b"two;")
    assert conn.held == since and conn.holding == [conn]
    assert not _pending(client)
    conn.push()
    assert not conn.held and conn.cork == [] and conn.corked == 0
    assert _recv_exactly(client, 8) == b"one;two;"
    assert conn.sent_bytes == 8
    conn.send(b"three;")
    assert conn.held and conn.holding == [conn, conn]   # corked again: listed again
    conn.uncork()                           # (its thread's: nothing left to push)
    assert not conn.held and _recv_exactly(client, 6) == b"three;"
    conn.send(b"four;")
    conn.close()
    conn.push()                             # (closed meanwhile: nothing to do)
    assert not conn.held


def test_a_push_leaves_a_send_in_progress_alone(held):
    """The listener never waits: while a thread sends (holds the lock), its
    push does nothing, and that thread's next uncork sends it all."""
    conn, client = held
    conn.send(b"one;")
    with conn.lock:
        conn.push()
        assert conn.cork == [b"one;"] and conn.held
        assert conn.holding == [conn, conn]     # (listed again: look next time)
    conn.uncork_unless_sending()
    assert _recv_exactly(client, 4) == b"one;" and not conn.held


def test_what_the_client_cannot_take_stays_corked_for_the_next_push(held):
    conn, client = held
    conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    filled = 0
    while True:                 # the client reads nothing: fill both buffers
        try:
            filled += conn.sock.send(b"f" * 65536)
        except BlockingIOError:
            break
    conn.send(b"tail;")
    conn.holding.clear()
    conn.push()
    assert conn.cork == [b"tail;"] and conn.corked == 5
    assert conn.held and conn.holding == [conn]     # listed again
    got = []
    reader = threading.Thread(target=lambda: got.append(_recv_exactly(client, filled + 5)))
    reader.start()
    end = time.monotonic() + LIMIT
    while conn.cork and time.monotonic() < end:
        conn.push()
        time.sleep(0.001)
    reader.join(LIMIT)
    assert got and got[0] == b"f" * filled + b"tail;"


def test_pushes_and_a_threads_sends_keep_the_bytes_in_order(held):
    """A serving thread sends (small and large, corked and not, uncorking)
    while the listener pushes as fast as it can: the client gets every byte,
    in order (bounded: 3000 sends)."""
    from fastdispatch.server._connection import CORK_MAX
    conn, client = held
    pieces = [(b"%05d;" % i) * (1 + (CORK_MAX // 6 if i % 97 == 0 else i % 7))
              for i in range(3000)]
    expected = b"".join(pieces)
    got = []
    reader = threading.Thread(target=lambda: got.append(_recv_exactly(client, len(expected))))
    reader.start()
    done = threading.Event()

    def pusher():
        while not done.is_set():
            conn.push()

    listener = threading.Thread(target=pusher)
    listener.start()
    try:
        for i, piece in enumerate(pieces):
            conn.send(piece)
            if i % 5 == 4:
                conn.uncork()
        conn.uncork()
    finally:
        done.set()
        listener.join(LIMIT)
    reader.join(LIMIT)
    assert got and got[0] == expected
    assert conn.sent_bytes == len(expected)


def test_a_head_before_an_empty_file_is_not_kept_back(held, tmp_path):
    """What is corked goes with MSG_MORE before a file (it then shares the
    file's first segment), but not before an empty one: nothing would
    follow to send it."""
    from fastdispatch.transport import FileRegion
    conn, client = held
    path = tmp_path / "empty"
    path.write_bytes(b"")
    with open(path, "rb") as f:
        conn.send(b"head;")
        conn.send(FileRegion(f.fileno(), 0, 0))
    assert _pending(client)
    assert _recv_exactly(client, 5) == b"head;" and not conn.held


def test_a_file_region_sends_what_is_held_before_it(held, tmp_path):
    conn, client = held
    _send_head_and_file(conn, tmp_path)
    assert _recv_exactly(client, 9) == b"head;file" and conn.sent_bytes == 9


def test_a_send_larger_than_the_socket_buffers_goes_after_what_is_held(held):
    conn, client = held
    big = bytes(range(256)) * 16384     # 4 MiB: more than the socket buffers
    got = []
    reader = threading.Thread(target=lambda: got.append(_recv_exactly(client, len(big) + 5)))
    reader.start()
    conn.send(b"head;")
    conn.send(big)
    reader.join(LIMIT)
    assert got == [b"head;" + big]


def test_waiting_for_the_client_sends_what_is_held_first(held):
    """A client may wait for the answer before it sends more."""
    conn, client = held
    conn.send(b"HTTP/1.1 100 Continue\r\n\r\n")
    assert not _pending(client)
    client.send(b"body")
    assert conn.recv_wait() == b"body"
    assert not conn.held
    assert _recv_exactly(client, 25) == b"HTTP/1.1 100 Continue\r\n\r\n"


def test_body_reader_read_n_is_exact_across_pieces():
    body, conn = _reader(CL10, b"01", [b"234", b"56789GET / HTTP/1.1\r\n"])
    assert body.read(4) == b"0123"
    assert body.remaining_known() == 6
    assert body.read(100) == b"456789"
    assert body.read() == b"" and body.read(5) == b""
    assert body.at_end() and body.finish() == b"GET / HTTP/1.1\r\n"
    assert conn.sends == []


def test_body_reader_readline():
    body, _ = _reader(CHUNKED, b"5\r\nab\ncd\r\n", [b"6\r\nefghij\r\n0\r\n\r\n"])
    assert body.readline() == b"ab\n"
    assert body.readline(2) == b"cd"
    assert body.readline(3) == b"efg"
    assert body.readline() == b"hij"
    assert body.readline() == b""
    assert body.finish() == b""


def test_body_reader_100_continue_on_the_first_read():
    body, conn = _reader(EXPECT, b"", [b"data"])
    assert conn.sends == []
    assert body.read() == b"data"
    assert conn.sends == [b"HTTP/1.1 100 Continue\r\n\r\n"]
    assert conn.sent is False             # an error page could still be sent
    body, conn = _reader(EXPECT, b"da", [b"ta"])      # the client did not wait:
    assert conn.sends == [] and body.continue_owed    # sent all the same, as Apache
    assert body.read() == b"data" and conn.sends == [b"HTTP/1.1 100 Continue\r\n\r\n"]
    assert not body.continue_owed


def test_body_reader_limit():
    from fastdispatch.errors import HTTPError
    body, conn = _reader(CL10, b"0123456789", limit=9)
    with pytest.raises(HTTPError) as exc:
        body.read(1)
    assert exc.value.status == 413 and body.finish() is None
    body, _ = _reader(CHUNKED, b"5\r\n01234\r\n", [b"5\r\n56789\r\n0\r\n\r\n"], limit=9)
    assert body.read(5) == b"01234"
    with pytest.raises(HTTPError):
        body.read()
    body, _ = _reader(CL10, b"0123456789", limit=10)
    assert body.read() == b"0123456789"


def test_body_reader_finish_drains_or_gives_up():
    body, _ = _reader(CL10, b"01", [b"23456789", b"NEXT"])
    assert body.finish() == b""                       # drained; NEXT not read yet
    body, _ = _reader(CL10, b"0123456789NEXT")
    assert body.finish() == b"NEXT"
    body, _ = _reader(CL10, b"01", [b"234"])          # client gone mid-body
    assert body.finish() is None
    body, _ = _reader(CL10, b"01", [b"23456789"])
    assert body.finish(drain_max=4) is None           # too much to drain
    body, _ = _reader(EXPECT)                         # 100 never sent: do not wait
    assert body.finish() is None
    body, _ = _reader(CHUNKED, b"zz\r\n")
    assert body.finish() is None                      # bad framing


def test_access_line_format_and_escaping(tmp_path):
    """The combined format (Debian's: the bytes sent, head included), with
    what ap_escape_logitem escapes, written at once or held for a poll round:
    the same lines either way."""
    import logging
    import types
    from fastdispatch.server._logs import AccessLog, FdHandler
    from fastdispatch.transport import Outcome
    path = tmp_path / "access.log"
    lg = logging.getLogger("fastdispatch.access.test-format")
    lg.propagate = False
    lg.setLevel(logging.INFO)
    handler = FdHandler(str(path))
    lg.addHandler(handler)
    try:
        from fastdispatch import _speedups
        heads = [
            # parsed (plain_line: the parser saw nothing to escape), and made
            # by hand (plain_line false: the line is looked at)
            _speedups.http.parse_head(b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n")[0],
            _speedups.http.RequestHead(
                request_line='GET /q"\\\x01\xe9 HTTP/1.1',
                headers=[("Referer", 'http://r/"x"'), ("User-Agent", "ua\tz"),
                         ("Host", "h")]),
        ]
        for hold in (False, True):
            log = AccessLog(lg)
            if hold:
                log.hold()
            log.log(types.SimpleNamespace(remote_ip="127.0.0.1"), heads[0], Outcome(200, 0),
                    12)
            log.log(types.SimpleNamespace(remote_ip="10.0.0.1"), heads[1],
                    Outcome(404, 0, user='bo"b'), 0)
            log.flush()
    finally:
        lg.removeHandler(handler)
        handler.close()
    lines = path.read_text(encoding="latin-1").splitlines()
    assert len(lines) == 4 and lines[:2] == lines[2:]
    stamp = re.compile(r" \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] ")
    assert stamp.sub(" [T] ", lines[0]) == '127.0.0.1 - - [T] "GET /a HTTP/1.1" 200 12 "-" "-"'
    assert stamp.sub(" [T] ", lines[1]) == (
        '10.0.0.1 - bo\\"b [T] "GET /q\\"\\\\\\x01\\xe9 HTTP/1.1" 404 - '
        '"http://r/\\"x\\"" "ua\\tz"')


def test_access_log_flushed_from_many_threads_loses_and_repeats_nothing():
    """Serving threads and the listener flush the held access-log lines
    concurrently while others log: every line is written exactly once.
    (A short switch interval makes the threads interleave inside flush.)"""
    import collections
    import threading
    from fastdispatch.server._logs import AccessLog, FdHandler

    lg = logging.getLogger("fastdispatch.access.test-flush-race")
    lg.propagate = False
    lg.setLevel(logging.INFO)
    handler = FdHandler(os.open(os.devnull, os.O_WRONLY))
    lg.addHandler(handler)
    try:
        log = AccessLog(lg)
        written = []
        log._write = written.append         # the one os.write, recorded
        log.hold()
        n, threads = 5000, 4

        def serve(t):
            for i in range(n):
                log._held.append(b"%d-%d\n" % (t, i))   # what log() does
                if i % 7 == 0:
                    log.flush()

        old = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)
        try:
            ts = [threading.Thread(target=serve, args=(t,)) for t in range(threads)]
            for t in ts:
                t.start()
            for t in ts:
                t.join(LIMIT)
        finally:
            sys.setswitchinterval(old)
        log.flush()
        counts = collections.Counter(b"".join(written).splitlines())
        assert len(counts) == n * threads
        assert max(counts.values()) == 1
    finally:
        lg.removeHandler(handler)
        handler.close()

"""Resource limits over real sockets: LimitRequestLine, LimitRequestFieldSize,
LimitRequestFields, LimitRequestBody (Apache's defaults and status codes,
then configured values), the head read timeout (slowloris), KeepAliveTimeout
and MaxConnectionsPerWorker. Each wait is bounded; durations are only
checked against generous upper bounds."""
import os
import socket
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "data", "hardening"))
import hsite  # noqa: E402

from fastdispatch.config.model import ServerConfig  # noqa: E402

FIELD_TOO_LONG = b"Size of a request header field exceeds server limit."
# (the apostrophe that follows is Apache's raw "'"; how the page escapes it is
# the parity test's business: edge_101_headers)
TOO_MANY_FIELDS = b"The number of request header fields exceeds this server"


def test_defaults_are_apaches():
    cfg = ServerConfig()
    assert (cfg.limit_request_line, cfg.limit_request_fieldsize, cfg.limit_request_fields,
            cfg.limit_request_body) == (8190, 8190, 100, 1 << 30)
    assert (cfg.timeout, cfg.keep_alive_timeout) == (60.0, 5.0)


@pytest.fixture(scope="module")
def default_site(tmp_path_factory):
    s = hsite.make_site(tmp_path_factory.mktemp("limits-default"))
    s.server = s.start(workers=1)
    yield s
    s.server.stop()


@pytest.fixture(scope="module")
def small_site(tmp_path_factory):
    s = hsite.make_site(
        tmp_path_factory.mktemp("limits-small"), timeout=2, keep_alive_timeout=1,
        max_connections=4,
        extra="LimitRequestLine 100\nLimitRequestFieldSize 50\nLimitRequestFields 5\n"
              "LimitRequestBody 100\n")
    s.server = s.start(workers=1)
    yield s
    s.server.stop()


def line_of(n, path="/app/echo.py?"):
    """A request line of exactly n bytes (CRLF excluded)."""
    line = "GET %s%s HTTP/1.1" % (path, "a" * (n - len(path) - 13))
    assert len(line) == n
    return line


def ask(port, line, *fields, body=b""):
    data = (line + "\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            + "".join(f + "\r\n" for f in fields) + "\r\n").encode("latin-1") + body
    raw, closed = hsite.exchange(port, data, quiet=3.0)
    responses = hsite.final_responses(raw)
    assert responses, "no answer"
    return responses[0][0], responses[0][2], closed


# ------------------------------------------------------------------ defaults

def test_request_line_default_limit(default_site):
    port = default_site.server.port
    assert ask(port, line_of(8191))[0] == 200           # Apache: limit_line_max_accepted_8191
    status, _, closed = ask(port, line_of(8192))         # limit_line_min_rejected_8192
    assert status == 414 and closed


def test_field_size_default_limit(default_site):
    port = default_site.server.port
    assert ask(port, "GET /app/echo.py HTTP/1.1", "X-Long: " + "b" * (8191 - 8))[0] == 200
    status, body, closed = ask(port, "GET /app/echo.py HTTP/1.1", "X-Long: " + "b" * (8192 - 8))
    assert (status, closed) == (400, True) and FIELD_TOO_LONG in body


def test_field_count_default_limit(default_site):
    port = default_site.server.port
    # Host and Connection are two of the fields
    assert ask(port, "GET /app/echo.py HTTP/1.1", *["X-%d: v" % i for i in range(98)])[0] == 200
    status, body, closed = ask(port, "GET /app/echo.py HTTP/1.1",
                               *["X-%d: v" % i for i in range(99)])
    assert (status, closed) == (400, True) and TOO_MANY_FIELDS in body


def test_content_length_up_to_apr_off_t(default_site):
    # Apache reads any Content-Length up to 2**63-1 (apr_off_t): a handler
    # that reads no body answers, and the unread body ends the connection;
    # one digit more overflows apr_strtoff: 400
    port = default_site.server.port
    status, body, closed = ask(port, "GET /app/canary.py?cl HTTP/1.1",
                               "Content-Length: %d" % (2 ** 63 - 1))
    assert (status, body, closed) == (200, b"canary\n", True)
    status, _, closed = ask(port, "GET /app/canary.py?cl HTTP/1.1",
                            "Content-Length: %d" % (2 ** 63))
    assert (status, closed) == (400, True)


def test_body_default_limit_refused_before_reading(default_site):
    # 1 GiB + 1 declared: 413 at once, without waiting for the body
    port = default_site.server.port
    start = time.monotonic()
    status, _, closed = ask(port, "POST /app/echo.py HTTP/1.1", "Content-Length: %d" % ((1 << 30) + 1))
    assert (status, closed) == (413, True)
    assert time.monotonic() - start < 3.0


def test_head_size_is_bounded_even_with_small_lines(default_site):
    # many lines, each within the limits: refused by count long before memory grows
    port = default_site.server.port
    data = b"GET /app/echo.py HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X: y\r\n" * 5000
    raw, closed = hsite.exchange(port, data, quiet=3.0)
    responses = hsite.final_responses(raw)
    assert responses[0][0] == 400 and closed


# ------------------------------------------------------------------ configured

def test_configured_request_line(small_site):
    port = small_site.server.port
    assert ask(port, line_of(101))[0] == 200
    assert ask(port, line_of(102))[0] == 414


def test_configured_field_size(small_site):
    port = small_site.server.port
    assert ask(port, "GET /app/echo.py HTTP/1.1", "X: " + "v" * 48)[0] == 200    # 51 bytes
    status, body, _ = ask(port, "GET /app/echo.py HTTP/1.1", "X: " + "v" * 49)
    assert status == 400 and FIELD_TOO_LONG in body


def test_configured_field_count(small_site):
    port = small_site.server.port
    assert ask(port, "GET /app/echo.py HTTP/1.1", "A: 1", "B: 2", "C: 3")[0] == 200
    status, body, _ = ask(port, "GET /app/echo.py HTTP/1.1", "A: 1", "B: 2", "C: 3", "D: 4")
    assert status == 400 and TOO_MANY_FIELDS in body


def test_configured_body_limit(small_site):
    port = small_site.server.port
    status, body, _ = ask(port, "POST /app/echo.py HTTP/1.1", "Content-Length: 100",
                          body=b"x" * 100)
    assert (status, body) == (200, b"POST /app/echo.py 100\n")
    status, _, closed = ask(port, "POST /app/echo.py HTTP/1.1", "Content-Length: 101",
                            body=b"x" * 101)
    assert (status, closed) == (413, True)
    chunked = b"40\r\n" + b"x" * 64 + b"\r\n40\r\n" + b"x" * 64 + b"\r\n0\r\n\r\n"
    status, _, closed = ask(port, "POST /app/echo.py HTTP/1.1", "Transfer-Encoding: chunked",
                            body=chunked)
    assert (status, closed) == (413, True)


def test_slowloris_head_is_dropped_after_timeout(small_site):
    """One byte a second: the head must be complete within Timeout (2 s)
    of its first byte, or the connection gets 408 and is closed."""
    port = small_site.server.port
    head = b"GET /app/echo.py HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"s" * 40
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    start = time.monotonic()
    got = b""
    try:
        for i in range(len(head)):
            try:
                sock.sendall(head[i:i + 1])
            except (BrokenPipeError, ConnectionResetError):
                break
            sock.settimeout(1.0)
            try:
                data = sock.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                break
            got += data
            if not data or b"\r\n\r\n" in got:
                break
            if time.monotonic() - start > 10:
                break
        elapsed = time.monotonic() - start
        assert got.startswith(b"HTTP/1.1 408 "), got[:100]
        assert elapsed < 2 + 3.5, elapsed           # Timeout 2 s, the sweep, slack
        sock.settimeout(3)
        try:
            rest = sock.recv(65536)
            while rest:
                rest = sock.recv(65536)
        except ConnectionResetError:
            pass
    finally:
        sock.close()


def test_many_slow_heads_do_not_stop_the_server(tmp_path):
    """40 slowloris connections at once cost no thread and no service."""
    s = hsite.make_site(tmp_path, timeout=2)
    srv = s.start(workers=1)
    socks = []
    try:
        for _ in range(40):
            c = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
            c.sendall(b"GET /app/echo.py HTTP/1.1\r\nHo")
            socks.append(c)
        for _ in range(5):
            assert hsite.get(srv.port, "/app/echo.py")[0] == 200
        # all of them are answered 408 and closed within Timeout plus slack
        end = time.monotonic() + 8
        for c in socks:
            c.settimeout(max(0.1, end - time.monotonic()))
            data = b""
            try:
                while True:
                    chunk = c.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            except ConnectionResetError:
                pass
            assert data.startswith(b"HTTP/1.1 408 "), data[:80]
    finally:
        for c in socks:
            c.close()
        srv.stop()


def test_keep_alive_timeout(small_site):
    port = small_site.server.port
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        start = time.monotonic()        # the server's idle timer starts after this
        sock.sendall(b"GET /app/echo.py HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        data = b""
        while not data.endswith(b"\r\n0\r\n\r\n"):       # the whole (chunked) response
            data += sock.recv(65536)
        assert b"GET /app/echo.py 0\n" in data
        sock.settimeout(6)
        assert sock.recv(65536) == b""              # closed by the server
        elapsed = time.monotonic() - start
        assert 1.0 <= elapsed < 1 + 3, elapsed      # KeepAliveTimeout 1 s
    finally:
        sock.close()


def test_connections_per_worker_cap(small_site):
    """MaxConnectionsPerWorker 4: a fifth connection waits in the listen
    backlog until one of the four goes away, then it is served."""
    port = small_site.server.port
    held = []
    try:
        for _ in range(4):
            c = socket.create_connection(("127.0.0.1", port), timeout=5)
            c.sendall(b"GET /app/pid.py HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            data = b""
            while not hsite.final_responses(data):
                data += c.recv(4096)
            held.append(c)
        fifth = socket.create_connection(("127.0.0.1", port), timeout=5)
        held.append(fifth)
        fifth.sendall(b"GET /app/echo.py HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        fifth.settimeout(0.7)
        with pytest.raises(socket.timeout):
            fifth.recv(4096)                        # not served: above the cap
        held[0].close()
        fifth.settimeout(5)
        data = b""
        while True:
            chunk = fifth.recv(4096)
            if not chunk:
                break
            data += chunk
        assert hsite.final_responses(data)[0][0] == 200
    finally:
        for c in held:
            c.close()


def test_directives(tmp_path):
    from fastdispatch.config.parser import parse_config
    from fastdispatch.errors import ConfigError
    conf = tmp_path / "site.conf"
    conf.write_text("HandlerTimeout 7\nMaxConnectionsPerWorker 12\nLimitRequestBody 0\n")
    srv = parse_config(str(conf)).server
    assert (srv.handler_timeout, srv.max_connections_per_worker, srv.limit_request_body) \
        == (7.0, 12, 0)
    conf.write_text("MaxConnectionsPerWorker 0\n")
    with pytest.raises(ConfigError):
        parse_config(str(conf))

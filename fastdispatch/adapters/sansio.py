"""The dispatcher without I/O: bytes in, bytes out (``dispatcher.connection()``).

    conn = app.connection(client=("127.0.0.1", 50312))
    while not conn.closed:
        data = sock.recv(65536)
        sock.sendall(conn.receive(data))     # b"" from recv means EOF
    sock.close()

A ``Connection`` is one client connection's HTTP/1.1 state, as h11 keeps it:
the bytes received and not consumed yet, the request whose body is still
arriving, keep-alive (``KeepAlive``, ``MaxKeepAliveRequests``, the client's
``Connection``) and pipelining. It owns no socket, thread or event loop:
``receive`` runs the complete requests it has -- each through the whole
pipeline, in the caller's thread -- and returns their responses, in order.
The host owns the socket and its timers (``keep_alive_timeout`` while
``idle``, else ``timeout``; when one expires, send ``timed_out()`` and
close).

A request runs once its body is whole (there is no I/O to block on while a
handler reads it), so the body is held in memory: ``LimitRequestBody``
applies as in the builtin server, and ``max_body`` (64 MiB) bounds what is
buffered when it is larger. ``100 Continue`` is sent as soon as such a head
arrives. Framing errors in the head or a chunked body are answered at once
(the server's error page) and close the connection.

With ``send=`` (a callable taking bytes), responses are written through it
as the dispatcher produces them -- streamed -- and ``receive`` returns b"".
When ``send`` raises (the client went away), the connection is closed and
``receive`` raises that exception.
"""
import logging

from fastdispatch import _speedups
from fastdispatch.errors import ClientGone, HTTPError
from fastdispatch.server._body import CONTINUE, EMPTY_BODY
from fastdispatch.transport import BytesBody, ConnInfo, Outcome

from ._body import StreamBody

DEFAULT_MAX_BODY = 64 << 20

log = logging.getLogger("fastdispatch.error")


class SansIOConnInfo(ConnInfo):
    """ConnInfo plus ``keepalives`` (requests already served on it)."""
    __slots__ = ("keepalives",)

    def __init__(self, *args):
        ConnInfo.__init__(self, *args)
        self.keepalives = 0


def _too_large(n):
    raise HTTPError(413, "request body larger than LimitRequestBody")


class Connection:
    """One HTTP/1.1 connection, sans-IO. See the module docstring."""

    def __init__(self, app, client=("127.0.0.1", 0), server=("127.0.0.1", 80),
                 is_https=False, send=None, max_body=DEFAULT_MAX_BODY):
        cfg = app.server_config
        self.app = app
        self.info = SansIOConnInfo(client[0], client[1], server[0], server[1], is_https)
        self.timeout = cfg.timeout
        self.keep_alive_timeout = cfg.keep_alive_timeout
        #: True once the connection must be closed (after sending what
        #: ``receive`` returned); later input is ignored.
        self.closed = False
        self._cfg = cfg
        self._handle = app.handle
        self._parse = _speedups.http.parse_head
        self._limits = (cfg.limit_request_line, cfg.limit_request_fieldsize,
                        cfg.limit_request_fields)
        self._max_head = (cfg.limit_request_line + 2
                          + cfg.limit_request_fields * (cfg.limit_request_fieldsize + 2) + 258)
        limit = cfg.limit_request_body
        self._limit = min(limit, max_body) if limit and max_body else (limit or max_body)
        self._buf = b""           # received, not consumed (from _pos on)
        self._pos = 0
        self._head = None         # the request whose body is arriving
        self._left = 0            # its Content-Length still to come
        self._chunks = None       # or its chunked decoder
        self._parts = []          # its body so far
        self._got = 0
        self._out = []
        self._user_send = send
        self._sent = False
        self._send_failed = None

    # ------------------------------------------------------------------ API
    def receive(self, data):
        """Take bytes received from the client (b"" when it closed its side);
        return the bytes to send to it."""
        if self.closed:
            return b""
        if not data:
            self.closed = True     # a request cut short by EOF gets no answer
            self._buf, self._pos = b"", 0
            return b""
        if self._pos < len(self._buf):
            buf = self._buf
            if not isinstance(buf, bytearray):
                buf = bytearray(buf[self._pos:])
            elif self._pos:
                del buf[:self._pos]
            buf += data
            self._buf = buf
        else:
            self._buf = data
        self._pos = 0
        self._run()
        return self._flush()

    @property
    def idle(self):
        """True between requests (nothing received of the next one yet): the
        host's timer is then ``keep_alive_timeout``, else ``timeout``."""
        return self._head is None and self._pos >= len(self._buf)

    def timed_out(self):
        """The host's timer expired: the bytes to send before closing (a 408
        when part of a request head had arrived, as Apache; else b"")."""
        if self.closed:
            return b""
        partial = self._head is None and self._pos < len(self._buf)
        self.closed = True
        self._buf, self._pos = b"", 0
        if partial:
            self._write(self.app.error_response(408, None))
        return self._flush()

    # ------------------------------------------------------------------ internals
    def _write(self, data):
        self._sent = True
        if self._user_send is None:
            self._out.append(data)
            return
        try:
            self._user_send(data)
        except Exception as exc:
            self._send_failed = exc
            self.closed = True
            # ClientGone: not the handler's exception (it reaches _dispatch,
            # which raises the host's own to the host)
            raise ClientGone("the host's send failed: %r" % exc) from exc

    def _flush(self):
        out = self._out
        if not out:
            return b""
        data = out[0] if len(out) == 1 else b"".join(out)
        out.clear()
        return data

    def _run(self):
        parse = self._parse
        max_line, max_field, max_fields = self._limits
        while not self.closed:
            buf, pos = self._buf, self._pos
            head = self._head
            if head is None:
                if pos >= len(buf):
                    return
                try:
                    head, end = parse(buf, pos, max_line, max_field, max_fields)
                except HTTPError as exc:
                    return self._protocol_error(exc.status, exc.detail)
                if head is None:
                    if len(buf) - pos > self._max_head:
                        return self._protocol_error(400, "request head too large")
                    return
                self._pos = end
                self._start(head)
                if head.content_length <= 0 and not head.chunked:
                    self._dispatch(head, EMPTY_BODY)
                    continue
                if self._head is None:        # dispatched already (too large)
                    continue
                if head.expect_continue and end >= len(buf):
                    self._write(CONTINUE)
            if not self._take_body():
                return

    def _start(self, head):
        cfg = self._cfg
        if head.keep_alive:
            max_ka = cfg.max_keep_alive_requests
            if not cfg.keep_alive or (max_ka and self.info.keepalives >= max_ka):
                head.keep_alive = False
        if head.chunked:
            self._chunks = _speedups.http.ChunkedReader()
        elif head.content_length > 0:
            if head.content_length > self._limit:
                # the handler learns it when it reads (413), as from the
                # builtin server; the body is never read: close after
                self._dispatch(head, StreamBody(_too_large, head.content_length,
                                                self._limit), close=True)
                return
            self._left = head.content_length
        else:
            return
        self._head = head
        self._parts = []
        self._got = 0

    def _take_body(self):
        """Move body bytes from the buffer; dispatch when whole. False when
        more input is needed."""
        buf, pos = self._buf, self._pos
        avail = len(buf) - pos
        if self._chunks is None:
            take = min(avail, self._left)
            if take:
                self._parts.append(bytes(buf[pos:pos + take]))
                self._pos = pos + take
                self._left -= take
            if self._left:
                return False
        else:
            chunks = self._chunks
            if avail:
                try:
                    piece = chunks.feed(bytes(buf[pos:]) if pos or isinstance(buf, bytearray)
                                        else buf)
                except HTTPError as exc:
                    self._head = None
                    self._protocol_error(exc.status, exc.detail)
                    return False
                self._buf, self._pos = (chunks.unused, 0) if chunks.done else (b"", 0)
                if piece:
                    self._parts.append(piece)
                    self._got += len(piece)
                    if self._got > self._limit:
                        head, self._head, self._chunks = self._head, None, None
                        self._dispatch(head, StreamBody(_too_large, self._got + 1, self._got),
                                       close=True)
                        return False
            if not chunks.done:
                return False
            self._chunks = None
        head, self._head = self._head, None
        parts, self._parts = self._parts, []
        self._dispatch(head, BytesBody(parts[0] if len(parts) == 1 else b"".join(parts)))
        return True

    def _dispatch(self, head, body, close=False):
        self._sent = False
        try:
            outcome = self._handle(head, body, self.info, self._write)
        except Exception as exc:
            failed = self._send_failed
            if failed is not None:                  # the host's send: its problem
                self._buf, self._pos = b"", 0
                raise failed from None
            status = exc.status if isinstance(exc, HTTPError) else 500
            if status == 500:
                log.error("unhandled exception serving %s", head.request_line, exc_info=exc)
            if not self._sent:
                self._write(self.app.error_response(status, head))
            outcome = Outcome(status, 0, False)
        if close or not (outcome.keep_alive and head.keep_alive):
            self.closed = True
            self._buf, self._pos = b"", 0
        else:
            self.info.keepalives += 1

    def _protocol_error(self, status, detail=""):
        self._write(self.app.error_response(status, None, detail))
        self.closed = True
        self._buf, self._pos = b"", 0

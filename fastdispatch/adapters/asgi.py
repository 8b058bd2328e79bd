"""The dispatcher as an ASGI 3 application: ``app = dispatcher.asgi()``.

    # site_app.py
    import fastdispatch
    app = fastdispatch.Dispatcher.from_config("site.conf").asgi()

    $ uvicorn --workers 4 site_app:app

Handlers are synchronous and may block (the tutorial's form talks SMTP), so
each request runs in a thread of a pool (``threads``, default the config's
``ThreadsPerChild``, 64), never on the event loop: a blocking handler holds
one thread, and the loop keeps serving every other connection. The two
sides meet in ``_Exchange``:

* the request body: the handler thread asks the loop for the next
  ``http.request`` message (``run_coroutine_threadsafe(receive())``) when the
  handler reads; the first message is fetched before the thread starts, so a
  small body costs no extra hop;
* the response: what the dispatcher writes is parsed back (status, headers,
  de-chunked body) and handed to the loop as ASGI messages as it is written
  (``call_soon_threadsafe``; writes made before the loop took the previous
  ones go with them), so streamed output is streamed; the handler thread
  waits only when more than ``HIGH_WATER`` bytes are queued and not yet sent
  (back-pressure).

``inline=True`` runs handlers on the event loop itself (the body is read
whole first, the response sent when the handler returns): the fastest mode,
for handlers that never block -- one that does stalls every connection of
that process.
"""
import asyncio
import collections
import concurrent.futures
import logging
import threading

from fastdispatch.errors import ClientGone, ClientTimeout, HTTPError
from fastdispatch.server._body import EMPTY_BODY, ClientDisconnected
from fastdispatch.transport import BytesBody, ConnInfo

from ._body import StreamBody
from ._response import ResponseParser, make_head, title_case

log = logging.getLogger("fastdispatch.error")

DEFAULT_THREADS = 64
HIGH_WATER = 1 << 20      # response bytes queued for the loop before the handler waits


def head_from_scope(scope):
    """The RequestHead of an ASGI ``http`` scope."""
    raw = scope.get("raw_path")
    if raw:
        target = raw.decode("latin-1")
    else:
        from urllib.parse import quote
        target = quote(scope.get("root_path", "") + scope["path"],
                       safe="/:@!$&'()*+,;=-._~") or "/"
    qs = scope.get("query_string")
    if qs:
        target += "?" + qs.decode("latin-1")
    headers = [(title_case(k.decode("latin-1")), v.decode("latin-1"))
               for k, v in scope.get("headers", ())]
    return make_head(scope["method"], target, scope.get("http_version", "1.1"), headers)


def conn_from_scope(scope):
    client = scope.get("client") or ("127.0.0.1", 0)
    server = scope.get("server") or ("127.0.0.1", 0)
    return ConnInfo(client[0], client[1] or 0, server[0], server[1] or 0,
                    scope.get("scheme") == "https")


def _start_message(parser):
    return {"type": "http.response.start", "status": parser.status,
            "headers": [(k.lower().encode("latin-1"), v.encode("latin-1"))
                        for k, v in parser.headers]}


class _Exchange:
    """One request between the loop (ASGI side) and a handler thread."""

    __slots__ = ("loop", "receive", "parser", "started", "finished", "failed", "first",
                 "body_done", "timeout", "_lock", "_cond", "_queued", "_pending", "_ready",
                 "_waiter")

    def __init__(self, loop, receive, head_only, timeout):
        self.loop = loop
        self.receive = receive
        self.parser = ResponseParser(head_only)
        self.started = False        # http.response.start posted
        self.finished = False       # the last body message posted
        self.failed = None          # the loop could not send: the client is gone
        self.first = None           # the body message fetched before the thread ran
        self.body_done = False
        self.timeout = timeout
        self._lock = threading.Lock()
        self._cond = None           # on _lock, made when the handler must wait
        self._queued = 0            # body bytes posted, not yet sent
        self._pending = None        # posted by the thread, not yet taken by the loop
        self._ready = collections.deque()
        self._waiter = None

    # ---------------------------------------------------------------- thread side
    def pull(self, n):
        """The next piece of request body (blocks the handler thread)."""
        while not self.body_done:
            msg = self.first
            if msg is not None:
                self.first = None
            else:
                fut = asyncio.run_coroutine_threadsafe(self.receive(), self.loop)
                try:
                    msg = fut.result(self.timeout)
                except concurrent.futures.TimeoutError:
                    fut.cancel()
                    raise ClientTimeout("timed out reading the request body") from None
            if msg["type"] != "http.request":
                self.body_done = True
                raise ClientDisconnected("client closed the connection during the request body")
            if not msg.get("more_body", False):
                self.body_done = True
            data = msg.get("body", b"")
            if data:
                return data
        return b""

    def send(self, data):
        """The dispatcher's ``send``."""
        if self.failed is not None:
            raise ClientGone("client went away: %s" % self.failed)
        if self.finished:
            return
        parser = self.parser
        body = parser.feed(data)
        if not parser.head_done:
            return
        msgs = []
        if not self.started:
            self.started = True
            msgs.append(_start_message(parser))
        if parser.complete:
            self.finished = True
            msgs.append({"type": "http.response.body", "body": body, "more_body": False})
        elif body:
            msgs.append({"type": "http.response.body", "body": body, "more_body": True})
        if msgs:
            self._post(msgs, len(body))

    def close(self, exc=None):
        """After ``handle`` returned (or raised ``exc``): end the response."""
        if self.finished:
            return
        if exc is not None:
            self.finished = True
            self._post(exc, 0)
            return
        msgs = []
        if not self.started:
            self.started = True
            msgs.append(_start_message(self.parser))
        self.finished = True
        msgs.append({"type": "http.response.body", "body": b"", "more_body": False})
        self._post(msgs, 0)

    def _post(self, item, nbytes):
        """Hand ``item`` (messages, or an exception) to the loop. Posts made
        while the loop has not taken the previous ones yet ride along with
        them: one wake-up of the loop for a burst of writes."""
        with self._lock:
            self._queued += nbytes
            pending = self._pending
            if pending is None:
                self._pending = [(item, nbytes)]
            else:
                pending.append((item, nbytes))
        if pending is None:
            self.loop.call_soon_threadsafe(self._wake)
        if nbytes and self._queued > HIGH_WATER:
            with self._lock:
                if self._cond is None:
                    self._cond = threading.Condition(self._lock)
                while self._queued > HIGH_WATER and self.failed is None:
                    if not self._cond.wait(5.0) and self.loop.is_closed():
                        raise ClientGone("the event loop is gone")

    # ---------------------------------------------------------------- loop side
    def _wake(self):
        with self._lock:
            items, self._pending = self._pending, None
        self._ready.extend(items)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def relay(self, send):
        """Send what the handler thread posts until its response ends."""
        ready = self._ready
        while True:
            if not ready:
                self._waiter = self.loop.create_future()
                await self._waiter
                self._waiter = None
                continue
            item, nbytes = ready.popleft()
            if isinstance(item, BaseException):
                if self.failed is not None:
                    return              # the client is gone: nothing to report to it
                raise item              # the server closes the connection
            final = False
            for msg in item:
                if self.failed is None:
                    try:
                        await send(msg)
                    except Exception as exc:       # the client went away
                        self.failed = exc
                final = msg["type"] == "http.response.body" and not msg["more_body"]
            if nbytes:
                with self._lock:
                    self._queued -= nbytes
                    if self._cond is not None:
                        self._cond.notify()
            if final:
                return

    def abandon(self, exc):
        self.failed = exc
        with self._lock:
            if self._cond is not None:
                self._cond.notify()


class ASGIApplication:
    """``dispatcher.asgi()``: an ASGI 3 application over a Dispatcher."""

    def __init__(self, dispatcher, threads=None, inline=False, executor=None):
        self.dispatcher = dispatcher
        if threads is None:         # ThreadsPerChild, as the builtin server's workers
            threads = getattr(dispatcher.server_config, "threads_per_child", 0) \
                or DEFAULT_THREADS
        self.threads = threads
        self.inline = inline
        self._executor = executor
        self._own_executor = executor is None
        self._limit = dispatcher.server_config.limit_request_body
        self._timeout = dispatcher.server_config.timeout or None

    @property
    def executor(self):
        ex = self._executor
        if ex is None:
            ex = self._executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=self.threads, thread_name_prefix="fastdispatch-asgi")
        return ex

    async def __call__(self, scope, receive, send):
        kind = scope["type"]
        if kind == "http":
            if self.inline:
                await self._http_inline(scope, receive, send)
            else:
                await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1000})   # 403 to the client
        else:
            raise ValueError("unsupported ASGI scope type %r" % kind)

    async def _http(self, scope, receive, send):
        head = head_from_scope(scope)
        ex = _Exchange(asyncio.get_running_loop(), receive, head.method == "HEAD",
                       self._timeout)
        if head.content_length > 0 or head.chunked:
            if not head.expect_continue:
                # most bodies come in one message: fetch it here, on the loop
                # (when 100 Continue is expected, only a read may trigger it)
                ex.first = await receive()
            body = StreamBody(ex.pull, head.content_length, self._limit)
        else:
            body = EMPTY_BODY
        conn = conn_from_scope(scope)
        self.executor.submit(self._run, head, body, conn, ex)
        try:
            await ex.relay(send)
        except BaseException as exc:
            ex.abandon(exc)
            raise

    def _run(self, head, body, conn, ex):
        """In a pool thread: the request through the pipeline."""
        try:
            self.dispatcher.handle(head, body, conn, ex.send)
        except Exception as exc:
            if ex.started:
                if ex.failed is None:
                    log.error("unhandled exception serving %s", head.request_line,
                              exc_info=exc)
                ex.close(exc)
                return
            status = exc.status if isinstance(exc, HTTPError) else 500
            if status == 500:
                log.error("unhandled exception serving %s", head.request_line, exc_info=exc)
            ex.parser = ResponseParser(head.method == "HEAD")
            ex.send(self.dispatcher.error_response(status, head))
        except BaseException as exc:        # never leave the loop side waiting
            ex.close(exc)
            raise
        if not ex.started:
            ex.send(self.dispatcher.error_response(500, head))
        ex.close()

    async def _http_inline(self, scope, receive, send):
        head = head_from_scope(scope)
        body = EMPTY_BODY
        if head.content_length > 0 or head.chunked:
            parts = []
            while True:
                msg = await receive()
                if msg["type"] != "http.request":
                    return
                parts.append(msg.get("body", b""))
                if not msg.get("more_body", False):
                    break
            data = b"".join(parts)
            if self._limit and len(data) > self._limit:
                body = StreamBody(lambda n: data, len(data), self._limit)
            else:
                body = BytesBody(data)
        out = []
        try:
            self.dispatcher.handle(head, body, conn_from_scope(scope), out.append)
        except Exception as exc:
            if out:
                raise
            status = exc.status if isinstance(exc, HTTPError) else 500
            out = [self.dispatcher.error_response(status, head)]
        parser = ResponseParser(head.method == "HEAD")
        data = parser.feed(b"".join(out))
        if not parser.head_done:
            parser = ResponseParser(head.method == "HEAD")
            data = parser.feed(self.dispatcher.error_response(500, head))
        await send(_start_message(parser))
        await send({"type": "http.response.body", "body": data, "more_body": False})

    async def _lifespan(self, receive, send):
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                if self._own_executor and self._executor is not None:
                    self._executor.shutdown(wait=False)
                    self._executor = None
                await send({"type": "lifespan.shutdown.complete"})
                return

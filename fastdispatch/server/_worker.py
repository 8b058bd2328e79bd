"""One worker process's request engine: Apache's event MPM, in Python.

A listener thread (the one that calls ``Worker.run``) owns the listening
sockets and every idle connection, in one poller (``_poller``). When an idle
connection becomes readable it is handed to a pool of serving threads through a
``SimpleQueue``; the thread owns the connection while its requests run, with
blocking socket I/O bounded by ``Timeout``, serves the pipelined requests
already received, and parks the connection back in the poller when nothing is
buffered. Idle connections cost no thread; a handler that blocks holds only
its own thread. The pool starts empty and grows up to ``threads`` (then
requests queue, as Apache's ``MaxRequestWorkers``) -- but only when its
threads stop making progress: a connection that finds no idle thread waits
in the queue, and a new thread is started for the waiting ones when no
request has finished for STALL_SECS. Handlers that return quickly are then
served by a thread or two (few GIL hand-offs, short queues: the tail
latency of a small pool), handlers that block get threads as they block.

With epoll, a serving thread that finished its connection's requests takes
the next ready connection itself (``EpollPoller.take``) instead of going
back to the queue, and while any thread does so the listener does not watch
the connections: a busy worker serves request after request on one thread,
no hand-off, no listener wake-up per request. When those threads finish no
request for STALL_SECS (their handlers block), the listener takes what is
ready and hands it out as above. While requests do finish and threads sit
idle, the listener gives an idle thread one ready connection per look --
but only while the GIL has room (``_demand``: the process's threads want
less than half a CPU, handlers waiting on I/O); while it is saturated,
extra takers are asked to step back after their current request, since a
second thread running Python only adds GIL hand-offs.

Those threads cork their connections' small sends (``Connection.send``,
holding) and send the responses of the ready connections they took
together once they have served them; the listener pushes what has been
corked for HOLD_SECS (a handler that flushed and then blocks, or the
responses its thread served before it). A response then leaves in one
send, and a batch of them wakes the client once, as inline's corking does,
while nothing a handler flushed waits long on a thread that blocks.

``inline=True`` serves every request on the listener thread itself: no thread
hand-off at all, the fastest mode, but a handler (or a request body) that
blocks stalls every connection of that worker process until it returns.
Inline, a small response (up to CORK_MAX) waits until the poll round's
other ready connections are served, then they all leave back to back
(``Connection.send``): the client is woken once for them.

The listener thread also closes idle keep-alive connections after
``KeepAliveTimeout``, incomplete request heads after ``Timeout`` (answering
408), finishes lingering closes, and stops accepting above
``max_connections_per_worker``.

Graceful stop (``stop()``, signal-safe): stop accepting, close idle
connections (one accepted a moment ago gets STOP_FRESH_SECS to send its
first request), let in-flight requests finish (each connection is closed
after its current response) for at most ``grace`` seconds, then return from
``run()``.

HandlerTimeout: a busy connection's ``since`` is when its request last made
progress (started, sent, received; waiting for the client does not count).
The listener's sweep logs a request stuck longer than the limit and, under
a master, reports it in the worker's scoreboard ``slot`` with a heartbeat on
every tick; the master then replaces this worker.
"""
import errno
import inspect
import re
import logging
import os
import queue
import socket
import threading
import time
from http import HTTPStatus

from fastdispatch import _speedups
from fastdispatch.errors import ClientGone, HTTPError
from fastdispatch.logformat import resolve_format
from fastdispatch.transport import Outcome

from ._body import EMPTY_BODY, EXPECTING_EMPTY_BODY, BodyReader
from ._demand import Demand
from ._connection import BUSY, CLOSED, IDLE, LINGER, RECV_SIZE, Connection, conn_info
from ._logs import ERROR_LOGGER, AccessLog
from ._poller import WAKE, make_poller

log = logging.getLogger(ERROR_LOGGER)

DEFAULT_THREADS = 64        # serving threads per worker process, at most
DEFAULT_GRACE = 30.0        # seconds in-flight requests get on a graceful stop
LINGER_SECS = 2.0           # lingering close: how long to read and drop
ACCEPT_BATCH = 64           # connections accepted per listener wake-up
STOP_FRESH_SECS = 1.0       # graceful stop: a new connection's time to send its request
STALL_SECS = 0.005          # no request finished for this long: the pool grows
TAKE_WAIT = 0.02            # a serving thread waits this long for the next ready
#                             connection before the listener watches them again
HOLD_SECS = 0.002           # (holding) bytes corked for this long are pushed at
#                             the listener's next look (every STALL_SECS while
#                             a thread serves): their handler blocks, or their
#                             thread's batch does

_monotonic = time.monotonic


class Listener:
    """A listening socket and the address it is bound to. ``nodelay``:
    whether the sockets it accepts come with TCP_NODELAY set (a listener
    that has it passes it on, on Linux), None until the first is seen."""
    __slots__ = ("sock", "addr", "nodelay")

    def __init__(self, sock, addr):
        self.sock = sock
        self.addr = addr
        self.nodelay = None


def _set_nodelay(sock, listener):
    """TCP_NODELAY on an accepted socket, unless it came with it: then no
    later socket from the same listener needs the system call."""
    if listener.nodelay is None:
        listener.nodelay = bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        if listener.nodelay:
            return
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _fallback_response(status):
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Error"
    return ("HTTP/1.1 %d %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            % (status, reason)).encode("latin-1")


def _fresh(conn, now):
    """A connection accepted a moment ago that has not had its first request
    yet: a graceful stop (or reload) gives it STOP_FRESH_SECS to send it
    (its bytes may be on the way), where an idle keep-alive connection is
    closed at once."""
    return not conn.info.keepalives and now - conn.since < STOP_FRESH_SECS


def _line_method(buf, start, status):
    """The method of a refused head's request line, when Apache had read it
    by then: a HEAD is answered without a body, and a 501 page names the
    method (not so for a 414, or a line that ends in a bare LF: that line
    was never read). None otherwise."""
    if status == 414:
        return None
    while buf[start:start + 2] == b"\r\n":       # blank lines before it
        start += 2
    end = buf.find(b"\n", start)
    if end < 0 or buf[end - 1:end] != b"\r":
        return None
    space = buf.find(b" ", start, end)
    if space <= start:
        return None
    method = bytes(buf[start:space])
    if not method.isalpha():
        return None         # (not a method Apache would name)
    return method.decode("ascii")


_ABSOLUTE_TARGET = re.compile(r"[A-Za-z]+ [hH][tT][tT][pP]://(?:[^/?#\s@]*@)?([^/?#\s@:]+(?::\d+)?)[/?#\s]")


def _target_authority(line):
    """host[:port] of a request line's http:// target, or None (Apache
    names that host on the 400 page; an https:// one it does not)."""
    m = _ABSOLUTE_TARGET.match(line + " ")
    return m.group(1) if m else None


def _keywords_taken(fn, names):
    """True when ``fn`` takes any keyword; else the ``names`` it takes."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return frozenset()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return True
    return frozenset(p.name for p in params if p.name in names
                     and p.kind is not inspect.Parameter.POSITIONAL_ONLY)


def _head_field(buf, start, lname):
    """The first ``lname`` field's value in the whole head at
    ``buf[start:]``, or None."""
    end = buf.find(b"\r\n\r\n", start)
    for line in bytes(buf[start:end]).split(b"\r\n")[1:]:
        name, colon, value = line.partition(b":")
        if colon and name.lower() == lname:
            return value.strip(b" \t").decode("latin-1")
    return None


def _first_line(buf, start, limit):
    end = buf.find(b"\n", start, start + limit)
    line = bytes(buf[start:end if end >= 0 else start + limit])
    return line.rstrip(b"\r").decode("latin-1")


def _uncork_served(conns):
    """(A serving thread) send what is corked for each of ``conns``, the
    connections it served (emptied). One another thread sends on meanwhile
    is left to that one (``uncork_unless_sending``); a client gone is found
    by the connection's next owner."""
    for conn in conns:
        if conn.cork:
            try:
                conn.uncork_unless_sending()
            except ClientGone:
                pass
            except Exception:       # (never out of the serving thread)
                log.exception("internal error sending to %r", conn)
    conns.clear()


def _body_length(response):
    """The body's share of a whole response's bytes."""
    end = response.find(b"\r\n\r\n")
    return 0 if end < 0 else len(response) - end - 4


def _server_hostname(app):
    """The name %v logs when no ServerName is set: the one the requests see."""
    info = getattr(app, "server_info", None)
    return getattr(info, "server_hostname", "") or ""


class Worker:
    """Serves connections accepted on ``listeners`` until ``stop()``."""

    def __init__(self, app, cfg, listeners, *, inline=False, threads=DEFAULT_THREADS,
                 grace=DEFAULT_GRACE, poller=None, access_log=None, slot=None):
        http = _speedups.http
        if http is None:
            raise RuntimeError("fastdispatch._http (or its pure twin) is not available")
        self.app = app
        self.cfg = cfg
        self._error_facts = _keywords_taken(getattr(app, "error_response", None),
                                            ("method", "host", "connection", "version"))
        self.listeners = list(listeners)
        self.inline = inline
        self.max_threads = max(1, int(threads))
        self.grace = grace
        self._parse_head = http.parse_head
        self._handle = app.handle
        self._poller = make_poller(poller, oneshot=not inline)
        if access_log is None:
            access_log = AccessLog(
                fmt=resolve_format(getattr(cfg, "access_format", "combined"),
                                   getattr(cfg, "log_formats", None)),
                server_name=getattr(cfg, "server_name", "") or _server_hostname(app))
        self._access = access_log
        self._conns = {}
        self._stopping = False
        self._accepting = False
        self._accept_lock = threading.Lock()
        self._accept_after = 0.0    # no accepting before (after EMFILE and such)
        self._timeout = float(cfg.timeout) if cfg.timeout else None
        self._ka_timeout = float(cfg.keep_alive_timeout)
        self._cap = cfg.max_connections_per_worker or (1 << 30)
        # HandlerTimeout: a request that makes no progress for that long (no
        # byte sent or received, not waiting for its client) is reported, and
        # the master (told through ``slot``, the scoreboard) replaces us
        self._handler_timeout = float(getattr(cfg, "handler_timeout", 0) or 0)
        self._slot = slot
        self._max_head = (cfg.limit_request_line + 2
                          + cfg.limit_request_fields * (cfg.limit_request_fieldsize + 2) + 2
                          + 256)
        # what _serve reads for every request, read here once
        self._head_limits = (cfg.limit_request_line, cfg.limit_request_fieldsize,
                             cfg.limit_request_fields)
        self._keep_alive = cfg.keep_alive
        self._max_ka = cfg.max_keep_alive_requests
        # thread pool
        self._queue = queue.SimpleQueue()
        self._pool_lock = threading.Lock()
        self._threads = []
        self._avail = 0         # serving threads waiting for work, unclaimed
        self._backlog = 0       # queued connections no thread is claimed for
        self._finished = 0      # requests finished by the pool (progress)
        self._corked = []       # (inline) connections parked with corked bytes
        self._holding = []      # (holding) connections with sends their thread
        #                         may still have corked (_push_held)
        self._closing = []      # (inline) and those to close once theirs are sent
        self._stall_mark = 0    # _finished when the backlog was last seen moving
        self._stall_since = 0.0
        self._grow_step = 1
        # serving threads that take ready connections themselves (epoll)
        self._self_poll = not inline and getattr(self._poller, "can_take", False)
        self._active = 0        # threads serving or taking (listener not watching)
        self._take_mark = 0
        self._take_since = 0.0
        # while the threads together want a CPU (the GIL is saturated), one
        # taker is enough: idle threads get nothing more, and _shed takers
        # step back after their current request (see _demand)
        self._demand = Demand()
        self._shed = 0
        # a connection's IDLE/LINGER state is changed by a taking thread and
        # by the listener's sweep: one at a time
        self._claim_lock = threading.Lock()
        self.parent_pid = None  # a forked worker stops when its master is gone
        self.started = threading.Event()
        self.stopped = threading.Event()

    # ------------------------------------------------------------------ control
    def stop(self):
        """Begin a graceful stop (from any thread or a signal handler)."""
        self._stopping = True
        self._poller.wake()

    @property
    def connections(self):
        return len(self._conns)

    # ------------------------------------------------------------------ listener loop
    def run(self):
        poller = self._poller
        self._resume_accepting()
        tick = max(0.01, min(1.0, self._ka_timeout / 4 or 1.0,
                             (self._timeout or 60.0) / 4,
                             (self._handler_timeout or 60.0) / 4))
        next_tick = _monotonic() + tick
        deadline = None
        if self._slot is not None:
            self._slot.write(_monotonic(), 0.0)
        # access-log lines go out together: inline, once per poll round; with
        # serving threads, also when a thread runs out of ready connections,
        # and the listener's round (every STALL_SECS while threads serve)
        # writes what busy threads logged
        access = self._access
        access.hold()
        self.started.set()
        try:
            while True:
                timeout = next_tick - _monotonic()
                if timeout > STALL_SECS and (self._backlog or self._active
                                             or self._avail < len(self._threads)):
                    timeout = STALL_SECS     # look again whether the pool moves
                ready = poller.poll(timeout if timeout > 0 else 0)
                for obj in ready:
                    try:
                        if obj.__class__ is Connection:
                            if self._self_poll:
                                with self._claim_lock:
                                    self._ready(obj)
                            else:
                                self._ready(obj)
                        elif obj is not WAKE:
                            self._accept(obj)
                    except Exception:
                        log.exception("internal error in the listener loop")
                        if obj.__class__ is Connection and obj.state == BUSY and self.inline:
                            self._close(obj)
                if self._corked or self._closing:
                    self._uncork_all()
                access.flush()
                now = _monotonic()
                if self._holding:
                    self._push_held(now)
                if self._active:
                    self._check_takers(now)
                if self._backlog:
                    self._grow_if_stalled(now)
                if now >= next_tick:
                    try:
                        self._sweep(now)
                    except Exception:
                        log.exception("internal error in the listener loop")
                    next_tick = now + (0.05 if deadline is not None else tick)
                if (not self._accepting and not self._stopping and now >= self._accept_after
                        and len(self._conns) < self._cap):
                    self._resume_accepting()
                if self._stopping:
                    if deadline is None:
                        deadline = now + (self.grace or 0.0)
                        self._begin_stop()
                        next_tick = now
                    if not self._conns or now >= deadline:
                        break
        finally:
            self._shutdown()
            access.flush()
            self.stopped.set()

    def _ready(self, conn):
        """(Listener) a connection the poller reported ready."""
        state = conn.state
        if state == IDLE:
            conn.state = BUSY
            if self.inline:
                self._serve(conn)
            else:
                self._poller.disarm(conn)
                self._submit(conn)
        elif state == LINGER:
            self._poller.disarm(conn)
            self._linger_read(conn)

    def _push_held(self, now):
        """(Listener) Push what has been corked for HOLD_SECS
        (Connection.send): a handler that flushed and then blocks, or the
        responses its thread served before it, must still reach their
        clients. (No wake-up of its own: while a thread serves, the listener
        looks every STALL_SECS anyway.)"""
        holding = self._holding
        n = len(holding)
        batch = holding[:n]
        del holding[:n]         # (what serving threads append meanwhile stays)
        for conn in batch:
            since = conn.held
            if not since:
                continue        # sent with the response's next send
            if now - since >= HOLD_SECS:
                try:
                    conn.push()
                except Exception:       # (never out of the listener loop)
                    log.exception("internal error sending to %r", conn)
            else:
                holding.append(conn)

    def _check_takers(self, now):
        """(Listener) while serving threads take ready connections the
        listener does not watch them; when no request finished for
        STALL_SECS (those threads block), it takes what is ready itself.
        While requests finish, an idle thread gets one ready connection per
        look (and so becomes a taker), if the GIL has room for it."""
        if self._active > 1 or self._avail:
            self._weigh_demand()
        if self._finished != self._take_mark:
            self._take_mark = self._finished
            self._take_since = now
            if not self._avail or self._demand.saturated is not False:
                return
            # handlers that wait on I/O then run side by side, one more
            # thread at a time while the GIL stays unsaturated
            conn = self._poller.take(0)
            ready = () if conn is None else (conn,)
        elif now - self._take_since < STALL_SECS:
            return
        else:
            self._take_since = now
            ready = self._poller.take_all()
        for conn in ready:
            try:
                if conn.__class__ is not Connection:
                    self._accept(conn)
                    continue
                with self._claim_lock:
                    self._ready(conn)
            except Exception:
                log.exception("internal error in the listener loop")

    def _weigh_demand(self):
        """(Listener) Sample the threads' demand for a CPU; when the GIL is
        saturated, ask all but one of the running takers to step back."""
        demand = self._demand
        demand.sample([t.native_id for t in self._threads])
        if demand.saturated and self._active > 1:
            running = self._active if demand.busy is None else demand.busy
            self._shed = max(0, min(self._active, running) - 1)

    def _step_back(self):
        """(A taker) Whether to stop taking, as _weigh_demand asked."""
        with self._pool_lock:
            if self._shed > 0 and self._active > 1:
                self._shed -= 1
                return True
            self._shed = 0
            return False

    def _resume_accepting(self):
        with self._accept_lock:
            if self._accepting:
                return
            for listener in self.listeners:
                self._poller.add_listener(listener)
            self._accepting = True

    def _pause_accepting(self):
        # (a serving thread that takes ready connections accepts too: the
        # two may race here)
        with self._accept_lock:
            if not self._accepting:
                return
            for listener in self.listeners:
                self._poller.remove_listener(listener)
            self._accepting = False

    def _accept(self, listener):
        lsock = listener.sock
        conns = self._conns
        poller = self._poller
        now = _monotonic()
        for _ in range(ACCEPT_BATCH):
            if not self._accepting:
                return      # paused meanwhile (a stop, the cap), maybe by another thread
            if len(conns) >= self._cap:
                self._pause_accepting()
                return
            try:
                sock, addr = lsock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in (errno.ECONNABORTED, errno.EPROTO, errno.EPERM):
                    continue
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    log.error("accept: %s; not accepting for a moment", exc)
                    self._accept_after = _monotonic() + 0.5     # (before: see run)
                    self._pause_accepting()
                    return
                raise
            try:
                sock.setblocking(False)
                if not listener.nodelay and sock.family != socket.AF_UNIX:
                    _set_nodelay(sock, listener)
                conn = Connection(sock, conn_info(sock, addr, listener.addr), self._timeout)
                # inline, a handler runs to its end before anything else
                # here: its flushed writes can leave together (one send)
                conn.info.coalesce = self.inline
                if self.inline:
                    conn.cork = []      # and its small responses wait for the round's end
                elif self._self_poll:
                    # and with serving threads that take ready connections,
                    # a batch's responses leave together too; the listener
                    # pushes what a blocked handler flushed (Connection.send,
                    # _pool_thread)
                    conn.cork = []
                    conn.holding = self._holding
                    conn.lock = threading.Lock()
            except OSError:
                sock.close()
                continue
            conn.since = now
            conns[conn.fd] = conn
            poller.add(conn)

    def _sweep(self, now):
        """Close idle keep-alive connections, stale partial heads, finished lingers."""
        if self.parent_pid is not None and os.getppid() != self.parent_pid:
            log.error("the master process is gone; stopping")
            self.stop()
        ka = self._ka_timeout
        timeout = self._timeout
        limit = self._handler_timeout
        with self._claim_lock:
            stuck_since = self._sweep_conns(now, ka, timeout, limit)
        if self._slot is not None:
            self._slot.write(now, stuck_since)

    def _sweep_conns(self, now, ka, timeout, limit):
        stuck_since = 0.0
        for conn in list(self._conns.values()):
            state = conn.state
            if state == BUSY:
                if limit and now - conn.since > limit:
                    stuck_since = min(stuck_since or conn.since, conn.since)
                    self._report_stuck(conn, now)
            elif state == IDLE:
                if self._stopping:
                    if not _fresh(conn, now):
                        self._close(conn)
                elif conn.partial:
                    if timeout is not None and now - conn.since > timeout:
                        self._timeout_partial(conn)
                elif now - conn.since > ka:
                    self._close(conn)
            elif state == LINGER and now > conn.linger_until:
                self._close(conn)
        return stuck_since

    def _report_stuck(self, conn, now):
        """Log, once per request, a request that makes no progress."""
        head = conn.current
        if head is None or conn.stuck is head:
            return
        conn.stuck = head
        log.error("request \"%s\" has made no progress for %d seconds (HandlerTimeout %d)%s",
                  head.request_line, now - conn.since, self._handler_timeout,
                  "; this worker process will be replaced" if self._slot is not None
                  else "", extra={"client": conn.client})

    def _timeout_partial(self, conn):
        try:
            data = self.app.error_response(408, None, "",
                                           **self._refusal_facts(conn.buf, 0, 408))
        except Exception:
            data = _fallback_response(408)
        if conn.cork and conn.lock is not None:
            conn.push()         # (a response before, not sent yet: first)
        try:
            conn.sock.send(data)
        except OSError:
            pass
        if self._access.enabled:
            self._access.log_raw(conn.info, _first_line(conn.buf, 0, 8192), 408,
                                 len(data), len(conn.buf), _body_length(data))
        self._close(conn)

    def _begin_stop(self):
        self._pause_accepting()
        now = _monotonic()
        with self._claim_lock:
            for conn in list(self._conns.values()):
                if conn.state == IDLE and not _fresh(conn, now):
                    self._close(conn)

    def _shutdown(self):
        with self._claim_lock:
            for conn in list(self._conns.values()):
                if conn.state != BUSY:
                    self._close(conn)
        for _ in self._threads:
            self._queue.put(None)
        end = _monotonic() + 1.0
        for t in self._threads:
            t.join(max(0.0, end - _monotonic()))
        self._poller.close()
        self._demand.close()

    # ------------------------------------------------------------------ thread pool
    def _submit(self, conn):
        spawn = 0
        with self._pool_lock:
            if self._avail:
                self._avail -= 1
            elif not self._threads:
                spawn = 1
            else:
                if not self._backlog:
                    self._stall_mark = self._finished
                    self._stall_since = _monotonic()
                    self._grow_step = 1
                self._backlog += 1
        self._queue.put(conn)
        if spawn:
            self._spawn(spawn)

    def _grow_if_stalled(self, now):
        """(Listener thread) Start threads for the queued connections when
        the pool finished no request for STALL_SECS: its threads block."""
        spawn = 0
        with self._pool_lock:
            if not self._backlog:
                return
            if self._finished != self._stall_mark:
                self._stall_mark = self._finished
                self._stall_since = now
                self._grow_step = 1
                return
            if now - self._stall_since < STALL_SECS:
                return
            # 1, 2, 4... threads while the stall lasts: a passing hiccup
            # (the process descheduled) adds one thread, handlers that all
            # block get theirs within a few STALL_SECS
            spawn = min(self._backlog, self._grow_step,
                        self.max_threads - len(self._threads))
            self._grow_step *= 2
            self._backlog -= spawn
            self._stall_since = now
        if spawn > 0:
            self._spawn(spawn)

    def _spawn(self, n):
        for _ in range(n):
            with self._pool_lock:
                t = threading.Thread(target=self._pool_thread, daemon=True,
                                     name="fastdispatch-serve-%d" % (len(self._threads) + 1))
                self._threads.append(t)
            t.start()

    def _pool_thread(self):
        get = self._queue.get
        lock = self._pool_lock
        take = self._poller.take if self._self_poll else None
        has_ready = self._poller.has_ready if self._self_poll else None
        flush_log = self._access.flush
        while True:
            conn = get()
            if conn is None:
                return
            if take is None:
                self._serve_guarded(conn)
            else:
                self._taking(1)
                # connections with corked responses (see Connection.send):
                # sent together once this thread has served the ready
                # connections it took, so the client wakes once for them (as
                # inline's corking)
                held = []
                try:
                    self._serve_guarded(conn)
                    if conn.cork:
                        held.append(conn)
                    # the next ready connection is served here: no hand-off
                    # (queued ones first: they are claimed below)
                    while not self._stopping and not self._backlog:
                        if self._shed and self._step_back():
                            break
                        if held and not has_ready():
                            _uncork_served(held)
                        conn = take(0)
                        if conn is None:
                            flush_log()         # before waiting
                            conn = take(TAKE_WAIT)
                            if conn is None:
                                break
                        self._serve_taken(conn)
                        if conn.__class__ is Connection and conn.cork:
                            held.append(conn)
                finally:
                    if held:
                        _uncork_served(held)
                    self._untake()
                    self._taking(-1)
            flush_log()
            with lock:
                if self._backlog:
                    self._backlog -= 1
                else:
                    self._avail += 1

    def _serve_guarded(self, conn):
        try:
            self._serve(conn)
        except BaseException:       # never lose the thread
            log.exception("internal error serving %r", conn)
            self._close(conn)

    def _serve_taken(self, conn):
        if conn.__class__ is not Connection:
            # a listening socket: accept here (the new connections join
            # the set this thread takes from)
            try:
                self._accept(conn)
            except Exception:
                log.exception("internal error accepting connections")
            return
        with self._claim_lock:
            state = conn.state
            if state == IDLE:
                conn.state = BUSY
            else:
                if state == LINGER:
                    try:
                        self._linger_read(conn)
                    except Exception:           # the poller closed meanwhile
                        self._close(conn)
                return
        self._serve_guarded(conn)

    def _untake(self):
        """(A serving thread that stops taking) re-arm the ready connections
        its last take held back for the next one: in nobody's hands and
        disarmed (EPOLLONESHOT), they would otherwise wait for ever."""
        for conn in self._poller.untake():
            if conn.__class__ is not Connection:
                continue            # a listener: level-triggered, reported again
            with self._claim_lock:
                if conn.state == IDLE or conn.state == LINGER:
                    try:
                        self._poller.park(conn)
                    except (OSError, ValueError):
                        self._close(conn)

    def _taking(self, delta):
        """Count the threads that take ready connections; the listener
        watches the connections only while there are none."""
        with self._pool_lock:
            self._active += delta
            if self._active == 0:
                self._poller.watch(True)
            elif delta > 0 and self._active == 1:
                self._poller.watch(False)
                self._take_mark = self._finished
                self._take_since = _monotonic()

    # ------------------------------------------------------------------ connection ends
    def _park(self, conn, since=None):
        """Give the connection back to the listener (the caller no longer
        touches it afterwards: another thread may own it at once)."""
        if conn.cork and self.inline:
            self._corked.append(conn)       # (sent at the round's end; holding:
            #                                 by its thread, _pool_thread)
        if self._stopping and conn.info.keepalives:     # (a fresh one: see _fresh)
            self._close(conn)
            return
        conn.since = _monotonic() if since is None else since
        conn.state = IDLE
        try:
            self._poller.park(conn)
        except (OSError, ValueError):       # closed meanwhile, or poller gone
            self._close(conn)

    def _uncork_all(self):
        """(Inline) send the responses corked during this poll round, and
        close the connections that end with theirs."""
        corked, closing = self._corked, self._closing
        self._corked, self._closing = [], []
        for conn in corked:
            if conn.cork and conn.state != CLOSED:
                try:
                    conn.uncork()
                except ClientGone:
                    self._close(conn)
                except Exception:           # (never out of the listener loop)
                    log.exception("internal error sending to %r", conn)
                    self._close(conn)
        for conn in closing:
            try:
                self._close(conn)           # (which sends the response first)
            except Exception:
                log.exception("internal error closing %r", conn)

    def _close(self, conn):
        if conn.state == CLOSED:
            return          # closed already: its fd number may be another's now
        if conn.cork:
            try:
                if conn.lock is None or conn.state == BUSY:
                    conn.uncork()       # (inline, or its thread's)
                else:
                    # (holding: the listener, which never waits for a
                    # client; what this one cannot take now goes with it)
                    conn.push()
            except ClientGone:
                pass
        self._poller.drop(conn)
        if self._conns.get(conn.fd) is conn:
            del self._conns[conn.fd]
        conn.close()
        if not self._accepting and not self._stopping:
            self._poller.wake()             # below the cap again: accept

    def _linger_close(self, conn):
        """Shut our side, then read and drop what the client still sends (so
        that closing with unread input does not reset the connection before
        the client has read our response), for at most LINGER_SECS."""
        try:
            if conn.cork:
                conn.uncork()
            conn.sock.shutdown(socket.SHUT_WR)
        except OSError:             # (ClientGone included)
            self._close(conn)
            return
        conn.buf = b""
        conn.partial = False
        conn.linger_until = _monotonic() + LINGER_SECS
        conn.state = LINGER
        try:
            self._poller.park(conn)
        except (OSError, ValueError):       # closed meanwhile, or poller gone
            self._close(conn)

    def _linger_read(self, conn):
        try:
            for _ in range(16):
                if not conn.sock.recv(RECV_SIZE):
                    break
            else:
                self._poller.park(conn)
                return
        except BlockingIOError:
            try:
                self._poller.park(conn)
                return
            except OSError:
                pass
        except OSError:
            pass
        self._close(conn)

    # ------------------------------------------------------------------ the hot path
    def _serve(self, conn):
        """Serve a readable connection (state BUSY) until nothing is buffered,
        then park it; or close it."""
        sock = conn.sock
        try:
            data = sock.recv(RECV_SIZE)
        except BlockingIOError:
            self._park(conn)                  # spurious wake-up
            return
        except OSError:
            self._close(conn)
            return
        if not data:
            self._end_of_input(conn, conn.buf, 0)
            return
        buf = conn.buf
        if buf:
            buf += data                        # a bytearray: the head's start
        else:
            buf = data
        pos = 0
        parse = self._parse_head
        handle = self._handle
        access = self._access
        info = conn.info
        max_line, max_field, max_fields = self._head_limits
        while True:
            try:
                head, end = parse(buf, pos, max_line, max_field, max_fields)
            except HTTPError as exc:
                self._protocol_error(conn, exc, buf, pos)
                return
            if head is None:
                if len(buf) - pos > self._max_head:
                    self._protocol_error(conn, HTTPError(400, "request head too large"),
                                         buf, pos)
                    return
                try:
                    data = sock.recv(RECV_SIZE)
                except BlockingIOError:
                    # wait for the rest in the poller, not in this thread
                    # (Timeout counts from the head's first bytes)
                    conn.buf = bytearray(buf[pos:])
                    if conn.partial:
                        self._park(conn, conn.since)
                    else:
                        conn.partial = True
                        self._park(conn)
                    return
                except OSError:
                    self._close(conn)
                    return
                if not data:
                    self._end_of_input(conn, buf, pos)
                    return
                if pos or not isinstance(buf, bytearray):
                    buf = bytearray(buf[pos:])
                    pos = 0
                buf += data
                continue
            conn.partial = False
            conn.buf = b""

            keepalives = info.keepalives
            if head.keep_alive:
                max_ka = self._max_ka
                if (not self._keep_alive or self._stopping
                        or (max_ka and keepalives >= max_ka)):
                    head.keep_alive = False
            if head.content_length > 0 or head.chunked:
                body = BodyReader(conn, buf, end, head, self.cfg.limit_request_body)
            elif head.expect_continue:
                body = EXPECTING_EMPTY_BODY
            else:
                body = EMPTY_BODY
            conn.sent = False
            conn.sent_bytes = 0
            conn.current = head
            conn.since = started = _monotonic()
            try:
                # (getattr: compiled, ``conn.send`` would wrap the C method
                # in a new function object for each request)
                outcome = handle(head, body, info, getattr(conn, "send"))
            except HTTPError as exc:
                outcome = self._late_error(conn, exc.status, head, None)
            except Exception as exc:
                outcome = self._late_error(conn, 500, head, exc)
            self._finished += 1    # (unlocked: the pool's progress, not a count)
            keep = (outcome.keep_alive and head.keep_alive and not conn.broken
                    and not self._stopping)
            if access.enabled:
                access.log(info, head, outcome, conn.sent_bytes,
                           end - pos + (body.received if body.__class__ is BodyReader
                                        else 0), started, keep)
            no_body = body.__class__ is not BodyReader
            if no_body:
                pos = end
            elif keep:
                rest = body.finish()
                if rest is None:
                    keep = False
                    buf, pos = b"", 0
                else:
                    buf, pos = rest, 0
            elif body.at_end():
                buf, pos = body.leftover(), 0
            if not keep:
                # unread input (body, pipelined requests) calls for a lingering
                # close, or the client could see a reset instead of our answer
                if conn.broken or (pos >= len(buf) and (no_body or body.at_end())):
                    if conn.cork and self.inline:
                        self._closing.append(conn)  # closed at the round's end
                    else:
                        self._close(conn)
                else:
                    self._linger_close(conn)
                return
            info.keepalives = keepalives + 1
            if pos >= len(buf):
                self._park(conn)
                return

    def _late_error(self, conn, status, head, exc):
        """An exception escaped ``handle``: answer ``status`` if nothing was sent
        yet, and close the connection either way."""
        if exc is not None:
            if conn.broken and isinstance(exc, OSError):
                log.info("client %s went away: %s", conn.client, exc,
                         extra={"client": conn.client})
            else:
                log.error("unhandled exception serving %s", head.request_line,
                          exc_info=exc, extra={"client": conn.client})
        if not conn.sent and not conn.broken:
            try:
                data = self.app.error_response(status, head)
            except Exception:
                log.exception("error_response(%d) failed", status)
                data = _fallback_response(status)
            try:
                conn.send(data)
            except OSError:
                pass
        outcome = getattr(exc, "outcome", None)   # (ClientGone mid-response)
        if outcome is not None:
            return outcome
        return Outcome(status, 0, False)

    def _refusal_facts(self, buf, pos, status):
        """What Apache had read of a refused head, for error_response: the
        request line's method (a HEAD gets no body), and for a 417 (refused
        once the whole head was read) its Host, Connection and version.
        Only the names the app's error_response takes (an embedding app's
        may take the first three arguments alone)."""
        takes = self._error_facts
        if not takes:
            return {}
        facts = {}
        method = _line_method(buf, pos, status)
        if method is not None:
            facts["method"] = method
        if status == 400 and method is not None:
            # an absolute-form target names the host the page's address
            # line shows, as Apache parsed it with the request line
            authority = _target_authority(_first_line(buf, pos, 8192))
            if authority:
                facts["host"] = authority
        if status == 417:
            facts["host"] = _head_field(buf, pos, b"host")
            facts["connection"] = _head_field(buf, pos, b"connection")
            facts["version"] = 10 if _first_line(buf, pos, 8192).endswith(" HTTP/1.0") else 11
        if takes is not True:
            facts = {k: v for k, v in facts.items() if k in takes}
        return facts

    def _end_of_input(self, conn, buf, pos):
        """The client ended its side with ``buf[pos:]`` unanswered: within
        a request's first line (or blank lines), a silent close; with a
        whole line of a head read, Apache's 400, as ap_read_request fails
        (the client may still be reading)."""
        if b"\n" in bytes(buf[pos:]).lstrip(b"\r\n"):
            self._protocol_error(conn, HTTPError(400, ""), buf, pos)
        else:
            self._close(conn)

    def _protocol_error(self, conn, exc, buf, pos):
        """A request the parser refused: the app's error page, then close."""
        status = exc.status
        log.info("request failed: %s", exc.detail or status, extra={"client": conn.client})
        try:
            data = self.app.error_response(status, None, exc.detail,
                                           **self._refusal_facts(buf, pos, status))
        except Exception:
            log.exception("error_response(%d) failed", status)
            data = _fallback_response(status)
        if self._access.enabled:
            self._access.log_raw(conn.info,
                                 _first_line(buf, pos, self.cfg.limit_request_line + 2),
                                 status, len(data), len(buf) - pos, _body_length(data))
        conn.partial = False
        conn.buf = b""
        try:
            conn.send(data)
        except OSError:
            self._close(conn)
            return
        self._linger_close(conn)

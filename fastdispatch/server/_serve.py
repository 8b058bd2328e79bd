"""Listening sockets, the pre-fork master (``serve``) and the in-process ``Server``.

``serve()`` binds the listening sockets in the master process (a socket per
worker and address, with SO_REUSEPORT, or one shared by all), forks N worker
processes (each runs a ``Worker``), replaces a worker that
dies, and on SIGTERM/SIGINT stops them gracefully: it forwards SIGTERM, waits
for the workers to finish their in-flight requests (``grace`` seconds, then
SIGKILL), and returns. A second SIGTERM/SIGINT skips the wait.

The master also watches its workers through a shared-memory scoreboard
(``_scoreboard``): a worker with a request that has made no progress for
``HandlerTimeout``, or whose listener stopped beating, is replaced (a new
worker at once, the old one stopped gracefully, then killed). SIGHUP (or
SIGUSR1) reloads the configuration through ``reload`` and replaces every
worker the same way; the listening sockets stay open throughout.
"""
import faulthandler
import logging
import os
import select
import signal
import socket
import sys
import threading
import time

from fastdispatch.config.model import ServerConfig
from fastdispatch.errors import ListenError

from ._logs import ERROR_LOGGER, NOTICE, FdHandler, logging_configured, setup_logging
from ._scoreboard import Scoreboard
from ._worker import DEFAULT_GRACE, DEFAULT_THREADS, Listener, Worker

log = logging.getLogger(ERROR_LOGGER)

BACKLOG = 1024
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_RELOAD_SIGNALS = (signal.SIGHUP, signal.SIGUSR1)
_MASTER_SIGNALS = _STOP_SIGNALS + _RELOAD_SIGNALS


# ---------------------------------------------------------------------------
# listening sockets

def listen_addresses(cfg, host=None, port=None):
    """The (host, port) pairs to bind: ``cfg.listen``, or one address made of
    the overrides (each falling back to the first ``Listen``)."""
    listen = list(cfg.listen) or [("127.0.0.1", 8080)]
    if host is None and port is None:
        return listen
    base_host, base_port = listen[0]
    return [(base_host if host is None else host, base_port if port is None else port)]


def bind_listeners(addresses, backlog=BACKLOG):
    """Bind and listen on each address; returns Listener objects (non-blocking
    sockets, ``addr`` the bound (ip, port), the real port when 0 was asked)."""
    listeners = []
    try:
        for host, port in addresses:
            listeners.append(_bind_one(*_resolve(host, port), backlog))
    except BaseException:
        _close_all(listeners)
        raise
    return listeners


def bind_listener_sets(addresses, copies, backlog=BACKLOG, shared=False):
    """``copies`` lists of Listeners, one list per worker process, each with
    its own socket for every address, all bound to it with SO_REUSEPORT: the
    kernel spreads new connections over the workers evenly. (Workers that
    share one socket do not share its connections evenly: whichever wakes
    first accepts a whole burst, and a benchmark's 64 connections can all
    land in one worker while the other idles.) ``shared``, or without
    SO_REUSEPORT: every list holds the same sockets, shared.

    Each address is bound once without SO_REUSEPORT first, then released:
    a server already listening there still gets EADDRINUSE (as a shared
    socket would), not a silent share of its traffic, and port 0 becomes
    the one port all the copies take."""
    reuseport = getattr(socket, "SO_REUSEPORT", None)
    if shared or copies <= 1 or reuseport is None:
        shared = bind_listeners(addresses, backlog)
        return [shared] * max(1, copies)
    sets = [[] for _ in range(copies)]
    try:
        for host, port in addresses:
            family, type_, proto, sockaddr = _resolve(host, port)
            probe = _bind_one(family, type_, proto, sockaddr, 0)
            sockaddr = probe.sock.getsockname()    # (the port 0 chose)
            probe.sock.close()
            for listeners in sets:
                listeners.append(_bind_one(family, type_, proto, sockaddr, backlog,
                                           reuseport=reuseport))
    except BaseException:
        _close_all(l for listeners in sets for l in listeners)
        raise
    return sets


def _resolve(host, port):
    if host in ("", "*"):
        host = "0.0.0.0"
    host = host.strip("[]")
    family, type_, proto, _, sockaddr = socket.getaddrinfo(
        host, port, 0, socket.SOCK_STREAM, 0, socket.AI_PASSIVE)[0]
    return family, type_, proto, sockaddr


def _bind_one(family, type_, proto, sockaddr, backlog, reuseport=None):
    """A bound socket, listening unless ``backlog`` is 0 (a probe)."""
    sock = socket.socket(family, type_, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuseport is not None:
            sock.setsockopt(socket.SOL_SOCKET, reuseport, 1)
        # set here, Linux's accepted sockets inherit it (a system call
        # less per connection; the worker checks: _worker._set_nodelay)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(sockaddr)
        if backlog:
            sock.listen(backlog)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise ListenError(exc.errno, exc.strerror, _address_text(sockaddr)) from None
    return Listener(sock, sock.getsockname()[:2])


def _address_text(sockaddr):
    host, port = sockaddr[:2]
    return "%s:%d" % ("[%s]" % host if ":" in host else host, port)


def _close_all(listeners):
    for listener in listeners:
        try:
            listener.sock.close()
        except OSError:
            pass


def url_of(addr):
    host, port = addr
    if ":" in host:
        host = "[%s]" % host
    return "http://%s:%d" % (host, port)


def _ready_line(listeners, nworkers):
    return "fastdispatch: serving on %s (%d worker%s)\n" % (
        ", ".join(url_of(listener.addr) for listener in listeners), nworkers,
        "" if nworkers == 1 else "s")


def _announce(line, ready_fd):
    try:
        sys.stderr.write(line)
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    if ready_fd is None:
        return
    if isinstance(ready_fd, int):
        os.write(ready_fd, line.encode())
    else:
        ready_fd.write(line)
        ready_fd.flush()


# ---------------------------------------------------------------------------
# in-process

class Server:
    """The server inside this process, on a background listener thread (for
    tests and embedding; no fork, no signal handling).

    >>> srv = Server(app, ServerConfig(), host="127.0.0.1", port=0).start()
    >>> srv.port                     # the bound port
    >>> srv.stop()                   # graceful: in-flight requests finish

    ``threads``: serving threads at most; ``inline``: serve on the listener
    thread; ``grace``: seconds ``stop()`` lets in-flight requests run;
    ``poller``: "epoll" or "selector" (default: epoll where available).
    """

    def __init__(self, app, server_config=None, *, host=None, port=None, inline=False,
                 threads=DEFAULT_THREADS, grace=DEFAULT_GRACE, poller=None):
        self.app = app
        self.cfg = server_config if server_config is not None else ServerConfig()
        self.addresses = listen_addresses(self.cfg, host, port)
        self.inline = inline
        self.threads = threads
        self.grace = grace
        self.poller = poller
        self.listeners = []
        self.worker = None
        self._thread = None

    def start(self):
        self.listeners = bind_listeners(self.addresses)
        try:
            self.worker = Worker(self.app, self.cfg, self.listeners, inline=self.inline,
                                 threads=self.threads, grace=self.grace, poller=self.poller)
        except BaseException:
            self._close_listeners()
            raise
        self._thread = threading.Thread(target=self.worker.run, daemon=True,
                                        name="fastdispatch-listener")
        self._thread.start()
        self.worker.started.wait(5.0)
        return self

    @property
    def address(self):
        return self.listeners[0].addr

    @property
    def port(self):
        return self.listeners[0].addr[1]

    @property
    def url(self):
        return url_of(self.address)

    def stop(self, timeout=None):
        """Graceful stop; returns once the listener thread has finished (or
        after ``timeout``, default grace + 5 seconds)."""
        if self.worker is not None:
            self.worker.stop()
            self._thread.join(self.grace + 5.0 if timeout is None else timeout)
        self._close_listeners()

    def _close_listeners(self):
        for listener in self.listeners:
            try:
                listener.sock.close()
            except OSError:
                pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


# ---------------------------------------------------------------------------
# pre-fork

def _describe_exit(status):
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = "signal"
        return "exit signal %s (%d)" % (name, sig)
    return "exit status %d" % os.waitstatus_to_exitcode(status)


def _run_worker(app, cfg, listeners, inline, threads, grace, master_pid, slot=None):
    """Body of a forked worker process; returns its exit code."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for sig in _RELOAD_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)      # the master's business
    _enable_faulthandler()
    worker = Worker(app, cfg, listeners, inline=inline, threads=threads, grace=grace,
                    slot=slot)
    worker.parent_pid = master_pid

    def on_stop(signum, frame):
        worker.stop()

    for sig in _STOP_SIGNALS:
        signal.signal(sig, on_stop)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _MASTER_SIGNALS)
    worker.run()
    return 0


def _our_logging():
    """Are the server's loggers set up by setup_logging (not by an embedder)?"""
    return any(getattr(h, "_fastdispatch", False)
               for h in logging.getLogger(ERROR_LOGGER).handlers)


def _enable_faulthandler():
    """A worker that crashes in C (SIGSEGV, SIGBUS, SIGFPE, SIGABRT, SIGILL)
    writes the Python stack of every thread to the error log first, so the
    log says which handler did it (the master then logs the death)."""
    fd = None
    for handler in logging.getLogger(ERROR_LOGGER).handlers:
        if isinstance(handler, FdHandler) and handler.fd >= 0:
            fd = handler.fd
            break
    try:
        faulthandler.enable(file=fd if fd is not None else sys.stderr, all_threads=True)
    except (ValueError, OSError, AttributeError, RuntimeError):
        pass


class _Child:
    __slots__ = ("slot", "started", "board", "kill_at")

    def __init__(self, slot, started, board):
        self.slot = slot            # which of the N workers (for respawning)
        self.started = started
        self.board = board          # scoreboard index, -1 = none
        self.kill_at = None         # retiring: SIGKILL after this (monotonic)


class _Master:
    """Forks and watches the workers.

    * a worker that dies is replaced (after a second when it died young);
    * a worker whose scoreboard slot says it is stuck (a request without
      progress for ``HandlerTimeout``, or a listener that stopped beating) is
      *retired*: a new worker takes its place at once, the old one gets
      SIGTERM (stop accepting, finish what it can) and SIGKILL after ``grace``;
    * SIGHUP (and SIGUSR1) reloads the configuration through ``reload`` and
      retires every worker the same way; the listening sockets stay open;
    * SIGTERM/SIGINT stop everything gracefully.
    """

    def __init__(self, app, cfg, listener_sets, nworkers, inline, threads, grace, reload=None):
        self.app = app
        self.cfg = cfg
        self.listener_sets = listener_sets     # a worker slot's own sockets (or all shared)
        self.listeners = listener_sets[0]
        self.nworkers = nworkers
        self.inline = inline
        self.threads = threads
        self.grace = grace
        self.reload = reload
        self.children = {}      # pid -> _Child (serving)
        self.retiring = {}      # pid -> _Child (replaced, being stopped)
        self.due = []           # (time, slot) respawns to do
        self.signals = 0
        self.reloads = 0        # SIGHUPs received
        self.generation = 0
        self.stopping = False
        self.board = Scoreboard(nworkers * 4 + 4)
        self._r = self._w = -1

    def _on_signal(self, signum, frame):
        if signum in _STOP_SIGNALS:
            self.signals += 1
        elif signum in _RELOAD_SIGNALS:
            self.reloads += 1

    def run(self, ready):
        self._r, self._w = os.pipe()
        os.set_blocking(self._r, False)
        os.set_blocking(self._w, False)
        old_wakeup = signal.set_wakeup_fd(self._w, warn_on_full_buffer=False)
        old = {sig: signal.signal(sig, self._on_signal)
               for sig in _MASTER_SIGNALS + (signal.SIGCHLD,)}
        try:
            for slot in range(self.nworkers):
                self._spawn(slot)
            ready()
            log.log(NOTICE, "fastdispatch configured -- resuming normal operations")
            reloads = 0
            while not self.signals:
                self._wait(self._tick())
                self._reap()
                now = time.monotonic()
                if self.reloads != reloads and not self.signals:
                    reloads = self.reloads
                    self._reload()
                    now = time.monotonic()
                self._watch(now)
                for item in [d for d in self.due if d[0] <= now]:
                    self.due.remove(item)
                    if not self.signals:
                        self._spawn(item[1])
            log.log(NOTICE, "caught a stop signal, shutting down gracefully")
        finally:
            try:
                self._stop_children()
            finally:
                signal.set_wakeup_fd(old_wakeup)
                for sig, handler in old.items():
                    signal.signal(sig, handler)
                os.close(self._r)
                os.close(self._w)
                self.board.close()

    def _handler_timeout(self):
        return float(getattr(self.cfg, "handler_timeout", 0) or 0)

    def _tick(self):
        limit = self._handler_timeout()
        return max(0.05, min(1.0, limit / 4)) if limit else 1.0

    def _wait(self, timeout):
        try:
            select.select([self._r], [], [], timeout)
        except InterruptedError:
            pass
        try:
            while os.read(self._r, 512):
                pass
        except BlockingIOError:
            pass

    def _spawn(self, slot):
        board = self.board.allocate()
        blocked = _MASTER_SIGNALS
        signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
        try:
            pid = os.fork()
            if pid == 0:                                   # the worker
                code = 1
                try:
                    signal.set_wakeup_fd(-1)
                    os.close(self._r)
                    os.close(self._w)
                    mine = self.board.slot(board, os.getpid()) if board >= 0 else None
                    code = _run_worker(self.app, self.cfg, self.listener_sets[slot],
                                       self.inline, self.threads, self.grace, os.getppid(),
                                       mine)
                except BaseException:
                    log.exception("worker process failed")
                finally:
                    for stream in (sys.stdout, sys.stderr):
                        try:
                            stream.flush()
                        except Exception:
                            pass
                    os._exit(code)
        except BaseException:
            self.board.release(board)
            raise
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, blocked)
        self.children[pid] = _Child(slot, time.monotonic(), board)

    def _reap(self):
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            child = self.retiring.pop(pid, None)
            if child is not None:
                self.board.release(child.board)
                if not self.stopping:
                    log.info("retired worker process %d exited (%s)", pid,
                             _describe_exit(status))
                continue
            child = self.children.pop(pid, None)
            if child is None:
                continue
            self.board.release(child.board)
            if self.stopping:
                continue
            now = time.monotonic()
            quick = now - child.started < 1.0
            log.error("worker process %d died (%s); starting a new one%s", pid,
                      _describe_exit(status), " in 1 second" if quick else "")
            self.due.append((now + (1.0 if quick else 0.0), child.slot))

    def _watch(self, now):
        """The watchdog: retire stuck workers; kill retired ones past their grace."""
        limit = self._handler_timeout()
        if limit and not self.stopping:
            # the listener beats at least every second (and every limit/4)
            stale = max(limit, 3.0)
            for pid, child in list(self.children.items()):
                if child.board < 0:
                    continue
                beat, stuck, owner = self.board.read(child.board)
                if owner != pid:
                    beat, stuck = 0.0, 0.0        # not started yet
                if stuck and now - stuck > limit:
                    self._retire(pid, "has a request that made no progress for %d seconds "
                                      "(HandlerTimeout %d)" % (now - stuck, limit))
                elif now - max(beat, child.started) > stale:
                    # (what the slot held, for a replacement nobody expected)
                    slot = ("no beat yet" if owner == 0 else
                            "its slot names process %d" % owner if owner != pid else
                            "last beat %.1f seconds ago" % (now - beat))
                    self._retire(pid, "has not answered for %d seconds (its listener thread "
                                      "is blocked; HandlerTimeout %d; %s)"
                                 % (now - max(beat, child.started), limit, slot))
        for pid, child in list(self.retiring.items()):
            if child.kill_at is not None and now >= child.kill_at:
                child.kill_at = None
                log.error("worker process %d did not stop within %d seconds; killing it",
                          pid, self._kill_grace())
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def _kill_grace(self):
        return self.grace if self.grace else DEFAULT_GRACE

    def _retire(self, pid, why, level=logging.ERROR, respawn=True):
        """Replace a worker: a new one for its slot now, SIGTERM for the old
        one (graceful), SIGKILL after the grace period."""
        child = self.children.pop(pid, None)
        if child is None:
            return
        if why:
            log.log(level, "worker process %d %s; replacing it", pid, why)
        child.kill_at = time.monotonic() + self._kill_grace() + 3.0
        self.retiring[pid] = child
        if respawn:
            self._spawn(child.slot)
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass

    def _reload(self):
        """SIGHUP: read the configuration again; on success new workers with
        it replace the running ones (which finish their requests). The
        listening sockets are kept; on a configuration error nothing changes."""
        if self.reload is None:
            log.warning("SIGHUP: no configuration file to reload; restarting the workers")
            app, cfg = self.app, self.cfg
        else:
            try:
                app, cfg = self.reload()
            except Exception as exc:
                log.error("SIGHUP: the configuration was not reloaded, the running one is "
                          "kept: %s", exc)
                return
        old_addrs = sorted(tuple(l.addr) for l in self.listeners)
        new_addrs = listen_addresses(cfg)
        if getattr(cfg, "listen", None) != getattr(self.cfg, "listen", None):
            log.warning("SIGHUP: Listen changes need a restart; still listening on %s "
                        "(configured now: %s)", old_addrs, new_addrs)
        self.generation += 1
        self.app, self.cfg = app, cfg
        grace = getattr(cfg, "graceful_shutdown_timeout", None)
        self.grace = DEFAULT_GRACE if grace is None else float(grace)
        self.threads = getattr(cfg, "threads_per_child", None) or self.threads
        if _our_logging():
            try:
                setup_logging(cfg)          # and reopens the log files (rotation)
            except OSError as exc:
                log.error("SIGHUP: cannot open the logs: %s", exc)
        log.log(NOTICE, "SIGHUP received: configuration reloaded (generation %d); "
                        "replacing %d worker%s gracefully", self.generation,
                len(self.children), "" if len(self.children) == 1 else "s")
        old = list(self.children)
        for pid in old:
            self._retire(pid, "", respawn=False)
        self.due = []
        for slot in range(self.nworkers):
            self._spawn(slot)

    def _stop_children(self):
        self.stopping = True
        everyone = list(self.children) + list(self.retiring)
        for pid in everyone:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + (self.grace or 0.0) + 5.0
        hard_from = self.signals
        while (self.children or self.retiring) and time.monotonic() < deadline:
            if self.signals > max(hard_from, 1):
                break                                   # asked twice: do not wait
            self._wait(0.05)
            self._reap()
        for group in (self.children, self.retiring):
            for pid in list(group):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            for pid in list(group):
                try:
                    os.waitpid(pid, 0)
                except ChildProcessError:
                    pass
                group.pop(pid, None)


def serve(app, server_config, *, workers=None, inline=False, host=None, port=None,
          ready_fd=None, reload=None, shared_socket=False):
    """Serve ``app`` until SIGTERM or SIGINT; call from the main thread.

    ``workers``: processes serving the listening addresses (default: one
    per CPU; 0 = serve in this process, no fork), each on its own
    SO_REUSEPORT socket where the system has them, which spreads the
    connections evenly; ``shared_socket``: one socket all of them accept
    from instead (a worker that stops accepting -- stuck inline, or at
    MaxConnectionsPerWorker -- then leaves new connections to the others,
    rather than to wait for it; but a burst of connections tends to land in
    one worker). ``inline``: serve each request
    on the listener thread (fastest; a blocking handler stalls its worker).
    ``host``/``port`` override the ``Listen`` addresses (port 0 = any free
    port). When listening, writes ``fastdispatch: serving on URL (N workers)``
    to stderr, and to ``ready_fd`` (an int descriptor or a file) when given.
    Logs go where ``setup_logging(server_config)`` sends them; it is called
    here unless the loggers already have handlers.

    Optional ServerConfig attributes read when present:
    ``graceful_shutdown_timeout`` (seconds, default 30),
    ``threads_per_child`` (serving threads per worker, default 64) and
    ``handler_timeout`` (HandlerTimeout: seconds a request may go without
    progress before its worker is replaced; 0 = never).

    ``reload``: a callable returning ``(app, server_config)``, called on
    SIGHUP (or SIGUSR1) to load the configuration again; new workers then
    replace the running ones gracefully, on the same listening sockets.
    """
    cfg = server_config if server_config is not None else ServerConfig()
    if not logging_configured():
        setup_logging(cfg)
    grace = getattr(cfg, "graceful_shutdown_timeout", None)
    grace = DEFAULT_GRACE if grace is None else float(grace)
    threads = getattr(cfg, "threads_per_child", None) or DEFAULT_THREADS
    if workers is None:
        workers = os.cpu_count() or 1
    from fastdispatch import apache
    apache.worker_processes = max(1, workers)   # mpm_query's answer (Session() reads it)
    addresses = listen_addresses(cfg, host, port)
    if workers <= 0:
        listener_sets = [bind_listeners(addresses)]
    else:
        listener_sets = bind_listener_sets(addresses, workers, shared=shared_socket)
    listeners = listener_sets[0]
    try:
        if workers <= 0:
            _serve_here(app, cfg, listeners, inline, threads, grace, ready_fd)
        else:
            master = _Master(app, cfg, listener_sets, workers, inline, threads, grace, reload)
            master.run(lambda: _announce(_ready_line(listeners, workers), ready_fd))
    finally:
        _close_all({id(l): l for ls in listener_sets for l in ls}.values())


def _serve_here(app, cfg, listeners, inline, threads, grace, ready_fd):
    worker = Worker(app, cfg, listeners, inline=inline, threads=threads, grace=grace)

    def on_stop(signum, frame):
        worker.stop()

    def on_reload(signum, frame):
        log.warning("SIGHUP ignored: a configuration is reloaded only with worker "
                    "processes (--workers 1 or more)")

    old = {sig: signal.signal(sig, on_stop) for sig in _STOP_SIGNALS}
    old.update({sig: signal.signal(sig, on_reload) for sig in _RELOAD_SIGNALS})
    try:
        _announce(_ready_line(listeners, 1), ready_fd)
        worker.run()
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)

"""Listening sockets, the pre-fork master (``serve``) and the in-process ``Server``.

``serve()`` binds the listening sockets in the master process, forks N worker
processes that share them (each runs a ``Worker``), replaces a worker that
dies, and on SIGTERM/SIGINT stops them gracefully: it forwards SIGTERM, waits
for the workers to finish their in-flight requests (``grace`` seconds, then
SIGKILL), and returns. A second SIGTERM/SIGINT skips the wait.
"""
import logging
import os
import select
import signal
import socket
import sys
import threading
import time

from fastdispatch.config.model import ServerConfig

from ._logs import ERROR_LOGGER, NOTICE, logging_configured, setup_logging
from ._worker import DEFAULT_GRACE, DEFAULT_THREADS, Listener, Worker

log = logging.getLogger(ERROR_LOGGER)

BACKLOG = 1024
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


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
            if host in ("", "*"):
                host = "0.0.0.0"
            host = host.strip("[]")
            family, type_, proto, _, sockaddr = socket.getaddrinfo(
                host, port, 0, socket.SOCK_STREAM, 0, socket.AI_PASSIVE)[0]
            sock = socket.socket(family, type_, proto)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind(sockaddr)
                sock.listen(backlog)
                sock.setblocking(False)
            except OSError:
                sock.close()
                raise
            listeners.append(Listener(sock, sock.getsockname()[:2]))
    except BaseException:
        for listener in listeners:
            listener.sock.close()
        raise
    return listeners


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


def _run_worker(app, cfg, listeners, inline, threads, grace, master_pid):
    """Body of a forked worker process; returns its exit code."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    worker = Worker(app, cfg, listeners, inline=inline, threads=threads, grace=grace)
    worker.parent_pid = master_pid

    def on_stop(signum, frame):
        worker.stop()

    for sig in _STOP_SIGNALS:
        signal.signal(sig, on_stop)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
    worker.run()
    return 0


class _Master:
    def __init__(self, app, cfg, listeners, nworkers, inline, threads, grace):
        self.app = app
        self.cfg = cfg
        self.listeners = listeners
        self.nworkers = nworkers
        self.inline = inline
        self.threads = threads
        self.grace = grace
        self.children = {}      # pid -> (slot, started)
        self.due = []           # (time, slot) respawns to do
        self.signals = 0
        self.stopping = False
        self._r = self._w = -1

    def _on_signal(self, signum, frame):
        if signum in _STOP_SIGNALS:
            self.signals += 1

    def run(self, ready):
        self._r, self._w = os.pipe()
        os.set_blocking(self._r, False)
        os.set_blocking(self._w, False)
        old_wakeup = signal.set_wakeup_fd(self._w, warn_on_full_buffer=False)
        old = {sig: signal.signal(sig, self._on_signal)
               for sig in _STOP_SIGNALS + (signal.SIGCHLD,)}
        try:
            for slot in range(self.nworkers):
                self._spawn(slot)
            ready()
            log.log(NOTICE, "fastdispatch configured -- resuming normal operations")
            while not self.signals:
                self._wait(1.0)
                self._reap()
                now = time.monotonic()
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
        signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        try:
            pid = os.fork()
            if pid == 0:                                   # the worker
                code = 1
                try:
                    signal.set_wakeup_fd(-1)
                    os.close(self._r)
                    os.close(self._w)
                    code = _run_worker(self.app, self.cfg, self.listeners, self.inline,
                                       self.threads, self.grace, os.getppid())
                except BaseException:
                    log.exception("worker process failed")
                finally:
                    for stream in (sys.stdout, sys.stderr):
                        try:
                            stream.flush()
                        except Exception:
                            pass
                    os._exit(code)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
        self.children[pid] = (slot, time.monotonic())

    def _reap(self):
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            entry = self.children.pop(pid, None)
            if entry is None or self.stopping:
                continue
            slot, started = entry
            now = time.monotonic()
            quick = now - started < 1.0
            log.error("worker process %d died (%s); starting a new one%s", pid,
                      _describe_exit(status), " in 1 second" if quick else "")
            self.due.append((now + (1.0 if quick else 0.0), slot))

    def _stop_children(self):
        self.stopping = True
        for pid in list(self.children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + (self.grace or 0.0) + 5.0
        hard_from = self.signals
        while self.children and time.monotonic() < deadline:
            if self.signals > max(hard_from, 1):
                break                                   # asked twice: do not wait
            self._wait(0.05)
            self._reap()
        for pid in list(self.children):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in list(self.children):
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
            self.children.pop(pid, None)


def serve(app, server_config, *, workers=None, inline=False, host=None, port=None,
          ready_fd=None):
    """Serve ``app`` until SIGTERM or SIGINT; call from the main thread.

    ``workers``: processes sharing the listening sockets (default: one per
    CPU; 0 = serve in this process, no fork). ``inline``: serve each request
    on the listener thread (fastest; a blocking handler stalls its worker).
    ``host``/``port`` override the ``Listen`` addresses (port 0 = any free
    port). When listening, writes ``fastdispatch: serving on URL (N workers)``
    to stderr, and to ``ready_fd`` (an int descriptor or a file) when given.
    Logs go where ``setup_logging(server_config)`` sends them; it is called
    here unless the loggers already have handlers.

    Optional ServerConfig attributes read when present:
    ``graceful_shutdown_timeout`` (seconds, default 30) and
    ``threads_per_child`` (serving threads per worker, default 64).
    """
    cfg = server_config if server_config is not None else ServerConfig()
    if not logging_configured():
        setup_logging(cfg)
    grace = getattr(cfg, "graceful_shutdown_timeout", None)
    grace = DEFAULT_GRACE if grace is None else float(grace)
    threads = getattr(cfg, "threads_per_child", None) or DEFAULT_THREADS
    if workers is None:
        workers = os.cpu_count() or 1
    listeners = bind_listeners(listen_addresses(cfg, host, port))
    try:
        if workers <= 0:
            _serve_here(app, cfg, listeners, inline, threads, grace, ready_fd)
        else:
            master = _Master(app, cfg, listeners, workers, inline, threads, grace)
            master.run(lambda: _announce(_ready_line(listeners, workers), ready_fd))
    finally:
        for listener in listeners:
            listener.sock.close()


def _serve_here(app, cfg, listeners, inline, threads, grace, ready_fd):
    worker = Worker(app, cfg, listeners, inline=inline, threads=threads, grace=grace)

    def on_stop(signum, frame):
        worker.stop()

    old = {sig: signal.signal(sig, on_stop) for sig in _STOP_SIGNALS}
    try:
        _announce(_ready_line(listeners, 1), ready_fd)
        worker.run()
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)

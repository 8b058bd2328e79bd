"""The server's two logs, in Apache's formats.

* ``fastdispatch.error``: Apache 2.4 error-log lines,
  ``[Thu Nov 26 10:00:00.123456 2026] [core:error] [pid 12:tid 34] [client 127.0.0.1:5555] msg``.
  A record may carry ``extra={"client": "ip:port", "apache_module": "python"}``;
  the module defaults to ``core``. A multi-line message (a traceback) becomes
  one prefixed line per line, as mod_python writes them.
* ``fastdispatch.access``: one combined-format line per request,
  ``%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"``.

``setup_logging(cfg)`` attaches ``ErrorLog`` / ``CustomLog`` files (or stderr)
to those loggers. Their handler writes each line with one ``os.write`` on an
``O_APPEND`` descriptor, so the lines of several worker processes never
interleave; the access log bypasses ``logging`` entirely when that handler is
the only one (``AccessLog``), which keeps it off the per-request cost list.
"""
import logging
import os
import select
import subprocess
import sys
import threading
import time

from fastdispatch.logformat import (DEFAULT_FORMAT, DEBIAN_FORMATS, LogEntry, RawHead,
                                    compile_format, log_escape, render, split_server_name)

ERROR_LOGGER = "fastdispatch.error"
ACCESS_LOGGER = "fastdispatch.access"

NOTICE = 25
logging.addLevelName(NOTICE, "NOTICE")

# Apache LogLevel -> logging level
LOG_LEVELS = {
    "emerg": logging.CRITICAL, "alert": logging.CRITICAL, "crit": logging.CRITICAL,
    "error": logging.ERROR, "warn": logging.WARNING, "warning": logging.WARNING,
    "notice": NOTICE, "info": logging.INFO, "debug": logging.DEBUG,
}
for _n in range(1, 9):
    LOG_LEVELS["trace%d" % _n] = logging.DEBUG

_APACHE_LEVEL_NAMES = {
    logging.CRITICAL: "crit", logging.ERROR: "error", logging.WARNING: "warn",
    NOTICE: "notice", logging.INFO: "info", logging.DEBUG: "debug",
}


def _apache_level(levelno):
    name = _APACHE_LEVEL_NAMES.get(levelno)
    if name is None:
        for level in (logging.CRITICAL, logging.ERROR, logging.WARNING, NOTICE,
                      logging.INFO):
            if levelno >= level:
                return _APACHE_LEVEL_NAMES[level]
        return "debug"
    return name


class ApacheErrorFormatter(logging.Formatter):
    """Apache 2.4's error-log line (``ErrorLogFormat`` left at its default)."""

    def format(self, record):
        created = record.created
        lt = time.localtime(created)
        stamp = "%s.%06d %d" % (time.strftime("%a %b %d %H:%M:%S", lt),
                                int((created % 1.0) * 1e6), lt.tm_year)
        prefix = "[%s] [%s:%s] [pid %d:tid %d] " % (
            stamp, getattr(record, "apache_module", "core"), _apache_level(record.levelno),
            record.process or os.getpid(), threading.get_native_id())
        client = getattr(record, "client", None)
        if client:
            prefix += "[client %s] " % client
        message = record.getMessage()
        if record.exc_info:
            if not record.exc_text:
                record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            message = message.rstrip("\n") + "\n" + record.exc_text
        lines = message.rstrip("\n").split("\n")
        return "\n".join(prefix + line for line in lines)


class FdHandler(logging.Handler):
    """Writes each formatted record, newline included, with one ``os.write``.

    The file is opened ``O_APPEND`` (Apache's way), so whole lines from many
    processes land intact. ``target`` is a path, or an int descriptor that the
    handler uses without owning (stderr).
    """

    def __init__(self, target, level=logging.NOTSET):
        super().__init__(level)
        self._owned = False
        self._pipe = None
        if isinstance(target, int):
            self.fd = target
            self.path = None
        elif target.startswith("|"):
            # a piped log, as Apache's: the command (through the shell) reads
            # the lines on its standard input, e.g. rotatelogs
            self.path = target
            self._pipe = subprocess.Popen(target[1:].strip(), shell=True,
                                          stdin=subprocess.PIPE, start_new_session=True)
            self.fd = self._pipe.stdin.fileno()
        else:
            self.path = target
            self.fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            self._owned = True

    def createLock(self):
        self.lock = None    # one write(2) per record needs no lock

    def acquire(self):
        pass

    def release(self):
        pass

    def write_line(self, data):
        """Write ``data`` (bytes, one or more whole lines); never raises."""
        try:
            if self._pipe is not None and len(data) > select.PIPE_BUF:
                self._write_pipe(data)
            else:
                os.write(self.fd, data)
        except OSError:
            pass

    def _write_pipe(self, data):
        """Whole lines in writes of at most PIPE_BUF bytes: a pipe keeps
        only those apart from other processes' writes."""
        start, n = 0, len(data)
        while start < n:
            end = data.rfind(b"\n", start, start + select.PIPE_BUF) + 1
            if end <= start:
                end = min(n, start + select.PIPE_BUF)   # one line longer than that
            view = memoryview(data)[start:end]
            while view:
                view = view[os.write(self.fd, view):]
            start = end

    def emit(self, record):
        try:
            line = self.format(record) + "\n"
            self.write_line(line.encode("utf-8", "backslashreplace"))
        except Exception:
            self.handleError(record)

    def close(self):
        if self._pipe is not None:
            # the command gets its end of input and finishes on its own
            try:
                self._pipe.stdin.close()
            except OSError:
                pass
            self._pipe = None
            self.fd = -1
        if self._owned and self.fd >= 0:
            try:
                os.close(self.fd)
            except OSError:
                pass
            self.fd = -1
        super().close()


def _stderr_fd():
    try:
        sys.stderr.flush()
        return sys.stderr.fileno()
    except (AttributeError, ValueError, OSError):
        return 2


def setup_logging(cfg):
    """Attach the error and access logs named by ``cfg`` (a ServerConfig).

    ``cfg.error_log`` / ``cfg.access_log`` are file paths ("" = stderr); the
    error logger's level is ``cfg.log_level`` (Apache's names). Handlers a
    previous call attached are replaced; other handlers are left alone. Both
    loggers stop propagating to the root logger. Returns the two handlers
    ``(error_handler, access_handler)``.
    """
    handlers = []
    for name, path, level, formatter in (
            (ERROR_LOGGER, cfg.error_log, LOG_LEVELS.get(str(cfg.log_level).lower(),
                                                         logging.WARNING),
             ApacheErrorFormatter()),
            (ACCESS_LOGGER, cfg.access_log, logging.INFO, logging.Formatter("%(message)s"))):
        logger = logging.getLogger(name)
        for old in list(logger.handlers):
            if getattr(old, "_fastdispatch", False):
                logger.removeHandler(old)
                old.close()
        handler = FdHandler(path if path else _stderr_fd())
        handler._fastdispatch = True
        handler.setFormatter(formatter)
        logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False
        handlers.append(handler)
    return tuple(handlers)


def logging_configured():
    """True when someone attached handlers to the server's loggers already."""
    return bool(logging.getLogger(ERROR_LOGGER).handlers
                or logging.getLogger(ACCESS_LOGGER).handlers)


# ---------------------------------------------------------------------------
# the access log

_time_time = time.time
_MONTHS = (None, "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
           "Nov", "Dec")
# %>s as text, looked up: formatting the int with %d is a line's dearest
# step. (The table holds Apache's whole range, 100-999; log() formats what
# it does not hold.)
_STATUS_TEXT = {status: str(status) for status in range(100, 1000)}


HOLD_MAX_LINES = 64     # a held batch is written at this size at the latest


class AccessLog:
    """Writes each request's line in the ``CustomLog`` format (by default
    the combined format as Debian's Apache defines it, logformat.py).

    When ``fastdispatch.access`` has exactly one ``FdHandler`` (what
    ``setup_logging`` attaches) the line goes out with one ``os.write``;
    otherwise, if the logger is enabled for INFO, through ``logger.info`` so
    that handlers someone else attached see it. The decision is taken when the
    object is made (a worker makes it when it starts).
    """

    def __init__(self, logger=None, fmt=None, server_name=""):
        self.logger = logger if logger is not None else logging.getLogger(ACCESS_LOGGER)
        self._write = None
        self.enabled = self.logger.isEnabledFor(logging.INFO)
        handlers = self.logger.handlers
        if (self.enabled and len(handlers) == 1 and isinstance(handlers[0], FdHandler)
                and not self.logger.propagate and not self.logger.filters
                and not handlers[0].filters and handlers[0].level <= logging.INFO):
            self._write = handlers[0].write_line
        fmt = DEFAULT_FORMAT if fmt is None else fmt
        self._parts = compile_format(fmt)
        # the combined format, with either byte count, is written out by hand
        # (log below): this runs once per request
        # (None: not the combined format; True: its count is %O, False: %b)
        self._combined_sent = _COMBINED.get(fmt)
        self._server_name, self._server_port = split_server_name(server_name)
        self._stamp_sec = -1
        self._stamp = ""
        self._held = None       # lines waiting for flush() (hold())
        self._flush_lock = threading.Lock()

    def hold(self):
        """Keep lines until ``flush()`` instead of writing each at once: a
        worker writes a poll round's lines (or a serving thread's, until it
        waits) with one ``os.write`` (whole lines, O_APPEND: still intact
        beside other processes'). Any thread may log and flush."""
        if self._write is not None:
            self._held = []

    def flush(self):
        held = self._held
        if held:
            # one flush at a time (two would write the same lines, then
            # delete later ones unwritten); lines other threads append
            # meanwhile stay for the next flush: appending takes no lock
            with self._flush_lock:
                n = len(held)
                if n:
                    data = b"".join(held[:n])
                    del held[:n]
                    self._write(data)

    def _emit(self, line):
        if self._write is None:
            self.logger.info(line[:-1])
            return
        data = line.encode("latin-1", "backslashreplace")
        held = self._held
        if held is None:
            self._write(data)
        else:
            held.append(data)
            if len(held) >= HOLD_MAX_LINES:
                self.flush()

    def _time(self):
        now = int(_time_time())
        if now != self._stamp_sec:
            lt = time.localtime(now)
            off = lt.tm_gmtoff // 60
            sign = "-" if off < 0 else "+"
            off = abs(off)
            self._stamp = "%02d/%s/%d:%02d:%02d:%02d %s%02d%02d" % (
                lt.tm_mday, _MONTHS[lt.tm_mon], lt.tm_year, lt.tm_hour, lt.tm_min,
                lt.tm_sec, sign, off // 60, off % 60)
            self._stamp_sec = now
        return self._stamp

    def log(self, info, head, outcome, sent_bytes=0, received_bytes=0, started=None,
            keep_alive=False):
        """One request's line. ``info``: its ConnInfo; ``outcome``: what the
        dispatcher did; the bytes sent (head included) and received, and the
        monotonic time it started, for the formats that show them."""
        if self._combined_sent is None:
            self._emit(render(self._parts, self._entry(
                info, head, outcome.status, outcome.bytes_sent, outcome.user, sent_bytes,
                received_bytes, started, keep_alive), self._current_stamp()) + "\n")
            return
        # the common steps are written out here rather than called
        referer = agent = "-"
        for name, value in head.headers:
            n = len(name)
            if n == 7:
                if name.lower() == "referer":
                    referer = log_escape(value)
            elif n == 10 and name.lower() == "user-agent":
                agent = log_escape(value)
        request_line = head.request_line
        # (plain_line: the parser saw nothing there that needs escaping)
        if not head.plain_line:
            request_line = log_escape(request_line)
        stamp = self._stamp if int(_time_time()) == self._stamp_sec else self._time()
        user = outcome.user
        count = sent_bytes if self._combined_sent else outcome.bytes_sent
        status = outcome.status
        try:
            status = _STATUS_TEXT[status]
        except KeyError:
            status = "%d" % status
        line = '%s - %s [%s] "%s" %s %s "%s" "%s"\n' % (
            info.remote_ip, "-" if user is None else (log_escape(user) or '""'), stamp,
            request_line, status, count or "-", referer, agent)
        held = self._held
        if held is not None:
            held.append(line.encode("latin-1", "backslashreplace"))
            if len(held) >= HOLD_MAX_LINES:
                self.flush()
        else:
            self._emit(line)

    def log_raw(self, info, request_line, status, sent_bytes=0, received_bytes=0,
                body_bytes=0):
        """A request that never got a parsed head (400 for a malformed one)."""
        entry = self._entry(info, RawHead(request_line), status, body_bytes, None,
                            sent_bytes, received_bytes, None, False)
        self._emit(render(self._parts, entry, self._current_stamp()) + "\n")

    def _current_stamp(self):
        return self._stamp if int(_time_time()) == self._stamp_sec else self._time()

    def _entry(self, info, head, status, body_bytes, user, sent_bytes, received_bytes,
               started, keep_alive):
        return LogEntry(info.remote_ip, head, status, body_bytes, user,
                        remote_port=getattr(info, "remote_port", 0),
                        local_ip=getattr(info, "local_ip", "-"),
                        local_port=getattr(info, "local_port", 0),
                        sent_bytes=sent_bytes, received_bytes=received_bytes,
                        started=started, keepalives=getattr(info, "keepalives", 0),
                        keep_alive=keep_alive, server_name=self._server_name,
                        server_port=self._server_port)


_COMBINED = {
    DEBIAN_FORMATS["combined"]: True,
    DEBIAN_FORMATS["combined"].replace("%O", "%b"): False,
}

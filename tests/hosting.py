"""Start the dispatcher under each kind of host, for the hosting tests: the
builtin server, gunicorn (WSGI), uvicorn (ASGI) and the sans-IO examples;
each a real process on a 127.0.0.1 port, stopped by its process group."""
import functools
import os
import re
import subprocess
import sys
import threading
import time

import pytest

from serverproc import ROOT, Conn, stop_group

EMBED = os.path.join(ROOT, "examples", "embed")
TUTORIAL_CONF = os.path.join(ROOT, "examples", "tutorial", "site.conf")

_READY = {
    "fastdispatch": re.compile(r"serving on http://127\.0\.0\.1:(\d+)"),
    "example": re.compile(r"serving on http://127\.0\.0\.1:(\d+)"),
    "gunicorn": re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)"),
    "uvicorn": re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)"),
}


class HostProcess:
    """A server command in its own process group; ``port`` once it listens.
    Its output (stdout and stderr) is kept in ``lines``."""

    def __init__(self, argv, kind, env=None, cwd=ROOT, timeout=30, workers=1):
        env = dict(os.environ, **(env or {}))
        env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, env.get("PYTHONPATH")) if p)
        env.setdefault("PYTHONUNBUFFERED", "1")
        self.argv = argv
        self.lines = []
        self.port = None
        self._ready = threading.Event()
        self._rx = _READY[kind]
        self._booted = re.compile(r"Booting worker with pid") if kind == "gunicorn" else None
        self._workers = workers
        self.proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, errors="replace", start_new_session=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._ready.wait(timeout) or self.port is None:
            self.stop()
            raise RuntimeError("%s did not start:\n%s" % (argv[:4], self.log))
        self._wait_ready(timeout)

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line)
            m = self._rx.search(line)
            if m and self.port is None:
                self.port = int(m.group(1))
                self._ready.set()
        self._ready.set()

    def _wait_ready(self, timeout):
        """Until every worker answers (gunicorn boots them after it listens)."""
        deadline = time.monotonic() + timeout
        if self._booted is not None:
            while sum(bool(self._booted.search(l)) for l in self.lines) < self._workers:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("workers did not boot:\n" + self.log)
                time.sleep(0.05)
        while True:
            try:
                with Conn(self.port, timeout=5) as c:
                    c.request("GET", "/", headers=[("Connection", "close")])
                return
            except (OSError, EOFError):
                if time.monotonic() > deadline:
                    raise RuntimeError("not answering:\n" + self.log) from None
                time.sleep(0.05)

    @property
    def log(self):
        return "".join(self.lines)

    def stop(self, timeout=15):
        stop_group(self.proc, timeout=timeout)
        self._reader.join(5)
        return self.proc.returncode


@functools.lru_cache(None)
def _gunicorn_has_control_socket():
    out = subprocess.run([sys.executable, "-m", "gunicorn", "--help"], capture_output=True,
                         text=True, timeout=30).stdout
    return "--no-control-socket" in out


def start_own(conf, workers=1, extra=()):
    return HostProcess([sys.executable, "-m", "fastdispatch", "serve", "--config", conf,
                        "--host", "127.0.0.1", "--port", "0", "--workers", str(workers)]
                       + list(extra), "fastdispatch")


def start_gunicorn(conf, worker_class="sync", workers=2, threads=8, env=None):
    pytest.importorskip("gunicorn")
    argv = [sys.executable, "-m", "gunicorn", "-b", "127.0.0.1:0", "-w", str(workers),
            "-k", worker_class, "--graceful-timeout", "5", "--chdir", EMBED]
    if worker_class == "gthread":
        # (only there: gunicorn turns a sync worker with threads into gthread)
        argv += ["--threads", str(threads)]
    if _gunicorn_has_control_socket():
        argv.append("--no-control-socket")
    argv.append("site_app:wsgi")
    proc = HostProcess(argv, "gunicorn", env=dict(env or {}, FASTDISPATCH_CONFIG=conf),
                       workers=workers)
    if "Using worker: %s" % worker_class not in proc.log:
        proc.stop()
        raise RuntimeError("gunicorn did not use the %s worker:\n%s" % (worker_class, proc.log))
    return proc


def start_uvicorn(conf, workers=1, env=None, app="site_app:asgi"):
    pytest.importorskip("uvicorn")
    argv = [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", "0",
            "--app-dir", EMBED, "--no-access-log", "--timeout-graceful-shutdown", "5"]
    if workers > 1:
        argv += ["--workers", str(workers)]
    argv.append(app)
    return HostProcess(argv, "uvicorn", env=dict(env or {}, FASTDISPATCH_CONFIG=conf))


def start_example(script, conf, env=None):
    return HostProcess([sys.executable, os.path.join(EMBED, script), "--config", conf,
                        "--port", "0"], "example", env=env)


# ------------------------------------------------------------------ sites

def embed_site(tmp_path_factory):
    """A copy of tests/sites/embed (the tutorial + probes); its config path."""
    from serverproc import copy_site
    d = tmp_path_factory.mktemp("embed-site")
    return copy_site("embed", d, {"TUTORIAL_CONF": TUTORIAL_CONF})


class SMTPSink:
    """Collects what the tutorial's feedback form mails (aiosmtpd handler)."""

    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 OK"

    def wait_for(self, count, timeout=10):
        deadline = time.monotonic() + timeout
        while len(self.envelopes) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return len(self.envelopes) >= count


@pytest.fixture(scope="module")
def smtp_sink():
    """An SMTP sink on a 127.0.0.1 port; the embed site's PythonImport points
    smtplib at it when FD_SMTP_PORT is in the environment."""
    import socket
    controller_mod = pytest.importorskip("aiosmtpd.controller")
    sink = SMTPSink()
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    sink.port = s.getsockname()[1]
    s.close()
    controller = controller_mod.Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    yield sink
    controller.stop()


# ------------------------------------------------------------------ requests

def raw_request(method, target, headers=(), body=b"", chunked=False, version="HTTP/1.1",
                chunk_size=1000):
    """The bytes of a request: ``headers`` as given, plus the body's framing."""
    hdrs = list(headers)
    if chunked:
        hdrs.append(("Transfer-Encoding", "chunked"))
        data = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + chunk_size]),
                                           body[i:i + chunk_size])
                        for i in range(0, len(body), chunk_size)) + b"0\r\n\r\n"
    else:
        if body or method in ("POST", "PUT"):
            hdrs.append(("Content-Length", str(len(body))))
        data = body
    return ("%s %s %s\r\n" % (method, target, version)
            + "".join("%s: %s\r\n" % h for h in hdrs) + "\r\n").encode("latin-1") + data


def exchange(port, raw, head_request=False, timeout=20):
    """Send ``raw`` on a new connection; the response (serverproc.RawResponse)."""
    with Conn(port, timeout=timeout) as c:
        c.send(raw)
        return c.read_response(head_request=head_request)

#!/usr/bin/env python3
"""The end-to-end benchmark: fastdispatch against Apache 2.4 + mod_python 3.5
and the fastest Python servers, in one run, on this machine.

    python3 bench/e2e/run.py            # full run: 3 rounds x 10 s (~20 min)
    python3 bench/e2e/run.py --quick    # smoke run: 1 round x 3 s (~3 min)

What it does (bench/README.md has the longer story and the latest table):

1. installs what is missing: Debian's apache2, libapache2-mod-python and wrk
   (apt-get, as root), and uvicorn[standard] (httptools, uvloop), granian,
   gunicorn and matplotlib into a separate venv
   (~/.cache/fastdispatch-bench/venv, or $FASTDISPATCH_BENCH_VENV); the
   project's own environment is not touched. fastdispatch itself is used from
   this working tree (PYTHONPATH), compiled extensions included.
2. starts every server on its own 127.0.0.1 port, pinned to core 1
   (``taskset -c 1``), and runs wrk pinned to core 0 (``taskset -c 0``,
   1 thread, 64 keep-alive connections). Each round runs every scenario on
   every server that has it, servers interleaved (A B C ... A B C ...), in an
   order rotated from round to round; 10 s per run, each (server, scenario)
   warmed up first. Before any timing, each server's answer to each scenario
   is checked against the expected status, Content-Type and body, so that all
   servers are measured doing the same observable work.
3. then the scaling run (``--workers 2`` and Apache, unpinned, wrk unpinned)
   and the memory run (RSS/PSS of the server with 5,000 idle keep-alive
   connections open);
4. prints a table of median req/s, p50 and p99 per server and scenario, with
   each server's ratio to fastdispatch computed within the same round, and
   writes it as JSON (bench/e2e/results.json), as a PNG chart
   (bench/e2e/results.png, matplotlib from the venv) and into
   bench/README.md (between the e2e-results markers).

A server that cannot run here (not installed, adapter missing, refused to
start, answered differently) is skipped with a note in the output and in the
JSON; the rest of the run goes on.
"""
import argparse
import asyncio
import datetime
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

E2E = Path(__file__).resolve().parent
BENCH = E2E.parent
ROOT = BENCH.parent
SITE = E2E / "site"
HTDOCS = SITE / "htdocs"
SERVERS_DIR = E2E / "servers"
README = BENCH / "README.md"
DEFAULT_VENV = Path(os.environ.get(
    "FASTDISPATCH_BENCH_VENV", Path.home() / ".cache" / "fastdispatch-bench" / "venv"))
REQUIREMENTS = E2E / "requirements.txt"
VENV_MODULES = ("uvicorn", "httptools", "uvloop", "granian", "gunicorn", "matplotlib")
APT_PACKAGES = ("apache2", "libapache2-mod-python", "wrk")

# wrk on the first CPU this process may use, the server on the second
_CPUS = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [0, 1]
CLIENT_CORE = str(_CPUS[0]) if len(_CPUS) >= 2 else None
SERVER_CORE = str(_CPUS[1]) if len(_CPUS) >= 2 else None

sys.path.insert(0, str(E2E))
from apache_instance import MODULES_DIR, MPM_TUNING, ApacheInstance  # noqa: E402
from wire import free_port  # noqa: E402

# Debian 12's /etc/apache2/mods-available/mpm_event.conf, what `apt-get
# install apache2` runs with. apache_instance.py's own small-footprint
# tuning (MaxRequestWorkers 50) is for captures: under wrk's 64 connections
# it runs out of workers and the event MPM starts closing keep-alive
# connections (wrk read errors, p99 > 1 s) -- a handicap, not Apache.
DEBIAN_EVENT_MPM = """\
StartServers            2
MinSpareThreads         25
MaxSpareThreads         75
ThreadLimit             64
ThreadsPerChild         25
MaxRequestWorkers       150
MaxConnectionsPerChild  0
"""


class BenchApache(ApacheInstance):
    """The private instance with Debian's stock event MPM settings."""

    def render_conf(self):
        conf = super().render_conf()
        return conf.replace(MPM_TUNING[self.mpm], DEBIAN_EVENT_MPM, 1)


def log(msg=""):
    print(msg, flush=True)


# ---------------------------------------------------------------------------
# scenarios

FORM_FIELDS = [
    ("first_name", "Jane"), ("last_name", "Doe"), ("email", "jane@example.org"),
    ("phone", "+1 555 0100"), ("street", "1 Main St"), ("city", "Springfield"),
    ("zip", "12345"), ("country", "US"), ("subject", "Feedback"),
    ("comment", "Hello there, nice site!"),
]


def _urlencode(pairs):
    from urllib.parse import urlencode
    return urlencode(pairs)


@dataclass
class Scenario:
    name: str
    label: str
    method: str
    path: str
    headers: dict = field(default_factory=dict)
    body: bytes = b""
    status: int = 200
    content_type: str = "text/plain"
    expect_body: bytes = b""

    def request_bytes(self, host):
        lines = ["%s %s HTTP/1.1" % (self.method, self.path), "Host: %s" % host]
        lines += ["%s: %s" % kv for kv in self.headers.items()]
        if self.body:
            lines.append("Content-Length: %d" % len(self.body))
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


HELLO = b"Hello World!"


def large_static_file():
    """The bytes of htdocs/static/file1m.txt, 1 MiB of numbered lines, made
    here when missing (it is not kept in git): where a static file's bytes,
    not the request's work, are the cost."""
    path = HTDOCS / "static" / "file1m.txt"
    data = b"".join(b"%06d %s\n" % (i, b"x" * 56) for i in range(16384))
    if not path.exists() or path.read_bytes() != data:
        path.write_bytes(data)
    return data


FORM_BODY = _urlencode(FORM_FIELDS).encode("ascii")

SCENARIOS = [
    Scenario("hello", "tutorial hello handler", "GET", "/hello/hellohandler.py",
             expect_body=HELLO),
    Scenario("hello-close", "hello, Connection: close", "GET", "/hello/hellohandler.py",
             headers={"Connection": "close"}, expect_body=HELLO),
    Scenario("publisher", "publisher /hello.py/say?what=hello", "GET",
             "/pub/hello.py/say?what=hello", expect_body=b"I am saying hello"),
    Scenario("auth", "Basic auth (valid credentials)", "GET", "/secure/authhandler.py",
             headers={"Authorization": "Basic c3BhbTplZ2dz"}, expect_body=HELLO),
    Scenario("own404", "tutorial's own-404 handler", "GET", "/errors/handler-error.html",
             status=404, content_type="text/html",
             expect_body=b"Page not here.  Page left, not know where gone."),
    Scenario("static", "4 KB static file", "GET", "/static/file4k.txt",
             expect_body=(HTDOCS / "static" / "file4k.txt").read_bytes()),
    Scenario("static-1m", "1 MiB static file", "GET", "/static/file1m.txt",
             expect_body=large_static_file()),
    Scenario("post-form", "POST urlencoded form, 10 fields, publisher", "POST",
             "/pub/hello.py/submit",
             headers={"Content-Type": "application/x-www-form-urlencoded"}, body=FORM_BODY,
             expect_body="".join("%s=%s\n" % kv for kv in FORM_FIELDS).encode()),
]
SCENARIO_BY_NAME = {s.name: s for s in SCENARIOS}
ALL_SCENARIOS = [s.name for s in SCENARIOS]
# the raw peers do the work of the scenarios where there is work to compare
PEER_SCENARIOS = ["hello", "publisher", "static", "static-1m", "post-form"]


# ---------------------------------------------------------------------------
# processes

def session_pids(sid):
    """Pids of every process in session ``sid`` (a server and its children)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path("/proc", entry, "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[3]) == sid:       # fields: state ppid pgrp session ...
            pids.append(int(entry))
    return pids


def memory_of(pids):
    """(RSS, PSS) in KiB summed over ``pids``."""
    rss = pss = 0
    for pid in pids:
        try:
            for line in Path("/proc", str(pid), "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1])
            for line in Path("/proc", str(pid), "smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    pss += int(line.split()[1])
        except OSError:
            pass
    return rss, pss


CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids):
    """user + system CPU seconds of ``pids`` (all their threads), plus what
    their children that already exited used (cutime, cstime): Apache ends and
    starts children during a run, and their time must not vanish."""
    total = 0
    for pid in pids:
        try:
            stat = Path("/proc", str(pid), "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        # utime stime cutime cstime
        total += int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
    return total / CLK_TCK


def core_busy(core):
    """Busy seconds of one CPU since boot (/proc/stat)."""
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("cpu%s " % core):
            v = [int(x) for x in line.split()[1:]]
            return (sum(v[:8]) - v[3] - v[4]) / CLK_TCK   # minus idle, iowait
    return 0.0


class CpuMeter:
    """What the server used, and what everybody else used on its core,
    while a run lasted: the machine is shared, so every run says how much of
    the server's core it really had."""

    def __init__(self, proc, core):
        self.proc, self.core = proc, core

    def __enter__(self):
        self.t0 = time.monotonic()
        self.cpu0 = cpu_seconds(self.proc.pids())
        self.busy0 = core_busy(self.core) if self.core is not None else 0.0
        return self

    def __exit__(self, *exc):
        wall = time.monotonic() - self.t0
        used = max(0.0, cpu_seconds(self.proc.pids()) - self.cpu0)
        self.server_cpu_s = used
        self.wall_s = wall
        if self.core is not None:
            busy = core_busy(self.core) - self.busy0
            self.others_share = max(0.0, (busy - used) / wall) if wall else 0.0
        else:
            self.others_share = None


def http_get(port, scenario, timeout=5.0):
    """One request over a fresh connection: (status, headers dict, body)."""
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = dict(scenario.headers)
        conn.request(scenario.method, scenario.path, body=scenario.body or None,
                     headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
    finally:
        conn.close()


class ServerProcess:
    """One server: a process (and its children) in its own session."""

    def __init__(self, name, argv, *, env=None, cwd=None, pin=SERVER_CORE, port,
                 logdir, cleanup: Optional[Callable] = None):
        self.name = name
        self.port = port
        self.cleanup = cleanup
        self.log_path = Path(logdir) / ("%s.out" % name)
        cmd = (["taskset", "-c", pin] if pin is not None else []) + [str(a) for a in argv]
        self.cmd = cmd
        self._logf = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                     stdout=self._logf, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def alive(self):
        return self.proc.poll() is None

    def output_tail(self, n=2000):
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def wait_ready(self, probe, timeout=30.0):
        """Wait until ``probe`` (a Scenario) gets any HTTP answer."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError("exited with status %s:\n%s"
                                   % (self.proc.returncode, self.output_tail()))
            try:
                http_get(self.port, probe, timeout=2.0)
                return
            except OSError as exc:
                last = exc
            time.sleep(0.1)
        raise RuntimeError("not answering after %.0f s (%s):\n%s"
                           % (timeout, last, self.output_tail()))

    def pids(self):
        return session_pids(self.proc.pid)

    def stop(self, timeout=10.0):
        if self.alive():
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        # whatever is left of the session (workers, children) goes too
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
        self._logf.close()
        if self.cleanup is not None:
            self.cleanup()
            self.cleanup = None


# ---------------------------------------------------------------------------
# servers

@dataclass
class Env:
    venv: Path
    tmp: Path
    venv_ok: bool
    venv_note: str
    apache_ok: bool
    apache_note: str

    @property
    def vpython(self):
        return self.venv / "bin" / "python"


def fd_config(env, name, port, extra=""):
    """fastdispatch's top-level config for one server: what Apache's
    httpd.conf template gives Apache (Listen, DocumentRoot, logs to files),
    then the shared site.conf."""
    path = env.tmp / ("%s.conf" % name)
    path.write_text(
        "# written by bench/e2e/run.py\n"
        "Listen 127.0.0.1:%d\n"
        "ServerName 127.0.0.1\n"
        "DocumentRoot %s\n"
        "DirectoryIndex index.html\n"
        "LogLevel warn\n"
        "ErrorLog %s\n"
        "CustomLog %s combined\n"
        "Include %s\n%s"
        % (port, HTDOCS, env.tmp / ("%s-error.log" % name),
           env.tmp / ("%s-access.log" % name), SITE / "site.conf", extra))
    return path


def fd_env(extra=None):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(SERVERS_DIR), str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env["PYTHONUNBUFFERED"] = "1"
    if extra:
        env.update(extra)
    return env


def start_fd(env, name, port, pin, *, inline=False, workers=1, extra_conf=""):
    conf = fd_config(env, name, port, extra_conf)
    argv = [sys.executable, "-m", "fastdispatch", "serve", "--config", conf,
            "--workers", str(workers)]
    if inline:
        argv.append("--inline")
    return ServerProcess(name, argv, env=fd_env(), cwd=str(ROOT), pin=pin, port=port,
                         logdir=env.tmp)


def start_fd_hosted(env, name, port, pin, *, host, app):
    conf = fd_config(env, name, port)
    penv = fd_env({"FASTDISPATCH_BENCH_CONF": str(conf)})
    if host == "uvicorn":
        argv = [env.vpython, "-m", "uvicorn", "fd_app:%s" % app, "--host", "127.0.0.1",
                "--port", port, "--loop", "uvloop", "--http", "httptools",
                "--no-access-log", "--log-level", "warning"]
    else:
        argv = [env.vpython, "-m", "gunicorn", "fd_app:%s" % app, "-b", "127.0.0.1:%d" % port,
                "-w", "1", "-k", "gthread", "--threads", "16", "--graceful-timeout", "3",
                "--log-level", "warning"]
    return ServerProcess(name, argv, env=penv, cwd=str(SERVERS_DIR), pin=pin, port=port,
                         logdir=env.tmp)


def start_apache(env, name, port, pin, *, extra_conf=""):
    inst = BenchApache(port=port, document_root=str(HTDOCS),
                          extra_conf="Include %s\n%s" % (SITE / "site.conf", extra_conf))
    inst.write_conf()
    aenv = inst.apache_env()
    # the site's relative <Directory> paths resolve against the working
    # directory, which Apache keeps in the foreground (-D FOREGROUND)
    check = subprocess.run(inst._cmd("-t"), cwd=str(SITE), env=aenv, capture_output=True,
                           text=True)
    if check.returncode != 0:
        inst.stop()
        raise RuntimeError("apache2 -t failed:\n%s%s" % (check.stdout, check.stderr))
    proc = ServerProcess(name, inst._cmd("-D", "FOREGROUND"), env=aenv, cwd=str(SITE),
                         pin=pin, port=port, logdir=env.tmp, cleanup=inst.stop)
    proc.apache = inst
    return proc


def start_uvicorn_raw(env, name, port, pin):
    argv = [env.vpython, "-m", "uvicorn", "raw_asgi:app", "--host", "127.0.0.1",
            "--port", port, "--loop", "uvloop", "--http", "httptools", "--no-access-log",
            "--log-level", "warning"]
    return ServerProcess(name, argv, env=fd_env(), cwd=str(SERVERS_DIR), pin=pin,
                         port=port, logdir=env.tmp)


def start_granian(env, name, port, pin):
    argv = [env.venv / "bin" / "granian", "--interface", "wsgi", "--host", "127.0.0.1",
            "--port", port, "--workers", "1", "--no-access-log", "--log-level", "warning",
            "raw_wsgi:app"]
    return ServerProcess(name, argv, env=fd_env(), cwd=str(SERVERS_DIR), pin=pin,
                         port=port, logdir=env.tmp)


def start_ceiling(env, name, port, pin):
    argv = [env.vpython, SERVERS_DIR / "ceiling.py", "--port", port]
    return ServerProcess(name, argv, env=fd_env(), cwd=str(SERVERS_DIR), pin=pin,
                         port=port, logdir=env.tmp)


@dataclass
class ServerSpec:
    name: str
    label: str
    scenarios: list
    start: Callable
    needs_venv: bool = False
    needs_apache: bool = False
    check: Optional[Callable] = None      # -> None or a reason it cannot run


def _adapter_check(attr):
    def check(env):
        code = ("import sys; from fastdispatch.dispatch import Dispatcher; "
                "sys.exit(0 if hasattr(Dispatcher, %r) else 3)" % attr)
        p = subprocess.run([str(env.vpython), "-c", code], env=fd_env(), cwd=str(ROOT),
                           capture_output=True, text=True)
        if p.returncode == 3:
            return "Dispatcher.%s() does not exist yet" % attr
        if p.returncode != 0:
            return "fastdispatch adapters not importable: %s" % p.stderr.strip()[-300:]
        return None
    return check


SERVERS = [
    ServerSpec("fd-default", "fastdispatch own server, default mode", ALL_SCENARIOS,
               lambda env, n, port, pin: start_fd(env, n, port, pin)),
    ServerSpec("fd-inline", "fastdispatch own server, --inline (fastest)", ALL_SCENARIOS,
               lambda env, n, port, pin: start_fd(env, n, port, pin, inline=True)),
    ServerSpec("fd-uvicorn", "fastdispatch .asgi() under uvicorn (httptools, uvloop)",
               ["hello"],
               lambda env, n, port, pin: start_fd_hosted(env, n, port, pin, host="uvicorn",
                                                         app="asgi_app"),
               needs_venv=True, check=_adapter_check("asgi")),
    ServerSpec("fd-gunicorn", "fastdispatch .wsgi() under gunicorn (gthread, 16 threads)",
               ["hello"],
               lambda env, n, port, pin: start_fd_hosted(env, n, port, pin, host="gunicorn",
                                                         app="wsgi_app"),
               needs_venv=True, check=_adapter_check("wsgi")),
    ServerSpec("apache", "Apache 2.4 + mod_python 3.5 (event MPM)", ALL_SCENARIOS,
               lambda env, n, port, pin: start_apache(env, n, port, pin), needs_apache=True),
    ServerSpec("uvicorn-raw", "uvicorn + httptools + uvloop, raw ASGI app", PEER_SCENARIOS,
               start_uvicorn_raw, needs_venv=True),
    ServerSpec("granian-wsgi", "granian, raw WSGI app", PEER_SCENARIOS, start_granian,
               needs_venv=True),
    ServerSpec("ceiling", "asyncio + httptools, fixed bytes (ceiling)",
               ["hello"], start_ceiling, needs_venv=True),
]
SERVER_BY_NAME = {s.name: s for s in SERVERS}
REFERENCES = ("fd-default", "fd-inline")


# ---------------------------------------------------------------------------
# wrk

WRK_LUA = """\
-- written by bench/e2e/run.py
wrk.method = %(method)s
%(body)s
%(headers)s
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRKJSON {\\"requests\\": %%.0f, \\"duration_us\\": %%.0f, \\"bytes\\": %%.0f, " ..
    "\\"connect\\": %%.0f, \\"read\\": %%.0f, \\"write\\": %%.0f, \\"status\\": %%.0f, " ..
    "\\"timeout\\": %%.0f, \\"p50_us\\": %%.0f, \\"p90_us\\": %%.0f, \\"p99_us\\": %%.0f, " ..
    "\\"max_us\\": %%.0f, \\"mean_us\\": %%.2f}\\n",
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean))
end
"""


def _lua_str(s):
    return '"%s"' % s.replace("\\", "\\\\").replace('"', '\\"')


def wrk_script(scenario, tmp):
    path = Path(tmp) / ("wrk-%s.lua" % scenario.name)
    headers = "\n".join("wrk.headers[%s] = %s" % (_lua_str(k), _lua_str(v))
                        for k, v in scenario.headers.items())
    body = ("wrk.body = %s" % _lua_str(scenario.body.decode("latin-1"))) if scenario.body else ""
    path.write_text(WRK_LUA % {"method": _lua_str(scenario.method), "body": body,
                               "headers": headers})
    return path


def run_wrk(port, scenario, duration, *, tmp, threads=1, connections=64, pin=CLIENT_CORE):
    script = wrk_script(scenario, tmp)
    cmd = (["taskset", "-c", pin] if pin is not None else []) + [
        "wrk", "-t%d" % threads, "-c%d" % connections, "-d%ds" % max(1, round(duration)),
        "--timeout", "5s", "-s", str(script),
        "http://127.0.0.1:%d%s" % (port, scenario.path)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=float(duration) + 30)
    m = re.search(r"^WRKJSON (\{.*\})$", p.stdout, re.M)
    if p.returncode != 0 or not m:
        raise RuntimeError("wrk failed (%s): %s %s" % (p.returncode, p.stdout[-500:],
                                                         p.stderr[-500:]))
    r = json.loads(m.group(1))
    secs = r["duration_us"] / 1e6
    return {
        "rps": r["requests"] / secs if secs else 0.0,
        "requests": int(r["requests"]),
        "p50_ms": r["p50_us"] / 1000.0,
        "p90_ms": r["p90_us"] / 1000.0,
        "p99_ms": r["p99_us"] / 1000.0,
        "max_ms": r["max_us"] / 1000.0,
        "errors": {k: int(r[k]) for k in ("connect", "read", "write", "status", "timeout")
                   if int(r[k])},
        "non_2xx_expected": scenario.status >= 400,
    }


# ---------------------------------------------------------------------------
# checks

def check_response(port, scenario):
    """None when the server answers ``scenario`` as expected, else why not."""
    try:
        status, headers, body = http_get(port, scenario)
    except OSError as exc:
        return "no answer: %s" % exc
    ctype = headers.get("content-type", "").split(";")[0].strip()
    problems = []
    if status != scenario.status:
        problems.append("status %d, expected %d" % (status, scenario.status))
    if ctype != scenario.content_type:
        problems.append("Content-Type %r, expected %r" % (ctype, scenario.content_type))
    if body != scenario.expect_body:
        problems.append("body %r..., expected %r..." % (body[:80], scenario.expect_body[:80]))
    return "; ".join(problems) or None


# ---------------------------------------------------------------------------
# installation

def ensure_system(install):
    """apache2 + mod_python + wrk; apt-get them when missing (as root)."""
    def missing():
        need = []
        if not shutil.which("apache2") and not Path("/usr/sbin/apache2").exists():
            need.append("apache2")
        if not (MODULES_DIR / "mod_python.so").exists():
            need.append("libapache2-mod-python")
        if not shutil.which("wrk"):
            need.append("wrk")
        return need

    need = missing()
    if need and install:
        if os.geteuid() == 0 and shutil.which("apt-get"):
            log("installing %s with apt-get ..." % " ".join(need))
            aenv = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
            subprocess.run(["apt-get", "update", "-q"], env=aenv, check=False,
                           stdout=subprocess.DEVNULL)
            subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends"]
                           + need, env=aenv, check=False, stdout=subprocess.DEVNULL)
            need = missing()
        else:
            log("missing %s: run as root with apt-get, or install them" % " ".join(need))
    return need


def venv_missing(venv):
    py = venv / "bin" / "python"
    if not py.exists():
        return list(VENV_MODULES)
    code = ("import importlib.util, sys; "
            "print(' '.join(m for m in sys.argv[1:] if importlib.util.find_spec(m) is None))")
    p = subprocess.run([str(py), "-c", code, *VENV_MODULES], capture_output=True, text=True)
    if p.returncode != 0:
        return list(VENV_MODULES)
    return p.stdout.split()


def ensure_venv(venv, install):
    """(ok, note): the separate environment of the peer servers."""
    need = venv_missing(venv)
    if need and install:
        log("preparing %s (missing: %s) ..." % (venv, " ".join(need)))
        if not (venv / "bin" / "python").exists():
            venv.parent.mkdir(parents=True, exist_ok=True)
            # the project's interpreter: fastdispatch's compiled extensions in
            # this tree are then importable there too
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
                        "-r", str(REQUIREMENTS)], check=False)
        need = venv_missing(venv)
    if need:
        return False, "venv %s lacks %s" % (venv, " ".join(need))
    py = venv / "bin" / "python"
    p = subprocess.run([str(py), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                       capture_output=True, text=True)
    mine = "%d.%d" % sys.version_info[:2]
    if p.stdout.strip() != mine:
        return True, ("venv Python %s differs from this Python %s: fastdispatch under "
                      "uvicorn/gunicorn runs on its pure-Python twins" % (p.stdout.strip(), mine))
    return True, ""


# ---------------------------------------------------------------------------
# idle keep-alive connections (memory)

async def _open_idle(port, n, scenario, concurrency=256, timeout=30.0):
    """Open ``n`` connections, one request each, and keep them open.
    Returns ([(reader, writer)], answered)."""
    sem = asyncio.Semaphore(concurrency)
    request = scenario.request_bytes("127.0.0.1:%d" % port)
    writers = []
    answered = 0

    async def one():
        nonlocal answered
        async with sem:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                return
            writers.append((reader, writer))
            try:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
                if m:
                    await reader.readexactly(int(m.group(1)))
                elif re.search(rb"(?im)^transfer-encoding:\s*chunked", head):
                    await reader.readuntil(b"0\r\n\r\n")
                answered += 1
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                pass

    tasks = [asyncio.ensure_future(one()) for _ in range(n)]
    done, pending = await asyncio.wait(tasks, timeout=timeout)
    for t in pending:
        t.cancel()
    return writers, answered


def measure_idle(proc, n, scenario):
    rss0, pss0 = memory_of(proc.pids())

    async def go():
        t0 = time.monotonic()
        writers, answered = await _open_idle(proc.port, n, scenario)
        opened_s = time.monotonic() - t0
        await asyncio.sleep(1.0)
        rss1, pss1 = memory_of(proc.pids())
        # a connection the server closed has seen EOF by now
        still = sum(1 for r, w in writers if not r.at_eof() and not w.is_closing())
        for r, w in writers:
            w.close()
        return answered, still, opened_s, rss1, pss1

    answered, still, opened_s, rss1, pss1 = asyncio.run(go())
    return {
        "connections_asked": n, "answered": answered, "open_at_sample": still,
        "seconds_to_open": round(opened_s, 2), "processes": len(proc.pids()),
        "rss_mib_before": round(rss0 / 1024, 1), "rss_mib_with_conns": round(rss1 / 1024, 1),
        "pss_mib_before": round(pss0 / 1024, 1), "pss_mib_with_conns": round(pss1 / 1024, 1),
        "kib_per_conn_pss": round((pss1 - pss0) / still, 2) if still else None,
    }


# ---------------------------------------------------------------------------
# statistics and reporting

def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def summarize(runs, servers, scenarios):
    """Per (scenario, server): medians over rounds and same-round ratios."""
    by = {}
    for r in runs:
        by.setdefault((r["scenario"], r["server"]), []).append(r)
    rounds = sorted({r["round"] for r in runs})
    index = {(r["scenario"], r["server"], r["round"]): r for r in runs}
    summary = []
    for scen in scenarios:
        for srv in servers:
            rs = by.get((scen, srv))
            if not rs:
                continue
            row = {"scenario": scen, "server": srv, "rounds": len(rs),
                   "rps": median([r["rps"] for r in rs]),
                   "rps_min": min(r["rps"] for r in rs), "rps_max": max(r["rps"] for r in rs),
                   "p50_ms": median([r["p50_ms"] for r in rs]),
                   "p99_ms": median([r["p99_ms"] for r in rs]),
                   "cpu_us_per_req": median([r.get("server_cpu_us_per_req") for r in rs]),
                   "others_on_server_core": median([r.get("others_on_server_core")
                                                    for r in rs]),
                   "errors": sum(sum(r["errors"].get(k, 0) for k in ("connect", "read",
                                                                       "write", "timeout"))
                                 for r in rs)}
            for ref in REFERENCES:
                per_round = []
                for rd in rounds:
                    a, b = index.get((scen, srv, rd)), index.get((scen, ref, rd))
                    if a and b and b["rps"]:
                        per_round.append(a["rps"] / b["rps"])
                row["ratio_to_%s" % ref] = median(per_round)
                row["ratio_to_%s_per_round" % ref] = [round(x, 4) for x in per_round]
            summary.append(row)
    return summary


def fd_over(runs, scenario, fd, other):
    """Per-round fd/other throughput ratios."""
    index = {(r["scenario"], r["server"], r["round"]): r for r in runs}
    out = []
    for rd in sorted({r["round"] for r in runs}):
        a, b = index.get((scenario, fd, rd)), index.get((scenario, other, rd))
        if a and b and b["rps"]:
            out.append(a["rps"] / b["rps"])
    return out


def evaluate_targets(runs, summary):
    rows = {(s["scenario"], s["server"]): s for s in summary}
    targets = []

    def ratio_target(desc, scen, fd, other, goal):
        per = fd_over(runs, scen, fd, other)
        if not per:
            return
        med = median(per)
        a, b = rows.get((scen, fd)), rows.get((scen, other))
        cpu = None
        if a and b and a.get("cpu_us_per_req") and b.get("cpu_us_per_req"):
            cpu = round(b["cpu_us_per_req"] / a["cpu_us_per_req"], 2)
        targets.append({"target": desc, "scenario": scen, "goal": goal,
                        "per_round": [round(x, 4) for x in per],
                        "median": round(med, 2) if med is not None else None,
                        "cpu_ratio": cpu,
                        "met": (med >= goal) if med is not None else None})

    ratio_target("hello, fastest mode (fd-inline) vs Apache+mod_python", "hello",
                 "fd-inline", "apache", 4.0)
    ratio_target("hello, fastest mode (fd-inline) vs uvicorn raw ASGI", "hello",
                 "fd-inline", "uvicorn-raw", 2.0)
    ratio_target("hello, default mode (fd-default) vs Apache+mod_python", "hello",
                 "fd-default", "apache", 3.0)
    for scen in ALL_SCENARIOS:
        if scen == "hello":
            continue
        for fd in REFERENCES:
            ratio_target("%s, %s vs Apache+mod_python" % (scen, fd), scen, fd, "apache", 2.0)
    for fd in REFERENCES:
        for scen in ALL_SCENARIOS:
            a, b = rows.get((scen, fd)), rows.get((scen, "apache"))
            if a and b:
                targets.append({"target": "p99 %s below Apache's" % fd, "scenario": scen,
                                "fd_p99_ms": round(a["p99_ms"], 3),
                                "apache_p99_ms": round(b["p99_ms"], 3),
                                "met": a["p99_ms"] < b["p99_ms"]})
    return targets


def fmt_rps(x):
    return "-" if x is None else "{:,.0f}".format(x)


def fmt_ms(x):
    if x is None:
        return "-"
    return "%.2f" % x if x < 10 else "%.1f" % x


def fmt_us(x):
    return "-" if x is None else "%.1f" % x


def fmt_ratio(x):
    return "-" if x is None else "%.2f" % x


def table_markdown(result):
    lines = []
    summary = result["summary"]
    labels = {s["name"]: s["label"] for s in result["servers"]}
    lines.append("| scenario | server | req/s (median) | p50 ms | p99 ms | "
                 "server CPU µs/req | ÷ fd-default (per round) | ÷ fd-inline (per round) |")
    lines.append("|---|---|--:|--:|--:|--:|---|---|")
    last = None
    for row in summary:
        scen = row["scenario"] if row["scenario"] != last else ""
        last = row["scenario"]
        rr = []
        for ref in REFERENCES:
            med = row.get("ratio_to_%s" % ref)
            per = row.get("ratio_to_%s_per_round" % ref) or []
            rr.append("-" if med is None else "%s (%s)" % (
                fmt_ratio(med), " ".join("%.2f" % x for x in per)))
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            scen, row["server"], fmt_rps(row["rps"]), fmt_ms(row["p50_ms"]),
            fmt_ms(row["p99_ms"]), fmt_us(row.get("cpu_us_per_req")), rr[0], rr[1]))
    out = ["\n".join(lines)]
    if result.get("scaling"):
        sc = result["scaling"]
        sl = ["| server (unpinned, wrk unpinned) | req/s (median) | p50 ms | p99 ms | "
              "server CPU µs/req | cores used | per round req/s |",
              "|---|--:|--:|--:|--:|--:|---|"]
        for row in sc["summary"]:
            sl.append("| %s | %s | %s | %s | %s | %.2f | %s |" % (
                row["server"], fmt_rps(row["rps"]), fmt_ms(row["p50_ms"]),
                fmt_ms(row["p99_ms"]), fmt_us(row["cpu_us_per_req"]), row["cores_used"],
                " ".join(fmt_rps(x) for x in row["per_round"])))
        for k, v in sc.get("ratios", {}).items():
            sl.append("")
            sl.append("%s: %s (per round: %s)" % (k, fmt_ratio(v["median"]),
                                                  " ".join("%.2f" % x for x in v["per_round"])))
        out.append("\n".join(sl))
    if result.get("memory"):
        ml = ["| server | idle keep-alive conns open | RSS MiB before → with | "
              "PSS MiB before → with | KiB/conn (PSS) | processes |",
              "|---|--:|--:|--:|--:|--:|"]
        for name, m in result["memory"].items():
            if "error" in m:
                ml.append("| %s | %s | | | | |" % (name, m["error"]))
                continue
            ml.append("| %s | %d of %d | %.1f → %.1f | %.1f → %.1f | %s | %d |" % (
                name, m["open_at_sample"], m["connections_asked"], m["rss_mib_before"],
                m["rss_mib_with_conns"], m["pss_mib_before"], m["pss_mib_with_conns"],
                "-" if m["kib_per_conn_pss"] is None else "%.1f" % m["kib_per_conn_pss"],
                m["processes"]))
        out.append("\n".join(ml))
    if result.get("targets"):
        tl = ["| target | goal | result: req/s ratio (per round) | CPU µs/req ratio | met |",
              "|---|--:|---|--:|:-:|"]
        for t in result["targets"]:
            if "goal" in t:
                res = "%s (per round: %s)" % (fmt_ratio(t["median"]),
                                              " ".join("%.2f" % x for x in t["per_round"]))
                goal = ">= %.0fx" % t["goal"]
            else:
                res = "%s ms vs %s ms" % (fmt_ms(t["fd_p99_ms"]), fmt_ms(t["apache_p99_ms"]))
                goal = "<"
                t = dict(t, target="%s: %s" % (t["scenario"], t["target"]))
            if "goal" in t and t["scenario"] not in t["target"]:
                t = dict(t, target="%s: %s" % (t["scenario"], t["target"]))
            met = {True: "yes", False: "**no**", None: "n/a"}[t["met"]]
            tl.append("| %s | %s | %s | %s | %s |" % (t["target"], goal, res,
                                                     fmt_ratio(t.get("cpu_ratio")), met))
        out.append("\n".join(tl))
    servers = "\n".join("- `%s`: %s" % (k, v) for k, v in labels.items())
    return servers, out


def print_report(result):
    servers, parts = table_markdown(result)
    log("")
    log("servers:")
    log(servers)
    for p in parts:
        log("")
        log(p)
    for note in result["notes"]:
        log("NOTE: %s" % note)


MARK_START = "<!-- e2e-results:start -->"
MARK_END = "<!-- e2e-results:end -->"


def update_readme(result, json_path, png_path):
    if not README.exists():
        return False
    text = README.read_text()
    if MARK_START not in text or MARK_END not in text:
        return False
    servers, parts = table_markdown(result)
    m = result["meta"]
    body = [MARK_START,
            "Run %s, commit `%s`, %s; %d rounds x %d s per run, wrk `-t1 -c%d` on core %s, "
            "servers on core %s (written by `bench/e2e/run.py`; raw data in `%s`)."
            % (m["date"], m["commit"], m["machine"], m["rounds"], m["duration_s"],
               m["connections"], CLIENT_CORE, SERVER_CORE, json_path.relative_to(BENCH)),
            "", servers, "", "![results](%s)" % png_path.relative_to(BENCH), "",
            "Throughput and latency (the ratios are this server's req/s over fastdispatch's, "
            "in the same round):", "", parts[0], ""]
    rest = parts[1:]
    titles = []
    if result.get("scaling"):
        titles.append("Scaling (hello, keep-alive; `--workers 2` vs Apache, nothing pinned):")
    if result.get("memory"):
        titles.append("Memory with idle keep-alive connections (hello first on each):")
    if result.get("targets"):
        titles.append("Targets (fastdispatch's req/s over the other's, same round):")
    for title, part in zip(titles, rest):
        body += [title, "", part, ""]
    if result["notes"]:
        body += ["Notes from the run:", ""] + ["- %s" % n for n in result["notes"]] + [""]
    body.append(MARK_END)
    new = text[:text.index(MARK_START)] + "\n".join(body) + text[text.index(MARK_END)
                                                                  + len(MARK_END):]
    README.write_text(new)
    return True


def make_chart(env, json_path, png_path):
    if not env.venv_ok:
        return "no chart: %s" % env.venv_note
    p = subprocess.run([str(env.vpython), str(E2E / "chart.py"), str(json_path),
                        str(png_path)], capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        return "chart failed: %s" % p.stderr.strip()[-500:]
    return None


def fd_version():
    """``fastdispatch --version`` as the servers run it: which hot paths are
    compiled."""
    p = subprocess.run([sys.executable, "-m", "fastdispatch", "--version"], env=fd_env(),
                       capture_output=True, text=True)
    return " / ".join(p.stdout.strip().splitlines()) or p.stderr.strip()[-200:]


def git_commit():
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=str(ROOT),
                             capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=str(ROOT), capture_output=True, text=True).stdout.strip()
        return rev + ("+dirty" if dirty else "")
    except OSError:
        return "unknown"


# ---------------------------------------------------------------------------
# the run

def error_log_tail(proc, env, n=40):
    """The last lines of a server's error log that are not routine notices."""
    inst = getattr(proc, "apache", None)
    if inst is not None:
        text = inst.error_log()
    else:
        path = env.tmp / ("%s-error.log" % proc.name)
        text = path.read_text(errors="replace") if path.exists() else ""
        text += proc.output_tail(20000)
    lines = [ln for ln in text.splitlines()
             if ln.strip() and ":notice]" not in ln and "serving on" not in ln]
    return lines[-n:]


def start_server(spec, env, notes, pin=SERVER_CORE, name=None):
    name = name or spec.name
    if spec.needs_venv and not env.venv_ok:
        notes.append("%s skipped: %s" % (name, env.venv_note))
        return None
    if spec.needs_apache and not env.apache_ok:
        notes.append("%s skipped: %s" % (name, env.apache_note))
        return None
    if spec.check is not None:
        why = spec.check(env)
        if why:
            notes.append("%s skipped: %s" % (name, why))
            return None
    port = free_port()
    try:
        proc = spec.start(env, name, port, pin)
    except Exception as exc:      # noqa: BLE001 - any failure means "skip this server"
        notes.append("%s skipped: could not start: %s" % (name, str(exc)[-800:]))
        return None
    try:
        proc.wait_ready(SCENARIO_BY_NAME[spec.scenarios[0]])
    except RuntimeError as exc:
        proc.stop()
        notes.append("%s skipped: %s" % (name, str(exc)[-800:]))
        return None
    return proc


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 1 round of 3 s, 500 idle connections")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--duration", type=int, help="seconds per timed run (10)")
    ap.add_argument("--warmup", type=int, help="seconds of warm-up per server and "
                    "scenario, first round (2)")
    ap.add_argument("--settle", type=int, help="seconds of wrk before each timed run "
                    "after the first round (1)")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--servers", help="comma-separated subset of: %s"
                    % ",".join(SERVER_BY_NAME))
    ap.add_argument("--scenarios", help="comma-separated subset of: %s"
                    % ",".join(ALL_SCENARIOS))
    ap.add_argument("--no-install", action="store_true",
                    help="do not apt-get / pip install anything")
    ap.add_argument("--no-scaling", action="store_true")
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--idle-connections", type=int, help="for the memory run (5000)")
    ap.add_argument("--venv", type=Path, default=DEFAULT_VENV)
    ap.add_argument("--json", type=Path, help="results file (bench/e2e/results.json; "
                    "results-quick.json with --quick)")
    ap.add_argument("--no-chart", action="store_true")
    ap.add_argument("--no-readme", action="store_true",
                    help="do not write the table into bench/README.md")
    args = ap.parse_args(argv)

    rounds = args.rounds or (1 if args.quick else 3)
    duration = args.duration or (3 if args.quick else 10)
    warmup = args.warmup if args.warmup is not None else (1 if args.quick else 2)
    settle = args.settle if args.settle is not None else (0 if args.quick else 1)
    idle_n = args.idle_connections or (500 if args.quick else 5000)
    json_path = args.json or (E2E / ("results-quick.json" if args.quick else "results.json"))
    png_path = json_path.with_suffix(".png")
    wanted_servers = args.servers.split(",") if args.servers else list(SERVER_BY_NAME)
    wanted_scen = args.scenarios.split(",") if args.scenarios else ALL_SCENARIOS
    for n in wanted_servers:
        if n not in SERVER_BY_NAME:
            ap.error("unknown server %r" % n)
    for n in wanted_scen:
        if n not in SCENARIO_BY_NAME:
            ap.error("unknown scenario %r" % n)
    if not shutil.which("taskset"):
        ap.error("taskset (util-linux) is needed")
    if SERVER_CORE is None:
        log("warning: fewer than 2 CPUs: nothing is pinned, server and wrk share a core")

    notes = []
    t_start = time.monotonic()
    install = not args.no_install
    need_venv = any(SERVER_BY_NAME[n].needs_venv for n in wanted_servers) or not args.no_chart
    missing = ensure_system(install)
    if "wrk" in missing:
        log("wrk is not installed: nothing can be measured")
        return 2
    apache_ok = not any(m in missing for m in ("apache2", "libapache2-mod-python"))
    venv_ok, venv_note = (ensure_venv(args.venv, install) if need_venv
                          else (False, "venv not needed"))
    if venv_ok and venv_note:
        notes.append(venv_note)
    tmp = Path(tempfile.mkdtemp(prefix="fd-e2e-"))
    env = Env(venv=args.venv, tmp=tmp, venv_ok=venv_ok, venv_note=venv_note,
              apache_ok=apache_ok,
              apache_note="Apache/mod_python not installed (%s)" % " ".join(missing))

    result = {
        "meta": {
            "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
            "commit": git_commit(),
            "machine": "%s, %d CPUs, Python %s" % (platform.machine(), os.cpu_count() or 0,
                                                  platform.python_version()),
            "loadavg_start": os.getloadavg()[0],
            "rounds": rounds, "duration_s": duration, "warmup_s": warmup,
            "settle_s": settle,
            "connections": args.connections, "wrk_threads": 1,
            "server_core": SERVER_CORE, "client_core": CLIENT_CORE,
            "quick": args.quick,
            "fastdispatch": fd_version(),
        },
        "servers": [], "scenarios": [], "runs": [], "summary": [], "notes": notes,
    }

    procs = {}
    try:
        # ---- start everything, check every answer -------------------------
        log("starting servers (pinned to core %s) ..." % SERVER_CORE)
        for name in wanted_servers:
            spec = SERVER_BY_NAME[name]
            if not any(s in wanted_scen for s in spec.scenarios):
                continue
            proc = start_server(spec, env, notes)
            if proc is None:
                log("  %-13s skipped (%s)" % (name, notes[-1].split(": ", 1)[-1][:200]))
                continue
            procs[name] = proc
            log("  %-13s port %d  %s" % (name, proc.port, spec.label))
        plan = {}
        for name, proc in procs.items():
            for scen in SERVER_BY_NAME[name].scenarios:
                if scen not in wanted_scen:
                    continue
                why = check_response(proc.port, SCENARIO_BY_NAME[scen])
                if why:
                    notes.append("%s / %s not measured: answer differs: %s" % (name, scen, why))
                    log("  %s / %s: answer differs: %s" % (name, scen, why))
                    continue
                plan.setdefault(scen, []).append(name)
        result["servers"] = [{"name": n, "label": SERVER_BY_NAME[n].label,
                              "scenarios": [s for s in wanted_scen if n in plan.get(s, ())]}
                             for n in procs]
        result["scenarios"] = [{"name": s.name, "label": s.label, "method": s.method,
                                "path": s.path, "headers": s.headers,
                                "status": s.status} for s in SCENARIOS if s.name in plan]
        if warmup > 0 and plan:
            # bring every server to its steady state first (Apache spawns
            # children and each thread imports the handler module)
            log("warming up each server (%d s of %s) ..." % (2 * warmup, wanted_scen[0]))
            for name, proc in procs.items():
                first = next((sc for sc in wanted_scen if name in plan.get(sc, ())), None)
                if first is not None:
                    try:
                        run_wrk(proc.port, SCENARIO_BY_NAME[first], 2 * warmup, tmp=tmp,
                                connections=args.connections)
                    except (RuntimeError, subprocess.TimeoutExpired) as exc:
                        notes.append("%s warm-up failed: %s" % (name, exc))
        nruns = sum(len(v) for v in plan.values())
        est = nruns * (rounds * (duration + 0.4) + warmup + (rounds - 1) * settle) + len(procs) * 2 * warmup + (
            0 if args.no_scaling else 2 * (rounds * (duration + 0.4) + 3 * warmup)) + (
            0 if args.no_memory else 30)
        log("plan: %d runs per round x %d rounds, ~%.0f min" % (nruns, rounds, est / 60))

        # ---- rounds ---------------------------------------------------------
        for rd in range(1, rounds + 1):
            log("")
            log("round %d/%d" % (rd, rounds))
            for scen_name in wanted_scen:
                names = plan.get(scen_name, [])
                if not names:
                    continue
                k = (rd - 1) % len(names)
                order = names[k:] + names[:k]
                scen = SCENARIO_BY_NAME[scen_name]
                for name in order:
                    proc = procs[name]
                    if not proc.alive():
                        notes.append("%s died (round %d): %s" % (name, rd, proc.output_tail(300)))
                        plan[scen_name] = [n for n in plan[scen_name] if n != name]
                        continue
                    for lf in tmp.glob("*access.log"):
                        # the access logs grow ~100 MB per run at these rates
                        os.truncate(lf, 0)
                    if getattr(proc, "apache", None) is not None:
                        try:
                            os.truncate(proc.apache.access_log_path, 0)
                        except OSError:
                            pass
                    try:
                        # round 1 warms up each (server, scenario); later rounds
                        # settle briefly (connections, Apache's spare children)
                        pre = warmup if rd == 1 else settle
                        if pre > 0:
                            run_wrk(proc.port, scen, pre, tmp=tmp,
                                    connections=args.connections)
                        with CpuMeter(proc, SERVER_CORE) as meter:
                            r = run_wrk(proc.port, scen, duration, tmp=tmp,
                                        connections=args.connections)
                    except (RuntimeError, subprocess.TimeoutExpired) as exc:
                        notes.append("%s / %s round %d failed: %s" % (name, scen_name, rd, exc))
                        log("  %-12s %-13s FAILED %s" % (scen_name, name, exc))
                        continue
                    r.update(round=rd, scenario=scen_name, server=name,
                             loadavg=os.getloadavg()[0],
                             server_cpu_us_per_req=(meter.server_cpu_s * 1e6 / r["requests"]
                                                    if r["requests"] else None),
                             others_on_server_core=(None if meter.others_share is None
                                                    else round(meter.others_share, 3)))
                    result["runs"].append(r)
                    err = dict(r["errors"])
                    if scen.status >= 400:
                        err.pop("status", None)   # the expected 404s
                    others = r["others_on_server_core"]
                    log("  %-12s %-13s %10s req/s  p50 %6s ms  p99 %7s ms  cpu %5s us/req"
                        "  others on its core %s%s" % (
                            scen_name, name, fmt_rps(r["rps"]), fmt_ms(r["p50_ms"]),
                            fmt_ms(r["p99_ms"]), fmt_us(r["server_cpu_us_per_req"]),
                            "-" if others is None else "%3.0f%%" % (100 * others),
                            ("  errors %s" % err) if err else ""))
        result["error_logs"] = {name: error_log_tail(proc, env)
                                for name, proc in procs.items()}
        for r in result["runs"]:
            scen = SCENARIO_BY_NAME[r["scenario"]]
            bad = r["errors"].get("status", 0) if scen.status < 400 else 0
            if bad:
                log_lines = result["error_logs"].get(r["server"]) or []
                notes.append("%s / %s round %d: %d of %d answers were not %d under load%s"
                             % (r["server"], r["scenario"], r["round"], bad, r["requests"],
                                scen.status, (" (last error-log line: %s)" % log_lines[-1][:300])
                                if log_lines else ""))
        result["summary"] = summarize(result["runs"], list(procs), wanted_scen)
        shares = [r["others_on_server_core"] for r in result["runs"]
                  if r.get("others_on_server_core") is not None]
        if shares:
            result["meta"]["others_on_server_core_median"] = round(median(shares), 3)
            if median(shares) > 0.05:
                notes.append("the machine was shared: other processes used a median %.0f%% "
                             "(max %.0f%%) of the server's core during the timed runs; "
                             "absolute req/s are low by about that much, same-round ratios "
                             "and CPU us/req less so" % (100 * median(shares),
                                                          100 * max(shares)))
        result["targets"] = evaluate_targets(result["runs"], result["summary"])
    finally:
        for proc in procs.values():
            proc.stop()
        procs.clear()

    try:
        # ---- scaling: 2 workers, nothing pinned --------------------------------
        if not args.no_scaling and "hello" in wanted_scen:
            scaling_servers = [("fd-default-w2", "fd-default",
                                lambda e, n, p, pin: start_fd(e, n, p, None, workers=2)),
                               ("apache-unpinned", "apache",
                                lambda e, n, p, pin: start_apache(e, n, p, None))]
            log("")
            log("scaling: hello, --workers 2 vs Apache, unpinned (wrk -t2 unpinned)")
            sprocs = {}
            for name, base, starter in scaling_servers:
                if base not in wanted_servers:
                    continue
                spec = SERVER_BY_NAME[base]
                spec2 = ServerSpec(name, spec.label + ", unpinned", ["hello"], starter,
                                   needs_apache=spec.needs_apache)
                proc = start_server(spec2, env, notes, pin=None)
                if proc is not None:
                    sprocs[name] = proc
            sruns = []
            hello = SCENARIO_BY_NAME["hello"]
            for name, proc in sprocs.items():
                if warmup > 0:
                    try:
                        run_wrk(proc.port, hello, 2 * warmup, tmp=tmp, threads=2,
                                connections=args.connections, pin=None)
                    except (RuntimeError, subprocess.TimeoutExpired) as exc:
                        notes.append("scaling %s warm-up failed: %s" % (name, exc))
            for rd in range(1, rounds + 1):
                names = list(sprocs)
                k = (rd - 1) % max(1, len(names))
                for name in names[k:] + names[:k]:
                    try:
                        if rd == 1 and warmup > 0:
                            run_wrk(sprocs[name].port, hello, warmup, tmp=tmp, threads=2,
                                    connections=args.connections, pin=None)
                        with CpuMeter(sprocs[name], None) as meter:
                            r = run_wrk(sprocs[name].port, hello, duration, tmp=tmp,
                                        threads=2, connections=args.connections, pin=None)
                    except (RuntimeError, subprocess.TimeoutExpired) as exc:
                        notes.append("scaling %s round %d failed: %s" % (name, rd, exc))
                        continue
                    r.update(round=rd, scenario="hello", server=name,
                             loadavg=os.getloadavg()[0],
                             server_cpu_us_per_req=(meter.server_cpu_s * 1e6 / r["requests"]
                                                    if r["requests"] else None),
                             server_cores_used=round(meter.server_cpu_s / meter.wall_s, 2))
                    sruns.append(r)
                    log("  round %d %-16s %10s req/s  p50 %6s ms  p99 %7s ms  cpu %5s us/req"
                        "  (%.2f cores)" % (
                            rd, name, fmt_rps(r["rps"]), fmt_ms(r["p50_ms"]),
                            fmt_ms(r["p99_ms"]), fmt_us(r["server_cpu_us_per_req"]),
                            r["server_cores_used"]))
            for proc in sprocs.values():
                proc.stop()
            if sruns:
                ssum = []
                for name in sprocs:
                    rs = [r for r in sruns if r["server"] == name]
                    if rs:
                        ssum.append({"server": name, "rps": median([r["rps"] for r in rs]),
                                     "p50_ms": median([r["p50_ms"] for r in rs]),
                                     "p99_ms": median([r["p99_ms"] for r in rs]),
                                     "cpu_us_per_req": median([r["server_cpu_us_per_req"]
                                                               for r in rs]),
                                     "cores_used": median([r["server_cores_used"] for r in rs]),
                                     "per_round": [r["rps"] for r in rs]})
                ratios = {}
                if "fd-default-w2" in sprocs and "apache-unpinned" in sprocs:
                    per = fd_over(sruns, "hello", "fd-default-w2", "apache-unpinned")
                    ratios["fd-default-w2 / apache-unpinned"] = {
                        "median": median(per), "per_round": per}
                result["scaling"] = {"runs": sruns, "summary": ssum, "ratios": ratios}

        # ---- memory with idle keep-alive connections ---------------------------
        if not args.no_memory and "hello" in wanted_scen:
            log("")
            log("memory: %d idle keep-alive connections (KeepAliveTimeout 60 for this run)"
                % idle_n)
            mem = {}
            ka = "KeepAliveTimeout 60\n"
            mem_servers = [
                ("fd-default", lambda e, n, p, pin: start_fd(e, n + "-mem", p, None,
                                                             extra_conf=ka)),
                ("fd-inline", lambda e, n, p, pin: start_fd(e, n + "-mem", p, None,
                                                            inline=True, extra_conf=ka)),
                ("apache", lambda e, n, p, pin: start_apache(e, n, p, None, extra_conf=ka)),
            ]
            for name, starter in mem_servers:
                if name not in wanted_servers:
                    continue
                base = SERVER_BY_NAME[name]
                spec2 = ServerSpec(name, base.label, ["hello"], starter,
                                   needs_apache=base.needs_apache)
                proc = start_server(spec2, env, notes, pin=None)
                if proc is None:
                    continue
                try:
                    http_get(proc.port, SCENARIO_BY_NAME["hello"])
                    time.sleep(0.5)
                    m = measure_idle(proc, idle_n, SCENARIO_BY_NAME["hello"])
                    mem[name] = m
                    log("  %-12s %5d of %d open  RSS %.1f -> %.1f MiB  PSS %.1f -> %.1f MiB"
                        % (name, m["open_at_sample"], idle_n, m["rss_mib_before"],
                           m["rss_mib_with_conns"], m["pss_mib_before"],
                           m["pss_mib_with_conns"]))
                except Exception as exc:   # noqa: BLE001
                    mem[name] = {"error": str(exc)[:300]}
                    notes.append("memory %s failed: %s" % (name, exc))
                finally:
                    proc.stop()
            if mem:
                result["memory"] = mem
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    result["meta"]["loadavg_end"] = os.getloadavg()[0]
    result["meta"]["elapsed_s"] = round(time.monotonic() - t_start, 1)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(result, indent=1) + "\n")
    print_report(result)
    log("")
    log("wrote %s" % json_path)
    if not args.no_chart:
        why = make_chart(env, json_path, png_path)
        if why:
            log(why)
        else:
            log("wrote %s" % png_path)
    if not args.quick and not args.no_readme and args.json is None:
        if update_readme(result, json_path, png_path):
            log("updated %s" % README)
    log("elapsed %.0f s" % result["meta"]["elapsed_s"])
    return 0


if __name__ == "__main__":
    sys.exit(main())

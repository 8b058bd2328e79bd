#!/usr/bin/env python3
"""Hello-world requests/s for every way of hosting the dispatcher, in one run.

    python bench/e2e/hosting_wrk.py [--duration 10] [--connections 64] [--modes a,b]

Each server serves the tutorial's site (examples/tutorial/site.conf) pinned
to CPU 0 with ``taskset`` (its worker processes and threads inherit it);
``wrk -t1 -c64`` runs pinned to CPU 1 against ``/mywebdir/myscript.py``
(the tutorial's hello handler, a streamed -- chunked -- response) after a
short warm-up. With ``--rounds N`` the modes are run N times interleaved and
the median is kept (fairer on a machine that is not quiet). The test client
has no socket: it is timed in-process, for scale. Only 127.0.0.1 is used;
every server is stopped afterwards.
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CONF = os.path.join(ROOT, "examples", "tutorial", "site.conf")
EMBED = os.path.join(ROOT, "examples", "embed")
URL_PATH = "/mywebdir/myscript.py"
PY = sys.executable

MODES = {
    # name: (argv, ready regex)
    "own-server": ([PY, "-m", "fastdispatch", "serve", "--config", CONF, "--host", "127.0.0.1",
                    "--port", "0", "--workers", "1"], r"serving on http://127\.0\.0\.1:(\d+)"),
    "own-server-inline": ([PY, "-m", "fastdispatch", "serve", "--config", CONF, "--host",
                           "127.0.0.1", "--port", "0", "--workers", "1", "--inline"],
                          r"serving on http://127\.0\.0\.1:(\d+)"),
    "gunicorn-sync": ([PY, "-m", "gunicorn", "-b", "127.0.0.1:0", "-w", "1", "-k", "sync",
                       "--chdir", EMBED, "--no-control-socket", "site_app:wsgi"],
                      r"Listening at: http://127\.0\.0\.1:(\d+)"),
    "gunicorn-gthread": ([PY, "-m", "gunicorn", "-b", "127.0.0.1:0", "-w", "1", "-k",
                          "gthread", "--threads", "16", "--chdir", EMBED,
                          "--no-control-socket", "site_app:wsgi"],
                         r"Listening at: http://127\.0\.0\.1:(\d+)"),
    "uvicorn": ([PY, "-m", "uvicorn", "--host", "127.0.0.1", "--port", "0", "--app-dir", EMBED,
                 "--no-access-log", "site_app:asgi"],
                r"Uvicorn running on http://127\.0\.0\.1:(\d+)"),
    "uvicorn-inline": ([PY, "-m", "uvicorn", "--host", "127.0.0.1", "--port", "0", "--app-dir",
                        EMBED, "--no-access-log", "--factory", "site_app:asgi_inline"],
                       r"Uvicorn running on http://127\.0\.0\.1:(\d+)"),
    "sansio-selectors": ([PY, os.path.join(EMBED, "selectors_server.py"), "--config", CONF,
                          "--port", "0"], r"serving on http://127\.0\.0\.1:(\d+)"),
    "sansio-threaded": ([PY, os.path.join(EMBED, "threaded_server.py"), "--config", CONF,
                         "--port", "0"], r"serving on http://127\.0\.0\.1:(\d+)"),
}


class Server:
    def __init__(self, argv, ready, env):
        self.lines = []
        self.port = None
        self.proc = subprocess.Popen(["taskset", "-c", "0"] + argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, errors="replace", start_new_session=True,
                                     env=env, cwd=ROOT)
        got = threading.Event()
        rx = re.compile(ready)

        def read():
            for line in self.proc.stdout:
                if len(self.lines) < 200:
                    self.lines.append(line)
                m = rx.search(line)
                if m and self.port is None:
                    self.port = int(m.group(1))
                    got.set()
            got.set()
        threading.Thread(target=read, daemon=True).start()
        if not got.wait(30) or self.port is None:
            self.stop()
            raise RuntimeError("did not start:\n" + "".join(self.lines))

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


def wrk(port, duration, connections):
    out = subprocess.run(["taskset", "-c", "1", "wrk", "-t1", "-c%d" % connections,
                          "-d%ds" % duration, "--latency",
                          "http://127.0.0.1:%d%s" % (port, URL_PATH)],
                         capture_output=True, text=True, timeout=duration + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"\s99%\s+(\S+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock_err = re.search(r"Socket errors: (.*)", out)
    return rps, p99.group(1) if p99 else "?", int(errors.group(1)) if errors else 0, \
        sock_err.group(1) if sock_err else ""


def test_client_rate(seconds=3.0):
    sys.path.insert(0, ROOT)
    from fastdispatch import Dispatcher
    from fastdispatch.testing import Client
    client = Client(Dispatcher.from_config(CONF))
    n, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        for _ in range(100):
            client.get(URL_PATH)
        n += 100
    return n / seconds


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--duration", type=int, default=10)
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--rounds", type=int, default=1,
                   help="runs per mode, interleaved (A B C ... A B C ...); the median is kept")
    p.add_argument("--modes", default=",".join(MODES))
    args = p.parse_args(argv)
    for tool in ("wrk", "taskset"):
        if shutil.which(tool) is None:
            print("%s is not installed" % tool, file=sys.stderr)
            return 2
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        x for x in (ROOT, os.environ.get("PYTHONPATH")) if x), PYTHONUNBUFFERED="1")
    names = args.modes.split(",")
    servers = {}
    results = {name: [] for name in names}
    try:
        for name in names:                # all up at once: idle, they cost nothing
            argv, ready = MODES[name]
            servers[name] = Server(argv, ready, env)
            wrk(servers[name].port, 2, args.connections)          # warm-up
        for r in range(args.rounds):
            order = names[r % len(names):] + names[:r % len(names)]
            for name in order:
                rps, p99, errors, sock = wrk(servers[name].port, args.duration,
                                             args.connections)
                results[name].append((rps, p99, errors, sock))
                print("round %d  %-20s %10.0f req/s   p99 %-9s non-2xx %d %s" % (
                    r + 1, name, rps, p99, errors, sock), flush=True)
    finally:
        for srv in servers.values():
            srv.stop()
    print("\nmedian of %d round(s), %ds each, wrk -t1 -c%d, server on CPU 0, wrk on CPU 1:"
          % (args.rounds, args.duration, args.connections))
    for name in names:
        runs = sorted(results[name])
        rps, p99, errors, _ = runs[len(runs) // 2]
        print("%-20s %10.0f req/s   p99 %-9s non-2xx %d" % (name, rps, p99,
                                                            sum(x[2] for x in runs)))
    rate = test_client_rate()
    print("%-20s %10.0f req/s   (in-process, no socket, one thread)" % ("test-client", rate))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""nginx (Debian's package) load-balancing two fastdispatch instances, on
loopback ports: a check that the deployment of docs/deploy.md works.

    python bench/e2e/nginx_lb.py [--requests 400]

Starts two ``fastdispatch serve`` instances of the tutorial's site and a
private nginx (its own prefix directory, config from nginx_lb.conf) in front
of them; sends the tutorial's requests through nginx; checks every answer,
that both instances served (their access logs), and that stopping one
instance loses no GET request. Prints
what it found; exits non-zero when a check fails, 2 when nginx is missing.

Only 127.0.0.1 is ever bound or contacted; everything stops by itself.
"""
import argparse
import base64
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from wire import Client, free_port

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TUTORIAL_CONF = os.path.join(ROOT, "examples", "tutorial", "site.conf")
TEMPLATE = os.path.join(HERE, "nginx_lb.conf")


def find_nginx():
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None)


class Proc:
    """A command in its own process group; its output lines are kept."""

    def __init__(self, argv, ready=None, env=None, timeout=30):
        self.lines = []
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, errors="replace",
                                     start_new_session=True, env=env, cwd=ROOT)
        self._ready = threading.Event()
        self._want = ready
        self.match = None
        threading.Thread(target=self._read, daemon=True).start()
        if ready is not None and not self._ready.wait(timeout):
            self.stop()
            raise RuntimeError("%s did not start:\n%s" % (argv[0], "".join(self.lines)))

    def _read(self):
        import re
        rx = re.compile(self._want) if self._want else None
        for line in self.proc.stdout:
            self.lines.append(line)
            if rx is not None and self.match is None:
                m = rx.search(line)
                if m:
                    self.match = m
                    self._ready.set()
        self._ready.set()

    def count(self, text):
        return sum(text in line for line in list(self.lines))

    def stop(self, timeout=10):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


def start_backend(conf=TUTORIAL_CONF):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (ROOT, os.environ.get("PYTHONPATH")) if p), PYTHONUNBUFFERED="1")
    p = Proc([sys.executable, "-m", "fastdispatch", "serve", "--config", conf,
              "--host", "127.0.0.1", "--port", "0", "--workers", "1"],
             ready=r"serving on http://127\.0\.0\.1:(\d+)", env=env)
    p.port = int(p.match.group(1))
    return p


def write_conf(prefix, port, backends):
    for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        os.makedirs(os.path.join(prefix, d), exist_ok=True)
        os.chmod(os.path.join(prefix, d), 0o777)    # nginx's workers may not run as root
    os.chmod(prefix, 0o755)
    with open(TEMPLATE) as f:
        text = f.read()
    text = (text.replace("@PREFIX@", prefix).replace("@PORT@", str(port))
            .replace("@BACKEND1@", str(backends[0])).replace("@BACKEND2@", str(backends[1])))
    path = os.path.join(prefix, "nginx.conf")
    with open(path, "w") as f:
        f.write(text)
    return path


def start_nginx(nginx, prefix, port, backends, timeout=15):
    conf = write_conf(prefix, port, backends)
    test = subprocess.run([nginx, "-t", "-p", prefix, "-c", conf, "-e", "stderr"],
                          capture_output=True, text=True, timeout=30)
    if test.returncode != 0:
        raise RuntimeError("nginx -t failed:\n" + test.stderr)
    p = Proc([nginx, "-p", prefix, "-c", conf, "-e", "stderr"])
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return p
        except OSError:
            if p.proc.poll() is not None or time.monotonic() > deadline:
                p.stop()
                raise RuntimeError("nginx did not listen:\n" + "".join(p.lines))
            time.sleep(0.05)


AUTH = ("Authorization", "Basic " + base64.b64encode(b"spam:eggs").decode())
FORM = ("Content-Type", "application/x-www-form-urlencoded")
CHECKS = [
    ("GET", "/mywebdir/myscript.py", [], b"", 200, b"Hello World!"),
    ("GET", "/secure/myscript.py", [], b"", 401, None),
    ("GET", "/secure/myscript.py", [AUTH], b"", 200, b"Hello World!"),
    ("GET", "/errors/handler-error.html", [], b"", 404,
     b"Page not here.  Page left, not know where gone."),
    ("GET", "/feedback/form.html", [], b"", 200, None),
    ("POST", "/feedback/form.py/email", [FORM], b"name=&email=&comment=", 200, None),
]


def run(requests=400, log=print):
    """The whole check; returns a dict of findings (raises on a failed check)."""
    nginx = find_nginx()
    if nginx is None:
        raise FileNotFoundError("nginx is not installed (apt-get install nginx)")
    prefix = tempfile.mkdtemp(prefix="fastdispatch-nginx-")
    backends, proxy = [], None
    try:
        backends = [start_backend(), start_backend()]
        port = free_port()
        proxy = start_nginx(nginx, prefix, port, [b.port for b in backends])
        log("nginx on 127.0.0.1:%d -> fastdispatch on %s" % (
            port, ", ".join("127.0.0.1:%d" % b.port for b in backends)))
        # every kind of answer, through the proxy
        c = Client(port)
        for method, path, headers, body, status, want in CHECKS:
            got = c.request(method, path, headers, body)
            assert got[0] == status, (path, got[0], got[2][:200])
            if want is not None:
                assert got[2] == want, (path, got[2][:200])
        # load: several keep-alive client connections, all answers right
        results, lock = [], threading.Lock()

        def worker(n):
            cl = Client(port)
            try:
                for _ in range(n):
                    r = cl.request("GET", "/mywebdir/myscript.py")
                    with lock:
                        results.append(r[0] == 200 and r[2] == b"Hello World!")
            finally:
                cl.close()
        threads = [threading.Thread(target=worker, args=(requests // 8,)) for _ in range(8)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        elapsed = time.monotonic() - t0
        assert len(results) == requests // 8 * 8 and all(results), "wrong answers under load"
        # (each instance writes its access line after the response, and a
        # thread reads them from its output: wait a little for the last ones)
        deadline = time.monotonic() + 5
        while True:
            hits = [b.count('"GET /mywebdir/myscript.py HTTP/1.1" 200') for b in backends]
            if sum(hits) >= len(results) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        log("%d requests in %.2fs through nginx; per instance: %s" % (
            len(results), elapsed, hits))
        assert all(h > 0 for h in hits), "an instance got no traffic: %r" % hits
        # failover: one instance stops, GETs keep working
        backends[0].stop()
        ok = 0
        c = Client(port)
        for _ in range(20):
            r = c.request("GET", "/mywebdir/myscript.py")
            ok += r[0] == 200 and r[2] == b"Hello World!"
        log("with one instance stopped: %d/20 answered" % ok)
        assert ok == 20, "requests lost when an instance stopped"
        return {"hits": hits, "requests": len(results), "seconds": elapsed,
                "failover_ok": ok}
    finally:
        if proxy is not None:
            proxy.stop()
        for b in backends:
            b.stop()
        shutil.rmtree(prefix, ignore_errors=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--requests", type=int, default=400)
    args = p.parse_args(argv)
    if find_nginx() is None:
        print("nginx is not installed (apt-get install nginx)", file=sys.stderr)
        return 2
    run(args.requests)
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())

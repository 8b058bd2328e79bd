#!/usr/bin/env python3
"""Instructions per request, counted by valgrind's callgrind: the figure to
compare two versions of the Python layers on a machine whose timings drift
(shared VM, steal time). Counts are user-space instructions, the same from
run to run within a fraction of a percent; kernel time (send, recv, epoll)
is not in them.

    python3 bench/e2e/instructions.py                  # in-process
    python3 bench/e2e/instructions.py --live           # + a running server
    python3 bench/e2e/instructions.py --path /pub/hello.py/say?what=hello

In-process: for the bench site (bench/e2e/site), parse the request head,
``Dispatcher.handle`` it and format its access-log line, N times; the count
of a run with N requests minus that of a run with none, over N.

Live (``--live``): ``fastdispatch serve --workers 1`` (``--inline`` unless
``--mode default``) under callgrind on 127.0.0.1; one client sends N
keep-alive requests one after another; the worker's counters are zeroed
before and dumped after them (``callgrind_control``). One connection at a
time, so each request also pays a trip round the poll loop that wrk's 64
connections share.

Needs ``valgrind`` (Debian: ``apt-get install valgrind``).
"""
import argparse
import glob
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

E2E = Path(__file__).resolve().parent
ROOT = E2E.parent.parent
SITE = E2E / "site"
AUTH = "Authorization: Basic c3BhbTplZ2dz\r\n"     # spam:eggs, the bench site's user


def request_bytes(path, port):
    extra = AUTH if path.startswith("/secure/") else ""
    return ("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s\r\n" % (path, port, extra)).encode()


def site_conf(tmp, port, inline_logs=False):
    conf = Path(tmp) / "site.conf"
    conf.write_text("Listen 127.0.0.1:%d\nServerName 127.0.0.1\nDocumentRoot %s\n"
                    "ErrorLog %s\nCustomLog %s combined\nInclude %s\n"
                    % (port, SITE / "htdocs", Path(tmp) / "error.log",
                       Path(tmp) / "access.log", SITE / "site.conf"))
    return conf


# ---------------------------------------------------------------- in-process

def child(n, path):
    """The measured loop (run under callgrind by ``in_process``)."""
    sys.path.insert(0, str(ROOT))
    import logging
    from fastdispatch import _speedups
    from fastdispatch.config.parser import parse_config
    from fastdispatch.dispatch import Dispatcher
    from fastdispatch.server._body import EMPTY_BODY
    from fastdispatch.server._connection import ServerConnInfo
    from fastdispatch.server._logs import AccessLog, FdHandler

    tmp = tempfile.mkdtemp(prefix="fd-instr-")
    app = Dispatcher(parse_config(str(site_conf(tmp, 8080))))
    parse = _speedups.http.parse_head
    info = ServerConnInfo("127.0.0.1", 40000, "127.0.0.1", 8080)
    info.coalesce = True                  # as the --inline worker sets it
    lg = logging.getLogger("fastdispatch.access.instructions")
    lg.propagate = False
    lg.setLevel(logging.INFO)
    lg.addHandler(FdHandler(os.open(os.devnull, os.O_WRONLY)))
    access = AccessLog(lg).log
    data = request_bytes(path, 8080)
    out = []
    send, clear = out.append, out.clear
    handle = app.handle
    for i in range(n + 1):               # the first one imports the handler
        head, _ = parse(data, 0, 8190, 8190, 100)
        o = handle(head, EMPTY_BODY, info, send)
        clear()
        access(info, head, o, o.bytes_sent + 150, len(data), 0.0, True)
    shutil.rmtree(tmp, ignore_errors=True)


def callgrind_total(out_file):
    text = subprocess.run(["callgrind_annotate", "--threshold=100", out_file],
                          capture_output=True, text=True, check=True).stdout
    m = re.search(r"^\s*([\d,]+) .*PROGRAM TOTALS", text, re.M)
    return int(m.group(1).replace(",", ""))


def in_process(n, path):
    totals = []
    with tempfile.TemporaryDirectory(prefix="fd-instr-") as tmp:
        for k in (0, n):
            out = os.path.join(tmp, "cg.%d" % k)
            subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
                            sys.executable, __file__, "--child", str(k), "--path", path],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            totals.append(callgrind_total(out))
    return (totals[1] - totals[0]) / n


# ---------------------------------------------------------------- live

def _exchange(sock, data):
    sock.sendall(data)
    buf = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        buf += chunk
        head, sep, body = buf.partition(b"\r\n\r\n")
        if not sep:
            continue
        m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
        if m and len(body) >= int(m.group(1)):
            return
        if not m and body.endswith(b"0\r\n\r\n"):
            return


def live(n, path, mode):
    with tempfile.TemporaryDirectory(prefix="fd-instr-") as tmp:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        conf = site_conf(tmp, port)
        args = ["serve", "--config", str(conf), "--workers", "1"]
        if mode == "inline":
            args.append("--inline")
        pattern = os.path.join(tmp, "cg.%p")
        proc = subprocess.Popen(
            ["valgrind", "--tool=callgrind", "--trace-children=yes",
             "--callgrind-out-file=" + pattern, sys.executable, "-m", "fastdispatch"] + args,
            cwd=str(ROOT), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        try:
            data = request_bytes(path, port)
            deadline = time.monotonic() + 120
            while True:
                try:
                    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
                    break
                except OSError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise SystemExit("the server did not start under valgrind")
                    time.sleep(0.3)
            with sock:
                for _ in range(50):                      # imports, caches
                    _exchange(sock, data)
                subprocess.run(["callgrind_control", "-z"], capture_output=True)
                for _ in range(n):
                    _exchange(sock, data)
                subprocess.run(["callgrind_control", "-d"], capture_output=True)
            dumps = glob.glob(os.path.join(tmp, "cg.*.1"))
            # the worker's dump: the process that counted the requests
            total = max(callgrind_total(d) for d in dumps)
        finally:
            os.killpg(proc.pid, 15)
            proc.wait(timeout=60)
    return total / n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--path", default="/hello/hellohandler.py")
    ap.add_argument("-n", type=int, default=2000, help="requests per measured run")
    ap.add_argument("--live", action="store_true")
    ap.add_argument("--mode", choices=("inline", "default"), default="inline")
    ap.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        child(args.child, args.path)
        return
    if not shutil.which("valgrind"):
        raise SystemExit("valgrind not found (apt-get install valgrind)")
    print("GET %s" % args.path)
    print("in-process (parse + handle + access line): %8.0f instructions/request"
          % in_process(args.n, args.path))
    if args.live:
        print("live worker (%s, one connection):%s %8.0f instructions/request"
              % (args.mode, " " * (7 - len(args.mode)), live(args.n // 2, args.path, args.mode)))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Where a hello request's time goes in fastdispatch, per request, in µs.

    python3 bench/e2e/profile_hello.py            # in-process stages (no I/O)
    python3 bench/e2e/profile_hello.py --live     # + the running --inline server
                                                  #   under wrk, sampled by py-spy

In-process (this process, no sockets): the same calls the server makes for
``GET /hello/hellohandler.py`` as wrk sends it, each timed alone in a loop
(best of 5), on the benchmark site (bench/e2e/site):

* parse     ``_http.parse_head`` of the request bytes (the worker's call);
* uri       ``split_target`` + ``unquote_path`` + ``normalize_path``;
* lookup    translate (DocumentRoot -> filename, path_info) + the cached
            directive lookup ``Lookup.match``;
* request   ``Request(...)``: the mod_python request object;
* dispatch  ``Dispatcher.handle`` whole, with a ``send`` that only keeps the
            bytes: every phase, the handler, the response head; the
            difference to the stages above is phases + handler + response;
* head      ``build_response_head`` alone (the response serialisation part);
* access    the access-log line (``AccessLog.log``, written to /dev/null).

Live (``--live``): ``fastdispatch serve --inline --workers 1`` pinned to core
1, its layers run from source (``FASTDISPATCH_SOURCE_LAYERS=1``: py-spy sees
no compiled frame), wrk on core 0 for 10 s, py-spy sampling the worker; samples are sorted
into the same stages plus I/O (recv/send/epoll/log write) by the innermost
fastdispatch frame, and scaled by the worker's CPU µs per request.
"""
import argparse
import collections
import gc
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

E2E = Path(__file__).resolve().parent
ROOT = E2E.parent.parent
SITE = E2E / "site"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(E2E))

REQUEST = (b"GET /hello/hellohandler.py HTTP/1.1\r\n"
           b"Host: 127.0.0.1:8080\r\n\r\n")        # what wrk sends


def best(fn, n, repeat=5):
    """µs per call, best of ``repeat`` loops of ``n`` calls."""
    times = []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn(n)
        times.append(time.perf_counter() - t0)
    return min(times) / n * 1e6


def in_process(n=50000):
    from fastdispatch import _speedups
    from fastdispatch.config.parser import parse_config
    from fastdispatch.dispatch import Dispatcher
    from fastdispatch.request import Request
    from fastdispatch.server._body import EMPTY_BODY
    from fastdispatch.server._connection import ServerConnInfo
    from fastdispatch.server._logs import AccessLog, FdHandler

    tmp = Path(tempfile.mkdtemp(prefix="fd-prof-"))
    conf = tmp / "site.conf"
    conf.write_text("Listen 127.0.0.1:8080\nServerName 127.0.0.1\nDocumentRoot %s\n"
                    "Include %s\n" % (SITE / "htdocs", SITE / "site.conf"))
    app = Dispatcher(parse_config(str(conf)))
    http, uri, headers = _speedups.http, _speedups.uri, _speedups.headers
    parse = http.parse_head
    cfg = app.server_config
    lim = (cfg.limit_request_line, cfg.limit_request_fieldsize, cfg.limit_request_fields)
    info = ServerConnInfo("127.0.0.1", 40000, "127.0.0.1", 8080)
    out = []
    send = out.append

    head, end = parse(REQUEST, 0, *lim)
    assert head is not None
    app.handle(head, EMPTY_BODY, info, send)       # import the handler module
    response = b"".join(out)
    assert response.endswith(b"Hello World!\r\n0\r\n\r\n"), response
    out.clear()

    def t_parse(k):
        for _ in range(k):
            parse(REQUEST, 0, *lim)

    def t_uri(k):
        for _ in range(k):
            p, q = uri.split_target(head.target)
            uri.normalize_path(uri.unquote_path(p))

    path = uri.normalize_path(uri.unquote_path(uri.split_target(head.target)[0]))
    req0 = Request(head, EMPTY_BODY, info, send, app, path, None, app.server_info)

    def t_lookup(k):
        for _ in range(k):
            app._translate(req0)
            app.lookup.match(req0.uri, req0.filename)

    def t_request(k):
        si = app.server_info
        for _ in range(k):
            Request(head, EMPTY_BODY, info, send, app, path, None, si)

    def t_dispatch(k):
        h = app.handle
        clear = out.clear
        for _ in range(k):
            h(head, EMPTY_BODY, info, send)
            clear()

    def t_head(k):
        build = headers.build_response_head
        for _ in range(k):
            build(11, 200, (), content_length=-1, chunked=True, keep_alive=True,
                  server=app.server_header, content_type="text/plain",
                  body=b"c\r\nHello World!\r\n")

    devnull = os.open(os.devnull, os.O_WRONLY)
    import logging
    lg = logging.getLogger("fastdispatch.access.profile")
    lg.propagate = False
    lg.setLevel(logging.INFO)
    lg.addHandler(FdHandler(devnull))
    access = AccessLog(lg)

    from fastdispatch.server._connection import ServerConnInfo
    from fastdispatch.transport import Outcome
    info = ServerConnInfo("127.0.0.1", 40000, "127.0.0.1", 8080)
    outcome = Outcome(200, 12, True, None)

    def t_access(k):
        a = access.log
        for _ in range(k):
            a(info, head, outcome, 162, len(REQUEST), 0.0, True)

    rows = [
        ("parse", best(t_parse, n)),
        ("uri", best(t_uri, n)),
        ("lookup", best(t_lookup, n)),
        ("request", best(t_request, n)),
        ("dispatch (all of handle)", best(t_dispatch, n)),
        ("head (response serialisation)", best(t_head, n)),
        ("access log line", best(t_access, n)),
    ]
    shutil.rmtree(tmp, ignore_errors=True)
    return rows


# ---------------------------------------------------------------------------
# live

def _lines_with(module_file, needle):
    try:
        text = Path(module_file).read_text().splitlines()
    except OSError:
        return set()
    return {":%d)" % (i + 1) for i, line in enumerate(text) if needle in line}


_WORKER = ROOT / "fastdispatch" / "server" / "_worker.py"
RECV_LINES = _lines_with(_WORKER, "sock.recv(")
PARSE_LINES = _lines_with(_WORKER, "parse(buf")


def _serve_line(f, lines):
    return "Worker._serve" in f and any(f.endswith(x) for x in lines)


STAGES = [
    # (stage, predicate on the innermost fastdispatch/handler frame "func (file:line)")
    ("I/O: send", lambda f: "Connection.send" in f or "_send_rest" in f),
    ("I/O: recv/poll/accept", lambda f: "EpollPoller.poll" in f or "Worker.run " in f
     or "_accept" in f or "_park" in f or _serve_line(f, RECV_LINES)),
    ("access log", lambda f: "AccessLog" in f or "FdHandler" in f or "log_escape" in f),
    ("parse (head)", lambda f: _serve_line(f, PARSE_LINES)),
    ("server loop (keep-alive, body, outcome)", lambda f: "Worker._serve" in f),
    ("request object", lambda f: "Request.__init__" in f or "_hostname" in f
     or "_connection_for" in f or "Outcome" in f),
    ("uri + lookup + translate", lambda f: "_translate" in f or "lookup" in f.lower()
     or "Dispatcher.handle" in f),
    ("handler (+ loader)", lambda f: "hellohandler" in f or "resolve" in f
     or "import_module" in f or "_find_file" in f or "Dispatcher._call" in f
     or "HList" in f),
    ("response head + body", lambda f: "_send_head" in f or "Request.write" in f
     or "Request.flush" in f or "_finish" in f
     or "keep_alive_terms" in f or "Request._send" in f or "Request._out" in f
     or "Request._release" in f),
    ("phases (type/fixup/log...)", lambda f: "Dispatcher." in f or "static.py" in f
     or "merge.py" in f),
]


def classify(frames):
    inner = None
    for f in reversed(frames):
        if "fastdispatch" in f or "hellohandler" in f:
            inner = f
            break
    if inner is None:
        return "other"
    # the innermost frame decides, but I/O anywhere below a send counts as I/O
    for f in reversed(frames):
        if "Connection.send" in f or "_send_rest" in f:
            return "I/O: send"
        if "fastdispatch" in f:
            break
    for stage, pred in STAGES:
        if pred(inner):
            return stage
    return "other"


def live(duration=10):
    from run import (CpuMeter, SCENARIO_BY_NAME, Env, DEFAULT_VENV, free_port, run_wrk,
                     start_fd)
    pyspy = shutil.which("py-spy") or str(DEFAULT_VENV / "bin" / "py-spy")
    if not os.path.exists(pyspy):
        raise SystemExit("py-spy not found (pip install py-spy into the bench venv)")
    tmp = Path(tempfile.mkdtemp(prefix="fd-prof-"))
    env = Env(venv=DEFAULT_VENV, tmp=tmp, venv_ok=False, venv_note="", apache_ok=False,
              apache_note="")
    hello = SCENARIO_BY_NAME["hello"]
    port = free_port()
    # py-spy sees Python frames only: the layers run from their source here
    # (the hot paths stay compiled), so the figures are the source build's
    os.environ["FASTDISPATCH_SOURCE_LAYERS"] = "1"
    proc = start_fd(env, "fd-inline", port, "1", inline=True)
    try:
        proc.wait_ready(hello)
        run_wrk(port, hello, 2, tmp=tmp)                              # warm-up
        with CpuMeter(proc, "1") as meter:
            r = run_wrk(port, hello, duration, tmp=tmp)
        cpu_us = meter.server_cpu_s * 1e6 / r["requests"]
        worker = max(proc.pids(), key=lambda p: int(Path("/proc/%d/stat" % p).read_text()
                                                    .split()[13]))   # the busy one
        raw = tmp / "spy.txt"
        wrk = subprocess.Popen(["taskset", "-c", "0", "wrk", "-t1", "-c64",
                                "-d%ds" % (duration + 3), "http://127.0.0.1:%d%s"
                                % (port, hello.path)], stdout=subprocess.DEVNULL)
        time.sleep(1)
        subprocess.run([pyspy, "record", "-p", str(worker), "-d", str(duration), "-r", "250",
                        "-f", "raw", "-o", str(raw), "--nonblocking"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wrk.wait()
        counts = collections.Counter()
        total = 0
        for line in raw.read_text().splitlines():
            stack, _, k = line.rpartition(" ")
            k = int(k)
            total += k
            counts[classify(stack.split(";"))] += k
    finally:
        proc.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return r, cpu_us, counts, total


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--live", action="store_true")
    ap.add_argument("-n", type=int, default=50000)
    args = ap.parse_args()
    from fastdispatch._speedups import EXTENSIONS, LAYERS
    print("compiled hot paths: %s" % ", ".join(k for k, v in EXTENSIONS.items() if v))
    print("compiled layers: %d of %d" % (sum(v == "compiled" for v in LAYERS.values()),
                                         len(LAYERS)))
    rows = in_process(args.n)
    print("\nin-process, per request (best of 5 x %d):" % args.n)
    for name, us in rows:
        print("  %-32s %7.2f us" % (name, us))
    d = dict(rows)
    rest = d["dispatch (all of handle)"] - d["uri"] - d["lookup"] - d["request"]
    print("  %-32s %7.2f us" % ("=> phases + handler + response", rest))
    if args.live:
        r, cpu_us, counts, total = live()
        print("\nlive --inline server, layers from source (FASTDISPATCH_SOURCE_LAYERS=1): "
              "%.0f req/s, %.1f us CPU per request (worker, all threads); py-spy %d samples:"
              % (r["rps"], cpu_us, total))
        for stage, k in counts.most_common():
            print("  %-32s %5.1f%%  %6.2f us" % (stage, 100.0 * k / total, cpu_us * k / total))


if __name__ == "__main__":
    main()

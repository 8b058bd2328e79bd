#!/usr/bin/env python3
"""Quick requests beside handlers that block now and then, in the default
mode: wrk's hello requests while a few clients each keep one request in a
handler that flushes a line and then sleeps (a database call, a remote
API). Each blocking request stalls the thread that was taking the quick
ones until the listener gives the taking to another thread.

    python3 bench/e2e/blocking_mix.py [--sleepers 0,2,4] [--seconds 6] [--rounds 2]

For each count of sleeper clients, interleaved over the rounds: a fresh
``fastdispatch serve --workers 1`` (default mode) on 127.0.0.1 serves the
bench site (bench/e2e/site) and a directory of this script's own whose
handler writes "first", flushes, sleeps SLEEP seconds and writes "second".
The sleepers start looping (each reads its whole response and checks it),
so do CLIENTS keep-alive clients that pipeline 1-4 requests at a time
(hello, the publisher, the 4 KB file; one batch in twenty also holds a
request for the sleeping handler) and check every response, and wrk -t1
-c100 runs on the hello handler at once, for the given seconds. Nothing is
pinned: read the ratios between the counts, and compare two checkouts side
by side over several runs (the rates move a lot from run to run).
"""
import argparse
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from wire import Client, free_port

E2E = Path(__file__).resolve().parent
SITE = E2E / "site"
SLEEP = 0.3
CLIENTS = 4
MIX = ["/hello/hellohandler.py", "/pub/hello.py/say?what=hello", "/static/file4k.txt"]
FLUSHER = '''from mod_python import apache
import time


def handler(req):
    req.content_type = "text/plain"
    req.write("first\\n")
    time.sleep(%r)
    req.write("second\\n")
    return apache.OK
''' % SLEEP


def write_site(tmp, port):
    slow = Path(tmp) / "slow"
    slow.mkdir()
    (slow / "flusher.py").write_text(FLUSHER)
    conf = Path(tmp) / "site.conf"
    conf.write_text(
        "Listen 127.0.0.1:%d\nServerName 127.0.0.1\nDocumentRoot %s\n"
        "ErrorLog %s\nCustomLog %s combined\nInclude %s\n"
        "Alias /slow %s\n<Directory %s>\n    AddHandler mod_python .py\n"
        "    PythonHandler flusher\n</Directory>\n"
        % (port, SITE / "htdocs", Path(tmp) / "error.log", Path(tmp) / "access.log",
           SITE / "site.conf", slow, slow))
    return conf


def sleeper(port, stop, errors):
    """Keep one flush-then-sleep request in the server until ``stop`` (a
    new connection each time, closed by the client after its response)."""
    while not stop.is_set():
        client = Client(port)
        try:
            status, _, body = client.request("GET", "/slow/flusher.py")
        finally:
            client.close()
        if status != 200 or body != b"first\nsecond\n":
            errors.append(("/slow/flusher.py", status, body[:100]))


def checking_client(port, stop, errors, seed, expected):
    """Pipelined batches on keep-alive connections, every response checked
    against the first one seen for its path."""
    rnd = random.Random(seed)
    while not stop.is_set():
        client = Client(port)
        try:
            for _ in range(rnd.randint(1, 20)):
                paths = [rnd.choice(MIX) for _ in range(rnd.randint(1, 4))]
                if rnd.random() < 0.05:
                    paths.insert(rnd.randint(0, len(paths)), "/slow/flusher.py")
                for path in paths:
                    client.send("GET", path)
                for path in paths:
                    status, _, body = client.response()
                    if status != 200 or expected.setdefault(path, body) != body:
                        errors.append((path, status, body[:100]))
        finally:
            client.close()


def measure(port, sleepers, seconds):
    stop, errors, expected = threading.Event(), [], {}
    threads = [threading.Thread(target=sleeper, args=(port, stop, errors), daemon=True)
               for _ in range(sleepers)]
    threads += [threading.Thread(target=checking_client,
                                 args=(port, stop, errors, i, expected), daemon=True)
                for i in range(CLIENTS)]
    for t in threads:
        t.start()
    try:
        out = subprocess.run(["wrk", "-t1", "-c100", "-d%ds" % seconds,
                              "http://127.0.0.1:%d/hello/hellohandler.py" % port],
                             capture_output=True, text=True, check=True).stdout
    finally:
        stop.set()
        for t in threads:
            t.join(SLEEP * 4 + 10)
    if errors:
        raise SystemExit("a response was wrong: %r" % (errors[0],))
    rate = float(out.split("Requests/sec:")[1].split()[0])
    bad = [line.strip() for line in out.splitlines() if "errors" in line or "Non-2xx" in line]
    return rate, bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sleepers", default="0,2,4")
    ap.add_argument("--seconds", type=int, default=6)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    counts = [int(n) for n in args.sleepers.split(",")]
    rates = {n: [] for n in counts}
    for r in range(args.rounds):
        for n in counts:
            with tempfile.TemporaryDirectory(prefix="fd-mix-") as tmp:
                port = free_port()
                server = start_server(write_site(tmp, port), port)
                try:
                    rate, bad = measure(port, n, args.seconds)
                finally:
                    server.terminate()
                    server.wait(10)
            rates[n].append(rate)
            print("round %d  sleepers %d  hello %8.0f req/s %s"
                  % (r + 1, n, rate, " ".join(bad)), flush=True)
    base = statistics.median(rates[counts[0]])
    for n in counts:
        med = statistics.median(rates[n])
        print("sleepers %d: hello median %8.0f req/s  (%.2f of %d sleepers')"
              % (n, med, med / base, counts[0]))


def start_server(conf, port):
    server = subprocess.Popen([sys.executable, "-m", "fastdispatch", "serve", "--config",
                               str(conf), "--workers", "1"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise SystemExit("the server did not start")
            time.sleep(0.1)


if __name__ == "__main__":
    main()

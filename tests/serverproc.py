"""Run a real ``fastdispatch serve`` process on a loopback port for tests,
and talk to it over real sockets."""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

READY = re.compile(r"serving on http://127\.0\.0\.1:(\d+)")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class ServerProcess:
    """``fastdispatch serve`` in a subprocess; ``port`` once it is ready.
    stderr (error and access log) is collected in ``self.log_lines``."""

    def __init__(self, args, cwd=None, env=None, timeout=30):
        env = dict(os.environ if env is None else env)
        env.setdefault("PYTHONUNBUFFERED", "1")
        # the server runs this checkout's code, whatever install is current
        env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, env.get("PYTHONPATH")) if p)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fastdispatch"] + list(args),
            cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, errors="replace",
            start_new_session=True)
        self.log_lines = []
        self.port = None
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._ready.wait(timeout) or self.port is None:
            self.stop()
            raise RuntimeError("server did not start:\n" + self.log)

    def _read(self):
        for line in self.proc.stdout:
            self.log_lines.append(line)
            m = READY.search(line)
            if m and self.port is None:
                self.port = int(m.group(1))
                self._ready.set()
        self._ready.set()

    @property
    def log(self):
        return "".join(self.log_lines)

    def wait_for_log(self, pattern, timeout=10):
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if rx.search(self.log):
                return True
            time.sleep(0.05)
        return False

    def stop(self, sig=signal.SIGTERM, timeout=15):
        stop_group(self.proc, sig, timeout)
        self._reader.join(5)
        return self.proc.returncode


def stop_group(proc, sig=signal.SIGTERM, timeout=15):
    """Signal the process group a ``start_new_session`` Popen leads, wait up
    to ``timeout`` seconds, then SIGKILL the group."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def copy_site(name, dest, substitutions=None):
    """Copy tests/sites/<name> to ``dest`` and fill in SITE_DIR (and others)
    in its site.conf; returns the config path."""
    src = os.path.join(ROOT, "tests", "sites", name)
    shutil.copytree(src, dest, dirs_exist_ok=True)
    conf = os.path.join(dest, "site.conf")
    with open(conf) as f:
        text = f.read()
    subs = {"SITE_DIR": str(dest)}
    subs.update(substitutions or {})
    for k, v in subs.items():
        text = text.replace(k, str(v))
    with open(conf, "w") as f:
        f.write(text)
    return conf


# ------------------------------------------------------------------ client

class RawResponse:
    def __init__(self, status, reason, headers, body, raw_head):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.raw_head = raw_head

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")


class Conn:
    """A keep-alive HTTP/1.1 client over one real socket, reading responses
    by their framing (Content-Length, chunked or close)."""

    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed by server")
        self.buf += chunk

    def _read_until(self, marker):
        while marker not in self.buf:
            self._fill()
        i = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def _read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_response(self, head_request=False):
        head = self._read_until(b"\r\n\r\n")
        lines = head[:-4].decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        status = int(parts[1])
        reason = parts[2] if len(parts) > 2 else ""
        headers = [tuple(l.split(": ", 1)) for l in lines[1:]]
        resp = RawResponse(status, reason, headers, b"", head)
        if head_request or status in (204, 304) or 100 <= status < 200:
            return resp
        te = resp.header("Transfer-Encoding")
        cl = resp.header("Content-Length")
        if te and te.lower() == "chunked":
            body = []
            while True:
                size_line = self._read_until(b"\r\n")
                size = int(size_line.split(b";")[0], 16)
                if size == 0:
                    self._read_until(b"\r\n")
                    break
                body.append(self._read_exact(size))
                self._read_exact(2)
            resp.body = b"".join(body)
        elif cl is not None:
            resp.body = self._read_exact(int(cl))
        else:
            while True:
                try:
                    self._fill()
                except EOFError:
                    break
            resp.body, self.buf = self.buf, b""
        return resp

    def request(self, method, path, headers=(), body=b"", version="HTTP/1.1"):
        hdrs = [("Host", "127.0.0.1")] + list(headers)
        if body and not any(k.lower() in ("content-length", "transfer-encoding")
                            for k, _ in hdrs):
            hdrs.append(("Content-Length", str(len(body))))
        data = ("%s %s %s\r\n" % (method, path, version)
                + "".join("%s: %s\r\n" % h for h in hdrs) + "\r\n").encode("latin-1") + body
        self.send(data)
        return self.read_response(head_request=method == "HEAD")

    def is_closed(self, timeout=2.0):
        """True when the server closed the connection (EOF) within timeout."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(1)
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False
        return data == b""


def request(port, method, path, **kw):
    with Conn(port) as c:
        return c.request(method, path, **kw)


def basic(user, password):
    import base64
    return ("Authorization", "Basic " + base64.b64encode(
        ("%s:%s" % (user, password)).encode("latin-1")).decode())

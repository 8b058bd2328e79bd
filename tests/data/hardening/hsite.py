"""The hardening tests' site and raw-socket helpers.

``make_site(tmp, **settings)`` copies ``site/`` into ``tmp/htdocs``, adds the
symbolic links (made here: their targets depend on ``tmp``), writes
``tmp/site.conf`` and returns a ``Site``. ``Site.start(...)`` runs
``python -m fastdispatch serve --config`` on it (tests/serverproc.py).
Handlers leave marker files in ``tmp/marks`` (FASTDISPATCH_HARDENING_MARKS)
naming what ran.
"""
import os
import shutil
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(os.path.dirname(HERE))
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)

from serverproc import ServerProcess  # noqa: E402

CONF = """\
Listen 127.0.0.1:0
ServerName 127.0.0.1
DocumentRoot {root}/htdocs
ErrorLog {root}/error.log
CustomLog {root}/access.log
LogLevel {log_level}
Timeout {timeout}
KeepAliveTimeout {keep_alive_timeout}
HandlerTimeout {handler_timeout}
GracefulShutdownTimeout {grace}
MaxConnectionsPerWorker {max_connections}
{extra}

<Directory {root}/htdocs/app>
    AddHandler mod_python .py
    PythonHandler app
    PythonOption generation {generation}
</Directory>

<Directory {root}/htdocs/pub>
    AddHandler mod_python .py
    PythonHandler mod_python.publisher
</Directory>

<Directory {root}/htdocs/code>
    AddHandler mod_python .psp
    PythonHandler lib
</Directory>

<Directory {root}/htdocs/auth>
    AddHandler mod_python .py
    PythonHandler authmod
    PythonAuthenHandler authmod
    AuthType Basic
    AuthName "Hardening"
    Require valid-user
</Directory>

<Directory {root}/htdocs/private>
    AuthType Basic
    AuthName "Private"
    Require valid-user
</Directory>
"""

DEFAULTS = dict(log_level="info", timeout=60, keep_alive_timeout=5, handler_timeout=300,
                grace=30, max_connections=10000, extra="", generation="1")


class Site:
    def __init__(self, root, settings):
        self.root = str(root)
        self.settings = dict(settings)
        self.conf = os.path.join(self.root, "site.conf")
        self.marks = os.path.join(self.root, "marks")
        self.docroot = os.path.join(self.root, "htdocs")

    def write_conf(self, **changes):
        self.settings.update(changes)
        with open(self.conf, "w") as f:
            f.write(CONF.format(root=self.root, **self.settings))

    def start(self, *args, workers=1):
        env = dict(os.environ, FASTDISPATCH_HARDENING_MARKS=self.marks)
        return ServerProcess(["serve", "--config", self.conf, "--port", "0",
                              "--workers", str(workers)] + list(args), env=env)

    def marks_now(self):
        return sorted(os.listdir(self.marks))

    def clear_marks(self):
        for name in os.listdir(self.marks):
            os.unlink(os.path.join(self.marks, name))

    def error_log(self):
        try:
            with open(os.path.join(self.root, "error.log"), errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def access_log(self):
        try:
            with open(os.path.join(self.root, "access.log"), errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_for_error_log(self, pattern, timeout=10.0):
        import re
        rx = re.compile(pattern)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if rx.search(self.error_log()):
                return True
            time.sleep(0.05)
        return bool(rx.search(self.error_log()))


def make_site(tmp, **settings):
    tmp = str(tmp)
    docroot = os.path.join(tmp, "htdocs")
    shutil.copytree(os.path.join(HERE, "site"), docroot,
                    ignore=shutil.ignore_patterns("__pycache__"))
    os.makedirs(os.path.join(tmp, "marks"), exist_ok=True)
    outside = os.path.join(tmp, "outside")
    os.makedirs(outside, exist_ok=True)
    with open(os.path.join(outside, "secret.txt"), "w") as f:
        f.write("outside the document root\n")
    with open(os.path.join(outside, "evil.py"), "w") as f:
        f.write("import os\nopen(os.path.join(os.environ['FASTDISPATCH_HARDENING_MARKS'],"
                " 'outside-imported'), 'w').close()\ndef index(req):\n    return 'outside'\n")
    static = os.path.join(docroot, "static")
    links = {
        os.path.join(static, "link-out.txt"): os.path.join(outside, "secret.txt"),
        os.path.join(static, "link-out-dir"): outside,
        os.path.join(static, "link-rel-out.txt"): "../../outside/secret.txt",
        os.path.join(static, "link-in.txt"): "file.txt",
        os.path.join(static, "link-in-dir"): "sub",
        os.path.join(static, "link-private.txt"): "../private/secret.txt",
        os.path.join(static, "link-private-dir"): "../private",
        os.path.join(static, "link-etc-passwd"): "/etc/passwd",
        os.path.join(static, "loop"): "loop",
        os.path.join(docroot, "pub", "evil_link.py"): "../static/evil.py",
        os.path.join(docroot, "pub", "outside_link.py"): os.path.join(outside, "evil.py"),
        os.path.join(docroot, "app", "source_link.txt"): "app.py",
        os.path.join(static, "app-source.txt"): "../app/app.py",
    }
    for link, target in links.items():
        os.symlink(target, link)
    # compiled handler code where a request could ask for it
    pycache = os.path.join(docroot, "code", "__pycache__")
    os.makedirs(pycache, exist_ok=True)
    with open(os.path.join(pycache, "lib.cpython-311.pyc"), "wb") as f:
        f.write(b"\x00compiled lib.py: must not leak")
    with open(os.path.join(docroot, "static", "stray.pyc"), "wb") as f:
        f.write(b"\x00stray bytecode")
    site = Site(tmp, dict(DEFAULTS, **settings))
    site.write_conf()
    return site


# ---------------------------------------------------------------------------
# raw exchanges

def exchange(port, data, quiet=1.0, limit=8.0, pieces=None):
    """Send ``data`` (or each of ``pieces`` with a short pause between),
    read until the server closes or stays quiet for ``quiet`` seconds (at
    most ``limit`` seconds in all). Returns (raw bytes, closed: bool)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=limit)
    closed = False
    raw = b""
    try:
        try:
            if pieces is None:
                sock.sendall(data)
            else:
                for piece in pieces:
                    sock.sendall(piece)
                    time.sleep(0.05)
        except (BrokenPipeError, ConnectionResetError):
            pass
        end = time.monotonic() + limit
        while time.monotonic() < end:
            sock.settimeout(min(quiet, max(0.01, end - time.monotonic())))
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            raw += chunk
    finally:
        sock.close()
    return raw, closed


def split_responses(raw):
    """[(status, headers dict lower-case, body)] of the responses in ``raw``,
    interim 1xx included, framed by Content-Length or chunked (or the rest)."""
    out = []
    while raw:
        if b"\r\n\r\n" not in raw:
            out.append((None, {}, raw))
            break
        head, _, raw = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        try:
            status = int(lines[0].split(" ")[1])
        except (IndexError, ValueError):
            out.append((None, {}, head + b"\r\n\r\n" + raw))
            break
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if 100 <= status < 200 or status in (204, 304):
            out.append((status, headers, b""))
            continue
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                line, sep, rest = raw.partition(b"\r\n")
                if not sep:
                    body += raw
                    raw = b""
                    break
                size = int(line.split(b";")[0] or b"0", 16)
                if size == 0:
                    raw = rest.partition(b"\r\n")[2]
                    break
                body += rest[:size]
                raw = rest[size + 2:]
        elif "content-length" in headers:
            n = int(headers["content-length"])
            body, raw = raw[:n], raw[n:]
        else:
            body, raw = raw, b""
        out.append((status, headers, body))
    return out


def final_responses(raw):
    return [r for r in split_responses(raw) if r[0] is None or not 100 <= r[0] < 200]


def get(port, path, headers=(), version="HTTP/1.1", method="GET", body=b"", timeout=8.0):
    """One request on a fresh connection (Connection: close); (status, headers, body)."""
    lines = ["%s %s %s" % (method, path, version), "Host: 127.0.0.1", "Connection: close"]
    lines += ["%s: %s" % h for h in headers]
    if body:
        lines.append("Content-Length: %d" % len(body))
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    raw, _ = exchange(port, data, quiet=timeout, limit=timeout)
    responses = final_responses(raw)
    assert responses, "no response to %s %s" % (method, path)
    return responses[0]


def pid_of(port):
    status, _, body = get(port, "/app/pid.py")
    assert status == 200, status
    return int(body)


def children_of(pid):
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as f:
                    stat = f.read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(entry))
    return sorted(kids)


def eventually(cond, limit=10.0, step=0.05):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(step)
    return bool(cond())

"""What a handler sees of the request, and responses of every framing.
The last component of the URL picks the probe."""
import hashlib
import os
import time

from mod_python import apache, util


def handler(req):
    name = os.path.basename(req.filename)
    return PROBES.get(name, notfound)(req)


def notfound(req):
    return apache.HTTP_NOT_FOUND


def echo(req):
    """The request as the handler sees it; the body read whole."""
    body = req.read()
    req.content_type = "text/plain"
    lines = ["method=%s" % req.method, "unparsed_uri=%s" % req.unparsed_uri,
             "uri=%s" % req.uri, "args=%s" % req.args, "protocol=%s" % req.protocol,
             "hostname=%s" % req.hostname, "https=%s" % req.is_https()]
    for k, v in sorted(req.headers_in.items()):
        if k.lower().startswith("x-probe") or k.lower() == "content-type":
            lines.append("in %s=%s" % (k.lower(), v))
    lines.append("body=%d %s" % (len(body), hashlib.sha256(body).hexdigest()))
    req.write("\n".join(lines) + "\n", 0)
    return apache.OK


def pieces(req):
    """The body read in small reads and lines, as form parsers do."""
    n, lines, digest = 0, 0, hashlib.sha256()
    while True:
        line = req.readline(100)
        if not line:
            break
        lines += line.endswith(b"\n")
        digest.update(line)
        n += len(line)
        chunk = req.read(7)
        digest.update(chunk)
        n += len(chunk)
    req.content_type = "text/plain"
    req.write("read=%d lines=%d %s\n" % (n, lines, digest.hexdigest()), 0)
    return apache.OK


def stream(req):
    """req.write() flushed n times: a chunked (streamed) response."""
    form = util.FieldStorage(req)
    n = int(form.getfirst("n", "5"))
    delay = float(form.getfirst("delay", "0"))
    size = int(form.getfirst("size", "10"))
    req.content_type = "application/octet-stream"
    for i in range(n):
        req.write(b"%d:" % i + b"x" * size + b"\n")
        if delay:
            time.sleep(delay)
    return apache.OK


def slow(req):
    """Blocks (as the tutorial's SMTP form does), then answers."""
    time.sleep(float(util.FieldStorage(req).getfirst("s", "1")))
    req.content_type = "text/plain"
    req.write("slow done", 0)
    return apache.OK


def status(req):
    """A chosen status with headers_out and err_headers_out, unflushed."""
    form = util.FieldStorage(req)
    req.status = int(form.getfirst("code", "200"))
    req.content_type = "text/plain; charset=utf-8"
    req.headers_out["X-Probe-Out"] = "one"
    req.headers_out.add("Set-Cookie", "a=1; Path=/")
    req.headers_out.add("Set-Cookie", "b=2; Path=/")
    req.err_headers_out["X-Probe-Err"] = "two"
    req.write("status %d\n" % req.status, 0)
    return apache.OK


def length(req):
    """A declared Content-Length and a streamed body."""
    req.content_type = "text/plain"
    req.set_content_length(20)
    req.write(b"0123456789")
    req.write(b"abcdefghij")
    return apache.OK


def fail(req):
    raise ValueError("the probe failed on purpose")


def env(req):
    """A few CGI variables that do not depend on the connection's ports."""
    req.add_cgi_vars()
    e = req.subprocess_env
    req.content_type = "text/plain"
    for k in ("REQUEST_METHOD", "QUERY_STRING", "REQUEST_URI", "SCRIPT_NAME",
              "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL", "HTTP_X_PROBE"):
        req.write("%s=%s\n" % (k, e.get(k, "")), 0)
    return apache.OK


def pid(req):
    """Which process answered (load-balancing tests)."""
    req.content_type = "text/plain"
    req.write(str(os.getpid()), 0)
    return apache.OK


PROBES = {"pid": pid, "echo": echo, "pieces": pieces, "stream": stream, "slow": slow,
          "status": status, "length": length, "fail": fail, "env": env}

"""Header tables as a handler fills them (tests/test_request_fields.py)."""
from mod_python import apache


def handler(req):
    q = req.args or ""
    if q == "crlf":
        req.headers_out["X-Bad"] = "a\r\nInjected: 1"
        req.write("x\n")
    elif q == "crlf-late":
        req.headers_out["X-Bad"] = "a\r\nb"
    elif q == "own-fields":
        req.headers_out["Server"] = "mine"
        req.headers_out["Date"] = "Thu, 01 Jan 1970 00:00:00 GMT"
        req.headers_out["Connection"] = "x-custom"
        req.write("x\n")
    elif q == "vary":
        req.headers_out["Vary"] = "Accept"
        req.headers_out.add("Vary", "Cookie")
        req.write("x\n")
    elif q == "send-http-header":
        req.content_type = "text/plain"
        req.send_http_header()
        req.write("sent\n")
    elif q == "readall":
        req.write("read %d\n" % len(req.read()))
    elif q.startswith("mtime="):
        req.update_mtime(int(q[6:]))
        req.set_last_modified()
        req.write("x\n")
    elif q.startswith("late-status="):
        # a status set once the head is out: what it does to the connection
        req.set_content_length(3)
        req.write("ok\n")
        req.status = int(q[12:])
    elif q == "late-raise":
        req.set_content_length(3)
        req.write("ok\n")
        raise ValueError("after the head")
    elif q == "allow-declined":
        # the default handler answers, with what this allowed besides its own
        req.allow_methods(["PROPFIND", "GET"])
        return apache.DECLINED
    elif q.startswith("bodiless="):
        req.status = int(q[9:])
        req.write("dropped\n")
    else:
        req.write("ok\n")
    return apache.OK

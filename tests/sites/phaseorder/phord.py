"""Handlers for tests/test_phase_order.py. The query string says what each
phase does: ?handler=write&log=status500 ... Each phase that runs adds its
name to trace.log (beside this file) with the request's uri and status."""
import os
import time

from mod_python import apache

TRACE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "trace.log")


def _acts(req):
    acts = {}
    for part in (req.args or "").split("&"):
        name, _, value = part.partition("=")
        if value:
            acts[name] = value
    return acts


def _trace(req, phase):
    with open(TRACE, "a") as f:
        f.write("%s %s %s\n" % (phase, req.uri, req.status))


def _do(req, phase):
    _trace(req, phase)
    act = _acts(req).get(phase)
    if act is None:
        return apache.OK
    if act == "ok":
        return apache.OK
    if act == "declined":
        return apache.DECLINED
    if act == "raise":
        raise ValueError("boom in " + phase)
    if act == "write":
        req.write("written in %s\n" % phase)
        return apache.OK
    if act == "status500":
        req.status = 500
        req.err_headers_out["X-Set-In"] = phase
        return apache.OK
    if act == "user":
        req.user = "bob"
        return apache.OK
    if act == "ctype":
        req.content_type = "text/x-" + phase
        return apache.DECLINED
    if act == "addhandler":
        req.add_handler("PythonFixupHandler", "phord::added")
        return apache.OK
    if act == "wait":
        # held until the test has read the whole response (bounded)
        marker = TRACE + ".go"
        deadline = time.monotonic() + 10
        while not os.path.exists(marker) and time.monotonic() < deadline:
            time.sleep(0.01)
        _trace(req, phase + "-waited")
        return apache.OK
    if act == "done":
        return apache.DONE
    if act == "readpw-declined":
        req.get_basic_auth_pw()     # (sets req.user)
        return apache.DECLINED
    if act.lstrip("-").isdigit():
        return int(act)
    raise AssertionError("unknown act %r" % act)


def postread(req):
    if _acts(req).get("postread"):
        return _do(req, "postread")
    return apache.OK


def init(req):
    if _acts(req).get("init"):
        return _do(req, "init")
    return apache.OK


def init_dir(req):
    return _do(req, "init-dir")


def type(req):
    return _do(req, "type")


def log(req):
    return _do(req, "log")


def cleanup(req):
    return _do(req, "cleanup")


def authen(req):
    return _do(req, "authen")


def authz(req):
    return _do(req, "authz")


def added(req):
    _trace(req, "added")
    return apache.OK


def handler(req):
    acts = _acts(req)
    act = acts.get("handler")
    if act == "ok":
        _trace(req, "handler")      # (nothing written, no type set)
        return apache.OK
    req.content_type = "text/plain"
    if act == "redirect-after-write":
        req.write("before redirect\n")
        req.internal_redirect("/ph/target")
        return apache.OK
    if act and act.lstrip("-").isdigit():
        return int(act)
    if act == "length-then-write0":
        req.set_content_length(10)
        req.write("abcdef", 0)
        return apache.OK
    if act == "status-line":
        req.status_line = "404 Really Not"
        return apache.HTTP_NOT_FOUND
    if act == "length-only":
        req.headers_out["Content-Length"] = "6"
        return apache.OK
    if act == "write0":
        n = int(acts.get("n", "0"))
        for _ in range(int(acts.get("times", "1"))):
            req.write("x" * n, 0)
        return apache.OK
    if act in ("redirect-empty", "redirect-relative"):
        req.internal_redirect("" if act == "redirect-empty" else "target")
        req.write("after the redirect\n")     # (follows the response, as on Apache)
        return apache.OK
    if act == "attrs":
        before = (req.chunked, req.read_chunked)
        body = req.read()
        after_read = (req.chunked, req.read_chunked)
        req.write("config=%r\n" % sorted(req.get_config().items()))
        req.write("chunked=%s read_chunked=%s\n" % before)
        req.write("read %r: chunked=%s read_chunked=%s; written: chunked=%s\n" % (
            (body,) + after_read + (req.chunked,)))
        req.write("hostname=%s Host=%s parsed=%r\n" % (
            req.hostname, req.headers_in.get("Host"), req.parsed_uri[:6]))
        req.write("restart_time=%s\n" % req.server.restart_time.__class__.__name__)
        return apache.OK
    if req.uri == "/ph/envshow":
        req.write("%s %s\n" % (req.status, sorted(
            (k, v) for k, v in req.subprocess_env.items() if k.startswith("REDIRECT_"))))
        return apache.OK
    if act in ("status-redirect", "status-redirect-missing"):
        req.status = 404
        req.internal_redirect("/ph/target" if act == "status-redirect" else "/nowhere/x")
        return apache.OK
    _trace(req, "handler")
    req.write("uri=%s status=%s user=%s\n" % (req.uri, req.status, req.user))
    return apache.OK


def show_pw(req):
    req.content_type = "text/plain"
    req.write("pw=%r user=%r\n" % (req.get_basic_auth_pw(), req.user))
    return apache.OK


def general(req):
    req.content_type = "text/plain"
    req.write("general\n")
    return apache.OK


def for_txt(req):
    req.content_type = "text/plain"
    req.write("for_txt\n")
    return apache.OK


def sub_general(req):
    req.content_type = "text/plain"
    req.write("sub_general\n")
    return apache.OK


def show_file(req):
    req.content_type = "text/plain"
    name = req.filename
    if name:
        name = name[len(os.path.dirname(os.path.abspath(__file__))):]
    req.write("filename=%s path_info=%r\n" % (name, req.path_info))
    return apache.OK

"""Exercises mod_python's Cookie module; ?<case> picks what it does."""
import mod_python.Cookie
from mod_python import apache, Cookie


def handler(req):
    req.content_type = "text/plain"
    case = req.args or ""
    out = []
    if case == "set":
        Cookie.add_cookie(req, "spam", "eggs", path="/", expires=1000000000)
        Cookie.add_cookie(req, Cookie.Cookie("obj", "v", httponly=1, secure=1, max_age=60),
                          "ignored", path="/ignored")
        Cookie.add_cookie(req, Cookie.Cookie("when", "x", expires="Sat, 14-Jun-2003 02:42:36 GMT",
                                             domain=".example.com", version=1, comment="hi"))
        Cookie.add_cookie(req, "novalue")
    elif case == "notfound":
        Cookie.add_cookie(req, "lost", "1")
        return apache.HTTP_NOT_FOUND
    elif case == "badexpires":
        Cookie.add_cookie(req, "a", "1", expires="never")
    elif case == "get":
        cookies = Cookie.get_cookies(req)
        for name in sorted(cookies):
            out.append("%s=[%s] %s" % (name, cookies[name].value, type(cookies[name]).__name__))
        out.append("b: %r" % Cookie.get_cookie(req, "b"))
        out.append("missing: %r" % Cookie.get_cookie(req, "missing"))
    elif case == "signed":
        # what came back signed, then a fresh pair for the client to return
        s = Cookie.get_cookie(req, "s", Cookie.SignedCookie, secret="secret")
        m = Cookie.get_cookie(req, "m", Cookie.MarshalCookie, secret="secret007")
        out.append("s: %s %r" % (type(s).__name__, s and s.value))
        out.append("m: %s %r" % (type(m).__name__, m and m.value))
        Cookie.add_cookie(req, Cookie.SignedCookie("s", "v", "secret"))
        Cookie.add_cookie(req, Cookie.MarshalCookie("m", {"egg_count": 32}, "secret007"))
    elif case == "alias":
        out.append(repr(mod_python.Cookie is Cookie))
    req.write("\n".join(out) + "\n")
    return apache.OK

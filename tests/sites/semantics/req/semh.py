from mod_python import apache


def handler(req):
    what = req.args or ""
    if what.startswith("redirect"):
        # the classic mod_python redirect: Location in headers_out, return the code
        req.headers_out["Location"] = "http://example.test/target"
        return int(what[len("redirect"):])
    if what == "created":
        req.headers_out["Location"] = "http://example.test/new"
        raise apache.SERVER_RETURN(apache.OK, apache.HTTP_CREATED)
    if what == "manual_cl":
        req.headers_out["Content-Length"] = "4"
        req.write("abcd")                    # flushed: the declared length, not chunks
        return apache.OK
    if what == "manual_cl_unflushed":
        req.headers_out["content-length"] = "4"
        req.write("abcd", 0)
        return apache.OK
    if what == "ctype_twice":
        req.headers_out["Content-Type"] = "application/x-custom"
        req.content_type = "text/plain"
        req.write("t")
        return apache.OK
    if what == "cookie_then_redirect":
        req.err_headers_out.add("Set-Cookie", "kept=1")
        req.internal_redirect("/granted/g.txt")
        return apache.OK
    return apache.HTTP_NOT_FOUND

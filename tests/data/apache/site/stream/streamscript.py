from mod_python import apache

def handler(req):
    req.content_type = "text/plain"
    if req.filename.endswith("nobuf.py"):
        req.write("unbuffered write then return\n", 0)
        return apache.OK
    if req.filename.endswith("empty.py"):
        return apache.OK
    if req.filename.endswith("cl.py"):
        body = "with explicit content length\n"
        req.set_content_length(len(body))
        req.write(body)
        return apache.OK
    if req.filename.endswith("echo.py"):
        data = req.read()
        req.write("read %d bytes: " % len(data))
        req.write(data)
        return apache.OK
    if req.filename.endswith("status.py"):
        req.status = 201
        req.headers_out["X-Custom"] = "yes"
        req.err_headers_out["X-Err"] = "e"
        req.write("created\n")
        return apache.OK
    if req.filename.endswith("ret500.py"):
        req.write("partial body then 500\n")
        return apache.HTTP_INTERNAL_SERVER_ERROR
    if req.filename.endswith("redirect.py"):
        from mod_python import util
        util.redirect(req, "/hello/myscript.py")
    if req.filename.endswith("statusread.py"):
        # a request going wrong reads no body: no 100 Continue, and b""
        req.status = 404
        data = req.read()
        req.write("read %d\n" % len(data))
        return apache.OK
    if req.filename.endswith("writefirst.py"):
        # the response starts before the body is read: no 100 Continue then
        req.write("first\n")
        data = req.read()
        req.write("read %d\n" % len(data))
        return apache.OK
    if req.filename.endswith("tableheaders.py"):
        # a Content-Type entry keeps its place in the table, with the value
        # of req.content_type
        req.headers_out["X-One"] = "a"
        req.headers_out["Content-Type"] = "text/from-table"
        req.headers_out["X-Two"] = "b"
        req.content_type = "text/x-custom"
        req.write("body written once\n")
        return apache.OK
    if req.filename.endswith("lengthtype.py"):
        # both entries side by side: each keeps its place, in the table's order
        body = "length and type entries\n"
        req.headers_out["X-One"] = "a"
        req.headers_out["Content-Length"] = str(len(body))
        req.headers_out["Content-Type"] = "text/from-table"
        req.headers_out["X-Two"] = "b"
        req.content_type = "text/x-custom"
        req.write(body, 0)
        return apache.OK
    if req.filename.endswith("lengthfirst.py"):
        body = "length set before another header\n"
        req.set_content_length(len(body))
        req.headers_out["X-After"] = "1"
        req.write(body)
        return apache.OK
    if req.filename.endswith("nocache.py"):
        req.no_cache = 1
        req.write("streamed, not cached\n")
        return apache.OK
    if req.filename.endswith("nocachelength.py"):
        req.no_cache = 1
        req.headers_out["X-One"] = "a"
        req.write("whole, not cached\n", 0)
        return apache.OK
    if req.filename.endswith("notmodified.py") or req.filename.endswith("nocontent.py"):
        # a 304/204 keeps the handler's entries (its Content-Type entry too,
        # not req.content_type), drops the length and any body written
        req.err_headers_out["X-Err"] = "e"
        req.headers_out["Content-Type"] = "text/from-table"
        req.headers_out["X-One"] = "a"
        req.headers_out["Content-Length"] = "5"
        req.headers_out["Last-Modified"] = "Fri, 27 Nov 2026 00:00:00 GMT"
        req.no_cache = 1
        req.status = 304 if req.filename.endswith("notmodified.py") else 204
        req.write("dropped", 0)
        return apache.OK
    for i in range(3):
        req.write("chunk %d\n" % i)
        req.flush()
    return apache.OK

from mod_python import apache


def fixuphandler(req):
    req.notes["fix-" + req.uri] = "main" if req.main else ("prev" if req.prev else "none")
    req.headers_out.add("X-Fix", req.uri)
    return apache.OK

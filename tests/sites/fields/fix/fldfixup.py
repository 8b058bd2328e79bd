from mod_python import apache


def fixuphandler(req):
    if req.uri.endswith("/html"):
        req.content_type = "application/x-fixup"
    else:
        req.content_type = "text/html"
    return apache.OK

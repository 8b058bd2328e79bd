from mod_python import apache

def fixuphandler(req):
    return apache.HTTP_FORBIDDEN

def handler(req):
    req.content_type = "text/plain"
    req.write("content handler (should not run)\n")
    return apache.OK

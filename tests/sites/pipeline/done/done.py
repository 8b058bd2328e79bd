from mod_python import apache

def fixuphandler(req):
    req.content_type = "text/plain"
    req.write("ended early by the fixup handler")
    return apache.DONE

def handler(req):
    req.write("the response handler must not run")
    return apache.OK

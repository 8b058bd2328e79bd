from mod_python import apache

def headerparserhandler(req):
    req.content_type = "text/plain"
    req.write("written in headerparser, returning DONE\n")
    return apache.DONE

def handler(req):
    req.content_type = "text/plain"
    req.write("content handler (should not run)\n")
    return apache.OK

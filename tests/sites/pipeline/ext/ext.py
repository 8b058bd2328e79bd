from mod_python import apache

def handler(req):
    req.content_type = "text/plain"
    req.write("ext handler for %s" % req.filename.rsplit("/", 1)[-1])
    return apache.OK

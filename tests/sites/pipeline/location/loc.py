from mod_python import apache

def handler(req):
    req.content_type = "text/plain"
    req.write("location handler: uri=%s path_info=%r" % (req.uri, req.path_info))
    return apache.OK

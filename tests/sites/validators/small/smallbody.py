from mod_python import apache


def handler(req):
    req.content_type = "text/plain"
    data = req.read()
    req.write("read %d" % len(data))
    return apache.OK

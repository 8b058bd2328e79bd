from mod_python import apache


def handler(req):
    req.content_type = "text/plain"
    if req.args == "noread":
        req.write("not read", 0)        # a whole response; the body is left unread
        return apache.OK
    if req.args == "noread-flush":
        req.write("not read")           # flushed: the head goes out first
        return apache.OK
    data = req.read()
    req.write("read %d" % len(data))
    return apache.OK

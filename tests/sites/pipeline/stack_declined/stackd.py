from mod_python import apache


def first(req):
    req.content_type = "text/plain"
    req.write("first;", 0)
    return apache.OK


def declines(req):
    req.write("declines;", 0)
    return apache.DECLINED


def second(req):
    req.write("second;", 0)
    return apache.OK

from mod_python import apache


def authenhandler(req):
    return apache.DECLINED          # leaves the user to mod_auth_basic


def handler(req):
    req.content_type = "text/plain"
    req.write("ok user=%s" % req.user)
    return apache.OK

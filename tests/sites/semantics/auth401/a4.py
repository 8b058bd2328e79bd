from mod_python import apache


def authenhandler(req):
    req.get_basic_auth_pw()
    return apache.OK if req.user == "spam" else apache.HTTP_UNAUTHORIZED


def handler(req):
    req.write("in")
    return apache.OK

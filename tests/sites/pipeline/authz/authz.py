from mod_python import apache

def authenhandler(req):
    pw = req.get_basic_auth_pw()
    if pw == "secret":
        return apache.OK
    return apache.HTTP_UNAUTHORIZED

def authzhandler(req):
    if req.user == "admin":
        return apache.OK
    return apache.HTTP_FORBIDDEN

def handler(req):
    req.content_type = "text/plain"
    req.write("welcome %s" % req.user)
    return apache.OK

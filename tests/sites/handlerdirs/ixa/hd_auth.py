from mod_python import apache


def authenhandler(req):
    pw = req.get_basic_auth_pw()
    if req.user == "spam" and pw == "eggs":
        return apache.OK
    return apache.HTTP_UNAUTHORIZED

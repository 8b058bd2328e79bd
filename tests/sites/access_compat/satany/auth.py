from mod_python import apache
def authenhandler(req):
    pw = req.get_basic_auth_pw()
    return apache.OK if (req.user, pw) == ("spam", "eggs") else apache.HTTP_UNAUTHORIZED

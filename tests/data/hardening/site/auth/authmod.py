"""Accepts any well-formed Basic credentials, so the test sees exactly what
reaches a handler as a user."""
from mod_python import apache


def authenhandler(req):
    pw = req.get_basic_auth_pw()
    if req.user is None or pw is None:
        return apache.HTTP_UNAUTHORIZED
    return apache.OK


def handler(req):
    req.content_type = "text/plain"
    req.write("user=%r\n" % (req.user,))
    return apache.OK

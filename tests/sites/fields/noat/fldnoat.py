"""an authentication handler without AuthType or AuthName (tests/test_request_fields.py)."""
from mod_python import apache


def authenhandler(req):
    req.get_basic_auth_pw()
    return apache.OK if req.user else apache.HTTP_UNAUTHORIZED


def handler(req):
    req.content_type = "text/plain"
    req.write("user=%r pw=%r\n" % (req.user, req.get_basic_auth_pw()))
    return apache.OK

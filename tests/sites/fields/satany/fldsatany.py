"""Satisfy Any with an access handler that refuses (tests/test_request_fields.py)."""
from mod_python import apache


def refuse(req):
    return apache.HTTP_FORBIDDEN


def authenhandler(req):
    req.get_basic_auth_pw()
    return apache.OK if req.user == "spam" else apache.HTTP_UNAUTHORIZED


def handler(req):
    req.content_type = "text/plain"
    req.write("user=%r\n" % req.user)
    return apache.OK

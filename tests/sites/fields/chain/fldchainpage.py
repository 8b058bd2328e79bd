"""Published after a handler that set the type (tests/test_request_fields.py)."""


def page(req):
    return "<html>chain</html>"

"""Published: its type comes from the fixup (tests/test_request_fields.py)."""


def html(req):
    return "<html>fix</html>"


def plain(req):
    return "plain words"

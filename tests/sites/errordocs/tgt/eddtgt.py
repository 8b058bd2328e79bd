"""An ErrorDocument target that shows what it was given (tests/test_error_documents.py)."""
from mod_python import apache


def handler(req):
    req.content_type = "text/plain"
    prev = req.prev
    req.write("target uri=%s args=%s status=%s\n" % (req.uri, req.args, req.status))
    if prev is not None:
        req.write("prev uri=%s method=%s\n" % (prev.uri, prev.method))
    req.write("REDIRECT_STATUS=%s REDIRECT_REQUEST_METHOD=%s\n" % (
        req.subprocess_env.get("REDIRECT_STATUS"),
        req.subprocess_env.get("REDIRECT_REQUEST_METHOD")))
    return apache.OK

"""An ErrorDocument target that fails as its query says (tests/test_error_documents.py)."""
from mod_python import apache


def handler(req):
    kv = dict(x.split("=", 1) for x in (req.args or "").split("&") if "=" in x)
    if "ret" in kv:
        return int(kv["ret"])
    if "wr" in kv:
        req.content_type = "text/plain"
        req.write("partial\n")
        return int(kv["wr"])
    if "ir" in kv:
        req.internal_redirect(kv["ir"].replace("HASH", "#"))
        return apache.OK
    req.content_type = "text/plain"
    req.write("ok\n")
    return apache.OK

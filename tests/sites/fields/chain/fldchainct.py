from mod_python import apache


def handler(req):
    req.content_type = "application/x-chain"
    return apache.OK

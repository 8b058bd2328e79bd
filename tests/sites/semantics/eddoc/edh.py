def handler(req):
    return int(req.args or "404")

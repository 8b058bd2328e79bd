def handler(req):
    raise ValueError("boom")

def echo(req, **kw):
    return ",".join("%s=%s" % (k, v) for k, v in sorted(kw.items()) if k != "req")

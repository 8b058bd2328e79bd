from mod_python import apache
def fixuphandler(req):
    req.notes["fix"] = repr(sorted((k, v) for k, v in req.subprocess_env.items() if k.startswith("FD_")))
    return apache.OK
def handler(req):
    req.content_type = "text/plain"
    env = req.subprocess_env
    req.write("handler %r\n" % sorted((k, v) for k, v in env.items() if k.startswith("FD_")))
    req.write("fixup %s\n" % req.notes.get("fix"))
    req.add_common_vars()
    req.write("after %r\n" % sorted((k, v) for k, v in env.items() if k.startswith("FD_")))
    return apache.OK

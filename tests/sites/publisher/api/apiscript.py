from mod_python import apache

def handler(req):
    name = req.filename.rsplit("/", 1)[-1]
    req.content_type = "text/plain"
    if name == "env":
        req.add_common_vars()
        req.write("\n".join("%s=%s" % kv for kv in sorted(req.subprocess_env.items())))
    elif name == "cgi":
        req.add_cgi_vars()
        req.write("\n".join("%s=%s" % kv for kv in sorted(req.subprocess_env.items())))
    elif name == "redir":
        req.internal_redirect("/api/target?x=1")
    elif name == "target":
        req.write("target args=%s prev=%s" % (req.args, req.prev and req.prev.uri))
    elif name == "addh":
        req.add_handler("PythonHandler", "apiscript::second")
        req.write("first;")
    elif name == "host":
        req.write("%r %r %r" % (req.get_remote_host(), req.get_remote_host(apache.REMOTE_NOLOOKUP), req.get_remote_host(apache.REMOTE_NAME, 1)))
    elif name == "allow":
        req.allow_methods(["GET", "PUT"])
        apache.allow_methods(req, apache.M_DELETE) if hasattr(apache, "allow_methods") else None
        req.write("allowed=%r" % req.allowed)
        return apache.OK
    elif name == "allow405":
        req.allow_methods(["GET", "PUT"])
        return apache.HTTP_METHOD_NOT_ALLOWED
    elif name == "log":
        apache.log_error("hello from apache.log_error", apache.APLOG_WARNING)
        req.log_error("hello from req.log_error")
        req.write("logged")
    elif name == "imp":
        m = apache.import_module("helpermod", path=[req.filename.rsplit("/", 1)[0]])
        req.write("imported %s %s" % (m.__name__, m.VALUE))
    else:
        req.write("?")
    return apache.OK

def second(req):
    req.write("second;")
    return apache.OK

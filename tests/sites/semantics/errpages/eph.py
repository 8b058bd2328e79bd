def handler(req):
    req.content_type = "text/plain"
    before = req.subprocess_env.get("REDIRECT_URL")
    req.add_common_vars()                   # (Apache sets REDIRECT_URL there)
    env = req.subprocess_env
    req.write("error page for %s (%s) %s" % (env.get("REDIRECT_URL"),
                                             env.get("REDIRECT_STATUS"), before))
    return 0

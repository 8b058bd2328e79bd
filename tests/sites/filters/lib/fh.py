from mod_python import apache


def handler(req):
    what = req.args or ""
    req.content_type = "text/plain"
    if what == "noflush":
        req.write("hello ", 0)
        req.write("world", 0)
    elif what == "two":
        req.write("one ")
        req.write("two")
    elif what == "echo":
        req.write(b"got:" + req.read(), 0)
    elif what == "flush404":
        req.write("one ")
        return apache.HTTP_NOT_FOUND
    elif what == "redirect":
        req.internal_redirect("/dyn/x?unknown")     # a section without filters
    elif what == "404":
        return apache.HTTP_NOT_FOUND
    elif what == "setcl":
        req.set_content_length(5)
        req.write("abcde", 0)
    elif what == "empty":
        pass
    else:
        req.write("hello world")
    return apache.OK

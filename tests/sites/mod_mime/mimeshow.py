from mod_python import apache


def handler(req):
    req.content_type = "text/plain"
    req.write("pi=%r enc=%r langs=%r ct=%r\n" % (req.path_info, req.content_encoding,
                                                req.content_languages, req.content_type))
    return apache.OK

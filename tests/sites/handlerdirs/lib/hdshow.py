"""What a handler sees of where it runs (tests/test_handler_dirs.py)."""
from mod_python import apache


def handler(req):
    req.content_type = "text/plain"
    for line in (
            "uri=%r filename=%r path_info=%r" % (req.uri, req.filename, req.path_info),
            "unparsed=%r args=%r" % (req.unparsed_uri, req.args),
            "parsed_path=%r" % (req.parsed_uri[apache.URI_PATH],),
            "prev=%r main=%r" % (req.prev is not None, req.main is not None),
            "hlist.directory=%r is_location=%r" % (req.hlist.directory,
                                                  req.hlist.is_location),
            "redirect_env=%r" % sorted(k for k in req.subprocess_env.keys()
                                       if k.startswith("REDIRECT")),
            "notes=%r" % sorted(k for k in req.notes.keys()
                                if k != "ap-mime-exceptions-list"),
            "fix=%r" % [v for k, v in req.headers_out.items() if k == "X-Fix"]):
        req.write(line + "\n")
    return apache.OK

"""A handler module living in the document root beside the files it serves
(AddHandler mod_python .psp): its source must never be served."""
from mod_python import apache

SECRET = "lib.py source: must not leak"


def handler(req):
    req.content_type = "text/plain"
    req.write("lib handler\n")
    return apache.OK

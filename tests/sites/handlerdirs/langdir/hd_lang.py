"""What mod_mime gave a directory and a file (tests/test_handler_dirs.py)."""
from mod_python import apache


def handler(req):
    req.content_type = "text/plain"
    req.write("languages=%r\n" % (req.content_languages,))
    return apache.OK

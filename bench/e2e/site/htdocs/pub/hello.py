# Published by mod_python.publisher.
#
#   GET  /pub/hello.py/say?what=hello   -> "I am saying hello"
#   POST /pub/hello.py/submit           (application/x-www-form-urlencoded)
#        -> one "name=value" line per field, in the order sent
#
# submit() reads req.form (the FieldStorage the publisher built) instead of
# taking the fields as keyword arguments: Debian's Python 3 build of
# mod_python 3.5 hands urlencoded POST fields over with *bytes* names, so
# keyword matching finds none of them there (tests/data/apache/NOTES.md,
# "Debian/py3 form bugs"); fastdispatch gives str. _text() evens that out,
# so both servers send the same bytes.


def say(req, what="NOTHING"):
    return "I am saying %s" % what


def _text(s):
    if isinstance(s, (bytes, bytearray)):
        return bytes(s).decode("utf-8")
    return str(s)


def submit(req):
    return "".join("%s=%s\n" % (_text(field.name), _text(field.value))
                   for field in req.form.list)

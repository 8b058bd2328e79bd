# Same as the tutorial's form.py but without sending mail (no MTA here).
WEBMASTER = "webmaster"   # webmaster e-mail
greeting = "hello attribute"
number = 42
_private = "secret"

class Thing:
    x = "thing-x"
    def meth(self, req):
        return "meth called"

thing = Thing()

def email(req, name, email, comment):
    if not (name and email and comment):
        return "A required parameter is missing, \
               please go back and correct the error"
    s = """\
<html>

Dear %s,<br>
Thank You for your kind comments, we
will get back to you shortly.

</html>""" % name
    return s

def index(req):
    return "index of form2"

def _hidden(req):
    return "should not be reachable"

def noargs():
    return "noargs"

def unicode_ret(req):
    return "caf\u00e9 \u20ac"

def bytes_ret(req):
    return b"raw bytes"

def none_ret(req):
    return None

def int_ret(req):
    return 123

def fields(req):
    f = req.form
    out = ["keys=%r" % (list(f.keys()),)]
    for k in f.keys():
        out.append("%r (%s) -> getfirst=%r getlist=%r" % (
            str(k), type(k).__name__, f.getfirst(str(k)), f.getlist(str(k))))
    out.append("f.list=%r" % (f.list,))
    return "\n".join(out)

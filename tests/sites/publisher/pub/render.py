import json

greeting = "hello attribute"
number = 42
mapping = {"k": "v"}
_private = "secret"

class Thing:
    x = "thing-x"
    def meth(self, req):
        return "meth called"
    def __str__(self):
        return "a Thing"

thing = Thing()

def index(req):
    return "index of render"

def html(req):
    return "<html><body>hi</body></HTML>  \n"

def html_early(req):
    return "<html></html>" + "x" * 200

def text(req):
    return "plain"

def unicode(req):
    return "caf\u00e9 \u20ac"

def raw(req):
    return b"raw \xff bytes"

def raw_html(req):
    return b"<HTML>\xe9</html>"

def none(req):
    return None

def integer(req):
    return 123

def a_dict(req):
    return {"a": 1}

def own_type(req):
    req.content_type = "application/json"
    return json.dumps({"a": 1})

def own_type_same(req):
    req.content_type = "text/x-python"
    return "<html></html>"

def writes(req):
    req.write("written;")
    return "returned"

def headers(req):
    req.headers_out["X-Pub"] = "yes"
    return "with header"

def redirect(req):
    from mod_python import util
    util.redirect(req, "/elsewhere?a=1&b=<x>")

def redirect_permanent(req):
    from mod_python import util
    util.redirect(req, "http://example.com/", permanent=1, text="gone")

def raises_forbidden(req):
    from mod_python import apache
    raise apache.SERVER_RETURN(apache.HTTP_FORBIDDEN)

def crash(req):
    raise ValueError("boom")

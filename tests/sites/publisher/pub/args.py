import json

def noreq(a, b="x"):
    return "a=%s b=%s" % (a, b)

def withreq(req, a="-"):
    return "%s %s" % (type(req).__name__, a)

def kwargs(req, a=None, **kw):
    return json.dumps({"a": a, "kw": {k: (v if k != "req" else "REQ") for k, v in kw.items()}},
                      sort_keys=True)

def kwonly(*, name="?"):
    return "name=" + name

def required(req, name, email, comment):
    return "ok"

def repeated(req, x=None):
    return json.dumps(x)

def fields(req):
    f = req.form
    out = {"keys": f.keys(),
           "getlist": {k: f.getlist(k) for k in f.keys()},
           "getfirst": {k: f.getfirst(k) for k in f.keys()},
           "types": sorted({type(k).__name__ for k in f.keys()} |
                           {type(v).__name__ for k in f.keys() for v in f.getlist(k)})}
    return json.dumps(out, sort_keys=True)

def method(req):
    return req.method

def field_named_req(req):
    return type(req).__name__

def returns_function(req):
    return noreq

def returns_builtin(req):
    return len

class Greeter:
    def __init__(self, prefix):
        self.prefix = prefix
    def greet(self, req, who="world"):
        return "%s, %s" % (self.prefix, who)
    def __call__(self, req, who="you"):
        return "called " + who

greeter = Greeter("hello")

"""Published callables for tests/test_request_fields.py."""


def ctset(req):
    before = req._content_type_set
    req.content_type = "text/plain"
    return "before=%d after=%d" % (before, req._content_type_set)


def status_str(req):
    req.status = "201"
    return "status_str"


def ctype_euro(req):
    req.content_type = "text/plain; x=\u20ac"
    return "ctype_euro"


def ctype_int(req):
    req.content_type = 5
    return "ctype_int"


def header_euro(req):
    req.headers_out["X-Euro"] = "\u20ac"
    return "header_euro"


def header_latin1(req):
    req.headers_out["X-Latin"] = "caf\u00e9"
    return "header_latin1"


def form(req, **fields):
    out = []
    for name, value in sorted(fields.items()):
        value = getattr(value, "value", value)
        if isinstance(value, bytes):        # (mod_python 3.5's, under Python 3)
            value = value.decode("latin-1")
        out.append("%s=%r" % (name, str(value)))
    return "|".join(out)


def return_tuple(req):
    from mod_python import apache
    raise apache.SERVER_RETURN((403, "msg"))


def return_str_status(req):
    from mod_python import apache
    raise apache.SERVER_RETURN(403, "msg")


class Thing:
    def meth(self, req):
        return "meth called"


thing = Thing()


def kbi(req):
    raise KeyboardInterrupt()


def genexit(req):
    raise GeneratorExit()

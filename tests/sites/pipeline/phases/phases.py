"""Each phase records itself in a header; log and cleanup append to a file."""
from mod_python import apache

def _mark(req, name):
    req.headers_out.add("X-Phase", name)
    return apache.OK

def headerparserhandler(req): return _mark(req, "headerparser")
def inithandler(req): return _mark(req, "init")
def accesshandler(req): return _mark(req, "access")
def typehandler(req):
    req.headers_out.add("X-Phase", "type")
    return apache.DECLINED
def fixuphandler(req): return _mark(req, "fixup")

def handler(req):
    req.content_type = "text/plain"
    req.write(",".join(req.headers_out.getall("X-Phase") if hasattr(req.headers_out, "getall") else []), 0)
    return apache.OK

def _record(req, name):
    with open(req.get_options()["record"], "a") as f:
        f.write("%s %s\n" % (name, req.uri))
    return apache.OK

def loghandler(req): return _record(req, "log")
def cleanuphandler(req): return _record(req, "cleanup")

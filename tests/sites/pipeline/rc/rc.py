"""The phase named in ?phase= returns the code given in ?rc= (after writing
"<phase> ran;" unflushed); every other phase returns OK (or DECLINED where
OK would end a RUN_FIRST phase)."""
from urllib.parse import parse_qs
from mod_python import apache

def _phase(name, default):
    def h(req):
        q = parse_qs(req.args or "")
        if q.get("phase") == [name]:
            req.write("%s ran;" % name, 0)
            return int(q["rc"][0])
        return default
    return h

headerparserhandler = _phase("headerparser", apache.OK)
accesshandler = _phase("access", apache.OK)
typehandler = _phase("type", apache.DECLINED)
fixuphandler = _phase("fixup", apache.OK)

def handler(req):
    q = parse_qs(req.args or "")
    req.content_type = "text/plain"
    if q.get("phase") == ["handler"]:
        req.write("handler ran;", 0)
        if "status" in q:
            req.status = int(q["status"][0])
        return int(q["rc"][0])
    req.write("response;", 0)
    return apache.OK

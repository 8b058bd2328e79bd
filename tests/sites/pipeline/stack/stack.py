from mod_python import apache

def _writer(text, rc):
    def h(req):
        req.content_type = "text/plain"
        req.write(text, 0)
        return rc
    return h

first = _writer("first;", apache.OK)
second = _writer("second;", apache.OK)
third = _writer("third;", apache.OK)

import time
from mod_python import apache

def handler(req):
    time.sleep(2)
    req.content_type = "text/plain"
    req.write("slept")
    return apache.OK

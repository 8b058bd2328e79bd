from mod_python import apache

def handler(req):
    raise apache.SERVER_RETURN(apache.HTTP_FORBIDDEN)

def returns_none(req):
    req.write("no return value", 0)

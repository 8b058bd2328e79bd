from mod_python import apache

def handler(req):
    raise ValueError("boom in the handler")

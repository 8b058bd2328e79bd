from mod_python import apache

# Accepts every request that carries credentials and records what
# req.get_basic_auth_pw() / req.user made of the Authorization header.
def authenhandler(req):
    try:
        pw = req.get_basic_auth_pw()
    except Exception as e:
        req.notes["pw"] = "EXC %s: %s" % (type(e).__name__, e)
        return apache.OK
    req.notes["pw"] = repr(pw)
    req.notes["user"] = repr(req.user)
    return apache.OK

def handler(req):
    req.content_type = "text/plain"
    req.write("user=%s pw=%s ap_auth_type=%r\n" % (
        req.notes.get("user"), req.notes.get("pw"), req.ap_auth_type))
    return apache.OK

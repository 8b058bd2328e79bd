"""Echoes what the handler sees of the request."""
import json
from mod_python import apache

def handler(req):
    body = req.read()
    info = {
        "method": req.method, "uri": req.uri, "unparsed_uri": req.unparsed_uri,
        "args": req.args, "protocol": req.protocol, "the_request": req.the_request,
        "filename": req.filename, "path_info": req.path_info,
        "hostname": req.hostname, "header_only": req.header_only,
        "remote_ip": req.connection.remote_ip,
        "server_hostname": req.server.server_hostname,
        "host_header": req.headers_in.get("host"),
        "options": dict(req.get_options().items()),
        "body": body.decode("latin-1"),
        "content_type_in": req.headers_in.get("Content-Type"),
    }
    req.content_type = "application/json"
    req.headers_out["X-Echo"] = "yes"
    req.write(json.dumps(info, sort_keys=True))
    return apache.OK

def stream(req):
    req.content_type = "text/plain"
    for i in range(5):
        req.write("part %d\n" % i)
    return apache.OK

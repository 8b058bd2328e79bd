from mod_python import apache

ATTRS = ["the_request", "method", "method_number", "protocol", "proto_num",
         "assbackwards", "proxyreq", "header_only", "hostname", "uri",
         "unparsed_uri", "args", "filename", "canonical_filename", "path_info",
         "parsed_uri", "content_type", "handler", "status", "status_line",
         "user", "ap_auth_type", "no_cache", "no_local_copy", "content_encoding",
         "content_languages", "vlist_validator", "chunked", "clength",
         "remaining", "read_chunked", "range", "expecting_100", "used_path_info",
         "interpreter", "phase", "document_root", "request_time", "mtime",
         "finfo", "allowed", "allowed_methods"]

def handler(req):
    if req.filename.endswith("hdr.py"):
        # only touch the header named in the query string
        req.content_type = "text/plain"
        v = req.headers_in.get(req.args or "X-Lat")
        req.write("%s = %r (%s)\n" % (req.args, v, type(v).__name__))
        return apache.OK
    out = []
    for a in ATTRS:
        try:
            v = getattr(req, a)
        except Exception as e:
            v = "<%s: %s>" % (type(e).__name__, e)
        out.append("req.%s = %r" % (a, v))
    try:
        out.append("req.document_root() = %r" % (req.document_root(),))
    except Exception as e:
        out.append("req.document_root() -> %r" % e)
    out.append("type(req.headers_in) = %r" % type(req.headers_in))
    out.append("repr(req.headers_in) = %r" % (req.headers_in,))
    out.append("list(req.headers_in.items()) = %r" % (list(req.headers_in.items()),))
    out.append("type(req.headers_out) = %r ; repr = %r" % (type(req.headers_out), req.headers_out))
    out.append("req.connection.remote_ip = %r" % req.connection.remote_ip)
    for a in ("local_ip", "remote_addr", "local_addr", "keepalive", "keepalives", "id", "client_ip"):
        try:
            out.append("req.connection.%s = %r" % (a, getattr(req.connection, a)))
        except Exception as e:
            out.append("req.connection.%s -> %r" % (a, e))
    out.append("req.useragent_ip = %r" % (getattr(req, "useragent_ip", None),))
    for a in ("server_hostname", "port", "defn_name", "defn_line_number", "server_admin",
              "is_virtual", "timeout", "keep_alive", "keep_alive_max", "keep_alive_timeout",
              "names", "wild_names", "limit_req_line", "limit_req_fieldsize", "limit_req_fields"):
        try:
            out.append("req.server.%s = %r" % (a, getattr(req.server, a)))
        except Exception as e:
            out.append("req.server.%s -> %r" % (a, e))
    out.append("req.get_options() = %r" % (req.get_options(),))
    out.append("dict(req.get_options()) = %r" % (dict(req.get_options()),))
    out.append("req.get_config() = %r" % (req.get_config(),))
    out.append("dict(req.get_config()) = %r" % (dict(req.get_config()),))
    out.append("req.get_remote_host() = %r" % (req.get_remote_host(),))
    out.append("req.construct_url('/x') = %r" % (req.construct_url('/x'),))
    out.append("req.is_https() = %r" % (req.is_https(),))
    out.append("apache.mpm_query(apache.AP_MPMQ_IS_THREADED) = %r" % (apache.mpm_query(apache.AP_MPMQ_IS_THREADED),))
    import sys
    out.append("sys.version = %r" % sys.version)
    if req.method == "POST":
        out.append("body = %r" % req.read())
    req.content_type = "text/plain"
    req.write("\n".join(out) + "\n")
    return apache.OK

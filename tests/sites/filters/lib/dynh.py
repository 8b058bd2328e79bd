from mod_python import apache


def handler(req):
    """Filters added by the handler (req.register_*_filter, req.add_*_filter)."""
    what = req.args or ""
    req.content_type = "text/plain"
    if what == "unknown":
        req.add_output_filter("NOPE")             # no such filter: ignored
        req.write("added?", 0)
    elif what == "content_length":
        req.add_output_filter("CONTENT_LENGTH")   # Apache's own
        req.write("content", 0)
    elif what in ("dyn", "dynflush"):
        req.register_output_filter("MYCAP", "capf::outputfilter")
        req.add_output_filter("MYCAP")
        flush = what == "dynflush"
        req.write("dynamic ", flush)
        req.write("filter", flush)
    elif what == "afterwrite":
        req.write("before ")
        req.register_output_filter("MYCAP", "capf::outputfilter")
        req.add_output_filter("MYCAP")
        req.write("after")
    elif what == "server":
        req.add_output_filter("CAPF")             # one of the server's
        req.write("server filter", 0)
    elif what == "input":
        req.register_input_filter("MYIN", "capf::inputfilter")
        req.add_input_filter("MYIN")
        req.write(b"got:" + req.read(), 0)
    elif what == "badmod":
        req.register_output_filter("BAD", "nosuchmod::f")
        req.add_output_filter("BAD")
        req.write("x", 0)
    return apache.OK

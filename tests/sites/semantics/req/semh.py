from mod_python import apache

_CLEANUPS_SEEN = []     # what the last request's cleanups were called with


def handler(req):
    what = req.args or ""
    if what.startswith("redirect"):
        # the classic mod_python redirect: Location in headers_out, return the code
        req.headers_out["Location"] = "http://example.test/target"
        return int(what[len("redirect"):])
    if what == "created":
        req.headers_out["Location"] = "http://example.test/new"
        raise apache.SERVER_RETURN(apache.OK, apache.HTTP_CREATED)
    if what == "manual_cl":
        req.headers_out["Content-Length"] = "4"
        req.write("abcd")                    # flushed: the declared length, not chunks
        return apache.OK
    if what == "manual_cl_unflushed":
        req.headers_out["content-length"] = "4"
        req.write("abcd", 0)
        return apache.OK
    if what == "ctype_twice":
        req.headers_out["Content-Type"] = "application/x-custom"
        req.content_type = "text/plain"
        req.write("t")
        return apache.OK
    if what == "cookie_then_redirect":
        req.err_headers_out.add("Set-Cookie", "kept=1")
        req.internal_redirect("/granted/g.txt")
        return apache.OK
    if what == "conditions":
        req.update_mtime(1000000000)             # 2001-09-09
        req.set_last_modified()
        req.headers_out["ETag"] = '"abc"'
        rc = req.meets_conditions()
        if rc != apache.OK:
            return rc
        req.write("fresh")
        return apache.OK
    if what == "no_cache":
        req.no_cache = 1
        req.write("n")
        return apache.OK
    if what == "cgi_env":
        env = apache.build_cgi_env(req)
        req.write("%s %s %s" % (env["SCRIPT_NAME"], env["GATEWAY_INTERFACE"],
                                env["REQUEST_METHOD"]))
        return apache.OK
    if what == "status418":
        req.status = 418
        req.content_type = "text/plain"
        req.write("teapot")
        return apache.OK
    if what == "return418":
        return 418
    if what == "status_line":
        req.status_line = "200 Just Fine"
        req.write("fine")
        return apache.OK
    if what == "flush_only":
        req.content_type = "text/plain"
        req.flush()
        return apache.OK
    if what == "return416":
        return 416
    if what == "empty_write":
        req.content_type = "text/plain"
        req.write("")
        return apache.OK
    if what.startswith("write_then"):
        req.write("partial;")
        return int(what[len("write_then"):])
    if what == "remote_host":
        # order matters: the REMOTE_DOUBLE_REV look-up is kept by the connection
        seen = [req.get_remote_host(apache.REMOTE_HOST), req.get_remote_host(),
                req.get_remote_host(apache.REMOTE_NOLOOKUP, 1),
                req.get_remote_host(apache.REMOTE_DOUBLE_REV),
                req.get_remote_host(apache.REMOTE_NOLOOKUP, 1)]
        req.write(repr(seen))
        return apache.OK
    if what == "sendfile":
        req.content_type = "text/plain"
        n = req.sendfile(__file__, 5, 10)
        req.write(";sent=%d" % n)
        return apache.OK
    if what == "sendfile_missing":
        req.sendfile("/nonexistent/file.txt")
        return apache.OK
    if what == "write_int":
        req.write(7)
        return apache.OK
    if what == "return_none":
        req.write("forgot return;")
        return None
    if what == "server_return_empty":
        raise apache.SERVER_RETURN()
    if what == "allow_some":
        req.allow_methods(["PUT", "DELETE", "PATCH"])
        return apache.HTTP_METHOD_NOT_ALLOWED
    if what == "allow_all":
        req.allow_methods(list(apache.METHODS))
        return apache.HTTP_METHOD_NOT_ALLOWED
    if what == "hlist":
        req.write("%s|%s" % (req.hlist.handler, req.hlist.directory))
        return apache.OK
    if what == "redir_env":
        req.subprocess_env["MYVAR"] = "v1"
        req.internal_redirect("/req/target?redir_target&q=1")
        return apache.OK
    if what.startswith("redir_target"):
        env = req.subprocess_env
        req.write(repr((req.unparsed_uri, req.args, req.prev.next is req, env.get("REDIRECT_STATUS"),
                        env.get("REDIRECT_MYVAR"), env.get("MYVAR"), dict(req.notes))))
        return apache.OK
    if what == "cleanups":
        seen = _CLEANUPS_SEEN
        del seen[:]
        req.register_cleanup(seen.append, 1)
        req.register_cleanup(seen.append, 2)
        req.register_cleanup(seen.append)                  # no data: called with None
        try:
            req.register_cleanup("not callable")
        except ValueError as exc:
            seen.append("ValueError: %s" % exc)
        return apache.OK
    if what == "redir_cleanup":
        req.internal_redirect("/req/target?cleanup_target")
        return apache.OK
    if what == "cleanup_target":
        del _CLEANUPS_SEEN[:]
        req.register_cleanup(_CLEANUPS_SEEN.append, "from the target")
        return apache.OK
    if what == "cleanups_seen":
        req.write(repr(_CLEANUPS_SEEN))
        return apache.OK
    if what.startswith("line"):
        req.write(repr((req.args, req.the_request, req.unparsed_uri)).encode("utf-8"))
        return apache.OK
    if what == "server":
        s = req.server
        req.write(repr((s.port, s.loglevel, s.defn_name, s.next, apache.MODULE_MAGIC_NUMBER_MAJOR,
                        apache.mpm_query(apache.AP_MPMQ_IS_FORKED),
                        apache.mpm_query(apache.AP_MPMQ_MAX_THREADS), apache.interpreter,
                        req.interpreter)))
        return apache.OK
    if what == "sent":
        before = (req.status_line, req.sent_bodyct)
        req.status = 201
        req.write("x;")
        req.write(repr((before, req.status_line, req.sent_bodyct, req.read_body,
                        req.notes.get("python_init_ran"), req.hlist.silent,
                        req.connection.aborted, req.hostname)))
        return apache.OK
    if what == "logmsg":
        req.log_error("two\nlines \u00e9", apache.APLOG_WARNING)
        req.connection.log_error("from the connection")
        return apache.OK
    if what == "opts":
        req.write("%r %r %r" % (req.filename, req.path_info, sorted(req.get_options().items())))
        return apache.OK
    if what == "sys_exit":
        import sys
        sys.exit(3)
    if what == "stat":
        f = apache.stat(__file__, 0)
        missing = apache.stat("/nonexistent/file", 0)
        req.write("%s %s %r %s|%r %r" % (f.size == f["size"], f.fname == __file__, f.filetype,
                                        f.valid, missing.fname, missing.filetype))
        return apache.OK
    if what == "tree":
        req.write(repr(apache.config_tree()))
        return apache.OK
    if what == "empty":
        req.content_type = "text/plain"
        return apache.OK
    return apache.HTTP_NOT_FOUND


from mod_python import apache


def handler(req):
    req.content_type = "text/plain"
    what = req.args or ""
    if what == "finfo":
        # the documented way to name another file's validators
        req.finfo = apache.stat(req.filename.rsplit("/", 1)[0] + "/realfile",
                                apache.APR_FINFO_MIN)
        req.update_mtime(req.finfo.mtime)
        req.set_last_modified()
    elif what.startswith("mtime="):
        req.update_mtime(float(what[6:]))
    req.set_etag()
    status = req.meets_conditions()
    if status != apache.OK:
        return status
    info = req.finfo
    req.write("filetype=%d mtime=%r size=%r\n" % (info.filetype, req.mtime,
                                                  info[apache.FINFO_SIZE]))
    return apache.OK

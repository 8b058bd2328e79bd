import time

from mod_python import Session, apache


def handler(req):
    what = req.args or ""
    kw = {"secret": "s3cret"} if "secret" in what else {}
    if "short" in what:
        kw["timeout"] = 1
    sess = Session.Session(req, **kw)
    if "invalidate" in what:
        sess.invalidate()
    else:
        hits = sess.get("hits", 0)
        if "slow" in what:
            time.sleep(0.05)             # a window for a lost update, were it unlocked
        sess["hits"] = hits + 1
        sess.save()
    req.content_type = "text/plain"
    req.write("%s new=%d hits=%s" % (type(sess).__name__, sess.is_new(), sess.get("hits")))
    return apache.OK

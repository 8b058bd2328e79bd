"""The hardening site's handler: one module, the URL's file name picks the
behaviour. Markers (empty files named after what ran) go to the directory
named by FASTDISPATCH_HARDENING_MARKS, so tests can tell what executed."""
import ctypes
import os
import time

from mod_python import apache


def mark(name):
    directory = os.environ.get("FASTDISPATCH_HARDENING_MARKS")
    if directory:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:100]
        open(os.path.join(directory, safe or "none"), "w").close()


def handler(req):
    name = os.path.basename(req.filename)
    req.content_type = "text/plain"
    if name == "echo.py":
        body = req.read()
        req.write("%s %s %d\n" % (req.method, req.uri, len(body)))
    elif name == "canary.py":
        # the request the corpus smuggles after each case
        mark("canary-" + (req.args or "none"))
        req.write("canary\n")
    elif name == "pid.py":
        req.write(str(os.getpid()))
    elif name == "raise.py":
        raise RuntimeError("hardening: a handler that raises")
    elif name == "exit.py":
        os._exit(3)
    elif name == "segv.py":
        ctypes.string_at(0)                 # SIGSEGV in C
    elif name == "hang.py":
        while True:                         # never returns
            time.sleep(0.5)
    elif name == "sleep.py":
        time.sleep(float(req.args or "1"))
        req.write("slept\n")
    elif name == "version.py":
        req.write(req.get_options().get("generation", "none"))
    else:
        req.write("app %s\n" % name)
    return apache.OK

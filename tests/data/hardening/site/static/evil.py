# A .py file in a plain static directory: content, never code.
import os
open(os.path.join(os.environ["FASTDISPATCH_HARDENING_MARKS"], "evil-imported"), "w").close()
def index(req):
    return "evil"

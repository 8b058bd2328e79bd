# Names that mod_python's publisher let through over the years, and that
# fastdispatch refuses (404).
import os
import logging
import functools
from os.path import join
from shutil import rmtree
from json import JSONDecoder

logger = logging.getLogger("refuse")
decoder = JSONDecoder()
partial_join = functools.partial(os.path.join, "/etc")
builtin_len = len
text = "some text"
table = {"a": 1}

class Mine:
    label = "mine"
    cfg = JSONDecoder()
    def ok(self, req):
        return "mine ok"

mine = Mine()

class Child(JSONDecoder):
    def own(self, req):
        return "own method"

child = Child()

def index(req):
    return "refuse index"

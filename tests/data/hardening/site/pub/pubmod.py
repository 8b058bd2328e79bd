"""A publisher module full of things that must not be reachable. Anything
that runs leaves a marker (see app/app.py) so tests can tell."""
import functools
import logging
import os
import os.path
import sys
from os.path import join
from shutil import rmtree as nuke


def _mark(name):
    directory = os.environ.get("FASTDISPATCH_HARDENING_MARKS")
    if directory:
        open(os.path.join(directory, "pub-" + name), "w").close()


_private = "private value"
SECRET_TOKEN = "not-a-callable"


def index(req):
    return "pubmod index"


def public(req, what="nothing"):
    _mark("public")
    return "public " + what


def _secret(req):
    _mark("secret")
    return "secret"


class Klass:
    attr = "class attribute"

    def __init__(self, *args, **kwargs):
        _mark("klass_init")

    def method(self, req):
        _mark("klass_method")
        return "method"

    def _private_method(self, req):
        _mark("klass_private_method")
        return "private method"

    def __call__(self, req):
        _mark("klass_call")
        return "called"


thing = Klass.__new__(Klass)
mylen = len
myeval = eval
logger = logging.getLogger("pubmod")
mydict = {"a": 1}
text = "hello"
partial_join = functools.partial(os.path.join, "/etc")
lam = lambda req: _mark("lambda") or "lambda"   # noqa: E731 (defined here: published)


def protected(req):
    __auth__ = {"spam": "eggs"}
    _mark("protected")
    return "protected"

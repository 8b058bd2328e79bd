"""The one place that picks compiled hot paths or their pure-Python twins.

Every hot path (``_http``, ``_uri``, ``_lookup``, ``_headers``, ``_auth``) has a
pure twin in ``fastdispatch._pure`` with the same API. The compiled module
``fastdispatch._<name>`` is used when it imports, unless
``FASTDISPATCH_NO_EXTENSIONS=1`` forces the twins. Nothing else in the package
imports a compiled module directly.
"""
import importlib
import os

HOT_PATHS = ("_http", "_uri", "_lookup", "_headers", "_auth")

NO_EXTENSIONS = os.environ.get("FASTDISPATCH_NO_EXTENSIONS", "") not in ("", "0")


def _load(name):
    if not NO_EXTENSIONS:
        try:
            return importlib.import_module("fastdispatch." + name), True
        except ImportError:
            pass
    return importlib.import_module("fastdispatch._pure." + name), False


def load_pure(name):
    return importlib.import_module("fastdispatch._pure." + name)


def load_compiled(name):
    """The compiled module, or None when it was not built (tests use this)."""
    try:
        return importlib.import_module("fastdispatch." + name)
    except ImportError:
        return None


_modules = {}
EXTENSIONS = {}  # name -> True when the compiled module is in use
for _name in HOT_PATHS:
    try:
        _modules[_name], EXTENSIONS[_name] = _load(_name)
    except ImportError:  # twin not written yet in a partial checkout
        EXTENSIONS[_name] = False

http = _modules.get("_http")
uri = _modules.get("_uri")
lookup = _modules.get("_lookup")
headers = _modules.get("_headers")
auth = _modules.get("_auth")

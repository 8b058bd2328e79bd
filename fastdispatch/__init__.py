"""fastdispatch: mod_python's request-processing model without Apache.

    import fastdispatch
    app = fastdispatch.Dispatcher.from_config("site.conf")   # or Dispatcher.build(...)
    app.wsgi(); app.asgi(); app.connection()                 # hosted anywhere

Public names (imported on first use, so ``import fastdispatch`` stays light):
``Dispatcher``, ``Request``, the section builders (``Directory``,
``DirectoryMatch``, ``Files``, ``FilesMatch``, ``Location``, ``LocationMatch``,
``build_config``), ``Config``, ``ConfigError``, ``HTTPError``, the ``apache``
module and its return codes (``OK``, ``DECLINED``, ``DONE``, ``HTTP_*``,
``SERVER_RETURN``).
"""
__version__ = "0.1.0"

from fastdispatch._speedups import EXTENSIONS  # noqa: E402

_LAZY = {
    "Dispatcher": ("fastdispatch.dispatch", "Dispatcher"),
    "Request": ("fastdispatch.request", "Request"),
    "Directory": ("fastdispatch.builder", "Directory"),
    "DirectoryMatch": ("fastdispatch.builder", "DirectoryMatch"),
    "Files": ("fastdispatch.builder", "Files"),
    "FilesMatch": ("fastdispatch.builder", "FilesMatch"),
    "Location": ("fastdispatch.builder", "Location"),
    "LocationMatch": ("fastdispatch.builder", "LocationMatch"),
    "build_config": ("fastdispatch.builder", "build_config"),
    "Config": ("fastdispatch.config.model", "Config"),
    "ConfigError": ("fastdispatch.errors", "ConfigError"),
    "HTTPError": ("fastdispatch.errors", "HTTPError"),
    "apache": ("fastdispatch.apache", None),
    "SERVER_RETURN": ("fastdispatch.apache", "SERVER_RETURN"),
}
_CODES = ("OK", "DECLINED", "DONE", "SUSPENDED")

__all__ = sorted(list(_LAZY) + list(_CODES) + ["EXTENSIONS", "__version__"])


def __getattr__(name):
    import importlib
    where = _LAZY.get(name)
    if where is None:
        if name in _CODES or name.startswith("HTTP_"):
            where = ("fastdispatch.apache", name)
        else:
            raise AttributeError("module 'fastdispatch' has no attribute %r" % name)
    module = importlib.import_module(where[0])
    value = module if where[1] is None else getattr(module, where[1])
    globals()[name] = value
    return value


def __dir__():
    return __all__

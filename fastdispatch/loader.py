"""Handler loading: ``module[::object]`` resolution, import and autoreload,
and the ``mod_python`` alias modules.

A handler module found in the directive's directory is loaded from its file
under a name unique to that file, so two directories that each have a
``myscript.py`` get two modules (mod_python's importer mixes them up). It is
re-imported when its file changes, while PythonAutoReload is on. Modules not
found there are imported the ordinary way (``mod_python.publisher``,
installed packages) after the directory is put on ``sys.path``.
"""
import importlib
import importlib.abc
import importlib.util
import inspect
import logging
import os
import re
import sys
import threading
import time

log = logging.getLogger("fastdispatch.error")

_lock = threading.RLock()
RELOAD_CHECK_INTERVAL = 1.0  # seconds between mtime checks of a handler file
_checked = {}      # file path -> monotonic time of its last mtime check
_by_path = {}      # absolute file path -> (module, mtime)
_added_paths = set()
_monotonic = time.monotonic     # (resolve reads it for every request)

# ---------------------------------------------------------------- aliases

ALIASES = {
    "mod_python.apache": "fastdispatch.apache",
    "mod_python.Cookie": "fastdispatch.cookie",
    "mod_python.Session": "fastdispatch.session",
    "mod_python.publisher": "fastdispatch.handlers.publisher",
    "mod_python.psp": "fastdispatch.psp",
    "mod_python.util": "fastdispatch.util",
    "mod_python.wsgi": "fastdispatch.handlers.wsgi_handler",
    "mod_python.cgihandler": "fastdispatch.handlers.cgihandler",
}


class _AliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolves ``mod_python`` and ``mod_python.<x>`` to fastdispatch's own
    modules. It sits last on sys.meta_path, so a real mod_python wins."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname == "mod_python" or fullname in ALIASES:
            return importlib.util.spec_from_loader(fullname, self,
                                                   is_package=fullname == "mod_python")
        return None

    def create_module(self, spec):
        if spec.name == "mod_python":
            return None  # a fresh, empty package module
        return importlib.import_module(ALIASES[spec.name])

    def exec_module(self, module):
        if module.__name__ == "mod_python":
            module.__path__ = []
            module.version = "3.5.0 (fastdispatch)"


_finder = _AliasFinder()


def install_aliases():
    if _finder not in sys.meta_path:
        sys.meta_path.append(_finder)


# ---------------------------------------------------------------- importing

def add_to_sys_path(directory):
    """Prepend a handler directive's directory to sys.path, once."""
    if directory and directory not in _added_paths:
        with _lock:
            if directory not in _added_paths:
                _added_paths.add(directory)
                if directory not in sys.path:
                    sys.path.insert(0, directory)


_found = {}  # (name, directories) -> (monotonic expiry, path or None)


def _find_file(name, directories):
    """The file a handler module name means in ``directories``; answers are
    kept for RELOAD_CHECK_INTERVAL so a request does not stat for it."""
    key = (name, tuple(directories))
    now = _monotonic()
    hit = _found.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    path = _search_file(name, directories)
    if len(_found) > 4096:
        _found.clear()
    _found[key] = (now + RELOAD_CHECK_INTERVAL, path)
    return path


def _search_file(name, directories):
    rel = name.replace(".", os.sep)
    for d in directories:
        if not d:
            continue
        for candidate in (os.path.join(d, rel + ".py"), os.path.join(d, rel, "__init__.py")):
            if os.path.isfile(candidate):
                return candidate
    return None


_NOT_WORD = re.compile(r"\W+")


def _module_name(path, name):
    """The ``__name__`` mod_python gives a module: a handler module found by
    name keeps its name (``clsh``); one loaded by path (the publisher's) is
    named after the path, every run of non-word characters one "_"
    (``_srv_app_hello_py``)."""
    return name if name is not None else _NOT_WORD.sub("_", path)


def _load_file(path, log_reload=False, name=None):
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError:
        raise ImportError("No module file at %s" % path, path=path) from None
    name = _module_name(path, name)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    module.__mp_path__ = path
    # in sys.modules (so pickling, dataclasses and a sibling's "import clsh"
    # find it) unless the name is a module of some other origin's: a
    # handler module named like a library module must not replace it
    previous = sys.modules.get(name)
    register = previous is None or hasattr(previous, "__mp_path__")
    if register:
        sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        if register:
            if previous is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = previous
        raise
    _by_path[path] = (module, mtime)
    if log_reload:
        log.info("fastdispatch: imported %s", path)
    return module


def import_module(module_name, autoreload=None, log=False, path=None):
    """Import ``module_name`` (a dotted name or a path to a .py file),
    looking first in ``path`` (a list of directories); re-import it when its
    file changed and ``autoreload`` is true (the default)."""
    if autoreload is None:
        autoreload = True
    if module_name.endswith(".py") or os.path.isabs(module_name):
        filename = os.path.abspath(module_name)
        name = None
    else:
        filename = _find_file(module_name, path or ())
        name = module_name
    if filename is None:
        module = importlib.import_module(module_name)
        if autoreload:
            module = _maybe_reload_plain(module)
        return module
    return import_file(filename, autoreload, log, name)


def import_file(filename, autoreload=True, log=False, name=None):
    """``import_module`` for the .py file at ``filename``, an absolute and
    normalised path (the publisher's, which has one already)."""
    module = None
    cached = _by_path.get(filename)
    if cached is not None:
        module, mtime = cached
        if not autoreload:
            return module
        # mod_python stats the file on every request; once a second is
        # enough to notice an edit, and keeps stat() off the hot path.
        now = _monotonic()
        if now - _checked.get(filename, 0.0) < RELOAD_CHECK_INTERVAL:
            return module
        _checked[filename] = now
        try:
            current = os.stat(filename).st_mtime_ns
        except OSError:
            return module
        if current == mtime:
            return module
    with _lock:
        cached = _by_path.get(filename)
        if cached is not None and cached[0] is not module:
            return cached[0]  # another thread re-imported it meanwhile
        return _load_file(filename, log_reload=log, name=name)


def _maybe_reload_plain(module):
    f = getattr(module, "__file__", None)
    if not f or module.__name__.startswith(("fastdispatch", "mod_python")):
        return module
    with _lock:
        try:
            mtime = os.stat(f).st_mtime_ns
        except OSError:
            return module
        seen = _by_path.get(f)
        if seen is None:
            _by_path[f] = (module, mtime)
        elif seen[1] != mtime:
            module = importlib.reload(module)
            _by_path[f] = (module, mtime)
    return module


# ---------------------------------------------------------------- resolving

class HandlerNotFound(Exception):
    """The module imported but has no such object (silent handlers decline)."""


def resolve(entry, req, autoreload=True, python_path=None):
    """The callable for a HandlerEntry: import its module and walk the
    dotted object, instantiating classes with ``req`` as mod_python does.

    A plain callable (no class on the way) is kept on the entry for
    RELOAD_CHECK_INTERVAL: the same time import_module trusts a module file
    without looking at its mtime."""
    cached = entry.resolved
    if cached is not None and python_path is None and cached[1] is autoreload \
            and cached[0] > _monotonic():
        return cached[2]
    directory = entry.directory
    if python_path is not None:
        for p in reversed(python_path):
            add_to_sys_path(p)
    elif directory:
        add_to_sys_path(directory)
    search = [directory] if directory else []
    module = import_module(entry.module, autoreload=autoreload, path=search)
    obj = module
    made = False
    for part in entry.object.split("."):
        if inspect.isclass(obj):
            # a class with a name after it is instantiated with the request
            # (mod_python's resolve_object); the last object is called as is,
            # so a class named last makes an instance, not a result
            obj = obj(req)
            made = True
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise HandlerNotFound("module '%s' contains no '%s'"
                                  % (entry.module, entry.object)) from None
    entry.resolved = None if made or python_path is not None else \
        (_monotonic() + RELOAD_CHECK_INTERVAL, autoreload, obj)
    return obj

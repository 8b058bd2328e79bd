"""The one place that picks compiled hot paths or their pure-Python twins.

Every hot path (``_http``, ``_uri``, ``_lookup``, ``_headers``, ``_auth``) has a
pure twin in ``fastdispatch._pure`` with the same API. The compiled module
``fastdispatch._<name>`` is used when it imports, unless
``FASTDISPATCH_NO_EXTENSIONS=1`` forces the twins. Nothing else in the package
imports a compiled module directly.

The compiled layers (``fastdispatch._layers``: the request, the dispatcher,
the server loop, compiled from their own ``.py``) are picked here too, by an
import hook installed before any of them is imported: each runs from its
source when ``FASTDISPATCH_NO_EXTENSIONS=1`` or ``FASTDISPATCH_SOURCE_LAYERS=1``
(or a comma-separated list of the layers to run so: ``request,server._worker``)
(the hot paths stay compiled: for profilers that see Python frames only),
when it was not built, or when the ``.py`` was changed after it was built --
an edit takes effect before the next build, never silently not at all.
"""
import importlib
import importlib.machinery
import importlib.util
import os
import sys

from fastdispatch._layers import CIMPORTS, COMPILED_LAYERS

HOT_PATHS = ("_http", "_uri", "_lookup", "_headers", "_auth")

NO_EXTENSIONS = os.environ.get("FASTDISPATCH_NO_EXTENSIONS", "") not in ("", "0")
_SOURCE_ASKED = os.environ.get("FASTDISPATCH_SOURCE_LAYERS", "")
SOURCE_LAYERS = NO_EXTENSIONS or _SOURCE_ASKED == "1"


def _source_asked(name):
    """Whether the environment asks for this layer's source."""
    if SOURCE_LAYERS:
        return True
    if _SOURCE_ASKED in ("", "0"):
        return False
    wanted = {part.strip() for part in _SOURCE_ASKED.split(",")}
    return name in wanted or name.split(".", 1)[1] in wanted

# a build is older than its source when the .py is newer by more than this
# (an install writes both files within moments of each other)
STALE_SLACK_SECS = 2.0


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


# --------------------------------------------------------------- compiled layers

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def layer_files(name):
    """(source path, compiled path or None) of a layer module."""
    base = os.path.join(_PACKAGE_DIR, *name.split(".")[1:])
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        if os.path.exists(base + suffix):
            return base + ".py", base + suffix
    return base + ".py", None


def use_compiled(source, compiled, slack=STALE_SLACK_SECS):
    """Whether a layer runs compiled: ``"compiled"``, or why not
    (``"not built"``, ``"stale"``: the source, or the ``.pxd`` beside it,
    changed after the build; a build from another ``.pxd`` may not even load
    beside the builds that cimport it)."""
    if compiled is None:
        return "not built"
    try:
        built = os.stat(compiled).st_mtime + slack
        if os.stat(source).st_mtime > built:
            return "stale"
    except OSError:         # no source shipped: the build is all there is
        return "compiled"
    try:
        if os.stat(os.path.splitext(source)[0] + ".pxd").st_mtime > built:
            return "stale"
    except OSError:         # (a layer without a .pxd)
        pass
    return "compiled"


class _SourceLayers:
    """Meta-path finder that loads the listed layer modules from their .py
    (ahead of the extension module the default finder would prefer)."""

    def __init__(self, sources):
        self.sources = sources          # module name -> .py path

    def find_spec(self, fullname, path=None, target=None):
        source = self.sources.get(fullname)
        if source is None:
            return None
        return importlib.util.spec_from_file_location(fullname, source)


LAYERS = {}        # layer module name -> "compiled", "source" (asked for),
#                    "not built", "stale" or "source (X is)": a layer whose
#                    build needs X's build (CIMPORTS) while X runs from source


def _state(name):
    """A layer's state, or a hot path's: "compiled", else why not."""
    if name in LAYERS:
        return LAYERS[name]
    return "compiled" if EXTENSIONS.get(name.split(".", 1)[1]) else "pure-Python twin"


def _pick_layers():
    files = {name: layer_files(name) for name in COMPILED_LAYERS}
    stale = []
    for name, (source, compiled) in files.items():
        state = "source" if _source_asked(name) else use_compiled(source, compiled)
        LAYERS[name] = state
        if state == "stale":
            stale.append(name)
    # (until nothing changes: a layer run from source makes the layers that
    # cimport it run so too)
    changed = True
    while changed:
        changed = False
        for name, needed in CIMPORTS.items():
            for other in needed:
                if LAYERS[name] == "compiled" and _state(other) != "compiled":
                    LAYERS[name] = "source (%s is)" % other.split(".", 1)[1]
                    changed = True
    sources = {name: source for name, (source, compiled) in files.items()
               if LAYERS[name] != "compiled" and compiled is not None}
    if stale:
        sys.stderr.write(
            "fastdispatch: running from source, changed since they were compiled: %s "
            "(rebuild: python3 -m pip install -e .)\n" % " ".join(stale))
    if sources:
        sys.meta_path.insert(0, _SourceLayers(sources))


_pick_layers()

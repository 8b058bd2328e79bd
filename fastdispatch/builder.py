"""The configuration of a site, written in Python instead of a config file.

The tutorial's hello-world block::

    <Directory htdocs/mywebdir>
        AddHandler mod_python .py
        PythonHandler myscript
        PythonDebug On
    </Directory>

is, in Python::

    from fastdispatch import Dispatcher, Directory

    app = Dispatcher.build(
        Directory("htdocs/mywebdir",
                  AddHandler=("mod_python", ".py"),
                  PythonHandler="myscript",
                  PythonDebug=True),
        DocumentRoot="htdocs",
        base_dir=os.path.dirname(__file__))

Directives keep their Apache names (keyword arguments, any case Apache
accepts, checked against the same table as the config parser: an unknown
one is a ConfigError). A value is one directive line:

* a ``str`` (or number, or path) is its one argument: ``AuthName="Restricted Area"``;
* a ``tuple`` is its arguments: ``AddHandler=("mod_python", ".py", ".psp")``;
* ``True`` / ``False`` are ``On`` / ``Off``; ``None`` leaves the directive out;
* a ``list`` is several lines of the same directive, each a str or a tuple:
  ``PythonOption=[("a", "1"), ("b", "2")]``.

Positional arguments of a section (and of ``build``) are nested sections --
``<Files>``/``<FilesMatch>`` inside a ``<Directory>``, as Apache allows --
or directive lines written as tuples, ``("AddType", "text/plain", ".log")``,
for when the order of lines matters. Relative paths (section patterns,
``DocumentRoot``, ``Alias`` targets...) resolve against ``base_dir``
(default: the current directory), as a config file's resolve against its
directory. The result is the same ``Config`` the parser builds from the
equivalent file.
"""
import logging
import os
import re

from fastdispatch.config import directives as D
from fastdispatch.config.model import Config, Directive, Section, handler_context
from fastdispatch.errors import ConfigError

log = logging.getLogger("fastdispatch.error")

SOURCE = "<python>"


class _Block:
    """A section as written in Python; ``build_config`` turns it into a
    ``config.model.Section``."""
    kind = ""
    regex = False

    def __init__(self, pattern, *items, **directives):
        if not isinstance(pattern, (str, os.PathLike)):
            raise TypeError("%s() wants a pattern (str) first, not %r"
                            % (type(self).__name__, pattern))
        self.pattern = os.fspath(pattern)
        self.items = items
        self.directives = directives

    def __repr__(self):
        return "%s(%r, ...)" % (type(self).__name__, self.pattern)


class Directory(_Block):
    """``<Directory path>``: a directory and everything under it."""
    kind = "directory"


class DirectoryMatch(_Block):
    """``<DirectoryMatch regex>``."""
    kind = "directory"
    regex = True


class Files(_Block):
    """``<Files name>`` (wildcards allowed), alone or inside a Directory."""
    kind = "files"


class FilesMatch(_Block):
    """``<FilesMatch regex>``."""
    kind = "files"
    regex = True


class Location(_Block):
    """``<Location /url-path>``."""
    kind = "location"


class LocationMatch(_Block):
    """``<LocationMatch regex>``."""
    kind = "location"
    regex = True


def _arg(name, value):
    if isinstance(value, bool):
        return "On" if value else "Off"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (str, os.PathLike)):
        return os.fspath(value)
    raise ConfigError("%s: cannot use %r (%s) as an argument"
                      % (name, value, type(value).__name__), SOURCE, 0)


def _lines(name, value):
    """The argument lists of the directive lines ``value`` stands for."""
    if value is None:
        return []
    if isinstance(value, list):
        out = []
        for v in value:
            out.extend(_lines(name, v))
        return out
    if isinstance(value, tuple):
        return [[_arg(name, v) for v in value]]
    return [[_arg(name, value)]]


class _Builder:
    def __init__(self, base_dir):
        self.base = os.path.abspath(base_dir if base_dir is not None else os.getcwd())
        self.config = Config()
        self.config.source = SOURCE
        self._warned = set()

    def items(self, items, directives, section):
        for item in items:
            if isinstance(item, _Block):
                self.section(item, section)
            elif isinstance(item, tuple) and item and isinstance(item[0], str):
                self.directive(item[0], [_arg(item[0], v) for v in item[1:]], section)
            else:
                raise ConfigError("expected a section (Directory(...), Files(...), ...) or "
                                  "a directive tuple, not %r" % (item,), SOURCE, 0)
        for name, value in directives.items():
            for args in _lines(name, value):
                self.directive(name, args, section)

    def section(self, block, enclosing):
        kind = block.kind
        if enclosing is not None and not (kind == "files" and enclosing.kind == "directory"):
            raise ConfigError("<%s> is not allowed inside <%s>" % (kind, enclosing.kind),
                              SOURCE, 0)
        pattern = block.pattern
        if block.regex:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ConfigError("bad regular expression %r: %s" % (pattern, exc),
                                  SOURCE, 0) from None
        elif kind == "directory":
            p = os.path.expanduser(pattern)
            pattern = os.path.normpath(p if os.path.isabs(p) else os.path.join(self.base, p))
            pattern = pattern.rstrip("/") or "/"
        section = Section(kind=kind, pattern=pattern, regex=block.regex, filename=SOURCE,
                          lineno=0, parent=enclosing)
        self.config.sections.append(section)
        self.items(block.items, block.directives, section)

    def directive(self, name, args, section):
        key = name.lower()
        spec = D.KNOWN.get(key)
        if spec is None:
            hint = "; write it out in Python" if key in ("include", "includeoptional") else ""
            raise ConfigError("Invalid command '%s', perhaps misspelled or not supported by "
                              "fastdispatch%s" % (name, hint), SOURCE, 0)
        if spec.ignored:
            if key not in self._warned:
                self._warned.add(key)
                log.warning("%s: %s has no effect in fastdispatch and is ignored", SOURCE, name)
            return
        if section is not None and spec.server_only:
            raise ConfigError("%s not allowed in <%s> context" % (name, section.kind),
                              SOURCE, 0)
        spec.check(name, args, SOURCE, 0)
        directory, context = handler_context(section)
        d = Directive(name=name, args=spec.normalize(args, self.base), filename=SOURCE,
                      lineno=0, directory=directory, context=context)
        if key == "pythonpath":
            from fastdispatch.config.merge import _eval_python_path
            _eval_python_path(d)
        if section is None:
            D.apply_server(self.config, d)
        else:
            section.directives.append(d)

    def finish(self):
        cfg = self.config
        if not cfg.document_root:
            cfg.document_root = self.base
        return cfg


def build_config(*items, base_dir=None, **directives):
    """A ``Config`` from sections and server-wide directives written in
    Python (see the module docstring); ``Dispatcher.build`` takes the same
    arguments."""
    b = _Builder(base_dir)
    b.items(items, directives, None)
    return b.finish()

"""Per-directory configuration: the directives of the sections that apply to
a request, merged in Apache's order into one DirConfig.

Merging is done once per distinct combination of sections (the lookup caches
it), never per request.
"""
import os
import re

from fastdispatch import access_compat, authz
from fastdispatch.config.alias import REDIRECT_DIRECTIVES, parse_redirect
from fastdispatch.config.pcre import translate as translate_pcre
from fastdispatch.config.directives import KNOWN, PHASE_OF_DIRECTIVE, PHASES, default_object
from fastdispatch.errors import ConfigError


class HandlerEntry:
    """One handler of a Python*Handler line."""
    __slots__ = ("module", "object", "directory", "exts", "directive", "phase",
                 "filename", "lineno", "silent", "python_path", "resolved", "hlist",
                 "dynamic", "location", "matched", "_in_dirs")

    def __init__(self, spec, directive, phase, directory, exts=None, filename="<python>",
                 lineno=0, silent=False, context=""):
        module, sep, obj = spec.partition("::")
        if not module or (sep and not obj):
            raise ConfigError("bad handler %r (want module[::object])" % spec, filename, lineno)
        self.module = module
        self.object = obj if sep else default_object(directive)
        # (model.handler_context): the import directory; a <Location>'s
        # pattern is only shown; a matching section's directory is per file
        self.directory = (directory or None) if not context else None
        self.location = directory if context == "location" else None
        self.matched = MatchedDirectory(directory, context == "regex") \
            if context in ("regex", "wildcard") else None
        self._in_dirs = None
        self.exts = exts
        self.directive = directive
        self.phase = phase
        self.filename = filename
        self.lineno = lineno
        self.silent = silent  # PythonHandlerModule: a missing object declines
        self.resolved = None  # loader.resolve's answer while it is trusted
        self.hlist = None     # dispatch's req.hlist for this entry, made once
        self.dynamic = False  # added by req.add_handler(): runs whatever the file

    def in_directory(self, filename):
        """This entry as it runs for ``filename`` (a matching section's
        entry: a copy with the directory the section matched; the copy keeps
        its own resolved callable)."""
        directory = self.matched.resolve(filename)
        seen = self._in_dirs
        if seen is None:
            seen = self._in_dirs = {}
        entry = seen.get(directory)
        if entry is None:
            if len(seen) >= 256:
                seen.clear()
            entry = seen[directory] = HandlerEntry.__new__(HandlerEntry)
            for slot in HandlerEntry.__slots__:
                if hasattr(self, slot):     # (python_path is set by some only)
                    setattr(entry, slot, getattr(self, slot))
            entry.directory = directory
            entry.matched = entry._in_dirs = entry.resolved = entry.hlist = None
        return entry

    @property
    def name(self):
        return self.module if self.object == default_object(self.directive) \
            else "%s::%s" % (self.module, self.object)

    @property
    def key(self):
        """mod_python's handler-list key: None for the phase's general list,
        else the one extension of a '| .ext' line (one entry per extension)."""
        return self.exts[0] if self.exts else None

    def __repr__(self):
        return "<HandlerEntry %s %s::%s>" % (self.directive, self.module, self.object)


class MatchedDirectory:
    """The directory a <DirectoryMatch>, <Directory ~> or wildcard
    <Directory> matched for a file: mod_python's ``hlist.directory`` there,
    and where it imports the handler module from. It is the shortest of the
    file's directories the section matches, with a trailing slash:
    <DirectoryMatch "htdocs/rw"> gives '/srv/htdocs/rw/' for
    /srv/htdocs/rw/sub/x.py, <Directory /srv/*/deep> '/srv/a/deep/' for
    /srv/a/deep/more/x.py (as mod_python 3.5 on Apache 2.4.71 gives them)."""

    def __init__(self, pattern, regex):
        self.pattern = pattern
        # a wildcard section matched at its own depth (lookup's test)
        self._regex = re.compile(translate_pcre(pattern)) if regex else None
        self._depth = pattern.count("/")
        self._seen = {}

    def resolve(self, filename):
        if not filename:
            return None
        parent = filename.rsplit("/", 1)[0] + "/"
        found = self._seen.get(parent)
        if found is None:
            found = self._find(parent)
            if len(self._seen) >= 1024:
                self._seen.clear()
            self._seen[parent] = found
        return found

    def _find(self, parent):
        end = 0
        depth = 0
        while True:
            end = parent.find("/", end + 1)
            if end < 0:
                return parent
            depth += 1
            prefix = parent[:end + 1]
            if self._regex is None:
                if depth == self._depth:
                    return prefix
            elif self._regex.search(prefix):
                return prefix


def handler_ext(filename):
    """The extension mod_python picks a '| .ext' handler list by: the file
    name from its first dot ('.tar.gz' for a.tar.gz), '' for none, None
    before a file is known."""
    if not filename:
        return None
    base = filename.rpartition("/")[2]
    dot = base.find(".")
    return base[dot:] if dot >= 0 else ""


def entries_for_file(entries, filename):
    """The handlers of a phase that run for ``filename``, as mod_python's
    python_handler picks them: the list kept for the file's extension when
    there is one ('| .ext' lines), else the general list; then those added
    by req.add_handler()."""
    ext = handler_ext(filename)
    if ext and any(e.exts is not None and e.exts[0] == ext for e in entries):
        return [e for e in entries if (e.exts is not None and e.exts[0] == ext) or e.dynamic]
    return [e for e in entries if e.exts is None]


def _split_handlers(args):
    """'a b | .py .psp' -> (['a', 'b'], ('.py', '.psp') or None)."""
    if "|" in args:
        i = args.index("|")
        return args[:i], tuple(args[i + 1:]) or None
    return args, None


# Apache 2.4's default Options is FollowSymLinks; "All" has it too
_DEFAULT_LINK_OPTIONS = frozenset(("followsymlinks",))
_LINK_OPTIONS = frozenset(("followsymlinks", "symlinksifownermatch"))


def _link_options(inherited, args):
    """The symbolic link options after an Options line: plain names replace
    the inherited set, +/- names change it (core.c's merge)."""
    if not args[0].startswith(("+", "-")):
        names = {a.lower() for a in args}
        if "all" in names:
            names.add("followsymlinks")
        return frozenset(names & _LINK_OPTIONS)
    out = set(inherited)
    for a in args:
        name = a[1:].lower()
        names = {"followsymlinks"} if name == "all" else {name} & _LINK_OPTIONS
        if a[0] == "+":
            out |= names
        else:
            out -= names
    return frozenset(out)


_MIME_MAPS = {"addcharset": "add_charset", "addencoding": "add_encoding",
              "addlanguage": "add_language"}
_MIME_REMOVALS = {"removetype": "add_type", "removecharset": "add_charset",
                  "removeencoding": "add_encoding", "removelanguage": "add_language"}

_CONFIG_NAMES = {n.lower(): n for n in (
    "PythonDebug", "PythonAutoReload", "PythonEnablePdb", "PythonPath", "PythonInterpreter",
    "PythonInterpPerDirectory", "PythonInterpPerDirective", "PythonOptimize")}


def _on(d):
    return d.args[0].lower() == "on"


# Apache's ap_is_url: a scheme (letters, digits, + - .) and a colon
_URL_SCHEME = re.compile(r"[A-Za-z0-9+.-]+:")


def error_document(arg):
    """An ErrorDocument's second argument (quotes already removed) as the
    dispatcher keeps it, by Apache 2.4's rule: text with a space is a
    message, a leading slash a local URL, scheme: an external one
    (mailto:x@y too), any other word a message. Messages are kept with a leading '"' (as Apache
    does); "default" gives None (the built-in page again)."""
    if arg.lower() == "default":
        return None
    if " " in arg or not (arg.startswith("/") or _URL_SCHEME.match(arg)):
        return '"' + arg
    return arg


class DirConfig:
    """The merged per-directory configuration in force for a request."""

    def __init__(self):
        self.handlers = {}            # phase -> [HandlerEntry]
        self.ext_phases = frozenset()  # phases with '| .ext' lists (entries_for_file)
        self.debug = False
        self.autoreload = True
        # EnableSendfile: on unless turned off (Apache's default is Off; here
        # the bytes on the wire are the same either way, only the copies differ)
        self.enable_sendfile = True
        self.python_path = None       # list of str (PythonPath) or None
        self.options = {}             # PythonOption
        self.interpreter = None
        self.add_handler = {}         # ".py" -> "mod_python"
        self.set_handler = None
        self.add_type = {}            # ".html" -> "text/html"
        self.set_output_filter = None  # SetOutputFilter: ["name", ...]
        self.add_output_filter = {}   # AddOutputFilter: ".txt" -> ["name", ...]
        self.set_input_filter = None  # SetInputFilter
        self.add_input_filter = {}    # AddInputFilter
        self.has_filters = False      # any of the four (one test per request)
        self.force_type = None
        self.default_type = None      # (DefaultType: Apache 2.4 ignores it, so does this)
        self.default_charset = None
        # mod_mime's other mappings: ".utf8" -> "utf-8", ".gz" -> "x-gzip",
        # ".en" -> "en"; DefaultLanguage (static.encoding_and_languages)
        self.add_charset = {}
        self.add_encoding = {}
        self.add_language = {}
        self.default_language = None
        self.mime_extras = False            # any of the three maps, or DefaultLanguage
        self.accept_path_info = "default"   # AcceptPathInfo: on, off, default
        self.directory_slash = True         # DirectorySlash
        self.link_options = _DEFAULT_LINK_OPTIONS  # Options: the symbolic link ones
        self.directory_index = ["index.html"]
        self.error_documents = {}     # 404 -> "/missing.html" or '"text'
        # mod_alias in sections: the section-wide Redirect (the most specific
        # section's, else None) and the URL-path/regex ones, the most
        # specific section's first (config.alias.RedirectRule)
        self.redirect_all = None
        self.redirects = ()
        self.limit_request_body = None
        self.env_vars = {}            # SetEnv / PassEnv, less UnsetEnv (mod_env)
        self.auth_type = None
        self.auth_name = None
        self.requires = []            # [["valid-user"], ["user", "a", "b"]]
        self.authz_verdict = None     # what Require says before any user, when
        #                               that does not depend on the client
        self.auth_authoritative = True
        self.access_rules = None      # Order/Allow/Deny/Satisfy (access_compat)
        self.config_table = {}        # for req.get_config()
        self.type_cache = {}          # name suffix -> content type (static.guess_type)
        self.handler_cache = {}       # name suffix -> handler name
        self.form_limits = None       # util.FieldStorage's limits, read once
        self.sections = ()

    def apply(self, section_directives, kind):
        """Overlay one section's directives, as Apache merges a more specific
        section over a less specific one."""
        seen_phase = set()
        seen_require = False
        rules = access_compat.section_rules(section_directives)
        if rules is not None:
            self.access_rules = rules   # replaces, as mod_access_compat merges
        redirects = None
        for d in section_directives:
            key = d.key
            if key in REDIRECT_DIRECTIVES:
                rule = d.value or parse_redirect(d.name, d.args, d.filename, d.lineno,
                                                 in_section=True)
                if rule.section_wide:
                    self.redirect_all = rule
                else:
                    redirects = (redirects or []) + [rule]
                continue
            phase = PHASE_OF_DIRECTIVE.get(key)
            if phase is not None:
                # mod_python: a section's handler list for a phase replaces the
                # inherited one; several lines in one section stack. A
                # '| .ext .ext2' line adds to one list per extension, each
                # replacing the inherited list of that extension alone.
                names, exts = _split_handlers(d.args)
                for ext in exts or (None,):
                    entries = [HandlerEntry(n, d.name, phase, d.directory,
                                            None if ext is None else (ext,), d.filename,
                                            d.lineno, context=d.context) for n in names]
                    kept = self.handlers.get(phase, [])
                    if (phase, ext) not in seen_phase:
                        seen_phase.add((phase, ext))
                        kept = [e for e in kept if e.key != ext]
                    self.handlers[phase] = kept + entries
                    if ext is not None:
                        self.ext_phases = self.ext_phases | {phase}
                continue
            if key == "pythonhandlermodule":
                for phase, directive in PHASES:
                    if (phase, None) in seen_phase:
                        continue
                    self.handlers[phase] = [e for e in self.handlers.get(phase, ())
                                            if e.exts is not None] + \
                        [HandlerEntry(d.args[0], directive, phase, d.directory, None,
                                      d.filename, d.lineno, silent=True, context=d.context)]
                continue
            if key == "require":
                if not seen_require:
                    self.requires = []
                    seen_require = True
                self.requires.append([a for a in d.args])
                continue
            self._simple(d, key)
        if redirects:
            # (Apache's merge: the overriding section's list, then the base's)
            self.redirects = tuple(redirects) + tuple(self.redirects)

    def _simple(self, d, key):
        a = d.args
        if key == "pythondebug":
            self.debug = _on(d)
        elif key == "pythonautoreload":
            self.autoreload = _on(d)
        elif key == "enablesendfile":
            self.enable_sendfile = _on(d)
        elif key == "pythonpath":
            self.python_path = _eval_python_path(d)
        elif key == "pythonoption":
            if len(a) == 1 or a[1] == "":
                self.options.pop(a[0], None)    # omitted or "": removed (directives.rst)
            else:
                self.options[a[0]] = a[1]
        elif key == "pythoninterpreter":
            self.interpreter = a[0]
        elif key == "addhandler":
            for ext in a[1:]:
                self.add_handler[_ext(ext)] = a[0]
        elif key == "removehandler":
            for ext in a:
                self.add_handler.pop(_ext(ext), None)
        elif key == "sethandler":
            self.set_handler = None if a[0].lower() == "none" else a[0]
        elif key == "setoutputfilter":
            self.set_output_filter = _filter_names(a[0])
        elif key == "addoutputfilter":
            for ext in a[1:]:
                self.add_output_filter[_ext(ext)] = _filter_names(a[0])
        elif key == "removeoutputfilter":
            for ext in a:
                self.add_output_filter.pop(_ext(ext), None)
        elif key == "setinputfilter":
            self.set_input_filter = _filter_names(a[0])
        elif key == "addinputfilter":
            for ext in a[1:]:
                self.add_input_filter[_ext(ext)] = _filter_names(a[0])
        elif key == "removeinputfilter":
            for ext in a:
                self.add_input_filter.pop(_ext(ext), None)
        elif key == "addtype":
            # (Apache keeps a type lower-cased, parameters included)
            for ext in a[1:]:
                self.add_type[_ext(ext)] = a[0].lower()
        elif key in _MIME_MAPS:
            table = getattr(self, _MIME_MAPS[key])
            value = a[0].lower() if key != "addlanguage" else a[0]
            for ext in a[1:]:
                table[_ext(ext)] = value
        elif key in _MIME_REMOVALS:
            table = getattr(self, _MIME_REMOVALS[key])
            for ext in a:
                table.pop(_ext(ext), None)
        elif key == "defaultlanguage":
            self.default_language = a[0]
        elif key == "acceptpathinfo":
            self.accept_path_info = a[0].lower()
        elif key == "directoryslash":
            self.directory_slash = _on(d)
        elif key == "options":
            self.link_options = _link_options(self.link_options, a)
        elif key == "forcetype":
            self.force_type = None if a[0].lower() == "none" else a[0].lower()
        elif key == "adddefaultcharset":
            v = a[0].lower()
            self.default_charset = None if v == "off" else ("iso-8859-1" if v == "on" else a[0])
        elif key == "directoryindex":
            self.directory_index = [] if a[0].lower() == "disabled" else list(a)
        elif key == "errordocument":
            try:
                status = int(a[0])
            except ValueError:
                raise ConfigError("ErrorDocument: %r is not a status code" % a[0],
                                  d.filename, d.lineno) from None
            doc = error_document(a[1])
            if doc is None:
                self.error_documents.pop(status, None)      # "default"
            elif not (status == 401 and doc[0] not in '"/'):
                # (Apache ignores a full URL for 401, with a warning at startup)
                self.error_documents[status] = doc
        elif key == "limitrequestbody":
            try:
                self.limit_request_body = int(a[0])
            except ValueError:
                raise ConfigError("LimitRequestBody: %r is not a number" % a[0],
                                  d.filename, d.lineno) from None
        elif key == "authtype":
            self.auth_type = None if a[0].lower() == "none" else a[0]
        elif key == "authname":
            self.auth_name = a[0]
        elif key in ("authbasicauthoritative", "authauthoritative"):
            self.auth_authoritative = _on(d)
        if key.startswith("python") and key not in ("pythonoption",):
            # req.get_config(): mod_python's directive table, under its own
            # spelling of the name, a flag as "1" or "0"
            name = _CONFIG_NAMES.get(key, d.name)
            self.config_table[name] = ("1" if _on(d) else "0") if getattr(KNOWN.get(key), "flag", False) \
                else " ".join(a)

    def handler_name_for(self, filename):
        """r->handler: SetHandler, else AddHandler by extension(s)."""
        if self.set_handler:
            return self.set_handler
        if self.add_handler and filename:
            base = _base_name(filename)
            dot = base.find(".")
            suffix = base[dot:] if dot >= 0 else ""
            if suffix in self.handler_cache:
                return self.handler_cache[suffix]
            h = self._handler_by_ext(base)
            if len(self.handler_cache) < 1024:
                self.handler_cache[suffix] = h
            return h
        return None

    def output_filters_for(self, filename):
        """SetOutputFilter's filters, then AddOutputFilter's for each
        extension of the file's name in order (mod_mime)."""
        return _filters_for(self.set_output_filter, self.add_output_filter, filename)

    def input_filters_for(self, filename):
        return _filters_for(self.set_input_filter, self.add_input_filter, filename)

    def _handler_by_ext(self, base):
        # Apache's mod_mime looks at every extension of the name.
        for part in reversed(base.split(".")[1:]):
            h = self.add_handler.get("." + part.lower())
            if h:
                return h
        return None


def _filters_for(set_names, by_ext, filename):
    names = list(set_names or ())
    if by_ext and filename:
        for part in _base_name(filename).split(".")[1:]:
            names.extend(by_ext.get("." + part.lower(), ()))
    return names


def _base_name(filename):
    """The file name whose dot-separated words after the first are its
    extensions, as mod_mime reads it: leading dots belong to the first word
    (".py" is a hidden file named py, with no extension)."""
    return filename.rpartition("/")[2].lstrip(".")


def _filter_names(arg):
    """``A;B`` -> ["a", "b"]: a chain, in order (Apache's names are
    case-insensitive)."""
    return [n.strip().lower() for n in arg.split(";") if n.strip()]


def _ext(e):
    e = e.lower()
    return e if e.startswith(".") else "." + e


def _eval_python_path(d):
    """PythonPath takes a Python expression evaluating to a list, usually
    "sys.path+['/dir']"."""
    import sys
    try:
        value = eval(d.args[0], {"sys": sys, "__builtins__": {}}, {})
    except Exception as exc:
        raise ConfigError("PythonPath: cannot evaluate %r: %s" % (d.args[0], exc),
                          d.filename, d.lineno) from None
    if not isinstance(value, (list, tuple)) or not all(isinstance(p, str) for p in value):
        raise ConfigError("PythonPath must evaluate to a list of strings", d.filename, d.lineno)
    return list(value)


def merge(global_directives, sections):
    """DirConfig of the server-wide directives overlaid by ``sections`` in order."""
    cfg = DirConfig()
    cfg.apply(global_directives, "server")
    for s in sections:
        cfg.apply(s.directives, s.kind)
    cfg.env_vars = _merge_env(global_directives, sections)
    cfg.sections = tuple(sections)
    cfg.authz_verdict = authz.fixed_verdict(cfg.requires)
    cfg.mime_extras = bool(cfg.add_encoding or cfg.add_language or cfg.default_language)
    cfg.has_filters = bool(cfg.set_output_filter or cfg.add_output_filter
                           or cfg.set_input_filter or cfg.add_input_filter)
    return cfg


_ENV_KEYS = ("setenv", "unsetenv", "passenv")
_WALK_OF_KIND = {"directory": 0, "directorymatch": 0, "files": 1, "filesmatch": 1,
                 "location": 2, "locationmatch": 2}


def _env_of(directives):
    """(variables set, names unset) by one section's SetEnv / PassEnv /
    UnsetEnv lines; an UnsetEnv drops what the section set before it."""
    env, unset = {}, []
    for d in directives:
        if d.key == "setenv":
            env[d.args[0]] = d.args[1] if len(d.args) > 1 else ""
        elif d.key == "passenv":
            for name in d.args:
                if name in os.environ:  # (one undefined was warned of at startup)
                    env[name] = os.environ[name]
        elif d.key == "unsetenv":
            for name in d.args:
                env.pop(name, None)
                unset.append(name)
    return env, unset


def _merge_env(global_directives, sections):
    """mod_env's variables for a request, merged as Apache merges them: each
    walk (the <Directory> sections, then <Files>, then <Location>) merges its
    own sections first, an UnsetEnv dropping what the sections before it
    set, and then onto what came before the walk, where an UnsetEnv counts
    only if its section was the walk's only one (Apache's merge of two
    sections keeps no UnsetEnv list)."""
    env, _ = _env_of(d for d in global_directives if d.key in _ENV_KEYS)
    group, walk = [], None
    for s in list(sections) + [None]:
        kind = _WALK_OF_KIND.get(s.kind, 3) if s is not None else None
        if group and kind != walk:
            merged, unset = _env_of(group[0])
            for directives in group[1:]:
                more, dropped = _env_of(directives)
                for name in dropped:
                    merged.pop(name, None)
                merged.update(more)
            if len(group) == 1:
                for name in unset:
                    env.pop(name, None)
            env.update(merged)
            group = []
        if s is not None:
            walk = kind
            group.append([d for d in s.directives if d.key in _ENV_KEYS])
    return env


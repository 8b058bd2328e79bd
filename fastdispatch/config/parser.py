"""Apache-style configuration files -> the Config model.

Reads the subset of Apache's syntax that mod_python sites use (see
directives.py for the table of what is known). Relative paths resolve against
the directory of the file that names them. A line that cannot be accepted
raises ConfigError naming its file and line.
"""
import glob
import logging
import os

from fastdispatch.config import alias as _alias
from fastdispatch.config import directives as D
from fastdispatch.config import pcre
from fastdispatch.config.model import Config, Directive, Section, handler_context
from fastdispatch.errors import ConfigError

log = logging.getLogger("fastdispatch.error")

SECTION_TAGS = {"directory", "directorymatch", "files", "filesmatch", "location",
                "locationmatch"}
CONDITIONAL_TAGS = {"ifmodule", "ifdefine", "ifversion", "virtualhost"}


def split_args(text, filename, lineno):
    """Split a directive's argument text as Apache's ap_getword_conf does:
    whitespace separated, "double" or 'single' quoted words, backslash escapes
    the quote inside quotes; a quote never closed runs to the end of the line
    ('ErrorDocument 404 "Not here' is the message 'Not here')."""
    args = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in " \t":
            i += 1
            continue
        if c in "\"'":
            quote = c
            i += 1
            word = []
            while i < n and text[i] != quote:
                if text[i] == "\\" and i + 1 < n and text[i + 1] in (quote, "\\"):
                    i += 1
                word.append(text[i])
                i += 1
            # no closing quote: the word is the rest of the line, as
            # Apache's ap_getword_conf reads it
            i += 1
            args.append("".join(word))
        else:
            start = i
            while i < n and text[i] not in " \t":
                i += 1
            args.append(text[start:i])
    return args


def logical_lines(path):
    """Yield (lineno, text) with comments dropped and backslash continuations
    joined; lineno is that of the first physical line."""
    try:
        with open(path, encoding="utf-8") as f:
            raw = f.read().split("\n")
    except OSError as exc:
        raise ConfigError("cannot read config file: %s" % exc.strerror, path, None) from None
    buf, first = [], None
    for no, line in enumerate(raw, 1):
        line = line.rstrip("\r")
        if first is None:
            first = no
        if line.endswith("\\"):
            buf.append(line[:-1])
            continue
        buf.append(line)
        text = " ".join(part.strip() for part in buf).strip()
        buf, start = [], first
        first = None
        if text and not text.startswith("#"):
            yield start, text
    if buf:
        text = " ".join(part.strip() for part in buf).strip()
        if text and not text.startswith("#"):
            yield first, text


class _Frame:
    """An open <Section> while parsing."""

    def __init__(self, tag, section, filename, lineno, skip=False):
        self.tag = tag
        self.section = section
        self.filename = filename
        self.lineno = lineno
        self.skip = skip


class ConfigParser:
    def __init__(self, defines=()):
        self.config = Config()
        self.defines = set(defines)
        self._warned = set()
        self._include_depth = 0

    # -- files -----------------------------------------------------------
    def parse_file(self, path):
        path = os.path.abspath(path)
        self.config.source = path
        stack = []
        self._parse_into(path, stack)
        if stack:
            top = stack[-1]
            raise ConfigError("<%s> was not closed" % top.tag, top.filename, top.lineno)
        self._finish()
        return self.config

    def _parse_into(self, path, stack):
        base = os.path.dirname(path)
        for lineno, text in logical_lines(path):
            if text.startswith("</"):
                self._close(text, stack, path, lineno)
            elif text.startswith("<"):
                self._open(text, stack, path, lineno, base)
            elif stack and stack[-1].skip:
                continue
            else:
                self._directive(text, stack, path, lineno, base)

    def _open(self, text, stack, path, lineno, base):
        if not text.endswith(">"):
            raise ConfigError("section line does not end with '>': %s" % text, path, lineno)
        inner = text[1:-1].strip()
        tag, _, rest = inner.partition(" ")
        key = tag.lower()
        args = split_args(rest, path, lineno)
        parent_skip = bool(stack) and stack[-1].skip
        if key in CONDITIONAL_TAGS:
            skip = parent_skip or not self._condition(key, args, path, lineno)
            stack.append(_Frame(key, stack[-1].section if stack else None, path, lineno, skip))
            return
        if key not in SECTION_TAGS:
            raise ConfigError("unknown section <%s>" % tag, path, lineno)
        if parent_skip:
            stack.append(_Frame(key, None, path, lineno, True))
            return
        enclosing = self._enclosing_section(stack)
        if enclosing is not None and not (key in ("files", "filesmatch")
                                          and enclosing.kind in ("directory", "directorymatch")):
            raise ConfigError("<%s> is not allowed inside <%s>" % (tag, enclosing.kind),
                              path, lineno)
        section = self._make_section(key, args, path, lineno, base)
        section.parent = enclosing
        self.config.sections.append(section)
        stack.append(_Frame(key, section, path, lineno))

    def _make_section(self, key, args, path, lineno, base):
        regex = key.endswith("match")
        if len(args) == 2 and args[0] == "~":
            regex, args = True, args[1:]
        if len(args) != 1:
            raise ConfigError("<%s> takes one argument" % key, path, lineno)
        pattern = args[0]
        kind = key[:-5] if key.endswith("match") else key
        if regex:
            import re
            try:
                pcre.compile(pattern)   # Apache's regexes are PCRE
            except re.error as exc:
                raise ConfigError("bad regular expression %r: %s" % (pattern, exc),
                                  path, lineno) from None
        elif kind == "directory":
            pattern = _abspath(pattern, base).rstrip("/") or "/"
        return Section(kind=kind, pattern=pattern, regex=regex, filename=path, lineno=lineno)

    @staticmethod
    def _enclosing_section(stack):
        for frame in reversed(stack):
            if frame.tag in SECTION_TAGS:
                return frame.section
        return None

    def _close(self, text, stack, path, lineno):
        tag = text[2:].rstrip(">").strip().lower()
        if not stack:
            raise ConfigError("</%s> without matching <%s> section" % (tag, tag), path, lineno)
        if stack[-1].tag != tag:
            raise ConfigError("</%s> does not close <%s> (opened at line %d)"
                              % (tag, stack[-1].tag, stack[-1].lineno), path, lineno)
        stack.pop()

    def _condition(self, key, args, path, lineno):
        if not args:
            raise ConfigError("<%s> needs an argument" % key, path, lineno)
        if key == "virtualhost":
            self._warn_once("virtualhost", "<VirtualHost> is served as the main server",
                            path, lineno)
            return True
        arg = args[0]
        negate = arg.startswith("!")
        arg = arg.lstrip("!")
        if key == "ifmodule":
            result = True  # every module a mod_python site names is built in here
        elif key == "ifdefine":
            result = arg in self.defines
        else:  # ifversion: we answer as Apache 2.4
            result = True
        return result != negate

    # -- directives ------------------------------------------------------
    def _directive(self, text, stack, path, lineno, base):
        name, _, rest = text.partition(" ")
        if "\t" in name:
            name, _, more = name.partition("\t")
            rest = more + " " + rest
        args = split_args(rest.strip(), path, lineno)
        key = name.lower()
        section = self._enclosing_section(stack)
        if key in ("include", "includeoptional"):
            self._include(key, args, stack, path, lineno, base)
            return
        spec = D.KNOWN.get(key)
        if spec is None:
            raise ConfigError("Invalid command '%s', perhaps misspelled or not "
                              "supported by fastdispatch" % name, path, lineno)
        if spec.ignored:
            self._warn_once(key, "%s has no effect in fastdispatch and is ignored" % name,
                            path, lineno)
            return
        if section is not None and spec.server_only:
            raise ConfigError("%s not allowed in <%s> context" % (name, section.kind),
                              path, lineno)
        rule = None
        if key in _alias.REDIRECT_DIRECTIVES:
            # checked in its context (a section allows more forms), in Apache's words
            rule = _alias.parse_redirect(name, args, path, lineno,
                                         in_section=section is not None)
        else:
            spec.check(name, args, path, lineno)
        if key == "defaulttype" and args[0].lower() != "none":
            # as Apache 2.4 (AH00117): a file of unknown type gets no Content-Type
            self._warn_once(key, "Ignoring deprecated use of DefaultType: Apache 2.4 "
                            "has no default type", path, lineno)
        directory, context = handler_context(section)
        d = Directive(name=name, args=spec.normalize(args, base), filename=path,
                      lineno=lineno, directory=directory, context=context, value=rule)
        if key == "pythonpath":
            from fastdispatch.config.merge import _eval_python_path
            _eval_python_path(d)  # a bad expression is reported here, with its line
        if section is None:
            D.apply_server(self.config, d)
        else:
            section.directives.append(d)

    def _include(self, key, args, stack, path, lineno, base):
        if len(args) != 1:
            raise ConfigError("Include takes one argument", path, lineno)
        pattern = _abspath(args[0], base)
        matches = sorted(glob.glob(pattern))
        if os.path.isdir(pattern):
            matches = sorted(os.path.join(pattern, f) for f in os.listdir(pattern))
        if not matches and key == "include" and not glob.has_magic(pattern):
            raise ConfigError("Include file %s not found" % pattern, path, lineno)
        self._include_depth += 1
        if self._include_depth > 32:
            raise ConfigError("Include nested too deeply (a loop?)", path, lineno)
        for inc in matches:
            if os.path.isfile(inc):
                self._parse_into(inc, stack)
        self._include_depth -= 1

    def _warn_once(self, key, message, path, lineno):
        if key not in self._warned:
            self._warned.add(key)
            log.warning("%s:%s: %s", path, lineno, message)

    def _finish(self):
        cfg = self.config
        if not cfg.document_root:
            cfg.document_root = os.path.dirname(cfg.source) if cfg.source != "<python>" \
                else os.getcwd()


def _abspath(p, base):
    p = os.path.expanduser(p)
    return os.path.normpath(p if os.path.isabs(p) else os.path.join(base, p))


def parse_config(path, defines=()):
    """Parse an Apache-style config file into a Config."""
    return ConfigParser(defines).parse_file(path)

"""Directive lookup (pure-Python twin of src/_lookup.pyx).

Which <Directory>, <Files> and <Location> sections apply to a request, in
Apache's merge order:

1. <Directory> without regex, by depth, then file order (an exact
   dictionary lookup per directory of the path, not a scan over sections;
   a wildcard one is tested against the directory of its own depth);
2. <DirectoryMatch> / <Directory ~>, in file order, each searched once in
   the filename (without path_info; "/srv/a/" for a directory URL);
3. <Files> / <FilesMatch> at top level or nested in a <Directory> that
   applied, in file order;
4. <Location> / <LocationMatch>, in file order.

Apache walks the directories of a path, not the file: ``<Directory
/srv/a/page.html>`` applies only when ``walk_file`` says the file itself is
walked too, which Apache does when the whole filename exists (no path_info)
and FollowSymLinks is in force, as it is by default (ap_directory_walk's
shortcut). Neither a missing file nor one followed by path_info is walked.

A request with no filename (a <Location> handled by mod_python, where
map_to_storage is skipped) gets only the <Location> sections.

``match(uri, filename, walk_file=False)`` returns ``merge_fn(indices)`` for
the tuple of applicable section indices; both the per-request answer and the
merge per distinct tuple are cached, with a bound.
"""
import re
from fnmatch import fnmatchcase

_WILDCARD = re.compile(r"[*?\[]")


class SectionSpec:
    """What lookup needs of a section: kind is "directory", "files" or
    "location"; parent is the index of an enclosing <Directory> or -1."""
    __slots__ = ("kind", "pattern", "regex", "parent")

    def __init__(self, kind, pattern, regex=False, parent=-1):
        self.kind = kind
        self.pattern = pattern
        self.regex = regex
        self.parent = parent


def _depth(path):
    return 0 if path == "/" else path.count("/")


def _ancestors(filename, walk_file):
    """The directories Apache walks for ``filename``, shortest first:
    '/a/b/c.py' -> ['/', '/a', '/a/b'], and '/a/b/c.py' too with
    ``walk_file``; '/a/b/' -> ['/', '/a', '/a/b']."""
    out = ["/"]
    pos = 1
    while True:
        nxt = filename.find("/", pos)
        if nxt < 0:
            if walk_file and pos < len(filename):
                out.append(filename)
            return out
        if nxt > pos:
            out.append(filename[:nxt])
        pos = nxt + 1


class Lookup:
    def __init__(self, sections, merge_fn, cache_size=4096):
        self._merge_fn = merge_fn
        self._cache_size = cache_size
        self._cache = {}
        self._merged = {}
        self._dir_exact = {}      # path -> [index]
        self._dir_wild = []       # (depth, index, pattern)
        self._dir_regex = []      # (index, compiled)
        self._files = []          # (index, parent, regex, pattern or compiled)
        self._locations = []      # (index, regex, pattern or compiled)
        for i, s in enumerate(sections):
            if s.kind == "directory":
                if s.regex:
                    self._dir_regex.append((i, re.compile(s.pattern)))
                elif _WILDCARD.search(s.pattern):
                    self._dir_wild.append((_depth(s.pattern), i, s.pattern))
                else:
                    self._dir_exact.setdefault(s.pattern, []).append(i)
            elif s.kind == "files":
                self._files.append((i, s.parent, s.regex,
                                    re.compile(s.pattern) if s.regex else s.pattern))
            elif s.kind == "location":
                self._locations.append((i, s.regex,
                                        re.compile(s.pattern) if s.regex else s.pattern))
            else:
                raise ValueError("unknown section kind %r" % s.kind)

    def match(self, uri, filename, walk_file=False):
        key = (uri, filename, bool(walk_file))
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        indices = self.sections_for(uri, filename, walk_file)
        merged = self._merged.get(indices)
        if merged is None:
            merged = self._merge_fn(indices)
            if len(self._merged) >= self._cache_size:
                self._merged.clear()
            self._merged[indices] = merged
        if len(self._cache) >= self._cache_size:
            self._cache.clear()
        self._cache[key] = merged
        return merged

    def sections_for(self, uri, filename, walk_file=False):
        out = []
        applied = set()
        if filename:
            ancestors = _ancestors(filename, walk_file)
            # 1. plain and wildcard <Directory>: by depth, then file order
            plain = []
            for depth, path in enumerate(ancestors):
                for i in self._dir_exact.get(path, ()):
                    plain.append((depth, i))
            for depth, i, pattern in self._dir_wild:
                if depth < len(ancestors) and fnmatchcase(ancestors[depth], pattern):
                    plain.append((depth, i))
            plain.sort()
            for _, i in plain:
                out.append(i)
                applied.add(i)
            # 2. regex directories, file order: once, in the whole filename
            for i, rx in self._dir_regex:
                if rx.search(filename):
                    out.append(i)
                    applied.add(i)
            # 3. <Files>, on the last path component
            base = filename.rsplit("/", 1)[-1]
            for i, parent, regex, pat in self._files:
                if parent != -1 and parent not in applied:
                    continue
                if (pat.search(base) if regex else fnmatchcase(base, pat)):
                    out.append(i)
        # 4. <Location>
        for i, regex, pat in self._locations:
            if regex:
                if pat.search(uri):
                    out.append(i)
            elif _location_matches(uri, pat):
                out.append(i)
        return tuple(out)


def _location_matches(uri, pattern):
    if _WILDCARD.search(pattern):
        return fnmatchcase(uri, pattern) or fnmatchcase(uri, pattern.rstrip("/") + "/*")
    if pattern == "/" or uri == pattern:
        return True
    if not uri.startswith(pattern):
        return False
    return pattern.endswith("/") or uri[len(pattern)] == "/"

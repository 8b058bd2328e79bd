"""Directive lookup (pure-Python twin of src/_lookup.pyx).

Which <Directory>, <Files> and <Location> sections apply to a request, in
Apache's merge order:

1. <Directory> without regex, by depth, then file order (an exact
   dictionary lookup per directory of the path, not a scan over sections;
   a wildcard one is tested against the directory of its own depth);
2. <DirectoryMatch> / <Directory ~>, in file order, each searched once in
   the filename (without path_info; "/srv/a/" for a directory URL);
3. <Files> / <FilesMatch>: the top-level ones, then those nested in each
   <Directory> that applied, in the order the directories applied (Apache
   merges a directory's <Files> list after the server's), each group in
   file order;
4. <Location> / <LocationMatch>, in file order.

A <Location> path is matched as Apache's ap_location_walk does: when
apr_fnmatch_test finds a wildcard in it (``*``, ``?``, or a ``[`` with a
``]`` after it), with apr_fnmatch(pattern, uri, APR_FNM_PATHNAME) against
the whole URI (``_fnmatch`` below); otherwise as a prefix of whole
segments. The regexes of every section are Apache's PCRE, translated by
fastdispatch.config.pcre.

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

from fastdispatch.config.pcre import translate as _pcre

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
                    self._dir_regex.append((i, re.compile(_pcre(s.pattern))))
                elif _WILDCARD.search(s.pattern):
                    self._dir_wild.append((_depth(s.pattern), i, s.pattern))
                else:
                    self._dir_exact.setdefault(s.pattern, []).append(i)
            elif s.kind == "files":
                self._files.append((i, s.parent, s.regex,
                                    re.compile(_pcre(s.pattern)) if s.regex else s.pattern))
            elif s.kind == "location":
                self._locations.append((i, s.regex,
                                        re.compile(_pcre(s.pattern)) if s.regex else s.pattern))
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
            # 3. <Files>, on the last path component: the server's own
            # first, then those nested in each applied <Directory>, in the
            # order those were applied (Apache merges a directory's <Files>
            # list after its parent's), each group in file order
            base = filename.rsplit("/", 1)[-1]
            position = {d: k for k, d in enumerate(out)}
            files = []
            for i, parent, regex, pat in self._files:
                if parent != -1 and parent not in applied:
                    continue
                if (pat.search(base) if regex else fnmatchcase(base, pat)):
                    files.append((-1 if parent == -1 else position[parent], i))
            files.sort()
            out.extend(i for _, i in files)
        # 4. <Location>
        for i, regex, pat in self._locations:
            if regex:
                if pat.search(uri):
                    out.append(i)
            elif _location_matches(uri, pat):
                out.append(i)
        return tuple(out)


def _location_matches(uri, pattern):
    """ap_location_walk's test of a <Location> path (not a regex)."""
    if _fnmatch_test(pattern):
        return _fnmatch(pattern, uri)
    if pattern == "/" or uri == pattern:
        return True
    if not uri.startswith(pattern):
        return False
    return pattern.endswith("/") or uri[len(pattern)] == "/"


# --- apr_fnmatch ------------------------------------------------------------
#
# A port of APR 1.7's strings/apr_fnmatch.c, for the flags Apache's location
# walk passes: APR_FNM_PATHNAME alone. So backslash escapes are on, there is
# no APR_FNM_PERIOD (a leading "." is matched by "*", "?" and "[...]") and
# no case folding. In short:
#
# - "/" in the string is matched only by "/" (or "\/") in the pattern, one
#   for one; "*", "?" and "[...]" match within one segment, never a "/";
# - the pattern matches the whole string (no implicit prefix);
# - "?" is any one character; "*" any run (possibly empty);
# - "[...]": "!" or "^" first negates; a "]" first (after them) is a
#   literal; "a-z" is a range (by code point; not "a-]", which is "a", "-"
#   and the closing "]"; "a-\]" is a range to "]"); "\x" is a literal x;
#   a bracket that meets "/" or the end of the pattern before its "]" is no
#   bracket: its "[" is a literal "[";
# - "\x" is a literal x; a trailing "\" is a literal backslash.
#
# The C code walks NUL-terminated strings; here ``_at`` gives "" past the
# end where C reads the NUL.

def _at(s, k):
    return s[k] if k < len(s) else ""


def _fnmatch_test(pattern):
    """apr_fnmatch_test: does ``pattern`` have a wildcard? ("*", "?", or a
    "[" followed by a "]"; a backslash hides the next character.)"""
    nesting = False
    k, n = 0, len(pattern)
    while k < n:
        c = pattern[k]
        if c == "?" or c == "*":
            return True
        if c == "\\":
            k += 1
            if k >= n:
                return False
        elif c == "[":
            nesting = True
        elif c == "]" and nesting:
            return True
        k += 1
    return False


def _fnmatch_ch(p, i, s, j):
    """fnmatch_ch: one pattern element at p[i] against s[j] (not "*").
    Returns (matched, i, j) with both advanced past what was consumed; "/"
    and the end are not advanced over."""
    start = i
    if _at(p, i) == "[":
        i += 1
        negate = _at(p, i) in ("!", "^")
        if negate:
            i += 1
        found = False
        leading = _at(p, i) == "]"          # a literal "]" first
        while leading or _at(p, i):
            if not leading:
                if _at(p, i) == "]":
                    return found != negate, i + 1, j + 1
                if _at(p, i) == "\\":
                    i += 1
                    if not _at(p, i):
                        break               # ends in the pattern's end
                if _at(p, i) == "/":
                    break                   # brackets never hold "/"
            leading = False
            if _at(p, i + 1) == "-" and _at(p, i + 2) != "]":   # a range
                lo = _at(p, i)
                i += 3 if _at(p, i + 2) == "\\" else 2
                if not _at(p, i) or _at(p, i) == "/":
                    break
                if lo <= _at(s, j) <= _at(p, i):
                    found = True
                i += 1
                continue
            if _at(s, j) == _at(p, i):
                found = True
            i += 1
        i = start                           # not a bracket: a literal "["
    elif _at(p, i) == "?":
        if not _at(s, j) or _at(s, j) == "/":
            return False, i, j
        return True, i + 1, j + 1
    elif _at(p, i) == "\\" and _at(p, i + 1):
        i += 1
    matched = _at(s, j) == _at(p, i)
    if not _at(s, j) or not _at(p, i) or _at(s, j) == "/" or _at(p, i) == "/":
        return matched, i, j
    return matched, i + 1, j + 1


def _slash_at(p, i):
    """A segment ends at p[i]: "/" or a backslash and "/"."""
    return _at(p, i) == "/" or (_at(p, i) == "\\" and _at(p, i + 1) == "/")


def _fnmatch(p, s):
    """apr_fnmatch(p, s, APR_FNM_PATHNAME) == APR_SUCCESS."""
    i = j = 0
    np, ns = len(p), len(s)
    first = _at(p, 0) == "*"        # C: goto firstsegment
    while first or (i < np and j < ns):
        if not first:
            # balanced slashes start a new segment (a backslash and "/" is a "/")
            if _at(p, i) == "\\" and _at(p, i + 1) == "/":
                i += 1
            if _at(p, i) == "/" and _at(s, j) == "/":
                i += 1
                j += 1
        first = False
        end = s.find("/", j)        # the end of this segment of the string
        if end < 0:
            end = ns
        while i < np:
            if j > end or (j == end and _at(p, i) != "*"):
                break
            if _slash_at(p, i):
                break
            # a run of "*" and "?": n "?" (one character each), then one "*"
            wild = False
            while _at(p, i) in ("*", "?"):
                if _at(p, i) == "*":
                    wild = True
                elif j < end:
                    j += 1
                else:
                    return False
                i += 1
            if wild:
                startseg, mismatch = j, i
                # count the one-character elements up to the next "*" or
                # the end of the segment
                k, matchlen = i, 0
                while True:
                    if not _at(p, k) or _slash_at(p, k):
                        # the last ones: they match the segment's last characters
                        if j + matchlen > end:
                            return False
                        j = end - matchlen
                        wild = False
                        break
                    if _at(p, k) == "*":
                        if j + matchlen > end:
                            return False
                        break
                    if _at(p, k) == "\\" and _at(p, k + 1):
                        k += 2
                    elif _at(p, k) == "[":
                        k = _fnmatch_ch(p, k, " ", 0)[1]
                    else:
                        k += 1
                    matchlen += 1
            # match one character at a time; after a "*", on a mismatch,
            # try again one character further
            while i < np and j < end:
                if _at(p, i) == "*":
                    break
                if _at(s, j) == "/" or _slash_at(p, i):
                    break
                matched, i2, j2 = _fnmatch_ch(p, i, s, j)
                if matched:
                    i, j = i2, j2
                    continue
                if wild:
                    startseg += 1
                    j = startseg
                    if j + matchlen > end:
                        return False
                    i = mismatch
                    continue
                return False
        if j < ns and _at(s, j) != "/":
            return False
        if i < np and not _slash_at(p, i):
            return False
    return i >= np and j >= ns

"""Apache's regular expressions (PCRE) as Python ``re`` patterns.

Apache compiles the regexes of its configuration (<LocationMatch>,
<DirectoryMatch>, <FilesMatch>, the ``~`` forms of <Location>, <Directory>
and <Files>, RedirectMatch) with PCRE. ``translate`` rewrites the PCRE
syntax that Python's ``re`` refuses or reads differently, and leaves every
other character as it is:

- named groups ``(?<name>...)`` and ``(?'name'...)`` -> ``(?P<name>...)``
  (``(?<=`` and ``(?<!`` stay look-behinds; ``(?P<name>`` stays);
- back references ``\\k<name>``, ``\\k'name'``, ``\\k{name}``, ``\\g{name}``
  -> ``(?P=name)``; ``\\g{N}`` and ``\\gN`` (N > 0) -> ``(?:\\N)``;
- POSIX classes inside a bracket expression, ``[[:digit:]]``,
  ``[^[:space:]]``, and PCRE's negated ``[[:^digit:]]`` -> explicit ASCII
  ranges (PCRE reads them in the C locale); an unknown name, ``[.x.]``,
  ``[=x=]`` and a class such as ``[:alpha:]`` outside a bracket expression
  are errors, as in PCRE;
- a ``[`` inside a bracket expression that opens no POSIX class, and ``&``,
  ``|``, ``~`` there, are literals in PCRE: they are escaped (Python would
  warn of a possible nested set or set operation);
- ``\\Q...\\E`` quoting, ``\\x{hhh}``, ``\\o{ooo}``, ``\\e``; ``\\z`` -> ``\\Z``,
  and PCRE's ``\\Z`` (end, or before a final newline) -> ``(?=\\n?\\Z)``;
- ``(?#...)`` comments are copied untouched (a ``[`` in them opens nothing).

Not translated (Python then refuses the pattern, which is a config error, or
reads it as PCRE does): recursion, conditionals on names, ``(?|``, ``\\h``,
inline flags after the start. Nor are PCRE's compile options, which are the
caller's business (Apache 2.4's RegexDefaultOptions default to DOTALL and
DOLLAR_ENDONLY; fastdispatch compiles without them).
"""
import re

__all__ = ["translate", "compile"]

# The POSIX classes PCRE knows, as ranges of code points (C locale).
_POSIX = {
    "alpha": [(0x41, 0x5A), (0x61, 0x7A)],
    "digit": [(0x30, 0x39)],
    "alnum": [(0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)],
    "upper": [(0x41, 0x5A)],
    "lower": [(0x61, 0x7A)],
    "space": [(0x09, 0x0D), (0x20, 0x20)],          # \t \n \v \f \r and space
    "blank": [(0x09, 0x09), (0x20, 0x20)],
    "xdigit": [(0x30, 0x39), (0x41, 0x46), (0x61, 0x66)],
    "punct": [(0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)],
    "word": [(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)],
    "cntrl": [(0x00, 0x1F), (0x7F, 0x7F)],
    "print": [(0x20, 0x7E)],
    "graph": [(0x21, 0x7E)],
    "ascii": [(0x00, 0x7F)],
}
_MAX = 0x10FFFF
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def compile(pattern, flags=0):  # noqa: A001 - re.compile's twin
    """``re.compile(translate(pattern), flags)``; raises ``re.error``."""
    return re.compile(translate(pattern), flags)


def translate(pattern):
    """The Python ``re`` pattern for the PCRE ``pattern`` (anything that is
    not a str is returned as it is). Raises ``re.error`` for PCRE syntax
    that PCRE itself refuses (see the module docstring)."""
    if not isinstance(pattern, str):
        return pattern
    out = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            piece, i = _escape(pattern, i, False)
        elif c == "[":
            piece, i = _bracket(pattern, i)
        elif c == "(" and pattern.startswith("(?", i):
            piece, i = _group(pattern, i)
        else:
            piece, i = c, i + 1
        out.append(piece)
    return "".join(out)


def _char(cp):
    """One code point as an escape valid in and out of a Python class."""
    if cp < 0x100:
        return "\\x%02x" % cp
    if cp < 0x10000:
        return "\\u%04x" % cp
    return "\\U%08x" % cp


def _ranges(ranges):
    return "".join(_char(lo) if lo == hi else "%s-%s" % (_char(lo), _char(hi))
                   for lo, hi in ranges)


def _complement(ranges):
    out, nxt = [], 0
    for lo, hi in ranges:
        if lo > nxt:
            out.append((nxt, lo - 1))
        nxt = hi + 1
    if nxt <= _MAX:
        out.append((nxt, _MAX))
    return out


def _group(p, i):
    """``(?`` at i: a named group, a comment, or anything else as it is."""
    if p.startswith("(?#", i):
        end = p.find(")", i)
        end = len(p) if end < 0 else end + 1
        return p[i:end], end
    for opener, closer in (("(?<", ">"), ("(?'", "'")):
        if p.startswith(opener, i):
            m = _NAME.match(p, i + 3)
            if m and p.startswith(closer, m.end()):
                return "(?P<%s>" % m.group(0), m.end() + 1
    return "(?", i + 2


def _escape(p, i, in_class):
    """A backslash at i: the piece to emit and the index after it."""
    n = len(p)
    if i + 1 >= n:
        return "\\", n  # (a trailing backslash: refused, as by PCRE)
    d = p[i + 1]
    if d == "Q":  # \Q...\E: literal text
        end = p.find("\\E", i + 2)
        end = n if end < 0 else end
        text = p[i + 2:end]
        piece = "".join(_char(ord(ch)) for ch in text) if in_class else re.escape(text)
        return piece, min(end + 2, n)
    if d == "E":  # a \E without \Q: ignored by PCRE
        return "", i + 2
    if d in "xo" and p.startswith("{", i + 2):
        end = p.find("}", i + 3)
        digits = p[i + 3:end] if end > 0 else ""
        try:
            cp = int(digits, 16 if d == "x" else 8)
        except ValueError:
            cp = -1
        if 0 <= cp <= _MAX:
            return _char(cp), end + 1
        return p[i:i + 2], i + 2  # left to Python to refuse
    if d == "e":
        return "\\x1b", i + 2
    if in_class:
        return p[i:i + 2], i + 2
    if d == "z":
        return "\\Z", i + 2
    if d == "Z":
        return "(?=\\n?\\Z)", i + 2
    if d in "kg":
        closers = {"<": ">", "'": "'", "{": "}"} if d == "k" else {"{": "}"}
        opener = p[i + 2:i + 3]
        if opener in closers:
            m = _NAME.match(p, i + 3)
            if m and p.startswith(closers[opener], m.end()):
                return "(?P=%s)" % m.group(0), m.end() + 1
        if d == "g":
            m = re.compile(r"\{([0-9]+)\}|([0-9]+)").match(p, i + 2)
            if m and int(m.group(1) or m.group(2)) > 0:
                return "(?:\\%d)" % int(m.group(1) or m.group(2)), m.end()
    return p[i:i + 2], i + 2


def _posix_end(p, j):
    """PCRE's check_posix_syntax: p[j] is "[" and p[j + 1] is ":", "." or
    "=": the index of the closing ":]" (".]", "=]"), or -1 when this is no
    POSIX class (then the "[" is a literal)."""
    term = p[j + 1]
    k, n = j + 2, len(p)
    while n - k >= 2:
        if p[k] == "\\" and p[k + 1] in "]\\":
            k += 1
        elif (p[k] == "[" and p[k + 1] == term) or p[k] == "]":
            return -1
        elif p[k] == term and p[k + 1] == "]":
            return k
        k += 1
    return -1


def _posix(p, j, end):
    """The ranges of the POSIX class p[j:end + 2] ("[:name:]")."""
    if p[j + 1] != ":":
        raise re.error("POSIX collating elements are not supported", p, j)
    name = p[j + 2:end]
    negate = name.startswith("^")
    ranges = _POSIX.get(name[1:] if negate else name)
    if ranges is None:
        raise re.error("unknown POSIX class name %r" % name, p, j)
    return _complement(ranges) if negate else ranges


def _bracket(p, i):
    """A bracket expression opening at i: its Python form and the index
    after it (an unterminated one is copied: Python refuses it too)."""
    n = len(p)
    if p[i + 1:i + 2] in (":", ".", "=") and _posix_end(p, i) >= 0:
        raise re.error("POSIX named classes are supported only within a class", p, i)
    out = ["["]
    j = i + 1
    if p.startswith("^", j):
        out.append("^")
        j += 1
    if p.startswith("]", j):  # a "]" first is a literal
        out.append("\\]")
        j += 1
    while j < n:
        c = p[j]
        if c == "]":
            out.append("]")
            return "".join(out), j + 1
        if c == "\\":
            piece, j = _escape(p, j, True)
            out.append(piece)
            continue
        if c == "[":
            end = _posix_end(p, j) if p[j + 1:j + 2] in (":", ".", "=") else -1
            if end >= 0:
                out.append(_ranges(_posix(p, j, end)))
                j = end + 2
                continue
            out.append("\\[")
        elif c in "&|~":
            out.append("\\" + c)
        else:
            out.append(c)
        j += 1
    return "".join(out), n

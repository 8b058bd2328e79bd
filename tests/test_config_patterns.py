"""Patterns in the config as Apache reads them.

- A wildcard <Location> is matched with apr_fnmatch(pattern, uri,
  APR_FNM_PATHNAME) against the whole URI ("*", "?" and "[...]" never match
  "/", no implicit prefix), on both _lookup implementations; the cases named
  "observed" were seen on Apache 2.4.71, the others are APR's own
  test/testfnmatch.c table for these flags.
- Regexes are PCRE: fastdispatch.config.pcre translates named groups, back
  references and POSIX classes for Python's re.
"""
import random
import re
import warnings

import pytest

from fastdispatch import _speedups
from fastdispatch.config import pcre
from fastdispatch.config.parser import parse_config
from fastdispatch.dispatch import Dispatcher
from fastdispatch.errors import ConfigError
from fastdispatch.testing import Client

pure = _speedups.load_pure("_lookup")
compiled = _speedups.load_compiled("_lookup")


def applies(impl, pattern, uri):
    lk = impl.Lookup([impl.SectionSpec("location", pattern, False, -1)], lambda idx: idx)
    return lk.match(uri, None) == (0,)


# --- <Location> wildcards ---------------------------------------------------

OBSERVED = [
    ("/lo4/*/deep", "/lo4/q/deep", True),
    ("/lo4/*/deep", "/lo4/q/r/deep", False),
    ("/lo4/*/deep", "/lo4/q/deep/", False),
    ("/lo4/*/deep", "/lo4/q/deep/x", False),
    ("/lo5/[ab]", "/lo5/a", True),
    ("/lo5/[ab]", "/lo5/a/x", False),
    ("/lo6/x?", "/lo6/xy", True),
    ("/lo6/x?", "/lo6/xy/z", False),
    ("/lo6/x?", "/lo6/x/", False),
    ("/s1/s*", "/s1/sub", True),
    ("/s1/s*", "/s1/sub/", False),
    ("/s1/s*", "/s1/sub/x.txt", False),
    ("/s1/sub/*.txt", "/s1/sub/x.txt", True),
    ("/s1/sub/*.txt", "/s1/sub/x.txt/extra", False),
]

# APR's test/testfnmatch.c, the expectations for APR_FNM_PATHNAME alone
APR_TABLE = [
    ("", "test", False), ("", "*", False), ("test", "*", False), ("test", "test", True),
    ("te\\st", "test", True), ("te\\\\st", "te\\st", True), ("te\\*t", "te*t", True),
    ("te\\*t", "test", False), ("te\\?t", "te?t", True), ("te\\?t", "test", False),
    ("tesT", "test", False), ("test", "Test", False),
    ("?est", "test", True), ("te?t", "test", True), ("tes?", "test", True),
    ("test?", "test", False),
    ("*", "", True), ("*", "test", True), ("*test", "test", True), ("*est", "test", True),
    ("*st", "test", True), ("t*t", "test", True), ("te*t", "test", True),
    ("te*st", "test", True), ("te*", "test", True), ("tes*", "test", True),
    ("test*", "test", True),
    ("test*?*[a-z]*", "testgoop", True), ("te[^x]t", "test", True),
    ("te[^abc]t", "test", True), ("te[!x]t", "test", True), ("te[^x]t", "text", False),
    ("te[^\\x]t", "text", False), ("te[^x\\", "text", False), ("te[/]t", "text", False),
    ("te[S]t", "test", False), ("te[r-t]t", "test", True), ("te[r-t]t", "teSt", False),
    ("te[r-Tz]t", "tezt", True), ("te[R-T]t", "tent", False), ("\\/test", "/test", True),
    ("tes[]t]", "test", True), ("tes[t-]", "test", True), ("tes[t-]]", "test]", True),
    ("tes[t-]]", "test", False), ("tes[u-]", "test", False), ("tes[t-]", "tes[t-]", False),
    ("test[/-/]", "test[/-/]", True), ("test[\\/-/]", "test[/-/]", True),
    ("test[/-\\/]", "test[/-/]", True), ("test[/-/]", "test/", False),
    ("test[\\/-/]", "test/", False), ("test[/-\\/]", "test/", False),
    ("test/this", "test/", False), ("test/", "test/this", False),
    ("test*/this", "test/this", True), ("test/*this", "test/this", True),
    # no APR_FNM_PERIOD: a leading "." is matched by "*", "?" and "[.]"
    (".*", ".this", True), ("*", ".this", True), ("?this", ".this", True),
    ("[.]this", ".this", True),
    ("test/this", "test/this", True), ("test?this", "test/this", False),
    ("test*this", "test/this", False), ("test[/]this", "test/this", False),
    ("test/.*", "test/.this", True), ("test/*", "test/.this", True),
    ("test/?this", "test/.this", True), ("test/[.]this", "test/.this", True),
]

MORE = [
    ("/a/*", "/a/", True),             # "*" may be empty
    ("/a/*", "/a", False),
    ("/a/*/", "/a/b/", True),
    ("/a/*/", "/a/b", False),          # the pattern's trailing "/" must be matched
    ("/a/*/b", "/a//b", True),         # one "/" for one "/": "*" is empty between
    ("/a/?/b", "/a//b", False),
    ("/a*", "/a/b", False),
    ("/[!x]", "/a", True),
    ("/[!x]", "/x", False),
    ("/x[!a]y", "/x/y", False),        # a negated bracket never matches "/"
    ("/[^x]", "/a", True),             # "^" negates too (Python's fnmatch: no)
    ("/[]a]", "/]", True),             # "]" first is a literal
    ("/[!]a]", "/b", True),
    ("/[!]a]", "/]", False),
    ("/[a-c]x", "/bx", True),
    ("/[c-a]x", "/bx", False),         # a range from high to low holds nothing
    ("/a[+-0]b", "/a+b", True),
    ("/a[+-0]b", "/a/b", False),       # a range spanning "/" never matches it
    ("/a[b", "/a[b", True),            # no "]": no wildcard, a prefix
    ("/a[b", "/a[b/c", True),
    ("/a[b*", "/a[bc", True),          # an unclosed "[" is a literal "["
    ("/a[b/c]*", "/a[b/c]d", True),    # a "[" cut by "/" too
    ("/x\\*", "/x\\*", True),          # "\*" hides the wildcard: a prefix,
    ("/x\\*", "/x\\*/y", True),        # compared as it is (strncmp)
    ("/x\\*", "/x*", False),
    ("/x\\*?", "/x*y", True),          # "\*" a literal "*" in a wildcard pattern
    ("/x\\*?", "/xzy", False),
    ("/x\\/*", "/x/y", True),          # "\/" is a "/"
    ("/x\\", "/x\\", True),            # a trailing backslash is literal
    ("/*.py", "/.py", True),
    ("*", "/", False),                 # a pattern without "/" for a path with one
    ("/*", "/", True),
    ("/*", "/a.b", True),
    ("/\u00e9?", "/\u00e9\u20ac", True),
    ("/a*b*c", "/aXbYbZc", True),
    ("/a*b*c", "/aXbYbZ", False),
    ("/a*b?c", "/abbbxc", True),
]


@pytest.mark.parametrize("pattern, uri, expected", OBSERVED + MORE)
def test_location_wildcards_as_apr_fnmatch(impl_lookup, pattern, uri, expected):
    assert applies(impl_lookup, pattern, uri) is expected


@pytest.mark.parametrize("pattern, string, expected", APR_TABLE)
def test_apr_fnmatch_table(impl_lookup, pattern, string, expected):
    """apr_fnmatch itself (a <Location> uses it only for a wildcard pattern):
    the pure port, and the compiled twin's regex."""
    if impl_lookup is pure:
        assert impl_lookup._fnmatch(pattern, string) is expected
    else:
        assert bool(impl_lookup._fnmatch_regex(pattern).fullmatch(string)) is expected


@pytest.mark.parametrize("pattern, uri, expected", [
    ("/private1", "/private1/f.txt", True),
    ("/private1", "/private1other", False),
    ("/private2/", "/private2", False),
    ("/", "/anything", True),
])
def test_plain_locations_stay_prefixes(impl_lookup, pattern, uri, expected):
    assert applies(impl_lookup, pattern, uri) is expected


def test_fnmatch_test_is_aprs():
    """apr_fnmatch_test, with APR's own table and the "[" needing a "]"."""
    for pattern, expected in [("a*b", True), ("a?", True), ("a\\b?", True),
                              ("a[b-c]", True), ("a", False), ("a\\", False),
                              ("/a[b", False), ("/a]b", False), ("/a\\*b", False),
                              ("/a\\[b]", False), ("/a[\\]]", True)]:
        assert pure._fnmatch_test(pattern) is expected, pattern


@pytest.mark.skipif(compiled is None or _speedups.NO_EXTENSIONS,
                    reason="compiled _lookup not built (or disabled)")
def test_compiled_regex_equals_the_port_on_random_patterns():
    """The compiled twin's regex against the pure port of apr_fnmatch."""
    rng = random.Random(20240527)
    pieces = ["a", "b", "/", "*", "?", "[", "]", "!", "^", "-", "\\", "+", "0", "z",
              "[a-c]", "[!/]", "[+-0]", "\\/", "x*y", "\x00", "\u00e9"]
    chars = ["a", "b", "/", "+", "0", "z", "-", "[", "]", "\\", ".", "c", "\u00e9", "x"]
    for _ in range(3000):
        pattern = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 7)))
        rx = compiled._fnmatch_regex(pattern)
        for _ in range(8):
            uri = "".join(rng.choice(chars) for _ in range(rng.randint(0, 9)))
            assert bool(rx.fullmatch(uri)) == pure._fnmatch(pattern, uri), (pattern, uri)
            if pure._fnmatch_test(pattern):
                assert applies(compiled, pattern, uri) == applies(pure, pattern, uri)


# --- PCRE -> Python re ------------------------------------------------------

@pytest.mark.parametrize("pcre_pattern, python_pattern", [
    (r"^/(?<site>[^/]+)/x", r"^/(?P<site>[^/]+)/x"),
    (r"(?'a'x)\k'a'", r"(?P<a>x)(?P=a)"),
    (r"(?<n>a)\k<n>\k{n}\g{n}", r"(?P<n>a)(?P=n)(?P=n)(?P=n)"),
    (r"(a)\g{1}\g1", r"(a)(?:\1)(?:\1)"),
    (r"(?P<n>a)(?P=n)", r"(?P<n>a)(?P=n)"),             # Python's spelling stays
    (r"(?<=/)a(?<!b)", r"(?<=/)a(?<!b)"),               # look-behinds stay
    (r"^/pc/[[:digit:]]+$", r"^/pc/[\x30-\x39]+$"),
    (r"[^[:space:]]", r"[^\x09-\x0d\x20]"),
    (r"[[:alpha:][:digit:]_-]", r"[\x41-\x5a\x61-\x7a\x30-\x39_-]"),
    (r"[][:upper:]]", r"[\]\x41-\x5a]"),                # "]" first is a literal
    (r"[a[b]", r"[a\[b]"),                              # "[" in a class is a literal
    (r"[\]\[]", r"[\]\[]"),                             # escapes stay
    (r"\[x\]", r"\[x\]"),                               # escaped brackets stay
    (r"[&|~]", r"[\&\|\~]"),
    (r"\.py$", r"\.py$"),
    (r"\Qa.b[\E+", r"a\.b\[+"),
    (r"a\z", r"a\Z"),
    (r"a\Z", r"a(?=\n?\Z)"),
    (r"\x{e9}\e", r"\xe9\x1b"),
    (r"(?#[ comment)x", r"(?#[ comment)x"),
])
def test_pcre_translation(pcre_pattern, python_pattern):
    assert pcre.translate(pcre_pattern) == python_pattern
    with warnings.catch_warnings():
        warnings.simplefilter("error")      # no "Possible nested set" FutureWarning
        re.compile(pcre.translate(pcre_pattern))


@pytest.mark.parametrize("pattern, subject, expected", [
    (r"^/(?<site>[^/]+)/x", "/abc/x", True),
    (r"^/pc/[[:digit:]]+$", "/pc/123", True),
    (r"^/pc/[[:digit:]]+$", "/pc/12a", False),
    (r"^/pc/[[:digit:]]+$", "/pc/:", False),       # (Python read it as a set of ":digt")
    (r"^[[:^digit:]]+$", "abc", True),
    (r"^[[:^digit:]]+$", "ab1", False),
    (r"^[[:xdigit:]]+$", "09afAF", True),
    (r"^[[:xdigit:]]+$", "g", False),
    (r"^[[:punct:]]+$", "!/:@[`{~", True),
    (r"^[[:word:]]+$", "a_Z9", True),
    (r"^[[:word:]]+$", "\u00e9", False),           # PCRE's C locale: ASCII only
    (r"^[[:lower:]][[:upper:]][[:alnum:]]$", "aB7", True),
    (r"^[^]x]$", "]", False),
    (r"^[^]x]$", "y", True),
])
def test_pcre_semantics(pattern, subject, expected):
    assert bool(pcre.compile(pattern).search(subject)) is expected


@pytest.mark.parametrize("pattern", ["[[:nope:]]", "[[.a.]]", "[[=a=]]", "[:alpha:]", "(",
                                     r"(?&n)", r"\[[:digit:]\]"])
def test_pcre_errors_stay_errors(pattern):
    with pytest.raises(re.error):
        pcre.compile(pattern)


def test_non_str_patterns_pass_through():
    assert pcre.translate(b"^/a") == b"^/a"


# --- the config -------------------------------------------------------------

def write(tmp_path, text):
    path = tmp_path / "site.conf"
    path.write_text(text)
    return str(path)


def test_named_group_location_match_loads_and_matches(tmp_path):
    (tmp_path / "htdocs").mkdir()
    path = write(tmp_path, "DocumentRoot htdocs\n"
                           '<LocationMatch "^/(?<site>[^/]+)/x">\n'
                           'ErrorDocument 404 "site x"\n'
                           "</LocationMatch>\n"
                           '<LocationMatch "^/pc/[[:digit:]]+$">\n'
                           'ErrorDocument 404 "digits"\n'
                           "</LocationMatch>\n"
                           "<Location /lo4/*/deep>\n"
                           'ErrorDocument 404 "lo4"\n'
                           "</Location>\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        client = Client(Dispatcher.from_config(path))
        assert client.get("/abc/x").body == b"site x"
        assert client.get("/abc/xyz").body == b"site x"
        assert client.get("/abc/y").body != b"site x"
        assert client.get("/x").body != b"site x"
        assert client.get("/pc/123").body == b"digits"
        assert client.get("/pc/12a").body != b"digits"
        assert client.get("/lo4/q/deep").body == b"lo4"
        for uri in ("/lo4/q/r/deep", "/lo4/q/deep/", "/lo4/q/deep/x"):
            assert client.get(uri).body != b"lo4", uri


def test_other_regex_sections_and_redirect_match_take_pcre(tmp_path):
    (tmp_path / "htdocs").mkdir()
    path = write(tmp_path, "DocumentRoot htdocs\n"
                           '<DirectoryMatch "/(?<d>htdocs)$">\n</DirectoryMatch>\n'
                           '<FilesMatch "^[[:alpha:]]+\\.txt$">\n</FilesMatch>\n'
                           '<Location ~ "^/(?\'n\'[[:lower:]]+)$">\n</Location>\n'
                           'RedirectMatch "^/old/(?<rest>[[:alnum:]]+)$" "/new/$1"\n')
    parse_config(path)
    r = Client(Dispatcher.from_config(path)).get("/old/abc")
    assert r.status == 302 and r.header("location").endswith("/new/abc")


@pytest.mark.parametrize("text, line, words", [
    ('<LocationMatch "[[:nope:]]">\n</LocationMatch>\n', 1, "unknown POSIX class name"),
    ('\n<DirectoryMatch "(?<x>a">\n</DirectoryMatch>\n', 2, "bad regular expression"),
    ('\n\nRedirectMatch "[[.a.]]" /x\n', 3, "could not be compiled"),
])
def test_bad_regexes_name_file_and_line(tmp_path, text, line, words):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        parse_config(path)
    assert info.value.filename == path and info.value.lineno == line
    assert words in str(info.value)
    assert str(info.value).startswith("%s:%d: " % (path, line))

"""Property tests: compiled _lookup == its pure twin.

On generated section sets (plain, wildcard and regex <Directory>, nested and
top-level <Files>/<FilesMatch>, <Location>/<LocationMatch>) and generated
(uri, filename) requests, hostile ones included ('..', '//', empty components,
very long paths, non-ASCII, lone surrogates, NUL), both implementations must
give the same sections_for() answer, the same match() answer, call merge_fn
with the same arguments in the same order (same caching and eviction), and
raise the same exception type wherever the twin raises.
"""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastdispatch import _speedups

# generated regexes such as "[[" warn (in both implementations alike)
pytestmark = pytest.mark.filterwarnings("ignore:Possible nested set:FutureWarning")

pure = _speedups.load_pure("_lookup")
compiled = _speedups.load_compiled("_lookup")

needs_compiled = pytest.mark.skipif(
    compiled is None or _speedups.NO_EXTENSIONS,
    reason="compiled _lookup not built (or disabled)")

SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow,
                                           HealthCheck.data_too_large])


def outcome(fn, *args):
    try:
        return ("value", fn(*args))
    except Exception as exc:  # noqa: BLE001 - the type is what is compared
        return ("raises", type(exc))


# --- strategies ----------------------------------------------------------

COMPONENTS = ["", ".", "..", "...", "a", "b", "ab", "srv", "www", "www2", "app", "x.py",
              "index.html", "f.tar.gz", ".htaccess", "public", "home", "bob", "123",
              "\u00e9", "\u20ac", "\udce9", "\ud800", "\U0001f600", "a b", "\x00", "*",
              "A", "APP", "x.PY", "private1", "re", "\n", "a\n", "cgi-bin", "v12"]
component = st.one_of(st.sampled_from(COMPONENTS), st.text(max_size=6))


def _join(parts, lead):
    return lead + "/".join(parts)


paths = st.builds(_join, st.lists(component, max_size=7), st.sampled_from(["/", "/", "//", ""]))
# very long: many components (more ancestors than the stack buffers hold)
long_paths = st.builds(lambda parts, n, tail: "/" + "/".join(parts * n) + tail,
                       st.lists(st.sampled_from(["a", "b", "srv", "", "\u00e9", "app"]),
                                min_size=1, max_size=4),
                       st.integers(20, 400), st.sampled_from(["", "/", "/x.py", "//"]))
# not absolute: the first character never counts as a component ("a/b" -> "/", "a/b")
relative = st.builds(lambda c, p: c + p, st.sampled_from(["a", "x", ".", "\u00e9", "ab"]), paths)
any_path = st.one_of(paths, paths, paths, relative, long_paths, st.text(max_size=30))

DIR_WILD = ["/srv/*", "/home/*/public", "*", "/*", "/a/?", "/[ab]/x", "/a*b/c", "**", "/srv/*/",
            "/srv/www/*.py", "/[!a]*", "/\u00e9*", "?", "/srv/w*w", "/*/*/*", "/[]", "/[a-",
            "?/*", "[!/]", "a/*"]
DIR_REGEX = [r"^/srv/.*/app$", r"/\.git", "app", "^/$", "(?i)SRV", r"^/a(?=/b)", r"\bwww\b",
             "b$", "", r"^/[a-z]+/[0-9]{3}", "(a|b)/c", "x*", "(?<=/)a", r"(a)/\1", "(?>a+)b",
             "a++/", "\u20ac", "\udce9", r"^/srv/www\Z", "(?m)^/srv", "(?x) / s r v", r"www2?",
             r"^/home/[^/]+/public", r"\.\.", r"//", r"\Aapp", r"(?s).", r"[^/]$", r"\B",
             r"^[^/]+$", "^a(/|$)", r"^\w+/",
             # anchored at the end: a directory, not the files in it
             "(cgi-bin|scripts)$", "^/srv/www/api/v[0-9]+$", "\n$", "a$", "(?i)APP$", "/$",
             "^/.$", "..$", "^..$", "(?s)^.{2}$", "[^/]\n$", "a\\$", "x{$", "www|app$"]
FILES_GLOB = ["*.py", "*", "index.html", "x.py", "*.tar.gz", ".ht*", "a*b", "[ab].py", "?.py",
              "*.[pP][yY]", "", "\u00e9*", "*\u20ac", "**.py", "x*.py*", "[*].py", "\\*"]
FILES_REGEX = [r"\.py$", "^index", r"^\.", r"(?i)\.PY$", ".*", "^$", r"\.(gz|tar)$", "a"]
LOC_PREFIX = ["/", "/app", "/app/", "/private1", "", "/a/b", "/\u00e9", "/app//x", "app",
              "/re", "//", "/srv/www", "/x.py"]
LOC_GLOB = ["/app/*", "/*.py", "*", "/a?c", "/[ab]/", "/img/*/", "/*/", "/app*"]
LOC_REGEX = ["^/re", r"\.py$", "/app", "(?i)^/APP", "^/$", r"^/(a|b)/", "\udce9", "(?=/)"]


def _section(kind, pattern, regex, parent):
    return (kind, pattern, regex, parent)


section = st.one_of(
    st.builds(_section, st.just("directory"), paths, st.just(False), st.just(-1)),
    st.builds(_section, st.just("directory"), st.sampled_from(DIR_WILD), st.just(False), st.just(-1)),
    st.builds(_section, st.just("directory"),
              st.one_of(st.sampled_from(DIR_REGEX), paths.map(lambda p: "^" + p.replace(".", r"\.")),
                        paths.map(lambda p: p.replace(".", r"\.") + "$")),
              st.just(True), st.just(-1)),
    st.builds(_section, st.just("files"), st.sampled_from(FILES_GLOB) | component, st.just(False),
              st.integers(-3, 12)),
    st.builds(_section, st.just("files"), st.sampled_from(FILES_REGEX), st.just(True),
              st.integers(-3, 12)),
    st.builds(_section, st.just("location"), st.sampled_from(LOC_PREFIX) | paths, st.just(False),
              st.just(-1)),
    st.builds(_section, st.just("location"), st.sampled_from(LOC_GLOB), st.just(False), st.just(-1)),
    st.builds(_section, st.just("location"), st.sampled_from(LOC_REGEX), st.just(True), st.just(-1)),
)
sections = st.lists(section, max_size=14)


def _docroot_pair(uri):
    return uri, "/srv/www" + uri


request = st.one_of(
    st.tuples(any_path, st.one_of(st.none(), st.just(""), any_path)),
    any_path.map(_docroot_pair),
    # the same filename with and without the file walked (cached apart)
    st.tuples(any_path, any_path, st.booleans()),
    any_path.map(_docroot_pair).map(lambda r: r + (True,)),
)
requests = st.lists(request, min_size=1, max_size=12)
cache_sizes = st.sampled_from([4096, 4096, 1, 0, 2, 3, -1])


def build(mod, secs, calls, cache_size, none_every=0):
    def merge(idx):
        calls.append(idx)
        if none_every and len(idx) % none_every == 0:
            return None  # never cached as a hit: merged again each time
        return ("merged", idx)
    return mod.Lookup([mod.SectionSpec(*s) for s in secs], merge, cache_size)


def run_both(secs, reqs, cache_size=4096, none_every=0, method="match"):
    """Build both, replay the same requests (twice, to hit the caches), and
    compare every answer and every merge_fn call."""
    pure_calls, comp_calls = [], []
    p = outcome(build, pure, secs, pure_calls, cache_size, none_every)
    c = outcome(build, compiled, secs, comp_calls, cache_size, none_every)
    assert (p[0], c[0]) == ("value", "value") or p == c, (p, c)
    if p[0] != "value":
        return
    pl, cl = p[1], c[1]
    for req in list(reqs) + list(reversed(reqs)):
        # (uri, filename) or (uri, filename, walk_file)
        if method == "sections_for":
            expected = outcome(pl.sections_for, *req)
            assert outcome(cl.sections_for, *req) == expected, req
        expected = outcome(pl.match, *req)
        got = outcome(cl.match, *req)
        assert got == expected, req
        assert comp_calls == pure_calls, req


# --- compiled == pure ----------------------------------------------------

@needs_compiled
@SETTINGS
@given(sections, requests)
def test_sections_for_same(secs, reqs):
    run_both(secs, reqs, method="sections_for")


@needs_compiled
@SETTINGS
@given(sections, requests, cache_sizes, st.sampled_from([0, 0, 2, 3]))
def test_match_cache_and_merge_calls_same(secs, reqs, cache_size, none_every):
    run_both(secs, reqs, cache_size, none_every)


@needs_compiled
@SETTINGS
@given(st.lists(section, min_size=15, max_size=20).map(lambda secs: secs * 9), requests)
def test_many_sections_same(secs, reqs):
    """More sections than the compiled side keeps on the stack."""
    run_both(secs, reqs, method="sections_for")


@needs_compiled
@SETTINGS
@given(sections, st.lists(st.tuples(long_paths, long_paths), min_size=1, max_size=3))
def test_very_long_paths_same(secs, reqs):
    run_both(secs, reqs, method="sections_for")


# <DirectoryMatch> on small alphabets where the edge cases are dense:
# relative names, "//", newlines before "/" or at the end.
small_path = st.text(alphabet="ab/\n", max_size=9)
small_paths = st.lists(small_path, min_size=1, max_size=8)


@needs_compiled
@SETTINGS
@given(st.lists(st.builds(lambda body, end: body + end,
                          st.text(alphabet="ab/\n.^|*+?()[]", max_size=5),
                          st.sampled_from(["$", "", "$", "\\$"])), min_size=1, max_size=3),
       small_paths)
def test_generated_directory_regexes_same(patterns, filenames):
    secs = [("directory", p, True, -1) for p in patterns]
    run_both(secs, [("/", f) for f in filenames], method="sections_for")


HOSTILE_VALUES = [None, "", b"/srv/www/x.py", b"", 0, 1, 1.5, ("/a",), ["/a"], object()]


@needs_compiled
@SETTINGS
@given(sections, st.sampled_from(HOSTILE_VALUES) | any_path,
       st.sampled_from(HOSTILE_VALUES) | any_path)
def test_non_str_arguments_same_errors(secs, uri, filename):
    run_both(secs, [(uri, filename)], method="sections_for")


BAD_SECTIONS = [
    ("nope", "/", False, -1),                    # unknown kind: ValueError
    ("directory", "(", True, -1),                # bad regex: re.error
    ("directory", b"/a", False, -1),             # not a str: TypeError
    ("directory", b"^/a", True, -1),             # bytes regex: TypeError when searched
    ("files", b"*.py", False, -1),               # bytes glob: TypeError when matched
    ("files", "*", False, ["unhashable"]),       # parent not hashable: TypeError when matched
    ("files", "*", False, 1.0),                  # parent equal to an int
    ("files", "*", False, True),
    ("files", "*", False, "0"),
    ("location", b"/a", False, -1),              # not a str: TypeError when matched
    ("location", b"^/a", True, -1),
    ("files", "[", True, -1),
]


@needs_compiled
@SETTINGS
@given(st.lists(st.one_of(section, st.sampled_from(BAD_SECTIONS)), max_size=8), requests,
       st.sampled_from([4096, 2.5, "x"]))
def test_odd_sections_and_cache_sizes_same_errors(secs, reqs, cache_size):
    run_both(secs, reqs, cache_size)


# --- the public surface ----------------------------------------------------

@needs_compiled
def test_section_spec_surface_same():
    for mod in (pure, compiled):
        s = mod.SectionSpec("files", "*.py", parent=2)
        assert (s.kind, s.pattern, s.regex, s.parent) == ("files", "*.py", False, 2)
        s.pattern = "x"
        s.parent = -1
        assert (s.pattern, s.parent) == ("x", -1)
        with pytest.raises(AttributeError):
            s.other = 1
        with pytest.raises(TypeError):
            mod.SectionSpec("files")
        lk = mod.Lookup(sections=[s], merge_fn=lambda idx: idx, cache_size=8)
        assert lk.sections_for(uri="/", filename="/a/x") == (0,)
        assert lk.match("/", "/a/x") == (0,)
        assert lk.match("/", "/a/y") == ()


@needs_compiled
def test_str_subclasses_work():
    class S(str):
        pass
    secs = [("directory", S("/srv"), False, -1), ("location", S("/app"), False, -1),
            ("files", S("*.py"), False, 0), ("directory", S("/s*"), False, -1)]
    run_both(secs, [(S("/app/x.py"), S("/srv/x.py")), ("/app/x.py", "/srv/x.py")])


@needs_compiled
def test_subclass_overriding_sections_for_is_used_by_match():
    for mod in (pure, compiled):
        class Only(mod.Lookup):
            def sections_for(self, uri, filename, walk_file=False):
                return (7,)
        lk = Only([mod.SectionSpec("directory", "/", False, -1)], lambda idx: idx)
        assert lk.match("/x", "/x") == (7,)


@needs_compiled
def test_threads_share_one_lookup():
    """Handlers run in threads: one Lookup, a tiny cache (constant eviction),
    merge_fn that lets other threads in; every answer stays right."""
    import threading
    import time
    secs = [("directory", "/srv", False, -1), ("directory", "/srv/a", False, -1),
            ("files", "*.py", False, 1), ("location", "/a", False, -1),
            ("directory", "^/srv/.*b$", True, -1)]

    def merge(idx):
        time.sleep(0)
        return ("merged", idx)
    lk = compiled.Lookup([compiled.SectionSpec(*s) for s in secs], merge, 8)
    ref = pure.Lookup([pure.SectionSpec(*s) for s in secs], lambda idx: ("merged", idx))
    reqs = [("/a/%d" % i, "/srv/%s/f%d.py" % ("ab"[i % 2], i % 13)) for i in range(40)]
    expected = {r: ref.match(*r) for r in reqs}
    errors = []

    def worker():
        try:
            for _ in range(50):
                for r in reqs:
                    got = lk.match(*r)
                    if got != expected[r]:
                        errors.append((r, got))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []

"""_lookup: compiled vs pure twin vs the naive per-request scan (pytest-benchmark).

Run (one run, all groups; the ratios are printed at the end):
    python -m pytest bench/bench_lookup.py --benchmark-only -q \
        --benchmark-group-by=group --benchmark-columns=min,median,mean,ops

A realistic site: 30 sections (plain <Directory> nested 1-5 deep under the
DocumentRoot, wildcard <Directory>, <DirectoryMatch>, top-level and nested
<Files>/<FilesMatch>, <Location>/<LocationMatch>), and 20 requests mixing
publisher URLs, static files, an API, dot-files and <Location>-only hits.
Every timed call runs all 20 requests; uri and filename are equal copies,
not the objects the cache holds, as a server's fresh strings would be.

- "hit": ``match()`` answered from the cache (the per-request cost once warm)
- "cold": ``sections_for()``, the uncached work behind a miss
- "naive": what a user would write without _lookup: for every request, loop
  over all 30 sections with startswith / fnmatch / precompiled re.search.
  It has no cache, so it appears in both groups.
"""
import fnmatch
import re

import pytest

from fastdispatch import _speedups

PURE = _speedups.load_pure("_lookup")
COMPILED = _speedups.load_compiled("_lookup")

IMPLS = [pytest.param(PURE, id="pure")]
if COMPILED is not None:
    IMPLS.insert(0, pytest.param(COMPILED, id="compiled"))

DOCROOT = "/srv/www"

SECTIONS = [
    # kind, pattern, regex, parent
    ("directory", "/", False, -1),                                  # 0
    ("directory", "/srv/www", False, -1),                           # 1
    ("directory", "/srv/www/app", False, -1),                       # 2
    ("directory", "/srv/www/app/admin", False, -1),                 # 3
    ("directory", "/srv/www/app/admin/reports", False, -1),         # 4
    ("directory", "/srv/www/app/admin/reports/2024", False, -1),    # 5
    ("directory", "/srv/www/static", False, -1),                    # 6
    ("directory", "/srv/www/static/img", False, -1),                # 7
    ("directory", "/srv/www/blog", False, -1),                      # 8
    ("directory", "/srv/www/blog/posts", False, -1),                # 9
    ("directory", "/srv/www/api", False, -1),                       # 10
    ("directory", "/srv/www/api/v1", False, -1),                    # 11
    ("directory", "/srv/www/api/v2", False, -1),                    # 12
    ("directory", "/home/*/public_html", False, -1),                # 13
    ("directory", "/srv/www/*/private", False, -1),                 # 14
    ("directory", r"/\.(git|svn)(/|$)", True, -1),                  # 15 DirectoryMatch
    ("directory", r"^/srv/www/api/v[0-9]+$", True, -1),             # 16 DirectoryMatch
    ("directory", r"/(cgi-bin|scripts)$", True, -1),                # 17 DirectoryMatch
    ("files", ".ht*", False, -1),                                   # 18
    ("files", "*.py", False, 2),                                    # 19 in /srv/www/app
    ("files", "*.psp", False, 2),                                   # 20 in /srv/www/app
    ("files", "index.html", False, -1),                             # 21
    ("files", r"\.(gif|jpe?g|png)$", True, 6),                      # 22 FilesMatch in static
    ("files", r"(^\.|~$)", True, -1),                               # 23 FilesMatch
    ("files", "*.bak", False, -1),                                  # 24
    ("location", "/server-status", False, -1),                      # 25
    ("location", "/app/admin", False, -1),                          # 26
    ("location", "/api/", False, -1),                               # 27
    ("location", "/static/*", False, -1),                           # 28
    ("location", r"^/blog/[0-9]{4}/", True, -1),                    # 29 LocationMatch
]

# (uri, filename) as the dispatcher has them after map_to_storage
_REQUESTS = [
    ("/", DOCROOT + "/"),
    ("/index.html", DOCROOT + "/index.html"),
    ("/app/form.py/email", DOCROOT + "/app/form.py"),
    ("/app/hello.psp", DOCROOT + "/app/hello.psp"),
    ("/app/admin/users.py", DOCROOT + "/app/admin/users.py"),
    ("/app/admin/reports/2024/q1.py", DOCROOT + "/app/admin/reports/2024/q1.py"),
    ("/static/img/logo.png", DOCROOT + "/static/img/logo.png"),
    ("/static/css/site.css", DOCROOT + "/static/css/site.css"),
    ("/blog/2024/03/hello.html", DOCROOT + "/blog/2024"),
    ("/blog/posts/first.html", DOCROOT + "/blog/posts/first.html"),
    ("/api/v1/users", DOCROOT + "/api/v1/users"),
    ("/api/v2/items/42", DOCROOT + "/api/v2/items"),
    ("/.htaccess", DOCROOT + "/.htaccess"),
    ("/app/.git/config", DOCROOT + "/app/.git/config"),
    ("/server-status", None),
    ("/cgi-bin/test.cgi", DOCROOT + "/cgi-bin/test.cgi"),
    ("/app/private/secret.txt", DOCROOT + "/app/private/secret.txt"),
    ("/downloads/file.tar.gz", DOCROOT + "/downloads/file.tar.gz"),
    ("/app/admin/backup.bak", DOCROOT + "/app/admin/backup.bak"),
    ("/app/admin/reports/2024/summary.html~", DOCROOT + "/app/admin/reports/2024/summary.html~"),
]


def _copy(s):
    """An equal str that is not the same object (what a new request holds)."""
    return None if s is None else (s + "/")[:-1]


REQUESTS = [(_copy(u), _copy(f)) for u, f in _REQUESTS]


def make_lookup(mod):
    specs = [mod.SectionSpec(*s) for s in SECTIONS]
    return mod.Lookup(specs, lambda idx: ("merged", idx))


# --- the naive alternative -----------------------------------------------

def make_naive():
    compiled = []
    for kind, pattern, regex, parent in SECTIONS:
        if regex:
            compiled.append((kind, "re", re.compile(pattern).search, parent))
        elif any(c in pattern for c in "*?["):
            compiled.append((kind, "glob", pattern, parent))
        else:
            compiled.append((kind, "plain", pattern, parent))
    return compiled


def naive_sections(naive, uri, filename):
    """Loop over every section per request (file order, no merge order, no
    cache): what an application would write by hand, splitting the filename
    into its ancestor directories once per request."""
    out = []
    if filename:
        parts = filename.split("/")
        ancestors = ["/".join(parts[:k]) or "/" for k in range(1, len(parts) + 1)]
        base = parts[-1]
        for i, (kind, how, pat, parent) in enumerate(naive):
            if kind == "directory":
                if how == "plain":
                    ok = pat == "/" or filename == pat or filename.startswith(pat + "/")
                elif how == "glob":
                    depth = pat.count("/")
                    ok = depth < len(ancestors) and fnmatch.fnmatchcase(ancestors[depth], pat)
                else:
                    ok = any(pat(a) for a in ancestors)
            elif kind == "files":
                if parent != -1 and parent not in out:
                    continue
                ok = pat(base) if how == "re" else fnmatch.fnmatchcase(base, pat)
            else:
                continue
            if ok:
                out.append(i)
    for i, (kind, how, pat, parent) in enumerate(naive):
        if kind != "location":
            continue
        if how == "re":
            ok = pat(uri)
        elif how == "glob":
            ok = fnmatch.fnmatchcase(uri, pat)
        else:
            ok = uri == pat or uri.startswith(pat if pat.endswith("/") else pat + "/")
        if ok:
            out.append(i)
    return out


# --- timed bodies -----------------------------------------------------------

def run_hits(lookup, requests=REQUESTS):
    match = lookup.match
    for uri, filename in requests:
        match(uri, filename)


def run_cold(lookup, requests=REQUESTS):
    sections_for = lookup.sections_for
    for uri, filename in requests:
        sections_for(uri, filename)


def run_naive(naive, requests=REQUESTS):
    for uri, filename in requests:
        naive_sections(naive, uri, filename)


def test_same_answers():
    """The benchmark compares like with like: both implementations agree,
    and the naive scan finds the same sections (in its own order)."""
    naive = make_naive()
    pure_lk = make_lookup(PURE)
    comp_lk = make_lookup(COMPILED) if COMPILED is not None else pure_lk
    for uri, filename in REQUESTS:
        expected = pure_lk.sections_for(uri, filename)
        assert comp_lk.sections_for(uri, filename) == expected
        assert sorted(naive_sections(naive, uri, filename)) == sorted(expected), uri
        assert comp_lk.match(uri, filename) == pure_lk.match(uri, filename) == ("merged", expected)


# --- benchmarks ---------------------------------------------------------------

MEDIANS = {}


def _record(benchmark, group, name):
    if benchmark.stats is not None:  # None under --benchmark-disable
        MEDIANS[(group, name)] = benchmark.stats.stats.median


@pytest.mark.benchmark(group="lookup: 20 requests, match() cache hit")
@pytest.mark.parametrize("mod", IMPLS)
def test_hit(benchmark, mod):
    lk = make_lookup(mod)
    run_hits(lk)  # warm the cache
    benchmark(run_hits, lk)
    _record(benchmark, "hit", "compiled" if mod is COMPILED else "pure")


@pytest.mark.benchmark(group="lookup: 20 requests, match() cache hit")
def test_hit_naive(benchmark):
    benchmark(run_naive, make_naive())
    _record(benchmark, "hit", "naive")


@pytest.mark.benchmark(group="lookup: 20 requests, sections_for() (cold, no cache)")
@pytest.mark.parametrize("mod", IMPLS)
def test_cold(benchmark, mod):
    benchmark(run_cold, make_lookup(mod))
    _record(benchmark, "cold", "compiled" if mod is COMPILED else "pure")


@pytest.mark.benchmark(group="lookup: 20 requests, sections_for() (cold, no cache)")
def test_cold_naive(benchmark):
    benchmark(run_naive, make_naive())
    _record(benchmark, "cold", "naive")


@pytest.fixture(scope="module", autouse=True)
def _print_ratios(request):
    yield
    tr = request.config.pluginmanager.get_plugin("terminalreporter")
    capman = request.config.pluginmanager.get_plugin("capturemanager")
    if tr is None or capman is None or not MEDIANS:
        return
    lines = ["", "lookup medians per request (20 requests per round) and ratios:"]
    for group in ("hit", "cold"):
        got = {name: MEDIANS.get((group, name)) for name in ("compiled", "pure", "naive")}
        cells = ["%s %.0f ns" % (n, v / 20 * 1e9) for n, v in got.items() if v]
        ratios = []
        if got["compiled"] and got["pure"]:
            ratios.append("pure/compiled %.1fx" % (got["pure"] / got["compiled"]))
        if got["compiled"] and got["naive"]:
            ratios.append("naive/compiled %.1fx" % (got["naive"] / got["compiled"]))
        if got["pure"] and got["naive"]:
            ratios.append("naive/pure %.1fx" % (got["naive"] / got["pure"]))
        if cells:
            lines.append("  %-4s  %s  |  %s" % (group, ", ".join(cells), ", ".join(ratios)))
    with capman.global_and_fixture_disabled():
        for line in lines:
            tr.write_line(line)

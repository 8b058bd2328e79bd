"""_uri: compiled vs pure twin vs the stdlib composition (pytest-benchmark).

Run (one run, all groups):
    python -m pytest bench/bench_uri.py bench/bench_auth.py --benchmark-only \
        --benchmark-group-by=group --benchmark-columns=min,median,mean,ops

Which lines of the compiled modules still touch Python objects:
    FASTDISPATCH_ANNOTATE=1 python setup.py build_ext --inplace --force
    (writes src/_uri.html, src/_auth.html; the inner loops must be white)

The "stdlib" rows do the same job with urllib.parse: urlsplit (which is
lru-cached in Python 3.11, so it is a cache hit here), unquote, parse_qsl.
"""
import urllib.parse

import pytest

from fastdispatch import _speedups

PURE = _speedups.load_pure("_uri")
COMPILED = _speedups.load_compiled("_uri")

# The tutorial's form, posted with GET.
FORM_TARGET = "/form.py/email?name=Joe+Smith&email=joe%40example.com&comment=Hello%2C+world"
ESCAPED_PATH = "/docs/caf%C3%A9/a%20b/../index.html"

IMPLS = [pytest.param(PURE, id="pure")]
if COMPILED is not None:
    IMPLS.insert(0, pytest.param(COMPILED, id="compiled"))


def stdlib_request(target):
    parts = urllib.parse.urlsplit(target)
    return urllib.parse.unquote(parts.path), urllib.parse.parse_qsl(parts.query)


def fd_request(mod, target):
    path, query = mod.split_target(target)
    return mod.unquote_path(path), mod.parse_qsl(query or "")


def fd_request_full(mod, target):
    path, query = mod.split_target(target)
    return mod.normalize_path(mod.unquote_path(path)), mod.parse_qsl(query or "")


# split + unquote + parse_qsl: the job urllib.parse can do too
@pytest.mark.benchmark(group="uri: form target, split+unquote+parse_qsl")
@pytest.mark.parametrize("mod", IMPLS)
def test_form_target(benchmark, mod):
    result = benchmark(fd_request, mod, FORM_TARGET)
    assert result == stdlib_request(FORM_TARGET)


@pytest.mark.benchmark(group="uri: form target, split+unquote+parse_qsl")
def test_form_target_stdlib(benchmark):
    benchmark(stdlib_request, FORM_TARGET)


# what a request really costs here: + dot-segment removal
@pytest.mark.benchmark(group="uri: form target, + normalize_path")
@pytest.mark.parametrize("mod", IMPLS)
def test_form_target_full(benchmark, mod):
    benchmark(fd_request_full, mod, FORM_TARGET)


@pytest.mark.benchmark(group="uri: parse_qsl")
@pytest.mark.parametrize("mod", IMPLS)
def test_parse_qsl(benchmark, mod):
    qs = FORM_TARGET.partition("?")[2]
    benchmark(mod.parse_qsl, qs)


@pytest.mark.benchmark(group="uri: parse_qsl")
def test_parse_qsl_stdlib(benchmark):
    qs = FORM_TARGET.partition("?")[2]
    benchmark(urllib.parse.parse_qsl, qs)


@pytest.mark.benchmark(group="uri: unquote_path + normalize_path (escaped, dotted)")
@pytest.mark.parametrize("mod", IMPLS)
def test_unquote_normalize(benchmark, mod):
    benchmark(lambda: mod.normalize_path(mod.unquote_path(ESCAPED_PATH)))


@pytest.mark.benchmark(group="uri: unquote_path + normalize_path (escaped, dotted)")
def test_unquote_stdlib(benchmark):
    # no stdlib dot-segment removal for paths; unquote alone
    benchmark(urllib.parse.unquote, ESCAPED_PATH)


@pytest.mark.benchmark(group="uri: map_to_storage (cache hit)")
@pytest.mark.parametrize("mod", IMPLS)
def test_map_to_storage_hit(benchmark, mod, tmp_path):
    (tmp_path / "form.py").write_text("x")
    root = str(tmp_path)
    mod.map_to_storage(root, "/form.py/email")
    result = benchmark(mod.map_to_storage, root, "/form.py/email")
    assert result == (root + "/form.py", "/email")


@pytest.mark.benchmark(group="uri: map_to_storage (miss: 2 stat calls)")
@pytest.mark.parametrize("mod", IMPLS)
def test_map_to_storage_miss(benchmark, mod, tmp_path):
    (tmp_path / "form.py").write_text("x")
    root = str(tmp_path)

    def miss():
        mod.clear_map_cache()
        return mod.map_to_storage(root, "/form.py/email")
    benchmark(miss)

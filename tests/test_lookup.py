"""Directive lookup, on both implementations."""
import pytest


def specs(impl, *items):
    return [impl.SectionSpec(*it) for it in items]


def lookup(impl, *items):
    return impl.Lookup(specs(impl, *items), lambda idx: idx)


def test_directories_shortest_first_then_regex_then_files_then_location(impl_lookup):
    lk = lookup(impl_lookup,
                ("location", "/app", False, -1),         # 0
                ("directory", "/srv/www/app", False, -1),  # 1
                ("directory", "/srv/www", False, -1),      # 2
                ("directory", r"/srv/.*/app$", True, -1),  # 3
                ("files", "*.py", False, -1),             # 4
                ("files", "x.py", False, 1),              # 5 nested in 1
                ("files", "y.py", False, 1),              # 6 nested in 1
                ("location", "/other", False, -1))        # 7
    # the regex is searched in the filename alone: "app$" does not hold for
    # a file in that directory (Apache 2.4's <DirectoryMatch>)
    assert lk.match("/app/x.py", "/srv/www/app/x.py") == (2, 1, 4, 5, 0)
    assert lk.match("/app/", "/srv/www/app/") == (2, 1, 0)
    assert lk.match("/app", "/srv/www/app", True) == (2, 1, 3, 0)


def test_location_boundaries(impl_lookup):
    lk = lookup(impl_lookup, ("location", "/private1", False, -1),
                ("location", "/private2/", False, -1), ("location", "^/re", True, -1))
    assert lk.match("/private1", None) == (0,)
    assert lk.match("/private1/f.txt", None) == (0,)
    assert lk.match("/private1other", None) == ()
    assert lk.match("/private2", None) == ()
    assert lk.match("/private2/f", None) == (1,)
    assert lk.match("/regex", None) == (2,)


def test_no_filename_means_only_locations(impl_lookup):
    lk = lookup(impl_lookup, ("directory", "/", False, -1), ("location", "/", False, -1))
    assert lk.match("/x", None) == (1,)
    assert lk.match("/x", "/x") == (0, 1)


def test_wildcard_directory(impl_lookup):
    lk = lookup(impl_lookup, ("directory", "/home/*/public", False, -1))
    assert lk.match("/u", "/home/bob/public/index.html") == (0,)
    assert lk.match("/u", "/home/bob/private/index.html") == ()


def test_directory_prefix_is_component_wise(impl_lookup):
    lk = lookup(impl_lookup, ("directory", "/srv/www", False, -1))
    assert lk.match("/", "/srv/www2/x", True) == ()
    assert lk.match("/", "/srv/www", True) == (0,)
    assert lk.match("/", "/srv/www/") == (0,)


def test_merge_called_once_per_combination(impl_lookup):
    calls = []
    lk = impl_lookup.Lookup(specs(impl_lookup, ("directory", "/a", False, -1)),
                            lambda idx: calls.append(idx) or idx)
    for i in range(50):
        lk.match("/x%d" % i, "/a/f%d" % i)
    assert calls == [(0,)]


def test_cache_is_bounded(impl_lookup):
    lk = impl_lookup.Lookup(specs(impl_lookup, ("directory", "/a", False, -1)),
                            lambda idx: idx, 16)
    for i in range(1000):
        assert lk.match("/x%d" % i, "/a/f%d" % i) == (0,)


def test_nested_files_merge_after_the_top_level_ones(impl_lookup):
    # Apache merges a <Directory>'s own <Files> list after the server's:
    # a nested <Files> wins over a top-level one written later in the file
    # (seen on Apache 2.4.71 with PythonOption in both)
    lk = lookup(impl_lookup,
                ("directory", "/srv/www", False, -1),      # 0
                ("files", "o_*", False, 0),                # 1 nested in 0
                ("directory", "/srv/www/s1", False, -1),   # 2
                ("files", "o_x*", False, 2),               # 3 nested in 2
                ("files", "o_*", False, -1),               # 4 top level, last
                ("files", "*.txt", False, -1))             # 5 top level
    assert lk.match("/s1/o_x.txt", "/srv/www/s1/o_x.txt") == (0, 2, 4, 5, 1, 3)
    assert lk.match("/o_x.txt", "/srv/www/o_x.txt") == (0, 4, 5, 1)

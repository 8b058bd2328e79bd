"""Where a handler runs, as mod_python 3.5 on Apache 2.4.71 answered for
tests/sites/handlerdirs (the same config on a private Apache), asserted
against ``fastdispatch serve``:

* ``hlist.directory``, which is also where the handler module is imported
  from: for a <DirectoryMatch> or a wildcard <Directory>, the shortest of
  the file's directories the section matches; for a <Location>, the
  pattern as written, with ``is_location`` 1;
* mod_dir's DirectoryIndex: the index is looked up as a subrequest and the
  request becomes it (a fast redirect: no ``prev``, no REDIRECT_
  variables, ``unparsed_uri`` kept, ``path_info`` None); an index that
  maps to no file (a <Location> handler's URL) is not taken."""
import os
from urllib.parse import quote

import pytest

from serverproc import ServerProcess, basic, copy_site, request

SPAM = [basic("spam", "eggs")]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    d = tmp_path_factory.mktemp("handlerdirs")
    conf = copy_site("handlerdirs", d)
    srv = ServerProcess(["serve", "--config", str(conf), "--port", "0", "--workers", "1"])
    srv.dir = str(d)
    yield srv
    srv.stop()


def lines(site, path, headers=()):
    r = request(site.port, "GET", path, headers=headers)
    assert r.status == 200, r.body[:2000]
    text = r.body.decode().replace(site.dir, "SITE_DIR")
    return dict(line.split("=", 1) for line in text.splitlines())


CASES_FOR_HARNESS = [(p, {}) for p in (
    "/dm/hd_dm.py", "/dm/sub/hd_dm.py", "/wild1/hd_wild.py", "/wild1/sub/hd_wild.py",
    "/xx/deep/more/hd_deep.py", "/rx/sub/hd_rx.py", "/loc", "/loc/x/y", "/locm/z",
    "/ix/", "/ix/?a=1", "/ix/hd_ix.py", "/ix/hd_ix.py/x", "/ix", "/ixa/", "/ixf/",
    "/ixf/?q=2", "/ixf/hd_ixf.py", "/ixn/", "/ixl/", "/ixl/hd_ixl.py")] + [
    ("/ixa/", dict([("Authorization", "Basic c3BhbTplZ2dz")])),
    ("/ixa/", dict([("Authorization", "Basic c3BhbTp4")]))]


@pytest.mark.parametrize("path, directory", [
    ("/dm/hd_dm.py", "SITE_DIR/dm/"),               # <DirectoryMatch "/d[m]">
    ("/dm/sub/hd_dm.py", "SITE_DIR/dm/"),           # (the shortest matched)
    ("/wild1/hd_wild.py", "SITE_DIR/wild1/"),       # <Directory SITE_DIR/wild*>
    ("/wild1/sub/hd_wild.py", "SITE_DIR/wild1/"),
    ("/xx/deep/more/hd_deep.py", "SITE_DIR/xx/deep/"),    # <Directory SITE_DIR/*/deep>
])
def test_a_matching_sections_directory_is_the_one_it_matched(site, path, directory):
    seen = lines(site, path)
    assert seen["hlist.directory"] == "%r is_location=0" % directory
    assert seen["uri"].startswith("'%s'" % path)


def test_the_module_is_imported_from_that_directory_only(site):
    # <DirectoryMatch "/rx/">: the module sits in rx/sub/, the section's
    # directory is rx/, and the import finds nothing there
    r = request(site.port, "GET", "/rx/sub/hd_rx.py")
    assert r.status == 500
    assert b"ModuleNotFoundError: No module named &#x27;hd_rx&#x27;" in r.body


@pytest.mark.parametrize("path, directory", [
    ("/loc", "/loc"), ("/loc/x/y", "/loc"), ("/locm/z", "^/l[o]cm/"),
    ("/ixl/hd_ixl.py", "/ixl/hd_ixl.py"),
])
def test_a_locations_directory_is_its_pattern(site, path, directory):
    seen = lines(site, path)
    assert seen["hlist.directory"] == "%r is_location=1" % directory
    assert seen["uri"] == "%r filename=None path_info=None" % path


@pytest.mark.parametrize("path, args", [("/ix/", None), ("/ix/?a=1", "a=1")])
def test_directory_index_is_a_fast_redirect(site, path, args):
    seen = lines(site, path)
    assert seen == {
        "uri": "'/ix/hd_ix.py' filename='SITE_DIR/ix/hd_ix.py' path_info=None",
        "unparsed": "%r args=%r" % (path, args),
        "parsed_path": "'/ix/'",     # (the path asked for: the redirect keeps it)
        "prev": "False main=False",
        "hlist.directory": "'SITE_DIR/ix/' is_location=0",
        "redirect_env": "[]",
        "notes": "['python_init_ran']",
        "fix": "[]",
    }


def test_the_index_file_asked_for_itself_is_a_request_like_any(site):
    seen = lines(site, "/ix/hd_ix.py/x")
    assert seen["uri"] == "'/ix/hd_ix.py/x' filename='SITE_DIR/ix/hd_ix.py' path_info='/x'"


def test_the_index_lookup_runs_the_fixups_and_keeps_what_they_set(site):
    # the fixup handler runs for the directory, then in the index's lookup;
    # what both added is the request's (the lookup's first)
    seen = lines(site, "/ixf/?q=2")
    assert seen["notes"] == "['fix-/ixf/', 'fix-/ixf/hd_ixf.py', 'python_init_ran']"
    assert seen["fix"] == "['/ixf/hd_ixf.py', '/ixf/']"
    assert seen["unparsed"] == "'/ixf/?q=2' args='q=2'"
    r = request(site.port, "GET", "/ixf/")
    assert [v for k, v in r.headers if k == "X-Fix"] == ["/ixf/hd_ixf.py", "/ixf/"]


def test_the_index_lookup_authenticates(site):
    r = request(site.port, "GET", "/ixa/")
    assert r.status == 401
    assert ("WWW-Authenticate", 'Basic realm="ix"') in r.headers
    assert request(site.port, "GET", "/ixa/", headers=[basic("spam", "x")]).status == 401
    seen = lines(site, "/ixa/", SPAM)
    assert seen["uri"] == "'/ixa/hd_ixa.py' filename='SITE_DIR/ixa/hd_ixa.py' path_info=None"
    assert seen["notes"] == "['AP_GET_BASIC_AUTH_PW_NOTE', 'python_init_ran']"


def test_index_names_are_tried_in_order(site):
    # a.html is missing and /nowhere.html maps to no file: b.html is served
    r = request(site.port, "GET", "/ixn/")
    assert (r.status, r.body) == (200, b"<p>b</p>\n")


def test_an_index_that_maps_to_no_file_is_not_taken(site):
    # hd_ixl.py exists, but a <Location> mod_python handles keeps its URL
    # off the file system: no index, and no listing either
    assert request(site.port, "GET", "/ixl/").status == 404
    r = request(site.port, "GET", "/ix")
    assert r.status == 301
    assert ("Location", "http://127.0.0.1/ix/") in r.headers


def test_an_ht_file_is_never_an_index(site):
    r = request(site.port, "GET", "/ixh/")
    assert (r.status, r.body) == (200, b"<p>ixh</p>\n")


@pytest.mark.parametrize("name, escaped", [
    ("pc%41dir", "pc%2541dir"), ("q?dir", "q%3fdir"), ("h#sh", "h%23sh"),
    ("sp ace", "sp%20ace"), ("\u00e9", "%c3%a9")])
def test_the_index_is_looked_up_under_the_uri_escaped_again(site, name, escaped):
    # (mod_dir's lookup and its redirect escape the decoded URI again, in
    # lower case: a "%41" in the directory's name stays a "%41", not an "A")
    for sub, text in ((name, "index of %s\n" % name), ("pcAdir", "the wrong one\n")):
        os.makedirs(os.path.join(site.dir, "esc", sub), exist_ok=True)
        with open(os.path.join(site.dir, "esc", sub, "index.html"), "w") as f:
            f.write(text)
    path = "/esc/" + quote(name)
    r = request(site.port, "GET", path + "/")
    assert (r.status, r.body.decode()) == (200, "index of %s\n" % name)
    r = request(site.port, "GET", path + "?k=%41")
    assert r.status == 301
    assert ("Location", "http://127.0.0.1/esc/%s/?k=%%41" % escaped) in r.headers


def test_an_index_name_that_is_a_directory_redirects_to_its_slash(site):
    r = request(site.port, "GET", "/ixd/")
    assert r.status == 301
    assert ("Location", "http://127.0.0.1/ixd/sub/") in r.headers


def test_a_directory_gets_no_default_language(site):
    r = request(site.port, "GET", "/langdir/")
    assert (r.status, r.body) == (200, b"languages=()\n")
    assert r.header("Content-Language") is None
    r = request(site.port, "GET", "/langdir/x.txt")
    assert (r.status, r.body) == (200, b"languages=('de',)\n")
    assert r.header("Content-Language") == "de"


@pytest.mark.parametrize("path, interpreter", [
    ("/interp1/x.txt", "'other_one'"),
    ("/interp2/x.txt", "'SITE_DIR/interp2/'"),      # (the file's directory)
    ("/interp2/", "'SITE_DIR/interp2/'"),
    ("/interp3/x.txt", "'localhost'"),              # (the server's name)
])
def test_the_interpreter_a_handler_is_named_to_run_in(site, path, interpreter):
    r = request(site.port, "GET", path)
    first = r.body.decode().replace(site.dir, "SITE_DIR").splitlines()[0]
    assert first == "interpreter=%s directory='SITE_DIR/%s/'" % (
        interpreter, path.split("/")[1])


def test_a_handler_added_at_run_time_names_no_directory(site):
    r = request(site.port, "GET", "/interp3/x.txt")
    assert r.body.decode().splitlines()[1] == "added directory=None"

"""Which <Directory> sections apply to a file, as Apache 2.4 decides it
(ap_directory_walk): plain and wildcard sections are matched against the
directories of the path, by depth and then in file order; the file itself
counts only when the whole filename exists (no path_info; FollowSymLinks,
the default); a regex section is searched once in the filename.

Every expectation below was observed on Apache 2.4.71 (Debian) with one
``Header always add X-S-<name>`` per section: the lookup on both
implementations, then a real server over a socket."""
import pytest

from serverproc import ServerProcess, request

D = "/d"
SECTIONS = [
    ("directory", D + "/a/page.html", False, -1),   # 0 names the file
    ("directory", D + "/a/page.*", False, -1),      # 1 wildcard on the file
    ("directory", r"page\.html$", True, -1),        # 2
    ("directory", "/a$", True, -1),                 # 3
    ("directory", "/a", True, -1),                  # 4
    ("directory", "^" + D + "/a/$", True, -1),      # 5
    ("directory", "/b$", True, -1),                 # 6
    ("directory", D + "/a", False, -1),             # 7
    ("directory", D + "/*", False, -1),             # 8 wildcard, depth 2
    ("directory", r"\.d$", True, -1),               # 9
]

WALKS = [
    # (uri, filename, walk_file) -> sections
    ("/a/page.html", D + "/a/page.html", True, (7, 8, 0, 1, 2, 4)),
    ("/a/page.html/extra", D + "/a/page.html", False, (7, 8, 2, 4)),   # path_info
    ("/a/missing.html", D + "/a/missing.html", False, (7, 8, 4)),     # no such file
    ("/a/", D + "/a/", False, (7, 8, 4, 5)),
    ("/a", D + "/a", True, (7, 8, 3, 4)),                              # -> 301
    ("/a/b/c.html", D + "/a/b/c.html", True, (7, 8, 4)),
    ("/dir.d/x.html", D + "/dir.d/x.html", True, (8,)),
]


@pytest.mark.parametrize("uri,filename,walk_file,expected", WALKS)
def test_sections_for_a_file(impl_lookup, uri, filename, walk_file, expected):
    lk = impl_lookup.Lookup([impl_lookup.SectionSpec(*s) for s in SECTIONS], lambda i: i)
    assert lk.sections_for(uri, filename, walk_file) == expected
    assert lk.match(uri, filename, walk_file) == expected


def test_same_depth_in_file_order(impl_lookup):
    # a wildcard and a plain path of the same depth: the later one wins
    mk = impl_lookup.SectionSpec
    lk = impl_lookup.Lookup([mk("directory", D + "/*", False, -1),
                             mk("directory", D + "/a", False, -1)], lambda i: i)
    assert lk.match("/a/x", D + "/a/x", True) == (0, 1)
    lk = impl_lookup.Lookup([mk("directory", D + "/a", False, -1),
                             mk("directory", D + "/*", False, -1)], lambda i: i)
    assert lk.match("/a/x", D + "/a/x", True) == (0, 1)


def test_walked_and_not_walked_are_cached_apart(impl_lookup):
    lk = impl_lookup.Lookup([impl_lookup.SectionSpec(*SECTIONS[0])], lambda i: i)
    for _ in range(2):
        assert lk.match("/a/page.html", D + "/a/page.html", True) == (0,)
        assert lk.match("/a/page.html", D + "/a/page.html") == ()


# --- end to end: the server decides walk_file from the file system -------

HANDLER = '''from mod_python import apache

def handler(req):
    req.content_type = "text/plain"
    req.write(",".join(sorted(k for k in req.get_options() if k.startswith("s"))))
    return apache.OK
'''


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("walk")
    docs = root / "htdocs"
    (docs / "a" / "b").mkdir(parents=True)
    (docs / "a" / "page.html").write_text("page\n")
    (docs / "a" / "b" / "c.html").write_text("c\n")
    (root / "opts.py").write_text(HANDLER)
    d = str(docs)
    conf = root / "site.conf"
    conf.write_text("\n".join([
        "Listen 127.0.0.1:0", "ServerName 127.0.0.1", "DocumentRoot %s" % d,
        "<Directory %s>" % d, "SetHandler mod_python", "PythonPath \"['%s']+sys.path\"" % root,
        "PythonHandler opts", "</Directory>",
        "<Directory %s/a/page.html>" % d, "PythonOption s0file 1", "</Directory>",
        "<Directory %s/a/page.*>" % d, "PythonOption s1wild 1", "</Directory>",
        "<DirectoryMatch \"/a$\">", "PythonOption s3a_end 1", "</DirectoryMatch>",
        "<DirectoryMatch \"/a/$\">", "PythonOption s5a_slash 1", "</DirectoryMatch>",
        "<Directory %s/a>" % d, "PythonOption s7a 1", "</Directory>", ""]))
    srv = ServerProcess(["serve", "--config", str(conf), "--port", "0", "--workers", "1"])
    yield srv
    srv.stop()


@pytest.mark.parametrize("path,expected", [
    ("/a/page.html", b"s0file,s1wild,s7a"),
    ("/a/page.html/extra", b"s7a"),
    ("/a/missing.html", b"s7a"),
    ("/a/", b"s5a_slash,s7a"),
    ("/a/b/c.html", b"s7a"),
])
def test_server_applies_sections_as_apache(server, path, expected):
    r = request(server.port, "GET", path)
    assert r.status == 200, r.body
    assert r.body == expected

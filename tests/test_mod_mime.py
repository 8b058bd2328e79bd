"""mod_mime's type table and its other maps (AddType, AddCharset,
AddEncoding, AddLanguage, DefaultLanguage, AddDefaultCharset), and
AcceptPathInfo / DirectorySlash, as Apache 2.4.71 answered for this site
(tests/sites/mod_mime, the same config on a private Apache), asserted
against ``fastdispatch serve``."""
import pytest

from fastdispatch.handlers import static
from serverproc import ServerProcess, copy_site, request


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    d = tmp_path_factory.mktemp("mod_mime")
    conf = copy_site("mod_mime", d)
    srv = ServerProcess(["serve", "--config", str(conf), "--port", "0", "--workers", "1"])
    yield srv
    srv.stop()


def _needs_system_types(*exts):
    """Rows whose answer comes from Debian's /etc/mime.types (Apache's
    TypesConfig there): skipped where that file says otherwise."""
    known = {".gz": "application/gzip", ".tgz": "application/x-gtar-compressed",
             ".cql": "text/cql"}
    ok = all(static._TYPES.get(e) == known[e] for e in exts if e in known) and \
        not any(e in static._TYPES for e in exts if e not in known)
    return pytest.mark.skipif(not ok, reason="this machine's mime.types differs from Debian's")


@pytest.mark.parametrize("path, status, ctype, encoding, language", [
    pytest.param("/m/a.html.gz", 200, "application/gzip", "x-gzip", None,
                 marks=_needs_system_types(".gz")),
    ("/m/a.en.html", 200, "text/html; charset=iso-8859-1", None, "en"),
    ("/m/a.fr.de.html", 200, "text/html; charset=iso-8859-1", None, "fr,de"),
    ("/m/a.utf8.html", 200, "text/html; charset=utf-8", None, None),     # AddCharset
    ("/m/a.html", 200, "text/html; charset=iso-8859-1", None, None),     # AddDefaultCharset On
    ("/m/b.txt", 200, "text/plain; charset=iso-8859-1", None, None),
    pytest.param("/m/t.cql", 200, "text/cql", None, None,               # an upper-case entry
                 marks=_needs_system_types(".cql")),
    pytest.param("/m/a.3gp", 200, None, None, None,                     # not in Apache's table
                 marks=_needs_system_types(".3gp")),
    pytest.param("/m/a.tgz", 200, "application/x-gtar-compressed", None, None,
                 marks=_needs_system_types(".tgz")),
    ("/m/noext", 200, None, None, None),
    ("/m/a.en.utf8.txt", 200, "text/plain; charset=utf-8", None, "en"),
    ("/m/a.mx", 200, "text/x-mixed", None, None),                      # AddType, lower-cased
    ("/d/real.txt", 200, "text/plain", None, "it"),                     # DefaultLanguage
    ("/d/real.txt/extra", 200, "text/plain", None, "it"),               # AcceptPathInfo On
    ("/d/sub", 404, "text/html; charset=iso-8859-1", None, None),      # DirectorySlash Off
    ("/h2/f.txt/more", 404, "text/html; charset=iso-8859-1", None, None),
])
def test_static_files(site, path, status, ctype, encoding, language):
    r = request(site.port, "GET", path)
    assert r.status == status
    assert (r.header("Content-Type"), r.header("Content-Encoding"),
            r.header("Content-Language")) == (ctype, encoding, language)
    if status == 200:
        assert r.body == b"f " + path.lstrip("/").split("/extra")[0].encode() + b"\n"


def test_a_handler_sees_the_encoding_and_languages(site):
    r = request(site.port, "GET", "/m/hh/a.en.html.gz")
    assert r.body == b"pi='' enc='x-gzip' langs=('en',) ct='text/plain'\n"
    assert (r.header("Content-Type"), r.header("Content-Encoding"),
            r.header("Content-Language")) == ("text/plain; charset=iso-8859-1", "x-gzip", "en")


def test_an_error_page_drops_them(site):
    r = request(site.port, "GET", "/m/missing.en.html.gz")
    assert r.status == 404
    assert r.header("Content-Encoding") is None and r.header("Content-Language") is None


def test_a_directory_index_may_be_a_url_path(site):
    # (mod_dir looks a name starting with "/" up as a URI)
    r = request(site.port, "GET", "/d2/")
    assert r.status == 200 and r.body == b"f m/b.txt\n"
    assert r.header("Content-Type") == "text/plain; charset=iso-8859-1"

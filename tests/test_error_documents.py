"""ErrorDocuments as Apache 2.4.71's ap_die uses them, asserted against
``fastdispatch serve`` with what Apache + mod_python 3.5 answered for
tests/sites/errordocs (the same config on a private Apache):

* after a handler's output went out, a local ErrorDocument still runs and
  its output follows; an external one's redirect page follows;
* an ErrorDocument target that fails after writing gets the first error's
  page (with "Additionally ...") after its output, and the connection ends;
* "scheme:" is an external URL (mailto:x@y too); a fragment is dropped from
  a local target and from an internal redirect's;
* the failed request is a GET while its ErrorDocument runs (req.prev.method);
* a quoted message for a status that ends the connection has no length."""
import pytest

from serverproc import Conn, ServerProcess, copy_site, request


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    d = tmp_path_factory.mktemp("errordocs")
    conf = copy_site("errordocs", d)
    srv = ServerProcess(["serve", "--config", str(conf), "--port", "0", "--workers", "1"])
    yield srv
    srv.stop()


def test_after_output_a_local_error_document_still_runs(site):
    r = request(site.port, "GET", "/fail/eddfail.py?wr=500")
    assert r.status == 200
    assert r.body.startswith(b"partial\ntarget uri=/tgt/eddtgt.py args=None status=500\n")
    assert b"prev uri=/fail/eddfail.py method=GET\nREDIRECT_STATUS=500" in r.body


def test_after_output_a_static_error_document_follows(site):
    r = request(site.port, "GET", "/fail/eddfail.py?wr=404")
    assert (r.status, r.body) == (200, b"partial\n<h1>custom page</h1>\n")


@pytest.mark.parametrize("path, location", [
    ("/ext/eddext.py?wr=500", b"http://example.com/e500"),
    ("/ext/eddext.py?wr=410", b"mailto:x@y"),
])
def test_after_output_an_external_error_documents_page_follows(site, path, location):
    r = request(site.port, "GET", path)
    assert r.status == 200
    assert r.body.startswith(b"partial\n<!DOCTYPE HTML")
    assert b"<title>302 Found</title>" in r.body
    assert b'The document has moved <a href="%s">here</a>.' % location in r.body


def test_an_external_error_document_is_a_redirect(site):
    r = request(site.port, "GET", "/ext/eddext.py?ret=410")
    assert r.status == 302
    assert r.header("Location") == "mailto:x@y"


@pytest.mark.parametrize("query, status", [("ret=400", 400), ("ret=502", 502)])
def test_a_target_failing_after_output_gets_the_first_errors_page_after_it(site, query, status):
    with Conn(site.port) as c:
        r = c.request("GET", "/fail/eddfail.py?" + query)
        assert r.status == status
        assert r.body.startswith(b"partial\n<!DOCTYPE HTML")
        assert b"HTTP/1.1" not in r.body            # (no second head in the body)
        assert b"<p>Additionally, a %d " % status in r.body
        assert c.is_closed()


def test_a_target_failing_after_the_heads_output_follows_it(site):
    with Conn(site.port) as c:
        r = c.request("GET", "/fail/eddfail.py?wr=502")
        assert r.status == 200
        assert r.body.startswith(b"partial\npartial\n<!DOCTYPE HTML")
        assert b"<p>Additionally, a 502 " in r.body
        assert c.is_closed()


def test_a_fragment_is_dropped_from_local_targets(site):
    r = request(site.port, "GET", "/fail/eddfail.py?ret=404")
    assert (r.status, r.body) == (404, b"<h1>custom page</h1>\n")
    for target in ("/irf/a.txtHASHfrag", "/irf/a.txt?xHASHfrag"):
        r = request(site.port, "GET", "/fail/eddfail.py?ir=" + target)
        assert (r.status, r.body) == (200, b"a text\n")


def test_the_failed_request_is_a_get_while_its_error_document_runs(site):
    r = request(site.port, "POST", "/fail/eddfail.py?ret=500", body=b"x=1",
                headers=[("Content-Type", "application/x-www-form-urlencoded"),
                         ("Content-Length", "3")])
    assert r.status == 500
    assert b"prev uri=/fail/eddfail.py method=GET\n" in r.body
    assert b"REDIRECT_REQUEST_METHOD=POST" in r.body


def test_a_quoted_message_after_a_body_that_cannot_be_read_has_no_length(site):
    # (the server's ErrorDocument 413 for a body over LimitRequestBody: the
    # page is close-delimited; a handler's own 413 gets a length)
    with Conn(site.port) as c:
        r = c.request("POST", "/irf/a.txt", headers=[("Content-Length", "99999999999")])
        assert (r.status, r.body) == (413, b"server 413")
        assert r.header("Content-Length") is None and c.is_closed()
    with Conn(site.port) as c:
        r = c.request("GET", "/fail/eddfail.py?ret=413")
        assert (r.status, r.body) == (413, b"quoted 413")
        assert r.header("Content-Length") == "10" and c.is_closed()
    r = request(site.port, "GET", "/fail/eddfail.py?ret=503")
    assert (r.status, r.body) == (503, b"quoted 503")
    assert r.header("Content-Length") == "10"

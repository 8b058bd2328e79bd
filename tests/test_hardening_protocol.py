"""Hostile requests over a real socket: request smuggling and framing.

The corpus is data: tests/data/hardening/smuggling.json (what each case is,
the answer it must get, and Apache 2.4's answer where it differs). Every case
is sent to a real ``fastdispatch serve`` followed by a harmless second request
(the canary). A refused request must get exactly one answer, with the
expected status, and the connection closed: the canary is never
interpreted (no second response, and the canary handler left no marker). An
accepted control case gets its answer and then the canary's.
"""
import json
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data", "hardening")
sys.path.insert(0, DATA)
import hsite  # noqa: E402

with open(os.path.join(DATA, "smuggling.json"), encoding="utf-8") as f:
    CORPUS = json.load(f)["cases"]

with open(os.path.join(HERE, "data", "apache", "responses.json"), encoding="utf-8") as f:
    APACHE = {r["name"]: r for r in json.load(f)}


def request_bytes(case):
    req = case["request"]
    if isinstance(req, list):
        req = "".join(p if isinstance(p, str) else p["repeat"] * p["count"] for p in req)
    return req.encode("latin-1")


def canary(case):
    return ("GET /app/canary.py?%s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
            % case["name"]).encode("latin-1")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    s = hsite.make_site(tmp_path_factory.mktemp("hardening-protocol"))
    srv = s.start(workers=1)
    s.server = srv
    yield s
    srv.stop()


def test_corpus_is_well_formed():
    names = [c["name"] for c in CORPUS]
    assert len(names) == len(set(names)), "duplicate case names"
    assert len(CORPUS) >= 100
    for c in CORPUS:
        assert isinstance(c["status"], int) and c["category"]
        if c.get("apache"):
            assert c["apache"] in APACHE, "unknown capture %s" % c["apache"]
            rec = APACHE[c["apache"]]
            if c.get("apache_status", rec["status"]) != rec["status"]:
                pytest.fail("%s: apache_status %r, the capture says %r"
                            % (c["name"], c.get("apache_status"), rec["status"]))
        apache_status = c.get("apache_status", APACHE.get(c.get("apache"), {}).get("status"))
        if apache_status is not None and apache_status != c["status"] and "apache" in c:
            assert c.get("deliberate"), "%s differs from Apache without a reason" % c["name"]


def _params():
    for c in CORPUS:
        marks = ()
        if c.get("pending"):
            marks = pytest.mark.xfail(reason="pending: " + c["pending"], strict=False)
        yield pytest.param(c, id=c["name"], marks=marks)


@pytest.mark.parametrize("case", list(_params()))
def test_hostile_request(site, case):
    data = request_bytes(case)
    smuggle = case.get("smuggle", True)
    if smuggle:
        data += canary(case)
    raw, closed = hsite.exchange(site.server.port, data, quiet=1.0, limit=8.0)
    responses = hsite.final_responses(raw)
    assert responses, "no answer at all (%r)" % raw[:200]
    status = responses[0][0]
    assert status == case["status"], "status %r, expected %d: %r" % (
        status, case["status"], raw[:300])
    want = case.get("responses", 1 if case["status"] >= 400 else 2)
    if not smuggle:
        want = 1
    assert len(responses) == want, "%d responses, expected %d: %r" % (
        len(responses), want, raw[:600])
    marker = "canary-" + case["name"]
    if want == 1:
        # refused: never read as two requests, and the connection is closed
        assert closed, "connection left open after %d" % status
        assert marker not in site.marks_now(), "the smuggled request ran"
        if status != 417:       # (Apache's 417 names no Connection, closing all the same)
            assert responses[0][1].get("connection", "").lower() == "close"
    elif smuggle:
        assert responses[1][0] == 200 and responses[1][2] == b"canary\n"
        assert hsite.eventually(lambda: marker in site.marks_now(), 5)


def test_worker_survived_the_corpus(site):
    # one worker served every case above: still the same process, still fine
    pids = {hsite.pid_of(site.server.port) for _ in range(3)}
    assert len(pids) == 1
    assert "died" not in site.error_log()
    assert "internal error" not in site.error_log()


def test_a_refused_heads_501_page_names_its_method(site):
    # (Apache's 501 page says which method is not supported: the request
    # line's, read before the head was refused, not a default GET)
    data = b"PUT /app/echo.py HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
    raw, closed = hsite.exchange(site.server.port, data, quiet=1.0, limit=8.0)
    (status, _, body), = hsite.final_responses(raw)
    assert status == 501 and closed
    assert b"<p>PUT not supported for current URL.<br />\n</p>" in body


@pytest.mark.parametrize("target, address", [
    # (what Apache 2.4.71 names on the 400 page of a refused head: the host
    # of an http:// target, parsed with the request line; not an https://
    # one's, nor one with a malformed port)
    ("http://abs.example/app/", b"Server at abs.example Port 80"),
    ("http://abs.example:99/app/", b"Server at abs.example Port 99"),
    ("http://user@abs.example/", b"Server at abs.example Port 80"),
    ("https://abs.example/app/", b"Port 80</address>"),
])
def test_a_refused_heads_400_page_names_an_absolute_targets_host(site, target, address):
    data = ("GET %s HTTP/1.1\r\nConnection: close\r\n\r\n" % target).encode()  # (no Host)
    raw, closed = hsite.exchange(site.server.port, data, quiet=1.0, limit=8.0)
    (status, _, body), = hsite.final_responses(raw)
    assert status == 400 and closed
    assert address in body
    if target.startswith("https"):
        assert b"abs.example" not in body

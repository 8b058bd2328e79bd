"""mod_python.Session through a live server: the cookie a new session sends
(as mod_python 3.5 on Apache 2.4.71 sends it), each store keeping its
sessions, invalidation, expiry, forged ids, and the session lock holding
across worker processes."""
import re
import threading
import time

import pytest

from serverproc import ServerProcess, copy_site, request

SID_COOKIE = re.compile(r"pysid=([0-9a-f]{32}); path=(\S+)$")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    d = tmp_path_factory.mktemp("session")
    conf = copy_site("session", d)
    # two worker processes: the dbm and file stores must be shared by both
    srv = ServerProcess(["serve", "--config", str(conf), "--port", "0", "--workers", "2"])
    yield srv
    srv.stop()


def get(server, path, cookie=None):
    headers = [("Cookie", cookie)] if cookie else []
    return request(server.port, "GET", path, headers=headers)


def new_session(server, path):
    r = get(server, path)
    assert r.status == 200, r.body
    assert r.header("Cache-Control") == 'no-cache="set-cookie"'
    m = SID_COOKIE.match(r.header("Set-Cookie"))
    assert m, r.header("Set-Cookie")
    return r, m.group(1), m.group(2)


@pytest.mark.parametrize("path, kind", [
    ("/sess/x", "DbmSession"),          # Session()'s default with several processes
    ("/files/x", "FileSession"),
])
def test_a_shared_store_keeps_the_session_across_processes(server, path, kind):
    r, sid, cookie_path = new_session(server, path)
    assert r.body == b"%s new=1 hits=1" % kind.encode()
    assert cookie_path == path.rsplit("/", 1)[0] + "/"    # the <Directory> below the root
    for hits in range(2, 8):            # new connections: either worker answers
        r = get(server, path, cookie="pysid=" + sid)
        assert r.body == b"%s new=0 hits=%d" % (kind.encode(), hits)
        assert r.header("Set-Cookie") is None and r.header("Cache-Control") is None


def test_memory_session_and_the_location_path(server):
    r, sid, cookie_path = new_session(server, "/loc/x")
    assert cookie_path == "/"           # no directory: the root, as mod_python
    assert r.body == b"MemorySession new=1 hits=1"


def test_invalidate_sends_the_cookie_expired_and_forgets_the_session(server):
    _, sid, _ = new_session(server, "/sess/x")
    r = get(server, "/sess/x?invalidate", cookie="pysid=" + sid)
    assert r.header_all("Set-Cookie") == [
        "pysid=%s; path=/sess/; expires=Thu, 01-Jan-1970 00:00:00 GMT" % sid]
    r = get(server, "/sess/x", cookie="pysid=" + sid)
    assert r.body == b"DbmSession new=1 hits=1"
    assert SID_COOKIE.match(r.header("Set-Cookie")).group(1) != sid


@pytest.mark.parametrize("cookie", ["pysid=nothex", "pysid=" + "0" * 32, "pysid=../../etc/passwd"])
def test_an_unknown_or_forged_id_gets_a_new_session(server, cookie):
    r = get(server, "/files/x", cookie=cookie)
    assert r.body == b"FileSession new=1 hits=1"
    assert SID_COOKIE.match(r.header("Set-Cookie")).group(1) != cookie[6:]


def test_an_expired_session_is_new_again(server):
    _, sid, _ = new_session(server, "/sess/x?short")
    time.sleep(1.3)                     # its timeout is 1 s
    r = get(server, "/sess/x?short", cookie="pysid=" + sid)
    assert r.body == b"DbmSession new=1 hits=1"


def test_the_session_lock_loses_no_update(server):
    """Concurrent requests of one session each read, wait and write back:
    only the lock (held from load to the end of the request, across the
    worker processes) keeps every increment."""
    _, sid, _ = new_session(server, "/files/x")
    errors = []

    def hit():
        try:
            r = get(server, "/files/x?slow", cookie="pysid=" + sid)
            assert r.status == 200
        except Exception as exc:        # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=hit) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    r = get(server, "/files/x", cookie="pysid=" + sid)
    assert r.body == b"FileSession new=0 hits=10"


def test_a_signed_session_cookie_round_trips(server):
    r = get(server, "/sess/x?secret")
    assert r.status == 200, r.body
    value = r.header("Set-Cookie").split(";", 1)[0]
    assert value.startswith("pysid=") and len(value) > len("pysid=") + 32   # id + signature
    assert get(server, "/sess/x?secret", cookie=value).body == b"DbmSession new=0 hits=2"
    # the id alone, unsigned, is not accepted
    sid = value[-32:]                   # mod_python signs as <hmac hex><value>
    assert get(server, "/sess/x?secret", cookie="pysid=" + sid).body == b"DbmSession new=1 hits=1"

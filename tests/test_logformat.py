"""Access-log formats (mod_log_config's LogFormat): parsing, each directive
as Apache 2.4 writes it for the same request, and piped logs through a real
server process. The expected values were read off a private Apache 2.4 +
mod_python 3.5 logging the same format for the same requests."""
import time

import pytest

from fastdispatch import _speedups
from fastdispatch.logformat import (CLF, DEBIAN_FORMATS, LogEntry, RawHead, compile_format,
                                    render, resolve_format, split_server_name)
from serverproc import ServerProcess, request

STAMP = "27/Nov/2026:15:00:00 +0000"


def head_of(raw):
    head, _ = _speedups.http.parse_head(raw)
    return head


def line(fmt, head, **kw):
    kw.setdefault("remote_ip", "127.0.0.1")
    kw.setdefault("status", 200)
    return render(compile_format(fmt), LogEntry(head=head, **kw), STAMP)


GET = head_of(b"GET /mywebdir/my%20script.py?x=%41&y HTTP/1.1\r\nHost: Example.ORG:8080\r\n"
              b"User-Agent: ua/1 \"q\"\r\nReferer: http://r/\r\n"
              b"Cookie: a=1; sess=abc\r\n\r\n")


@pytest.mark.parametrize("fmt, expected", [
    ("%h %l %u %t", '127.0.0.1 - - [%s]' % STAMP),
    ('"%r"', '"GET /mywebdir/my%20script.py?x=%41&y HTTP/1.1"'),
    ("%m|%U|%q|%H", "GET|/mywebdir/my script.py|?x=%41&y|HTTP/1.1"),
    ("%>s %s %<s", "200 200 200"),
    ("%b %B %O %I %S", "12 12 160 128 288"),
    ('"%{User-Agent}i" %{referer}i %{X-None}i', '"ua/1 \\"q\\"" http://r/ -'),
    ("%404{Referer}i %!404{Referer}i %200,304{Referer}i", "- http://r/ http://r/"),
    ("%{sess}C %{a}C %{none}C", "abc 1 -"),
    ("%v %V %p %{local}p %{remote}p", "site.example example.org 80 8080 50000"),
    ("%X %k", "+ 3"),
    ("%e %{X}e %n %o %{Content-Type}o %f %R %L %^ti", "- - - - - - - - -"),
    ("%% \\t\\n", "% \t\n"),
])
def test_each_directive_as_apache_writes_it(fmt, expected):
    assert line(fmt, GET, body_bytes=12, sent_bytes=160, received_bytes=128,
                remote_port=50000, local_ip="127.0.0.1", local_port=8080, keepalives=3,
                keep_alive=True, server_name="site.example", server_port=80) == expected


def test_no_body_no_user_and_an_empty_user():
    assert line("%b %B %u", GET, body_bytes=0) == "- 0 -"
    assert line("%u", GET, user="") == '""'
    assert line("%u", GET, user='bo"b') == 'bo\\"b'


def test_durations():
    started = time.monotonic() - 1.5
    d, t, ms, us = line("%D %T %{ms}T %{us}T", GET, started=started).split()
    assert 1_500_000 <= int(d) < 3_000_000 and t == "1"
    assert 1500 <= int(ms) < 3000 and 1_500_000 <= int(us) < 3_000_000


def test_times_in_other_formats():
    sec, msec, frac, year = line("%{sec}t %{msec}t %{usec_frac}t %{begin:%Y}t", GET).split()
    assert abs(int(sec) - time.time()) < 5 and msec.startswith(sec[:8])
    assert len(frac) == 6 and year == time.strftime("%Y")


def test_a_request_refused_before_its_head_was_parsed():
    # Apache: "GARBAGE /  HTTP/1.0" for %m %U %q %H of such a line
    assert line("%m %U %q %H", RawHead("GARBAGE"), status=400) == "GARBAGE /  HTTP/1.0"
    assert line('"%r" %{Referer}i', RawHead("GET /x HTTP/1.1"), status=400) == \
        '"GET /x HTTP/1.1" -'


@pytest.mark.parametrize("fmt", ["%Z", "%{x", "%", "%{x}", "%4", "%^tx"])
def test_what_apache_refuses(fmt):
    with pytest.raises(ValueError, match="Unrecognized LogFormat directive"):
        compile_format(fmt)


def test_nicknames_and_server_names():
    assert resolve_format("combined") == DEBIAN_FORMATS["combined"]
    assert resolve_format("combined", {"combined": "%h"}) == "%h"
    assert resolve_format("%h %u") == "%h %u"
    assert compile_format(CLF)
    assert split_server_name("www.example:8080") == ("www.example", 8080)
    assert split_server_name("www.example") == ("www.example", 80)
    assert split_server_name("[::1]:81") == ("[::1]", 81)
    assert split_server_name("::1") == ("::1", 80)


def test_a_piped_log_gets_every_line_whole(tmp_path):
    """CustomLog "|command": the master starts the command once; both workers
    write to its standard input, in whole lines."""
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "page.txt").write_text("page\n")
    out = tmp_path / "piped.log"
    conf = tmp_path / "site.conf"
    conf.write_text('Listen 127.0.0.1:0\nDocumentRoot www\n'
                    'LogFormat "%%m %%U %%>s %%B" short\n'
                    'CustomLog "|cat >> %s" short\n' % out)
    srv = ServerProcess(["serve", "--config", str(conf), "--workers", "2"], cwd=str(tmp_path))
    try:
        for i in range(40):
            assert request(srv.port, "GET", "/page.txt?%d" % i).status == 200
        assert request(srv.port, "GET", "/missing").status == 404
    finally:
        srv.stop()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        lines = out.read_text().splitlines() if out.exists() else []
        if len(lines) >= 41:
            break
        time.sleep(0.05)
    assert lines.count("GET /page.txt 200 5") == 40
    assert any(x.startswith("GET /missing 404 ") for x in lines)
    assert len(lines) == 41

#!/usr/bin/env python3
"""Capture reference responses from real Apache 2.4 + mod_python 3.5.

Runs a private instance (bench/e2e/apache_instance.py) on 127.0.0.1:18080
serving the mod_python tutorial site in tests/data/apache/site/ (copied to a
temp docroot), sends each request of REQUESTS as exact bytes over a raw
socket and writes tests/data/apache/responses.json.

    python tests/data/apache/capture.py [--port 18080] [--mpm event] [--out FILE]

Every record: name, request (str, latin-1), response_raw (latin-1 str of every
byte received), status, headers [[name, value], ...], body (de-chunked,
latin-1), chunked (bool), connection_closed (bool: server closed the
connection after the response), extra (list of further responses on the same
connection, same shape), note.
"""
from __future__ import annotations

import argparse
import base64
import json
import shutil
import socket
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path.insert(0, str(REPO))
from bench.e2e.apache_instance import ApacheInstance  # noqa: E402

SITE_CONF = """\
<Directory "{d}/hello">
    AddHandler mod_python .py
    PythonHandler myscript
    PythonDebug On
</Directory>
<Directory "{d}/auth">
    AddHandler mod_python .py
    PythonHandler authscript
    PythonAuthenHandler authscript
    PythonDebug On
    AuthType Basic
    AuthName "Restricted Area"
    require valid-user
</Directory>
<Directory "{d}/auth2">
    AddHandler mod_python .py
    PythonHandler authecho
    PythonAuthenHandler authecho
    PythonDebug On
    AuthType Basic
    AuthName "Echo Realm"
    require valid-user
</Directory>
<Directory "{d}/err404">
    SetHandler mod_python
    PythonHandler err404script
    PythonDebug On
</Directory>
<Directory "{d}/form">
    AddHandler mod_python .py
    PythonHandler mod_python.publisher
    PythonDebug On
</Directory>
<Directory "{d}/crash_on">
    AddHandler mod_python .py
    PythonHandler crashon
    PythonDebug On
</Directory>
<Directory "{d}/crash_off">
    AddHandler mod_python .py
    PythonHandler crashoff
    PythonDebug Off
</Directory>
<Directory "{d}/done">
    AddHandler mod_python .py
    PythonHeaderParserHandler donescript
    PythonHandler donescript
    PythonDebug On
</Directory>
<Directory "{d}/forbidden">
    AddHandler mod_python .py
    PythonFixupHandler forbidscript
    PythonHandler forbidscript
    PythonDebug On
</Directory>
<Directory "{d}/stream">
    SetHandler mod_python
    PythonHandler streamscript
    PythonDebug On
</Directory>
<Directory "{d}/edoc">
    ErrorDocument 400 /static/file.txt
    ErrorDocument 404 /static/file.txt
</Directory>
<Directory "{d}/debug">
    SetHandler mod_python
    PythonHandler debugscript
    PythonDebug On
    PythonOption dbgopt dbgval
    PythonOption other "two words"
</Directory>
"""

HOST = "127.0.0.1:{port}"


def b64(s: bytes) -> str:
    return base64.b64encode(s).decode()


def build_requests(port: int):
    """List of (name, request-bytes-or-steps, note)."""
    H = HOST.format(port=port)
    R = []

    def get(name, path, extra="", method="GET", proto="HTTP/1.1", host=True,
            conn="close", body=b"", note=""):
        lines = [f"{method} {path} {proto}"]
        if host:
            lines.append(f"Host: {H}")
        if conn:
            lines.append(f"Connection: {conn}")
        req = "\r\n".join(lines) + "\r\n" + extra + "\r\n"
        R.append((name, req.encode("latin-1") + body, note))

    # ---- hello
    get("hello_get_11", "/hello/myscript.py")
    get("hello_get_11_keepalive", "/hello/myscript.py", conn=None)
    get("hello_get_10", "/hello/myscript.py", proto="HTTP/1.0", conn=None)
    get("hello_get_10_keepalive", "/hello/myscript.py", proto="HTTP/1.0", conn="keep-alive")
    get("hello_get_11_conn_keepalive", "/hello/myscript.py", conn="keep-alive")
    get("hello_head_11", "/hello/myscript.py", method="HEAD")
    get("hello_head_10", "/hello/myscript.py", method="HEAD", proto="HTTP/1.0", conn=None)
    get("hello_missing_module", "/hello/montypython.py")
    get("hello_extra_path", "/hello/x.py/extra/path", note="x.py does not exist")
    get("hello_extra_path_existing", "/hello/myscript.py/extra/path")
    get("hello_query", "/hello/myscript.py?a=1&b=2")
    get("hello_dir_noslash", "/hello")
    get("hello_dir_slash", "/hello/", note="no index.html in /hello")
    get("hello_post_11", "/hello/myscript.py", method="POST",
        extra="Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n",
        body=b"a=1&b=2")
    get("hello_options", "/hello/myscript.py", method="OPTIONS")
    get("hello_trace", "/hello/myscript.py", method="TRACE", note="TraceEnable Off")
    get("hello_unknown_method", "/hello/myscript.py", method="FOO")
    get("hello_lowercase_method", "/hello/myscript.py", method="get")

    # ---- debug: request attributes
    get("debug_plain", "/debug/myscript.py")
    get("debug_pathinfo_query", "/debug/x.py/extra/path?q=1&r=%20x")
    get("debug_dir", "/debug/")
    get("debug_encoded", "/debug/a%20b%2Fc.py/p%41th?x=%41")
    get("debug_absolute_form", f"http://{H}/debug/abs.py?z=1")
    get("debug_absolute_form_other_host", "http://example.invalid:9999/debug/abs.py",
        note="absolute-form with a different host than Host header")
    get("debug_http10_nohost", "/debug/myscript.py", proto="HTTP/1.0", host=False, conn=None)
    get("debug_headers_multi", "/debug/myscript.py",
        extra="X-Dup: one\r\nX-Dup: two\r\nx-lower: v\r\nCookie: a=1\r\nCookie: b=2\r\n")
    get("debug_host_upper", "/debug/myscript.py", host=False,
        extra="Host: LOCALHOST.:18080\r\n")
    get("debug_post", "/debug/myscript.py", method="POST",
        extra="Content-Type: text/plain\r\nContent-Length: 5\r\n", body=b"hello")

    # ---- auth
    def auth(name, value, note=""):
        extra = f"Authorization: {value}\r\n" if value is not None else ""
        get(name, "/auth/myscript.py", extra=extra, note=note)

    auth("auth_ok", "Basic " + b64(b"spam:eggs"))
    auth("auth_wrong_password", "Basic " + b64(b"spam:ham"))
    auth("auth_none", None)
    auth("auth_not_base64", "Basic !!!not-base64***")
    auth("auth_no_colon", "Basic " + b64(b"spameggs"))
    auth("auth_bearer", "Bearer abcdef")
    auth("auth_lowercase_basic", "basic " + b64(b"spam:eggs"))
    auth("auth_bad_padding", "Basic " + b64(b"spam:eggs").rstrip("="), note="padding stripped")
    auth("auth_bad_padding2", "Basic c3BhbTplZ2dz=", note="extra '=' padding")
    auth("auth_latin1_user", "Basic " + b64("sp\xe4m:eggs".encode("latin-1")))
    auth("auth_utf8_user", "Basic " + b64("sp\xe4m:eggs".encode("utf-8")))
    auth("auth_empty_basic", "Basic ")
    auth("auth_basic_only", "Basic")
    auth("auth_extra_spaces", "Basic    " + b64(b"spam:eggs"))
    auth("auth_colon_in_password", "Basic " + b64(b"spam:eggs:more"))
    for (n, v) in [("ok", "Basic " + b64(b"spam:eggs")), ("not_base64", "Basic !!!not-base64***"),
                   ("no_colon", "Basic " + b64(b"spameggs")), ("bearer", "Bearer abcdef"),
                   ("lowercase_basic", "basic " + b64(b"spam:eggs")),
                   ("bad_padding", "Basic " + b64(b"spam:eggs").rstrip("=")),
                   ("latin1_user", "Basic " + b64("sp\xe4m:eggs".encode("latin-1"))),
                   ("utf8_user", "Basic " + b64("sp\xe4m:eggs".encode("utf-8"))),
                   ("empty_basic", "Basic "), ("extra_spaces", "Basic    " + b64(b"spam:eggs")),
                   ("colon_in_password", "Basic " + b64(b"spam:eggs:more")),
                   ("empty_user_pw", "Basic " + b64(b":")), ("none", None)]:
        get("authecho_" + n, "/auth2/x.py",
            extra=(f"Authorization: {v}\r\n" if v is not None else ""))
    get("auth_head_none", "/auth/myscript.py", method="HEAD")
    get("auth_dir", "/auth/", extra="Authorization: Basic " + b64(b"spam:eggs") + "\r\n")

    # ---- err404
    get("err404_apache_error", "/err404/apache-error.html")
    get("err404_handler_error", "/err404/handler-error.html")
    get("err404_real_file", "/err404/index.html")
    get("err404_head_apache_error", "/err404/apache-error.html", method="HEAD")
    get("err404_apache_error_10", "/err404/apache-error.html", proto="HTTP/1.0", conn=None)
    get("err404_apache_error_keepalive", "/err404/apache-error.html", conn=None)

    # ---- crash
    get("crash_debug_on", "/crash_on/myscript.py")
    get("crash_debug_off", "/crash_off/myscript.py")
    get("crash_debug_on_10", "/crash_on/myscript.py", proto="HTTP/1.0", conn=None)
    get("crash_debug_off_keepalive", "/crash_off/myscript.py", conn=None)

    # ---- earlier phases
    get("done_headerparser", "/done/myscript.py")
    get("forbidden_fixup", "/forbidden/myscript.py")

    # ---- stream
    get("stream_flush_11", "/stream/flush.py")
    get("stream_flush_10", "/stream/flush.py", proto="HTTP/1.0", conn=None)
    get("stream_flush_10_keepalive", "/stream/flush.py", proto="HTTP/1.0", conn="keep-alive")
    get("stream_nobuf_11", "/stream/nobuf.py")
    get("stream_nobuf_11_keepalive", "/stream/nobuf.py", conn=None)
    get("stream_nobuf_10_keepalive", "/stream/nobuf.py", proto="HTTP/1.0", conn="keep-alive")
    get("stream_empty_11", "/stream/empty.py")
    get("stream_empty_11_keepalive", "/stream/empty.py", conn=None)
    get("stream_cl_11", "/stream/cl.py")
    get("stream_status201", "/stream/status.py")
    get("stream_ret500_after_write", "/stream/ret500.py")
    get("stream_redirect", "/stream/redirect.py")
    get("stream_head_flush", "/stream/flush.py", method="HEAD")
    get("echo_post_cl", "/stream/echo.py", method="POST",
        extra="Content-Type: text/plain\r\nContent-Length: 11\r\n", body=b"hello world")
    get("echo_post_chunked", "/stream/echo.py", method="POST",
        extra="Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\n",
        body=b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer-X: t\r\n\r\n")
    get("echo_post_chunked_bad_size", "/stream/echo.py", method="POST",
        extra="Transfer-Encoding: chunked\r\n", body=b"zz\r\nhello\r\n0\r\n\r\n")
    get("echo_post_no_length", "/stream/echo.py", method="POST",
        extra="Content-Type: text/plain\r\n", note="POST without CL or TE")
    get("echo_post_10_no_length", "/stream/echo.py", method="POST", proto="HTTP/1.0",
        conn=None, body=b"", note="HTTP/1.0 POST without CL")
    # Expect: 100-continue handled as a step sequence
    R.append(("echo_expect_100", [
        ("send", (f"POST /stream/echo.py HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n"
                  "Content-Type: text/plain\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
         .encode()),
        ("read", 1.5),
        ("send", b"data"),
    ], "headers sent, wait 1.5s for 100 Continue, then body"))
    R.append(("echo_expect_100_http10", [
        ("send", (f"POST /stream/echo.py HTTP/1.0\r\nHost: {H}\r\n"
                  "Content-Type: text/plain\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
         .encode()),
        ("read", 1.0),
        ("send", b"data"),
    ], "Expect on HTTP/1.0"))
    get("expect_bogus", "/stream/echo.py", method="POST",
        extra="Content-Length: 4\r\nExpect: something-else\r\n", body=b"data")

    # ---- static
    get("static_html", "/static/page.html")
    get("static_txt", "/static/file.txt")
    get("static_css", "/static/style.css")
    get("static_png", "/static/image.png")
    get("static_html_10", "/static/page.html", proto="HTTP/1.0", conn=None)
    get("static_html_keepalive", "/static/page.html", conn=None)
    get("static_html_11_conn_keepalive", "/static/page.html", conn="keep-alive")
    get("static_html_10_keepalive", "/static/page.html", proto="HTTP/1.0", conn="keep-alive")
    get("static_missing_10_keepalive", "/static/nope.html", proto="HTTP/1.0", conn="keep-alive")
    get("static_head", "/static/page.html", method="HEAD")
    get("static_missing", "/static/nope.html")
    get("static_missing_keepalive", "/static/nope.html", conn=None)
    get("static_dir_noslash", "/static/sub")
    get("static_dir_noslash_query", "/static/sub?a=b")
    get("static_dir_slash", "/static/sub/")
    get("static_dir_no_index", "/static/", note="no index.html, mod_autoindex not loaded")
    get("static_root", "/")
    get("static_range", "/static/page.html", extra="Range: bytes=0-9\r\n")
    get("static_range_multi", "/static/file.txt", extra="Range: bytes=0-1,4-5\r\n")
    get("static_range_unsat", "/static/file.txt", extra="Range: bytes=1000-2000\r\n")
    get("static_post", "/static/file.txt", method="POST",
        extra="Content-Length: 3\r\n", body=b"abc")
    get("static_htaccess", "/static/.htaccess", note=".ht* denied (file absent)")
    get("static_trailing_pathinfo", "/static/file.txt/extra")
    # the default handler answers OPTIONS before it looks for the file
    get("options_static_missing", "/static/nope.html", method="OPTIONS")
    get("options_static_missing_noext", "/static/nope", method="OPTIONS")
    get("options_static_dir_no_index", "/static/", method="OPTIONS")
    get("options_static_pathinfo", "/static/file.txt/extra", method="OPTIONS")
    # where the header filter puts the fields it sets: a table entry keeps
    # its place; Expires (no_cache) after Connection, before
    # Transfer-Encoding and Content-Type
    get("stream_table_headers", "/stream/tableheaders.py")
    get("stream_length_first", "/stream/lengthfirst.py")
    get("stream_length_then_type", "/stream/lengthtype.py")
    get("stream_no_cache", "/stream/nocache.py")
    get("stream_no_cache_keepalive", "/stream/nocache.py", conn="keep-alive")
    get("stream_no_cache_length", "/stream/nocachelength.py")
    get("stream_no_cache_length_keepalive", "/stream/nocachelength.py", conn="keep-alive")
    get("stream_not_modified_headers", "/stream/notmodified.py", conn="keep-alive")
    get("stream_no_content_headers", "/stream/nocontent.py")
    # leading dots belong to the name (mod_mime): ".py" has no extension
    get("hello_hidden_py", "/hello/.py", note="no handler: a hidden file named py")
    get("hello_hidden_dots_py", "/hello/..py")
    get("hello_hidden_x_py", "/hello/.x.py", note="extension .py: the handler runs")
    # CONNECT without mod_proxy: the default handler's 405 for an authority
    # target (connection kept), 400 for any other
    get("connect_authority", "127.0.0.1:80", method="CONNECT", conn=None)
    get("connect_authority_ipv6_10", "[::1]:8443", method="CONNECT", proto="HTTP/1.0",
        host=False, conn="keep-alive")
    get("connect_path", "/hello/myscript.py", method="CONNECT")
    # a HEAD refused while its head is read: no body, no length
    get("head_bad_header", "/static/page.html", method="HEAD", extra="Bad Header: y\r\n")
    get("head_bad_host", "/static/page.html", method="HEAD", host=False,
        extra="Host: a b\r\n")
    get("head_fragment_target", "/static/page.html#frag", method="HEAD")
    get("head_bad_version", "/static/page.html", method="HEAD", proto="HTTX/1.1")
    # Expect: 100-continue: the 100 goes out on the first read, even when
    # the body came with the head; a response that went out while nothing
    # read the body closes the connection, and is not chunked
    get("expect_hello_body_unread", "/hello/myscript.py", method="POST", conn=None,
        extra="Content-Length: 4\r\nExpect: 100-continue\r\n", body=b"data")
    get("expect_hello_no_body", "/hello/myscript.py", conn=None,
        extra="Expect: 100-continue\r\n")
    get("expect_echo_body_along", "/stream/echo.py", method="POST", conn=None,
        extra="Content-Type: text/plain\r\nContent-Length: 4\r\nExpect: 100-continue\r\n",
        body=b"data")
    get("expect_static_body_along", "/static/file.txt", method="POST", conn=None,
        extra="Content-Length: 3\r\nExpect: 100-continue\r\n", body=b"abc")
    get("expect_bogus_keepalive", "/hello/myscript.py", conn=None,
        extra="Expect: something-else\r\n")
    get("expect_bogus_conn_keepalive", "/hello/myscript.py", conn="keep-alive",
        extra="Expect: something-else\r\n")
    get("expect_bogus_http10", "/hello/myscript.py", proto="HTTP/1.0", conn=None, host=False,
        extra="Expect: something-else\r\n")
    get("expect_write_then_read", "/stream/writefirst.py", method="POST", conn=None,
        extra="Content-Length: 4\r\nExpect: 100-continue\r\n", body=b"data",
        note="the response started: no 100 Continue, Connection: close")
    get("expect_status_404_then_read", "/stream/statusread.py", method="POST", conn=None,
        extra="Content-Length: 4\r\nExpect: 100-continue\r\n", body=b"data",
        note="a non-2xx status before the read: no 100, the body reads empty, closed")
    get("expect_whole_answer_unread", "/stream/nobuf.py", method="POST", conn=None,
        extra="Content-Length: 4\r\nExpect: 100-continue\r\n", body=b"data",
        note="the body is read and dropped before the head: 100, length, kept")
    get("expect_options_star_body", "*", method="OPTIONS", conn=None,
        extra="Content-Length: 3\r\nExpect: 100-continue\r\n", body=b"abc")
    get("expect_options_star_no_body", "*", method="OPTIONS", conn=None,
        extra="Expect: 100-continue\r\n")
    get("expect_connect_body", "127.0.0.1:80", method="CONNECT", conn=None,
        extra="Content-Length: 4\r\nExpect: 100-continue\r\n", body=b"data")
    get("expect_error_document_404", "/edoc/missing.html", method="POST", conn=None,
        extra="Content-Length: 4\r\nExpect: 100-continue\r\n", body=b"data",
        note="an ErrorDocument's page: the body is not read, no 100")
    get("edoc_bad_chunked_body", "/edoc/page.html", method="POST", conn=None,
        extra="Transfer-Encoding: chunked\r\n", body=b"zz\r\nabc\r\n",
        note="the default handler's read fails: 400, its ErrorDocument")
    # conditional requests need the ETag/Last-Modified: filled in at run time
    R.append(("static_if_none_match", "COND:etag", ""))
    R.append(("static_if_none_match_star", "COND:star", ""))
    R.append(("static_if_none_match_weak", "COND:weak", ""))
    R.append(("static_if_modified_since", "COND:ims", ""))
    R.append(("static_if_modified_since_old", "COND:ims_old", ""))
    R.append(("static_if_none_match_mismatch", "COND:etag_bad", ""))
    R.append(("static_if_match_fail", "COND:if_match_bad", ""))
    R.append(("static_if_unmodified_since_fail", "COND:ius_old", ""))
    R.append(("static_if_none_match_head", "COND:etag_head", ""))
    R.append(("handler_if_modified_since", "COND:handler_ims", "handler response + IMS"))
    R.append(("static_if_modified_since_post", "COND:ims_post",
              "If-Modified-Since is for GET and HEAD only"))
    R.append(("static_if_none_match_post", "COND:etag_post", "a POST's matching tag: 412"))
    R.append(("static_if_modified_since_no_zone", "COND:ims_no_zone",
              "a date without its zone is not a date to Apache"))
    R.append(("static_if_modified_since_lower_case", "COND:ims_lower",
              "month names are case-sensitive"))
    R.append(("static_if_modified_since_rfc850", "COND:ims_rfc850", ""))
    R.append(("static_if_modified_since_asctime", "COND:ims_asctime", ""))
    # the byterange filter: files, and a handler's response that arrives whole
    get("static_range_post", "/static/file.txt", method="POST",
        extra="Range: bytes=0-4\r\nContent-Length: 3\r\n", body=b"abc")
    get("static_range_empty_file", "/static/empty.txt", extra="Range: bytes=0-4\r\n",
        note="an empty body is not ranged")
    get("stream_range_whole", "/stream/nobuf.py", extra="Range: bytes=0-4\r\n")
    get("stream_range_whole_multi", "/stream/nobuf.py", extra="Range: bytes=0-1,4-5\r\n")
    get("stream_range_whole_unsat", "/stream/nobuf.py", extra="Range: bytes=500-\r\n")
    get("stream_range_whole_head", "/stream/nobuf.py", method="HEAD",
        extra="Range: bytes=0-4\r\n")
    get("stream_range_whole_if_range", "/stream/nobuf.py",
        extra="Range: bytes=0-4\r\nIf-Range: \"other\"\r\n")
    get("stream_range_flushed", "/stream/flush.py", extra="Range: bytes=0-4\r\n",
        note="a flushed response goes whole")

    # ---- publisher
    get("form_html", "/form/form.html")
    get("publisher_get_email_qs", "/form/form2.py/email?name=Joe&email=joe%40x.org&comment=Hi+there")
    get("publisher_get_email_missing", "/form/form2.py/email?name=Joe")
    get("publisher_get_email_empty", "/form/form2.py/email?name=&email=&comment=")
    get("publisher_post_email", "/form/form2.py/email", method="POST",
        extra="Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 43\r\n",
        body=b"name=Joe&email=joe%40x.org&comment=Hi+there")
    get("publisher_post_multipart", "/form/form2.py/email", method="POST",
        extra="Content-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: %d\r\n" % len(
            MP := (b"--XyZ\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nJoe\r\n"
                   b"--XyZ\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nj@x\r\n"
                   b"--XyZ\r\nContent-Disposition: form-data; name=\"comment\"\r\n\r\nHi\r\n"
                   b"--XyZ--\r\n")), body=MP)
    get("publisher_tutorial_form_email_smtp", "/form/form.py/email?name=Joe&email=joe%40x.org&comment=Hi",
        note="tutorial form.py; there is no SMTP server on localhost")
    get("publisher_tutorial_post", "/form/form.py/email", method="POST",
        extra="Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 38\r\n",
        body=b"name=Joe&email=joe%40x.org&comment=Hi+")
    get("publisher_private_attr", "/form/form2.py/_private")
    get("publisher_private_func", "/form/form2.py/_hidden")
    get("publisher_module_str_attr", "/form/form2.py/greeting")
    get("publisher_module_int_attr", "/form/form2.py/number")
    get("publisher_module_WEBMASTER", "/form/form2.py/WEBMASTER")
    get("publisher_object_attr", "/form/form2.py/thing/x")
    get("publisher_object_method", "/form/form2.py/thing/meth")
    get("publisher_index_default", "/form/form2.py")
    get("publisher_index_slash", "/form/form2.py/")
    get("publisher_noargs", "/form/form2.py/noargs")
    get("publisher_unicode", "/form/form2.py/unicode_ret")
    get("publisher_bytes", "/form/form2.py/bytes_ret")
    get("publisher_none", "/form/form2.py/none_ret")
    get("publisher_int", "/form/form2.py/int_ret")
    get("publisher_fields_qs", "/form/form2.py/fields?a=1&a=2&b=%C3%A9&c")
    get("publisher_missing_func", "/form/form2.py/nosuch")
    get("publisher_module_import", "/form/form2.py/smtplib", note="not imported in form2")
    get("publisher_builtin_dunder", "/form/form2.py/__dict__")
    get("publisher_missing_module", "/form/nosuch.py/email")
    get("publisher_head", "/form/form2.py/email?name=a&email=b&comment=c", method="HEAD")
    get("publisher_dotted", "/form/form2.py/thing.x")

    # ---- protocol edge cases
    def raw(name, data: bytes, note=""):
        R.append((name, data, note))

    raw("edge_long_request_line_9000", b"GET /hello/myscript.py?" + b"a" * 9000 +
        f" HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n\r\n".encode())
    raw("edge_request_line_8190", b"GET /hello/myscript.py?" + b"a" * (8190 - len("GET /hello/myscript.py? HTTP/1.1")) +
        f" HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n\r\n".encode(),
        note="request line exactly 8190 bytes (LimitRequestLine default)")
    raw("edge_request_line_8191", b"GET /hello/myscript.py?" + b"a" * (8191 - len("GET /hello/myscript.py? HTTP/1.1")) +
        f" HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n\r\n".encode())
    raw("edge_long_header_9000", f"GET /hello/myscript.py HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n"
        .encode() + b"X-Long: " + b"b" * 9000 + b"\r\n\r\n")
    raw("edge_header_8190", f"GET /hello/myscript.py HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n"
        .encode() + b"X-Long: " + b"b" * (8190 - 8) + b"\r\n\r\n", note="header line 8190 bytes")
    raw("edge_header_8191", f"GET /hello/myscript.py HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n"
        .encode() + b"X-Long: " + b"b" * (8191 - 8) + b"\r\n\r\n", note="header line 8191 bytes")
    raw("edge_101_headers", f"GET /hello/myscript.py HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n"
        .encode() + b"".join(b"X-H%d: v\r\n" % i for i in range(99)) + b"\r\n",
        note="101 header fields in total")
    raw("edge_100_headers", f"GET /hello/myscript.py HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n"
        .encode() + b"".join(b"X-H%d: v\r\n" % i for i in range(98)) + b"\r\n",
        note="100 header fields in total")
    raw("edge_two_content_length", f"POST /stream/echo.py HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n"
        "Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd".encode())
    raw("edge_two_content_length_same", f"POST /stream/echo.py HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n"
        "Content-Length: 4\r\nContent-Length: 4\r\n\r\nabcd".encode())
    raw("edge_content_length_list", f"POST /stream/echo.py HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n"
        "Content-Length: 4, 4\r\n\r\nabcd".encode())
    raw("edge_content_length_negative", f"POST /stream/echo.py HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n"
        "Content-Length: -1\r\n\r\nabcd".encode())
    raw("edge_content_length_plus", f"POST /stream/echo.py HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n"
        "Content-Length: +4\r\n\r\nabcd".encode())
    raw("edge_cl_and_chunked", f"POST /stream/echo.py HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n"
        "Content-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n".encode())
    raw("edge_cl_and_chunked_keepalive", f"POST /stream/echo.py HTTP/1.1\r\nHost: {H}\r\n"
        "Content-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n".encode())
    raw("edge_te_gzip", f"POST /stream/echo.py HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n"
        "Transfer-Encoding: gzip\r\n\r\nabcd".encode())
    raw("edge_te_gzip_chunked", f"POST /stream/echo.py HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n"
        "Transfer-Encoding: gzip, chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n".encode())
    raw("edge_te_chunked_upper", f"POST /stream/echo.py HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n"
        "Transfer-Encoding: CHUNKED\r\n\r\n4\r\nabcd\r\n0\r\n\r\n".encode())
    raw("edge_te_chunked_http10", f"POST /stream/echo.py HTTP/1.0\r\nHost: {H}\r\n"
        "Transfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n".encode())
    raw("edge_te_on_get", f"GET /hello/myscript.py HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n"
        "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n".encode())
    raw("edge_obs_fold", f"GET /debug/myscript.py HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n"
        "X-Folded: first\r\n  second\r\n\r\n".encode())
    raw("edge_obs_fold_tab", f"GET /debug/myscript.py HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n"
        "X-Folded: first\r\n\tsecond\r\n\r\n".encode())
    raw("edge_bare_lf", f"GET /debug/myscript.py HTTP/1.1\nHost: {H}\nConnection: close\n\n".encode())
    raw("edge_bare_lf_headers_only", f"GET /debug/myscript.py HTTP/1.1\r\nHost: {H}\nConnection: close\n\r\n".encode())
    raw("edge_bare_cr", f"GET /debug/myscript.py HTTP/1.1\rHost: {H}\r\nConnection: close\r\n\r\n".encode())
    raw("edge_latin1_header_hello", f"GET /hello/myscript.py HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n"
        .encode() + b"X-Lat: caf\xe9\r\n\r\n", note="latin-1 byte in a header the handler ignores")
    raw("edge_latin1_header_get", f"GET /debug/hdr.py?X-Lat HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n"
        .encode() + b"X-Lat: caf\xe9\r\n\r\n", note="handler does req.headers_in.get('X-Lat')")
    raw("edge_utf8_header_get", f"GET /debug/hdr.py?X-Utf HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n"
        .encode() + b"X-Utf: caf\xc3\xa9\r\n\r\n")
    raw("edge_nul_in_header", f"GET /hello/myscript.py HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n"
        "X-Nul: a\x00b\r\n\r\n".encode())
    raw("edge_nul_in_request_line", f"GET /hello/my\x00script.py HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n\r\n".encode())
    raw("edge_ctl_in_header_value", f"GET /debug/myscript.py HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n"
        "X-Ctl: a\x01b\r\n\r\n".encode())
    raw("edge_space_before_colon", f"GET /hello/myscript.py HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n"
        "X-Bad : v\r\n\r\n".encode())
    raw("edge_no_colon_header", f"GET /hello/myscript.py HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n"
        "NoColonHere\r\n\r\n".encode())
    raw("edge_empty_header_name", f"GET /hello/myscript.py HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n"
        ": v\r\n\r\n".encode())
    raw("edge_header_value_empty", f"GET /debug/myscript.py HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n"
        "X-Empty:\r\nX-Ws:    padded   \r\n\r\n".encode())
    raw("edge_latin1_header_value", f"GET /debug/myscript.py HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n"
        .encode() + b"X-Lat: caf\xe9\r\nX-Utf: caf\xc3\xa9\r\n\r\n")
    raw("edge_http09", b"GET /\r\n")
    raw("edge_http09_hello", b"GET /hello/myscript.py\r\n")
    raw("edge_http09_static", b"GET /static/file.txt\r\n")
    raw("edge_http09_post", b"POST /hello/myscript.py\r\n")
    raw("edge_http10_nohost_404", b"GET /static/nope HTTP/1.0\r\n\r\n")
    raw("edge_http20_hello", f"GET /hello/myscript.py HTTP/2.0\r\nHost: {H}\r\nConnection: close\r\n\r\n".encode())
    raw("edge_http20_debug", f"GET /debug/x.py HTTP/2.0\r\nHost: {H}\r\nConnection: close\r\n\r\n".encode())
    raw("edge_http11_keepalive_pipelined_3", (f"GET /static/file.txt HTTP/1.1\r\nHost: {H}\r\nConnection: keep-alive\r\n\r\n"
        f"GET /static/file.txt HTTP/1.1\r\nHost: {H}\r\nConnection: keep-alive\r\n\r\n"
        f"GET /hello/myscript.py HTTP/1.1\r\nHost: {H}\r\nConnection: keep-alive\r\n\r\n").encode(),
        note="Keep-Alive max= countdown")
    raw("edge_http10_keepalive_pipelined_2", (f"GET /static/file.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
        f"GET /static/file.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").encode())
    raw("host_localhost_404", b"GET /static/nope HTTP/1.1\r\nHost: localhost:18080\r\nConnection: close\r\n\r\n",
        note="error page address + hostname follow the Host header (UseCanonicalName Off)")
    raw("host_noport_301", b"GET /static/sub HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n")
    raw("edge_http20", f"GET / HTTP/2.0\r\nHost: {H}\r\nConnection: close\r\n\r\n".encode())
    raw("edge_http12", f"GET / HTTP/1.2\r\nHost: {H}\r\nConnection: close\r\n\r\n".encode())
    raw("edge_http12_debug", f"GET /debug/myscript.py HTTP/1.2\r\nHost: {H}\r\nConnection: close\r\n\r\n".encode())
    raw("edge_http_lowercase", f"GET / http/1.1\r\nHost: {H}\r\nConnection: close\r\n\r\n".encode())
    raw("edge_http_version_garbage", f"GET / HTTP/x.y\r\nHost: {H}\r\nConnection: close\r\n\r\n".encode())
    raw("edge_http_version_3digit", f"GET / HTTP/1.10\r\nHost: {H}\r\nConnection: close\r\n\r\n".encode())
    raw("edge_absolute_form", f"GET http://{H}/hello/myscript.py HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n\r\n".encode())
    raw("edge_absolute_form_https", f"GET https://{H}/hello/myscript.py HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n\r\n".encode())
    raw("edge_asterisk_options", f"OPTIONS * HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n\r\n".encode())
    raw("edge_asterisk_get", f"GET * HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n\r\n".encode())
    raw("edge_relative_target", f"GET hello/myscript.py HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n\r\n".encode())
    raw("edge_bad_method_token", f"G(T / HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n\r\n".encode())
    raw("edge_bad_method_at", f"GE@T / HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n\r\n".encode())
    raw("edge_extra_spaces_request_line", f"GET  /  HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n\r\n".encode())
    raw("edge_tab_request_line", f"GET\t/\tHTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n\r\n".encode())
    raw("edge_leading_crlf", f"\r\n\r\nGET /hello/myscript.py HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n\r\n".encode())
    raw("edge_empty_request", b"\r\n\r\n\r\n")
    raw("edge_garbage", b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + b"\x00" * 20,
        note="TLS ClientHello-ish bytes")
    raw("edge_no_host_11", b"GET /hello/myscript.py HTTP/1.1\r\nConnection: close\r\n\r\n")
    raw("edge_two_hosts", f"GET /hello/myscript.py HTTP/1.1\r\nHost: {H}\r\nHost: other\r\nConnection: close\r\n\r\n".encode())
    raw("edge_bad_host", b"GET /hello/myscript.py HTTP/1.1\r\nHost: bad host\r\nConnection: close\r\n\r\n")
    raw("edge_host_with_path", b"GET /hello/myscript.py HTTP/1.1\r\nHost: a/b\r\nConnection: close\r\n\r\n")
    raw("edge_empty_host", b"GET /hello/myscript.py HTTP/1.1\r\nHost: \r\nConnection: close\r\n\r\n")
    raw("edge_bad_escape_zz", f"GET /hello/%zz HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n\r\n".encode())
    raw("edge_bad_escape_in_query", f"GET /hello/myscript.py?a=%zz HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n\r\n".encode())
    raw("edge_escaped_slash", f"GET /hello%2fmyscript.py HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n\r\n".encode())
    raw("edge_escaped_slash_pathinfo", f"GET /debug/myscript.py/a%2fb HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n\r\n".encode())
    raw("edge_escaped_nul", f"GET /hello/myscript%00.py HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n\r\n".encode())
    raw("edge_escaped_nul_query", f"GET /debug/myscript.py?a=%00 HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n\r\n".encode())
    raw("edge_dotdot_etc_passwd", f"GET /../../etc/passwd HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n\r\n".encode())
    raw("edge_dotdot_inside", f"GET /static/sub/../file.txt HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n\r\n".encode())
    raw("edge_encoded_dotdot", f"GET /hello/%2e%2e/%2e%2e/ HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n\r\n".encode())
    raw("edge_encoded_dotdot_etc", f"GET /hello/%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n\r\n".encode())
    raw("edge_dot_segments", f"GET /static/./file.txt HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n\r\n".encode())
    raw("edge_double_slash", f"GET //static//file.txt HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n\r\n".encode())
    raw("edge_backslash", f"GET /static\\file.txt HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n\r\n".encode())
    raw("edge_fragment", f"GET /static/file.txt#frag HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n\r\n".encode())
    raw("edge_non_ascii_path", b"GET /static/caf\xc3\xa9 HTTP/1.1\r\nHost: " + H.encode() + b"\r\nConnection: close\r\n\r\n")
    raw("edge_space_in_target", f"GET /static/a b.txt HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n\r\n".encode())
    raw("edge_pipelined_two", (f"GET /hello/myscript.py HTTP/1.1\r\nHost: {H}\r\n\r\n"
                               f"GET /static/file.txt HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n\r\n").encode(),
        note="two pipelined requests on one connection")
    raw("edge_keepalive_then_404", (f"GET /static/nope HTTP/1.1\r\nHost: {H}\r\n\r\n"
                                    f"GET /hello/myscript.py HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n\r\n").encode())
    raw("edge_connection_upgrade_h2c", f"GET /hello/myscript.py HTTP/1.1\r\nHost: {H}\r\nConnection: Upgrade, HTTP2-Settings, close\r\n"
        "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n".encode())
    raw("edge_h2_preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
    return R


# ---------------------------------------------------------------- client
def parse_one(buf: bytes, head_request: bool):
    """Parse one response from buf. Returns (dict, rest) or (None, buf) if incomplete."""
    i = buf.find(b"\r\n\r\n")
    if i < 0:
        return None, buf
    head = buf[:i].decode("latin-1")
    lines = head.split("\r\n")
    status_line = lines[0]
    parts = status_line.split(" ", 2)
    try:
        status = int(parts[1])
    except (IndexError, ValueError):
        return None, buf
    headers = []
    for ln in lines[1:]:
        name, _, value = ln.partition(":")
        headers.append([name, value.strip()])
    hmap = {k.lower(): v for k, v in headers}
    rest = buf[i + 4:]
    chunked = "chunked" in hmap.get("transfer-encoding", "").lower()
    if head_request or status in (204, 304) or 100 <= status < 200:
        body, rest2 = b"", rest
    elif chunked:
        body = b""
        p = 0
        while True:
            j = rest.find(b"\r\n", p)
            if j < 0:
                return None, buf
            size = int(rest[p:j].split(b";")[0], 16)
            if size == 0:
                k = rest.find(b"\r\n\r\n", j)
                if rest[j:j + 4] == b"\r\n\r\n":
                    k = j
                if k < 0:
                    return None, buf
                rest2 = rest[k + 4:]
                break
            if len(rest) < j + 2 + size + 2:
                return None, buf
            body += rest[j + 2:j + 2 + size]
            p = j + 2 + size + 2
    elif "content-length" in hmap:
        n = int(hmap["content-length"])
        if len(rest) < n:
            return None, buf
        body, rest2 = rest[:n], rest[n:]
    else:
        return "UNTIL_CLOSE", buf
    raw = buf[:len(buf) - len(rest2)]
    return {"status_line": status_line, "status": status, "headers": headers,
            "body": body.decode("latin-1"), "chunked": chunked,
            "raw": raw.decode("latin-1")}, rest2


def exchange(port: int, steps, head_request=False, n_expected=1, total_timeout=8.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=total_timeout)
    data = b""
    closed = False
    interim = []
    try:
        for kind, arg in steps[:-1] if isinstance(steps, list) else []:
            if kind == "send":
                s.sendall(arg)
            elif kind == "read":
                s.settimeout(arg)
                try:
                    got = s.recv(65536)
                    data += got
                    interim.append(got.decode("latin-1"))
                    if not got:
                        closed = True
                except socket.timeout:
                    interim.append("<no data within %.1fs>" % arg)
        last = steps[-1][1] if isinstance(steps, list) else steps
        if not closed:
            try:
                s.sendall(last)
            except (BrokenPipeError, ConnectionResetError):
                closed = True
        deadline = time.monotonic() + total_timeout
        responses = []
        buf = data
        # drop interim 1xx for parsing
        until_close = False
        while not closed and time.monotonic() < deadline:
            # try to parse what we have
            while True:
                r, rest = parse_one(buf, head_request) if buf else (None, buf)
                if r == "UNTIL_CLOSE":
                    until_close = True
                    break
                if r is None:
                    break
                responses.append(r)
                buf = rest
            if (responses and len([r for r in responses if r["status"] >= 200]) >= n_expected
                    and not until_close and not buf):
                # complete; probe whether the server closes the connection
                s.settimeout(0.4)
                try:
                    got = s.recv(65536)
                    if not got:
                        closed = True
                    else:
                        data += got
                        buf += got
                        continue
                except socket.timeout:
                    pass
                except ConnectionResetError:
                    closed = True
                break
            s.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                got = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                closed = True
                break
            if not got:
                closed = True
                break
            data += got
            buf += got
        if until_close and closed:
            r, _ = parse_one(buf + b"", head_request)
            i = buf.find(b"\r\n\r\n")
            head = buf[:i].decode("latin-1").split("\r\n")
            responses.append({"status_line": head[0], "status": int(head[0].split(" ")[1]),
                              "headers": [[a, b.strip()] for a, _, b in (h.partition(":") for h in head[1:])],
                              "body": buf[i + 4:].decode("latin-1"), "chunked": False,
                              "raw": buf.decode("latin-1")})
    finally:
        s.close()
    return data, responses, closed, interim


def _rfc850(lm):
    """RFC 1123 date -> RFC 850 (Sunday, 06-Nov-94 08:49:37 GMT)."""
    import email.utils
    t = email.utils.parsedate_to_datetime(lm)
    return t.strftime("%A, %d-%b-%y %H:%M:%S GMT")


def _asctime(lm):
    import email.utils
    t = email.utils.parsedate_to_datetime(lm)
    return t.strftime("%a %b ") + ("%2d" % t.day) + t.strftime(" %H:%M:%S %Y")


def cond_request(name, kind, port, static_info):
    H = HOST.format(port=port)
    etag, lm = static_info
    base = f"GET /static/page.html HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n"
    extra = {
        "etag": f"If-None-Match: {etag}\r\n",
        "star": "If-None-Match: *\r\n",
        "weak": f"If-None-Match: W/{etag}\r\n",
        "ims": f"If-Modified-Since: {lm}\r\n",
        "ims_old": "If-Modified-Since: Mon, 01 Jan 2001 00:00:00 GMT\r\n",
        "etag_bad": "If-None-Match: \"nope\"\r\n",
        "if_match_bad": "If-Match: \"nope\"\r\n",
        "ius_old": "If-Unmodified-Since: Mon, 01 Jan 2001 00:00:00 GMT\r\n",
        "etag_head": f"If-None-Match: {etag}\r\n",
        "handler_ims": f"If-Modified-Since: {lm}\r\n",
        "ims_post": f"If-Modified-Since: {lm}\r\n",
        "etag_post": f"If-None-Match: {etag}\r\n",
        "ims_no_zone": "If-Modified-Since: %s\r\n" % lm.rsplit(" ", 1)[0],
        "ims_lower": f"If-Modified-Since: {lm.lower()}\r\n",
        "ims_rfc850": "If-Modified-Since: %s\r\n" % _rfc850(lm),
        "ims_asctime": "If-Modified-Since: %s\r\n" % _asctime(lm),
    }[kind]
    if kind in ("ims_post", "etag_post"):
        base = base.replace("GET", "POST", 1) + "Content-Length: 0\r\n"
    if kind == "etag_head":
        base = base.replace("GET", "HEAD", 1)
    if kind == "handler_ims":
        base = f"GET /hello/myscript.py HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n"
    return (base + extra + "\r\n").encode()


def line_ok(port, kind, n):
    """Status for a request whose request line (kind='line') or single header
    line (kind='header') is exactly n bytes long, CRLF excluded."""
    H = HOST.format(port=port)
    if kind == "line":
        pre, post = "GET /hello/myscript.py?", " HTTP/1.1"
        req = (pre + "a" * (n - len(pre) - len(post)) + post +
               f"\r\nHost: {H}\r\nConnection: close\r\n\r\n").encode()
    else:
        req = (f"GET /hello/myscript.py HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n"
               + "X-Long: " + "b" * (n - 8) + "\r\n\r\n").encode()
    data, resps, closed, _ = exchange(port, req)
    return req, data, resps, closed


def probe_limits(port):
    """Binary-search the largest accepted request-line / header-line length."""
    recs = []
    for kind in ("line", "header"):
        lo, hi = 8000, 9000          # lo accepted, hi rejected
        while hi - lo > 1:
            mid = (lo + hi) // 2
            _, _, resps, _ = line_ok(port, kind, mid)
            if resps and resps[0]["status"] == 200:
                lo = mid
            else:
                hi = mid
        for n, tag in ((lo, "max_accepted"), (hi, "min_rejected")):
            req, data, resps, closed = line_ok(port, kind, n)
            r0 = resps[0] if resps else {}
            recs.append({"name": f"limit_{kind}_{tag}_{n}", "request": req.decode("latin-1"),
                         "response_raw": data.decode("latin-1"), "status": r0.get("status"),
                         "status_line": r0.get("status_line"), "headers": r0.get("headers", []),
                         "body": r0.get("body", ""), "chunked": r0.get("chunked", False),
                         "connection_closed": closed,
                         "note": f"{kind} length {n} bytes excluding CRLF"})
            print(f"limit {kind} {tag} {n} -> {r0.get('status')}", flush=True)
    return recs


COMPILED_DEFAULTS_SET = ["hello_get_11", "static_missing", "crash_debug_off", "auth_none",
                         "static_dir_noslash", "edge_no_host_11"]


def run(port: int, mpm: str, out: Path, debian_defaults=True, only=None, prefix="",
        limits=True):
    inst = ApacheInstance(port=port, mpm=mpm, debian_defaults=debian_defaults)
    docroot = inst.root / "htdocs"
    shutil.copytree(HERE / "site", docroot,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    inst.document_root = str(docroot)
    inst.extra_conf = SITE_CONF.format(d=docroot)
    records = []
    with inst:
        # learn static validators
        data, resps, _, _ = exchange(port, f"GET /static/page.html HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
        h = {k.lower(): v for k, v in resps[0]["headers"]}
        static_info = (h["etag"], h["last-modified"])
        for name, req, note in build_requests(port):
            if only and name not in only:
                continue
            if isinstance(req, str) and req.startswith("COND:"):
                req = cond_request(name, req[5:], port, static_info)
            first = req[0][1] if isinstance(req, list) else req
            head = first.startswith(b"HEAD ")
            n_exp = 3 if name.endswith("_3") else 2 if name.startswith(("edge_pipelined", "edge_keepalive_then", "edge_http10_keepalive_pipelined")) else 1
            data, resps, closed, interim = exchange(port, req, head_request=head, n_expected=n_exp)
            reqtext = (b"".join(a for k, a in req if k == "send") if isinstance(req, list) else req)
            rec = {"name": prefix + name, "request": reqtext.decode("latin-1"),
                   "response_raw": data.decode("latin-1"),
                   "status": None, "headers": [], "body": data.decode("latin-1"),
                   "chunked": False, "connection_closed": closed, "note": note}
            final = [r for r in resps if r["status"] >= 200]
            if interim:
                rec["interim_reads"] = interim
            if resps:
                rec["interim_1xx"] = [r["status_line"] for r in resps if r["status"] < 200]
                r0 = final[0] if final else resps[0]
                rec.update(status=r0["status"], status_line=r0["status_line"],
                           headers=r0["headers"], body=r0["body"], chunked=r0["chunked"])
                if len(final) > 1:
                    rec["extra"] = [{k: r[k] for k in ("status", "status_line", "headers", "body", "chunked")}
                                    for r in final[1:]]
            records.append(rec)
            print(f"{name:45s} {rec['status']} closed={closed} len={len(data)}", flush=True)
        if limits:
            records += probe_limits(port)
        log = inst.error_log()
        (out.parent / ("error_log.txt" if debian_defaults else "error_log_compiled_defaults.txt")).write_text(log)
    return records


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=18080)
    ap.add_argument("--mpm", default="event")
    ap.add_argument("--out", default=str(HERE / "responses.json"))
    ap.add_argument("--only", nargs="*")
    a = ap.parse_args()
    out = Path(a.out)
    records = run(a.port, a.mpm, out, only=a.only, limits=not a.only)
    if not a.only:
        # Apache's compiled-in ServerTokens Full / ServerSignature Off
        records += run(a.port, a.mpm, out, debian_defaults=False, only=COMPILED_DEFAULTS_SET,
                       prefix="compiled_defaults_", limits=False)
    out.write_text(json.dumps(records, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()

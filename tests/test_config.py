"""Config files: what is accepted, and errors that name file and line."""
import logging
import os
import subprocess
import sys

import pytest

from fastdispatch.config.parser import parse_config
from fastdispatch.dispatch import Dispatcher
from fastdispatch.errors import ConfigError
from fastdispatch.testing import Client
from serverproc import ROOT


def write(tmp_path, text, name="site.conf"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_tutorial_config_parses():
    cfg = parse_config(os.path.join(ROOT, "examples/tutorial/site.conf"))
    assert cfg.server.listen == [("127.0.0.1", 8080)]
    assert cfg.document_root.endswith("examples/tutorial/htdocs")
    kinds = [(s.kind, os.path.basename(s.pattern)) for s in cfg.sections]
    assert ("directory", "secure") in kinds


@pytest.mark.parametrize("text, line, words", [
    ("Listen 8080\nFrobnicate on\n", 2, "Invalid command 'Frobnicate'"),
    ("<Directory /tmp>\nPythonHandler x\n", 1, "not closed"),
    ("</Directory>\n", 1, "without matching"),
    ("<Directory /tmp>\n</Location>\n", 2, "does not close"),
    ("\n\nPythonDebug Maybe\n", 3, "must be On or Off"),
    ("Timeout abc\n", 1, "not a number"),
    ("Listen 127.0.0.1:99999\n", 1, "bad port"),
    ("<Bogus x>\n</Bogus>\n", 1, "unknown section"),
    ("<Location /x>\nPythonTransHandler t\n</Location>\n", 2, "not allowed"),
    ("\nErrorDocument 418 \"teapot\n", 2, "Unsupported HTTP response code 418"),
    ("<Location /x>\nErrorDocument 599 \"x\"\n</Location>\n", 2,
     "Unsupported HTTP response code 599"),
    ("DocumentRoot /no/such/dir/anywhere\n", 1, "DocumentRoot"),
    ("<DirectoryMatch \"(\">\n</DirectoryMatch>\n", 1, "bad regular expression"),
    ("PythonHandler\n", 1, "takes at least 1 argument"),
    ("Include nowhere.conf\n", 1, "not found"),
    ("PythonPath \"sys.path+\"\n", 1, "PythonPath"),
    ("\nLogFormat \"%h %Z\" mine\n", 2, "Unrecognized LogFormat directive %Z"),
    ("CustomLog access.log \"%{Referer\"\n", 1, "Unrecognized LogFormat directive"),
    ("CustomLog /no/such/dir/access.log combined\n", 1, "no such directory"),
    ("ErrorLog /no/such/dir/error.log\n", 1, "no such directory"),
])
def test_bad_lines_name_file_and_line(tmp_path, text, line, words):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        parse_config(path)
    err = info.value
    assert err.filename == path
    assert err.lineno == line
    assert words in str(err)
    assert str(err).startswith("%s:%d: " % (path, line))


def test_a_quote_never_closed_runs_to_the_end_of_the_line(tmp_path):
    """As Apache's ap_getword_conf (apache2 -t accepts it, and
    'ErrorDocument 404 "Not here' is the message 'Not here')."""
    path = write(tmp_path, 'DocumentRoot .\nErrorDocument 404 "Not  here, \\"x\\"\n'
                           'AuthName "unterminated\n')
    cfg = parse_config(path)
    args = {d.name: d.args for d in cfg.global_section.directives}
    assert args["ErrorDocument"] == ["404", 'Not  here, "x"']
    assert args["AuthName"] == ["unterminated"]
    r = Client(Dispatcher.from_config(path)).get("/missing")
    assert r.status == 404 and r.body == b'Not  here, "x"'


def test_error_in_included_file_names_that_file(tmp_path):
    inc = write(tmp_path, "# comment\nNotADirective 1\n", "extra.conf")
    main = write(tmp_path, "Include extra.conf\n")
    with pytest.raises(ConfigError) as info:
        parse_config(main)
    assert info.value.filename == inc and info.value.lineno == 2


def test_apache_only_directives_warn_once(tmp_path, caplog):
    path = write(tmp_path, "LoadModule python_module /usr/lib/x.so\n"
                           "LoadModule other /usr/lib/y.so\nUser www-data\n"
                           "<Directory .>\nOptions Indexes\nAllowOverride None\n</Directory>\n")
    with caplog.at_level(logging.WARNING, logger="fastdispatch.error"):
        parse_config(path)
    msgs = [r.getMessage() for r in caplog.records]
    assert sum("LoadModule" in m for m in msgs) == 1
    assert any("User" in m for m in msgs)
    assert any("AllowOverride" in m for m in msgs)
    assert not any("Options" in m for m in msgs)     # (honoured: no warning)


def test_continuation_quotes_and_relative_paths(tmp_path):
    (tmp_path / "www").mkdir()
    path = write(tmp_path, 'DocumentRoot www\nAuthName "Two words" \\\n\n'
                           '<Directory www>\n  AddHandler mod_python \\\n    .py .pyx\n</Directory>\n')
    cfg = parse_config(path)
    assert cfg.document_root == str(tmp_path / "www")
    sec = cfg.sections[0]
    assert sec.pattern == str(tmp_path / "www")
    assert sec.directives[0].args == ["mod_python", ".py", ".pyx"]
    assert cfg.global_section.directives[0].args == ["Two words"]


def test_server_limits_and_timeouts(tmp_path):
    cfg = parse_config(write(tmp_path, "Timeout 30\nKeepAliveTimeout 2\nLimitRequestLine 100\n"
                                       "LimitRequestFieldSize 200\nLimitRequestFields 10\n"
                                       "MaxKeepAliveRequests 7\nListen 127.0.0.1:0\n"))
    s = cfg.server
    assert (s.timeout, s.keep_alive_timeout, s.limit_request_line, s.limit_request_fieldsize,
            s.limit_request_fields, s.max_keep_alive_requests) == (30, 2, 100, 200, 10, 7)


def test_cli_check_reports_file_and_line(tmp_path):
    path = write(tmp_path, "Listen 1\n\nWhatever x\n")
    p = subprocess.run([sys.executable, "-m", "fastdispatch", "check", path],
                       capture_output=True, text=True)
    assert p.returncode == 1
    assert "%s:3:" % path in p.stderr


def test_serve_refuses_bad_config_with_file_and_line(tmp_path):
    path = write(tmp_path, "Listen 127.0.0.1:0\n<Directory .>\nPythonHandlr x\n</Directory>\n")
    p = subprocess.run([sys.executable, "-m", "fastdispatch", "serve", "--config", path],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 1
    assert "%s:3:" % path in p.stderr and "PythonHandlr" in p.stderr


def test_directory_merge_order_and_handler_replacement(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "h1.py").write_text(
        "def handler(req):\n    req.write('outer ' + req.get_options().get('o', '-'))\n    return 0\n")
    (tmp_path / "a" / "b" / "h2.py").write_text(
        "def handler(req):\n    req.write('inner ' + req.get_options().get('o', '-'))\n    return 0\n")
    path = write(tmp_path, "DocumentRoot .\n"
                           "<Directory a>\nSetHandler mod_python\nPythonHandler h1\n"
                           "PythonOption o outer\n</Directory>\n"
                           "<Directory a/b>\nPythonHandler h2\nPythonOption o inner\n</Directory>\n"
                           "<Location /a/b/loc>\nPythonOption o location\n</Location>\n")
    c = Client(Dispatcher.from_config(path))
    assert c.get("/a/x").body == b"outer outer"
    assert c.get("/a/b/x").body == b"inner inner"
    assert c.get("/a/b/loc").body == b"inner location"


def test_python_option_with_an_empty_value_removes_the_key(tmp_path):
    """directives.rst: "If the value is omitted or empty, then the key is
    removed from the local configuration"."""
    from fastdispatch.config.merge import merge
    (tmp_path / "a").mkdir()
    conf = tmp_path / "site.conf"
    conf.write_text('DocumentRoot %s\nPythonOption keep 1\nPythonOption gone 1\n'
                    '<Directory %s/a>\nPythonOption gone ""\nPythonOption keep\n'
                    'PythonOption new v\n</Directory>\n' % (tmp_path, tmp_path))
    cfg = parse_config(str(conf))
    merged = merge(cfg.global_section.directives, cfg.sections)
    assert merged.options == {"new": "v"}


def test_log_formats_by_nickname_or_string(tmp_path):
    """CustomLog names a LogFormat nickname (the site's own first, then
    Debian's), or gives the format itself; TransferLog takes the last
    LogFormat without a nickname, else the common log format."""
    from fastdispatch.logformat import CLF, DEBIAN_FORMATS, resolve_format
    srv = parse_config(write(tmp_path, "LogFormat \"%h %U\" combined\n"
                                       "CustomLog a.log combined\n")).server
    assert srv.access_log == str(tmp_path / "a.log")
    assert resolve_format(srv.access_format, srv.log_formats) == "%h %U"
    srv = parse_config(write(tmp_path, "CustomLog a.log common\n")).server
    assert resolve_format(srv.access_format, srv.log_formats) == DEBIAN_FORMATS["common"]
    srv = parse_config(write(tmp_path, "CustomLog a.log \"%h \\\"%r\\\"\"\n")).server
    assert resolve_format(srv.access_format, srv.log_formats) == '%h "%r"'
    srv = parse_config(write(tmp_path, "TransferLog a.log\n")).server
    assert resolve_format(srv.access_format, srv.log_formats) == CLF
    srv = parse_config(write(tmp_path, "LogFormat \"%h\"\nTransferLog a.log\n")).server
    assert resolve_format(srv.access_format, srv.log_formats) == "%h"
    srv = parse_config(write(tmp_path, "CustomLog \"|/usr/bin/logger -t x\" combined\n")).server
    assert srv.access_log == "|/usr/bin/logger -t x"


def test_a_second_access_log_replaces_the_first_with_a_warning(tmp_path, caplog):
    path = write(tmp_path, "CustomLog a.log combined\nCustomLog b.log common\n")
    with caplog.at_level(logging.WARNING, logger="fastdispatch.error"):
        srv = parse_config(path).server
    assert srv.access_log == str(tmp_path / "b.log")
    assert any("%s:2: only one access log is written" % path in r.getMessage()
               for r in caplog.records)

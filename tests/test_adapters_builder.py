"""The configuration written in Python (``Dispatcher.build``, builder.py):
the same Config the parser builds from the equivalent file."""
import dataclasses
import os

import pytest

from serverproc import ROOT

from fastdispatch import (Directory, DirectoryMatch, Dispatcher, Files, FilesMatch, Location,
                          LocationMatch, build_config)
from fastdispatch.config.parser import parse_config
from fastdispatch.errors import ConfigError
from fastdispatch.testing import Client

TUTORIAL = os.path.join(ROOT, "examples", "tutorial")


def comparable(cfg):
    """The Config as plain data, without where each line was written."""
    def directive(d):
        return (d.key, d.args, d.directory)

    def section(s, sections):
        return (s.kind, s.pattern, s.regex, [directive(d) for d in s.directives],
                sections.index(s.parent) if s.parent is not None else None)
    return {
        "server": dataclasses.asdict(cfg.server),
        "document_root": cfg.document_root,
        "sections": [section(s, cfg.sections) for s in cfg.sections],
        "global": [directive(d) for d in cfg.global_section.directives],
        "aliases": cfg.aliases,
        "imports": [directive(d) for d in cfg.python_imports],
    }


def tutorial_in_python():
    """examples/tutorial/site.conf, line for line."""
    return build_config(
        Directory("htdocs/mywebdir",
                  AddHandler=("mod_python", ".py"),
                  PythonHandler="myscript",
                  PythonDebug=True),
        Directory("htdocs/secure",
                  AddHandler=("mod_python", ".py"),
                  PythonHandler="myscript",
                  PythonAuthenHandler="myscript",
                  PythonDebug=True,
                  AuthType="Basic",
                  AuthName="Restricted Area",
                  require="valid-user",
                  AuthBasicAuthoritative=False),
        Directory("htdocs/errors",
                  SetHandler="mod_python",
                  PythonHandler="myscript",
                  PythonDebug=True),
        Directory("htdocs/feedback",
                  AddHandler=("mod_python", ".py"),
                  PythonHandler="mod_python.publisher",
                  PythonDebug=True),
        Listen="127.0.0.1:8080",
        ServerName="localhost",
        DocumentRoot="htdocs",
        DirectoryIndex="index.html",
        base_dir=TUTORIAL)


def test_the_tutorial_in_python_is_the_tutorial_config():
    assert comparable(tutorial_in_python()) == \
        comparable(parse_config(os.path.join(TUTORIAL, "site.conf")))


def test_built_dispatcher_serves_the_tutorial():
    client = Client(Dispatcher(tutorial_in_python()))
    assert client.get("/mywebdir/myscript.py").body == b"Hello World!"
    assert client.get("/secure/myscript.py").status == 401
    assert client.get("/secure/myscript.py", auth=("spam", "eggs")).body == b"Hello World!"
    assert client.get("/errors/handler-error.html").status == 404
    assert client.get("/feedback/form.html").status == 200


def test_the_docstring_example(tmp_path):
    app = Dispatcher.build(
        Directory("htdocs/mywebdir", AddHandler=("mod_python", ".py"),
                  PythonHandler="myscript", PythonDebug=True),
        DocumentRoot="htdocs", base_dir=TUTORIAL)
    assert Client(app).get("/mywebdir/hello.py").body == b"Hello World!"
    assert app.document_root == os.path.join(TUTORIAL, "htdocs")


def test_values_and_lines(tmp_path):
    cfg = build_config(
        Directory(str(tmp_path),
                  ("AddType", "text/plain", ".log"),             # a line as a tuple
                  ("AddType", "text/x-c", ".c", ".h"),
                  PythonOption=[("a", "1"), ("b", "2")],         # two lines
                  PythonDebug=False,
                  LimitRequestBody=1024,
                  PythonPath=None,                                # left out
                  DirectoryIndex=("index.py", "index.html")),
        base_dir=str(tmp_path))
    (s,) = cfg.sections
    assert [(d.name, d.args) for d in s.directives] == [
        ("AddType", ["text/plain", ".log"]), ("AddType", ["text/x-c", ".c", ".h"]),
        ("PythonOption", ["a", "1"]), ("PythonOption", ["b", "2"]),
        ("PythonDebug", ["Off"]), ("LimitRequestBody", ["1024"]),
        ("DirectoryIndex", ["index.py", "index.html"])]
    assert all(d.directory == str(tmp_path) for d in s.directives)
    assert cfg.document_root == str(tmp_path)


def test_sections_of_every_kind_and_nesting(tmp_path):
    cfg = build_config(
        Directory("app", Files("*.py", SetHandler="mod_python", PythonHandler="h"),
                  PythonDebug=True),
        DirectoryMatch(r"^/srv/.*/cgi", SetHandler="none"),
        FilesMatch(r"\.psp$", SetHandler="mod_python"),
        Location("/status", SetHandler="mod_python", PythonHandler="status"),
        LocationMatch(r"^/api/", PythonOption=("api", "1")),
        base_dir=str(tmp_path))
    kinds = [(s.kind, s.regex) for s in cfg.sections]
    assert kinds == [("directory", False), ("files", False), ("directory", True),
                     ("files", True), ("location", False), ("location", True)]
    app_dir, files = cfg.sections[0], cfg.sections[1]
    assert app_dir.pattern == str(tmp_path / "app") and files.parent is app_dir
    assert all(d.directory == app_dir.pattern for d in files.directives)
    text = ("<Directory app>\n<Files *.py>\nSetHandler mod_python\nPythonHandler h\n</Files>\n"
            "PythonDebug On\n</Directory>\n"
            "<DirectoryMatch ^/srv/.*/cgi>\nSetHandler none\n</DirectoryMatch>\n"
            "<FilesMatch \\.psp$>\nSetHandler mod_python\n</FilesMatch>\n"
            "<Location /status>\nSetHandler mod_python\nPythonHandler status\n</Location>\n"
            "<LocationMatch ^/api/>\nPythonOption api 1\n</LocationMatch>\n")
    conf = tmp_path / "site.conf"
    conf.write_text(text)
    parsed = parse_config(str(conf))
    assert comparable(cfg) == comparable(parsed)


def test_server_wide_directives(tmp_path):
    (tmp_path / "static").mkdir()
    cfg = build_config(Listen=[8080, "127.0.0.1:9090"], KeepAlive=False, Timeout=30,
                       MaxKeepAliveRequests=5, LimitRequestBody=99, ServerAdmin="me@x",
                       Alias=("/s", "static"), AddHandler=("mod_python", ".py"),
                       PythonImport=("os", "main_interpreter"), base_dir=str(tmp_path))
    srv = cfg.server
    assert srv.listen == [("0.0.0.0", 8080), ("127.0.0.1", 9090)]
    assert (srv.keep_alive, srv.timeout, srv.max_keep_alive_requests) == (False, 30.0, 5)
    assert srv.limit_request_body == 99 and srv.server_admin == "me@x"
    assert cfg.aliases == [("/s", str(tmp_path / "static"))]
    assert [d.key for d in cfg.global_section.directives] == ["limitrequestbody", "addhandler"]
    assert cfg.python_imports[0].args == ["os", "main_interpreter"]


@pytest.mark.parametrize("build, message", [
    (lambda: build_config(PythonHandlr="x"), "Invalid command 'PythonHandlr'"),
    (lambda: build_config(Directory("/", Listen="80")), "Listen not allowed in <directory>"),
    (lambda: build_config(Directory("/", AddHandler="mod_python")), "AddHandler takes"),
    (lambda: build_config(Directory("/", PythonDebug="maybe")), "PythonDebug must be On or Off"),
    (lambda: build_config(Directory("/", Location("/x"))), "<location> is not allowed inside"),
    (lambda: build_config(FilesMatch("(")), "bad regular expression"),
    (lambda: build_config(Directory("/", PythonPath="[1]")), "PythonPath must evaluate"),
    (lambda: build_config(Directory("/", PythonOption={"a": 1})), "cannot use"),
    (lambda: build_config(DocumentRoot="/no/such/dir"), "DocumentRoot '/no/such/dir'"),
    (lambda: build_config(Include="x.conf"), "write it out in Python"),
    (lambda: build_config("AddHandler"), "expected a section"),
])
def test_errors(build, message):
    with pytest.raises(ConfigError) as exc:
        build()
    assert message in str(exc.value)


def test_apache_only_directives_are_accepted_and_ignored():
    cfg = build_config(Directory("/", AllowOverride="None", IndexOptions="FancyIndexing"))
    assert cfg.sections[0].directives == []
    # (Options is kept: its symbolic link options count)
    cfg = build_config(Directory("/", Options="Indexes"))
    assert [d.name for d in cfg.sections[0].directives] == ["Options"]


def test_the_embed_example():
    import runpy
    ns = runpy.run_path(os.path.join(ROOT, "examples", "embed", "python_config.py"),
                        run_name="python_config")
    r = Client(ns["app"]).get("/mywebdir/myscript.py")
    assert (r.status, r.body) == (200, b"Hello World!")

"""The compiled layers (fastdispatch/_layers.py): which of the two a process
runs, the build or the .py, and why.

The layers' behaviour is tested by the whole suite, which CI runs twice:
once as built (every layer compiled: FASTDISPATCH_REQUIRE_EXTENSIONS=1 makes a
layer that did not build a failure here), once with FASTDISPATCH_NO_EXTENSIONS=1
(every layer from its source).
"""
import importlib.machinery
import os
import shutil
import subprocess
import sys
import time

import pytest

import fastdispatch
from fastdispatch import _speedups
from fastdispatch._layers import CIMPORTS, COMPILED_LAYERS

PACKAGE_DIR = os.path.dirname(fastdispatch.__file__)
BUILT = all(_speedups.layer_files(name)[1] for name in COMPILED_LAYERS)
REQUIRED = (os.environ.get("FASTDISPATCH_REQUIRE_EXTENSIONS") == "1"
            and not _speedups.NO_EXTENSIONS)


def _probe(env_extra, pythonpath=None, module="fastdispatch.dispatch"):
    """(module file, its LAYERS state, stderr) in a fresh interpreter."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("FASTDISPATCH_NO_EXTENSIONS", "FASTDISPATCH_SOURCE_LAYERS")}
    env.update(env_extra)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    code = ("import %s as m, fastdispatch._speedups as s; print(m.__file__); "
            "print(s.LAYERS[%r])" % (module, module))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=60, cwd="/")
    assert out.returncode == 0, out.stderr
    path, state = out.stdout.split("\n", 1)
    return path, state.strip(), out.stderr


def test_the_list_names_modules_that_exist():
    for name in COMPILED_LAYERS:
        source, _ = _speedups.layer_files(name)
        assert os.path.isfile(source), name


def test_use_compiled_by_the_files(tmp_path):
    source = tmp_path / "m.py"
    compiled = tmp_path / ("m" + importlib.machinery.EXTENSION_SUFFIXES[0])
    source.write_text("x = 1\n")
    assert _speedups.use_compiled(str(source), None) == "not built"
    compiled.write_bytes(b"")
    now = time.time()
    os.utime(source, (now - 100, now - 100))
    os.utime(compiled, (now - 50, now - 50))
    assert _speedups.use_compiled(str(source), str(compiled)) == "compiled"
    # written by one install, moments apart, either way round
    os.utime(source, (now - 49, now - 49))
    assert _speedups.use_compiled(str(source), str(compiled)) == "compiled"
    # edited after the build
    os.utime(source, (now, now))
    assert _speedups.use_compiled(str(source), str(compiled)) == "stale"
    # its declarations (.pxd) edited after the build
    declarations = tmp_path / "m.pxd"
    declarations.write_text("cdef class M:\n    pass\n")
    os.utime(source, (now - 100, now - 100))
    assert _speedups.use_compiled(str(source), str(compiled)) == "stale"
    os.utime(declarations, (now - 100, now - 100))
    assert _speedups.use_compiled(str(source), str(compiled)) == "compiled"
    # a build shipped without its source
    source.unlink()
    assert _speedups.use_compiled(str(source), str(compiled)) == "compiled"


def test_every_layer_is_compiled_when_extensions_are_required():
    if not REQUIRED:
        pytest.skip("FASTDISPATCH_REQUIRE_EXTENSIONS=1 not set (or extensions disabled)")
    assert {n: s for n, s in _speedups.LAYERS.items() if s != "compiled"} == {}
    import fastdispatch.request
    assert not fastdispatch.request.__file__.endswith(".py")


@pytest.mark.parametrize("env", [{"FASTDISPATCH_NO_EXTENSIONS": "1"},
                                 {"FASTDISPATCH_SOURCE_LAYERS": "1"}],
                         ids=["no-extensions", "source-layers"])
def test_asked_for_source_runs_the_source(env):
    path, state, _ = _probe(env)
    assert path == os.path.join(PACKAGE_DIR, "dispatch.py")
    assert state == "source"


def test_source_layers_by_name():
    if not BUILT or _speedups.NO_EXTENSIONS:
        pytest.skip("the layers are not built in this install")
    env = {"FASTDISPATCH_SOURCE_LAYERS": "request, fastdispatch.server._worker"}
    path, state, _ = _probe(env, module="fastdispatch.request")
    assert (path, state) == (os.path.join(PACKAGE_DIR, "request.py"), "source")
    path, state, _ = _probe(env, module="fastdispatch.server._worker")
    assert state == "source" and path.endswith("_worker.py")
    path, state, _ = _probe(env, module="fastdispatch.handlers.static")
    assert state == "compiled"


def test_a_layer_follows_the_one_it_cimports():
    """dispatch's build reaches Request's fields in C (dispatch.pxd): with
    request from its source it loads its own source too, and says why."""
    if not BUILT or _speedups.NO_EXTENSIONS:
        pytest.skip("the layers are not built in this install")
    path, state, _ = _probe({"FASTDISPATCH_SOURCE_LAYERS": "request"},
                            module="fastdispatch.dispatch")
    assert (path, state) == (os.path.join(PACKAGE_DIR, "dispatch.py"), "source (request is)")
    path, state, _ = _probe({"FASTDISPATCH_SOURCE_LAYERS": "dispatch"},
                            module="fastdispatch.request")
    assert state == "compiled"     # (not the other way round)


def test_cimports_name_layers():
    hot_paths = {"fastdispatch." + name for name in _speedups.HOT_PATHS}
    for name, needed in CIMPORTS.items():
        assert name in COMPILED_LAYERS
        assert set(needed) <= set(COMPILED_LAYERS) | hot_paths, name


# a process whose compiled _http cannot be imported (as when it alone failed
# to build): the parser is its twin, whose heads are not the compiled type
_WITHOUT_COMPILED_HTTP = """
import sys
class _Refuse:
    def find_spec(self, name, path=None, target=None):
        if name == "fastdispatch._http":
            raise ImportError("refused by the test")
sys.meta_path.insert(0, _Refuse())
import fastdispatch.server._worker, fastdispatch._speedups as s
from fastdispatch.dispatch import Dispatcher
from fastdispatch.testing import Client
print(s.EXTENSIONS["_http"])
for name in ("request", "dispatch", "server._worker", "server._logs", "server._connection"):
    print(s.LAYERS["fastdispatch." + name])
r = Client(Dispatcher.build(DocumentRoot=sys.argv[1])).get("/a.txt")
print(r.status, r.body.decode())
"""


def test_layers_that_type_the_head_follow_the_parser(tmp_path):
    """request, the worker and the access log type the parsed head as
    _http's RequestHead (request.pxd, _worker.pxd, _logs.pxd): with the
    parser's twin in use they run from their source, and so does dispatch,
    which cimports request."""
    if not BUILT or _speedups.NO_EXTENSIONS:
        pytest.skip("the layers are not built in this install")
    env = {k: v for k, v in os.environ.items()
           if k not in ("FASTDISPATCH_NO_EXTENSIONS", "FASTDISPATCH_SOURCE_LAYERS")}
    (tmp_path / "a.txt").write_text("served")
    out = subprocess.run([sys.executable, "-c", _WITHOUT_COMPILED_HTTP, str(tmp_path)],
                         env=env, capture_output=True, text=True, timeout=60, cwd="/")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["False", "source (_http is)", "source (request is)",
                                       "source (_http is)", "source (_http is)", "compiled",
                                       "200 served"]


def test_source_layers_keep_the_hot_paths_compiled():
    if not _speedups.load_compiled("_http"):
        pytest.skip("hot paths not compiled in this install")
    env = {k: v for k, v in os.environ.items() if k != "FASTDISPATCH_NO_EXTENSIONS"}
    env["FASTDISPATCH_SOURCE_LAYERS"] = "1"
    out = subprocess.run([sys.executable, "-c",
                          "import fastdispatch; print(fastdispatch.EXTENSIONS['_http'])"],
                         env=env, capture_output=True, text=True, timeout=60, cwd="/")
    assert out.stdout.strip() == "True", out.stderr


def test_built_layers_run_compiled():
    if not BUILT or _speedups.NO_EXTENSIONS:
        pytest.skip("the layers are not built in this install")
    path, state, _ = _probe({})
    assert state == "compiled"
    assert path.startswith(os.path.join(PACKAGE_DIR, "dispatch."))
    assert not path.endswith(".py")


def test_an_edited_layer_runs_from_source_and_says_so(tmp_path):
    if not BUILT:
        pytest.skip("the layers are not built in this install")
    copy = tmp_path / "fastdispatch"
    shutil.copytree(PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    later = time.time() + 60
    os.utime(copy / "dispatch.py", (later, later))
    path, state, err = _probe({}, pythonpath=str(tmp_path))
    assert path == str(copy / "dispatch.py")
    assert state == "stale"
    assert "changed since they were compiled: fastdispatch.dispatch" in err
    # the others still run compiled
    path, state, _ = _probe({}, pythonpath=str(tmp_path), module="fastdispatch.request")
    assert state == "compiled" and path.startswith(str(copy / "request."))


# ---------------------------------------------------------------- declared fields
# A layer's .pxd may declare a class's fields (request.pxd, dispatch.pxd,
# server/_worker.pxd, _connection.pxd, _logs.pxd): compiled, each is a slot of the object; from source,
# an instance attribute. The two agree only if __init__ sets every declared
# field, whatever the path through it, and the class body gives none a
# default (compiled, a class attribute would hide the slot).

def _declarations():
    import ast
    import re
    found = []
    for name in COMPILED_LAYERS:
        py = os.path.join(os.path.dirname(PACKAGE_DIR), *name.split(".")) + ".py"
        pxd = py[:-3] + ".pxd"
        if not os.path.exists(pxd):
            continue
        text = open(pxd).read()
        for cls, body in re.findall(r"^cdef class (\w+):\n((?:[ \t]+.*\n|\n)*)", text, re.M):
            fields = set()
            for names in re.findall(r"^\s+cdef public object (.+)$", body, re.M):
                fields |= {n.strip() for n in names.split(",")}
            tree = ast.parse(open(py).read())
            node = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls)
            found.append((name, cls, fields, node))
    return found


def _self_targets(statements):
    import ast
    names = set()
    for stmt in statements:
        if isinstance(stmt, ast.Try) and stmt.handlers:
            # set on every way through: the try's body and each handler
            common = _self_targets(stmt.body)
            for handler in stmt.handlers:
                common &= _self_targets(handler.body)
            names |= common
            continue
        targets = stmt.targets if isinstance(stmt, ast.Assign) else \
            [stmt.target] if isinstance(stmt, ast.AnnAssign) else []
        for target in targets:
            for node in ast.walk(target):
                if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                        and node.value.id == "self":
                    names.add(node.attr)
    return names


def test_declared_fields_are_set_by_init_and_have_no_class_default():
    import ast
    declared = _declarations()
    assert {(m, c) for m, c, _, _ in declared} >= {
        ("fastdispatch.request", "Request"), ("fastdispatch.dispatch", "Dispatcher"),
        ("fastdispatch.server._worker", "Worker"),
        ("fastdispatch.server._connection", "Connection"),
        ("fastdispatch.server._logs", "AccessLog")}
    for module, cls, fields, node in declared:
        assert fields, (module, cls)
        class_level = set()
        for stmt in node.body:
            if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
                for target in (stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]):
                    class_level |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
        assert not fields & class_level, (module, cls, sorted(fields & class_level))
        methods = {n.name: n for n in node.body if isinstance(n, ast.FunctionDef)}
        # (top-level statements only: one inside an if may not run; with
        # those of a method __init__ calls at its top level, self._x(...))
        statements = list(methods["__init__"].body)
        for stmt in methods["__init__"].body:
            call = stmt.value if isinstance(stmt, ast.Expr) else None
            if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                    and isinstance(call.func.value, ast.Name) and call.func.value.id == "self"
                    and call.func.attr in methods):
                statements += methods[call.func.attr].body
        missing = fields - _self_targets(statements)
        assert not missing, (module, cls, sorted(missing))


def test_built_classes_keep_declared_fields_in_slots():
    if not BUILT or _speedups.NO_EXTENSIONS:
        pytest.skip("the layers are not built in this install")
    from fastdispatch.dispatch import Dispatcher
    from fastdispatch.request import Request
    from fastdispatch.server._connection import Connection
    from fastdispatch.server._logs import AccessLog
    from fastdispatch.server._worker import Worker
    for cls, field in ((Request, "status"), (Dispatcher, "lookup"), (Worker, "_conns"),
                       (Connection, "cork"), (AccessLog, "_stamp")):
        # a data descriptor of the type, not an entry of each instance's dict
        assert type(vars(cls)[field]).__name__ == "getset_descriptor", cls


def test_an_instance_attribute_overrides_a_cpdef_method(tmp_path):
    """Compiled, Dispatcher's per-request methods call each other in C
    (dispatch.pxd); one set on the instance still takes their place, in
    either build, as a plain method would."""
    from fastdispatch.dispatch import Dispatcher
    from fastdispatch.testing import Client
    (tmp_path / "hello.py").write_text(
        "from mod_python import apache\n"
        "def handler(req):\n"
        "    req.content_type = 'text/plain'\n"
        "    req.write('Hello World!')\n"
        "    return apache.OK\n")
    conf = tmp_path / "site.conf"
    conf.write_text('DocumentRoot %s\n<Directory %s>\n    AddHandler mod_python .py\n'
                    '    PythonHandler hello\n</Directory>\n' % (tmp_path, tmp_path))
    app = Dispatcher.from_config(str(conf))
    client = Client(app)
    assert client.get("/hello.py").body == b"Hello World!"
    seen = []
    plain_call = app._call

    def call(req, entry):
        seen.append(entry.directive)
        return plain_call(req, entry)

    app._call = call
    assert client.get("/hello.py").body == b"Hello World!"
    assert seen == ["PythonHandler"]
    del app._call
    assert client.get("/hello.py").body == b"Hello World!"
    assert seen == ["PythonHandler"]

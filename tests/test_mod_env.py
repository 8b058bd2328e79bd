"""SetEnv / UnsetEnv / PassEnv (mod_env, loaded by Debian's Apache): what
the handler of tests/sites/mod_env saw in req.subprocess_env under a
private Apache 2.4.71 (FD_PASSED=from-env in its environment), asserted
in-process. mod_env fills the environment at the fixup stage, after a
PythonFixupHandler: that one sees none of it. An UnsetEnv drops what less
specific sections set; what the server level set it drops only when its
section is the only one of its kind on the path (Apache's merge of two
sections keeps no UnsetEnv list)."""
import pytest

from fastdispatch import Dispatcher
from fastdispatch.testing import Client
from serverproc import copy_site

COMMON = ("('FD_EMPTY', ''), ('FD_OVER', 'dir'), ('FD_PASSED', 'from-env'), "
          "('FD_QUOTED', 'a b  c'), ('FD_SERVER', 's1')")

APACHE = {
    "/e/x": "[('FD_DIR', 'd1'), %s]" % COMMON,
    # UnsetEnv FD_DIR FD_SERVER in the inner section: the outer section's
    # variable goes, the server's stays; the <Location>'s UnsetEnv FD_OVER
    # (the only <Location> on the path) takes the directory's value away
    "/e/sub/x": "[('FD_EMPTY', ''), ('FD_PASSED', 'from-env'), ('FD_QUOTED', 'a b  c'), "
                "('FD_SERVER', 's1'), ('FD_SUB', 'x')]",
    "/e/sub2/x": "[('FD_DIR', 'again'), %s]" % COMMON,
    # the only section on the path: its UnsetEnv drops the server's variable
    "/e2/x": "[('FD_E2', 'y'), ('FD_OVER', 'server'), ('FD_PASSED', 'from-env')]",
}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("FD_PASSED", "from-env")
    d = tmp_path_factory.mktemp("mod_env")
    app = Dispatcher.from_config(copy_site("mod_env", d))
    yield Client(app)
    mp.undo()


@pytest.mark.parametrize("path", sorted(APACHE))
def test_the_handler_sees_what_apache_gave(client, path):
    lines = client.get(path).body.decode().splitlines()
    assert lines[0] == "handler " + APACHE[path]
    # before mod_env's fixup (/e2 has no PythonFixupHandler)
    assert lines[1] == ("fixup None" if path.startswith("/e2") else "fixup []")
    assert lines[2] == "after " + APACHE[path]      # add_common_vars keeps them


def test_passenv_of_an_undefined_variable_is_a_warning(tmp_path, caplog):
    conf = tmp_path / "site.conf"
    conf.write_text("Listen 127.0.0.1:0\nPassEnv FD_SURELY_NOT_SET_ANYWHERE\n")
    Dispatcher.from_config(str(conf))
    assert "PassEnv variable FD_SURELY_NOT_SET_ANYWHERE was undefined" in caplog.text

"""Options and symbolic links: FollowSymLinks (Apache 2.4's default),
SymLinksIfOwnerMatch, None, All and +/- merging, as Apache 2.4.71 answered
for this site (tests/sites/options, the same config and links on a private
Apache), asserted against ``fastdispatch serve``; and Options lines Apache
refuses."""
import os

import pytest

from fastdispatch.config.parser import parse_config
from fastdispatch.errors import ConfigError
from serverproc import ServerProcess, copy_site, request

OTHER_UID = 65534       # (nobody: a target owned by another user)


def make_links(d):
    """The links (git keeps them poorly, and copying a site follows them)."""
    for sub in ("none", "none/back", "minus", "owner", "all", "plain"):
        os.symlink("real.txt", os.path.join(d, sub, "link.txt"))
    if os.geteuid() == 0:
        other = os.path.join(d, "owner", "theirs.txt")
        with open(other, "w") as f:
            f.write("theirs\n")
        os.chown(other, OTHER_UID, OTHER_UID)
        os.symlink("theirs.txt", os.path.join(d, "owner", "to-theirs.txt"))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    d = tmp_path_factory.mktemp("options")
    conf = copy_site("options", d)
    make_links(str(d))
    srv = ServerProcess(["serve", "--config", str(conf), "--port", "0", "--workers", "1"])
    yield srv
    srv.stop()


@pytest.mark.parametrize("path, status", [
    ("/plain/link.txt", 200),          # the default: FollowSymLinks
    ("/none/link.txt", 403),           # Options None
    ("/none/back/link.txt", 200),      # +FollowSymLinks below it
    ("/minus/link.txt", 403),          # -FollowSymLinks
    ("/owner/link.txt", 200),          # SymLinksIfOwnerMatch, one owner
    ("/all/link.txt", 200),            # All has FollowSymLinks
    ("/none/real.txt", 200),           # (no link: no matter)
])
def test_links_follow_the_options(site, path, status):
    r = request(site.port, "GET", path)
    assert r.status == status
    if status == 200:
        assert r.body.startswith(b"real in ")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs a file owned by another user")
def test_symlinks_if_owner_match_refuses_another_owners_target(site):
    assert request(site.port, "GET", "/owner/to-theirs.txt").status == 403


@pytest.mark.parametrize("line, message", [
    ("Options Frob", "Illegal option Frob"),
    ("Options +Indexes FollowSymLinks", "Either all Options must start with + or -"),
])
def test_options_apache_refuses(tmp_path, line, message):
    conf = tmp_path / "bad.conf"
    conf.write_text("Listen 127.0.0.1:0\nDocumentRoot .\n<Directory />\n    %s\n</Directory>\n"
                    % line)
    with pytest.raises(ConfigError) as e:
        parse_config(str(conf))
    assert message in str(e.value) and ":4" in str(e.value)

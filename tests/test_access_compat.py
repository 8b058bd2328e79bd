"""Order / Allow / Deny / Satisfy (mod_access_compat, loaded by Debian's
Apache 2.4): what a private Apache 2.4.71 answered for this exact site
(tests/sites/access_compat), asserted against ``fastdispatch serve``; and
the parts that need no server."""
import types

import pytest

from fastdispatch import access_compat
from fastdispatch.config.parser import parse_config
from fastdispatch.errors import ConfigError
from serverproc import ServerProcess, basic, copy_site, request


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    d = tmp_path_factory.mktemp("access_compat")
    conf = copy_site("access_compat", d)
    srv = ServerProcess(["serve", "--config", str(conf), "--port", "0", "--workers", "1"])
    yield srv
    srv.stop()


# directory: (no credentials, spam:eggs, spam:bad), Apache's statuses
APACHE = {
    "deny": (403, 403, 403),
    "allow": (200, 200, 200),
    "allow_none": (403, 403, 403),            # Order allow,deny and no Allow
    "deny_allow_local": (200, 200, 200),
    "allow_deny_overlap": (403, 403, 403),    # allow,deny: the Deny wins
    "cidr_no": (403, 403, 403),
    "cidr_yes": (200, 200, 200),
    "netmask": (200, 200, 200),
    "mutual": (403, 403, 403),
    "mutual_ok": (200, 200, 200),
    "nested": (403, 403, 403),
    "nested/inherit": (403, 403, 403),        # a section without the rules inherits them
    "nested/open": (200, 200, 200),           # one with them replaces them
    "satany": (200, 200, 200),                # allowed: Require is not asked
    "satany_deny": (401, 200, 401),           # denied: a user will do
    "satall": (401, 200, 401),                # Satisfy All: both
    "deny_granted": (403, 403, 403),          # Require all granted does not undo Deny
    "env_allow": (403, 403, 403),             # env=HOME: not in subprocess_env
    "env_not": (200, 200, 200),
    "partial": (200, 200, 200),               # Allow from 127.0
}


@pytest.mark.parametrize("directory", sorted(APACHE))
def test_same_status_as_apache(server, directory):
    path = "/%s/f.txt" % directory
    got = tuple(request(server.port, "GET", path, headers=h).status
                for h in ([], [basic("spam", "eggs")], [basic("spam", "bad")]))
    assert got == APACHE[directory]


def test_denied_page_and_log(server):
    r = request(server.port, "GET", "/deny/f.txt")
    assert r.status == 403 and b"<title>403 Forbidden</title>" in r.body
    assert r.header("WWW-Authenticate") is None
    assert server.wait_for_log(r"AH01797: client denied by server configuration: .*/deny/f\.txt")
    r = request(server.port, "GET", "/satany_deny/f.txt")
    assert r.header("WWW-Authenticate") == 'Basic realm="A"'


def _rules(*lines):
    directives = [types.SimpleNamespace(key=line.split()[0].lower(), args=line.split()[1:])
                  for line in lines]
    return access_compat.section_rules(directives)


@pytest.mark.parametrize("lines, ip, allowed", [
    (["Deny from all"], "127.0.0.1", False),
    (["Order allow,deny"], "127.0.0.1", False),
    (["Order deny,allow"], "127.0.0.1", True),
    (["Order allow,deny", "Allow from 10.1"], "10.1.200.3", True),
    (["Order allow,deny", "Allow from 10.1"], "10.10.0.1", False),     # whole octets
    (["Order allow,deny", "Allow from 10.1.0.0/255.255.0.0"], "10.1.9.9", True),
    (["Order allow,deny", "Allow from 2001:db8::/32"], "2001:db8::1", True),
    (["Order allow,deny", "Allow from 127.0.0.1"], "::ffff:127.0.0.1", True),
    (["Order deny,allow", "Deny from all", "Allow from 192.168.1.7"], "192.168.1.7", True),
    (["Order mutual-failure", "Allow from all", "Deny from 10.0.0.0/8"], "10.2.3.4", False),
])
def test_order_and_addresses(lines, ip, allowed):
    rules = _rules(*lines)
    assert access_compat.allowed(rules, ip, {}, lambda: None) is allowed


def test_host_rules_match_whole_domain_labels():
    rules = _rules("Order allow,deny", "Allow from good.com")
    for name, expected in (("www.good.com", True), ("good.com", True),
                           ("nogood.com", False), (None, False)):
        assert access_compat.allowed(rules, "192.0.2.1", {}, lambda: name) is expected
    asked = []
    rules = _rules("Order allow,deny", "Allow from 192.0.2.1 example.org")
    assert access_compat.allowed(rules, "192.0.2.1", {}, lambda: asked.append(1))
    assert not asked                    # no DNS lookup once an address matched


@pytest.mark.parametrize("line, problem", [
    ("Order deny-allow", "unknown order"),
    ("Allow 127.0.0.1", "must be followed by 'from'"),
    ("Deny from 10.0.0.0/99", "An IP address was expected"),
    ("Satisfy some", "Satisfy either"),
])
def test_bad_lines_name_file_and_line(tmp_path, line, problem):
    conf = tmp_path / "site.conf"
    conf.write_text("Listen 127.0.0.1:0\n<Directory %s>\n    %s\n</Directory>\n"
                    % (tmp_path, line))
    with pytest.raises(ConfigError) as info:
        parse_config(str(conf))
    assert problem in str(info.value) and "site.conf:3" in str(info.value)

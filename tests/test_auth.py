"""fastdispatch._auth: every test runs against the compiled module and the twin."""
import base64
import binascii

import pytest


def header(raw: bytes, scheme="Basic") -> str:
    return scheme + " " + base64.b64encode(raw).decode("ascii")


def stdlib_parse_basic(value):
    """The same answer composed from the stdlib: the oracle."""
    if value is None:
        return None
    scheme, sp, token = value.strip(" \t").partition(" ")  # (Apache: a SP ends the scheme)
    if not sp or scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(token.strip(" \t"), validate=True)
    except (binascii.Error, ValueError):
        return None
    user, colon, password = decoded.partition(b":")
    if not colon:
        return None
    return user.decode("latin-1"), password.decode("latin-1")


@pytest.mark.parametrize("value, expected", [
    (header(b"user:pw"), ("user", "pw")),
    (header(b"Aladdin:open sesame"), ("Aladdin", "open sesame")),
    ("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", ("Aladdin", "open sesame")),
    ("basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", ("Aladdin", "open sesame")),
    ("BASIC QWxhZGRpbjpvcGVuIHNlc2FtZQ==", ("Aladdin", "open sesame")),
    ("bAsIc QWxhZGRpbjpvcGVuIHNlc2FtZQ==", ("Aladdin", "open sesame")),
    ("Basic   QWxhZGRpbjpvcGVuIHNlc2FtZQ==", ("Aladdin", "open sesame")),
    ("Basic \tQWxhZGRpbjpvcGVuIHNlc2FtZQ==", ("Aladdin", "open sesame")),
    ("  Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==  ", ("Aladdin", "open sesame")),
    (header(b"user:pw:with:colons"), ("user", "pw:with:colons")),
    (header(b":pw"), ("", "pw")),
    (header(b"user:"), ("user", "")),
    (header(b":"), ("", "")),
    (header(b"j\xf6rg:p\xe4ss"), ("j\u00f6rg", "p\u00e4ss")),        # latin-1
    (header("j\u00f6rg:\u20ac".encode()), ("j\u00c3\u00b6rg", "\u00e2\u0082\u00ac")),
    (header(b"a:b\x00c"), ("a", "b\x00c")),
    (header(b"ab:"), ("ab", "")),                                     # "==" padding
    (header(b"abcd:"), ("abcd", "")),                                 # "=" padding
    (header(b"abc:"), ("abc", "")),                                   # no padding
    ("Basic YTpi", ("a", "b")),
    ("Basic YTpiYw==", ("a", "bc")),
    ("Basic YTpiYx==", ("a", "bc")),      # non-zero pad bits: accepted, as stdlib
    ("Basic YTpiYzE=", ("a", "bc1")),
])
def test_parse_basic(impl_auth, value, expected):
    assert impl_auth.parse_basic(value) == expected
    assert stdlib_parse_basic(value) == expected


@pytest.mark.parametrize("value", [
    None,
    "",
    "Basic",
    "Basic ",
    "Basic    ",
    "Bearer abc",
    "Digest username=x",
    "Basi YTpi",
    "Basicc YTpi",
    "BasicYTpi",
    "Basic\tYTpi",         # Apache splits the scheme off at a SP only
    "Basic\t YTpi",
    "Basic\u0130 YTpi",
    "Basic Og",            # ":" without padding
    "Basic Og=",
    "Basic Og===",
    "Basic YWJj",          # "abc": no colon
    "Basic ====",
    "Basic =Og=",
    "Basic O=g=",
    "Basic YQ==YQ==",
    "Basic YTpi YTpi",
    "Basic Y===",
    "Basic YTpi\u00e9",
    "Basic YTpi!",
    "Basic YT-i",          # URL-safe alphabet is not RFC 4648 section 4
    "Basic YT_i",
    "Basic YT\npi",
    "Basic \u0661\u0662\u0663\u0664",
    "Basic YTp\u0131",
    "Basic\x00YTpi",
])
def test_parse_basic_rejects(impl_auth, value):
    assert impl_auth.parse_basic(value) is None
    assert stdlib_parse_basic(value) is None


def test_parse_basic_ytp_padding(impl_auth):
    # "YTp=" is valid base64 for b"a:" (pad bits zero): a user with no password
    assert impl_auth.parse_basic("Basic YTp=") == ("a", "")


@pytest.mark.parametrize("realm, expected", [
    ("Restricted Area", 'Basic realm="Restricted Area"'),
    ("", 'Basic realm=""'),
    ('say "hi"', 'Basic realm="say \\"hi\\""'),
    ("back\\slash", 'Basic realm="back\\\\slash"'),
    ('\\"', 'Basic realm="\\\\\\""'),
    ("tab\there", 'Basic realm="tab\there"'),
    ("caf\u00e9", 'Basic realm="caf\u00e9"'),
])
def test_basic_challenge(impl_auth, realm, expected):
    assert impl_auth.basic_challenge(realm) == expected


@pytest.mark.parametrize("realm", ["a\r\nSet-Cookie: x=1", "a\nb", "a\rb", "a\x00", "a\x7f", "\x1b[1m"])
def test_basic_challenge_refuses_controls(impl_auth, realm):
    with pytest.raises(ValueError):
        impl_auth.basic_challenge(realm)


def test_parse_basic_long_credentials(impl_auth):
    user, password = "u" * 3000, "p\u00ff" * 2000
    value = header((user + ":" + password).encode("latin-1"))
    assert impl_auth.parse_basic(value) == (user, password)
    assert impl_auth.parse_basic(value[:-1]) is None

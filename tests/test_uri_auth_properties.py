"""Property tests: compiled _uri/_auth == pure twins, and the twins == stdlib oracles.

For generated and hostile inputs both implementations must return the same
value or raise the same HTTPError status (or the same exception type).
"""
import base64
import binascii
import os
import urllib.parse

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastdispatch import _speedups
from fastdispatch.errors import HTTPError

pure_uri = _speedups.load_pure("_uri")
pure_auth = _speedups.load_pure("_auth")
compiled_uri = _speedups.load_compiled("_uri")
compiled_auth = _speedups.load_compiled("_auth")

needs_compiled = pytest.mark.skipif(
    compiled_uri is None or compiled_auth is None or _speedups.NO_EXTENSIONS,
    reason="compiled _uri/_auth not built (or disabled)")

SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def outcome(fn, *args):
    """What a call gives, in a form two implementations can be compared by."""
    try:
        return ("value", fn(*args))
    except HTTPError as exc:
        return ("http", exc.status)
    except Exception as exc:  # noqa: BLE001 - the type is what is compared
        return ("raises", type(exc))


def same(name, pure_mod, compiled_mod, *args):
    expected = outcome(getattr(pure_mod, name), *args)
    got = outcome(getattr(compiled_mod, name), *args)
    assert got == expected, (name, args)
    if expected[0] == "value" and isinstance(expected[1], str):
        # equal and also the same canonical storage (kind) as a fresh str
        assert type(got[1]) is str
    return expected


# --- strategies ----------------------------------------------------------

HOSTILE_CHARS = "%/?#*.:@+=&;\x00\t \\\"'abcdefABCDEFgzG0123456789\u00e9\u00c3\u00a9\u00ff\x80\x7f\r\n"
WIDE_CHARS = "\u20ac\u0130\u0131\ud800\udce9\udc80\U0001f600\u0661"

hostile_text = st.text(alphabet=HOSTILE_CHARS, max_size=40)
wide_text = st.text(alphabet=HOSTILE_CHARS + WIDE_CHARS, max_size=40)
any_text = st.text(max_size=40)
latin1_text = st.text(alphabet=st.characters(max_codepoint=0xFF), max_size=40)
texts = st.one_of(hostile_text, wide_text, any_text, latin1_text)

escape = st.builds(lambda b: "%%%02X" % b, st.integers(0, 255)) | \
    st.builds(lambda b: "%%%02x" % b, st.integers(0, 255)) | \
    st.sampled_from(["%", "%4", "%g0", "%2f", "%2F", "%00", "%%", "%2e", "%2E%2e"])
path_piece = st.one_of(escape, st.sampled_from(["/", ".", "..", "a", "b.py", "+", "\u00e9", "\u20ac", "//"]))
raw_paths = st.lists(path_piece, max_size=12).map(lambda parts: "/" + "".join(parts))

segment = st.sampled_from(["", ".", "..", "...", "a", "b", ".a", "a.", "\u00e9", "\u20ac", "%2e"])
dotted_paths = st.lists(segment, max_size=10).map(lambda segs: "/" + "/".join(segs))
# mostly climbing back no higher than "/" (a ".." pops a segment pushed before)
balanced_paths = st.lists(st.one_of(
    st.lists(st.sampled_from(["a", "b", "\u20ac", "...", ".x"]), min_size=1, max_size=3),
    st.sampled_from([["."], [""], [".."], ["", ""]])), max_size=8).map(
        lambda groups: "/" + "/".join(seg for g in groups for seg in g))

qs_piece = st.one_of(escape, st.sampled_from(["&", ";", "=", "+", "a", "b", "==", "&&", " ", "\u00c3\u00a9", "\u20ac"]))
query_strings = st.lists(qs_piece, max_size=16).map("".join)

targets = st.one_of(
    texts,
    st.builds(lambda p, q: p + ("?" + q if q is not None else ""), raw_paths,
              st.none() | query_strings),
    st.builds(lambda s, a, p: s + "://" + a + p,
              st.sampled_from(["http", "HTTPS", "ftp", "htt", "http:"]),
              st.sampled_from(["", "h", "h:80", "u@h", "h?x"]), texts),
)


# --- _uri: compiled == pure ----------------------------------------------

@needs_compiled
@SETTINGS
@given(targets)
def test_split_target_same(target):
    same("split_target", pure_uri, compiled_uri, target)


@needs_compiled
@SETTINGS
@given(st.one_of(raw_paths, texts), st.booleans())
def test_unquote_path_same(raw, allow_slash):
    same("unquote_path", pure_uri, compiled_uri, raw, allow_slash)


@needs_compiled
@SETTINGS
@given(st.one_of(dotted_paths, balanced_paths, texts))
def test_normalize_path_same(path):
    same("normalize_path", pure_uri, compiled_uri, path)


@needs_compiled
@SETTINGS
@given(st.one_of(query_strings, texts), st.booleans())
def test_parse_qsl_same(qs, keep):
    same("parse_qsl", pure_uri, compiled_uri, qs, keep)


@needs_compiled
@SETTINGS
@given(st.one_of(st.sampled_from(["http://h/p?q", "/a?b=c", "*"]), targets), st.booleans())
def test_request_pipeline_same(target, keep):
    """split -> unquote -> normalize -> parse_qsl, as the request layer does."""
    def pipeline(mod):
        path, query = mod.split_target(target)
        if path == "*":
            return path, query
        path = mod.normalize_path(mod.unquote_path(path))
        return path, mod.parse_qsl(query or "", keep)
    assert outcome(lambda: pipeline(compiled_uri)) == outcome(lambda: pipeline(pure_uri))


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("docroot")
    for d in ["a", "a/b", "\u00e9", "a/b/c"]:
        (root / d).mkdir()
    for f in ["a/f.py", "index.html", "a/b/g.txt", "\u00e9/x"]:
        (root / f).write_text("x")
    os.symlink("loop", str(root / "loop"))
    return str(root)


storage_paths = st.lists(
    st.sampled_from(["", "a", "b", "c", "f.py", "g.txt", "index.html", "missing",
                     "\u00e9", "x", "loop", ".", "..", "\udce9", "\ud800", "\x00"]),
    max_size=6).map(lambda segs: "/" + "/".join(segs))


@needs_compiled
@SETTINGS
@given(st.one_of(storage_paths, texts), st.sampled_from(["", "/"]))
def test_map_to_storage_same(tree, path, root_suffix):
    root = tree + root_suffix
    pure_uri.clear_map_cache()
    compiled_uri.clear_map_cache()
    first = same("map_to_storage", pure_uri, compiled_uri, root, path)
    # and the cached answers agree with the first ones
    assert outcome(compiled_uri.map_to_storage, root, path) == first
    assert outcome(pure_uri.map_to_storage, root, path) == first


# --- _uri: pure == stdlib oracles ----------------------------------------

def _wire_as_ascii(text):
    """Wire text stands for bytes: spell the non-ASCII ones as %XX for urllib."""
    return "".join(c if c < "\x80" else "%%%02X" % ord(c) for c in text)


@SETTINGS
@given(st.one_of(raw_paths, latin1_text))
def test_unquote_path_oracle(raw):
    if any(c > "\xff" for c in raw):
        return
    result = outcome(pure_uri.unquote_path, raw)
    data = raw.encode("latin-1")
    hexdigits = b"0123456789abcdefABCDEF"
    bad_escape = any(
        byte == 0x25 and not (i + 2 < len(data) and data[i + 1] in hexdigits and data[i + 2] in hexdigits)
        for i, byte in enumerate(data))
    if bad_escape:
        assert result == ("http", 400)
    elif "%2f" in raw.lower() or "%00" in raw:
        # every "%" starts a valid escape here, so a substring is an escape
        assert result == ("http", 404)
    else:
        expected = urllib.parse.unquote_to_bytes(_wire_as_ascii(raw)).decode("utf-8", "surrogateescape")
        assert result == ("value", expected)


@SETTINGS
@given(st.one_of(dotted_paths, balanced_paths, texts.filter(lambda t: "\x00" not in t)))
def test_normalize_path_oracle(path):
    """Apache's ap_normalize_path, transcribed (test_uri.apache_normalize_path)."""
    from test_uri import apache_normalize_path
    expected = apache_normalize_path(path)
    if expected is None:
        assert outcome(pure_uri.normalize_path, path) == ("http", 400)
    else:
        assert pure_uri.normalize_path(path) == expected


@SETTINGS
@given(st.one_of(dotted_paths, balanced_paths))
def test_normalize_path_rfc3986_oracle(path):
    """Without repeated slashes and without climbing above "/": RFC 3986 5.2.4."""
    import re
    from test_uri import rfc3986_remove_dot_segments
    merged = re.sub("/+", "/", path)
    result = outcome(pure_uri.normalize_path, path)
    if result[0] == "value":
        assert result[1] == (rfc3986_remove_dot_segments(merged) or "/")


@SETTINGS
@given(st.one_of(query_strings, latin1_text), st.booleans())
def test_parse_qsl_oracle(qs, keep):
    if any(c > "\xff" for c in qs):
        return
    expected = urllib.parse.parse_qsl(_wire_as_ascii(qs).replace(";", "&"), keep_blank_values=keep)
    assert pure_uri.parse_qsl(qs, keep) == expected


# --- _auth ---------------------------------------------------------------

def stdlib_parse_basic(value):
    if value is None:
        return None
    value = value.strip(" \t")
    scheme, sp, rest = value.partition(" ")     # (Apache: a SP ends the scheme)
    if not (scheme.isascii() and scheme.lower() == "basic") or not sp:
        return None
    token = rest.lstrip(" \t")
    try:
        decoded = base64.b64decode(token.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return None
    user, colon, password = decoded.partition(b":")
    if not colon:
        return None
    return user.decode("latin-1"), password.decode("latin-1")


b64_chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
b64ish = st.text(alphabet=b64_chars + "-_ \t\n!\u00e9", max_size=24)
valid_b64 = st.binary(max_size=40).map(lambda b: base64.b64encode(b).decode("ascii"))
credentials = st.builds(
    lambda u, p: base64.b64encode(u + b":" + p).decode("ascii"),
    st.binary(max_size=12), st.binary(max_size=12))
schemes = st.sampled_from(["Basic", "basic", "BASIC", "bAsIc", "Basi", "Bearer", "Basic\u0130", ""])
spaces = st.sampled_from(["", " ", "  ", "\t", " \t ", "\n", "\u00a0"])
auth_values = st.one_of(
    st.none(),
    texts,
    st.builds(lambda a, s, sp, tok, b: a + s + sp + tok + b,
              spaces, schemes, spaces, st.one_of(b64ish, valid_b64, credentials), spaces),
)


@needs_compiled
@SETTINGS
@given(auth_values)
def test_parse_basic_same(value):
    same("parse_basic", pure_auth, compiled_auth, value)


@SETTINGS
@given(auth_values)
def test_parse_basic_oracle(value):
    assert pure_auth.parse_basic(value) == stdlib_parse_basic(value)


@needs_compiled
@SETTINGS
@given(texts)
def test_basic_challenge_same(realm):
    same("basic_challenge", pure_auth, compiled_auth, realm)


@SETTINGS
@given(st.text(alphabet=st.characters(blacklist_categories=("Cc",)), max_size=30))
def test_basic_challenge_round_trips(realm):
    value = pure_auth.basic_challenge(realm)
    assert value.startswith('Basic realm="') and value.endswith('"')
    inner = value[len('Basic realm="'):-1]
    # undo quoted-pair escaping: the realm comes back
    out, i = [], 0
    while i < len(inner):
        if inner[i] == "\\":
            i += 1
        else:
            assert inner[i] != '"'
        out.append(inner[i])
        i += 1
    assert "".join(out) == realm

"""_auth: compiled vs pure twin vs the stdlib composition (pytest-benchmark).

Run together with bench_uri.py; see its docstring for the command.
The "stdlib" row does the same job with base64.b64decode(validate=True) and
bytes.partition.
"""
import base64
import binascii

import pytest

from fastdispatch import _speedups

PURE = _speedups.load_pure("_auth")
COMPILED = _speedups.load_compiled("_auth")

HEADER = "Basic " + base64.b64encode(b"Aladdin:open sesame").decode("ascii")

IMPLS = [pytest.param(PURE, id="pure")]
if COMPILED is not None:
    IMPLS.insert(0, pytest.param(COMPILED, id="compiled"))


def stdlib_parse_basic(value):
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    user, colon, password = decoded.partition(b":")
    if not colon:
        return None
    return user.decode("latin-1"), password.decode("latin-1")


@pytest.mark.benchmark(group="auth: parse_basic")
@pytest.mark.parametrize("mod", IMPLS)
def test_parse_basic(benchmark, mod):
    assert benchmark(mod.parse_basic, HEADER) == ("Aladdin", "open sesame")


@pytest.mark.benchmark(group="auth: parse_basic")
def test_parse_basic_stdlib(benchmark):
    assert benchmark(stdlib_parse_basic, HEADER) == ("Aladdin", "open sesame")


@pytest.mark.benchmark(group="auth: basic_challenge")
@pytest.mark.parametrize("mod", IMPLS)
def test_basic_challenge(benchmark, mod):
    benchmark(mod.basic_challenge, "Restricted Area")

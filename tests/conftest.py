"""Shared fixtures.

``impl_<name>`` fixtures run a hot-path test against both the compiled module
and its pure-Python twin (test ids ``compiled`` and ``pure``), as multidict and
yarl do. The compiled run is skipped, with a reason, when the extension was not
built or when ``--no-extensions`` / FASTDISPATCH_NO_EXTENSIONS=1 is given.
"""
import os

import pytest

from fastdispatch import _speedups


def pytest_addoption(parser):
    parser.addoption("--no-extensions", action="store_true",
                     help="run hot-path tests against the pure-Python twins only")


def _impl_params():
    return [pytest.param("compiled", id="compiled"), pytest.param("pure", id="pure")]


def _get_impl(request, name):
    if request.param == "pure":
        return _speedups.load_pure(name)
    if request.config.getoption("--no-extensions") or _speedups.NO_EXTENSIONS:
        pytest.skip("compiled extensions disabled")
    mod = _speedups.load_compiled(name)
    if mod is None:
        pyx = os.path.join(os.path.dirname(os.path.dirname(__file__)), "src", name + ".pyx")
        if os.environ.get("FASTDISPATCH_REQUIRE_EXTENSIONS") == "1" and os.path.exists(pyx):
            pytest.fail("src/%s.pyx exists but fastdispatch.%s is not built" % (name, name))
        pytest.skip("fastdispatch.%s is not compiled in this install" % name)
    return mod


@pytest.fixture(params=_impl_params())
def impl_http(request):
    return _get_impl(request, "_http")


@pytest.fixture(params=_impl_params())
def impl_uri(request):
    return _get_impl(request, "_uri")


@pytest.fixture(params=_impl_params())
def impl_lookup(request):
    return _get_impl(request, "_lookup")


@pytest.fixture(params=_impl_params())
def impl_headers(request):
    return _get_impl(request, "_headers")


@pytest.fixture(params=_impl_params())
def impl_auth(request):
    return _get_impl(request, "_auth")

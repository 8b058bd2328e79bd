"""Fuzzing each compiled hot path against its pure twin: no crash, no hang,
the same answer.

Two bounded runs (longer ones: SECURITY.md, "Fuzzing"):

* hypothesis drives ``fuzz_hotpaths.one_input`` per target (bytes after a
  fixed target byte), FASTDISPATCH_FUZZ_EXAMPLES examples each (default 150),
  each example bounded by a deadline (a hang fails);
* the built-in mutating fuzzer (tests/data/hardening/fuzz_hotpaths.py),
  seeded with the hostile corpus and Apache's captured requests, runs in a
  subprocess for FASTDISPATCH_FUZZ_SECONDS (default 6): a crash (signal) or a
  hang (its time limit) fails, as does any compiled/pure difference.
"""
import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastdispatch import _speedups

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data", "hardening")
sys.path.insert(0, DATA)
import fuzz_hotpaths  # noqa: E402

compiled_missing = [n for n in fuzz_hotpaths.NAMES if fuzz_hotpaths.COMPILED[n] is None]
pytestmark = pytest.mark.skipif(
    bool(compiled_missing) or _speedups.NO_EXTENSIONS,
    reason="compiled hot paths not available: %s" % ", ".join(compiled_missing or ["disabled"]))

EXAMPLES = int(os.environ.get("FASTDISPATCH_FUZZ_EXAMPLES", "150"))
SECONDS = float(os.environ.get("FASTDISPATCH_FUZZ_SECONDS", "6"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=2000, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

TARGETS = [(i, t.__name__) for i, t in enumerate(fuzz_hotpaths.TARGETS)
           if t.__name__ not in [x.__name__ for x in fuzz_hotpaths.TARGETS[:i]]]

# bytes biased towards what these parsers care about
_TOKENS = st.sampled_from(fuzz_hotpaths.DICTIONARY + [b"GET / HTTP/1.1\r\nHost: h\r\n",
                                                     b"POST /x HTTP/1.1\r\n", b"a", b"0"])
fuzz_bytes = st.one_of(
    st.binary(max_size=600),
    st.lists(st.one_of(_TOKENS, st.binary(max_size=8)), max_size=60).map(b"".join),
    st.sampled_from(fuzz_hotpaths.seeds()).map(lambda s: s[1:]),
)


@pytest.mark.parametrize("index, name", TARGETS, ids=[t[1] for t in TARGETS])
def test_hypothesis_fuzz(index, name):
    @SETTINGS
    @given(fuzz_bytes)
    def run(data):
        fuzz_hotpaths.one_input(bytes([index]) + data)

    run()


def test_seeds_cover_every_hot_path():
    firsts = {s[0] for s in fuzz_hotpaths.seeds()}
    for name, indexes in fuzz_hotpaths.TARGET_OF.items():
        assert firsts & set(indexes), name
    assert set(fuzz_hotpaths.TARGET_OF) == set(_speedups.HOT_PATHS)


def test_mutation_fuzzer_in_a_subprocess():
    script = os.path.join(DATA, "fuzz_hotpaths.py")
    proc = subprocess.run([sys.executable, script, "--seconds", str(SECONDS), "--seed",
                           os.environ.get("FASTDISPATCH_FUZZ_SEED", "1")],
                          capture_output=True, text=True, timeout=SECONDS + 90)
    assert proc.returncode == 0, (proc.returncode, proc.stdout[-2000:], proc.stderr[-4000:])
    assert "compiled == pure, no crash" in proc.stdout

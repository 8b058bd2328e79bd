"""The end-to-end benchmark harness (bench/e2e/run.py) works: a --quick run
on two scenarios against fastdispatch's own server (both modes), wrk pinned
to one core and the server to the other, then the memory run with a few
hundred idle connections. Proves the runner, not the numbers (< 60 s)."""
import json
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNNER = os.path.join(ROOT, "bench", "e2e", "run.py")

pytestmark = [
    pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed"),
    pytest.mark.skipif(shutil.which("taskset") is None, reason="taskset is not installed"),
]


@pytest.mark.timeout(90)
def test_quick_run_against_fastdispatch(tmp_path):
    out = tmp_path / "results.json"
    cmd = [sys.executable, RUNNER, "--quick", "--no-install", "--no-chart",
           "--servers", "fd-default,fd-inline", "--scenarios", "hello,static",
           "--duration", "2", "--warmup", "1", "--no-scaling",
           "--idle-connections", "200", "--json", str(out)]
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=80)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    result = json.loads(out.read_text())

    # every server answered every scenario as expected, and was timed
    assert not [n for n in result["notes"] if "differs" in n or "skipped" in n], result["notes"]
    timed = {(r["server"], r["scenario"]) for r in result["runs"]}
    assert timed == {(s, c) for s in ("fd-default", "fd-inline") for c in ("hello", "static")}
    for r in result["runs"]:
        assert r["requests"] > 0 and r["rps"] > 0, r
        assert 0 < r["p50_ms"] <= r["p99_ms"], r
        assert not r["errors"], r
        assert r["server_cpu_us_per_req"] > 0, r

    # medians and same-round ratios
    rows = {(s["server"], s["scenario"]): s for s in result["summary"]}
    assert rows[("fd-default", "hello")]["ratio_to_fd-default"] == pytest.approx(1.0)
    assert rows[("fd-inline", "static")]["ratio_to_fd-inline"] == pytest.approx(1.0)
    assert rows[("fd-inline", "hello")]["ratio_to_fd-default"] > 0

    # idle keep-alive connections stay open and are counted
    for name in ("fd-default", "fd-inline"):
        mem = result["memory"][name]
        assert mem["open_at_sample"] == 200, mem
        assert mem["rss_mib_with_conns"] > 0, mem

    # the table is printed
    assert "| hello | fd-default |" in p.stdout

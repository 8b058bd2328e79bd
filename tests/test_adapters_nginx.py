"""Several instances behind a load balancer (docs/deploy.md): Debian's nginx
in front of two ``fastdispatch serve`` instances, on loopback ports, driven
by bench/e2e/nginx_lb.py. Skipped when nginx is not installed."""
import os
import sys

import pytest

from serverproc import ROOT

sys.path.insert(0, os.path.join(ROOT, "bench", "e2e"))
import nginx_lb  # noqa: E402


@pytest.mark.skipif(nginx_lb.find_nginx() is None,
                    reason="nginx is not installed (apt-get install nginx)")
def test_nginx_balances_two_instances():
    lines = []
    found = nginx_lb.run(requests=200, log=lines.append)
    assert found["requests"] == 200
    assert len(found["hits"]) == 2 and all(h > 0 for h in found["hits"])
    assert sum(found["hits"]) >= 200
    assert found["failover_ok"] == 20

"""The worker's measure of its threads' demand for a CPU (server/_demand):
threads running Python saturate the GIL, threads waiting on I/O do not."""
import os
import threading
import time

import pytest

from fastdispatch.server._demand import CALM_WINDOWS, WINDOW, Demand

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/task"),
                                reason="per-thread schedstat is Linux's")


def _threads(target, n):
    stop = threading.Event()
    threads = [threading.Thread(target=target, args=(stop,), daemon=True) for _ in range(n)]
    for t in threads:
        t.start()
    return stop, threads


def _windows(demand, tids, n):
    for _ in range(n + 1):
        demand.sample(tids)
        time.sleep(WINDOW * 1.5)
    demand.sample(tids)


def _spin(stop):
    while not stop.is_set():
        sum(range(1000))


def test_threads_running_python_saturate_it():
    demand = Demand()
    stop, threads = _threads(_spin, 2)
    try:
        _windows(demand, [t.native_id for t in threads], 2)
        assert demand.saturated is True
        assert demand.busy == 2          # each had a share of the GIL
    finally:
        stop.set()
        demand.close()


def test_threads_waiting_on_io_leave_it_free():
    demand = Demand()
    assert demand.saturated is None       # not measured yet
    stop, threads = _threads(lambda stop: stop.wait(5), 4)
    try:
        _windows(demand, [t.native_id for t in threads], CALM_WINDOWS + 1)
        assert demand.saturated is False
        assert demand.busy == 0
    finally:
        stop.set()
        demand.close()

"""How much a worker's threads want a CPU: whether its GIL is saturated.

One thread runs Python at a time. A second serving thread helps only while
the first waits on I/O (a database, SMTP, a sleep); while the threads
together want about one CPU, another one adds nothing but GIL hand-offs
(a futex wake each, and a cold cache when the next holder runs on the
other core). Two threads taking quick requests on a two-core machine
served 15-17k req/s where one served 38k.

``Demand.sample`` measures, over a window of at least WINDOW seconds, the
nanoseconds each thread of the process spent on a CPU or runnable and
waiting for one (Linux's per-thread ``schedstat``; a thread waiting for the
GIL or for I/O is asleep, not counted). Elsewhere it falls back to the
process's CPU time, which misses the time spent waiting for a CPU and
cannot tell the threads apart.
"""
import os
import time

WINDOW = 0.02           # seconds: shorter samples are too noisy to act on
SATURATED = 0.5         # CPUs wanted, summed over the threads: the GIL is busy
CALM_WINDOWS = 2        # windows below it in a row before the GIL counts as free
BUSY_SHARE = 0.1        # of the window, for a thread to count as running

_WINDOW_NS = int(WINDOW * 1e9)


class Demand:
    def __init__(self):
        self._fds = {}          # native thread id -> schedstat descriptor, or None
        self._last = {}         # native thread id -> its last total (ns)
        self._at = None         # when the window began (monotonic ns)
        self._cpu = 0           # (fallback) the process's CPU time then
        self.saturated = None   # False after CALM_WINDOWS below SATURATED in a
        #                         row, True after one above (None: not measured yet)
        self._calm = 0
        self.busy = None        # of the threads asked about, those that ran
        #                         for BUSY_SHARE of it (None: unknown)

    def sample(self, tids):
        """Close the window if it is long enough. Every thread of the process
        counts (an application's own threads want the GIL too); ``busy``
        counts among ``tids``, the native ids of the serving threads."""
        now = time.monotonic_ns()
        if self._at is not None and now - self._at < _WINDOW_NS:
            return
        totals = self._thread_totals()
        cpu = time.process_time_ns()
        if self._at is not None:
            wall = now - self._at
            if totals is None:
                busy = cpu - self._cpu >= SATURATED * wall
                self.busy = None
            else:
                last = self._last
                spent = {tid: ns - last[tid] for tid, ns in totals.items() if tid in last}
                busy = sum(spent.values()) >= SATURATED * wall
                self.busy = sum(1 for tid in tids if spent.get(tid, 0) >= BUSY_SHARE * wall)
            # (one quiet window is often a gap between clients' requests)
            self._calm = 0 if busy else self._calm + 1
            if busy:
                self.saturated = True
            elif self._calm >= CALM_WINDOWS:
                self.saturated = False
        self._at = now
        self._cpu = cpu
        self._last = totals or {}

    def _thread_totals(self):
        """{native id: ns on a CPU or waiting for one} for every thread of the
        process, or None where the system does not say."""
        try:
            tids = [int(name) for name in os.listdir("/proc/self/task")]
        except (OSError, ValueError):
            return None
        fds = self._fds
        for gone in [tid for tid in fds if tid not in tids]:
            if fds[gone] is not None:
                os.close(fds[gone])
            del fds[gone]
        totals = {}
        for tid in tids:
            fd = fds.get(tid, -1)
            if fd == -1:
                try:
                    fd = os.open("/proc/self/task/%d/schedstat" % tid,
                                 os.O_RDONLY | os.O_CLOEXEC)
                except OSError:
                    fd = None       # (gone meanwhile, or no schedstat)
                fds[tid] = fd
            if fd is None:
                continue
            try:
                run, wait = os.pread(fd, 128, 0).split()[:2]
                totals[tid] = int(run) + int(wait)
            except (OSError, ValueError):
                continue
        return totals or None

    def close(self):
        for fd in self._fds.values():
            if fd is not None:
                os.close(fd)
        self._fds.clear()

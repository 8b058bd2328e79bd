"""The master's view of its workers: a small shared-memory scoreboard.

Apache's parent watches its children through a scoreboard in shared memory;
this is the same idea, reduced to what the watchdog needs. The master maps it
(anonymous, shared) before forking, so every worker writes into the same
pages. Each worker owns one slot and, from its listener thread, on every tick
(at most a second apart), writes:

* ``beat``: ``time.monotonic()`` of the tick (CLOCK_MONOTONIC is one clock
  for every process of the machine, so the master can compare it with its
  own);
* ``stuck``: the monotonic time since which its oldest in-flight request has
  made no progress, when that is longer than ``HandlerTimeout``; else 0;
* ``pid``: its process id, so a slot re-used by a new worker is never read as
  the old one's.

The master reads the slots on its own tick: a slot whose ``stuck`` is set,
or whose ``beat`` is older than the limit (the listener thread itself is
stuck: an inline handler that never returns, or a C call holding the GIL),
means that worker is replaced (see ``_serve._Master``).
"""
import mmap
import struct

_SLOT = struct.Struct("ddq")          # beat, stuck, pid


class Scoreboard:
    def __init__(self, nslots):
        self.nslots = nslots
        self._mem = mmap.mmap(-1, max(1, nslots) * _SLOT.size)   # MAP_SHARED|MAP_ANONYMOUS
        self._free = list(range(nslots - 1, -1, -1))

    # ---------------------------------------------------------------- master
    def allocate(self):
        """A free slot index (cleared), or -1 when every slot is taken."""
        if not self._free:
            return -1
        index = self._free.pop()
        _SLOT.pack_into(self._mem, index * _SLOT.size, 0.0, 0.0, 0)
        return index

    def release(self, index):
        if 0 <= index < self.nslots and index not in self._free:
            _SLOT.pack_into(self._mem, index * _SLOT.size, 0.0, 0.0, 0)
            self._free.append(index)

    def read(self, index):
        """(beat, stuck, pid) of a slot."""
        return _SLOT.unpack_from(self._mem, index * _SLOT.size)

    def close(self):
        try:
            self._mem.close()
        except (BufferError, ValueError):
            pass

    # ---------------------------------------------------------------- worker
    def slot(self, index, pid):
        return _Slot(self._mem, index * _SLOT.size, pid)


class _Slot:
    """A worker's own slot: ``write(beat, stuck)``."""
    __slots__ = ("_mem", "_offset", "_pid")

    def __init__(self, mem, offset, pid):
        self._mem = mem
        self._offset = offset
        self._pid = pid

    def write(self, beat, stuck):
        _SLOT.pack_into(self._mem, self._offset, beat, stuck, self._pid)

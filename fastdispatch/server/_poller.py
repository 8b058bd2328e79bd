"""Where idle connections wait: the listener thread's readiness poller.

Two implementations of one small interface, used by ``Worker``:

* ``EpollPoller`` (Linux): connections are registered ``EPOLLONESHOT`` in
  threaded mode, so an event disarms its connection by itself and the thread
  that served it re-arms it with one ``epoll_ctl`` -- from its own thread, no
  hand-back through the listener. The listening sockets are registered
  ``EPOLLEXCLUSIVE`` so a new connection wakes one worker process, not all.
* ``SelectorPoller`` (anywhere ``selectors`` works): the listener unregisters
  a connection when it hands it to a thread; the thread gives it back through
  a queue and a wake-up socketpair, and the listener registers it again.

In inline mode (``oneshot=False``) connections stay registered for their whole
life and ``disarm``/``park`` do nothing.

Threaded, ``EpollPoller`` keeps the connections in an epoll set of their own,
nested in the listener's while it ``watch``es them: a serving thread that
finished a request ``take``s the next ready connection itself, and the
listener stops watching while serving threads do that (the worker decides),
so a busy worker serves request after request on one thread, without a
hand-off through the listener. Only ``EpollPoller`` can (``can_take``).

While serving threads take, the listening sockets are in the connections'
set too (see ``watch``): what ``take`` returns may be a listener, which the
taking thread accepts on.

Threads: ``disarm`` and ``poll`` run on the listener thread; ``add``,
``add_listener`` and ``remove_listener`` on the thread that accepts
(the worker serialises the last two); ``park`` and ``drop`` run on
whichever thread owns the connection at that moment; ``wake`` on any
thread and in signal handlers.
"""
import collections
import select
import selectors
import socket
import threading

WAKE = object()     # what poll() reports for the wake-up socket (drained already)
# ready connections one take() asks the kernel for. Their responses leave
# together once the thread has served them (server/_worker.py, holding), so
# the client wakes once for the batch, as for an --inline poll round: a waking
# on another CPU is dear, dearest in a virtual machine. 64 quick handlers
# (25-50 us each) keep the first response of a batch back 3 ms at most.
TAKE_BATCH = 64


class _Wakeup:
    def __init__(self):
        self.r, self.w = socket.socketpair()
        self.r.setblocking(False)
        self.w.setblocking(False)
        self.pending = False

    def wake(self):
        if not self.pending:
            self.pending = True
            try:
                self.w.send(b"x")
            except OSError:     # buffer full: a wake-up is pending anyway
                pass

    def drain(self):
        # Empty the socket first, then allow new wake-ups: the other order
        # could leave ``pending`` set with no byte to wake the next poll.
        # A wake() that sees ``pending`` still set did its work (queued a
        # connection, set a flag) before looking, and the caller handles that
        # work after this drain.
        try:
            while self.r.recv(4096):
                pass
        except OSError:
            pass
        self.pending = False

    def close(self):
        self.r.close()
        self.w.close()


class EpollPoller:
    def __init__(self, oneshot):
        self.oneshot = oneshot
        self.can_take = oneshot
        self._ep = select.epoll()
        # threaded: the connections' own set, nested in _ep while watched
        self._cep = select.epoll() if oneshot else self._ep
        self._cep_fd = self._cep.fileno() if oneshot else -1
        self._watching = False
        self._watch_lock = threading.Lock()
        self._taken = collections.deque()   # reported ready, not served yet (take)
        self._objs = {}
        self._listeners = {}                # fd -> listener, registered
        flags = select.EPOLLIN | select.EPOLLRDHUP
        if oneshot:
            flags |= select.EPOLLONESHOT
        self._flags = flags
        self._wakeup = _Wakeup()
        self._wake_fd = self._wakeup.r.fileno()
        self._ep.register(self._wake_fd, select.EPOLLIN)
        if oneshot:
            self.watch(True)

    # The listening sockets are in the set someone waits on directly: the
    # listener thread's while it watches, the connections' own while
    # serving threads take from it (and accept new connections there,
    # without waking the listener thread). EPOLLEXCLUSIVE (one worker
    # process woken per new connection, not all) holds only for a set a
    # thread waits on itself, not for one nested in another.
    _LISTEN_FLAGS = select.EPOLLIN | getattr(select, "EPOLLEXCLUSIVE", 0)

    def _listen_set(self):
        return self._ep if self._watching else self._cep

    def add_listener(self, listener):
        fd = listener.sock.fileno()
        with self._watch_lock:
            self._objs[fd] = listener
            self._listeners[fd] = listener
            self._listen_set().register(fd, self._LISTEN_FLAGS)

    def remove_listener(self, listener):
        fd = listener.sock.fileno()
        with self._watch_lock:
            self._objs.pop(fd, None)
            if self._listeners.pop(fd, None) is None:
                return
            try:
                self._listen_set().unregister(fd)
            except (OSError, ValueError):
                pass

    def add(self, conn):
        self._objs[conn.fd] = conn
        self._cep.register(conn.fd, self._flags)

    def disarm(self, conn):
        pass        # EPOLLONESHOT did it

    def park(self, conn):
        if self.oneshot:
            self._cep.modify(conn.fd, self._flags)

    def drop(self, conn):
        try:
            self._cep.unregister(conn.fd)
        except (OSError, ValueError):
            pass
        if self._objs.get(conn.fd) is conn:
            del self._objs[conn.fd]

    def wake(self):
        self._wakeup.wake()

    def watch(self, on):
        """(Threaded) whether ``poll`` reports ready connections. Turned on,
        connections that became ready meanwhile are reported at once (the
        nested set is level-triggered): no readiness is lost in between."""
        with self._watch_lock:
            if on == self._watching:
                return
            try:
                if on:
                    self._ep.register(self._cep_fd, select.EPOLLIN)
                else:
                    self._ep.unregister(self._cep_fd)
                # the listening sockets move to the set now waited on (a
                # connection arriving in between is reported on register:
                # level-triggered)
                old, new = (self._cep, self._ep) if on else (self._ep, self._cep)
                for fd in self._listeners:
                    old.unregister(fd)
                    new.register(fd, self._LISTEN_FLAGS)
            except (OSError, ValueError):   # closed: the worker is stopping
                return
            self._watching = on

    def take(self, timeout=0):
        """(A serving thread) a ready connection (or listener), or None
        after ``timeout`` seconds. One ``epoll_wait`` asks for up to
        TAKE_BATCH: the others wait in ``_taken`` for the next ``take``, any
        thread's (``untake`` re-arms what no one will take)."""
        taken = self._taken
        if taken:
            try:
                return taken.popleft()
            except IndexError:      # another thread took the last one
                pass
        objs = self._objs
        for _ in range(4):
            try:
                events = self._cep.poll(timeout, TAKE_BATCH)
            except (InterruptedError, OSError, ValueError):
                return None
            if not events:
                return None
            first = None
            for fd, _ in events:
                obj = objs.get(fd)
                if obj is None:
                    continue        # closed since
                if first is None:
                    first = obj
                else:
                    taken.append(obj)
            if first is not None:
                return first
            timeout = 0     # they all closed since: look again
        return None

    def take_all(self):
        """Every ready connection, without waiting (what ``take`` holds
        first)."""
        out = self.untake()
        try:
            events = self._cep.poll(0)
        except (InterruptedError, OSError, ValueError):
            return out
        objs = self._objs
        out.extend(objs[fd] for fd, _ in events if fd in objs)
        return out

    def has_ready(self):
        """Whether the next ``take`` has a ready connection at hand (no
        system call)."""
        return bool(self._taken)

    def untake(self):
        """What ``take`` holds for the next take, removed: the caller serves
        it or re-arms it (``park``); nobody else sees it otherwise."""
        taken = self._taken
        out = []
        while taken:
            try:
                out.append(taken.popleft())
            except IndexError:
                break
        return out

    def poll(self, timeout):
        try:
            events = self._ep.poll(timeout)
        except InterruptedError:
            return ()
        objs = self._objs
        out = []
        for fd, _ in events:
            obj = objs.get(fd)
            if obj is not None:
                out.append(obj)
            elif fd == self._wake_fd:
                self._wakeup.drain()
                out.append(WAKE)
            elif fd == self._cep_fd:
                out.extend(self.take_all())
        return out

    def close(self):
        self._ep.close()
        if self._cep is not self._ep:
            self._cep.close()
        self._wakeup.close()


class SelectorPoller:
    can_take = False

    def __init__(self, oneshot):
        self.oneshot = oneshot
        self._sel = selectors.DefaultSelector()
        self._parked = collections.deque()
        self._wakeup = _Wakeup()
        self._sel.register(self._wakeup.r, selectors.EVENT_READ, WAKE)
        self._loop_thread = None

    def add_listener(self, listener):
        self._sel.register(listener.sock, selectors.EVENT_READ, listener)

    def remove_listener(self, listener):
        try:
            self._sel.unregister(listener.sock)
        except (KeyError, ValueError):
            pass

    def add(self, conn):
        self._sel.register(conn.sock, selectors.EVENT_READ, conn)

    def disarm(self, conn):
        if self.oneshot:
            self._sel.unregister(conn.sock)

    def park(self, conn):
        if not self.oneshot:
            return
        if threading.get_ident() == self._loop_thread:
            self._sel.register(conn.sock, selectors.EVENT_READ, conn)
        else:
            self._parked.append(conn)
            self._wakeup.wake()

    def drop(self, conn):
        # Only the listener thread has the connection registered while it owns
        # it; a serving thread's connection is not in the selector (oneshot).
        if self.oneshot and threading.get_ident() != self._loop_thread:
            return
        try:
            self._sel.unregister(conn.sock)
        except (KeyError, ValueError):
            pass

    def wake(self):
        self._wakeup.wake()

    def poll(self, timeout):
        if self._loop_thread is None:
            self._loop_thread = threading.get_ident()
        out = []
        for key, _ in self._sel.select(timeout):
            data = key.data
            if data is WAKE:
                self._wakeup.drain()
                out.append(WAKE)
            else:
                out.append(data)
        parked = self._parked
        while parked:
            conn = parked.popleft()
            try:
                self._sel.register(conn.sock, selectors.EVENT_READ, conn)
            except (KeyError, ValueError, OSError):
                pass
        return out

    def close(self):
        self._sel.close()
        self._wakeup.close()


def make_poller(kind, oneshot):
    """``kind``: "epoll", "selector" or None (epoll where available)."""
    if kind is None:
        kind = "epoll" if hasattr(select, "epoll") else "selector"
    if kind == "epoll":
        return EpollPoller(oneshot)
    if kind == "selector":
        return SelectorPoller(oneshot)
    raise ValueError("unknown poller %r" % (kind,))

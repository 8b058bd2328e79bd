"""The threaded worker's epoll poller (fastdispatch.server._poller), alone:
what ``take`` hands out, what it holds back for the next take, and that
nothing it holds is lost. Connections are socketpairs (no address)."""
import select
import socket
import sys
import time
import types

import pytest

from fastdispatch.server import _poller

pytestmark = pytest.mark.skipif(not hasattr(select, "epoll"), reason="epoll only")


@pytest.fixture
def poller():
    p = _poller.EpollPoller(oneshot=True)
    yield p
    p.close()


@pytest.fixture
def ready_conns(poller):
    """``n`` connections in the poller, each with a byte to read."""
    made = []

    def make(n):
        out = []
        for _ in range(n):
            ours, theirs = socket.socketpair()
            made.extend((ours, theirs))
            conn = types.SimpleNamespace(sock=ours, fd=ours.fileno())
            poller.add(conn)
            theirs.send(b"x")
            out.append(conn)
        return out
    yield make
    for s in made:
        s.close()


def test_one_take_holds_the_other_ready_connections_for_the_next(poller, ready_conns):
    ready = ready_conns(3)
    first = poller.take(1.0)
    assert first in ready
    # the other two come from what that take held back, then nothing is left
    rest = [poller.take(0), poller.take(0)]
    assert sorted(map(id, [first] + rest)) == sorted(map(id, ready))
    assert poller.take(0) is None


def test_untake_gives_back_what_was_held_and_a_park_rearms_it(poller, ready_conns):
    ready = ready_conns(3)
    first = poller.take(1.0)
    held = poller.untake()
    assert len(held) == 2 and first not in held
    assert poller.take(0) is None       # disarmed (EPOLLONESHOT) and no longer held
    for c in held:
        poller.park(c)                  # what the worker does with them
    assert sorted(map(id, poller.take_all())) == sorted(map(id, held))


def test_take_all_includes_what_take_held(poller, ready_conns):
    ready = ready_conns(4)
    first = poller.take(1.0)
    rest = poller.take_all()
    assert sorted(map(id, [first] + rest)) == sorted(map(id, ready))
    assert poller.untake() == []


def test_more_ready_than_one_batch(poller, ready_conns):
    n = _poller.TAKE_BATCH * 2 + 3
    ready = ready_conns(n)
    seen = []
    while True:
        c = poller.take(0)
        if c is None:
            break
        seen.append(c)
    assert sorted(map(id, seen)) == sorted(map(id, ready))


def test_a_thread_that_stops_taking_rearms_what_it_held():
    """Worker._untake: the ready connections a serving thread's last take
    held back go back to the poller (re-armed), not lost when the thread
    leaves its loop (queued connections to claim, or a stop)."""
    from fastdispatch.config.model import ServerConfig
    from fastdispatch.server._connection import Connection, conn_info
    from fastdispatch.server._worker import Worker

    app = types.SimpleNamespace(handle=None, error_response=None)
    worker = Worker(app, ServerConfig(), listeners=[], poller="epoll")
    made = []
    try:
        ready = []
        for _ in range(3):
            ours, theirs = socket.socketpair()
            made.extend((ours, theirs))
            ours.setblocking(False)
            conn = Connection(ours, conn_info(ours, "", ("127.0.0.1", 80)), None)
            worker._conns[conn.fd] = conn
            worker._poller.add(conn)
            theirs.send(b"GET / HTTP/1.1\r\n\r\n")
            ready.append(conn)
        first = worker._poller.take(1.0)
        assert first in ready
        worker._untake()
        assert worker._poller.untake() == []
        assert sorted(map(id, worker._poller.take_all())) == \
            sorted(id(c) for c in ready if c is not first)
    finally:
        worker._poller.close()
        for s in made:
            s.close()


def test_listening_sockets_sit_in_the_set_a_thread_waits_on(poller):
    """EPOLLEXCLUSIVE wakes one worker process per new connection only for
    an epoll set a thread waits on itself: the listening socket is in the
    listener thread's set while it watches, in the connections' set (where
    serving threads take, and accept) while they do."""
    lsock = socket.socket()
    try:
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(8)
        lsock.setblocking(False)
        listener = types.SimpleNamespace(sock=lsock)
        poller.add_listener(listener)
        client = socket.create_connection(lsock.getsockname())
        try:
            fd = lsock.fileno()
            assert fd in [f for f, _ in poller._ep.poll(0)]        # watching
            assert fd not in [f for f, _ in poller._cep.poll(0)]
            assert poller.poll(0) == [listener]
            poller.watch(False)                                    # threads take
            assert fd not in [f for f, _ in poller._ep.poll(0)]
            assert poller.take(0) is listener
            poller.watch(True)
            assert poller.poll(0) == [listener]
            poller.remove_listener(listener)
            assert poller.poll(0) == []
        finally:
            client.close()
    finally:
        lsock.close()


def test_an_accept_batch_stops_once_accepting_is_paused():
    """A serving thread may be inside an accept batch when another thread
    pauses accepting (a graceful stop, the connection cap): it accepts
    nothing more after that."""
    from fastdispatch.config.model import ServerConfig
    from fastdispatch.server._worker import Listener, Worker

    lsock = socket.socket()
    clients = []
    try:
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(8)
        lsock.setblocking(False)
        listener = Listener(lsock, lsock.getsockname())
        app = types.SimpleNamespace(handle=None, error_response=None)
        worker = Worker(app, ServerConfig(), [listener], poller="epoll")
        try:
            clients = [socket.create_connection(lsock.getsockname()) for _ in range(3)]
            worker._resume_accepting()
            worker._pause_accepting()           # by another thread, say
            worker._accept(listener)            # a batch that was under way
            assert worker.connections == 0
            worker._resume_accepting()
            worker._accept(listener)
            assert worker.connections == 3
        finally:
            for conn in list(worker._conns.values()):
                worker._close(conn)
            worker._poller.close()
    finally:
        for c in clients:
            c.close()
        lsock.close()


@pytest.mark.parametrize("on_listener", [True, False], ids=["listener-has-it", "listener-lacks-it"])
def test_accepted_connections_get_tcp_nodelay(on_listener):
    """Every accepted TCP connection has TCP_NODELAY (a response's pieces do
    not wait for the client's delayed ACK), whether the listener passes it
    on (bind_listeners sets it: Linux copies it, then the worker makes no
    system call for it) or not (the worker sets it on each)."""
    from fastdispatch.config.model import ServerConfig
    from fastdispatch.server._serve import bind_listeners
    from fastdispatch.server._worker import Listener, Worker

    if on_listener:
        listener, = bind_listeners([("127.0.0.1", 0)])
        lsock = listener.sock
        assert lsock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    else:
        lsock = socket.socket()
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(8)
        lsock.setblocking(False)
        listener = Listener(lsock, lsock.getsockname())
    clients = []
    app = types.SimpleNamespace(handle=None, error_response=None)
    worker = Worker(app, ServerConfig(), [listener], poller="epoll")
    try:
        clients = [socket.create_connection(lsock.getsockname()) for _ in range(3)]
        worker._resume_accepting()
        deadline = time.monotonic() + 5
        while worker.connections < 3 and time.monotonic() < deadline:
            worker._accept(listener)
        assert worker.connections == 3
        for conn in worker._conns.values():
            assert conn.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        if not on_listener:
            assert listener.nodelay is False
        elif sys.platform.startswith("linux"):
            assert listener.nodelay is True     # no setsockopt per connection
    finally:
        for conn in list(worker._conns.values()):
            worker._close(conn)
        worker._poller.close()
        for c in clients:
            c.close()
        lsock.close()

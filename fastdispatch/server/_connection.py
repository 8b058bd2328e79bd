"""One client connection: its socket, buffered bytes, and blocking I/O with timeouts.

Sockets stay non-blocking for their whole life (the listener's poller needs
that). Blocking with a timeout is done here by hand: try the call first, and
only when it would block wait with ``poll`` -- so the common case (data is
there, the send buffer has room) costs one system call, where a socket with
``settimeout`` would poll before every call.
"""
import errno
import os
import select
import socket
import time

from fastdispatch.errors import ClientGone, ClientReadTimeout, ClientTimeout
from fastdispatch.transport import ConnInfo, FileRegion

RECV_SIZE = 65536
# corking: bytes a connection keeps back at most (a small response; a larger
# one gains nothing from waiting, its send costs more than the wake-up)
CORK_MAX = 16384

_monotonic = time.monotonic
_MSG_MORE = socket.MSG_MORE
# ``since`` of a busy connection while it waits (at most Timeout) for its
# client: that time is not the handler making no progress (HandlerTimeout)
_WAITING = float("inf")

# connection states (who owns it)
IDLE = 0       # parked in the listener's poller, waiting for bytes
BUSY = 1       # a thread is serving it
CLOSED = 2
LINGER = 3     # write side shut, reading and dropping until EOF (lingering close)

# what os.sendfile raises for a file or socket it cannot serve
_NO_SENDFILE = {errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP,
                errno.EOVERFLOW}

_POLLIN = select.POLLIN | select.POLLPRI | select.POLLERR | select.POLLHUP
_POLLOUT = select.POLLOUT | select.POLLERR | select.POLLHUP


class ServerConnInfo(ConnInfo):
    """ConnInfo plus ``keepalives``: requests already served on the connection
    (Apache's ``c->keepalives``), for the Keep-Alive header's ``max``."""
    __slots__ = ("keepalives",)
    sendfile = True     # Connection.send takes a FileRegion

    def __init__(self, remote_ip, remote_port, local_ip, local_port, is_https=False):
        ConnInfo.__init__(self, remote_ip, remote_port, local_ip, local_port, is_https)
        self.keepalives = 0


def _more_follows(data):
    """Whether sending ``data`` sends bytes (a FileRegion may be empty)."""
    return data.__class__ is not FileRegion or data.count > 0


def _wait(fd, events, timeout):
    """Wait until ``fd`` is ready for ``events``; False on timeout."""
    poller = select.poll()
    poller.register(fd, events)
    return bool(poller.poll(None if timeout is None else max(0, int(timeout * 1000))))


class Connection:
    __slots__ = ("sock", "fd", "info", "buf", "state", "since", "partial", "broken",
                 "sent", "sent_bytes", "timeout", "linger_until", "current", "stuck",
                 "cork", "corked", "held", "holding", "lock")

    def __init__(self, sock, info, timeout):
        self.sock = sock
        self.fd = sock.fileno()
        self.info = info
        self.buf = b""          # received, not consumed: start of the next head
        self.state = IDLE
        self.since = 0.0        # monotonic time it became idle (or started a head);
        #                         while BUSY: when its request last made progress
        #                         (started, sent or received), for HandlerTimeout
        self.partial = False    # buf holds an incomplete head
        self.broken = False     # a send or receive failed: never reuse
        self.sent = False       # something was sent for the current request
        self.sent_bytes = 0     # bytes sent for it (the access log's %O)
        self.timeout = timeout
        self.linger_until = 0.0
        self.current = None     # the head of the request being served (for logs)
        self.stuck = None       # the head already reported as stuck
        self.cork = None        # corking: small sends kept back (see send)
        self.corked = 0         # their bytes
        self.holding = None     # holding (default mode): the worker's list of
        #                         connections with corked sends for its listener
        self.held = 0.0         # monotonic time of the first send corked since
        #                         the last uncork or push, or 0
        self.lock = None        # holding: a Lock that orders the threads' sends

    def __repr__(self):
        return "<Connection fd=%d %s:%d state=%d>" % (
            self.fd, self.info.remote_ip, self.info.remote_port, self.state)

    @property
    def client(self):
        return "%s:%d" % (self.info.remote_ip, self.info.remote_port)

    def send(self, data):
        """Write all of ``data`` (blocking, ``Timeout`` for each wait): bytes,
        or a FileRegion of an open file.

        Corked (``cork`` a list), small bytes wait in it, up to CORK_MAX,
        for ``uncork``: many connections' responses then leave back to back,
        and the client wakes once for them, not once for each (the wake-up
        costs the sender more than the send); a response written in several
        sends (a flushed head and chunk, then the last chunk) leaves in one.
        Anything else, and any wait for the client (``recv_wait``), sends
        what is corked first (before more bytes, with MSG_MORE: it shares
        their first segment, see _send_now). Inline, the worker uncorks at
        the end of its poll round.

        Holding (``holding`` a list: the default mode, where a handler may
        block after it flushed), the serving thread uncorks the connections
        it served once it has no ready one left, and the first send corked
        since the last uncork lists the connection in ``holding`` (``held``
        its time) for the worker's listener: it ``push``es what a blocked
        handler left corked, within a few ms. The listener and the serving
        threads then both send: ``lock`` orders their sends."""
        self.sent = True
        cork = self.cork
        if cork is not None:
            if data.__class__ is bytes and self.corked + len(data) <= CORK_MAX:
                # (list.append is atomic: a push may take the list meanwhile)
                cork.append(data)
                self.corked += len(data)
                self.sent_bytes += len(data)
                if not self.held and self.holding is not None:
                    self.held = _monotonic()
                    self.holding.append(self)
                return
            lock = self.lock
            if lock is not None:
                with lock:
                    if cork:
                        self._uncork(_more_follows(data))
                    self._send_now(data)
                return
            if cork:
                self._uncork(_more_follows(data))
        self._send_now(data)

    def uncork(self):
        """Send what corking kept back (blocking)."""
        lock = self.lock
        if lock is None:
            self._uncork()
        else:
            with lock:
                self._uncork()

    def uncork_unless_sending(self):
        """(A serving thread's batch done) uncork, unless another thread
        sends meanwhile (holds ``lock``): that one sends what is corked
        before its own bytes, or, a push, takes it."""
        lock = self.lock
        if lock is None:
            self._uncork()
        elif lock.acquire(False):
            try:
                self._uncork()
            finally:
                lock.release()

    def _uncork(self, more=False):
        # (``held`` first: what a thread corks from here on is listed again)
        self.held = 0.0
        data = self._take_corked()
        if data is not None:
            self.sent_bytes -= len(data)    # (counted when corked; counted again below)
            self._send_now(data, more)

    def _take_corked(self):
        """What is corked, joined, and the cork emptied; None if nothing is.
        (Slice, then delete the slice: what another thread appends between
        the two stays corked, for the next uncork.)"""
        cork = self.cork
        n = len(cork)
        if not n:
            return None
        data = cork[0] if n == 1 else b"".join(cork[:n])
        del cork[:n]
        self.corked = 0
        return data

    def push(self):
        """(The listener) send what is corked, never waiting: its thread may
        block in a handler that flushed. While another thread sends (holds
        ``lock``), and when the client's socket cannot take it all now,
        what is corked stays so, listed again for the listener's next look.
        Harmless on a closed connection (its socket refuses)."""
        lock = self.lock
        if not lock.acquire(False):
            # (that thread may be a batch's end sending an earlier slice,
            # while this one's owner corked more and may now block)
            self.holding.append(self)
            return
        try:
            self.held = 0.0
            data = self._take_corked()
            if data is None:
                return
            try:
                n = self.sock.send(data)
            except BlockingIOError:
                n = 0
            except OSError:
                return          # closed, or the client gone: its thread finds out
            if n < len(data):
                self.cork.insert(0, data[n:])
                self.corked += len(data) - n
                self.held = _monotonic()
                self.holding.append(self)
        finally:
            lock.release()

    def _send_now(self, data, more=False):
        """Send all of ``data``; ``more``: bytes follow at once (MSG_MORE:
        the kernel sends no partly filled segment of these, it fills it
        with what follows -- a head before its file leaves with the file's
        first bytes, not in a small packet of its own)."""
        self.since = _monotonic()
        try:
            n = self.sock.send(data, _MSG_MORE if more else 0)
        except BlockingIOError:
            n = 0
        except TypeError:
            # (checked here, not before each send: bytes are the common case)
            if data.__class__ is not FileRegion:
                raise
            self._send_file(data)
            return
        except OSError as exc:
            self.broken = True
            raise ClientGone(exc.errno, "sending to the client: %s" % exc.strerror) from exc
        if n != len(data):
            self._send_rest(data, n)
        self.sent_bytes += len(data)

    def _send_rest(self, data, n):
        view = memoryview(data).cast("B")
        total = len(view)
        sock = self.sock
        try:
            while n < total:
                self.since = _WAITING       # the client's pace, not the handler's
                if not _wait(self.fd, _POLLOUT, self.timeout):
                    raise ClientTimeout("timed out sending to the client")
                self.since = _monotonic()
                try:
                    n += sock.send(view[n:])
                except BlockingIOError:
                    pass
        except ClientGone:
            self.broken = True
            self.sent_bytes += n        # what went (%O)
            raise
        except OSError as exc:
            self.broken = True
            self.sent_bytes += n
            raise ClientGone(exc.errno, "sending to the client: %s" % exc.strerror) from exc
        finally:
            self.since = _monotonic()
            view.release()

    def _send_file(self, region):
        """Write a FileRegion with os.sendfile: the file's pages go to the
        socket without a copy through Python (Apache's EnableSendfile)."""
        fd, offset, left = region.fd, region.offset, region.count
        out = self.fd
        try:
            while left > 0:
                try:
                    n = os.sendfile(out, fd, offset, left)
                except BlockingIOError:
                    self.since = _WAITING       # the client's pace, not the handler's
                    if not _wait(out, _POLLOUT, self.timeout):
                        raise ClientTimeout("timed out sending to the client") from None
                    self.since = _monotonic()
                    continue
                if n == 0:
                    # the file got shorter since its length went out in the
                    # head: only closing the connection ends the response
                    raise ClientGone(0, "the file ended %d bytes short of its length "
                                        "in the response head" % left)
                offset += n
                left -= n
        except ClientGone:
            self.broken = True
            self.sent_bytes += offset - region.offset     # what went (%O)
            raise
        except OSError as exc:
            if exc.errno in _NO_SENDFILE and offset == region.offset:
                # a file system (or socket) sendfile does not serve: the
                # bytes go through here instead
                self._send_file_by_reads(fd, offset, left)
                return
            self.broken = True
            self.sent_bytes += offset - region.offset
            raise ClientGone(exc.errno, "sending a file to the client: %s"
                             % exc.strerror) from exc
        finally:
            self.since = _monotonic()
        self.sent_bytes += region.count

    def _send_file_by_reads(self, fd, offset, left):
        while left > 0:
            data = os.pread(fd, min(left, 262144), offset)
            if not data:
                self.broken = True
                raise ClientGone(0, "the file ended %d bytes short of its length "
                                    "in the response head" % left)
            self._send_now(data)
            offset += len(data)
            left -= len(data)

    def recv_wait(self):
        """Receive what is there, waiting up to ``Timeout``; b"" at EOF."""
        if self.cork:
            self.uncork()       # the client may wait for it before sending more
        sock = self.sock
        self.since = _monotonic()
        while True:
            try:
                return sock.recv(RECV_SIZE)
            except BlockingIOError:
                pass
            except OSError as exc:
                self.broken = True
                raise ClientGone(exc.errno,
                                 "reading from the client: %s" % exc.strerror) from exc
            self.since = _WAITING           # the client's pace, not the handler's
            ready = _wait(self.fd, _POLLIN, self.timeout)
            self.since = _monotonic()
            if not ready:
                self.broken = True
                raise ClientReadTimeout("timed out reading from the client")

    def close(self):
        self.state = CLOSED
        try:
            self.sock.close()
        except OSError:
            pass


def conn_info(sock, addr, local):
    """ConnInfo for an accepted socket (``addr`` from accept, ``local`` the
    listener's bound address)."""
    if sock.family == socket.AF_INET6:
        remote_ip, remote_port = addr[0], addr[1]
        if remote_ip.startswith("::ffff:") and "." in remote_ip:
            remote_ip = remote_ip[7:]
    elif sock.family == socket.AF_INET:
        remote_ip, remote_port = addr
    else:
        remote_ip, remote_port = "127.0.0.1", 0
    local_ip, local_port = local[0], local[1]
    if local_ip in ("0.0.0.0", "::"):
        try:
            local_ip, local_port = sock.getsockname()[:2]
        except OSError:
            pass
    return ServerConnInfo(remote_ip, remote_port, local_ip, local_port)

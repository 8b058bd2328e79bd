"""``mod_python.Session``: sessions kept across requests (pythonapi.rst,
"Session -- Session Management").

A session is a dict bound to an id the client keeps in the ``pysid`` cookie
(signed when a ``secret`` is given). ``Session(req)`` picks the store as
mod_python does: ``PythonOption mod_python.session.session_type`` when set,
else ``MemorySession`` when one process serves every request (``serve
--workers 1``) and ``DbmSession`` otherwise, or when the number of
processes is not known (hosted by another server). ``MemorySession`` keeps sessions in the process, ``DbmSession`` in one
dbm file, ``FileSession`` in a file per session; the last two are shared by
all worker processes.

Locking is mod_python's: a session is locked from the moment it is loaded
or made until the request ends (a cleanup unlocks it), so two requests of
one session run one after the other. The locks are ``flock`` locks on a
fixed set of lock files (a session id hashes to one of them), which hold
across worker processes and, each lock opening its own file, across the
threads of one process. Slot 0 guards the dbm file itself.

What a client sees is as mod_python 3.5 on Apache 2.4 answers: a new
session sends ``Cache-Control: no-cache="set-cookie"`` and
``Set-Cookie: pysid=<32 hex>; path=<the handler's directory below the
DocumentRoot>``; a known one sends no cookie; ``invalidate()`` sends the
cookie again, expired. Session ids come from ``secrets`` rather than
mod_python's md5 of time, pid and ``random``: the same form, not guessable.
"""
import fcntl
import os
import pickle
import random
import re
import secrets
import stat
import tempfile
import threading
import time
import zlib

import dbm

from fastdispatch import apache
from fastdispatch import cookie as Cookie

COOKIE_NAME = "pysid"
DFT_TIMEOUT = 30 * 60           # seconds a session lives without a save
DFT_LOCK = True
CLEANUP_CHANCE = 1000           # one request in this many sweeps expired sessions
LOCK_SLOTS = 32                 # lock files; slot 0 is the dbm file's own

tempdir = tempfile.gettempdir()
_valid_sid = re.compile(r"[0-9a-f]{32}$")


def _check_sid(sid):
    return isinstance(sid, str) and _valid_sid.match(sid) is not None


def _new_sid():
    return secrets.token_hex(16)


def _option(opts, name, old_name=None, default=None):
    """A PythonOption by its mod_python 3.3+ name, else its older name."""
    if name in opts:
        return opts[name]
    if old_name is not None and old_name in opts:
        return opts[old_name]
    return default


# ------------------------------------------------------------------ locks

_lock_dir = None
_lock_dir_guard = threading.Lock()


def _lock_path(slot):
    global _lock_dir
    if _lock_dir is None:
        with _lock_dir_guard:
            if _lock_dir is None:
                d = os.path.join(tempdir, "fastdispatch-session-locks-%d" % os.getuid())
                os.makedirs(d, mode=0o700, exist_ok=True)
                # in a shared /tmp someone else may have made it first: use
                # it only if it is our own directory, not a link, not open to others
                st = os.lstat(d)
                if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() \
                        or st.st_mode & 0o022:
                    raise OSError("session lock directory %s is not this user's own "
                                  "private directory" % d)
                _lock_dir = d
    return os.path.join(_lock_dir, "%02d.lck" % slot)


def _slot(sid):
    # a hash every worker process computes alike (hash() is salted per process)
    return 1 + zlib.crc32(sid.encode("ascii")) % (LOCK_SLOTS - 1)


class _FileLock:
    """An exclusive flock on one slot's lock file, held until release()."""

    def __init__(self, slot):
        self._fd = os.open(_lock_path(slot), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(self._fd)
            raise

    def release(self):
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)        # closing the file drops its flock

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()


# ------------------------------------------------------------------ sessions

class BaseSession(dict):
    """A session's data and its bookkeeping; subclasses store it
    (``do_load``, ``do_save``, ``do_delete``, ``do_cleanup``)."""

    _held = None                # the _FileLock while locked

    def __init__(self, req, sid=None, secret=None, lock=1, timeout=0):
        dict.__init__(self)
        self._req, self._sid, self._secret = req, sid, secret
        self._lock = lock
        self._new = 1
        self._created = 0
        self._accessed = 0
        self._timeout = 0
        self._invalid = 0

        if not self._sid:
            if secret:
                found = Cookie.get_cookie(req, self._cookie_name(), Class=Cookie.SignedCookie,
                                          secret=secret, mismatch=Cookie.Cookie.IGNORE)
            else:
                found = Cookie.get_cookie(req, self._cookie_name())
            if found:
                self._sid = found.value
        if self._sid and not _check_sid(self._sid):
            if sid:
                raise ValueError("Invalid Session ID: sid=%s" % sid)
            self._sid = None     # a forged or stale cookie: a new session

        self.init_lock()
        if self._sid:
            self.lock()
            if self.load():
                self._new = 0
        if self._new:
            if self._sid:
                self.unlock()
            self._sid = _new_sid()
            self.lock()
            Cookie.add_cookie(req, self.make_cookie())
            self._created = time.time()
            self._timeout = timeout or DFT_TIMEOUT
        self._accessed = time.time()
        if random.randint(1, CLEANUP_CHANCE) == 1:
            self.cleanup()

    def _cookie_name(self):
        return _option(self._req.get_options(), "mod_python.session.cookie_name",
                       "session_cookie_name", COOKIE_NAME)

    def make_cookie(self):
        """The session's cookie: its path is the directory of the handler
        directive below the DocumentRoot, "/" when that is not a prefix
        of the URI (a <Location>, or a directory outside the root)."""
        opts = self._req.get_options()
        if self._secret:
            c = Cookie.SignedCookie(self._cookie_name(), self._sid, secret=self._secret)
        else:
            c = Cookie.Cookie(self._cookie_name(), self._sid)
        if "mod_python.session.application_domain" in opts:
            c.domain = opts["mod_python.session.application_domain"]
        path = _option(opts, "mod_python.session.application_path", "ApplicationPath")
        if path is None:
            hlist = self._req.hlist
            directory = hlist.directory if hlist is not None else None
            if directory:
                # both as mod_python sees them: the directory with its
                # trailing "/", the root without one
                if not directory.endswith("/"):
                    directory += "/"
                root = self._req.document_root().rstrip("/")
                if directory.startswith(root + "/"):
                    path = directory[len(root):]
            if not path or not self._req.uri.startswith(path):
                path = "/"
        c.path = path
        return c

    def invalidate(self):
        """Delete the session and send its cookie expired."""
        c = self.make_cookie()
        c.expires = 0
        Cookie.add_cookie(self._req, c)
        self.delete()
        self._invalid = 1

    def load(self):
        data = self.do_load()
        if data is None:
            return 0
        if time.time() - data["_accessed"] > data["_timeout"]:
            return 0            # expired: the caller makes a new session
        self._created = data["_created"]
        self._accessed = data["_accessed"]
        self._timeout = data["_timeout"]
        self.update(data["_data"])
        return 1

    def save(self):
        if not self._invalid:
            self.do_save({"_data": self.copy(), "_created": self._created,
                          "_accessed": self._accessed, "_timeout": self._timeout})

    def delete(self):
        self.do_delete()
        self.clear()

    def init_lock(self):
        pass

    def lock(self):
        if self._lock and self._held is None:
            self._held = _FileLock(_slot(self._sid))
            self._req.register_cleanup(_unlock_session, self)

    def unlock(self):
        held, self._held = self._held, None
        if held is not None:
            held.release()

    def is_new(self):
        return bool(self._new)

    def id(self):
        return self._sid

    def created(self):
        return self._created

    def last_accessed(self):
        return self._accessed

    def timeout(self):
        return self._timeout

    def set_timeout(self, secs):
        self._timeout = secs

    def cleanup(self):
        self.do_cleanup()

    def __del__(self):
        self.unlock()

    # storage, for subclasses
    def do_load(self):
        raise NotImplementedError

    def do_save(self, data):
        raise NotImplementedError

    def do_delete(self):
        raise NotImplementedError

    def do_cleanup(self):
        pass


def _unlock_session(sess):
    sess.unlock()


def _expired(data, now, grace=0):
    try:
        return now - data["_accessed"] > data["_timeout"] + grace
    except (KeyError, TypeError):
        return True


# ------------------------------------------------------------------ memory

class MemorySession(BaseSession):
    """Sessions in a dict of this process: fast, not shared between worker
    processes (use it with --workers 1)."""

    sdict = {}

    def __init__(self, req, sid=0, secret=None, timeout=0, lock=1):
        BaseSession.__init__(self, req, sid=sid, secret=secret, timeout=timeout, lock=lock)

    def do_load(self):
        return MemorySession.sdict.get(self._sid)

    def do_save(self, data):
        MemorySession.sdict[self._sid] = data

    def do_delete(self):
        MemorySession.sdict.pop(self._sid, None)

    def do_cleanup(self):
        self._req.register_cleanup(_memory_cleanup, MemorySession.sdict)
        self._req.log_error("MemorySession: registered session cleanup.", apache.APLOG_NOTICE)


def _memory_cleanup(sdict):
    now = time.time()
    for sid in list(sdict):
        data = sdict.get(sid)
        if data is not None and _expired(data, now):
            sdict.pop(sid, None)


# ------------------------------------------------------------------ dbm

class DbmSession(BaseSession):
    """Sessions in one dbm file (default ``<tempdir>/mp_sess.dbm``), each
    access under the store's lock."""

    def __init__(self, req, dbm=None, sid=0, secret=None, dbmtype=dbm, timeout=0, lock=1):
        if not dbm:
            opts = req.get_options()
            dbm = _option(opts, "mod_python.dbm_session.database_filename", "session_dbm")
            if dbm is None:
                directory = _option(opts, "mod_python.dbm_session.database_directory",
                                    "mod_python.session.database_directory")
                if directory is None:
                    directory = opts.get("session_directory", tempdir)
                dbm = os.path.join(directory, "mp_sess.dbm")
        self._dbmfile = dbm
        self._dbmtype = dbmtype
        BaseSession.__init__(self, req, sid=sid, secret=secret, timeout=timeout, lock=lock)

    def _open(self):
        return self._dbmtype.open(self._dbmfile, "c", stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP)

    def do_load(self):
        with _FileLock(0):
            db = self._open()
            try:
                key = self._sid.encode("ascii")
                return pickle.loads(db[key]) if key in db else None
            finally:
                db.close()

    def do_save(self, data):
        with _FileLock(0):
            db = self._open()
            try:
                db[self._sid.encode("ascii")] = pickle.dumps(data)
            finally:
                db.close()

    def do_delete(self):
        with _FileLock(0):
            db = self._open()
            try:
                try:
                    del db[self._sid.encode("ascii")]
                except KeyError:
                    pass
            finally:
                db.close()

    def do_cleanup(self):
        self._req.register_cleanup(_dbm_cleanup, (self._dbmfile, self._dbmtype))
        self._req.log_error("DbmSession: registered database cleanup.", apache.APLOG_NOTICE)


def _dbm_cleanup(data):
    filename, dbmtype = data
    now = time.time()
    with _FileLock(0):
        db = dbmtype.open(filename, "c")
        try:
            old = []
            for key in db.keys():
                try:
                    if _expired(pickle.loads(db[key]), now):
                        old.append(key)
                except Exception:
                    old.append(key)     # unreadable: nothing can load it
            for key in old:
                try:
                    del db[key]
                except KeyError:
                    pass
        finally:
            db.close()


# ------------------------------------------------------------------ files

DFT_FAST_CLEANUP = True
DFT_VERIFY_CLEANUP = True
DFT_GRACE_PERIOD = 240
DFT_CLEANUP_TIME_LIMIT = 2


class FileSession(BaseSession):
    """A file per session, ``<tempdir>/mp_sess/<first 2 hex>/<sid>``, laid
    out as mod_python's."""

    def __init__(self, req, sid=0, secret=None, timeout=0, lock=1,
                 fast_cleanup=-1, verify_cleanup=-1):
        opts = req.get_options()
        if fast_cleanup == -1:
            fast_cleanup = true_or_false(_option(opts, "mod_python.file_session.enable_fast_cleanup",
                                                 "session_fast_cleanup", DFT_FAST_CLEANUP))
        if verify_cleanup == -1:
            verify_cleanup = true_or_false(_option(opts, "mod_python.file_session.verify_session_timeout",
                                                   "session_verify_cleanup", DFT_VERIFY_CLEANUP))
        self._fast_cleanup = fast_cleanup
        self._verify_cleanup = verify_cleanup
        self._grace_period = int(_option(opts, "mod_python.file_session.cleanup_grace_period",
                                         "session_grace_period", DFT_GRACE_PERIOD))
        self._cleanup_time_limit = int(_option(opts, "mod_python.file_session.cleanup_time_limit",
                                               "session_cleanup_time_limit", DFT_CLEANUP_TIME_LIMIT))
        directory = _option(opts, "mod_python.file_session.database_directory",
                            "mod_python.session.database_directory")
        if directory is None:
            directory = opts.get("session_directory", tempdir)
        self._sessdir = os.path.join(directory, "mp_sess")
        self._cleanup_timeout = timeout or DFT_TIMEOUT
        BaseSession.__init__(self, req, sid=sid, secret=secret, timeout=timeout, lock=lock)

    def _filename(self):
        return os.path.join(self._sessdir, self._sid[:2], self._sid)

    def _store_lock(self):
        # the session's own lock covers its file; without session locking
        # each access takes that slot for itself
        return _FileLock(_slot(self._sid)) if self._held is None else _NoLock()

    def do_load(self):
        with self._store_lock():
            filename = self._filename()
            try:
                with open(filename, "rb") as f:
                    data = pickle.load(f)
            except FileNotFoundError:
                return None
            except Exception as exc:
                self._req.log_error("Error while loading a session : %r" % (exc,))
                return None
            if not _expired(data, time.time()):
                os.utime(filename, None)    # the fast cleanup reads the mtime
            return data

    def do_save(self, data):
        with self._store_lock():
            filename = self._filename()
            try:
                os.makedirs(os.path.dirname(filename), mode=0o750, exist_ok=True)
                tmp = "%s.%d.tmp" % (filename, os.getpid())
                with open(tmp, "wb") as f:
                    pickle.dump(data, f, 2)
                os.replace(tmp, filename)   # a reader never sees half a file
            except Exception as exc:
                self._req.log_error("Error while saving a session : %r" % (exc,))

    def do_delete(self):
        with self._store_lock():
            try:
                os.unlink(self._filename())
            except OSError:
                pass

    def do_cleanup(self):
        self._req.register_cleanup(filesession_cleanup, {
            "req": self._req, "sessdir": self._sessdir,
            "fast_cleanup": self._fast_cleanup, "verify_cleanup": self._verify_cleanup,
            "timeout": self._cleanup_timeout, "grace_period": self._grace_period,
            "cleanup_time_limit": self._cleanup_time_limit})
        self._req.log_error("FileSession: registered filesession cleanup.", apache.APLOG_NOTICE)


class _NoLock:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


def filesession_cleanup(data):
    """Delete expired session files, at most ``cleanup_time_limit`` seconds
    per call (0: no limit); one process at a time (an exclusive lock file)."""
    sessdir = data["sessdir"]
    limit = data["cleanup_time_limit"]
    timeout, grace = data["timeout"], data["grace_period"]
    fast, verify = data["fast_cleanup"], data["verify_cleanup"] or not data["fast_cleanup"]
    lockfile = os.path.join(sessdir, ".mp_sess.lck")
    try:
        fd = os.open(lockfile, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o660)
    except FileExistsError:
        try:
            if os.stat(lockfile).st_mtime < time.time() - 3600:
                os.remove(lockfile)     # left by a process that died
        except OSError:
            pass
        return
    except OSError:
        return                          # no session directory yet
    start = time.time()
    try:
        for i in range(256):
            path = os.path.join(sessdir, "%02x" % i)
            try:
                names = os.listdir(path)
            except OSError:
                continue
            for name in names:
                filename = os.path.join(path, name)
                try:
                    now = time.time()
                    if fast and now - os.stat(filename).st_mtime < timeout + grace:
                        continue
                    if verify:
                        with open(filename, "rb") as f:
                            if not _expired(pickle.load(f), now, grace):
                                continue
                    os.unlink(filename)
                except Exception:
                    continue
            if limit > 0 and time.time() - start > limit:
                break
    finally:
        os.close(fd)
        try:
            os.unlink(lockfile)
        except OSError:
            pass


# ------------------------------------------------------------------ factory

def Session(req, sid=0, secret=None, timeout=0, lock=1):
    """A session of the configured type (``PythonOption
    mod_python.session.session_type``); else MemorySession for a single
    worker process, DbmSession for several or an unknown number."""
    sess_type = _option(req.get_options(), "mod_python.session.session_type", "session")
    if sess_type is None:
        # mod_python's rule: in memory only when one process serves every
        # request (known here only when fastdispatch's server runs them)
        single = apache.worker_processes == 1
        sess_type = "MemorySession" if single else "DbmSession"
    classes = {"FileSession": FileSession, "DbmSession": DbmSession,
               "MemorySession": MemorySession}
    if sess_type not in classes:
        raise Exception("Unknown session type %s" % sess_type)
    return classes[sess_type](req, sid=sid, secret=secret, timeout=timeout, lock=lock)


def true_or_false(item):
    """A PythonOption's yes/no value as a bool."""
    if isinstance(item, str):
        item = item.lower()
    if item in ("yes", "true", "1", 1, True):
        return True
    if item in ("no", "false", "0", 0, None, False):
        return False
    raise ValueError("not a yes/no value: %r" % (item,))

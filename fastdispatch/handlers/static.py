"""The default handler: files that no handler claims are served as Apache's
core does (MIME type, Last-Modified, ETag, conditional GET, single ranges,
HEAD), never from outside the mapped root."""
import mimetypes
import os
import stat as _stat
import threading
import time

from fastdispatch import _speedups, apache, byterange, errorpages
from fastdispatch.httpdate import parse_http_date

_http_date = _speedups.headers.http_date

def _read_mime_types(paths):
    """Extension -> type from mime.types files, as mod_mime reads its
    TypesConfig: the extension lower-cased, the type as written, a later
    line winning. Python's own table only when no file exists (it knows
    types Apache's file does not)."""
    table = {}
    found = False
    for path in paths:
        try:
            with open(path, encoding="latin-1") as f:
                lines = f.read().splitlines()
        except OSError:
            continue
        found = True
        for line in lines:
            words = line.split("#", 1)[0].split()
            for ext in words[1:]:
                table["." + ext.lower()] = words[0]
    if not found:
        table = dict(mimetypes.MimeTypes().types_map[True])
    return table


_TYPES = _read_mime_types(("/etc/mime.types", "/etc/apache2/mime.types"))


def guess_type(filename, dc=None):
    """Content type as mod_mime: ForceType, AddType by extension, the
    mime.types table, DefaultType; every extension of the name counts, the
    last known one wins."""
    if dc is not None and dc.force_type:
        return dc.force_type
    # (leading dots belong to the name: ".html" is a hidden file, no type)
    base = (filename or "").rpartition("/")[2].lstrip(".")
    cache = dc.type_cache if dc is not None else None
    if cache is not None:
        dot = base.find(".")
        suffix = base[dot:] if dot >= 0 else ""
        hit = cache.get(suffix, _MISSING)
        if hit is not _MISSING:
            return hit
        found = _guess(base, dc)
        if len(cache) < 1024:
            cache[suffix] = found
        return found
    return _guess(base, dc)


_MISSING = object()


def _guess(base, dc):
    found = charset = None
    for part in base.split(".")[1:]:
        ext = "." + part.lower()
        t = dc.add_type.get(ext) if dc is not None else None
        if t is None:
            t = _TYPES.get(ext)
        if t:
            found = t
        if dc is not None and dc.add_charset:
            charset = dc.add_charset.get(ext, charset)
    if found:
        if charset and "charset=" not in found.lower():
            found = "%s; charset=%s" % (found, charset)     # (AddCharset)
        return found
    return dc.default_type if dc is not None else None


def encoding_and_languages(filename, dc):
    """mod_mime's content encoding (AddEncoding: one per extension, joined
    with ", ") and languages (AddLanguage, in the name's order; else
    DefaultLanguage) for a file name: (None or str, tuple)."""
    base = (filename or "").rpartition("/")[2].lstrip(".")
    encodings, languages = [], []
    for part in base.split(".")[1:]:
        ext = "." + part.lower()
        enc = dc.add_encoding.get(ext)
        if enc:
            encodings.append(enc)
        lang = dc.add_language.get(ext)
        if lang:
            languages.append(lang)
    if not languages and dc.default_language:
        languages.append(dc.default_language)
    return (", ".join(encodings) or None), tuple(languages)


def default_type(filename, path_info, dc):
    """The type_checker default (mod_mime) for a mapped file name."""
    if filename and not path_info and is_dir(filename):
        return "httpd/unix-directory"
    return guess_type(filename, dc)


_dir_cache = {}          # path -> (monotonic expiry, is a directory)
_DIR_CACHE_TTL = 1.0
_DIR_CACHE_MAX = 4096


def is_dir(path):
    """Whether ``path`` is a directory; asked twice per request (type check,
    mod_dir), so answers are kept for a second."""
    now = time.monotonic()
    hit = _dir_cache.get(path)
    if hit is not None and hit[0] > now:
        return hit[1]
    try:
        answer = _stat.S_ISDIR(os.stat(path).st_mode)
    except (OSError, ValueError):
        answer = False
    if len(_dir_cache) >= _DIR_CACHE_MAX:
        _dir_cache.clear()
    _dir_cache[path] = (now + _DIR_CACHE_TTL, answer)
    return answer


# ---------------------------------------------------------------- symlinks
#
# Apache follows symbolic links by default (Options FollowSymLinks);
# fastdispatch follows only those that stay inside the root they were reached
# from (DocumentRoot or an Alias target). ``link_target`` tells the
# dispatcher, per mapped file name, whether its walk crossed a link; answers
# are kept for a second (as map_to_storage's), so a request pays one dict
# look-up, and a realpath() only on a miss.

_real_roots = {}         # root -> realpath(root)
_link_cache = {}         # (root, filename) -> (monotonic expiry, verdict)
_LINK_CACHE_TTL = 1.0
_LINK_CACHE_MAX = 4096


def link_target(root, filename):
    """None when ``filename`` (mapped under ``root``) is where it says, no
    symbolic link below the root being crossed; else, with the links
    resolved, the same file named under ``root`` (a link that stays inside
    it), or False (a link that leads out of it, or a loop)."""
    key = (root, filename)
    now = time.monotonic()
    hit = _link_cache.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    verdict = _link_verdict(root, filename)
    if len(_link_cache) >= _LINK_CACHE_MAX:
        _link_cache.clear()
    _link_cache[key] = (now + _LINK_CACHE_TTL, verdict)
    return verdict


def link_owner_matches(filename):
    """SymLinksIfOwnerMatch: every link on the way to ``filename`` is owned
    by the user who owns what it points to."""
    path = ""
    for part in filename.strip("/").split("/"):
        path += "/" + part
        try:
            st = os.lstat(path)
            if _stat.S_ISLNK(st.st_mode) and st.st_uid != os.stat(path).st_uid:
                return False
        except OSError:
            return False
    return True


def _link_verdict(root, filename):
    base = root.rstrip("/") or "/"
    real_root = _real_roots.get(base)
    if real_root is None:
        real_root = _real_roots[base] = os.path.realpath(base)
    name = filename.rstrip("/") or "/"
    if name == base:
        rel = ""
    elif base == "/":
        rel = name
    elif name.startswith(base + "/"):
        rel = name[len(base):]
    else:
        return False
    try:
        real = os.path.realpath(name, strict=False)
    except (OSError, ValueError):
        return False
    if real == (real_root + rel if real_root != "/" else rel or "/"):
        return None
    if real == real_root:
        return base
    prefix = real_root.rstrip("/") + "/"
    if real.startswith(prefix):
        return (base if base != "/" else "") + "/" + real[len(prefix):]
    return False


# ---------------------------------------------------------------- handler source

_CODE_SUFFIXES = (".py", ".pyc", ".pyo", ".pyw")


def is_code(filename, dc):
    """Is ``filename`` Python code the static handler must not serve?

    Compiled bytecode (``.pyc``/``.pyo``, anything in ``__pycache__``) never
    is content. A ``.py`` file is code where Python handlers are configured
    (any Python*Handler applies there: its modules live beside it), in a
    PythonPath directory, or when a loaded module was imported from it."""
    if "/__pycache__/" in filename:
        return True
    base = filename.rpartition("/")[2].lower()
    if not base.endswith(_CODE_SUFFIXES):
        return False
    if not base.endswith((".py", ".pyw")):
        return True
    if dc is not None:
        if any(dc.handlers.values()):
            return True
        directory = os.path.dirname(filename)
        if dc.python_path and any(os.path.normpath(p) == directory
                                  for p in dc.python_path if isinstance(p, str)):
            return True
    return _is_loaded_module(filename)


def _refused_code(filename, dc, no_link=False):
    """is_code() for the file as named, and for its target when the name is
    a symbolic link (a link named page.txt may lead to a module). ``no_link``:
    the dispatcher's link check found no link below the root on this path."""
    if filename.endswith(_CODE_SUFFIXES) or "/__pycache__/" in filename:
        if is_code(filename, dc):
            return True
    if no_link:
        return False
    try:
        if not _stat.S_ISLNK(os.lstat(filename).st_mode):
            return False
        real = os.path.realpath(filename)
    except (OSError, ValueError):
        return True
    return is_code(real, dc)


def _is_loaded_module(filename):
    import sys
    try:
        real = os.path.realpath(filename)
    except (OSError, ValueError):
        return False
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if path and (path == filename or os.path.realpath(path) == real):
            return True
    return False


def etag_for(st, request_time=None):
    """Apache 2.4's default ETag (FileETag MTime Size): size and mtime in
    microseconds, hex; weak when the file changed within the last second."""
    mtime_us = st.st_mtime_ns // 1000     # (not st_mtime * 1e6: a float rounds)
    tag = '"%x-%x"' % (st.st_size, mtime_us)
    if request_time is not None and request_time - st.st_mtime <= 1:
        tag = "W/" + tag
    return tag


def _tags(value):
    return [t.strip() for t in value.split(",") if t.strip()]


def meets_conditions(req, mtime, etag):
    """Apache 2.4's ap_meets_conditions for a response whose validators are
    ``mtime`` (seconds; 0 when unknown: now) and ``etag`` (None when none):
    OK, HTTP_PRECONDITION_FAILED, or HTTP_NOT_MODIFIED.

    Its order, which is not RFC 9110's: If-Match, then If-Unmodified-Since
    (each refuses with 412 whatever the other said; an If-Unmodified-Since
    that passes rules out a 304); then a GET or HEAD gets 304 only when
    every one of If-None-Match and If-Modified-Since sent says the copy is
    current (a date Apache cannot read, or one in the future, says it is
    not); another method whose If-None-Match matches gets 412. A Range
    with an If-Range is never answered 304 (as Apache 2.4.71 answers)."""
    mtime = int(mtime or time.time())
    headers = req.headers_in
    im = headers.get("If-Match")
    if im is not None and im[:1] != "*" and (etag is None or not _strong_match(im, etag)):
        return apache.HTTP_PRECONDITION_FAILED
    not_modified = None         # (unset: no header spoke)
    ius = headers.get("If-Unmodified-Since")
    if ius is not None:
        since = parse_http_date(ius)
        # (a date at or before the epoch is APR's "bad date", which passes)
        if since is not None and since > 0 and mtime > since:
            return apache.HTTP_PRECONDITION_FAILED
        not_modified = False    # (one that passes rules out a 304)
    get = req.method in ("GET", "HEAD")
    inm = headers.get("If-None-Match")
    if inm is not None:
        if inm[:1] == "*":
            matches = True
        elif etag is None:
            matches = False
        elif get and "Range" not in headers:
            matches = _weak_match(inm, etag)    # (a GET may compare weakly)
        else:
            matches = _strong_match(inm, etag)
        if not matches:
            not_modified = False
        elif not get:
            return apache.HTTP_PRECONDITION_FAILED
        elif not_modified is None:
            not_modified = True
    ims = headers.get("If-Modified-Since")
    if ims is not None and get:
        since = parse_http_date(ims)
        if since is not None and mtime <= since <= req.request_time:
            if not_modified is None:
                not_modified = True
        else:
            not_modified = False
    if not_modified and not ("If-Range" in headers and "Range" in headers):
        return apache.HTTP_NOT_MODIFIED
    return apache.OK


def _strong_match(value, etag):
    """ap_find_etag_strong: a weak tag never matches."""
    return not etag.startswith("W/") and etag in _tags(value)


def _weak_match(value, etag):
    """ap_find_etag_weak: tags compared without their W/."""
    ours = etag[2:] if etag.startswith("W/") else etag
    return any((t[2:] if t.startswith("W/") else t) == ours for t in _tags(value))


UNSIZED_RANGES = 32     # more parts than this go out without a Content-Length


def _send_ranges(req, filename, ranges, size, ctype):
    """206 with one range, or multipart/byteranges with several (as Apache)."""
    req.status = apache.HTTP_PARTIAL_CONTENT
    if len(ranges) == 1:
        start, end = ranges[0]
        # (Apache's default handler sets the length, then its byterange
        # filter adds Content-Range: the length comes first)
        req.set_content_length(end - start + 1)
        req.headers_out["Content-Range"] = "bytes %d-%d/%d" % (start, end, size)
        if not req.header_only:
            count = end - start + 1
            with open(filename, "rb") as f:
                if count < SENDFILE_MIN or not req._send_file(f.fileno(), start, count):
                    req._write_file(f, start, count)
        return
    parts = []
    with open(filename, "rb") as f:
        for start, end in ranges:
            f.seek(start)
            parts.append(byterange.part_head(ctype, start, end, size))
            parts.append(f.read(end - start + 1))
    parts.append(byterange.END)
    body = b"".join(parts)
    req.content_type = byterange.MULTIPART_TYPE
    if len(ranges) > UNSIZED_RANGES:
        # (Apache sends more than 32 parts without a length: chunked, or
        # close-delimited on a connection that is not kept)
        if not req.header_only:
            req.write(body)
        return
    req.set_content_length(len(body))
    if not req.header_only:
        req.write(body, 0)


def serve(req, dc):
    """Serve req.filename; returns an apache code. The order is that of
    Apache's default handler: the request body is read and dropped first
    (which sends a 100 Continue the client waits for), then any method but
    GET, HEAD and POST is answered whether or not the file exists."""
    if (req._clength_in or req._chunked_in) and 200 <= req.status < 300:
        # (not for an error's page, an ErrorDocument: Apache reads a body
        # only for a request that is going well)
        status = req._drop_body()
        if status is not None:
            # over LimitRequestBody, malformed, stalled: Apache's page after
            # a failed body read has no length (the close ends it); one the
            # client cut short (its side ended) gets an ordinary 400 page
            if not getattr(req._body, "eof", False):
                req._error_response = True
            return status
    if req.method not in ("GET", "HEAD", "POST"):
        # the default handler allows GET, OPTIONS and POST besides what a
        # handler before it allowed (ap_allow_standard_methods, MERGE_ALLOW)
        req.allow_methods(["GET", "HEAD", "POST", "OPTIONS"])
        allow = errorpages.allow_header(req.allowed)
        if req.method == "OPTIONS":
            req.headers_out["Allow"] = allow
            req.set_content_length(0)
            return apache.OK
        req.err_headers_out["Allow"] = allow
        if req.method_number == apache.M_INVALID:
            return apache.HTTP_NOT_IMPLEMENTED      # a method Apache does not know
        return apache.HTTP_METHOD_NOT_ALLOWED
    filename = req.filename
    if not filename:
        return apache.HTTP_NOT_FOUND
    hit = _contents.get(filename)
    if hit is not None:
        # a small file served before: one stat says whether it is unchanged
        try:
            st = os.stat(filename)
        except (OSError, ValueError):
            st = None
        if st is not None and _identity(st) == hit[0]:
            return _serve_file(req, dc, filename, st, -1, hit[1])
        _forget(filename)
    # one open + fstat answers existence, type and permission at once (and
    # the bytes served are those of the file that was looked at)
    try:
        fd = os.open(filename, _OPEN_FLAGS)
    except PermissionError:
        return apache.HTTP_NOT_FOUND if _missing(filename) else apache.HTTP_FORBIDDEN
    except (OSError, ValueError):
        return apache.HTTP_NOT_FOUND
    try:
        return _serve_open(req, dc, filename, fd)
    finally:
        os.close(fd)


def _missing(filename):
    try:
        os.stat(filename)
    except (OSError, ValueError):
        return True
    return False


_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
WHOLE_READ_MAX = 262144     # files up to this size are read with one read()


def _serve_open(req, dc, filename, fd):
    return _serve_file(req, dc, filename, os.fstat(fd), fd, None)


def _serve_file(req, dc, filename, st, fd, data):
    """Serve the file ``st`` describes: its bytes are ``data`` (remembered
    earlier) or are read from the open descriptor ``fd``."""
    if _stat.S_ISDIR(st.st_mode):
        return apache.HTTP_NOT_FOUND  # no index file and no listings (no mod_autoindex)
    if not _stat.S_ISREG(st.st_mode):
        return apache.HTTP_FORBIDDEN
    if req.path_info and dc.accept_path_info != "on":
        return apache.HTTP_NOT_FOUND  # AcceptPathInfo Default (or Off): not for files
    if _refused_code(filename, dc, getattr(req, "_link_checked", None) == filename):
        req.log_error("client denied by server configuration: %s (Python code is "
                      "never served as a file)" % filename, apache.APLOG_ERR)
        return apache.HTTP_FORBIDDEN
    # GET, HEAD, and POST (Apache's default handler serves a file to a POST)
    req._stat = st
    req.mtime = st.st_mtime
    etag = etag_for(st, req.request_time)
    out = req.headers_out
    out["Last-Modified"] = _http_date(st.st_mtime)
    out["ETag"] = etag
    out["Accept-Ranges"] = "bytes"
    verdict = meets_conditions(req, st.st_mtime, etag)
    if verdict == apache.HTTP_PRECONDITION_FAILED:
        req.status = verdict            # (the default handler's 412: no page)
        # (a HEAD keeps the file's length, which Apache set before the check;
        # a GET's is recounted from the empty body)
        req.set_content_length(st.st_size if req.header_only else 0)
        return apache.OK
    if verdict == apache.HTTP_NOT_MODIFIED:
        req.status = verdict
        return apache.OK
    size = st.st_size
    ranges = None
    # (with output filters a Range would apply to the filtered body, which
    # is not known yet: the whole body is sent)
    if "Range" in req.headers_in and req._filters is None:
        # (a POST too: Apache's byterange filter does not look at the method)
        ranges = byterange.parse_ranges(req.headers_in.get("Range"), size)
        if ranges is not None and not byterange.if_range_holds(
                req.headers_in.get("If-Range"), etag, out["Last-Modified"]):
            ranges = None
    if ranges == "unsatisfiable":
        req._unsized_error = True       # (its page goes without a length)
        return apache.HTTP_RANGE_NOT_SATISFIABLE
    if ranges:
        _send_ranges(req, filename, ranges, size, req.content_type)
        return apache.OK
    req.set_content_length(size)
    if req.header_only and req._filters is None:
        return apache.OK        # (a filter sees the body, a HEAD too: it makes the length)
    if size >= SENDFILE_MIN and req._send_file(fd, 0, size):
        return apache.OK        # (such a file is never remembered: fd is open)
    if size <= WHOLE_READ_MAX:
        if data is None:
            data = _read_exactly(fd, size)
            if data is not None and size <= REMEMBER_MAX and \
                    st.st_ctime_ns < time.time_ns() - SETTLE_NS:
                _remember(filename, st, data)
        if data is not None:
            req.write(data, 0)
            return apache.OK
    # not req.sendfile(), which flushes as mod_python's does: Apache's own
    # handler passes the file and the end together, so a filter sees both
    # (up to 256 KiB here: a larger file is flushed in pieces of that size)
    req._write_file(open(filename, "rb"), 0, size)
    return apache.OK


# Small files' bytes are remembered, keyed by name and checked against a
# stat on every use (as Apache stats every request): the inode, size,
# mtime and ctime must all be the same, and any write, chmod, chown or
# replacement sets the ctime to the current time. A hit costs one stat
# instead of open, fstat, read and close.
#
# The kernel's clock for file times is coarse (a few ms): two writes of the
# same size within one tick leave the same times. So a file changed less
# than SETTLE_NS ago is not remembered ("racily clean", as git calls it):
# any later change then gets a later ctime than the remembered one.
REMEMBER_MAX = 65536            # bytes: larger files are read each time
# bodies from this size up go out with os.sendfile (when the transport can),
# after the head: not worth a second system call for what is remembered
SENDFILE_MIN = REMEMBER_MAX + 1
REMEMBER_TOTAL = 16 << 20       # bytes held at most, over all files
SETTLE_NS = 2_000_000_000
_contents = {}                  # filename -> (identity, bytes)
_contents_lock = threading.Lock()
_contents_size = 0


def _identity(st):
    return (st.st_ino, st.st_dev, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _remember(filename, st, data):
    global _contents_size
    with _contents_lock:
        if _contents_size + len(data) > REMEMBER_TOTAL:
            _contents.clear()
            _contents_size = 0
        old = _contents.get(filename)
        if old is not None:
            _contents_size -= len(old[1])
        _contents[filename] = (_identity(st), data)
        _contents_size += len(data)


def _forget(filename):
    global _contents_size
    with _contents_lock:
        old = _contents.pop(filename, None)
        if old is not None:
            _contents_size -= len(old[1])


def _read_exactly(fd, size):
    """The file's ``size`` bytes from an open descriptor, or None when it
    changed size meanwhile (the caller then streams it from its name)."""
    data = os.read(fd, size) if size else b""
    while len(data) < size:
        more = os.read(fd, size - len(data))
        if not more:
            return None
        data += more
    return data

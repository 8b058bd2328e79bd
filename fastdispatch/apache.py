"""fastdispatch's ``mod_python.apache``: return codes, SERVER_RETURN, table,
log_error, import_module and the other module-level names handlers use.
"""
import logging

from fastdispatch import _speedups

# Return codes of a handler (mod_python / Apache).
OK = 0
DECLINED = -1
DONE = -2
SUSPENDED = -3
PROG_TRACEBACK = "PROG_TRACEBACK"

HTTP_CONTINUE = 100
HTTP_SWITCHING_PROTOCOLS = 101
HTTP_PROCESSING = 102
HTTP_OK = 200
HTTP_CREATED = 201
HTTP_ACCEPTED = 202
HTTP_NON_AUTHORITATIVE = 203
HTTP_NO_CONTENT = 204
HTTP_RESET_CONTENT = 205
HTTP_PARTIAL_CONTENT = 206
HTTP_MULTI_STATUS = 207
HTTP_MULTIPLE_CHOICES = 300
HTTP_MOVED_PERMANENTLY = 301
HTTP_MOVED_TEMPORARILY = 302
HTTP_SEE_OTHER = 303
HTTP_NOT_MODIFIED = 304
HTTP_USE_PROXY = 305
HTTP_TEMPORARY_REDIRECT = 307
HTTP_BAD_REQUEST = 400
HTTP_UNAUTHORIZED = 401
HTTP_PAYMENT_REQUIRED = 402
HTTP_FORBIDDEN = 403
HTTP_NOT_FOUND = 404
HTTP_METHOD_NOT_ALLOWED = 405
HTTP_NOT_ACCEPTABLE = 406
HTTP_PROXY_AUTHENTICATION_REQUIRED = 407
HTTP_REQUEST_TIME_OUT = 408
HTTP_CONFLICT = 409
HTTP_GONE = 410
HTTP_LENGTH_REQUIRED = 411
HTTP_PRECONDITION_FAILED = 412
HTTP_REQUEST_ENTITY_TOO_LARGE = 413
HTTP_REQUEST_URI_TOO_LARGE = 414
HTTP_UNSUPPORTED_MEDIA_TYPE = 415
HTTP_RANGE_NOT_SATISFIABLE = 416
HTTP_EXPECTATION_FAILED = 417
HTTP_IM_A_TEAPOT = 418
HTTP_UNPROCESSABLE_ENTITY = 422
HTTP_LOCKED = 423
HTTP_FAILED_DEPENDENCY = 424
HTTP_UPGRADE_REQUIRED = 426
HTTP_INTERNAL_SERVER_ERROR = 500
HTTP_NOT_IMPLEMENTED = 501
HTTP_BAD_GATEWAY = 502
HTTP_SERVICE_UNAVAILABLE = 503
HTTP_GATEWAY_TIME_OUT = 504
HTTP_VERSION_NOT_SUPPORTED = 505
HTTP_VARIANT_ALSO_VARIES = 506
HTTP_INSUFFICIENT_STORAGE = 507
HTTP_NOT_EXTENDED = 510

# Log levels (values as Apache's APLOG_*).
APLOG_EMERG = 0
APLOG_ALERT = 1
APLOG_CRIT = 2
APLOG_ERR = 3
APLOG_WARNING = 4
APLOG_NOTICE = 5
APLOG_INFO = 6
APLOG_DEBUG = 7
APLOG_NOERRNO = 0
_APLOG_NAMES = {0: "emerg", 1: "alert", 2: "crit", 3: "error", 4: "warn",
                5: "notice", 6: "info", 7: "debug"}
_APLOG_TO_LOGGING = {0: logging.CRITICAL, 1: logging.CRITICAL, 2: logging.CRITICAL,
                     3: logging.ERROR, 4: logging.WARNING, 5: logging.INFO,
                     6: logging.INFO, 7: logging.DEBUG}

# Method numbers (request.method_number, allow_methods()).
METHODS = ("GET", "PUT", "POST", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
           "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK",
           "VERSION-CONTROL", "CHECKOUT", "UNCHECKOUT", "CHECKIN", "UPDATE", "LABEL",
           "REPORT", "MKWORKSPACE", "MKACTIVITY", "BASELINE-CONTROL", "MERGE")
for _i, _m in enumerate(METHODS):
    globals()["M_" + _m.replace("-", "_")] = _i
M_INVALID = len(METHODS)
METHODS_BY_NUMBER = dict(enumerate(METHODS))
del _i, _m

# req.get_remote_host() types.
REMOTE_HOST = 0
REMOTE_NAME = 1
REMOTE_NOLOOKUP = 2
REMOTE_DOUBLE_REV = 3

# mpm_query codes and answers.
AP_MPMQ_NOT_SUPPORTED = 0
AP_MPMQ_STATIC = 1
AP_MPMQ_DYNAMIC = 2
AP_MPMQ_MAX_DAEMON_USED = 1
AP_MPMQ_IS_THREADED = 2
AP_MPMQ_IS_FORKED = 3
AP_MPMQ_HARD_LIMIT_DAEMONS = 4
AP_MPMQ_HARD_LIMIT_THREADS = 5
AP_MPMQ_MAX_THREADS = 6
AP_MPMQ_MIN_SPARE_DAEMONS = 7
AP_MPMQ_MIN_SPARE_THREADS = 8
AP_MPMQ_MAX_SPARE_DAEMONS = 9
AP_MPMQ_MAX_SPARE_THREADS = 10
AP_MPMQ_MAX_REQUESTS_DAEMON = 11
AP_MPMQ_MAX_DAEMONS = 12

# Legacy names of the return codes, as mod_python keeps them.
REQ_PROCEED = OK
REQ_NOACTION = DECLINED
REQ_ABORTED = HTTP_INTERNAL_SERVER_ERROR
REQ_EXIT = "REQ_EXIT"

# Indexes into req.finfo as a tuple (req.finfo[apache.FINFO_SIZE]).
FINFO_MODE = 0
FINFO_INO = 1
FINFO_DEV = 2
FINFO_NLINK = 3
FINFO_UID = 4
FINFO_GID = 5
FINFO_SIZE = 6
FINFO_ATIME = 7
FINFO_MTIME = 8
FINFO_CTIME = 9
FINFO_FNAME = 10
FINFO_NAME = 11
FINFO_FILETYPE = 12     # (mod_python's tuple stops before it: use finfo.filetype)

# Indexes into req.parsed_uri.
URI_SCHEME = 0
URI_HOSTINFO = 1
URI_USER = 2
URI_PASSWORD = 3
URI_HOSTNAME = 4
URI_PORT = 5
URI_PATH = 6
URI_QUERY = 7
URI_FRAGMENT = 8

# req.proxyreq.
PROXYREQ_NONE = 0
PROXYREQ_PROXY = 1
PROXYREQ_REVERSE = 2
PROXYREQ_RESPONSE = 3

# req.used_path_info.
AP_REQ_ACCEPT_PATH_INFO = 0
AP_REQ_REJECT_PATH_INFO = 1
AP_REQ_DEFAULT_PATH_INFO = 2

# Magic content types.
CGI_MAGIC_TYPE = "application/x-httpd-cgi"
INCLUDES_MAGIC_TYPE = "text/x-server-parsed-html"
INCLUDES_MAGIC_TYPE3 = "text/x-server-parsed-html3"
DIR_MAGIC_TYPE = "httpd/unix-directory"

# req.read_body.
REQUEST_NO_BODY = 0
REQUEST_CHUNKED_ERROR = 1
REQUEST_CHUNKED_DECHUNK = 2

# req.connection.keepalive.
AP_CONN_UNKNOWN = 0
AP_CONN_CLOSE = 1
AP_CONN_KEEPALIVE = 2

# req.finfo.filetype (APR's apr_filetype_e).
APR_NOFILE = 0
APR_REG = 1
APR_DIR = 2
APR_CHR = 3
APR_BLK = 4
APR_PIPE = 5
APR_LNK = 6
APR_SOCK = 7
APR_UNKFILE = 127

# What apache.stat() is asked for (APR's APR_FINFO_* bits; every field is
# filled in whatever is asked).
APR_FINFO_LINK = 0x00000001
APR_FINFO_MTIME = 0x00000010
APR_FINFO_CTIME = 0x00000020
APR_FINFO_ATIME = 0x00000040
APR_FINFO_SIZE = 0x00000100
APR_FINFO_CSIZE = 0x00000200
APR_FINFO_DEV = 0x00001000
APR_FINFO_INODE = 0x00002000
APR_FINFO_NLINK = 0x00004000
APR_FINFO_TYPE = 0x00008000
APR_FINFO_USER = 0x00010000
APR_FINFO_GROUP = 0x00020000
APR_FINFO_UPROT = 0x00100000
APR_FINFO_GPROT = 0x00200000
APR_FINFO_WPROT = 0x00400000
APR_FINFO_ICASE = 0x01000000
APR_FINFO_NAME = 0x02000000
APR_FINFO_MIN = 0x00008170
APR_FINFO_IDENT = 0x00003000
APR_FINFO_OWNER = 0x00030000
APR_FINFO_PROT = 0x00700000
APR_FINFO_NORM = 0x0073B170
APR_FINFO_DIRENT = 0x02000000

# the Apache module ABI mod_python reports (Apache 2.4's)
MODULE_MAGIC_NUMBER_MAJOR = 20120211
MODULE_MAGIC_NUMBER_MINOR = 127

mod_python_version = "3.5.0 (fastdispatch)"
version = mod_python_version
interpreter = "main_interpreter"
main_server = None  # set by the dispatcher to its server object

# The mp_table type: case-insensitive and multi-valued (hot path: _headers).
table = _speedups.headers.Table
make_table = table


class SERVER_RETURN(Exception):
    """Raise with an HTTP status (or OK/DONE/DECLINED) to end a handler, as
    ``raise apache.SERVER_RETURN(apache.HTTP_FORBIDDEN)``."""


_error_logger = logging.getLogger("fastdispatch.error")


def log_error(message, level=APLOG_ERR, server=None):
    """Write ``message`` to the error log at Apache level ``level``, as one
    line: control characters and non-ASCII as escapes ("\\n", "\\xc3"),
    the way Apache writes a module's message; mod_python's lines carry no
    module name ("[:error]")."""
    level = level & 0x0F if isinstance(level, int) else APLOG_ERR
    _error_logger.log(_APLOG_TO_LOGGING.get(level, logging.ERROR), "%s",
                      _escape_log_message(str(message)),
                      extra={"aplevel": _APLOG_NAMES.get(level, "error"),
                             "apache_module": ""})


_LOG_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape_log_message(text):
    if text.isascii() and text.isprintable():
        return text
    out = []
    for ch in text:
        if " " <= ch <= "~":
            out.append(ch)
        elif ch in _LOG_ESCAPES:
            out.append(_LOG_ESCAPES[ch])
        else:
            out.extend("\\x%02x" % b for b in ch.encode("utf-8", "surrogateescape"))
    return "".join(out)


def import_module(module_name, autoreload=None, log=False, path=None):
    """mod_python's importer: import by name or file path, re-importing a
    module whose file changed when ``autoreload`` is true."""
    from fastdispatch import loader
    return loader.import_module(module_name, autoreload=autoreload, log=log, path=path)


def allow_methods(req, *methods):
    """Compatibility form: add methods to ``req.allowed``; ``req.allow_methods``
    is the usual spelling."""
    req.allow_methods(list(methods))


def exists_config_define(name):
    return False


exists_config = exists_config_define


_child_cleanups = []


def register_cleanup(callable_, data=None):
    """Run ``callable_(data)`` when the worker process exits (the last
    registered first)."""
    if not callable(callable_):
        raise ValueError("first argument must be a callable object")
    _child_cleanups.append((callable_, data))


def run_child_cleanups():
    while _child_cleanups:
        fn, data = _child_cleanups.pop()
        try:
            fn(data)
        except Exception:
            _error_logger.exception("child cleanup %r failed", fn)


# processes serving requests, when fastdispatch's own server runs them
# (None: hosted by another server, number unknown)
worker_processes = None


def mpm_query(code):
    """What Apache's event MPM answers, for fastdispatch's server: worker
    processes (one per CPU unless told) with ThreadsPerChild threads."""
    import os
    threads = 64
    if main_server is not None and main_server._dispatcher is not None:
        threads = main_server._dispatcher.config.server.threads_per_child
    if code == AP_MPMQ_IS_THREADED:
        return AP_MPMQ_STATIC
    if code == AP_MPMQ_IS_FORKED:
        return AP_MPMQ_DYNAMIC
    if code in (AP_MPMQ_MAX_DAEMONS, AP_MPMQ_HARD_LIMIT_DAEMONS):
        return worker_processes if worker_processes is not None else (os.cpu_count() or 1)
    if code == AP_MPMQ_MAX_DAEMON_USED:
        return 1
    if code in (AP_MPMQ_MAX_THREADS, AP_MPMQ_HARD_LIMIT_THREADS):
        return threads
    return AP_MPMQ_NOT_SUPPORTED


def stat(fname, wanted=0):
    """An mp_finfo of the file ``fname`` (``fname`` None and filetype 0
    when there is none), as ``req.finfo`` shows one."""
    import os
    from fastdispatch.request import finfo_of
    try:
        return finfo_of(fname, os.stat(fname))
    except (OSError, ValueError, TypeError):
        return finfo_of(None, None)


def config_tree():
    """The server configuration as mod_python lists it: (directive, its
    arguments as one string) pairs, each section as its opening pair and
    then the list of what it holds. A copy: changing it changes nothing.
    (Server settings that shape no request -- Listen, ServerName,
    DocumentRoot... -- are not listed.)"""
    if main_server is None or main_server._dispatcher is None:
        return []
    cfg = main_server._dispatcher.config
    tree = [(d.name, _joined(d.args)) for d in cfg.global_section.directives]
    for section in cfg.sections:
        tag = _SECTION_TAGS.get(section.kind, section.kind)
        pattern = ('~ "%s"' if section.regex and not tag.endswith("Match") else '"%s"') \
            % section.pattern
        tree.append(("<" + tag, pattern + ">"))
        tree.append([(d.name, _joined(d.args)) for d in section.directives])
    return tree


_SECTION_TAGS = {"directory": "Directory", "directorymatch": "DirectoryMatch",
                 "files": "Files", "filesmatch": "FilesMatch",
                 "location": "Location", "locationmatch": "LocationMatch"}


def _joined(args):
    return " ".join('"%s"' % a if (not a or any(c.isspace() for c in a)) else a for a in args)


def server_root():
    import os
    return os.getcwd()


def build_cgi_env(req):
    """The CGI environment of ``req`` as a table (mod_python's own helper)."""
    req.add_cgi_vars()
    env = req.subprocess_env.copy()
    env["SCRIPT_NAME"] = req.uri[:-len(req.path_info)] if req.path_info else req.uri
    env["GATEWAY_INTERFACE"] = "Python-CGI/1.1"
    if "authorization" in req.headers_in:
        env["HTTP_AUTHORIZATION"] = req.headers_in["authorization"]
    return env


def parse_qs(qs, keep_blank_values=0, strict_parsing=0):
    from fastdispatch import util
    return util.parse_qs(qs, keep_blank_values, strict_parsing)


def parse_qsl(qs, keep_blank_values=0, strict_parsing=0):
    from fastdispatch import util
    return util.parse_qsl(qs, keep_blank_values, strict_parsing)

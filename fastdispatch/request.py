"""The mod_python request object, with its connection and server objects.

One Request per HTTP request. Handlers read what the client sent
(``uri``, ``args``, ``headers_in``, ``read()``) and answer through it
(``status``, ``content_type``, ``headers_out``, ``write()``); there is no
response object. The head goes out on the first flush; header changes after
that are ignored, as in mod_python.
"""
import itertools
import os
import stat
import re
import socket
import time

from fastdispatch import _speedups, apache
from fastdispatch.errorpages import DROPS_CONNECTION, KNOWN_STATUSES, reason_phrase
from fastdispatch.errors import ClientGone, ClientReadEOF, ClientTimeout, HTTPError
from fastdispatch.logformat import split_server_name
from fastdispatch.transport import FileRegion

Table = _speedups.headers.Table
_build_head = _speedups.headers.build_response_head
_parse_basic = _speedups.auth.parse_basic
_time = time.time


_LOG_LEVELS = {"emerg": 0, "alert": 1, "crit": 2, "error": 3, "warn": 4, "notice": 5,
               "info": 6, "debug": 7}


class ServerInfo:
    """``req.server``: the (single, virtual-host-less) server."""

    def __init__(self, cfg, dispatcher=None):
        srv = cfg.server
        host, _ = srv.listen[0] if srv.listen else ("127.0.0.1", 80)
        # ServerName "name[:port]": Apache's server_hostname and port (0
        # when it names none)
        name, port = split_server_name(srv.server_name or "", 0)
        self.server_hostname = name or (host if host not in ("0.0.0.0", "::", "")
                                        else "localhost")
        self.port = port
        self.server_admin = srv.server_admin or "[no address given]"
        self.timeout = srv.timeout
        self.restart_time = _time()     # (when this server's config was loaded)
        self.keep_alive_timeout = srv.keep_alive_timeout
        self.keep_alive_max = srv.max_keep_alive_requests
        self.keep_alive = 1 if srv.keep_alive else 0
        self.limit_req_line = srv.limit_request_line
        self.limit_req_fieldsize = srv.limit_request_fieldsize
        self.limit_req_fields = srv.limit_request_fields
        self.error_fname = srv.error_log or None
        self.loglevel = _LOG_LEVELS.get((srv.log_level or "warn").split()[0].lower(),
                                        apache.APLOG_WARNING)   # an APLOG_* number
        self.is_virtual = 0
        self.names = ()
        self.wild_names = ()
        self.defn_name = None       # the main server is not defined by a section
        self.defn_line_number = 0
        self.next = None            # (no virtual hosts)
        self.path = None
        self.pathlen = 0
        self.document_root = cfg.document_root
        self._dispatcher = dispatcher

    def get_config(self):
        return Table()

    def get_options(self):
        return Table()

    def log_error(self, message, level=apache.APLOG_ERR):
        apache.log_error(message, level)

    def register_cleanup(self, request, callable_, data=None):
        apache.register_cleanup(callable_, data)


class Connection:
    """``req.connection``: one per client connection, shared by its requests."""

    local_host = None
    remote_host = None
    remote_logname = None
    aborted = 0
    keepalive = 0
    double_reverse = 0

    def __init__(self, conn, server):
        self.remote_ip = self.client_ip = conn.remote_ip
        self.remote_addr = self.client_addr = (conn.remote_ip, conn.remote_port)
        self.local_ip = conn.local_ip
        self.local_addr = (conn.local_ip, conn.local_port)
        self.id = next(_connection_ids)
        self.base_server = server
        self.notes = Table()
        self._conn = conn
        self._coalesce = getattr(conn, "coalesce", False)

    @property
    def keepalives(self):
        """Requests already served on this connection."""
        return getattr(self._conn, "keepalives", 0)

    def log_error(self, message, level=apache.APLOG_ERR):
        apache.log_error("[client %s:%s] %s" % (self.remote_ip, self.remote_addr[1], message),
                         level)


def _header_fault(value):
    """What keeps a header name or value from going out: None, "type" (no
    ISO-8859-1 str: mod_python refuses it) or "line" (a CR or LF: Apache
    refuses the head)."""
    if value.__class__ is not str:
        return "type"
    if "\r" in value or "\n" in value:
        return "line"
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return "type"
    return None


class HeadRefused(HTTPError):
    """A response head Apache refuses to send (AH02430)."""


_connection_ids = itertools.count(1)


def _connection_for(conn, server):
    mp = getattr(conn, "mp_connection", None)
    if mp is None:
        mp = Connection(conn, server)
        try:
            conn.mp_connection = mp
        except AttributeError:  # a ConnInfo-like object without the slot
            pass
    return mp


def _interpreter_name(req):
    """The name mod_python's select_interp_name gives the request's
    interpreter: PythonInterpreter's, the file's directory under
    PythonInterpPerDirectory, the handler directive's directory under
    PythonInterpPerDirective, else the server's name. (The name only:
    fastdispatch runs every handler in one interpreter.)"""
    dc = req._dir_config
    table = dc.config_table if dc is not None else {}
    name = table.get("PythonInterpreter")
    if name:
        return name
    if table.get("PythonInterpPerDirectory") == "1":
        fn = req.filename
        if not fn:
            return None
        if os.path.isdir(fn):
            fn = fn.rstrip("/") + "/"
        return fn[:fn.rfind("/") + 1]
    if table.get("PythonInterpPerDirective") == "1":
        return (req.hlist.directory or None) if req.hlist is not None else None
    return req.server.server_hostname


class _Lazy:
    """A request attribute made on first read, then kept in the instance.
    A non-data descriptor, so the instance's own value wins from then on
    (and a handler may assign it first). Not ``__getattr__``: a class with
    one loses CPython's fast path for every attribute read."""
    __slots__ = ("make", "name")

    def __init__(self, make):
        self.make = make
        self.name = None

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, req, owner=None):
        if req is None:
            return self
        value = req.__dict__[self.name] = self.make(req)
        return value


class Request:
    """mod_python's request object (see pythonapi.rst, "Request Object")."""

    # Made on first use: most requests never touch these tables, and few
    # handlers read the values derived from the head.
    subprocess_env = _Lazy(lambda req: Table())
    # mod_python's own note, set before any handler runs
    notes = _Lazy(lambda req: Table([("python_init_ran", "1")]))
    hostname = _Lazy(lambda req: _hostname(req.unparsed_uri, req.headers_in.get("Host")))
    useragent_addr = _Lazy(lambda req: req.connection.remote_addr)
    interpreter = _Lazy(lambda req: _interpreter_name(req))

    # Defaults shared by all requests (an instance attribute replaces one
    # when a handler or the pipeline sets it): fewer stores per request.
    # The fields the pipeline reads for every request are set in __init__
    # instead: the compiled build declares them (request.pxd), and there a
    # declared field is a slot of the object, not a class attribute.
    ap_auth_type = None
    used_path_info = 2   # AP_REQ_DEFAULT_PATH_INFO
    mtime = 0.0
    no_local_copy = 0
    allowed = 0
    # Apache's r->read_chunked (set when a handler starts reading a chunked body)
    read_chunked = 0
    _cleanups = ()
    allowed_xmethods = ()
    allowed_methods = ()
    assbackwards = 0
    proxyreq = 0
    read_length = 0
    range = None
    vlist_validator = None
    eos_sent = 0
    read_body = 0        # REQUEST_NO_BODY, as mod_python shows it
    clength = 0

    def __init__(self, head, body, conn, send, dispatcher, uri, args, server):
        self.status = 200
        self.status_line = None
        self.content_type = None
        self._server_type = None    # the content type the server's type check set
        self.handler = None
        self.user = None
        self.filename = None
        self.canonical_filename = None
        self.path_info = ""
        self._stat = None           # os.stat_result of filename, once something stat'ed it
        self._reading = False
        self.no_cache = 0
        # Apache's r->chunked: the response goes out chunked (set with its head)
        self.chunked = 0
        self.phase = None
        self.hlist = None
        self.main = None
        self.prev = None
        self.next = None
        self.bytes_sent = 0
        self._dir_config = None
        self._head_sent = False
        self._chunked = False
        self._buffered = 0
        self._content_length = -1
        self._read_bytes = 0
        # Apache's error path (ap_die) marks the connection closed before the
        # error response: that response is neither chunked nor given a length
        self._error_response = False
        self._unsized_error = False     # (the byterange filter's 416 page: no length)
        self._late_status = None    # an error's status that replaced a finished response
        # the connection ends after this response, unannounced (its head says
        # what the request alone would): Apache's answer to a refusal while
        # the request is being read, in the post-read-request phase
        self._drop_after = False
        self._filters = None        # filters.Chain of the response output, when it has one
        self._filter_ended = False  # a filter closed (sent the end) before the handler did
        self._err_headers = None    # err_headers_out, once something asked for it
        self.content_encoding = None
        self.content_languages = ()

        self._send = send
        self._body = body
        self._dispatcher = dispatcher
        self._buffer = []
        self.uri = uri
        self.server = server
        self._take_head(head, args, conn)

    def _take_head(self, head, args, conn):
        """__init__'s fields that come from the parsed head. (A method of its
        own: compiled, it types ``head`` as the parser's RequestHead and reads
        its fields as struct members, request.pxd.)"""
        self._close = not head.keep_alive

        self.the_request = line = head.request_line
        # (plain_line: the parser saw printable ASCII alone, target included)
        plain = head.plain_line
        if not plain and not line.isascii():
            # mod_python hands request-line text over as UTF-8 (the wire
            # bytes are latin-1 decoded here); not UTF-8 stays as it is,
            # where mod_python raises UnicodeDecodeError on reading it
            self.the_request = _utf8(line)
            if args and not args.isascii():
                wire, args = args, _utf8(args)
                self._args_wire = (args, wire)      # for FieldStorage's parser
        self.method = method = head.method
        try:
            self.method_number = _METHOD_NUMBERS[method]
        except KeyError:
            self.method_number = _M_INVALID
        self.protocol = v = head.version
        # "HTTP/1.2" -> 1002, as Apache's r->proto_num
        try:
            self.proto_num = _PROTO_NUMS[v]
        except KeyError:
            self.proto_num = 1000 * (ord(v[5]) - 48) + ord(v[7]) - 48 if len(v) == 8 else 1001
        self.unparsed_uri = target = head.target
        if not plain and not target.isascii():
            self.unparsed_uri = _utf8(target)
        self.args = args
        headers = head.headers
        # (plain_headers: the parser saw no repeated name and no non-ASCII value)
        self.headers_in = headers_in = Table(
            headers if head.plain_headers else _merge_repeated(headers))
        if target[0] != "/" and "://" in target:
            # absolute-form: the target's authority replaces Host (RFC 9112
            # 3.2.2), lower-cased, as Apache does for its own scheme only
            authority = _target_authority(target)
            if authority:
                headers_in["Host"] = authority
        self.headers_out = Table()
        self.connection = mp = _connection_for(conn, self.server)
        # bytes waiting for one send (see _out), when coalescing
        self._held = [] if mp._coalesce else None
        self.header_only = 1 if method == "HEAD" else 0
        self.request_time = _time()
        self._chunked_in = bool(head.chunked)      # the request body is chunked
        self.expecting_100 = 1 if head.expect_continue else 0
        self._clength_in = head.content_length if head.content_length > 0 else 0
        self.useragent_ip = conn.remote_ip

    @property
    def err_headers_out(self):
        """Headers sent with any response, an error's too; made on first use
        (most responses have none, and the head is built without looking)."""
        table = self._err_headers
        if table is None:
            table = self._err_headers = Table()
        return table

    @err_headers_out.setter
    def err_headers_out(self, table):
        self._err_headers = table

    @property
    def sent_bodyct(self):
        """1 once the response head has gone out (util.redirect checks it)."""
        return 1 if self._head_sent else 0

    @property
    def remaining(self):
        """Bytes of the request body not read yet; 0 until reading starts,
        as Apache's r->remaining (set by ap_setup_client_block)."""
        if not self._reading:
            return 0
        return max(0, self._clength_in - self._read_bytes)

    @property
    def finfo(self):
        """mod_python's mp_finfo of req.filename (a dict whose keys are also
        attributes, shown as mod_python shows it); a handler may assign
        another, from apache.stat(), as Apache's r->finfo."""
        info = vars(self).get("_finfo")
        if info is not None:
            return info
        return finfo_of(self.filename, self._file_stat())

    @finfo.setter
    def finfo(self, value):
        if not isinstance(value, FInfo):
            raise TypeError("finfo must be a finfo object (from apache.stat())")
        self._finfo = value

    def _file_stat(self):
        """The os.stat_result behind req.finfo (None: no such file)."""
        info = vars(self).get("_finfo")
        if info is not None:
            return info.stat_result
        st = self._stat
        if st is None and self.filename:
            try:
                st = self._stat = os.stat(self.filename)
            except (OSError, ValueError):
                st = None
        return st

    @property
    def parsed_uri(self):
        """(scheme, hostinfo, user, password, hostname, port, path, query,
        fragment), as Apache's apr_uri_t."""
        target = self.unparsed_uri
        scheme = hostinfo = hostname = None
        port = None
        if "://" in target and not target.startswith("/"):
            scheme, rest = target.split("://", 1)
            hostinfo = rest.split("/", 1)[0]
            # (apr_uri_parse: any scheme, the name as written)
            if hostinfo.startswith("["):
                hostname = hostinfo[1:hostinfo.find("]")] if "]" in hostinfo else None
            else:
                hostname = hostinfo.rsplit(":", 1)[0] if ":" in hostinfo else hostinfo
            hostname = hostname or None
        host = hostinfo or self.headers_in.get("Host") or ""
        p = host.rsplit(":", 1)[1] if ":" in host and not host.endswith("]") else ""
        if p.isdigit():
            port = int(p)
        # (the path the request named: a DirectoryIndex's fast redirect
        # changes the URI, not this)
        path = vars(self).get("_parsed_path", self.uri)
        return (scheme, hostinfo, None, None, hostname, port, path, self.args, None)

    # ------------------------------------------------------------ config
    def get_config(self):
        t = Table()
        if self._dir_config is not None:
            for k, v in self._dir_config.config_table.items():
                t[k] = v
        return t

    def get_options(self):
        t = Table()
        if self._dir_config is not None:
            for k, v in self._dir_config.options.items():
                t[k] = v
        return t

    def document_root(self):
        return self.server.document_root

    def auth_name(self):
        return self._dir_config.auth_name if self._dir_config else None

    def auth_type(self):
        return self._dir_config.auth_type if self._dir_config else None

    def requires(self):
        if not self._dir_config:
            return ()
        return tuple(" ".join(r) for r in self._dir_config.requires)

    # ------------------------------------------------------------ auth
    @property
    def _content_type_set(self):
        """mod_python's flag: 1 once Python code assigned ``content_type``
        (what the server's type check set does not count)."""
        ctype = self.content_type
        return 1 if ctype is not None and ctype is not self._server_type else 0

    def get_basic_auth_pw(self):
        """The Basic password sent by the client (and sets ``req.user``), or
        None when there are no (valid) Basic credentials. As Apache's
        ap_get_basic_auth_pw: only where ``AuthType Basic`` and an AuthName
        are configured; a request without Basic credentials gets the
        challenge noted in err_headers_out (WWW-Authenticate)."""
        dc = self._dir_config
        auth_type = dc.auth_type if dc is not None else None
        if not auth_type or auth_type.lower() != "basic":
            return None
        if not dc.auth_name:
            self.log_error("need AuthName: %s" % self.uri)
            return None
        auth = self.headers_in.get("Authorization")
        creds = _parse_basic(auth)
        if creds is None:
            if not auth or auth.split(None, 1)[0].lower() != "basic":
                # (no credentials, or another scheme's: ap_note_auth_failure)
                self.err_headers_out["WWW-Authenticate"] = \
                    _speedups.auth.basic_challenge(dc.auth_name)
            return None
        user, pw = creds
        # mod_python 3.5 on Apache 2.4.71 hands the user over as latin-1,
        # as the password (a UTF-8 "été" is "Ã©tÃ©" there too)
        self.user = user
        self.ap_auth_type = "Basic"
        # (Apache notes that the password was read: CVE-2017-3167's fix)
        self.notes["AP_GET_BASIC_AUTH_PW_NOTE"] = "1"
        return pw

    # ------------------------------------------------------------ input
    def read(self, length=-1):
        if self._held:
            self._release()
        self._reading = True
        if length is None:
            length = -1
        if self._chunked_in:
            self.read_chunked = 1
        if self.expecting_100 and self._no_continue():
            return b""
        limit = self._dir_body_limit()
        data = self._body.read(length)
        self._read_bytes += len(data)
        self.read_length = self._read_bytes
        if limit and self._read_bytes > limit:
            self._over_limit()
        return data

    def _dir_body_limit(self):
        """The directory's LimitRequestBody (the server's is the body
        reader's own), checked against Content-Length before anything is
        read (so no 100 Continue goes out) and against what was read."""
        dc = self._dir_config
        limit = dc.limit_request_body if dc is not None else None
        if limit and self._clength_in > limit:
            self._over_limit()
        return limit

    def _over_limit(self):
        self._close = True          # the rest of the body is not read
        raise HTTPError(413, "request body over LimitRequestBody")

    def readline(self, length=-1):
        if self._held:
            self._release()
        self._reading = True
        if self._chunked_in:
            self.read_chunked = 1
        if self.expecting_100 and self._no_continue():
            return b""
        limit = self._dir_body_limit()
        data = self._body.readline(-1 if length is None else length)
        self._read_bytes += len(data)
        self.read_length = self._read_bytes
        if limit and self._read_bytes > limit:
            self._over_limit()
        return data

    def readlines(self, sizehint=-1):
        lines, total = [], 0
        while True:
            line = self.readline()
            if not line:
                return lines
            lines.append(line)
            total += len(line)
            if 0 < sizehint <= total:
                return lines

    def discard_request_body(self):
        if self._held:
            self._release()
        if self.expecting_100 and self._no_continue():
            return apache.OK
        while self._body.read(65536):
            pass
        return apache.OK

    # ------------------------------------------------------------ output
    def write(self, data, flush=1):
        if isinstance(data, str):
            data = data.encode("utf-8")
        elif not isinstance(data, (bytes, bytearray, memoryview)):
            # mod_python's words
            raise TypeError("a bytes-like object is required, not '%s'"
                            % type(data).__name__)
        if data:
            if data.__class__ is not bytes:
                data = bytes(data)  # (a memoryview's len() counts its items)
            self._buffer.append(data)
            self._buffered += len(data)
            if flush or self._buffered > WRITE_BUFFER:
                self.flush()
        # (mod_python flushes only a write of something: req.write("") sends
        # no head, so the response gets its length; req.flush() does send it)

    def flush(self):
        if self._filters is not None:
            self._filter_pass(eos=False)
        elif not self._head_sent:
            self._send_head(final=False)
        elif self._buffer:
            self._send_body()

    def _filter_pass(self, eos):
        """Send what is buffered through the output filters (filters.py):
        a flush, or with ``eos`` the end of the response."""
        data = b"".join(self._buffer)
        self._buffer, self._buffered = [], 0
        out, passed, eos_passed = self._filters.run(data, eos)
        if eos:
            self._filters = None        # they have had the whole body
        if self._filter_ended:
            return                      # a filter closed: the response is over
        if not passed:
            if eos:
                # the end never reached the client (nor, if nothing went
                # before, anything else): closing the connection ends it
                self._close = True
                self._head_sent = True
                self._chunked = False
            return
        if out:
            self._buffer, self._buffered = [out], len(out)
        if eos_passed:
            # a filter closed: the response ends here, whatever the handler
            # writes after (Apache has sent its end)
            self._filter_ended = True
            if not self._head_sent:
                # the whole filtered body at once: its length is the length
                # (Apache's content-length filter), whatever the handler set
                self._content_length = -1
                self.headers_out.pop("Content-Length", None)
                self._send_head(final=True)
            else:
                if self._buffer:
                    self._send_body()
                if self._chunked:
                    self._out(b"0\r\n\r\n")
                self._chunked = False
            return
        if not self._head_sent:
            self._send_head(final=False)
        elif self._buffer:
            self._send_body()
        if eos:
            self._close = True          # the end never passed the filter
            self._chunked = False

    def set_content_length(self, length):
        self._content_length = int(length)
        self.clength = self._content_length
        if not self._head_sent:
            self.headers_out["Content-Length"] = str(self._content_length)

    def sendfile(self, path, offset=0, length=-1):
        """Send ``length`` bytes (all when -1) of the file at ``path`` from
        ``offset``, then flush, as mod_python's ap_send_fd does: the head
        goes out without a length (chunked on HTTP/1.1). Returns the count
        of bytes sent; OSError with mod_python's words when the file
        cannot be read."""
        try:
            os.stat(path)
        except OSError:
            raise OSError("Could not stat file for reading") from None
        try:
            f = open(path, "rb")
        except OSError:
            raise OSError("Could not open file for reading") from None
        sent = self._write_file(f, offset, length)
        self.flush()
        return sent

    def _write_file(self, f, offset=0, length=-1):
        """Buffer ``length`` bytes (all when -1) of the open file ``f`` from
        ``offset``, flushing every 256 KiB; the count of bytes."""
        sent = 0
        with f:
            if offset:
                f.seek(offset)
            remaining = length if length is not None and length >= 0 else None
            while remaining is None or remaining > 0:
                chunk = f.read(65536 if remaining is None else min(65536, remaining))
                if not chunk:
                    break
                if remaining is not None:
                    remaining -= len(chunk)
                sent += len(chunk)
                self.write(chunk, 0)
                if self._buffered >= 262144:
                    self.flush()
        return sent

    def _sends_files(self):
        """The transport writes what it gets to the client as it comes (it
        takes a FileRegion too): a large body need not be joined to its head.
        (An adapter keeps a whole response whole, for its server to frame.)"""
        return getattr(self.connection._conn, "sendfile", False)

    def _send_file(self, fd, offset, count):
        """Send ``count`` bytes of the open file ``fd`` from ``offset`` as
        the whole body, whose length is set already (set_content_length),
        straight from the file when the transport can (ConnInfo.sendfile);
        False, with nothing sent, when it cannot: the caller then writes
        the bytes itself. Filters, a HEAD, a 304 and anything written
        before need the bytes, so they get False too; so does a directory
        with ``EnableSendfile Off``."""
        if (self._head_sent or self._buffer or self._filters is not None
                or self.header_only or self._content_length != count
                or self.status in (204, 304) or not self._sends_files()
                or (self._dir_config is not None and not self._dir_config.enable_sendfile)):
            return False
        self._send_head(final=False)
        if self._held:
            self._release()
        self.bytes_sent += count
        self._send(FileRegion(fd, offset, count))
        return True

    def _send_head(self, final):
        """Send the head (and any buffered body). ``final``: the handler is
        done, so the whole body is known and gets a Content-Length."""
        self._head_sent = True
        out = self.headers_out
        headers = out.items() if out else []
        err = self._err_headers
        if err:
            # Apache sends err_headers_out first
            headers[:0] = err.items()
        http11 = self.proto_num >= 1001
        buffered = self._buffered
        # a whole body gets its own length, whatever the handler said (as
        # Apache's content-length filter, which sees it end); the handler's
        # counts for a streamed body, and for a HEAD answered without one
        measured = final and not (self.header_only and buffered == 0)
        clen = self._content_length if not measured else -1
        content_length = -1
        chunked = False
        ctype = self.content_type
        length_at = type_at = conn_at = -1
        table = headers
        if headers:
            # Content-Length and Content-Type are the request's own fields,
            # not table entries: a handler that put either in headers_out
            # gets one header, and its length counts (no chunking) as
            # Apache's header filter does. As in Apache's table, such an
            # entry keeps its place (``*_at``: placed below) where the filter
            # sets the value; a field the table lacks comes after it
            kept = []
            vary_at = -1
            for k, v in headers:
                name = k.lower()
                if name == "content-length":
                    if length_at < 0:
                        length_at = len(kept)
                    if clen < 0 and not measured:
                        v = v.strip()
                        if v.isdigit():
                            clen = int(v)
                elif name == "content-type" and ctype:
                    if type_at < 0:
                        type_at = len(kept)
                        type_first = length_at < 0
                elif name == "server" or name == "date":
                    continue    # (Apache's header filter sends its own)
                elif name == "vary" and vary_at >= 0:
                    # (Apache's header filter merges the Vary fields into
                    # the first, each token once)
                    k0, v0 = kept[vary_at]
                    kept[vary_at] = (k0, _merge_vary(v0, v))
                else:
                    if name == "vary":
                        vary_at = len(kept)
                    elif name == "connection":
                        conn_at = len(kept)
                    kept.append((k, v))
            headers = kept
        if clen >= 0:
            content_length = clen
        elif self._error_response and (self.header_only or not final):
            if not self.header_only:
                self._close = True  # no length: the close ends the body
        elif self._unsized_error and not self.header_only and not (
                http11 and not self._close and self._dispatcher.keep_alive_terms(self)[0]):
            # the byterange filter's 416 page is chunked on a connection
            # that is kept, close-delimited on any other
            self._close = True
        elif final:
            content_length = buffered
        elif not self.header_only and self.status not in (204, 304):
            if http11 and not (self.expecting_100 and self._continue_owed()):
                chunked = True
            else:
                # HTTP/1.0, or a connection that cannot be kept: Apache
                # chunks only what may keep the connection; the close ends it
                self._close = True
        if ctype:
            cs = self._dir_config.default_charset if self._dir_config else None
            if cs and (ctype.startswith("text/plain") or ctype.startswith("text/html")) \
                    and "charset" not in ctype:
                ctype = "%s; charset=%s" % (ctype, cs)
        else:
            ctype = None
        expires = None
        if self.no_cache and not _has_field(headers, "expires"):
            # as Apache's header filter for r->no_cache: the last header
            expires = _speedups.headers.http_date(self.request_time)
        if self.status in (204, 304):
            # no body and no length; Apache keeps the handler's own entries
            # as they are (a Content-Type entry too), but not content_type
            content_length, chunked, ctype = -1, False, None
            length_at = type_at = -1
            headers = [(k, v) for k, v in table if k.lower() != "content-length"]
            self._buffer, buffered = [], 0
        apart = None
        if self.header_only:
            body = b""
            if content_length == 0:
                # Apache's header filter drops a HEAD's "Content-Length: 0"
                # (a handler that returned without writing, not a length)
                content_length = -1
        elif buffered >= SEND_APART and self._sends_files():
            # the handler's own bytes go out after the head, not copied into it
            apart = self._buffer
            body = b"%x\r\n" % buffered if chunked else b""
            self.bytes_sent += buffered
        elif chunked and buffered:
            body = b"".join([_chunk_size_line(buffered), *self._buffer, b"\r\n"])
            self.bytes_sent += buffered
        else:
            body = b"".join(self._buffer)
            self.bytes_sent += buffered
        if type_at >= 0 or 0 <= length_at < len(headers):
            # (a length whose entry came last is where _build_head writes it)
            content_length, ctype = _place(headers, length_at, type_at,
                                           type_at >= 0 and type_first, content_length, ctype)
        self._chunked = chunked
        if chunked:
            self.chunked = 1
        dispatcher = self._dispatcher
        if self._close:
            keep_alive, terms = False, ""
        else:
            keep_alive, terms = dispatcher.keep_alive_terms(self)
            self._close = not keep_alive
        status = self.status
        if status not in KNOWN_STATUSES:
            status = 500        # Apache has no status line for it: it sends 500's
        conn_extra = None
        if conn_at >= 0 and (not keep_alive or not http11):
            # a handler's Connection field takes the server's token after
            # its own, in one field (Apache merges its close or Keep-Alive)
            for i, (k, v) in enumerate(headers):
                if k.lower() == "connection" and _header_fault(v) is None:
                    conn_extra = v
                    del headers[i]
                    break
        try:
            data = _build_head(11 if http11 else 10, status, headers,
                               content_length=content_length, chunked=chunked,
                               keep_alive=keep_alive, server=dispatcher.server_header,
                               keep_alive_header=terms, content_type=ctype, body=body)
        except (ValueError, TypeError, UnicodeEncodeError) as exc:
            self._refuse_head(exc, 0 if self.header_only else buffered)
        if conn_extra is not None:
            data = data.replace(b"\r\nConnection: ",
                                b"\r\nConnection: %s, " % conn_extra.encode("latin-1"), 1)
        if expires is not None:
            data = _with_expires(data, len(data) - len(body) - 2, expires,
                                 chunked and content_length < 0, ctype)
        if self.content_encoding or self.content_languages:
            data = _with_content_fields(data, len(data) - len(body) - 2, table,
                                        self.content_encoding, self.content_languages)
        line = self.status_line
        if line is not None:
            data = _with_status_line(data, line, self.status)
        else:
            # as Apache fills in r->status_line when it sends the head
            try:
                line = _STATUS_LINES[status]
            except KeyError:
                line = _STATUS_LINES[status] = "%d %s" % (status, reason_phrase(status))
            self.status_line = line
        self._buffer = []
        self._buffered = 0
        if apart is None:
            self._out(data)
        else:
            self._out_apart(data, apart, b"\r\n" if chunked else b"")

    def _refuse_head(self, exc, counted):
        """A head that cannot go out (nothing went): the fields at fault are
        dropped and the head is unsent again. A value that is no ISO-8859-1
        string is mod_python's TypeError (as if refused on assignment); a CR
        or LF in a field is Apache's AH02430: HeadRefused (a 500, and the
        connection ends)."""
        self._head_sent = False
        self._chunked = False
        self.chunked = 0
        self.bytes_sent -= counted
        self._buffer, self._buffered = [], 0
        faults = set()
        if self.content_type is not None:
            fault = _header_fault(self.content_type)
            if fault:
                self.content_type = None
                faults.add(fault)
        for name in ("headers_out", "err_headers_out"):
            # (err_headers_out is made on first use: not here)
            table = self.headers_out if name == "headers_out" else self._err_headers
            if not table:
                continue
            found = {_header_fault(k) or _header_fault(v) for k, v in table.items()} - {None}
            if found:
                faults |= found
                setattr(self, name, Table([(k, v) for k, v in table.items()
                                           if not (_header_fault(k) or _header_fault(v))]))
        if not faults:
            raise exc
        if "line" in faults:
            self.log_error("AH02430: Response header value contains invalid characters, "
                           "aborting request")
            self._close = True
            raise HeadRefused(500, "invalid response header") from None
        raise TypeError("not an ISO-8859-1 string") from None

    def _drop_body(self):
        """Read and drop the body after what is held goes out (then no 100
        Continue follows a response already started); None, or the status of
        a body that cannot be read (drop_request_body)."""
        if self._held:
            self._release()
        return drop_request_body(self._body)

    def _no_continue(self):
        """A request with its 100 Continue owed whose status says it is
        going wrong, before its response started: Apache's input filter
        then sends no 100 and reads the body as empty (the connection
        closes after the response)."""
        return (not 200 <= self.status < 300 and not self._head_sent
                and self._continue_owed())

    def _continue_owed(self):
        """Apache's r->expecting_100 as the head goes out: the client asked
        for 100 Continue and nothing read the body, so it never went out.
        Apache then closes the connection after the response."""
        return getattr(self._body, "continue_owed", False)

    def _out(self, data):
        """Send ``data``, or (coalescing) keep it for the next send: what a
        handler flushes leaves with its next output or when it returns, at
        most HELD_MAX bytes later. The request's own state (head sent, bytes
        sent) is the same either way; only the system calls differ."""
        held = self._held
        if held is None:
            self._send(data)
            return
        held.append(data)
        if len(held) > 1:
            size = 0
            for piece in held:
                size += len(piece)
            if size >= HELD_MAX:
                self._release()

    def _release(self):
        """Send what coalescing kept back."""
        held = self._held
        if held:
            data = held[0] if len(held) == 1 else b"".join(held)
            del held[:]
            self._send(data)

    def _out_apart(self, first, pieces, last):
        """Send ``first``, then the body ``pieces`` (the handler's bytes
        objects) without joining them into it, then ``last``. Joining a
        large body would copy it twice, into fresh memory the kernel must
        map and zero each time: that costs more than the extra sends. Small
        pieces in a row still go out joined, up to SEND_APART at a time."""
        if self._held is not None:
            self._held.append(first)
            self._release()
        else:
            self._send(first)
        send = self._send
        run, size = [], 0
        for piece in pieces:
            if len(piece) >= SEND_APART:
                if run:
                    send(b"".join(run))
                    run, size = [], 0
                send(piece)
                continue
            run.append(piece)
            size += len(piece)
            if size >= SEND_APART:
                send(b"".join(run))
                run, size = [], 0
        if run:
            send(b"".join(run))
        if last:
            self._out(last)

    def _send_body(self):
        n = self._buffered
        if n >= SEND_APART and not self.header_only and self._sends_files():
            pieces = self._buffer
            self._buffer = []
            self._buffered = 0
            self.bytes_sent += n
            if self._chunked:
                self._out_apart(b"%x\r\n" % n, pieces, b"\r\n")
            else:
                self._out_apart(pieces[0], pieces[1:], b"")
            return
        data = b"".join(self._buffer)
        n = len(data)
        self._buffer = []
        self._buffered = 0
        if self.header_only or not n:
            return
        self.bytes_sent += n
        if self._chunked:
            self._out(b"".join((_chunk_size_line(n), data, b"\r\n")))
        else:
            self._out(data)

    def _finish(self):
        """End the response after the handler phase."""
        if self._filters is not None:
            self._filter_pass(eos=True)
        elif not self._head_sent:
            if self.expecting_100 and 200 <= self.status < 300 and self._continue_owed() \
                    and (self._clength_in or self._chunked_in):
                # a whole response, a body nobody read: Apache reads and drops
                # it before the head (ap_finalize_request_protocol), so the
                # client gets its 100 and the connection can be kept; a body
                # that fails only closes the connection after the response
                try:
                    drop_request_body(self._body)
                except ClientGone:
                    pass
            elif (self._clength_in or self._chunked_in) and self.main is None \
                    and self.status not in DROPS_CONNECTION:
                # a whole response and a body not read to its end: Apache
                # reads and drops it before the head goes out
                # (ap_finalize_request_protocol); a body that cannot be read
                # gets its error (400, 413, ...) instead of the response. Not
                # for a subrequest, nor once an error closes the connection
                # (ap_discard_request_body does nothing then)
                status = self._drop_unread_body()
                if status is not None:
                    self._late_status = status
                    self._error_response = True     # (that page is close-delimited)
                    self._dispatcher._send_error(self, status)
                    if self._held:
                        self._release()
                    return
            self._send_head(final=True)
        else:
            if self.status in DROPS_CONNECTION and self.main is None:
                # a status set after the head went out still ends the
                # connection, as Apache's does (a body the head promised a
                # length for may have had more written behind it)
                self._close = True
            elif not self._close and (self._clength_in or self._chunked_in) \
                    and self._over_dir_limit():
                self._close = True  # the unread rest is over LimitRequestBody: no next request
            if self._buffer:
                self._send_body()
            if self._chunked:
                self._out(b"0\r\n\r\n")
                self._chunked = False
        if self._held:
            self._release()

    def _drop_unread_body(self):
        """Read and drop what is left of the request body: None, or the
        status of a body that cannot be read (the directory's
        LimitRequestBody included)."""
        if self._over_dir_limit():
            return apache.HTTP_REQUEST_ENTITY_TOO_LARGE
        return drop_request_body(self._body)

    def _over_dir_limit(self):
        dc = self._dir_config
        limit = dc.limit_request_body if dc is not None else None
        return bool(limit) and self._clength_in > limit and self._read_bytes < self._clength_in

    # ------------------------------------------------------------ misc API
    def log_error(self, message, level=apache.APLOG_ERR):
        apache.log_error("[client %s:%s] %s" % (self.connection.remote_ip,
                                                self.connection.remote_addr[1], message),
                         level)

    def register_cleanup(self, callable_, data=None):
        """Call ``callable_(data)`` when the request is done (the last
        registered first)."""
        if not callable(callable_):
            raise ValueError("first argument must be a callable object")
        cleanups = vars(self).get("_cleanups")
        if cleanups is None:    # (a redirect's list is its original request's)
            cleanups = self._cleanups = []
        cleanups.append((callable_, data))

    def server_port(self):
        """The port for self-referential URLs (UseCanonicalName Off): the one
        in the Host header, else the connection's local port."""
        return _host_port(self.headers_in.get("Host") or "")

    def construct_url(self, uri):
        scheme = "https" if self.is_https() else "http"
        port = self.server_port()
        host = self.hostname or self.server.server_hostname
        if ":" in host:
            host = "[%s]" % host        # an IPv6 address, bracketed in a URL
        default = 443 if scheme == "https" else 80
        if port and port != default:
            return "%s://%s:%d%s" % (scheme, host, port, uri)
        return "%s://%s%s" % (scheme, host, uri)

    def is_https(self):
        return 1 if self.connection._conn.is_https else 0

    def ssl_var_lookup(self, var_name):
        return None

    def get_remote_host(self, type=apache.REMOTE_NAME, str_is_ip=None):
        """Apache's ap_get_remote_host under HostnameLookups Off: only
        REMOTE_DOUBLE_REV looks the name up (once per connection, then every
        type answers with it); REMOTE_HOST is None until then, the other
        types fall back to the IP. With ``str_is_ip`` the answer is a
        (host, is_ip) pair; None stays None."""
        conn = self.connection
        if type == apache.REMOTE_DOUBLE_REV:
            if conn.remote_host is None:
                conn.remote_host = _reverse_lookup(conn.remote_ip)
            if not conn.double_reverse:
                conn.double_reverse = _double_reverse(conn.remote_host, conn.remote_ip)
            if conn.double_reverse == -1:
                return None
        if conn.remote_host:
            host, is_ip = conn.remote_host, 0
        elif type in (apache.REMOTE_HOST, apache.REMOTE_DOUBLE_REV):
            return None
        else:
            host, is_ip = conn.remote_ip, 1
        return host if str_is_ip is None else (host, is_ip)

    def allow_methods(self, methods, reset=0):
        if reset:
            self.allowed = 0
        for m in methods:
            n = _METHOD_NUMBERS.get(m.upper()) if isinstance(m, str) else m
            if n is not None:
                self.allowed |= 1 << n

    def add_common_vars(self):
        """Fill ``subprocess_env`` with the CGI variables Apache's
        ap_add_common_vars sets: the request headers as HTTP_* (not the
        credentials, not ``Proxy``, not names that are no valid variable),
        Content-Type/-Length as CONTENT_*, and the server's and client's."""
        env = self.subprocess_env
        for k, v in self.headers_in.items():
            key = k.lower()
            if key == "content-type":
                env["CONTENT_TYPE"] = v
            elif key == "content-length":
                env["CONTENT_LENGTH"] = v
            elif key in ("authorization", "proxy-authorization", "proxy"):
                continue
            elif _ENV_NAME_OK(k):
                env["HTTP_" + k.upper().replace("-", "_")] = v
        srv = self.server
        conn = self.connection
        env["PATH"] = os.environ.get("PATH", "/usr/bin:/bin")
        signature = self._dispatcher._signature(self)
        env["SERVER_SIGNATURE"] = "<address>%s</address>\n" % signature if signature else ""
        env["SERVER_SOFTWARE"] = self._dispatcher.server_header
        name = self.hostname or srv.server_hostname
        env["SERVER_NAME"] = "[%s]" % name if ":" in name else name     # (an IPv6 literal)
        env["SERVER_ADDR"] = conn.local_ip
        env["SERVER_PORT"] = str(self.server_port())
        host = self.get_remote_host(apache.REMOTE_HOST)
        if host:
            env["REMOTE_HOST"] = host       # (a name a lookup found)
        env["REMOTE_ADDR"] = conn.remote_ip
        env["DOCUMENT_ROOT"] = srv.document_root
        env["REQUEST_SCHEME"] = "https" if self.is_https() else "http"
        env["CONTEXT_PREFIX"], env["CONTEXT_DOCUMENT_ROOT"] = \
            self._dispatcher.context_info(self)
        env["SERVER_ADMIN"] = srv.server_admin
        env["SCRIPT_FILENAME"] = self.filename or ""
        env["REMOTE_PORT"] = str(conn.remote_addr[1])
        if self.user:
            env["REMOTE_USER"] = self.user
        if self.ap_auth_type:
            env["AUTH_TYPE"] = self.ap_auth_type
        prev = self.prev
        if prev is not None:
            # after an internal redirect or an ErrorDocument: where it came from
            env["REDIRECT_URL"] = prev.uri
            if prev.args is not None:
                env["REDIRECT_QUERY_STRING"] = prev.args

    def add_cgi_vars(self):
        self.add_common_vars()
        env = self.subprocess_env
        env["GATEWAY_INTERFACE"] = "CGI/1.1"
        env["SERVER_PROTOCOL"] = self.protocol
        env["REQUEST_METHOD"] = self.method
        env["QUERY_STRING"] = self.args or ""
        env["REQUEST_URI"] = self.uri          # as mod_python: the decoded path
        script = self.uri[:len(self.uri) - len(self.path_info)] if self.path_info else self.uri
        env["SCRIPT_NAME"] = script
        if self.path_info:
            env["PATH_INFO"] = self.path_info

    def add_output_filter(self, filter_name):
        from fastdispatch import filters
        filters.add_filter(self, filter_name, is_input=False)

    def add_input_filter(self, filter_name):
        from fastdispatch import filters
        filters.add_filter(self, filter_name, is_input=True)

    def register_output_filter(self, filter_name, filter, dir=None):
        from fastdispatch import filters
        filters.register_filter(self, filter_name, filter, dir, is_input=False)

    def register_input_filter(self, filter_name, filter, dir=None):
        from fastdispatch import filters
        filters.register_filter(self, filter_name, filter, dir, is_input=True)

    def add_handler(self, htype, handler, dir=None):
        self._dispatcher.add_handler(self, htype, handler, dir)

    def internal_redirect(self, new_uri):
        self._dispatcher.internal_redirect(self, new_uri)
        sub = self.next
        if sub is not None and sub._head_sent:
            # a streamed (chunked) answer still owes its last chunk
            sub._finish()
            self.bytes_sent = sub.bytes_sent

    def meets_conditions(self):
        """Apache's ap_meets_conditions against the request's conditional
        headers, with req.mtime and the ETag in headers_out as this
        response's validators: OK, or the status to return (304, 412)."""
        from fastdispatch.handlers.static import meets_conditions
        return meets_conditions(self, self.mtime, self.headers_out.get("ETag"))

    def set_etag(self):
        """Apache's ap_set_etag: the size and mtime of req.finfo's file
        (weak when it changed within the last second); with no file, the
        mtime alone of the last directory Apache's path walk found (the
        file's, for a name that does not exist), or "0"."""
        from fastdispatch.handlers.static import etag_for
        st = self._file_stat()
        if st is not None:
            self.headers_out["ETag"] = etag_for(st, self.request_time)
            return
        mtime_us = 0
        if self.filename and "_finfo" not in vars(self):
            directory = self.filename
            while directory not in ("", "/"):
                directory = os.path.dirname(directory)
                try:
                    mtime_us = os.stat(directory).st_mtime_ns // 1000
                    break
                except (OSError, ValueError):
                    continue
        weak = "W/" if self.request_time - mtime_us / 1e6 <= 1 else ""
        self.headers_out["ETag"] = '%s"%x"' % (weak, mtime_us)

    def set_last_modified(self):
        # (ap_rationalize_mtime: never later than the request; 0 is the epoch)
        self.headers_out["Last-Modified"] = _speedups.headers.http_date(
            min(self.mtime, int(self.request_time)))

    def send_http_header(self):
        """mod_python 3.5 keeps this name of 2.x for old handlers: the head
        goes out with the first write, so it does nothing."""

    def update_mtime(self, dependency_mtime):
        # whole seconds, as mod_python hands them to Apache
        dependency_mtime = float(int(dependency_mtime))
        if dependency_mtime > self.mtime:
            self.mtime = dependency_mtime


class FInfo(dict):
    """mod_python's mp_finfo: ``finfo.size`` and ``finfo["size"]``
    (``stat_result``: the os.stat_result it shows, for the ETag's
    microseconds; None for no file)."""

    __slots__ = ("stat_result",)

    def __getitem__(self, key):
        if key.__class__ is int:
            # mod_python's tuple order (apache.FINFO_MODE ... FINFO_NAME)
            return tuple(dict.__getitem__(self, k) for k in _FINFO_TUPLE)[key]
        return dict.__getitem__(self, key)

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def finfo_of(fname, st):
    """The mp_finfo of ``st`` (an os.stat_result, or None: no such file)."""
    info = FInfo.fromkeys(_FINFO_KEYS)
    info.stat_result = st
    info["fname"] = fname
    if st is None:
        info["filetype"] = 0  # APR_NOFILE
        return info
    # APR writes permission bits as hex digits that read like octal ones
    protection = int("%o" % (st.st_mode & 0o777), 16)
    info.update(filetype=_apr_filetype(st.st_mode), valid=0x73F370,
                protection=protection, user=st.st_uid, group=st.st_gid,
                size=st.st_size, inode=st.st_ino, device=st.st_dev, nlink=st.st_nlink,
                atime=int(st.st_atime), mtime=int(st.st_mtime), ctime=int(st.st_ctime))
    return info


def _reverse_lookup(ip):
    """The lower-cased DNS name of ``ip``, or "" (looked up and not found)."""
    try:
        return socket.getnameinfo((ip, 0), socket.NI_NAMEREQD)[0].lower()
    except (OSError, UnicodeError):
        return ""


def _double_reverse(name, ip):
    """1 when ``name`` resolves back to ``ip``, else -1 (Apache's
    do_double_reverse)."""
    if not name:
        return -1
    try:
        infos = socket.getaddrinfo(name, None)
    except (OSError, UnicodeError):
        return -1
    return 1 if any(info[4][0] == ip for info in infos) else -1


def _with_status_line(head, line, status):
    """The head with req.status_line as its status line, when that line
    starts with the request's status (Apache's rule; otherwise it is
    ignored)."""
    if len(line) <= 4 or not line[:3].isdigit() or int(line[:3]) != status:
        return head
    version, _, _ = head.partition(b" ")
    return b"%s %s%s" % (version, line.encode("latin-1", "replace"),
                         head[head.index(b"\r\n"):])


def _utf8(text):
    """Wire text (latin-1 decoded) as mod_python shows it: UTF-8 when the
    bytes are UTF-8, else unchanged."""
    if text.isascii():
        return text
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def _merge_repeated(headers):
    """headers_in as mod_python shows it: values decoded as UTF-8 where they
    are UTF-8, and repeated lines joined into one "a, b" value (Apache)."""
    seen = set()
    recode = False
    for name, value in headers:
        key = name.lower()
        if key in seen:
            break
        seen.add(key)
        if not value.isascii():
            recode = True
    else:
        if recode:
            return [(name, _utf8(value)) for name, value in headers]
        return headers
    headers = [(name, _utf8(value)) for name, value in headers]
    merged, index = [], {}
    for name, value in headers:
        key = name.lower()
        if key in index:
            i = index[key]
            merged[i] = (merged[i][0], merged[i][1] + ", " + value)
        else:
            index[key] = len(merged)
            merged.append((name, value))
    return merged


def _host_port(host):
    """The port of a Host value ("name:port", "[v6]:port"); 80 without one."""
    if host.startswith("["):
        _, _, port = host.partition("]:")
    else:
        _, _, port = host.partition(":")
    return int(port) if port.isdigit() else 80


def _target_authority(target):
    """The authority of an absolute-form target in the server's own scheme
    (http), lower-cased; None for any other target. Apache takes the host
    from the target only then (ap_parse_uri): an https:// target leaves
    the Host header in charge."""
    if target[:1] != "/" and target[:7].lower() == "http://":
        rest = target[7:]
        end = len(rest)
        for sep in "/?":
            i = rest.find(sep)
            if 0 <= i < end:
                end = i
        return rest[:end].lower()
    return None


def _hostname(target, host):
    """req.hostname: from an absolute-form http:// target, else the Host
    header; port stripped, lower-cased, a trailing dot dropped; None
    without either."""
    if "://" in target and not target.startswith("/"):
        host = _target_authority(target) or host
    return _name_of(host)


def _name_of(host):
    """The host name in a Host value (or an authority): port stripped,
    lower-cased, a trailing dot dropped; None for none."""
    if not host:
        return None
    if host.startswith("["):
        end = host.find("]")
        if end < 0:
            return None                     # "[" without its "]": no name
        host = host[1:end]                  # an IPv6 address, as Apache keeps it
    else:
        host = host.rsplit(":", 1)[0] if ":" in host else host
    return host.lower().rstrip(".") or None


# a header name Apache exports as HTTP_*: letters, digits and "-" only
_ENV_NAME_OK = re.compile(r"[A-Za-z0-9-]+\Z").match

# req.write(s, 0) keeps at most this much: more goes on at once, as
# Apache's ap_rwrite buffer (APR_BUCKET_BUFF_SIZE) passes it down the chain;
# a response whose head goes out then has no length (chunked)
WRITE_BUFFER = 8000
HELD_MAX = 65536     # coalescing: bytes kept back at most before a send
SEND_APART = 65536   # a body this large is sent after its head, not joined to it
_PROTO_NUMS = {"HTTP/1.1": 1001, "HTTP/1.0": 1000}
_STATUS_LINES = {}   # status -> "200 OK", made as statuses are sent
_CHUNK_SIZE_LINES = {}   # size -> b"<hex>\r\n", kept for the first sizes sent
_CHUNK_SIZES_KEPT = 1024


def _chunk_size_line(size):
    """The line that opens a chunk of ``size`` bytes (formatting it is most
    of what framing a small chunk costs; a worker sends few sizes)."""
    try:
        return _CHUNK_SIZE_LINES[size]
    except KeyError:
        line = b"%x\r\n" % size
        if len(_CHUNK_SIZE_LINES) < _CHUNK_SIZES_KEPT:
            _CHUNK_SIZE_LINES[size] = line
        return line


_FINFO_TUPLE = ("protection", "inode", "device", "nlink", "user", "group", "size", "atime",
                "mtime", "ctime", "fname", "name")
_FINFO_KEYS = ("fname", "filetype", "valid", "protection", "user", "group", "size", "inode",
               "device", "nlink", "atime", "mtime", "ctime", "name")


def _apr_filetype(mode):
    """APR's apr_filetype_e numbering."""
    for test, number in ((stat.S_ISREG, 1), (stat.S_ISDIR, 2), (stat.S_ISCHR, 3),
                         (stat.S_ISBLK, 4), (stat.S_ISFIFO, 5), (stat.S_ISLNK, 6),
                         (stat.S_ISSOCK, 7)):
        if test(mode):
            return number
    return 127


def _with_expires(data, head_end, expires, chunked, ctype):
    """The head with Apache's Expires for r->no_cache where its header filter
    adds it: after Connection, before Transfer-Encoding and a Content-Type
    that was not in the table (``ctype`` still to write: the last line)."""
    at = head_end                           # (the head's empty line)
    if chunked:
        at = data.rfind(b"\r\nTransfer-Encoding: chunked\r\n", 0, head_end) + 2
    elif ctype:
        at = data.rfind(b"\r\nContent-Type: ", 0, head_end) + 2
    return b"%sExpires: %s\r\n%s" % (data[:at], expires.encode(), data[at:])


def _with_content_fields(data, head_end, table, encoding, languages):
    """The head with Content-Encoding and Content-Language from
    req.content_encoding and req.content_languages, last, as Apache's header
    filter sets them (an entry the handler put in headers_out for either
    stays as it is)."""
    names = {k.lower() for k, _ in table}
    extra = b""
    if encoding and "content-encoding" not in names:
        extra += b"Content-Encoding: %s\r\n" % encoding.encode("latin-1", "replace")
    if languages and "content-language" not in names:
        extra += b"Content-Language: %s\r\n" % ",".join(languages).encode("latin-1", "replace")
    return data[:head_end] + extra + data[head_end:]


def drop_request_body(body):
    """Read and drop a request body, as Apache's default handler does first
    (which sends the 100 Continue a client may wait for). Returns None, or
    the status of a body that cannot be read (413, 400 -- the client's side
    ended too --; 408 when it stalls)."""
    try:
        while body.read(65536):
            pass
    except HTTPError as exc:
        return exc.status
    except ClientReadEOF:
        return apache.HTTP_BAD_REQUEST      # (Apache's: the body is cut short)
    except ClientTimeout:
        return apache.HTTP_REQUEST_TIME_OUT
    return None


def _merge_vary(first, more):
    """``first``'s Vary tokens, then those of ``more`` it lacks, in one value."""
    tokens = [t.strip() for t in first.split(",")]
    tokens += [t.strip() for t in more.split(",") if t.strip() not in tokens]
    return ",".join([t for t in tokens if t])


def _has_field(headers, name):
    """Whether the (name, value) pairs hold a field ``name`` (lower case)."""
    for k, _ in headers:
        if k.lower() == name:
            return True
    return False


def _place(headers, length_at, type_at, type_first, content_length, ctype):
    """Insert the length and the type where the handler's table had them
    (indexes into ``headers``; ``type_first``: the type's entry came first
    in the table). Returns what is left for _build_head to write at its own
    places."""
    length = type_ = None
    if length_at >= 0 and content_length >= 0:
        length, content_length = ("Content-Length", "%d" % content_length), -1
    if type_at >= 0 and ctype:
        type_, ctype = ("Content-Type", ctype), None
    in_order = ((type_at, type_), (length_at, length)) if type_first else \
        ((length_at, length), (type_at, type_))
    # the later one first: inserting the earlier one at an index no larger
    # then puts it before
    for at, header in reversed(in_order):
        if header is not None:
            headers.insert(at, header)
    return content_length, ctype


_METHOD_NUMBERS = {m: i for i, m in enumerate(apache.METHODS)}
_M_INVALID = apache.M_INVALID

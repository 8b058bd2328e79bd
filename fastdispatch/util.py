"""fastdispatch's ``mod_python.util``: form data (``FieldStorage``, ``Field``),
query-string parsing, ``redirect`` and ``apply_fs_data``.

As documented for mod_python 3.5 (pythonapi.rst, "util"), with what its
Python 3 port gets wrong put right: field names and values are ``str``
(multipart header values and field values are read as UTF-8, undecodable
bytes replaced, as the query-string parser does), ``getlist()`` finds them,
and uploads (``Field``) keep their bytes in ``file``.

The body is read in blocks, never whole: a multipart part is copied to its
file as it arrives, and an upload's file (a ``SpooledTemporaryFile``) moves
to disk past ``fastdispatch.util.spool_threshold`` bytes. Limits, each
answered with 413 Request Entity Too Large:

- ``LimitRequestBody`` (the directory's, else the server's): the body size;
- ``PythonOption fastdispatch.util.max_fields N`` (default 1000): fields,
  query string and body together;
- ``PythonOption fastdispatch.util.max_memory N`` (default 8 MiB): bytes of
  field values held in memory (a urlencoded body, multipart parts that are
  not uploads); uploads do not count, they are on disk.
"""
import html
import io
import tempfile

from fastdispatch import _speedups, apache
from fastdispatch.errors import HTTPError

_parse_qsl = _speedups.uri.parse_qsl

# mod_python's name for its read size; kept for code that reads it.
readBlockSize = 65368

BLOCK_SIZE = 65536                 # bytes asked of req.read() at a time
MAX_FIELDS = 1000                  # default of fastdispatch.util.max_fields
MAX_MEMORY = 8 << 20               # default of fastdispatch.util.max_memory
SPOOL_THRESHOLD = 256 << 10        # default of fastdispatch.util.spool_threshold
MAX_PART_HEADER_LINE = 8190        # as LimitRequestFieldSize
MAX_PART_HEADERS = 100             # as LimitRequestFields


# ---------------------------------------------------------------- query strings

def _wire_text(qs):
    """The query parser reads a str of code points <= U+00FF as wire bytes;
    bytes are given to it that way."""
    if isinstance(qs, (bytes, bytearray, memoryview)):
        return bytes(qs).decode("latin-1")
    return qs


def parse_qsl(qs, keep_blank_values=0, strict_parsing=0):
    """``application/x-www-form-urlencoded`` data (str or bytes) -> list of
    (name, value) str pairs, in order. ``strict_parsing`` is accepted and
    ignored, as in mod_python."""
    return _parse_qsl(_wire_text(qs), bool(keep_blank_values))


def parse_qs(qs, keep_blank_values=0, strict_parsing=0):
    """As ``parse_qsl``, as a dict of name -> list of values."""
    out = {}
    for name, value in _parse_qsl(_wire_text(qs), bool(keep_blank_values)):
        out.setdefault(name, []).append(value)
    return out


def parse_header(line):
    """A Content-Type like header value (str or bytes) -> (lower-cased main
    value, dict of lower-cased parameter names -> values), as mod_python's:
    bytes are read as ISO-8859-1, the value is split at every ';' (a
    quoted one too), and a value in double quotes loses them, nothing
    else (no backslash escapes, no RFC 5987 ``filename*``)."""
    if isinstance(line, (bytes, bytearray)):
        line = bytes(line).decode("latin-1")
    parts = [p.strip() for p in line.split(";")]
    key = parts[0].lower()
    options = {}
    for p in parts[1:]:
        name, eq, value = p.partition("=")
        if not eq:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        options[name.strip().lower()] = value
    return key, options


def _table_text(data):
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _decode(data):
    return data.decode("utf-8", "replace")


# ---------------------------------------------------------------- fields

class Field:
    """One form input read from a multipart body: an upload (``filename``
    set) or, when built by hand as mod_python allowed, any input.
    ``value`` reads the whole file: for large uploads use ``file``."""

    def __init__(self, name, *args, **kwargs):
        self.name = name
        self.file = None
        self.filename = None
        self.type = None
        self.type_options = {}
        self.disposition = None
        self.disposition_options = {}
        self.headers = {}
        if args or kwargs:
            self.__bc_init__(*args, **kwargs)

    def __bc_init__(self, file, ctype, type_options, disp, disp_options, headers={}):
        """mod_python's old constructor signature (used by Trac and others)."""
        self.file = file
        self.type = ctype
        self.type_options = type_options
        self.disposition = disp
        self.disposition_options = disp_options
        self.filename = disp_options.get("filename")
        self.headers = headers

    def __getattr__(self, name):
        if name != "value":
            raise AttributeError(name)
        if self.file is None:
            return None
        self.file.seek(0)
        value = self.file.read()
        self.file.seek(0)
        return value

    def __repr__(self):
        return "Field(%r, %r)" % (self.name, self.value)

    def __del__(self):
        f = self.__dict__.get("file")
        if f is not None:
            try:
                f.close()
            except Exception:
                pass


class StringField(str):
    """A form value that is not an upload: a ``str`` with the attributes of
    a Field (``value`` is the plain str, ``file`` a BytesIO of its UTF-8)."""
    filename = None
    type = "text/plain"
    type_options = {}
    disposition = None
    disposition_options = {}
    headers = {}
    name = None

    @property
    def value(self):
        return str.__str__(self)

    def __getattr__(self, name):
        if name != "file":
            raise AttributeError(name)
        self.file = io.BytesIO(self.encode("utf-8"))
        return self.file

    def __repr__(self):
        return "Field(%r, %r)" % (self.name, str.__str__(self))


class FieldList(list):
    """The fields in the order received, with a cached name -> [fields] table
    that any change to the list invalidates."""

    _table = None       # (a class default: no __init__ to run per form)

    def table(self):
        if self._table is None:
            t = {}
            for item in self:
                t.setdefault(item.name, []).append(item)
            self._table = t
        return self._table


def _invalidating(name):
    method = getattr(list, name)

    def wrapper(self, *args, **kwargs):
        self._table = None
        return method(self, *args, **kwargs)
    wrapper.__name__ = name
    return wrapper


for _name in ("__delitem__", "__iadd__", "__imul__", "__setitem__", "append", "clear",
              "extend", "insert", "pop", "remove", "reverse", "sort"):
    setattr(FieldList, _name, _invalidating(_name))
del _name


# ---------------------------------------------------------------- FieldStorage

class FieldStorage:
    """All form data of a request: the query string, and the body of a POST
    (urlencoded or multipart). Reads the whole body at construction: make
    one per request (the publisher's is ``req.form``)."""

    def __init__(self, req, keep_blank_values=0, strict_parsing=0, file_callback=None,
                 field_callback=None):
        self.list = FieldList()
        limits = _Limits(req)
        self._limits = limits
        args = req.args
        if args:
            wire = req.__dict__.get("_args_wire")
            if wire is not None and wire[0] is args:
                args = wire[1]      # the query's bytes, before UTF-8 decoding
            self._add_pairs(_parse_qsl(_wire_text(args), bool(keep_blank_values)))
        if req.method != "POST":
            return
        headers = req.headers_in
        # (a chunked body: mod_python refuses it with 411, fastdispatch reads it)
        chunked = "chunked" in (headers.get("Transfer-Encoding") or "").lower()
        clen = headers.get("Content-Length")
        if clen is None and not chunked:
            raise apache.SERVER_RETURN(apache.HTTP_LENGTH_REQUIRED)
        try:
            clen = int(clen) if clen is not None else -1
        except ValueError:
            raise apache.SERVER_RETURN(apache.HTTP_LENGTH_REQUIRED) from None
        if limits.body and clen > limits.body:
            raise apache.SERVER_RETURN(apache.HTTP_REQUEST_ENTITY_TOO_LARGE)
        ctype = headers.get("Content-Type") or "application/x-www-form-urlencoded"
        body = _Body(req, clen, limits.body)
        # (mod_python compares the type case-sensitively: another spelling
        # is no form it reads, 501)
        if ctype.startswith("application/x-www-form-urlencoded"):
            data = body.read_all(limits.memory)
            self._add_pairs(_parse_qsl(_wire_text(data), bool(keep_blank_values)))
            return
        if not ctype.startswith("multipart/"):
            raise apache.SERVER_RETURN(apache.HTTP_NOT_IMPLEMENTED)
        # the boundary, as mod_python finds it: all that follows the last
        # "boundary=", less quotes at both ends (a parameter after it is
        # part of it, and no delimiter then matches: an empty form)
        i = ctype.lower().rfind("boundary=")
        if i < 0:
            raise apache.SERVER_RETURN(apache.HTTP_BAD_REQUEST)
        boundary = ctype[i + 9:]
        if len(boundary) >= 2 and boundary[0] == boundary[-1] == '"':
            boundary = boundary[1:-1]
        if len(boundary) > 200:
            raise apache.SERVER_RETURN(apache.HTTP_BAD_REQUEST)
        if not boundary:
            return      # (no line is such a delimiter: an empty form)
        try:
            boundary = boundary.encode("latin-1")
        except UnicodeEncodeError:
            raise apache.SERVER_RETURN(apache.HTTP_BAD_REQUEST) from None
        _Multipart(self, body, boundary, limits, file_callback, field_callback).parse()

    def _add_pairs(self, pairs):
        """The (name, value) str pairs of a query string or urlencoded body,
        counted against the field limit first (one per request, not one
        method call per field)."""
        self._limits.count_fields(len(pairs))
        fields = []
        for name, value in pairs:
            item = StringField(value)
            item.name = name
            fields.append(item)
        self.list.extend(fields)

    # -------------------------------------------------------------- mapping API
    def add_field(self, key, value):
        """Add a value for ``key`` (after any it already has)."""
        if isinstance(value, (bytes, bytearray)):
            value = _decode(bytes(value))
        item = StringField(value)
        item.name = key
        self.list.append(item)

    def __setitem__(self, key, value):
        """Replace every value of ``key`` by ``value``."""
        table = self.list.table()
        if key in table:
            for item in table[key]:
                self.list.remove(item)
        self.add_field(key, value)

    def __getitem__(self, key):
        found = self.list.table()[key]
        return found[0] if len(found) == 1 else found

    def get(self, key, default=None):
        try:
            return self[key]
        except (TypeError, KeyError):
            return default

    def getfirst(self, key, default=None):
        found = self.list.table().get(key)
        return found[0] if found else default

    def getlist(self, key):
        return list(self.list.table().get(key, ()))

    def keys(self):
        return list(self.list.table().keys())

    def __iter__(self):
        return iter(self.keys())

    def has_key(self, key):
        return key in self.list.table()

    __contains__ = has_key

    def __len__(self):
        return len(self.list.table())

    def items(self):
        """(name, value) for every field, in the order received."""
        return [(item.name, item) for item in self.list]

    def __delitem__(self, key):
        for item in self.list.table()[key]:
            self.list.remove(item)

    def clear(self):
        self.list = FieldList()

    def __repr__(self):
        return repr(self.list.table())


class _Limits:
    """The limits in force for one request (see the module docstring)."""

    def __init__(self, req):
        dc = getattr(req, "_dir_config", None)
        # a directory's merged config does not change once made: its
        # options are read (and a bad one logged) once, not per request
        limits = getattr(dc, "form_limits", False)
        if not limits:
            computed = _limits_of(dc)
            if limits is None:      # a DirConfig's place for them
                dc.form_limits = computed
            limits = computed
        self.body, self.max_fields, self.memory, self.spool = limits
        self.fields = 0
        self.in_memory = 0

    def count_fields(self, n):
        self.fields += n
        if self.max_fields and self.fields > self.max_fields:
            raise apache.SERVER_RETURN(apache.HTTP_REQUEST_ENTITY_TOO_LARGE)

    def count_memory(self, n):
        self.in_memory += n
        if self.memory and self.in_memory > self.memory:
            raise apache.SERVER_RETURN(apache.HTTP_REQUEST_ENTITY_TOO_LARGE)


def _limits_of(dc):
    """(body, max_fields, memory, spool) for a directory's config (None:
    the defaults)."""
    options = dc.options if dc is not None else {}
    return ((dc.limit_request_body or 0) if dc is not None else 0,
            _int_option(options, "fastdispatch.util.max_fields", MAX_FIELDS),
            _int_option(options, "fastdispatch.util.max_memory", MAX_MEMORY),
            _int_option(options, "fastdispatch.util.spool_threshold", SPOOL_THRESHOLD))


def _int_option(options, name, default):
    value = options.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        apache.log_error("PythonOption %s: %r is not a number, using %d"
                         % (name, value, default), apache.APLOG_WARNING)
        return default


class _Body:
    """The request body through ``req.read``, in blocks, within
    LimitRequestBody; a transport error becomes the matching HTTP answer."""

    def __init__(self, req, length, limit):
        self._req = req
        self._left = length          # -1: unknown (chunked)
        self._limit = limit
        self._total = 0

    def read(self, n=BLOCK_SIZE):
        if self._left == 0:
            return b""
        if self._left > 0:
            n = min(n, self._left)
        try:
            data = self._req.read(n)
        except HTTPError as exc:
            raise apache.SERVER_RETURN(exc.status) from None
        if self._left > 0:
            self._left -= len(data)
            if not data:
                self._left = 0
        self._total += len(data)
        if self._limit and self._total > self._limit:
            raise apache.SERVER_RETURN(apache.HTTP_REQUEST_ENTITY_TOO_LARGE)
        return data

    def read_all(self, max_bytes):
        parts, size = [], 0
        while True:
            data = self.read()
            if not data:
                return b"".join(parts)
            size += len(data)
            if max_bytes and size > max_bytes:
                raise apache.SERVER_RETURN(apache.HTTP_REQUEST_ENTITY_TOO_LARGE)
            parts.append(data)


class _Multipart:
    """A streaming ``multipart/form-data`` reader: each part's content goes
    to its file as it arrives; at most one block plus a delimiter's length
    is held in memory."""

    def __init__(self, fs, body, boundary, limits, file_callback, field_callback):
        self.fs = fs
        self.body = body
        self.delim = b"--" + boundary
        # a delimiter inside the body follows a line break (CRLF; a bare LF
        # is tolerated, as mod_python does)
        self.marker = b"\n" + self.delim
        self.limits = limits
        self.file_callback = file_callback
        self.field_callback = field_callback
        self.buf = bytearray()
        self.eof = False

    def _fill(self):
        data = self.body.read()
        if data:
            self.buf += data
        else:
            self.eof = True
        return bool(data)

    def _readline(self):
        """One line (with its line break) of a part's head; 400 when too long."""
        start = 0
        while True:
            i = self.buf.find(b"\n", start)
            if i >= 0:
                line = bytes(self.buf[:i + 1])
                del self.buf[:i + 1]
                return line
            if len(self.buf) > MAX_PART_HEADER_LINE:
                raise apache.SERVER_RETURN(apache.HTTP_BAD_REQUEST)
            start = len(self.buf)
            if not self._fill():
                line = bytes(self.buf)
                self.buf.clear()
                return line

    def parse(self):
        if not self._skip_preamble():
            return
        while True:
            # after a delimiter: "--" closes the body, else the line ends
            while len(self.buf) < 2 and self._fill():
                pass
            if self.buf[:2] == b"--" or not self.buf:
                return
            self._readline()                      # transport padding + CRLF
            headers = self._read_part_headers()
            if headers is None:
                return
            if not self._read_part(headers):
                return

    def _skip_preamble(self):
        """Consume everything up to and including the first delimiter."""
        while len(self.buf) < len(self.delim) and self._fill():
            pass
        if self.buf.startswith(self.delim):
            del self.buf[:len(self.delim)]
            return True
        return self._copy_until_marker(None)

    def _read_part_headers(self):
        """The part's header lines up to the empty one, as mod_python reads
        them: [name, value] bytes as they came, the value with its leading
        space and line end, a folded line added to it as it is. None: the
        body ended first."""
        lines = []
        while True:
            line = self._readline()
            if not line:
                return None                       # truncated body
            if line in (b"\r\n", b"\n"):
                return lines
            if line[:1] in (b" ", b"\t") and lines:
                lines[-1][1] += line
                continue
            if len(lines) >= MAX_PART_HEADERS:
                raise apache.SERVER_RETURN(apache.HTTP_BAD_REQUEST)
            name, colon, value = line.partition(b":")
            if not colon:
                raise apache.SERVER_RETURN(apache.HTTP_BAD_REQUEST)
            lines.append([name, value])

    def _read_part(self, lines):
        """Copy one part's content to its file; False at the end of input."""
        fs, limits = self.fs, self.limits
        headers = apache.table()
        disp, disp_options = "", {}
        ctype, type_options = "text/plain", {}
        for name, value in lines:
            # the table reads the bytes as UTF-8 (mod_python's fails on
            # others; here they are ISO-8859-1); the parameters are parsed
            # from the bytes, as ISO-8859-1, the last such header's
            headers.add(_table_text(name), _table_text(value))
            lname = name.lower()
            if lname == b"content-disposition":
                disp, disp_options = parse_header(value)
            elif lname == b"content-type":
                ctype, type_options = parse_header(value)
        if "/" not in ctype:
            ctype = "application/octet-stream"   # as mod_python (IE 6 sent junk)
        name = disp_options.get("name")
        filename = disp_options.get("filename")
        limits.count_fields(1)
        if filename is not None:
            if self.file_callback is not None:
                file = self.file_callback(filename)
            else:
                file = tempfile.SpooledTemporaryFile(max_size=limits.spool, mode="w+b")
            write = file.write
        else:
            file = self.field_callback() if self.field_callback is not None else io.BytesIO()

            def write(data, _write=file.write):
                limits.count_memory(len(data))
                _write(data)
        found = self._copy_until_marker(write)
        file.seek(0)
        if filename:
            field = Field(name)
            field.filename = filename
        else:
            field = StringField(_decode(file.read()))
            file.seek(0)
            field.name = name
        field.file = file
        field.type = ctype
        field.type_options = type_options
        field.disposition = disp
        field.disposition_options = disp_options
        field.headers = headers
        fs.list.append(field)
        return found

    def _copy_until_marker(self, write):
        """Pass the content before the next delimiter to ``write`` (None:
        drop it) and consume the delimiter; False when the input ends first.
        The line break before the delimiter belongs to it. A line that only
        starts like one ("--BBnot" for boundary BB) is content (RFC 2046
        5.1.1: the boundary is followed by "--" or the line's end)."""
        marker = self.marker
        keep = len(marker)     # a delimiter's possible start, and the CR before it
        start = 0
        while True:
            buf = self.buf
            i = buf.find(marker, start)
            if i >= 0 and not self._delimiter_at(i + len(marker)):
                start = i + 1
                continue
            if i >= 0:
                end = i - 1 if i > 0 and buf[i - 1] == 0x0D else i
                if write is not None and end:
                    write(bytes(buf[:end]))
                del buf[:i + len(marker)]
                return True
            if self.eof:
                if write is not None and buf:
                    write(bytes(buf))
                buf.clear()
                return False
            flush = len(buf) - keep
            if flush > 0:
                if write is not None:
                    write(bytes(buf[:flush]))
                del buf[:flush]
                start = max(0, start - flush)
            self._fill()

    def _delimiter_at(self, after):
        """Whether the boundary that ends at ``after`` is a delimiter: "--"
        or only blanks up to the line's end follow it (read on as needed)."""
        buf = self.buf
        while True:
            rest = bytes(buf[after:after + MAX_PART_HEADER_LINE + 2])
            if rest[:2] == b"--":
                return True
            nl = rest.find(b"\n")
            if nl >= 0:
                return not rest[:nl].strip(b" \t\r")
            if (len(rest) >= 2 and rest.strip(b" \t\r")) or len(rest) > MAX_PART_HEADER_LINE:
                return False
            if not self._fill():
                return not rest.strip(b" \t\r")    # (the input ended there)


# ---------------------------------------------------------------- helpers

def apply_fs_data(object, fs, **args):
    """Call ``object`` with the form fields of ``fs`` whose names it accepts
    (all of them if it takes ``**kwargs``), plus ``args`` (the publisher
    passes ``req``) where accepted. Returns what the call returns."""
    from fastdispatch.handlers import publisher
    return publisher.call_with_form(object, fs, args)


def redirect(req, location, permanent=0, text=None):
    """Send the client to ``location`` (301 when ``permanent``, else 302)
    with a short page, then end the request (SERVER_RETURN(DONE))."""
    if not isinstance(location, str):
        raise TypeError("location must be of type str")
    if req._head_sent:
        raise IOError("Cannot redirect after headers have already been sent.")
    req.err_headers_out["Location"] = location
    req.status = apache.HTTP_MOVED_PERMANENTLY if permanent else apache.HTTP_MOVED_TEMPORARILY
    if text is None:
        req.write('<p>The document has moved <a href="%s">here</a></p>\n'
                  % html.escape(location, quote=True))
    else:
        req.write(text)
    raise apache.SERVER_RETURN(apache.DONE)

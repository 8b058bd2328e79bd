"""mod_python's output filters: ``PythonOutputFilter module[::callable] NAME``
registers a filter (server config), ``SetOutputFilter NAME[;NAME...]`` or
``AddOutputFilter NAME[;NAME...] .ext ...`` puts it on a section's
responses (pythonapi.rst, "Overview of a Filter Handler").

A filter sees the response body a piece at a time, as Apache's filter chain
passes it: one call per flush of the handler (``req.write`` with flush,
``req.flush()``) and one at the end, whose input ends with end-of-stream
(``filter.read()`` returns None there; ``''`` at the end of a piece that is
not the last). As mod_python does, a filter that has not closed is flushed
after each call, so anything but a single call that ends with
``filter.close()`` sends the head without a length (chunked). What a client
then sees follows from Apache's filters, each case observed on Apache 2.4.71
+ mod_python 3.5:

- a response written without flushing, through a filter that closes: one
  call, and a Content-Length of the filtered body (a static file too, up to
  256 KiB: a larger one is passed on in 256 KiB pieces, so chunked);
- a filter that does not close at end-of-stream: its output goes out, the
  end of the response never does (fastdispatch then closes the connection,
  where Apache leaves a chunked response open);
- a filter that raises: the traceback is logged and the filter is disabled
  (later pieces pass through unchanged); under PythonDebug On its page is
  the filter's output and the status is 500 if the head had not gone out;
  without it, what the failed call had taken is lost;
- error pages (the status pages, ErrorDocument texts) are not filtered: Apache
  sends them through the protocol filters only. A handler's traceback page
  (PythonDebug On) is its own output, and is.

Input filters (``PythonInputFilter``, ``Add/SetInputFilter``) change the
request body a handler reads: the chain gets the body a piece at a time as
the handler reads, then end-of-stream; as with Apache's ``r->remaining``, a
handler reads at most Content-Length bytes of what the filters made. An input filter that raises under PythonDebug On gives its
traceback page as the body, and the response status 500, as mod_python does.
"""
import logging
import sys

from fastdispatch import errorpages, loader

log = logging.getLogger("fastdispatch.error")


class FilterSpec:
    """One ``PythonOutputFilter``/``PythonInputFilter`` line."""

    __slots__ = ("name", "handler", "is_input", "module", "object", "directory")

    def __init__(self, handler, name, is_input, directory=None):
        self.name = name.lower()            # Apache keeps filter names lower-case
        self.handler = handler
        self.is_input = is_input
        self.directory = directory          # req.register_*_filter's dir
        module, _, obj = handler.partition("::")
        self.module = module
        self.object = obj or ("inputfilter" if is_input else "outputfilter")


class Filter:
    """The ``filter`` object a filter function gets (mp_filter)."""

    def __init__(self, spec, req):
        self.name = spec.name
        self.handler = spec.handler
        self.req = req
        self.is_input = 1 if spec.is_input else 0
        self.closed = 0
        self.disabled = False
        self._spec = spec
        self._in = b""          # this call's input, and how much was read
        self._pos = 0
        self._eos = False       # the input ends with end-of-stream
        self._out = []
        self._flushed = False
        self._obj = None        # the filter function, found on the first call

    # the call's input
    def read(self, length=-1):
        self._check_open()
        data, pos = self._in, self._pos
        if pos >= len(data):
            return None if self._eos else b""
        end = len(data) if length is None or length < 0 else min(len(data), pos + length)
        self._pos = end
        return data[pos:end]

    def readline(self, length=-1):
        self._check_open()
        data, pos = self._in, self._pos
        if pos >= len(data):
            return None if self._eos else b""
        end = data.find(b"\n", pos)
        end = len(data) if end < 0 else end + 1
        if length is not None and length >= 0:
            end = min(end, pos + length)
        self._pos = end
        return data[pos:end]

    # its output
    def write(self, data):
        self._check_open()
        if isinstance(data, str):
            data = data.encode("utf-8")
        elif not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError("a bytes-like object is required, not '%s'" % type(data).__name__)
        if data:
            self._out.append(bytes(data))

    def flush(self):
        self._check_open()
        self._flushed = True

    def close(self):
        """End the output (end-of-stream); the filter takes no more I/O."""
        if not self.closed:
            self.closed = 1
            self._flushed = True

    def pass_on(self):
        """Pass the rest of this call's input on unchanged (end-of-stream too)."""
        self._check_open()
        rest = self._in[self._pos:]
        self._pos = len(self._in)
        if rest:
            self._out.append(rest)
        if self._eos:
            self.close()
        else:
            self._flushed = True

    def disable(self):
        """Pass everything on unchanged from now on (mod_python does this
        to a filter that raised)."""
        self.disabled = True

    def _check_open(self):
        if self.closed:
            raise ValueError("I/O operation on a closed filter")


class Chain:
    """The filters of one response's output or one request's input, in order."""

    def __init__(self, req, specs):
        self.filters = [Filter(spec, req) for spec in specs]

    def run(self, data, eos):
        """Pass one piece of the body (``eos``: the last) through the chain.
        Returns (bytes, passed, eos_passed): what reaches the client, whether
        anything (data or a flush) did, and whether end-of-stream did."""
        passed = True
        for f in self.filters:
            if not passed:
                break
            if f.disabled:
                continue
            if f.closed:
                data, passed, eos = b"", False, False    # it took its last input
                continue
            data, passed, eos = self._call(f, data, eos)
        return data, passed, eos

    def _call(self, f, data, eos):
        f._in, f._pos, f._eos = data, 0, eos
        f._out, f._flushed = [], False
        req = f.req
        try:
            obj = f._obj
            if obj is None:
                obj = f._obj = _resolve(f._spec, req)     # once per response
            obj(f)
            if not f.closed:
                f._flushed = True       # mod_python flushes a filter after each call
        except BaseException:     # (any, as mod_python's bare except)
            self._report(f, sys.exc_info())
        out = b"".join(f._out)
        f._in, f._out = b"", []
        eos_out = bool(f.closed)
        return out, f._flushed or eos_out or bool(out), eos_out

    def _report(self, f, exc_info):
        """mod_python's ReportError for a filter: logged; disabled; under
        PythonDebug On the traceback page is its output, flushed."""
        req = f.req
        f.disable()
        tb_text = "".join(errorpages.format_exception(exc_info))
        log.error("[client %s] %s %s: %s (URI %s)", req.connection.remote_ip, f.name,
                  f.handler, tb_text.rstrip(), req.uri)
        dc = req._dir_config
        if dc is not None and dc.debug:
            if not req._head_sent:
                req.status = 500
                req.content_type = "text/html"
            f._out.append(errorpages.debug_page(f.name, f.handler, exc_info).encode("utf-8"))
            f._flushed = True
        else:
            f._out = []         # never flushed: what it wrote goes nowhere


def _resolve(spec, req):
    """The filter's callable: its module imported as a handler's is (with
    the request's PythonPath), then the named object."""
    dc = req._dir_config
    python_path = dc.python_path if dc is not None else None
    if python_path is not None:
        for p in reversed(python_path):
            loader.add_to_sys_path(p)
    elif spec.directory:
        loader.add_to_sys_path(spec.directory)      # (PythonPath, when set, wins)
    search = python_path or ([spec.directory] if spec.directory else ())
    module = loader.import_module(spec.module, autoreload=dc.autoreload if dc else True,
                                  path=search)
    obj = module
    for part in spec.object.split("."):
        obj = getattr(obj, part)
    return obj


def add_filter(req, name, is_input, registry=None, log_unknown=False):
    """Put the filter ``name`` at the end of the request's output (or
    input) chain: one the request registered, else one of the server's
    (``registry``). ``req.add_output_filter()`` ignores a name nothing
    registered, as mod_python on Apache does (so Apache's own
    "CONTENT_LENGTH" is a no-op here, where a whole unflushed body gets its
    length anyway); a section's Set/AddOutputFilter logs it (AH00082)."""
    key = name.lower()
    spec = (req.__dict__.get("_own_filters") or {}).get((key, is_input))
    if spec is None:
        if registry is None:
            registry = req._dispatcher.config.filters
        spec = registry.get(key)
        if spec is None or spec.is_input != is_input:
            if log_unknown:
                log.error("[client %s] AH00082: an unknown filter was not added: %s",
                          req.connection.remote_ip, key)
            return
    if is_input:
        chain = req._body.chain if isinstance(req._body, FilteredBody) else None
        if chain is None:
            limit = req._clength_in if not req._chunked_in else None
            req._body = FilteredBody(req._body, Chain(req, [spec]), limit)
        else:
            chain.filters.append(Filter(spec, req))
    elif req._filters is None:
        req._filters = Chain(req, [spec])
    else:
        req._filters.filters.append(Filter(spec, req))


def register_filter(req, name, handler, directory, is_input):
    """``req.register_output_filter(name, handler[, dir])``: a filter for
    this request only. mod_python runs it as its generic filter, so its
    ``filter.name`` is "mod_python"."""
    own = req.__dict__.setdefault("_own_filters", {})
    spec = FilterSpec(handler, "mod_python", is_input, directory)
    own[(name.lower(), is_input)] = spec


class FilteredBody:
    """The request body as the input filters make it, in place of the
    transport's body reader for the handler's reads. The body goes through
    the filters a piece (64 KiB) at a time as the handler reads, the last
    call with end-of-stream, so a large body is never held whole."""

    PIECE = 65536

    def __init__(self, body, chain, limit):
        self._raw = body
        self.chain = chain
        self._left = limit      # bytes the handler may still get (Content-Length), or None
        self._buf = b""         # filtered, not read yet
        self._done = False

    @property
    def continue_owed(self):
        return getattr(self._raw, "continue_owed", False)

    def _fill(self, want):
        """Filter until ``want`` bytes (None: all) are buffered or the body ends."""
        while not self._done and (want is None or len(self._buf) < want):
            piece = self._raw.read(self.PIECE)
            out, _, _ = self.chain.run(piece, not piece)
            if not piece:
                self._done = True
            if out:
                self._buf += out

    def _take(self, n):
        if self._left is not None:
            n = min(n, self._left)
            self._left -= n
        data, self._buf = self._buf[:n], self._buf[n:]
        return data

    def read(self, length=-1):
        if length is None or length < 0:
            self._fill(None)
            return self._take(len(self._buf))
        self._fill(length)
        return self._take(length)

    def readline(self, length=-1):
        limited = length is not None and length >= 0
        while True:
            end = self._buf.find(b"\n")
            if end >= 0 or self._done or (limited and len(self._buf) >= length):
                break
            self._fill(len(self._buf) + 1)
        n = end + 1 if end >= 0 else len(self._buf)
        return self._take(min(n, length) if limited else n)

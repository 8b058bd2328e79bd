"""The phase pipeline: one request through Apache's phases with mod_python's
return-code rules.

post_read_request, trans, (map to storage, directive lookup), header_parser
and init, access, authen and authz (when Require is in force), type_checker,
fixup, handler, log, cleanup. A phase runs its handlers in order while they
return what mod_python goes on with (CONTINUE_ON: DECLINED for the phases
where the first answer wins, OK only for the response phase, either for the
others); the last code is the phase's. Any code other than OK and DECLINED
ends the request: DONE as it stands, an HTTP_* code with the server's error
page.
"""
import copy
import logging
import os
import re
import sys
import time

from fastdispatch import _speedups, access_compat, apache, authz, byterange, errorpages, filters, loader
from fastdispatch.config import alias as mod_alias
from fastdispatch.config.directives import DIRECTIVE_OF_PHASE, PHASE_OF_DIRECTIVE
from fastdispatch.config.merge import HandlerEntry, entries_for_file, merge
from fastdispatch.errors import ClientGone, ClientReadEOF, ClientReadTimeout, HTTPError
from fastdispatch.handlers import static
from fastdispatch.request import (HeadRefused, Request, ServerInfo, _host_port, _hostname,
                                  drop_request_body)
from fastdispatch.transport import Outcome

_headers = _speedups.headers
# the URI hot path's functions, read once (a module attribute read is a dict
# lookup each time; these run for every request)
_split_target = _speedups.uri.split_target
_unquote_path = _speedups.uri.unquote_path
_normalize_path = _speedups.uri.normalize_path
_map_to_storage = _speedups.uri.map_to_storage

log = logging.getLogger("fastdispatch.error")

OK, DECLINED, DONE = apache.OK, apache.DECLINED, apache.DONE
# mod_python's rule (its apache._status_values): the codes on which a
# phase's next handler runs; any other ends the phase with that code. In
# the response phase DECLINED ends it too (Apache's default handler then
# serves the file).
CONTINUE_ON = {
    "postreadrequest": (DECLINED, OK), "trans": (DECLINED,), "headerparser": (DECLINED, OK),
    "init": (DECLINED, OK), "access": (DECLINED, OK), "authen": (DECLINED,),
    "authz": (DECLINED,), "type": (DECLINED,), "fixup": (DECLINED, OK), "handler": (OK,),
    "log": (DECLINED, OK), "cleanup": (OK,),
}
MAX_REDIRECTS = 10
ROUTE_TTL = 1.0             # seconds a cached route is trusted (as its parts)
ROUTE_CACHE_SIZE = 4096
_monotonic = time.monotonic
_DROPS_CONNECTION = errorpages.DROPS_CONNECTION     # (read for every response)


# phases a route's config may have handlers for and still be "plain"
_PLAIN_OK = frozenset(("handler", "log", "cleanup", "authen", "authz"))


class _Route:
    """Where a URI led: filename, path_info and the merged directory config,
    with what follows from them alone: the default content type, the handler
    name, whether the file is a directory, and whether the request goes
    straight to the response phase, after authentication if Require is in
    force (``plain``: no handler of another phase before it, no mod_dir,
    not a .ht* file)."""
    __slots__ = ("expires", "filename", "path_info", "link_checked", "dir_config",
                 "ctype", "handler", "is_dir", "plain", "alias")

    def __init__(self, expires, filename, path_info, link_checked, dir_config, alias=None):
        self.expires = expires
        self.filename = filename
        self.path_info = path_info
        self.link_checked = link_checked
        self.dir_config = dir_config
        self.alias = alias
        self.is_dir = bool(filename) and not path_info and static.is_dir(filename)
        self.ctype = static.default_type(filename, path_info, dir_config)
        self.handler = dir_config.handler_name_for(filename)
        self.plain = not (
            self.is_dir
            or dir_config.access_rules is not None
            or (filename and filename.rpartition("/")[2].startswith(".ht"))
            or dir_config.redirect_all is not None or dir_config.redirects
            or any(entries and phase not in _PLAIN_OK
                   for phase, entries in dir_config.handlers.items()))

    def holds(self, req):
        """Whether ``req`` is still where this route led (no handler of an
        earlier phase moved it or changed its config)."""
        return (req._dir_config is self.dir_config and req.filename is self.filename
                and req.path_info is self.path_info)


class _Abort(Exception):
    """Ends request processing with a status (DONE or an HTTP code)."""

    def __init__(self, status):
        self.status = status


class HList:
    """``req.hlist``: the handler being run."""

    def __init__(self, entry):
        self.handler = entry.name
        self._import_dir = entry.directory  # (where a handler it adds imports from)
        self.parent = None
        self.silent = 1 if entry.silent else 0
        if entry.dynamic:
            # one req.add_handler() added: mod_python names no directory
            # (it imports from the one given, or the adding handler's)
            self.directory = None
            self.is_location = 0
        elif entry.location is not None:
            # a <Location>'s pattern, as written
            self.directory = entry.location
            self.is_location = 1
        else:
            # a directory ends with "/" (a <Directory>'s path)
            d = entry.directory
            self.directory = d + "/" if d and not d.endswith("/") else d
            self.is_location = 0


# mod_python's words for a handler result that is not an int (bool too)
_RESULT_WARNING = ("Handler has returned result or raised SERVER_RETURN\n"
                   "exception with argument having non integer type. Type of value returned\n"
                   "was %s, whereas expected " + str(int) + ".")


def _server_return_result(req, exc):
    """The result a SERVER_RETURN carries, read as mod_python reads it:
    SERVER_RETURN(result, status) sets the status (one that is no int is
    the status attribute's TypeError); SERVER_RETURN() has no result
    (IndexError, reported as a handler error); SERVER_RETURN((result,
    status)) carries a tuple, which is no int result."""
    args = exc.args
    if len(args) == 2:
        result, status = args
        if status:
            if not isinstance(status, int):
                raise TypeError("'%s' object cannot be interpreted as an integer"
                                % type(status).__name__)
            req.status = status
        return result
    return args[0]


class Dispatcher:
    """mod_python's request pipeline over a Config. Hosted by the builtin
    server (``handle``), and by the adapters."""

    def __init__(self, config):
        loader.install_aliases()
        self.config = config
        srv = config.server
        self.server_config = srv
        self.server_info = ServerInfo(config, self)
        apache.main_server = self.server_info
        # mod_python names its (only) interpreter after the server
        apache.interpreter = self.server_info.server_hostname
        mode = getattr(srv, "server_tokens_mode", "full")
        from fastdispatch import __version__
        self.server_header = "fastdispatch" if mode in ("prod", "productonly") \
            else "fastdispatch/%s" % __version__
        self.document_root = config.document_root
        self.global_dir = gd = merge(config.global_section.directives, [])
        # phases only the server's config can give a handler, which run
        # before a request is mapped to its directory (most servers have none)
        self._server_phases = bool(gd.handlers.get("postreadrequest") or gd.handlers.get("trans")
                                   or gd.handlers.get("init"))
        sections = config.sections
        specs = [_speedups.lookup.SectionSpec(s.kind, s.pattern, s.regex,
                                              sections.index(s.parent) if s.parent else -1)
                 for s in sections]
        self.lookup = _speedups.lookup.Lookup(
            specs, lambda idx: merge(config.global_section.directives,
                                     [sections[i] for i in idx]))
        self._location_handlers = any(
            s.kind == "location" and any(d.key in PHASE_OF_DIRECTIVE for d in s.directives)
            for s in sections)
        self._routes = {}
        # (tried in config order, the first that matches wins, as mod_alias)
        self._aliases = list(config.aliases)
        # mod_alias: the server's Redirect lines, and whether a <Location>
        # has a section-wide one (which applies at translate time)
        self._redirects = list(getattr(config, "redirects", ()))
        self._location_redirects = any(
            s.kind == "location" and any(d.key in mod_alias.REDIRECT_DIRECTIVES
                                         for d in s.directives)
            for s in sections)
        for d in config.python_imports:
            self._python_import(d)

    @classmethod
    def from_config(cls, path):
        from fastdispatch.config.parser import parse_config
        return cls(parse_config(path))

    @classmethod
    def build(cls, *items, base_dir=None, **directives):
        """A Dispatcher over a configuration written in Python:
        ``Dispatcher.build(Directory("htdocs/app", SetHandler="mod_python",
        PythonHandler="app"), DocumentRoot="htdocs")`` (see builder.py)."""
        from fastdispatch.builder import build_config
        return cls(build_config(*items, base_dir=base_dir, **directives))

    # ------------------------------------------------------------ hosting
    def connection(self, client=("127.0.0.1", 0), server=("127.0.0.1", 80), **kw):
        """A sans-IO connection: ``receive(bytes) -> bytes`` (adapters/sansio.py)."""
        from fastdispatch.adapters.sansio import Connection
        return Connection(self, client, server, **kw)

    def wsgi(self):
        """A PEP 3333 application (adapters/wsgi.py)."""
        from fastdispatch.adapters.wsgi import WSGIApplication
        return WSGIApplication(self)

    def asgi(self, **kw):
        """An ASGI 3 application; handlers run in a thread pool (adapters/asgi.py)."""
        from fastdispatch.adapters.asgi import ASGIApplication
        return ASGIApplication(self, **kw)

    def _python_import(self, d):
        module = d.args[0]
        try:
            if module.endswith(".py") or os.path.isabs(module):
                loader.import_module(module)
            else:
                __import__(module)
        except Exception:
            log.error("%s:%d: PythonImport %s failed:\n%s", d.filename, d.lineno, module,
                      "".join(errorpages.format_exception(sys.exc_info())))

    # ------------------------------------------------------------ transport API
    def handle(self, head, body, conn, send):
        error = None
        if head.method == "CONNECT":
            return self._connect(head, body, conn, send)
        try:
            path_raw, query = _split_target(head.target)
            if path_raw == "*" and head.method != "OPTIONS":
                raise HTTPError(400, "'*' is only a target for OPTIONS")
        except HTTPError as exc:
            # a malformed target is refused while the request is read, as Apache
            send(self.error_response(exc.status, head, exc.detail))
            return Outcome(exc.status, 0, False)
        if path_raw == "*":
            return self._options_star(head, body, conn, send)
        try:
            path = _normalize_path(_unquote_path(path_raw))
        except HTTPError as exc:
            error = exc
            path, query = head.target.split("?", 1)[0], None
        req = Request(head, body, conn, send, self, path, query, self.server_info)
        if error is not None:
            # a bad URL: Apache's error page, after the Host header is known
            req._dir_config = self.global_dir
            self._send_error(req, error.status)
            req._finish()
            return Outcome(error.status, req.bytes_sent, not req._close, None)
        try:
            try:
                status = self._process(req)
                try:
                    req._finish()
                except HeadRefused as exc:
                    # the head could not go out (a CR or LF in a field): a
                    # close-delimited 500 in its place, as Apache's
                    req._error_response = True
                    status = self._answer(req, exc.status)
                    req._finish()
                if req._late_status is not None:
                    status = req._late_status   # the body failed before the head went out
            except ClientGone as exc:
                # the client went away mid-response: the transport's log line
                # shows the response that was going out, as Apache's does
                exc.outcome = Outcome(req.status, req.bytes_sent, False, req.user)
                raise
        finally:
            # the log and cleanup handlers run once the response is out, as
            # Apache's log_transaction and pool cleanups: a slow cleanup does
            # not hold the response's end back, and what a log handler sets
            # (a status, a header) does not reach it
            self._log_and_cleanup(req)
        return Outcome(status, req.bytes_sent, not (req._close or req._drop_after), req.user)

    def error_response(self, status, head, detail="", method=None, host=None,
                       connection=None, version=11):
        """A whole error response for a request that never reached a handler
        (a protocol error); the connection is closed after it. ``detail`` is
        shown where Apache shows its error notes (400, 417). For a head
        refused as a whole (no ``head``): ``method``, the request line's (a
        HEAD gets the head alone, without a length, as Apache answers), and
        ``host``, ``connection`` and ``version``, its Host and Connection
        headers and HTTP version when Apache had read them (a 417: the page's
        address line names the host, and its head says what Apache's
        keep-alive rules would, though the connection is closed either way)."""
        if head is not None:
            method = head.method
        body = errorpages.error_page(status, method=method or "GET",
                                     server_admin=self.server_info.server_admin,
                                     signature=self._signature(None, host), notes=detail)
        if method == "HEAD":
            length, body = -1, b""
        else:
            length = len(body)
        keep_alive, terms = False, ""
        if status == 417:
            keep_alive, terms = self._terms_417(connection, version)
        return _headers.build_response_head(
            11, status, (), content_length=length, keep_alive=keep_alive,
            keep_alive_header=terms, server=self.server_header,
            content_type="text/html; charset=iso-8859-1", body=body)

    def _terms_417(self, connection, version):
        """(keep_alive, Keep-Alive value) for the head of a 417: what Apache's
        keep-alive rules say of the request (its first on the connection)."""
        srv = self.server_config
        tokens = [t.strip().lower() for t in (connection or "").split(",")]
        if not srv.keep_alive or "close" in tokens:
            return False, ""
        if "keep-alive" in tokens:
            return True, _keep_alive_value(srv.keep_alive_timeout,
                                           srv.max_keep_alive_requests)
        return version >= 11, ""

    def keep_alive_terms(self, req):
        """Whether the connection stays open after ``req``'s response, and
        the Keep-Alive header value for it ("" for none): Apache names the
        terms only to a client that asked for keep-alive by name; HTTP/1.1
        persistence is otherwise implicit."""
        srv = self.server_config
        if not srv.keep_alive or req.status in _DROPS_CONNECTION:
            return False, ""
        if req.expecting_100 and req._continue_owed():
            return False, ""        # the client may still send the body, or not
        maxreq = srv.max_keep_alive_requests
        keepalives = 0
        if maxreq:
            keepalives = req.connection.keepalives
            if keepalives >= maxreq:
                return False, ""
        conn = req.headers_in.get("Connection")
        if not conn or "keep-alive" not in _TOKENS.split(conn.lower()):
            return True, ""     # (a token, not a part of one: "x-keep-alive" is not)
        return True, _keep_alive_value(srv.keep_alive_timeout,
                                       maxreq - keepalives if maxreq else 0)

    def _signature(self, req, host_header=None):
        srv = self.server_config
        if srv.server_signature == "off":
            return ""
        if req is not None:
            host = req.hostname or self.server_info.server_hostname
            port = req.server_port() if req.hostname else 80
        else:
            # a head refused once its Host was read names that host and port;
            # one refused before (or without a Host), the server, port 80
            host = _hostname("/", host_header) if host_header else None
            port = _host_port(host_header) if host else 80
            host = host or self.server_info.server_hostname
        return "%s Server at %s Port %d" % (self.server_header, escape_html(host), port)

    def _connect(self, head, body, conn, send):
        """CONNECT, as Apache without mod_proxy answers it: a target in
        authority form (host:port) reaches no handler and gets the default
        handler's 405; any other target is a bad request line (400)."""
        m = _AUTHORITY_FORM.match(head.target)
        if m is None:
            send(self.error_response(400, head, "CONNECT needs a host:port target"))
            return Outcome(400, 0, False)
        req = Request(head, body, conn, send, self, "", None, self.server_info)
        # the target names the host (and port) the page's address line shows,
        # as an absolute-form target does
        req.headers_in["Host"] = head.target
        req._dir_config = self.global_dir
        # the default handler reads and drops the body first (its 100 Continue)
        status = drop_request_body(body) or apache.HTTP_METHOD_NOT_ALLOWED
        if status == apache.HTTP_METHOD_NOT_ALLOWED:
            req.allow_methods(["GET", "HEAD", "POST", "OPTIONS"])
            req.err_headers_out["Allow"] = errorpages.allow_header(req.allowed)
        self._send_error(req, status)
        req._finish()
        return Outcome(status, req.bytes_sent, not req._close, None)

    def _options_star(self, head, body, conn, send):
        status = drop_request_body(body)
        if status is not None:
            send(self.error_response(status, head))
            return Outcome(status, 0, False)
        # a 100 Continue still owed (no body to read): the connection closes
        keep = (head.keep_alive and self.server_config.keep_alive
                and not getattr(body, "continue_owed", False))
        send(_headers.build_response_head(11, 200, (), content_length=0, keep_alive=keep,
                                           server=self.server_header))
        return Outcome(200, 0, keep)

    # ------------------------------------------------------------ the phases
    def _process(self, req):
        try:
            self._run(req)
            return req.status
        except _Abort as abort:
            return self._answer(req, abort.status)

    def _run(self, req):
        gd = self.global_dir
        req._dir_config = gd
        # a phase without handlers is skipped here, without a call: most
        # requests run two or three of the twelve
        route = None
        if self._server_phases or req.method == "TRACE":
            # mod_python runs PythonInitHandler in its post-read-request
            # hook, before PythonPostReadRequestHandler: only the server's
            # (no directory is known yet). It then marks the request
            # (python_init_ran), so one in a <Directory> never runs
            rc = self._phase(req, "init", abort=False) if gd.handlers.get("init") else OK
            if rc in (OK, DECLINED):
                rc = self._phase(req, "postreadrequest", abort=False)
            if rc not in (OK, DECLINED):
                # ap_read_request answers and gives up on the connection
                req._drop_after = True
                raise _Abort(rc)
            rc = self._phase(req, "trans")
            if rc == DECLINED:
                self._translate(req)
            if req.method == "TRACE":
                # TraceEnable Off, as Debian ships Apache: core refuses it in
                # map_to_storage, after a Redirect has answered
                req.err_headers_out["Allow"] = ""
                raise _Abort(apache.HTTP_METHOD_NOT_ALLOWED)
            req._dir_config = self._match(req.uri, req.filename, req.path_info)
            added = vars(req).get("_added")
            if added:
                # handlers added so far are the request's own, whatever
                # directory it maps to (mod_python keeps them apart)
                req._dir_config = _with_added(req._dir_config, added)
        else:
            route = self._route(req)
            if route.plain:
                # nothing but authentication runs before the response phase:
                # what the phases below would do with this config, in short
                if req.filename:
                    req.canonical_filename = req.filename
                dc = route.dir_config
                if dc.requires:
                    self._authorize(req, dc)
                    if not route.holds(req):
                        # an authentication handler moved the request
                        self._phases_from_type_check(req, None)
                        return
                # (mod_mime's type and handler replace what an
                # authentication handler set, as _type_check)
                if route.ctype:
                    req.content_type = req._server_type = route.ctype
                if route.handler:
                    req.handler = route.handler
                if dc.mime_extras:
                    _mime_extras(req, dc)
                self._respond(req, dc)
                return
        dc = req._dir_config
        if req.filename:
            req.canonical_filename = req.filename
        if req._dir_config.handlers.get("headerparser"):
            self._phase(req, "headerparser")
        if req.filename and req.filename.rpartition("/")[2].startswith(".ht"):
            # Apache ships <Files ".ht*"> Require all denied: .htaccess and
            # .htpasswd are never served
            raise _Abort(apache.HTTP_FORBIDDEN)
        rules = req._dir_config.access_rules
        if rules is not None and not self._access_compat(req, rules):
            if not rules.satisfy_any or not req._dir_config.requires:
                raise _Abort(apache.HTTP_FORBIDDEN)
            self._authorize(req, req._dir_config)     # Satisfy Any: a user will do
            rules = None
        elif rules is not None and rules.satisfy_any:
            rules = False               # Satisfy Any: the client needs no user
        if req._dir_config.handlers.get("access"):
            if rules is False and req._dir_config.requires:
                # Satisfy Any: an access handler's refusal asks for a user
                # instead, as Apache's access checkers under Satisfy Any
                rc = self._phase(req, "access", abort=False)
                if rc not in (OK, DECLINED):
                    rules = None
            else:
                self._phase(req, "access")
        if req._dir_config.requires and rules is not False:
            self._authorize(req, req._dir_config)
        if route is not None and not route.holds(req):
            route = None        # an earlier handler moved the request elsewhere
        self._phases_from_type_check(req, route)

    def _phases_from_type_check(self, req, route):
        """type_checker, fixups, mod_dir and the response phase."""
        self._type_check(req, req._dir_config, route)
        if req._dir_config.handlers.get("fixup"):
            self._phase(req, "fixup")
            if route is not None and not route.holds(req):
                route = None
        dc = req._dir_config
        if dc.redirect_all is not None or dc.redirects:
            self._fixup_redirect(req, dc)       # (mod_alias's fixup, before mod_dir's)
        self._fixup_dir(req, req._dir_config, route)
        self._respond(req, req._dir_config)

    def _route(self, req):
        """translate_name + map_to_storage + the directive lookup for
        ``req.uri``, from the route cache when an answer younger than
        ROUTE_TTL is there (each part is cached as long on its own; this
        saves putting them together per request)."""
        now = _monotonic()
        route = self._routes.get(req.uri)
        if route is not None and route.expires > now:
            req.filename = route.filename
            req.path_info = route.path_info
            req._link_checked = route.link_checked
            req._dir_config = route.dir_config
            req._alias = route.alias
            return route
        self._translate(req)
        dc = req._dir_config = self._match(req.uri, req.filename, req.path_info)
        route = _Route(now + ROUTE_TTL, req.filename, req.path_info, req._link_checked, dc,
                       req._alias)
        routes = self._routes
        if len(routes) >= ROUTE_CACHE_SIZE:
            routes.clear()
        routes[req.uri] = route
        return route

    def _match(self, uri, filename, path_info):
        """The merged directory config for a request. Apache walks the file
        itself as a directory only when the whole filename exists (no
        path_info) and FollowSymLinks is in force, the default: so
        ``<Directory /srv/a/page.html>`` applies to that page, but not to
        /a/page.html/more or to a missing page."""
        walk_file = bool(filename) and not path_info and os.path.exists(filename)
        return self.lookup.match(uri, filename, walk_file)

    def _translate(self, req):
        """Apache's translate_name and map_to_storage: mod_alias's Redirect
        lines (a <Location>'s section-wide one, then the server's), then
        Alias or DocumentRoot, then the directory walk (filename +
        path_info)."""
        uri = req.uri
        req._alias = None
        if self._location_redirects:
            # (Apache walks the <Location> sections before translate_name)
            rule = self.lookup.match(uri, None).redirect_all
            if rule is not None:
                self._alias_redirect(req, mod_alias.find((rule,), uri))
        if self._redirects:
            self._alias_redirect(req, mod_alias.find(self._redirects, uri))
        root, rel = self.document_root, uri
        link_root = None
        for prefix, target in self._aliases:
            matched = mod_alias.alias_matches(uri, prefix)
            if matched:
                # the file is the target + the rest of the URL, as mod_alias
                # puts them together
                req._alias = (prefix, target)
                rest = uri[matched:]
                if not target.rstrip("/") or (
                        static.is_dir(target) and (not rest or rest[0] == "/"
                                                   or target[-1] == "/")):
                    root, rel = target, "/" + rest.lstrip("/")
                else:
                    # an Alias to a file (what follows it in the URL is
                    # path_info), or a name the rest of the URL goes on
                    # ("Alias /a/ /srv/b": /a/c is /srv/bc)
                    base = target.rstrip("/")
                    root, _, name = base.rpartition("/")
                    root = root or "/"
                    rel = "/" + name + rest
                    link_root = base if not rest or rest[0] == "/" else root
                break
        if self._location_handlers and self._location_has_handler(uri):
            # a <Location> mod_python handles maps to no file: no filename,
            # no path_info, and so no <Directory> section applies (as
            # mod_python 3.5 on Apache 2.4.71 shows it)
            req.filename = None
            req.path_info = None
            req._link_checked = None
            return
        try:
            req.filename, req.path_info = _map_to_storage(root, rel)
        except HTTPError as exc:
            # a component the file system refuses (a name too long, no
            # search permission): Apache's directory walk answers 403
            if exc.status == apache.HTTP_FORBIDDEN:
                log.error("[client %s] AH00036: access to %s failed (filesystem path '%s')",
                          req.connection.remote_ip, uri, root.rstrip("/") + rel)
            raise _Abort(exc.status) from None
        target = static.link_target(link_root or root, req.filename)
        req._link_checked = req.filename if target is None else None   # no link below root
        if target is not None and not (self._link_allowed(uri, req.filename, target)
                                       and self._links_followed(uri, req.filename)):
            log.error("[client %s] AH00037: Symbolic link not allowed or link target not "
                      "accessible: %s", req.connection.remote_ip, req.filename)
            raise _Abort(apache.HTTP_FORBIDDEN)

    def _link_allowed(self, uri, filename, target):
        """A symbolic link is followed when it stays under its root and its
        target is under the same <Directory>/<Files> sections as the link
        (a link cannot take a file out of, or into, a section's rules)."""
        if target is False:
            return False
        return self._match(uri, target, "").sections == \
            self._match(uri, filename, "").sections

    def _links_followed(self, uri, filename):
        """Options for the linked file's directory: FollowSymLinks (Apache's
        default), or SymLinksIfOwnerMatch with the link and its target
        owned by one user; neither: the link is refused (403)."""
        opts = self._match(uri, filename, "").link_options
        if "followsymlinks" in opts:
            return True
        if "symlinksifownermatch" in opts:
            return static.link_owner_matches(filename)
        return False

    def _location_has_handler(self, uri):
        """Whether mod_python keeps ``uri`` off the file system: when the
        last <Location> (in merge order) with any mod_python directive has
        a handler. One that only sets PythonOption or PythonDebug after it
        maps the URL to a file again (as mod_python 3.5 on Apache 2.4.71
        answers; a section without mod_python directives does not count)."""
        cfg = self.lookup.match(uri, None)
        last = None
        for s in cfg.sections:
            if s.kind in ("location", "locationmatch") and any(
                    d.key.startswith("python") for d in s.directives):
                last = s
        return last is not None and any(
            d.key in PHASE_OF_DIRECTIVE or d.key == "pythonhandlermodule"
            for d in last.directives)

    def _access_compat(self, req, rules):
        """Order/Allow/Deny (access_compat.py): whether the client may in."""
        conn = req.connection
        if access_compat.allowed(rules, conn.remote_ip, req.subprocess_env,
                                 lambda: req.get_remote_host(apache.REMOTE_DOUBLE_REV)):
            return True
        log.error("[client %s] AH01797: client denied by server configuration: %s",
                  conn.remote_ip, req.filename or "uri " + req.uri)
        return False

    def _alias_redirect(self, req, found, where="translate"):
        """End the request as mod_alias does for the Redirect line that
        matched (``found``: (rule, target) from config.alias.find; None:
        go on): its status, with the Location it builds for a 3xx (a
        target that is no URL is a 500)."""
        if found is None:
            return
        rule, target = found
        status = rule.status
        if where == "translate":
            # the error page is the one the <Location> sections give, as
            # Apache answers before it knows the file
            req._dir_config = self.lookup.match(req.uri, None)
        if mod_alias.is_redirect(status):
            location = mod_alias.location(target, req.args, req.construct_url)
            if location is None:
                log.error("[client %s] AH0067%d: cannot redirect '%s' to '%s'; target is "
                          "not a valid absoluteURI or abs_path", req.connection.remote_ip,
                          4 if where == "translate" else 6, req.uri, target)
                raise _Abort(apache.HTTP_INTERNAL_SERVER_ERROR)
            req.headers_out["Location"] = location
        raise _Abort(status)

    def _fixup_redirect(self, req, dc):
        """mod_alias's fixup: the Redirect lines of the request's sections
        (the section-wide one first, then the others, the most specific
        section's first)."""
        rule = dc.redirect_all
        if rule is not None:
            self._alias_redirect(req, mod_alias.find((rule,), req.uri), "fixup")
        if dc.redirects:
            self._alias_redirect(req, mod_alias.find(dc.redirects, req.uri), "fixup")

    def context_info(self, req):
        """(CONTEXT_PREFIX, CONTEXT_DOCUMENT_ROOT) for ``req``: the Alias
        that mapped it (its URL-path and target, as mod_alias's
        ap_set_context_info), or "" and the DocumentRoot."""
        alias = req.__dict__.get("_alias")
        if alias is not None:
            return alias
        return "", self.document_root

    def _authorize(self, req, dc):
        """The Require lines: a line that needs no user (all, ip, local)
        decides first; authentication runs only when a line names users."""
        verdict = dc.authz_verdict
        if verdict is None:
            conn = req.connection
            verdict = authz.verdict_without_user(dc.requires, conn.remote_ip, conn.local_ip)
        if verdict is authz.NEEDS_USER:
            self._authenticate(req, dc)
        elif verdict is authz.DENIED:
            log.error("[client %s] AH01630: client denied by server configuration: %s",
                      req.connection.remote_ip, req.filename or req.uri)
            raise _Abort(apache.HTTP_FORBIDDEN)

    def _authenticate(self, req, dc):
        # (an authentication handler runs without AuthType or AuthName too,
        # as on Apache: it finds no credentials and refuses)
        rc = self._phase(req, "authen", abort=False) if dc.handlers.get("authen") else DECLINED
        if rc == apache.HTTP_UNAUTHORIZED:
            self._note_auth_failure(req, dc)
            raise _Abort(rc)
        if rc == DECLINED and not dc.auth_type:
            log.error("[client %s] AuthType not set for %s: Require has no effect",
                      req.connection.remote_ip, req.uri)
            raise _Abort(apache.HTTP_INTERNAL_SERVER_ERROR)
        if rc == DECLINED and dc.auth_type.lower() != "basic":
            # nothing checks the user for another AuthType (there is no
            # mod_auth_digest here): Apache's decl_die
            log.error("[client %s] AH00025: configuration error: couldn't check user: %s",
                      req.connection.remote_ip, req.uri)
            raise _Abort(apache.HTTP_INTERNAL_SERVER_ERROR)
        if rc == DECLINED:
            # nothing authenticated the user: mod_auth_basic's answer. It
            # asks for Basic credentials; given some, it would check them
            # with an authn provider (AuthUserFile...), which fastdispatch
            # does not have: Apache's answer then is 500. A user the
            # declining handler set (req.get_basic_auth_pw() sets one)
            # does not count: mod_auth_basic checks the credentials itself
            auth = req.headers_in.get("Authorization")
            if auth:
                if auth.split(None, 1)[0].lower() == "basic":
                    log.error("[client %s] AH01616: No Authn provider configured",
                              req.connection.remote_ip)
                    raise _Abort(apache.HTTP_INTERNAL_SERVER_ERROR)
                log.error("[client %s] AH01614: client used wrong authentication "
                          "scheme: %s", req.connection.remote_ip, req.uri)
            self._note_auth_failure(req, dc)
            raise _Abort(apache.HTTP_UNAUTHORIZED)
        elif rc != OK:
            raise _Abort(rc)
        elif req.user is None:
            # an authentication handler said OK but named no user
            log.error("[client %s] AH00027: No authentication done but request not allowed "
                      "without authentication for %s. Authentication not configured?",
                      req.connection.remote_ip, req.uri)
            raise _Abort(apache.HTTP_INTERNAL_SERVER_ERROR)
        rc = self._phase(req, "authz", abort=False) if req._dir_config.handlers.get("authz") \
            else DECLINED
        if rc == OK:
            return
        if rc != DECLINED:
            # (an authorization handler's 401 goes out without a challenge,
            # as Apache's: only mod_authz_core's own refusal notes one)
            raise _Abort(rc)
        if not authz.met_by_user(req.user, dc.requires):
            self._note_auth_failure(req, dc)
            raise _Abort(apache.HTTP_UNAUTHORIZED)

    def _note_auth_failure(self, req, dc):
        if dc.auth_type and dc.auth_type.lower() == "basic" and not dc.auth_name:
            # (no AuthName: Apache's challenge breaks off where it would be)
            log.error("[client %s] AH00572: need AuthName: %s", req.connection.remote_ip,
                      req.uri)
            req.err_headers_out["WWW-Authenticate"] = 'Basic realm="'
        elif dc.auth_type and dc.auth_type.lower() == "basic":
            req.err_headers_out["WWW-Authenticate"] = \
                _speedups.auth.basic_challenge(dc.auth_name or "")

    def _type_check(self, req, dc, route=None):
        rc = self._phase(req, "type", abort=False) if dc.handlers.get("type") else DECLINED
        if rc not in (OK, DECLINED):
            raise _Abort(rc)
        if rc == DECLINED:
            # mod_mime's find_ct runs after a declining type handler: the
            # type and handler the name maps to replace any set before
            # (ForceType and SetHandler included: core's fixup applies them)
            ctype = route.ctype if route is not None else \
                static.default_type(req.filename, req.path_info, dc)
            if ctype:
                req.content_type = req._server_type = ctype
            if ctype == apache.DIR_MAGIC_TYPE and (
                    route.is_dir if route is not None
                    else not req.path_info and static.is_dir(req.filename)):
                # a directory: mod_mime stops at its type (no AddHandler,
                # no language or encoding); core's fixup applies SetHandler
                if dc.set_handler:
                    req.handler = dc.set_handler
                return
            handler = route.handler if route is not None else \
                dc.handler_name_for(req.filename)
            if handler:
                req.handler = handler
            if dc.mime_extras:
                _mime_extras(req, dc)
        else:
            # a type handler's OK ends the type check before mod_mime: no
            # AddType or AddHandler; core's fixup still applies ForceType
            # and SetHandler
            if dc.force_type:
                req.content_type = req._server_type = dc.force_type
            if dc.set_handler:
                req.handler = dc.set_handler

    def _fixup_dir(self, req, dc, route=None):
        """mod_dir: a directory URL without a slash is redirected; with one, the
        first DirectoryIndex file that exists is served instead."""
        if req.path_info or not req.filename:
            return
        if not (route.is_dir if route is not None else static.is_dir(req.filename)):
            return
        if not req.uri.endswith("/"):
            if not dc.directory_slash:
                return      # DirectorySlash Off: no redirect (the directory is no file: 404)
            # (the URI escaped again, as mod_dir's ap_escape_uri)
            location = req.construct_url(mod_alias.escape_path(req.uri) + "/")
            if req.args is not None:
                location += "?" + req.args
            req.headers_out["Location"] = location
            raise _Abort(apache.HTTP_MOVED_PERMANENTLY)
        # each name is looked up as a subrequest; the first that leads to a
        # regular file replaces this request's URI, file and config
        # (ap_internal_fast_redirect: no new request, no REDIRECT_ variables,
        # unparsed_uri kept) and the response phase serves it
        names = dc.directory_index
        error = None
        for name in names:
            # a relative name follows the directory's URI escaped again
            # (ap_sub_req_lookup_uri), so the lookup decodes that URI once
            uri = name if name.startswith("/") else mod_alias.escape_path(req.uri) + name
            if req.args is not None:
                uri += "?" + req.args
            try:
                sub = self._subrequest(req, uri)
            except HTTPError:
                continue
            sub.main, sub.prev = req, None
            sub.subprocess_env = _headers.Table(req.subprocess_env.items())
            sub.notes, sub.err_headers_out = _headers.Table(), _headers.Table()
            status = self._lookup_phases(sub)
            if status == OK and sub.filename and not sub.path_info \
                    and os.path.isfile(sub.filename):
                self._fast_redirect(req, sub)
                return
            if 300 <= status < 400 or (status in (apache.HTTP_UNAUTHORIZED,
                                                  apache.HTTP_NOT_ACCEPTABLE)
                                       and len(names) == 1):
                # the index's own answer goes to the client (its challenge too)
                req.notes = _overlay(sub.notes, req.notes)
                req.headers_out = _overlay(sub.headers_out, req.headers_out)
                req.err_headers_out = _overlay(sub.err_headers_out, req.err_headers_out)
                raise _Abort(status)
            if status not in (OK, apache.HTTP_NOT_FOUND):
                error = status
        if error is not None:
            raise _Abort(error)
        # what was tried, for a listing (mod_dir's note)
        req.notes["dir-index-names"] = ",".join(names)

    def _lookup_phases(self, sub):
        """ap_sub_req_lookup_uri's phases for ``sub`` (translate to fixups,
        nothing sent): OK, or the status one of them ended with. The
        authentication phases are skipped when the config is the main
        request's own, as Apache skips them."""
        try:
            sub._dir_config = self.global_dir
            if self.global_dir.handlers.get("trans"):
                if self._phase(sub, "trans") == DECLINED:
                    self._translate(sub)
            else:
                self._translate(sub)
            dc = sub._dir_config = self._match(sub.uri, sub.filename, sub.path_info)
            if sub.filename:
                sub.canonical_filename = sub.filename
            if sub.filename and sub.filename.rpartition("/")[2].startswith(".ht"):
                return apache.HTTP_FORBIDDEN    # (never an index either)
            if dc is not sub.main._dir_config:
                rules = dc.access_rules
                if rules is not None and not self._access_compat(sub, rules):
                    if not rules.satisfy_any or not dc.requires:
                        return apache.HTTP_FORBIDDEN
                    self._authorize(sub, dc)
                    rules = None
                elif rules is not None and rules.satisfy_any:
                    rules = False
                if dc.handlers.get("access"):
                    self._phase(sub, "access")
                if dc.requires and rules is not False:
                    self._authorize(sub, dc)
            self._type_check(sub, sub._dir_config)
            if sub._dir_config.handlers.get("fixup"):
                self._phase(sub, "fixup")
            dc = sub._dir_config
            if dc.redirect_all is not None or dc.redirects:
                self._fixup_redirect(sub, dc)
            if not sub.uri.endswith("/"):
                # mod_dir's fixup: an index name that is a directory is
                # redirected to its slash, and that redirect is the answer
                self._fixup_dir(sub, dc)
        except _Abort as abort:
            return OK if abort.status == DONE else abort.status
        return OK

    @staticmethod
    def _fast_redirect(req, sub):
        """ap_internal_fast_redirect: ``req`` becomes what ``sub`` looked up
        (the index file's URI, file, type, handler and config); what the
        lookup put in its tables is added to ``req``'s."""
        req._parsed_path = req.uri
        req.uri, req.args = sub.uri, sub.args
        req.filename, req.canonical_filename = sub.filename, sub.canonical_filename
        req.path_info = None        # (mod_python shows the lookup's NULL)
        req._link_checked = sub._link_checked
        req._alias = sub._alias
        req.content_type, req.handler = sub.content_type, sub.handler
        req._server_type = sub.content_type     # (this request's code set none)
        req.content_encoding = sub.content_encoding
        req.content_languages = sub.content_languages
        if sub.user is not None:
            req.user = sub.user
        req._dir_config = sub._dir_config
        req.notes = _overlay(sub.notes, req.notes)
        req.headers_out = _overlay(sub.headers_out, req.headers_out)
        req.err_headers_out = _overlay(sub.err_headers_out, req.err_headers_out)
        req.subprocess_env = _overlay(sub.subprocess_env, req.subprocess_env)

    def _respond(self, req, dc):
        if dc.env_vars:
            # mod_env's fixup (after a PythonFixupHandler's): SetEnv, PassEnv;
            # what the request's environment has already stays first
            env = req.subprocess_env
            for name, value in dc.env_vars.items():
                if name not in env:
                    env[name] = value
        if dc.has_filters:
            self._add_filters(req, dc)
        rc = DECLINED
        if req.handler in ("mod_python", "python-program"):
            rc = self._phase(req, "handler", abort=False)
            if rc == OK and not req._head_sent and req._buffered and \
                    "Range" in req.headers_in:
                # the response is whole: Apache's byterange filter sees it so
                rc = byterange.apply_to_buffered(req) or OK
        if rc == DECLINED:
            rc = static.serve(req, dc)
        if rc not in (OK, DECLINED):
            raise _Abort(rc)

    def _add_filters(self, req, dc):
        """The filters of the request's sections, once its file is known
        (Apache's insert_filter hook)."""
        registry = self.config.filters
        for name in dc.output_filters_for(req.filename):
            filters.add_filter(req, name, is_input=False, registry=registry, log_unknown=True)
        for name in dc.input_filters_for(req.filename):
            filters.add_filter(req, name, is_input=True, registry=registry, log_unknown=True)

    def _phase(self, req, phase, abort=True):
        """Run one phase's handlers (from the request's directory config, read
        again after each call so that req.add_handler() can append); returns
        the phase's code. With ``abort``, a code other than OK/DECLINED ends
        the request (_Abort)."""
        dc = req._dir_config
        handlers = dc.handlers
        entries = handlers.get(phase)
        if not entries:
            return DECLINED
        if phase in dc.ext_phases:
            entries = entries_for_file(entries, req.filename)
        rc = DECLINED
        go_on = CONTINUE_ON[phase]
        i = 0
        while i < len(entries):
            entry = entries[i]
            i += 1
            rc = self._call(req, entry)
            if req._dir_config is not dc:
                # req.add_handler() made the request a new config: its list
                dc = req._dir_config
                entries = self._entries(req, phase) or entries
            if rc not in go_on:
                break
        if abort and rc not in (OK, DECLINED):
            raise _Abort(rc)
        return rc

    @staticmethod
    def _entries(req, phase):
        """The phase's handlers for this request (its '| .ext' lists picked
        by the file's extension, where the config has some)."""
        dc = req._dir_config
        entries = dc.handlers.get(phase)
        if entries and phase in dc.ext_phases:
            return entries_for_file(entries, req.filename)
        return entries

    def _call(self, req, entry):
        """Call one handler as mod_python does; exceptions become 500 (with
        the traceback in the page under PythonDebug On)."""
        dc = req._dir_config
        req.phase = entry.directive
        if entry.matched is not None:
            entry = entry.in_directory(req.filename)
        hlist = entry.hlist
        if hlist is None:
            hlist = entry.hlist = HList(entry)
        req.hlist = hlist
        try:
            try:
                obj = loader.resolve(entry, req, dc.autoreload, dc.python_path)
            except loader.HandlerNotFound:
                if entry.silent:
                    return DECLINED
                raise
            # SERVER_RETURN is the call's own way out; raised by the module's
            # import (or a class made on the way) it is an error, as in
            # mod_python's HandlerDispatch
            try:
                result = obj(req)
            except apache.SERVER_RETURN as exc:
                result = _server_return_result(req, exc)
            ctype = req.content_type
            if req.status.__class__ is not int or (ctype is not None and (
                    ctype.__class__ is not str or not ctype.isascii())) or req.headers_out:
                _check_assigned(req)
            if result.__class__ is not int:
                raise AssertionError(_RESULT_WARNING % result.__class__)
            return result
        except _Abort:
            raise
        except HeadRefused as exc:
            # the handler's write met a head Apache refuses: its 500 goes
            # out at once, and the write fails as Apache's does (the
            # handler's error then follows it under PythonDebug On)
            self._send_error(req, apache.HTTP_INTERNAL_SERVER_ERROR)
            try:
                raise OSError("Write failed, client closed connection.") \
                    .with_traceback(exc.__traceback__) from None
            except OSError:
                return self._report_exception(req, entry, dc)
        except HTTPError as exc:
            # from req.read(): the body was over LimitRequestBody, or malformed
            return exc.status
        except (ClientReadTimeout, ClientReadEOF) as exc:
            # the body stopped coming (or the client ended its side): the
            # handler's read fails as mod_python's does (its traceback ends
            # at the handler's call), its error is answered, and the
            # connection ends (what is left of the body is unknown), so the
            # page is close-delimited, as Apache's after a failed read
            req._close = True
            req._error_response = True
            error = OSError("Client read error (Timeout?)")
            error.__suppress_context__ = True
            error.__traceback__ = errorpages.handler_frames(exc.__traceback__)
            return self._report_exception(req, entry, dc,
                                          (OSError, error, error.__traceback__))
        except ClientGone:
            raise  # the client is gone or stalled: the server closes
        except BaseException:
            # (mod_python's bare except: a sys.exit(), a KeyboardInterrupt
            # or a GeneratorExit in a handler is reported as any error; the
            # worker's own signals never raise in a handler)
            return self._report_exception(req, entry, dc)

    def _report_exception(self, req, entry, dc, exc_info=None):
        """mod_python's ReportError: always to the error log; to the client
        too under PythonDebug On (status 500, the traceback page)."""
        exc_info = exc_info or sys.exc_info()
        tb_text = "".join(errorpages.format_exception(exc_info))
        log.error("[client %s] %s %s: %s (URI %s)",
                  req.connection.remote_ip, entry.directive, entry.name, tb_text.rstrip(),
                  req.uri)
        if entry.phase in ("log", "cleanup"):
            if dc.debug:
                # after the response: mod_python's page goes out as it is,
                # behind the response's end (Apache does the same); the
                # status it sets is what a cleanup handler then sees
                req.status = apache.HTTP_INTERNAL_SERVER_ERROR
                req.write(errorpages.debug_page(entry.directive, entry.name, exc_info))
            return OK
        if not dc.debug:
            return apache.HTTP_INTERNAL_SERVER_ERROR
        # (after the head too, as mod_python's: the connection then ends)
        req.status = apache.HTTP_INTERNAL_SERVER_ERROR
        if not req._head_sent:
            req.content_type = "text/html"
        req.write(errorpages.debug_page(entry.directive, entry.name, exc_info))
        return DONE

    # ------------------------------------------------------------ answers
    def _answer(self, req, status):
        """Finish a request that ended with ``status`` (DONE or an HTTP code)."""
        if status in (DONE, OK, DECLINED):
            return req.status
        if not 100 <= status <= 599:
            # ap_die: no HTTP status at all is a 500, which ends the connection
            log.error("[client %s] Invalid response status %s for %s",
                      req.connection.remote_ip, status, req.uri)
            status = apache.HTTP_INTERNAL_SERVER_ERROR
        if req._head_sent:
            # too late for a status: Apache appends its error page (or the
            # ErrorDocument message) to the body; a 204 or 304 adds nothing
            if status in (204, 304):
                return req.status
            if req._filter_ended:
                # a filter already ended the response: nothing may follow it
                req._close = True
                return req.status
            if status in _DROPS_CONNECTION:
                req._close = True   # as Apache's ap_die: this response ends the connection
            req._filters = None
            doc = (req._dir_config or self.global_dir).error_documents.get(
                status if status in errorpages.KNOWN_STATUSES else 500)
            if doc and doc.startswith('"'):
                req.write(doc[1:])
                return req.status
            if doc and doc.startswith("/"):
                # the ErrorDocument runs as ever: its output follows
                req.status = status
                self._error_document_redirect(req, doc, status)
                return req.status
            location = req.headers_out.get("Location") or \
                req.err_headers_out.get("Location")
            if doc:
                # an external URL: the redirect's page follows
                status = req.status = apache.HTTP_MOVED_TEMPORARILY
                location = doc
            req.write(errorpages.error_page(status, method=req.method, uri=req.uri,
                                            location=location,
                                            server_admin=self.server_info.server_admin,
                                            signature=self._signature(req),
                                            notes=_expect(req, status)))
            return req.status
        if (req._clength_in or req._chunked_in) and req.main is None \
                and status not in _DROPS_CONNECTION \
                and not (req.expecting_100 and req._continue_owed()):
            # ap_die reads and drops the request body before the error
            # page, as for any response the connection may outlive; a body
            # that cannot be read (bad framing, over LimitRequestBody) is
            # answered instead, close-delimited, its page naming the first
            # status ("Additionally, a 401 ... error"), without the first
            # one's challenge. (Owed a 100 Continue, the body counts as
            # empty: nothing is read, the connection closes after.)
            failed = req._drop_unread_body()
            if failed is not None:
                req._late_status = failed
                req._error_response = True
                err = req._err_headers
                if err:
                    del err["WWW-Authenticate"]
                self._send_error(req, failed, failed_document=status)
                return failed
        self._send_error(req, status)
        return status

    def _send_error(self, req, status, failed_document=None):
        """Answer ``status`` with its ErrorDocument or Apache's page. With
        ``failed_document`` (the status met while an ErrorDocument or a
        redirect was answering ``status``): the page, which says so."""
        dc = req._dir_config or self.global_dir
        req._filters = None     # error pages skip the output filters, as Apache's
        req.status = status
        req.content_encoding, req.content_languages = None, ()     # (as Apache's page)
        req._buffer, req._buffered = [], 0
        if status in (204, 304):
            # no body, and the handler's headers stay (ETag, Last-Modified
            # on a 304), as Apache's ap_send_error_response
            req._send_head(final=True)
            return
        # (a length the handler set was its body's, not the page's)
        req._content_length = -1
        # a status Apache has no line for is sent as a 500, with its ErrorDocument
        doc = dc.error_documents.get(status if status in errorpages.KNOWN_STATUSES else 500)
        # Apache keeps a handler's Location (headers_out) on a redirect or a
        # 201; the other headers of the failed response are dropped
        location = req.headers_out.get("Location") \
            if 300 <= status < 400 or status == 201 else None
        req.headers_out.clear()
        if location is not None:
            req.headers_out["Location"] = location
        if doc and not failed_document:
            if doc.startswith('"'):
                req.content_type = "text/html; charset=iso-8859-1"
                if req.header_only:
                    req._error_response = True
                else:
                    req.write(doc[1:], 0)
                # (a response that ends the connection goes without a length)
                req._send_head(final=not req._error_response)
                return
            if doc.startswith("/"):
                self._error_document_redirect(req, doc, status)
                return
            # an external URL (ap_is_url: "scheme:"): a redirect to it
            req.err_headers_out["Location"] = doc
            status = req.status = apache.HTTP_MOVED_TEMPORARILY
        if location is None:
            location = req.err_headers_out.get("Location")
        body = errorpages.error_page(status, method=req.method, uri=req.uri, location=location,
                                     server_admin=self.server_info.server_admin,
                                     signature=self._signature(req), notes=_expect(req, status),
                                     additionally=failed_document,
                                     status_line=req.status_line)
        req.content_type = "text/html; charset=iso-8859-1"
        if status in (405, 501) and "Allow" not in req.err_headers_out:
            req.err_headers_out["Allow"] = errorpages.allow_header(req.allowed)
        if req.header_only:
            req._error_response = True      # HEAD: the head alone, no length
        else:
            req.write(body, 0)
            if req._error_response or req._unsized_error:
                # a page the connection cannot outlive is close-delimited;
                # the byterange filter's 416 goes without a length too, so
                # chunked where the connection is kept (a handler's own 416
                # has one)
                req._send_head(final=False)
                return
        req._send_head(final=True)

    def _error_document_redirect(self, req, doc, status):
        # the method the client used, for the page (REDIRECT_REQUEST_METHOD
        # there), as Apache's ap_die sets it before its redirect
        req.subprocess_env["REQUEST_METHOD"] = req.method
        sub = self._subrequest(req, doc)
        sub.subprocess_env["REDIRECT_STATUS"] = str(status)
        if 300 <= status < 400:
            # a redirect's Location goes along (Apache's internal redirect
            # copies it for a 3xx status)
            location = req.headers_out.get("Location")
            if location is not None:
                sub.headers_out["Location"] = location
        if status in _DROPS_CONNECTION:
            sub._error_response = True
        sub.status = status
        sub.method = "GET" if req.method != "HEAD" else "HEAD"
        # (ap_die makes the failed request a GET while its ErrorDocument
        # runs: req.prev.method there)
        method, req.method = req.method, "GET"
        mark = len(sub._cleanups)
        try:
            self._run(sub)
        except _Abort as abort:
            if abort.status not in (DONE, OK, DECLINED):
                # the ErrorDocument failed too: as Apache's ap_die, the
                # first status with its own page, which says so (a canned
                # page: it has its length); after output, the page follows
                # it and the connection ends
                if sub._head_sent:
                    sub._close = True
                    sub._filters = None
                    sub.write(errorpages.error_page(
                        status, method=sub.method, uri=req.uri,
                        server_admin=self.server_info.server_admin,
                        signature=self._signature(req), additionally=status))
                else:
                    sub._error_response = False
                    self._send_error(sub, status, failed_document=status)
        finally:
            req.method = method
        self._register_sub_cleanup(sub, mark)
        self._adopt_response(req, sub)

    def internal_redirect(self, req, new_uri):
        """req.internal_redirect(): process ``new_uri`` as a new request on the
        same connection; its response is this request's response."""
        depth = getattr(req, "_redirects", 0) + 1
        if depth > MAX_REDIRECTS:
            raise _Abort(apache.HTTP_INTERNAL_SERVER_ERROR)
        refused = None
        try:
            sub = self._subrequest(req, new_uri)
        except HTTPError as exc:
            # a target Apache's request processing refuses (a relative
            # path, a bad escape): the new request answers its 400, and
            # the handler goes on after the call, as on Apache
            refused = exc.status
            sub = self._subrequest(req, "/")
            sub.uri = sub.unparsed_uri = new_uri
        sub._redirects = depth
        req.next = sub
        mark = len(sub._cleanups)
        try:
            if refused is not None:
                raise _Abort(refused)
            self._run(sub)
        except _Abort as abort:
            if abort.status not in (DONE, OK, DECLINED) and sub.status != apache.HTTP_OK \
                    and not sub._head_sent:
                # the redirect carried an error status (a handler's 404) and
                # met another error: as Apache's ap_die, the first error's
                # page, which says so
                first = sub
                while first.prev is not None and first.prev.status != apache.HTTP_OK:
                    first = first.prev
                sub._error_response = False
                self._send_error(sub, first.status, failed_document=sub.status)
            else:
                self._answer(sub, abort.status)
        self._register_sub_cleanup(sub, mark)
        self._adopt_response(req, sub)
        req.status = sub.status

    def _register_sub_cleanup(self, sub, mark):
        """The redirected request's own PythonCleanupHandler runs too, with
        the shared pool's cleanups: after those registered later, before
        those registered earlier (``mark``: where the list stood as it
        began)."""
        if sub._dir_config is not None and self._entries(sub, "cleanup"):
            sub._cleanups.insert(mark, (lambda _: self._cleanup_handlers(sub), None))

    @staticmethod
    def _adopt_response(req, sub):
        """End ``sub``'s response, which is ``req``'s: ``req`` sends nothing
        more (its head, filters and framing are the new request's)."""
        sub._finish()
        req._head_sent = True
        req._chunked = False                # (sub ended the chunked body, if any)
        req._buffer, req._buffered = [], 0
        req._filters = None
        req._close = sub._close
        req.bytes_sent = sub.bytes_sent

    def _subrequest(self, req, new_uri):
        if "#" in new_uri[1:]:
            new_uri = new_uri.split("#", 1)[0]    # (apr_uri_parse drops a fragment)
        if new_uri[:1] in ("", "?"):
            # no path: Apache's ap_parse_uri makes it "/"
            path_raw, query = "/", new_uri[1:] if new_uri else None
        else:
            path_raw, query = _split_target(new_uri)
        path = _normalize_path(_unquote_path(path_raw))
        sub = copy.copy(req)     # (its fields and its __dict__)
        sub.uri, sub.args = path, query
        sub.unparsed_uri = new_uri
        sub.headers_out = _headers.Table()
        # as Apache's internal redirect: err_headers_out is the same table
        # (a WWW-Authenticate or Set-Cookie set before it still goes out)
        sub.err_headers_out = req.err_headers_out
        sub.notes = _headers.Table([("python_init_ran", "1")])    # (mod_python's own)
        # the new request's environment is the old one's, each name with
        # REDIRECT_ before it, and REDIRECT_STATUS (Apache's rename_original_env)
        env = sub.subprocess_env = _headers.Table()
        for k, v in (req.__dict__.get("subprocess_env") or {}).items():
            env.add("REDIRECT_" + k, v)
        env["REDIRECT_STATUS"] = str(req.status)
        # its cleanups run with the original request's, at the end (Apache's
        # redirect shares its pool): one list
        if "_cleanups" not in req.__dict__:
            req._cleanups = []
        sub._buffer, sub._buffered, sub._cleanups = [], 0, req._cleanups
        # the filters of the new request's own sections, not the old one's
        sub._filters, sub._filter_ended = None, False
        # the status goes along (Apache's internal_internal_redirect copies
        # it): a handler's 404 stays with the page it redirects to
        sub.content_type, sub.handler = None, None
        sub.filename, sub.path_info = None, ""
        sub.prev, sub.next = req, None
        sub.__dict__.pop("_added", None)    # (a new request: none added yet)
        return sub

    def add_handler(self, req, htype, handler, directory=None):
        phase = PHASE_OF_DIRECTIVE.get(htype.lower())
        if phase is None or phase == "cleanup":
            raise ValueError("Invalid handler type %r" % htype)
        dc = req._dir_config
        entry = HandlerEntry(handler, DIRECTIVE_OF_PHASE[phase], phase,
                             directory or (req.hlist._import_dir if req.hlist else None))
        entry.dynamic = True
        req.__dict__.setdefault("_added", []).append(entry)
        req._dir_config = _with_added(dc, (entry,))


    def _log_and_cleanup(self, req):
        if req._dir_config is None:
            req._dir_config = self.global_dir
        dc = req._dir_config
        handlers = dc.handlers
        if handlers.get("log"):
            try:
                self._phase(req, "log", abort=False)
            except _Abort:
                pass
            except ClientGone:
                req._close = True   # (a log handler wrote to a client that has gone)
        if req._cleanups:
            self._pool_cleanups(req)
        if handlers.get("cleanup"):
            self._cleanup_handlers(req)
            if req._cleanups:
                self._pool_cleanups(req)    # (those a cleanup handler's redirect added)

    @staticmethod
    def _pool_cleanups(req):
        cleanups = req._cleanups
        while cleanups:
            # the last registered runs first, each with its data (None
            # when none was given), as Apache's pool cleanups
            fn, data = cleanups.pop()
            try:
                fn(data)
            except BaseException as exc:    # (any: the worker goes on)
                conn = req.connection
                log.error("[client %s:%s] python_cleanup: Error calling cleanup object %r",
                          conn.remote_ip, conn.remote_addr[1], fn)
                log.error("[client %s:%s]     %s: %s", conn.remote_ip, conn.remote_addr[1],
                          type(exc), exc)

    def _cleanup_handlers(self, req):
        entries = self._entries(req, "cleanup")
        if entries:
            for entry in entries:
                try:
                    self._call(req, entry)
                except _Abort:
                    pass
                except ClientGone:
                    req._close = True


# CONNECT's target: host ":" port (RFC 9110 9.3.6), the host a name, an
# IPv4 address or a bracketed IPv6 address
_AUTHORITY_FORM = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-]+):[0-9]+\Z")


def _mime_extras(req, dc):
    """mod_mime's content encoding and languages for the request's file
    (AddEncoding, AddLanguage, DefaultLanguage), where the name gives any."""
    encoding, languages = static.encoding_and_languages(req.filename, dc)
    if encoding:
        req.content_encoding = encoding
    if languages:
        req.content_languages = languages


def _expect(req, status):
    """What a 417 page quotes: the request's Expect header (None: none)."""
    return req.headers_in.get("Expect") if status == 417 else None


def _check_assigned(req):
    """What mod_python's request object refuses on assignment, refused as
    the handler returns, with the same TypeError (so the same 500 and
    PythonDebug page): a status that is no int, a content type or header
    value that is no ISO-8859-1 string. As the assignment never happened
    there, the value is taken back, and so is output not yet sent (it
    would have come after the refused assignment)."""
    error = None
    if not isinstance(req.status, int):
        error = "'%s' object cannot be interpreted as an integer" % type(req.status).__name__
        req.status = apache.HTTP_OK
    if req.content_type is not None and not _latin1(req.content_type):
        error = error or "not an ISO-8859-1 string"
        req.content_type = None
    for name in ("headers_out", "err_headers_out"):
        # (err_headers_out is made on first use: not here)
        table = req.headers_out if name == "headers_out" else req._err_headers
        if table and not all(_latin1(v) for _, v in table.items()):
            error = error or "not an ISO-8859-1 string"
            setattr(req, name, _headers.Table(
                [(k, v) for k, v in table.items() if _latin1(v)]))
    if error is not None:
        if not req._head_sent:
            req._buffer, req._buffered = [], 0
        raise TypeError(error)


def _latin1(value):
    if value.__class__ is not str:
        return False
    if value.isascii():
        return True
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


_TOKENS = re.compile(r'[\s,;="]+')


def _keep_alive_value(timeout, left):
    """The Keep-Alive header's value: no max under MaxKeepAliveRequests 0."""
    if left:
        return "timeout=%d, max=%d" % (timeout, left)
    return "timeout=%d" % timeout


def _overlay(first, then):
    """apr_table_overlay: a new table of ``first``'s fields, then
    ``then``'s (a name in both is there twice)."""
    table = _headers.Table(first.items())
    for name, value in then.items():
        table.add(name, value)
    return table


def _with_added(dc, entries):
    """A copy of ``dc`` with the handlers req.add_handler() added."""
    new = copy.copy(dc)
    new.handlers = dict(dc.handlers)
    for entry in entries:
        new.handlers[entry.phase] = list(new.handlers.get(entry.phase, ())) + [entry]
    return new


def escape_html(s):
    from html import escape
    return escape(s or "", quote=False)

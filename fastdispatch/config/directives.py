"""The directives fastdispatch knows: their arity, where they are allowed, and
how server-wide ones land in ServerConfig. Per-directory ones are merged per
request by merge.py."""
import logging
import os
import re

from fastdispatch import access_compat, authz
from fastdispatch.config import alias as _alias
from fastdispatch.errors import ConfigError
from fastdispatch.logformat import CLF, DEBIAN_FORMATS, DEFAULT_FORMAT, compile_format

log = logging.getLogger("fastdispatch.error")

# Python*Handler directives in Apache's phase order: (phase key, directive).
PHASES = (
    ("postreadrequest", "PythonPostReadRequestHandler"),
    ("trans", "PythonTransHandler"),
    ("headerparser", "PythonHeaderParserHandler"),
    ("init", "PythonInitHandler"),
    ("access", "PythonAccessHandler"),
    ("authen", "PythonAuthenHandler"),
    ("authz", "PythonAuthzHandler"),
    ("type", "PythonTypeHandler"),
    ("fixup", "PythonFixupHandler"),
    ("handler", "PythonHandler"),
    ("log", "PythonLogHandler"),
    ("cleanup", "PythonCleanupHandler"),
)
PHASE_OF_DIRECTIVE = {d.lower(): p for p, d in PHASES}
DIRECTIVE_OF_PHASE = dict(PHASES)


def default_object(directive):
    """PythonAuthenHandler -> authenhandler (mod_python's rule)."""
    return directive.lower().replace("python", "", 1)


class Spec:
    def __init__(self, min_args=1, max_args=1, server_only=False, ignored=False,
                 paths=(), flag=False, choices=None, validate=None, keep_slash=False):
        self.min_args = min_args
        self.max_args = max_args          # None = unlimited
        self.server_only = server_only
        self.ignored = ignored
        self.paths = paths                # indexes of arguments that are paths
        self.flag = flag                  # On/Off
        self.choices = choices
        self.validate = validate          # validate(args) -> error text or None
        self.keep_slash = keep_slash      # a path's trailing "/" is kept (Alias's
        #                                   target: mod_alias appends the URL's rest to it)

    def check(self, name, args, filename, lineno):
        n = len(args)
        if n < self.min_args or (self.max_args is not None and n > self.max_args):
            if self.max_args == self.min_args:
                want = "exactly %d argument%s" % (self.min_args, "" if self.min_args == 1 else "s")
            elif self.max_args is None:
                want = "at least %d argument%s" % (self.min_args, "" if self.min_args == 1 else "s")
            else:
                want = "%d to %d arguments" % (self.min_args, self.max_args)
            raise ConfigError("%s takes %s, %d given" % (name, want, n), filename, lineno)
        if self.flag and args[0].lower() not in ("on", "off"):
            raise ConfigError("%s must be On or Off" % name, filename, lineno)
        if self.choices and args[0].lower() not in self.choices:
            raise ConfigError("%s must be one of %s" % (name, ", ".join(sorted(self.choices))),
                              filename, lineno)
        if self.validate is not None:
            problem = self.validate(args)
            if problem:
                raise ConfigError("%s: %s" % (name, problem), filename, lineno)

    def normalize(self, args, base):
        if not self.paths:
            return list(args)
        out = list(args)
        for i in self.paths:
            if i < len(out) and not out[i].startswith("|"):
                p = os.path.expanduser(out[i])
                norm = os.path.normpath(p if os.path.isabs(p) else os.path.join(base, p))
                if self.keep_slash and p.endswith("/") and not norm.endswith("/"):
                    norm += "/"
                out[i] = norm
        return out


def _handler_spec():
    return Spec(1, None)


def _redirect_check(name):
    """A Redirect line's check where the context is not known (a config
    written in Python): the forms a section allows, the most that any
    context does. The parser checks each line in its own context."""
    def check(args):
        try:
            _alias.parse_redirect(name, args, None, None, in_section=True)
        except ConfigError as exc:
            return exc.message
        return None
    return check


def _error_document_status(code):
    """As Apache's ErrorDocument: a status it has a line for (or 500)."""
    from fastdispatch.errorpages import KNOWN_STATUSES
    m = re.match(r"[0-9]*", code)         # (atoi)
    status = int(m.group(0)) if m.group(0) else 0
    if status != 500 and status not in KNOWN_STATUSES or status >= 600:
        return "Unsupported HTTP response code %s" % code
    return None


def _int_spec():
    return Spec(1, 1)


def _check_passenv(args):
    for name in args:
        if name not in os.environ:
            # (Apache's AH01506 at startup; the variable is then not passed)
            log.warning("PassEnv variable %s was undefined", name)
    return None


# Apache 2.4's Options (core.c set_options); of these only the symbolic
# link ones change anything here (no CGI, SSI, listings or MultiViews)
OPTION_NAMES = ("none", "all", "indexes", "includes", "includesnoexec", "followsymlinks",
                "symlinksifownermatch", "execcgi", "multiviews")


def _check_options(args):
    signed = [a[:1] in ("+", "-") for a in args]
    if any(signed) and not all(signed):
        return ("Either all Options must start with + or -, or no Option may.")
    for a in args:
        name = a.lstrip("+-").lower()
        if name not in OPTION_NAMES:
            return "Illegal option %s" % a.lstrip("+-")
    return None


KNOWN = {
    # server-wide
    "listen": Spec(1, 2, server_only=True),
    "servername": Spec(1, 1, server_only=True),
    "serveradmin": Spec(1, 1, server_only=True),
    "serversignature": Spec(1, 1, server_only=True, choices={"on", "off", "email"}),
    "servertokens": Spec(1, 1, server_only=True),
    "documentroot": Spec(1, 1, server_only=True, paths=(0,)),
    "timeout": Spec(1, 1, server_only=True),
    "keepalive": Spec(1, 1, server_only=True, flag=True),
    "keepalivetimeout": Spec(1, 1, server_only=True),
    "maxkeepaliverequests": Spec(1, 1, server_only=True),
    "limitrequestline": Spec(1, 1, server_only=True),
    "limitrequestfieldsize": Spec(1, 1, server_only=True),
    "limitrequestfields": Spec(1, 1, server_only=True),
    "threadsperchild": Spec(1, 1, server_only=True),
    "gracefulshutdowntimeout": Spec(1, 1, server_only=True),
    "handlertimeout": Spec(1, 1, server_only=True),
    "maxconnectionsperworker": Spec(1, 1, server_only=True),
    "errorlog": Spec(1, 1, server_only=True, paths=(0,)),
    "customlog": Spec(1, 3, server_only=True, paths=(0,)),
    "transferlog": Spec(1, 1, server_only=True, paths=(0,)),
    "logformat": Spec(1, 2, server_only=True),
    "loglevel": Spec(1, None, server_only=True),
    "alias": Spec(2, 2, server_only=True, paths=(1,), keep_slash=True),
    # mod_alias's Redirect family (arity and forms: config/alias.py)
    "redirect": Spec(0, None, validate=_redirect_check("Redirect")),
    "redirectmatch": Spec(0, None, validate=_redirect_check("RedirectMatch")),
    "redirectpermanent": Spec(0, None, validate=_redirect_check("RedirectPermanent")),
    "redirecttemp": Spec(0, None, validate=_redirect_check("RedirectTemp")),
    "pythonimport": Spec(2, 2, server_only=True),
    "pythonpostreadrequesthandler": Spec(1, None, server_only=True),
    "pythontranshandler": Spec(1, None, server_only=True),
    # per directory (also allowed server-wide)
    "addhandler": Spec(2, None),
    "removehandler": Spec(1, None),
    "sethandler": Spec(1, 1),
    "addtype": Spec(2, None),
    "removetype": Spec(1, None),
    "addcharset": Spec(2, None),
    "removecharset": Spec(1, None),
    "addencoding": Spec(2, None),
    "removeencoding": Spec(1, None),
    "addlanguage": Spec(2, None),
    "removelanguage": Spec(1, None),
    "defaultlanguage": Spec(1, 1),
    "forcetype": Spec(1, 1),
    "defaulttype": Spec(1, 1),
    "adddefaultcharset": Spec(1, 1),
    "acceptpathinfo": Spec(1, 1, choices={"on", "off", "default"}),
    "directoryslash": Spec(1, 1, flag=True),
    "options": Spec(1, None, validate=_check_options),
    "directoryindex": Spec(1, None),
    "errordocument": Spec(2, 2, validate=lambda args: _error_document_status(args[0])),
    "limitrequestbody": Spec(1, 1),
    "setenv": Spec(1, 2),
    "unsetenv": Spec(1, None),
    "passenv": Spec(1, None, validate=_check_passenv),
    "authtype": Spec(1, 1),
    "authname": Spec(1, 1),
    "require": Spec(1, None, validate=authz.check_line),
    "order": Spec(1, 1, validate=access_compat.check_order),
    "allow": Spec(1, None, validate=access_compat.check_from),
    "deny": Spec(1, None, validate=access_compat.check_from),
    "satisfy": Spec(1, 1, validate=access_compat.check_satisfy),
    "authbasicauthoritative": Spec(1, 1, flag=True),
    "authauthoritative": Spec(1, 1, flag=True),
    "pythondebug": Spec(1, 1, flag=True),
    "pythonautoreload": Spec(1, 1, flag=True),
    "enablesendfile": Spec(1, 1, flag=True),
    "pythonenablepdb": Spec(1, 1, flag=True),
    "pythonpath": Spec(1, 1),
    "pythonoption": Spec(1, 2),
    "pythoninterpreter": Spec(1, 1),
    "pythoninterpperdirectory": Spec(1, 1, flag=True),
    "pythoninterpperdirective": Spec(1, 1, flag=True),
    "pythonoptimize": Spec(1, 1, flag=True),
    "pythonhandlermodule": Spec(1, 1),
    "pythonoutputfilter": Spec(2, 2, server_only=True),
    "pythoninputfilter": Spec(2, 2, server_only=True),
    "addoutputfilter": Spec(2, None),
    "setoutputfilter": Spec(1, 1),
    "removeoutputfilter": Spec(1, None),
    "addinputfilter": Spec(2, None),
    "setinputfilter": Spec(1, 1),
    "removeinputfilter": Spec(1, None),
}
for _phase, _directive in PHASES:
    KNOWN.setdefault(_directive.lower(), _handler_spec())

# Apache-only directives that mean nothing here: accepted with one warning.
for _name in ("loadmodule", "user", "group", "pidfile", "allowoverride",
              "serverroot", "mutex", "startservers", "minspareservers", "maxspareservers",
              "maxrequestworkers", "maxclients", "maxconnectionsperchild",
              "maxrequestsperchild", "serverlimit", "threadlimit",
              "minsparethreads", "maxsparethreads", "hostnamelookups", "usecanonicalname",
              "typesconfig", "defaultruntimedir", "enablemmap", "fileetag", "accessfilename",
              "addoutputfilterbytype", "setenvif", "browsermatch", "languagepriority", "forcelanguagepriority", "traceenable",
              "serverpath", "namevirtualhost", "addicon", "indexoptions",
              "scriptalias", "authuserfile", "authgroupfile", "authbasicprovider",
              "pythonconnectionhandler",
              "acceptfilter", "httpprotocoloptions", "header", "requestheader"):
    KNOWN.setdefault(_name, Spec(0, None, ignored=True))


def _int(d, minimum=0):
    try:
        value = int(d.args[0])
    except ValueError:
        raise ConfigError("%s: %r is not a number" % (d.name, d.args[0]),
                          d.filename, d.lineno) from None
    if value < minimum:
        raise ConfigError("%s must be >= %d" % (d.name, minimum), d.filename, d.lineno)
    return value


def parse_listen(d):
    arg = d.args[0]
    if arg.startswith("["):
        host, _, port = arg[1:].partition("]:")
    elif ":" in arg:
        host, _, port = arg.rpartition(":")
    else:
        host, port = "0.0.0.0", arg
    try:
        port = int(port)
        if not 0 <= port <= 65535:
            raise ValueError
    except ValueError:
        raise ConfigError("Listen: bad port in %r" % arg, d.filename, d.lineno) from None
    return host or "0.0.0.0", port


def _log_target(d):
    """A log's file (its directory must exist: the server opens it at start,
    when the line that named it is long gone), or "|command", a piped log."""
    target = d.args[0]
    if not target.startswith("|") and not os.path.isdir(os.path.dirname(target) or "."):
        raise ConfigError("%s: could not open log file %s: no such directory"
                          % (d.name, target), d.filename, d.lineno)
    return target


def _check_format(d, fmt):
    try:
        compile_format(fmt)
    except ValueError as exc:
        raise ConfigError("%s: %s" % (d.name, exc), d.filename, d.lineno) from None


def apply_server(config, d):
    """A directive outside any section."""
    key = d.key
    srv = config.server
    if key == "listen":
        addr = parse_listen(d)
        if getattr(config, "_listen_set", False):
            srv.listen.append(addr)
        else:
            srv.listen = [addr]
            config._listen_set = True
    elif key == "servername":
        srv.server_name = d.args[0]
    elif key == "serveradmin":
        srv.server_admin = d.args[0]
    elif key == "serversignature":
        srv.server_signature = d.args[0].lower()
    elif key == "servertokens":
        srv.server_tokens_mode = d.args[0].lower()
    elif key == "documentroot":
        if not os.path.isdir(d.args[0]):
            raise ConfigError("DocumentRoot '%s' is not a directory, or is not readable"
                              % d.args[0], d.filename, d.lineno)
        config.document_root = d.args[0].rstrip("/") or "/"
    elif key == "timeout":
        srv.timeout = float(_int(d, 1))
    elif key == "keepalive":
        srv.keep_alive = d.args[0].lower() == "on"
    elif key == "keepalivetimeout":
        srv.keep_alive_timeout = float(_int(d, 0))
    elif key == "maxkeepaliverequests":
        srv.max_keep_alive_requests = _int(d)
    elif key == "limitrequestline":
        srv.limit_request_line = _int(d, 1)
    elif key == "limitrequestfieldsize":
        srv.limit_request_fieldsize = _int(d, 1)
    elif key == "limitrequestfields":
        srv.limit_request_fields = _int(d)
    elif key == "threadsperchild":
        srv.threads_per_child = _int(d, 1)
    elif key == "gracefulshutdowntimeout":
        srv.graceful_shutdown_timeout = float(_int(d, 0))
    elif key == "handlertimeout":
        srv.handler_timeout = float(_int(d, 0))
    elif key == "maxconnectionsperworker":
        srv.max_connections_per_worker = _int(d, 1)
    elif key == "errorlog":
        srv.error_log = _log_target(d)
    elif key == "customlog":
        target = _log_target(d)
        if srv.access_log and srv.access_log != target:
            log.warning("%s:%s: only one access log is written: this CustomLog replaces %s",
                        d.filename, d.lineno, srv.access_log)
        srv.access_log = target
        srv.access_format = d.args[1] if len(d.args) > 1 else DEFAULT_FORMAT
        if srv.access_format not in srv.log_formats and \
                srv.access_format not in DEBIAN_FORMATS:
            _check_format(d, srv.access_format)     # (not a nickname: the format)
        if len(d.args) > 2:
            log.warning("%s:%s: CustomLog's condition %r is not supported: every request "
                        "is logged", d.filename, d.lineno, d.args[2])
    elif key == "transferlog":
        srv.access_log = _log_target(d)
        srv.access_format = srv.log_formats.get(None, CLF)
    elif key == "logformat":
        _check_format(d, d.args[0])
        # (with no nickname: the format of a TransferLog after it)
        srv.log_formats[d.args[1] if len(d.args) > 1 else None] = d.args[0]
    elif key == "loglevel":
        srv.log_level = d.args[0].lower()
    elif key == "alias":
        config.aliases.append((d.args[0], d.args[1]))
    elif key in _alias.REDIRECT_DIRECTIVES:
        rule = d.value or _alias.parse_redirect(d.name, d.args, d.filename, d.lineno,
                                                in_section=False)
        config.redirects.append(rule)
    elif key == "pythonimport":
        config.python_imports.append(d)
    elif key in ("pythonoutputfilter", "pythoninputfilter"):
        from fastdispatch.filters import FilterSpec
        spec = FilterSpec(d.args[0], d.args[1], is_input=key == "pythoninputfilter")
        config.filters[spec.name] = spec
    else:
        if key == "limitrequestbody":
            srv.limit_request_body = _int(d)
        config.global_section.directives.append(d)

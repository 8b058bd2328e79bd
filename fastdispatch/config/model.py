"""The configuration model: what an Apache-style config file (or Python) builds.

A ``Config`` holds the server-wide settings (``ServerConfig``) and the
sections. Each section carries a list of ``Directive`` entries in file order;
merging them per request is ``_lookup``'s job.
"""
import re
from dataclasses import dataclass, field


@dataclass
class Directive:
    """One configuration line: name as written, its arguments, where it was."""
    name: str
    args: list
    filename: str = "<python>"
    lineno: int = 0
    # where a Python*Handler line was written, as handler_context() says:
    # mod_python's hlist.directory and the handler module's import path
    directory: str = ""
    context: str = ""
    # what the line was read into when the parser checks more than its
    # arity (a Redirect's config.alias.RedirectRule); None otherwise
    value: object = None

    @property
    def key(self):
        return self.name.lower()


@dataclass
class Section:
    """A <Directory>, <DirectoryMatch>, <Files>, <FilesMatch>, <Location> or
    <LocationMatch> block (kind is the lower-cased tag); the server-wide
    directives are a section of kind "server"."""
    kind: str
    pattern: str = ""
    regex: bool = False
    directives: list = field(default_factory=list)
    filename: str = "<python>"
    lineno: int = 0
    # <Files> nested inside a <Directory> applies only under that directory
    parent: "Section | None" = None


_WILDCARD = re.compile(r"[*?\[]")


def handler_context(section):
    """(directory, context) of a Python*Handler line in ``section``, as
    mod_python gives them in ``hlist.directory`` and imports the module from:

    * context "": a plain <Directory> (or a <Files> nested in one) gives its
      path; outside any, directory is "";
    * "regex" (a <DirectoryMatch> or <Directory ~>) and "wildcard" (a
      <Directory> with * ? or [): the pattern is given here, and the
      directory it matched is found per request (merge.MatchedDirectory);
    * "location": a <Location>/<LocationMatch> gives its pattern as
      written, shown in ``hlist.directory`` (with ``is_location`` 1) and
      never imported from."""
    if section is None:
        return "", ""
    if section.kind == "location":
        return section.pattern, "location"
    if section.kind == "files":
        section = section.parent
        if section is None:
            return "", ""
    if section.regex:
        return section.pattern, "regex"
    if _WILDCARD.search(section.pattern):
        return section.pattern, "wildcard"
    return section.pattern, ""


@dataclass
class ServerConfig:
    """Settings the transport needs; defaults are Apache 2.4's."""
    listen: list = field(default_factory=lambda: [("127.0.0.1", 8080)])
    timeout: float = 60.0                 # Timeout
    keep_alive: bool = True               # KeepAlive
    keep_alive_timeout: float = 5.0       # KeepAliveTimeout
    max_keep_alive_requests: int = 100    # MaxKeepAliveRequests (0 = unlimited)
    limit_request_line: int = 8190        # LimitRequestLine
    limit_request_fieldsize: int = 8190   # LimitRequestFieldSize
    limit_request_fields: int = 100       # LimitRequestFields
    limit_request_body: int = 1073741824  # LimitRequestBody (0 = unlimited; 1 GiB as
    #                                       Apache 2.4.54 and later)
    server_name: str = ""                 # ServerName
    server_admin: str = ""                # ServerAdmin
    server_tokens: str = "fastdispatch"   # value of the Server header
    server_tokens_mode: str = "full"      # ServerTokens
    server_signature: str = "on"          # ServerSignature (error page <address>)
    error_log: str = ""                   # ErrorLog ("" = stderr)
    access_log: str = ""                  # CustomLog/TransferLog ("" = stderr)
    access_format: str = "combined"       # CustomLog's format or nickname
    log_formats: dict = field(default_factory=dict)  # LogFormat: nickname -> format
    #                                       (None: the one without a nickname)
    log_level: str = "warn"               # LogLevel
    max_connections_per_worker: int = 10000  # MaxConnectionsPerWorker (open at once)
    handler_timeout: float = 300.0        # HandlerTimeout: seconds a request may make no
    #                                       progress before its worker is replaced (0 = never)
    threads_per_child: int = 64           # ThreadsPerChild: handler threads per worker
    graceful_shutdown_timeout: float = 30.0  # GracefulShutdownTimeout (0 = no limit)


@dataclass
class Config:
    server: ServerConfig = field(default_factory=ServerConfig)
    document_root: str = ""
    sections: list = field(default_factory=list)
    # server-level directives that are not sections (AddHandler at top level...)
    global_section: Section = field(default_factory=lambda: Section(kind="server"))
    aliases: list = field(default_factory=list)     # (url_prefix, path) in order
    # server-wide Redirect* lines (config.alias.RedirectRule), in order
    redirects: list = field(default_factory=list)
    python_imports: list = field(default_factory=list)  # Directive of PythonImport
    filters: dict = field(default_factory=dict)   # name -> filters.FilterSpec (Python*Filter)
    source: str = "<python>"

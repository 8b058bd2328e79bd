"""fastdispatch's own HTTP/1.1 server: pre-forked worker processes, each an
event-MPM-style listener thread with a pool of serving threads.

    serve(app, server_config, *, workers=None, inline=False, host=None, port=None,
          ready_fd=None, reload=None)   # blocks until SIGTERM/SIGINT; SIGHUP reloads
    Server(app, cfg, host="127.0.0.1", port=0).start() ... .stop()   # in-process
    setup_logging(cfg)            # ErrorLog / CustomLog files (or stderr)

``app`` is anything with ``handle(head, body, conn, send) -> Outcome`` and
``error_response(status, head_or_None, detail, **facts) -> bytes`` (docs/internals.md,
"Server <-> dispatcher"); ``body`` is a ``BodyReader``.
"""
from ._body import BodyReader, ClientDisconnected
from ._connection import ServerConnInfo
from ._logs import AccessLog, ApacheErrorFormatter, FdHandler, setup_logging
from ._serve import Server, bind_listeners, listen_addresses, serve
from ._worker import DEFAULT_GRACE, DEFAULT_THREADS, Worker

__all__ = [
    "serve", "Server", "Worker", "BodyReader", "ClientDisconnected", "ServerConnInfo",
    "setup_logging", "AccessLog", "ApacheErrorFormatter", "FdHandler",
    "bind_listeners", "listen_addresses", "DEFAULT_GRACE", "DEFAULT_THREADS",
]

"""Ways to host the dispatcher besides the builtin server.

* ``sansio.Connection`` -- ``dispatcher.connection()``: bytes in, bytes out;
* ``wsgi.WSGIApplication`` -- ``dispatcher.wsgi()``: PEP 3333 (gunicorn, uWSGI, mod_wsgi);
* ``asgi.ASGIApplication`` -- ``dispatcher.asgi()``: ASGI 3 (uvicorn, hypercorn, granian).

All three hand requests to ``Dispatcher.handle`` (docs/internals.md), so a
site answers the same wherever it is hosted; docs/embedding.md shows each.
"""
from .asgi import ASGIApplication
from .sansio import Connection
from .wsgi import WSGIApplication

__all__ = ["ASGIApplication", "Connection", "WSGIApplication"]

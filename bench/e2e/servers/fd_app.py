"""fastdispatch hosted by other servers: the benchmark site through the
adapters. The config is the top-level file run.py writes (Listen,
DocumentRoot, Include site.conf), named by FASTDISPATCH_BENCH_CONF.

    uvicorn fd_app:asgi_app --loop uvloop --http httptools --no-access-log
    uvicorn fd_app:asgi_inline_app ...       (handlers on the event loop)
    gunicorn -k gthread --threads 16 fd_app:wsgi_app
"""
import os

from fastdispatch.dispatch import Dispatcher

_dispatcher = Dispatcher.from_config(os.environ["FASTDISPATCH_BENCH_CONF"])
_FACTORIES = {
    "asgi_app": lambda: _dispatcher.asgi(),
    "asgi_inline_app": lambda: _dispatcher.asgi(inline=True),
    "wsgi_app": lambda: _dispatcher.wsgi(),
}


def __getattr__(name):
    # only the application the server asks for is made (an ASGI one owns a
    # thread pool)
    factory = _FACTORIES.get(name)
    if factory is None:
        raise AttributeError(name)
    app = factory()
    globals()[name] = app
    return app

"""fastdispatch hosted by other servers: the benchmark site through the
adapters. The config is the top-level file run.py writes (Listen,
DocumentRoot, Include site.conf), named by FASTDISPATCH_BENCH_CONF.

    uvicorn fd_app:asgi_app --loop uvloop --http httptools --no-access-log
    uvicorn fd_app:asgi_inline_app ...               (handlers on the loop)
    gunicorn -k gthread --threads 16 fd_app:wsgi_app
"""
import os

from fastdispatch.dispatch import Dispatcher

_dispatcher = Dispatcher.from_config(os.environ["FASTDISPATCH_BENCH_CONF"])
_kind = os.environ.get("FASTDISPATCH_BENCH_APP", "asgi")

if _kind == "wsgi":
    wsgi_app = _dispatcher.wsgi()
elif _kind == "asgi-inline":
    asgi_inline_app = _dispatcher.asgi(inline=True)
else:
    asgi_app = _dispatcher.asgi()

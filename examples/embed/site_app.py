"""A site as WSGI and ASGI applications, for gunicorn, uvicorn and friends.

    gunicorn -w 2 -k gthread --threads 16 --chdir examples/embed site_app:wsgi
    uvicorn --workers 2 --app-dir examples/embed site_app:asgi

The site is the mod_python tutorial's (examples/tutorial/site.conf) unless
the environment names another config file in FASTDISPATCH_CONFIG.
"""
import os

import fastdispatch

TUTORIAL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tutorial",
                        "site.conf")

dispatcher = fastdispatch.Dispatcher.from_config(os.environ.get("FASTDISPATCH_CONFIG",
                                                                TUTORIAL))
wsgi = dispatcher.wsgi()      # PEP 3333
asgi = dispatcher.asgi()      # ASGI 3; handlers run in a thread pool


def asgi_inline():
    """``uvicorn --factory site_app:asgi_inline``: handlers on the event loop
    (fastest; a blocking handler stalls the process). Benchmarks use it."""
    return dispatcher.asgi(inline=True)

"""The tutorial's hello-world site, configured in Python instead of a file,
served by fastdispatch's own server.

    python examples/embed/python_config.py [--port 8080]

The Dispatcher.build call below is the Python spelling of

    DocumentRoot htdocs
    <Directory htdocs/mywebdir>
        AddHandler mod_python .py
        PythonHandler myscript
        PythonDebug On
    </Directory>
"""
import argparse
import os

from fastdispatch import Directory, Dispatcher
from fastdispatch.server import serve

TUTORIAL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tutorial")

app = Dispatcher.build(
    Directory("htdocs/mywebdir",
              AddHandler=("mod_python", ".py"),
              PythonHandler="myscript",
              PythonDebug=True),
    DocumentRoot="htdocs",
    base_dir=TUTORIAL)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, default=8080)
    args = p.parse_args()
    serve(app, app.config.server, workers=1, host="127.0.0.1", port=args.port)

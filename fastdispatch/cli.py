"""The ``fastdispatch`` command: serve a config or a directory, check a
config, tell the version and which hot paths are compiled."""
import argparse
import os
import sys

from fastdispatch import __version__
from fastdispatch._speedups import EXTENSIONS, HOT_PATHS, LAYERS


def version_text():
    compiled = [n for n in HOT_PATHS if EXTENSIONS.get(n)]
    pure = [n for n in HOT_PATHS if not EXTENSIONS.get(n)]
    layers = {}
    for name, state in LAYERS.items():
        layers.setdefault(state, []).append(name.split(".", 1)[1])
    layer_text = "; ".join("%s: %s" % (state, " ".join(names))
                           for state, names in sorted(layers.items()))
    return "fastdispatch %s (Python %s)\ncompiled: %s\npure-Python: %s\nlayers %s" % (
        __version__, sys.version.split()[0], " ".join(compiled) or "none",
        " ".join(pure) or "none", layer_text)


def _build_parser():
    p = argparse.ArgumentParser(prog="fastdispatch",
                                description="mod_python's request model without Apache")
    p.add_argument("--version", action="store_true", help="show version and compiled modules")
    sub = p.add_subparsers(dest="command")
    s = sub.add_parser("serve", help="serve a config file or a directory")
    s.add_argument("directory", nargs="?", help="serve this directory (DocumentRoot)")
    s.add_argument("--config", "-c", help="Apache-style config file")
    s.add_argument("--host", help="address to listen on (overrides Listen)")
    s.add_argument("--port", type=int, help="port to listen on (overrides Listen)")
    s.add_argument("--workers", "-w", type=int, default=None,
                   help="worker processes (default: one per CPU)")
    s.add_argument("--inline", action="store_true",
                   help="fastest mode: handlers run on the event loop thread "
                        "(a blocking handler stalls its worker)")
    s.add_argument("--shared-socket", action="store_true",
                   help="the workers accept from one listening socket (default: "
                        "each its own, SO_REUSEPORT, for an even spread)")
    c = sub.add_parser("check", help="parse a config file and report errors")
    c.add_argument("config")
    return p


def _load_config(args):
    from fastdispatch.config.model import Config
    from fastdispatch.config.parser import parse_config
    if args.config:
        return parse_config(args.config)
    cfg = Config()
    root = os.path.abspath(args.directory or ".")
    if not os.path.isdir(root):
        raise SystemExit("fastdispatch: %s is not a directory" % root)
    cfg.document_root = root
    cfg.source = os.path.join(root, "<command line>")
    return cfg


def main(argv=None):
    args = _build_parser().parse_args(argv)
    if args.version:
        print(version_text())
        return 0
    from fastdispatch.errors import ConfigError, ListenError
    if args.command == "check":
        from fastdispatch.config.parser import parse_config
        try:
            parse_config(args.config)
        except ConfigError as exc:
            print("fastdispatch: %s" % exc, file=sys.stderr)
            return 1
        print("Syntax OK")
        return 0
    if args.command != "serve":
        _build_parser().print_help()
        return 2
    try:
        cfg = _load_config(args)
    except ConfigError as exc:
        print("fastdispatch: %s" % exc, file=sys.stderr)
        return 1
    from fastdispatch.dispatch import Dispatcher
    from fastdispatch.server import serve, setup_logging
    setup_logging(cfg.server)
    try:
        app = Dispatcher(cfg)
    except ConfigError as exc:
        print("fastdispatch: %s" % exc, file=sys.stderr)
        return 1

    def reload():
        """SIGHUP: the same configuration file, read again."""
        new = _load_config(args)
        return Dispatcher(new), new.server

    try:
        serve(app, cfg.server, workers=args.workers, inline=args.inline,
              host=args.host, port=args.port, reload=reload,
              shared_socket=args.shared_socket)
    except ListenError as exc:
        print("fastdispatch: %s" % exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

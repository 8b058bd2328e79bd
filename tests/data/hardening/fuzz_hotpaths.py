"""Fuzz every compiled hot path against its pure-Python twin.

    python tests/data/hardening/fuzz_hotpaths.py --seconds 60          # own mutator
    python tests/data/hardening/fuzz_hotpaths.py --atheris -max_total_time=600
    python tests/data/hardening/fuzz_hotpaths.py --replay FILE...      # one input each

One input (bytes) drives one call: its first byte picks the target, the rest
is the input (and, for some targets, a few parameter bytes). Each target calls
the compiled module and the pure twin with the same arguments and compares the
outcomes: the same value, or the same HTTPError status and detail, or the same
exception type. A difference raises ``Mismatch``; a crash kills the process
(under AddressSanitizer: with a report); a hang is caught by the caller's
time limit (the test runs this in a subprocess with a timeout).

Targets: _http.parse_head (with start, limits, bytes or bytearray),
_http.ChunkedReader (fed in pieces), _uri.split_target / unquote_path /
normalize_path / parse_qsl / map_to_storage (on a small tree with links),
_lookup.Lookup.match, _headers.Table (an operation script),
_headers.build_response_head / http_date / reason_phrase,
_auth.parse_basic / basic_challenge.

The built-in mutator (no dependency) starts from seeds -- the hostile corpus
(smuggling.json), every request Apache was sent (tests/data/apache/), and
hand-written ones per target -- and applies byte flips, inserts, deletions,
splices and dictionary tokens, deterministically from ``--seed``. With
``--atheris`` (pip install atheris) libFuzzer drives it with coverage.
"""
import argparse
import json
import os
import random
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from fastdispatch import _speedups  # noqa: E402
from fastdispatch.errors import HTTPError  # noqa: E402

NAMES = ("_http", "_uri", "_lookup", "_headers", "_auth")
PURE = {n: _speedups.load_pure(n) for n in NAMES}
COMPILED = {n: _speedups.load_compiled(n) for n in NAMES}


class Mismatch(AssertionError):
    pass


def outcome(fn):
    try:
        return ("ok", fn())
    except HTTPError as exc:
        return ("http-error", exc.status, exc.detail)
    except Exception as exc:                   # the same type, whatever it is
        return ("error", type(exc).__name__)


def same(target, data, fn_pure, fn_comp):
    a = outcome(fn_pure)
    b = outcome(fn_comp)
    if a != b:
        raise Mismatch("%s differs on %r:\n  pure     %r\n  compiled %r"
                       % (target, data[:300], a, b))


def _text(data):
    return data.decode("latin-1")


def _utext(data):
    return data.decode("utf-8", "surrogateescape")


# ---------------------------------------------------------------- _http

def _head_summary(result):
    head, end = result
    if head is None:
        return None, end
    return (head.method, head.target, head.version, head.version_num, head.headers,
            head.content_length, head.chunked, head.keep_alive, head.expect_continue,
            head.request_line), end


def t_parse_head(data):
    if len(data) < 3:
        return
    p0, p1, p2, body = data[0], data[1], data[2], data[3:]
    kw = {}
    if p0 & 1:
        kw["max_line"] = 8 + p1
    if p0 & 2:
        kw["max_field_size"] = 4 + p2
    if p0 & 4:
        kw["max_fields"] = p0 >> 3
    start = (p1 % (len(body) + 1)) if p0 & 8 else 0
    buf = bytearray(body) if p0 & 16 else body
    for name in ("_http",):
        same("parse_head", data,
             lambda: _head_summary(PURE[name].parse_head(buf, start, **kw)),
             lambda: _head_summary(COMPILED[name].parse_head(buf, start, **kw)))


def _chunked_run(mod, pieces, kw):
    r = mod.ChunkedReader(**kw)
    out = []
    for piece in pieces:
        try:
            out.append(r.feed(piece))
        except HTTPError as exc:
            out.append(("http-error", exc.status))
            break
        out.append((r.done, bytes(r.unused), list(r.trailers)))
    return out


def t_chunked(data):
    if len(data) < 2:
        return
    p0, p1, body = data[0], data[1], data[2:]
    kw = {}
    if p0 & 1:
        kw["max_chunk_line"] = p1
    if p0 & 2:
        kw["max_trailers_size"] = p1 * 4
    step = (p0 >> 2) + 1
    pieces = [body[i:i + step] for i in range(0, len(body), step)] or [b""]
    same("ChunkedReader", data, lambda: _chunked_run(PURE["_http"], pieces, kw),
         lambda: _chunked_run(COMPILED["_http"], pieces, kw))


# ---------------------------------------------------------------- _uri

def t_split_target(data):
    s = _text(data)
    same("split_target", data, lambda: PURE["_uri"].split_target(s),
         lambda: COMPILED["_uri"].split_target(s))


def t_unquote(data):
    if not data:
        return
    s, flag = _text(data[1:]), bool(data[0] & 1)
    same("unquote_path", data, lambda: PURE["_uri"].unquote_path(s, flag),
         lambda: COMPILED["_uri"].unquote_path(s, flag))


def t_normalize(data):
    s = _utext(data)
    same("normalize_path", data, lambda: PURE["_uri"].normalize_path(s),
         lambda: COMPILED["_uri"].normalize_path(s))


def t_parse_qsl(data):
    if not data:
        return
    s, keep = _text(data[1:]), bool(data[0] & 1)
    same("parse_qsl", data, lambda: PURE["_uri"].parse_qsl(s, keep),
         lambda: COMPILED["_uri"].parse_qsl(s, keep))


_TREE = None


def _tree():
    global _TREE
    if _TREE is None:
        root = tempfile.mkdtemp(prefix="fd-fuzz-")
        for d in ("a", "a/b", "c", "d.py"):
            os.makedirs(os.path.join(root, d), exist_ok=True)
        for f in ("a/x.py", "a/b/index.html", "c/f.txt", "top"):
            with open(os.path.join(root, f), "w") as fh:
                fh.write("x")
        os.symlink("a", os.path.join(root, "link"))
        os.symlink("loop", os.path.join(root, "loop"))
        os.symlink("/nonexistent/x", os.path.join(root, "dangling"))
        _TREE = root
    return _TREE


def t_map_to_storage(data):
    root = _tree()
    s = _utext(data)
    if not s.startswith("/"):
        s = "/" + s
    same("map_to_storage", data, lambda: PURE["_uri"].map_to_storage(root, s),
         lambda: COMPILED["_uri"].map_to_storage(root, s))


# ---------------------------------------------------------------- _lookup

_SECTIONS = [
    ("directory", "/srv/www", False, -1), ("directory", "/srv/www/app", False, -1),
    ("directory", "/srv/*/private", False, -1), ("directory", r"^/srv/.*/cgi$", True, -1),
    ("files", "*.py", False, 1), ("files", ".ht*", False, -1),
    ("files", r"\.(gz|tar)$", True, -1), ("location", "/app", False, -1),
    ("location", "/img/*", False, -1), ("location", r"^/re", True, -1),
    ("directory", "/", False, -1), ("files", "index.html", False, 0),
]
_LOOKUPS = {}


def _lookup(kind):
    if kind not in _LOOKUPS:
        mod = PURE["_lookup"] if kind == "pure" else COMPILED["_lookup"]
        _LOOKUPS[kind] = mod.Lookup([mod.SectionSpec(*s) for s in _SECTIONS],
                                    lambda idx: tuple(idx), 64)
    return _LOOKUPS[kind]


def t_lookup(data):
    if not data:
        return
    split = data[0] % (len(data))
    uri, fn = _utext(data[1:split + 1]), _utext(data[split + 1:])
    if data[0] & 128:
        fn = "/srv/www" + uri
    filename = None if data[0] & 64 else fn
    same("Lookup.match", data, lambda: _lookup("pure").match(uri, filename),
         lambda: _lookup("compiled").match(uri, filename))


# ---------------------------------------------------------------- _headers

_KEYS = ["Host", "host", "X-A", "x-a", "Set-Cookie", "", "\u00e9", "a b"]


def _table_script(mod, data):
    t = mod.Table()
    out = []
    i = 0
    while i + 2 <= len(data):
        op, arg = data[i], data[i + 1]
        i += 2
        key = _KEYS[arg % len(_KEYS)] if arg < 200 else _text(data[i:i + 3])
        value = _text(data[i:i + (arg % 5)])
        kind = op % 14
        try:
            if kind == 0:
                t.add(key, value)
            elif kind == 1:
                t[key] = value
            elif kind == 2:
                del t[key]
            elif kind == 3:
                out.append(t[key])
            elif kind == 4:
                out.append(t.get(key, "D"))
            elif kind == 5:
                out.append(t.getall(key))
            elif kind == 6:
                out.append(key in t)
            elif kind == 7:
                out.append(len(t))
            elif kind == 8:
                out.append(list(t.items()))
            elif kind == 9:
                out.append(repr(t))
            elif kind == 10:
                out.append(t.pop(key, "P"))
            elif kind == 11:
                out.append(t.setdefault(key, value))
            elif kind == 12:
                t = t.copy()
            else:
                t.add(key, arg)                 # not a str: TypeError
        except Exception as exc:
            out.append(("error", type(exc).__name__))
    out.append(list(t.items()))
    return out


def t_table(data):
    same("Table", data, lambda: _table_script(PURE["_headers"], data),
         lambda: _table_script(COMPILED["_headers"], data))


def _build(mod, data):
    p = data[:4].ljust(4, b"\0")
    rest = _text(data[4:])
    parts = rest.split("\n")
    headers = [(parts[i], parts[i + 1]) for i in range(0, len(parts) - 1, 2)][:8]
    return mod.build_response_head(
        10 + (p[0] & 1), 100 + p[1] * 2, headers,
        content_length=(p[2] - 128) * 1000, chunked=bool(p[0] & 2),
        keep_alive=bool(p[0] & 4), server=parts[-1][:20] if p[0] & 8 else "",
        keep_alive_header="timeout=5" if p[0] & 16 else "",
        content_type=parts[0][:30] if p[0] & 32 else None, body=data[:p[3] % 16])


def t_build_head(data):
    date = PURE["_headers"].http_date(0.0)     # both cache the date per second:
    same("build_response_head", data,        # compare without it
         lambda: _strip_date(_build(PURE["_headers"], data)),
         lambda: _strip_date(_build(COMPILED["_headers"], data)))
    del date


def _strip_date(raw):
    import re
    return re.sub(rb"\r\nDate: [^\r]*", b"\r\nDate: D", raw)


def t_date_reason(data):
    import struct
    raw = data[:8].ljust(8, b"\0")
    ts = struct.unpack("<d", raw)[0]
    code = int.from_bytes(data[8:10].ljust(2, b"\0"), "little") - 1000
    same("http_date", data, lambda: PURE["_headers"].http_date(ts),
         lambda: COMPILED["_headers"].http_date(ts))
    same("reason_phrase", data, lambda: PURE["_headers"].reason_phrase(code),
         lambda: COMPILED["_headers"].reason_phrase(code))


# ---------------------------------------------------------------- _auth

def t_auth(data):
    s = _text(data) if not data[:1] == b"\xff" else _utext(data[1:])
    same("parse_basic", data, lambda: PURE["_auth"].parse_basic(s),
         lambda: COMPILED["_auth"].parse_basic(s))
    same("basic_challenge", data, lambda: PURE["_auth"].basic_challenge(s),
         lambda: COMPILED["_auth"].basic_challenge(s))


TARGETS = [t_parse_head, t_parse_head, t_chunked, t_split_target, t_unquote, t_normalize,
           t_parse_qsl, t_map_to_storage, t_lookup, t_table, t_build_head, t_date_reason,
           t_auth]
TARGET_OF = {"_http": (0, 1, 2), "_uri": (3, 4, 5, 6, 7), "_lookup": (8,),
             "_headers": (9, 10, 11), "_auth": (12,)}


def one_input(data):
    if not data:
        return
    TARGETS[data[0] % len(TARGETS)](data[1:])


# ---------------------------------------------------------------- seeds

def _seed_bodies():
    seeds = []
    try:
        with open(os.path.join(HERE, "smuggling.json"), encoding="utf-8") as f:
            for case in json.load(f)["cases"]:
                if isinstance(case["request"], str):
                    seeds.append(case["request"].encode("latin-1"))
    except (OSError, ValueError):
        pass
    try:
        with open(os.path.join(ROOT, "tests", "data", "apache", "responses.json"),
                  encoding="utf-8") as f:
            for rec in json.load(f):
                seeds.append(rec["request"].encode("latin-1")[:4096])
    except (OSError, ValueError):
        pass
    return seeds


HAND = {
    "_http": [b"5\r\nhello\r\n0\r\n\r\n", b"ffffffffffffffff\r\nab", b"1;e=\"q\"\r\nx\r\n0\r\nT: v\r\n\r\n"],
    "_uri": [b"/a/b/../c?x=1&y=%41", b"http://h:8080/p?q", b"/%2e%2e/%2f/%00", b"a=1;b=%zz&c+d=e",
             b"/a//b/./c/", b"/link/x.py/extra", b"/d.py/x", b"/loop/x", b"/\xc0\xae/"],
    "_lookup": [b"\x05/app/x.py/srv/www/app/x.py", b"\x85/img/a.gz", b"\x40/re/x"],
    "_headers": [b"\x00\x01abc\x01\x02def\x08\x00\x09\x00", b"\x0f\x10\x20\x05Content-Type\ntext/html\nX\nY"],
    "_auth": [b"Basic c3BhbTplZ2dz", b"basic  c3BhbTplZ2dz ", b"Basic c3BhbTplZ2dz=", b"Bearer x",
              b"Basic \xe9", b"Digest realm=\"a\""],
}


def seeds():
    out = []
    bodies = _seed_bodies()
    for name, idx in TARGET_OF.items():
        for i in idx:
            prefix = bytes([i])
            for s in HAND[name]:
                out.append(prefix + s)
            if name == "_http":
                for b in bodies:
                    out.append(prefix + b"\x00\x00\x00" + b)
            elif i in (3, 4, 5, 6, 7):
                for b in bodies[:60]:
                    line = b.split(b"\r\n", 1)[0].split(b" ")
                    if len(line) > 1:
                        out.append(prefix + line[1])
    return out


DICTIONARY = [b"\r\n", b"\n", b"\r", b"\r\n\r\n", b": ", b"Content-Length: ", b"Transfer-Encoding: ",
              b"chunked", b"Host: ", b"Expect: 100-continue", b"HTTP/1.1", b"HTTP/1.0", b" ",
              b"\t", b"\x00", b"%", b"%2e", b"%2f", b"%00", b"..", b"/", b"?", b"#", b"=", b"&",
              b";", b"0\r\n\r\n", b"ffffffff", b"Basic ", b"==", b"\xff", b"\xc0\xae", b"http://",
              b"*", b"\x7f", b",", b"\"", b"\\"]


def mutate(rng, data, pool):
    data = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        choice = rng.random()
        if choice < 0.2 and data:
            i = rng.randrange(len(data))
            data[i] = rng.randrange(256)
        elif choice < 0.35 and data:
            i = rng.randrange(len(data))
            data[i] ^= 1 << rng.randrange(8)
        elif choice < 0.55:
            i = rng.randrange(len(data) + 1)
            data[i:i] = rng.choice(DICTIONARY)
        elif choice < 0.7 and len(data) > 1:
            i = rng.randrange(1, len(data))
            j = min(len(data), i + rng.randint(1, 16))
            del data[i:j]
        elif choice < 0.8 and data:
            i = rng.randrange(1, len(data) + 1)
            j = min(len(data), i + rng.randint(1, 32))
            data[j:j] = data[i:j]               # duplicate a run
        elif choice < 0.9:
            other = rng.choice(pool)
            i = rng.randrange(1, len(data) + 1) if data else 0
            data[i:] = other[rng.randrange(1, len(other) + 1) if len(other) > 1 else 0:]
        else:
            i = rng.randrange(len(data) + 1)
            data[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
    if data:
        data[0] = data[0] % len(TARGETS) if rng.random() < 0.9 else rng.randrange(256)
    return bytes(data[:8192])


def run(seconds, seed=0, max_inputs=None, only=None):
    """The built-in fuzzer: returns the number of inputs run."""
    rng = random.Random(seed)
    pool = seeds()
    if only:
        keep = {i for name in only for i in TARGET_OF[name]}
        pool = [s for s in pool if s[0] in keep]
    for s in pool:
        one_input(s)
    n = len(pool)
    end = time.monotonic() + seconds
    while time.monotonic() < end and (max_inputs is None or n < max_inputs):
        data = mutate(rng, rng.choice(pool), pool)
        if only and data[0] % len(TARGETS) not in keep:
            continue
        try:
            one_input(data)
        except Mismatch:
            path = os.path.join(tempfile.gettempdir(), "fastdispatch-fuzz-mismatch.bin")
            with open(path, "wb") as f:
                f.write(data)
            sys.stderr.write("input saved to %s\n" % path)
            raise
        n += 1
        if len(pool) < 5000 and rng.random() < 0.01:
            pool.append(data)
    return n


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--only", action="append", choices=NAMES)
    p.add_argument("--atheris", action="store_true", help="drive with atheris/libFuzzer")
    p.add_argument("--replay", nargs="*", help="run these input files once each")
    args, rest = p.parse_known_args(argv)
    missing = [n for n in NAMES if COMPILED[n] is None]
    if missing:
        sys.stderr.write("not compiled: %s (nothing to compare)\n" % ", ".join(missing))
        return 2
    if args.replay:
        for path in args.replay:
            with open(path, "rb") as f:
                one_input(f.read())
        print("replayed %d inputs" % len(args.replay))
        return 0
    if args.atheris:
        import atheris
        # coverage feedback from the pure twins (Python code atheris can see);
        # the compiled modules follow the same branches
        atheris.instrument_all()
        corpus_dir = tempfile.mkdtemp(prefix="fd-fuzz-corpus-")
        for i, s in enumerate(seeds()):
            with open(os.path.join(corpus_dir, "seed%05d" % i), "wb") as f:
                f.write(s)
        atheris.Setup([sys.argv[0]] + rest + [corpus_dir], one_input)
        atheris.Fuzz()
        return 0
    start = time.monotonic()
    n = run(args.seconds, args.seed, only=args.only)
    print("fuzz: %d inputs in %.1f s, compiled == pure, no crash" % (n, time.monotonic() - start))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Request-target to path, query and file (pure-Python twin of src/_uri.pyx).

This module is the readable specification of ``fastdispatch._uri``; the
compiled module gives the same results and raises the same errors.

Text model (docs/internals.md): a request-target arrives as latin-1 text, one
character per byte received. Percent-decoding works on those bytes; the
decoded path is the UTF-8 decoding of the bytes with ``surrogateescape`` (as
``os.fsdecode``), so every byte sequence names a file and maps back to it.

A ``str`` holding a character above U+00FF did not come from the wire; such
text is read as its UTF-8 encoding instead (see ``_wire_bytes``).

Functions:

``split_target(target)``          "/p?q" -> ("/p", "q")
``unquote_path(raw)``             strict %XX decoding, as Apache's ap_unescape_url
``normalize_path(path)``          dot segments and repeated slashes, as Apache
``parse_qsl(qs)``                 mod_python's util.parse_qsl
``map_to_storage(root, path)``    Apache's directory walk: (filename, path_info)
``clear_map_cache()``             forget map_to_storage's cached answers
``map_cache_size()``              how many answers are cached
"""
import os
import re
import stat
import threading
import time

from fastdispatch.errors import HTTPError

# uri-host [":" port] of an absolute-form target, checked as the Host field is
# (RFC 9112 3.2.2, RFC 3986 3.2.2): a bracketed IP literal or a reg-name.
_AUTHORITY = re.compile(r"(?:\[[0-9A-Za-z:._~!$&'()*+,;=%-]+\]"
                        r"|[0-9A-Za-z._~!$&'()*+,;=%-]*)(?::[0-9]*)?\Z")

_HEXDIGITS = frozenset(b"0123456789abcdefABCDEF")


def _wire_bytes(text, errors):
    """The bytes a str stands for.

    Wire text (every character <= U+00FF) is read as latin-1, one byte per
    character. Any other str is read as UTF-8, encoded with ``errors``.
    """
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8", errors)


# --- split_target --------------------------------------------------------

def split_target(target):
    """Split a request-target into (path, query).

    - origin-form ``/p?q`` -> ("/p", "q"); ``/p`` -> ("/p", None);
      ``/p?`` -> ("/p", "")  (Apache: an empty query is "", not NULL);
    - absolute-form ``http://host/p?q`` (scheme http or https, any case)
      -> ("/p", "q"); an empty path is "/" as in Apache's ap_parse_uri;
      an empty authority or one with userinfo ("user@host", RFC 9110 4.2.4)
      is refused;
    - asterisk-form ``*`` -> ("*", None);
    - a fragment ("#") anywhere, or any other form -> HTTPError(400).
    """
    if "#" in target:
        raise HTTPError(400, "fragment in request-target")
    if target == "*":
        return "*", None
    if target.startswith("/"):
        rest = target
    else:
        scheme, sep, after = target.partition("://")
        if not sep or scheme.lower() not in ("http", "https") or not scheme.isascii():
            raise HTTPError(400, "invalid request-target")
        slash = after.find("/")
        question = after.find("?")
        end = len(after)
        if slash >= 0:
            end = slash
        if 0 <= question < end:
            end = question
        authority = after[:end]
        if not authority or "@" in authority or _AUTHORITY.match(authority) is None:
            raise HTTPError(400, "invalid authority in request-target")
        rest = after[end:]
        if not rest.startswith("/"):
            rest = "/" + rest
    path, sep, query = rest.partition("?")
    return path, (query if sep else None)


# --- unquote_path --------------------------------------------------------

def unquote_path(raw, allow_encoded_slash=False):
    """Percent-decode a URL path, strictly, as Apache's ap_unescape_url.

    - "%" not followed by two hex digits -> HTTPError(400);
    - "%2F" (an encoded "/") -> HTTPError(404) unless ``allow_encoded_slash``
      (Apache's AllowEncodedSlashes Off / On);
    - "%00" (an encoded NUL) -> HTTPError(404), always;
    - a bad escape wins over a forbidden one (Apache reports 400 first);
    - "+" stays "+" (it means space only in query strings).

    The decoded bytes are returned as UTF-8 decoded with surrogateescape.
    Non-wire text (see ``_wire_bytes``) that cannot be encoded -> 400.
    """
    try:
        data = _wire_bytes(raw, "surrogateescape")
    except UnicodeEncodeError:
        raise HTTPError(400, "undecodable character in path") from None
    if b"%" not in data:            # nothing to decode (the common case)
        return data.decode("utf-8", "surrogateescape")
    out = bytearray()
    bad_escape = False
    forbidden = False
    i = 0
    n = len(data)
    while i < n:
        byte = data[i]
        if byte != 0x25:  # not "%"
            out.append(byte)
            i += 1
        elif i + 2 < n and data[i + 1] in _HEXDIGITS and data[i + 2] in _HEXDIGITS:
            decoded = int(data[i + 1:i + 3], 16)
            if decoded == 0 or (decoded == 0x2F and not allow_encoded_slash):
                forbidden = True
            out.append(decoded)
            i += 3
        else:
            bad_escape = True
            out.append(byte)
            i += 1
    if bad_escape:
        raise HTTPError(400, "bad %-escape in path")
    if forbidden:
        raise HTTPError(404, "encoded '/' or NUL in path")
    return out.decode("utf-8", "surrogateescape")


# --- normalize_path ------------------------------------------------------

def normalize_path(path):
    """Normalize a decoded path as Apache 2.4's ap_normalize_path does for a
    request (flags NOT_ABOVE_ROOT and MERGE_SLASHES, MergeSlashes On being
    the default):

    - repeated slashes are merged ("//a//b" -> "/a/b");
    - "." and ".." segments are removed (RFC 3986 5.2.4); a final "." or ".."
      leaves a trailing "/" ("/a/b/.." -> "/a/");
    - a ".." that would climb above "/" ("/..", "/a/../..") -> HTTPError(400),
      as Apache answers ("invalid URI path");
    - a path that does not start with "/" -> HTTPError(400).
    """
    if not path.startswith("/"):
        raise HTTPError(400, "path does not start with '/'")
    segments = path[1:].split("/")
    kept = []
    for segment in segments:
        if segment == "" or segment == ".":
            continue
        if segment == "..":
            if not kept:
                raise HTTPError(400, "'..' above the root of the path")
            kept.pop()
            continue
        kept.append(segment)
    # A final "/", "." or ".." names the directory it ends in: keep its "/".
    if kept and segments[-1] in ("", ".", ".."):
        kept.append("")
    return "/" + "/".join(kept)


# --- parse_qsl -----------------------------------------------------------

def _unquote_plus(data):
    """Query-string decoding of one name or value (bytes -> str).

    "+" is a space; "%XX" is the byte XX; a "%" without two hex digits stays
    as it is (as urllib); the bytes are decoded as UTF-8, errors replaced.
    """
    if b"%" not in data:            # no escapes (the common case)
        return data.replace(b"+", b" ").decode("utf-8", "replace")
    out = bytearray()
    i = 0
    n = len(data)
    while i < n:
        byte = data[i]
        if byte == 0x2B:  # "+"
            out.append(0x20)
            i += 1
        elif byte == 0x25 and i + 2 < n and data[i + 1] in _HEXDIGITS and data[i + 2] in _HEXDIGITS:
            out.append(int(data[i + 1:i + 3], 16))
            i += 3
        else:
            out.append(byte)
            i += 1
    return out.decode("utf-8", "replace")


def parse_qsl(qs, keep_blank_values=False):
    """Parse a query string into a list of (name, value) pairs, in order.

    As mod_python's util.parse_qsl: pairs are separated by "&" or ";";
    empty pairs are skipped; a pair is split at its first "="; a pair whose
    value is empty ("a=" or "a") is kept, with value "", only when
    ``keep_blank_values`` is true. Names and values are decoded by
    ``_unquote_plus``. Non-wire text is read as UTF-8 (surrogates passed
    through, then replaced on decoding), so this never raises.
    """
    data = _wire_bytes(qs, "surrogatepass")
    pairs = []
    for pair in data.replace(b";", b"&").split(b"&"):
        if not pair:
            continue
        name, _, value = pair.partition(b"=")
        if value or keep_blank_values:
            pairs.append((_unquote_plus(name), _unquote_plus(value)))
    return pairs


# --- map_to_storage ------------------------------------------------------

CACHE_SIZE = 4096     # entries
CACHE_TTL = 1.0       # seconds an answer is trusted

# (root, path) -> (expires_at, (filename, path_info)). Insertion-ordered: a
# refreshed entry is re-inserted at the end, so the first entry is always the
# one closest to expiry, and the one evicted when the cache is full. (With
# every entry living at most CACHE_TTL, that is what LRU would evict too.)
# A hit is one dict look-up, without a lock; misses take the lock to insert
# and evict.
_cache = {}
_cache_lock = threading.Lock()


def clear_map_cache():
    """Forget every cached map_to_storage answer."""
    with _cache_lock:
        _cache.clear()


def map_cache_size():
    """How many answers map_to_storage holds (for tests and monitoring)."""
    return len(_cache)


def _walk(root, path):
    """Apache's directory walk, uncached; returns (filename, path_info).

    Stat root + each successive prefix of ``path`` ending at a component
    boundary. A directory continues the walk; the first prefix that is
    something else (a regular file, anything) or that does not exist
    (ENOENT, ENOTDIR) ends ``filename``; the rest of ``path`` is path_info.
    Any other stat error (EACCES, ELOOP, ENAMETOOLONG, ...) -> HTTPError(403),
    as Apache's ap_directory_walk.
    """
    base = root.rstrip("/")
    end = 0
    n = len(path)
    while end < n:
        nxt = path.find("/", end + 1)
        if nxt < 0:
            nxt = n
        end = nxt
        try:
            st = os.stat(base + path[:end])
        except (FileNotFoundError, NotADirectoryError):
            break
        except OSError:
            raise HTTPError(403, "cannot stat a component of the path") from None
        if not stat.S_ISDIR(st.st_mode):
            break
    return base + path[:end], path[end:]


def map_to_storage(root, path):
    """(filename, path_info) for a decoded, normalized URL path under root.

    "/a/b.py/x/y" with root "/srv" and b.py missing or a file ->
    ("/srv/a/b.py", "/x/y"); a path naming an existing directory gives
    path_info "". ``path`` must start with "/" and hold no "." or ".."
    segment (normalize_path first) -> else HTTPError(400); a NUL in root or
    path -> HTTPError(404).

    Answers are cached per (root, path), at most CACHE_SIZE of them, each
    for CACHE_TTL seconds: a file created or removed is seen within a second,
    not at once.
    """
    key = (root, path)
    entry = _cache.get(key)
    now = time.monotonic()
    if entry is not None and entry[0] > now:
        return entry[1]
    if not path.startswith("/"):
        raise HTTPError(400, "path does not start with '/'")
    if "\x00" in path or "\x00" in root:
        raise HTTPError(404, "NUL in path")
    try:
        os.fsencode(root + path)
    except UnicodeEncodeError:
        raise HTTPError(404, "path is not a file name") from None
    for segment in path.split("/"):
        if segment == "." or segment == "..":
            raise HTTPError(400, "path is not normalized")
    result = _walk(root, path)
    with _cache_lock:
        _cache.pop(key, None)
        while len(_cache) >= CACHE_SIZE:
            del _cache[next(iter(_cache))]
        _cache[key] = (now + CACHE_TTL, result)
    return result

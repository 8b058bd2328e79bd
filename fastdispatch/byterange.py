"""Apache 2.4's byterange filter: a Range request gets the part of a 200
response it asks for (206, one range or multipart/byteranges), 416 when no
range starts inside the body, or the whole response.

Apache's filter works on whatever reaches it whole: a file from the
default handler (handlers/static.py reads just the ranges from the file)
and a handler's response that was not flushed before the handler returned
(``apply_to_buffered``: the publisher's value, a PSP page, ``req.write(s,
0)``). A response that started going out while the handler ran is sent
whole, as Apache does.
"""
import os

from fastdispatch.httpdate import parse_http_date


_OFF_MAX = 2 ** 63 - 1     # the largest apr_off_t


def parse_ranges(value, size):
    """A Range header as Apache 2.4's byterange filter reads it:
    [(start, end), ...] inclusive and clipped, "unsatisfiable" when no
    range starts inside the file, or None to serve it whole (no Range,
    another unit, any malformed spec, a number over 2**63-1, "-0", ranges
    adding up to more than the file, an empty body). A range that overlaps or touches the one before it is merged
    into it, and "0-" stands for the whole file on its own."""
    if not value or value[:6].lower() != "bytes=" or size <= 0:
        return None
    spec = value[6:]
    if " " in spec or "\t" in spec:
        return None
    ranges = []
    current = None          # the set being merged: [start, end]
    unsatisfiable = False
    words = spec.split(",")
    # (ap_getword: an empty first spec ends the list; later commas in a row
    # count as one)
    for cur in words[:1] + [w for w in words[1:] if w]:
        if not cur:
            break
        first, sep, last = cur.partition("-")
        if not sep or not (first.isdigit() or first == "") or not (last.isdigit() or last == ""):
            return None
        if len(first) > 18 or len(last) > 18:
            if max(int(first or 0), int(last or 0)) > _OFF_MAX:
                return None     # (apr_strtoff overflows: the header is ignored)
        if first == "":
            if last == "" or int(last) < 1:
                return None
            start, end = max(0, size - int(last)), size - 1
        else:
            start = int(first)
            if last:
                end = int(last)
                if start > end:
                    return None
            else:
                end = size - 1
                if start == 0:
                    ranges, current = [], [0, end]      # the whole file, alone
                    break
        if start >= size:
            unsatisfiable = True
            continue
        end = min(end, size - 1)
        if current is None:
            current = [start, end]
            continue
        merged = False
        if start >= current[0] and end <= current[1]:
            merged = True
        if start < current[0] and end >= current[0] - 1:
            current[0] = start
            merged = True
        if end >= current[1] and start <= current[1] + 1:
            current[1] = end
            merged = True
        if not merged:
            ranges.append(tuple(current))
            current = [start, end]
    if current is not None:
        ranges.append(tuple(current))
    elif unsatisfiable:
        return "unsatisfiable"
    if not ranges or sum(e - s + 1 for s, e in ranges) > size:
        return None
    return ranges


# Apache picks its multipart boundary once per process: a random 64-bit
# number in hex, without leading zeros
BOUNDARY = "%x" % int.from_bytes(os.urandom(8), "big")


def part_head(ctype, start, end, size):
    """What comes before one range of a multipart/byteranges body."""
    return ("\r\n--%s\r\n%sContent-range: bytes %d-%d/%d\r\n\r\n" % (
        BOUNDARY, "Content-type: %s\r\n" % ctype if ctype else "", start, end,
        size)).encode("latin-1")


END = ("\r\n--%s--\r\n" % BOUNDARY).encode("latin-1")
MULTIPART_TYPE = "multipart/byteranges; boundary=" + BOUNDARY


def if_range_holds(if_range, etag, last_modified):
    """Apache's ap_condition_if_range: an If-Range that names another
    version (an entity tag other than the response's ETag, or a date other
    than its Last-Modified) turns the range request into a whole one."""
    if if_range is None:
        return True
    if if_range.startswith('"'):
        return etag is not None and if_range == etag
    since = parse_http_date(if_range)
    return since is not None and last_modified is not None and \
        since == parse_http_date(last_modified)


def wanted(req):
    """The Range header of a request whose response may be ranged (Apache
    reads it for a 200 that has no Content-Range of its own), or None."""
    value = req.headers_in.get("Range")
    if value is None or req.status != 200:
        return None
    out = req.headers_out
    if "Content-Range" in out:
        return None
    return value


def apply_to_buffered(req):
    """Range a handler's whole response (buffered, nothing sent yet):
    returns None, or 416 when no range is satisfiable (the caller answers
    with the error page, as Apache's filter does)."""
    value = wanted(req)
    if value is None or req._filters is not None or \
            (req.content_type or "").lower().startswith("multipart/byteranges"):
        return None
    out = req.headers_out
    if not if_range_holds(req.headers_in.get("If-Range"), out.get("ETag"),
                          out.get("Last-Modified")):
        return None
    size = req._buffered
    ranges = parse_ranges(value, size)
    if ranges is None:
        return None
    body = b"".join(req._buffer)
    if ranges == "unsatisfiable":
        req._buffer, req._buffered = [], 0
        req._unsized_error = True       # (its page goes without a length)
        return 416
    req.status = 206
    if len(ranges) == 1:
        start, end = ranges[0]
        out["Content-Range"] = "bytes %d-%d/%d" % (start, end, size)
        pieces = [body[start:end + 1]]
    else:
        ctype = req.content_type
        pieces = []
        for start, end in ranges:
            pieces.append(part_head(ctype, start, end, size))
            pieces.append(body[start:end + 1])
        pieces.append(END)
        req.content_type = MULTIPART_TYPE
    req._buffer = pieces
    req._buffered = sum(map(len, pieces))
    return None

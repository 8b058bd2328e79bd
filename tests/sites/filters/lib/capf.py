"""Filters for tests/test_filters.py (the same ran on Apache for the
expected answers)."""


def outputfilter(filter):
    """The documentation's example: the body in capitals."""
    s = filter.read()
    while s:
        filter.write(s.upper())
        s = filter.read()
    if s is None:
        filter.close()


def counting(filter):
    """One line per call: its number, what it read, how its input ended."""
    n = int(filter.req.notes.get("calls", "0")) + 1
    filter.req.notes["calls"] = str(n)
    seen = []
    s = filter.read()
    while s:
        seen.append(s)
        s = filter.read()
    filter.write("[%d:%r:%s]" % (n, b"".join(seen), "EOS" if s is None else repr(s)))
    if s is None:
        filter.close()


def noclose(filter):
    s = filter.read()
    while s:
        filter.write(s.lower())
        s = filter.read()


def crash(filter):
    filter.read()
    raise ValueError("filter broke")


def passon(filter):
    filter.pass_on()


def attrs(filter):
    s = filter.read()
    while s:
        s = filter.read()
    filter.write("name=%s is_input=%r handler=%s closed=%r\n"
                 % (filter.name, filter.is_input, filter.handler, filter.closed))
    if s is None:
        filter.close()


inputfilter = outputfilter     # the same capitals, on the request body


def inraise(filter):
    raise ValueError("input filter ran")


def closefirst(filter):
    """Replaces the body and ends it on its first call."""
    filter.read()
    filter.write("replaced")
    filter.close()


def fixup_adds_count(req):
    """A fixup handler that adds a filter before the section's own."""
    from mod_python import apache
    req.add_output_filter("COUNT")
    return apache.OK

import hashlib
import json
import resource


def _rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def save(req, upload, note=""):
    """Hash the upload while reading it from its file in blocks."""
    h = hashlib.sha256()
    size = 0
    f = upload.file
    f.seek(0)
    while True:
        block = f.read(1 << 16)
        if not block:
            break
        h.update(block)
        size += len(block)
    return json.dumps({
        "name": upload.name, "filename": upload.filename, "type": upload.type,
        "type_options": upload.type_options, "disposition": upload.disposition,
        "size": size, "sha256": h.hexdigest(), "note": note,
        "on_disk": bool(getattr(f, "_rolled", True)),
        "rss_kb": _rss_kb(),
        "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }, sort_keys=True)


def rss(req):
    return json.dumps({"rss_kb": _rss_kb(),
                       "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss})


def describe(req):
    out = []
    for name, field in req.form.items():
        out.append({"name": name, "class": type(field).__name__,
                    "filename": field.filename, "type": field.type,
                    "value": field.value if isinstance(field.value, str)
                    else field.value.decode("latin-1"),
                    "disposition": field.disposition,
                    "type_options": field.type_options})
    return json.dumps(out, sort_keys=True)

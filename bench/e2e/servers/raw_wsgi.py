"""A raw WSGI application doing the benchmark site's work (common.py), for
granian:

    granian --interface wsgi raw_wsgi:app
"""
from http import HTTPStatus

from common import respond

STATUS = {s.value: "%d %s" % (s.value, s.phrase) for s in HTTPStatus}


def app(environ, start_response):
    body = b""
    if environ["REQUEST_METHOD"] == "POST":
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(length) if length > 0 else b""
    headers = {}
    for key, value in environ.items():
        if key[:5] == "HTTP_":
            headers[key[5:].replace("_", "-").lower()] = value
    status, out_headers, data = respond(environ["REQUEST_METHOD"],
                                        environ.get("PATH_INFO", ""),
                                        environ.get("QUERY_STRING", ""), headers, body)
    out_headers.append(("content-length", str(len(data))))
    start_response(STATUS[status], out_headers)
    return [data]

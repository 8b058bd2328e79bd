"""A raw ASGI 3 application doing the benchmark site's work (common.py),
for uvicorn with httptools and uvloop:

    uvicorn raw_asgi:app --loop uvloop --http httptools --no-access-log
"""
from common import respond


async def app(scope, receive, send):
    if scope["type"] != "http":
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        return
    body = b""
    if scope["method"] == "POST":
        more = True
        chunks = []
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
    status, out_headers, data = respond(scope["method"], scope["path"],
                                        scope["query_string"].decode("latin-1"), headers, body)
    await send({"type": "http.response.start", "status": status,
                "headers": [(k.encode("latin-1"), v.encode("latin-1"))
                            for k, v in out_headers]})
    await send({"type": "http.response.body", "body": data})

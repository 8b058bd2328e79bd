"""``fastdispatch.testing.Client``: the whole pipeline in-process, no sockets."""
import json
import socket

import pytest

import hosting

from fastdispatch import Dispatcher
from fastdispatch.testing import Client


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    return Client(Dispatcher.from_config(hosting.embed_site(tmp_path_factory)))


@pytest.fixture(autouse=True)
def no_sockets(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("the test client opened a socket")
    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_the_issue_examples(client):
    r = client.get("/mywebdir/myscript.py")
    assert (r.status, r.body, r.header("content-type")) == (200, b"Hello World!", "text/plain")
    assert r.text == "Hello World!" and r.reason == "OK"
    assert ("Content-Type", "text/plain") in r.headers
    r = client.post("/secure/myscript.py", data={"a": "1"}, auth=("spam", "eggs"))
    assert (r.status, r.body) == (200, b"Hello World!")
    assert client.post("/secure/myscript.py", data={"a": "1"}).status == 401


def test_form_data_params_and_headers(client):
    r = client.post("/feedback/form.py/email", data={"name": "A", "email": "", "comment": ""})
    assert r.body.startswith(b"A required parameter is missing")
    r = client.get("/probe/echo", params={"a": "1", "b": ["x y", "z"]},
                   headers={"X-Probe": "dict"})
    assert b"args=a=1&b=x+y&b=z\n" in r.body and b"in x-probe=dict\n" in r.body
    r = client.get("/probe/echo?q=1", params=[("r", "2")], headers=[("X-Probe", "list")])
    assert b"args=q=1&r=2\n" in r.body and b"in x-probe=list\n" in r.body


def test_bodies(client):
    r = client.post("/probe/echo", data=b"raw bytes")
    assert b"body=9 " in r.body
    r = client.put("/probe/echo", data="text \xe9")
    assert b"method=PUT" in r.body and b"body=7 " in r.body
    r = client.post("/probe/echo", json={"k": [1, 2]})
    assert b"in content-type=application/json\n" in r.body
    assert b"body=%d " % len(json.dumps({"k": [1, 2]})) in r.body
    r = client.post("/probe/echo", data=b"x" * 5000, chunked=True)
    assert b"body=5000 " in r.body


def test_methods_and_versions(client):
    assert client.head("/mywebdir/myscript.py").body == b""
    assert client.delete("/probe/echo").body.startswith(b"method=DELETE")
    assert client.options("/probe/echo").body.startswith(b"method=OPTIONS")
    r = client.get("/mywebdir/myscript.py", version="HTTP/1.0")
    assert r.body == b"Hello World!" and r.header("Transfer-Encoding") is None


def test_response_helpers(client):
    r = client.get("/probe/status?code=409")
    assert r.status == 409 and r.header_all("set-cookie") == ["a=1; Path=/", "b=2; Path=/"]
    assert r.header("X-Nope", "dflt") == "dflt"
    assert r.raw.startswith(b"HTTP/1.1 409 Conflict\r\n")
    assert "409" in repr(r)


def test_host_header(client):
    assert b"hostname=localhost\n" in client.get("/probe/echo").body
    assert b"hostname=example.org\n" in client.get(
        "/probe/echo", headers=[("Host", "example.org")]).body

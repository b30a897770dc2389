"""Every URL ormock hands out is followable, whatever `Host` the client sent (none, empty), and an
HTTP/1.1 request with no `Host` at all gets the JSON error envelope, not a bare 400. Raw sockets
to a real server, since HTTP clients always send a Host."""

from __future__ import annotations

import json
import os
import socket

import pytest
from server import running
from support import SEEDANCE

BODY = json.dumps({"model": SEEDANCE, "prompt": "golden retriever"}).encode()


def exchange(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


@pytest.fixture(scope="module")
def served():
    with running("ci-fast", "--no-dashboard") as served:
        yield served


def port_of(served) -> int:
    return int(served.base_url.split(":")[2].split("/")[0])


@pytest.mark.parametrize("host_line", [b"", b"Host: \r\n"], ids=["http/1.0 without Host", "empty Host"])
def test_urls_fall_back_to_the_bound_address(served, host_line):
    port = port_of(served)
    submit = (
        b"POST /api/v1/videos HTTP/1.0\r\n" + host_line + b"Authorization: Bearer k\r\n"
        b"Content-Type: application/json\r\nContent-Length: " + str(len(BODY)).encode() + b"\r\n\r\n" + BODY
    )
    status, _, body = exchange(port, submit)
    job = json.loads(body)
    assert status == 202
    assert job["polling_url"] == f"http://127.0.0.1:{port}/api/v1/videos/{job['id']}"
    poll = f"GET /api/v1/videos/{job['id']} HTTP/1.0\r\n".encode() + host_line + b"Authorization: Bearer k\r\n\r\n"
    for _ in range(3):  # ci-fast's default: completed on the second poll
        status, _, body = exchange(port, poll)
    done = json.loads(body)
    assert done["status"] == "completed"
    assert done["polling_url"] == job["polling_url"]
    assert done["unsigned_urls"] == [f"http://127.0.0.1:{port}/api/v1/videos/{job['id']}/content?index=0"]


def test_http_1_1_without_host_gets_json_whatever_the_server(served):
    """Hypercorn refuses it (h11 requires Host): the JSON envelope, not its bare 400. Granian takes
    it, and the URLs handed out fall back to the bound address."""
    port = port_of(served)
    if os.environ.get("ORMOCK_SERVER") == "granian":
        body = json.dumps({"model": SEEDANCE, "prompt": "x"}).encode()
        request = (
            b"POST /api/v1/videos HTTP/1.1\r\nConnection: close\r\nAuthorization: Bearer k\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )
        status, headers, answer = exchange(port, request)
        assert status == 202 and headers["content-type"] == "application/json"
        assert json.loads(answer)["polling_url"].startswith(f"http://127.0.0.1:{port}/api/v1/videos/")
        return
    status, headers, body = exchange(port, b"GET /api/v1/videos/models HTTP/1.1\r\n\r\n")
    assert status == 400
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {
        "error": {
            "code": 400,
            "message": "The request is not valid HTTP/1.1 (an HTTP/1.1 request must carry a Host header)",
        }
    }

"""A server under a bad client keeps serving everyone else, and every bad request gets JSON."""

from __future__ import annotations

import socket

import httpx
from server import running
from support import KEY, SCENARIOS, SEEDANCE


def _healthy(base_url: str) -> None:
    with httpx.Client(base_url=base_url, headers=KEY, timeout=10) as http:
        job = http.post("/videos", json={"model": SEEDANCE, "prompt": "still here"})
        assert job.status_code == 202
        assert http.get(f"/videos/{job.json()['id']}").status_code == 200


def _address(base_url: str) -> tuple[str, int]:
    host_port = base_url.split("//")[1].split("/")[0]
    host, port = host_port.rsplit(":", 1)
    return host, int(port)


def test_garbage_half_open_and_oversized_clients_do_not_stop_others():
    with running(SCENARIOS / "seedance.toml") as served:
        address = _address(served.base_url)
        # a client that sends bytes that are not HTTP
        with socket.create_connection(address, timeout=5) as garbage:
            garbage.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)))
            _healthy(served.base_url)
        # clients that start a request and never finish it
        stalled = [socket.create_connection(address, timeout=5) for _ in range(20)]
        for sock in stalled:
            sock.sendall(b"POST /api/v1/videos HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{")
        _healthy(served.base_url)
        for sock in stalled:
            sock.close()
        # a body over the limit gets the error envelope
        with httpx.Client(base_url=served.base_url, headers=KEY, timeout=30) as http:
            huge = http.post("/videos", content=b"x" * (33 * 1024 * 1024), headers={"content-type": "application/json"})
        assert huge.status_code == 413
        assert huge.json() == {"error": {"code": 413, "message": "Payload too large"}}
        _healthy(served.base_url)


def test_many_idle_and_slow_connections_do_not_keep_new_clients_waiting():
    """1,200 connections that send nothing or never finish their headers (a few idle browsers, a
    slow-loris): under Granian's defaults every new client waited half a minute; a new client is
    answered at once (the 5 s client timeout only bounds a failing test)."""
    with running(SCENARIOS / "seedance.toml", "--no-dashboard") as served:
        address = _address(served.base_url)
        held = [socket.create_connection(address, timeout=5) for _ in range(1200)]
        try:
            for sock in held[::2]:
                sock.sendall(b"GET /api/v1/videos/models HTTP/1.1\r\nHost: x\r\n")  # never finished
            with httpx.Client(base_url=served.base_url, headers=KEY, timeout=5) as http:
                assert http.get("/videos/models").status_code == 200
                assert http.post("/videos", json={"model": SEEDANCE, "prompt": "new"}).status_code == 202
        finally:
            for sock in held:
                sock.close()


async def test_odd_paths_and_ids_get_json_errors(mock):
    for path in ["/api/v1/videos/%00%ff", "/api/v1/videos/" + "a" * 5000, "/api/v1/videos/x/content/extra", "/"]:
        response = await mock.http.get(path, headers=KEY)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/json"
        assert response.json()["error"]["code"] == 404

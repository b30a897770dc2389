"""A small HTTP/1.1 load generator on raw asyncio streams, run in its own process.

    python bench/loadgen.py closed URL --concurrency 32 --seconds 5
    python bench/loadgen.py open URL --rate 2000 --seconds 5
    python bench/loadgen.py submit URL --count 10000 --concurrency 32

It prints one JSON object: requests done, seconds taken, statuses and latency percentiles. Closed
loop: each connection sends its next request as soon as the last answer is in (throughput). Open
loop: requests are due at a fixed rate and latency counts from when each was due, so a server
that falls behind shows it (no coordinated omission).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from urllib.parse import urlsplit

KEY = "Bearer sk-or-bench"


def _request(method: str, host: str, path: str, body: bytes = b"") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: {KEY}\r\n"
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    body = await reader.readexactly(length) if length else b""
    return status, body


class Connection:
    """A keep-alive connection that reconnects when the server closes it (Hypercorn does after
    1000 requests), resending the request that found it closed."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def ask(self, request: bytes) -> tuple[int, bytes]:
        for attempt in range(2):
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            try:
                self.writer.write(request)
                assert self.reader is not None
                return await _answer(self.reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                self.writer.close()
                self.reader = self.writer = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _percentiles(latencies: list[float]) -> dict[str, float]:
    if not latencies:
        return {}
    ordered = sorted(latencies)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return {"p50_ms": pick(0.50), "p90_ms": pick(0.90), "p99_ms": pick(0.99), "max_ms": ordered[-1] * 1000}


async def closed(url: str, concurrency: int, seconds: float) -> dict:
    parts = urlsplit(url)
    request = _request("GET", parts.netloc, parts.path + (f"?{parts.query}" if parts.query else ""))
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        connection = Connection(parts.hostname or "", parts.port or 80)
        while time.perf_counter() < stop:
            started = time.perf_counter()
            status, _ = await connection.ask(request)
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1
        connection.close()

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    took = time.perf_counter() - began
    return {
        "requests": len(latencies),
        "seconds": took,
        "rate": len(latencies) / took,
        "statuses": statuses,
        **_percentiles(latencies),
    }


async def open_loop(url: str, rate: float, seconds: float, connections: int) -> dict:
    parts = urlsplit(url)
    request = _request("GET", parts.netloc, parts.path)
    total = int(rate * seconds)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    start = time.perf_counter() + 0.05
    next_index = 0

    async def worker() -> None:
        nonlocal next_index
        connection = Connection(parts.hostname or "", parts.port or 80)
        while next_index < total:
            due = start + next_index / rate
            next_index += 1
            wait = due - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            status, _ = await connection.ask(request)
            latencies.append(time.perf_counter() - due)
            statuses[status] = statuses.get(status, 0) + 1
        connection.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    took = time.perf_counter() - start
    return {
        "requests": len(latencies),
        "seconds": took,
        "rate": len(latencies) / took,
        "offered": rate,
        "statuses": statuses,
        **_percentiles(latencies),
    }


async def submit(url: str, count: int, concurrency: int) -> dict:
    parts = urlsplit(url)
    body = json.dumps({"model": "bytedance/seedance-2.0", "prompt": "bench"}).encode()
    request = _request("POST", parts.netloc, parts.path, body)
    ids: list[str] = []
    left = count

    async def worker() -> None:
        nonlocal left
        connection = Connection(parts.hostname or "", parts.port or 80)
        while left > 0:
            left -= 1
            status, answer = await connection.ask(request)
            if status == 202:
                ids.append(json.loads(answer)["id"])
        connection.close()

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    took = time.perf_counter() - began
    return {"requests": count, "seconds": took, "rate": count / took, "ids": ids[:200]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["closed", "open", "submit"])
    parser.add_argument("url")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--count", type=int, default=1000)
    args = parser.parse_args()
    if args.mode == "closed":
        result = asyncio.run(closed(args.url, args.concurrency, args.seconds))
    elif args.mode == "open":
        result = asyncio.run(open_loop(args.url, args.rate, args.seconds, args.concurrency))
    else:
        result = asyncio.run(submit(args.url, args.count, args.concurrency))
    result["cpu"] = time.process_time()  # the generator's own CPU seconds
    print(json.dumps(result))


if __name__ == "__main__":
    main()

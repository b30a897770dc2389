"""The reference: a bare ASGI app answering every request with the same bytes ormock sends for a
poll, under the same server ormock uses. Whatever ormock costs above this is ormock's own.

    python bench/bare.py BODY_FILE [hypercorn|granian]   (prints its base URL, then serves until killed)
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ormock._asgi import lifespan
from ormock.servers import bind, block_on, run


def main() -> None:
    with open(sys.argv[1], "rb") as file:
        body = file.read()
    server = sys.argv[2] if len(sys.argv) > 2 else "hypercorn"
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    sock = bind("127.0.0.1", 0)
    print(f"http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    block_on(run(app, sock, server=server), server)  # on the loop ormock itself uses under `server`


if __name__ == "__main__":
    main()

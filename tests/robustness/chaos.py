"""A hostile target for the harness: an ASGI app that misbehaves in one named way.

Run it with :func:`serve_chaos` (uvicorn in a daemon thread on 127.0.0.1, a free port). Modes:

- ``stall``: never answers (sleeps until the client gives up).
- ``reset``: starts a response promising a body, then drops the connection.
- ``garbage``: 200 with ``application/json`` and bytes that are not JSON.
- ``truncated``: 200 with the first half of a valid IntegrationState document.
- ``gigantic``: 200 with an 8 MiB JSON document.
- ``wrong_content_type``: 200 with a valid document labelled ``text/html``.
- ``error_storm``: 503 to everything.
- ``mixed``: cycles through all of the above (except ``stall``) request by request.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import orjson
import uvicorn

MODES = ("stall", "reset", "garbage", "truncated", "gigantic", "wrong_content_type", "error_storm", "mixed")

_STATE = orjson.dumps({
    "session": None,
    "profile": {"integrationId": "p", "created": "2026-01-01T00:00:00Z", "attributes": {}, "accountId": 1,
                "closedSessions": 0, "totalSales": 0, "loyaltyMemberships": [],
                "lastActivity": "2026-01-01T00:00:00Z"},
    "event": {"id": 1, "created": "2026-01-01T00:00:00Z", "applicationId": 1, "type": "talon_profile_updated",
              "attributes": {}, "effects": [], "ledgerEntries": []},
})


def create_chaos_app(mode: str, *, stall_s: float = 60.0):
    """An ASGI app that answers every request in the way ``mode`` names."""
    if mode not in MODES:
        raise ValueError(f"unknown chaos mode {mode!r}; expected one of {MODES}")
    cycle = itertools.cycle([m for m in MODES if m not in ("stall", "mixed")])

    async def app(scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        while (await receive()).get("more_body"):
            pass
        current = next(cycle) if mode == "mixed" else mode
        await _answer(current, send, stall_s)

    return app


async def _answer(mode: str, send, stall_s: float) -> None:
    async def respond(status: int, body: bytes, content_type: bytes = b"application/json",
                      length: int | None = None) -> None:
        headers = [(b"content-type", content_type), (b"content-length", str(length or len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    if mode == "stall":
        await asyncio.sleep(stall_s)
        await respond(200, _STATE)
    elif mode == "reset":
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"1000")]})
        await send({"type": "http.response.body", "body": b'{"session"', "more_body": True})
        raise ConnectionResetError("chaos: connection dropped mid-response")
    elif mode == "garbage":
        await respond(200, b"\x00\xffnot json at all <html>")
    elif mode == "truncated":
        await respond(200, _STATE[: len(_STATE) // 2])
    elif mode == "gigantic":
        await respond(200, b'{"pad":"' + b"x" * (8 * 1024 * 1024) + b'"}')
    elif mode == "wrong_content_type":
        await respond(200, _STATE, b"text/html")
    else:  # error_storm
        await respond(503, b'{"message":"chaos: service unavailable"}')


@contextmanager
def serve_chaos(mode: str, *, stall_s: float = 60.0) -> Iterator[str]:
    """Serve a chaos app on 127.0.0.1 in a daemon thread; yield its base URL; stop it on exit."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_chaos_app(mode, stall_s=stall_s), log_level="critical", lifespan="on",
                            timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("chaos server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()

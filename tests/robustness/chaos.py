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
- ``stall_midway``: the reference server answers the first ``answer_first`` requests correctly, then
  every later request stalls like ``stall`` (a target that hangs in the middle of a run).

Not a mode (no command's verdict on it is hostile): :func:`serve_slow`, the reference server answering every
request late, correct but slow (a run's time goes to waiting).
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import orjson
import uvicorn

MODES = ("stall", "reset", "garbage", "truncated", "gigantic", "wrong_content_type", "error_storm", "mixed",
         "stall_midway")
#: modes that answer some requests like a correct server (``mixed`` cycles; ``stall_midway`` proxies)
_NOT_CYCLED = ("stall", "mixed", "stall_midway")

_STATE = orjson.dumps({
    "session": None,
    "profile": {"integrationId": "p", "created": "2026-01-01T00:00:00Z", "attributes": {}, "accountId": 1,
                "closedSessions": 0, "totalSales": 0, "loyaltyMemberships": [],
                "lastActivity": "2026-01-01T00:00:00Z"},
    "event": {"id": 1, "created": "2026-01-01T00:00:00Z", "applicationId": 1, "type": "talon_profile_updated",
              "attributes": {}, "effects": [], "ledgerEntries": []},
})


def create_chaos_app(mode: str, *, stall_s: float = 60.0, correct=None, answer_first: int = 0):
    """An ASGI app that answers every request in the way ``mode`` names; ``stall_midway`` passes the first
    ``answer_first`` requests to the ASGI app ``correct``."""
    if mode not in MODES:
        raise ValueError(f"unknown chaos mode {mode!r}; expected one of {MODES}")
    cycle = itertools.cycle([m for m in MODES if m not in _NOT_CYCLED])
    seen = itertools.count(1)

    async def app(scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if mode == "stall_midway":
            if next(seen) <= answer_first:
                await correct(scope, receive, send)
                return
            mode_now = "stall"
        else:
            mode_now = mode
        while (await receive()).get("more_body"):
            pass
        current = next(cycle) if mode_now == "mixed" else mode_now
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
def serve_chaos(mode: str, *, stall_s: float = 60.0, answer_first: int = 0) -> Iterator[str]:
    """Serve a chaos app on 127.0.0.1 in a daemon thread; yield its base URL; stop it on exit."""
    with ExitStack() as stack:
        correct = None
        if mode == "stall_midway":
            from talon_harness.refserver import ServerConfig, Store, create_app

            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="chaos-")))
            correct = create_app(stack.enter_context(Store(folder / "db.sqlite")), ServerConfig())
        yield from _serve(create_chaos_app(mode, stall_s=stall_s, correct=correct, answer_first=answer_first))


@contextmanager
def serve_slow(delay_s: float, *, faults: Iterable[str] = ()) -> Iterator[str]:
    """Serve the reference server (with the catalogue ``faults``) answering every request ``delay_s`` late."""
    from talon_harness.refserver import ServerConfig, Store, create_app

    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="chaos-slow-")))
        correct = create_app(stack.enter_context(Store(folder / "db.sqlite")), ServerConfig(faults=frozenset(faults)))

        async def app(scope, receive, send) -> None:
            if scope["type"] == "http":
                await asyncio.sleep(delay_s)
            elif scope["type"] == "lifespan":
                while (await receive())["type"] != "lifespan.shutdown":
                    await send({"type": "lifespan.startup.complete"})
                await send({"type": "lifespan.shutdown.complete"})
                return
            await correct(scope, receive, send)

        yield from _serve(app)


def _serve(app) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="critical", lifespan="on", timeout_graceful_shutdown=1)
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

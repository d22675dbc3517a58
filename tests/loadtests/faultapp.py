"""The reference server's ASGI app behind a fault-injecting wrapper, for load tests only.

Configured from the environment (so ``uvicorn --factory faultapp:app_from_env`` can build it):
  FAULT_DELAY_MS      every request waits this long before it is handled;
  FAULT_SESSION_DELAY_MS  every session update (PUT /v1/customer_sessions/...) waits this long too;
  FAULT_SLOW_EVERY    every N-th request (400 -> 0.25%) waits ...
  FAULT_SLOW_MS       ... this long more (a rare stall of one request, the others unaffected);
  FAULT_ERROR_EVERY   every N-th request is answered 500 with an ErrorResponse body (100 -> 1%);
  FAULT_STALL_AT_S    seconds after the first request, the server stalls ...
  FAULT_STALL_S       ... for this long: every request arriving in that window waits until it ends.
The wrapped app is ``refserver.create_app`` on a fresh SQLite file, no auth.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from talon_harness.refserver import ServerConfig, Store, create_app

_ERROR_BODY = json.dumps(
    {"message": "injected fault", "errors": [{"title": "Injected", "source": {"pointer": ""}}]}
)


class FaultWrapper:
    """ASGI middleware adding delay, periodic 500s and one stall window (see module docstring)."""

    def __init__(
        self,
        app: Any,
        *,
        delay_ms: float = 0.0,
        session_delay_ms: float = 0.0,
        slow_every: int = 0,
        slow_ms: float = 0.0,
        error_every: int = 0,
        stall_at_s: float | None = None,
        stall_s: float = 0.0,
    ) -> None:
        self.app, self.delay_s, self.error_every = app, delay_ms / 1000.0, error_every
        self.stall_at_s, self.stall_s = stall_at_s, stall_s
        self.session_delay_s, self.slow_every, self.slow_s = (
            session_delay_ms / 1000.0,
            slow_every,
            slow_ms / 1000.0,
        )
        self.count = 0
        self.t0: float | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        now = time.monotonic()
        self.t0 = now if self.t0 is None else self.t0
        self.count += 1
        if self.stall_at_s is not None:
            start = self.t0 + self.stall_at_s
            if start <= now < start + self.stall_s:
                await asyncio.sleep(start + self.stall_s - now)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.session_delay_s and scope["path"].startswith("/v1/customer_sessions/"):
            await asyncio.sleep(self.session_delay_s)
        if self.slow_every and self.count % self.slow_every == 0:
            await asyncio.sleep(self.slow_s)
        if self.error_every and self.count % self.error_every == 0:
            body = _ERROR_BODY.encode()
            while (await receive()).get("more_body"):
                pass
            await send(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


def app_from_env() -> FaultWrapper:
    db = Path(tempfile.mkdtemp(prefix="faultapp-")) / "db.sqlite"
    env = os.environ.get
    stall_at = env("FAULT_STALL_AT_S")
    return FaultWrapper(
        create_app(Store(db), ServerConfig()),
        delay_ms=float(env("FAULT_DELAY_MS", "0")),
        session_delay_ms=float(env("FAULT_SESSION_DELAY_MS", "0")),
        slow_every=int(env("FAULT_SLOW_EVERY", "0")),
        slow_ms=float(env("FAULT_SLOW_MS", "0")),
        error_every=int(env("FAULT_ERROR_EVERY", "0")),
        stall_at_s=float(stall_at) if stall_at else None,
        stall_s=float(env("FAULT_STALL_S", "0")),
    )

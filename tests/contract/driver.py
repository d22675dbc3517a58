"""Test helpers: the reference app behind an optional response-mutating fault, served by uvicorn on
127.0.0.1 in a thread, and a driver that sends PUTs through schemathesis and runs the domain checks.

A fault mutates only responses to requests flagged with ``X-Talon-Fault: 1`` (and, for faults that need
it, the next response on the same path), so a scripted journey decides exactly where the server lies.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import schemathesis
import uvicorn

from talon_harness.contracts.hooks import SCHEMATHESIS_CHECKS, SignedAuth
from talon_harness.contracts.model import Model
from talon_harness.contracts.runtime import CheckRuntime, attach_runtime, runtime_for
from talon_harness.contracts.spec import CONTRACT_FILE
from talon_harness.refserver import ServerConfig, Store, create_app
from talon_harness.strategies.wire import Credentials

__all__ = ["Driver", "FaultyApp", "Flagged", "Mutation", "reference_app", "running", "serve", "user_credentials"]


def user_credentials() -> Credentials | None:
    """Credentials for ``TALON_BASE_URL`` runs: ``TALON_API_KEY`` and/or ``TALON_HMAC`` (``APP_ID:KEY``)."""
    import os

    api_key = os.environ.get("TALON_API_KEY") or None
    app_id, _, key = os.environ.get("TALON_HMAC", "").partition(":")
    if key:
        return Credentials(api_key=api_key, hmac_application_id=int(app_id), hmac_key=key)
    return Credentials(api_key=api_key) if api_key else None

FLAG = b"x-talon-fault"
PATHS = {"profile": "/v1/customer_profiles/{integrationId}", "session": "/v1/customer_sessions/{customerSessionId}"}
PARAMS = {"profile": "integrationId", "session": "customerSessionId"}


@dataclass(frozen=True)
class Flagged:
    """What a mutation sees: the request path, its parsed body and the real status and response body."""

    path: str
    body: Any
    status: int
    response: Any
    history: dict[str, Any]  # per-path memory shared by all calls of one app (e.g. the last event id)


Mutation = Callable[[Flagged], tuple[int, Any]]


class FaultyApp:
    """ASGI wrapper: passes everything to ``inner`` and rewrites flagged responses with ``mutation``.

    ``then_next``: also rewrite the next response on the same path after a flagged request (used to make
    a probe sent after a failed request see a changed entity).
    """

    def __init__(self, inner: Any, mutation: Mutation | None = None, *, then_next: bool = False) -> None:
        self.inner, self.mutation, self.then_next = inner, mutation, then_next
        self.history: dict[str, Any] = {}
        self.armed: set[str] = set()
        self.lock = threading.Lock()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or self.mutation is None:
            await self.inner(scope, receive, send)
            return
        path = scope.get("raw_path", b"").decode("latin-1")
        flagged = any(name.lower() == FLAG for name, _ in scope.get("headers", []))
        with self.lock:
            rewrite = flagged or (path in self.armed)
            self.armed.discard(path)
        chunks: list[bytes] = []

        async def recording_receive() -> dict[str, Any]:
            message = await receive()
            chunks.append(message.get("body", b""))
            return message

        start: dict[str, Any] = {}
        body_parts: list[bytes] = []

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            else:
                body_parts.append(message.get("body", b""))

        await self.inner(scope, recording_receive, capture)
        raw = b"".join(body_parts)
        status = start["status"]
        parsed = _loads(raw)
        if isinstance(parsed, dict) and isinstance(parsed.get("event"), dict):
            self.history.setdefault("event_ids", []).append(parsed["event"].get("id"))
        if rewrite:
            if flagged and self.then_next and status >= 400:
                with self.lock:
                    self.armed.add(path)
            elif not (flagged and self.then_next):
                status, parsed = self.mutation(Flagged(path, _loads(b"".join(chunks)), status, parsed, self.history))
                raw = json.dumps(parsed).encode()
        if status < 400 and isinstance(parsed, dict) and isinstance(parsed.get("session"), dict):
            self.history[path] = parsed
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(raw)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": raw})


def _loads(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def reference_app(db_dir: Path) -> Any:
    """A fresh reference ASGI app on an empty SQLite file."""
    return create_app(Store(db_dir / "ref.db"), ServerConfig())


@contextlib.contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free 127.0.0.1 port in a thread; yield its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="error", lifespan="off", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()


_TITLE = re.compile(r"`([a-z_]+)`")


@dataclass
class Driver:
    """Sends PUTs through schemathesis (real HTTP) and runs every domain check on each response."""

    base_url: str
    fresh: bool = True
    credentials: Any = None
    schema: Any = field(init=False)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (check, message)

    def __post_init__(self) -> None:
        self.schema = schemathesis.openapi.from_path(CONTRACT_FILE)
        attach_runtime(self.schema, CheckRuntime(Model(fresh=self.fresh), credentials=self.credentials))

    def put(self, kind: str, entity_id: str, body: Any, *, flagged: bool = False, invalid: Any = None) -> int:
        """Send one PUT; record every domain-check failure; return the status code. ``invalid``: the
        ``strategies.invalid`` tag of ``body`` (as the hooks register it for negative cases)."""
        operation = self.schema[PATHS[kind]]["PUT"]
        case = operation.Case(path_parameters={PARAMS[kind]: entity_id}, body=body,
                              media_type="application/json",
                              headers={"X-Talon-Fault": "1"} if flagged else None)
        if invalid is not None:
            runtime_for(case).tag(case, invalid)
        auth = {"auth": SignedAuth(self.credentials)} if self.credentials else {}
        response = case.call(base_url=self.base_url, **auth)
        checks = list(SCHEMATHESIS_CHECKS.values())
        try:
            case.validate_response(response, checks=checks)
        except (AssertionError, BaseExceptionGroup) as exc:  # FailureGroup or a single Failure
            for failure in getattr(exc, "exceptions", [exc]):
                title = getattr(failure, "title", "") or str(failure)
                match = _TITLE.search(title)
                self.failures.append((match.group(1) if match else title, getattr(failure, "message", str(failure))))
        return response.status_code

    @property
    def failed_checks(self) -> set[str]:
        return {name for name, _ in self.failures}


@contextlib.contextmanager
def running(mutation: Mutation | None = None, *, then_next: bool = False) -> Iterator[Driver]:
    """A fresh reference app (optionally faulty) behind uvicorn, and a driver pointed at it."""
    with tempfile.TemporaryDirectory() as tmp, serve(FaultyApp(reference_app(Path(tmp)), mutation,
                                                                 then_next=then_next)) as url:
        yield Driver(url)

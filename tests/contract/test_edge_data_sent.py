"""Our edge data reaches the wire: a recording ASGI wrapper around the reference app sees, from a real
`run_check` (schemathesis CLI engine + contracts.hooks), ids with whitespace, non-ASCII and 1000 characters,
bodies with NUL, non-ASCII and boundary numbers."""

from __future__ import annotations

import json
import tempfile
import unicodedata
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from talon_harness.contracts.casemix import MAX_SENT_DEPTH as _MAX_SENT_DEPTH
from talon_harness.harness.check import CheckConfig, run_check
from talon_harness.strategies.invalid import PROFILE_RULES, SESSION_RULES, invalid_examples
from talon_harness.strategies.wire import PROFILE, SESSION
from tests.contract.driver import reference_app, serve


class Recorder:
    """ASGI wrapper keeping (raw path, body bytes read by the app) of every request."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.requests: list[tuple[str, bytes]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        chunks: list[bytes] = []

        async def recording() -> dict[str, Any]:
            message = await receive()
            chunks.append(message.get("body", b""))
            return message

        try:
            await self.inner(scope, recording, send)
        finally:  # recorded even when the app answers without reading the body (e.g. an invalid id)
            self.requests.append((scope.get("raw_path", b"").decode("latin-1"), b"".join(chunks)))


def test_edge_ids_and_bodies_are_sent(tmp_path: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        recorder = Recorder(reference_app(Path(tmp)))
        with serve(recorder) as url:
            result = run_check(CheckConfig(base_url=url, seed=7, max_examples=10, max_time=12, fresh_server=True,
                                           phases=("coverage", "fuzzing"), report_dir=tmp_path, quiet=True))
    assert result.exit_code == 0, result.report.failures if result.report else result.message
    ids = [unquote(path.rsplit("/", 1)[-1], errors="replace") for path, _ in recorder.requests]
    bodies = [body for _, body in recorder.requests]
    assert any(i != i.strip() and i.strip() for i in ids), "an id with leading/trailing whitespace"
    assert any(any(ord(c) > 127 for c in i) for i in ids), "a non-ASCII id"
    assert any(len(i) == 1000 for i in ids), "a 1000-character id"
    assert any(any(unicodedata.category(c) == "Cc" for c in i) for i in ids), "an id with a control character"
    assert any(b"\\u0000" in b for b in bodies), "a NUL inside a JSON string"
    assert any(any(ord(c) > 127 for c in b.decode("utf-8", "ignore")) or b"\\u" in b for b in bodies)
    numbers = (b"1.7976931348623157e+308", b"18446744073709551616", b"5e-324", b"-0.0")
    assert any(any(n in b for n in numbers) for b in bodies), "a boundary number"
    decoded = [json.loads(b) for b in bodies if b[:1] == b"{" and _parses(b)]
    assert any(isinstance(d.get("cartItems"), list) and d["cartItems"] for d in decoded)
    _every_json_invalid_rule_sent(recorder.requests, seed=7)
    assert result.report is not None and result.report.checks["invalid_body_rejected"]["success"] > 0


def _every_json_invalid_rule_sent(requests: list[tuple[str, bytes]], *, seed: int) -> None:
    """Every JSON-level ``strategies.invalid`` rule reached the wire, for both operations (tagged bodies)."""
    sent = {(("session" if "customer_sessions" in path else "profile"), _canonical(body)) for path, body in requests}
    for operation, kind, rules in ((SESSION, "session", SESSION_RULES), (PROFILE, "profile", PROFILE_RULES)):
        pool = invalid_examples(operation, seed=seed, json_only=True, max_depth=_MAX_SENT_DEPTH)
        reached = {i.breaks for i in pool if (kind, json.dumps(i.body, sort_keys=True)) in sent}
        assert reached == {i.breaks for i in pool} and reached <= set(rules), (kind, sorted({i.breaks for i in pool} - reached))


def _canonical(body: bytes) -> str | None:
    try:
        return json.dumps(json.loads(body or b"{}"), sort_keys=True)
    except ValueError:
        return None


def _parses(raw: bytes) -> bool:
    try:
        json.loads(raw)
    except ValueError:
        return False
    return True

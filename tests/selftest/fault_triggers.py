"""One trigger per catalogued fault, and what the reference app shows for it (in-process, ASGI).

A trigger is a sequence of steps: one PUT, or a group of PUTs sent concurrently (``Together``). ``observe``
runs it against a fresh app on its own SQLite file and returns everything a client or a crash could see:
per sequential step the status, content type and JSON body (date-times masked, they differ between runs);
per concurrent group only the statuses (their bodies depend on interleaving); the rows committed to the
database as a second, read-only connection sees them; and, for ``timed`` triggers, whether the quickest
session PUT took 50 ms or more. The correct app gives the same observation twice, so any difference a
fault makes is the fault's.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from talon_harness.refserver import ServerConfig, Store, create_app

__all__ = ["TRIGGERS", "Put", "Together", "Trigger", "observe"]

S = "/v1/customer_sessions/"
P = "/v1/customer_profiles/"
ITEM = {"name": "Shoe", "sku": "SKU-1", "quantity": 1, "price": 10}
_DATE_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")
_SLOW_S = 0.050  # slow_session_puts adds 50 ms to every session PUT


@dataclass(frozen=True)
class Put:
    """``PUT url`` with ``body`` serialised by ``json.dumps`` (ASCII escapes, as most clients send)."""

    url: str
    body: Any


@dataclass(frozen=True)
class Together:
    """PUTs sent concurrently on one event loop."""

    puts: tuple[Put, ...]


@dataclass(frozen=True)
class Trigger:
    steps: tuple[Put | Together, ...]
    timed: bool = False


def _one(*puts: Put, timed: bool = False) -> Trigger:
    return Trigger(tuple(puts), timed)


def _deep(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


_CLOSE = {"profileId": "p1", "total": 10, "state": "closed"}
_CLOSES = Together(tuple(Put(f"{S}c{i}", {"state": "closed"}) for i in range(10)))

TRIGGERS: dict[str, Trigger] = {
    "session_created_dropped": _one(Put(f"{S}s1", {})),
    "event_id_as_string": _one(Put(f"{S}s1", {})),
    "undeclared_session_field": _one(Put(f"{S}s1", {})),
    "text_plain_content_type": _one(Put(f"{S}s1", {})),
    "created_status_201": _one(Put(f"{S}s1", {})),
    "error_pointer_relative": _one(Put(f"{S}s1", {"cartItems": [{**ITEM, "quantity": 0}]})),
    "quantity_zero_accepted": _one(Put(f"{S}s1", {"cartItems": [{**ITEM, "quantity": 0}]})),
    "unknown_session_field_accepted": _one(Put(f"{S}s1", {"shippingCost": 4.95})),
    "total_wrong_type_accepted": _one(Put(f"{S}s1", {"total": "12"})),
    "too_many_items_accepted": _one(Put(f"{S}s1", {"cartItems": [ITEM] * 1001})),
    "deep_attributes_accepted": _one(Put(f"{S}s1", {"attributes": {"k": _deep(11)}})),
    "unicode_names_rejected": _one(Put(f"{S}s1", {"cartItems": [{**ITEM, "name": "Schuh ü"}]})),
    "ids_with_spaces_rejected": _one(Put(f"{S}a%20b", {})),
    "long_ids_rejected": _one(Put(f"{S}{'x' * 200}", {})),
    "null_members_rejected": _one(Put(f"{S}s1", {"coupon": None})),
    "crash_on_nul": _one(Put(f"{S}s1", {"attributes": {"k": "a\u0000b"}})),
    "crash_on_astral": _one(Put(f"{S}s1", {"attributes": {"k": "\U0001f600"}})),
    "crash_on_1000_char_id": _one(Put(f"{S}{'x' * 1000}", {})),
    "crash_on_empty_cart": _one(Put(f"{S}s1", {"cartItems": []})),
    "crash_on_1000_items": _one(Put(f"{S}s1", {"cartItems": [ITEM] * 1000})),
    "attributes_replaced": _one(Put(f"{P}p1", {"attributes": {"a": 1}}), Put(f"{P}p1", {"attributes": {"b": 2}})),
    "skip_session_state_machine": _one(Put(f"{S}s1", {"state": "cancelled"}),
                                       Put(f"{S}s1", {"state": "closed"})),
    "closed_session_mutable": _one(Put(f"{S}s1", {"state": "closed"}), Put(f"{S}s1", {"total": 5})),
    "retry_close_counted_twice": _one(Put(f"{S}s1", _CLOSE), Put(f"{S}s1", {"state": "closed"})),
    "cancel_keeps_total_sales": _one(Put(f"{S}s1", _CLOSE), Put(f"{S}s1", {"state": "cancelled"})),
    "first_session_always_true": _one(Put(f"{S}s1", {"profileId": "p1"}), Put(f"{S}s2", {"profileId": "p1"})),
    "profile_not_autocreated": _one(Put(f"{S}s1", {"profileId": "p1"})),
    "event_id_reused": _one(Put(f"{S}s1", {}), Put(f"{S}s2", {})),
    "close_event_type_updated": _one(Put(f"{S}s1", {}), Put(f"{S}s1", {"state": "closed"})),
    "coupon_discount_missing": _one(Put(f"{S}s1", {"coupon": "SUMMER10", "cartItems": [ITEM], "total": 10})),
    "path_id_lowercased": _one(Put(f"{S}MixedCase", {})),
    "other_session_overwritten": _one(Put(f"{S}{'a' * 64}1", {"total": 1}), Put(f"{S}{'a' * 64}2", {"total": 2})),
    # writes acknowledged but not committed: another connection does not see them
    "ack_before_commit": _one(Put(f"{S}s1", {"total": 1}), Put(f"{P}p1", {})),
    # ten concurrent closes of one profile's sessions, then the profile's closedSessions/totalSales
    "lost_update_on_close": Trigger((*(Put(f"{S}c{i}", {"profileId": "p1", "total": 1}) for i in range(10)),
                                     _CLOSES, Put(f"{P}p1", {}))),
    "slow_session_puts": _one(Put(f"{S}s1", {}), Put(f"{S}s2", {}), Put(f"{S}s3", {}), timed=True),
    # the layer's 1 % of 503s come from random.Random(0): its 41st PUT is the first refused
    "intermittent_503": Trigger(tuple(Put(f"{S}s{i}", {}) for i in range(41))),
}


def _content(response: httpx.Response) -> Any:
    try:
        return json.loads(_DATE_TIME.sub("<date-time>", response.text))
    except ValueError:
        return response.text


def _committed(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, as a separate read-only connection sees it (only committed data)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return {table: [tuple(_DATE_TIME.sub("<date-time>", str(v)) for v in row)
                        for row in conn.execute(f"SELECT * FROM {table} ORDER BY 1")]
                for table in ("profiles", "sessions", "events")}


def observe(db: Path, config: ServerConfig, trigger: Trigger) -> dict[str, Any]:
    """What a client (and the database file) shows when *trigger* is sent to a fresh app on *db*."""
    store = Store(db)
    try:
        app = create_app(store, config)
        seen: dict[str, Any] = {"answers": []}
        quickest = float("inf")

        async def run() -> None:
            nonlocal quickest
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://refserver") as http:

                async def put(step: Put) -> httpx.Response:
                    return await http.put(step.url, content=json.dumps(step.body).encode(),
                                          headers={"content-type": "application/json"})

                for step in trigger.steps:
                    if isinstance(step, Together):
                        answers = await asyncio.gather(*(put(p) for p in step.puts))
                        seen["answers"].append([r.status_code for r in answers])
                        continue
                    started = time.perf_counter()
                    response = await put(step)
                    if step.url.startswith(S):
                        quickest = min(quickest, time.perf_counter() - started)
                    seen["answers"].append((response.status_code, response.headers.get("content-type"),
                                            _content(response)))

        asyncio.run(run())
        seen["committed"] = _committed(db)
        if trigger.timed:
            seen["slow"] = quickest >= _SLOW_S
        return seen
    finally:
        store.close()

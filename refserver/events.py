"""Events (D10) and timestamps: every accepted call records one event with a new, increasing id."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from .config import ServerConfig

__all__ = ["new_event", "utc_now"]


@lru_cache(maxsize=1)
def _utc_second(epoch_second: int) -> str:
    return datetime.fromtimestamp(epoch_second, UTC).isoformat()[:-6]


def utc_now() -> str:
    """RFC 3339 UTC timestamp with microseconds and a "Z", e.g. "2026-11-25T18:55:46.123456Z"."""
    second, micros = divmod(time.time_ns() // 1000, 1_000_000)
    return f"{_utc_second(second)}.{micros:06d}Z"  # the date-time part is formatted once a second


def new_event(
    config: ServerConfig,
    now: str,
    event_type: str,
    profile_id: str,
    effects: list[Any],
    session_id: str | None,
) -> dict[str, Any]:
    """Event fields except `id` (the store assigns it)."""
    event: dict[str, Any] = {
        "created": now,
        "applicationId": config.application_id,
        "type": event_type,
        "profileId": profile_id,
    }
    if session_id is not None:
        event["sessionId"] = session_id
    event.update(attributes={}, effects=effects, ledgerEntries=[])
    return event

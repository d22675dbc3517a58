"""Events (D10) and timestamps: every accepted call records one event with a new, increasing id."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .config import ServerConfig

__all__ = ["new_event", "utc_now"]


def utc_now() -> str:
    """RFC 3339 UTC timestamp with microseconds and a "Z", e.g. "2026-11-25T18:55:46.123456Z"."""
    # isoformat, not strftime: glibc's strftime re-checks the local time zone on every call (~3x slower)
    return datetime.now(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


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

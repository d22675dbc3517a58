"""updateCustomerProfile: upsert a profile, merging attributes key by key (D4, D9, D10).

On success returns IntegrationState {session: None, profile, event} with event type
talon_profile_created (new id) or talon_profile_updated. Raises InvalidData (400) if the body is not a
valid NewCustomerProfile; nothing is written then. Unknown top-level members are ignored (D3).
"""

from __future__ import annotations

from typing import Any

from .config import ServerConfig
from .errors import InvalidData
from .events import new_event
from .faults import FaultName, suppressed_errors
from .store import StoredProfile, Transaction
from .validation import validate_profile

__all__ = ["merge_attributes", "new_profile", "upsert_profile"]


def merge_attributes(stored: dict[str, Any], sent: dict[str, Any] | None) -> dict[str, Any]:
    """Top-level merge; a null sent value keeps the stored one (D4)."""
    merged = dict(stored)
    if sent:
        merged.update((k, v) for k, v in sent.items() if v is not None)
    return merged


def new_profile(integration_id: str, config: ServerConfig, now: str) -> StoredProfile:
    """An empty profile (also what an unknown session profileId creates, D7)."""
    return StoredProfile(
        doc={
            "integrationId": integration_id,
            "created": now,
            "attributes": {},
            "accountId": config.account_id,
            "closedSessions": 0,
            "totalSales": 0.0,
            "loyaltyMemberships": [],
            "lastActivity": now,
        },
        had_session=False,
    )


def upsert_profile(
    tx: Transaction, config: ServerConfig, integration_id: str, body: Any, now: str
) -> dict[str, Any]:
    """See module docstring."""
    errors = suppressed_errors(config.faults, validate_profile(body))
    if errors:
        raise InvalidData(errors)
    stored = tx.get_profile(integration_id)
    if stored is None:
        profile, event_type = new_profile(integration_id, config, now), "talon_profile_created"
    else:
        profile, event_type = stored, "talon_profile_updated"
    stored_attributes = {} if FaultName.ATTRIBUTES_REPLACED in config.faults else profile.doc["attributes"]
    profile.doc["attributes"] = merge_attributes(stored_attributes, body.get("attributes"))
    profile.doc["lastActivity"] = now
    tx.put_profile(profile)
    event = tx.add_event(new_event(config, now, event_type, integration_id, [], None))
    return {"session": None, "profile": profile.doc, "event": event}

"""Rules on the event an accepted call records (D10)."""

from __future__ import annotations

from talon_harness.contracts import rules
from talon_harness.contracts.domain._rule import NOT_APPLICABLE, Outcome, Rule, fail, ok
from talon_harness.contracts.model import Observation
from talon_harness.strategies.wire import PROFILE

_STATE_EVENTS = {"closed": "talon_session_closed", "cancelled": "talon_session_cancelled"}
_SESSION_EVENTS = frozenset({"talon_session_created", "talon_session_updated", *_STATE_EVENTS.values()})


def event_id_strictly_increasing(obs: Observation) -> Outcome:
    """D10: every accepted call records a new event whose id is greater than every earlier one."""
    if not ok(obs):
        return NOT_APPLICABLE
    event_id = (obs.event or {}).get("id")
    if not isinstance(event_id, int) or isinstance(event_id, bool) or event_id in obs.seen_event_ids or (
            obs.strict_order and obs.last_event_id is not None and event_id <= obs.last_event_id):
        return fail(obs, "the event id is not new and increasing",
              f"an integer id > {obs.last_event_id}", {"event.id": event_id})
    return None


def event_type(obs: Observation) -> Outcome:
    """D10: *_created on creation, talon_session_closed/cancelled when the call changes the state,
    *_updated otherwise; event.sessionId only for sessions, event.profileId the entity's profile."""
    if not ok(obs) or rules.is_retry(obs):
        return NOT_APPLICABLE
    x, event = obs.exchange, obs.event or {}
    got = event.get("type")
    if x.operation == PROFILE:
        allowed = {True: {"talon_profile_updated"}, False: {"talon_profile_created"},
                   None: {"talon_profile_created", "talon_profile_updated"}}[obs.existed]
        ids_ok = event.get("sessionId") is None and event.get("profileId") == x.entity_id
    else:
        if obs.existed is False:
            allowed = {"talon_session_created"}
        elif obs.before_session is not None:
            target = rules.requested_state(obs)
            changes = target is not None and target != obs.before_session.state
            allowed = {_STATE_EVENTS.get(target or "", "talon_session_updated")} if changes else {"talon_session_updated"}
        else:
            allowed = set(_SESSION_EVENTS)
        ids_ok = event.get("profileId") == (obs.response_session or {}).get("profileId")
    if got not in allowed or not ids_ok:
        return fail(obs, "the event does not describe the call",
              {"event.type": sorted(allowed), "event.profileId": (obs.response_session or {}).get("profileId", x.entity_id)},
              {"event.type": got, "event.profileId": event.get("profileId"), "event.sessionId": event.get("sessionId")})
    return None


RULES: tuple[Rule, ...] = (
    Rule("event_id_strictly_increasing", ("D10",), "every accepted call records a new, greater event id",
         event_id_strictly_increasing,
         {"D10 every accepted call records a new, greater event id": ("first_sessions", "profile_merge")},
         ("event_id_reused",)),
    Rule("event_type", ("D10",), "the event's type and ids describe the call", event_type,
         {"D10 *_created on creation, *_updated after": ("profile_merge", "first_sessions", "edge_ids"),
          "D10 talon_session_closed / talon_session_cancelled on a state change": ("close_then_cancel",)},
         ("close_event_type_updated", "other_session_overwritten")),
)

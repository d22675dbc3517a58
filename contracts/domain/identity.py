"""Rules on whom an answer is about: the entity the path names (D12)."""

from __future__ import annotations

from talon_harness.contracts.domain._rule import NOT_APPLICABLE, Outcome, Rule, fail, ok
from talon_harness.contracts.model import Observation
from talon_harness.strategies.wire import SESSION


def path_id_echoed(obs: Observation) -> Outcome:
    """D12: an accepted call answers for the entity its path names (profile/session integrationId, event ids)."""
    x = obs.exchange
    if not ok(obs):
        return NOT_APPLICABLE
    if x.operation == SESSION:
        session, event = obs.response_session or {}, obs.event or {}
        if session.get("integrationId") != x.entity_id or event.get("sessionId") != x.entity_id:
            return fail(obs, "the response names another session than the path",
                  {"session.integrationId": x.entity_id, "event.sessionId": x.entity_id},
                  {"session.integrationId": session.get("integrationId"), "event.sessionId": event.get("sessionId")})
    else:
        profile = obs.response_profile or {}
        if profile.get("integrationId") != x.entity_id:
            return fail(obs, "the response names another profile than the path",
                  {"profile.integrationId": x.entity_id}, {"profile.integrationId": profile.get("integrationId")})
    return None


RULES: tuple[Rule, ...] = (
    Rule("path_id_echoed", ("D12",), "an accepted call answers for the entity its path names", path_id_echoed,
         {"D12 a session answer names the path's session": ("close_then_cancel", "first_sessions"),
          "D12 a profile answer names the path's profile": ("profile_merge",),
          "D12/D15 awkward and 1000-character ids are answered for as sent": ("edge_ids",)},
         ("path_id_lowercased",)),
)

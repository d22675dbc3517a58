"""Rules of a session's life: its state machine (D5), retries (D5/D6/D10)."""

from __future__ import annotations

from talon_harness.contracts import rules
from talon_harness.contracts.domain._rule import NOT_APPLICABLE, Outcome, Rule, fail, ok
from talon_harness.contracts.model import Observation
from talon_harness.strategies.wire import SESSION


def session_state_machine(obs: Observation) -> Outcome:
    """D5: after an accepted session call the state is the requested one, else the stored one (open if new)."""
    if not ok(obs, SESSION):
        return NOT_APPLICABLE
    expected = rules.expected_session(obs)
    wanted = expected["state"] if expected else rules.requested_state(obs)
    got = (obs.response_session or {}).get("state")
    if wanted is not None and got != wanted:
        return fail(obs, "the session is not in the state the call asked for",
              {"session.state": wanted}, {"session.state": got})
    return None


def illegal_transition_rejected(obs: Observation) -> Outcome:
    """D5: closed->open, leaving cancelled, and changes to a closed/cancelled session get 400 (pointer
    ``/state`` or the first changed field)."""
    if obs.exchange.method != "PUT":
        return NOT_APPLICABLE
    reason = rules.illegal_reason(obs)
    if reason is None:
        return NOT_APPLICABLE
    why, pointers = reason
    x = obs.exchange
    if x.accepted:
        return fail(obs, f"{why} was accepted", "400 ErrorResponse",
              {"session.state": (obs.response_session or {}).get("state")})
    if rules.schema_valid(obs):
        errors = (x.response or {}).get("errors") if isinstance(x.response, dict) else None
        named = {(e.get("source") or {}).get("pointer") for e in errors or [] if isinstance(e, dict)}
        if x.status != 400 or not any(isinstance(n, str) and (n in pointers or n.startswith(tuple(p + "/" for p in pointers)))
                                      for n in named):
            return fail(obs, f"{why} was not rejected as such",
                  f"400 with an error pointer in {sorted(pointers)}", x.response)
    return None


def retry_counts_nothing_twice(obs: Observation) -> Outcome:
    """D5/D6/D10: sending a session's current state again succeeds, records talon_session_updated and leaves
    closedSessions/totalSales alone."""
    if not rules.is_retry(obs) or obs.exchange.method != "PUT":
        return NOT_APPLICABLE
    x = obs.exchange
    if not x.accepted:
        if rules.schema_valid(obs) and not rules.changed_fields(obs) and x.status == 400:
            return fail(obs, "a retry of the current state was rejected", "200", x.response)
        return None
    event_type = (obs.event or {}).get("type")
    if event_type != "talon_session_updated":
        return fail(obs, "a retry recorded a state-change event",
              {"event.type": "talon_session_updated"}, {"event.type": event_type})
    profile, before = obs.response_profile, obs.before_profile
    if profile and before and obs.strict_order and profile.get("integrationId") == obs.target_profile_id and not (
        profile.get("closedSessions") == before.closed_sessions
        and rules.same_number(profile.get("totalSales"), before.total_sales)
    ):
        return fail(obs, "a retry changed the profile's bookkeeping",
              {"closedSessions": before.closed_sessions, "totalSales": before.total_sales},
              {"closedSessions": profile.get("closedSessions"), "totalSales": profile.get("totalSales")})
    return None


RULES: tuple[Rule, ...] = (
    Rule("session_state_machine", ("D5",), "an accepted session call leaves the requested (else stored, else open) state",
         session_state_machine,
         {"D5 a new session is open": ("first_sessions",),
          "D5 open->closed, closed->cancelled reach the requested state": ("close_then_cancel",),
          "D5 an illegal transition leaves the stored state": ("illegal_transitions",)},
         ("skip_session_state_machine",)),
    Rule("illegal_transition_rejected", ("D5",), "an illegal transition or a change to a final session gets 400",
         illegal_transition_rejected,
         {"D5 closed->open is refused (/state)": ("illegal_transitions",),
          "D5 a change to a closed session is refused": ("illegal_transitions",),
          "D5 leaving cancelled is refused": ("illegal_transitions",)},
         ("closed_session_mutable",)),
    Rule("retry_counts_nothing_twice", ("D5", "D6", "D10"), "resending a session's current state books nothing twice",
         retry_counts_nothing_twice,
         {"D5/D10 resending an open session's state is an update": ("retry",),
          "D6 resending closed books nothing again": ("retry",)},
         ("retry_close_counted_twice",)),
)

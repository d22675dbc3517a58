"""Rules of a v2 session's life: states (D22, D23), totals and updateCount (D31), dry calls (D28), codes (D21).

Each judges one v2 session call with what ``v2_model`` knew before it; a call whose answer does not carry
the ``customerSession`` (not asked for), or whose stored session the model does not know, is not applicable.
"""

from __future__ import annotations

import math
from typing import Any

from talon_harness.contracts.domain._rule import NOT_APPLICABLE, Outcome, Rule, fail
from talon_harness.contracts.domain.v2_model import V2Call, json_equal, v2_call
from talon_harness.contracts.model import Observation
from talon_harness.strategies.wire import SESSION_V2

#: D22: the moves this endpoint makes (repeating the stored state is always allowed).
ALLOWED_MOVES = frozenset({("open", "closed"), ("open", "cancelled"), ("closed", "cancelled"),
                           ("partially_returned", "cancelled")})
#: D21: the members a sent value replaces.
REPLACED = ("profileId", "storeIntegrationId", "couponCodes", "referralCode", "loyaltyCards", "cartItems",
            "additionalCosts", "identifiers")
_STATE_TITLES = frozenset({"Illegal state transition", "Session closed"})


def _session_call(obs: Observation) -> V2Call | None:
    call = v2_call(obs)
    return call if call.operation == SESSION_V2 and call.entity_id is not None else None


def _normalised(key: str, value: Any) -> Any:
    """A sent member as the server stores it (D21): cart items without null members, positioned."""
    if key == "cartItems" and isinstance(value, list):
        return [{**{k: v for k, v in item.items() if v is not None}, "position": i} if isinstance(item, dict)
                else item for i, item in enumerate(value)]
    return value


def _first_change(stored: dict[str, Any], sent: dict[str, Any]) -> str | None:
    """D22: the first sent member (request order) whose value differs from the stored one, or None."""
    for key, value in sent.items():
        if key == "state":
            continue
        if key == "attributes" and isinstance(value, dict):
            held = stored.get("attributes") or {}
            if any(v is not None and (n not in held or not json_equal(held[n], v)) for n, v in value.items()):
                return key
        elif key != "attributes" and not json_equal(stored.get(key), _normalised(key, value)):
            return key
    return None


def _expected(call: V2Call) -> tuple[str | None, str]:
    """(why the call must be refused, or None; the state it must leave) by D22/D23, for a known session."""
    requested = call.sent.get("state")
    if call.before is None:
        if requested not in (None, "open", "closed"):
            return f"creating a session in state {requested!r}", ""
        return None, requested or "open"
    current = call.before.get("state")
    if current != "open" and requested == "open":
        requested = None  # D23: the SDK's default state, not a request to reopen
    if requested is not None and requested != current and (current, requested) not in ALLOWED_MOVES:
        return f"the move {current}->{requested}", ""
    if current != "open" and (changed := _first_change(call.before, call.sent)) is not None:
        return f"a change of {changed} to a {current} session", ""
    return None, requested or str(current)


def v2_state_machine(obs: Observation) -> Outcome:
    """D22/D23: an accepted call leaves the requested state (a final session's "open" read as not sent), else
    the stored one (open if new); an illegal move or a change to a final session is refused, a legal one not."""
    call = _session_call(obs)
    if call is None or (call.before is None and call.created is not True) or call.after_dry:
        return NOT_APPLICABLE
    refusal, state = _expected(call)
    x = obs.exchange
    if call.answer is not None:
        if refusal is not None:
            return fail(obs, f"{refusal} was accepted", "400 Illegal state transition / Session closed",
                        {"customerSession.state": (call.session or {}).get("state")})
        if call.session is None:
            return NOT_APPLICABLE
        if call.session.get("state") != state:
            return fail(obs, "the session is not in the state D22/D23 leave it in",
                        {"customerSession.state": state, "stored before": (call.before or {}).get("state")},
                        {"customerSession.state": call.session.get("state")})
        return None
    errors = (x.response or {}).get("errors") if isinstance(x.response, dict) else None
    titles = {e.get("title") for e in errors or [] if isinstance(e, dict)}
    if x.status == 400 and refusal is None and titles and titles <= _STATE_TITLES:
        return fail(obs, "a legal state or change was refused as illegal", "200", x.response)
    return None


def v2_update_count(obs: Observation) -> Outcome:
    """D31: ``updateCount`` is 1 on creation and grows by 1 with every accepted call (a dry call answers the
    count the write would give)."""
    call = _session_call(obs)
    if call is None or call.session is None or call.after_dry:
        return NOT_APPLICABLE
    got = call.session.get("updateCount")
    if call.created:
        wanted = 1
    elif call.before is not None and isinstance(call.before.get("updateCount"), int):
        wanted = call.before["updateCount"] + 1
    else:
        return NOT_APPLICABLE
    if not isinstance(got, int) or isinstance(got, bool):
        return NOT_APPLICABLE  # a wrong type is response_schema_conformance's
    if got != wanted:
        return fail(obs, "updateCount does not count the calls", {"customerSession.updateCount": wanted},
                    {"customerSession.updateCount": got})
    return None


def v2_dry_persists_nothing(obs: Observation) -> Outcome:
    """D28: after a dry call the session is as it was: the next call builds on the state before the dry one
    (its ``updateCount`` one more than before it; a session only dry-created is created again)."""
    call = _session_call(obs)
    if call is None or not call.after_dry or call.session is None or call.dry:
        return NOT_APPLICABLE
    got = call.session.get("updateCount")
    if not isinstance(got, int) or isinstance(got, bool):
        return NOT_APPLICABLE  # a wrong type is response_schema_conformance's
    if call.before is None:
        if call.created is False or got != 1:
            return fail(obs, "a session created only by a dry call was stored", {"customerSession.updateCount": 1,
                        "event.type": "talon_session_created"}, {"customerSession.updateCount": got,
                                                                 "created": call.created})
        return None
    wanted = call.before.get("updateCount")
    if isinstance(wanted, int) and got != wanted + 1:
        return fail(obs, "a dry call was written: the next call builds on it",
                    {"customerSession.updateCount": wanted + 1}, {"customerSession.updateCount": got})
    return None


def _close(a: Any, b: Any) -> bool:
    return isinstance(a, int | float) and isinstance(b, int | float) and math.isclose(a, b, rel_tol=1e-9,
                                                                                     abs_tol=1e-9)


def v2_totals(obs: Observation) -> Outcome:
    """D31: cartItemTotal = sum of price x quantity; additionalCostTotal = session costs + item costs x
    quantity; total = both (before discounts), on the answered session."""
    call = _session_call(obs)
    session = call.session if call else None
    if session is None:
        return NOT_APPLICABLE
    try:
        items = sum(i["price"] * i["quantity"] for i in session["cartItems"])
        costs = sum(c["price"] for c in session["additionalCosts"].values()) + sum(
            c["price"] * i["quantity"] for i in session["cartItems"] for c in (i.get("additionalCosts") or {}).values())
    except (KeyError, TypeError, AttributeError):
        return NOT_APPLICABLE  # a malformed session is response_schema_conformance's
    wanted = {"cartItemTotal": items, "additionalCostTotal": costs, "total": items + costs}
    got = {k: session.get(k) for k in wanted}
    if not all(_close(wanted[k], got[k]) for k in wanted):
        return fail(obs, "the session totals are not the sums of its cart and costs", wanted, got)
    return None


def v2_codes_cleared(obs: Observation) -> Outcome:
    """D21: sent ``couponCodes`` and ``referralCode`` replace the stored ones; ``[]`` / ``""`` clear them."""
    call = _session_call(obs)
    if call is None or call.session is None:
        return NOT_APPLICABLE
    for key in ("couponCodes", "referralCode"):
        if key in call.sent and not json_equal(call.session.get(key), call.sent[key]):
            return fail(obs, f"the sent {key} did not replace the stored one", {f"customerSession.{key}":
                        call.sent[key]}, {f"customerSession.{key}": call.session.get(key)})
    return None


RULES = (
    Rule("v2_state_machine", ("D22", "D23"), "a v2 call leaves the state D22/D23 allow; illegal ones get 400",
         v2_state_machine,
         {"D22 a new session is open, closing and cancelling reach the state": ("v2_close_then_cancel",),
          "D22 a closed or cancelled session accepts no change, cancelled->closed is refused":
              ("v2_close_then_cancel",),
          "D23 state open on a closed session reopens nothing": ("v2_close_then_cancel",)},
         ("v2_open_reopens_closed", "v2_closed_session_mutable", "v2_cancelled_session_closable",
          "v2_close_not_persisted")),
    Rule("v2_update_count", ("D31",), "updateCount is 1 on creation and grows by 1 per accepted call",
         v2_update_count,
         {"D31 updateCount counts every call, retries and no-ops included": ("v2_totals", "v2_close_then_cancel")},
         ("v2_update_count_stuck", "v2_stale_session_cache")),
    Rule("v2_dry_persists_nothing", ("D28",), "a dry v2 call writes nothing", v2_dry_persists_nothing,
         {"D28 a dry update and a dry creation leave nothing behind": ("v2_dry",)}, ("v2_dry_writes",)),
    Rule("v2_totals", ("D31",), "session totals are the sums of cart items and additional costs", v2_totals,
         {"D31 quantities, item costs per unit and session costs are summed": ("v2_totals",)},
         ("v2_totals_ignore_quantity",)),
    Rule("v2_codes_cleared", ("D21",), "sent codes replace the stored ones; [] and \"\" clear them",
         v2_codes_cleared, {"D21 couponCodes [] and referralCode \"\" clear the codes": ("v2_codes",)},
         ("v2_empty_codes_keep_stored",)),
)

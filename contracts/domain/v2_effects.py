"""Rules of what a v2 session call answers: effects (D25) and their rollbacks (D26), the members
``responseContent`` adds (D27), and the profiles of v2 sessions (D32: auto-created, first sessions).

Effects are judged by their shape, not by the rule set: which codes a server knows is its configuration
(``--rules``), but every distinct code gets exactly one accept (followed by its ``setDiscount``) or one reject,
in the order D25 gives, and a cancel rolls back exactly what the session's last answer accepted.
"""

from __future__ import annotations

from typing import Any

from talon_harness.contracts.domain._rule import NOT_APPLICABLE, Outcome, Rule, fail
from talon_harness.contracts.domain.v2_model import V2Call, v2_call
from talon_harness.contracts.model import Observation
from talon_harness.strategies.wire import SESSION_V2

#: D27: answered whatever ``responseContent`` asks.
REQUIRED = frozenset({"effects", "createdCoupons", "createdReferrals"})
#: D27: values whose member may be left out (an anonymous session's profile, an unknown referral).
MAY_BE_LEFT_OUT = frozenset({"customerProfile", "referral"})


def _accepted_session_call(obs: Observation) -> V2Call | None:
    call = v2_call(obs)
    return call if call.operation == SESSION_V2 and call.answer is not None else None


def _shape(effects: list[Any]) -> list[tuple[str, Any]]:
    return [(str(e.get("effectType")), (e.get("props") or {}).get("value")) if isinstance(e, dict) else ("?", None)
            for e in effects]


def _codes(session: dict[str, Any]) -> list[tuple[str, str]]:
    coupons = session.get("couponCodes") or []
    found = [("Coupon", c) for c in dict.fromkeys(c for c in coupons if isinstance(c, str))]
    referral = session.get("referralCode")
    return found + ([("Referral", referral)] if isinstance(referral, str) and referral else [])


def _is_cancel(call: V2Call) -> bool:
    return call.sent.get("state") == "cancelled" or (call.session or {}).get("state") == "cancelled"


def v2_effects(obs: Observation) -> Outcome:
    """D25: per distinct coupon code in order, then the referral: ``accept<Kind>`` {value} followed by
    ``setDiscount``, or ``reject<Kind>`` {value}; nothing else (an open or closed session's answer)."""
    call = _accepted_session_call(obs)
    if call is None or call.session is None or call.effects is None or _is_cancel(call):
        return NOT_APPLICABLE
    shape, at = _shape(call.effects), 0
    for kind, code in _codes(call.session):
        if at < len(shape) and shape[at] == (f"accept{kind}", code):
            if at + 1 >= len(shape) or shape[at + 1][0] != "setDiscount":
                return fail(obs, f"accept{kind} {code!r} without its setDiscount", "setDiscount next", shape)
            at += 2
        elif at < len(shape) and shape[at] == (f"reject{kind}", code):
            at += 1
        else:
            return fail(obs, f"no single accept or reject for the code {code!r} where D25 puts it",
                        [f"{kind} {c!r}" for kind, c in _codes(call.session)], shape)
    if at != len(shape):
        return fail(obs, "effects beyond one per distinct code", [f"{k} {c!r}" for k, c in _codes(call.session)],
                    shape)
    return None


def v2_cancel_rolls_back(obs: Observation) -> Outcome:
    """D26: moving a closed session to cancelled answers, per code its last answer accepted, ``rollback<Kind>``
    {value} then ``rollbackDiscount``; cancelling an open session (or a cancelled one again) answers none."""
    call = _accepted_session_call(obs)
    if call is None or call.before is None or call.after_dry or call.effects is None:
        return NOT_APPLICABLE
    if call.sent.get("state") != "cancelled" and call.before.get("state") != "cancelled":
        return NOT_APPLICABLE
    if call.before.get("state") in ("closed", "partially_returned"):
        wanted: list[tuple[str, Any]] = []
        for effect_type, value in _shape(list(call.before_effects)):
            if effect_type in ("acceptCoupon", "acceptReferral"):
                wanted += [(effect_type.replace("accept", "rollback"), value), ("rollbackDiscount", None)]
    else:
        wanted = []
    got = [(t, v if t != "rollbackDiscount" else None) for t, v in _shape(call.effects)]
    if got != wanted:
        return fail(obs, f"cancelling a {call.before.get('state')} session did not roll back exactly what it redeemed",
                    wanted, got)
    return None


def v2_response_content(obs: Observation) -> Outcome:
    """D27: the answer has the three required lists plus exactly one member per ``responseContent`` value
    (a customerProfile or referral may be left out: anonymous session, unknown referral)."""
    call = _accepted_session_call(obs)
    if call is None:
        return NOT_APPLICABLE
    asked = set(call.content)
    keys = set(call.answer or {})
    missing = sorted(REQUIRED - keys) + sorted(asked - MAY_BE_LEFT_OUT - keys)
    extra = sorted(keys - REQUIRED - asked)
    if missing or extra:
        return fail(obs, "the answer's members are not the ones responseContent asked for",
                    sorted(REQUIRED | asked), {"missing": missing, "not asked": extra})
    return None


def v2_profile_autocreated(obs: Observation) -> Outcome:
    """D32: a session naming a profile (known or not) answers that profile when asked (``customerProfile``):
    an unknown profileId creates it."""
    call = _accepted_session_call(obs)
    if call is None or "customerProfile" not in call.content:
        return NOT_APPLICABLE
    profile_id = call.profile_id
    if not profile_id:
        return NOT_APPLICABLE
    answered = (call.answer or {}).get("customerProfile")
    got = answered.get("integrationId") if isinstance(answered, dict) else None
    if got != profile_id:
        return fail(obs, "the session's profile was not created or not answered",
                    {"customerProfile.integrationId": profile_id}, {"customerProfile": answered})
    return None


def v2_first_session(obs: Observation) -> Outcome:
    """D32: a new session is its profile's first unless the profile had one; an anonymous one is first."""
    call = _accepted_session_call(obs)
    if call is None or call.session is None or call.created is not True or call.dry:
        return NOT_APPLICABLE
    profile_id = call.session.get("profileId")
    if profile_id == "":
        wanted = True
    elif call.profile_had_session:
        wanted = False
    else:
        return NOT_APPLICABLE  # the model cannot know whether the server saw a session of this profile
    got = call.session.get("firstSession")
    if got is not wanted:
        return fail(obs, "firstSession does not say whether the profile had a session",
                    {"customerSession.firstSession": wanted}, {"customerSession.firstSession": got})
    return None


RULES = (
    Rule("v2_effects", ("D25",), "one accept (with its setDiscount) or one reject per distinct code, in order",
         v2_effects, {"D25 a repeated code, a known and an unknown one, a referral": ("v2_codes",)},
         ("v2_duplicate_codes_evaluated",)),
    Rule("v2_cancel_rolls_back", ("D26",), "cancelling a closed session rolls back exactly what it redeemed",
         v2_cancel_rolls_back,
         {"D26 closed->cancelled rolls back the accepted code": ("v2_close_then_cancel",),
          "D26 open->cancelled rolls back nothing": ("v2_cancel_open",)},
         ("v2_cancel_no_rollback", "v2_cancel_open_rolls_back")),
    Rule("v2_response_content", ("D27",), "responseContent adds exactly the members asked for",
         v2_response_content, {"D27 customerSession, customerProfile and event asked on every call":
                               ("v2_first_sessions", "v2_totals")},
         ("v2_response_content_no_event",)),
    Rule("v2_profile_autocreated", ("D32",), "a session naming an unknown profile creates it",
         v2_profile_autocreated, {"D32 an unknown profileId creates the profile": ("v2_first_sessions",)},
         ("v2_profile_not_autocreated",)),
    Rule("v2_first_session", ("D32",), "firstSession is true only for a profile's first (or an anonymous) session",
         v2_first_session, {"D32 a profile's second session is not its first; an anonymous one is":
                            ("v2_first_sessions",)},
         ("v2_first_session_always_true",)),
)

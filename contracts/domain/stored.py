"""Rules on what is stored: attributes merge (D4), a refusal changes nothing (D1), first sessions and
auto-created profiles (D7/D9), the profile's books (D6)."""

from __future__ import annotations

from talon_harness.contracts import rules
from talon_harness.contracts.domain._rule import NOT_APPLICABLE, Outcome, Rule, fail, ok
from talon_harness.contracts.model import Observation
from talon_harness.strategies.ids import valid_id
from talon_harness.strategies.wire import PROFILE, SESSION


def attributes_merge(obs: Observation) -> Outcome:
    """D4: attributes merge key by key; earlier keys survive, null keeps the stored value; a session call
    leaves its profile's attributes alone."""
    if not ok(obs):
        return NOT_APPLICABLE
    x = obs.exchange
    sent = x.sent("attributes") if isinstance(x.sent("attributes"), dict) else {}
    if x.operation == PROFILE:
        stored = obs.before_profile.attributes if obs.before_profile else ({} if obs.existed is False else None)
        got = (obs.response_profile or {}).get("attributes")
    else:
        stored = obs.before_session.attributes if obs.before_session else ({} if obs.existed is False else None)
        got = (obs.response_session or {}).get("attributes")
    if stored is None:  # unknown entity: at least every sent key must be there
        missing = {k: v for k, v in sent.items() if v is not None and (not isinstance(got, dict) or got.get(k) != v)}
        if missing:
            return fail(obs, "sent attributes are missing from the response", missing, got)
        return None
    expected = {**stored, **{k: v for k, v in sent.items() if v is not None}}
    if got != expected:
        return fail(obs, "attributes are not the key-by-key merge of stored and sent",
              expected, got)
    profile, before = obs.response_profile, obs.before_profile
    if (x.operation == SESSION and profile and before and obs.strict_order
            and profile.get("integrationId") == obs.target_profile_id and profile.get("attributes") != before.attributes):
        return fail(obs, "a session call changed its profile's attributes",
              {"profile.attributes": before.attributes}, {"profile.attributes": profile.get("attributes")})
    return None


def failed_request_changes_nothing(obs: Observation) -> Outcome:
    """D1: a rejected PUT leaves everything as it was. Verified with ``obs.read_back`` (a ``PUT {}``,
    a read without GET) right after the failure, for entities the model knows (or knows absent on a fresh server)."""
    x = obs.exchange
    if x.accepted or x.method != "PUT" or x.entity_id is None or not valid_id(x.entity_id) or obs.existed is None:
        return NOT_APPLICABLE
    if not obs.strict_order:
        return NOT_APPLICABLE
    after = obs.read_back() if obs.read_back is not None else None
    if after is None or not after.exchange.accepted:
        return NOT_APPLICABLE
    event_type = (after.event or {}).get("type")
    if obs.existed is False:
        if event_type not in ("talon_profile_created", "talon_session_created"):
            return fail(obs, "the rejected call created the entity",
                  "a PUT {} afterwards creates it (event *_created)", {"probe event.type": event_type})
        return None
    if x.operation == SESSION:
        expected = rules.expected_session(after) or {}
        got = after.response_session or {}
        diff = {k: (v, got.get(k)) for k, v in expected.items()
                if not (rules.same_number(v, got.get(k)) if k == "total" else v == got.get(k))}
    else:
        before = obs.before_profile
        got = after.response_profile or {}
        diff = {"attributes": (before.attributes, got.get("attributes"))} if before and before.attributes != got.get(
            "attributes") else {}
    profile, before_profile = after.response_profile, after.before_profile
    if profile and before_profile and profile.get("integrationId") == after.target_profile_id and (
            profile.get("closedSessions") != before_profile.closed_sessions
            or not rules.same_number(profile.get("totalSales"), before_profile.total_sales)):
        diff["profile.closedSessions/totalSales"] = (
            (before_profile.closed_sessions, before_profile.total_sales),
            (profile.get("closedSessions"), profile.get("totalSales")))
    if diff:
        return fail(obs, "a rejected call changed stored state (seen by PUT {} after it)",
              {k: v[0] for k, v in diff.items()}, {k: v[1] for k, v in diff.items()})
    return None


def first_session_and_profile_autocreation(obs: Observation) -> Outcome:
    """D7/D9: an unknown profileId creates an empty profile; anonymous sessions have profile null;
    firstSession is true for a profile's first (or an anonymous) session, false after, and never changes."""
    if not ok(obs, SESSION):
        return NOT_APPLICABLE
    session, profile = obs.response_session or {}, obs.response_profile
    expected = rules.expected_session(obs)
    pid = expected["profileId"] if expected else session.get("profileId")
    if pid == "" and profile is not None:
        return fail(obs, "an anonymous session returned a profile",
              {"profile": None}, {"profile": profile})
    if pid and (profile is None or profile.get("integrationId") != pid):
        return fail(obs, "the session's profile is missing from the response",
              {"profile.integrationId": pid}, {"profile": profile})
    if pid and obs.before_profile_existed is False and obs.strict_order and (profile or {}).get("attributes") != {}:
        return fail(obs, "an auto-created profile is not empty",
              {"profile.attributes": {}}, {"profile.attributes": (profile or {}).get("attributes")})
    got = session.get("firstSession")
    if obs.before_session is not None:
        wanted: bool | None = obs.before_session.first_session
    elif obs.existed is False or (obs.event or {}).get("type") == "talon_session_created":
        if pid == "":
            wanted = True
        elif obs.before_profile is not None and obs.before_profile.sessions is not None and obs.strict_order:
            wanted = obs.before_profile.sessions == 0
        elif obs.before_profile_existed is False:
            wanted = True
        else:
            wanted = None
    else:
        wanted = None
    if wanted is not None and got is not wanted:
        return fail(obs, "firstSession is wrong",
              {"session.firstSession": wanted}, {"session.firstSession": got})
    return None


def closed_sessions_bookkeeping(obs: Observation) -> Outcome:
    """D6: reaching closed adds 1 and the total to the profile; closed->cancelled takes both back; nothing
    else (profile updates included) changes closedSessions/totalSales; an overflowing totalSales is a 400."""
    if not ok(obs) or not obs.strict_order or rules.is_retry(obs):
        return NOT_APPLICABLE
    profile = obs.response_profile or {}
    x = obs.exchange
    if x.operation == PROFILE:
        before = obs.before_profile
        if before and (profile.get("closedSessions") != before.closed_sessions
                       or not rules.same_number(profile.get("totalSales"), before.total_sales)):
            return fail(obs, "a profile update changed closedSessions/totalSales",
                  {"closedSessions": before.closed_sessions, "totalSales": before.total_sales},
                  {"closedSessions": profile.get("closedSessions"), "totalSales": profile.get("totalSales")})
        return None
    delta = rules.bookkeeping_delta(obs)
    if delta is None or profile.get("integrationId") != obs.target_profile_id:
        return NOT_APPLICABLE
    base = obs.before_profile.closed_sessions if obs.before_profile else 0
    closed, sales = base + delta[0], delta[1]
    if sales is None:
        return fail(obs, "accepted although totalSales would not be finite",
              "400 Out of range, pointer /total", profile)
    if profile.get("closedSessions") != closed or not rules.same_number(profile.get("totalSales"), sales):
        return fail(obs, "closedSessions/totalSales do not follow the session's state",
              {"closedSessions": closed, "totalSales": sales},
              {"closedSessions": profile.get("closedSessions"), "totalSales": profile.get("totalSales")})
    return None


_SESSION_MEMBERS = ("total", "profileId", "cartItems", "coupon", "referral")


def session_fields_stored(obs: Observation) -> Outcome:
    """D40: an accepted session call answers with the session as stored: each member sent non-null as sent
    (a cart without its null members), else the stored value, else a new session's default."""
    if not ok(obs, SESSION) or (obs.before_session is not None and not obs.strict_order):
        return NOT_APPLICABLE
    expected = rules.expected_session(obs)
    if expected is None:
        return NOT_APPLICABLE
    got = obs.response_session or {}
    wrong = [k for k in _SESSION_MEMBERS if not (rules.same_number(expected[k], got.get(k)) if k == "total"
                                                 else rules.json_equal(expected[k], got.get(k)))]
    if wrong:
        return fail(obs, f"the session answered is not the one stored ({', '.join(wrong)})",
                    {f"session.{k}": expected[k] for k in wrong}, {f"session.{k}": got.get(k) for k in wrong})
    return None


RULES: tuple[Rule, ...] = (
    Rule("attributes_merge", ("D4",), "attributes merge key by key; a session call leaves its profile's alone",
         attributes_merge,
         {"D4 profile attributes merge key by key, null keeps": ("profile_merge",),
          "D4 a session call leaves its profile's attributes alone": ("close_then_cancel",),
          "D4/D13 edge strings as attribute keys and values are stored as sent": ("edge_bodies",)},
         ("attributes_replaced",)),
    Rule("failed_request_changes_nothing", ("D1",), "a rejected PUT leaves everything as it was (read back)",
         failed_request_changes_nothing,
         {"D1 a rejected change leaves the session as it was": ("rejected_change", "illegal_transitions"),
          "D1 a rejected body creates nothing": ("rejected_change",)},
         (), needs="read_back"),
    Rule("first_session_and_profile_autocreation", ("D7", "D9"),
         "an unknown profileId creates an empty profile; firstSession marks a profile's first session",
         first_session_and_profile_autocreation,
         {"D7 an unknown profileId creates an empty profile": ("first_sessions",),
          "D7 firstSession is true for the first session, false after": ("first_sessions",),
          "D9 an anonymous session has profile null and firstSession true": ("first_sessions",)},
         ("first_session_always_true", "profile_not_autocreated")),
    Rule("closed_sessions_bookkeeping", ("D6",), "closing books 1 and the total into the profile; cancelling takes both back",
         closed_sessions_bookkeeping,
         {"D6 closing adds 1 and the total": ("close_then_cancel", "retry"),
          "D6 closed->cancelled takes both back": ("close_then_cancel",),
          "D6 a profile update changes neither": ("profile_merge",)},
         ("cancel_keeps_total_sales",)),
    Rule("session_fields_stored", ("D4", "D40"), "an accepted session call answers with the session as stored",
         session_fields_stored,
         {"D40 a new session answers the sent members, else the defaults": ("first_sessions", "edge_bodies"),
          "D4/D40 an update keeps what it does not send": ("close_then_cancel", "coupons"),
          "D40 an id sharing its first 64 characters with another is another session": ("edge_ids",)},
         ("other_session_overwritten",)),
)

"""The catalogue of injectable faults: small, realistic bugs the harness must catch (`--fault NAME`).

Each `Fault` names the rule it breaks with the same id the harness uses for the check (or probe, or SLO
metric, or strategies' ``Invalid.breaks``) that should catch it, so `talon-harness selftest` can report
per rule. Classes: contract (response shape/status/headers), validation (invalid accepted or valid
rejected), crash (5xx on some input), semantics (a D4-D11 rule broken), durability, concurrency,
performance.

Where a fault lives: response- and request-level faults are an ASGI layer around the app
(`refserver.fault_layer`); validation-accept faults drop named errors (`suppressed_errors`); semantic
faults are consulted by the named enforcement steps in `sessions.py` / `profiles.py`; the durability
fault wraps the store. With no faults configured none of this runs: `create_app` returns the plain app.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from .errors import ErrorItem

__all__ = [
    "FAULTS", "FAULT_CLASSES", "SUPPRESSED_ERRORS", "V2_FAULTS", "Fault", "FaultName", "check_fault_names",
    "suppressed_errors",
]

FAULT_CLASSES: tuple[str, ...] = (
    "contract", "validation", "crash", "semantics", "durability", "concurrency", "performance",
)


class FaultName(StrEnum):
    """Every fault's name, once: the catalogue below and every place the server consults a fault use these."""

    SESSION_CREATED_DROPPED = "session_created_dropped"
    EVENT_ID_AS_STRING = "event_id_as_string"
    UNDECLARED_SESSION_FIELD = "undeclared_session_field"
    TEXT_PLAIN_CONTENT_TYPE = "text_plain_content_type"
    CREATED_STATUS_201 = "created_status_201"
    ERROR_POINTER_RELATIVE = "error_pointer_relative"
    QUANTITY_ZERO_ACCEPTED = "quantity_zero_accepted"
    UNKNOWN_SESSION_FIELD_ACCEPTED = "unknown_session_field_accepted"
    TOTAL_WRONG_TYPE_ACCEPTED = "total_wrong_type_accepted"
    TOO_MANY_ITEMS_ACCEPTED = "too_many_items_accepted"
    DEEP_ATTRIBUTES_ACCEPTED = "deep_attributes_accepted"
    UNICODE_NAMES_REJECTED = "unicode_names_rejected"
    IDS_WITH_SPACES_REJECTED = "ids_with_spaces_rejected"
    LONG_IDS_REJECTED = "long_ids_rejected"
    NULL_MEMBERS_REJECTED = "null_members_rejected"
    CRASH_ON_NUL = "crash_on_nul"
    CRASH_ON_ASTRAL = "crash_on_astral"
    CRASH_ON_1000_CHAR_ID = "crash_on_1000_char_id"
    CRASH_ON_EMPTY_CART = "crash_on_empty_cart"
    CRASH_ON_1000_ITEMS = "crash_on_1000_items"
    ATTRIBUTES_REPLACED = "attributes_replaced"
    SKIP_SESSION_STATE_MACHINE = "skip_session_state_machine"
    CLOSED_SESSION_MUTABLE = "closed_session_mutable"
    RETRY_CLOSE_COUNTED_TWICE = "retry_close_counted_twice"
    CANCEL_KEEPS_TOTAL_SALES = "cancel_keeps_total_sales"
    FIRST_SESSION_ALWAYS_TRUE = "first_session_always_true"
    PROFILE_NOT_AUTOCREATED = "profile_not_autocreated"
    EVENT_ID_REUSED = "event_id_reused"
    CLOSE_EVENT_TYPE_UPDATED = "close_event_type_updated"
    COUPON_DISCOUNT_MISSING = "coupon_discount_missing"
    PATH_ID_LOWERCASED = "path_id_lowercased"
    OTHER_SESSION_OVERWRITTEN = "other_session_overwritten"
    ACK_BEFORE_COMMIT = "ack_before_commit"
    LOST_UPDATE_ON_CLOSE = "lost_update_on_close"
    SLOW_SESSION_PUTS = "slow_session_puts"
    INTERMITTENT_503 = "intermittent_503"
    V2_DRY_WRITES = "v2_dry_writes"
    V2_CANCEL_NO_ROLLBACK = "v2_cancel_no_rollback"
    V2_OPEN_REOPENS_CLOSED = "v2_open_reopens_closed"
    V2_UPDATE_COUNT_STUCK = "v2_update_count_stuck"
    V2_TOTALS_IGNORE_QUANTITY = "v2_totals_ignore_quantity"
    V2_UPDATE_COUNT_AS_STRING = "v2_update_count_as_string"
    V2_PROFILE_STATUS_201 = "v2_profile_status_201"
    V2_UNKNOWN_FIELD_ACCEPTED = "v2_unknown_field_accepted"
    V2_UNICODE_SKUS_REJECTED = "v2_unicode_skus_rejected"
    V2_CRASH_ON_EMPTY_CART = "v2_crash_on_empty_cart"
    V2_CRASH_ON_ANONYMOUS_PROFILE = "v2_crash_on_anonymous_profile"
    V2_CLOSED_SESSION_MUTABLE = "v2_closed_session_mutable"
    V2_CANCELLED_SESSION_CLOSABLE = "v2_cancelled_session_closable"
    V2_DUPLICATE_CODES_EVALUATED = "v2_duplicate_codes_evaluated"
    V2_EMPTY_CODES_KEEP_STORED = "v2_empty_codes_keep_stored"
    V2_RESPONSE_CONTENT_NO_EVENT = "v2_response_content_no_event"
    V2_FIRST_SESSION_ALWAYS_TRUE = "v2_first_session_always_true"
    V2_PROFILE_NOT_AUTOCREATED = "v2_profile_not_autocreated"
    V2_CANCEL_OPEN_ROLLS_BACK = "v2_cancel_open_rolls_back"
    V2_CLOSE_NOT_PERSISTED = "v2_close_not_persisted"
    V2_STALE_SESSION_CACHE = "v2_stale_session_cache"
    V2_SLOW_SESSION_PUTS = "v2_slow_session_puts"


@dataclass(frozen=True)
class Fault:
    """One injectable bug: ``name`` selects it, ``rule`` is the id of the rule it breaks (a check, probe,
    SLO metric or ``Invalid.breaks`` name), ``fault_class`` one of FAULT_CLASSES."""

    name: str
    rule: str
    fault_class: str
    description: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", str(self.name))  # a plain str, also when given as a FaultName
        if self.fault_class not in FAULT_CLASSES:
            raise ValueError(f"fault {self.name!r}: class {self.fault_class!r} not in {FAULT_CLASSES}")


def _catalogue(*faults: Fault) -> Mapping[str, Fault]:
    return MappingProxyType({fault.name: fault for fault in faults})


FAULTS: Mapping[str, Fault] = _catalogue(
    # -- response contract (fault_layer rewrites the response) --------------------------------------
    Fault(FaultName.SESSION_CREATED_DROPPED, "response_schema_conformance", "contract",
          "200 session responses lack the required `created` field."),
    Fault(FaultName.EVENT_ID_AS_STRING, "response_schema_conformance", "contract",
          "event.id is serialised as a JSON string (\"42\") instead of an integer."),
    Fault(FaultName.UNDECLARED_SESSION_FIELD, "response_schema_conformance", "contract",
          "sessions carry an undeclared `loyaltyPoints` member (CustomerSession is closed)."),
    Fault(FaultName.TEXT_PLAIN_CONTENT_TYPE, "content_type_conformance", "contract",
          "200 responses are labelled `text/plain; charset=utf-8` instead of application/json."),
    Fault(FaultName.CREATED_STATUS_201, "status_code_conformance", "contract",
          "a call that creates the entity answers 201, which the contract does not document."),
    Fault(FaultName.ERROR_POINTER_RELATIVE, "error_response_pointer", "contract",
          "400 error pointers lose their leading slash (\"cartItems/0/quantity\")."),
    # -- validation: invalid accepted (errors dropped) -----------------------------------------------
    Fault(FaultName.QUANTITY_ZERO_ACCEPTED, "quantity_minimum", "validation",
          "cart item quantity 0 (or negative) is accepted (the minimum-1 check is missing)."),
    Fault(FaultName.UNKNOWN_SESSION_FIELD_ACCEPTED, "session_unknown_field", "validation",
          "unknown top-level session members are ignored instead of rejected (D3)."),
    Fault(FaultName.TOTAL_WRONG_TYPE_ACCEPTED, "invalid_type", "validation",
          "a session `total` of the wrong JSON type (string, bool, object...) is accepted and stored."),
    Fault(FaultName.TOO_MANY_ITEMS_ACCEPTED, "cart_items_limit", "validation",
          "more than 1000 cart items are accepted."),
    Fault(FaultName.DEEP_ATTRIBUTES_ACCEPTED, "attribute_depth_limit", "validation",
          "attribute values nested deeper than 10 levels are accepted."),
    # -- validation: valid rejected (fault_layer answers 400) ------------------------------------------
    Fault(FaultName.UNICODE_NAMES_REJECTED, "positive_data_acceptance", "validation",
          "cart item names with non-ASCII characters get 400 Invalid value."),
    Fault(FaultName.IDS_WITH_SPACES_REJECTED, "positive_data_acceptance", "validation",
          "path ids containing a space get 400 Invalid id."),
    Fault(FaultName.LONG_IDS_REJECTED, "positive_data_acceptance", "validation",
          "path ids longer than 128 characters get 400 Invalid id (limit is 1000)."),
    Fault(FaultName.NULL_MEMBERS_REJECTED, "positive_data_acceptance", "validation",
          "a top-level member sent as null gets 400 Invalid type (D4: null means omitted)."),
    # -- crashes (fault_layer answers 500) -------------------------------------------------------------
    Fault(FaultName.CRASH_ON_NUL, "not_a_server_error", "crash",
          "500 when the body or path id contains U+0000 (a C-string library)."),
    Fault(FaultName.CRASH_ON_ASTRAL, "not_a_server_error", "crash",
          "500 when the body or path id contains a character beyond U+FFFF (UCS-2 storage)."),
    Fault(FaultName.CRASH_ON_1000_CHAR_ID, "not_a_server_error", "crash",
          "500 when the path id is exactly 1000 characters long (off-by-one buffer)."),
    Fault(FaultName.CRASH_ON_EMPTY_CART, "not_a_server_error", "crash",
          "500 when a session is sent with `cartItems: []` (average price divides by zero)."),
    Fault(FaultName.CRASH_ON_1000_ITEMS, "not_a_server_error", "crash",
          "500 when a session has 1000 or more cart items."),
    # -- semantics (named steps in sessions.py / profiles.py, or fault_layer) -------------------------
    Fault(FaultName.ATTRIBUTES_REPLACED, "attributes_merge", "semantics",
          "a profile PUT replaces the stored attributes instead of merging key by key (D4)."),
    Fault(FaultName.SKIP_SESSION_STATE_MACHINE, "session_state_machine", "semantics",
          "`_enforce_session_state_machine` is skipped: closed->open, cancelled->open... are accepted."),
    Fault(FaultName.CLOSED_SESSION_MUTABLE, "illegal_transition_rejected", "semantics",
          "`_enforce_final_states_frozen` is skipped: a closed/cancelled session accepts changes."),
    Fault(FaultName.RETRY_CLOSE_COUNTED_TWICE, "retry_counts_nothing_twice", "semantics",
          "re-sending state closed books the session's total into the profile again (D6)."),
    Fault(FaultName.CANCEL_KEEPS_TOTAL_SALES, "closed_sessions_bookkeeping", "semantics",
          "closed->cancelled does not take the session back out of closedSessions/totalSales (D6)."),
    Fault(FaultName.FIRST_SESSION_ALWAYS_TRUE, "first_session_and_profile_autocreation", "semantics",
          "firstSession is true for every new session, not just the profile's first (D7)."),
    Fault(FaultName.PROFILE_NOT_AUTOCREATED, "first_session_and_profile_autocreation", "semantics",
          "an unknown profileId does not create a profile; the response profile is null (D7)."),
    Fault(FaultName.EVENT_ID_REUSED, "event_id_strictly_increasing", "semantics",
          "event ids come from a counter bumped every second call, so ids repeat (D10)."),
    Fault(FaultName.CLOSE_EVENT_TYPE_UPDATED, "event_type", "semantics",
          "closing a session records talon_session_updated instead of talon_session_closed (D10)."),
    Fault(FaultName.COUPON_DISCOUNT_MISSING, "discounts_reflect_effects", "semantics",
          "session.discounts omits the accepted coupon's setDiscount (D11)."),
    Fault(FaultName.PATH_ID_LOWERCASED, "path_id_echoed", "semantics",
          "the response names the entity by its lowercased id (case-insensitive collation)."),
    Fault(FaultName.OTHER_SESSION_OVERWRITTEN, "event_type", "semantics",
          "sessions are keyed by the first 64 characters of their id, so a long id overwrites another "
          "session (seen as an update where a creation was due)."),
    # -- durability, concurrency, performance ---------------------------------------------------------
    Fault(FaultName.ACK_BEFORE_COMMIT, "acknowledged_write_durable", "durability",
          "writes are acknowledged but committed only in batches of 100, so a crash loses them."),
    Fault(FaultName.LOST_UPDATE_ON_CLOSE, "concurrent_closes_all_counted", "concurrency",
          "closing books the profile from a snapshot read before an await: concurrent closes are lost."),
    Fault(FaultName.SLOW_SESSION_PUTS, "p95_ms", "performance",
          "every session PUT takes 50 ms longer (a synchronous call added to the hot path)."),
    Fault(FaultName.INTERMITTENT_503, "error_ratio", "performance",
          "about 1% of requests get 503 Service Unavailable."),
)

#: Faults of the v2 routes (D36): each breaks a v2 rule (``contracts.domain.v2_*``) or the built-in check, probe
#: or SLO metric named, and ``selftest --api v2`` expects ``check --api v2`` to catch each. Kept apart from
#: FAULTS, whose entries the v1 checks must catch (``selftest`` on a v1 API runs those).
V2_FAULTS: Mapping[str, Fault] = _catalogue(
    # -- contract -----------------------------------------------------------------------------------------
    Fault(FaultName.V2_UPDATE_COUNT_AS_STRING, "response_schema_conformance", "contract",
          "customerSession.updateCount is serialised as a JSON string (\"2\") instead of an integer."),
    Fault(FaultName.V2_PROFILE_STATUS_201, "status_code_conformance", "contract",
          "the v2 profile endpoint answers 201 (copied from a create handler), which the SDK does not document."),
    # -- validation ---------------------------------------------------------------------------------------
    Fault(FaultName.V2_UNKNOWN_FIELD_ACCEPTED, "negative_data_rejection", "validation",
          "unknown members of the closed v2 bodies are ignored instead of refused (D21)."),
    Fault(FaultName.V2_UNICODE_SKUS_REJECTED, "positive_data_acceptance", "validation",
          "a cart item sku with non-ASCII characters gets 400 Invalid value (an ASCII-only column)."),
    # -- crash --------------------------------------------------------------------------------------------
    Fault(FaultName.V2_CRASH_ON_EMPTY_CART, "not_a_server_error", "crash",
          "500 when a v2 session is sent with `cartItems: []` (average item price divides by zero)."),
    Fault(FaultName.V2_CRASH_ON_ANONYMOUS_PROFILE, "not_a_server_error", "crash",
          "500 when an anonymous v2 session asks for responseContent customerProfile (reads a None profile)."),
    # -- semantics ----------------------------------------------------------------------------------------
    Fault(FaultName.V2_DRY_WRITES, "v2_dry_persists_nothing", "semantics",
          "a v2 call with dry=true is written like any other (D28)."),
    Fault(FaultName.V2_CANCEL_NO_ROLLBACK, "v2_cancel_rolls_back", "semantics",
          "cancelling a closed v2 session answers no rollbackCoupon/rollbackDiscount effects (D26)."),
    Fault(FaultName.V2_CANCEL_OPEN_ROLLS_BACK, "v2_cancel_rolls_back", "semantics",
          "cancelling an open v2 session answers rollbacks of codes that were never redeemed (D26)."),
    Fault(FaultName.V2_OPEN_REOPENS_CLOSED, "v2_state_machine", "semantics",
          "the SDK's default state 'open' reopens a closed v2 session, which then accepts changes (D23)."),
    Fault(FaultName.V2_CLOSED_SESSION_MUTABLE, "v2_state_machine", "semantics",
          "a closed v2 session accepts changes to its cart, codes and attributes (D22)."),
    Fault(FaultName.V2_CANCELLED_SESSION_CLOSABLE, "v2_state_machine", "semantics",
          "a cancelled v2 session can be moved back to closed (D22: cancelled is final)."),
    Fault(FaultName.V2_UPDATE_COUNT_STUCK, "v2_update_count", "semantics",
          "updateCount stays 1 after updates of a v2 session (D31)."),
    Fault(FaultName.V2_TOTALS_IGNORE_QUANTITY, "v2_totals", "semantics",
          "cartItemTotal sums unit prices, ignoring quantities (D31)."),
    Fault(FaultName.V2_DUPLICATE_CODES_EVALUATED, "v2_effects", "semantics",
          "a coupon code sent twice is evaluated twice: two acceptCoupon/setDiscount pairs (D25: distinct codes)."),
    Fault(FaultName.V2_EMPTY_CODES_KEEP_STORED, "v2_codes_cleared", "semantics",
          "`couponCodes: []` and `referralCode: \"\"` are read as 'not sent': the stored codes stay (D21)."),
    Fault(FaultName.V2_RESPONSE_CONTENT_NO_EVENT, "v2_response_content", "semantics",
          "responseContent 'event' adds nothing to the answer (D27)."),
    Fault(FaultName.V2_FIRST_SESSION_ALWAYS_TRUE, "v2_first_session", "semantics",
          "firstSession is true for every new v2 session, not just the profile's first (D32)."),
    Fault(FaultName.V2_PROFILE_NOT_AUTOCREATED, "v2_profile_autocreated", "semantics",
          "a v2 session naming an unknown profileId creates no profile: customerProfile is left out (D32)."),
    # -- durability, concurrency, performance ---------------------------------------------------------------
    Fault(FaultName.V2_CLOSE_NOT_PERSISTED, "v2_state_machine", "durability",
          "the call that closes a v2 session is answered closed but the session row keeps the state it had."),
    Fault(FaultName.V2_STALE_SESSION_CACHE, "v2_update_count", "concurrency",
          "v2 sessions are read from a per-process cache filled on creation and never refreshed, so every "
          "call builds on the first copy (what concurrent writers see as lost updates)."),
    Fault(FaultName.V2_SLOW_SESSION_PUTS, "p95_ms", "performance",
          "every v2 session PUT takes 50 ms longer (a synchronous call added to the hot path)."),
)

#: validation-accept fault -> (error title, pointer suffix or None for any pointer) it drops.
SUPPRESSED_ERRORS: Mapping[str, tuple[str, str | None]] = MappingProxyType({
    FaultName.QUANTITY_ZERO_ACCEPTED: ("Below minimum", "/quantity"),
    FaultName.UNKNOWN_SESSION_FIELD_ACCEPTED: ("Unknown field", None),
    FaultName.TOTAL_WRONG_TYPE_ACCEPTED: ("Invalid type", "/total"),
    FaultName.TOO_MANY_ITEMS_ACCEPTED: ("Too many items", None),
    FaultName.DEEP_ATTRIBUTES_ACCEPTED: ("Nested too deeply", None),
})


def check_fault_names(names: Iterable[str]) -> frozenset[str]:
    """The names as a frozenset; raises ValueError listing every valid name if one is unknown."""
    chosen = frozenset(names)
    unknown = sorted(chosen - FAULTS.keys() - V2_FAULTS.keys())
    if unknown:
        raise ValueError(f"unknown fault(s) {unknown}; valid faults: {', '.join(sorted([*FAULTS, *V2_FAULTS]))}")
    return chosen


def suppressed_errors(faults: frozenset[str], errors: list[ErrorItem]) -> list[ErrorItem]:
    """`errors` minus those an active validation-accept fault drops (unchanged when none is active)."""
    drops = [SUPPRESSED_ERRORS[name] for name in faults if name in SUPPRESSED_ERRORS]
    if not drops or not errors:
        return errors
    return [
        e for e in errors
        if not any(e.title == title and (suffix is None or (e.pointer or "").endswith(suffix))
                   for title, suffix in drops)
    ]

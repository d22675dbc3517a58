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
from types import MappingProxyType

from .errors import ErrorItem

__all__ = [
    "FAULTS", "FAULT_CLASSES", "SUPPRESSED_ERRORS", "V2_FAULTS", "Fault", "check_fault_names", "suppressed_errors",
]

FAULT_CLASSES: tuple[str, ...] = (
    "contract", "validation", "crash", "semantics", "durability", "concurrency", "performance",
)


@dataclass(frozen=True)
class Fault:
    """One injectable bug: ``name`` selects it, ``rule`` is the id of the rule it breaks (a check, probe,
    SLO metric or ``Invalid.breaks`` name), ``fault_class`` one of FAULT_CLASSES."""

    name: str
    rule: str
    fault_class: str
    description: str

    def __post_init__(self) -> None:
        if self.fault_class not in FAULT_CLASSES:
            raise ValueError(f"fault {self.name!r}: class {self.fault_class!r} not in {FAULT_CLASSES}")


def _catalogue(*faults: Fault) -> Mapping[str, Fault]:
    return MappingProxyType({fault.name: fault for fault in faults})


FAULTS: Mapping[str, Fault] = _catalogue(
    # -- response contract (fault_layer rewrites the response) --------------------------------------
    Fault("session_created_dropped", "response_schema_conformance", "contract",
          "200 session responses lack the required `created` field."),
    Fault("event_id_as_string", "response_schema_conformance", "contract",
          "event.id is serialised as a JSON string (\"42\") instead of an integer."),
    Fault("undeclared_session_field", "response_schema_conformance", "contract",
          "sessions carry an undeclared `loyaltyPoints` member (CustomerSession is closed)."),
    Fault("text_plain_content_type", "content_type_conformance", "contract",
          "200 responses are labelled `text/plain; charset=utf-8` instead of application/json."),
    Fault("created_status_201", "status_code_conformance", "contract",
          "a call that creates the entity answers 201, which the contract does not document."),
    Fault("error_pointer_relative", "error_response_pointer", "contract",
          "400 error pointers lose their leading slash (\"cartItems/0/quantity\")."),
    # -- validation: invalid accepted (errors dropped) -----------------------------------------------
    Fault("quantity_zero_accepted", "quantity_minimum", "validation",
          "cart item quantity 0 (or negative) is accepted (the minimum-1 check is missing)."),
    Fault("unknown_session_field_accepted", "session_unknown_field", "validation",
          "unknown top-level session members are ignored instead of rejected (D3)."),
    Fault("total_wrong_type_accepted", "invalid_type", "validation",
          "a session `total` of the wrong JSON type (string, bool, object...) is accepted and stored."),
    Fault("too_many_items_accepted", "cart_items_limit", "validation",
          "more than 1000 cart items are accepted."),
    Fault("deep_attributes_accepted", "attribute_depth_limit", "validation",
          "attribute values nested deeper than 10 levels are accepted."),
    # -- validation: valid rejected (fault_layer answers 400) ------------------------------------------
    Fault("unicode_names_rejected", "positive_data_acceptance", "validation",
          "cart item names with non-ASCII characters get 400 Invalid value."),
    Fault("ids_with_spaces_rejected", "positive_data_acceptance", "validation",
          "path ids containing a space get 400 Invalid id."),
    Fault("long_ids_rejected", "positive_data_acceptance", "validation",
          "path ids longer than 128 characters get 400 Invalid id (limit is 1000)."),
    Fault("null_members_rejected", "positive_data_acceptance", "validation",
          "a top-level member sent as null gets 400 Invalid type (D4: null means omitted)."),
    # -- crashes (fault_layer answers 500) -------------------------------------------------------------
    Fault("crash_on_nul", "not_a_server_error", "crash",
          "500 when the body or path id contains U+0000 (a C-string library)."),
    Fault("crash_on_astral", "not_a_server_error", "crash",
          "500 when the body or path id contains a character beyond U+FFFF (UCS-2 storage)."),
    Fault("crash_on_1000_char_id", "not_a_server_error", "crash",
          "500 when the path id is exactly 1000 characters long (off-by-one buffer)."),
    Fault("crash_on_empty_cart", "not_a_server_error", "crash",
          "500 when a session is sent with `cartItems: []` (average price divides by zero)."),
    Fault("crash_on_1000_items", "not_a_server_error", "crash",
          "500 when a session has 1000 or more cart items."),
    # -- semantics (named steps in sessions.py / profiles.py, or fault_layer) -------------------------
    Fault("attributes_replaced", "attributes_merge", "semantics",
          "a profile PUT replaces the stored attributes instead of merging key by key (D4)."),
    Fault("skip_session_state_machine", "session_state_machine", "semantics",
          "`_enforce_session_state_machine` is skipped: closed->open, cancelled->open... are accepted."),
    Fault("closed_session_mutable", "illegal_transition_rejected", "semantics",
          "`_enforce_final_states_frozen` is skipped: a closed/cancelled session accepts changes."),
    Fault("retry_close_counted_twice", "retry_counts_nothing_twice", "semantics",
          "re-sending state closed books the session's total into the profile again (D6)."),
    Fault("cancel_keeps_total_sales", "closed_sessions_bookkeeping", "semantics",
          "closed->cancelled does not take the session back out of closedSessions/totalSales (D6)."),
    Fault("first_session_always_true", "first_session_and_profile_autocreation", "semantics",
          "firstSession is true for every new session, not just the profile's first (D7)."),
    Fault("profile_not_autocreated", "first_session_and_profile_autocreation", "semantics",
          "an unknown profileId does not create a profile; the response profile is null (D7)."),
    Fault("event_id_reused", "event_id_strictly_increasing", "semantics",
          "event ids come from a counter bumped every second call, so ids repeat (D10)."),
    Fault("close_event_type_updated", "event_type", "semantics",
          "closing a session records talon_session_updated instead of talon_session_closed (D10)."),
    Fault("coupon_discount_missing", "discounts_reflect_effects", "semantics",
          "session.discounts omits the accepted coupon's setDiscount (D11)."),
    Fault("path_id_lowercased", "path_id_echoed", "semantics",
          "the response names the entity by its lowercased id (case-insensitive collation)."),
    Fault("other_session_overwritten", "event_type", "semantics",
          "sessions are keyed by the first 64 characters of their id, so a long id overwrites another "
          "session (seen as an update where a creation was due)."),
    # -- durability, concurrency, performance ---------------------------------------------------------
    Fault("ack_before_commit", "acknowledged_write_durable", "durability",
          "writes are acknowledged but committed only in batches of 100, so a crash loses them."),
    Fault("lost_update_on_close", "concurrent_closes_all_counted", "concurrency",
          "closing books the profile from a snapshot read before an await: concurrent closes are lost."),
    Fault("slow_session_puts", "p95_ms", "performance",
          "every session PUT takes 50 ms longer (a synchronous call added to the hot path)."),
    Fault("intermittent_503", "error_ratio", "performance",
          "about 1% of requests get 503 Service Unavailable."),
)

#: Faults of the v2 routes (D36), kept apart from FAULTS: the harness's checks and `selftest` cover v1 only;
#: the SDK suite (tests/refserver/test_v2_sdk.py) is what catches these.
V2_FAULTS: Mapping[str, Fault] = _catalogue(
    Fault("v2_dry_writes", "v2_dry_persists_nothing", "semantics",
          "a v2 call with dry=true is written like any other (D28)."),
    Fault("v2_cancel_no_rollback", "v2_cancel_rolls_back", "semantics",
          "cancelling a closed v2 session answers no rollbackCoupon/rollbackDiscount effects (D26)."),
    Fault("v2_open_reopens_closed", "v2_default_open_state", "semantics",
          "the SDK's default state 'open' reopens a closed v2 session, which then accepts changes (D23)."),
    Fault("v2_update_count_stuck", "v2_update_count", "semantics",
          "updateCount stays 1 after updates of a v2 session (D31)."),
    Fault("v2_totals_ignore_quantity", "v2_totals", "semantics",
          "cartItemTotal sums unit prices, ignoring quantities (D31)."),
)

#: validation-accept fault -> (error title, pointer suffix or None for any pointer) it drops.
SUPPRESSED_ERRORS: Mapping[str, tuple[str, str | None]] = MappingProxyType({
    "quantity_zero_accepted": ("Below minimum", "/quantity"),
    "unknown_session_field_accepted": ("Unknown field", None),
    "total_wrong_type_accepted": ("Invalid type", "/total"),
    "too_many_items_accepted": ("Too many items", None),
    "deep_attributes_accepted": ("Nested too deeply", None),
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

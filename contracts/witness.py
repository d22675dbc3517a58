"""Witnesses: for every domain rule and every decision it checks, a short fixed sequence that shows it holds.

A fuzzer reaches "close, then cancel, then look at the profile" only by luck; a witness sends it every run.
``RULE_WITNESSES`` names, for each check of :data:`contracts.checks.DOMAIN_CHECKS`, the decisions it
checks and the witness that exercises each one; ``WITNESSES`` holds the sequences, composed from the
journey building blocks (``strategies.journeys.scripted_journey``), the edge constants of
``strategies.edges`` and the seeded examples of ``strategies.invalid``. Ids are new on every run (a random
prefix), everything else is the same every run.

``run_witnesses`` sends them over HTTP (httpx, bounded timeouts, the run's credentials signed per request)
and feeds every answer through the model exactly like the schemathesis runtime does (``Exchange`` ->
``Model.observe`` -> ``Observation``). Each observation goes to every judge of the run: by default the
undecorated bodies of all domain checks (so a witness failure is a failure of the same check name), a
5xx judge (``not_a_server_error``), the journey model's acceptance prediction
(``positive_data_acceptance``) and the contract's responses (``status_code_conformance``,
``content_type_conformance``, ``response_schema_conformance``, with jsonschema-rs). Another judge (e.g. a reference oracle) is one more callable in
``judges``: :func:`reference_judge` is ``matches_reference`` here (``check --oracle``). The phase keeps every
request it sent as a ``contracts.oracle.Step`` (``WitnessResult.journal``), so a witness failure is a replayable
sequence like a schemathesis one (``harness.regressions``). Requests counted include the ``PUT {}`` probes ``failed_request_changes_nothing`` sends (on the
``READ_BACK_WITNESSES`` only).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import httpx
import jsonschema_rs

from talon_harness.contracts import checks
from talon_harness.contracts import oracle as reference
from talon_harness.contracts.checks import DOMAIN_CHECKS
from talon_harness.contracts.model import Exchange, Model, Observation
from talon_harness.contracts.runtime import CheckRuntime, attach_runtime
from talon_harness.contracts.spec import operation, response_schema
from talon_harness.strategies.bodies import SESSION_FIELDS
from talon_harness.strategies.catalogue import ACCEPTED_COUPONS, ACCEPTED_REFERRALS, REJECTED_COUPONS
from talon_harness.strategies.edges import EDGE_STRINGS, MAX_CART_ITEMS
from talon_harness.strategies.ids import MAX_ID_LENGTH
from talon_harness.strategies.invalid import invalid_examples
from talon_harness.strategies.journeys import JourneyScript, scripted_journey
from talon_harness.strategies.types import Invalid
from talon_harness.strategies.wire import PROFILE, SESSION, Credentials, build_put

__all__ = [
    "DEFAULT_JUDGES", "JUDGE_WITNESSES", "READ_BACK_WITNESSES", "RULE_WITNESSES", "WITNESSES", "Finding", "Judge", "Sent", "Step", "Witness",
    "WitnessFailure", "WitnessResult", "domain_checks", "expected_acceptance", "fresh_prefix", "reference_judge",
    "response_conformance", "run_witnesses", "server_errors",
]


@dataclass(frozen=True)
class Step:
    """One PUT of a witness. ``expect_status``: what the journey model (or the invalid example) predicts;
    ``invalid``: the ``strategies.invalid`` tag of a deliberately invalid body (judged by invalid_body_rejected)."""

    step: str
    operation: str
    entity_id: str
    body: object
    expect_status: int = 200
    invalid: Invalid | None = None


@dataclass(frozen=True)
class Witness:
    """A named fixed sequence: ``build(id_prefix)`` returns its steps, all ids starting with the prefix."""

    name: str
    description: str
    build: Callable[[str], tuple[Step, ...]]


def _journey(story: Callable[[JourneyScript], None]) -> Callable[[str], tuple[Step, ...]]:
    def build(prefix: str) -> tuple[Step, ...]:
        journey = scripted_journey(story.__name__.strip("_"), story, id_prefix=prefix)
        return tuple(Step(c.step, c.operation, c.entity_id, c.body, c.expect_status) for c in journey.calls)

    return build


def _first_sessions(s: JourneyScript) -> None:
    profile_id = s.new_profile_id()  # never upserted: the first session creates it (D7)
    s.put("open_first_session", SESSION, s.new_session_id(), {"profileId": profile_id})
    s.put("open_second_session", SESSION, s.new_session_id(), {"profileId": profile_id})
    s.put("open_anonymous_session", SESSION, s.new_session_id(), {"profileId": ""})


def _close_then_cancel(s: JourneyScript) -> None:
    session_id, cart = s.open_session(s.new_profile_id())
    s.add_items(session_id, cart, 1)
    s.set_state("close_session", session_id, "closed")
    s.set_state("cancel_session", session_id, "cancelled")


def _retry(s: JourneyScript) -> None:
    session_id, cart = s.open_session(s.new_profile_id())
    s.add_items(session_id, cart, 1)
    s.retry_last()
    last = s.calls[-1].body
    assert isinstance(last, dict)
    s.put("close_session", SESSION, session_id, {"state": "closed", "total": last["total"]})
    s.retry_last()


def _profile_merge(s: JourneyScript) -> None:
    profile_id = s.upsert_profile()
    last = s.calls[-1].body
    assert isinstance(last, dict)
    first_key = min(last["attributes"])
    s.put("update_profile", PROFILE, profile_id, {"attributes": {"WitnessKey": "merged", first_key: None}})
    s.put("read_profile", PROFILE, profile_id, {})


def _coupons(s: JourneyScript) -> None:
    session_id, cart = s.open_session(s.new_profile_id())
    s.add_items(session_id, cart, 1)
    s.put("try_coupon", SESSION, session_id, {"coupon": REJECTED_COUPONS[0]})
    s.put("apply_coupon", SESSION, session_id, {"coupon": ACCEPTED_COUPONS[0]})
    s.put("apply_referral", SESSION, session_id, {"referral": ACCEPTED_REFERRALS[0]})


def _illegal_transitions(s: JourneyScript) -> None:
    session_id, _ = s.open_session(s.new_profile_id())  # no items: the transitions do not depend on the cart
    s.set_state("close_session", session_id, "closed")
    s.set_state("reopen_session", session_id, "open")
    s.put("change_closed_total", SESSION, session_id, {"total": 0.5})
    s.set_state("cancel_session", session_id, "cancelled")
    s.set_state("close_cancelled", session_id, "closed")
    s.put("coupon_on_cancelled", SESSION, session_id, {"coupon": ACCEPTED_COUPONS[0]})


def _edge_ids(s: JourneyScript) -> None:
    s.put("awkward_profile_id", PROFILE, f"{s.prefix} é 😀", {})
    s.put("longest_session_id", SESSION, f"{s.prefix}-long-".ljust(MAX_ID_LENGTH, "x"), {"profileId": ""})
    shared = f"{s.prefix}-long-".ljust(64, "y")  # two ids alike in their first 64 characters
    s.put("long_session_id", SESSION, shared + "a", {"profileId": ""})
    s.put("other_long_session_id", SESSION, shared + "b", {"profileId": ""})


def _edge_bodies(s: JourneyScript) -> None:
    items = [{"name": text, "sku": f"SKU-{i}", "quantity": 1, "price": 1.0} for i, text in enumerate(EDGE_STRINGS)]
    full = [{"name": "Item", "sku": f"SKU-{i}", "quantity": 1, "price": 0.5} for i in range(MAX_CART_ITEMS)]
    s.put("all_members_null", SESSION, s.new_session_id(), {k: None for k in SESSION_FIELDS})
    s.put("empty_cart", SESSION, s.new_session_id(), {"profileId": "", "cartItems": [], "total": 0})
    s.put("edge_string_items", SESSION, s.new_session_id(), {"profileId": "", "cartItems": items, "total": 0})
    s.put("full_cart", SESSION, s.new_session_id(), {"profileId": "", "cartItems": full, "total": 500})
    s.put("edge_string_attributes", PROFILE, s.new_profile_id(), {"attributes": {t: t for t in EDGE_STRINGS}})


#: invalid_bodies is the phase's last and longest witness. These rules go first in it, so a server that drops one
#: of these refusals fails within the witness' first requests rather than after the other twelve: they are the
#: refusals a server drops without failing anything else (refserver.faults has a fault for each: a value
#: minimum, an unknown member, the item count and the nesting limits); the type, required-member and shape rules
#: follow.
_FIRST_RULES = ("quantity_minimum", "session_unknown_field", "cart_items_limit", "attribute_depth_limit")


@functools.cache
def _invalid_examples() -> tuple[Invalid, ...]:
    """One example of every ``strategies.invalid`` rule per operation (seed 0, JSON bodies only), session
    examples of ``_FIRST_RULES`` first, then the rest in the strategies' order."""
    found: list[Invalid] = []
    for operation_id in (SESSION, PROFILE):
        rules: set[str] = set()
        for example in invalid_examples(operation_id, seed=0, per_rule=1, json_only=True, max_depth=64):
            if example.breaks not in rules:  # the first example of each rule, in the strategies' order
                rules.add(example.breaks)
                found.append(example)
    first = [next(e for e in found if e.operation == SESSION and e.breaks == rule) for rule in _FIRST_RULES]
    return (*first, *(e for e in found if e not in first))


def _invalid_bodies(prefix: str) -> tuple[Step, ...]:
    return tuple(Step(f"invalid_{e.breaks}", e.operation, f"{prefix}-inv-{i}", e.body, e.status, e)
                 for i, e in enumerate(_invalid_examples()))


def _rejected_change(prefix: str) -> tuple[Step, ...]:
    session_id = f"{prefix}-sess-0"
    wrong = Invalid({"total": "12.5"}, "invalid_type", "/total", operation=SESSION)
    # each refusal is read back by failed_request_changes_nothing (this is one of READ_BACK_WITNESSES)
    return (Step("open_session", SESSION, session_id, {"profileId": "", "total": 12.5}),
            Step("wrong_total_type", SESSION, session_id, wrong.body, 400, wrong),
            Step("wrong_total_new_session", SESSION, f"{prefix}-sess-1", wrong.body, 400, wrong))


def _witnesses(*items: Witness) -> Mapping[str, Witness]:
    return MappingProxyType({w.name: w for w in items})


#: Every witness, in the order the phase sends them: the journeys (shortest sequences of a rule first), then the
#: witnesses of one fact per request, the longest (invalid_bodies, one request per rule) last. Only
#: READ_BACK_WITNESSES add a ``PUT {}`` after a refusal, so every other refusal costs one request.
WITNESSES: Mapping[str, Witness] = _witnesses(
    Witness("first_sessions", "a profile's first and second session (unknown profileId), an anonymous one",
            _journey(_first_sessions)),
    Witness("close_then_cancel", "open with items, close, cancel", _journey(_close_then_cancel)),
    Witness("retry", "add items twice with the same body, close, close again", _journey(_retry)),
    Witness("profile_merge", "upsert a profile, merge a new key and a null, read it", _journey(_profile_merge)),
    Witness("coupons", "a rejected coupon, an accepted coupon, an accepted referral", _journey(_coupons)),
    Witness("illegal_transitions", "closed->open, a new total on a closed session, cancel, cancelled->closed, "
            "a coupon on a cancelled session", _journey(_illegal_transitions)),
    Witness("rejected_change", "a wrong-typed total sent to an existing session and to a new one (each read "
            "back)", _rejected_change),
    Witness("edge_ids", "a profile id with spaces and an emoji, a 1000-character session id, two ids alike in "
            "their first 64 characters", _journey(_edge_ids)),
    Witness("edge_bodies", "every member null, an empty cart, edge strings as item names and attribute keys, "
            f"{MAX_CART_ITEMS} items", _journey(_edge_bodies)),
    Witness("invalid_bodies", "one body breaking each strategies.invalid rule, per operation", _invalid_bodies),
)

#: check -> decision -> the witnesses that exercise it (one hop from a rule to its evidence).
RULE_WITNESSES: Mapping[str, Mapping[str, tuple[str, ...]]] = MappingProxyType({
    "path_id_echoed": {
        "D12 a session answer names the path's session": ("close_then_cancel", "first_sessions"),
        "D12 a profile answer names the path's profile": ("profile_merge",),
        "D12/D15 awkward and 1000-character ids are answered for as sent": ("edge_ids",),
    },
    "session_state_machine": {
        "D5 a new session is open": ("first_sessions",),
        "D5 open->closed, closed->cancelled reach the requested state": ("close_then_cancel",),
        "D5 an illegal transition leaves the stored state": ("illegal_transitions",),
    },
    "illegal_transition_rejected": {
        "D5 closed->open is refused (/state)": ("illegal_transitions",),
        "D5 a change to a closed session is refused": ("illegal_transitions",),
        "D5 leaving cancelled is refused": ("illegal_transitions",),
    },
    "retry_counts_nothing_twice": {
        "D5/D10 resending an open session's state is an update": ("retry",),
        "D6 resending closed books nothing again": ("retry",),
    },
    "attributes_merge": {
        "D4 profile attributes merge key by key, null keeps": ("profile_merge",),
        "D4 a session call leaves its profile's attributes alone": ("close_then_cancel",),
        "D4/D13 edge strings as attribute keys and values are stored as sent": ("edge_bodies",),
    },
    "failed_request_changes_nothing": {
        "D1 a rejected change leaves the session as it was": ("rejected_change", "illegal_transitions"),
        "D1 a rejected body creates nothing": ("rejected_change",),
    },
    "first_session_and_profile_autocreation": {
        "D7 an unknown profileId creates an empty profile": ("first_sessions",),
        "D7 firstSession is true for the first session, false after": ("first_sessions",),
        "D9 an anonymous session has profile null and firstSession true": ("first_sessions",),
    },
    "closed_sessions_bookkeeping": {
        "D6 closing adds 1 and the total": ("close_then_cancel", "retry"),
        "D6 closed->cancelled takes both back": ("close_then_cancel",),
        "D6 a profile update changes neither": ("profile_merge",),
    },
    "event_id_strictly_increasing": {
        "D10 every accepted call records a new, greater event id": ("first_sessions", "profile_merge"),
    },
    "event_type": {
        "D10 *_created on creation, *_updated after": ("profile_merge", "first_sessions", "edge_ids"),
        "D10 talon_session_closed / talon_session_cancelled on a state change": ("close_then_cancel",),
    },
    "effects_well_formed": {
        "D11 one acceptCoupon/rejectCoupon effect for the coupon sent": ("coupons",),
        "D11 one acceptReferral effect for the referral sent": ("coupons",),
        "D11 profile updates have no effects": ("profile_merge",),
    },
    "discounts_reflect_effects": {
        "D11 an accepted coupon's setDiscount is in session.discounts": ("coupons",),
    },
    "error_response_pointer": {
        "D1 state errors point at /state or the changed member": ("illegal_transitions",),
        "D1 validation errors point into the body": ("invalid_bodies", "rejected_change"),
    },
    "invalid_body_rejected": {
        "D1/D3/D13 every strategies.invalid rule is refused at its pointer": ("invalid_bodies",),
        "D1 validation comes before the state rules": ("rejected_change",),
    },
})

#: ``failed_request_changes_nothing`` reads the entity back (one ``PUT {}`` more) after a rejected answer. In the
#: phase it does so only on the witnesses named for it above, whose rejections are what D1 is about; every other
#: rejection (the bodies of invalid_bodies) is judged by the other checks without a read-back: one request, not two.
READ_BACK_WITNESSES: frozenset[str] = frozenset(
    w for names in RULE_WITNESSES["failed_request_changes_nothing"].values() for w in names)

#: The same for the built-in checks the extra judges stand in for (named like schemathesis' checks).
JUDGE_WITNESSES: Mapping[str, Mapping[str, tuple[str, ...]]] = MappingProxyType({
    "not_a_server_error": {
        "edge strings (NUL, astral), an empty and a 1000-item cart, 1000-character ids get no 5xx":
            ("edge_bodies", "edge_ids"),
    },
    "positive_data_acceptance": {
        "D4 null members, D12 ids with spaces or 1000 characters, unicode names are accepted":
            ("edge_bodies", "edge_ids"),
    },
    "status_code_conformance": {"every answer has a documented status": ("first_sessions", "invalid_bodies")},
    "content_type_conformance": {"every answer is application/json": ("first_sessions", "invalid_bodies")},
    "response_schema_conformance": {
        "200 and error answers match their schema": ("first_sessions", "close_then_cancel", "invalid_bodies"),
    },
})


# -- judging ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Finding:
    """A judge's verdict that ``check`` failed on one answer, with the evidence."""

    check: str
    message: str


@dataclass(frozen=True)
class Sent:
    """What a judge sees: the step, its observation (request as sent, model before, answer) and the runtime;
    ``request`` the journal entry of the request, ``content`` the answer's bytes."""

    witness: str
    step: Step
    observation: Observation
    runtime: CheckRuntime
    case: Any  # what the check bodies take as ``case`` (finds ``runtime`` through contracts.runtime)
    content_type: str = ""  # of the answer
    request: reference.Step | None = None
    content: bytes = b""


#: A judge returns one Finding per check that failed on the answer (empty: nothing wrong).
Judge = Callable[[Sent], Sequence[Finding]]

#: The undecorated ``(obs, case)`` bodies of the domain checks (functools.wraps keeps them as __wrapped__).
_BODIES: Mapping[str, Callable[[Observation, Any], bool | None]] = MappingProxyType(
    {name: inspect.unwrap(getattr(checks, name)) for name in DOMAIN_CHECKS})


def domain_checks(sent: Sent) -> list[Finding]:
    """Every domain check on the answer, as schemathesis would call it (same bodies, same names);
    ``failed_request_changes_nothing`` on the READ_BACK_WITNESSES only."""
    findings = []
    for name, body in _BODIES.items():
        if name == "failed_request_changes_nothing" and sent.witness not in READ_BACK_WITNESSES:
            continue
        try:
            body(sent.observation, sent.case)
        except AssertionError as exc:
            findings.append(Finding(name, str(exc)))
    return findings


def server_errors(sent: Sent) -> list[Finding]:
    """``not_a_server_error``: no answer is a 5xx."""
    x = sent.observation.exchange
    if x.status < 500:
        return []
    return [Finding("not_a_server_error", f"[not_a_server_error] {x.status} for {x.method} {x.url[:200]}\n"
                                          f"  received: {str(x.response)[:300]}")]


def expected_acceptance(sent: Sent) -> list[Finding]:
    """``positive_data_acceptance``: a valid call the journey model predicts accepted got a 4xx."""
    x = sent.observation.exchange
    if sent.step.expect_status != 200 or not 400 <= x.status < 500:
        return []
    return [Finding("positive_data_acceptance",
                    f"[positive_data_acceptance] a valid call ({sent.step.step}) was refused\n"
                    f"  sent:     {x.method} {x.url[:200]} {x.raw_body[:300]!r}\n  expected: 200\n"
                    f"  received: {x.status} {str(x.response)[:300]}")]


@functools.cache
def _response_validator(operation_id: str, status: int) -> Any:
    return jsonschema_rs.validator_for(response_schema(operation_id, status))


def response_conformance(sent: Sent) -> list[Finding]:
    """The answer as the contract documents it (what schemathesis' checks of the same names verify):
    ``status_code_conformance`` a documented status, ``content_type_conformance`` JSON,
    ``response_schema_conformance`` a body valid against the schema of that status."""
    x = sent.observation.exchange
    if x.operation is None:
        return []
    where = f"{x.method} {x.url[:200]} -> {x.status}"
    if str(x.status) not in operation(x.operation)[2]["responses"]:
        return [Finding("status_code_conformance", f"[status_code_conformance] undocumented status: {where}")]
    content_type = sent.content_type.split(";")[0].strip().lower()
    if content_type != "application/json":
        return [Finding("content_type_conformance",
                        f"[content_type_conformance] {content_type!r} instead of application/json: {where}")]
    errors = list(_response_validator(x.operation, x.status).iter_errors(x.response))
    if errors:
        shown = "; ".join(f"{'/'.join(map(str, e.instance_path))}: {e.message[:160]}" for e in errors[:3])
        return [Finding("response_schema_conformance", f"[response_schema_conformance] {where}: {shown}")]
    return []


DEFAULT_JUDGES: tuple[Judge, ...] = (domain_checks, server_errors, expected_acceptance, response_conformance)


def reference_judge(oracle: reference.OracleRuntime) -> Judge:
    """``matches_reference`` on the witness phase: each witness request goes again, byte for byte with its own
    headers, to ``oracle``'s reference server and the two answers are compared as in the schemathesis phases
    (``OracleRuntime.mirror``). The ``PUT {}`` read-backs of failed_request_changes_nothing reach the target only:
    they change nothing a later witness step reads (an entity a refused body did not create is never sent again)."""

    def matches_reference(sent: Sent) -> list[Finding]:
        x = sent.observation.exchange
        if sent.request is None:
            return []
        answer = reference.Answer.of(x.status, {"content-type": sent.content_type}, sent.content)
        text = oracle.mirror(sent.request, x.headers, answer)
        return [Finding("matches_reference", text)] if text else []

    return matches_reference


# -- running ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class WitnessFailure:
    """A check that failed on a witness answer; the request is what went on the wire (for a curl line)."""

    check: str
    witness: str
    step: str
    message: str
    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    request_number: int  # 1-based position of the failing request in the phase
    case_id: str = ""  # the request's ``case_id`` in ``WitnessResult.journal``


@dataclass(frozen=True)
class WitnessResult:
    """The phase: requests sent (probes included), per-witness (requests, failed requests), failed answers per
    check, failures (one per check and witness), and an error when the target could not be tested."""

    requests: int
    seconds: float
    witnesses: dict[str, tuple[int, int]]
    checks: Counter[str]
    failures: tuple[WitnessFailure, ...]
    first_failure_request: int | None = None
    seconds_to_first_failure: float | None = None
    error: str = ""
    steps: int = 0  # PUTs the phase was to send (probes not included)
    stopped_answering: bool = False  # the error is a timeout after the target had answered: its failure
    journal: tuple[reference.Step, ...] = ()  # every PUT sent, in order (read-back probes not included)

    @property
    def failed_checks(self) -> tuple[str, ...]:
        return tuple(sorted({f.check for f in self.failures}))


@dataclass
class _Schema:
    """Stands for the schema object the checks find their runtime by (``case.operation.schema``); the
    runtime is attached to it as to schemathesis' schema (``contracts._schemathesis.attach``)."""

    token: str


@dataclass(frozen=True)
class _Operation:
    schema: _Schema


@dataclass(frozen=True)
class _Case:
    operation: _Operation
    id: str = ""  # what ``contracts._schemathesis.case_key`` names a case by (its invalid-body tag)


def _case_for(runtime: CheckRuntime) -> _Case:
    """A case-shaped object whose schema resolves to ``runtime`` in ``contracts.runtime.runtime_for``."""
    schema = _Schema(uuid.uuid4().hex)
    attach_runtime(schema, runtime)
    return _Case(_Operation(schema))


def _probed(sent: Sent) -> int:
    """1 when ``failed_request_changes_nothing`` sent its ``PUT {}`` probe for this answer (not skipped)."""
    x = sent.observation.exchange
    if sent.witness not in READ_BACK_WITNESSES or x.accepted or sent.observation.existed is None or not sent.observation.strict_order or x.entity_id is None:
        return 0
    return 1


def fresh_prefix() -> str:
    """A new id prefix (upper case included, so a server that folds case shows it)."""
    return "W" + uuid.uuid4().hex[:12].upper()


def run_witnesses(base_url: str, *, credentials: Credentials | None = None, timeout: float = 10.0,
                  judges: Sequence[Judge] = DEFAULT_JUDGES, names: Sequence[str] | None = None,
                  stop_at_first_failure: bool = False, prefix: str | None = None,
                  only: Sequence[str] = (), exclude: Sequence[str] = ()) -> WitnessResult:
    """Send the witnesses (all, or ``names`` in table order) to ``base_url`` and judge every answer.

    Never raises for the target's behaviour: a transport error or timeout ends the phase with ``error``
    set (the harness could not test the target). ``stop_at_first_failure`` stops after the first failing
    answer. Ids start with ``prefix`` (default: ``fresh_prefix()``), so the model knows them absent.
    ``only`` / ``exclude``: check names whose findings count (empty ``only``: all), like ``--checks``.
    """
    chosen = [w for w in WITNESSES.values() if names is None or w.name in names]
    prefix = prefix or fresh_prefix()
    runtime = CheckRuntime(model=Model(fresh=True, strict_order=True), credentials=credentials,
                           probe_timeout=timeout)
    case = _case_for(runtime)
    started = time.monotonic()
    requests = 0
    per_witness: dict[str, tuple[int, int]] = {}
    per_check: Counter[str] = Counter()
    failures: dict[tuple[str, str], WitnessFailure] = {}
    first: tuple[int, float] | None = None
    journal: list[reference.Step] = []
    steps = [(w.name, step) for n, w in enumerate(chosen) for step in w.build(f"{prefix}{n}")]
    root = base_url.rstrip("/")
    with httpx.Client(timeout=httpx.Timeout(timeout)) as client:
        for index, (witness, step) in enumerate(steps):
            step_case = dataclasses.replace(case, id=f"{prefix}-{index}")
            if step.invalid is not None:
                runtime.tag(step_case, step.invalid)
            put = build_put(step.operation, step.entity_id, step.body, creds=credentials,
                            content_type=step.invalid.content_type if step.invalid else "application/json")
            url = root + put.path
            try:
                answer = client.put(url, content=put.body, headers=put.headers)
            except httpx.TimeoutException as exc:
                if not requests:
                    return _result(requests, started, per_witness, per_check, failures, first, len(steps), journal,
                                   f"{type(exc).__name__}, timed out after {timeout:g} s at request 1")
                return _result(requests, started, per_witness, per_check, failures, first, len(steps), journal,
                               f"the target stopped answering: {type(exc).__name__}, timed out after {timeout:g} s "
                               f"at request {requests + 1} (PUT {put.path[:120]}, witness phase); {requests} "
                               f"requests were answered before", stopped=True)
            except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
                if not requests:  # a broken answer after answered ones is the target's failure, as in st run
                    return _result(requests, started, per_witness, per_check, failures, first, len(steps), journal,
                                   f"witness {witness} ({step.step}): {type(exc).__name__}: {exc}")
                return _result(requests, started, per_witness, per_check, failures, first, len(steps), journal,
                               f"the target stopped answering: {type(exc).__name__}, broke the response "
                               f"({' '.join(str(exc).split())[:120]}) at request {requests + 1} (PUT "
                               f"{put.path[:120]}, witness phase); {requests} requests were answered before",
                               stopped=True)
            except httpx.HTTPError as exc:
                return _result(requests, started, per_witness, per_check, failures, first, len(steps), journal,
                               f"witness {witness} ({step.step}): {type(exc).__name__}: {exc}")
            requests += 1
            try:
                parsed = answer.json() if answer.content else None
            except ValueError:
                parsed = None
            obs = runtime.model.observe(Exchange.of("PUT", url, put.body, put.headers, answer.status_code, parsed))
            content_type = answer.headers.get("content-type", "")
            request = reference.Step(requests, "PUT", put.path, put.headers.get("Content-Type", ""), put.body,
                                     reference.touched("PUT", url, put.body, (reference.Answer(
                                         answer.status_code, content_type, parsed),)), case_id=step_case.id)
            journal.append(request)
            sent = Sent(witness, step, obs, runtime, step_case, content_type, request, answer.content)
            number = requests
            requests += _probed(sent)
            findings = [f for judge in judges for f in judge(sent)
                        if (not only or f.check in only) and f.check not in exclude]
            per_check.update(f.check for f in findings)
            sent_count, failed_count = per_witness.get(witness, (0, 0))
            per_witness[witness] = (sent_count + 1 + _probed(sent), failed_count + bool(findings))
            for finding in findings:
                failures.setdefault((finding.check, witness), WitnessFailure(
                    finding.check, witness, step.step, finding.message, "PUT", url, put.headers, put.body, number,
                    step_case.id))
            if findings and first is None:
                first = (number, time.monotonic() - started)
            if findings and stop_at_first_failure:
                break
    return _result(requests, started, per_witness, per_check, failures, first, len(steps), journal, "")


def _result(requests: int, started: float, per_witness: dict[str, tuple[int, int]], per_check: Counter[str],
            failures: dict[tuple[str, str], WitnessFailure], first: tuple[int, float] | None, steps: int,
            journal: list[reference.Step], error: str, *, stopped: bool = False) -> WitnessResult:
    return WitnessResult(requests, time.monotonic() - started, per_witness, per_check, tuple(failures.values()),
                         first[0] if first else None, first[1] if first else None, error, steps, stopped,
                         tuple(journal))


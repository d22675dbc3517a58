"""Which domain rules judge which API: the one seam where the rules of an API are chosen.

Every rule is declared once, as a ``contracts.domain._rule.Rule`` in a family module. :data:`RULES_BY_API`
says which of them judge each API of ``contracts.spec.API_NAMES``: both v1 revisions are judged by every rule
of ``contracts.domain.RULES`` (the seed's rules; the final revision's differences, D16-D19, are the rules'
own to know: each judges what its decisions say); v2 is judged by the v2 rules (``contracts.domain.v2_*``,
gathered in ``contracts.v2_witness.V2_RULES``: states, totals and updateCount, dry, codes, effects and
rollbacks, responseContent, profiles). A rule plugs in as a declaration: its ``Rule`` in a family module,
listed under its API here; ``contracts.hooks`` registers the rules of every API (:func:`all_rules`) and each
judges only the cases of a run whose API lists it (:func:`rules_for`). :func:`domain_checks` is the one home
of "the domain check names of an API" (the ``--checks`` values a run on it takes besides the built-ins), and
:func:`is_domain_check` of "is this check a domain rule" (of any API: the reports' per-check tables).
:func:`witness_table` and :func:`witness_judges` give each API's witness phase.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from urllib.parse import parse_qsl, urlsplit

from talon_harness.contracts import judges, sequences
from talon_harness.contracts.domain import RULES, Rule
from talon_harness.contracts.model import Observation
from talon_harness.contracts.v2_witness import V2_JUDGES, V2_RULES, V2_WITNESSES
from talon_harness.contracts.violation import Violation
from talon_harness.strategies.wire import SESSION

__all__ = ["RULES_BY_API", "V2_DECISION_TITLES", "all_rules", "apis_of_rule", "domain_checks", "is_domain_check",
           "revision_difference", "rules_for", "v2_domain_refusal", "witness_judges", "witness_table"]

#: The domain rules of each API, by rule name.
RULES_BY_API: Mapping[str, Mapping[str, Rule]] = MappingProxyType({
    "v1": RULES,
    "v1-2021": RULES,
    "v2": V2_RULES,
})


#: D19: the final revision's longest coupon or referral code.
MAX_CODE_2021 = 100


def revision_difference(api: str, obs: Observation) -> str | None:
    """The decision under which revision ``api`` answers ``obs``'s request otherwise than the seed's revision,
    whose answers the v1 rules predict (None: it answers the same, or ``api`` is the seed's): on "v1-2021",
    D17 a ``dry`` query parameter, D18 ``state: open`` sent for a session the model knows closed or cancelled,
    D16 a cart item with an ``adjustment``, D19 a code over 100 characters or ``identifiers`` sent. The v1
    rules then have no verdict on that exchange (``contracts.hooks``); what the final revision does instead
    is checked by the tests of D16-D19 (tests/refserver/test_v1_2021.py)."""
    if api != "v1-2021":
        return None
    x = obs.exchange
    if "dry" in {name for name, _ in parse_qsl(urlsplit(x.url).query, keep_blank_values=True)}:
        return "D17"
    if not isinstance(x.body, dict):
        return None
    before = obs.before_session
    if (x.operation == SESSION and x.body.get("state") == "open" and before is not None
            and before.state in ("closed", "cancelled")):
        return "D18"
    items = x.body.get("cartItems")
    if isinstance(items, list) and any(isinstance(i, dict) and i.get("adjustment") is not None for i in items):
        return "D16"
    codes = [x.body.get(k) for k in ("coupon", "referral")]
    if any(isinstance(c, str) and len(c) > MAX_CODE_2021 for c in codes) or "identifiers" in x.body:
        return "D19"
    return None


def rules_for(api: str) -> Mapping[str, Rule]:
    """The domain rules that judge ``api`` (KeyError for an unknown API)."""
    return RULES_BY_API[api]


def all_rules() -> Mapping[str, Rule]:
    """Every rule of every API, by name (what ``contracts.hooks`` registers with schemathesis)."""
    return MappingProxyType({name: rule for rules in RULES_BY_API.values() for name, rule in rules.items()})


def domain_checks(api: str) -> tuple[str, ...]:
    """The names of ``api``'s domain rules, in report order: the schemathesis check ids and the domain
    ``--checks`` values of a run on ``api`` (KeyError for an unknown API)."""
    return tuple(rules_for(api))


def is_domain_check(name: str) -> bool:
    """Whether check ``name`` is a domain rule of some API (rather than a built-in or the oracle's check)."""
    return name in all_rules()


def apis_of_rule(name: str) -> tuple[str, ...]:
    """The APIs whose domain rules include ``name``, in ``RULES_BY_API`` order (empty: no API's rule)."""
    return tuple(api for api, rules in RULES_BY_API.items() if name in rules)


#: The titles of v2 refusals that a decision, not integration-v2.yaml's schemas, demands of a schema-valid
#: request (the SDK's schemas are open and state their formats in prose): D20 ids and D33 formats ("Invalid
#: id", "Invalid value"), D21 closed objects, depth and a cart item's price ("Required"), D22/D23 state moves, D29 ``now`` (only with ``dry``,
#: in the future), D30 ``dry``/``responseContent`` only with ``runRuleEngine``, D31 totals out of range,
#: D33 limits.
V2_DECISION_TITLES: frozenset[str] = frozenset({
    "Invalid id", "Invalid value", "Required", "Unknown field", "Nested too deeply", "Illegal state transition",
    "Session closed", "Requires dry", "Not in the future", "Requires runRuleEngine", "Out of range",
    "Too many items", "Too many units", "Too long",
})


def v2_domain_refusal(status: int, body: object) -> bool:
    """A v2 400 to a schema-valid request that the decisions explain (``positive_data_acceptance`` must not
    count it): every error's title is one of :data:`V2_DECISION_TITLES`, or is D21's null price. Until v2 has a model of its own
    (its rules plug in above) this takes the server's word on which decision applies, as v1's
    ``contracts.checks.domain_refusal`` does where its model cannot tell."""
    errors = body.get("errors") if isinstance(body, dict) else None
    if status != 400 or not isinstance(errors, list) or not errors:
        return False
    return all(isinstance(e, dict) and (e.get("title") in V2_DECISION_TITLES or _null_price(e)) for e in errors)


def _null_price(error: dict[str, object]) -> bool:
    """D21: a cart item needs a price, so a null one (the SDK's ``Optional``) is an "Invalid type" at it."""
    source = error.get("source")
    pointer = source.get("pointer") if isinstance(source, dict) else None
    return error.get("title") == "Invalid type" and isinstance(pointer, str) and pointer.endswith("/price")


def witness_table(api: str) -> Mapping[str, sequences.Witness]:
    """The witnesses of ``api``'s phase: v1's for both v1 revisions, ``V2_WITNESSES`` for v2."""
    return V2_WITNESSES if api == "v2" else sequences.WITNESSES


def witness_judges(api: str) -> tuple[judges.Judge, ...]:
    """The witness phase's judges for ``api``: v2's (``contracts.v2_witness.V2_JUDGES``); for a v1 revision
    ``judges.DEFAULT_JUDGES``, the answers judged against that revision's contract (the final one adds
    ``identifiers`` to every session, D16), and the v1 rules silent on a step that revision answers otherwise by
    decision (:func:`revision_difference`)."""
    if api == "v1":
        return judges.DEFAULT_JUDGES
    if api == "v2":
        return V2_JUDGES

    def response_conformance(sent: judges.Sent) -> list[Violation]:
        return judges.response_conformance(sent, api)

    def domain_rules(sent: judges.Sent) -> list[Violation]:
        return [] if revision_difference(api, sent.observation) else judges.domain_rules(sent)

    swap: dict[judges.Judge, judges.Judge] = {judges.response_conformance: response_conformance,
                                              judges.domain_rules: domain_rules}
    return tuple(swap.get(j, j) for j in judges.DEFAULT_JUDGES)

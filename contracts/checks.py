"""The domain's word on refusals of valid data (v1).

The rules themselves are declared once in :mod:`contracts.domain` (plain functions of an
:class:`~contracts.model.Observation`); which rules judge which API, and so each API's domain check names, is
``contracts.apis`` (``domain_checks(api)``); ``contracts.hooks`` is the only module that registers them with
schemathesis, one check per rule, named after it (the name is also the ``--checks`` id). Importing this
module registers nothing.

:func:`domain_refusal` is the domain's word on schemathesis' own ``positive_data_acceptance``: a
schema-valid body that the state rules rightly refuse (``contracts.hooks.filter_failure`` uses it).
"""

from __future__ import annotations

from talon_harness.contracts import rules
from talon_harness.contracts.model import Observation
from talon_harness.strategies.ids import valid_id
from talon_harness.strategies.wire import DOMAIN_ERROR_TITLES

__all__ = ["domain_refusal"]


def domain_refusal(obs: Observation) -> bool:
    """A 400 to a schema-valid request that the domain explains, so ``positive_data_acceptance`` must not
    count it: a tagged ``strategies.invalid`` body (``obs.invalid``: the generation view of the contract is
    looser at depth than the contract, so schemathesis may take it for valid), an id outside D12 (e.g. an
    anonymous session's ``profileId: ""`` followed as a link), or a refusal titled by a domain rule (D5
    transition or final state, D6 totalSales overflow) that the model agrees with, or cannot judge."""
    if obs.exchange.status != 400:
        return False
    if obs.invalid is not None:
        return True
    if obs.exchange.entity_id is not None and not valid_id(obs.exchange.entity_id):
        return True
    body = obs.exchange.response
    errors = body.get("errors") if isinstance(body, dict) else None
    titles = {e.get("title") for e in errors or [] if isinstance(e, dict)} if isinstance(errors, list) else set()
    if not titles or not titles <= DOMAIN_ERROR_TITLES:
        return False
    if obs.before_session is None or rules.illegal_reason(obs) is not None:
        return True  # the model cannot tell (take the server's word), or agrees
    delta = rules.bookkeeping_delta(obs)
    return "Out of range" in titles and (delta is None or delta[1] is None)

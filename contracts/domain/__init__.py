"""The registry of domain rules: every rule declared once (``contracts.domain._rule.Rule``), by family.

A family module (``identity``, ``sessions``, ``stored``, ``events``, ``effects``, ``errors``) holds plain
functions ``(Observation) -> Violation | NOT_APPLICABLE | None`` and one ``RULES`` tuple declaring each: name,
decisions (``Dn`` of ``contracts/DECISIONS.md``), title, function, the witnesses that exercise it and the
catalogue faults that break it. Importing this registers nothing anywhere: the schemathesis adapter
(``contracts.hooks``), the witness phase (``contracts.judges``) and the proxy's judge (``contracts.traffic``)
all call :func:`judge` / ``Rule.judge`` on observations they build themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from talon_harness.contracts.domain import effects, errors, events, identity, sessions, stored
from talon_harness.contracts.domain._rule import NOT_APPLICABLE, NotApplicable, Outcome, Rule
from talon_harness.contracts.model import Observation
from talon_harness.contracts.violation import Violation

__all__ = ["NOT_APPLICABLE", "RULES", "NotApplicable", "Outcome", "Rule", "judge"]

#: Every v1 domain rule by name, in report order (both v1 revisions; which rules judge which API, and so the
#: ``--checks`` names of each, is ``contracts.apis``': ``domain_checks(api)``).
RULES: Mapping[str, Rule] = MappingProxyType({r.name: r for family in (identity, sessions, stored, events,
                                                                           effects, errors) for r in family.RULES})


def judge(obs: Observation, names: Iterable[str] | None = None) -> list[Violation]:
    """The violations of every rule (or of ``names``) on ``obs``; not applicable and passed give nothing."""
    chosen = RULES.values() if names is None else (RULES[n] for n in names)
    return [v for r in chosen if isinstance(v := r.judge(obs), Violation)]

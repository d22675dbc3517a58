"""What every rule family module declares with: :class:`Rule`, the skip marker and the evidence helper."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, Final

from talon_harness.contracts.model import Observation
from talon_harness.contracts.violation import Violation, short
from talon_harness.strategies.wire import PROFILE

__all__ = ["NOT_APPLICABLE", "NotApplicable", "Outcome", "Rule", "fail", "ok"]


class NotApplicable:
    """A rule's answer when the model cannot know the outcome (reported as "not applicable", not passed)."""

    def __repr__(self) -> str:
        return "NOT_APPLICABLE"


NOT_APPLICABLE: Final = NotApplicable()
#: A rule's verdict on one observation: broken, not applicable, or (None) passed.
Outcome = Violation | NotApplicable | None


@dataclass(frozen=True)
class Rule:
    """One domain rule, declared once.

    ``check``: a plain function of the observation (no schemathesis, no I/O but ``obs.read_back``);
    ``decisions``: the ``Dn`` of ``contracts/DECISIONS.md`` it enforces; ``witnesses``: claim -> the
    ``contracts.witness.WITNESSES`` that exercise it; ``faults``: the ``refserver.faults`` catalogue faults
    that break it; ``needs``: "" (judged from an exchange alone), "read_back" (``obs.read_back`` must be set)
    or "tag" (``obs.invalid`` must be set): the proxy judges only rules that need nothing.
    """

    name: str
    decisions: tuple[str, ...]
    title: str
    check: Callable[[Observation], Outcome]
    witnesses: Mapping[str, tuple[str, ...]]
    faults: tuple[str, ...]
    needs: str = ""

    def __post_init__(self) -> None:
        if not self.decisions or not all(re.fullmatch(r"D\d+", d) for d in self.decisions):
            raise ValueError(f"rule {self.name}: decisions must be Dn ids, got {self.decisions}")
        object.__setattr__(self, "witnesses", MappingProxyType(dict(self.witnesses)))

    @property
    def decision(self) -> str:
        return "/".join(self.decisions)

    def judge(self, obs: Observation) -> Outcome:
        """``check(obs)``, its violation stamped with this rule's name and decision."""
        outcome = self.check(obs)
        if isinstance(outcome, Violation):
            return replace(outcome, rule=self.name, decision=self.decision)
        return outcome


def fail(obs: Observation, summary: str, expected: Any, received: Any) -> Violation:
    """The violation of the rule being judged (``Rule.judge`` stamps its name and decision) on ``obs``:
    what was sent (with what the model held before), what was expected, what came back."""
    x = obs.exchange
    before = ""
    if obs.before_session is not None:
        b = obs.before_session
        before = f" (stored before: state={b.state}, total={b.total!r}, profileId={b.profile_id!r})"
    elif obs.before_profile is not None and x.operation == PROFILE:
        before = f" (stored before: attributes={short(obs.before_profile.attributes, 120)})"
    sent = f"{x.method} {short(x.url, 200)} {short(x.raw_body)}{before}"
    return Violation("", "", summary, sent, short(expected), f"{x.status} {short(received)}", x.method, x.url)


def ok(obs: Observation, operation: str | None = None) -> bool:
    """An accepted call with a JSON answer for a known path (of ``operation``, when given)."""
    x = obs.exchange
    return x.accepted and isinstance(x.response, dict) and x.entity_id is not None and (
        operation is None or x.operation == operation)

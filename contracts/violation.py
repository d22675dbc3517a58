"""A broken rule as data: :class:`Violation` travels unchanged from the rule that found it to every report.

A domain rule (``contracts.domain``) returns one; the schemathesis adapter (``contracts.hooks``) raises it
inside :class:`ViolationError` (schemathesis counts checks by AssertionError) and writes it, with the case
id that reproduces it, as one JSON line to :data:`contracts.settings.VIOLATIONS_FILE` beside the run's
journal; the parent (``harness._check_report``) reads those records back with :meth:`Violation.from_json`,
never schemathesis' message text. The witness phase and the proxy's judge get the same objects. No
schemathesis import here.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Violation", "ViolationError", "read_records", "short"]


def short(value: Any, limit: int = 300) -> str:
    """``value`` as one readable string (bytes decoded, JSON for the rest), cut at ``limit`` characters."""
    text = value.decode("utf-8", "backslashreplace") if isinstance(value, bytes) else (
        value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str))
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


@dataclass(frozen=True)
class Violation:
    """One broken rule on one answer.

    ``rule``: the check id; ``decision``: the ``Dn`` it enforces ("D5/D6" when several, "" for a built-in
    schemathesis check); ``summary``: one line; ``sent``/``expected``/``received``: the evidence, as text;
    ``method``/``url``/``case_id``: what reproduces it (the request that got the answer, and the id of the case
    or witness step in the run's journal, from which ``harness.regressions`` rebuilds the sequence).
    """

    rule: str
    decision: str
    summary: str
    sent: str = ""
    expected: str = ""
    received: str = ""
    method: str = ""
    url: str = ""
    case_id: str = ""

    def text(self) -> str:
        """The multi-line form every report prints: ``[rule] summary`` then sent/expected/received."""
        lines = [f"[{self.rule}] {self.summary}"]
        lines += [f"  {name + ':':<9} {value}" for name, value in (
            ("sent", self.sent), ("expected", self.expected), ("received", self.received)) if value]
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> Violation:
        """The record :meth:`to_json` wrote; ValueError when ``data`` is not one."""
        if not isinstance(data, dict) or not all(isinstance(data.get(f.name, ""), str) for f in dataclasses.fields(cls)):
            raise ValueError(f"not a Violation record: {str(data)[:200]}")
        try:
            return cls(**{f.name: data[f.name] for f in dataclasses.fields(cls) if f.name in data})
        except TypeError as exc:
            raise ValueError(f"not a Violation record: {exc}") from None


class ViolationError(AssertionError):
    """How a violation reaches schemathesis (its checks fail by AssertionError); ``str()`` is the text."""

    def __init__(self, violation: Violation) -> None:
        super().__init__(violation.text())
        self.violation = violation


def read_records(path: Path) -> dict[tuple[str, str], Violation]:
    """The violation records of a run's records file by (case id, rule), the first of each; {} without the
    file. A line that is not a record (cut short by a killed child) is skipped."""
    found: dict[tuple[str, str], Violation] = {}
    if not path.exists():
        return found
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            violation = Violation.from_json(json.loads(line))
        except ValueError:
            continue
        found.setdefault((violation.case_id, violation.rule), violation)
    return found

"""CheckSettings: what one ``st run`` child needs from ``harness.check.run_check``, crossing once.

``run_check`` starts schemathesis' own CLI, whose hooks (``contracts.hooks``) cannot take options of ours,
so the settings travel as one JSON value in the environment variable :data:`SETTINGS_ENV`
(:meth:`CheckSettings.to_env`), read back into the same dataclass by :meth:`CheckSettings.from_env`.
The credentials travel inside it (``credentials``; its repr and str redact every key, as
``strategies.wire.Credentials`` does), never in argv: one variable, one document, one parser. Every default
is written once, in the field list: adding a setting means a field here and the line in
``harness._check_child.child_env`` that fills it.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass

from talon_harness.strategies.wire import Credentials

__all__ = ["SETTINGS_ENV", "VIOLATIONS_FILE", "CheckSettings"]

SETTINGS_ENV = "TALON_HARNESS_CHECK"
#: The file beside the journal that gets one ``contracts.violation.Violation`` record (a JSON line) per failed
#: domain check of the ``st run`` child (``contracts.hooks``); ``harness._check_report`` reads it back.
VIOLATIONS_FILE = "violations.ndjson"


@dataclass(frozen=True, kw_only=True)
class CheckSettings:
    """One check run, as its schemathesis child sees it.

    ``fresh``: the target started empty (ids the model has not seen are known absent). ``workers``: more
    than 1 turns off order-dependent predictions. ``seed``: the case mix's seed. ``journal``: a file that
    gets one JSON line per exchange (``harness.regressions`` rebuilds sequences from it). ``oracle_url``:
    the reference server of ``--oracle`` (None: no oracle); ``oracle_exclude``: fields left uncompared;
    ``oracle_effects``: effects and discounts are compared too (both servers run the same rule set).
    ``api``: the API under test (``contracts.spec.API_NAMES``); it selects the domain rules that judge
    (``contracts.apis.rules_for``) and whether the v1 case mix is sent. ``credentials``: how the child signs
    its requests (None: unsigned); the repr shows ``[REDACTED]`` for every key.
    """

    fresh: bool = False
    workers: int = 1
    seed: int = 0
    journal: str | None = None
    oracle_url: str | None = None
    oracle_exclude: tuple[str, ...] = ()
    oracle_effects: bool = False
    api: str = "v1"
    credentials: Credentials | None = None

    @property
    def violations(self) -> str | None:
        """Where the child writes its violation records: :data:`VIOLATIONS_FILE` beside the journal (None
        without a journal)."""
        return None if self.journal is None else os.path.join(os.path.dirname(self.journal), VIOLATIONS_FILE)

    @property
    def strict_order(self) -> bool:
        """One worker: requests reach the target in the order they were sent."""
        return self.workers <= 1

    def to_env(self) -> dict[str, str]:
        """The environment entry that carries these settings (credentials included) to the child; its value
        holds the keys in clear, so it goes into a child's environment only, never into argv or a report."""
        return {SETTINGS_ENV: json.dumps(dataclasses.asdict(self))}

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> CheckSettings:
        """The settings :meth:`to_env` wrote (default: ``os.environ``); the defaults when there are none.

        Raises ValueError when the value is not what :meth:`to_env` writes.
        """
        raw = (os.environ if environ is None else environ).get(SETTINGS_ENV)
        if not raw:
            return cls()
        try:
            data = json.loads(raw)
            data["oracle_exclude"] = tuple(data.get("oracle_exclude", ()))
            if data.get("credentials") is not None:
                data["credentials"] = Credentials(**data["credentials"])
            return cls(**data)
        except (ValueError, TypeError, AttributeError) as exc:
            raise ValueError(f"{SETTINGS_ENV} is not a CheckSettings JSON object: {exc}") from None

"""The witness phase on disk: ``witness.json`` beside schemathesis' reports, and its ``--baseline`` file."""

from __future__ import annotations

import json
from pathlib import Path

from talon_harness.contracts.witness import WitnessResult
from talon_harness.harness._check_secrets import curl_for
from talon_harness.harness.check_config import CheckConfig
from talon_harness.strategies.wire import Credentials, redact


def write_witness(path: Path, witness: WitnessResult, creds: Credentials | None) -> None:
    """The witness phase as JSON beside schemathesis' reports (secrets redacted). ``not_run``: the witnesses
    ``--max-time`` ended the phase before (``planned`` in all)."""
    payload = {"requests": witness.requests, "puts": witness.steps, "seconds": round(witness.seconds, 3),
               "error": witness.error, "planned": witness.planned, "not_run": list(witness.not_run),
               "witnesses": {k: {"requests": r, "failed_requests": f}
                                                     for k, (r, f) in witness.witnesses.items()},
               "failures": [{"check": f.check, "witness": f.witness, "step": f.step, "request": f.request_number,
                             "message": f.message, "curl": curl_for(f.method, f.url, f.headers, f.body, creds)}
                            for f in witness.failures]}
    path.write_text(redact(json.dumps(payload, indent=1, ensure_ascii=False), creds), encoding="utf-8")


def _witness_baseline(baseline: Path) -> Path:
    return baseline.with_name(baseline.name + ".witness.json")


def new_witness_failures(config: CheckConfig, witness: WitnessResult) -> list[str]:
    """Witness failures not accepted by ``--baseline`` (a ``<baseline>.witness.json`` list of
    ``check/witness/step`` beside schemathesis' file; ``--baseline-update`` rewrites it)."""
    keys = sorted({f"{f.check}/{f.witness}/{f.step}" for f in witness.failures})
    if config.baseline is None:
        return keys
    path = _witness_baseline(Path(config.baseline).resolve())
    if config.baseline_update:
        path.write_text(json.dumps(keys, indent=1) + "\n", encoding="utf-8")
        return []
    try:
        known = set(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        known = set()
    return [k for k in keys if k not in known]

"""The one place that handles the coverage blow-up of D13's depth chain.

The contract spells "attribute values nest at most 10 levels" (D13) as a ten-level ``anyOf`` chain
(``AttributeValueDepth10`` .. ``Depth1``). Schemathesis' coverage phase enumerates every nested
permutation of it ("Object with additional property: Single-item array: ..."): tens of thousands of
scenarios, 20 s instead of 3 s for the same 225 cases sent. Two tools, both here:

- :func:`generation_contract`, the contract as schemathesis should read it: identical except that the
  chain stops two levels down (``AttributeValueDepth8`` becomes any JSON value). Generation never sees the
  deep permutations, and response validation only gets looser. ``harness.check`` runs on it.
- :func:`coverage_case_wanted`, for a run on the contract as written (``harness.check`` with several
  workers: schemathesis 4.32.5's coverage phase then fails on the view with an internal Hypothesis
  error): it drops coverage scenarios nested deeper than two levels after they are generated. On the
  view it never drops anything.

The depth limit itself is exercised by our edge bodies (10 levels deep) and ``strategies.invalid``
(11 and more), which ``contracts.casemix`` and the hooks send.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from talon_harness.contracts import _schemathesis as st_adapter
from talon_harness.contracts.spec import load_contract

__all__ = ["MAX_COVERAGE_NESTING", "coverage_case_wanted", "generation_contract"]

#: How many levels of nesting a coverage scenario may describe (the view spells out exactly these).
MAX_COVERAGE_NESTING = 2
_CUT = f"AttributeValueDepth{10 - MAX_COVERAGE_NESTING}"


def generation_contract(path: Path, api: str = "v1") -> Path:
    """Write the generation view of ``api``'s contract (see the module docstring; a contract without D13's
    chain, v2's, is written as it is) to ``path``; return ``path``."""
    contract = load_contract(api)
    if _CUT in contract["components"]["schemas"]:
        contract["components"]["schemas"][_CUT] = {
            "description": "talon-harness generation view: any JSON value below the second level (see D13)."}
    path.write_text(yaml.safe_dump(contract, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def coverage_case_wanted(case: Any) -> bool:
    """False for a coverage scenario nested deeper than :data:`MAX_COVERAGE_NESTING` levels (each level is
    one ``"<scenario>: "`` prefix of its description); True for every other case."""
    return st_adapter.coverage_description(case).count(": ") <= MAX_COVERAGE_NESTING

"""Does another spelling of D13's depth chain stop schemathesis' coverage phase from enumerating it?

The contract spells "attribute values nest at most 10 levels" as the chain `AttributeValueDepth10` ..
`Depth1`, each level an `anyOf` of a scalar, an array of the next level and an object of it. This bench
writes the same limit as one schema per level (`type: [string, number, boolean, null, array, object]` with
`items` and `additionalProperties` both the next level: JSON Schema applies each keyword to its own type
only, so the two accept exactly the same values; checked here on bodies 0-12 levels deep), then runs a
coverage-only plain `st run` on each spelling against a fresh reference server and counts its cases.

    python bench/coverage_encoding.py [--max-time 90] [--seed 1]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import jsonschema_rs
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import machine, write_results
from bench.check_speed import CONTRACT, _phases
from talon_harness.refserver import ServerProcess

_LEVEL = re.compile(r"    AttributeValueDepth(\d+):\n      anyOf:\n(?:        - .*\n){3}")


def merged_contract(text: str) -> str:
    """The contract with each level of the depth chain as one multi-type schema instead of an anyOf."""
    def level(match: re.Match[str]) -> str:
        n = int(match.group(1))
        child = f"AttributeValueDepth{n - 1}" if n > 1 else "AttributeScalar"
        ref = f"{{$ref: '#/components/schemas/{child}'}}"
        return (f"    AttributeValueDepth{n}:\n      type: [string, number, boolean, 'null', array, object]\n"
                f"      items: {ref}\n      additionalProperties: {ref}\n")
    merged, levels = _LEVEL.subn(level, text)
    if levels != 10:
        raise SystemExit(f"expected the 10 levels of the depth chain in {CONTRACT}, found {levels}")
    return merged


def _nested(depth: int, kind: str) -> Any:
    value: Any = "leaf"
    for i in range(depth):
        value = [value] if (kind == "array" or (kind == "mixed" and i % 2)) else {"k": value}
    return value


def same_language(written: str, merged: str) -> dict[str, Any]:
    """Both spellings' verdict on attribute values 0-12 levels deep (arrays, objects, alternating)."""
    verdicts = {}
    for name, text in (("as written", written), ("merged", merged)):
        components = yaml.safe_load(text)["components"]
        schema = {"$ref": "#/components/schemas/AttributeValue", "components": components}
        validator = jsonschema_rs.validator_for(schema)
        verdicts[name] = [validator.is_valid(_nested(d, k)) for d in range(13) for k in ("array", "object", "mixed")]
    accepted = [d for d in range(13) if all(verdicts["as written"][d * 3:(d + 1) * 3])]
    return {"agree": verdicts["as written"] == verdicts["merged"], "depths_accepted": accepted}


def coverage_run(contract: Path, max_time: int, seed: int, work: Path) -> dict[str, Any]:
    ndjson = work / "events.ndjson"
    with ServerProcess(quiet=True) as server:
        argv = [sys.executable, "-m", "schemathesis.cli", "run", str(contract), "--url", server.base_url,
                "--seed", str(seed), "--max-examples", "40", "--max-time", str(max_time), "--phases", "coverage",
                "--mode", "all", "--checks", "all", "--workers", "1", "--generation-database", "none",
                "--suppress-health-check", "all", "--report", "ndjson", "--report-ndjson-path", str(ndjson),
                "--no-color"]
        started = time.perf_counter()
        proc = subprocess.run(argv, cwd=work, capture_output=True, text=True, check=False, timeout=max_time + 120)
        seconds = time.perf_counter() - started
    coverage = _phases(ndjson).get("coverage", {"cases": 0, "seconds": 0.0})
    return {"exit_code": proc.returncode, "seconds": round(seconds, 1), "cases": coverage["cases"],
            "scenario_seconds": round(coverage["seconds"], 1), "cut_by_time_limit": coverage["seconds"] >= max_time}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--max-time", type=int, default=90)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    started = machine()
    written = CONTRACT.read_text()
    merged = merged_contract(written)
    language = same_language(written, merged)
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in (("as written", written), ("merged", merged)):
            work = Path(tmp) / name.replace(" ", "_")
            work.mkdir()
            contract = work / "contract.yaml"
            contract.write_text(text)
            runs[name] = coverage_run(contract, args.max_time, args.seed, work)
    table = [
        (f"Coverage phase only (`st run --phases coverage`, seed {args.seed}, --max-time {args.max_time}), each "
         "spelling against a fresh reference server. Same language: both spellings give the same verdict on "
         f"39 attribute values 0-12 levels deep: **{language['agree']}** (depths accepted: "
         f"{language['depths_accepted']})."),
        "",
        "| spelling | coverage cases | scenario s | wall s | cut by the time limit | exit |",
        "|---|---|---|---|---|---|",
        *(f"| {name} | {r['cases']} | {r['scenario_seconds']} | {r['seconds']} | {r['cut_by_time_limit']} | "
          f"{r['exit_code']} |" for name, r in runs.items()),
    ]
    write_results("coverage_encoding", {"same_language": language, "runs": runs}, table, started=started)


if __name__ == "__main__":
    main()

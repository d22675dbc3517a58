"""Where a `check` run's CPU goes: py-spy's raw (collapsed-stack) samples sorted into named parts.

``split(path)`` reads the file ``py-spy record --subprocesses -f raw`` wrote and counts samples per
process (the harness, the schemathesis child, the reference server) and, inside the schemathesis child,
per part: the first rule of :data:`PARTS` whose pattern occurs anywhere in the sample's stack wins, so a
part owns everything it calls (the D1 probe owns its HTTP request, a hook owns the Hypothesis draws it
makes). py-spy samples running threads only: the counts are CPU, not waiting.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

__all__ = ["PARTS", "split"]

#: (part, pattern over the stack's frames), first match wins
PARTS: tuple[tuple[str, str], ...] = (
    ("D1 read-back probe (PUT {} after a refusal)", r"probe \([^;]*contracts/runtime\.py"),
    ("model (snapshot, learn)", r"contracts/model\.py"),
    ("domain checks", r"contracts/checks\.py"),
    ("journal / oracle hook", r"contracts/oracle\.py"),
    ("hooks: edge and journey bodies", (r"before_generate_case \([^;]*contracts/hooks\.py|maybe_replace|"
                                       r"strategies/(edges|journeys|bodies)\.py")),
    ("case mix setup (invalid examples)", r"CaseMix\.__init__|_invalid_pool"),
    ("hooks: case mix, auth", r"contracts/(hooks|casemix|runtime)\.py|strategies/wire\.py"),
    ("built-in checks", r"run_checks \([^;]*schemathesis/checks\.py|schemathesis/specs/openapi/checks\.py"),
    ("HTTP send and receive", r"Case\.call \(|requests/|urllib3/|http/client"),
    ("reports and event stream", r"WriterWorker|schemathesis/cli/"),
    ("generation (Hypothesis, schemathesis)", (r"hypothesis/|schemathesis/generation|"
                                              r"schemathesis/specs/openapi/_hypothesis|schemathesis/engine")),
    ("startup (imports, schema loading)", r"importlib|<module>"),
)
_COMPILED = tuple((name, re.compile(pattern)) for name, pattern in PARTS)
_HARNESS_PARTS = (("witness phase", "run_witnesses"), ("progress display", "LiveCounter"),
                  ("report reading", "read_report"))


def _process(frames: list[str]) -> str:
    procs = [f for f in frames if f.startswith("process ")]
    last = procs[-1] if procs else ""
    if "refserver" in last or "uvicorn" in last:
        return "reference server"
    if "schemathesis.cli" in last:
        return "schemathesis"
    return "harness"


def split(path: Path) -> dict[str, Counter[str]]:
    """``{process: {part: samples}}`` for one py-spy raw file."""
    out: dict[str, Counter[str]] = {}
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not count.isdigit():
                continue
            frames = stack.split(";")
            process = _process(frames)
            rest = ";".join(f for f in frames if not f.startswith("process "))
            if process == "schemathesis":
                part = next((name for name, rx in _COMPILED if rx.search(rest)), "other (schemathesis' own threads)")
            elif process == "harness":
                part = next((name for name, needle in _HARNESS_PARTS if needle in rest), "startup, other")
            else:
                part = "server"
            out.setdefault(process, Counter())[part] += int(count)
    return out

"""Contract check speed: `talon-harness check` (harness.check.run_check) vs plain `st run`, same budget (max
examples per operation and time limit), same seed, each against a fresh reference server.

Plain `st run` runs twice: on the contract view `check` itself gives schemathesis (``contracts.generation``:
the D13 depth chain cut two levels down), which isolates what `check` adds per case, and on the contract as
written, whose coverage phase enumerates thousands of nested-permutation cases that are cheap to send. Reports
cases per second, CPU milliseconds per case (harness, schemathesis and server processes together) and cases
per second of each phase, medians over ``--runs`` rounds (order rotating). Cases are counted the same way
for all (ScenarioFinished events of schemathesis' NDJSON report).

``--profile`` runs each runner once under py-spy (``pip install py-spy``; a tool, not a dependency) and
writes where the CPU goes (``bench/_profile_split.py``) to check_speed_profile.{json,md} under ``--label``
(``before``/``after`` keep each other); the next timed run's md repeats that split.

    python bench/check_speed.py [--runs 3] [--budget default|ci|thorough] [--seed 1]
    python bench/check_speed.py --profile --label after
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import RESULTS, ROOT, machine, median, write_results
from bench._profile_split import split
from talon_harness.contracts.generation import generation_contract
from talon_harness.harness._check_report import read_report
from talon_harness.harness.check import BUDGETS, EVENTS_FILE, CheckConfig, run_check
from talon_harness.refserver import ServerProcess

CONTRACT = ROOT / "contracts" / "integration-v1.yaml"
OURS, SAME_VIEW, AS_WRITTEN = "talon-harness check", "st run, same contract view", "st run, contract as written"
PROFILE_RATE = 67  # py-spy samples per second


def _details(report: Any) -> list[dict[str, str]]:
    """What failed (check, operation, phase, title, first message line, curl), so a surprise can be chased."""
    if report is None:
        return []
    return [{"check": f.check, "operation": f.operation, "phase": f.phase, "title": f.title,
             "message": f.message.split("\n", 1)[0][:300], "curl": f.curl[:500]} for f in report.failures]


def _phases(ndjson: Path) -> dict[str, dict[str, float]]:
    """Cases and scenario seconds per phase (schemathesis repeats fuzzing and stateful until the time limit)."""
    out: dict[str, dict[str, float]] = {}
    if not ndjson.exists():
        return out
    with ndjson.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if not line.startswith('{"ScenarioFinished"'):
                continue
            payload = json.loads(line)["ScenarioFinished"]
            entry = out.setdefault(payload.get("phase", "?"), {"cases": 0, "seconds": 0.0})
            entry["cases"] += len(payload.get("recorder", {}).get("cases", {}))
            entry["seconds"] += float(payload.get("elapsed_time") or 0.0)
    return out


def _ours(base_url: str, budget: Any, seed: int, report_dir: Path) -> dict[str, Any]:
    config = CheckConfig(base_url=base_url, max_examples=budget.max_examples, max_time=budget.max_time,
                         seed=seed, fresh_server=True, quiet=True, report_dir=report_dir, keep_events=True)
    started = time.perf_counter()
    result = run_check(config)
    seconds = time.perf_counter() - started
    report = result.report
    return {"seconds": seconds, "cases": report.total_cases if report else 0,
            "requests": report.requests if report else 0, "exit_code": result.exit_code,
            "failures": result.failures, "failure_details": _details(report),
            "witness_seconds": result.witness.seconds if result.witness else 0.0,
            "phases": _phases(report_dir / EVENTS_FILE)}


def _plain(contract: Path) -> Callable[[str, Any, int, Path], dict[str, Any]]:
    def run(base_url: str, budget: Any, seed: int, report_dir: Path) -> dict[str, Any]:
        report_dir.mkdir(parents=True, exist_ok=True)
        ndjson = report_dir / "events.ndjson"
        argv = [sys.executable, "-m", "schemathesis.cli", "run", str(contract), "--url", base_url, "--seed",
                str(seed), "--max-examples", str(budget.max_examples), "--max-time", str(int(budget.max_time)),
                "--mode", "all", "--checks", "all", "--workers", "1", "--generation-database", "none",
                "--suppress-health-check", "all", "--report", "ndjson", "--report-ndjson-path", str(ndjson),
                "--no-color"]
        started = time.perf_counter()
        proc = subprocess.run(argv, cwd=report_dir, capture_output=True, text=True, check=False,
                              timeout=budget.max_time + 120)
        seconds = time.perf_counter() - started
        report = read_report(ndjson, report_dir / "none.json", creds=None, curl=lambda *_a, **_k: "")
        return {"seconds": seconds, "cases": report.total_cases if report else 0,
                "requests": report.requests if report else 0, "exit_code": proc.returncode,
                "failures": len(report.failures) if report else 0, "failure_details": _details(report),
                "phases": _phases(ndjson)}
    return run


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (schemathesis, the server)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _runners(tmp: Path) -> dict[str, Callable[[str, Any, int, Path], dict[str, Any]]]:
    return {OURS: _ours, SAME_VIEW: _plain(generation_contract(tmp / "contract.generation.yaml")),
            AS_WRITTEN: _plain(CONTRACT)}


def _timed(runner: Callable[..., dict[str, Any]], budget: Any, seed: int, out: Path) -> dict[str, Any]:
    cpu = _cpu()
    with ServerProcess(quiet=True) as server:
        result = runner(server.base_url, budget, seed, out)
    result["cpu_seconds"] = _cpu() - cpu  # the server has exited: its CPU is counted
    result["cases_per_s"] = result["cases"] / result["seconds"] if result["seconds"] else 0.0
    result["cpu_ms_per_case"] = 1000 * result["cpu_seconds"] / result["cases"] if result["cases"] else 0.0
    return result


def _phase_rates(runs: list[dict[str, Any]]) -> dict[str, float]:
    """Median cases per scenario-second of each phase."""
    names = sorted({p for r in runs for p in r["phases"]})
    return {p: median(r["phases"][p]["cases"] / r["phases"][p]["seconds"] for r in runs
                      if p in r["phases"] and r["phases"][p]["seconds"] > 0) for p in names}


def _engine_rates(runs: list[dict[str, Any]]) -> dict[str, float]:
    """Median cases per scenario-second of the fuzzing and stateful phases together (the phases whose case
    set is the same for every runner), and of the coverage phase."""
    def rate(run: dict[str, Any], phases: tuple[str, ...]) -> float:
        cases = sum(run["phases"].get(p, {}).get("cases", 0) for p in phases)
        seconds = sum(run["phases"].get(p, {}).get("seconds", 0.0) for p in phases)
        return cases / seconds if seconds else 0.0
    return {"fuzzing+stateful": median(rate(r, ("fuzzing", "stateful")) for r in runs),
            "coverage cases": median(r["phases"].get("coverage", {}).get("cases", 0) for r in runs),
            "coverage seconds": median(r["phases"].get("coverage", {}).get("seconds", 0.0) for r in runs)}


def _profile_section() -> list[str]:
    path = RESULTS / "check_speed_profile.json"
    if not path.exists():
        return []
    return ["", "## Where the CPU goes (`--profile`, from check_speed_profile.json)", "",
            *json.loads(path.read_text())["table"]]


def timed(args: argparse.Namespace) -> None:
    started = machine()
    budget = BUDGETS[args.budget]
    with tempfile.TemporaryDirectory(prefix="bench-check-") as tmp:
        runners = _runners(Path(tmp))
        names = list(runners)
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in runners}
        for round_no in range(args.runs):
            for name in names[round_no % len(names):] + names[:round_no % len(names)]:
                out = _timed(runners[name], budget, args.seed, Path(tmp) / f"{round_no}-{names.index(name)}")
                runs[name].append(out)
                print(f"round {round_no + 1} {name}: {out['cases']} cases in {out['seconds']:.1f} s "
                      f"({out['cases_per_s']:.1f}/s, {out['cpu_ms_per_case']:.1f} CPU ms/case), exit "
                      f"{out['exit_code']}, {out['failures']} failure(s)", flush=True)
    keys = ("seconds", "cases", "cases_per_s", "cpu_ms_per_case", "requests")
    summary = {name: {k: median(r[k] for r in rs) for k in keys} for name, rs in runs.items()}
    rates = {name: _phase_rates(rs) for name, rs in runs.items()}
    engine = {name: _engine_rates(rs) for name, rs in runs.items()}
    ours = summary[OURS]
    phases = ("examples", "coverage", "fuzzing", "stateful")
    table = [
        (f"Budget `{args.budget}`: {budget.max_examples} examples per operation, time limit {budget.max_time:g} s; "
         f"seed {args.seed}; all phases, positive + negative; each run against a fresh reference server. "
         f"Medians of {args.runs} rounds (order rotating). `check` adds the witness phase, 13 domain checks, "
         "edge ids/bodies, invalid bodies and auth hooks, and runs schemathesis on the contract view of "
         "`contracts/generation.py`. CPU: harness, schemathesis and server processes together."),
        "",
        "| runner | cases | requests | total s | cases / s | CPU ms / case | "
        + " | ".join(f"{p} cases/s" for p in phases) + " |",
        "|---|---|---|---|---|---|" + "---|" * len(phases),
        *(f"| {name} | {s['cases']:.0f} | {s['requests']:.0f} | {s['seconds']:.1f} | {s['cases_per_s']:.1f} | "
          f"{s['cpu_ms_per_case']:.1f} | " + " | ".join(f"{rates[name].get(p, 0):.0f}" for p in phases) + " |"
          for name, s in summary.items()),
        "",
        *(f"check / {name}: cases per second {ours['cases_per_s'] / summary[name]['cases_per_s']:.2f}x, "
          f"CPU per case {ours['cpu_ms_per_case'] / summary[name]['cpu_ms_per_case']:.2f}x."
          for name in (SAME_VIEW, AS_WRITTEN) if summary[name]["cases_per_s"] and summary[name]["cpu_ms_per_case"]),
        *(f"check / {name}, fuzzing and stateful phases only: cases per scenario-second "
          f"{engine[OURS]['fuzzing+stateful'] / engine[name]['fuzzing+stateful']:.2f}x "
          f"({engine[OURS]['fuzzing+stateful']:.1f} vs {engine[name]['fuzzing+stateful']:.1f})."
          for name in (SAME_VIEW, AS_WRITTEN) if engine[name]["fuzzing+stateful"]),
        "",
        "Coverage phase (cases in scenario-seconds): " + "; ".join(
            f"{name} {engine[name]['coverage cases']:.0f} in {engine[name]['coverage seconds']:.1f} s"
            for name in summary) + ". On the contract as written it enumerates the nested permutations of "
        "D13's ten-level depth chain and never finishes: schemathesis cuts it at the third of the time limit "
        "it leaves for the two elastic phases, so a third of that run is cases at a few ms each.",
        "",
        ("Exit codes and failures per run are in the JSON (`runs`, with `failure_details`): plain `st run` "
        "reports schema-valid bodies the domain rules refuse (`positive_data_acceptance`), which `check` "
        "explains away (`contracts.checks.domain_refusal`)."),
        *_profile_section(),
    ]
    write_results("check_speed", {"settings": {**vars(args), "max_examples": budget.max_examples,
                                               "max_time": budget.max_time},
                                  "summary": summary, "phase_cases_per_s": rates, "engine": engine,
                                  "runs": runs}, table,
                  started=started)


def profile(args: argparse.Namespace) -> None:
    """One run per runner under py-spy; the split per part into check_speed_profile.{json,md} at ``--label``."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        sys.exit("Error: --profile needs py-spy (pip install py-spy)")
    path = RESULTS / "check_speed_profile.json"
    data = json.loads(path.read_text()) if path.exists() else {"labels": {}}
    started = machine()
    labelled: dict[str, Any] = {"machine": started, "command": " ".join(sys.argv), "runners": {}}
    with tempfile.TemporaryDirectory(prefix="bench-check-profile-") as tmp:
        for index, name in enumerate(_runners(Path(tmp))):
            raw, result = Path(tmp) / f"{index}.raw", Path(tmp) / f"{index}.json"
            subprocess.run([spy, "record", "--nonblocking", "--subprocesses", "-r", str(PROFILE_RATE), "-f", "raw",
                            "-o", str(raw), "--", sys.executable, __file__, "--one", name, "--budget", args.budget,
                            "--seed", str(args.seed), "--out", str(result)], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            run = json.loads(result.read_text())
            parts = split(raw)
            samples = sum(sum(c.values()) for c in parts.values())
            labelled["runners"][name] = {"cases": run["cases"], "seconds": run["seconds"], "samples": samples,
                                         "cpu_ms_per_case": 1000 * samples / PROFILE_RATE / max(run["cases"], 1),
                                         "parts": {p: dict(c) for p, c in parts.items()}}
            print(f"{name}: {run['cases']} cases, {samples} samples", flush=True)
    data["labels"][args.label] = labelled
    data["table"] = _profile_table(data["labels"])
    path.write_text(json.dumps(data, indent=1) + "\n")
    md = ["# check_speed_profile", "", *data["table"], ""]
    (RESULTS / "check_speed_profile.md").write_text("\n".join(md))
    print("\n".join(md))


def _profile_table(labels: dict[str, Any]) -> list[str]:
    lines = [(f"py-spy `record --nonblocking --subprocesses -r {PROFILE_RATE} -f raw`, one run per runner at the "
             "budget named; shares are of all CPU samples of the run (harness, schemathesis child, reference "
             "server; waiting is not sampled). Parts: `bench/_profile_split.py` (the first matching part "
             "owns the whole stack below it). On a shared machine py-spy counts a "
             "thread that is runnable but waiting for a core as active, so on a loaded machine the shares "
             "follow runnable time, and 'CPU ms / case (sampled)' is not comparable between labels; the timed "
             "run's CPU ms / case (getrusage) is."), ""]
    for label, entry in sorted(labels.items(), key=lambda item: (item[0] != "before", item[0])):
        m = entry["machine"]
        lines += [f"### {label}: commit {m['commit']}, load average at start {m['loadavg_at_start'][0]:.2f}", "",
                  "| runner | cases | CPU ms / case (sampled) |", "|---|---|---|"]
        lines += [f"| {name} | {r['cases']} | {r['cpu_ms_per_case']:.1f} |" for name, r in entry["runners"].items()]
        lines += ["", "| part | " + " | ".join(entry["runners"]) + " |", "|---|" + "---|" * len(entry["runners"])]
        shares: dict[str, dict[str, float]] = {}
        for name, r in entry["runners"].items():
            for proc, counter in r["parts"].items():
                for part, n in counter.items():
                    shares.setdefault(f"{proc}: {part}", {})[name] = n / r["samples"] if r["samples"] else 0.0
        order = sorted(shares, key=lambda k: -shares[k].get(OURS, 0.0))
        lines += [f"| {k} | " + " | ".join(f"{100 * shares[k].get(n, 0.0):.1f}%" for n in entry["runners"]) + " |"
                  for k in order]
        lines.append("")
    return lines


def one(args: argparse.Namespace) -> None:
    """``--one NAME``: a single run of one runner (what ``--profile`` samples), its result to ``--out``."""
    with tempfile.TemporaryDirectory(prefix="bench-check-one-") as tmp:
        runner = _runners(Path(tmp))[args.one]
        with ServerProcess(quiet=True) as server:
            result = runner(server.base_url, BUDGETS[args.budget], args.seed, Path(tmp) / "run")
    args.out.write_text(json.dumps(result))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--budget", choices=sorted(BUDGETS), default="default")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--profile", action="store_true", help="one run per runner under py-spy: where the CPU goes")
    ap.add_argument("--label", default="current", help="the name of this profile (e.g. before, after)")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        one(args)
    elif args.profile:
        profile(args)
    else:
        timed(args)


if __name__ == "__main__":
    main()

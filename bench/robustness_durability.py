"""Durability under SIGKILL, repeated: each round runs a bounded write load against a fresh refserver,
SIGKILLs it after a random number of acknowledged writes, audits the database (every acknowledged write
present, nothing half-applied; see tests/robustness/durability.py), restarts on the same db, probes it and
audits again. Also runs a few rounds of 1,000 concurrent updates (tests/robustness/concurrency.py).
Every round runs the server as `talon-harness serve` does (group commit: an answer waits for the COMMIT
of its group). "Lost" counts the acknowledged writes the audits found missing or not as acknowledged.
Writes bench/results/robustness_durability.{json,md} (with machine, command and commit).

    python bench/robustness_durability.py [--rounds 20] [--concurrency-rounds 5] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import machine, write_results
from talon_harness.refserver import ServerProcess
from tests.robustness.concurrency import concurrent_updates
from tests.robustness.durability import audit, kill_mid_load, restart_and_probe


def durability_round(seed: int, kill_after: int, workers: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-dur-") as tmp:
        proc = ServerProcess(db=Path(tmp) / "dur.db", quiet=True).start()
        started = time.monotonic()
        try:
            ledger = kill_mid_load(proc, seed=seed, kill_after=kill_after, workers=workers, max_journeys=2000)
            lost = audit(str(proc.db), ledger)  # after the kill: every problem is an acknowledged write lost
            problems = lost + restart_and_probe(proc, ledger)
            problems += audit(str(proc.db), ledger)
        finally:
            proc.stop()
        return {"seed": seed, "kill_after": kill_after, "workers": workers, "acked": ledger.acked, "lost": len(lost),
                "sessions": len(ledger.sessions),
                "in_flight": sum(1 for s in ledger.sessions.values() if s.sent > s.acked),
                "problems": problems[:10], "seconds": round(time.monotonic() - started, 2)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--concurrency-rounds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    machine_at_start = machine()
    rng = random.Random(args.seed)
    rounds = []
    for i in range(args.rounds):
        result = durability_round(args.seed * 1000 + i, rng.randint(50, 3000), rng.choice((2, 4, 8)))
        rounds.append(result)
        print(f"durability {i + 1}/{args.rounds}: acked={result['acked']} in_flight={result['in_flight']} "
              f"problems={len(result['problems'])}", flush=True)
    conc = []
    for i in range(args.concurrency_rounds):
        with tempfile.TemporaryDirectory(prefix="bench-conc-") as tmp, \
                ServerProcess(db=Path(tmp) / "c.db", quiet=True) as proc:
            started = time.monotonic()
            outcome = concurrent_updates(proc, seed=args.seed * 1000 + i)
            conc.append({"seed": args.seed * 1000 + i, "statuses": outcome.statuses,
                         "problems": outcome.problems[:10], "seconds": round(time.monotonic() - started, 2)})
        print(f"concurrency {i + 1}/{args.concurrency_rounds}: {conc[-1]['statuses']} "
              f"problems={len(conc[-1]['problems'])}", flush=True)
    failed = [r for r in rounds + conc if r["problems"]]
    summary = {
        "commit_path": "group commit (refserver.store.Store.grouped_transaction, as `serve` runs it)",
        "durability_rounds": len(rounds), "durability_failed": sum(1 for r in rounds if r["problems"]),
        "acked_total": sum(r["acked"] for r in rounds), "lost_total": sum(r["lost"] for r in rounds),
        "acked_median": statistics.median(r["acked"] for r in rounds) if rounds else 0,
        "in_flight_total": sum(r["in_flight"] for r in rounds),
        "concurrency_rounds": len(conc), "concurrency_failed": sum(1 for r in conc if r["problems"]),
        "rounds": rounds, "concurrency": conc,
        "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
    }
    lines = [
        "Durability under SIGKILL (group commit, as `serve` runs) and 1,000 concurrent updates.", "",
        (f"- SIGKILL rounds: {len(rounds)}, failed: {summary['durability_failed']}; **acknowledged writes: "
         f"{summary['acked_total']}, lost: {summary['lost_total']}** (median {summary['acked_median']} "
         f"acknowledged per round); requests in flight at the kill: {summary['in_flight_total']}"),
        f"- 1,000-concurrent-update rounds: {len(conc)}, failed: {summary['concurrency_failed']}", "",
        "| round | workers | kill after | acked | lost | in flight | problems | s |", "|---|---|---|---|---|---|---|---|",
        *(f"| {i + 1} | {r['workers']} | {r['kill_after']} | {r['acked']} | {r['lost']} | {r['in_flight']} | "
          f"{len(r['problems'])} | {r['seconds']} |" for i, r in enumerate(rounds)),
    ]
    for r in failed:
        lines += ["", f"Problems (seed {r['seed']}):", *(f"- {p}" for p in r["problems"])]
    write_results("robustness_durability", summary, lines, started=machine_at_start)
    print(f"failed rounds: {len(failed)}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

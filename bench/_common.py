"""Shared bench plumbing: machine description, medians, and writing JSON + markdown into bench/results/."""

from __future__ import annotations

import json
import os
import platform
import shlex
import socket
import statistics
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["RESULTS", "ROOT", "commit", "free_port", "load_note", "machine", "median", "write_results"]

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def free_port() -> int:
    """A loopback TCP port that was free a moment ago (the benches' one copy)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def commit() -> str:
    """The checked-out commit (short), with ``+dirty`` when the tree has uncommitted changes."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], check=False, cwd=ROOT, capture_output=True, text=True).stdout.strip()
    head = git("rev-parse", "--short=12", "HEAD") or "unknown"
    return head + ("+dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def machine() -> dict[str, Any]:
    """Cores, CPU model, Python version, OS, the commit and the load average when the bench started."""
    return {
        "commit": commit(),
        "cores": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def load_note(started: dict[str, Any]) -> str:
    """One line for a result file: the 1-minute load average when the bench started and the three now
    (the bench's own processes count in them; anything well above that was other work on the machine)."""
    start, end = started["loadavg_at_start"][0], os.getloadavg()
    return (f"Load average (1 min) at the start {start:.2f}, at the end {end[0]:.2f} (5 min {end[1]:.2f}, 15 min "
            f"{end[2]:.2f}); read it as how much else ran on the machine beside this bench, whose own processes "
            "count in it too.")


def median(values: Iterable[float]) -> float:
    values = list(values)
    return statistics.median(values) if values else float("nan")


def command_line() -> str:
    return " ".join(shlex.quote(a) for a in ["python", os.path.relpath(sys.argv[0], ROOT), *sys.argv[1:]])


def write_results(name: str, data: dict[str, Any], table: list[str], *, started: dict[str, Any]) -> None:
    """Write bench/results/<name>.json and <name>.md (command, machine, then the table) and print the md."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    data = {"command": command_line(), "machine": started, **data}
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n")
    m = started
    md = [
        f"# {name}",
        "",
        f"Command: `{data['command']}`  ",
        f"Commit: {m.get('commit', 'unknown')}  ",
        (f"Machine: {m['cores']} cores ({m['cpu_model']}), Python {m['python']}, {m['platform']}; "
         f"load average at start {m['loadavg_at_start'][0]:.2f}"),
        "",
        *table,
        "",
        load_note(m),
        "",
    ]
    (RESULTS / f"{name}.md").write_text("\n".join(md))
    print("\n".join(md))

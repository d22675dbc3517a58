"""Shared helpers for the load benchmarks: machine facts, running a probed Locust, writing results."""

from __future__ import annotations

import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PROBE = ROOT / "bench" / "load_probe.py"


def commit() -> str:
    """The commit the bench ran on (``+dirty`` when the working tree had changes)."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    return git("rev-parse", "HEAD") + (
        "+dirty" if git("status", "--porcelain", "--untracked-files=no") else ""
    )


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg_at_start": os.getloadavg(),
    }


def run_probed(argv: list[str], *, env: dict[str, str] | None = None, exact: bool = False,
               timeout: float = 120) -> dict[str, Any]:
    """Run a locust argv (in ``env``, default ours) with the probe appended to its -f list; return the probe's
    JSON."""
    argv = list(argv)
    i = argv.index("-f") + 1
    argv[i] = f"{argv[i]},{PROBE}"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "probe.json"
        env = {
            **(os.environ if env is None else env),
            "BENCH_PROBE_OUT": str(out),
            "BENCH_PROBE_EXACT": "1" if exact else "0",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
        proc = subprocess.run(
            argv, env=env, cwd=str(ROOT), capture_output=True, text=True, timeout=timeout, check=False
        )
        if not out.exists():
            raise RuntimeError(
                f"locust wrote no probe (rc {proc.returncode}):\n{proc.stdout[-2000:]}{proc.stderr[-3000:]}"
            )
        return json.loads(out.read_text())


def write(name: str, data: dict[str, Any], table: list[str]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    data = {
        "command": " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv]),
        "commit": commit(),
        "machine": machine(),
        **data,
    }
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=2))
    m = data["machine"]
    md = [
        f"# {name}",
        "",
        f"Command: `{data['command']}`  ",
        f"Commit: {data['commit']}  ",
        (
            f"Machine: {m['cores']} cores, Python {m['python']}, "
            f"{m['platform']}, load average at start {m['loadavg_at_start'][0]:.2f}"
        ),
        "",
        *table,
        "",
    ]
    (RESULTS / f"{name}.md").write_text("\n".join(md))
    print("\n".join(md))

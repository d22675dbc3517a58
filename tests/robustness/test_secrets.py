"""Issue #7.6: the API key never leaves the process that needs it.

The real CLI runs ``check`` (key from TALON_API_KEY, against a key-protected reference server with a
validation fault, so failures with reproduce-commands are rendered) and ``load`` (key from --api-key,
against the embedded reference server, which the CLI configures with the same key). Afterwards every
byte of output and every file under the run's directory (reports, logs, stray files in the working
directory) is searched for the key: it must not be there, while the runs demonstrably authenticated.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from talon_harness.refserver import ServerProcess

API_KEY = "leak-canary-9c41e7d2b8"
ROOT = Path(__file__).resolve().parents[2]


def _run(argv: list[str], cwd: Path, env_key: str | None, timeout: float) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("TALON_API_KEY", "TALON_HMAC")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    if env_key is not None:
        env["TALON_API_KEY"] = env_key
    return subprocess.run([sys.executable, "-m", "talon_harness.harness", *argv], cwd=cwd, env=env, capture_output=True,
                          timeout=timeout, check=False)


def _files_holding(root: Path, secret: bytes) -> list[str]:
    return [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and secret in p.read_bytes()]


def test_check_never_writes_or_prints_the_api_key(tmp_path: Path) -> None:
    work = tmp_path / "check-run"
    work.mkdir()
    with ServerProcess(db=tmp_path / "ref.db", api_key=API_KEY, faults=["event_id_as_string"]) as server:
        done = _run(["check", "--base-url", server.base_url, "--max-examples", "5", "--max-time", "6", "--seed", "3",
                     "--report-dir", "reports"], work, API_KEY, timeout=120)
        server_log = Path(server.log_path)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output.decode(errors="replace")[-2000:]  # the fault was found: it authenticated
    assert b"curl" in output and b"TALON_API_KEY" in output  # reproduce-commands point at the env variable
    assert API_KEY.encode() not in output
    assert _files_holding(work, API_KEY.encode()) == []
    assert any((work / "reports").iterdir())
    assert API_KEY.encode() not in server_log.read_bytes()
    assert b" 200 " in server_log.read_bytes()


def test_load_never_writes_or_prints_the_api_key(tmp_path: Path) -> None:
    work = tmp_path / "load-run"
    work.mkdir()
    done = _run(["load", "--api-key", API_KEY, "--users", "2", "--duration", "4", "--report-dir", "reports"], work,
                None, timeout=90)
    output = done.stdout + done.stderr
    assert API_KEY.encode() not in output
    assert _files_holding(work, API_KEY.encode()) == []
    assert done.returncode in (0, 1), output.decode(errors="replace")[-2000:]  # 2: the key was refused
    summary = json.loads((work / "reports" / "summary.json").read_text())
    overall = summary["endpoints"]["overall"]
    # it authenticated: every journey call expects a 200, so every request answered as expected was a 2xx
    assert overall["requests"] > 0 and overall["failures"] == 0, summary["failures"]
    assert not any(re.search(r"\b40[13]\b", f["error"]) for f in summary["failures"])

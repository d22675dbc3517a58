"""Issue 13.6: `talon-harness run` takes the target options of check and load, so the main job runs
against any server (here: a key-protected reference server on loopback, credentials from the env)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from talon_harness.refserver import ServerProcess

KEY = "run-test-key-0123"


def _run(*args: str, env_key: str | None = None, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TALON_API_KEY", "TALON_HMAC")}
    env["COLUMNS"] = "200"
    if env_key:
        env["TALON_API_KEY"] = env_key
    return subprocess.run([sys.executable, "-m", "talon_harness.harness", "run", *args], env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


def test_run_against_base_url_with_credentials_passes(tmp_path: Path) -> None:
    with ServerProcess(api_key=KEY, quiet=True) as server:
        url = server.base_url
        proc = _run("--base-url", url, "--max-time", "5s", "--duration", "3s", "--max-rate", "100",
                    "--report-dir", str(tmp_path), env_key=KEY)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    assert "Traceback" not in output and KEY not in output
    assert f"target={url}" in output
    assert (tmp_path / "check" / "junit.xml").exists() and (tmp_path / "load" / "summary.json").exists()
    assert not any(KEY.encode() in p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())


def test_run_without_the_key_is_refused_credentials_not_a_failed_target(tmp_path: Path) -> None:
    """Issue 25.3: no key for a keyed target is the harness's problem: exit 2, one line, nothing run."""
    with ServerProcess(api_key=KEY, quiet=True) as server:
        proc = _run("--base-url", server.base_url, "--max-time", "5s", "--duration", "2s", "--report-dir",
                    str(tmp_path), timeout=60)
    assert proc.returncode == 2, (proc.stdout + proc.stderr)[-4000:]
    assert (proc.stdout + proc.stderr).splitlines() == [
        ("Error: the target refused the credentials (401 Unauthorized on PUT /v1/customer_profiles/talon-harness-probe"
         "): none were given; set TALON_API_KEY or TALON_HMAC (--api-key / --hmac)")]
    assert not (tmp_path / "check").exists() and not (tmp_path / "load").exists()


def test_run_against_unreachable_base_url_exits_2_without_load(tmp_path: Path) -> None:
    proc = _run("--base-url", "http://127.0.0.1:1", "--duration", "2s", "--report-dir", str(tmp_path), timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "http://127.0.0.1:1 is not reachable" in proc.stdout + proc.stderr
    assert not (tmp_path / "load").exists()

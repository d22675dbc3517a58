"""Issue 12.6: CI runs the derandomised ``ci`` Hypothesis profile (CI=true, as .ci/run and CI systems set)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = '''
import os
from hypothesis import settings
def test_profile():
    print("PROFILE", settings.get_current_profile_name(), settings().derandomize, os.environ["HYPOTHESIS_PROFILE"])
'''


def _profile(tmp_path: Path, **env: str) -> str:
    probe = ROOT / "tests" / f"test_zz_profile_probe_{os.getpid()}.py"
    probe.write_text(PROBE)
    try:
        clean = {k: v for k, v in os.environ.items() if k not in ("CI", "HYPOTHESIS_PROFILE")}
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-n", "0", "-p", "no:cacheprovider",
                               str(probe)],
                              cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=120,
                              check=False)
    finally:
        probe.unlink()
    line = next((x for x in proc.stdout.splitlines() if x.startswith("PROFILE")), proc.stdout + proc.stderr)
    return line


def test_ci_true_selects_the_derandomised_ci_profile(tmp_path: Path) -> None:
    assert _profile(tmp_path, CI="true") == "PROFILE ci True ci"


def test_without_ci_the_dev_profile_is_used(tmp_path: Path) -> None:
    assert _profile(tmp_path) == "PROFILE dev False dev"


def test_ci_script_sets_ci() -> None:
    assert 'export CI="${CI:-true}"' in (ROOT / ".ci" / "run").read_text()

"""action.yml (the composite GitHub Action) runs: its `run:` steps are taken from the file, their `${{ ... }}`
expressions substituted (inputs with their defaults or a test's values, `github.action_path` the repository),
and run as GitHub runs them (`bash --noprofile --norc -eo pipefail`), on loopback with short budgets, the way
tests/test_readme_commands.py runs README's commands. The `uses:` steps (setup-python, upload-artifact) are
GitHub's own; their wiring is checked, not run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from talon_harness.refserver import ServerProcess

ROOT = Path(__file__).resolve().parents[1]
ACTION: dict[str, Any] = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
STEPS: list[dict[str, Any]] = ACTION["runs"]["steps"]
EXPRESSION = re.compile(r"\$\{\{\s*(.+?)\s*\}\}")
SHORT = {"max-time": "5", "duration": "3"}


@dataclass(frozen=True)
class Ran:
    """What the action's harness step did: its exit code, its log, the job summary and the step outputs."""

    code: int
    log: str
    summary: str
    outputs: str


def _expand(text: str, inputs: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("inputs."):
            return inputs[name.removeprefix("inputs.")]
        if name == "github.action_path":
            return str(ROOT)
        raise AssertionError(f"action.yml uses {match.group(0)}, which this test cannot substitute")
    return EXPRESSION.sub(value, text)


def _inputs(**given: str) -> dict[str, str]:
    unknown = set(given) - set(ACTION["inputs"])
    assert not unknown, unknown
    return {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()} | given


def _step(name: str) -> dict[str, Any]:
    return next(step for step in STEPS if step.get("name", "").startswith(name))


def _run_step(step: dict[str, Any], inputs: dict[str, str], cwd: Path, path: str | None = None) -> Ran:
    assert step["shell"] == "bash"
    summary, outputs = cwd / "summary.md", cwd / "outputs.txt"
    env = {**os.environ, **{k: _expand(str(v), inputs) for k, v in step.get("env", {}).items()},
           "PATH": path or f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(outputs), "GITHUB_ACTIONS": "true"}
    script = cwd / "step.sh"
    script.write_text(_expand(step["run"], inputs), encoding="utf-8")
    proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)], cwd=cwd, env=env,
                          capture_output=True, timeout=240, check=False)
    read = lambda p: p.read_text(encoding="utf-8") if p.exists() else ""
    return Ran(proc.returncode, (proc.stdout + proc.stderr).decode(errors="replace"), read(summary), read(outputs))


def _harness(tmp_path: Path, path: str | None = None, **given: str) -> Ran:
    return _run_step(_step("talon-harness"), _inputs(**given), tmp_path, path)


def test_every_expression_names_a_declared_input_and_the_reports_are_uploaded_always() -> None:
    text = (ROOT / "action.yml").read_text(encoding="utf-8")
    used = {m.group(1).removeprefix("inputs.") for m in EXPRESSION.finditer(text) if m.group(1).startswith("inputs.")}
    assert used == set(ACTION["inputs"])  # every input is used, and only declared ones are
    assert ACTION["runs"]["using"] == "composite"
    upload = next(step for step in STEPS if step.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload == {"name": "Upload the reports", "if": "always()", "uses": "actions/upload-artifact@v4",
                      "with": {"name": "${{ inputs.artifact-name }}", "path": "${{ inputs.report-dir }}",
                               "if-no-files-found": "warn"}}
    assert STEPS[0]["uses"] == "actions/setup-python@v5" and STEPS[0]["if"] == "inputs.python-version != ''"
    assert ACTION["outputs"]["exit-code"]["value"] == "${{ steps.harness.outputs.exit-code }}"


@pytest.mark.parametrize(("install", "installs"), [("", str(ROOT)), ("talon-harness==0.1.0", "talon-harness==0.1.0")])
def test_the_install_step_installs_this_checkout_unless_told_otherwise(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, install: str, installs: str) -> None:
    shims = tmp_path / "bin"
    shims.mkdir()
    (shims / "pip").write_text('#!/bin/sh\nprintf "%s\\n" "$@" > "$PIP_ARGS"\n', encoding="utf-8")
    (shims / "pip").chmod(0o755)
    monkeypatch.setenv("PIP_ARGS", str(tmp_path / "pip-args"))
    ran = _run_step(_step("Install"), _inputs(install=install), tmp_path, path=f"{shims}{os.pathsep}/usr/bin:/bin")
    assert ran.code == 0, ran.log
    assert (tmp_path / "pip-args").read_text().splitlines() == ["install", installs]


def test_run_on_the_embedded_server_passes_and_writes_the_summary(tmp_path: Path) -> None:
    ran = _harness(tmp_path, command="run", **SHORT)
    assert ran.code == 0, ran.log[-3000:]
    assert re.search(r"^\+ talon-harness run --max-time 5 --duration 3 --report-dir talon-reports( --api v1)?$",
                     ran.log, re.MULTILINE), ran.log[:500]
    assert ran.outputs == "exit-code=0\n"
    assert ran.summary.endswith("### talon-harness run: pass (exit 0)\nTarget: the embedded reference server. "
                                "Reports: artifact `talon-harness-reports` (open check/report.html and "
                                "load/report.html).\n")
    assert len(ran.summary) > 400, "the harness' own Markdown summary is missing"
    assert (tmp_path / "talon-reports/check/report.html").is_file()
    assert (tmp_path / "talon-reports/load/report.html").is_file()
    assert "Traceback" not in ran.log


def test_an_slo_file_runs_check_then_load_against_base_url_and_a_breach_fails(tmp_path: Path) -> None:
    (tmp_path / "slo.toml").write_text("[overall]\np50_ms = 0.001\n", encoding="utf-8")
    with ServerProcess(api_key="action-key-123") as theirs:
        url = theirs.base_url
        ran = _harness(tmp_path, command="run", slo="slo.toml", **{"base-url": url, "api-key": "action-key-123"},
                       **SHORT)
        puts = theirs.log_tail(1_000_000).count("PUT /v1/")
    assert ran.code == 1, ran.log[-3000:]
    api = "( --api v1)?"  # once the commands take --api, the action passes its api-version
    assert re.search(rf"^\+ talon-harness check --max-time 5 --report-dir talon-reports/check --base-url {url}{api}$",
                     ran.log, re.MULTILINE), ran.log[:500]
    assert re.search(rf"^\+ talon-harness load --duration 3 --report-dir talon-reports/load --base-url {url}{api} "
                     "--slo slo.toml$", ran.log, re.MULTILINE), ran.log[:500]
    assert re.search(r"BREACH overall\.p50_ms: observed [\d.]+ \(limit <= 0\.001\)", ran.log), ran.log[-3000:]
    assert "### talon-harness run: FAIL: the target failed a check or an SLO (exit 1)\n" in ran.summary
    assert f"Target: {url}." in ran.summary
    assert ran.outputs == "exit-code=1\n"
    assert puts > 100, "the traffic did not reach base-url"
    assert "action-key-123" not in ran.log + ran.summary
    assert (tmp_path / "talon-reports/check/report.html").is_file()


@pytest.mark.parametrize(("given", "error"), [
    ({"command": "selftest"}, "Error: command 'selftest': expected run, check or load"),
    ({"allow-remote": "yes"}, "Error: allow-remote 'yes': expected true or false"),
    ({"command": "load", "api-version": "v9"}, "Error: *'v9'*"),
    ({"command": "run", "base-url": "http://127.0.0.1:9"}, "Error: *127.0.0.1:9*"),
])
def test_a_job_the_harness_cannot_do_is_exit_2_in_one_line(
        tmp_path: Path, given: dict[str, str], error: str) -> None:
    ran = _harness(tmp_path, **SHORT, **given)
    assert ran.code == 2, ran.log[-3000:]
    errors = [line for line in ran.log.splitlines() if line.lower().startswith("error:")]
    pattern = re.escape(error).replace(r"\*", ".*")
    assert len(errors) == 1 and re.fullmatch(pattern, errors[0]), ran.log  # every command says "Error: ..."
    assert ran.outputs == "exit-code=2\n"
    assert "Traceback" not in ran.log


@pytest.mark.parametrize(("check", "load", "verdict"), [(1, 0, 1), (0, 1, 1), (2, 1, 2), (1, 2, 2), (130, 2, 130)])
def test_the_worst_verdict_of_check_and_load_is_the_actions(tmp_path: Path, check: int, load: int,
                                                            verdict: int) -> None:
    # the step's own verdict logic, alone: a talon-harness on PATH that exits with the given codes
    shims = tmp_path / "bin"
    shims.mkdir()
    (shims / "talon-harness").write_text(f'#!/bin/sh\n[ "$1" = check ] && exit {check}\nexit {load}\n')
    (shims / "talon-harness").chmod(0o755)
    ran = _harness(tmp_path, path=f"{shims}{os.pathsep}/usr/bin:/bin", command="run", slo="slo.toml")
    assert ran.code == verdict, ran.log
    assert ran.outputs == f"exit-code={verdict}\n"
    assert ran.log.count("+ talon-harness ") == 2

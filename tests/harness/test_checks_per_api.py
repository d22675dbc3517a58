"""Domain checks per API: ``--checks`` / ``--exclude-checks`` take the run's API's rules (a rule of another API
is one line, exit 2, naming the API that has it), a v2 rule restricts a v2 run to itself, and the per-check
tables (console, step summary, HTML) label and sort every API's rules as domain rules."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from rich.console import Console

from talon_harness.contracts.apis import all_rules, domain_checks, is_domain_check, rules_for
from talon_harness.contracts.spec import API_NAMES
from talon_harness.harness._check_render import render
from talon_harness.harness._check_report import Report
from talon_harness.harness.check_config import (
    BUILTIN_CHECKS,
    ORACLE_CHECK,
    CheckConfig,
    CheckResult,
    known_checks,
)
from talon_harness.harness.check_config import validate as validate_config
from talon_harness.harness.cli_options import check_names
from talon_harness.harness.html_report import write_check_report
from talon_harness.harness.summary import check_summary
from talon_harness.refserver import ServerProcess
from tests.harness.conftest import ROOT, ci_env, run_cli

SHORT = ["--max-examples", "3", "--max-time", "6", "--seed", "1"]
#: the v2 rule that schemathesis' cases reach in a short run (the answer carries what it judges)
V2_RULE = "v2_response_content"


def _refusal(api: str, rule: str, owners: str) -> str:
    return (f"unknown check(s) [{rule!r}] for --api {api}; {rule} is a rule of --api {owners}; "
            f"known: {sorted(known_checks(api))}")


def test_each_api_has_its_own_domain_check_names_and_the_cli_choices_have_them_all() -> None:
    assert domain_checks("v1") == domain_checks("v1-2021") == tuple(rules_for("v1"))
    assert domain_checks("v2") == tuple(rules_for("v2")) and V2_RULE in domain_checks("v2")
    assert not set(domain_checks("v1")) & set(domain_checks("v2"))
    assert set(check_names()) == {*BUILTIN_CHECKS, *all_rules(), "all"}
    assert all(is_domain_check(n) for n in all_rules()) and not is_domain_check("not_a_server_error")
    assert not is_domain_check(ORACLE_CHECK)


@pytest.mark.parametrize("api", API_NAMES)
def test_validate_takes_exactly_the_apis_own_checks(api: str) -> None:
    for name in (*BUILTIN_CHECKS, *domain_checks(api), ORACLE_CHECK, "all"):
        assert validate_config(CheckConfig(base_url="http://127.0.0.1:1", api=api, checks=(name,))) is None, name
    other = "v1" if api == "v2" else "v2"
    rule = domain_checks(other)[0]
    owners = "v2" if other == "v2" else "v1, v1-2021"
    for field in ("checks", "exclude_checks"):
        config = CheckConfig(base_url="http://127.0.0.1:1", api=api, **{field: ("not_a_server_error", rule)})
        assert validate_config(config) == _refusal(api, rule, owners)


def test_an_unknown_name_and_another_apis_rule_in_one_message() -> None:
    config = CheckConfig(base_url="http://127.0.0.1:1", api="v2", checks=("session_state_machine", "nope"))
    assert validate_config(config) == (
        "unknown check(s) ['nope', 'session_state_machine'] for --api v2; session_state_machine is a rule of --api "
        f"v1, v1-2021; known: {sorted(known_checks('v2'))}")


@pytest.mark.parametrize(("api", "rule", "owners"), [("v1", "v2_state_machine", "v2"),
                                                     ("v2", "session_state_machine", "v1, v1-2021"),
                                                     ("v1-2021", "v2_totals", "v2")])
def test_check_refuses_another_apis_rule_in_one_line(api: str, rule: str, owners: str, tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "talon_harness.harness", "check", "--api", api, "--checks", rule,
                           *SHORT, "--report-dir", str(tmp_path / "r")], capture_output=True, text=True, cwd=ROOT,
                          env=ci_env(), stdin=subprocess.DEVNULL, timeout=120, check=False)
    lines = (proc.stdout + proc.stderr).strip().splitlines()
    assert proc.returncode == 2, lines
    assert len(lines) == 1 and re.fullmatch(r"[Ee]rror: (.*)", lines[0]), lines
    assert lines[0][len("Error: "):] == _refusal(api, rule, owners)


def _summary_rows(summary: str) -> list[tuple[str, str, int, int]]:
    return [(name, kind, int(passed), int(failed)) for name, kind, passed, failed in re.findall(
        r"^\| `(\w+)` \| (domain|built-in) \| (\d+) \| \**(\d+)\** \| \d+ \|$", summary, re.MULTILINE)]


def test_check_v2_with_one_v2_rule_runs_it_alone_as_a_domain_check(tmp_path: Path) -> None:
    run = run_cli(["check", "--api", "v2", "--checks", V2_RULE, *SHORT], tmp_path)
    assert run.rc == 0, run.output[-3000:]
    rows = _summary_rows(run.step_summary)
    assert [(name, kind, failed) for name, kind, _, failed in rows] == [(V2_RULE, "domain", 0)], run.step_summary
    assert rows[0][2] > 0  # judged, not merely listed
    assert re.search(rf"^│ {V2_RULE} +│ domain +│ +[1-9]\d* │ +0 │", run.output, re.MULTILINE), run.output[-3000:]
    page = (run.report_dir / "report.html").read_text(encoding="utf-8")
    assert f"<td class=''>{V2_RULE}</td><td class=''>domain</td>" in page
    assert re.search(r"^PASSED  target=http://127\.0\.0\.1:\d+  cases=\d+  requests=\d+  failures=0  seed=1  ",
                     run.output, re.MULTILINE)


def test_checks_restricts_a_v2_run_to_the_named_rule(tmp_path: Path) -> None:
    """On a server whose closed sessions take changes (a v2_state_machine fault the witness phase finds),
    ``--checks v2_response_content`` passes (the fault's findings are another rule's) and ``--checks
    v2_state_machine`` fails on exactly that rule."""
    with ServerProcess(quiet=True, api="v1-2021", faults=["v2_closed_session_mutable"]) as server:
        other = run_cli(["check", "--api", "v2", "--base-url", server.base_url, "--checks", V2_RULE, *SHORT],
                        tmp_path / "other")
        named = run_cli(["check", "--api", "v2", "--base-url", server.base_url, "--checks", "v2_state_machine",
                         *SHORT], tmp_path / "named")
    assert other.rc == 0, other.output[-3000:]
    assert "Witness failure" not in other.output
    assert named.rc == 1, named.output[-3000:]
    assert set(re.findall(r"Witness failure \d+: (\w+)", named.output)) == {"v2_state_machine"}
    assert set(re.findall(r"(?<!Witness )Failure \d+: (\w+)", named.output)) <= {"v2_state_machine"}


def _report(checks: dict[str, tuple[int, int]]) -> Report:
    return Report(cases_per_phase={"fuzzing": Counter(positive=10)}, operations={},
                  checks={name: Counter(success=s, failure=f) for name, (s, f) in checks.items()}, failures=())


def test_every_renderer_labels_and_sorts_every_apis_rules_as_domain(tmp_path: Path) -> None:
    report = _report({"allow_header_conformance": (10, 0), "v2_totals": (4, 0), "not_a_server_error": (10, 0),
                      "session_state_machine": (3, 0), "matches_reference": (9, 0)})
    expected = [("session_state_machine", "domain"), ("v2_totals", "domain"),
                ("allow_header_conformance", "built-in"), ("matches_reference", "built-in"),
                ("not_a_server_error", "built-in")]
    result = CheckResult(0, 1, 1.0, report, tmp_path)
    summary, _ = check_summary(result, base_url="http://127.0.0.1:1")
    assert [(name, kind) for name, kind, _, _ in _summary_rows(summary)] == expected
    console = Console(record=True, width=200, color_system=None)
    render(console, report, seed=1, seconds=1.0, exit_code=0, message="", report_dir=tmp_path,
           base_url="http://127.0.0.1:1")
    shown = re.findall(r"^│ (\w+) +│ (domain|built-in) +│", console.export_text(), re.MULTILINE)
    assert shown == expected
    page = write_check_report(result, base_url="http://127.0.0.1:1").read_text(encoding="utf-8")
    assert re.findall(r"<tr><td class=''>(\w+)</td><td class=''>(domain|built-in)</td>", page) == expected

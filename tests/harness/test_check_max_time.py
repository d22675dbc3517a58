"""`check --max-time` bounds the whole check: the witness phase gets the deadline (from its start), ``st run`` the
whole seconds left (at least ``SCHEMATHESIS_FLOOR_S``). A check cut short never passes: exit 2 without a failure,
1 with one, and one line naming what did not run and the --max-time that would do. Real HTTP on loopback: the
reference server answering every request late (tests/robustness/chaos.py ``serve_slow``)."""

from __future__ import annotations

import json
import math
import re
import time
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from talon_harness.contracts.witness import WITNESSES, WitnessResult, run_witnesses
from talon_harness.harness import check
from talon_harness.harness.check import SCHEMATHESIS_FLOOR_S, CheckConfig, run_check
from tests.robustness.chaos import serve_slow

#: each answer of the slow target comes this late; the check's --max-time
DELAY_S, MAX_TIME = 0.3, 2.0
#: PUTs of the whole phase (v1's witnesses, the default --api)
STEPS = sum(len(w.build("X")) for w in WITNESSES.values())
#: the line of a check whose --max-time ended the witness phase (groups: ran, sent, seconds, not run, --max-time)
CUT_LINE = (rf"witness phase: (\d+) of {len(WITNESSES)} witnesses ran before --max-time 2 s ended it \((\d+) of "
            rf"{STEPS} requests sent in (\d+\.\d) s; not run: ([a-z_, ]+)\); schemathesis did not run: --max-time "
            r"(\d+) or more would run every witness and leave schemathesis 2 s")


def _console() -> Console:
    return Console(record=True, width=1000, force_terminal=False)


def _config(url: str, report_dir: Path, **kwargs: Any) -> CheckConfig:
    return CheckConfig(base_url=url, fresh_server=True, report_dir=report_dir, max_examples=3, phases=("examples",),
                       seed=1, **{"max_time": MAX_TIME, **kwargs})


def _assert_cut_line(message: str, witness: WitnessResult) -> None:
    """``message`` is exactly the cut-short line, and every number in it is the phase's."""
    match = re.fullmatch(CUT_LINE, message)
    assert match, message
    ran, sent, not_run, enough = int(match[1]), int(match[2]), match[4].split(", "), int(match[5])
    assert (ran, sent, tuple(not_run)) == (witness.ran, len(witness.journal), witness.not_run)
    assert ran + len(not_run) == witness.planned == len(WITNESSES) and list(WITNESSES)[ran:] == not_run
    assert 0 < sent < STEPS and enough == math.ceil(witness.seconds * STEPS / sent) + math.ceil(MAX_TIME)


def test_a_witness_phase_cut_short_by_max_time_is_exit_2_with_one_line(tmp_path: Path) -> None:
    console = _console()
    with serve_slow(DELAY_S) as url:
        result = run_check(_config(url, tmp_path), console=console)
    assert result.exit_code == 2, result.message
    witness = result.witness
    assert witness is not None and witness.failures == () and witness.error == ""
    _assert_cut_line(result.message, witness)
    # the deadline, then the step in flight (one late answer, no read-back on the first witnesses)
    assert MAX_TIME <= witness.seconds < MAX_TIME + DELAY_S + 1.0, witness.seconds
    assert result.report is None and not (tmp_path / "schemathesis.log").exists()  # st run did not start
    saved = json.loads((tmp_path / "witness.json").read_text())
    assert (saved["planned"], saved["not_run"], saved["error"]) == (len(WITNESSES), list(witness.not_run), "")
    text = console.export_text()
    assert result.message in text.splitlines() and "ERROR" in text and "PASSED" not in text


def test_a_witness_failure_before_max_time_ends_the_phase_is_exit_1_and_names_what_did_not_run(
        tmp_path: Path) -> None:
    console = _console()
    with serve_slow(DELAY_S, faults=["first_session_always_true"]) as url:  # the first witness fails on it
        result = run_check(_config(url, tmp_path), console=console)
    assert result.exit_code == 1, result.message
    assert result.witness is not None and result.witness.failed_checks == ("first_session_and_profile_autocreation",)
    _assert_cut_line(result.message, result.witness)
    assert result.report is None and result.regressions  # replayable, like any witness failure
    assert "FAILED" in console.export_text()


def test_too_little_left_for_schemathesis_is_exit_2_and_st_run_does_not_start(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The witness phase ran whole but left less than SCHEMATHESIS_FLOOR_S of --max-time."""

    def slow_phase(*args: Any, deadline: float, **kwargs: Any) -> WitnessResult:
        result = run_witnesses(*args, deadline=deadline, **kwargs)
        time.sleep(max(0.0, deadline - SCHEMATHESIS_FLOOR_S / 2 - time.monotonic()))
        return result

    monkeypatch.setattr(check, "run_witnesses", slow_phase)
    with serve_slow(0.0) as url:
        result = run_check(_config(url, tmp_path), console=_console())
    assert result.exit_code == 2, result.message
    assert result.witness is not None and result.witness.not_run == () and result.witness.failures == ()
    match = re.fullmatch(r"schemathesis did not run: the witness phase took (\d+\.\d) s of --max-time 2 s, leaving "
                         r"less than the 1 s schemathesis needs: --max-time (\d+) or more would leave it 2 s",
                         result.message)
    assert match and int(match[2]) == math.ceil(result.witness.seconds) + 2, result.message
    assert result.report is None and not (tmp_path / "schemathesis.log").exists()


def test_st_run_gets_the_whole_seconds_the_witness_phase_left(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    given: list[float] = []

    def child_argv(config: CheckConfig, *args: Any) -> list[str]:
        given.append(config.max_time)
        return real(config, *args)

    real = check.child_argv
    monkeypatch.setattr(check, "child_argv", child_argv)
    with serve_slow(0.0) as url:
        result = run_check(_config(url, tmp_path, max_time=5), console=_console())
    assert result.exit_code == 0, result.message
    assert result.witness is not None and result.witness.ran == result.witness.planned == len(WITNESSES)
    left = 5 - result.witness.seconds  # less the moment between the phase's end and st run's start
    assert given in ([math.floor(left)], [math.floor(left) - 1]), (given, result.witness.seconds)

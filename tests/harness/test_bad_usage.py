"""Issue 12.1: every bad option value, unknown name and malformed file of every command is one line
``Error: ...`` naming the option, exit code 2, no traceback, and nothing is started.

The cases are derived from the click command objects: every option of every command gets the bad
values of its type (``_bad_values``), every file option a missing, an empty and a malformed file. An
option whose type this test does not know fails the test, so a new option is covered (or flagged) on
its own. The library entry points are replaced by a sentinel that exits 99, so a bad value that slips
through parsing shows as exit 99 instead of starting a server. A few cases also run the real entry
point as a subprocess.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from talon_harness.harness import params
from talon_harness.harness.cli import main

COMMANDS: dict[str, click.Command] = dict(main.commands)
#: what each entry point is, so a bad value that parses is caught before it runs anything
ENTRY_POINTS = (
    ("talon_harness.refserver", "serve"),
    ("talon_harness.harness.check", "run_check"),
    ("talon_harness.loadtests.run", "run_load"),
    ("talon_harness.loadtests.run", "run_worker"),
    ("talon_harness.harness.pipeline", "run_pipeline"),
    ("talon_harness.harness.selftest", "run_selftest"),
    ("talon_harness.harness.target", "target"),
)
MALFORMED: dict[type[params.ContentFile], tuple[str, str]] = {
    params.RulesFile: ("rules.json", '{"coupons": {"X": {"campaignId": 1'),
    params.SloFile: ("slo.toml", "[overall\np95_ms = "),
    params.BaselineFile: ("baseline.json", "{not json"),
    params.RulesPath: ("rules.json", '{"coupons": {"X": {"campaignId": 1'),
    params.RecordingFile: ("traffic.ndjson", '{"offset_ms": 0, "method": "PUT", "path'),
}
#: well-formed files with wrong content
WRONG: dict[type[params.ContentFile], tuple[str, str]] = {
    params.RulesFile: ("rules.json", '{"coupons": 5}'),
    params.SloFile: ("slo.toml", "[overall]\nno_such_metric = 1\n"),
    params.BaselineFile: ("baseline.json", "[1, 2]"),
    params.RulesPath: ("rules.json", '{"coupons": 5}'),
    params.RecordingFile: ("traffic.ndjson", '{"offset_ms": 0, "method": "GET", "path": "/elsewhere"}\n'),
}


@pytest.fixture(autouse=True)
def nothing_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    def started(*_: Any, **__: Any) -> None:
        raise SystemExit(99)

    for module, name in ENTRY_POINTS:
        monkeypatch.setattr(importlib.import_module(module), name, started)


def _invoke(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(main, args, env={"TALON_API_KEY": None, "TALON_HMAC": None})
    return result.exit_code, result.output


def _assert_one_line_error(args: list[str], code: int, output: str, names: str | None) -> None:
    lines = [line for line in output.splitlines() if line.strip()]
    assert code == 2, f"{args}: exit {code}\n{output}"
    assert "Traceback" not in output, output
    assert len(lines) == 1 and lines[0].startswith("Error: "), f"{args}:\n{output}"
    if names is not None:
        assert names in lines[0], f"{args}: the message does not name {names}: {lines[0]}"


def _bad_values(param: click.Option, tmp: Path) -> list[str]:
    """Values of ``param``'s type that must be rejected."""
    kind = param.type
    if isinstance(kind, (click.IntRange, click.FloatRange)):
        out = ["x"]
        if kind.min is not None:
            out.append(str(kind.min - 1 if kind.min_open is False else kind.min))
        if kind.max is not None:
            out.append(str(kind.max + 1))
        return out
    if isinstance(kind, (click.Choice, params.Names)):
        return ["nonexistent"] + (["steady,nonexistent"] if isinstance(kind, params.Names) and kind.many else [])
    if isinstance(kind, params.Duration):
        return ["abc", "1h30x", "-5", "0", "2d"]
    if isinstance(kind, params.Secret):
        return ["", "a key"]
    if isinstance(kind, params.HmacCredentials):
        return ["xyz", "1:xyz", "0:0123456789abcdef", "x:0123456789abcdef", "1:0123456789abcdeg"]
    if isinstance(kind, params.Url):
        return ["ftp://x", "not a url", "http://127.0.0.1:99999"]
    if isinstance(kind, params.Host):
        return ["no such host!"]
    if isinstance(kind, params.FieldNames):
        return ["a b", "x,,y", "1st"]
    if isinstance(kind, params.OutputFile):
        return [str(tmp), str(tmp / "no-such-folder" / "out.ndjson")]
    if isinstance(kind, params.SqliteFile):
        garbage = tmp / "garbage.db"
        garbage.write_text("this is not a database")
        return [str(tmp), str(garbage)]
    if isinstance(kind, click.Path) and not kind.file_okay:
        existing = tmp / "a-file"
        existing.write_text("x")
        return [str(existing)]
    if isinstance(kind, params.ContentFile):
        return _bad_files(type(kind), tmp)
    raise AssertionError(f"option {param.opts} has type {kind!r}, unknown to this test: give it a checked type "
                         "from harness.params (or add its bad values here)")


def _bad_files(kind: type[params.ContentFile], tmp: Path) -> list[str]:
    name, malformed = MALFORMED[kind]
    wrong_name, wrong = WRONG[kind]
    (tmp / "empty").mkdir()
    (tmp / "empty" / name).write_text("")
    (tmp / "malformed").mkdir()
    (tmp / "malformed" / name).write_text(malformed)
    (tmp / "wrong").mkdir()
    (tmp / "wrong" / wrong_name).write_text(wrong)
    return [str(tmp / "missing" / name), str(tmp / "empty" / name), str(tmp / "malformed" / name),
            str(tmp / "wrong" / wrong_name), str(tmp)]


def _cases() -> Iterator[Any]:
    for command_name, command in COMMANDS.items():
        for param in command.params:
            if isinstance(param, click.Option):
                yield pytest.param(command_name, param.name, id=f"{command_name}-{param.opts[0]}")


@pytest.mark.parametrize(("command_name", "param_name"), list(_cases()))
def test_every_bad_option_value_is_one_line_error_exit_2(command_name: str, param_name: str,
                                                         tmp_path: Path) -> None:
    param = next(p for p in COMMANDS[command_name].params if p.name == param_name)
    assert isinstance(param, click.Option)
    option = max(param.opts, key=len)
    values = [f"{option}=x"] if param.is_flag else _bad_values(param, tmp_path)
    assert values
    for value in values:
        args = [command_name, value] if param.is_flag else [command_name, option, value]
        code, output = _invoke(args)
        _assert_one_line_error(args, code, output, option)


@pytest.mark.parametrize("command_name", sorted(COMMANDS))
def test_unknown_option_and_stray_argument_are_one_line_errors(command_name: str) -> None:
    for args in ([command_name, "--no-such-option"], [command_name, "stray"]):
        code, output = _invoke(args)
        _assert_one_line_error(args, code, output, args[1])


def test_unknown_command_is_one_line_error() -> None:
    code, output = _invoke(["chek"])
    _assert_one_line_error(["chek"], code, output, "chek")


@pytest.mark.parametrize("args", [
    ["load", "--users", "2", "--rate", "3"],
    ["check", "--api-key", "k", "--hmac", "1:0123456789abcdef"],
    ["load", "--rate", "3", "--shape", "ramp"],
    ["load", "--base-url", "http://192.0.2.1:8000"],
    ["run", "--base-url", "http://192.0.2.1:8000"],
    ["serve", "--hmac", "2:0123456789abcdef", "--application-id", "3"],
    ["load", "--worker", "--rate", "3"],
    ["load", "--master"],
    ["load", "--expect-workers", "2"],
    ["load", "--master", "--expect-workers", "2", "--workers", "2"],
    ["load", "--master", "--worker"],
], ids=["users-and-rate", "two-credentials", "shape-with-rate", "load-remote", "run-remote", "hmac-app-id",
        "worker-with-rate", "master-without-workers", "workers-without-master", "master-and-forked", "master-and-worker"])
def test_conflicting_options_are_one_line_errors(args: list[str]) -> None:
    code, output = _invoke(args)
    _assert_one_line_error(args, code, output, None)


def test_secrets_are_never_echoed_in_the_error(tmp_path: Path) -> None:
    for args in (["check", "--hmac", "7:0123456789abcdeZ"], ["serve", "--api-key", "secret with space"]):
        code, output = _invoke(args)
        _assert_one_line_error(args, code, output, args[1])
        assert args[2] not in output


def test_malformed_credentials_from_the_environment_are_one_line_errors() -> None:
    result = CliRunner().invoke(main, ["check"], env={"TALON_HMAC": "not-app-id-and-key", "TALON_API_KEY": None})
    _assert_one_line_error(["TALON_HMAC=..."], result.exit_code, result.output, "--hmac")


def test_unexpected_exception_is_one_line_error_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    from talon_harness.harness import selftest

    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("something inside broke\nsecond line")

    monkeypatch.setattr(selftest, "run_selftest", broken)
    code, output = _invoke(["selftest", "--faults", "crash_on_nul"])
    _assert_one_line_error(["selftest"], code, output, "RuntimeError: something inside broke second line")


def test_ctrl_c_outside_a_run_exits_130(monkeypatch: pytest.MonkeyPatch) -> None:
    from talon_harness.harness import selftest

    def interrupted(*_: Any, **__: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(selftest, "run_selftest", interrupted)
    code, output = _invoke(["selftest"])
    assert code == 130 and "Traceback" not in output and output.strip() == "Error: interrupted"


def test_help_and_version_exit_0() -> None:
    for args in (["--help"], ["--version"], *([name, "--help"] for name in COMMANDS)):
        code, output = _invoke(args)
        assert code == 0 and output.strip(), args


@pytest.mark.parametrize("args", [
    ["serve", "--fault", "nonexistent"],
    ["serve", "--hmac", "xyz"],
    ["serve", "--rules", "{malformed}"],
    ["load", "--shape", "wave"],
    ["load", "--slo", "{malformed}"],
], ids=["serve-fault", "serve-hmac", "serve-rules", "load-shape", "load-slo"])
def test_reported_tracebacks_are_one_line_errors_from_the_real_entry_point(args: list[str], tmp_path: Path) -> None:
    """The five inputs issue 12 saw end in a traceback, through ``python -m talon_harness.harness``."""
    rules, slo = tmp_path / "rules.json", tmp_path / "slo.toml"
    rules.write_text("{not json")
    slo.write_text("[overall\n")
    argv = [a.replace("{malformed}", str(rules if "--rules" in args else slo)) for a in args]
    proc = subprocess.run([sys.executable, "-m", "talon_harness.harness", *argv], capture_output=True, text=True,
                          timeout=60, check=False)
    _assert_one_line_error(argv, proc.returncode, proc.stdout + proc.stderr, args[1])

"""Issue 13.5: durations as people write them (``90``, ``90s``, ``2m``, ``1h30m``), one parser, every
duration option of every command."""

from __future__ import annotations

from typing import Any

import click
import pytest
from click.testing import CliRunner

from talon_harness.harness.cli import main
from talon_harness.harness.params import Duration, parse_duration
from talon_harness.loadtests.config import DURATION_BOUNDS_S, LoadConfig


@pytest.mark.parametrize(("text", "seconds"), [
    ("90", 90.0), ("2.5", 2.5), ("90s", 90.0), ("2m", 120.0), ("1h30m", 5400.0), ("1h", 3600.0),
    ("1h2m3s", 3723.0), ("1m30s", 90.0), ("1.5m", 90.0), (" 20S ", 20.0), ("0", 0.0),
])
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "s", "m", "abc", "-5", "2d", "1h30x", "30s1m", "1 m", "1,5m", "ms", "500ms"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration; use seconds"):
        parse_duration(text)


def test_duration_type_bounds_and_message() -> None:
    kind = Duration(1, 60)
    assert kind.convert("1m", None, None) == 60.0
    assert kind.convert(5, None, None) == 5.0  # a default given as a number
    with pytest.raises(click.BadParameter, match=r"'2m' is 120 s; expected 1 s to 60 s"):
        kind.convert("2m", None, None)


#: (command, option) -> the argument of the library call that receives the seconds
DURATION_OPTIONS = {
    ("check", "--max-time"): ("talon_harness.harness.check", "run_check", lambda call: call[0][0].max_time),
    ("load", "--duration"): ("talon_harness.loadtests.run", "run_load", lambda call: call[0][0].duration_s),
    ("run", "--duration"): ("talon_harness.harness.pipeline", "run_pipeline", lambda call: call[1]["duration"]),
    ("run", "--max-time"): ("talon_harness.harness.pipeline", "run_pipeline", lambda call: call[1]["check_time"]),
    ("selftest", "--max-time"): ("talon_harness.harness.selftest", "run_selftest",
                                 lambda call: call[0][0].max_time),
}


def test_every_duration_option_is_listed_here() -> None:
    found = {(name, max(p.opts, key=len)) for name, command in main.commands.items() for p in command.params
             if isinstance(p.type, Duration)}
    assert found == set(DURATION_OPTIONS)


@pytest.mark.parametrize(("command", "option"), sorted(DURATION_OPTIONS))
def test_duration_options_take_human_durations(command: str, option: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    module, name, seconds_of = DURATION_OPTIONS[(command, option)]
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def record(*args: Any, **kwargs: Any) -> None:
        calls.append((args, kwargs))
        raise SystemExit(0)

    monkeypatch.setattr(importlib.import_module(module), name, record)
    if command == "load":  # load probes a given --base-url itself before run_load: this test is about the option
        monkeypatch.setattr("talon_harness.harness.cli_load.refuse_wrong_target", lambda *args: None)
    target = ["--base-url", "http://127.0.0.1:9"] if command in ("check", "load", "run") else []
    for text, seconds in (("1m30s", 90.0), ("90", 90.0), ("2m", 120.0)):
        calls.clear()
        result = CliRunner().invoke(main, [command, *target, option, text], env={"TALON_API_KEY": None,
                                                                                   "TALON_HMAC": None})
        assert result.exit_code == 0 and len(calls) == 1, result.output
        assert seconds_of(calls[0]) == seconds


@pytest.mark.parametrize(("command", "option"), sorted(DURATION_OPTIONS))
@pytest.mark.parametrize(("text", "seconds"), [("25h", 90000.0), ("0.5", 0.5)])
def test_one_validation_the_cli_says_what_the_config_says(command: str, option: str, text: str,
                                                           seconds: float) -> None:
    """Issue 26, item 3: every duration option and ``LoadConfig.duration_s`` have one home for their bounds
    (``loadtests.config.DURATION_BOUNDS_S``) and reject a value with the same words."""
    with pytest.raises(ValueError, match=r"^duration_s is ") as raised:
        LoadConfig(base_url="http://127.0.0.1:9", users=1, duration_s=seconds)
    config_says = str(raised.value).removeprefix("duration_s is ")
    assert config_says == f"{seconds:g} s; expected 1 s to 86400 s"
    assert DURATION_BOUNDS_S == (1.0, 86400.0)
    target = ["--base-url", "http://127.0.0.1:9"] if command in ("check", "load", "run") else []
    result = CliRunner().invoke(main, [command, *target, option, text], env={"TALON_API_KEY": None,
                                                                               "TALON_HMAC": None})
    assert result.exit_code == 2
    assert f"Invalid value for '{option}': '{text}' is {config_says}" in " ".join(result.output.split())

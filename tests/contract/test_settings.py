"""The check settings cross to the ``st run`` child once: one JSON variable, credentials inside, read back
into the same dataclass; no key in argv, in the settings' repr/str, or anywhere else in the child's
environment (issue 26, item 3)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from talon_harness.contracts.oracle import OracleRuntime
from talon_harness.contracts.runtime import CheckRuntime
from talon_harness.contracts.settings import SETTINGS_ENV, CheckSettings
from talon_harness.harness._check_child import child_argv, child_env
from talon_harness.harness.check_config import CheckConfig
from talon_harness.strategies.wire import Credentials

CREDS = Credentials(api_key="k-secret", hmac_application_id=7, hmac_key="00112233445566ff")


def test_every_field_round_trips() -> None:
    settings = CheckSettings(fresh=True, workers=3, seed=42, journal="/tmp/j.ndjson",
                             oracle_url="http://127.0.0.1:9", oracle_exclude=("total", "/session/state"),
                             oracle_effects=True, api="v2", credentials=CREDS)
    assert {f.name for f in dataclasses.fields(settings)} == set(dataclasses.asdict(settings))
    assert CheckSettings.from_env(settings.to_env()) == settings
    assert not settings.strict_order


def test_the_settings_never_print_a_key() -> None:
    settings = CheckSettings(seed=1, credentials=CREDS)
    for shown in (repr(settings), str(settings), f"{settings}"):
        assert "k-secret" not in shown and "00112233445566ff" not in shown
        assert "[REDACTED]" in shown
    assert "k-secret" in settings.to_env()[SETTINGS_ENV]  # the child needs the key: in its environment only


def test_no_variable_means_the_defaults() -> None:
    assert CheckSettings.from_env({}) == CheckSettings()


@pytest.mark.parametrize("raw", ["{", "[]", '{"unknown": 1}', '{"workers": 1, "fresh": true, "bogus": 2}'])
def test_a_malformed_value_is_a_value_error_naming_the_variable(raw: str) -> None:
    with pytest.raises(ValueError, match=f"^{SETTINGS_ENV} is not a CheckSettings JSON object"):
        CheckSettings.from_env({SETTINGS_ENV: raw})


def test_the_child_environment_carries_one_settings_value_with_the_credentials(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SETTINGS_ENV, "stale")
    config = CheckConfig(base_url="http://127.0.0.1:1", credentials=CREDS, fresh_server=True, workers=1,
                         oracle=True, oracle_exclude=("total",))
    env = child_env(config, seed=5, journal=Path("/tmp/journal"), oracle_url="http://127.0.0.1:2")
    assert CheckSettings.from_env(env) == CheckSettings(
        fresh=True, workers=1, seed=5, journal="/tmp/journal", oracle_url="http://127.0.0.1:2",
        oracle_exclude=("total",), oracle_effects=True, credentials=CREDS)
    assert [k for k in env if k.startswith("TALON_HARNESS_")] == [SETTINGS_ENV]  # one document, ours
    assert env["SCHEMATHESIS_HOOKS"] == "talon_harness.contracts.hooks"
    assert not [k for k in env if k.startswith("TALON_CHECK_")]
    assert all("k-secret" not in v for k, v in env.items() if k != SETTINGS_ENV)


def test_the_child_argv_holds_no_key(tmp_path: Path) -> None:
    config = CheckConfig(base_url="http://127.0.0.1:1", credentials=CREDS, api="v2")
    paths = {name: tmp_path / name for name in ("dir", "contract", "junit", "json", "ndjson", "html")}
    paths["dir"].mkdir()
    argv = child_argv(config, seed=5, paths=paths)
    assert argv[:4] == [argv[0], "-P", "-m", "schemathesis.cli"]
    assert not [a for a in argv if "k-secret" in a or "00112233445566ff" in a]


def test_both_runtimes_read_the_same_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = CheckSettings(fresh=True, workers=2, seed=9, journal="/tmp/j", oracle_url="http://127.0.0.1:3",
                             oracle_exclude=("state",), oracle_effects=True, credentials=CREDS)
    for key, value in settings.to_env().items():
        monkeypatch.setenv(key, value)
    runtime = CheckRuntime.from_env(mixed=False)
    assert (runtime.model.fresh, runtime.model.strict_order, runtime.credentials) == (True, False, CREDS)
    oracle = OracleRuntime.from_env()
    assert (oracle.url, oracle.exclude, oracle.effects, oracle.fresh, oracle.strict_order, oracle.journal) == (
        "http://127.0.0.1:3", ("state",), True, True, False, "/tmp/j")


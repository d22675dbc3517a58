"""D41: a Locust process's settings cross as one document, ``LoadConfig.to_env()`` (credentials inside) in
``TALON_HARNESS_LOAD``; Locust's argv holds only Locust's options; a master forwards its settings without the
credentials and a worker keeps its own. The plugin is exercised in a subprocess (Locust monkey-patches)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from talon_harness.loadtests import LOAD_SETTINGS_ENV, LoadConfig, SloSet, build_argv
from talon_harness.loadtests.run import child_env
from talon_harness.strategies.wire import Credentials
from tests.ports import free_port

KEY, HMAC_KEY = "sup3r-s3cret-api-key", "00112233AABBCCDD"
#: the only options of Locust's argv (values aside) for a forked-workers run and for a master
LOCUST_OPTIONS = ["-P", "-m", "-f", "--headless", "--host", "-t", "-u", "-r", "--only-summary",
                  "--exit-code-on-error", "--html", "--csv", "--json-file"]  # fmt: skip


def _keyed(tmp_path: Path, **kw: object) -> LoadConfig:
    creds = Credentials(api_key=KEY, hmac_application_id=3, hmac_key=HMAC_KEY)
    args: dict[str, object] = {"base_url": "http://127.0.0.1:9", "users": 3, "shape": "spike", "workers": 2,
                               "max_rate": 100.0, "credentials": creds, "report_dir": tmp_path / "r",
                               "duration_s": 30, "slo": SloSet.default().with_overall(p99_ms=123.0),
                               "journey_weights": {"profile_only": 2}, **kw}  # fmt: skip
    return LoadConfig(**args)  # type: ignore[arg-type]


def test_argv_holds_only_locusts_options_and_the_env_one_document_with_the_keys(tmp_path: Path) -> None:
    config = _keyed(tmp_path)
    argv = build_argv(config)
    assert not any(KEY in a or "00112233" in a.upper() for a in argv)
    assert KEY not in repr(config) and HMAC_KEY not in repr(config) and HMAC_KEY not in str(config)
    assert [a for a in argv if a.startswith("-")] == [*LOCUST_OPTIONS, "--processes", "--master-bind-host",
                                                      "--master-bind-port", "--master-host", "--master-port"]
    assert argv[argv.index("--processes") + 1] == "2" and argv[argv.index("-t") + 1] == "30s"
    env = child_env(config)
    documents = [k for k in env if k.startswith("TALON_HARNESS")]
    assert documents == [LOAD_SETTINGS_ENV] == ["TALON_HARNESS_LOAD"]
    assert LoadConfig.from_env(env) == dataclasses.replace(config, report_dir=(tmp_path / "r").resolve())
    assert json.loads(env[LOAD_SETTINGS_ENV])["credentials"] == {
        "api_key": KEY, "hmac_application_id": 3, "hmac_key": HMAC_KEY}  # fmt: skip
    master = build_argv(_keyed(tmp_path, workers=0, master=True, expect_workers=2, shape=None))
    assert [a for a in master if a.startswith("-")] == [*LOCUST_OPTIONS, "--master", "--expect-workers",
                                                        "--expect-workers-max-wait", "--master-bind-host",
                                                        "--master-bind-port"]  # fmt: skip


def test_the_child_gets_this_runs_document_not_an_inherited_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                ) -> None:
    stale = LoadConfig(base_url="http://127.0.0.1:1", rate=1.0, credentials=Credentials(api_key="stale"))
    monkeypatch.setenv(LOAD_SETTINGS_ENV, stale.to_env()[LOAD_SETTINGS_ENV])
    config = LoadConfig(base_url="http://127.0.0.1:9", users=2, report_dir=tmp_path)
    env = child_env(config)
    assert LoadConfig.from_env(env) == config and "stale" not in env[LOAD_SETTINGS_ENV]
    assert json.loads(env[LOAD_SETTINGS_ENV])["credentials"] is None


def test_the_document_round_trips_every_field_and_settings_take_only_its_credentials(tmp_path: Path) -> None:
    config = _keyed(tmp_path, workers=0, replay_loop=True, late_ms=12.0)
    data = json.loads(config.to_env()[LOAD_SETTINGS_ENV])
    assert set(data) == {f.name for f in dataclasses.fields(LoadConfig)}
    assert LoadConfig.from_env(config.to_env()) == config
    assert LoadConfig.from_env({}) is None
    keys_only = {LOAD_SETTINGS_ENV: json.dumps({"credentials": {"api_key": "own"}})}
    assert LoadConfig.from_env(keys_only) is None  # nothing but credentials: the caller gives the settings
    other = LoadConfig(base_url="http://127.0.0.1:7", rate=2.0, report_dir=tmp_path)
    # a worker: every setting its master forwarded, the credentials of its own document
    assert LoadConfig.from_env(keys_only, settings=other.to_json()) == dataclasses.replace(
        other, credentials=Credentials(api_key="own"))
    assert LoadConfig.from_env(config.to_env(), settings=other.to_json()).credentials == config.credentials
    assert KEY not in config.to_json()
    with pytest.raises(ValueError, match=r"^--talon-config: unknown key\(s\) \['credentials'\]"):
        LoadConfig.from_json(json.dumps({**json.loads(other.to_json()), "credentials": {"api_key": "x"}}))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{", "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
        ("[1]", "expected a JSON object, got list"),
        ('{"users": 1, "validate_sahre": 1}', "unknown key(s) ['validate_sahre']"),
        ('{"base_url": "http://127.0.0.1:1"}', "give exactly one of users (closed model) and rate (open model)"),
        ('{"credentials": {"api_key": "k", "hmac_key": "00112233AABBCCDD"}}',
         "hmac_key and hmac_application_id must be given together (hmac_application_id=None, hmac_key given: True)"),
    ],
)
def test_a_bad_document_is_one_line_naming_the_variable(value: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        LoadConfig.from_env({LOAD_SETTINGS_ENV: value}, settings=None if "base_url" in value or "users" in value
                            else '{"base_url": "http://127.0.0.1:1", "users": 1}')
    assert str(caught.value) == f"TALON_HARNESS_LOAD is not a LoadConfig document: {message}"
    assert "00112233AABBCCDD" not in str(caught.value)


_PLUGIN_SCRIPT = r"""
import json, os, sys
from argparse import Namespace
from locust import events
from locust.env import Environment
from talon_harness.loadtests._plugin import TalonPlugin, config_from_options
from talon_harness.loadtests.config import LoadConfig
from talon_harness.strategies.wire import Credentials

port, report_dir = int(sys.argv[1]), sys.argv[2]
secret = Credentials(api_key="master-only-key")
master_config = LoadConfig(base_url="http://127.0.0.1:9", rate=8.0, master=True, expect_workers=2,
                           report_dir=report_dir, credentials=secret)
os.environ.update(master_config.to_env())
env = Environment(events=events, parsed_options=Namespace(talon_config="", host="", num_users=1))
env.create_master_runner("127.0.0.1", port)
plugin = TalonPlugin.install(env)
forwarded = {k: v for k, v in vars(env.parsed_options).items()}  # what Locust sends each worker at test start
env.runner.quit()

own = {"TALON_HARNESS_LOAD": json.dumps({"credentials": {"api_key": "worker-own-key"}})}
worker = config_from_options(Namespace(talon_config=forwarded["talon_config"]), own, worker=True)
plain = config_from_options(Namespace(talon_config="", host="http://127.0.0.1:5", num_users=3), own)
bare = config_from_options(Namespace(talon_config="", host="http://127.0.0.1:5", num_users=3), {})
print(json.dumps({"master_has_key": plugin.config.credentials == secret, "forwarded": forwarded,
                  "worker": [worker.rate, worker.master, worker.credentials.api_key],
                  "plain": [plain.base_url, plain.users, plain.credentials.api_key],
                  "bare": [bare.base_url, bare.users, bare.credentials]}))
"""


def test_the_master_forwards_settings_without_keys_and_a_worker_keeps_its_own(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-c", _PLUGIN_SCRIPT, str(free_port()), str(tmp_path)],
                         capture_output=True, text=True, timeout=60, check=True)  # fmt: skip
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["master_has_key"]  # the master read its own document, key included
    assert "master-only-key" not in json.dumps(got["forwarded"])
    forwarded = LoadConfig.from_json(got["forwarded"]["talon_config"])
    assert (forwarded.rate, forwarded.expect_workers, forwarded.credentials) == (8.0, 2, None)
    assert got["worker"] == [8.0, True, "worker-own-key"]
    assert got["plain"] == ["http://127.0.0.1:5", 3, "worker-own-key"]  # plain locust -f: --host, -u, its keys
    assert got["bare"] == ["http://127.0.0.1:5", 3, None]

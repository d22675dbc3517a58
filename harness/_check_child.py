"""The ``st run`` child of a check: its argv and its environment, and the contract it reads.

Both derive from one :class:`CheckConfig`: ``child_env`` puts ONE :class:`CheckSettings` document (credentials
inside) into the environment; ``child_argv`` holds only schemathesis' own options, never a secret; the v2 API
key also reaches schemathesis' own auth through :data:`V2_AUTH_ENV` (D34), the one thing it cannot read from
our document."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from talon_harness.contracts.generation import generation_contract
from talon_harness.contracts.settings import SETTINGS_ENV, CheckSettings
from talon_harness.contracts.spec import CONTRACT_FILES
from talon_harness.harness.check_config import ORACLE_CHECK, CheckConfig

#: v2 (D34): the API key reaches schemathesis' own auth (``[auth.openapi.api_key_v1]`` of a config file that
#: names this variable, set in the child's environment only), so ``ignored_auth`` knows the credentials are
#: explicit and probes without them; v1 runs sign in ``contracts.hooks.before_call`` instead (D2's HMAC).
V2_AUTH_ENV = "TALON_HARNESS_V2_AUTHORIZATION"
_V2_AUTH_CONFIG = f'[auth.openapi.api_key_v1]\napi_key = "${{{V2_AUTH_ENV}}}"\n'


def _v2_auth(config: CheckConfig) -> bool:
    return config.api == "v2" and config.credentials is not None and bool(config.credentials.api_key)


def child_argv(config: CheckConfig, seed: int, paths: dict[str, Path]) -> list[str]:
    """``st run``'s argv: reports into ``paths``, the checks, the baseline; no secret."""
    argv = [sys.executable, "-P", "-m", "schemathesis.cli"]
    if _v2_auth(config):
        auth_file = paths["dir"] / "schemathesis.auth.toml"
        auth_file.write_text(_V2_AUTH_CONFIG, encoding="utf-8")
        argv += ["--config-file", str(auth_file)]
    argv += ["run", str(paths["contract"]), "--url", config.base_url,
            "--seed", str(seed), "--max-examples", str(config.max_examples), "--workers", str(config.workers),
            "--max-time", str(max(1, int(config.max_time))), "--mode", config.mode,
            "--phases", ",".join(config.phases), "--generation-database", "none",
            "--request-timeout", str(config.request_timeout), "--suppress-health-check", "all",
            "--report", "junit,json,ndjson,html", "--report-dir", str(paths["dir"]),
            "--report-junit-path", str(paths["junit"]), "--report-json-path", str(paths["json"]),
            "--report-ndjson-path", str(paths["ndjson"]), "--report-html-path", str(paths["html"]),
            "--no-color", "--warnings", "off"]
    checks, excluded = config.checks, config.exclude_checks
    if config.oracle:  # the D1 probe of failed_request_changes_nothing would reach the target only: the oracle's
        checks = (*checks, ORACLE_CHECK) if checks else ()  # own read-back (to both servers) replaces it
        excluded = (*excluded, "failed_request_changes_nothing")
    if checks:
        argv += ["--checks", ",".join(checks)]
    if excluded:
        argv += ["--exclude-checks", ",".join(excluded)]
    if config.baseline is not None:
        argv += ["--baseline", str(Path(config.baseline).resolve())]
        if config.baseline_update:
            argv.append("--baseline-update")
    return argv


def child_env(config: CheckConfig, seed: int, journal: Path | None = None, oracle_url: str | None = None,
         ) -> dict[str, str]:
    """The child's environment: ours minus any settings document of ours, plus this run's one settings
    document (credentials inside)."""
    env = {k: v for k, v in os.environ.items() if k != SETTINGS_ENV}
    settings = CheckSettings(
        fresh=config.fresh_server, workers=config.workers, seed=seed, api=config.api,
        journal=str(journal) if journal is not None else None, oracle_url=oracle_url,
        oracle_exclude=config.oracle_exclude if oracle_url else (),
        oracle_effects=oracle_url is not None and config.oracle_effects, credentials=config.credentials)
    env.update(SCHEMATHESIS_HOOKS="talon_harness.contracts.hooks", **settings.to_env())
    if _v2_auth(config) and config.credentials is not None:
        env[V2_AUTH_ENV] = f"ApiKey-v1 {config.credentials.api_key}"
    return env


def generation_view(config: CheckConfig, report_dir: Path) -> Path:
    """The contract schemathesis reads: the generation view (``contracts.generation``) with one worker, the
    contract as written with several (schemathesis 4.32.5's coverage phase then hits an internal Hypothesis
    "Inconsistent results" error on the view)."""
    if config.workers == 1:
        return generation_contract(report_dir / "contract.generation.yaml", config.api)
    return CONTRACT_FILES[config.api]

"""The contract + domain checks against a server: the embedded reference server by default, or yours.

Run against your own server (it keeps its data; only fresh random ids are assumed unseen)::

    TALON_BASE_URL=http://127.0.0.1:8000 [TALON_API_KEY=... | TALON_HMAC=APP_ID:KEY] pytest tests/contract

``TALON_TEST_SEED`` picks the seed of the CI-budget run (default 1); the 5-seed run is marked slow.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi import checks as builtin

from talon_harness.contracts.generation import generation_contract
from talon_harness.contracts.hooks import SCHEMATHESIS_CHECKS
from talon_harness.contracts.model import Model
from talon_harness.contracts.runtime import CheckRuntime, attach_runtime
from talon_harness.harness.check import BUDGETS, CheckConfig, run_check
from talon_harness.refserver import ServerProcess
from talon_harness.strategies import SESSION, session_journeys
from tests.contract.driver import Driver, user_credentials

USER_URL = os.environ.get("TALON_BASE_URL")


@pytest.fixture
def fresh_target(tmp_path: Path) -> Iterator[tuple[str, bool]]:
    """(base URL, started empty): the user's server, or a new embedded reference server."""
    if USER_URL:
        yield USER_URL.rstrip("/"), False
        return
    with ServerProcess(db=tmp_path / "ref.db", quiet=True) as server:
        yield server.base_url, True


def _run(url: str, fresh: bool, seed: int, report_dir: Path) -> None:
    budget = BUDGETS["ci"]
    result = run_check(CheckConfig(base_url=url, credentials=user_credentials(), seed=seed,
                                   max_examples=budget.max_examples, max_time=budget.max_time,
                                   fresh_server=fresh, report_dir=report_dir, quiet=True))
    assert result.report is not None, result.message
    details = "\n\n".join(f"{f.check}: {f.message}\n{f.curl}" for f in result.report.failures)
    assert result.exit_code == 0, f"seed {seed}: {details or result.message}"
    for phase in ("examples", "coverage", "fuzzing", "stateful"):
        assert sum(result.report.cases_per_phase[phase].values()) > 0, phase


def test_contract_ci_budget(fresh_target: tuple[str, bool], tmp_path: Path) -> None:
    _run(*fresh_target, int(os.environ.get("TALON_TEST_SEED", "1")), tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_contract_ci_budget_five_seeds(fresh_target: tuple[str, bool], tmp_path: Path, seed: int) -> None:
    _run(*fresh_target, seed, tmp_path)


@pytest.fixture(scope="module")
def shared_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if USER_URL:
        yield USER_URL.rstrip("/")
        return
    with ServerProcess(db=tmp_path_factory.mktemp("ref") / "ref.db", quiet=True) as server:
        yield server.base_url


def test_journeys_keep_every_domain_rule(shared_target: str) -> None:
    """strategies.journeys (profile -> open -> cart updates -> close/cancel, anonymous, several sessions per
    profile, retries, illegal transitions) through schemathesis cases with every domain check. Journey ids
    get a fresh random prefix per run (Hypothesis replays examples), so the model may treat them as unseen even on a user's server."""
    driver = Driver(shared_target, fresh=True, credentials=user_credentials())

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(session_journeys(id_prefixes=st.builds(lambda: uuid.uuid4().hex[:12])))
    def run(journey) -> None:  # type: ignore[no-untyped-def]
        for call in journey.calls:
            status = driver.put("session" if call.operation == SESSION else "profile", call.entity_id,
                                {} if call.body is None else call.body)
            assert status == call.expect_status, (journey.kind, call)
        assert driver.failures == [], driver.failures

    run()


def test_stateful_links_with_domain_checks(shared_target: str, tmp_path: Path) -> None:
    """schema.as_state_machine(): the contract's links chain profile -> session -> same session / its profile
    (the generation view of the contract, as `talon-harness check` uses it)."""
    schema = schemathesis.openapi.from_path(generation_contract(tmp_path / "contract.yaml"))
    schema.config.update(base_url=shared_target)
    attach_runtime(schema, CheckRuntime(Model(fresh=False), credentials=user_credentials()))
    checks = [*SCHEMATHESIS_CHECKS.values(),
        builtin.status_code_conformance, builtin.response_schema_conformance, builtin.content_type_conformance]

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case):  # type: ignore[no-untyped-def]
            from talon_harness.contracts.hooks import SignedAuth

            creds = user_credentials()
            return {"auth": SignedAuth(creds)} if creds else {}

        def validate_response(self, response, case, additional_checks=None, **kwargs):  # type: ignore[no-untyped-def]
            case.validate_response(response, checks=checks)

    Workflow.run(settings=settings(max_examples=10, stateful_step_count=8, deadline=None, database=None,
                                   suppress_health_check=list(HealthCheck)))

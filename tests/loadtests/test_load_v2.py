"""``load --api v2``: v2 journeys through Locust against the reference server, v2 response validation, exact
verdicts; a v2 fault the journeys expose fails the run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from talon_harness.loadtests import LoadConfig, SloSet, run_load
from talon_harness.loadtests._contract import ResponseValidator
from talon_harness.loadtests.journeybook import V2_DEFAULT_WEIGHTS, JourneyBook
from talon_harness.refserver import ServerProcess
from talon_harness.strategies.v2_journeys import V2_JOURNEY_KINDS
from talon_harness.strategies.wire import PROFILE_V2, SESSION_V2, Credentials

pytestmark = pytest.mark.timeout(90)

ROOMY = SloSet.default().with_overall(p95_ms=5000.0, p99_ms=10000.0)
NAMES = {"PUT /v2/customer_profiles/[id]", "PUT /v2/customer_sessions/[id]"}


def _cfg(base_url: str, tmp_path: Path, **kw: Any) -> LoadConfig:
    args: dict[str, Any] = {"base_url": base_url, "users": 3, "duration_s": 4, "report_dir": tmp_path / "report",
                            "think_scale": 0.02, "validate_share": 1.0, "slo": ROOMY, "api": "v2"}
    return LoadConfig(**{**args, **kw})


def test_v2_journey_book_builds_v2_puts_with_their_queries() -> None:
    import random

    assert set(V2_DEFAULT_WEIGHTS) == set(V2_JOURNEY_KINDS)
    book = JourneyBook({"dry_preview": 1}, seed=0, marker="m", size=4, api="v2")
    calls = book.issue(random.Random(0), "u-1", Credentials(api_key="k"))
    assert {pc.name for pc in calls} <= {"/v2/customer_profiles/[id]", "/v2/customer_sessions/[id]"}
    assert any("dry=true" in pc.put.path for pc in calls)  # the query travels with the path
    assert all(pc.put.headers["Authorization"] == "ApiKey-v1 k" for pc in calls)
    with pytest.raises(ValueError, match="unknown kinds \\['abandoned_cart'\\]"):
        JourneyBook({"abandoned_cart": 1}, seed=0, marker="m", api="v2")  # a v1 kind


def test_v2_responses_are_validated_against_the_v2_contract() -> None:
    v = ResponseValidator.shared("v2")
    assert v.problem(200, {"effects": [], "createdCoupons": [], "createdReferrals": []}, PROFILE_V2) is None
    assert v.problem(200, {"effects": []}, PROFILE_V2) == (
        'CustomerProfileIntegrationResponseV2 at /: "createdCoupons" is a required property')
    assert v.problem(200, {"effects": []}, SESSION_V2) == 'IntegrationStateV2 at /: "createdCoupons" is a required property'
    assert v.problem(400, {"message": "m", "errors": "x"}, SESSION_V2) == 'ErrorResponse at /errors: "x" is not of types "null", "array"'


def test_load_v2_on_the_reference_server_passes(tmp_path: Path) -> None:
    key = "v2-load-key-0123456789"
    with ServerProcess(api="v1-2021", api_key=key, quiet=True) as server:
        result = run_load(_cfg(server.base_url, tmp_path, credentials=Credentials(api_key=key)))
    assert (result.exit_code, result.breaches) == (0, ())
    assert result.outcome is not None and result.outcome.overall is not None
    assert {e.name for e in result.outcome.endpoints} == {*NAMES, "overall"}
    assert result.outcome.overall.failures == 0 and result.outcome.overall.requests > 20


def test_load_v2_fails_a_server_that_reopens_closed_sessions(tmp_path: Path) -> None:
    with ServerProcess(api="v1-2021", faults=["v2_open_reopens_closed"], quiet=True) as server:
        result = run_load(_cfg(server.base_url, tmp_path, journey_weights={"sdk_client": 1}))
    assert result.exit_code == 1
    assert result.outcome is not None and result.outcome.overall is not None
    assert result.outcome.overall.failures > 0
    assert any("error_ratio" in b for b in result.breaches), result.breaches


def test_mixed_v1_and_v2_traffic_sends_both_and_judges_each_by_its_contract(tmp_path: Path) -> None:
    with ServerProcess(api="v1", quiet=True) as server:  # the seed's revision, v2 beside it
        result = run_load(_cfg(server.base_url, tmp_path, mix="v1"))
    assert (result.exit_code, result.breaches) == (0, ())
    assert result.outcome is not None
    assert {e.name: e.requests > 0 for e in result.outcome.endpoints} == {
        "PUT /v1/customer_profiles/[id]": True, "PUT /v1/customer_sessions/[id]": True, **dict.fromkeys(NAMES, True),
        "overall": True}


def test_a_mix_pairs_v2_with_a_v1_revision() -> None:
    with pytest.raises(ValueError, match=r"^mix must pair v2 with a v1 revision, got api 'v1' and mix 'v1-2021'$"):
        LoadConfig(base_url="http://127.0.0.1:1", users=1, api="v1", mix="v1-2021")


def test_load_on_the_final_v1_revision_leaves_out_the_seed_only_reopen(tmp_path: Path) -> None:
    from talon_harness.loadtests.journeybook import default_weights

    assert "illegal_transition" not in default_weights("v1-2021") and "illegal_transition" in default_weights("v1")
    with pytest.raises(ValueError, match="unknown kinds \\['illegal_transition'\\]"):
        LoadConfig(base_url="http://127.0.0.1:1", users=1, api="v1-2021", journey_weights={"illegal_transition": 1})
    with ServerProcess(api="v1-2021", quiet=True) as server:
        result = run_load(_cfg(server.base_url, tmp_path, api="v1-2021"))
    assert (result.exit_code, result.breaches) == (0, ())

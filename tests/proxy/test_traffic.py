"""The traffic judge on exchanges taken from a real reference server."""

from __future__ import annotations

import httpx
import pytest

from talon_harness.contracts.apis import domain_checks
from talon_harness.contracts.traffic import TRAFFIC_CHECKS, TrafficJudge
from talon_harness.refserver import ServerProcess

JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def exchanges() -> list[tuple[str, bytes, httpx.Response]]:
    """create open, close, then ask it to reopen (400)."""
    with ServerProcess(quiet=True) as server, httpx.Client(base_url=server.base_url) as client:
        out = []
        for body in (b'{"profileId":"t1","total":5}', b'{"state":"closed"}', b'{"state":"open"}'):
            out.append(("/v1/customer_sessions/t1", body, client.put("/v1/customer_sessions/t1", content=body,
                                                                       headers=JSON)))
        return out


def _judge(judge: TrafficJudge, x: tuple[str, bytes, httpx.Response], **flags: bool) -> list[tuple[str, str]]:
    path, body, r = x
    found = judge.judge("PUT", path, JSON, body, r.status_code, dict(r.headers), r.content, **flags)
    assert found is not None
    return [(v.side, v.rule) for v in found]


def test_every_v1_domain_check_that_needs_no_request_of_its_own_is_judged() -> None:
    assert set(domain_checks("v1")) - set(TRAFFIC_CHECKS) == {"failed_request_changes_nothing", "invalid_body_rejected"}


def test_reopening_a_closed_session_is_the_clients_mistake(exchanges: list) -> None:
    judge = TrafficJudge(fresh=True)
    assert [_judge(judge, x) for x in exchanges] == [[], [], [("client", "illegal_transition")]]


def test_a_request_raced_by_another_on_the_same_path_is_not_judged_on_state(exchanges: list) -> None:
    judge = TrafficJudge(fresh=True)
    _judge(judge, exchanges[0])
    _judge(judge, exchanges[1])
    assert _judge(judge, exchanges[2], overlapped=True, contended=True) == []


def test_other_paths_are_passed_over() -> None:
    assert TrafficJudge().judge("GET", "/health", {}, b"", 200, {}, b"ok") is None

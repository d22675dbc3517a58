"""``proxy --api v2`` judges v2 exchanges (client side: the request against integration-v2.yaml; server side: its
answers and the v2 rules, ``contracts.traffic_v2``), flags the query parameters v2 does not declare and records
v2 exchanges; ``load --replay`` replays such a recording (ids remapped, a v2 session's ``customerSession.profileId`` with them, the API key
re-sent) with every status as recorded."""

from __future__ import annotations

import http.server
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from talon_harness.contracts.traffic_v2 import V2TrafficJudge
from talon_harness.loadtests.config import LoadConfig
from talon_harness.loadtests.replay import load_traffic, remap, split
from talon_harness.loadtests.run import run_load
from talon_harness.refserver import ServerProcess
from talon_harness.strategies.wire import SESSION_V2, Credentials

from .conftest import proxy_in_thread

KEY = "v2-proxy-key-0123456789"
AUTH = {"Authorization": f"ApiKey-v1 {KEY}"}


def test_v2_declares_dry_now_and_run_rule_engine_only(tmp_path: Path) -> None:
    with ServerProcess(quiet=True, api="v1-2021") as server, \
            proxy_in_thread(server.base_url, tmp_path, fresh=True, api="v2") as proxy:
        ok = httpx.put(proxy.base_url + "/v2/customer_profiles/p1?runRuleEngine=true&dry=true", json={})
        flagged = httpx.put(proxy.base_url + "/v2/customer_profiles/p1?utm=x", json={})
        outcome = proxy.finish()
    assert (ok.status_code, flagged.status_code) == (200, 200)
    assert [line for line in proxy.lines if "unknown_query_parameter" in line] == [
        ("VIOLATION client unknown_query_parameter PUT /v2/customer_profiles/p1?utm=x -> 200: "
        "query parameter 'utm' is not part of the v2 revision (declared: dry, now, runRuleEngine; D17)")]
    assert outcome.exit_code == 1


class _Broken(http.server.BaseHTTPRequestHandler):
    """A v2 server whose session answer lacks the members IntegrationStateV2 requires."""

    def do_PUT(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        data = b'{"effects": []}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_: Any) -> None:
        pass


def test_a_v2_answer_that_breaks_the_v2_contract_is_the_servers_violation(tmp_path: Path) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Broken)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with proxy_in_thread(f"http://127.0.0.1:{server.server_address[1]}", tmp_path, api="v2") as proxy:
            httpx.put(proxy.base_url + "/v2/customer_sessions/s1", json={"customerSession": {}})
            outcome = proxy.finish()
    finally:
        server.shutdown()
        server.server_close()
    assert [line for line in proxy.lines if line.startswith("VIOLATION")] == [
        ("VIOLATION server response_schema_conformance PUT /v2/customer_sessions/s1 -> 200: "
        'IntegrationStateV2 at /: "createdCoupons" is a required property'),
        ("VIOLATION server v2_response_content PUT /v2/customer_sessions/s1 -> 200: the answer's members are not "
         'the ones responseContent asked for; expected ["createdCoupons", "createdReferrals", "effects"]; '
         'received 200 {"missing": ["createdCoupons", "createdReferrals"], "not asked": []}')]
    assert (outcome.judged, outcome.exit_code) == (1, 1)


def _session(pid: str) -> bytes:
    return json.dumps({"customerSession": {"profileId": pid, "couponCodes": ["SUMMER10"],
                                           "cartItems": [{"name": "x", "sku": "S1", "quantity": 1, "price": 5}]}
                       }).encode()


def test_a_v2_recording_replays_with_remapped_ids_and_every_status_as_recorded(tmp_path: Path) -> None:
    record = tmp_path / "v2.ndjson"
    with ServerProcess(quiet=True, api="v1-2021", api_key=KEY) as server, \
            proxy_in_thread(server.base_url, tmp_path, fresh=True, api="v2", record=record) as proxy:
        sent = [httpx.put(proxy.base_url + "/v2/customer_profiles/c1?runRuleEngine=true", json={}, headers=AUTH),
                httpx.put(proxy.base_url + "/v2/customer_sessions/s1", content=_session("c1"),
                          headers={**AUTH, "Content-Type": "application/json"}),
                httpx.put(proxy.base_url + "/v2/customer_sessions/s1", json={"customerSession": {"state": "closed"}},
                          headers=AUTH),
                httpx.put(proxy.base_url + "/v2/customer_sessions/s1", json={"customerSession": {"cartItems": []}},
                          headers=AUTH)]
        proxy.finish()
    assert [r.status_code for r in sent] == [200, 200, 200, 400]  # the last changes a closed session (D23)
    assert KEY not in record.read_text()
    entries = load_traffic(record)
    moved = remap(entries, "r1-")
    assert [e.entity_id for e in moved] == ["r1-c1", "r1-s1", "r1-s1", "r1-s1"]
    assert moved[1].operation == SESSION_V2 and moved[1].profile_id == "r1-c1"
    assert json.loads(moved[1].body)["customerSession"]["profileId"] == "r1-c1"
    assert len(split(entries, 2)[0]) == 1  # the profile and its session are one customer, kept on one worker
    with ServerProcess(quiet=True, api="v1-2021", api_key=KEY) as fresh:
        result = run_load(LoadConfig(base_url=fresh.base_url, users=1, spawn_rate=1.0, duration_s=4.0,
                                     credentials=Credentials(api_key=KEY), report_dir=tmp_path / "replay",
                                     replay=record, api="v2"))
    assert result.summary_path is not None
    replay = json.loads(result.summary_path.read_text())["replay"]
    assert (replay["sent"], replay["status_matched"], replay["status_mismatched"]) == (4, 4, 0)
    assert result.exit_code == 0, result.breaches


_SEEN = {"responseContent": ["customerSession"]}  # the v2 model learns a session from answers that show it


def _journey(base_url: str) -> list[int]:
    """A v2 customer: profile, a session with a cart, codes and a cost, a dry call, an update, close, a
    default-state "open" sent to the closed session (D23: ignored), cancel; the statuses answered."""
    puts = [("customer_profiles/c1?runRuleEngine=true", {"attributes": {"tier": "gold"}}),
            ("customer_sessions/s1", {"customerSession": {"profileId": "c1", "cartItems": [
                {"name": "x", "sku": "S1", "quantity": 2, "price": 5}]}, **_SEEN}),
            ("customer_sessions/s1", {"customerSession": {"couponCodes": ["SUMMER10"], "additionalCosts": {
                "shipping": {"price": 4}}}, **_SEEN}),
            ("customer_sessions/s1?dry=true&runRuleEngine=true", {"customerSession": {"couponCodes": []}, **_SEEN}),
            ("customer_sessions/s1", {"customerSession": {"referralCode": ""}, **_SEEN}),
            ("customer_sessions/s1", {"customerSession": {"state": "closed"}, **_SEEN}),
            ("customer_sessions/s1", {"customerSession": {"state": "open"}, **_SEEN}),
            ("customer_sessions/s1", {"customerSession": {"state": "cancelled"}, **_SEEN}),
            ("customer_sessions/s2", {"customerSession": {"profileId": "c1"}, **_SEEN})]
    return [httpx.put(f"{base_url}/v2/{path}", json=body).status_code for path, body in puts]


def test_a_clean_v2_journey_through_the_proxy_flags_nothing(tmp_path: Path) -> None:
    with ServerProcess(quiet=True, api="v1-2021") as server, \
            proxy_in_thread(server.base_url, tmp_path, fresh=True, api="v2") as proxy:
        statuses = _journey(proxy.base_url)
        outcome = proxy.finish()
    assert statuses == [200] * 9
    assert proxy.lines == []
    assert (outcome.judged, outcome.violations, outcome.exit_code) == (9, 0, 0)


def test_a_v2_session_reopened_by_the_default_state_is_the_servers_v2_state_machine_violation(
        tmp_path: Path) -> None:
    with ServerProcess(quiet=True, api="v1-2021", faults=["v2_open_reopens_closed"]) as server, \
            proxy_in_thread(server.base_url, tmp_path, fresh=True, api="v2") as proxy:
        _journey(proxy.base_url)
        outcome = proxy.finish()
    assert proxy.lines == [
        ("VIOLATION server v2_state_machine PUT /v2/customer_sessions/s1 -> 200: the session is not in the state "
        'D22/D23 leave it in; expected {"customerSession.state": "closed", "stored before": "closed"}; received 200 '
        '{"customerSession.state": "open"}')]
    assert (outcome.counts, outcome.exit_code) == ({"server v2_state_machine": 1}, 1)


def test_a_stuck_v2_update_count_is_the_servers_v2_update_count_violation(tmp_path: Path) -> None:
    with ServerProcess(quiet=True, api="v1-2021", faults=["v2_update_count_stuck"]) as server, \
            proxy_in_thread(server.base_url, tmp_path, fresh=True, api="v2") as proxy:
        _journey(proxy.base_url)
        outcome = proxy.finish()
    assert proxy.lines[0] == (
        "VIOLATION server v2_update_count PUT /v2/customer_sessions/s1 -> 200: updateCount does not count the "
        'calls; expected {"customerSession.updateCount": 2}; received 200 {"customerSession.updateCount": 1}')
    # the update after the dry call builds on a count the dry call seems to have written: D28's rule sees it too
    assert outcome.counts == {"server v2_update_count": 5, "server v2_dry_persists_nothing": 1}
    assert outcome.exit_code == 1


def test_a_v2_body_that_breaks_the_request_schema_is_the_clients_violation(tmp_path: Path) -> None:
    with ServerProcess(quiet=True, api="v1-2021") as server, \
            proxy_in_thread(server.base_url, tmp_path, fresh=True, api="v2") as proxy:
        answer = httpx.put(proxy.base_url + "/v2/customer_sessions/s9", json={"customerSession": {"cartItems": "x"}})
        post = httpx.post(proxy.base_url + "/v2/customer_profiles/p9", json={})
        outcome = proxy.finish()
    assert (answer.status_code, post.status_code) == (400, 405)
    assert proxy.lines == [
        ('VIOLATION client request_schema PUT /v2/customer_sessions/s9 -> 400: /customerSession/cartItems: "x" is '
        'not of types "null", "array"'),
        ("VIOLATION client method_not_allowed POST /v2/customer_profiles/p9 -> 405: POST is not defined on this "
        "path; only PUT is (D24/D1: 405)")]
    assert (outcome.counts, outcome.exit_code) == (
        {"client request_schema": 1, "client method_not_allowed": 1}, 1)
    junit = outcome.report_junit.read_text()
    assert 'name="v2_update_count"' in junit and 'name="illegal_transition"' not in junit  # v2's rules listed


def _updates(base_url: str, worker: int) -> list[int]:
    with httpx.Client() as client:
        return [client.put(f"{base_url}/v2/customer_sessions/shared", json={"customerSession": {"cartItems": [
            {"name": "x", "sku": f"S{worker}-{k}", "quantity": 1, "price": k + 1}]}, **_SEEN}).status_code
            for k in range(20)]


def test_concurrent_v2_updates_of_one_session_are_not_judged_on_a_guessed_order(tmp_path: Path) -> None:
    """Six clients update one session at once: the order the server applied them in is unknown, so the
    session is forgotten after each contended exchange, and a correct server is never blamed for it."""
    with ServerProcess(quiet=True, api="v1-2021") as server, \
            proxy_in_thread(server.base_url, tmp_path, fresh=True, api="v2") as proxy:
        with ThreadPoolExecutor(6) as pool:
            statuses = [s for worker in pool.map(lambda w: _updates(proxy.base_url, w), range(6)) for s in worker]
        outcome = proxy.finish()
    assert statuses == [200] * 120
    assert proxy.lines == []
    assert (outcome.judged, outcome.exit_code) == (120, 0)


def test_a_contended_v2_exchange_makes_its_session_unknown_to_the_judge() -> None:
    """Deterministically, what the concurrent test above meets by chance: two updates of one session
    complete in the opposite order to the server's, so neither is learnt from; a judge that kept the session
    it knew before them would expect updateCount 2 of the next call (the server's answer is 4)."""
    with ServerProcess(quiet=True, api="v1-2021") as server:
        answers = [httpx.put(server.base_url + "/v2/customer_sessions/s1", json={"customerSession": {
            "attributes": {"n": n}}, **_SEEN}) for n in range(4)]
    assert [a.json()["customerSession"]["updateCount"] for a in answers] == [1, 2, 3, 4]
    judge = V2TrafficJudge()
    found = []
    for index, contended in ((0, False), (2, True), (1, True), (3, False)):
        answer = answers[index]
        found += judge.judge("PUT", "/v2/customer_sessions/s1", {"Content-Type": "application/json"},
                             answer.request.content, 200, dict(answer.headers), answer.content,
                             overlapped=contended, contended=contended) or []
    assert found == []

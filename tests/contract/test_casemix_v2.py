"""The v2 case mix (``contracts.casemix_v2``) puts v2 calls asking for the session into schemathesis' cases,
every call it sends is one the correct v2 server accepts or refuses as D22 says, and a short ``check --api
v2`` judges every v2 rule in schemathesis' own phases (the ``st run`` child's per-check table), not only in
the witness phase."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from schemathesis import GenerationMode

from talon_harness.contracts import _schemathesis as adapter
from talon_harness.contracts.apis import rules_for, v2_domain_refusal
from talon_harness.contracts.casemix_v2 import ASKED, CaseMixV2
from talon_harness.contracts.spec import CONTRACT_FILES
from talon_harness.harness.check import CheckConfig, run_check
from talon_harness.refserver import ServerConfig, ServerProcess, Store, create_app
from talon_harness.strategies.v2_invalid import V2Invalid
from talon_harness.strategies.wire import SESSION_V2, V2_PATH_PREFIXES, Credentials, build_put
from tests.contract.driver import serve

KEY = "casemix-v2-key-0123456789"
_LOCATIONS = ("path", "query", "header", "cookie", "body")
_STATE_TITLES = {"Illegal state transition", "Session closed"}


def _session_cases(mode: GenerationMode, count: int) -> list[Any]:
    """The first ``count`` distinct generated updateCustomerSessionV2 cases (fuzzing phase) of ``mode``."""
    schema = schemathesis.openapi.from_path(CONTRACT_FILES["v2"])
    operation = schema[V2_PATH_PREFIXES[SESSION_V2] + "{customerSessionId}"]["PUT"]
    cases: list[Any] = []
    seen: set[str] = set()

    @hypothesis_seed(0)
    @settings(max_examples=max(count * 4, 200), database=None, phases=[Phase.generate], deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(operation.as_strategy(generation_mode=mode))
    def collect(case: Any) -> None:
        negative = {w for w in _LOCATIONS if adapter.is_negative_at(case, w)}
        wanted = not negative if mode == GenerationMode.POSITIVE else negative == {"body"}
        if wanted and len(cases) < count and _generated(case) not in seen:
            seen.add(_generated(case))
            cases.append(case)

    collect()
    assert len(cases) == count
    return cases


def _generated(case: Any) -> str:
    return json.dumps([case.path_parameters, case.query, case.body], sort_keys=True, default=repr)


def test_every_other_positive_case_gets_a_v2_call_asking_for_the_session_and_a_replay_the_same() -> None:
    mix = CaseMixV2(seed=0)
    cases = _session_cases(GenerationMode.POSITIVE, 40)
    generated = [_generated(case) for case in cases]
    picked = [mix.swap_in(case) for case in cases]
    assert [p is not None for p in picked] == [n % 2 == 0 for n in range(40)]
    for case, call, before in zip(cases, picked, generated, strict=True):
        if call is None:  # sent as schemathesis generated it
            assert _generated(case) == before
            continue
        assert not isinstance(call, V2Invalid)
        entity_id, body, query = call
        assert case.path_parameters == {"customerSessionId": entity_id} and entity_id.startswith("V2mix")
        assert case.body == body and isinstance(body["customerSession"], dict)
        assert set(ASKED) <= set(body["responseContent"])
        assert case.query == query and all(isinstance(v, str) for v in query.values())
        assert query.get("dry", "true") in ("true", "false")  # as the SDK writes it, never Python's "True"
    ids = [call[0] for call in picked if isinstance(call, tuple)]
    assert len(set(ids)) < len(ids)  # journeys: several calls to one session
    replay = _session_cases(GenerationMode.POSITIVE, 1)[0]  # Hypothesis replays the first generated case
    assert mix.swap_in(replay) == picked[0]


def test_the_adapter_reads_a_cases_generation_mode() -> None:
    positive, negative = _session_cases(GenerationMode.POSITIVE, 1)[0], _session_cases(GenerationMode.NEGATIVE, 1)[0]
    hand_built = positive.operation.Case(path_parameters={"customerSessionId": "s1"}, body={})
    assert (adapter.generation_mode(positive), adapter.generation_mode(negative)) == ("positive", "negative")
    assert adapter.generation_mode(hand_built) == "" and CaseMixV2(seed=0).swap_in(hand_built) is None


def test_a_body_negative_case_gets_a_v2_invalid_body_rule_example_with_its_query() -> None:
    mix = CaseMixV2(seed=0)
    cases = _session_cases(GenerationMode.NEGATIVE, 3)
    picked = [mix.swap_in(case) for case in cases]
    assert all(isinstance(p, V2Invalid) for p in picked)
    assert len({p.breaks for p in picked if isinstance(p, V2Invalid)}) == 3  # the first round: one rule each
    for case, invalid in zip(cases, picked, strict=True):
        assert isinstance(invalid, V2Invalid) and invalid.parameter is None and invalid.status == 400
        assert case.body == invalid.body and case.query == {}


def test_every_call_the_mix_sends_is_accepted_or_refused_as_d22_says() -> None:
    mix = CaseMixV2(seed=3)
    calls = [mix.swap_in(case) for case in _session_cases(GenerationMode.POSITIVE, 240)]
    sent = [c for c in calls if isinstance(c, tuple)]
    statuses: dict[int, int] = {}
    with ServerProcess(quiet=True, api="v1-2021", api_key=KEY) as server, requests.Session() as http:
        for entity_id, body, query in sent:
            put = build_put(SESSION_V2, entity_id, body, creds=Credentials(api_key=KEY), query=query)
            answer = http.put(server.base_url + put.path, data=put.body, headers=put.headers, timeout=10)
            statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
            if answer.status_code != 200:
                titles = {e.get("title") for e in answer.json().get("errors", [])}
                assert answer.status_code == 400 and titles <= _STATE_TITLES, (put.path, put.body[:300], answer.text)
                assert v2_domain_refusal(400, answer.json())
            else:
                assert set(ASKED) - {"customerProfile"} <= set(answer.json())
    assert len(sent) == 120 and statuses[200] > 100


class _Recorder:
    """ASGI wrapper keeping (raw path with query, body bytes) of every v2 session request."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.requests: list[tuple[str, bytes]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope.get("path", "").startswith(V2_PATH_PREFIXES[SESSION_V2]):
            await self.inner(scope, receive, send)
            return
        chunks: list[bytes] = []

        async def recording() -> dict[str, Any]:
            message = await receive()
            chunks.append(message.get("body", b""))
            return message

        try:
            await self.inner(scope, recording, send)
        finally:
            raw = scope.get("raw_path", b"").decode("latin-1")
            query = scope.get("query_string", b"").decode("latin-1")
            self.requests.append((raw + ("?" + query if query else ""), b"".join(chunks)))


def _asks(body: bytes) -> bool:
    try:
        sent = json.loads(body)
    except ValueError:
        return False
    asked = sent.get("responseContent") if isinstance(sent, dict) else None
    return isinstance(asked, list) and all(c in asked for c in ASKED)


def test_a_short_v2_check_judges_every_v2_rule_in_schemathesis_phases(tmp_path: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Store(Path(tmp) / "ref.db"), ServerConfig(api="v1-2021", api_key=KEY))
        recorder = _Recorder(app)
        with serve(recorder) as url:
            result = run_check(CheckConfig(base_url=url, api="v2", credentials=Credentials(api_key=KEY), seed=0,
                                           max_examples=10, max_time=12, fresh_server=True, witness=False,
                                           phases=("coverage", "fuzzing"), report_dir=tmp_path, quiet=True))
    assert result.exit_code == 0, result.report.failures if result.report else result.message
    assert result.witness is None and result.report is not None  # every count below is st run's
    judged = {rule: result.report.checks.get(rule, {}).get("success", 0) for rule in rules_for("v2")}
    assert all(count >= 1 for count in judged.values()), judged
    mixed = [(urlsplit(path), body) for path, body in recorder.requests  # schemathesis reuses answered ids too
             if unquote(urlsplit(path).path).rsplit("/", 1)[-1].startswith("V2mix") and _asks(body)]
    assert len(mixed) >= 20
    assert any(dict(parse_qsl(url.query)).get("dry") == "true" for url, _ in mixed)

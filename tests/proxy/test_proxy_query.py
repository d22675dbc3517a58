"""`talon-harness proxy` flags query parameters the revision does not declare (D17)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from talon_harness.harness.proxy import ProxyConfig
from talon_harness.refserver import ServerProcess

from .conftest import proxy_in_thread


def test_seed_revision_flags_dry_and_any_other_query_parameter(tmp_path: Path) -> None:
    with ServerProcess(quiet=True) as server, proxy_in_thread(server.base_url, tmp_path, fresh=True) as proxy:
        assert httpx.put(proxy.base_url + "/v1/customer_profiles/p1?dry=true&utm=x", json={}).status_code == 400
        assert httpx.put(proxy.base_url + "/v1/customer_profiles/p1", json={}).status_code == 200
        outcome = proxy.finish()
    flagged = [line for line in proxy.lines if "unknown_query_parameter" in line]
    prefix = "VIOLATION client unknown_query_parameter PUT /v1/customer_profiles/p1?dry=true&utm=x -> 400: "
    assert flagged == [
        prefix + "query parameter 'dry' is not part of the v1 revision (declared: none; D17)",
        prefix + "query parameter 'utm' is not part of the v1 revision (declared: none; D17)"]
    assert outcome.counts["client unknown_query_parameter"] == 2
    assert outcome.exit_code == 1
    assert 'message="2 exchange(s) broke unknown_query_parameter"' in outcome.report_junit.read_text()
    kept = json.loads(outcome.report_json.read_text())["violations_kept"]
    assert [v["side"] for v in kept if v["rule"] == "unknown_query_parameter"] == ["client", "client"]


def test_final_revision_declares_dry_only(tmp_path: Path) -> None:
    with ServerProcess(quiet=True, api="v1-2021") as server, \
            proxy_in_thread(server.base_url, tmp_path, fresh=True, api="v1-2021") as proxy:
        assert httpx.put(proxy.base_url + "/v1/customer_profiles/p1?dry=true", json={}).status_code == 200
        assert httpx.put(proxy.base_url + "/v1/customer_profiles/p1?dry=false&debug=1", json={}).status_code == 200
        outcome = proxy.finish()
    assert [line for line in proxy.lines if "unknown_query_parameter" in line] == [
        "VIOLATION client unknown_query_parameter PUT /v1/customer_profiles/p1?dry=false&debug=1 -> 200: "
        + "query parameter 'debug' is not part of the v1-2021 revision (declared: dry; D17)"]
    assert outcome.counts["client unknown_query_parameter"] == 1


def test_unknown_revision_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^api must be one of v1, v1-2021, v2, got 'v3'$"):
        ProxyConfig(upstream="http://127.0.0.1:1", api="v3")

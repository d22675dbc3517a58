"""Reading, remapping and splitting recordings (no traffic)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from talon_harness.loadtests.replay import ReplayFileError, exchange_record, load_traffic, remap, split


def _line(offset: float, path: str, body: str = "{}", method: str = "PUT", status: int = 200) -> str:
    return json.dumps(exchange_record(offset_ms=offset, method=method, path=path.encode("latin-1"),
                                      headers=[("Content-Type", "application/json"), ("Authorization", "ApiKey-v1 k"),
                                               ("Content-Signature", "signer=1; signature=ab")],
                                      body=body.encode(), status=status, response_headers=[("Set-Cookie", "s=1")],
                                      response_body=b"{}", latency_ms=1.0)) + "\n"


def test_exchange_record_never_holds_credentials() -> None:
    text = _line(0, "/v1/customer_profiles/p")
    assert "ApiKey-v1" not in text and "signature=" not in text and "s=1" not in text
    assert json.loads(text)["headers"] == [["Content-Type", "application/json"]]


def test_only_the_two_operations_are_kept_and_offsets_start_at_zero(tmp_path: Path) -> None:
    f = tmp_path / "r.ndjson"
    f.write_text(_line(500, "/v1/customer_profiles/p1") + _line(600, "/v1/customer_sessions/s1", method="GET",
                 status=405) + _line(700, "/v1/coupons/x") + _line(800, "/v1/customer_sessions/s%2F1?q=1"))
    entries = load_traffic(f)
    assert [(e.offset_ms, e.operation, e.entity_id, e.path) for e in entries] == [
        (0.0, "updateCustomerProfile", "p1", "/v1/customer_profiles/p1"),
        (300.0, "updateCustomerSession", "s/1", "/v1/customer_sessions/s%2F1?q=1")]


def test_remap_keeps_sessions_tied_to_their_profiles(tmp_path: Path) -> None:
    f = tmp_path / "r.ndjson"
    f.write_text(_line(0, "/v1/customer_profiles/p%2F1") + _line(1, "/v1/customer_sessions/s1",
                 '{"profileId":"p/1","total":1}') + _line(2, "/v1/customer_sessions/%00", '{"profileId":""}'))
    a, b, bad = remap(load_traffic(f), "run7-")
    assert a.path == "/v1/customer_profiles/run7-p%2F1" and a.entity_id == "run7-p/1"
    assert b.path == "/v1/customer_sessions/run7-s1"
    assert json.loads(b.body) == {"profileId": "run7-p/1", "total": 1}
    assert (bad.path, bad.entity_id, bad.body) == ("/v1/customer_sessions/%00", None, b'{"profileId":""}')


def test_a_long_id_stays_within_the_id_limit(tmp_path: Path) -> None:
    f = tmp_path / "r.ndjson"
    f.write_text(_line(0, "/v1/customer_profiles/" + "x" * 1000))
    (entry,) = remap(load_traffic(f), "run7-")
    assert entry.entity_id is not None and len(entry.entity_id) == 5 + 64 and entry.entity_id.startswith("run7-")


def test_split_keeps_each_customer_on_one_worker(tmp_path: Path) -> None:
    f = tmp_path / "r.ndjson"
    f.write_text("".join([
        _line(0, "/v1/customer_profiles/a"), _line(1, "/v1/customer_sessions/a1", '{"profileId":"a"}'),
        _line(2, "/v1/customer_profiles/b"), _line(3, "/v1/customer_sessions/anon", '{"profileId":""}'),
        _line(4, "/v1/customer_sessions/a1", '{"state":"closed"}'), _line(5, "/v1/customer_sessions/a2",
                                                                            '{"profileId":"a"}')]))
    shares = split(load_traffic(f), 2)
    by_worker = [[[e.path.rsplit("/", 1)[1] for e in customer] for customer in share] for share in shares]
    assert by_worker == [[["a", "a1", "a1", "a2"]], [["b"], ["anon"]]]


@pytest.mark.parametrize(("text", "message"), [
    ("not json\n", "line 1: not a recording line (JSONDecodeError"),
    ('{"log": {"entries": [{"request": {}}]}}', "not a HAR 1.2 file (KeyError: 'response')"),
    (_line(0, "/v1/other/x"), "no PUT of updateCustomerProfile or updateCustomerSession to replay"),
])
def test_unusable_files_are_one_line_errors(tmp_path: Path, text: str, message: str) -> None:
    f = tmp_path / "r.ndjson"
    f.write_text(text)
    with pytest.raises(ReplayFileError) as info:
        load_traffic(f)
    assert message in str(info.value) and "\n" not in str(info.value)

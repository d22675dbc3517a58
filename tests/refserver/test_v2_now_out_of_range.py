"""D29: a ``now`` that matches RFC 3339 but names no UTC date-time (year 1 before its offset, year 9999 after
it) is a 400 "Invalid value" at the parameter, not a crash; nothing is written. Found by ``check --api v2``
(a schemathesis fuzzing case: ``?now=0001-01-01T00:00:00+00:01&dry=false`` answered 500)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from .conftest import InProcess


@pytest.mark.parametrize("now", ["0001-01-01T00:00:00+00:01", "0001-01-01T00:00:00.000000+0001",
                                 "9999-12-31T23:59:59-00:01"])
@pytest.mark.parametrize("dry", ["true", "false"])
def test_a_now_outside_utc_is_invalid_not_a_crash(in_process: Callable[..., InProcess], now: str, dry: str) -> None:
    app = in_process()
    response = app.put("/v2/customer_sessions/s1", params={"now": now, "dry": dry}, json={"customerSession": {}})
    assert response.status_code == 400, response.text
    assert [(e["title"], e["source"]) for e in response.json()["errors"]] == [("Invalid value", {"parameter": "now"})]
    assert app.store.counts()["events"] == 0

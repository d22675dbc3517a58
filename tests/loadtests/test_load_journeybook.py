"""The journey book: fresh ids per issue, bodies unchanged but for the id prefix, auth over final bytes."""

from __future__ import annotations

import hashlib
import hmac
import random
from collections import Counter

import pytest

from talon_harness.loadtests.journeybook import JourneyBook, PreparedCall
from talon_harness.strategies.wire import Credentials, build_put


def test_issued_journeys_use_only_the_new_prefix() -> None:
    book = JourneyBook({"returning_customer": 1, "coupon_hunter": 1}, seed=3, marker="abc123", size=16)
    rng = random.Random(0)
    seen: set[str] = set()
    for n in range(50):
        prefix = f"run9-{n}"
        for pc in book.issue(rng, prefix, None):
            assert pc.call.entity_id.startswith("abc123T")  # the template's call, kept for expectations
            assert pc.put.path.split("/")[-1].startswith(prefix + "-")
            assert b"abc123" not in pc.put.body
            assert pc.name in ("/v1/customer_profiles/[id]", "/v1/customer_sessions/[id]")
            seen.add(pc.put.path)
    assert len(seen) >= 50 * 2  # a profile and at least one session per journey, never shared


def test_kinds_follow_weights_and_seed_is_reproducible() -> None:
    book = JourneyBook({"profile_only": 3, "anonymous_shopper": 1, "retry": 0}, seed=1, marker="m1", size=400)
    kinds = Counter(t.kind for t in book.templates)
    assert (
        set(kinds) == {"profile_only", "anonymous_shopper"}
        and 2.0 < kinds["profile_only"] / kinds["anonymous_shopper"] < 4.5
    )
    again = JourneyBook(
        {"profile_only": 3, "anonymous_shopper": 1, "retry": 0}, seed=1, marker="m1", size=400
    )
    assert again.templates == book.templates
    with pytest.raises(ValueError, match="nope"):
        JourneyBook({"nope": 1}, seed=1, marker="m")


def test_hmac_signs_the_bytes_actually_sent() -> None:
    creds = Credentials(api_key="k", hmac_application_id=7, hmac_key="0011223344556677")
    book = JourneyBook({"coupon_hunter": 1}, seed=2, marker="zz9", size=4)
    for pc in book.issue(random.Random(1), "fresh-1", creds):
        digest = hmac.new(bytes.fromhex("0011223344556677"), pc.put.body, hashlib.md5).hexdigest()
        assert pc.put.headers["Content-Signature"] == f"signer=7; signature={digest}"
        assert pc.put.headers["Authorization"] == "ApiKey-v1 k"


def test_issue_sends_what_build_put_builds() -> None:
    """Without credentials issue() patches the template's path and reuses its headers: the same bytes."""
    book = JourneyBook(
        {
            k: 1
            for k in ("returning_customer", "coupon_hunter", "retry", "illegal_transition", "multi_session")
        },
        seed=5,
        marker="q7",
        size=40,
    )
    rng = random.Random(2)
    for n in range(200):
        prefix = f"tok-{n}-x"
        for pc in book.issue(rng, prefix, None):
            want = build_put(
                pc.call.operation, pc.call.entity_id.replace(_template_prefix(pc), prefix, 1), pc.put.body
            )
            assert (pc.put.path, pc.put.headers) == (want.path, want.headers)
            assert pc.headers == {**want.headers, "Accept-Encoding": "gzip, deflate, br"}


def _template_prefix(pc: PreparedCall) -> str:
    return pc.call.entity_id.split("-")[0]

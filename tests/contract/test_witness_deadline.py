"""The witness phase's deadline (``run_witnesses(deadline=...)``, check's --max-time) and a read-back the target
never answers. Real HTTP on loopback against the reference app (tests/contract/driver.py ``serve``)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from talon_harness.contracts.violation import Violation
from talon_harness.contracts.witness import DEFAULT_JUDGES, WITNESSES, Sent, run_witnesses

from .driver import reference_app, serve

NAMES = list(WITNESSES)
STEPS = {name: len(w.build("X")) for name, w in WITNESSES.items()}


@pytest.fixture(scope="module")
def correct_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve(reference_app(tmp_path_factory.mktemp("ref"))) as url:
        yield url


def test_a_deadline_already_past_sends_nothing_and_names_every_witness_not_run(correct_url: str) -> None:
    result = run_witnesses(correct_url, deadline=time.monotonic())
    assert (result.requests, result.journal, result.failures, result.error) == (0, (), (), "")
    assert (result.planned, result.ran, result.not_run) == (len(NAMES), 0, tuple(NAMES))


def test_no_deadline_and_a_far_one_run_every_witness(correct_url: str) -> None:
    for deadline in (None, time.monotonic() + 600):
        result = run_witnesses(correct_url, deadline=deadline)
        assert result.not_run == () and result.ran == result.planned == len(NAMES)
        assert len(result.journal) == result.steps == sum(STEPS.values()) and result.failures == ()


@pytest.mark.parametrize("step", [0, 1], ids=["after-a-whole-witness", "mid-witness"])
def test_the_deadline_stops_the_phase_and_the_witnesses_not_sent_in_full_are_not_run(correct_url: str,
                                                                                    step: int) -> None:
    """A judge that waits past the deadline on one step: the phase sends nothing more; a witness whose last
    steps did not go out counts as not run, its sent steps judged."""
    last = NAMES[2]
    stop_after = STEPS[last] - 1 if step == 0 else 0  # the witness's last step, or its first
    deadline = time.monotonic() + 2.0
    seen: list[str] = []

    def slow_judge(sent: Sent) -> list[Violation]:
        seen.append(sent.witness)
        if sent.witness == last and seen.count(last) == stop_after + 1:
            time.sleep(max(0.0, deadline - time.monotonic()) + 0.05)
        return []

    result = run_witnesses(correct_url, judges=(*DEFAULT_JUDGES, slow_judge), deadline=deadline)
    ran = NAMES[:3] if step == 0 else NAMES[:2]
    assert result.error == "" and result.failures == ()
    assert result.not_run == tuple(NAMES[len(ran):]) and result.ran == len(ran)
    assert len(result.journal) == sum(STEPS[n] for n in NAMES[:2]) + stop_after + 1 == len(seen)
    assert list(result.witnesses) == NAMES[:3]  # the cut witness's sent step is counted (and judged)


class _StalledReadBack:
    """The reference app, except that a ``PUT {}`` (the phase's read-back) is never answered."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        body, more = b"", True
        while more:
            message = await receive()
            body, more = body + message.get("body", b""), message.get("more_body", False)
        if body == b"{}":
            await asyncio.sleep(3)

        async def replay() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        await self.inner(scope, replay, send)


def test_a_read_back_never_answered_is_the_target_that_stopped_answering(tmp_path: Path) -> None:
    with serve(_StalledReadBack(reference_app(tmp_path))) as url:
        result = run_witnesses(url, names=["rejected_change"], timeout=1)
    # its first step is answered, the second too, and that step's read-back is not (request 3)
    assert result.stopped_answering and result.failures == () and result.requests == 3 == len(result.journal) + 1
    assert re.fullmatch(r"the target stopped answering: timed out after 1 s at request 3 \(PUT "
                        r"/v1/customer_sessions/\S+, the read-back of witness rejected_change, witness phase\); "
                        r"2 requests were answered before", result.error), result.error

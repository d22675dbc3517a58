"""Harness probes against the real refserver: each catches its fault and passes on the correct server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from talon_harness.harness.probes import (
    acknowledged_write_durable,
    concurrent_closes_all_counted,
    invalid_bodies_rejected,
)
from talon_harness.refserver import ServerProcess


@pytest.fixture(scope="module")
def correct_url() -> Iterator[str]:
    """One correct server for the probes that only talk HTTP (each uses fresh random ids)."""
    with ServerProcess(quiet=True) as server:
        yield server.base_url


def test_acknowledged_write_durable_no_false_positive_on_correct_server() -> None:
    with ServerProcess(quiet=True) as server:
        assert acknowledged_write_durable(server, writes=5).passed


def test_acknowledged_write_durable_catches_ack_before_commit() -> None:
    with ServerProcess(faults=["ack_before_commit"], quiet=True) as server:
        result = acknowledged_write_durable(server, writes=5)
    assert not result.passed and "5 of 5" in result.detail


def test_concurrent_closes_all_counted_no_false_positive_on_correct_server(correct_url: str) -> None:
    assert concurrent_closes_all_counted(correct_url, sessions=10).passed


def test_concurrent_closes_all_counted_catches_lost_update_on_close() -> None:
    with ServerProcess(faults=["lost_update_on_close"], quiet=True) as server:
        result = concurrent_closes_all_counted(server.base_url, sessions=10)
    assert not result.passed and "closedSessions=" in result.detail


def test_invalid_bodies_rejected_no_false_positive_on_correct_server(correct_url: str) -> None:
    assert invalid_bodies_rejected(correct_url, seed=1, per_rule=2).passed


def test_invalid_bodies_rejected_catches_quantity_zero_accepted() -> None:
    with ServerProcess(faults=["quantity_zero_accepted"], quiet=True) as server:
        result = invalid_bodies_rejected(server.base_url, seed=1, per_rule=3)
    assert not result.passed and result.detail.startswith("[quantity_minimum]")

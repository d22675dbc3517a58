"""Shapes as stage tables, LoadConfig safety checks and serialisation (the settings document and the locust
command line: test_load_settings.py)."""

from __future__ import annotations

import dataclasses
import json
import random
import re
from pathlib import Path

import pytest

from talon_harness.loadtests import LoadConfig, UnsafeTargetError
from talon_harness.loadtests.openload import arrival_offsets
from talon_harness.loadtests.shapes import SHAPES, stages_for, users_at


def _curve(name: str) -> list[int | None]:
    return [users_at(SHAPES[name], t, peak=100, duration_s=100.0) for t in range(0, 101, 5)]


def test_every_shape_stops_at_the_end_and_never_exceeds_the_peak() -> None:
    for name in SHAPES:
        curve = _curve(name)
        assert curve[-1] is None, name
        assert all(1 <= u <= 100 for u in curve[:-1]), (name, curve)


def test_shape_curves() -> None:
    assert set(_curve("steady")[:-1]) == {100}
    ramp = _curve("ramp")[:-1]
    assert ramp[:11] == sorted(ramp[:11]) and ramp[0] == 1 and set(ramp[10:]) == {100}
    assert sorted(set(_curve("step")[:-1])) == [25, 50, 75, 100]
    spike = _curve("spike")[:-1]
    assert spike[0] == 20 and spike[10] == 100 and spike[-1] == 20
    soak = _curve("soak")[:-1]
    assert soak[0] == 1 and set(soak[1:]) == {100}
    with pytest.raises(KeyError, match="known shapes"):
        stages_for("wave")


def test_arrival_schedules() -> None:
    constant = arrival_offsets(50.0, "constant", random.Random(0))
    assert [round(next(constant), 9) for _ in range(3)] == [0.02, 0.04, 0.06]
    poisson = arrival_offsets(50.0, "poisson", random.Random(0))
    offsets = [next(poisson) for _ in range(5000)]
    assert offsets == sorted(offsets) and 95.0 < offsets[-1] < 105.0  # mean gap 1/50 s


def test_config_refuses_remote_targets_and_bad_combinations(tmp_path: Path) -> None:
    with pytest.raises(UnsafeTargetError, match="staging.example.com"):
        LoadConfig(base_url="https://staging.example.com", users=1, report_dir=tmp_path)
    assert LoadConfig(base_url="https://staging.example.com", users=1, allow_remote=True, report_dir=tmp_path)
    assert LoadConfig(base_url="http://[::1]:8000", rate=5.0, report_dir=tmp_path)
    one_model = "give exactly one of users (closed model) and rate (open model)"
    for bad, message in (
        ({}, one_model),
        ({"users": 1, "rate": 1.0}, one_model),
        ({"rate": 2.0, "shape": "ramp"}, "a shape scales users: give users (the peak), not rate"),
        ({"users": 1, "shape": "wave"}, "shape: unknown shape 'wave'; known shapes: ramp, soak, spike, steady, step"),
        ({"users": 1, "journey_weights": {"nope": 1}},
         ("journey_weights: unknown kinds ['nope'] or no positive weight; known kinds: returning_customer, "
          "anonymous_shopper, coupon_hunter, abandoned_cart, cancelled_order, profile_only, multi_session, retry, "
          "illegal_transition")),
        ({"users": 1, "validate_share": 1.5}, "validate_share must be within [0, 1], got 1.5"),
    ):
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            LoadConfig(base_url="http://127.0.0.1:1", report_dir=tmp_path, **bad)


def test_every_field_round_trips_and_unknown_keys_are_refused(tmp_path: Path) -> None:
    """Adding a LoadConfig field needs no serialiser change: every field but credentials crosses as-is."""
    config = LoadConfig(base_url="http://127.0.0.1:9", rate=3.5, report_dir=tmp_path, late_ms=12.0, seed=7)
    data = json.loads(config.to_json())
    assert set(data) == {f.name for f in dataclasses.fields(LoadConfig)} - {"credentials"}
    assert LoadConfig.from_json(config.to_json()) == config
    with pytest.raises(ValueError, match="unknown key"):
        LoadConfig.from_json(json.dumps({**data, "validate_sahre": 0.1}))
    with pytest.raises(ValueError, match="unknown key"):
        LoadConfig.from_json(json.dumps({**data, "credentials": {"api_key": "x"}}))

"""Hypothesis settings profiles ``dev``, ``ci`` and ``nightly``, selected by ``HYPOTHESIS_PROFILE``.

The example database lives in ``<project>/.hypothesis/examples`` (git-ignored), so a failure found
once replays first on the next run. Call ``load_profile()`` from a conftest (or your own test setup).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis.database import DirectoryBasedExampleDatabase

__all__ = ["DEFAULT_PROFILE", "PROFILES", "example_database_path", "load_profile", "register_profiles"]

PROFILES: tuple[str, ...] = ("dev", "ci", "nightly")
DEFAULT_PROFILE = "dev"
_SLOW_DATA = [HealthCheck.too_slow, HealthCheck.data_too_large]


def example_database_path() -> Path:
    """``<project>/.hypothesis/examples``: the project root is the folder above this package."""
    return Path(__file__).resolve().parent.parent / ".hypothesis" / "examples"


def register_profiles() -> None:
    """Register the three profiles (idempotent).

    - ``dev``: 50 examples, no deadline, full phases - quick local feedback.
    - ``ci``: 30 examples, derandomized: the same examples on every build, so a CI failure replays
      anywhere with HYPOTHESIS_PROFILE=ci (Hypothesis forbids a database together with derandomize).
    - ``nightly``: 1000 examples, all phases, for the scheduled long run.
    """
    database = DirectoryBasedExampleDatabase(str(example_database_path()))
    common: dict[str, Any] = {"deadline": None, "suppress_health_check": _SLOW_DATA, "print_blob": True}
    settings.register_profile("dev", max_examples=50, database=database, **common)
    settings.register_profile("ci", max_examples=30, derandomize=True, database=None, **common)
    settings.register_profile("nightly", max_examples=1000, database=database, phases=tuple(Phase), **common)


def load_profile(name: str | None = None) -> str:
    """Register the profiles and load *name* (default: ``$HYPOTHESIS_PROFILE`` or ``dev``).

    Returns the loaded profile's name; raises ValueError naming the known profiles if it is unknown.
    """
    chosen = name or os.environ.get("HYPOTHESIS_PROFILE") or DEFAULT_PROFILE
    if chosen not in PROFILES:
        raise ValueError(f"unknown Hypothesis profile {chosen!r}; expected one of {PROFILES}")
    register_profiles()
    settings.load_profile(chosen)
    return chosen

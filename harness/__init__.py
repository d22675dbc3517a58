"""The ``talon-harness`` command line and the orchestration behind its commands."""

from __future__ import annotations

__all__: list[str] = []

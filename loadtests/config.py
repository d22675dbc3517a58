"""LoadConfig: everything one load run needs, checked when it is built.

Exactly one of ``users`` (closed model) and ``rate`` (open model, journeys per second) is set. The run
is always bounded by ``duration_s``. ``base_url`` must be loopback unless ``allow_remote``. The repr
never shows credentials (``Credentials.__repr__`` redacts them).
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from talon_harness.loadtests.gates import SloSet
from talon_harness.loadtests.openload import ARRIVALS
from talon_harness.loadtests.shapes import SHAPES
from talon_harness.strategies.wire import Credentials

__all__ = ["LoadConfig", "UnsafeTargetError", "is_loopback_url"]


class UnsafeTargetError(ValueError):
    """The target is not loopback and ``allow_remote`` was not given."""


def is_loopback_url(url: str) -> bool:
    """True for http(s) URLs whose host is localhost or a loopback address."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, kw_only=True)
class LoadConfig:
    """One load run; see the module docstring. Extra knobs after ``allow_remote`` have safe defaults."""

    base_url: str
    users: int | None = None
    rate: float | None = None
    arrival: str = "poisson"
    duration_s: float = 20.0
    shape: str | None = None
    workers: int = 0
    slo: SloSet = field(default_factory=SloSet.default)
    report_dir: Path = Path("load-report")
    max_rate: float | None = None
    credentials: Credentials | None = None
    validate_share: float = 0.05
    journey_weights: dict[str, int] | None = None
    seed: int = 0
    allow_remote: bool = False
    think_scale: float = 1.0
    connections: int = 10
    late_ms: float = 50.0
    spawn_rate: float | None = None
    replay: Path | None = None  # a recording to replay (open model) instead of journeys
    replay_speed: float = 1.0
    replay_loop: bool = False
    replay_token: str = field(default_factory=lambda: os.urandom(4).hex())  # id prefix, one per run

    def __post_init__(self) -> None:
        if urlsplit(self.base_url).scheme not in ("http", "https"):
            raise ValueError(f"base_url must be an http(s) URL, got {self.base_url!r}")
        if not self.allow_remote and not is_loopback_url(self.base_url):
            raise UnsafeTargetError(
                f"refusing non-loopback target {urlsplit(self.base_url).hostname!r}: pass allow_remote "
                "(--allow-remote) to load a remote server"
            )
        if (self.users is None) == (self.rate is None):
            raise ValueError("give exactly one of users (closed model) and rate (open model)")
        if self.users is not None and self.users < 1:
            raise ValueError(f"users must be >= 1, got {self.users}")
        if self.rate is not None and not self.rate > 0:
            raise ValueError(f"rate must be > 0 journeys per second, got {self.rate}")
        if self.arrival not in ARRIVALS:
            raise ValueError(f"arrival must be one of {ARRIVALS}, got {self.arrival!r}")
        if not 0 < self.duration_s <= 7 * 24 * 3600:
            raise ValueError(f"duration_s must be within (0, 1 week], got {self.duration_s}")
        if self.shape is not None:
            if self.shape not in SHAPES:
                raise ValueError(f"unknown shape {self.shape!r}; known shapes: {', '.join(sorted(SHAPES))}")
            if self.users is None:
                raise ValueError("a shape scales users: give users (the peak), not rate")
        if self.workers < 0:
            raise ValueError(f"workers must be >= 0, got {self.workers}")
        if self.max_rate is not None and not self.max_rate > 0:
            raise ValueError(f"max_rate must be > 0 requests per second, got {self.max_rate}")
        if not 0.0 <= self.validate_share <= 1.0:
            raise ValueError(f"validate_share must be within [0, 1], got {self.validate_share}")
        if self.journey_weights is not None:
            from talon_harness.strategies.journeys import JOURNEY_KINDS

            unknown = sorted(set(self.journey_weights) - set(JOURNEY_KINDS))
            if unknown or not any(w > 0 for w in self.journey_weights.values()):
                raise ValueError(
                    f"journey_weights: unknown kinds {unknown} or no positive weight; "
                    f"known kinds: {', '.join(JOURNEY_KINDS)}"
                )
        if not self.replay_speed > 0:
            raise ValueError(f"replay_speed must be > 0, got {self.replay_speed}")
        if self.connections < 1:
            raise ValueError(f"connections must be >= 1, got {self.connections}")

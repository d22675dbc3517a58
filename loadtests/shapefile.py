"""A Locust shape file: load it next to the locustfile to drive users by a named stage table.

    locust -f loadtests/locustfile.py,loadtests/shapefile.py --headless -u 50 -t 60s \
        --talon-config '{"base_url": "http://127.0.0.1:8000", "users": 50, "shape": "spike"}'

``-u`` is the peak, ``-t`` the duration the table is scaled to, ``LoadConfig.shape`` one of
``loadtests.shapes.SHAPES`` (default steady). ``--talon-config`` holds no credentials (argv): keys go in the
environment document, ``TALON_HARNESS_LOAD='{"credentials": {"api_key": "..."}}'`` (D41); under
``talon-harness load --shape`` the whole config is that document and the argv holds Locust's options only.
"""

from __future__ import annotations

from locust import LoadTestShape

from talon_harness.loadtests._plugin import TalonPlugin
from talon_harness.loadtests.shapes import stages_for, users_at

__all__ = ["TalonShape"]


class TalonShape(LoadTestShape):
    """Looks the user count up in the stage table named by the run's ``LoadConfig.shape``."""

    use_common_options = True

    def tick(self) -> tuple[int, float] | None:
        if self.runner is None:
            return None
        opts = self.runner.environment.parsed_options
        peak = max(1, int(getattr(opts, "num_users", None) or 1))
        duration = float(getattr(opts, "run_time", None) or 60)
        stages = stages_for(TalonPlugin.of(self.runner.environment).config.shape or "steady")
        users = users_at(stages, self.get_run_time(), peak=peak, duration_s=duration)
        return None if users is None else (users, float(peak))

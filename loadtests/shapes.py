"""Load shapes as frozen stage tables: steady, ramp, step, spike, soak.

A stage says where it ends (fraction of the run duration) and how many users it reaches there
(fraction of the peak). ``ramp=True`` interpolates linearly from the previous stage's users; otherwise
the count jumps at the stage start. The table is scaled to (peak users, duration) at run time, so a
shape is data and ``tick()`` is only a lookup. After the last stage ``tick()`` returns None (stop).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SHAPES", "Stage", "shape_class", "stages_for", "users_at"]


@dataclass(frozen=True)
class Stage:
    """Ends at ``until`` x duration with ``users`` x peak users; ``ramp`` = linear rise/fall to it."""

    until: float
    users: float
    ramp: bool = False


SHAPES: dict[str, tuple[Stage, ...]] = {
    "steady": (Stage(1.0, 1.0),),
    "ramp": (Stage(0.5, 1.0, ramp=True), Stage(1.0, 1.0)),
    "step": (Stage(0.25, 0.25), Stage(0.5, 0.5), Stage(0.75, 0.75), Stage(1.0, 1.0)),
    "spike": (Stage(0.4, 0.2), Stage(0.6, 1.0), Stage(1.0, 0.2)),
    "soak": (Stage(0.05, 1.0, ramp=True), Stage(1.0, 1.0)),
}


def users_at(stages: tuple[Stage, ...], t: float, *, peak: int, duration_s: float) -> int | None:
    """Users the table asks for at ``t`` seconds (at least 1 while running), or None once it has ended."""
    if duration_s <= 0 or t >= duration_s:
        return None
    frac = t / duration_s
    prev_end, prev_users = 0.0, 0.0
    for stage in stages:
        if frac < stage.until:
            if stage.ramp:
                span = stage.until - prev_end
                target = prev_users + (stage.users - prev_users) * ((frac - prev_end) / span)
            else:
                target = stage.users
            return max(1, round(target * peak))
        prev_end, prev_users = stage.until, stage.users
    return None


def shape_class(name: str, *, peak_users: int, duration_s: float) -> type:
    """A concrete ``LoadTestShape`` subclass for ``name`` scaled to ``peak_users`` and ``duration_s``.

    Locust is imported here, not at module import, because importing it monkey-patches the process.
    """
    stages = stages_for(name)
    if peak_users < 1:
        raise ValueError(f"peak_users must be >= 1, got {peak_users}")
    from locust import LoadTestShape

    def tick(self: LoadTestShape) -> tuple[int, float] | None:
        users = users_at(stages, self.get_run_time(), peak=peak_users, duration_s=duration_s)
        return None if users is None else (users, float(peak_users))  # reach any stage within ~1 s

    return type(f"{name.capitalize()}Shape", (LoadTestShape,), {"tick": tick, "abstract": False})


def stages_for(name: str) -> tuple[Stage, ...]:
    """The stage table called ``name``; the KeyError lists the known names."""
    try:
        return SHAPES[name]
    except KeyError:
        raise KeyError(f"unknown shape {name!r}; known shapes: {', '.join(sorted(SHAPES))}") from None

"""Live progress of the ``st run`` child, read from its event stream."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.live import Live
from rich.table import Table

from talon_harness.harness._check_report import LiveCounter
from talon_harness.harness.console import PROGRESS_EVERY_S


@contextlib.contextmanager
def progress_display(console: Console) -> Iterator[Callable[[LiveCounter, float, float, int], None]]:
    """A live table on a terminal; elsewhere (CI logs) one plain line every ``PROGRESS_EVERY_S`` seconds;
    nothing (the event stream is not even read) on a quiet console."""
    if console.quiet:
        yield lambda counter, elapsed, budget, seed: None
        return
    if console.is_terminal:
        with Live(console=console, refresh_per_second=4, transient=True) as live:
            yield lambda counter, elapsed, budget, seed: live.update(_progress(counter, elapsed, budget, seed))
        return
    last = [-PROGRESS_EVERY_S]

    def line(counter: LiveCounter, elapsed: float, budget: float, seed: int) -> None:
        if elapsed - last[0] < PROGRESS_EVERY_S:
            return
        phase, counts = counter.poll()
        last[0] = elapsed
        cases = sum(c for c, _ in counts.values())
        failed = sum(f for _, f in counts.values())
        console.print(f"check {elapsed:5.1f}s / ~{budget:.0f}s  phase={phase or 'starting'}  cases={cases}  "
                      f"failed={failed}  seed={seed}", markup=False, highlight=False)

    yield line


def _progress(counter: LiveCounter, elapsed: float, budget: float, seed: int) -> Table:
    phase, counts = counter.poll()
    table = Table(title=f"talon-harness check  seed={seed}  {elapsed:5.1f}s / ~{budget:.0f}s budget",
                  title_justify="left", box=None)
    table.add_column("phase")
    table.add_column("cases", justify="right")
    table.add_column("failed", justify="right")
    for name in ("examples", "coverage", "fuzzing", "stateful"):
        cases, failed = counts.get(name, (0, 0))
        marker = "[bold cyan]>[/] " if name == phase else "  "
        table.add_row(marker + name, str(cases), str(failed))
    return table

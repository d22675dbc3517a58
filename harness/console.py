"""The one factory for every command's rich Console, fit for a terminal and for a CI log.

On a terminal rich decides width and colour as usual. When the stream is not a terminal (a CI log, a pipe,
a file) and ``COLUMNS`` is not set, the console is :data:`CI_WIDTH` columns wide so that tables render at
their natural width instead of rich's 80 columns (which cuts cells with an ellipsis). ``NO_COLOR``,
``FORCE_COLOR`` and ``COLUMNS`` are honoured (rich reads them; ``COLUMNS`` always wins).
"""

from __future__ import annotations

import os
import sys

from rich.console import Console

__all__ = ["CI_WIDTH", "PROGRESS_EVERY_S", "make_console"]

#: width of a console writing to a CI log (every table of the harness fits)
CI_WIDTH = 200
#: seconds between two plain progress lines when the console is not a terminal
PROGRESS_EVERY_S = 5.0


def make_console(*, stderr: bool = False, quiet: bool = False) -> Console:
    """A Console on stdout (or stderr); wide and animation-free when that stream is not a terminal."""
    stream = sys.stderr if stderr else sys.stdout
    width = None
    if not _isatty(stream) and not os.environ.get("COLUMNS", "").strip().isdigit():
        width = CI_WIDTH
    return Console(stderr=stderr, width=width, quiet=quiet)


def _isatty(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # closed stream
        return False

"""Suite-wide set-up: SIGINT as a terminal has it, and the Hypothesis profile.

Profile: ``$HYPOTHESIS_PROFILE`` if set, else ``ci`` (derandomised: the same examples on every build)
when ``CI`` is set as CI systems set it (``true``/``1``), else ``dev``. It is exported, so conftests
that call ``load_profile()`` and subprocesses started by tests get the same one.
"""

from __future__ import annotations

import os
import signal

from talon_harness.strategies.settings import load_profile

# A CI runner may start the suite as a background job of a non-interactive shell, which starts it with
# SIGINT ignored; every child would inherit that, and the Ctrl-C tests could no longer act like a
# terminal. Restore what Python installs when it starts normally (children then get SIGINT's default).
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
    os.environ.setdefault("HYPOTHESIS_PROFILE", "ci")
os.environ["HYPOTHESIS_PROFILE"] = load_profile()

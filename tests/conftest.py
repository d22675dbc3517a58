"""Suite-wide set-up."""

from __future__ import annotations

import signal

# A CI runner may start the suite as a background job of a non-interactive shell, which starts it with
# SIGINT ignored; every child would inherit that, and the Ctrl-C tests could no longer act like a
# terminal. Restore what Python installs when it starts normally (children then get SIGINT's default).
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

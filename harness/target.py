"""Where the harness sends traffic: an explicit base URL, or the embedded reference server."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from talon_harness.refserver import ServerProcess

__all__ = ["TargetError", "target"]


class TargetError(Exception):
    """The embedded reference server could not be started."""


@contextlib.contextmanager
def target(
    base_url: str | None,
    *,
    api_key: str | None = None,
    hmac_key: str | None = None,
    application_id: int = 1,
    faults: tuple[str, ...] = (),
    quiet: bool = False,
) -> Iterator[str]:
    """Yield the base URL to test.

    With ``base_url`` given, yield it unchanged (the caller owns that server). Without it, start the
    reference server on a free loopback port in its own process with the same credentials the harness
    will send, yield its URL, and stop it on exit, whatever happened inside the block. ``quiet`` turns
    off its per-request log (for load runs, where logging would cost server CPU).
    """
    if base_url:
        yield base_url.rstrip("/")
        return
    server = ServerProcess(api_key=api_key, hmac_key=hmac_key, application_id=application_id, faults=faults,
                           quiet=quiet)
    try:
        server.start()
    except Exception as exc:  # the embedded server must start; say why it did not
        raise TargetError(f"the embedded reference server did not start: {exc}") from exc
    try:
        yield server.base_url
    finally:
        server.stop()

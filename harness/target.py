"""Where the harness sends traffic: an explicit base URL, or the embedded reference server."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from typing import Any

from talon_harness.contracts.spec import DEFAULT_API, server_revision
from talon_harness.refserver import ServerProcess
from talon_harness.strategies.wire import Credentials

__all__ = ["TargetError", "check_credentials", "reference_server", "target"]


class TargetError(Exception):
    """The embedded reference server could not be started."""


@contextlib.contextmanager
def target(
    base_url: str | None,
    creds: Credentials | None = None,
    *,
    faults: tuple[str, ...] = (),
    quiet: bool = False,
    api: str = DEFAULT_API,
) -> Iterator[str]:
    """Yield the base URL to test.

    With ``base_url`` given, yield it unchanged (the caller owns that server). Without it, start the
    reference server on a free loopback port in its own process with ``creds``, the credentials the harness
    will send, yield its URL, and stop it on exit, whatever happened inside the block. ``quiet`` turns
    off its per-request log (for load runs, where logging would cost server CPU). ``api``: the API under
    test (``contracts.spec.API_NAMES``); the embedded server speaks it (``server_revision``).
    """
    if base_url:
        yield base_url.rstrip("/")
        return
    server = reference_server(creds, faults=faults, quiet=quiet, api=server_revision(api))
    try:
        server.start()
    except Exception as exc:  # the embedded server must start; say why it did not
        raise TargetError(f"the embedded reference server did not start: {exc}") from exc
    try:
        yield server.base_url
    finally:
        server.stop()


def reference_server(creds: Credentials | None, **options: Any) -> ServerProcess:
    """A reference server (not started) that accepts ``creds``: their API key, HMAC key and application id
    (1 without one); ``options`` are ``ServerProcess``'s others (faults, rules_file, quiet, api)."""
    return ServerProcess(api_key=creds.api_key if creds else None, hmac_key=creds.hmac_key if creds else None,
                         application_id=(creds.hmac_application_id if creds else None) or 1, **options)


def check_credentials(api: str, base_url: str | None, creds: Credentials | None) -> Credentials | None:
    """The credentials a check of ``api`` sends: ``creds``; but a check of v2 on the embedded server without
    any gets a fresh random API key (the embedded server then requires it), because integration-v2.yaml
    requires ``ApiKey-v1`` on every call (D34) and schemathesis' ``ignored_auth`` must judge a server that
    enforces the contract's security, not one started without any. Raises ValueError for ``--hmac`` on v2."""
    if api == "v2" and creds is not None and creds.hmac_key and not creds.api_key:
        raise ValueError("--hmac: v2 takes only an API key (D34); give --api-key")
    if api == "v2" and base_url is None and creds is None:
        return Credentials(api_key=secrets.token_urlsafe(24))
    return creds

"""Where the harness sends traffic: an explicit base URL, or the embedded reference server."""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from refserver import ServerProcess

__all__ = ["TargetError", "is_loopback", "target"]


class TargetError(Exception):
    """The target cannot be used (not reachable, or remote without explicit consent)."""


def is_loopback(base_url: str) -> bool:
    """True when ``base_url``'s host is ``localhost`` or an address in 127.0.0.0/8 or ``::1``."""
    host = urlsplit(base_url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@contextlib.contextmanager
def target(
    base_url: str | None,
    *,
    api_key: str | None = None,
    hmac_key: str | None = None,
    application_id: int = 1,
    faults: tuple[str, ...] = (),
    log_dir: Path | None = None,
) -> Iterator[str]:
    """Yield the base URL to test.

    With ``base_url`` given, yield it unchanged (the caller owns that server). Without it, start the
    reference server on a free loopback port in its own process with the same credentials the harness
    will send, yield its URL, and stop it on exit, whatever happened inside the block.
    """
    if base_url:
        yield base_url.rstrip("/")
        return
    server = ServerProcess(api_key=api_key, hmac_key=hmac_key, application_id=application_id, faults=faults)
    try:
        server.start()
    except Exception as exc:  # the embedded server must start; say why it did not
        raise TargetError(f"the embedded reference server did not start: {exc}") from exc
    try:
        yield server.base_url
    finally:
        server.stop()
        if log_dir is not None and server.log_path and Path(server.log_path).exists():
            log_dir.mkdir(parents=True, exist_ok=True)
            (log_dir / "refserver.log").write_text(Path(server.log_path).read_text(encoding="utf-8"))

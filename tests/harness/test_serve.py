"""Issue 11.6 / 12.1: `talon-harness serve` takes its credentials under the CLI's spelling
(TALON_API_KEY, TALON_HMAC=APP_ID:KEY), answers real requests with them, and stops on Ctrl-C (exit 130,
an interruption) or SIGTERM (exit 0, a normal stop)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from talon_harness.strategies.wire import Credentials, auth_headers
from tests.ports import free_port

KEY, HMAC_KEY, APP_ID = "serve-test-key", "0123456789abcdef", 7
BODY = b'{"attributes": {"tier": "gold"}}'


@dataclass
class _Served:
    url: str
    returncode: int | None = None
    output: str = ""


@contextmanager
def _serve(env: dict[str, str], stop: signal.Signals = signal.SIGINT) -> Iterator[_Served]:
    """`serve` on a free port, stopped with ``stop`` (to its process group, as a terminal's Ctrl-C) on exit."""
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TALON_", "REFSERVER_"))}
    proc = subprocess.Popen([sys.executable, "-m", "talon_harness.harness", "serve", "--port", str(port), "--quiet"],
                            env={**clean, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    served = _Served(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.communicate()[0].decode(errors="replace")
            try:
                httpx.get(served.url, timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "serve did not start"
                time.sleep(0.1)
        yield served
    finally:
        os.killpg(proc.pid, stop)
        served.output = proc.communicate(timeout=20)[0].decode(errors="replace")
        served.returncode = proc.returncode
        assert "Traceback" not in served.output and KEY not in served.output and HMAC_KEY not in served.output


def _put(url: str, headers: dict[str, str]) -> int:
    return httpx.put(f"{url}/v1/customer_profiles/p-serve", content=BODY,
                     headers={"Content-Type": "application/json", **headers}, timeout=5).status_code


def test_serve_reads_talon_api_key_and_talon_hmac() -> None:
    with _serve({"TALON_API_KEY": KEY, "TALON_HMAC": f"{APP_ID}:{HMAC_KEY}"}) as served:
        url = served.url
        assert _put(url, {}) == 401
        assert _put(url, auth_headers(Credentials(api_key=KEY), BODY)) == 200
        signed = auth_headers(Credentials(hmac_application_id=APP_ID, hmac_key=HMAC_KEY), BODY)
        assert _put(url, signed) == 200
        wrong_signer = auth_headers(Credentials(hmac_application_id=1, hmac_key=HMAC_KEY), BODY)
        assert _put(url, wrong_signer) == 400


def test_serve_without_credentials_needs_none() -> None:
    with _serve({}) as served:
        assert _put(served.url, {}) == 200


def test_ctrl_c_stops_serve_with_exit_130() -> None:
    with _serve({}) as served:
        assert _put(served.url, {}) == 200
    assert served.returncode == 130
    assert served.output.strip() == "serve: interrupted (Ctrl-C); stopped cleanly"


def test_sigterm_stops_serve_with_exit_0() -> None:
    with _serve({}, stop=signal.SIGTERM) as served:
        assert _put(served.url, {}) == 200
    assert (served.returncode, served.output) == (0, "")

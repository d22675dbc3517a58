"""Issue 11.6 / 12.1: `talon-harness serve` takes its credentials under the CLI's spelling
(TALON_API_KEY, TALON_HMAC=APP_ID:KEY), answers real requests with them, and stops on Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from talon_harness.strategies.wire import Credentials, auth_headers

KEY, HMAC_KEY, APP_ID = "serve-test-key", "0123456789abcdef", 7
BODY = b'{"attributes": {"tier": "gold"}}'


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _serve(env: dict[str, str]) -> Iterator[str]:
    port = _free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TALON_", "REFSERVER_"))}
    proc = subprocess.Popen([sys.executable, "-m", "talon_harness.harness", "serve", "--port", str(port), "--quiet"],
                            env={**clean, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.communicate()[0].decode(errors="replace")
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "serve did not start"
                time.sleep(0.1)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        output = proc.communicate(timeout=20)[0]
        assert b"Traceback" not in output and KEY.encode() not in output and HMAC_KEY.encode() not in output


def _put(url: str, headers: dict[str, str]) -> int:
    return httpx.put(f"{url}/v1/customer_profiles/p-serve", content=BODY,
                     headers={"Content-Type": "application/json", **headers}, timeout=5).status_code


def test_serve_reads_talon_api_key_and_talon_hmac() -> None:
    with _serve({"TALON_API_KEY": KEY, "TALON_HMAC": f"{APP_ID}:{HMAC_KEY}"}) as url:
        assert _put(url, {}) == 401
        assert _put(url, auth_headers(Credentials(api_key=KEY), BODY)) == 200
        signed = auth_headers(Credentials(hmac_application_id=APP_ID, hmac_key=HMAC_KEY), BODY)
        assert _put(url, signed) == 200
        wrong_signer = auth_headers(Credentials(hmac_application_id=1, hmac_key=HMAC_KEY), BODY)
        assert _put(url, wrong_signer) == 400


def test_serve_without_credentials_needs_none() -> None:
    with _serve({}) as url:
        assert _put(url, {}) == 200

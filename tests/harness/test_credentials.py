"""Issue 25.3: refused credentials are the harness's problem, said once.

The real CLI (subprocesses) against a key-protected reference server on loopback: ``check``, ``load`` and
``run`` with a wrong key and with no key stop at their first request with exit 2 and exactly one line that
names the credentials (never the key), within 10 s, without running the suite; ``proxy``'s health probe
likewise. A key that stops working mid-run (a loopback server that swaps the key for a revoked one after N
requests) is reported as one line of its own, exit 2, not as failures of the target.
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest

from talon_harness.refserver import ServerConfig, ServerProcess, Store, create_app

KEY = "right-key-7f3a91"
WRONG = "wrong-key-c0ffee"
PROBE = "PUT /v1/customer_profiles/talon-harness-probe"
SET = "TALON_API_KEY or TALON_HMAC (--api-key / --hmac)"
REFUSED_WRONG = f"the target refused the credentials (401 Unauthorized on {PROBE}): check {SET}"
REFUSED_NONE = f"the target refused the credentials (401 Unauthorized on {PROBE}): none were given; set {SET}"
MIDWAY = (r"the target refused the credentials mid-run: the first request was accepted, the probe after the run "
          r"got 401 Unauthorized; (\d+) answers were 401/403 \({}\): the key may have expired; check " + re.escape(SET))
MIDWAY_CHECK = re.compile(MIDWAY.format("not counted as failures of the target"))
MIDWAY_LOAD = re.compile("Error: run: " + MIDWAY.format("the SLO verdicts above do not judge the target"))
LIMIT_S = 10.0


def _cli(args: list[str], key: str | None, *, timeout: float = 120,
         extra_env: dict[str, str] | None = None) -> tuple[int, list[str], float]:
    """(exit code, output lines (stdout + stderr), seconds) of ``talon-harness ARGS`` with TALON_API_KEY=key."""
    env = {k: v for k, v in os.environ.items() if k not in ("TALON_API_KEY", "TALON_HMAC", "GITHUB_STEP_SUMMARY")}
    env["COLUMNS"] = "1000"  # rich wraps at the width; one line stays one line
    env.update(extra_env or {})
    if key is not None:
        env["TALON_API_KEY"] = key
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "talon_harness.harness", *args], env=env, capture_output=True,
                          text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL)
    return proc.returncode, (proc.stdout + proc.stderr).splitlines(), time.monotonic() - started


@pytest.fixture(scope="module")
def keyed() -> Iterator[str]:
    with ServerProcess(api_key=KEY, quiet=True) as server:
        yield server.base_url


COMMANDS = {
    "check": (["check", "--max-time", "30"], "Error: "),
    "load": (["load", "--duration", "5"], "Error: "),
    "run": (["run", "--max-time", "30", "--duration", "5"], "Error: "),
}


@pytest.mark.parametrize("key", [WRONG, None], ids=["wrong-key", "no-key"])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_refused_credentials_stop_at_once_with_one_line(keyed: str, tmp_path: Path, command: str,
                                                        key: str | None) -> None:
    args, prefix = COMMANDS[command]
    report_dir = tmp_path / "reports"
    code, lines, seconds = _cli([*args, "--base-url", keyed, "--report-dir", str(report_dir)], key)
    assert code == 2, lines
    assert lines == [prefix + (REFUSED_WRONG if key else REFUSED_NONE)]
    assert seconds < LIMIT_S, seconds
    assert not report_dir.exists()  # nothing ran: no suite, no load, no report


def test_a_wrong_hmac_key_is_refused_credentials_too(tmp_path: Path) -> None:
    """D2: a signature that does not match is a 400 naming Content-Signature; the probe reads it as refused."""
    with ServerProcess(hmac_key="0123456789abcdef", application_id=3, quiet=True) as server:
        env = {"TALON_HMAC": "3:fedcba9876543210"}
        code, lines, seconds = _cli(["load", "--base-url", server.base_url, "--duration", "5", "--report-dir",
                                     str(tmp_path / "reports")], None, extra_env=env)
    assert code == 2, lines
    assert lines == [f"Error: the target refused the credentials (400 Bad Request on {PROBE}): check {SET}"]
    assert "fedcba9876543210" not in "\n".join(lines) and seconds < LIMIT_S


def test_the_right_key_passes_the_probe(keyed: str, tmp_path: Path) -> None:
    """The control: the same command and server with the right key gets past the probe and measures."""
    code, lines, _ = _cli(["load", "--base-url", keyed, "--duration", "2", "--report-dir", str(tmp_path)], KEY)
    assert not any("refused" in line for line in lines), lines
    assert (tmp_path / "summary.json").exists() and code in (0, 1), lines


def _proxy(args: list[str], key: str | None) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TALON_API_KEY", "TALON_HMAC")}
    if key is not None:
        env["TALON_API_KEY"] = key
    return subprocess.Popen([sys.executable, "-m", "talon_harness.harness", "proxy", "--port", "0", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)


def test_proxy_health_probe_refuses_a_wrong_key_with_one_line(keyed: str, tmp_path: Path) -> None:
    started = time.monotonic()
    proc = _proxy(["--upstream", keyed, "--report-dir", str(tmp_path / "proxy")], WRONG)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, out + err
    assert (out + err).splitlines() == [f"Error: {REFUSED_WRONG}"]
    assert time.monotonic() - started < LIMIT_S
    assert not (tmp_path / "proxy").exists()


def test_proxy_without_a_key_forwards_the_clients_own(keyed: str, tmp_path: Path) -> None:
    """No key given: the upstream's 401 to the probe is expected (clients bring their keys); it starts."""
    proc = _proxy(["--upstream", keyed, "--report-dir", str(tmp_path / "proxy")], None)
    try:
        first = proc.stderr.readline() if proc.stderr else ""
        assert first.startswith("proxy: http://127.0.0.1:") and f"-> {keyed};" in first, first
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2 and "no exchange passed through the proxy" in err, out + err


def test_proxy_health_probe_refuses_an_unreachable_upstream(tmp_path: Path) -> None:
    proc = _proxy(["--upstream", "http://127.0.0.1:1", "--report-dir", str(tmp_path / "proxy")], None)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, out + err
    assert (out + err).splitlines() == [
        "Error: target http://127.0.0.1:1 is not reachable: ConnectError: [Errno 111] Connection refused"]


def _revoked_after(app: Any, accepted: int) -> Any:
    """``app`` whose callers' key is swapped for a revoked one from request ``accepted + 1`` on."""
    seen = itertools.count(1)

    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and next(seen) > accepted:
            headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"authorization"]
            scope = {**scope, "headers": [*headers, (b"authorization", b"ApiKey-v1 revoked")]}
        await app(scope, receive, send)

    return wrapped


@contextmanager
def _expiring_server(accepted: int) -> Iterator[str]:
    """A keyed reference server (in process, uvicorn thread) whose key stops working after ``accepted``
    requests."""
    import socket
    import threading

    import uvicorn

    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="expiring-")))
        app = create_app(stack.enter_context(Store(folder / "db.sqlite")), ServerConfig(api_key=KEY))
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        server = uvicorn.Server(uvicorn.Config(_revoked_after(app, accepted), log_level="critical", lifespan="off"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "the expiring server did not start"
            time.sleep(0.02)
        try:
            yield f"http://127.0.0.1:{sock.getsockname()[1]}"
        finally:
            server.should_exit = True
            thread.join(10)
            sock.close()


def test_check_reports_a_key_expired_mid_run_as_its_own_line(tmp_path: Path) -> None:
    # the probe (1), the preflight (2) and the witness phase (61) pass; schemathesis' run sees the key expire
    with _expiring_server(accepted=130) as url:
        code, lines, _ = _cli(["check", "--base-url", url, "--max-time", "8", "--max-examples", "3", "--seed", "1",
                               "--report-dir", str(tmp_path)], KEY)
    assert code == 2, "\n".join(lines[-30:])
    found = [m for line in lines if (m := MIDWAY_CHECK.fullmatch(line))]
    assert len(found) == 1 and int(found[0].group(1)) > 0, "\n".join(lines[-30:])
    verdict = next(line for line in lines if line.startswith("ERROR  target="))
    assert " failures=0 " in verdict, verdict  # the refused answers are not failures of the target
    assert not any(line.startswith("Failure ") or "─ Failure" in line for line in lines)
    assert KEY not in "\n".join(lines)


def test_load_reports_a_key_expired_mid_run_as_its_own_line(tmp_path: Path) -> None:
    # the probe and the preflight (3) pass, then a few journeys (about 3 requests each at 5 per s)
    with _expiring_server(accepted=20) as url:
        code, lines, _ = _cli(["load", "--base-url", url, "--rate", "5", "--duration", "4", "--report-dir",
                               str(tmp_path)], KEY)
    assert code == 2, "\n".join(lines[-30:])
    found = [m for line in lines if (m := MIDWAY_LOAD.fullmatch(line))]
    assert len(found) == 1 and int(found[0].group(1)) > 0, "\n".join(lines[-30:])
    assert "load: every SLO held" not in lines and KEY not in "\n".join(lines)

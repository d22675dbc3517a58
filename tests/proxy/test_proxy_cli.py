"""``talon-harness proxy`` as a user runs it: embedded upstream, live lines, reports and exit codes."""

from __future__ import annotations

import http.client
import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.ports import free_port

CLI = [sys.executable, "-m", "talon_harness.harness"]


def _start(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    proc = subprocess.Popen([*CLI, "proxy", "--port", str(port), "--report-dir", str(tmp_path / "r"), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("the proxy did not listen")


def _put(port: int, path: str, body: bytes, content_type: str = "application/json") -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    conn.request("PUT", path, body=body, headers={"Content-Type": content_type})
    status = conn.getresponse().status
    conn.close()
    return status


def test_ctrl_c_ends_with_reports_and_exit_1_after_a_violation(tmp_path: Path) -> None:
    proc, port = _start(tmp_path, "--record", "rec.ndjson")
    assert _put(port, "/v1/customer_sessions/c1", b'{"state":"closed"}') == 200
    assert _put(port, "/v1/customer_sessions/c1", b'{"total":"12"}') == 400
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1, err
    assert out.splitlines()[0] == ("VIOLATION client request_schema PUT /v1/customer_sessions/c1 -> 400: /total: "
                                   '"12" is not of types "null", "number"')
    assert "proxy: 2 exchanges, 2 judged, 1 violations; client request_schema 1" in out
    assert "(embedded reference server); Ctrl-C to stop" in err and "Traceback" not in err
    report = json.loads((tmp_path / "r" / "proxy.json").read_text())
    assert (report["exchanges"], report["counts"]) == (2, {"client request_schema": 1})
    assert 'failures="1"' in (tmp_path / "r" / "junit.xml").read_text()
    assert len((tmp_path / "rec.ndjson").read_text().splitlines()) == 2


def test_sigterm_after_clean_traffic_exits_0(tmp_path: Path) -> None:
    proc, port = _start(tmp_path)
    assert _put(port, "/v1/customer_profiles/ok", b'{"attributes":{"a":1}}') == 200
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "proxy: 1 exchanges, 1 judged, 0 violations" in out


def test_no_traffic_is_an_error_not_a_pass(tmp_path: Path) -> None:
    proc, _ = _start(tmp_path)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert err.splitlines()[-1] == "Error: no exchange passed through the proxy; nothing was judged"


def test_remote_upstream_needs_allow_remote(tmp_path: Path) -> None:
    result = subprocess.run([*CLI, "proxy", "--upstream", "http://192.0.2.1:80"], check=False, capture_output=True,
                            text=True,
                            timeout=60, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == ("Error: --upstream http://192.0.2.1:80 is not a loopback address; "
                                              "pass --allow-remote to use it")

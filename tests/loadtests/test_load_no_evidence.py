"""No PASS without evidence: `load` probes the target first and never passes a run that measured nothing.

Real sockets on 127.0.0.1: a closed port, a listener that never answers, and one that answers the first
request (the reachability probe) and then none.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

from talon_harness.harness.cli import main
from talon_harness.loadtests import LoadConfig, run_load

pytestmark = pytest.mark.timeout(90)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens once the socket is closed


@contextmanager
def _silent_server(answer_first: int = 0) -> Iterator[str]:
    """Accepts every connection; answers the first ``answer_first`` requests with a 404, then none."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []
    answered = 0
    stop = threading.Event()

    def serve() -> None:
        nonlocal answered
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)
            if answered < answer_first:
                answered += 1
                conn.settimeout(5)
                try:
                    conn.recv(65536)
                    conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        listener.close()
        for conn in held:
            conn.close()


def _load(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["load", *args])
    return result.exit_code, result.output


def test_load_against_a_closed_port_exits_2_with_one_line(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    code, out = _load("--base-url", url, "--duration", "5", "--report-dir", str(tmp_path))
    assert code == 2, out
    assert out.splitlines() == [
        f"Error: target {url} is not reachable: ConnectError: [Errno 111] Connection refused"
    ]
    assert "PASS" not in out and "Traceback" not in out


def test_load_against_a_server_that_never_answers_exits_2_no_request_completed(tmp_path: Path) -> None:
    with _silent_server() as url:
        code, out = _load("--base-url", url, "--duration", "5", "--report-dir", str(tmp_path))
    assert code == 2, out
    assert out.splitlines() == [
        f"Error: target {url} did not answer: ReadTimeout, timed out after 5 s at request 1 (no request completed)"
    ]


def test_a_run_in_which_no_request_completes_is_a_harness_error_never_pass(tmp_path: Path) -> None:
    with _silent_server(answer_first=1) as url:  # the probe gets its answer, the load gets none
        result = run_load(
            LoadConfig(base_url=url, users=2, duration_s=3, think_scale=0.0, report_dir=tmp_path)
        )
    assert result.exit_code == 2 and not result.passed and not result.trustworthy
    assert result.problems == ("run: no request completed: the target answered none of the load's requests",)
    assert result.outcome is not None and result.outcome.completed == 0
    latency = [
        v for v in result.outcome.verdicts if v.slo.metric in ("p95_ms", "p99_ms", "error_ratio", "min_rate")
    ]
    assert [v.describe() for v in latency] == [
        f"BREACH overall.{m}: no data (no request completed)"
        for m in ("p95_ms", "p99_ms", "error_ratio", "min_rate")
    ]
    assert result.outcome.warnings[0] == "no request completed: nothing was measured"


def test_a_baseline_without_histograms_is_one_line_exit_2(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    code, out = _load("--base-url", url, "--baseline", str(tmp_path), "--report-dir", str(tmp_path / "r"))
    assert code == 2, out
    assert out.splitlines() == [
        (
            f"Error: baseline: {tmp_path} holds no hdr.json (give a previous run's report directory, or "
            "write one with --baseline-update)"
        )
    ]


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--shape", "wave"],
            "Error: Invalid value for '--shape': unknown name(s) 'wave'; accepted: steady, ramp, step, spike, soak",
        ),
        (
            ["--slo", "{slo}"],
            (
                "Error: Invalid value for '--slo': SLO file '{slo}' is not valid: SLO file {slo}: malformed TOML: "
                "Expected ']' at the end of a table declaration (at line 1, column 9)"
            ),
        ),
    ],
)
def test_bad_shape_or_slo_file_is_one_line_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    slo = tmp_path / "slo.toml"
    slo.write_text("[overall\np99_ms = 1\n")
    args = [a.replace("{slo}", str(slo)) for a in args]
    code, out = _load(
        "--base-url", f"http://127.0.0.1:{_closed_port()}", *args, "--report-dir", str(tmp_path)
    )
    assert code == 2, out
    assert out.splitlines() == [message.replace("{slo}", str(slo))]

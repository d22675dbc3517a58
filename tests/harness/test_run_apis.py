"""Issue 28.1: where the target answers several APIs, ``talon-harness run`` tests each in turn (``--api
v1-2021,v2``, ``--api all``): a fresh embedded server per API, or the --base-url probed first; reports per API
under ``<report-dir>/<api>/``; one table row per API and step; one exit code for the whole run."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from talon_harness.harness.cli import main
from talon_harness.refserver import ServerConfig, ServerProcess, Store, create_app

KEY = "run-apis-test-key-0123"
V1_SKIP = ("run: skipping v1 (the target does not answer it: PUT /v1/customer_profiles/talon-harness-probe answered "
           "404 Not Found)")
V1_2021_SKIP = ("run: skipping v1-2021 (the target does not answer it: PUT /v1/customer_profiles/talon-harness-probe"
                "?dry=true answered 404 Not Found)")


def _run(*args: str, key: str | None = None, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TALON_API_KEY", "TALON_HMAC")}
    env.update({"COLUMNS": "200", "NO_COLOR": "1"})
    if key:
        env["TALON_API_KEY"] = key
    return subprocess.run([sys.executable, "-m", "talon_harness.harness", "run", *args], env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


def _table(stdout: str) -> list[list[str]]:
    """The rows of the final ``talon-harness run`` table: [api, step, verdict, report]."""
    rows = [[cell.strip() for cell in line.strip("│").split("│")] for line in stdout.splitlines()
            if line.startswith("│") and line.count("│") == 5]
    return [row for row in rows if row[1] in ("check", "load")]


@contextlib.contextmanager
def _v2_only_server() -> Iterator[tuple[str, list[str]]]:
    """A key-protected reference server (in process, uvicorn thread) with its v1 operations hidden: every
    ``/v1/`` path is a 404, so it answers v2 only. Yields its URL and the paths it was sent, in order."""
    import uvicorn

    seen: list[str] = []
    with contextlib.ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="v2-only-")))
        app = create_app(stack.enter_context(Store(folder / "db.sqlite")), ServerConfig(api="v1-2021", api_key=KEY))

        async def v2_only(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                seen.append(scope["path"])
                if scope["path"].startswith("/v1/"):
                    body = b'{"message": "Not found", "errors": []}'
                    await send({"type": "http.response.start", "status": 404, "headers": [
                        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
                    await send({"type": "http.response.body", "body": body})
                    return
            await app(scope, receive, send)

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        server = uvicorn.Server(uvicorn.Config(v2_only, log_level="critical", lifespan="off"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "the v2-only server did not start"
            time.sleep(0.02)
        try:
            yield f"http://127.0.0.1:{sock.getsockname()[1]}", seen
        finally:
            server.should_exit = True
            thread.join(10)
            sock.close()


def test_two_apis_on_the_embedded_server_each_checked_and_loaded(tmp_path: Path) -> None:
    done = _run("--api", "v1-2021,v2", "--max-time", "5", "--duration", "2", "--report-dir", str(tmp_path))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    for api in ("v1-2021", "v2"):
        for step in ("check", "load"):
            assert (tmp_path / api / step / "report.html").is_file(), f"{api}/{step}"
    assert not (tmp_path / "check").exists() and not (tmp_path / "load").exists()
    assert _table(done.stdout) == [
        [api, step, "pass", str(tmp_path / api / step / "report.html")]
        for api in ("v1-2021", "v2") for step in ("check", "load")]
    # each API was tested on its own contract: v2's load sent v2 requests, v1-2021's v1 requests
    assert "/v2/customer_sessions" in (tmp_path / "v2" / "load" / "summary.json").read_text()
    assert "/v2/" not in (tmp_path / "v1-2021" / "load" / "summary.json").read_text()


def test_all_on_a_v2_only_target_skips_the_v1_revisions_and_tests_v2(tmp_path: Path) -> None:
    with _v2_only_server() as (url, seen):
        done = _run("--api", "all", "--base-url", url, "--max-time", "5", "--duration", "2",
                    "--report-dir", str(tmp_path), key=KEY)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    lines = done.stdout.splitlines()
    assert lines[:2] == [V1_SKIP, V1_2021_SKIP]
    assert _table(done.stdout) == [["v2", step, "pass", str(tmp_path / "v2" / step / "report.html")]
                                   for step in ("check", "load")]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v2"]
    assert (tmp_path / "v2" / "check" / "report.html").is_file() and (tmp_path / "v2" / "load" / "report.html").is_file()
    assert sum(path.startswith("/v2/") for path in seen) > 100  # v2 was checked and loaded
    assert KEY not in done.stdout + done.stderr


def test_a_list_naming_an_api_the_target_does_not_answer_stops_before_any_check(tmp_path: Path) -> None:
    with _v2_only_server() as (url, seen):
        done = _run("--api", "v1,v2", "--base-url", url, "--max-time", "10", "--duration", "3",
                    "--report-dir", str(tmp_path), key=KEY, timeout=60)
    assert done.returncode == 2, done.stdout[-3000:] + done.stderr
    assert (done.stdout + done.stderr).splitlines() == [
        ("Error: the target does not speak v1 (PUT /v1/customer_profiles/talon-harness-probe answered 404 Not Found); "
         "it answers v2: try --api v2")]
    assert not tmp_path.exists() or not any(tmp_path.iterdir())
    assert len(seen) <= 6  # the probes only: one reachability probe, then one or two requests per API asked


def test_run_api_usage_errors_are_one_line_exit_2(monkeypatch: Any) -> None:
    from talon_harness.harness import pipeline

    def started(*_: Any, **__: Any) -> None:
        raise SystemExit(99)

    monkeypatch.setattr(pipeline, "run_apis", started)
    for args, message in (
        (["--api", "all,v2"], "Error: --api: all takes no other API name"),
        (["--api", ","], "Error: --api: name at least one API (v1, v1-2021, v2) or all"),
        (["--api", "v1,v3"], "Error: Invalid value for '--api': unknown name(s) 'v3'; accepted: v1, v1-2021, v2, all"),
    ):
        result = CliRunner().invoke(main, ["run", *args], env={"TALON_API_KEY": None, "TALON_HMAC": None})
        assert (result.exit_code, result.output) == (2, message + "\n"), args


def test_hmac_with_v2_in_a_list_is_one_line_before_any_server_starts(tmp_path: Path) -> None:
    done = _run("--api", "v1,v2", "--hmac", "1:0123456789abcdef", "--report-dir", str(tmp_path), timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (
        2, "", "Error: --hmac: v2 takes only an API key (D34); give --api-key\n")
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_repeated_api_options_add_up_once_each() -> None:
    from talon_harness.harness.cli import _run_apis

    assert _run_apis((("v2",), ("v1-2021", "v2"))) == (("v2", "v1-2021"), False)
    assert _run_apis((("all",),)) == (("v1", "v1-2021", "v2"), True)


@pytest.mark.slow  # 40 s; test_an_interrupted_api_stops_the_run_at_once covers each verdict order in-process
def test_an_api_that_fails_makes_the_run_fail_and_the_next_api_still_runs(tmp_path: Path) -> None:
    """v2 broken (its profile upsert answers 201, a contract fault), v1-2021 correct, on one server."""
    with ServerProcess(api="v1-2021", api_key=KEY, faults=frozenset({"v2_profile_status_201"}), quiet=True) as server:
        done = _run("--api", "v2,v1-2021", "--base-url", server.base_url, "--max-time", "10", "--duration", "3",
                    "--report-dir", str(tmp_path), key=KEY)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr
    rows = {(api, step): verdict for api, step, verdict, _ in _table(done.stdout)}
    assert list(rows) == [("v2", "check"), ("v2", "load"), ("v1-2021", "check"), ("v1-2021", "load")]
    assert (rows["v2", "check"], rows["v1-2021", "check"], rows["v1-2021", "load"]) == ("fail", "pass", "pass")


def test_an_interrupted_api_stops_the_run_at_once(monkeypatch: Any, tmp_path: Path) -> None:
    """Exit 130 beats any other verdict, 1 beats 2, and no API runs after the interrupted one (the steps are
    replaced here to give every combination; the real Ctrl-C is the test below)."""
    from rich.console import Console

    from talon_harness.harness import pipeline

    codes = {"v1": 1, "v1-2021": 130, "v2": 0}
    ran: list[str] = []

    def steps(*, api: str, report_dir: Path, **_: Any) -> pipeline.Steps:
        ran.append(api)
        return pipeline.Steps(codes[api], codes[api], None if codes[api] == 130 else codes[api], report_dir)

    monkeypatch.setattr(pipeline, "_steps", steps)
    console = Console(record=True, width=200)
    assert pipeline.run_apis(("v1", "v1-2021", "v2"), report_dir=tmp_path, console=console) == 130
    assert ran == ["v1", "v1-2021"]
    codes.update({"v1-2021": 2})
    ran.clear()
    assert pipeline.run_apis(("v1", "v1-2021", "v2"), report_dir=tmp_path, console=console) == 1
    codes.update({"v1": 0})
    assert pipeline.run_apis(("v1", "v1-2021", "v2"), report_dir=tmp_path, console=console) == 2
    codes.update({"v1-2021": 0})
    assert pipeline.run_apis(("v1", "v1-2021", "v2"), report_dir=tmp_path, console=console) == 0


def test_ctrl_c_in_the_first_api_stops_the_run_with_130_and_no_other_api_starts(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "talon_harness.harness", "run", "--api", "v1,v2", "--max-time", "5",
            "--duration", "30", "--report-dir", str(tmp_path)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                            env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"})
    load_started = tmp_path / "v1" / "load"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and proc.poll() is None and not load_started.exists():
        time.sleep(0.2)
    assert proc.poll() is None and load_started.exists(), "the run ended before its first load started"
    time.sleep(3)  # a few seconds into v1's load
    os.killpg(proc.pid, signal.SIGINT)
    try:
        out, _ = proc.communicate(timeout=45)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise AssertionError("did not stop within 45 s of Ctrl-C") from None
    output = out.decode(errors="replace")
    assert proc.returncode == 130, output[-3000:]
    assert "Traceback" not in output
    assert not (tmp_path / "v2").exists()
    assert [row[:3] for row in _table(output)] == [["v1", "check", "pass"], ["v1", "load", "interrupted"]]

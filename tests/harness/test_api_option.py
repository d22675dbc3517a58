"""``--api``: one list of API names for every command, the embedded server speaks the API under test, and an
explicit ``--api`` that the target does not speak is one line, exit 2, with a hint at the API it answers."""

from __future__ import annotations

import contextlib
import http.server
import json
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any, ClassVar

import click
import httpx
import pytest

from talon_harness.contracts.apis import RULES_BY_API
from talon_harness.contracts.spec import API_NAMES, DEFAULT_API, server_revision
from talon_harness.harness.cli import main
from talon_harness.harness.params import Names
from talon_harness.harness.target import target
from talon_harness.loadtests.probe import api_mismatch
from talon_harness.refserver import ServerProcess
from talon_harness.refserver.config import API_REVISIONS

COMMANDS = ("check", "load", "run", "proxy", "selftest")


def test_one_list_of_api_names_agrees_with_the_servers_revisions() -> None:
    assert API_NAMES == ("v1", "v1-2021", "v2") and DEFAULT_API == "v1"
    assert [a for a in API_NAMES if a != "v2"] == list(API_REVISIONS)  # refserver keeps its own list
    assert [server_revision(a) for a in API_NAMES] == ["v1", "v1-2021", "v1-2021"]
    assert tuple(RULES_BY_API) == API_NAMES  # every API says which domain rules judge it


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_takes_api_from_the_one_list(command: str) -> None:
    cmd = main.commands[command]
    option = next(p for p in cmd.params if "--api" in p.opts)
    if command == "run":  # several APIs in turn, or all of them (issue 28.1)
        assert isinstance(option.type, Names) and tuple(option.type.choices()) == (*API_NAMES, "all")
        assert option.default == (DEFAULT_API,)
        return
    assert isinstance(option.type, click.Choice)
    assert (tuple(option.type.choices), option.default) == (API_NAMES, DEFAULT_API)


@pytest.mark.parametrize("api", API_NAMES)
def test_the_embedded_server_speaks_the_api_under_test(api: str) -> None:
    with target(None, api=api, quiet=True) as url:
        dry = httpx.put(url + "/v1/customer_profiles/p?dry=true", json={})
        assert api_mismatch(url, api) is None
    # D17: only the final revision (which v2's server also speaks, D16) takes dry
    assert dry.status_code == (400 if api == "v1" else 200)


class _V1Only(http.server.BaseHTTPRequestHandler):
    """A seed-v1 server that knows no v2: /v2 is 404, ``dry`` is D17's 400 naming the parameter."""

    seen: ClassVar[Counter[str]] = Counter()

    missing = "/v2/"  # the API prefix this server does not know

    def do_PUT(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        _V1Only.seen[self.path.split("?")[0].rsplit("/", 1)[0]] += 1
        if self.path.startswith(self.missing):
            status, body = 404, {"message": "not found", "errors": []}
        elif "dry=" in self.path and self.path.startswith("/v1/"):
            status, body = 400, {"message": "bad", "errors": [{"title": "Unknown parameter",
                                                               "source": {"parameter": "dry"}}]}
        else:
            status, body = 200, {"session": {}, "profile": {}, "event": {}, "loyalty": {}}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_: Any) -> None:
        pass


class _V2Only(_V1Only):
    """A v2 server that knows no v1."""

    missing = "/v1/"


@contextlib.contextmanager
def _v1_only(handler: type[_V1Only] = _V1Only) -> Iterator[str]:
    _V1Only.seen = Counter()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


V2_ON_V1 = ("the target does not speak v2 (PUT /v2/customer_profiles/talon-harness-probe?runRuleEngine=true&dry=true "
            "answered 404 Not Found); it answers v1: try --api v1")


def test_a_v1_only_target_asked_for_v2_is_named_with_the_api_it_answers() -> None:
    with _v1_only() as url:
        assert api_mismatch(url, "v2") == V2_ON_V1
        assert api_mismatch(url, "v1") is None
    assert _V1Only.seen["/v2/customer_profiles"] == 1 and _V1Only.seen["/v2/customer_sessions"] == 0


def test_a_v2_only_target_asked_for_v1_is_named_with_v2() -> None:
    with _v1_only(_V2Only) as url:
        assert api_mismatch(url, "v2") is None
        assert api_mismatch(url, "v1") == (
            "the target does not speak v1 (PUT /v1/customer_profiles/talon-harness-probe answered 404 Not Found); "
            "it answers v2: try --api v2")


def test_a_target_that_answers_no_api_is_named_for_v2_and_left_to_the_v1_preflight_otherwise() -> None:
    class _Nothing(_V1Only):
        missing = "/"

    with _v1_only(_Nothing) as url:
        assert api_mismatch(url, "v2") == (
            "the target does not speak v2 (PUT /v2/customer_profiles/talon-harness-probe?runRuleEngine=true&dry=true "
            "answered 404 Not Found), nor any v1 revision")
        assert api_mismatch(url, "v1") is None


def test_the_seed_revision_asked_for_the_final_one_writes_nothing_and_hints_at_v1() -> None:
    with ServerProcess(api="v1", quiet=True) as server:
        assert api_mismatch(server.base_url, "v1-2021") == (
            "the target does not speak v1-2021 (PUT /v1/customer_profiles/talon-harness-probe?dry=true answered 400 "
            "naming the dry parameter); it answers v1: try --api v1")
        assert api_mismatch(server.base_url, "v2") is None  # the reference server answers v2 on every revision


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "talon_harness.harness", *args], capture_output=True, text=True,
                          check=False, timeout=60, env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1", "COLUMNS": "400"})


def test_load_with_an_api_the_target_does_not_speak_is_one_line_exit_2(tmp_path: Any) -> None:
    with _v1_only() as url:
        done = _cli("load", "--api", "v2", "--base-url", url, "--rate", "1", "--duration", "2",
                    "--report-dir", str(tmp_path))
    assert (done.returncode, done.stderr, done.stdout) == (2, f"Error: {V2_ON_V1}\n", "")


def test_check_with_an_api_the_target_does_not_speak_exits_2_before_any_run(tmp_path: Any) -> None:
    with _v1_only() as url:
        done = _cli("check", "--api", "v2", "--base-url", url, "--report-dir", str(tmp_path))
    assert done.returncode == 2
    assert f"Error: {V2_ON_V1}" in " ".join(done.stdout.split())
    assert not (tmp_path / "report.json").exists()


def test_v2_refuses_hmac_credentials_in_one_line() -> None:
    done = _cli("check", "--api", "v2", "--hmac", "1:0123456789abcdef")
    assert (done.returncode, done.stderr) == (2, "Error: --hmac: v2 takes only an API key (D34); give --api-key\n")


def test_run_api_v2_checks_then_loads_v2_end_to_end(tmp_path: Any) -> None:
    done = _cli("run", "--api", "v2", "--max-time", "5", "--duration", "3", "--report-dir", str(tmp_path))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
    check = json.loads((tmp_path / "check" / "report.json").read_text())
    assert check["operations"]["tested"] == 2 and check["test_cases"]["with_failures"] == 0
    for operation in ("PUT /v2/customer_profiles/{integrationId}", "PUT /v2/customer_sessions/{customerSessionId}"):
        assert operation in done.stdout  # the per-operation table: v2's contract was the one tested
    load = json.loads((tmp_path / "load" / "summary.json").read_text())
    assert {name for name in load["endpoints"] if name != "overall"} == {
        "PUT /v2/customer_profiles/[id]", "PUT /v2/customer_sessions/[id]"}

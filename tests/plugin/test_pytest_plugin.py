"""The `talon` pytest plugin as a user meets it: test files without a conftest, run by pytest's `pytester` in a
subprocess (the plugin comes from the installed package's pytest11 entry point, as after `pip install`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from talon_harness.refserver import ServerProcess

pytest_plugins = ["pytester"]

EXAMPLE = (Path(__file__).parent / "readme_example.py").read_text(encoding="utf-8")
EXAMPLE_TESTS = 4


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=240)


def test_readme_example_passes_on_the_embedded_server_without_a_conftest(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_shop=EXAMPLE)
    result = _run(pytester, "-q")
    result.assert_outcomes(passed=EXAMPLE_TESTS)
    assert not list(pytester.path.glob("conftest.py"))


def test_the_same_file_runs_against_another_server_with_talon_base_url(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makepyfile(test_shop=EXAMPLE)
    monkeypatch.setenv("TALON_API_KEY", "their-key-0123")
    with ServerProcess(api_key="their-key-0123") as theirs:
        url = theirs.base_url
        result = _run(pytester, "-rs", "--talon-base-url", url + "/")
        puts = theirs.log_tail(100_000).count("PUT /v1/")
    result.assert_outcomes(passed=EXAMPLE_TESTS - 1, skipped=1)
    result.stdout.fnmatch_lines([f"talon: --talon-base-url {url}",
                                 (f"SKIPPED *talon_server.reset(): {url} (--talon-base-url) cannot be "
                                 "emptied from here")])
    assert puts > 20, "the requests did not reach the server given by --talon-base-url"


def test_a_refused_key_reads_as_what_was_sent_and_received(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makepyfile(test_shop=EXAMPLE)
    monkeypatch.setenv("TALON_API_KEY", "not-their-key")
    with ServerProcess(api_key="their-key-0123", quiet=True) as theirs:
        result = _run(pytester, "-q", "-k", "cancelling", "--talon-base-url", theirs.base_url)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "talon_client = TalonClient(v1, TalonServer(external, api_version='v1', fault=None))",
        '>* "state": "closed"}).expect(200)',
        "E       AssertionError: expected 200, received 401",
        'E         sent:     PUT /v1/customer_sessions/order-* {"profileId":"customer-*,"state":"closed"}',
        'E         received: 401 {"message":"Unauthorized",*',
        "E         error:    Unauthorized at Authorization: The API key is not valid.",
        "test_shop.py:15: AssertionError"])
    assert "not-their-key" not in result.stdout.str()


@pytest.mark.parametrize(("fault", "lines"), [
    ("cancel_keeps_total_sales", [
        '>       assert (cancelled.json["profile"]["closedSessions"], cancelled.json["profile"]["totalSales"]) == (0, 0.0)',
        "E       assert (1, 30.0) == (0, 0.0)",
        "test_shop.py:18: AssertionError"]),
    ("skip_session_state_machine", [
        '>       talon_client.update_session(order, {"state": "open"}).expect(400)  # a cancelled session stays cancelled',
        "E       AssertionError: expected 400, received 200",
        'E         sent:     PUT /v1/customer_sessions/order-* {"state":"open"}',
        'E         received: 200 {"session":{"integrationId":"order-*","state":"open",*',
        "test_shop.py:19: AssertionError"]),
])
def test_a_catalogue_fault_fails_the_example_with_a_message_a_user_reads(
        pytester: pytest.Pytester, fault: str, lines: list[str]) -> None:
    pytester.makepyfile(test_shop=EXAMPLE)
    result = _run(pytester, "-q", "-k", "cancelling", "-o", f"talon_fault={fault}")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(lines)
    assert "pytest_plugin.py" not in result.stdout.str(), "the traceback should end at the user's line"


def test_the_plugin_costs_nothing_when_its_fixtures_are_unused(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="""
        import sys, psutil

        def test_plain(request):
            assert request.config.pluginmanager.has_plugin("talon")
            assert request.config.getoption("talon_base_url") is None
            loaded = sorted(m for m in sys.modules if m.startswith(("talon_harness.refserver", "talon_harness.strategies",
                                                                    "httpx")))
            assert loaded == []
            assert psutil.Process().children(recursive=True) == []
    """)
    _run(pytester, "-q").assert_outcomes(passed=1)


def test_modules_share_a_server_unless_marked_module_scope(pytester: pytest.Pytester) -> None:
    record = """
        import pytest
        {mark}
        def test_where(talon_server, talon_client):
            talon_client.update_profile("p").expect(200)
            with open("urls.txt", "a") as out:
                out.write(f"{{__name__}} {{talon_server.base_url}} {{talon_server.embedded}}\\n")
    """
    pytester.makepyfile(test_a=record.format(mark=""), test_b=record.format(mark=""),
                        test_c=record.format(mark='pytestmark = pytest.mark.talon(scope="module")'))
    _run(pytester, "-q").assert_outcomes(passed=3)
    urls = dict(line.split(" ", 1) for line in (pytester.path / "urls.txt").read_text().splitlines())
    assert urls["test_a"] == urls["test_b"] != urls["test_c"]
    assert all(re.fullmatch(r"http://127\.0\.0\.1:\d+ True", url) for url in urls.values())


def test_a_rule_set_from_the_marker_or_the_ini_reaches_the_server(pytester: pytest.Pytester) -> None:
    pytester.makefile(".json", rules='{"coupons": {"PLUGIN10": {"campaignId": 7, "rulesetId": 7, '
                                     '"label": "Plugin sale", "amount": 10.0}}}')
    coupon = """
        import pytest
        {mark}
        def test_coupon(talon_client):
            body = {{"coupon": "PLUGIN10", "cartItems": [{{"name": "a", "sku": "b", "quantity": 1, "price": 50}}],
                    "total": 50}}
            assert talon_client.update_session(talon_client.new_id(), body).json["session"]["discounts"] == {want}
    """
    pytester.makepyfile(test_marked=coupon.format(mark='pytestmark = pytest.mark.talon(rules="rules.json")',
                                                  want='{"Plugin sale": 10.0}'),
                        test_default=coupon.format(mark="", want="{}"))
    _run(pytester, "-q").assert_outcomes(passed=2)
    _run(pytester, "-q", "-o", "talon_rules=rules.json", "test_default.py").assert_outcomes(failed=1)


BAD_SETTINGS = {
    'api_version="v3"': "talon: API version 'v3' is not available; available: v1, v1-2021, v2",
    'fault="no_such_fault"': "talon: unknown fault(s) [[]'no_such_fault'[]]; valid faults: ack_before_commit, *",
    'rules="missing.json"': "talon: rule set */missing.json: [[]Errno 2[]] No such file or directory: *",
    'scope="class"': "talon: scope 'class': expected 'session' or 'module'",
}


def test_bad_settings_error_in_one_line(pytester: pytest.Pytester) -> None:
    for number, mark in enumerate(BAD_SETTINGS):
        pytester.makepyfile(**{f"test_bad_{number}": f"import pytest\npytestmark = pytest.mark.talon({mark})\n"
                                                     "def test_x(talon_server):\n    pass\n"})
    result = _run(pytester, "-q")
    result.assert_outcomes(errors=len(BAD_SETTINGS))
    for message in BAD_SETTINGS.values():
        result.stdout.fnmatch_lines(["_* ERROR at setup of test_x _*", message])
    assert "Traceback" not in result.stdout.str()


def test_the_api_version_reaches_the_server_and_the_client(pytester: pytest.Pytester) -> None:
    reopen = """
        import pytest
        pytestmark = pytest.mark.talon(api_version="{version}")
        def test_reopen(talon_client):
            order = talon_client.new_id("order")
            talon_client.update_session(order, {{"profileId": "p", "total": 3.0, "state": "closed"}}).expect(200)
            answer = talon_client.update_session(order, {{"state": "open"}})
            assert answer.request.path.startswith("/v1/customer_sessions/")
            assert (answer.status, answer.json.get("session", {{}}).get("state")) == {want}
    """
    pytester.makepyfile(
        test_v1=reopen.format(version="v1", want='(400, None)'),
        test_v1_2021=reopen.format(version="v1-2021", want='(200, "closed")'),  # the final revision keeps it closed
        test_v2="""
            import pytest
            pytestmark = pytest.mark.talon(api_version="v2")
            def test_v2(talon_client):
                answer = talon_client.update_session(talon_client.new_id(), {"customerSession": {"profileId": "p"}})
                assert answer.expect(200).request.path.startswith("/v2/customer_sessions/")
                assert answer.request.headers["Authorization"].startswith("ApiKey-v1 ")
                assert set(answer.json) >= {"effects", "createdCoupons", "createdReferrals"}
                dry = talon_client.put("updateCustomerProfileV2", "dry-p", {"attributes": {}},
                                       query={"runRuleEngine": True, "dry": True})
                assert dry.expect(200).request.path == "/v2/customer_profiles/dry-p?runRuleEngine=true&dry=true"
        """)
    _run(pytester, "-q").assert_outcomes(passed=3)


@pytest.mark.parametrize(("args", "source", "message"), [
    (["--talon-base-url", "ftp://x"], "def test_x():\n    pass\n",
     "ERROR: --talon-base-url: 'ftp://x' is not an http(s) URL; expected e.g. http://127.0.0.1:8000"),
    ([], "import pytest\n@pytest.mark.talon(fault='crash_on_nul')\ndef test_x(talon_server):\n    pass\n",
     ("ERROR: test_usage_error.py::test_x: @pytest.mark.talon goes on the module "
     "(pytestmark = pytest.mark.talon(...)); talon_server is module-scoped")),
    ([], "import pytest\npytestmark = pytest.mark.talon(fualt='crash_on_nul')\ndef test_x():\n    pass\n",
     "ERROR: test_usage_error.py: pytest.mark.talon does not take fualt; it takes api_version, fault, rules, scope"),
])
def test_usage_errors_stop_the_run_in_one_line(
        pytester: pytest.Pytester, args: list[str], source: str, message: str) -> None:
    pytester.makepyfile(test_usage_error=source)
    result = _run(pytester, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    # other plugins installed on the machine (pytest-benchmark) may warn on stderr too: ours is the one error
    assert [line for line in result.stderr.lines if line.startswith("ERROR")] == [message], result.stderr.str()
    assert "Traceback" not in result.stderr.str()


def test_an_unreachable_base_url_and_a_fault_there(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_far="def test_x(talon_client):\n    pass\n",
                        test_faulty="import pytest\npytestmark = pytest.mark.talon(fault='crash_on_nul')\n"
                                    "def test_y(talon_client):\n    pass\n")
    with ServerProcess(quiet=True) as closed:
        url = closed.base_url
    result = _run(pytester, "-q", "-rs", "--talon-base-url", url)
    result.assert_outcomes(errors=1, skipped=1)
    result.stdout.fnmatch_lines([f"talon_server: {url} (--talon-base-url) did not answer: Connection refused",
                                 ("SKIPPED * talon: fault 'crash_on_nul' needs the embedded reference server, not "
                                 "--talon-base-url")])


def test_readme_shows_this_example_verbatim() -> None:
    from markdown_it import MarkdownIt

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    tokens = MarkdownIt().parse(readme)
    heading = next(i for i, t in enumerate(tokens) if t.type == "inline" and t.content == "Using it in your own tests")
    end = next((i for i, t in enumerate(tokens) if i > heading and t.type == "heading_open" and t.tag == "h2"),
               len(tokens))
    fences = [t for t in tokens[heading:end] if t.type == "fence" and t.info.strip() == "python"]
    assert fences, "README's 'Using it in your own tests' shows no python example"
    assert fences[0].content == EXAMPLE[EXAMPLE.index("from hypothesis import given"):]

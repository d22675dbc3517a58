"""Every shell command in README.md runs (or is listed here as deliberately not run, with the reason).

Commands come from the README's ``sh``/``bash``/``shell`` fences, its indented code blocks, and the ``run:``
steps of any GitHub Actions workflow in a ``yaml`` fence. Each is matched against :data:`RULES` (first match
wins): it is skipped with a reason, run with options appended that keep it short, or run as written. A new
command in the README is picked up without touching this file; ``a && b`` counts as two commands. A block whose command ends in ``&`` starts it
in the background (its ``--port`` replaced by a free port throughout the block) for the commands after it.
Each command must exit 0; commands run in a temp directory with the venv's scripts on PATH.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from markdown_it import MarkdownIt

from tests.ports import free_port

README = Path(__file__).resolve().parents[1] / "README.md"
SHELL_FENCES = {"sh", "bash", "shell", "console"}


@dataclass(frozen=True)
class Rule:
    """What to do with a command matching ``pattern``: skip (``reason``), or run with ``append`` and, when
    ``expect`` is set, require its output to match that regular expression."""

    pattern: str
    reason: str = ""
    append: str = ""
    expect: str = ""


RULES: tuple[Rule, ...] = (
    Rule(r"^pip install", reason="installs into the environment; tests/test_quickstart.py runs the quick start's "
         "install in a fresh clone and venv (`pytest -m quickstart`, on every CI run)"),
    Rule(r"^(TALON_\w+=\S+ )?pytest\b", reason="runs the test suite, which this test is part of"),
    Rule(r"^export \w+=\.\.\.", reason="a placeholder for the user's own secret"),
    Rule(r"example\.com", reason="needs the user's own staging server"),
    Rule(r"\$\{\{", reason="a GitHub Actions expression (the repository's own secrets or variables)"),
    Rule(r"^talon-harness selftest", reason="about an hour on 2 cores; tests/selftest/test_selftest_fast.py runs a subset"),
    Rule(r"^python bench/", reason="a benchmark (minutes of CPU); its results and command are in bench/results/"),
    Rule(r"127\.0\.0\.1:9000", reason="needs the user's own server at that address"),
    Rule(r"talon-harness load --(master|worker)\b", reason="a master and workers on several hosts; "
         "tests/loadtests/test_distributed.py runs a master and two workers as separate processes"),
    Rule(r"^talon-harness proxy\b", reason="runs until Ctrl-C; tests/proxy/test_proxy_cli.py runs it and stops it"),
    Rule(r"^talon-harness load --replay traffic\.ndjson", reason="needs the user's own recording; "
         "tests/loadtests/test_replay.py records one through the proxy and replays it"),
    Rule(r"--baseline\b", reason="a baseline worth comparing takes two runs of a minute; "
         "tests/loadtests/test_load_baseline.py records and compares one against a fault app"),
    Rule(r"^talon-harness check\b", append="--max-time 5 --max-examples 2", expect=r"witness phase"),
    Rule(r"^talon-harness load\b", append="--duration 3", expect=r"PASS overall\.p99_ms"),
    Rule(r"^talon-harness run\b", append="--max-time 5 --duration 3", expect=r"check\s.*pass.*\n.*load\s.*pass"),
    Rule(r"^curl .*customer_sessions/s1\b", expect=r'"type":\s*"talon_session_(created|updated)"'),
)


@dataclass(frozen=True)
class Command:
    """One README command, the block it belongs to, and the commands before it in that block."""

    text: str
    block: int
    before: tuple[str, ...]


def readme_commands(text: str) -> list[Command]:
    """The shell commands of ``text`` (markdown), in order, with continuation lines joined."""
    blocks: list[list[str]] = []
    for token in MarkdownIt().parse(text):
        if token.type == "fence" and token.info.strip() in SHELL_FENCES or token.type == "code_block":
            blocks.append(_lines(token.content))
        elif token.type == "fence" and token.info.strip() in ("yaml", "yml"):
            blocks.extend(_workflow_runs(token.content))
    commands = []
    for number, lines in enumerate(blocks):
        for i, line in enumerate(lines):
            commands.append(Command(line, number, tuple(lines[:i])))
    return commands


def _lines(content: str) -> list[str]:
    joined = re.sub(r"\s*\\\n\s*", " ", content)
    lines = [line.strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [part.strip() for line in lines for part in line.split(" && ")]


def _workflow_runs(content: str) -> list[list[str]]:
    document = yaml.safe_load(content)
    if not isinstance(document, dict) or "jobs" not in document:
        return []
    return [_lines(step["run"]) for job in document["jobs"].values() for step in job.get("steps", [])
            if isinstance(step, dict) and "run" in step]


def rule_for(command: str) -> Rule | None:
    return next((rule for rule in RULES if re.search(rule.pattern, command)), None)


def _cases() -> list[object]:
    cases = []
    for command in readme_commands(README.read_text(encoding="utf-8")):
        rule = rule_for(command.text)
        marks = []
        if rule and rule.reason:
            marks.append(pytest.mark.skip(reason=f"not run: {rule.reason}"))
        if command.text.endswith("&"):
            marks.append(pytest.mark.skip(reason="starts a background server for the commands after it"))
        cases.append(pytest.param(command, marks=marks, id=f"{command.block}:{command.text[:60]}"))
    return cases


def test_readme_has_commands() -> None:
    assert len(readme_commands(README.read_text(encoding="utf-8"))) >= 5


def test_commands_come_from_shell_fences_indented_blocks_and_workflow_steps() -> None:
    sample = "```sh\npip install . && talon-harness run\n# a comment\ntalon-harness check \\\n  --seed 1\n```\n```\nPASSED  output, not a command\n```\n\n    python bench/x.py\n\n```yaml\njobs:\n  ci:\n    steps:\n      - uses: actions/checkout@v4\n      - run: |\n          pip install .\n          talon-harness load --rate 5\n```"
    assert [(c.block, c.text) for c in readme_commands(sample)] == [
        (0, "pip install ."), (0, "talon-harness run"), (0, "talon-harness check --seed 1"),
        (1, "python bench/x.py"), (2, "pip install ."), (2, "talon-harness load --rate 5")]
    assert rule_for("talon-harness check --base-url ${{ vars.URL }}").reason
    assert rule_for("talon-harness load --rate 5").append == "--duration 3"


@pytest.mark.parametrize("command", _cases())
def test_readme_command_runs(command: Command, tmp_path: Path) -> None:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    port = str(free_port())
    background = []
    try:
        for earlier in command.before:
            if earlier.endswith("&") and rule_for(earlier) is None:
                background.append(_start_background(_with_port(earlier, port), env, tmp_path))
        rule = rule_for(command.text)
        line = _with_port(command.text, port) + (f" {rule.append}" if rule and rule.append else "")
        proc = subprocess.run(["bash", "-c", f"set -o pipefail; {line}"], cwd=tmp_path, env=env,
                              capture_output=True, timeout=240, check=False)
    finally:
        for process in background:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)
    output = (proc.stdout + proc.stderr).decode(errors="replace")
    assert proc.returncode == 0, f"{line}\n{output[-3000:]}"
    assert "Traceback" not in output, output[-3000:]
    if rule and rule.expect:
        assert re.search(rule.expect, output), f"{line}: no match for {rule.expect!r}\n{output[-3000:]}"


def test_every_curl_fails_on_an_http_error() -> None:
    """A README curl without ``-f`` exits 0 on a 4xx or 5xx, and its test would pass on a broken server."""
    curls = [c.text for c in readme_commands(README.read_text(encoding="utf-8")) if c.text.startswith("curl ")]
    assert curls, "README shows the reference server answering a curl"
    assert [c for c in curls if not re.search(r"\s(-[a-zA-Z]*f[a-zA-Z]*|--fail)\b", c)] == []


def test_every_command_that_runs_on_loopback_is_run() -> None:
    """Only commands that need the user's own server, secret, hosts or recording (or that install, run
    this suite or take many minutes) are skipped; `run`, `check`, `load`, `serve` and curl always run."""
    ran = [c.text for c in readme_commands(README.read_text(encoding="utf-8"))
           if not (rule_for(c.text) and rule_for(c.text).reason)]  # type: ignore[union-attr]
    for command in ("talon-harness run", "talon-harness check", "talon-harness load", "talon-harness serve", "curl "):
        assert any(text.startswith(command) for text in ran), f"no README command starting {command!r} is run"


def _with_port(command: str, port: str) -> str:
    return re.sub(r"(--port |127\.0\.0\.1:)8000\b", rf"\g<1>{port}", command)


def _start_background(command: str, env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    line = command.removesuffix("&").strip()
    process = subprocess.Popen(["bash", "-c", f"exec {line}"], cwd=cwd, env=env, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    match = re.search(r"--port (\d+)", line)
    if match:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", int(match.group(1))), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail(f"{shlex.quote(line)} did not listen within 20 s")
    return process


def test_readme_is_a_user_guide_not_a_lab_notebook() -> None:
    """Under 20 KB, and no commit hash: measured figures and their commits live in bench/RESULTS.md."""
    text = README.read_text(encoding="utf-8")
    assert len(text.encode()) < 20_000, len(text.encode())
    hashes = r"(?<![\w/#-])(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{7,40}(?![\w-])"  # digits and letters
    assert re.findall(hashes, "at e8032c4, not 1000000 nor deadbeef") == ["e8032c4"]
    assert not re.findall(hashes, text)

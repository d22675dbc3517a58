"""The README's quick start, as a new user runs it: a fresh clone, a fresh venv, a regular install (issue 25).

The command is read from README.md (the first shell fence under "## Quick start"), never copied here, and
run from the clone's root with short budgets appended. Then the installed commands run from a sub-folder of
the clone and from an unrelated folder, since ``python -m`` children must find the installed package
whatever the working directory. The venv starts empty (``python -m venv``); pip may use the machine's wheel
cache. It clones ``HEAD``: uncommitted changes are not what a user gets, and are not tested here.

Marked ``quickstart`` (deselected by default: it installs a whole venv, about two minutes); ``.ci/run`` runs
it on every CI run with ``pytest -m quickstart``.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from markdown_it import MarkdownIt

from tests.ports import free_port

pytestmark = [pytest.mark.quickstart, pytest.mark.timeout(1200)]

ROOT = Path(__file__).resolve().parents[1]
#: appended to the quick start's last command (`talon-harness run`): a short check budget and load
SHORT_RUN = "--max-time 10 --duration 3"


def quick_start_command(readme: str) -> str:
    """The first shell fence's first line under the README's "## Quick start" heading, continuations joined."""
    tokens = MarkdownIt().parse(readme)
    in_section = False
    for token in tokens:
        if token.type == "heading_open":
            in_section = False
        if token.type == "inline" and token.content.strip() == "Quick start":
            in_section = True
        if in_section and token.type == "fence" and token.info.strip() in ("sh", "bash", "shell"):
            lines = re.sub(r"\s*\\\n\s*", " ", token.content).splitlines()
            return next(line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#"))
    raise AssertionError("README.md has no shell fence under '## Quick start'")


def test_quick_start_command_is_read_from_readme() -> None:
    sample = "# x\n## Other\n```sh\nfoo\n```\n## Quick start\ntext\n```sh\n# a comment\npip install . \\\n  && talon-harness run\n```\n"
    assert quick_start_command(sample) == "pip install . && talon-harness run"
    assert quick_start_command((ROOT / "README.md").read_text(encoding="utf-8")).endswith("talon-harness run")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A fresh clone with a fresh venv, after the README's first command ran in its root (exit code, output)."""
    base = tmp_path_factory.mktemp("quickstart")
    clone, venv = base / "clone", base / "venv"
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)], check=True, timeout=120)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    env = {"PATH": f"{venv / 'bin'}{os.pathsep}/usr/local/bin{os.pathsep}/usr/bin{os.pathsep}/bin",
           "HOME": os.environ.get("HOME", str(base)), "VIRTUAL_ENV": str(venv), "LANG": "C.UTF-8",
           "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    command = quick_start_command((clone / "README.md").read_text(encoding="utf-8"))
    started = time.monotonic()
    proc = subprocess.run(["bash", "-c", f"set -o pipefail; {command} {SHORT_RUN}"], cwd=clone, env=env,
                          capture_output=True, text=True, timeout=900, check=False)
    return {"clone": clone, "venv": venv, "env": env, "command": command, "proc": proc,
            "seconds": time.monotonic() - started}


def _tail(proc: subprocess.CompletedProcess[str]) -> str:
    return (proc.stdout + proc.stderr)[-3000:]


def test_readme_first_command_from_the_clone_root(installed: dict[str, object]) -> None:
    proc, clone, venv = installed["proc"], Path(str(installed["clone"])), Path(str(installed["venv"]))
    assert isinstance(proc, subprocess.CompletedProcess)
    assert proc.returncode == 0, f"{installed['command']} {SHORT_RUN}\n{_tail(proc)}"
    assert "Traceback" not in proc.stdout + proc.stderr
    assert (clone / "reports" / "check" / "report.html").is_file()
    assert (clone / "reports" / "load" / "report.html").is_file()
    # a regular install: the package lives in the venv, not as a link back into the clone
    site = subprocess.run([str(venv / "bin" / "python"), "-P", "-c",
                           "import talon_harness.refserver as m; print(m.__file__)"],
                          capture_output=True, text=True, check=True, cwd="/").stdout.strip()
    assert site.startswith(str(venv)), site


@pytest.mark.parametrize(("where", "api"), [("sub-folder", "v1"), ("unrelated", "v2")])
def test_installed_run_works_from_any_folder(installed: dict[str, object], where: str, api: str,
                                             tmp_path: Path) -> None:
    """`run` (and, from an unrelated folder, `run --api v2`, as README shows it) on the regular install."""
    clone = Path(str(installed["clone"]))
    cwd = clone / "contracts" if where == "sub-folder" else tmp_path
    env = dict(installed["env"])  # type: ignore[call-overload]
    proc = subprocess.run(["bash", "-c", f"talon-harness run --api {api} {SHORT_RUN} --report-dir out"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    try:
        assert proc.returncode == 0, _tail(proc)
        assert (cwd / "out" / "check" / "report.html").is_file()
        assert (cwd / "out" / "load" / "report.html").is_file()
    finally:
        subprocess.run(["rm", "-rf", str(cwd / "out")], check=False)


@pytest.mark.parametrize("command", ["serve", "proxy"])
def test_servers_start_from_the_clone_root(installed: dict[str, object], command: str) -> None:
    """`serve` answers a real PUT; `proxy` (which starts the embedded reference server) passes one through."""
    clone, env = Path(str(installed["clone"])), dict(installed["env"])  # type: ignore[call-overload]
    port = free_port()
    process = subprocess.Popen(["talon-harness", command, "--port", str(port)], cwd=clone, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_listening(port, process)
        answer = httpx.put(f"http://127.0.0.1:{port}/v1/customer_profiles/quickstart-1",
                           json={"attributes": {}}, timeout=10)
        assert answer.status_code == 200, answer.text
        assert answer.json()["profile"]["integrationId"] == "quickstart-1"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        out, _ = process.communicate(timeout=30)
    assert "Traceback" not in out.decode(errors="replace")


def test_selftest_runs_from_the_clone_root(installed: dict[str, object]) -> None:
    clone, env = Path(str(installed["clone"])), dict(installed["env"])  # type: ignore[call-overload]
    proc = subprocess.run(["talon-harness", "selftest", "--faults", "quantity_zero_accepted", "--no-baseline",
                           "--max-time", "10", "--report-dir", str(clone / "reports" / "selftest")],
                          cwd=clone, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, _tail(proc)
    assert re.search(r"quantity_zero_accepted\s.*\s1/1\s", proc.stdout), proc.stdout[-2000:]


def _wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"exited {process.returncode}: {process.stdout.read().decode() if process.stdout else ''}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"nothing listened on {port} within 60 s")

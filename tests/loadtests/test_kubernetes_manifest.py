"""loadtests/kubernetes/locusttest.yaml, the Locust operator's LocustTest v2 (locust-k8s-operator): it runs the
project's locustfile with a run config that parses, and its master/worker split is consistent."""

from __future__ import annotations

import ast
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from talon_harness.loadtests.config import LOAD_SETTINGS_ENV, LoadConfig
from talon_harness.loadtests.locustfile_path import LOCUSTFILE
from talon_harness.refserver import ServerProcess
from talon_harness.strategies.wire import Credentials

KUBE = Path(__file__).resolve().parents[2] / "loadtests" / "kubernetes"
MOUNT = "/lotest/src"  # the operator's default testFiles.srcMountPath
#: flags the operator adds itself (internal/resources/command.go): a command seed must not set them
OPERATOR_FLAGS = {"--master", "--worker", "--master-port", "--master-host", "--expect-workers", "--autostart",
                  "--autoquit", "--enable-rebalancing", "--only-summary"}


def _docs() -> dict[str, dict[str, Any]]:
    docs = list(yaml.safe_load_all((KUBE / "locusttest.yaml").read_text(encoding="utf-8")))
    return {d["kind"]: d for d in docs}


def _options(command: str) -> dict[str, str | None]:
    """The operator splits a command seed on whitespace (Go's strings.Fields): no quoting."""
    args = command.split()
    assert not any(q in command for q in "'\""), "the operator does not honour quotes"
    out: dict[str, str | None] = {}
    for i, arg in enumerate(args):
        if arg.startswith("--"):
            nxt = args[i + 1] if i + 1 < len(args) else None
            out[arg] = None if nxt is None or nxt.startswith("--") else nxt
    return out


def test_the_manifest_runs_the_projects_locustfile_on_master_and_workers() -> None:
    docs = _docs()
    cm, test = docs["ConfigMap"], docs["LocustTest"]
    assert test["apiVersion"] == "locust.io/v2"
    spec = test["spec"]
    assert spec["testFiles"]["configMapRef"] == cm["metadata"]["name"]
    master, worker = _options(spec["master"]["command"]), _options(spec["worker"]["command"])
    assert master["--locustfile"] == worker["--locustfile"] == f"{MOUNT}/locustfile.py"
    shim = ast.parse(cm["data"]["locustfile.py"])
    imports = [n for n in ast.walk(shim) if isinstance(n, ast.ImportFrom)]
    assert [(n.module, [a.name for a in n.names]) for n in imports] == [
        ("talon_harness.loadtests.locustfile", ["TalonUser"])
    ]
    real = ast.parse(LOCUSTFILE.read_text(encoding="utf-8"))
    assert "TalonUser" in {n.name for n in real.body if isinstance(n, ast.ClassDef)}
    for command in (spec["master"]["command"], spec["worker"]["command"]):
        assert not {a.split("=", 1)[0] for a in command.split()} & OPERATOR_FLAGS, command
    assert "--talon-config" not in worker  # the master forwards its settings at test start


def test_the_master_worker_split_and_the_run_config_agree() -> None:
    docs = _docs()
    cm, spec = docs["ConfigMap"], docs["LocustTest"]["spec"]
    master = _options(spec["master"]["command"])
    assert master["--talon-config"] == f"@{MOUNT}/talon-config.json"
    config = LoadConfig.from_json(cm["data"]["talon-config.json"])  # checked as every run's config is
    replicas = spec["worker"]["replicas"]
    assert config.master and config.expect_workers == replicas >= 2
    assert config.rate is not None and config.users is None  # open model: the rate is split per worker
    assert int(master["--users"] or 0) == config.locust_users == replicas  # one arrival scheduler per worker
    assert master["--run-time"] == f"{config.duration_s:g}s"
    assert master["--host"] == config.base_url and config.allow_remote
    assert "--headless" in master and int(master["--expect-workers-max-wait"] or 0) > 0  # bounded, ends by itself
    assert json.loads(cm["data"]["talon-config.json"])["report_dir"].startswith("/tmp/")  # writable in the pod


def test_credentials_come_from_a_secret_and_the_image_pins_our_locust() -> None:
    spec = _docs()["LocustTest"]["spec"]
    assert [s["name"] for s in spec["env"]["secretRefs"]] == ["talon-harness-credentials"]
    # the secret the header creates is a settings document holding only the credentials (D41)
    text = (KUBE / "locusttest.yaml").read_text(encoding="utf-8")
    literals = re.findall(r"--from-literal=(\w+)='([^']*)'", text)
    assert [name for name, _ in literals] == [LOAD_SETTINGS_ENV]
    document = {LOAD_SETTINGS_ENV: literals[0][1]}
    assert LoadConfig.from_env(document) is None  # no settings in it: those are the ConfigMap's
    settings = _docs()["ConfigMap"]["data"]["talon-config.json"]
    assert LoadConfig.from_env(document, settings=settings).credentials == Credentials(api_key="...")
    dockerfile = (KUBE / "Dockerfile").read_text(encoding="utf-8")
    pin = next(d for d in _pyproject_dependencies() if d.startswith("locust"))
    assert pin == "locust>=2.47,<2.48" and "FROM locustio/locust:2.47." in dockerfile
    assert f"-t {spec['image']} ." in dockerfile  # the build command it documents makes the image the test runs


def _pyproject_dependencies() -> list[str]:
    import tomllib

    doc = tomllib.loads((KUBE.parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    return list(doc["project"]["dependencies"])


@pytest.mark.slow  # ~30 s: a master and two workers started with the operator's command lines
def test_the_manifest_runs_as_the_operator_starts_it(tmp_path: Path) -> None:
    """The ConfigMap's files in a folder standing for /lotest/src, the seeds plus the flags the operator adds
    (internal/resources/command.go; the master binds what --master-port names: 5557 in a pod), the secret's
    document in every process's environment, a short run against a keyed server: no request refused."""
    docs = _docs()
    spec, data = docs["LocustTest"]["spec"], docs["ConfigMap"]["data"]
    src, report = tmp_path / "src", tmp_path / "report"
    src.mkdir()
    (src / "locustfile.py").write_text(data["locustfile.py"])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    secret = {**os.environ, LOAD_SETTINGS_ENV: json.dumps({"credentials": {"api_key": "k-pod"}})}  # every pod's
    with ServerProcess(api_key="k-pod", quiet=True) as server:
        config = {**json.loads(data["talon-config.json"]), "base_url": server.base_url, "rate": 10, "duration_s": 6,
                  "expect_workers": 2, "report_dir": str(report)}
        (src / "talon-config.json").write_text(json.dumps(config))

        def seed(command: str) -> list[str]:
            opts = _options(command)
            command = command.replace(MOUNT, str(src))
            if opts.get("--host"):
                command = command.replace(str(opts["--host"]), server.base_url)
            if opts.get("--run-time"):
                command = command.replace(str(opts["--run-time"]), "6s")
            return [sys.executable, "-m", "locust", *command.replace("--users 4 --spawn-rate 4", "--users 2 --spawn-rate 2").split()]

        procs = [subprocess.Popen(
            [*seed(spec["master"]["command"]), "--master", f"--master-port={port}", f"--master-bind-port={port}",
             "--expect-workers=2", "--autostart", "--autoquit", "60", "--enable-rebalancing", "--only-summary"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path, env=secret,
        )]
        procs += [
            subprocess.Popen([*seed(spec["worker"]["command"]), "--worker", f"--master-port={port}",
                              "--master-host=127.0.0.1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path,
                             env=secret)
            for _ in range(2)
        ]
        try:
            assert procs[0].wait(timeout=120) in (0, 1)  # 0 every SLO held, 1 a breach: the run was judged
            assert [w.wait(timeout=60) for w in procs[1:]] == [0, 0]
        finally:
            for p in procs:
                p.kill()
    summary = json.loads((report / "summary.json").read_text())
    assert len(summary["workers"]) == 2 and summary["endpoints"]["overall"]["failures"] == 0
    assert sum(s["requests"] for s in summary["workers"].values()) == summary["endpoints"]["overall"]["requests"] > 0

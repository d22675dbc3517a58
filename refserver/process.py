"""`ServerProcess`: the reference server in a subprocess (`python -m talon_harness.refserver`), for tests and tools.

`start()` returns once the port file exists and a TCP connect succeeds (bounded by `startup_timeout`),
or raises `ServerStartError` with the tail of the log. `stop()` sends SIGTERM then SIGKILL; `kill()`
sends SIGKILL at once (durability tests); `restart()` starts again on the same database (new port).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Self

__all__ = ["ServerProcess", "ServerStartError"]


class ServerStartError(RuntimeError):
    """The server did not come up; `log_tail` holds the end of its log."""

    def __init__(self, reason: str, log_tail: str) -> None:
        super().__init__(f"refserver did not start: {reason}\n--- log tail ---\n{log_tail}")
        self.reason = reason
        self.log_tail = log_tail


class ServerProcess:
    """A refserver subprocess; keyword arguments mirror the CLI. Use as a context manager.

    `api` is the v1 revision it speaks (D16): "v1", the seed's, unless told otherwise, because that is the
    contract `check`, `load` and `run` test; "v1-2021" for the final revision."""

    def __init__(
        self,
        *,
        db: str | os.PathLike[str] | None = None,
        host: str = "127.0.0.1",
        api_key: str | None = None,
        hmac_key: str | None = None,
        application_id: int = 1,
        account_id: int = 1,
        rules_file: str | os.PathLike[str] | None = None,
        faults: Iterable[str] = (),
        extra_args: Iterable[str] = (),
        startup_timeout: float = 15.0,
        quiet: bool = False,
        api: str = "v1",
    ) -> None:
        self._workdir = Path(tempfile.mkdtemp(prefix="refserver-proc-"))
        self.db = Path(db) if db is not None else self._workdir / "refserver.db"
        self.host = host
        self.log_path = self._workdir / "server.log"
        self._port_file = self._workdir / "port"
        self._args = [
            "--host",
            host,
            "--port",
            "0",
            "--db",
            os.fspath(self.db),
            "--port-file",
            os.fspath(self._port_file),
            "--application-id",
            str(application_id),
            "--account-id",
            str(account_id),
            "--api",  # always explicit: the process entry defaults to the final revision (D16)
            api,
        ]
        # keys travel in the child's environment, never on its command line (visible to every local user)
        self._secret_env = {
            name: value
            for name, value in (("REFSERVER_API_KEY", api_key), ("REFSERVER_HMAC_KEY", hmac_key))
            if value is not None
        }
        if rules_file is not None:
            self._args += ["--rules", os.fspath(rules_file)]
        for fault in faults:
            self._args += ["--fault", fault]
        if quiet:
            self._args.append("--quiet")
        self._args += list(extra_args)
        self.startup_timeout = startup_timeout
        self.port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def __repr__(self) -> str:  # the command line may hold keys: never show it
        return f"ServerProcess(base_url={self.base_url if self.port else None!r}, db={os.fspath(self.db)!r})"

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("ServerProcess is not running; call start() first")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def start(self) -> Self:
        if self.running:
            raise RuntimeError("ServerProcess already running")
        self._port_file.unlink(missing_ok=True)
        self.port = None
        env = dict(os.environ)
        env.pop("REFSERVER_API_KEY", None)
        env.pop("REFSERVER_HMAC_KEY", None)
        env.update(self._secret_env)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in _reap
        self._proc = subprocess.Popen(
            [sys.executable, "-P", "-m", "talon_harness.refserver", *self._args],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                self._reap()
                raise ServerStartError(f"process exited with code {self._proc.returncode}", self.log_tail())
            port = self._read_port()
            if port is not None and self._connectable(port):
                self.port = port
                return
            time.sleep(0.02)
        self.kill()
        raise ServerStartError(f"not listening after {self.startup_timeout} s", self.log_tail())

    def _read_port(self) -> int | None:
        try:
            text = self._port_file.read_text().strip()
        except OSError:
            return None
        return int(text) if text.isdigit() else None

    def _connectable(self, port: int) -> bool:
        try:
            with socket.create_connection((self.host, port), timeout=0.5):
                return True
        except OSError:
            return False

    def stop(self, timeout: float = 5) -> None:
        """SIGTERM, wait up to `timeout` s, then SIGKILL."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._reap()

    def kill(self) -> None:
        """SIGKILL at once (no shutdown): acknowledged writes must still be in the database."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._reap()

    def restart(self) -> Self:
        """Stop (if running) and start again on the same database; the port may change."""
        self.stop()
        return self.start()

    def _reap(self) -> None:
        self.port = None if not self.running else self.port
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

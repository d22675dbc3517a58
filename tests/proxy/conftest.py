"""The proxy under test, in a thread of the test process, in front of a loopback upstream."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from talon_harness.harness.proxy import ProxyConfig, ProxyOutcome, run_proxy


@dataclass
class RunningProxy:
    """A proxy serving in a thread: its URL, the lines it printed, and its outcome once stopped."""

    base_url: str
    lines: list[str]
    stop: threading.Event
    thread: threading.Thread
    result: dict[str, Any] = field(default_factory=dict)

    def finish(self) -> ProxyOutcome:
        self.stop.set()
        self.thread.join(15)
        assert not self.thread.is_alive(), "the proxy did not stop"
        return self.result["outcome"]


@contextmanager
def proxy_in_thread(upstream: str, tmp_path: Path, **options: Any) -> Iterator[RunningProxy]:
    config = ProxyConfig(upstream=upstream, port=0, report_dir=tmp_path / "proxy-report", **options)
    lines: list[str] = []
    ports: list[int] = []
    stop = threading.Event()
    result: dict[str, Any] = {}

    def serve() -> None:
        result["outcome"] = run_proxy(config, emit=lines.append, ready=ports.append, stop=stop)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not ports:
        assert time.monotonic() < deadline and thread.is_alive(), "the proxy did not start"
        time.sleep(0.01)
    running = RunningProxy(f"http://127.0.0.1:{ports[0]}", lines, stop, thread, result)
    try:
        yield running
    finally:
        stop.set()
        thread.join(15)


@contextmanager
def asgi_upstream(app: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on a free loopback port in a thread; yields its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="error", server_header=False,
                                           date_header=False))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()

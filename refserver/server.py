"""`serve`: run the reference server under uvicorn until SIGINT/SIGTERM, then stop cleanly.

The socket is bound here (so port 0 works); once uvicorn is listening the actual port is written
atomically to `port_file`. Logging: one line per request on stderr (method, raw path, status, ms);
never headers, bodies or keys.
"""

from __future__ import annotations

import asyncio
import gc
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from .app import create_app
from .config import ServerConfig
from .store import Store

__all__ = ["serve"]

_GC_GEN0_THRESHOLD = 20_000  # default 700


def _log_line(line: str) -> None:
    sys.stderr.write(line + "\n")


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def _write_port_file(path: str | os.PathLike[str], port: int) -> None:
    target = Path(path)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(f"{port}\n")
    os.replace(tmp, target)


@contextmanager
def _stop_signals_end_serving() -> Iterator[list[int]]:
    """uvicorn re-raises the SIGINT/SIGTERM it caught once shut down; record it instead (in the list
    yielded) so that `serve` returns normally (store closed) instead of the process dying from the signal."""
    caught: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield caught
        return
    def record(sig: int, _: object) -> None:
        caught.append(sig)

    previous = {sig: signal.signal(sig, record) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield caught
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


async def _run(server: uvicorn.Server, sock: socket.socket, port_file: str | os.PathLike[str] | None) -> None:
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.01)
    if server.started and port_file is not None:
        _write_port_file(port_file, sock.getsockname()[1])
    await task


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    db: str | os.PathLike[str] | None = None,
    config: ServerConfig = ServerConfig(),  # noqa: B008 - frozen, safe as a default
    port_file: str | os.PathLike[str] | None = None,
    log: bool = True,
) -> int | None:
    """Serve until SIGINT/SIGTERM; return the signal that stopped it (None: uvicorn stopped by itself).
    db=None uses a fresh file in a new temporary directory (removed on exit)."""
    tmpdir = None
    if db is None:
        tmpdir = tempfile.mkdtemp(prefix="refserver-")
        db = os.path.join(tmpdir, "refserver.db")
    store = Store(db)
    try:
        app = create_app(store, config, log=_log_line if log else None)
        sock = _bind(host, port)
        uv_config = uvicorn.Config(
            app,
            access_log=False,
            log_level="warning" if log else "error",
            lifespan="on",
            loop="auto",
            http="auto",
            server_header=False,
            date_header=False,
            proxy_headers=False,  # nothing here reads client/scheme: skip uvicorn's per-request middleware
        )
        server = uvicorn.Server(uv_config)
        bound = sock.getsockname()[1]
        if log:
            _log_line(
                f"refserver: serving http://{host}:{bound} api={config.api} db={os.fspath(db)} "
                f"auth={config.auth_modes or 'none'}"
            )
        # Requests allocate many short-lived, acyclic dicts: collect young objects less often, and keep
        # the startup objects (modules, app) out of every collection.
        gc_thresholds = gc.get_threshold()
        gc.collect()
        gc.freeze()
        gc.set_threshold(_GC_GEN0_THRESHOLD, 20, 20)
        try:
            with (
                _stop_signals_end_serving() as caught,
                asyncio.Runner(loop_factory=uv_config.get_loop_factory()) as runner,
            ):
                runner.run(_run(server, sock, port_file))
        finally:
            gc.set_threshold(*gc_thresholds)
            gc.unfreeze()
        sock.close()
    finally:
        store.close()
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)
    return caught[0] if caught else None

"""Cost of the reference server's ASGI app alone (no sockets, no HTTP parser): microseconds per request
over the journey-mix corpus, driven in-process on a fresh SQLite file. `--profile` prints the top of a
cProfile run instead (use py-spy against a live server for the whole stack). The event-loop thread's CPU
time is the steadier figure on a shared machine (wall time includes other processes).

    python bench/app_inprocess.py [--requests 20000] [--runs 5] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import median
from bench._corpus import build_corpus
from talon_harness.refserver.app import create_app
from talon_harness.refserver.config import ServerConfig
from talon_harness.refserver.store import Store


def _scopes(requests: tuple[bytes, ...]) -> list[tuple[dict[str, Any], bytes]]:
    out = []
    for raw in requests:
        head, body = raw.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        method, path, _ = lines[0].split(b" ")
        headers = [tuple(line.split(b": ", 1)) for line in lines[1:]]
        headers = [(k.lower(), v) for k, v in headers]
        scope = {"type": "http", "method": method.decode(), "path": path.decode(), "raw_path": path,
                 "query_string": b"", "headers": headers}
        out.append((scope, body))
    return out


async def _drive(app: Any, items: list[tuple[dict[str, Any], bytes]]) -> int:
    statuses = 0

    async def send(message: dict[str, Any]) -> None:
        nonlocal statuses
        if message["type"] == "http.response.start" and message["status"] != 200:
            statuses += 1

    for scope, body in items:
        message = {"type": "http.request", "body": body, "more_body": False}

        async def receive(message: dict[str, Any] = message) -> dict[str, Any]:
            return message

        await app(scope, receive, send)
    return statuses


def _one(items: list[tuple[dict[str, Any], bytes]], profile: bool, background: bool = True
         ) -> tuple[float, float, int]:
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "app.db", background_checkpoints=background) as store:
        app = create_app(store, ServerConfig())
        profiler = cProfile.Profile(time.thread_time) if profile else None
        started, cpu_started = time.perf_counter(), time.thread_time()
        if profiler:
            profiler.enable()
        non_200 = asyncio.run(_drive(app, items))
        if profiler:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
        cpu = (time.thread_time() - cpu_started) / len(items) * 1e6
        return (time.perf_counter() - started) / len(items) * 1e6, cpu, non_200


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=20_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--sqlite-checkpoints", action="store_true",
                    help="SQLite's default checkpointing instead of the background thread")
    args = ap.parse_args()
    items = _scopes(build_corpus(args.requests).requests)
    if args.profile:
        _one(items, True)
        return
    results = [_one(items, False, not args.sqlite_checkpoints) for _ in range(args.runs)]
    us, cpu = median(r[0] for r in results), median(r[1] for r in results)
    print(f"wall {us:.1f} us/request ({1e6 / us:.0f} req/s app-only), event-loop thread CPU {cpu:.1f} us/request; "
          f"non-200: {results[0][2]}/{len(items)}; wall per run: {', '.join(f'{r[0]:.1f}' for r in results)}")


if __name__ == "__main__":
    main()

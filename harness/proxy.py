"""``talon-harness proxy``: a transparent, validating, recording reverse proxy (ASGI app served by uvicorn).

Transparent: the request target is forwarded byte for byte (ASGI ``raw_path`` and ``query_string``, so
``%2F`` stays ``%2F``), every method, request and response bodies unchanged. Only what a proxy must change
changes: hop-by-hop headers (RFC 9110 7.6.1) are dropped, ``Host`` names the upstream, ``Content-Length``
is set for the body as forwarded; nothing is added (uvicorn's ``server``/``date`` headers are off).

Bounded: a request body over ``max_body`` gets a 413, an upstream that does not answer within
``timeout_s`` (connect, then the whole response), answers more than ``max_body`` bytes or breaks the
connection gets a 502; both with a JSON ``{"message": ..., "errors": []}`` body and never judged.

Each exchange is judged by :class:`contracts.traffic.TrafficJudge` before the answer goes back, so the
model learns in the order the client sees; each violation is printed at once, one line. With ``api`` "v2" the
judge is :class:`contracts.traffic_v2.V2TrafficJudge` (integration-v2.yaml and the v2 rules). A judged request
that carries a query parameter the revision ``api`` does not declare is an ``unknown_query_parameter``
violation of the client (D17: ``dry`` is declared by "v1-2021" only). With
``record`` set, each exchange is appended as one NDJSON line (format: :mod:`loadtests.replay`; credential
headers never written) until ``max_exchanges`` or ``max_bytes``; then recording stops, proxying goes on.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import threading
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import uvicorn
import yarl

from talon_harness.contracts.spec import API_NAMES, query_parameters
from talon_harness.contracts.traffic import CLIENT_RULES, SERVER_RULES, TrafficJudge, Violation
from talon_harness.contracts.traffic_v2 import V2_CLIENT_RULES, V2_SERVER_RULES, V2TrafficJudge
from talon_harness.harness.proxy_recording import Recording
from talon_harness.loadtests.replay import exchange_record

__all__ = ["ProxyConfig", "ProxyOutcome", "Recording", "TrafficProxy", "run_proxy"]

_HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
                         "upgrade", "host", "content-length"})
_KEPT_VIOLATIONS = 1000
PROXY_RULES: tuple[str, ...] = ("bad_gateway",)
QUERY_RULES: tuple[str, ...] = ("unknown_query_parameter",)  # blamed on the client (D17)


@dataclass(frozen=True)
class ProxyConfig:
    """One proxy run. ``fresh``: the upstream started empty (the embedded server), so unseen ids are absent."""

    upstream: str
    host: str = "127.0.0.1"
    port: int = 8100
    record: Path | None = None
    max_exchanges: int = 100_000
    max_bytes: int = 100 * 2**20
    timeout_s: float = 10.0
    max_body: int = 8 * 2**20
    report_dir: Path = Path("reports/proxy")
    fresh: bool = False
    model_entities: int = 200_000  # ids the judge's model keeps (its memory bound; see contracts.model.Model)
    # the API whose query parameters are allowed (D16, D17; v2: dry, now, runRuleEngine); the v1 revisions are
    # judged by TrafficJudge (the seed's contract and rules), v2 by V2TrafficJudge (v2's contract and rules)
    api: str = "v1"

    def __post_init__(self) -> None:
        parts = urlsplit(self.upstream)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"--upstream must be an http(s) URL, got {self.upstream!r}")
        if self.max_exchanges < 1 or self.max_bytes < 1:
            raise ValueError("--max-exchanges and --max-bytes must be >= 1")
        if not self.timeout_s > 0:
            raise ValueError(f"the upstream timeout must be > 0 s, got {self.timeout_s}")
        if self.api not in API_NAMES:
            raise ValueError(f"api must be one of {', '.join(API_NAMES)}, got {self.api!r}")


@dataclass
class _Stats:
    exchanges: int = 0
    judged: int = 0
    not_judged: int = 0
    bad_gateway: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    violations: list[Violation] = field(default_factory=list)
    judge_errors: int = 0


def _json_error(message: str) -> bytes:
    return json.dumps({"message": message, "errors": []}).encode("utf-8")


class TrafficProxy:
    """The ASGI app; ``emit`` receives each line to print (violations, recording notices)."""

    def __init__(self, config: ProxyConfig, *, emit: Callable[[str], None], recording: Recording | None = None) -> None:
        self.config = config
        self.judge: TrafficJudge | V2TrafficJudge = (V2TrafficJudge if config.api == "v2" else TrafficJudge)(
            fresh=config.fresh, max_entities=config.model_entities)
        self.recording = recording
        self.stats = _Stats()
        self._emit = emit
        parts = urlsplit(config.upstream)
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._base = parts.path.rstrip("/").encode("latin-1")
        self._host_header = parts.netloc.rpartition("@")[2].encode("latin-1")
        self._session: aiohttp.ClientSession | None = None
        self._started = time.perf_counter()
        self._active: dict[int, tuple[bytes, list[bool]]] = {}  # in flight: path, [overlapped, contended]
        self._next_id = 0

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:  # nothing added to what the client sent, nothing decoded
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=100, keepalive_timeout=30.0), auto_decompress=False,
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"), cookie_jar=aiohttp.DummyCookieJar())
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":  # uvicorn runs with lifespan off; answer politely anyway
            while (message := await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await self.aclose()
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        arrived = time.perf_counter()
        target = scope.get("raw_path") or scope["path"].encode("utf-8")
        if scope.get("query_string"):
            target += b"?" + scope["query_string"]
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if len(body) > self.config.max_body:
                await self._answer(send, 413, f"proxy: request body over {self.config.max_body} bytes")
                return
            if not message.get("more_body"):
                break
        me, flags = self._begin(target.partition(b"?")[0])
        try:
            status, headers, answer = await self._forward(scope["method"], target, scope["headers"], bytes(body))
        except _BadGateway as exc:
            self.stats.bad_gateway += 1
            self.stats.counts["server bad_gateway"] += 1
            violation = Violation("server", "bad_gateway", str(exc), scope["method"], target.decode("latin-1"), 502)
            self._keep(violation)
            self._emit(violation.line())
            await self._answer(send, 502, f"proxy: {exc}")
            return
        finally:
            self._end(me)
        latency_ms = (time.perf_counter() - arrived) * 1000.0
        request_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        response_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers]
        self._observe(scope["method"], target, request_headers, bytes(body), status, response_headers, answer,
                      overlapped=flags[0], contended=flags[1], offset_ms=(arrived - self._started) * 1000.0, latency_ms=latency_ms)
        out = [(k, v) for k, v in headers if k.lower().decode("latin-1") not in _HOP_BY_HOP]
        if scope["method"] == "HEAD":
            out += [(k, v) for k, v in headers if k.lower() == b"content-length"]
        else:
            out.append((b"content-length", str(len(answer)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": answer})

    def _begin(self, path: bytes) -> tuple[int, list[bool]]:
        """Register an exchange in flight; flags ``[overlapped, contended]`` are set on every exchange in flight
        at the same time as another one (for the same path: contended too)."""
        me, self._next_id = self._next_id, self._next_id + 1
        flags = [False, False]
        for other_path, other in self._active.values():
            flags[0] = other[0] = True
            if other_path == path:
                flags[1] = other[1] = True
        self._active[me] = (path, flags)
        return me, flags

    def _end(self, me: int) -> None:
        self._active.pop(me, None)

    async def _forward(self, method: str, target: bytes, headers: list[tuple[bytes, bytes]],
                       body: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        connection = {v.strip().lower() for k, value in headers if k.lower() == b"connection" for v in value.split(b",")}
        sent = [(b"host", self._host_header)]
        sent += [(k, v) for k, v in headers if k.lower().decode("latin-1") not in _HOP_BY_HOP and k.lower() not in connection]
        if body or method in ("PUT", "POST", "PATCH"):
            sent.append((b"content-length", str(len(body)).encode()))
        url = yarl.URL(self._origin + (self._base + target).decode("latin-1"), encoded=True)  # the raw target
        t = self.config.timeout_s
        try:
            async with asyncio.timeout(t):
                async with self._client().request(
                        method, url, data=body or None, allow_redirects=False, compress=None,
                        headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in sent],
                        timeout=aiohttp.ClientTimeout(total=t, connect=t, sock_read=t)) as response:
                    answer = bytearray()
                    async for chunk in response.content.iter_any():
                        answer += chunk
                        if len(answer) > self.config.max_body:
                            raise _BadGateway(f"upstream response over {self.config.max_body} bytes")
                    return response.status, list(response.raw_headers), bytes(answer)
        except TimeoutError:
            raise _BadGateway(f"upstream did not answer within {t:g} s") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise _BadGateway(f"upstream failed: {type(exc).__name__}" + (f": {exc}" if str(exc) else "")) from None

    def _observe(self, method: str, target: bytes, headers: list[tuple[str, str]], body: bytes, status: int,
                 response_headers: list[tuple[str, str]], answer: bytes, *, overlapped: bool, contended: bool,
                 offset_ms: float,
                 latency_ms: float) -> None:
        self.stats.exchanges += 1
        path = target.decode("latin-1")
        try:
            found = self.judge.judge(method, path, dict(headers), body, status, dict(response_headers), answer,
                                     overlapped=overlapped, contended=contended)
        except Exception as exc:  # noqa: BLE001 - a judge bug must not break proxying; it is reported
            self.stats.judge_errors += 1
            self._emit(f"JUDGE ERROR {method} {path[:120]}: {type(exc).__name__}: {exc}")
            found = []
        if found is None:
            self.stats.not_judged += 1
        else:
            self.stats.judged += 1
            found = [*found, *_unknown_query(self.config.api, method, path, status)]
            for violation in found:
                self.stats.counts[f"{violation.side} {violation.rule}"] += 1
                self._keep(violation)
                self._emit(violation.line())
        if self.recording is not None and self.recording.stopped is None:
            stopped = self.recording.write(exchange_record(
                offset_ms=offset_ms, method=method, path=target, headers=headers, body=body, status=status,
                response_headers=response_headers, response_body=answer, latency_ms=latency_ms))
            if stopped:
                self._emit(f"RECORDING STOPPED: {stopped}; {self.recording.path} is complete, proxying goes on")

    def _keep(self, violation: Violation) -> None:
        if len(self.stats.violations) < _KEPT_VIOLATIONS:
            self.stats.violations.append(violation)

    async def _answer(self, send: Any, status: int, message: str) -> None:
        body = _json_error(message)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def _unknown_query(api: str, method: str, path: str, status: int) -> list[Violation]:
    """One violation per query parameter of ``path`` (raw target) that revision ``api`` does not declare."""
    query = path.partition("?")[2]
    if not query:
        return []
    known = query_parameters(api)
    names = dict.fromkeys(name for name, _ in parse_qsl(query, keep_blank_values=True) if name not in known)
    return [Violation("client", "unknown_query_parameter",
                      f"query parameter {name!r} is not part of the {api} revision "
                      f"(declared: {', '.join(sorted(known)) or 'none'}; D17)", method, path, status)
            for name in names]


class _BadGateway(Exception):
    """The upstream could not give a complete answer in time."""


@dataclass(frozen=True)
class ProxyOutcome:
    """What a finished proxy run saw; ``exit_code``: 0 no violation, 1 violations, 2 nothing passed through."""

    exchanges: int
    judged: int
    violations: int
    counts: dict[str, int]
    report_json: Path
    report_junit: Path
    recording: dict[str, Any] | None

    @property
    def exit_code(self) -> int:
        return 2 if self.exchanges == 0 else 1 if self.violations else 0


def _junit(stats: _Stats, path: Path, seconds: float, api: str) -> None:
    client, server = (V2_CLIENT_RULES, V2_SERVER_RULES) if api == "v2" else (CLIENT_RULES, SERVER_RULES)
    rules = [("client", r) for r in (*client, *QUERY_RULES)]
    rules += [("server", r) for r in (*server, *PROXY_RULES)]
    failures = sum(1 for side, rule in rules if stats.counts.get(f"{side} {rule}"))
    suite = ET.Element("testsuite", name="talon-harness proxy", tests=str(len(rules)), failures=str(failures),
                       errors="0", skipped="0", time=f"{seconds:.3f}")
    for side, rule in rules:
        case = ET.SubElement(suite, "testcase", classname=f"proxy.{side}", name=rule, time="0")
        count = stats.counts.get(f"{side} {rule}", 0)
        if count:
            shown = [v.line() for v in stats.violations if v.side == side and v.rule == rule][:20]
            failure = ET.SubElement(case, "failure", message=f"{count} exchange(s) broke {rule}", type=side)
            failure.text = "\n".join(shown)
    root = ET.Element("testsuites", name="talon-harness proxy", tests=suite.get("tests", "0"),
                      failures=suite.get("failures", "0"))
    root.append(suite)
    ET.indent(root)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def _write_reports(config: ProxyConfig, proxy: TrafficProxy, seconds: float) -> ProxyOutcome:
    stats = proxy.stats
    config.report_dir.mkdir(parents=True, exist_ok=True)
    rec = proxy.recording
    recording = None if rec is None else {"file": str(rec.path), "exchanges": rec.exchanges, "bytes": rec.bytes,
                                          "stopped": rec.stopped}
    counts = dict(sorted(stats.counts.items()))
    doc = {
        "upstream": config.upstream, "seconds": round(seconds, 3), "exchanges": stats.exchanges,
        "judged": stats.judged, "not_judged": stats.not_judged, "judge_errors": stats.judge_errors,
        "violations": sum(counts.values()), "counts": counts,
        "violations_kept": [v.to_dict() for v in stats.violations], "recording": recording,
        "model_ids_forgotten": proxy.judge.model.forgotten,
    }
    report_json = config.report_dir / "proxy.json"
    report_json.write_text(json.dumps(doc, indent=2, ensure_ascii=False), encoding="utf-8")
    report_junit = config.report_dir / "junit.xml"
    _junit(stats, report_junit, seconds, config.api)
    return ProxyOutcome(stats.exchanges, stats.judged, sum(counts.values()), counts, report_json, report_junit,
                        recording)


def _listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (OSError when it cannot be bound)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def run_proxy(config: ProxyConfig, *, emit: Callable[[str], None] = print,
              ready: Callable[[int], None] | None = None, stop: threading.Event | None = None) -> ProxyOutcome:
    """Serve until SIGINT/SIGTERM (or ``stop`` is set), then write ``proxy.json`` and ``junit.xml``.

    ``ready(port)`` is called once the socket listens (port 0 picks a free one). Raises OSError when the
    port cannot be bound.
    """
    recording = (Recording(config.record, max_exchanges=config.max_exchanges, max_bytes=config.max_bytes)
                 if config.record else None)
    proxy = TrafficProxy(config, emit=emit, recording=recording)
    sock = _listen(config.host, config.port)
    server = uvicorn.Server(uvicorn.Config(proxy, lifespan="off", log_level="warning", access_log=False,
                                           server_header=False, date_header=False, timeout_graceful_shutdown=5))
    started = time.perf_counter()

    async def main() -> None:
        async def watch() -> None:
            while not server.started and not server.should_exit:
                await asyncio.sleep(0.02)
            if server.started and ready is not None:
                ready(sock.getsockname()[1])
            while stop is not None and not server.should_exit:
                if stop.is_set():
                    server.should_exit = True
                await asyncio.sleep(0.05)

        watcher = asyncio.ensure_future(watch())
        try:
            await server.serve(sockets=[sock])
        finally:
            watcher.cancel()
            await proxy.aclose()

    # uvicorn re-raises the signal that stopped it once it has shut down: catch it here, so that the end
    # of a run (Ctrl-C or SIGTERM) is a clean exit with reports, not a KeyboardInterrupt or a kill.
    main_thread = threading.current_thread() is threading.main_thread()
    # A signal before uvicorn has put its own handlers in place (the socket already listens) stops it too.
    def early_stop(*_: object) -> None:
        server.should_exit = True

    previous = {s: signal.signal(s, early_stop) for s in (signal.SIGINT, signal.SIGTERM)} if main_thread else {}
    try:
        with asyncio.Runner(loop_factory=server.config.get_loop_factory()) as runner:  # uvloop when installed
            runner.run(main())
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if recording is not None:
            recording.close()
        sock.close()
    return _write_reports(config, proxy, time.perf_counter() - started)

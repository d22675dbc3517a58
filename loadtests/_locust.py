"""The one place that touches Locust (and geventhttpclient) internals: one PUT sent, timed, judged and
reported once.

Direct path (Locust 2.47 / geventhttpclient 2.6 internals): the PUT goes straight to the
``geventhttpclient.HTTPClient`` that ``FastHttpSession``'s user agent keeps for the target
(``client.client.clientpool.get_client``), so the same connection pool, timeouts and TLS settings
apply and the same request bytes go on the wire (our headers already carry the ``Accept-Encoding``
``FastHttpSession.request`` would add; the client adds ``Host``, ``User-Agent``, ``Content-Length``).
What it skips is per-request work a contract harness does not want: URL parsing, the cookie jar (the
Integration API authenticates by header), redirect following and retries (a 3xx or a broken exchange is
the target's answer, judged as such). The body is read (and decompressed, by geventhttpclient's public
``CompatResponse``) inside the timed span, exactly as ``FastHttpSession.request`` times it; the judge
then sees a response with ``status_code``, ``headers`` and ``content``, or the transport error; then
``events.request`` fires once with the verdict. It relies on ``FastHttpSession.auth_header`` and
``base_url`` too. A greenlet killed while it waits for the answer (the run ended) is reported to
``on_unanswered`` with the request's name and age before the kill proceeds.

At import the internals' shape is checked (:data:`FAST_PATH`); if a release changed them,
:func:`make_sender` falls back to the public ``client.request(..., catch_response=True)`` with
``success()`` / ``failure()`` (slower, same verdicts and the same single event).
``tests/loadtests/test_load_adapters.py`` fails loudly when FAST_PATH is off.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from typing import Any

from gevent import GreenletExit
from geventhttpclient.client import HTTPClient, HTTPClientPool
from geventhttpclient.url import URL
from geventhttpclient.useragent import CompatResponse
from locust.contrib.fasthttp import FastHttpSession, FastHttpUser
from locust.exception import CatchResponseError

try:
    from locust.contrib.fasthttp import FAILURE_EXCEPTIONS
except ImportError:  # pragma: no cover - a Locust without it; any error reading the body is a transport error
    FAILURE_EXCEPTIONS = (Exception,)  # type: ignore[assignment]

__all__ = ["FAST_PATH", "Judge", "Sender", "Unanswered", "internals_match", "make_sender"]

Judge = Callable[[Any, Any, BaseException | None], str | None]
"""(response, what was sent, transport error or None) -> None when the response is as expected, else why not."""
Sender = Callable[[str, bytes, dict[str, str], str, dict[str, Any], Any], None]
"""(path, body, headers, row name, request context, what is sent: passed to the judge) -> None."""
Unanswered = Callable[[str, float], None]
"""(row name "PUT <name>", ms the request had waited) -> None: a request cut off before its answer."""


def _params(fn: object) -> list[str]:
    return list(inspect.signature(fn).parameters) if callable(fn) else []


def internals_match() -> bool:
    """True when the session, user agent and HTTP client still have what the direct path uses."""
    return (
        hasattr(FastHttpSession, "auth_header")
        and _params(HTTPClient.request)[:5] == ["self", "method", "request_uri", "body", "headers"]
        and callable(getattr(HTTPClientPool, "get_client", None))
        and {"status_code", "headers", "content"} <= set(dir(CompatResponse)) | set(CompatResponse.__slots__)
    )


FAST_PATH: bool = internals_match()


def make_sender(
    user: FastHttpUser, judge: Judge, on_unanswered: Unanswered | None = None, *, fast: bool = FAST_PATH
) -> Sender:
    """A function sending PUTs through ``user.client``; ``fast=False`` forces the public-API path.
    ``on_unanswered`` hears of every request whose greenlet was killed before the answer came."""
    client = user.client
    base_url = client.base_url or ""
    fire = user.environment.events.request.fire
    unanswered = on_unanswered or (lambda name, age_ms: None)

    def report(name: str, url: str, context: dict[str, Any], resp: Any, reason: str | None,
               start_time: float, response_time: float, length: int) -> None:  # fmt: skip
        if extra := user.context():  # User.context(), merged under ours as FastHttpSession does
            context = {**extra, **context}
        fire(
            request_type="PUT",
            name=name,
            context=context,
            response=resp,
            exception=None if reason is None else CatchResponseError(reason),
            start_time=start_time,
            url=url,
            response_length=length,
            response_time=response_time,
        )

    def send_direct(
        path: str, body: bytes, headers: dict[str, str], name: str, context: dict[str, Any], sent: Any
    ) -> None:
        if client.auth_header:  # user:password in --host, as FastHttpSession.request adds it
            headers = {**headers, "Authorization": client.auth_header}
        start_time = time.time()
        start = time.perf_counter()
        resp: Any = None
        try:
            resp = CompatResponse(http.request("PUT", uri_head + path, body=body, headers=headers))
            length = len(resp.content)
        except FAILURE_EXCEPTIONS as exc:  # no answer, or one that could not be read: a transport error
            response_time = (time.perf_counter() - start) * 1000.0
            report(name, base_url + path, context, resp, judge(resp, sent, exc), start_time, response_time, 0)
            return
        except GreenletExit:
            unanswered("PUT " + name, (time.perf_counter() - start) * 1000.0)
            raise
        response_time = (time.perf_counter() - start) * 1000.0
        report(name, base_url + path, context, resp, judge(resp, sent, None), start_time, response_time, length)

    def send_public(
        path: str, body: bytes, headers: dict[str, str], name: str, context: dict[str, Any], sent: Any
    ) -> None:
        data: Any = body  # bytes are sent as they are (Locust's annotation says str)
        start = time.perf_counter()
        try:
            with client.request(
                "PUT", path, name=name, data=data, headers=headers, catch_response=True, context=context
            ) as resp:
                try:
                    resp.content  # noqa: B018 - reading the body may raise the transport error
                    reason = judge(resp, sent, None)
                except FAILURE_EXCEPTIONS as exc:
                    reason = judge(resp, sent, exc)
                if reason is None:
                    resp.success()
                else:
                    resp.failure(reason)
        except GreenletExit:
            unanswered("PUT " + name, (time.perf_counter() - start) * 1000.0)
            raise

    pool = getattr(getattr(client, "client", None), "clientpool", None)  # the user agent's HTTP clients
    if not fast or not isinstance(pool, HTTPClientPool):
        return send_public
    target = URL(base_url + "/")
    http = pool.get_client(target)
    uri_head = target.path.rstrip("/")  # a base URL with a path prefix keeps it
    return send_direct

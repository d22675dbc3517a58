"""The one place that touches Locust internals: one PUT sent, timed, judged and reported once.

Fast path (Locust 2.47's internals): ``FastHttpSession._send_request_safe_mode`` sends without Locust's
response wrapper; we time it exactly as ``FastHttpSession.request`` does (send through reading the
body), judge the response, then fire ``events.request`` once with the verdict. It also relies on
``FastHttpSession.auth_header`` and ``base_url``. At import the internals' shape is checked
(:data:`FAST_PATH`); if a release changed them, :func:`make_sender` falls back to the public
``client.request(..., catch_response=True)`` with ``success()`` / ``failure()`` (slower, same verdicts
and the same single event). ``tests/loadtests/test_load_adapters.py`` fails loudly when FAST_PATH is off.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from typing import Any

from locust.contrib.fasthttp import FastHttpSession, FastHttpUser
from locust.exception import CatchResponseError

try:
    from locust.contrib.fasthttp import FAILURE_EXCEPTIONS
except ImportError:  # pragma: no cover - a Locust without it; any error reading the body is a transport error
    FAILURE_EXCEPTIONS = (Exception,)  # type: ignore[assignment]

__all__ = ["FAST_PATH", "Judge", "Sender", "internals_match", "make_sender"]

Judge = Callable[[Any, Any, BaseException | None], str | None]
"""(response, what was sent, transport error or None) -> None when the response is as expected, else why not."""
Sender = Callable[[str, bytes, dict[str, str], str, dict[str, Any], Any], None]
"""(path, body, headers, row name, request context, what is sent: passed to the judge) -> None."""


def internals_match() -> bool:
    """True when FastHttpSession still has the private send method and attributes the fast path uses."""
    send = getattr(FastHttpSession, "_send_request_safe_mode", None)
    if not callable(send):
        return False
    params = list(inspect.signature(send).parameters.values())
    names = [p.name for p in params]
    return (
        names[:3] == ["self", "method", "url"]
        and any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)
        and hasattr(FastHttpSession, "auth_header")
    )


FAST_PATH: bool = internals_match()


def make_sender(user: FastHttpUser, judge: Judge, *, fast: bool = FAST_PATH) -> Sender:
    """A function sending PUTs through ``user.client``; ``fast=False`` forces the public-API path."""
    client = user.client
    base_url = client.base_url or ""
    fire = user.environment.events.request.fire

    def send_fast(
        path: str, body: bytes, headers: dict[str, str], name: str, context: dict[str, Any], sent: Any
    ) -> None:
        if client.auth_header:  # user:password in --host, as FastHttpSession.request adds it
            headers = {**headers, "Authorization": client.auth_header}
        url = base_url + path
        start_time = time.time()
        start = time.perf_counter()
        resp = client._send_request_safe_mode("PUT", url, payload=body, headers=headers)
        try:
            length = len(resp.content) if resp.content else 0
        except FAILURE_EXCEPTIONS as exc:  # the body could not be read: a transport error
            response_time = (time.perf_counter() - start) * 1000.0
            length = 0
            reason = judge(resp, sent, exc)
        else:
            response_time = (time.perf_counter() - start) * 1000.0
            reason = judge(resp, sent, None)
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

    def send_public(
        path: str, body: bytes, headers: dict[str, str], name: str, context: dict[str, Any], sent: Any
    ) -> None:
        data: Any = body  # bytes are sent as they are (Locust's annotation says str)
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

    return send_fast if fast else send_public

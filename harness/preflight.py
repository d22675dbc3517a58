"""Is the target a Talon.One Integration API v1 server at all? One tiny valid PUT to each operation.

``check`` calls :func:`wrong_target` before schemathesis starts (and ``load`` can do the same), so a
wrong URL (a static file server, another API, a proxy answering 501) stops in seconds with one line
instead of running a whole budget of ``not_a_server_error`` failures with empty details.
"""

from __future__ import annotations

import uuid

import httpx

from talon_harness.strategies.wire import PROFILE, SESSION, Credentials, build_put

__all__ = ["wrong_target"]


def wrong_target(base_url: str, *, creds: Credentials | None = None, timeout: float = 5.0) -> str | None:
    """None when the answers look like a Talon.One v1 server, else one sentence saying why not.

    Sends ``PUT /v1/customer_profiles/<fresh id>`` with ``{}`` and ``PUT /v1/customer_sessions/<fresh id>``
    with ``{"profileId": <that id>}`` (both valid; they create one profile and one open session).
    Not a v1 server: any 501, a 404 on both operations, or no answer that is JSON by its content type or
    by its body (an HTML page, a file server). An answer that claims JSON but is broken, or a JSON object
    under a wrong content type, is a contract failure for the check to report, not a wrong target.
    Transport errors are left to the caller's reachability check (returns None).
    """
    fresh = f"talon-harness-preflight-{uuid.uuid4().hex}"
    answers: list[tuple[str, httpx.Response]] = []
    try:
        with httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout) as client:
            for operation, body in ((PROFILE, {}), (SESSION, {"profileId": fresh})):
                put = build_put(operation, fresh, body, creds=creds)
                answers.append((put.path, client.put(put.path, headers=put.headers, content=put.body)))
    except httpx.HTTPError:
        return None
    seen = ", ".join(f"{name} {r.status_code} {r.headers.get('content-type', 'no content type').split(';')[0]}"
                     for name, (_, r) in zip(("profiles", "sessions"), answers, strict=False))
    if any(r.status_code == 501 for _, r in answers):
        problem = "it does not implement PUT (501)"
    elif all(r.status_code == 404 for _, r in answers):
        problem = "both operations are 404"
    elif not any(_claims_json(r) or _is_json_object(r) for _, r in answers):
        problem = "no answer is JSON"
    else:
        return None
    return f"target {base_url} is not a Talon.One Integration API v1 server: {problem} ({seen})"


def _claims_json(response: httpx.Response) -> bool:
    return "json" in response.headers.get("content-type", "").lower()


def _is_json_object(response: httpx.Response) -> bool:
    try:
        return isinstance(response.json(), dict)
    except ValueError:
        return False

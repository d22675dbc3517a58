"""The one probe a command sends before any traffic: is the target reachable, and does it take our credentials?

``check``, ``load``, ``run`` and ``proxy`` call :func:`probe_target` first. It sends one authenticated
``PUT /v1/customer_profiles/talon-harness-probe`` with ``{}`` (a valid upsert: it creates or touches that one
profile) and reads only the status line, so a target that answers and then misbehaves is left to the run to
judge. The answer is one of three:

- not reachable (connection refused, DNS, TLS, timeout): ``problem`` says so, ``refused`` is False;
- refused credentials: a 401 or 403, or a 400 whose error names the ``Content-Signature`` or ``Authorization``
  parameter (D2: a signature that does not match is a 400); ``problem`` names the status, the request and what
  to set, never the key;
- ok (any other status): ``problem`` is None.

:func:`refused_midway` words the other case: a key accepted by the first probe and refused by a second one
after the run (a key that expired or was revoked mid-run).

:func:`api_mismatch` asks the other question: does the target speak the API under test (``--api``)? It sends
one request per operation of that API (writing nothing where the API has ``dry``), and when one is answered
404, 405 or 501, or refuses the ``dry`` parameter (D17: the seed revision names it in a 400), it probes the
other APIs, nearest first, to hint at one the target does answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import httpx

from talon_harness.strategies.wire import (
    API_NAMES,
    API_QUERY_PARAMETERS,
    PROFILE,
    PROFILE_V2,
    Credentials,
    api_operations,
    build_put,
)

__all__ = ["NO_REQUEST_COMPLETED", "PROBE_ENTITY", "PROBE_TIMEOUT_S", "REFUSED", "Probe", "api_mismatch",
           "probe_target", "refused_midway", "unanswered"]

PROBE_TIMEOUT_S = 5.0
PROBE_ENTITY = "talon-harness-probe"  # one fixed profile id: repeated runs touch the same profile
NO_REQUEST_COMPLETED = "no request completed"
REFUSED: tuple[int, ...] = (401, 403)
_CREDENTIAL_HEADERS = ("Content-Signature", "Authorization")
_WHAT_TO_SET = "TALON_API_KEY or TALON_HMAC (--api-key / --hmac)"


@dataclass(frozen=True)
class Probe:
    """How the target answered the probe: ``problem`` None means reachable and the credentials accepted."""

    problem: str | None = None
    refused: bool = False
    status: int | None = None  # the answer's status code (None when no answer came)


def _answer(status: int) -> str:
    """``401 Unauthorized``: the code and its standard reason phrase (not the server's wording)."""
    return f"{status} {httpx.codes.get_reason_phrase(status)}".rstrip()


def probe_target(base_url: str, creds: Credentials | None = None, *, timeout: float = PROBE_TIMEOUT_S) -> Probe:
    """Send the probe (see the module docstring) to ``base_url`` with ``creds``; wait at most ``timeout`` s."""
    put = build_put(PROFILE, PROBE_ENTITY, {}, creds=creds)
    try:
        with httpx.stream("PUT", base_url.rstrip("/") + put.path, headers=put.headers, content=put.body,
                          timeout=timeout) as response:
            status = response.status_code
            refused = status in REFUSED or (status == 400 and _names_credentials(response))
    except httpx.TimeoutException as exc:
        return Probe(f"target {base_url} did not answer: {type(exc).__name__}, timed out after {timeout:g} s at "
                     f"request 1 ({NO_REQUEST_COMPLETED})")
    except httpx.HTTPError as exc:
        return Probe(f"target {base_url} is not reachable: {type(exc).__name__}: {exc}")
    if not refused:
        return Probe(status=status)
    given = creds is not None and bool(creds.secrets())
    advice = f"check {_WHAT_TO_SET}" if given else f"none were given; set {_WHAT_TO_SET}"
    return Probe(f"the target refused the credentials ({_answer(status)} on PUT {put.path}): {advice}",
                 refused=True, status=status)


def _names_credentials(response: httpx.Response) -> bool:
    """A 400 whose ErrorResponse points at a credential header (D2's HMAC mismatch); reads at most 64 KiB."""
    body = b""
    try:
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > 65536:
                return False
    except httpx.HTTPError:  # a broken body is the run's to judge
        return False
    try:
        errors = json.loads(body).get("errors") or []
        return any((e.get("source") or {}).get("parameter") in _CREDENTIAL_HEADERS for e in errors)
    except (ValueError, AttributeError, TypeError):
        return False


def refused_midway(again: Probe, refusals: int, consequence: str) -> str:
    """The line for credentials accepted by the first probe and refused by ``again`` after the run;
    ``refusals``: the run's answers with a 401/403; ``consequence``: what that means for the run's verdict."""
    return (f"the target refused the credentials mid-run: the first request was accepted, the probe after the run "
            f"got {_answer(again.status or 0)}; {refusals} answers were 401/403 ({consequence}): the key may have "
            f"expired; check {_WHAT_TO_SET}")


_NOT_SPOKEN = (404, 405, 501)


def _api_answer(client: httpx.Client, api: str, creds: Credentials | None) -> tuple[str, str] | None:
    """None when ``api``'s operations are answered; else (the request, how it was answered) of the first
    that was not. Bodies: ``{}`` for a profile, a session linked to the probe profile (with ``dry``: nothing
    is written); a v1 session without ``dry`` gets ``[]``, which a v1 server refuses with a 400, writing nothing."""
    dry: dict[str, bool] | None = {"dry": True} if "dry" in API_QUERY_PARAMETERS[api] else None
    for operation in api_operations(api):
        query = {"runRuleEngine": True, **(dry or {})} if operation == PROFILE_V2 else dry  # D30: dry needs it
        body: object = {}
        if operation != PROFILE and operation != PROFILE_V2:
            session = {"profileId": PROBE_ENTITY}
            body = {"customerSession": session} if api == "v2" else session if dry else []
        put = build_put(operation, PROBE_ENTITY, body, creds=creds, query=query)
        response = client.put(put.path, headers=put.headers, content=put.body)
        if response.status_code in _NOT_SPOKEN:
            return f"PUT {put.path}", f"answered {_answer(response.status_code)}"
        if dry and response.status_code == 400 and _names_parameter(response, "dry"):
            return f"PUT {put.path}", "answered 400 naming the dry parameter"
    return None


def unanswered(base_url: str, api: str, creds: Credentials | None = None, *,
               timeout: float = PROBE_TIMEOUT_S) -> str | None:
    """How the target shows it does not speak ``api`` ("PUT <path> answered 404 Not Found"), asking only about
    ``api`` (one request per operation); None when it speaks it or could not be asked (transport errors are the
    reachability probe's to report)."""
    try:
        with httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout) as client:
            missing = _api_answer(client, api, creds)
    except httpx.HTTPError:
        return None
    return None if missing is None else f"{missing[0]} {missing[1]}"


def api_mismatch(base_url: str, api: str, creds: Credentials | None = None, *,
                 timeout: float = PROBE_TIMEOUT_S) -> str | None:
    """One line when the target does not speak ``api``: naming another API of ``strategies.wire.API_NAMES`` it
    answers (the nearest in that list: "try --api ..."), or, for v2, saying it answers none. None when it
    speaks ``api``, could not be asked (transport errors are the reachability probe's to report), or answers
    no API while ``api`` is a v1 revision (``harness.preflight.wrong_target`` then says what it is instead)."""
    try:
        with httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout) as client:
            missing = _api_answer(client, api, creds)
            if missing is None:
                return None
            at = API_NAMES.index(api)
            others = sorted((a for a in API_NAMES if a != api), key=lambda a: abs(API_NAMES.index(a) - at))
            spoken = next((a for a in others if _api_answer(client, a, creds) is None), None)
    except httpx.HTTPError:
        return None
    if spoken is None:
        return f"the target does not speak v2 ({missing[0]} {missing[1]}), nor any v1 revision" if api == "v2" else None
    return f"the target does not speak {api} ({missing[0]} {missing[1]}); it answers {spoken}: try --api {spoken}"


def _names_parameter(response: httpx.Response, name: str) -> bool:
    """A 400 whose error body names the query parameter ``name`` in ``source.parameter``."""
    try:
        errors = response.json().get("errors") or []
        return any((e.get("source") or {}).get("parameter") == name for e in errors)
    except (ValueError, AttributeError, TypeError):
        return False

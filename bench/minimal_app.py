"""The ceiling: a minimal in-memory Starlette app serving the same two PUT routes as the reference server.

It parses the JSON body (orjson), keeps the last document per id in a dict, and answers a small
IntegrationState-shaped JSON document with a growing event id. No validation, no persistence, no auth.
Run it like the reference server (uvicorn, uvloop + httptools, no access log, no proxy-headers layer):

    python bench/minimal_app.py --port 8001
"""

from __future__ import annotations

import argparse
import itertools
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

__all__ = ["create_minimal_app"]


def create_minimal_app() -> Starlette:
    """A new app with its own in-memory store."""
    profiles: dict[str, Any] = {}
    sessions: dict[str, Any] = {}
    events = itertools.count(1)

    def answer(kind: str, entity_id: str, doc: Any) -> Response:
        event = {"id": next(events), "type": kind, "sessionId": entity_id}
        return Response(orjson.dumps({"session": doc, "profile": None, "event": event}),
                        media_type="application/json")

    async def put_profile(request: Request) -> Response:
        entity_id = request.path_params["integration_id"]
        doc = orjson.loads(await request.body() or b"{}")
        profiles[entity_id] = doc
        return answer("talon_profile_updated", entity_id, doc)

    async def put_session(request: Request) -> Response:
        entity_id = request.path_params["session_id"]
        doc = orjson.loads(await request.body() or b"{}")
        sessions[entity_id] = doc
        return answer("talon_session_updated", entity_id, doc)

    return Starlette(routes=[
        Route("/v1/customer_profiles/{integration_id}", put_profile, methods=["PUT"]),
        Route("/v1/customer_sessions/{session_id}", put_session, methods=["PUT"]),
    ])


def main() -> None:
    import uvicorn

    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    args = ap.parse_args()
    uvicorn.run(create_minimal_app(), host=args.host, port=args.port, access_log=False, log_level="warning",
                loop="uvloop", http="httptools", server_header=False, date_header=False,
                proxy_headers=False)


if __name__ == "__main__":
    main()

"""The ceiling: a minimal in-memory Starlette app serving the same two PUT routes as the reference server.

It parses the JSON body (orjson), keeps the last document per id in a dict, and answers a small
IntegrationState-shaped JSON document with a growing event id. No validation, no persistence, no auth.
Run it like the reference server (uvicorn, uvloop + httptools, no access log, no proxy-headers layer):

    python bench/minimal_app.py --port 8001 [--durable DB]

`--durable DB` serves `create_durable_app` instead: the same app storing what a request must store
through the reference server's own `Store` (the floor of a durable server: no validation, no rules).
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

__all__ = ["create_durable_app", "create_minimal_app"]


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


def create_durable_app(db: str) -> Starlette:
    """The minimal app plus the reference server's storage (`refserver.store.Store`, group commit): a
    profile PUT reads and writes its profile and an event; a session PUT its session, its profile (when it
    names one, as D7's bookkeeping does) and an event; each answers once its writes are committed."""
    from talon_harness.refserver.store import Store, StoredProfile

    store = Store(db)

    def answer(doc: Any, event: dict[str, Any]) -> Response:
        return Response(orjson.dumps({"session": doc, "profile": None, "event": event}), media_type="application/json")

    async def put_profile(request: Request) -> Response:
        entity_id = request.path_params["integration_id"]
        doc = orjson.loads(await request.body() or b"{}")
        with store.grouped_transaction() as tx:
            tx.get_profile(entity_id)
            tx.put_profile(StoredProfile({**doc, "integrationId": entity_id}, False))
            event = tx.add_event({"type": "talon_profile_updated", "sessionId": entity_id})
        await store.group_committed()
        return answer(doc, event)

    async def put_session(request: Request) -> Response:
        entity_id = request.path_params["session_id"]
        doc = orjson.loads(await request.body() or b"{}")
        with store.grouped_transaction() as tx:
            tx.get_session(entity_id)
            profile_id = doc.get("profileId") if isinstance(doc, dict) else None
            if isinstance(profile_id, str) and profile_id:
                found = tx.get_profile(profile_id)
                tx.put_profile(found or StoredProfile({"integrationId": profile_id}, True))
            tx.put_session({**doc, "integrationId": entity_id})
            event = tx.add_event({"type": "talon_session_updated", "sessionId": entity_id})
        await store.group_committed()
        return answer(doc, event)

    return Starlette(routes=[
        Route("/v1/customer_profiles/{integration_id}", put_profile, methods=["PUT"]),
        Route("/v1/customer_sessions/{session_id}", put_session, methods=["PUT"]),
    ])


def main() -> None:
    import uvicorn

    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--durable", metavar="DB", help="serve create_durable_app on this SQLite file")
    args = ap.parse_args()
    app = create_durable_app(args.durable) if args.durable else create_minimal_app()
    uvicorn.run(app, host=args.host, port=args.port, access_log=False, log_level="warning",
                loop="uvloop", http="httptools", server_header=False, date_header=False,
                proxy_headers=False)


if __name__ == "__main__":
    main()

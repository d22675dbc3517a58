"""Shared fixtures: one real refserver subprocess per test session (temp SQLite db), httpx clients."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from talon_harness.refserver import ServerConfig, ServerProcess, Store, create_app


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    db = tmp_path_factory.mktemp("refserver") / "shared.db"
    with ServerProcess(db=db, quiet=True) as proc:
        yield proc


@pytest.fixture(scope="session")
def client(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        yield http


@pytest.fixture
def uid() -> str:
    """A fresh id prefix so tests sharing the server never touch each other's entities."""
    return uuid.uuid4().hex[:12]


def session_url(session_id: str) -> str:
    return f"/v1/customer_sessions/{session_id}"


def profile_url(profile_id: str) -> str:
    return f"/v1/customer_profiles/{profile_id}"


def error_sources(response: httpx.Response) -> list[dict[str, Any]]:
    """The `source` of every APIError in an ErrorResponse (asserting the ErrorResponse shape)."""
    body = response.json()
    assert isinstance(body["message"], str)
    return [error["source"] for error in body["errors"]]


def error_titles(response: httpx.Response) -> list[str]:
    return [error["title"] for error in response.json()["errors"]]


class InProcess:
    """The ASGI app in-process (httpx.ASGITransport) on its own temp SQLite db: for tests about the app."""

    def __init__(self, db: Path, config: ServerConfig) -> None:
        self.store = Store(db)
        self.app = create_app(self.store, config)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://refserver") as http:
                return await http.request(method, url, **kwargs)

        return asyncio.run(go())

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)


@pytest.fixture
def in_process(tmp_path: Path) -> Iterator[Any]:
    """Factory: in_process(config=ServerConfig(...)) -> InProcess."""
    made: list[InProcess] = []

    def make(config: ServerConfig = ServerConfig()) -> InProcess:  # noqa: B008
        app = InProcess(tmp_path / f"app{len(made)}.db", config)
        made.append(app)
        return app

    yield make
    for app in made:
        app.store.close()

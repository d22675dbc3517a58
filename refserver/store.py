"""SQLite persistence: WAL mode, synchronous=NORMAL, one transaction per request.

Guarantees: a committed transaction survives a kill of the server process (WAL + NORMAL survives process
crashes; only an OS crash may lose the last commits). `Store.transaction()` is all-or-nothing: any
exception inside rolls back every write of the request, including the event row, so a failed request
changes nothing. Event ids are the events table's INTEGER PRIMARY KEY (max + 1; events are never
deleted), so strictly increasing and never reused (databases created before used AUTOINCREMENT: same).
Not thread-safe by design: the app uses the store from the event-loop thread only.

Group commit (`grouped_transaction` + `group_committed`, what the app uses): each request runs in its own
SAVEPOINT of a transaction shared by the requests handled in the same event-loop iteration, and one
COMMIT ends them all before any of them is answered. Per request this keeps all-or-nothing (a raise rolls
back that request's savepoint only) and "acknowledged means committed"; under load it saves a BEGIN and
a COMMIT (the WAL frame writes and lock calls) per request.

Speed (see bench/): checkpoints, whose fsyncs would otherwise stall a request every ~200 commits, run as
PASSIVE checkpoints on a background thread with its own connection (`_Checkpointer`); the request
connection's own auto-checkpoint stays on with a larger threshold as a bound on the WAL size. Stored
documents are read back with orjson when that provably gives what json.loads gives (`_load_doc`).
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Self

import orjson

__all__ = ["Store", "StoredProfile", "Transaction", "dumps"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS profiles (
    integration_id TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    had_session INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sessions (
    integration_id TEXT PRIMARY KEY,
    doc TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    doc TEXT NOT NULL
);
"""
_WAL_AUTOCHECKPOINT_PAGES = 10000  # bound on the WAL (~40 MB); normally the background thread keeps up
_CHECKPOINT_INTERVAL_S = 0.05


def dumps(value: Any) -> bytes:
    """Compact JSON bytes; orjson, falling back to json.dumps for ints beyond 64 bits or deep nesting."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return json.dumps(value, separators=(",", ":"), allow_nan=False).encode()  # ASCII: always encodable


def _load_doc(text: str) -> Any:
    """json.loads(text), faster: orjson when re-encoding its result gives back `text` byte for byte.

    orjson reads integers beyond 64 bits as floats; such a document never round-trips, so it (and
    anything else orjson might read differently) goes to json.loads."""
    try:
        doc = orjson.loads(text)
        if orjson.dumps(doc) == text.encode():
            return doc
    except (orjson.JSONDecodeError, orjson.JSONEncodeError):
        pass
    return json.loads(text)


class _Checkpointer:
    """A daemon thread running PASSIVE checkpoints every `interval` s on its own connection.

    PASSIVE never blocks the request connection (writers go on while pages are copied); sqlite3 releases
    the GIL while it copies and fsyncs, so the event loop keeps serving. Durability is unchanged: commits
    are in the WAL before they are acknowledged, checkpointing only moves them into the main file."""

    def __init__(self, path: str, interval: float) -> None:
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="refserver-checkpointer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            except sqlite3.Error:  # e.g. busy: the next round tries again
                continue

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._conn.close()


@dataclass
class StoredProfile:
    """A profile document plus the private fact used for `firstSession` (D7)."""

    doc: dict[str, Any]
    had_session: bool


class Transaction:
    """Typed reads and writes inside one open transaction (obtain it from `Store.transaction()`)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def get_profile(self, integration_id: str) -> StoredProfile | None:
        row = self._conn.execute(
            "SELECT doc, had_session FROM profiles WHERE integration_id = ?", (integration_id,)
        ).fetchone()
        return None if row is None else StoredProfile(_load_doc(row[0]), bool(row[1]))

    def put_profile(self, profile: StoredProfile) -> None:
        self._conn.execute(
            "INSERT INTO profiles (integration_id, doc, had_session) VALUES (?, ?, ?) "
            "ON CONFLICT(integration_id) DO UPDATE SET doc = excluded.doc, had_session = excluded.had_session",
            (profile.doc["integrationId"], dumps(profile.doc).decode(), int(profile.had_session)),
        )

    def get_session(self, integration_id: str) -> dict[str, Any] | None:
        row = self._conn.execute(
            "SELECT doc FROM sessions WHERE integration_id = ?", (integration_id,)
        ).fetchone()
        return None if row is None else _load_doc(row[0])

    def put_session(self, session: dict[str, Any]) -> None:
        self._conn.execute(
            "INSERT INTO sessions (integration_id, doc) VALUES (?, ?) "
            "ON CONFLICT(integration_id) DO UPDATE SET doc = excluded.doc",
            (session["integrationId"], dumps(session).decode()),
        )

    def add_event(self, event: dict[str, Any]) -> dict[str, Any]:
        """Store `event` (without id) and return it with its new id as the first field."""
        cursor = self._conn.execute("INSERT INTO events (doc) VALUES (?)", (dumps(event).decode(),))
        return {"id": cursor.lastrowid, **event}


class Store:
    """The server's SQLite database at `path`; the schema is created on open.

    background_checkpoints=False leaves checkpointing to SQLite's default (every 1000 WAL pages, on the
    committing connection)."""

    def __init__(self, path: str | os.PathLike[str], *, background_checkpoints: bool = True) -> None:
        self.path = os.fspath(path)
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA busy_timeout=5000")
        self._conn.executescript(_SCHEMA)
        self._group: asyncio.Future[None] | None = None  # COMMIT of the open group, once scheduled
        self._checkpointer: _Checkpointer | None = None
        if background_checkpoints:
            self._conn.execute(f"PRAGMA wal_autocheckpoint={_WAL_AUTOCHECKPOINT_PAGES}")
            self._checkpointer = _Checkpointer(self.path, _CHECKPOINT_INTERVAL_S)

    def __repr__(self) -> str:
        return f"Store({self.path!r})"

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """BEGIN IMMEDIATE ... COMMIT; ROLLBACK if the block raises. Commits an open group first."""
        self._end_group()
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield Transaction(self._conn)
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    @contextmanager
    def grouped_transaction(self) -> Iterator[Transaction]:
        """One request's reads and writes in a SAVEPOINT of the open group transaction (opened here if
        none is). A raise rolls back this request's writes only. On success the group's COMMIT is
        scheduled for the next event-loop iteration: await `group_committed()` before answering.
        Must run on the event-loop thread (it needs the running loop)."""
        loop = asyncio.get_running_loop()
        if self._group is not None and self._group.get_loop() is not loop:  # left by a loop that ended
            self._end_group()
        if not self._conn.in_transaction:
            self._conn.execute("BEGIN IMMEDIATE")
        self._conn.execute("SAVEPOINT request")
        try:
            yield Transaction(self._conn)
        except BaseException:
            self._conn.execute("ROLLBACK TO request")
            self._conn.execute("RELEASE request")
            if self._group is None:  # no successful request waits on this transaction: end it now
                self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("RELEASE request")
        if self._group is None:
            self._group = loop.create_future()
            loop.call_soon(self._end_group)

    async def group_committed(self) -> None:
        """Return once the writes of the last `grouped_transaction` are committed; raise if that
        COMMIT failed (the writes of the whole group are then rolled back). No-op if nothing waits."""
        if self._group is not None:
            await asyncio.shield(self._group)  # one waiter cancelled must not cancel the others' commit

    def _end_group(self) -> None:
        """COMMIT the open group transaction (if any) and tell its waiters."""
        group, self._group = self._group, None
        if not self._conn.in_transaction:
            if group is not None and not group.done():
                group.set_result(None)
            return
        try:
            self._conn.execute("COMMIT")
        except sqlite3.Error as exc:  # e.g. disk full: nothing of the group was committed
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            if group is not None and not group.done():
                group.set_exception(exc)
            return
        if group is not None and not group.done():
            group.set_result(None)

    def counts(self) -> dict[str, int]:
        """Row counts per table (for tests and diagnostics; commits an open group first)."""
        self._end_group()
        return {
            table: self._conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in ("profiles", "sessions", "events")
        }

    def close(self) -> None:
        self._end_group()
        if self._checkpointer is not None:
            self._checkpointer.close()
            self._checkpointer = None
        self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

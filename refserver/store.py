"""SQLite persistence: WAL mode, synchronous=NORMAL, one transaction per request or group of requests.

Guarantees: a committed transaction survives a kill of the server process (WAL + NORMAL survives process
crashes; only an OS crash may lose the last commits). A request is all-or-nothing: its writes (profile,
session, event) are buffered in its `Transaction` and reach the database only if its block ends without
raising, so a failed request changes nothing. Event ids are the events table's INTEGER PRIMARY KEY,
handed out from max + 1 (events are never deleted), so strictly increasing; an id handed to a request
that then failed is handed out again. Not thread-safe by design: the app uses the store from the
event-loop thread only.

Group commit (`grouped_transaction` + `group_committed`, what the app uses): the writes of the requests
handled in the same event-loop iteration are collected (later requests of the group read them), then
written with one executemany per table in one BEGIN ... COMMIT before any of them is answered
("acknowledged means committed"). If that COMMIT fails, every request of the group fails and nothing
of the group is stored.

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
from dataclasses import dataclass, field
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
_CHECKPOINT_INTERVAL_S = 0.2  # hot pages (the events tail, inner nodes) are copied once per interval
_CACHE_ENTRIES = 20_000  # committed documents kept in memory (the cache is emptied when it is full)


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


@dataclass(frozen=True)
class _Doc:
    """A stored document as JSON text; `exact` when orjson wrote it (then orjson reads it back exactly)."""

    text: str
    exact: bool

    @classmethod
    def of(cls, value: Any) -> _Doc:
        try:
            return cls(orjson.dumps(value).decode(), True)
        except orjson.JSONEncodeError:
            return cls(dumps(value).decode(), False)

    def load(self) -> Any:
        return orjson.loads(self.text) if self.exact else _load_doc(self.text)


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


_UPSERT_PROFILE = (
    "INSERT INTO profiles (integration_id, doc, had_session) VALUES (?, ?, ?) "
    "ON CONFLICT(integration_id) DO UPDATE SET doc = excluded.doc, had_session = excluded.had_session"
)
_UPSERT_SESSION = (
    "INSERT INTO sessions (integration_id, doc) VALUES (?, ?) "
    "ON CONFLICT(integration_id) DO UPDATE SET doc = excluded.doc"
)
_INSERT_EVENT = "INSERT INTO events (id, doc) VALUES (?, ?)"


@dataclass
class _Writes:
    """Writes not yet in the database: id -> (doc, had_session) / id -> doc / (event id, doc JSON)."""

    profiles: dict[str, tuple[_Doc, int]] = field(default_factory=dict)
    sessions: dict[str, _Doc] = field(default_factory=dict)
    events: list[tuple[int, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.profiles or self.sessions or self.events)

    def update(self, other: _Writes) -> None:
        self.profiles.update(other.profiles)
        self.sessions.update(other.sessions)
        self.events.extend(other.events)

    def write(self, conn: sqlite3.Connection) -> None:
        """Execute them on `conn` (inside the caller's transaction)."""
        if self.profiles:
            conn.executemany(_UPSERT_PROFILE, [(k, doc.text, had) for k, (doc, had) in self.profiles.items()])
        if self.sessions:
            conn.executemany(_UPSERT_SESSION, [(k, doc.text) for k, doc in self.sessions.items()])
        if self.events:
            conn.executemany(_INSERT_EVENT, self.events)


class Transaction:
    """Typed reads and writes of one request (obtain it from `Store.transaction()` or
    `Store.grouped_transaction()`). Writes are buffered here and reach the database only when the
    block ends without raising; reads see this request's writes, then the open group's, then the
    committed ones (from the store's cache of committed documents, else the database)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.writes = _Writes()

    def _in_memory(self, table: str, integration_id: str) -> Any:
        """The newest in-memory copy of a `table` row: this request's writes, then the open group's, then
        the cache of committed documents; None when only the database has it."""
        for layer in (self.writes, self._store._group_writes, self._store._committed):
            found = getattr(layer, table).get(integration_id)
            if found is not None:
                return found
        return None

    def get_profile(self, integration_id: str) -> StoredProfile | None:
        found = self._in_memory("profiles", integration_id)
        if found is None:
            row = self._store._conn.execute(
                "SELECT doc, had_session FROM profiles WHERE integration_id = ?", (integration_id,)
            ).fetchone()
            return None if row is None else StoredProfile(_load_doc(row[0]), bool(row[1]))
        return StoredProfile(found[0].load(), bool(found[1]))

    def put_profile(self, profile: StoredProfile) -> None:
        self.writes.profiles[profile.doc["integrationId"]] = (_Doc.of(profile.doc), int(profile.had_session))

    def get_session(self, integration_id: str) -> dict[str, Any] | None:
        found = self._in_memory("sessions", integration_id)
        if found is None:
            row = self._store._conn.execute(
                "SELECT doc FROM sessions WHERE integration_id = ?", (integration_id,)
            ).fetchone()
            return None if row is None else _load_doc(row[0])
        return found.load()

    def put_session(self, session: dict[str, Any]) -> None:
        self.writes.sessions[session["integrationId"]] = _Doc.of(session)

    def add_event(self, event: dict[str, Any]) -> dict[str, Any]:
        """Store `event` (without id) and return it with its new id as the first field."""
        event_id = self._store._take_event_id()
        self.writes.events.append((event_id, dumps(event).decode()))
        return {"id": event_id, **event}


class _GroupedRequest:
    """The block of `Store.grouped_transaction()` (a class rather than a generator: it runs per request).
    Checks the loop before the block, as the group must be committed by a running loop."""

    __slots__ = ("_loop", "_next_event_id", "_store", "_tx")

    def __init__(self, store: Store) -> None:
        self._store = store

    def __enter__(self) -> Transaction:
        self._loop = asyncio.get_running_loop()
        store = self._store
        if store._group_loop is not None and store._group_loop is not self._loop:  # left by a loop that ended
            store._end_group()
        self._next_event_id = store._next_event_id
        self._tx = Transaction(store)
        return self._tx

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if exc_type is not None:
            self._store._next_event_id = self._next_event_id  # its event ids are given back: nothing was written
            return
        self._store._add_to_group(self._tx.writes, self._loop)


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
        self._group_loop: asyncio.AbstractEventLoop | None = None  # the loop whose callback COMMITs the open group
        self._waiters: list[asyncio.Future[None]] = []  # one per request awaiting the open group's COMMIT
        self._group_writes = _Writes()  # the open group's writes, written at its COMMIT
        self._next_event_id: int | None = None  # None: read MAX(id) + 1 from the database when needed
        self._committed = _Writes()  # cache: committed documents as in the database (no events)
        self._checkpointer: _Checkpointer | None = None
        if background_checkpoints:
            self._conn.execute(f"PRAGMA wal_autocheckpoint={_WAL_AUTOCHECKPOINT_PAGES}")
            self._checkpointer = _Checkpointer(self.path, _CHECKPOINT_INTERVAL_S)

    def __repr__(self) -> str:
        return f"Store({self.path!r})"

    def _take_event_id(self) -> int:
        if self._next_event_id is None:
            self._next_event_id = self._conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM events").fetchone()[0]
        event_id = self._next_event_id
        self._next_event_id = event_id + 1
        return event_id

    @contextmanager
    def _request(self) -> Iterator[Transaction]:
        """A request's Transaction; if the block raises, its event ids are given back (nothing was written)."""
        next_event_id = self._next_event_id
        tx = Transaction(self)
        try:
            yield tx
        except BaseException:
            self._next_event_id = next_event_id
            raise

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """The block's writes in one BEGIN IMMEDIATE ... COMMIT once it ends; nothing if it raises.
        Commits an open group first."""
        self._end_group()
        with self._request() as tx:
            yield tx
        self._commit(tx.writes)

    def write_uncommitted(self, tx: Transaction) -> None:
        """Execute `tx`'s writes in the connection's open transaction without committing (for a caller
        that manages the transaction itself: the ``ack_before_commit`` fault)."""
        tx.writes.write(self._conn)
        for integration_id in tx.writes.profiles:  # the cache holds committed documents only
            self._committed.profiles.pop(integration_id, None)
        for integration_id in tx.writes.sessions:
            self._committed.sessions.pop(integration_id, None)

    def _commit(self, writes: _Writes) -> None:
        """BEGIN IMMEDIATE, the writes, COMMIT; on an error ROLLBACK and raise."""
        if not writes:
            return
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            writes.write(self._conn)
            self._conn.execute("COMMIT")
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            self._next_event_id = None  # the ids handed out were not stored
            raise
        cache = self._committed
        if len(cache.profiles) + len(cache.sessions) > _CACHE_ENTRIES:
            self._committed = cache = _Writes()
        cache.profiles.update(writes.profiles)
        cache.sessions.update(writes.sessions)

    def grouped_transaction(self) -> _GroupedRequest:
        """One request's reads and writes, added to the open group (opened here if none is): use as
        `with store.grouped_transaction() as tx:`. A raise drops this request's writes only. On success
        the group's COMMIT is scheduled for the next event-loop iteration: await `group_committed()`
        before answering. Must run on the event-loop thread (it needs the running loop)."""
        return _GroupedRequest(self)

    def _add_to_group(self, writes: _Writes, loop: asyncio.AbstractEventLoop) -> None:
        self._group_writes.update(writes)
        if self._group_loop is None:
            self._group_loop = loop
            loop.call_soon(self._end_group)

    async def group_committed(self) -> None:
        """Return once the writes of the last `grouped_transaction` are committed; raise if that
        COMMIT failed (the writes of the whole group are then dropped). No-op if nothing waits."""
        if self._group_loop is not None:
            waiter = self._group_loop.create_future()  # its own: cancelling one waiter cancels no commit
            self._waiters.append(waiter)
            await waiter

    def _end_group(self) -> None:
        """COMMIT the open group's writes (if any) and tell its waiters."""
        waiters, self._waiters, self._group_loop = self._waiters, [], None
        writes, self._group_writes = self._group_writes, _Writes()
        try:
            self._commit(writes)
        except sqlite3.Error as exc:  # e.g. disk full: nothing of the group was committed
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(exc)
            return
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

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

"""Read-only view of a refserver SQLite database, to prove that rejected requests change nothing.

``DbWatch`` opens the file read-only (``mode=ro``; it never takes a write lock, so the server is never
blocked by it). ``snapshot()`` is every row of every table, hashed; ``changed()`` is SQLite's
``PRAGMA data_version``, which moves whenever ANOTHER connection commits: a cheap per-request probe.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from dataclasses import dataclass

__all__ = ["DbWatch", "Snapshot"]

_TABLES = ("profiles", "sessions", "events")


@dataclass(frozen=True)
class Snapshot:
    counts: tuple[int, ...]
    max_event_id: int
    digest: str


class DbWatch:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._conn = sqlite3.connect(f"file:{os.fspath(path)}?mode=ro", uri=True, isolation_level=None)
        self._version = self._data_version()

    def _data_version(self) -> int:
        return self._conn.execute("PRAGMA data_version").fetchone()[0]

    def changed(self) -> bool:
        """True if some other connection committed since the last call (or since opening)."""
        version = self._data_version()
        moved, self._version = version != self._version, version
        return moved

    def snapshot(self) -> Snapshot:
        digest = hashlib.sha256()
        counts = []
        for table in _TABLES:
            rows = self._conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
            counts.append(len(rows))
            for row in rows:
                digest.update(repr(row).encode())
        max_id = self._conn.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0]
        return Snapshot(tuple(counts), max_id, digest.hexdigest())

    def close(self) -> None:
        self._conn.close()

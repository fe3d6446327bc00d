"""SQLite persistence of shadows: a restart of the emulator keeps version, state and metadata."""

from __future__ import annotations

import json
import sqlite3
import threading
from typing import List, Tuple

from .shadow_model import Shadow

_SCHEMA = """
CREATE TABLE IF NOT EXISTS shadows (
    thing    TEXT    NOT NULL,
    name     TEXT    NOT NULL,           -- '' for the classic shadow
    version  INTEGER NOT NULL,
    exists_  INTEGER NOT NULL,           -- 0: deleted (tombstone keeps the version)
    state    TEXT    NOT NULL,
    metadata TEXT    NOT NULL,
    PRIMARY KEY (thing, name)
)
"""


class ShadowStore:
    """Thread-safe store; every write is committed before the caller publishes a response."""

    def __init__(self, path: str) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(_SCHEMA)

    def load(self, thing: str, name: str) -> Shadow:
        with self._lock:
            row = self._db.execute(
                "SELECT version, exists_, state, metadata FROM shadows WHERE thing=? AND name=?",
                (thing, name)).fetchone()
        if row is None:
            return Shadow()
        return Shadow(state=json.loads(row[2]), metadata=json.loads(row[3]), version=int(row[0]),
                      exists=bool(row[1]))

    def save(self, thing: str, name: str, shadow: Shadow) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO shadows (thing, name, version, exists_, state, metadata) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (thing, name, shadow.version, int(shadow.exists), json.dumps(shadow.state),
                 json.dumps(shadow.metadata)))

    def list(self) -> List[Tuple[str, str, int]]:
        """(thing, name, version) of every existing shadow."""
        with self._lock:
            rows = self._db.execute(
                "SELECT thing, name, version FROM shadows WHERE exists_=1 ORDER BY thing, name"
            ).fetchall()
        return [(str(r[0]), str(r[1]), int(r[2])) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()

"""SQLite persistence of shadows, job executions, command executions and Defender metrics: a restart of the emulator keeps them."""

from __future__ import annotations

import json
import sqlite3
import threading
from typing import List, Optional, Tuple

from .commands_model import Execution as CommandExecution
from .jobs_model import Execution
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


_JOBS_SCHEMA = """
CREATE TABLE IF NOT EXISTS job_executions (
    thing    TEXT    NOT NULL,
    job_id   TEXT    NOT NULL,
    seq      INTEGER NOT NULL,           -- creation order within the thing
    status   TEXT    NOT NULL,
    deadline REAL,                       -- epoch s of the step timeout while IN_PROGRESS
    data     TEXT    NOT NULL,           -- the whole Execution as JSON
    PRIMARY KEY (thing, job_id)
)
"""


class JobStore:
    """Job executions in the same SQLite file as the shadows (own connection, WAL)."""

    def __init__(self, path: str) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(_JOBS_SCHEMA)

    def load(self, thing: str) -> List[Execution]:
        with self._lock:
            rows = self._db.execute(
                "SELECT data FROM job_executions WHERE thing=? ORDER BY seq", (thing,)).fetchall()
        return [Execution.from_json(json.loads(r[0])) for r in rows]

    def save(self, execs: List[Execution]) -> None:
        with self._lock:
            self._db.execute("BEGIN")
            try:
                for e in execs:
                    self._db.execute(
                        "INSERT OR REPLACE INTO job_executions "
                        "(thing, job_id, seq, status, deadline, data) VALUES (?, ?, ?, ?, ?, ?)",
                        (e.thing, e.job_id, e.seq, e.status, e.deadline, json.dumps(e.to_json())))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def things_with_deadline(self, now: float) -> List[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT DISTINCT thing FROM job_executions WHERE status='IN_PROGRESS' "
                "AND deadline IS NOT NULL AND deadline <= ?", (now,)).fetchall()
        return [str(r[0]) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()


_COMMANDS_SCHEMA = """
CREATE TABLE IF NOT EXISTS command_executions (
    thing        TEXT    NOT NULL,
    execution_id TEXT    NOT NULL,
    seq          INTEGER NOT NULL,       -- creation order within the thing
    status       TEXT    NOT NULL,
    deadline     REAL,                   -- epoch s of TIMED_OUT while still open
    data         TEXT    NOT NULL,       -- the whole CommandExecution as JSON
    PRIMARY KEY (thing, execution_id)
)
"""


class CommandStore:
    """Command executions in the same SQLite file (own connection, WAL)."""

    def __init__(self, path: str) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(_COMMANDS_SCHEMA)

    def load(self, thing: str) -> List[CommandExecution]:
        with self._lock:
            rows = self._db.execute(
                "SELECT data FROM command_executions WHERE thing=? ORDER BY seq",
                (thing,)).fetchall()
        return [CommandExecution.from_json(json.loads(r[0])) for r in rows]

    def save(self, execs: List[CommandExecution]) -> None:
        with self._lock:
            self._db.execute("BEGIN")
            try:
                for e in execs:
                    self._db.execute(
                        "INSERT OR REPLACE INTO command_executions "
                        "(thing, execution_id, seq, status, deadline, data) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        (e.thing, e.execution_id, e.seq, e.status, e.deadline,
                         json.dumps(e.to_json())))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def things_with_deadline(self, now: float) -> List[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT DISTINCT thing FROM command_executions "
                "WHERE deadline IS NOT NULL AND deadline <= ?", (now,)).fetchall()
        return [str(r[0]) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()


_METRICS_SCHEMA = """
CREATE TABLE IF NOT EXISTS metrics_reports (
    thing     TEXT    NOT NULL,
    report_id INTEGER NOT NULL,
    received  INTEGER NOT NULL,          -- epoch ms
    fmt       TEXT    NOT NULL,          -- json | cbor
    data      TEXT    NOT NULL,          -- the retained report, long keys
    PRIMARY KEY (thing, report_id)
);
CREATE TABLE IF NOT EXISTS metrics_violations (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    thing     TEXT    NOT NULL,
    report_id INTEGER NOT NULL,
    data      TEXT    NOT NULL
);
CREATE TABLE IF NOT EXISTS metrics_profiles (
    thing TEXT PRIMARY KEY,
    data  TEXT NOT NULL
);
"""


class MetricsStore:
    """Accepted Defender reports, violations and per-thing security profiles."""

    def __init__(self, path: str) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_METRICS_SCHEMA)

    def last_report_id(self, thing: str) -> Optional[int]:
        with self._lock:
            row = self._db.execute("SELECT MAX(report_id) FROM metrics_reports WHERE thing=?",
                                   (thing,)).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def add(self, thing: str, report_id: int, received_ms: int, fmt: str, report: dict,
            violations: List[dict]) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "INSERT INTO metrics_reports (thing, report_id, received, fmt, data) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (thing, report_id, received_ms, fmt, json.dumps(report)))
                for v in violations:
                    self._db.execute(
                        "INSERT INTO metrics_violations (thing, report_id, data) VALUES (?, ?, ?)",
                        (thing, report_id, json.dumps(v)))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def reports(self, thing: str, limit: int) -> List[Tuple[int, int, str, dict]]:
        """(report_id, received ms, fmt, report), newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT report_id, received, fmt, data FROM metrics_reports WHERE thing=? "
                "ORDER BY report_id DESC LIMIT ?", (thing, limit)).fetchall()
        return [(int(r[0]), int(r[1]), str(r[2]), json.loads(r[3])) for r in rows]

    def violations(self, thing: str, limit: int) -> List[dict]:
        """Newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT data FROM metrics_violations WHERE thing=? ORDER BY seq DESC LIMIT ?",
                (thing, limit)).fetchall()
        return [json.loads(r[0]) for r in rows]

    def profile(self, thing: str) -> Optional[dict]:
        with self._lock:
            row = self._db.execute("SELECT data FROM metrics_profiles WHERE thing=?",
                                   (thing,)).fetchone()
        return None if row is None else json.loads(row[0])

    def set_profile(self, thing: str, profile: dict) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO metrics_profiles (thing, data) VALUES (?, ?)",
                             (thing, json.dumps(profile)))

    def close(self) -> None:
        with self._lock:
            self._db.close()

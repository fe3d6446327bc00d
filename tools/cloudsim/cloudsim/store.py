"""SQLite persistence of shadows, job executions, command executions, Defender metrics and
provisioned certificates and templates: a restart of the emulator keeps them."""

from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import contextmanager
from typing import Any, Iterator, List, Optional, Sequence, Tuple

from .commands_model import Execution as CommandExecution
from .jobs_model import Execution
from .provisioning_model import Certificate
from .shadow_model import Shadow

class _Database:
    """One SQLite connection (WAL, synchronous=FULL) per store, used under a lock: every write is
    committed before the caller publishes a response."""

    def __init__(self, path: str, schema: str) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(schema)

    def _rows(self, sql: str, args: Sequence[Any] = ()) -> List[Any]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def _write(self, sql: str, args: Sequence[Any] = ()) -> None:
        with self._lock:
            self._db.execute(sql, args)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """All statements inside are committed together, or none is."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def close(self) -> None:
        with self._lock:
            self._db.close()


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


class ShadowStore(_Database):
    """Thread-safe store; every write is committed before the caller publishes a response."""

    def __init__(self, path: str) -> None:
        super().__init__(path, _SCHEMA)

    def load(self, thing: str, name: str) -> Shadow:
        rows = self._rows(
            "SELECT version, exists_, state, metadata FROM shadows WHERE thing=? AND name=?",
            (thing, name))
        if not rows:
            return Shadow()
        row = rows[0]
        return Shadow(state=json.loads(row[2]), metadata=json.loads(row[3]), version=int(row[0]),
                      exists=bool(row[1]))

    def save(self, thing: str, name: str, shadow: Shadow) -> None:
        self._write(
            "INSERT OR REPLACE INTO shadows (thing, name, version, exists_, state, metadata) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (thing, name, shadow.version, int(shadow.exists), json.dumps(shadow.state),
             json.dumps(shadow.metadata)))

    def list(self) -> List[Tuple[str, str, int]]:
        """(thing, name, version) of every existing shadow."""
        rows = self._rows(
            "SELECT thing, name, version FROM shadows WHERE exists_=1 ORDER BY thing, name")
        return [(str(r[0]), str(r[1]), int(r[2])) for r in rows]


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


class _ExecutionStore(_Database):
    """Executions (jobs or commands) of one table laid out as (thing, <id>, seq, status, deadline,
    data): `data` holds the whole execution as JSON, the other columns serve the queries."""

    _table = ""
    _id_column = ""
    _due_condition = ""  # extra SQL condition for an execution whose deadline counts

    def _decode(self, data: Any) -> Any:
        raise NotImplementedError

    def _id(self, execution: Any) -> str:
        raise NotImplementedError

    def load(self, thing: str) -> List[Any]:
        rows = self._rows(f"SELECT data FROM {self._table} WHERE thing=? ORDER BY seq", (thing,))
        return [self._decode(json.loads(r[0])) for r in rows]

    def save(self, execs: List[Any]) -> None:
        with self._transaction() as db:
            for e in execs:
                db.execute(
                    f"INSERT OR REPLACE INTO {self._table} "
                    f"(thing, {self._id_column}, seq, status, deadline, data) VALUES (?, ?, ?, ?, ?, ?)",
                    (e.thing, self._id(e), e.seq, e.status, e.deadline, json.dumps(e.to_json())))

    def things_with_deadline(self, now: float) -> List[str]:
        rows = self._rows(
            f"SELECT DISTINCT thing FROM {self._table} WHERE {self._due_condition}"
            "deadline IS NOT NULL AND deadline <= ?", (now,))
        return [str(r[0]) for r in rows]


class JobStore(_ExecutionStore):
    """Job executions in the same SQLite file as the shadows (own connection, WAL)."""

    _table = "job_executions"
    _id_column = "job_id"
    _due_condition = "status='IN_PROGRESS' AND "  # step timeouts run only while IN_PROGRESS

    def __init__(self, path: str) -> None:
        super().__init__(path, _JOBS_SCHEMA)

    def _decode(self, data: Any) -> Execution:
        return Execution.from_json(data)

    def _id(self, execution: Execution) -> str:
        return execution.job_id


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


class CommandStore(_ExecutionStore):
    """Command executions in the same SQLite file (own connection, WAL)."""

    _table = "command_executions"
    _id_column = "execution_id"
    _due_condition = ""  # the deadline is cleared when an execution ends

    def __init__(self, path: str) -> None:
        super().__init__(path, _COMMANDS_SCHEMA)

    def _decode(self, data: Any) -> CommandExecution:
        return CommandExecution.from_json(data)

    def _id(self, execution: CommandExecution) -> str:
        return execution.execution_id


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


class MetricsStore(_Database):
    """Accepted Defender reports, violations and per-thing security profiles."""

    def __init__(self, path: str) -> None:
        super().__init__(path, _METRICS_SCHEMA)

    def last_report_id(self, thing: str) -> Optional[int]:
        rows = self._rows("SELECT MAX(report_id) FROM metrics_reports WHERE thing=?", (thing,))
        return None if not rows or rows[0][0] is None else int(rows[0][0])

    def add(self, thing: str, report_id: int, received_ms: int, fmt: str, report: dict,
            violations: List[dict]) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO metrics_reports (thing, report_id, received, fmt, data) "
                "VALUES (?, ?, ?, ?, ?)",
                (thing, report_id, received_ms, fmt, json.dumps(report)))
            for v in violations:
                db.execute(
                    "INSERT INTO metrics_violations (thing, report_id, data) VALUES (?, ?, ?)",
                    (thing, report_id, json.dumps(v)))

    def reports(self, thing: str, limit: int) -> List[Tuple[int, int, str, dict]]:
        """(report_id, received ms, fmt, report), newest first."""
        rows = self._rows(
            "SELECT report_id, received, fmt, data FROM metrics_reports WHERE thing=? "
            "ORDER BY report_id DESC LIMIT ?", (thing, limit))
        return [(int(r[0]), int(r[1]), str(r[2]), json.loads(r[3])) for r in rows]

    def violations(self, thing: str, limit: int) -> List[dict]:
        """Newest first."""
        rows = self._rows(
            "SELECT data FROM metrics_violations WHERE thing=? ORDER BY seq DESC LIMIT ?",
            (thing, limit))
        return [json.loads(r[0]) for r in rows]

    def profile(self, thing: str) -> Optional[dict]:
        rows = self._rows("SELECT data FROM metrics_profiles WHERE thing=?", (thing,))
        return None if not rows else json.loads(rows[0][0])

    def set_profile(self, thing: str, profile: dict) -> None:
        self._write("INSERT OR REPLACE INTO metrics_profiles (thing, data) VALUES (?, ?)",
                    (thing, json.dumps(profile)))


_PROVISIONING_SCHEMA = """
CREATE TABLE IF NOT EXISTS certificates (
    certificate_id TEXT PRIMARY KEY,     -- hex SHA-256 of the DER
    token_sha256   TEXT    NOT NULL,     -- the ownership token itself is never stored
    status         TEXT    NOT NULL,
    thing          TEXT,
    created        REAL    NOT NULL,
    data           TEXT    NOT NULL      -- the whole Certificate as JSON
);
CREATE INDEX IF NOT EXISTS certificates_token ON certificates (token_sha256);
CREATE TABLE IF NOT EXISTS provisioning_templates (
    name TEXT PRIMARY KEY,
    data TEXT NOT NULL
);
"""


class ProvisioningStore(_Database):
    """Certificates issued by CreateCertificateFromCsr and the provisioning templates."""

    def __init__(self, path: str) -> None:
        super().__init__(path, _PROVISIONING_SCHEMA)

    def save_certificate(self, cert: Certificate) -> None:
        self._write(
            "INSERT OR REPLACE INTO certificates "
            "(certificate_id, token_sha256, status, thing, created, data) VALUES (?, ?, ?, ?, ?, ?)",
            (cert.certificate_id, cert.token_sha256, cert.status, cert.thing, cert.created_at,
             json.dumps(cert.to_json())))

    def _certificates(self, where: str, args: Sequence[Any]) -> List[Certificate]:
        rows = self._rows(f"SELECT data FROM certificates {where} ORDER BY created, certificate_id",
                          args)
        return [Certificate.from_json(json.loads(r[0])) for r in rows]

    def certificate(self, certificate_id: str) -> Optional[Certificate]:
        found = self._certificates("WHERE certificate_id=?", (certificate_id,))
        return found[0] if found else None

    def certificate_by_token(self, token_sha256: str) -> Optional[Certificate]:
        found = self._certificates("WHERE token_sha256=?", (token_sha256,))
        return found[0] if found else None

    def certificates(self, thing: Optional[str] = None,
                     status: Optional[str] = None) -> List[Certificate]:
        conditions, args = [], []
        if thing is not None:
            conditions.append("thing=?")
            args.append(thing)
        if status is not None:
            conditions.append("status=?")
            args.append(status)
        return self._certificates("WHERE " + " AND ".join(conditions) if conditions else "", args)

    def delete_certificates(self, ids: List[str]) -> None:
        with self._transaction() as db:
            for certificate_id in ids:
                db.execute("DELETE FROM certificates WHERE certificate_id=?", (certificate_id,))

    def templates(self) -> List[Tuple[str, dict]]:
        rows = self._rows("SELECT name, data FROM provisioning_templates ORDER BY name")
        return [(str(r[0]), json.loads(r[1])) for r in rows]

    def template(self, name: str) -> Optional[dict]:
        rows = self._rows("SELECT data FROM provisioning_templates WHERE name=?", (name,))
        return None if not rows else json.loads(rows[0][0])

    def set_template(self, name: str, body: dict) -> None:
        self._write("INSERT OR REPLACE INTO provisioning_templates (name, data) VALUES (?, ?)",
                    (name, json.dumps(body)))

    def delete_template(self, name: str) -> bool:
        with self._transaction() as db:
            return db.execute("DELETE FROM provisioning_templates WHERE name=?",
                              (name,)).rowcount > 0

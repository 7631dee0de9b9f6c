"""The local workspace's SQLite store, shared by the Jupyter server, the CLI and the scheduler daemon.

Several processes use one file at the same time, so: WAL journal (readers never block the writer),
a generous busy timeout, and every read-modify-write inside ``BEGIN IMMEDIATE`` (the write lock is taken
before reading, so two processes cannot both act on the same old value). State changes that race with
another process (claim a queued job, request a cancel) are conditional UPDATEs that report whether they
won. One connection per thread.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    parent_name TEXT,
    step_name TEXT,
    status TEXT NOT NULL,
    display_name TEXT,
    experiment_name TEXT,
    description TEXT,
    tags TEXT NOT NULL DEFAULT '{}',
    compute TEXT,
    environment TEXT,
    command TEXT,
    spec TEXT NOT NULL,
    timeout_seconds INTEGER,
    inputs TEXT NOT NULL DEFAULT '{}',
    outputs TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL,
    started_at REAL,
    ended_at REAL,
    exit_code INTEGER,
    error TEXT,
    pid INTEGER,
    pid_start TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_by_parent ON jobs (parent_name, seq);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status, seq);
CREATE INDEX IF NOT EXISTS jobs_queue ON jobs (status, compute, seq);
CREATE INDEX IF NOT EXISTS jobs_by_experiment ON jobs (experiment_name, seq);
CREATE TABLE IF NOT EXISTS computes (
    name TEXT PRIMARY KEY,
    size TEXT,
    min_nodes INTEGER NOT NULL DEFAULT 0,
    max_nodes INTEGER NOT NULL,
    idle_seconds INTEGER,
    tier TEXT NOT NULL DEFAULT 'dedicated',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS data_assets (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    type TEXT NOT NULL,
    path TEXT NOT NULL,
    size_bytes INTEGER,
    file_count INTEGER,
    content_hash TEXT,
    description TEXT,
    tags TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL,
    UNIQUE (name, version)
);
CREATE TABLE IF NOT EXISTS operations (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    request TEXT NOT NULL DEFAULT '{}',
    progress TEXT NOT NULL DEFAULT '{}',
    error TEXT,
    result TEXT,
    owner_pid INTEGER,
    owner_start TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS job_claims (
    name TEXT PRIMARY KEY,
    owner_pid INTEGER NOT NULL,
    owner_start TEXT,
    claimed_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS file_fingerprints (
    source TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    digest TEXT NOT NULL
);
"""

JSON_COLUMNS = {"tags", "spec", "inputs", "outputs", "request", "progress", "result"}


class Store:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._local = threading.local()
        with self.transaction() as db:
            for statement in filter(str.strip, SCHEMA.split(";")):  # executescript would commit early
                db.execute(statement)
            db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))

    # ---- connections and transactions -------------------------------------------------------------
    def _connection(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA busy_timeout=60000")
            self._local.db = db
        return db

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction holding the database's write lock from its first statement."""
        db = self._connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        else:
            db.execute("COMMIT")

    def read(self, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        return [_row(r) for r in self._connection().execute(sql, tuple(params)).fetchall()]

    def read_one(self, sql: str, params: Iterable[Any] = ()) -> dict[str, Any] | None:
        row = self._connection().execute(sql, tuple(params)).fetchone()
        return _row(row) if row is not None else None

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    # ---- jobs -------------------------------------------------------------------------------------
    def insert_jobs(self, db: sqlite3.Connection, rows: list[dict[str, Any]]) -> None:
        now = time.time()
        for row in rows:
            values = {**row, "updated_at": now}
            values.setdefault("created_at", now)
            columns = ", ".join(values)
            marks = ", ".join("?" for _ in values)
            db.execute(f"INSERT INTO jobs ({columns}) VALUES ({marks})", [_cell(k, v) for k, v in values.items()])

    def get_job(self, name: str) -> dict[str, Any] | None:
        return self.read_one("SELECT * FROM jobs WHERE name = ?", (name,))

    def update_job(
        self,
        name: str,
        *,
        only_if_status: Iterable[str] | None = None,
        db: sqlite3.Connection | None = None,
        **fields: Any,
    ) -> bool:
        """Set fields; with ``only_if_status`` only while the job is in one of those states. True if changed."""
        fields["updated_at"] = time.time()
        assignments = ", ".join(f"{k} = ?" for k in fields)
        params = [_cell(k, v) for k, v in fields.items()] + [name]
        sql = f"UPDATE jobs SET {assignments} WHERE name = ?"
        if only_if_status is not None:
            statuses = list(only_if_status)
            sql += f" AND status IN ({', '.join('?' for _ in statuses)})"
            params += statuses
        if db is not None:
            return db.execute(sql, params).rowcount > 0
        with self.transaction() as own:
            return own.execute(sql, params).rowcount > 0

    def list_jobs(
        self,
        *,
        parent: str | None = None,
        statuses: list[str] | None = None,
        experiment: str | None = None,
        before_seq: int | None = None,
        limit: int = 50,
        newest_first: bool = True,
    ) -> list[dict[str, Any]]:
        where, params = ["parent_name IS ?"], [parent]
        if statuses:
            where.append(f"status IN ({', '.join('?' for _ in statuses)})")
            params += statuses
        if experiment:
            where.append("experiment_name = ?")
            params.append(experiment)
        if before_seq is not None:
            where.append("seq < ?" if newest_first else "seq > ?")
            params.append(before_seq)
        order = "DESC" if newest_first else "ASC"
        sql = f"SELECT * FROM jobs WHERE {' AND '.join(where)} ORDER BY seq {order} LIMIT ?"
        return self.read(sql, params + [limit])

    def jobs_in_status(self, statuses: Iterable[str], columns: str = "*") -> list[dict[str, Any]]:
        statuses = list(statuses)
        return self.read(
            f"SELECT {columns} FROM jobs WHERE status IN ({', '.join('?' for _ in statuses)}) ORDER BY seq", statuses
        )

    # ---- computes ---------------------------------------------------------------------------------
    def get_compute(self, name: str) -> dict[str, Any] | None:
        return self.read_one("SELECT * FROM computes WHERE name = ?", (name,))

    def list_computes(self) -> list[dict[str, Any]]:
        return self.read("SELECT * FROM computes ORDER BY name")

    # ---- data assets ------------------------------------------------------------------------------
    def get_data_asset(self, name: str, version: str | None = None) -> dict[str, Any] | None:
        if version is None:  # latest = most recently created, as Azure ML's @latest
            return self.read_one("SELECT * FROM data_assets WHERE name = ? ORDER BY seq DESC LIMIT 1", (name,))
        return self.read_one("SELECT * FROM data_assets WHERE name = ? AND version = ?", (name, version))

    def list_data_assets(self, name: str | None = None) -> list[dict[str, Any]]:
        if name is not None:
            return self.read("SELECT * FROM data_assets WHERE name = ? ORDER BY seq DESC", (name,))
        return self.read("SELECT * FROM data_assets ORDER BY name, seq DESC")

    # ---- operations -------------------------------------------------------------------------------
    def get_operation(self, operation_id: str) -> dict[str, Any] | None:
        return self.read_one("SELECT * FROM operations WHERE id = ?", (operation_id,))

    def update_operation(self, operation_id: str, *, only_if_state: str | None = None, **fields: Any) -> bool:
        fields["updated_at"] = time.time()
        assignments = ", ".join(f"{k} = ?" for k in fields)
        params = [_cell(k, v) for k, v in fields.items()] + [operation_id]
        sql = f"UPDATE operations SET {assignments} WHERE id = ?"
        if only_if_state is not None:
            sql += " AND state = ?"
            params.append(only_if_state)
        with self.transaction() as db:
            return db.execute(sql, params).rowcount > 0

    # ---- source fingerprints (skip re-hashing unchanged files) ------------------------------------
    def fingerprints(self, sources: list[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(sources), 500):
            chunk = sources[start : start + 500]
            rows = self.read(
                f"SELECT * FROM file_fingerprints WHERE source IN ({', '.join('?' for _ in chunk)})", chunk
            )
            found.update({row["source"]: row for row in rows})
        return found

    def remember_fingerprints(self, rows: list[tuple[str, int, int, int, str]]) -> None:
        if not rows:
            return
        with self.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO file_fingerprints (source, size, mtime_ns, inode, digest)"
                " VALUES (?, ?, ?, ?, ?)",
                rows,
            )


def _cell(key: str, value: Any) -> Any:
    if key in JSON_COLUMNS and value is not None and not isinstance(value, str):
        return json.dumps(value)
    return value


def _row(row: sqlite3.Row) -> dict[str, Any]:
    out = dict(row)
    for key in JSON_COLUMNS & out.keys():
        if isinstance(out[key], str):
            out[key] = json.loads(out[key])
    return out

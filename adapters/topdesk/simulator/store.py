"""The simulator's state in one SQLite file, so a restart on the same file continues where the
previous run stopped: incidents, the number sequence, entries (actions, requests, time spent,
attachments), persons, and webhook deliveries still pending.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .dates import format_date

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS incidents (
    id TEXT PRIMARY KEY,
    number TEXT NOT NULL,
    number_key TEXT NOT NULL UNIQUE,
    seq INTEGER NOT NULL,
    archived INTEGER NOT NULL DEFAULT 0,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    incident_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_by_incident ON entries (incident_id, kind, seq);
CREATE TABLE IF NOT EXISTS persons (
    id TEXT PRIMARY KEY,
    email_key TEXT UNIQUE,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS blobs (id TEXT PRIMARY KEY, content BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event TEXT NOT NULL,
    incident_id TEXT NOT NULL,
    number TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    response_code INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"""


class Tx:
    """One SQLite transaction, with the queries the simulator needs; documents are JSON."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.after_commit: list[Callable[[], None]] = []

    # incidents --------------------------------------------------------------------------
    def incident(self, by: str, key: str) -> dict[str, Any] | None:
        column, value = ("id", key.lower()) if by == "id" else ("number_key", key.casefold())
        row = self.conn.execute(
            f"SELECT doc FROM incidents WHERE {column} = ?", (value,)
        ).fetchone()
        return None if row is None else json.loads(row[0])

    def incidents(self, include_archived: bool) -> list[dict[str, Any]]:
        sql = "SELECT doc FROM incidents" + ("" if include_archived else " WHERE archived = 0")
        return [json.loads(row[0]) for row in self.conn.execute(sql + " ORDER BY seq")]

    def save_incident(self, doc: dict[str, Any], seq: int = 0) -> None:
        self.conn.execute(
            "INSERT INTO incidents (id, number, number_key, seq, archived, doc)"
            " VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(id) DO UPDATE SET archived = excluded.archived, doc = excluded.doc",
            (
                doc["id"],
                doc["number"],
                doc["number"].casefold(),
                seq,
                int(doc["status"].endswith("Archived")),
                json.dumps(doc, ensure_ascii=False),
            ),
        )

    def next_incident_seq(self) -> int:
        """The per-db number counter; kept in the db so numbers continue after a restart."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'incident_seq'").fetchone()
        seq = (int(row[0]) if row else 0) + 1
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES ('incident_seq', ?)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (str(seq),),
        )
        return seq

    # progress trail / request entries ----------------------------------------------------
    def add_entry(self, incident_id: str, kind: str, doc: dict[str, Any]) -> None:
        self.conn.execute(
            "INSERT INTO entries (id, incident_id, kind, doc) VALUES (?, ?, ?, ?)",
            (doc["id"], incident_id, kind, json.dumps(doc, ensure_ascii=False)),
        )

    def entries(self, incident_id: str, kind: str) -> list[dict[str, Any]]:
        """Entries of one kind, newest first as TOPdesk lists them (§2.2, §2.6)."""
        rows = self.conn.execute(
            "SELECT doc FROM entries WHERE incident_id = ? AND kind = ? ORDER BY seq DESC",
            (incident_id, kind),
        )
        return [json.loads(row[0]) for row in rows]

    def delete_entry(self, entry_id: str) -> None:
        self.conn.execute("DELETE FROM entries WHERE id = ?", (entry_id,))
        self.conn.execute("DELETE FROM blobs WHERE id = ?", (entry_id,))

    def save_blob(self, blob_id: str, content: bytes) -> None:
        self.conn.execute("INSERT INTO blobs (id, content) VALUES (?, ?)", (blob_id, content))

    def blob(self, blob_id: str) -> bytes | None:
        row = self.conn.execute("SELECT content FROM blobs WHERE id = ?", (blob_id,)).fetchone()
        return None if row is None else bytes(row[0])

    # persons -----------------------------------------------------------------------------
    def person(self, *, person_id: str | None = None, email: str | None = None) -> dict | None:
        if person_id is not None:
            query, arg = "SELECT doc FROM persons WHERE id = ?", person_id.lower()
        else:
            query, arg = "SELECT doc FROM persons WHERE email_key = ?", (email or "").casefold()
        row = self.conn.execute(query, (arg,)).fetchone()
        return None if row is None else json.loads(row[0])

    def persons(self) -> list[dict[str, Any]]:
        rows = self.conn.execute("SELECT doc FROM persons ORDER BY rowid")
        return [json.loads(row[0]) for row in rows]

    def add_person(self, doc: dict[str, Any]) -> None:
        self.conn.execute(
            "INSERT INTO persons (id, email_key, doc) VALUES (?, ?, ?)",
            (doc["id"], doc["email"].casefold(), json.dumps(doc, ensure_ascii=False)),
        )

    # webhook outbox ----------------------------------------------------------------------
    def enqueue(self, event: str, incident: dict[str, Any], body: str, status: str) -> None:
        now = format_date(datetime.now(UTC))
        self.conn.execute(
            "INSERT INTO outbox (event, incident_id, number, body, status, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (event, incident["id"], incident["number"], body, status, now, now),
        )

    def next_pending_delivery(self) -> dict[str, Any] | None:
        row = self.conn.execute(
            "SELECT * FROM outbox WHERE status = 'pending' ORDER BY id LIMIT 1"
        ).fetchone()
        return None if row is None else dict(row)

    def record_attempt(
        self, delivery_id: int, status: str, attempts: int, code: int | None, error: str | None
    ) -> None:
        self.conn.execute(
            "UPDATE outbox SET status = ?, attempts = ?, response_code = ?, last_error = ?,"
            " updated_at = ? WHERE id = ?",
            (status, attempts, code, error, format_date(datetime.now(UTC)), delivery_id),
        )

    def deliveries(self) -> list[dict[str, Any]]:
        return [dict(row) for row in self.conn.execute("SELECT * FROM outbox ORDER BY id")]


class Store:
    """The SQLite file behind a simulator.

    The HTTP server is threaded, so every operation opens its own short-lived connection and
    runs under one lock: simple, safe, and nothing is left open when a server thread outlives
    ``stop()``.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        with self._connect() as conn:
            conn.executescript(SCHEMA)

    def _connect(self) -> contextlib.closing[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.row_factory = sqlite3.Row
        return contextlib.closing(conn)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Tx]:
        """Run a block atomically; callbacks registered on the Tx run after the commit."""
        with self._lock, self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            tx = Tx(conn)
            try:
                yield tx
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        for callback in tx.after_commit:
            callback()

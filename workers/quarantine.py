"""The intake's quarantine: every webhook that could not be routed, kept with the reason.

An event for a case of a category no process handles, or for a case TOPdesk does not know, is
answered 202 (the sender must not retry it) but never dropped: it lies here until a person looks
at it. Webhook bodies name a case and an event, never personal data.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel

_SCHEMA = """
create table if not exists quarantine (
    id integer primary key autoincrement, received text not null, source text not null,
    body text not null, reason text not null);
"""


class QuarantinedEvent(BaseModel):
    id: int
    received: datetime
    source: str
    body: str
    reason: str


class Quarantine:
    """One SQLite file, shared by every intake process that opens it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with closing(self._connect()) as db:
            db.executescript(_SCHEMA)

    def add(self, source: str, body: str, reason: str) -> int:
        with self._lock, closing(self._connect()) as db:
            cursor = db.execute(
                "insert into quarantine (received, source, body, reason) values (?, ?, ?, ?)",
                (datetime.now(UTC).isoformat(), source, body, reason),
            )
            return int(cursor.lastrowid or 0)

    def events(self) -> list[QuarantinedEvent]:
        with self._lock, closing(self._connect()) as db:
            rows = db.execute(
                "select id, received, source, body, reason from quarantine order by id"
            ).fetchall()
        return [
            QuarantinedEvent(id=row[0], received=row[1], source=row[2], body=row[3], reason=row[4])
            for row in rows
        ]

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10)
        db.isolation_level = None  # each statement commits by itself
        return db

"""The intake's quarantine: every webhook that could not be routed, kept with the reason.

An event for a case of a category no process handles, or for a case TOPdesk does not know, is
answered 202 (the sender must not retry it) but never dropped: it lies here until a person looks
at it. Webhook bodies name a case and an event, never personal data.

`redrive` sends a kept event again through the intake's own delivery (the code path of a webhook),
e.g. once its category got a process or its case appeared in TOPdesk: delivered, it leaves the
quarantine; refused again, it stays with the new reason.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Awaitable, Callable, Iterable
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from adapters.topdesk.errors import TopdeskError
from workers.outbox import TemporalUnavailable

_SCHEMA = """
create table if not exists quarantine (
    id integer primary key autoincrement, received text not null, source text not null,
    body text not null, reason text not null);
"""


class Refused(Exception):
    """An event no workflow can take as things stand. The message is the reason kept with it,
    in Norwegian: the service centre reads it."""


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

    def get(self, event_id: int) -> QuarantinedEvent | None:
        with self._lock, closing(self._connect()) as db:
            row = db.execute(
                "select id, received, source, body, reason from quarantine where id = ?",
                (event_id,),
            ).fetchone()
        if row is None:
            return None
        return QuarantinedEvent(
            id=row[0], received=row[1], source=row[2], body=row[3], reason=row[4]
        )

    def remove(self, event_id: int) -> None:
        with self._lock, closing(self._connect()) as db:
            db.execute("delete from quarantine where id = ?", (event_id,))

    def update_reason(self, event_id: int, reason: str) -> None:
        with self._lock, closing(self._connect()) as db:
            db.execute("update quarantine set reason = ? where id = ?", (reason, event_id))

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10)
        db.isolation_level = None  # each statement commits by itself
        return db


RedriveResult = Literal["delivered", "refused", "unavailable", "unknown"]


class Redriven(BaseModel):
    """What became of one quarantined event sent again; `detail` is for the person who asked."""

    id: int
    result: RedriveResult
    detail: str


async def redrive(
    quarantine: Quarantine,
    ids: Iterable[int],
    deliver: Callable[[QuarantinedEvent], Awaitable[str]],
) -> list[Redriven]:
    """Send each event again with `deliver` (the intake's delivery; it returns the action taken,
    raises `Refused` with the new reason). A system that is down leaves the event as it was."""
    done = []
    for event_id in ids:
        event = await asyncio.to_thread(quarantine.get, event_id)
        if event is None:
            done.append(Redriven(id=event_id, result="unknown", detail="finnes ikke i karantenen"))
            continue
        try:
            action = await deliver(event)
        except Refused as refusal:
            await asyncio.to_thread(quarantine.update_reason, event_id, str(refusal))
            done.append(Redriven(id=event_id, result="refused", detail=str(refusal)))
        except (TemporalUnavailable, TopdeskError) as error:
            detail = f"ikke sendt, prøv igjen senere: {error}"
            done.append(Redriven(id=event_id, result="unavailable", detail=detail))
        else:
            await asyncio.to_thread(quarantine.remove, event_id)
            done.append(Redriven(id=event_id, result="delivered", detail=action))
    return done

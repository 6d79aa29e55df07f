"""The intake's quarantine: every webhook that could not be routed, kept with the reason.

An event for a case of a category no process handles, or for a case TOPdesk does not know, is
answered 202 (the sender must not retry it) but never dropped: it lies here until a person looks
at it. Webhook bodies name a case and an event, never personal data.

One row per distinct event: the same source, body (as received, no event id made up) and reason
delivered again counts on that row (`count`, first seen as `received`, `last_seen`) instead of
adding one, so a sender that repeats itself cannot fill the disk. There is still a cap on the rows
(SAKSFLYT_QUARANTINE_MAX_EVENTS): once full, a new event is refused with `QuarantineFull`, which
the intake answers 503 with Retry-After and a message naming the full quarantine. So nothing is
dropped silently: the sender keeps the event and sends it again, an event the outbox was holding
stays there, and the intake's `/metrics` shows the quarantine's size against its cap until an
operator redrives or purges (`saksflyt quarantine purge --older-than DAYS`, by last seen).

`redrive` sends a kept event again through the intake's own delivery (the code path of a webhook),
e.g. once its category got a process or its case appeared in TOPdesk: delivered, it leaves the
quarantine; refused again, it stays with the new reason (merged into a row that already has it).

Files written before the count existed are migrated in place when opened: the columns are added,
and rows that were the same event are merged into the oldest, their deliveries summed.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from adapters.topdesk.errors import TopdeskError
from workers.event_store import EventStore
from workers.outbox import TemporalUnavailable

_SCHEMA = """
create table if not exists quarantine (
    id integer primary key autoincrement, received text not null, source text not null,
    body text not null, reason text not null)
"""
# Added to a file of the first schema, which had a row per delivery.
_COLUMNS_ADDED = {
    "count": "alter table quarantine add column count integer not null default 1",
    "last_seen": "alter table quarantine add column last_seen text",
    "digest": "alter table quarantine add column digest text",
}
_SELECT = "select id, received, source, body, reason, count, last_seen from quarantine"
DEFAULT_MAX_EVENTS = 10_000


class Refused(Exception):
    """An event no workflow can take as things stand. The message is the reason kept with it,
    in Norwegian: the service centre reads it."""


class QuarantineFull(Exception):
    """The quarantine holds its cap of distinct events: a new one cannot be kept now."""


class QuarantinedEvent(BaseModel):
    id: int
    received: datetime  # first seen
    source: str
    body: str
    reason: str
    count: int = 1  # deliveries of this same event
    last_seen: datetime


def digest(source: str, body: str, reason: str) -> str:
    """What makes two deliveries the same event here."""
    return hashlib.sha256(json.dumps([source, body, reason]).encode()).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class Quarantine:
    """One row per distinct event, in one SQLite file (`workers/event_store.py`)."""

    def __init__(self, path: Path, max_events: int = DEFAULT_MAX_EVENTS) -> None:
        self.path = path
        self.max_events = max_events
        self.store = EventStore(path, _migrate)

    def add(self, source: str, body: str, reason: str) -> int:
        """Keep the event, or count it on the row of the same event; its id. Raises
        `QuarantineFull` for a new event once the cap is reached."""
        key = digest(source, body, reason)
        with self.store.transaction() as db:
            row = db.execute("select id from quarantine where digest = ?", (key,)).fetchone()
            if row is not None:
                db.execute(
                    "update quarantine set count = count + 1, last_seen = ? where id = ?",
                    (_now(), row[0]),
                )
                return int(row[0])
            (rows,) = db.execute("select count(*) from quarantine").fetchone()
            if rows >= self.max_events:
                raise QuarantineFull(f"the quarantine is full ({rows} of {self.max_events} events)")
            cursor = db.execute(
                "insert into quarantine (received, last_seen, source, body, reason, digest)"
                " values (?1, ?1, ?2, ?3, ?4, ?5)",
                (_now(), source, body, reason, key),
            )
            return int(cursor.lastrowid or 0)

    def events(self) -> list[QuarantinedEvent]:
        return self.store.select(QuarantinedEvent, f"{_SELECT} order by id")

    def get(self, event_id: int) -> QuarantinedEvent | None:
        found = self.store.select(QuarantinedEvent, f"{_SELECT} where id = ?", event_id)
        return found[0] if found else None

    def remove(self, event_id: int) -> None:
        with self.store.connection() as db:
            db.execute("delete from quarantine where id = ?", (event_id,))

    def update_reason(self, event_id: int, reason: str) -> int:
        """Keep the event with a new reason; its id, which is another one's when a row of the
        same event with that reason was there already (the deliveries are then summed there)."""
        with self.store.transaction() as db:
            row = db.execute(
                "select source, body, count, last_seen from quarantine where id = ?", (event_id,)
            ).fetchone()
            if row is None:
                return event_id
            source, body, count, last_seen = row
            key = digest(source, body, reason)
            same = db.execute(
                "select id from quarantine where digest = ? and id != ?", (key, event_id)
            ).fetchone()
            if same is None:
                db.execute(
                    "update quarantine set reason = ?, digest = ? where id = ?",
                    (reason, key, event_id),
                )
                return event_id
            _merge(db, same[0], event_id, count, last_seen)
            return int(same[0])

    def purge(self, older_than: timedelta, dry_run: bool = False) -> int:
        """Delete the events last seen more than `older_than` ago (only count them on a dry
        run); how many."""
        cutoff = (datetime.now(UTC) - older_than).isoformat(timespec="microseconds")
        where = "from quarantine where last_seen < ?"
        with self.store.transaction() as db:
            (count,) = db.execute(f"select count(*) {where}", (cutoff,)).fetchone()
            if not dry_run:
                db.execute(f"delete {where}", (cutoff,))
        return int(count)

    def stats(self) -> tuple[int, int]:
        """Distinct events kept, and the deliveries they stand for (the intake's `/metrics`)."""
        with self.store.connection() as db:
            rows, deliveries = db.execute(
                "select count(*), coalesce(sum(count), 0) from quarantine"
            ).fetchone()
        return int(rows), int(deliveries)


def _migrate(db: sqlite3.Connection) -> None:
    """Bring a file of any earlier schema to this one: the columns of the count, each row's
    digest, and rows of the same event merged into the oldest."""
    db.execute(_SCHEMA)
    columns = {row[1] for row in db.execute("pragma table_info(quarantine)")}
    for column, statement in _COLUMNS_ADDED.items():
        if column not in columns:
            db.execute(statement)
    db.execute("update quarantine set last_seen = received where last_seen is null")
    unkeyed = db.execute(
        "select id, source, body, reason, count, last_seen from quarantine"
        " where digest is null order by id"
    ).fetchall()
    for event_id, source, body, reason, count, last_seen in unkeyed:
        key = digest(source, body, reason)
        same = db.execute("select id from quarantine where digest = ?", (key,)).fetchone()
        if same is None:
            db.execute("update quarantine set digest = ? where id = ?", (key, event_id))
        else:
            _merge(db, same[0], event_id, count, last_seen)
    db.execute("create unique index if not exists quarantine_digest on quarantine (digest)")


def _merge(db: sqlite3.Connection, into: int, event_id: int, count: int, last_seen: str) -> None:
    """Count the row's deliveries on `into` (last seen: the later of the two); delete the row."""
    db.execute(
        "update quarantine set count = count + ?, last_seen = max(last_seen, ?) where id = ?",
        (count, last_seen, into),
    )
    db.execute("delete from quarantine where id = ?", (event_id,))


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
            done.append(Redriven(id=event_id, result="unknown", detail="not in the quarantine"))
            continue
        try:
            action = await deliver(event)
        except Refused as refusal:
            kept_as = await asyncio.to_thread(quarantine.update_reason, event_id, str(refusal))
            merged = f" (merged into {kept_as})" if kept_as != event_id else ""
            done.append(Redriven(id=event_id, result="refused", detail=f"{refusal}{merged}"))
        except (TemporalUnavailable, TopdeskError) as error:
            detail = f"not sent, try again later: {error}"
            done.append(Redriven(id=event_id, result="unavailable", detail=detail))
        else:
            await asyncio.to_thread(quarantine.remove, event_id)
            done.append(Redriven(id=event_id, result="delivered", detail=action))
    return done

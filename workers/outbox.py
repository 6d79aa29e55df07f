"""The intake's outbox: events Temporal (or, to route a DFØ decision, TOPdesk) could not take yet,
kept on disk until it can.

Why an outbox and not only 503 + Retry-After: whether TOPdesk retries a failed HTTP action is
UNCONFIRMED (reference/topdesk-api.md §5), and DFØ's retries are unknown too, so a 503 may well be
the last the sender ever says about the event. When Temporal is unreachable, the intake writes the
event, already authenticated, validated and routed (its workflow id and process known), into this
SQLite file under `settings.data_dir` and answers 202 `{"action": "queued"}`. The insert commits
(and SQLite syncs it to disk) before the answer leaves, so an acknowledged event survives a crash
of the intake. A background task in the intake's lifespan (`Drainer`, `workers/drainer.py`) hands
the events on in the order they came once Temporal is back, backing off exponentially up to a cap
while it is not, and deletes an event only after Temporal accepted it.

Why draining twice does no harm: a crash between "Temporal accepted" and "deleted" hands the event
on again after the restart, and two intakes sharing the file may both hand on one event. Both are
harmless because every hand-on is idempotent: the workflow id is the business key (a second start
finds the running or finished workflow, `WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY`), and a
signal carries an event id fixed when the event was queued, which the workflow's handlers count
once (signals are at-least-once anyway).

Order: a later event for a workflow that still has one waiting here is queued behind it, even when
Temporal is back, so "created" is never overtaken by "replied" for the same case; events for other
cases are not held up by it. (Across several intake replicas, each with its own outbox, no order
holds, as none does between concurrent requests either.)

TOPdesk unreachable while routing: a DFØ decision (approved, rejected) is queued here too, not yet
routed (no workflow id, its case number kept), and answered 202 queued; the drainer routes it
once TOPdesk answers again (`Unavailable` keeps it first until then). That event comes once, from
a portal whose retries are unknown, and lost it would leave the case to the approval step's daily
look in SAP. A TOPdesk event is still answered 503 with Retry-After: while TOPdesk cannot be read
nothing could act on it anyway (every workflow re-reads its case first), and the backfill poll on
`modificationDate` (issue 4, item 6) finds it within its quarter of an hour. The order of a case's
events holds either way: an event whose case has one waiting here, routed or not, queues behind it
(`holds` matches the workflow id or the case number).

What Temporal rejects outright, or a signal to a case that is not running, does not stay here
either: the intake's delivery puts it in the quarantine with the reason (the sender was told 202;
a 404 is only possible while the sender still waits for the answer).

Files written before events could wait unrouted are migrated in place when opened (the table is
rebuilt once, its `workflow_id` made optional and `case_number` filled from each body).
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel

from workers.event_store import EventStore

_SCHEMA = """
create table if not exists outbox (
    id integer primary key autoincrement, received text not null, source text not null,
    workflow_id text, category text, case_number text, body text not null,
    attempts integer not null default 0, last_error text);
create index if not exists outbox_workflow on outbox (workflow_id);
create index if not exists outbox_case on outbox (case_number);
"""
# The first schema: `workflow_id` required, no `case_number`. Rebuilt into the one above.
_MIGRATE = """
alter table outbox rename to outbox_old;
drop index if exists outbox_workflow;
{schema}
insert into outbox (id, received, source, workflow_id, category, case_number, body, attempts,
                    last_error)
    select id, received, source, workflow_id, category,
           coalesce(json_extract(body, '$.number'), json_extract(body, '$.case_number')),
           body, attempts, last_error
    from outbox_old;
drop table outbox_old;
"""
_COLUMNS = "id, received, source, workflow_id, category, case_number, body, attempts, last_error"


class Unavailable(Exception):
    """A system the event needs cannot take it now (Temporal; TOPdesk, to route it): keep it
    and try again later."""


class TemporalUnavailable(Unavailable):
    """Temporal cannot take the event now (unreachable, overloaded): keep it and try later."""


class OutboxEvent(BaseModel):
    """A queued event: the webhook body as received (event id fixed) and where it goes."""

    id: int
    received: datetime
    source: str
    workflow_id: str | None  # None until routed: a DFØ decision queued while TOPdesk was away
    category: str | None  # the TOPdesk category that routed it; None for the portal's resignation
    case_number: str | None  # the TOPdesk case it names; None for the portal's resignation
    body: str
    attempts: int
    last_error: str | None


class Outbox:
    """The events in order of arrival, in one SQLite file (`workers/event_store.py`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.store = EventStore(path, _migrate)
        self._empty_at: bytes | None = None  # the store's version when last found empty

    def add(
        self,
        source: str,
        workflow_id: str | None,
        category: str | None,
        body: str,
        case_number: str | None = None,
    ) -> int:
        with self.store.connection() as db:
            cursor = db.execute(
                "insert into outbox (received, source, workflow_id, category, case_number, body)"
                " values (?, ?, ?, ?, ?, ?)",
                (datetime.now(UTC).isoformat(), source, workflow_id, category, case_number, body),
            )
            return int(cursor.lastrowid or 0)

    def first(self) -> OutboxEvent | None:
        """The oldest event, the next to hand on."""
        before = self.store.version()
        events = self._select("order by id limit 1")
        if not events:
            self._found_empty(before)
        return events[0] if events else None

    def events(self) -> list[OutboxEvent]:
        return self._select("order by id")

    def holds(self, workflow_id: str | None, case_number: str | None = None) -> bool:
        """Whether an event for this workflow, or of this case (routed or not), still waits: a
        later one must queue behind it."""
        before = self.store.version()
        with self.store.connection() as db:
            held, empty = db.execute(
                "select exists (select 1 from outbox where workflow_id = ? or case_number = ?),"
                " not exists (select 1 from outbox)",
                (workflow_id, case_number),
            ).fetchone()
        if empty:
            self._found_empty(before)
        return bool(held)

    def _found_empty(self, before: bytes) -> None:
        """Remember the version a query found the outbox empty at: read before the query, so
        that a commit after it counts as a change, and kept only if the file reads the same
        after it (a process that died mid-commit leaves a header that the query's rollback of
        its journal puts back; that header must not be taken for the empty outbox's)."""
        if self.store.version() == before:
            self._empty_at = before

    def known_empty(self) -> bool:
        """Whether nothing waits, known without a query: the file is as it was when a query
        last found the outbox empty (read before that query, so a commit after it counts).
        The intake asks this on its event loop of every webhook and asks `holds` on a store
        thread only when it says no: a thread's hand-off cost a busy intake a fifth of its CPU
        a webhook (`bench/intake_load.py`)."""
        return self._empty_at is not None and self._empty_at == self.store.version()

    def routed(self, event_id: int, workflow_id: str, category: str | None) -> None:
        """Keep where routing sent an event that waited unrouted: a later event for the same
        workflow then finds it, and a second try needs no TOPdesk read."""
        with self.store.connection() as db:
            db.execute(
                "update outbox set workflow_id = ?, category = ? where id = ?",
                (workflow_id, category, event_id),
            )

    def waiting(self) -> dict[str, int]:
        """How many events wait, by what they wait for: routed ones for Temporal, unrouted ones
        for TOPdesk (the intake's `/metrics`)."""
        with self.store.connection() as db:
            rows = db.execute(
                "select workflow_id is null, count(*) from outbox group by workflow_id is null"
            ).fetchall()
        counts = {"temporal": 0, "topdesk": 0}
        for unrouted, count in rows:
            counts["topdesk" if unrouted else "temporal"] = int(count)
        return counts

    def remove(self, event_id: int) -> None:
        with self.store.connection() as db:
            db.execute("delete from outbox where id = ?", (event_id,))

    def failed(self, event_id: int, error: str) -> None:
        """Count a hand-on that failed, with why: `saksflyt outbox list` shows both."""
        with self.store.connection() as db:
            db.execute(
                "update outbox set attempts = attempts + 1, last_error = ? where id = ?",
                (error, event_id),
            )

    def _select(self, tail: str) -> list[OutboxEvent]:
        return self.store.select(OutboxEvent, f"select {_COLUMNS} from outbox {tail}")


def _migrate(db: sqlite3.Connection) -> None:
    """Create the table, or rebuild one of the first schema into this one."""
    columns = {row[1] for row in db.execute("pragma table_info(outbox)")}
    old = bool(columns) and "case_number" not in columns
    for statement in (_MIGRATE.format(schema=_SCHEMA) if old else _SCHEMA).split(";"):
        if statement.strip():
            db.execute(statement)

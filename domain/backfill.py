"""Backfill rules: which TOPdesk cases a poll looks at, and which webhook each one should have
sent. Pure functions of their arguments; the workflow and its activities call them.

Rules:
- The window. A run looks at cases modified since `window_start`: the moment the previous run
  listed, less an overlap (commit lag, clock skew between TOPdesk and the worker); a first run
  looks back one interval and the overlap from its scheduled start. A case in two windows is sent
  twice, which the intake's deduplication absorbs; a case in none would be lost.
- The hints (`hints_for`). TOPdesk's action sequences fire on "case created" and on "caller
  replied / case reopened", so those are the only events a lost webhook can have been:
  - an open case created in the window → `incident_created` (starts it; a running or finished
    workflow is left alone by the intake);
  - a case whose status says the caller wrote last ("Oppdatert av bruker", "Gjenåpnet av
    bruker") and whose caller wrote in the window → `caller_replied` / `reopened`, dated by the
    caller's own entry in the progress trail. The webhook TOPdesk sent for that reply carried the
    case's modification date of that moment, which is the entry's date; so the intake's event key
    (number/event/modificationDate) is the same for both, and the workflow ignores the repeat.
    Dating by the case's latest modification instead would make every later note saksflyt writes
    look like a new reply, and ask the caller again.
  - anything else (a case saksflyt or a case handler changed) → nothing: no webhook was due.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

from domain.cases import TopdeskStatus

BackfillEvent = Literal["incident_created", "caller_replied", "reopened"]

# The event TOPdesk's action sequence sends when the caller has written last, by the status the
# case then has (the service centre's status names, seed 000).
REPLY_EVENT: dict[str, BackfillEvent] = {
    TopdeskStatus.UPDATED_BY_CALLER: "caller_replied",
    TopdeskStatus.REOPENED_BY_CALLER: "reopened",
}

EVERY = timedelta(minutes=15)
OVERLAP = timedelta(minutes=5)


class BackfillInput(BaseModel):
    """What the schedule starts every run with; the same every time (a Schedule's input is
    static), so the window comes from the previous run's result (`window_start`)."""

    # The categories the intake routes (workers/routing.py): cases of any other category would
    # only be quarantined, every run, so they are not asked for.
    categories: list[str] = Field(min_length=1)
    every: timedelta = EVERY  # the schedule's interval: how far back a first run looks
    overlap: timedelta = OVERLAP
    page_size: int = Field(default=100, ge=1, le=10000)
    # A run by hand (or a test) from this moment, taken as it is; never set by the schedule.
    since: AwareDatetime | None = None


class CaseWindow(BaseModel):
    """What one run asks TOPdesk for."""

    since: AwareDatetime
    categories: list[str]
    page_size: int = 100


class ListedCase(BaseModel):
    """What the hints are decided on, of one case TOPdesk listed."""

    number: str
    status: str | None
    open: bool  # neither completed nor closed
    created: AwareDatetime | None
    modified: AwareDatetime
    # The newest progress-trail entry the caller wrote; read only when the status says the
    # caller wrote last.
    caller_wrote: AwareDatetime | None = None


class Hint(BaseModel):
    """One webhook as TOPdesk would have sent it."""

    number: str
    event: BackfillEvent
    modification_date: str | None = None  # TOPdesk's date format, as its webhook body has it

    def body(self) -> dict[str, str]:
        """The webhook body: the fields of the action sequence's template (the id is not
        needed: the intake reads the case by number)."""
        body = {"number": self.number, "event": self.event}
        if self.modification_date is not None:
            body["modificationDate"] = self.modification_date
        return body


class FoundCases(BaseModel):
    listed_at: AwareDatetime  # taken before TOPdesk was asked: the next window starts here
    listed: int
    hints: list[Hint]


class Sent(BaseModel):
    """One hint as the intake took it: its action, or why it refused the hint for good."""

    number: str
    event: BackfillEvent
    modification_date: str | None = None
    action: str | None = None
    refused: str | None = None


class BackfillResult(BaseModel):
    """What a run did; the schedule hands it to the next run, which starts from `listed_at`."""

    since: AwareDatetime
    listed_at: AwareDatetime
    listed: int
    sent: list[Sent]


def window_start(
    input: BackfillInput, previous: BackfillResult | None, scheduled: datetime
) -> datetime:
    """Where this run's window starts: a given `since`; else where the previous run listed,
    less the overlap; else one interval and the overlap before the run's scheduled start."""
    if input.since is not None:
        return input.since
    if previous is not None:
        return previous.listed_at - input.overlap
    return scheduled - input.every - input.overlap


def fiql_date(moment: datetime) -> str:
    """A FIQL date, `yyyy-MM-ddTHH:mm:ssZ` (topdesk-api.md §6.2): whole seconds, rounded down,
    so the query can only ask for more than the window; the activity cuts the rest."""
    return f"{moment.astimezone(UTC):%Y-%m-%dT%H:%M:%S}Z"


def topdesk_date(moment: datetime) -> str:
    """TOPdesk's default date format, `2026-11-23T19:10:00.000+0000` (§6.2), which its webhook
    bodies carry."""
    moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}+0000"


def fiql_quote(value: str) -> str:
    """A FIQL string value in quotes: a backslash escapes the quote and itself (§6.4)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def modified_since_query(since: datetime, categories: list[str]) -> str:
    """Cases modified since `since`, of these categories."""
    names = ",".join(fiql_quote(category) for category in categories)
    return f"modificationDate=ge={fiql_date(since)};category.name=in=({names})"


def hints_for(case: ListedCase, since: datetime) -> list[Hint]:
    """The webhooks TOPdesk would have sent for this case in the window, oldest first."""
    hints = []
    if case.open and case.created is not None and case.created >= since:
        hints.append(Hint(number=case.number, event="incident_created"))
    event = REPLY_EVENT.get(case.status or "")
    wrote = case.caller_wrote or case.modified
    if event is not None and wrote >= since:
        hints.append(Hint(number=case.number, event=event, modification_date=topdesk_date(wrote)))
    return hints

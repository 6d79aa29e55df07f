"""The SLA clock: how long the service centre has had a case, in Norwegian working days.

Seed 000 (ch. 6) sets no processing-time targets "for lack of a reporting tool"; saksflyt is that
tool, so the targets are settings (`Settings.sla_targets`), each process's default in its entry
of `domain/processes.py`. The clock runs while the case is the centre's to move and pauses while
it waits for the caller: a form sent back for a missing bank account is not the centre's delay.
It stops when the case is done.

A target has two marks: *due*, when the case handler is told, and *expires*, when the case climbs
the escalation ladder. Neither is stored: a case is overdue when its clock, read now, has passed
the mark, so changing a target applies to every open case at once. Workflows keep only the clock,
as two search attributes, so that visibility can find overdue cases: `SlaClockStart`, the moment
the clock would have started had it never paused (unset while paused), and `SlaElapsed`, its
reading at the last state change.

A working day counts whole (24 hours, Oslo time), so a case received on Friday afternoon and
answered on Monday morning has been with the centre for well under a day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from pydantic import BaseModel

from domain.calendar_day import OSLO
from domain.payroll_calendar import is_working_day

# The wait states below are domain.cases.WaitState values by name, because domain.cases keeps an
# SlaClock in every case's progress and imports this module.

_ONE_DAY = timedelta(days=1)
# No case lives longer than this; it bounds the walks below should a date be absurd.
_LONGEST_WALK_DAYS = 3660


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=OSLO).astimezone(UTC)


def _day_length(day: date) -> timedelta:
    """23, 24 or 25 hours: Oslo's days around the summer-time changes are not all 24 hours."""
    return _midnight(day + _ONE_DAY) - _midnight(day)


def business_days_between(start: datetime, end: datetime) -> float:
    """How much of [start, end) falls on working days, in days; 0 when `end` is not after."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        return 0.0
    total = 0.0
    day = start.astimezone(OSLO).date()
    last = end.astimezone(OSLO).date()
    while day <= last:
        if is_working_day(day):
            lo = max(start, _midnight(day))
            hi = min(end, _midnight(day + _ONE_DAY))
            total += (hi - lo) / _day_length(day)
        day += _ONE_DAY
    return total


def add_business_days(start: datetime, days: float) -> datetime:
    """The moment `days` working days after `start` (before it when negative): the inverse of
    `business_days_between`, so `business_days_between(start, add_business_days(start, d)) == d`."""
    start = start.astimezone(UTC)
    if days == 0:
        return start  # no time to add: not even to the next working day
    forward = days >= 0
    left = abs(days)
    day = start.astimezone(OSLO).date()
    for _ in range(_LONGEST_WALK_DAYS):
        lo, hi = _midnight(day), _midnight(day + _ONE_DAY)
        if forward:
            lo = max(lo, start)
        else:
            hi = min(hi, start)
        if is_working_day(day) and hi > lo:
            available = (hi - lo) / _day_length(day)
            if left <= available:
                step = _day_length(day) * left
                return lo + step if forward else hi - step
            left -= available
        day += _ONE_DAY if forward else -_ONE_DAY
    raise ValueError(f"{days} working days from {start} is beyond any case's life")


class SlaClock(BaseModel):
    """The case's time with the centre. Running: `started` is the virtual start; paused:
    `started` is None and `elapsed` is the frozen reading."""

    started: datetime | None = None
    elapsed: float = 0.0

    @classmethod
    def from_attributes(cls, started: datetime | None, elapsed: float | None) -> SlaClock | None:
        """The clock as visibility shows it; None for a workflow that never had one."""
        if started is None and elapsed is None:
            return None
        return cls(started=started, elapsed=elapsed or 0.0)

    @property
    def paused(self) -> bool:
        return self.started is None

    def elapsed_at(self, now: datetime) -> float:
        if self.started is None:
            return self.elapsed
        return business_days_between(self.started, now)

    def pause(self, now: datetime) -> SlaClock:
        if self.started is None:
            return self
        return SlaClock(started=None, elapsed=self.elapsed_at(now))

    def resume(self, now: datetime) -> SlaClock:
        if self.started is not None:
            return self.model_copy(update={"elapsed": self.elapsed_at(now)})
        return SlaClock(started=add_business_days(now, -self.elapsed), elapsed=self.elapsed)


# The clock pauses while the case waits for its caller and stops in `done`; a parent whose final
# settlement (a child workflow with a clock of its own) carries the case stops its own clock too.
# It runs in every other state.
PAUSED_IN = frozenset({"awaiting_caller", "handed_over", "done"})


def clock_in(state: str, clock: SlaClock, now: datetime) -> SlaClock:
    """The clock as it must be once the case has entered `state`."""
    return clock.pause(now) if state in PAUSED_IN else clock.resume(now)


class SlaTarget(BaseModel):
    """A process's target, in working days on the clock."""

    due_days: float
    expires_days: float


class SlaStanding(StrEnum):
    ON_TIME = "on_time"
    DUE = "due"  # the handler is told
    EXPIRED = "expired"  # the case escalates


def standing(clock: SlaClock, target: SlaTarget, now: datetime) -> SlaStanding:
    elapsed = clock.elapsed_at(now)
    if elapsed >= target.expires_days:
        return SlaStanding.EXPIRED
    if elapsed >= target.due_days:
        return SlaStanding.DUE
    return SlaStanding.ON_TIME


def due_at(clock: SlaClock, target: SlaTarget) -> datetime | None:
    """When the clock reaches the due mark; None while it is paused (the date moves)."""
    return add_business_days(clock.started, target.due_days) if clock.started else None


def expires_at(clock: SlaClock, target: SlaTarget) -> datetime | None:
    return add_business_days(clock.started, target.expires_days) if clock.started else None


# How long a case may stay in a wait state before the radar calls it stuck, in working days.
# States that wait for a date of their own (on hold until the resume date, the payroll run, the
# caller's last day to answer, or the summer's end: `domain/summer.py`) count from that date
# (`DueDate`): they are stuck only when the date has passed and the case has not moved. The
# others count from when the state was entered (`WaitingSince`).
DEFAULT_WAIT_LIMITS: dict[str, float] = {
    "working": 2,
    "awaiting_caller": 2,
    "awaiting_approval": 5,
    "on_hold": 2,
    "awaiting_payroll": 2,
    "needs_operator": 1,
}
COUNTED_FROM_DUE = frozenset({"on_hold", "awaiting_payroll", "awaiting_caller"})


def wait_reference(state: str, since: datetime, due: datetime | None) -> datetime:
    """Where a wait's limit counts from: its own date for the states that wait for one."""
    if state in COUNTED_FROM_DUE and due is not None:
        return due
    return since


def waited(state: str, since: datetime, due: datetime | None, now: datetime) -> float:
    """Working days a case has been in `state` past where its limit counts from."""
    return business_days_between(wait_reference(state, since, due), now)

"""The process owners' KPIs, computed from case timelines: pure, so a test can check them by hand.

A case's timeline is what its workflow history records at every state change (the `WaitState`
and `WaitingSince` search attributes): one segment per wait state, from when the case entered it
to when it left. `workers/report.py` reads the timelines from Temporal; this module only counts.

All durations are in Norwegian working days (`domain.sla.business_days_between`), the unit the
SLA targets are set in. The median is the usual one (the mean of the two middle values of an even
count); the 90th percentile is the nearest rank (the smallest value with at least 90 % of the
values at or below it), so every reported p90 is a duration some case really had.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar

from pydantic import BaseModel

from domain.cases import OSLO, WaitState
from domain.sla import (
    PAUSED_IN,
    SlaClock,
    SlaStanding,
    SlaTarget,
    business_days_between,
    standing,
)

UNKNOWN_UNIT = "ukjent"

K = TypeVar("K", str, WaitState)


class Segment(BaseModel):
    """The case stood in `state` over [start, end)."""

    state: WaitState
    start: datetime
    end: datetime


class CaseTimeline(BaseModel):
    """One case as the report sees it. `closed` is None while the case runs; the last segment
    of a running case then ends when the timeline was read."""

    workflow_id: str
    process: str
    unit: str = UNKNOWN_UNIT
    opened: datetime
    closed: datetime | None = None
    segments: list[Segment] = []


class Window(BaseModel):
    """The report's period: whole Oslo days from `first` to `last`, both included."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time.min, tzinfo=OSLO).astimezone(UTC)

    @property
    def end(self) -> datetime:
        """The first instant after the window (midnight after `last`)."""
        after = self.last + timedelta(days=1)
        return datetime.combine(after, time.min, tzinfo=OSLO).astimezone(UTC)

    def holds(self, moment: datetime | None) -> bool:
        return moment is not None and self.start <= moment < self.end


class Spread(BaseModel):
    """How a set of durations spreads: how many, their median and their 90th percentile."""

    count: int
    median: float
    p90: float


class Flow(BaseModel):
    """Cases of a process opened and closed in the window."""

    opened: int = 0
    closed: int = 0


class Compliance(BaseModel):
    """Closed cases of a unit by where their SLA clock stood when they closed."""

    closed: int = 0
    on_time: int = 0
    due: int = 0  # past the due mark, within expiry
    expired: int = 0

    @property
    def within_share(self) -> float:
        """The share that closed before the target expired (on time or only due)."""
        return (self.on_time + self.due) / self.closed if self.closed else 0.0

    @property
    def due_share(self) -> float:
        """The share that passed the due mark (and the handler was told), expired or not."""
        return (self.due + self.expired) / self.closed if self.closed else 0.0


class KpiReport(BaseModel):
    """Everything the report page shows, keyed by process, state or unit (sorted)."""

    window: Window
    flow: dict[str, Flow]
    cycle_time: dict[str, Spread]
    time_in_state: dict[str, dict[WaitState, Spread]]
    time_in_state_overall: dict[WaitState, Spread]
    compliance: dict[str, Compliance]
    backlog: dict[str, dict[WaitState, int]]


def spread(values: Iterable[float]) -> Spread | None:
    """Median and nearest-rank p90 of `values`; None when there are none."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = math.ceil(0.9 * len(ordered))
    return Spread(count=len(ordered), median=statistics.median(ordered), p90=ordered[rank - 1])


def closed_in(timelines: Iterable[CaseTimeline], window: Window) -> list[CaseTimeline]:
    """The cases whose journey ended in the window: the ones whose durations are complete."""
    return [timeline for timeline in timelines if window.holds(timeline.closed)]


def flow(timelines: Iterable[CaseTimeline], window: Window) -> dict[str, Flow]:
    """Per process, the cases opened and the cases closed in the window."""
    counts: dict[str, Flow] = defaultdict(Flow)
    for timeline in timelines:
        if window.holds(timeline.opened):
            counts[timeline.process].opened += 1
        if window.holds(timeline.closed):
            counts[timeline.process].closed += 1
    return dict(sorted(counts.items()))


def cycle_time(timeline: CaseTimeline) -> float:
    """Working days from the case's start to its close (0 while it runs)."""
    if timeline.closed is None:
        return 0.0
    return business_days_between(timeline.opened, timeline.closed)


def cycle_times(timelines: Iterable[CaseTimeline], window: Window) -> dict[str, Spread]:
    """Per process, the spread of cycle times of the cases closed in the window."""
    per_process: dict[str, list[float]] = defaultdict(list)
    for timeline in closed_in(timelines, window):
        per_process[timeline.process].append(cycle_time(timeline))
    return _spreads(per_process)


def time_per_state(timeline: CaseTimeline) -> dict[WaitState, float]:
    """Working days the case spent in each state it entered, all visits added up (`done` is
    the end, not a wait)."""
    totals: dict[WaitState, float] = defaultdict(float)
    for segment in timeline.segments:
        if segment.state is not WaitState.DONE:
            totals[segment.state] += business_days_between(segment.start, segment.end)
    return dict(totals)


def time_in_state(
    timelines: Iterable[CaseTimeline], window: Window
) -> dict[str, dict[WaitState, Spread]]:
    """Per process and state, the spread over the cases closed in the window that entered the
    state of the time each spent in it."""
    per_process: dict[str, dict[WaitState, list[float]]] = defaultdict(lambda: defaultdict(list))
    for timeline in closed_in(timelines, window):
        for state, days in time_per_state(timeline).items():
            per_process[timeline.process][state].append(days)
    return {process: _spreads(states) for process, states in sorted(per_process.items())}


def time_in_state_overall(
    timelines: Iterable[CaseTimeline], window: Window
) -> dict[WaitState, Spread]:
    """As `time_in_state`, over every process at once."""
    per_state: dict[WaitState, list[float]] = defaultdict(list)
    for timeline in closed_in(timelines, window):
        for state, days in time_per_state(timeline).items():
            per_state[state].append(days)
    return _spreads(per_state)


def sla_elapsed(timeline: CaseTimeline) -> float:
    """The case's SLA clock rebuilt from its timeline: it runs in every state but the ones it
    pauses or stops in (`domain.sla.PAUSED_IN`)."""
    return sum(
        business_days_between(segment.start, segment.end)
        for segment in timeline.segments
        if segment.state.value not in PAUSED_IN
    )


def sla_standing(timeline: CaseTimeline, target: SlaTarget) -> SlaStanding:
    """Where the clock stood at the end, by the same rule the workflows and the radar use."""
    clock = SlaClock(started=None, elapsed=sla_elapsed(timeline))
    return standing(clock, target, timeline.closed or timeline.opened)


def compliance(
    timelines: Iterable[CaseTimeline], targets: Mapping[str, SlaTarget], window: Window
) -> dict[str, Compliance]:
    """Per unit, the cases closed in the window by their SLA standing at close. A process
    without a target has nothing to comply with and is left out."""
    per_unit: dict[str, Compliance] = defaultdict(Compliance)
    for timeline in closed_in(timelines, window):
        target = targets.get(timeline.process)
        if target is None:
            continue
        row = per_unit[timeline.unit]
        row.closed += 1
        match sla_standing(timeline, target):
            case SlaStanding.ON_TIME:
                row.on_time += 1
            case SlaStanding.DUE:
                row.due += 1
            case SlaStanding.EXPIRED:
                row.expired += 1
    return dict(sorted(per_unit.items()))


def backlog(open_cases: Iterable[tuple[str, WaitState]]) -> dict[str, dict[WaitState, int]]:
    """Open cases counted by process and the state each waits in now."""
    counts = Counter(open_cases)
    table: dict[str, dict[WaitState, int]] = defaultdict(dict)
    for (process, state), count in sorted(counts.items(), key=lambda item: _order(item[0])):
        table[process][state] = count
    return dict(table)


def kpi_report(
    timelines: list[CaseTimeline],
    open_cases: Iterable[tuple[str, WaitState]],
    targets: Mapping[str, SlaTarget],
    window: Window,
) -> KpiReport:
    """Every KPI of the report, from the timelines of the cases opened or closed in the window
    and the (process, state) of each case open now."""
    return KpiReport(
        window=window,
        flow=flow(timelines, window),
        cycle_time=cycle_times(timelines, window),
        time_in_state=time_in_state(timelines, window),
        time_in_state_overall=time_in_state_overall(timelines, window),
        compliance=compliance(timelines, targets, window),
        backlog=backlog(open_cases),
    )


def _spreads(values: Mapping[K, list[float]]) -> dict[K, Spread]:
    result: dict[K, Spread] = {}
    for key in sorted(values, key=_order):
        summary = spread(values[key])
        if summary is not None:
            result[key] = summary
    return result


_STATE_ORDER = {state: index for index, state in enumerate(WaitState)}


def _order(key: str | WaitState | tuple[str, WaitState]) -> tuple[str, int]:
    """Processes (and units) alphabetically, states in the order a case meets them."""
    if isinstance(key, tuple):
        return (key[0], _STATE_ORDER[key[1]])
    if isinstance(key, WaitState):
        return ("", _STATE_ORDER[key])
    return (key, 0)

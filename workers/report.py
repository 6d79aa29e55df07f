"""The KPI report for process owners: one HTML page with PNG plots, read from Temporal alone.

The service agreement (seed 000, ch. 6) set no processing-time targets "for lack of a reporting
tool". Temporal already keeps everything the report needs: visibility lists the cases, and each
workflow's history holds its timeline, because every state change upserts `WaitState` and
`WaitingSince` (workflows/search_attributes.py). So there is no second database to keep in step.
The counting is `domain/kpi.py`; this module reads the timelines, `report_plots.py` draws the
plots and `report_page.py` writes the page.

The page is plain HTML with its plots beside it as PNG files: nothing is fetched when it is
opened, so it can be mailed as a folder or put on a share.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHistory
from temporalio.common import TypedSearchAttributes

from domain.cases import WaitState
from domain.kpi import UNKNOWN_UNIT, CaseTimeline, Segment, Window, kpi_report
from workers.case_index import CaseRow, list_cases, open_query, upserted
from workers.report_page import render_html
from workers.report_plots import draw_plots
from workers.settings import Settings
from workflows import search_attributes as sa

_CLOSE_EVENTS = frozenset(
    {
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
    }
)
# Histories fetched at once: enough to be quick, few enough not to crowd the frontend.
_FETCH_AT_ONCE = 10


async def write_report(
    client: Client, start: date, end: date, out_dir: Path, settings: Settings
) -> Path:
    """Write `out_dir/index.html` and its plots for the days `start`..`end` (both included)
    and return the page's path."""
    window = Window(first=start, last=end)
    now = datetime.now(UTC)
    timelines = await read_timelines(client, window, now)
    open_cases = await read_backlog(client)
    report = kpi_report(timelines, open_cases, settings.sla_targets, window)
    out_dir.mkdir(parents=True, exist_ok=True)
    plots = draw_plots(report, out_dir)
    page = out_dir / "index.html"
    page.write_text(render_html(report, plots, settings.sla_targets, now), encoding="utf-8")
    return page


def window_query(window: Window) -> str:
    """Visibility SQL for the workflows opened or closed in the window."""
    start, end = (
        moment.isoformat().replace("+00:00", "Z") for moment in (window.start, window.end)
    )
    return (
        f"((StartTime >= '{start}' AND StartTime < '{end}')"
        f" OR (CloseTime >= '{start}' AND CloseTime < '{end}'))"
    )


async def read_timelines(client: Client, window: Window, now: datetime) -> list[CaseTimeline]:
    """The timeline of every case opened or closed in the window, from its history."""
    rows = await list_cases(client, window_query(window))
    limit = asyncio.Semaphore(_FETCH_AT_ONCE)

    async def read(row: CaseRow) -> CaseTimeline | None:
        async with limit:
            handle = client.get_workflow_handle(row.workflow_id, run_id=row.run_id)
            return timeline_from_history(await handle.fetch_history(), now)

    found = await asyncio.gather(*(read(row) for row in rows))
    return [timeline for timeline in found if timeline is not None]


async def read_backlog(client: Client) -> list[tuple[str, WaitState]]:
    """(process, state) of every case open now, as visibility shows it."""
    rows = await list_cases(client, open_query())
    known = {state.value for state in WaitState}
    return [(row.process, WaitState(row.state)) for row in rows if row.state in known]


def timeline_from_history(history: WorkflowHistory, now: datetime) -> CaseTimeline | None:
    """A case's timeline from its workflow history: a segment per wait state, from each
    upsert of `WaitState` (at its `WaitingSince`) to the next, the last one ending when the
    workflow closed (or at `now` while it runs). None for a workflow that is not a case (it
    never set `Process`)."""
    events = list(history.events)
    opened = events[0].event_time.ToDatetime(tzinfo=UTC)
    closed = _closed_at(events)
    process: str | None = None
    unit: str | None = None
    entered: list[tuple[WaitState, datetime]] = []
    for event in events:
        attributes = _search_attributes(event)
        if attributes is None:
            continue
        process = process or attributes.get(sa.PROCESS)
        unit = attributes.get(sa.UNIT) or unit
        state = attributes.get(sa.WAIT_STATE)
        if state is None:
            continue
        since = attributes.get(sa.WAITING_SINCE) or event.event_time.ToDatetime(tzinfo=UTC)
        step = (WaitState(state), since)
        if not entered or entered[-1] != step:
            entered.append(step)
    if process is None:
        return None
    ends = [since for _, since in entered[1:]] + [closed or now]
    segments = [
        Segment(state=state, start=since, end=max(since, end))
        for (state, since), end in zip(entered, ends, strict=True)
    ]
    return CaseTimeline(
        workflow_id=history.workflow_id,
        process=process,
        unit=unit or UNKNOWN_UNIT,
        opened=opened,
        closed=closed,
        segments=segments,
    )


def _search_attributes(event: HistoryEvent) -> TypedSearchAttributes | None:
    """The search attributes an event sets: the start's and each upsert's; None for others."""
    if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
        return upserted(event.workflow_execution_started_event_attributes.search_attributes)[0]
    if event.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
        attributes = event.upsert_workflow_search_attributes_event_attributes
        return upserted(attributes.search_attributes)[0]
    return None


def _closed_at(events: Sequence[HistoryEvent]) -> datetime | None:
    last = events[-1]
    if last.event_type in _CLOSE_EVENTS:
        return last.event_time.ToDatetime(tzinfo=UTC)
    return None

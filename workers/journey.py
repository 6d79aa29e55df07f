"""One case's journey for `saksflyt case`: every workflow run of the case, told from its history.

Each run's history is read event by event into steps (state changes, activities, timers, signals
with their sender, children, the end), and the running workflow is asked where it waits now.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table
from temporalio.api.enums.v1 import EventType
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter

from domain import processes
from domain.cases import OSLO, STATE_TEXT, CaseProgress, OperatorAction, WaitState
from workers.case_index import CaseRow, list_cases, upserted
from workers.cases import OPERATOR_ACTION, CaseLine, line_of, local, standing_text, state_text
from workers.settings import Settings
from workflows import search_attributes as sa

QUERY_TIMEOUT = timedelta(seconds=5)
CASE_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


class Step(BaseModel):
    """One thing that happened to the case, from its workflow's history."""

    time: datetime
    kind: str  # started, state, escalation, activity, timer, signal, cancel, child, ended
    text: str
    identity: str | None = None  # who sent a signal or a cancel request
    operator: str | None = None  # operator_action: the person ...
    reason: str | None = None  # ... and why
    state: str | None = None  # a state change: the state entered, as `WaitState` spells it


class RunJourney(BaseModel):
    """One workflow run of the case (a case may have several: a resignation and its final
    settlement, or a run started again by `saksflyt bulk retry`)."""

    case: CaseLine
    workflow_type: str
    summary: str | None
    steps: list[Step]
    progress: CaseProgress | None  # the running workflow's own answer; None when closed
    progress_error: str | None = None


class Journey(BaseModel):
    case_number: str
    runs: list[RunJourney]


def case_number_query(case_number: str) -> str:
    """The visibility query of one case; the number is checked so that it cannot change the
    query's meaning."""
    if CASE_NUMBER.fullmatch(case_number) is None:
        raise ValueError(f"not a case number: {case_number!r}")
    return f"CaseNumber='{case_number}'"


async def case_journey(
    client: Client, settings: Settings, case_number: str, now: datetime
) -> Journey:
    """Every workflow of the case, oldest first, each with its steps and where it waits now."""
    rows = await list_cases(client, case_number_query(case_number))
    runs = [await _run_journey(client, settings, row, now) for row in reversed(rows)]
    return Journey(case_number=case_number, runs=runs)


async def _run_journey(
    client: Client, settings: Settings, row: CaseRow, now: datetime
) -> RunJourney:
    handle = client.get_workflow_handle(row.workflow_id, run_id=row.run_id)
    history = await handle.fetch_history()
    summary = await _summary(history, client.data_converter)
    progress, error = None, None
    if row.status == "RUNNING":
        try:
            progress = _shown(
                await handle.query("progress", result_type=CaseProgress, rpc_timeout=QUERY_TIMEOUT)
            )
        except Exception as failure:  # no worker, or an old workflow without the query
            error = str(failure) or type(failure).__name__
    return RunJourney(
        case=line_of(row, settings, now),
        workflow_type=row.workflow_type,
        summary=summary,
        steps=await journey_steps(history, client.data_converter),
        progress=progress,
        progress_error=error,
    )


async def _summary(history: WorkflowHistory, converter: DataConverter) -> str | None:
    first = history.events[0] if history.events else None
    if first is None or not first.user_metadata.HasField("summary"):
        return None
    return str(await _decode(converter, first.user_metadata.summary))


async def journey_steps(history: WorkflowHistory, converter: DataConverter) -> list[Step]:
    """The history told as steps: state changes (the search-attribute upserts), activities,
    timers, signals with their sender, cancel requests, children, and the end."""
    reader = _HistoryReader(converter)
    for event in history.events:
        await reader.read(event)
    return reader.steps


class _HistoryReader:
    """Reads events in order; remembers what later events refer back to (by event id)."""

    def __init__(self, converter: DataConverter) -> None:
        self.converter = converter
        self.steps: list[Step] = []
        self.names: dict[int, str] = {}  # scheduled/started event id -> what it was
        self.state: str | None = None
        self.due: datetime | None = None
        self.level = 0

    def add(self, event: HistoryEvent, kind: str, text: str, **fields: Any) -> None:
        self.steps.append(
            Step(time=event.event_time.ToDatetime(OSLO), kind=kind, text=text, **fields)
        )

    async def summary(self, event: HistoryEvent) -> str:
        if not event.user_metadata.HasField("summary"):
            return ""
        return str(await _decode(self.converter, event.user_metadata.summary))

    async def read(self, event: HistoryEvent) -> None:
        kind = event.event_type
        if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            started = event.workflow_execution_started_event_attributes
            parent = started.parent_workflow_execution.workflow_id
            by = f" as a child of {parent}" if parent else ""
            self.add(event, "started", f"{started.workflow_type.name} started{by}")
        elif kind == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            self.read_upsert(event)
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            scheduled = event.activity_task_scheduled_event_attributes
            name = scheduled.activity_type.name
            summary = await self.summary(event)
            self.names[event.event_id] = f"{name} ({summary})" if summary else name
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            done = event.activity_task_completed_event_attributes
            self.add(event, "activity", f"{self.names.get(done.scheduled_event_id, '?')}: done")
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
            failed = event.activity_task_failed_event_attributes
            what = self.names.get(failed.scheduled_event_id, "?")
            # the type, not the message: a system's refusal may quote the employee number
            self.add(event, "activity", f"{what}: failed: {_failure_kind(failed.failure)}")
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
            timed_out = event.activity_task_timed_out_event_attributes
            what = self.names.get(timed_out.scheduled_event_id, "?")
            self.add(event, "activity", f"{what}: timed out")
        elif kind == EventType.EVENT_TYPE_TIMER_STARTED:
            await self.read_timer(event)
        elif kind == EventType.EVENT_TYPE_TIMER_FIRED:
            fired = event.timer_fired_event_attributes
            self.add(event, "timer", f"timer fired: {self.names.get(fired.started_event_id, '')}")
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            await self.read_signal(event)
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED:
            requested = event.workflow_execution_cancel_requested_event_attributes
            self.add(event, "cancel", "cancel requested", identity=requested.identity or None)
        elif kind == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
            child = event.start_child_workflow_execution_initiated_event_attributes
            text = f"child {child.workflow_type.name} {child.workflow_id} started"
            self.add(event, "child", text)
        else:
            self.read_end(event)

    def read_upsert(self, event: HistoryEvent) -> None:
        upsert = event.upsert_workflow_search_attributes_event_attributes
        values, unset = upserted(upsert.search_attributes)
        state = values.get(sa.WAIT_STATE)
        due = None if sa.DUE_DATE.name in unset else values.get(sa.DUE_DATE) or self.due
        if state is not None and (state != self.state or due != self.due):
            self.state, self.due = state, due
            until = f", due {local(due)}" if due else ""
            self.add(event, "state", f"{state_text(state)}{until}", state=state)
        level = values.get(sa.ESCALATION_LEVEL)
        if level is not None and level != self.level:
            self.level = level
            self.add(event, "escalation", f"escalated to level {level}")

    async def read_timer(self, event: HistoryEvent) -> None:
        started = event.timer_started_event_attributes
        summary = await self.summary(event) or f"timer {started.timer_id}"
        fires = event.event_time.ToDatetime(OSLO) + started.start_to_fire_timeout.ToTimedelta()
        self.names[event.event_id] = summary
        self.add(event, "timer", f"{summary}: until {local(fires)}")

    async def read_signal(self, event: HistoryEvent) -> None:
        signal = event.workflow_execution_signaled_event_attributes
        identity = signal.identity or None
        if signal.signal_name != OPERATOR_ACTION or not signal.input.payloads:
            self.add(event, "signal", f"signal {signal.signal_name}", identity=identity)
            return
        action = await _decode(self.converter, signal.input.payloads[0], OperatorAction)
        text = f"operator_action {action.action} by {action.operator}: {action.reason}"
        self.add(
            event,
            "signal",
            text,
            identity=identity,
            operator=action.operator,
            reason=action.reason,
        )

    def read_end(self, event: HistoryEvent) -> None:
        kind = event.event_type
        if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
            self.add(event, "ended", "completed")
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
            # the type, as for an activity: the message is sealed, and may quote the case
            failure = event.workflow_execution_failed_event_attributes.failure
            self.add(event, "ended", f"failed: {_failure_kind(failure)}")
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
            self.add(event, "ended", "canceled")
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
            terminated = event.workflow_execution_terminated_event_attributes
            why = f": {terminated.reason}" if terminated.reason else ""
            self.add(event, "ended", f"terminated{why}", identity=terminated.identity or None)
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
            self.add(event, "ended", "timed out")
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            self.add(event, "ended", "continued as new")


async def _decode(converter: DataConverter, payload: Any, type_hint: Any = None) -> Any:
    [value] = await converter.decode([payload], [type_hint] if type_hint else None)
    return value


def print_journey(console: Console, journey: Journey) -> None:
    if not journey.runs:
        console.print(f"No workflow knows case {journey.case_number}.")
        return
    for run in journey.runs:
        line = run.case
        title = run.summary or f"{processes.label(line.process)} {line.case_number}"
        console.print(f"[bold]{escape(title)}[/]  {line.workflow_id} ({line.status.lower()})")
        # 80 columns hold the time and the kind whole; a step's text wraps, and a word too long
        # for what is left (a workflow id, a host name) is folded, never cut.
        table = Table(
            Column("time", no_wrap=True),
            Column("what", no_wrap=True),
            Column("step", overflow="fold"),
            box=box.SIMPLE_HEAD,
            show_edge=False,
        )
        for step in run.steps:
            table.add_row(local(step.time, seconds=True), step.kind, escape(_step_text(step)))
        console.print(table)
        console.print(_now_line(run))
        console.print()


def _step_text(step: Step) -> str:
    """The step with who sent it, unless its text already names them (an operator action)."""
    if step.identity and step.identity not in step.text:
        return f"{step.text} by {step.identity}"
    return step.text


def _shown(progress: CaseProgress) -> CaseProgress:
    """The progress as the journey shows it, in the table and in JSON alike: what the caller was
    asked may quote what they wrote (an employee number, say); the case in TOPdesk shows it."""
    if progress.state is WaitState.AWAITING_CALLER:
        return progress.model_copy(update={"detail": ""})
    return progress


def _now_line(run: RunJourney) -> str:
    line = run.case
    if line.status != "RUNNING":
        return f"Closed: {line.status.lower()}."
    if run.progress is not None:
        wait = f"Now: {STATE_TEXT[run.progress.state]} since {local(run.progress.since)}"
        if run.progress.detail:
            wait += f" ({run.progress.detail})"
    else:
        wait = f"Now: {state_text(line.state)} since {local(line.since)}"
        wait += f" (query failed: {run.progress_error})"
    deadlines = [f"due {local(line.due)}"] if line.due else []
    if line.sla_due:
        deadlines.append(f"SLA due {local(line.sla_due)}")
    if line.sla_expires:
        deadlines.append(f"SLA expires {local(line.sla_expires)}")
    nexts = "; ".join(deadlines) or "no deadline"
    return f"{escape(wait)}.\nNext: {nexts}. SLA: {standing_text(line.sla_standing) or 'paused'}."


def _failure_kind(failure: Failure) -> str:
    kind = (
        failure.application_failure_info.type
        if failure.HasField("application_failure_info")
        else ""
    )
    return kind or "error"

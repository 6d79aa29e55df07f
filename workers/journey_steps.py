"""A workflow run's history told as steps, for one case's journey (`journey.py`).

Temporal's history is a list of events that refer back to each other by id (an activity's
completion to its scheduling, a timer's firing to its start); reading it into steps a case
handler understands is a task of its own, and apart from the journey, which finds the case's runs,
asks the running one where it waits, and prints it all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from temporalio.api.enums.v1 import EventType
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter

from domain.cases import OSLO, OperatorAction
from workers.case_index import upserted
from workers.cases import OPERATOR_ACTION, local, state_text
from workflows import search_attributes as sa


class Step(BaseModel):
    """One thing that happened to the case, from its workflow's history."""

    time: datetime
    kind: str  # started, state, escalation, activity, timer, signal, cancel, child, ended
    text: str
    identity: str | None = None  # who sent a signal or a cancel request
    operator: str | None = None  # operator_action: the person ...
    reason: str | None = None  # ... and why
    state: str | None = None  # a state change: the state entered, as `WaitState` spells it


async def run_summary(history: WorkflowHistory, converter: DataConverter) -> str | None:
    """The summary the run was started with (Temporal UI's line for it), if any."""
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


def _failure_kind(failure: Failure) -> str:
    kind = (
        failure.application_failure_info.type
        if failure.HasField("application_failure_info")
        else ""
    )
    return kind or "error"

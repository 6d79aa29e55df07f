"""Operator actions on many cases at once: `saksflyt bulk signal|cancel|retry --query ...`.

Every action on a case is recorded in that case's own history before it is done: the signal
`operator_action` (who, what, why) comes first, then the action, from a client whose identity
names the operator. A single-case action is the same with `--query "CaseNumber='I..'"`.

A case waiting for an operator (`needs_operator`: a system refused a step for good) waits for
exactly this: `retry` runs the refused step again and `cancel` ends the case, both by the
`operator_action` signal alone (the case acts on it itself).

Each case is first looked at (`plan`), which reads and changes nothing; `--dry-run` stops
there. Whatever happens to one case, the others are still tried, and each gets its outcome.
"""

from __future__ import annotations

import getpass
import socket
import uuid
from collections.abc import Sequence
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel
from rich.markup import escape
from rich.table import Table
from temporalio.api.common.v1 import Payload, WorkflowExecution
from temporalio.api.workflowservice.v1 import ResetActivityRequest
from temporalio.client import (
    Client,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowHandle,
)
from temporalio.common import RawValue, WorkflowIDReusePolicy
from temporalio.service import RPCError, RPCStatusCode

from domain.cases import OperatorAction, WaitState
from workers.case_index import CaseRow, list_cases
from workers.cases import OPERATOR_ACTION
from workers.settings import Settings
from workers.temporal import connect
from workflows.search_attributes import WAIT_STATE

RESTARTABLE = (
    WorkflowExecutionStatus.FAILED,
    WorkflowExecutionStatus.TIMED_OUT,
    WorkflowExecutionStatus.TERMINATED,
)


class Action(StrEnum):
    SIGNAL = "signal"
    CANCEL = "cancel"
    RETRY = "retry"


class Request(BaseModel):
    """What the operator asked for, the same for every selected case."""

    action: Action
    reason: str
    operator: str
    signal_name: str | None = None  # signal: the signal to send
    signal_input: Any = None  # signal: its argument, as JSON

    def operator_action(self) -> OperatorAction:
        detail = self.signal_name if self.action is Action.SIGNAL else ""
        return OperatorAction(
            event_id=str(uuid.uuid4()),
            operator=self.operator,
            action=self.action.value,
            reason=self.reason,
            detail=detail or "",
        )


class Outcome(BaseModel):
    """What happened to one selected case. `planned` (a dry run) and `ok` say what is (or would
    be) done in `detail`; `skipped` says why not; `failed` carries the error."""

    workflow_id: str
    run_id: str | None
    case_number: str | None
    process: str
    status: str
    result: Literal["planned", "ok", "skipped", "failed"]
    detail: str


class _Plan(BaseModel):
    """What one case would get: `restart` a closed run, `reset` pending activities, or the
    plain action; `skip` says why nothing."""

    do: Literal["signal", "cancel", "restart", "reset", "operator", "skip"]
    detail: str
    activity_ids: list[str] = []


def default_operator() -> str:
    return f"{getpass.getuser()}@{socket.gethostname()}"


async def connect_as(settings: Settings, operator: str) -> Client:
    """A client whose identity names the operator: every signal, cancel request and start it
    makes carries it into the case's history."""
    return await connect(settings, identity=operator)


async def select(client: Client, query: str) -> list[CaseRow]:
    """The case workflows the operator's visibility query selects, newest first."""
    if not query.strip():
        raise ValueError("a query is required: an empty one would select every case")
    return await list_cases(client, query)


async def run_bulk(
    client: Client, rows: Sequence[CaseRow], request: Request, dry_run: bool
) -> list[Outcome]:
    """Each case in turn: look, and unless this is a dry run, record and act."""
    if not request.reason.strip():
        raise ValueError("a reason is required")
    outcomes = []
    for row in rows:
        try:
            plan = await _plan(client, row, request.action)
            if plan.do == "skip":
                outcome = _outcome(row, "skipped", plan.detail)
            elif dry_run:
                outcome = _outcome(row, "planned", plan.detail)
            else:
                outcome = _outcome(row, *await _act(client, row, request, plan))
        except Exception as error:  # one case's trouble must not stop the others
            outcome = _outcome(row, "failed", f"{type(error).__name__}: {error}")
        outcomes.append(outcome)
    return outcomes


def _outcome(row: CaseRow, result: Any, detail: str) -> Outcome:
    return Outcome(
        workflow_id=row.workflow_id,
        run_id=row.run_id,
        case_number=row.case_number,
        process=row.process,
        status=row.status,
        result=result,
        detail=detail,
    )


async def _plan(client: Client, row: CaseRow, action: Action) -> _Plan:
    """Decide from the run as the server has it now (visibility may lag a little)."""
    run = client.get_workflow_handle(row.workflow_id, run_id=row.run_id)
    described = await run.describe()
    status = described.status
    if _needs_operator(described) and action in (Action.RETRY, Action.CANCEL):
        # the case waits for this very decision: the operator_action is the retry or the end
        what = "run the refused step again" if action is Action.RETRY else "end the case"
        return _Plan(do="operator", detail=what)
    if action is Action.RETRY:
        return await _plan_retry(client, run, described)
    if status is not WorkflowExecutionStatus.RUNNING:
        return _Plan(do="skip", detail=f"not running ({_name(status)})")
    if action is Action.CANCEL and described.parent_id:
        # the parent's cancel reaches its child; a child cancelled alone fails its parent
        return _Plan(do="skip", detail=f"a child workflow: cancel its parent {described.parent_id}")
    if action is Action.SIGNAL:
        return _Plan(do="signal", detail="signal")
    return _Plan(do="cancel", detail="cancel")


def _needs_operator(described: WorkflowExecutionDescription) -> bool:
    """A running case waiting for an operator after a system refused a step for good."""
    state = described.typed_search_attributes.get(WAIT_STATE)
    running = described.status is WorkflowExecutionStatus.RUNNING
    return running and state == WaitState.NEEDS_OPERATOR.value


async def _plan_retry(
    client: Client, run: WorkflowHandle[Any, Any], described: WorkflowExecutionDescription
) -> _Plan:
    status = described.status
    if status is WorkflowExecutionStatus.RUNNING:
        return _plan_reset(described)
    if status not in RESTARTABLE:
        return _Plan(do="skip", detail=f"nothing to retry ({_name(status)})")
    latest = await client.get_workflow_handle(run.id).describe()
    if latest.run_id != run.run_id:
        return _Plan(do="skip", detail=f"a later run exists ({_name(latest.status)})")
    started = (await run.fetch_history()).events[0].workflow_execution_started_event_attributes
    if started.parent_workflow_execution.workflow_id:
        parent = started.parent_workflow_execution.workflow_id
        return _Plan(do="skip", detail=f"a child workflow: retry its parent {parent}")
    return _Plan(do="restart", detail=f"start again ({_name(status)} before)")


def _plan_reset(described: WorkflowExecutionDescription) -> _Plan:
    """A running case is retried by resetting the activities that have failed at least once
    and wait for their next attempt, so that they try again now."""
    pending = described.raw_description.pending_activities
    waiting = [a for a in pending if a.attempt > 1 or a.HasField("last_failure")]
    if not waiting:
        return _Plan(do="skip", detail="nothing to retry")
    names = ", ".join(f"{a.activity_type.name} (attempt {a.attempt})" for a in waiting)
    return _Plan(
        do="reset", detail=f"retry now: {names}", activity_ids=[a.activity_id for a in waiting]
    )


Done = tuple[Literal["ok", "skipped"], str]


async def _act(client: Client, row: CaseRow, request: Request, plan: _Plan) -> Done:
    """Record the operator's action in the case's history first, then do it."""
    run = client.get_workflow_handle(row.workflow_id, run_id=row.run_id)
    action = request.operator_action()
    if plan.do == "restart":
        new_run = await _restart(client, run, action)
        return "ok", f"started again as run {new_run}"
    await run.signal(OPERATOR_ACTION, action)
    if plan.do == "operator":
        return "ok", plan.detail
    if plan.do == "signal":
        assert request.signal_name is not None
        args = [] if request.signal_input is None else [request.signal_input]
        await run.signal(request.signal_name, args=args)
        return "ok", f"signalled {request.signal_name}"
    if plan.do == "cancel":
        await run.cancel()
        return "ok", "cancel requested"
    return await _reset_activities(client, run, plan, request.operator)


async def _restart(client: Client, run: WorkflowHandle[Any, Any], action: OperatorAction) -> str:
    """Start a closed run again: the same id, type, task queue and input (its raw payloads,
    opened by the codec, which the client seals again, so the input is exactly the first run's),
    with the operator's action as its first signal."""
    started = (await run.fetch_history()).events[0].workflow_execution_started_event_attributes
    payloads: Sequence[Payload] = started.input.payloads
    if client.data_converter.payload_codec is not None:
        payloads = await client.data_converter.payload_codec.decode(payloads)
    handle = await client.start_workflow(
        started.workflow_type.name,
        args=[RawValue(payload) for payload in payloads],
        id=run.id,
        task_queue=started.task_queue.name,
        # A run started by someone else since `_plan` looked would only get the signal
        # (signal-with-start takes no FAIL conflict policy): the planned check is the guard.
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        start_signal=OPERATOR_ACTION,
        start_signal_args=[action],
    )
    return handle.result_run_id or "?"


async def _reset_activities(
    client: Client, run: WorkflowHandle[Any, Any], plan: _Plan, operator: str
) -> Done:
    """ResetActivity (Temporal server 1.27 and later): attempts back to 1, next attempt now."""
    for activity_id in plan.activity_ids:
        try:
            await client.workflow_service.reset_activity(
                ResetActivityRequest(
                    namespace=client.namespace,
                    execution=WorkflowExecution(workflow_id=run.id, run_id=run.run_id or ""),
                    id=activity_id,
                    identity=operator,
                )
            )
        except RPCError as error:
            if error.status is RPCStatusCode.UNIMPLEMENTED:
                why = f"nothing to retry: the server cannot reset activities ({error.message})"
                return "skipped", why + "; the operator_action is recorded"
            raise
    return "ok", plan.detail


def _name(status: WorkflowExecutionStatus | None) -> str:
    return status.name if status is not None else "unknown"


def outcomes_table(outcomes: Sequence[Outcome], title: str) -> Table:
    table = Table("case", "process", "workflow", "status", "outcome", "detail", title=title)
    colours = {"ok": "green", "planned": "cyan", "skipped": "yellow", "failed": "red"}
    for outcome in outcomes:
        table.add_row(
            outcome.case_number or "",
            outcome.process,
            outcome.workflow_id,
            outcome.status.lower(),
            f"[{colours[outcome.result]}]{outcome.result}[/]",
            escape(outcome.detail),
        )
    return table

"""Delivery: one code path for a webhook, the outbox's drainer and a quarantine redrive.

Routing (`target_of`, `targets.py`) finds the case's process by its category: as a created
case's webhook names it, else as TOPdesk has it, read. `dispatch` starts or signals that
process's workflow, whose id is the business key, so a repeated "created" finds the running (or
finished) workflow instead of starting a second one. Each raises what the caller must decide on:
`Refused` (the quarantine), `CaseNotRunning` (a 404 while the sender waits), `TemporalUnavailable`
(the outbox) and TOPdesk's own errors (TOPdesk away).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from adapters.topdesk.models import Incident
from adapters.topdesk.port import TopdeskPort
from domain.cases import ApprovalDecision, CaseEvent, CaseTimings, case_summary
from domain.resignation import CATEGORY as RESIGNATION
from domain.resignation import ResignationInput
from workers.intake.came_back import came_back, waiting_for_approval
from workers.intake.models import (
    Accepted,
    DfoResignation,
    TopdeskWebhook,
    WebhookEvent,
    event_from,
    resignation_id,
)
from workers.intake.targets import Target, target_of
from workers.outbox import TemporalUnavailable
from workers.quarantine import QuarantinedEvent, Refused
from workers.routing import Route
from workflows.resignation import ResignationWorkflow

DuplicateAction = Literal["already_started", "case_finished"]


async def _route_topdesk(
    client: Client,
    task_queue: str,
    body: TopdeskWebhook,
    route: Route,
    workflow_id: str,
    timings: CaseTimings,
) -> Accepted:
    """Start the case's workflow, or signal it; never start a second one for the same case."""
    start = route.start_input(body.number, timings)
    case = _CaseStart(client, task_queue, route, workflow_id, body.number)
    if body.event == "incident_created":
        if start is None:  # a case saksflyt opened itself: its workflow runs already
            return Accepted(workflow_id=workflow_id, action=await _duplicate(client, workflow_id))
        try:
            await case.start(start)
        except WorkflowAlreadyStartedError:
            return Accepted(workflow_id=workflow_id, action=await _duplicate(client, workflow_id))
        return Accepted(workflow_id=workflow_id, action="started")
    event = CaseEvent(event_id=body.event_key(), kind=body.event)
    if start is None:
        return await _signal(client, task_queue, body, route, workflow_id, event, timings)
    try:
        # Signal-with-start: a reply that overtakes the "created" webhook still starts the case.
        await case.start(
            start,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            start_signal="caller_replied",
            start_signal_args=[event],
        )
    except WorkflowAlreadyStartedError:  # finished: the case came back, nothing is dropped
        return await came_back(client, task_queue, body, route, workflow_id, timings)
    return Accepted(workflow_id=workflow_id, action="signalled")


async def _signal(
    client: Client,
    task_queue: str,
    body: TopdeskWebhook,
    route: Route,
    workflow_id: str,
    event: CaseEvent,
    timings: CaseTimings,
) -> Accepted:
    """Signal the workflow of a case saksflyt opened itself (no TOPdesk event starts it); one
    that has finished takes no signal, so the case came back. NOT_FOUND stays for a workflow
    that never ran."""
    try:
        await client.get_workflow_handle(workflow_id).signal("caller_replied", event)
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
        if await _duplicate(client, workflow_id) != "case_finished":
            raise
        return await came_back(client, task_queue, body, route, workflow_id, timings)
    return Accepted(workflow_id=workflow_id, action="signalled")


@dataclass(frozen=True)
class _CaseStart:
    """How a TOPdesk case's workflow is started, whatever the event that starts it."""

    client: Client
    task_queue: str
    route: Route
    workflow_id: str
    case_number: str

    async def start(self, start: Any, **options: Any) -> None:
        await self.client.start_workflow(
            self.route.run,
            start,
            id=self.workflow_id,
            task_queue=self.task_queue,
            static_summary=case_summary(self.route.category, self.case_number),
            # A finished case is not started again by a late or repeated webhook; a failed
            # one may be (after a fix), since every SAP write carries a stable key.
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            **options,
        )


async def _start_resignation(
    client: Client, task_queue: str, body: DfoResignation, timings: CaseTimings
) -> Accepted:
    """Start the resignation once per portal form: a repeated event finds the running (or
    finished) workflow, and is answered as a repeated TOPdesk "created" webhook is."""
    workflow_id = resignation_id(body.form_id)
    try:
        await client.start_workflow(
            ResignationWorkflow.run,
            ResignationInput(form_id=body.form_id, timings=timings),
            id=workflow_id,
            task_queue=task_queue,
            static_summary=f"{RESIGNATION} (skjema {body.form_id} fra DFØ-portalen)",
            # As for TOPdesk cases: a failed run may be started again (after a fix), since every
            # side effect carries a stable key; a finished one never is.
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        )
    except WorkflowAlreadyStartedError:
        return Accepted(workflow_id=workflow_id, action=await _duplicate(client, workflow_id))
    return Accepted(workflow_id=workflow_id, action="started")


async def _duplicate(client: Client, workflow_id: str) -> DuplicateAction:
    """Whether the case's workflow still runs. Read raw: the status is all we need, and the
    time-skipping test server's search attributes do not decode."""
    description = await client.workflow_service.describe_workflow_execution(
        DescribeWorkflowExecutionRequest(
            namespace=client.namespace, execution=WorkflowExecution(workflow_id=workflow_id)
        )
    )
    status = description.workflow_execution_info.status
    running = status == WorkflowExecutionStatus.RUNNING.value
    return "already_started" if running else "case_finished"


NOT_CONNECTED = "Failed client connect"
# What Temporal answers while it is down, restarting or overloaded: the event waits in the outbox.
# (UNKNOWN is what a call cut off by a dropped connection reports.)
TEMPORAL_DOWN = frozenset(
    {
        RPCStatusCode.UNAVAILABLE,
        RPCStatusCode.DEADLINE_EXCEEDED,
        RPCStatusCode.RESOURCE_EXHAUSTED,
        RPCStatusCode.UNKNOWN,
        RPCStatusCode.CANCELLED,
        RPCStatusCode.ABORTED,
        RPCStatusCode.INTERNAL,
    }
)


class CaseNotRunning(Refused):
    """A signal for a case whose workflow is not running (finished, or never started): no later
    delivery changes that, so a waiting sender gets 404 rather than a 503 to retry in vain."""


async def dispatch(
    client: Client,
    task_queue: str,
    body: WebhookEvent,
    target: Target,
    timings: CaseTimings | None = None,
) -> Accepted:
    """Start or signal the routed event's workflow: what an endpoint does, and what the outbox's
    drainer does later; a case's workflow starts with `timings` (the settings' summer period).
    Raises `TemporalUnavailable` while Temporal cannot take it, `CaseNotRunning` for a signal no
    running workflow takes, `Refused` for what else Temporal rejects."""
    try:
        if isinstance(body, DfoResignation):
            return await _start_resignation(client, task_queue, body, timings or CaseTimings())
        if isinstance(body, TopdeskWebhook):
            route = target.route
            if route is None:  # queued under a category whose process this version lacks
                raise Refused(f"ingen prosess for kategorien «{target.category}»")
            return await _route_topdesk(
                client, task_queue, body, route, target.workflow_id, timings or CaseTimings()
            )
        decision = ApprovalDecision(
            event_id=body.event_id or str(uuid.uuid4()),
            registration_id=body.registration_id,
            approved=body.event == "approved",
            reason=body.reason,
        )
        decided = await _decided(client, target.workflow_id, body.case_number, decision)
        return Accepted(workflow_id=decided, action="signalled")
    except RuntimeError as error:
        # A lazily connected client that has not reached Temporal yet says so this way.
        if NOT_CONNECTED not in str(error):
            raise
        raise TemporalUnavailable(f"Temporal: {error}") from error
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            reason = f"ingen sak {target.workflow_id} kjører og kan ta imot hendelsen"
            raise CaseNotRunning(reason) from None
        if error.status in TEMPORAL_DOWN:
            raise TemporalUnavailable(f"Temporal: {error.message}") from error
        reason = f"Temporal avviste hendelsen ({error.status.name}): {error.message}"
        raise Refused(reason) from None


async def _decided(
    client: Client, workflow_id: str, case_number: str, decision: ApprovalDecision
) -> str:
    """Signal the manager's decision to the case's workflow or, once that has finished, to the
    case's came-back workflow that waits for a new approval (a start date moved after the new
    hire was done); the id of the one signalled. NOT_FOUND stays when neither runs."""
    try:
        await client.get_workflow_handle(workflow_id).signal("approval_decided", decision)
        return workflow_id
    except RPCError as error:
        came = None
        if error.status == RPCStatusCode.NOT_FOUND:
            came = await waiting_for_approval(client, case_number)
        if came is None:
            raise
    await client.get_workflow_handle(came).signal("approval_decided", decision)
    return came


async def redeliver(
    client: Client,
    task_queue: str,
    topdesk: TopdeskPort,
    event: QuarantinedEvent,
    timings: CaseTimings | None = None,
) -> str:
    """A quarantined event sent again the way its webhook went: routed, then started or
    signalled (`saksflyt quarantine redrive`). Returns what was done, for the person asking."""

    async def read(number: str) -> Incident:
        return await asyncio.to_thread(topdesk.get_incident, number)

    body = event_from(event.source, event.body)
    accepted = await dispatch(client, task_queue, body, await target_of(read, body), timings)
    return f"{accepted.action} {accepted.workflow_id}"

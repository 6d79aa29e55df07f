"""A caller's event on a case whose workflow has finished: the case came back.

It is no longer answered `case_finished` and dropped (issue 13): the intake starts a
`CaseCameBack` workflow (workflows/came_back.py) with what the finished workflow returned, once
per event. Its id is made of the case number and the webhook's event key, so the same webhook
delivered again (TOPdesk, the backfill, the outbox) finds it and starts nothing more.
"""

from __future__ import annotations

import contextlib
from typing import Any

from temporalio.client import Client, WorkflowFailureError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from domain.came_back import CameBackInput, came_back_id
from domain.cases import CaseTimings, WaitState, case_summary
from workers.intake.models import Accepted, TopdeskWebhook
from workers.routing import Route
from workflows.came_back import CameBackWorkflow

CAME_BACK_TYPE = "CaseCameBack"  # CameBackWorkflow's name in Temporal


async def came_back(
    client: Client,
    task_queue: str,
    body: TopdeskWebhook,
    route: Route,
    finished_id: str,
    timings: CaseTimings,
) -> Accepted:
    """Start the case's came-back workflow for this event; a repeat finds it started."""
    finished = await _result(client, finished_id)
    workflow_id = came_back_id(body.number, body.event_key())
    came = CameBackInput(
        case_number=body.number,
        process=route.process.name,
        category=route.category,
        event=body.event,
        outcome=finished.get("outcome"),
        registration_id=finished.get("registration_id"),
        timings=timings,
    )
    # The same event again finds its workflow running, or done with its work: nothing more.
    with contextlib.suppress(WorkflowAlreadyStartedError):
        await client.start_workflow(
            CameBackWorkflow.run,
            came,
            id=workflow_id,
            task_queue=task_queue,
            static_summary=f"{case_summary(route.category, body.number)} (kom tilbake)",
            # One run per event, ever; a failed one may be started again (after a fix), since
            # its SAP write carries a stable key.
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        )
    return Accepted(workflow_id=workflow_id, action="came_back")


async def waiting_for_approval(client: Client, case_number: str) -> str | None:
    """The came-back workflow of the case that waits for the manager's approval now (a start
    date moved after the new hire was done), found in visibility: the DFØ portal's decision
    names the case, and the case's own workflow has finished. None when none waits, or the
    server keeps no visibility to ask (the time-skipping test server); the decision is then
    refused as before, and the workflow learns it from SAP's daily look."""
    query = (
        f"WorkflowType = '{CAME_BACK_TYPE}' AND "
        f"CaseNumber = '{case_number}' AND ExecutionStatus = 'Running' AND "
        f"WaitState = '{WaitState.AWAITING_APPROVAL.value}'"
    )
    try:
        async for execution in client.list_workflows(query, limit=1):
            return execution.id
    except RPCError as error:
        if error.status != RPCStatusCode.UNIMPLEMENTED:
            raise
    return None


async def _result(client: Client, workflow_id: str) -> dict[str, Any]:
    """What the finished workflow returned (its fields as JSON); nothing when it returned no
    model, or did not complete."""
    try:
        result = await client.get_workflow_handle(workflow_id).result()
    except WorkflowFailureError:
        return {}
    return result if isinstance(result, dict) else {}

"""The webhook intake: TOPdesk and DFØ events in, workflows started or signalled.

A webhook is a hint (DESIGN.md, "Webhooks are hints"): the intake checks the shared secret and
the body's shape, then starts or signals the case's workflow, which re-reads the case from TOPdesk
before it acts. The workflow id is the business key, so a repeated "created" webhook finds the
running (or finished) workflow instead of starting a second one.
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

import structlog
from fastapi import Body, Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from domain.cases import ApprovalDecision, CaseEvent
from domain.new_hire import NewHireInput
from domain.resignation import ResignationInput
from workers.settings import Settings
from workflows.new_hire import NewHireWorkflow
from workflows.resignation import ResignationWorkflow

log = structlog.get_logger(__name__)

CASE_NUMBER = r"^[A-Za-z0-9][A-Za-z0-9 _-]{0,39}$"
# A DFØ portal form id, such as OPP-000001; it becomes part of a workflow id.
FORM_ID = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$"


class TopdeskWebhook(BaseModel):
    """What a TOPdesk action sequence sends: which case, and what happened to it."""

    number: str = Field(pattern=CASE_NUMBER, description="TOPdesk incident number")
    event: Literal["incident_created", "caller_replied", "reopened"]
    id: str | None = Field(default=None, description="TOPdesk incident id (unused: re-read)")
    event_id: str | None = Field(default=None, max_length=100)
    modification_date: str | None = Field(default=None, alias="modificationDate", max_length=40)

    def event_key(self) -> str:
        """Tells a repeated delivery from a new event: TOPdesk sends no event id, but a new
        reply changes the case's modification date. Without either, every delivery counts
        (a needless re-read of the case, never a lost event)."""
        if self.event_id:
            return self.event_id
        if self.modification_date:
            return f"{self.number}/{self.event}/{self.modification_date}"
        return str(uuid.uuid4())


class DfoWebhook(BaseModel):
    """The DFØ portal's word that a manager approved or rejected a registration."""

    case_number: str = Field(pattern=CASE_NUMBER)
    registration_id: str = Field(min_length=1, max_length=40)
    event: Literal["approved", "rejected"]
    reason: str | None = Field(default=None, max_length=2000)
    event_id: str | None = Field(default=None, max_length=100)


class DfoResignation(BaseModel):
    """The DFØ portal's word that an employee submitted a resignation: it names the form, which
    the workflow then reads from the portal."""

    event: Literal["resignation_submitted"]
    form_id: str = Field(pattern=FORM_ID)
    event_id: str | None = Field(default=None, max_length=100)


class DfoEventKind(BaseModel):
    """The one field every DFØ event has: which kind it is, and so which model checks it."""

    event: Literal["approved", "rejected", "resignation_submitted"]


DfoEvent = DfoWebhook | DfoResignation


async def dfo_event(body: Annotated[dict[str, Any], Body()]) -> DfoEvent:
    """DFØ sends every kind of event to one address, told apart by `event`; each kind is checked
    strictly, and a refusal names the field the way FastAPI's own does (`["body", field]`),
    which a pydantic tagged union would not (it puts the tag in the path)."""
    try:
        kind = DfoEventKind.model_validate(body).event
        model = DfoResignation if kind == "resignation_submitted" else DfoWebhook
        return model.model_validate(body)
    except ValidationError as error:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in error.errors(include_url=False)]
        ) from None


DuplicateAction = Literal["already_started", "case_finished"]


class Accepted(BaseModel):
    workflow_id: str
    action: Literal["started", "signalled", "already_started", "case_finished"]


def new_hire_id(case_number: str) -> str:
    return f"new-hire-{case_number}"


def resignation_id(form_id: str) -> str:
    """DESIGN.md: the resignation the DFØ portal starts is keyed on the portal's form id."""
    return f"resignation-{form_id}"


def create_app(settings: Settings, connect: Callable[[], Awaitable[Client]]) -> FastAPI:
    """The intake app; `connect` makes the Temporal client once, at start-up."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.client = await connect()
        yield

    app = FastAPI(title="saksflyt intake", lifespan=lifespan)
    secret = settings.webhook_secret.get_secret_value().encode()
    if not secret:
        raise ValueError("SAKSFLYT_WEBHOOK_SECRET is empty: every webhook would be accepted")

    def authenticated(request: Request) -> None:
        """The shared secret TOPdesk's action sequence sends in a header, compared in constant
        time. (The header name is a setting, so it is read from the request itself.)"""
        given = request.headers.get(settings.webhook_secret_header, "").encode()
        if not hmac.compare_digest(given, secret):
            raise HTTPException(status_code=401, detail="missing or wrong webhook secret")

    @app.exception_handler(RPCError)
    async def temporal_error(request: Request, error: RPCError) -> JSONResponse:
        if error.status == RPCStatusCode.NOT_FOUND:
            return JSONResponse({"detail": "no such case is running"}, status_code=404)
        log.warning("intake.temporal_unavailable", path=request.url.path, error=str(error))
        return JSONResponse(
            {"detail": "Temporal is unavailable; send again later"},
            status_code=503,
            headers={"Retry-After": "30"},
        )

    @app.post("/webhooks/topdesk", status_code=202, dependencies=[Depends(authenticated)])
    async def topdesk_webhook(body: TopdeskWebhook, request: Request) -> Accepted:
        client: Client = request.app.state.client
        accepted = await _route_topdesk(client, settings.task_queue, body)
        log.info(
            "intake.topdesk", case_number=body.number, case_event=body.event, action=accepted.action
        )
        return accepted

    @app.post("/webhooks/dfo", status_code=202, dependencies=[Depends(authenticated)])
    async def dfo_webhook(
        body: Annotated[DfoEvent, Depends(dfo_event)], request: Request
    ) -> Accepted:
        client: Client = request.app.state.client
        if isinstance(body, DfoResignation):
            accepted = await _start_resignation(client, settings.task_queue, body)
            log.info(
                "intake.dfo", form_id=body.form_id, case_event=body.event, action=accepted.action
            )
            return accepted
        workflow_id = new_hire_id(body.case_number)
        decision = ApprovalDecision(
            event_id=body.event_id or str(uuid.uuid4()),
            registration_id=body.registration_id,
            approved=body.event == "approved",
            reason=body.reason,
        )
        await client.get_workflow_handle(workflow_id).signal(
            NewHireWorkflow.approval_decided, decision
        )
        log.info("intake.dfo", case_number=body.case_number, case_event=body.event)
        return Accepted(workflow_id=workflow_id, action="signalled")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


async def _route_topdesk(client: Client, task_queue: str, body: TopdeskWebhook) -> Accepted:
    """Start the case's workflow, or signal it; never start a second one for the same case."""
    workflow_id = new_hire_id(body.number)
    case = NewHireInput(case_number=body.number)
    if body.event == "incident_created":
        try:
            await client.start_workflow(
                NewHireWorkflow.run,
                case,
                id=workflow_id,
                task_queue=task_queue,
                # A finished case is not started again by a late or repeated webhook; a failed
                # one may be (after a fix), since every SAP write carries a stable key.
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            )
        except WorkflowAlreadyStartedError:
            return Accepted(workflow_id=workflow_id, action=await _duplicate(client, workflow_id))
        return Accepted(workflow_id=workflow_id, action="started")
    event = CaseEvent(event_id=body.event_key(), kind=body.event)
    try:
        # Signal-with-start: a reply that overtakes the "created" webhook still starts the case.
        await client.start_workflow(
            NewHireWorkflow.run,
            case,
            id=workflow_id,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            start_signal="caller_replied",
            start_signal_args=[event],
        )
    except WorkflowAlreadyStartedError:
        return Accepted(workflow_id=workflow_id, action="case_finished")
    return Accepted(workflow_id=workflow_id, action="signalled")


async def _start_resignation(client: Client, task_queue: str, body: DfoResignation) -> Accepted:
    """Start the resignation once per portal form: a repeated event finds the running (or
    finished) workflow, and is answered as a repeated TOPdesk "created" webhook is."""
    workflow_id = resignation_id(body.form_id)
    try:
        await client.start_workflow(
            ResignationWorkflow.run,
            ResignationInput(form_id=body.form_id),
            id=workflow_id,
            task_queue=task_queue,
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

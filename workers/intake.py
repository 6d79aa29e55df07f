"""The webhook intake: TOPdesk and DFØ events in, workflows started or signalled.

A webhook is a hint (DESIGN.md, "Webhooks are hints"): the intake checks the shared secret and
the body's shape, reads the case from TOPdesk to learn its category and so its process
(`workers/routing.py`), then starts or signals that process's workflow, which re-reads the case
before it acts. The workflow id is the business key, so a repeated "created" webhook finds the
running (or finished) workflow instead of starting a second one. An event that cannot be routed
(a category no process handles, a case TOPdesk does not know) is answered 202 and quarantined.
"""

from __future__ import annotations

import asyncio
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

from adapters.topdesk.client import TopdeskClient
from adapters.topdesk.errors import TopdeskError, TopdeskNotFound
from adapters.topdesk.port import TopdeskPort
from domain.cases import ApprovalDecision, CaseEvent
from domain.resignation import ResignationInput
from workers.quarantine import Quarantine
from workers.routing import Route, route_of
from workers.settings import Settings
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
    workflow_id: str | None  # None when quarantined
    action: Literal["started", "signalled", "already_started", "case_finished", "quarantined"]


def new_hire_id(case_number: str) -> str:
    return f"new-hire-{case_number}"


def resignation_id(form_id: str) -> str:
    """DESIGN.md: the resignation the DFØ portal starts is keyed on the portal's form id."""
    return f"resignation-{form_id}"


def create_app(
    settings: Settings,
    connect: Callable[[], Awaitable[Client]],
    topdesk: TopdeskPort | None = None,
    quarantine: Quarantine | None = None,
) -> FastAPI:
    """The intake app; `connect` makes the Temporal client once, at start-up. TOPdesk (to route
    by category) and the quarantine come from the settings unless given."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.client = await connect()
        yield

    app = FastAPI(title="saksflyt intake", lifespan=lifespan)
    secret = settings.webhook_secret.get_secret_value().encode()
    if not secret:
        raise ValueError("SAKSFLYT_WEBHOOK_SECRET is empty: every webhook would be accepted")
    if topdesk is None:
        topdesk = TopdeskClient(
            settings.topdesk_url,
            settings.topdesk_login,
            settings.topdesk_app_password.get_secret_value(),
        )
    if quarantine is None:
        quarantine = Quarantine(settings.quarantine_path)

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

    async def routed(number: str, source: str, body: BaseModel) -> tuple[Route, str] | Accepted:
        """The case's process and workflow id, from the case as TOPdesk has it; or, when it
        cannot be routed, the quarantined answer."""
        try:
            incident = await asyncio.to_thread(topdesk.get_incident, number)
        except TopdeskNotFound:
            return await quarantined(source, body, f"TOPdesk kjenner ikke saken {number}")
        route = route_of(incident)
        workflow_id = route.workflow_id(incident) if route else None
        if route is None or workflow_id is None:
            category = incident.category.name if incident.category else "ingen"
            return await quarantined(source, body, f"ingen prosess for kategorien «{category}»")
        return route, workflow_id

    async def quarantined(source: str, body: BaseModel, reason: str) -> Accepted:
        await asyncio.to_thread(quarantine.add, source, body.model_dump_json(), reason)
        log.warning("intake.quarantined", source=source, reason=reason)
        return Accepted(workflow_id=None, action="quarantined")

    @app.exception_handler(TopdeskError)
    async def topdesk_error(request: Request, error: TopdeskError) -> JSONResponse:
        log.warning("intake.topdesk_unavailable", path=request.url.path, error=str(error))
        return JSONResponse(
            {"detail": "TOPdesk is unavailable to route the event; send again later"},
            status_code=503,
            headers={"Retry-After": "30"},
        )

    @app.post("/webhooks/topdesk", status_code=202, dependencies=[Depends(authenticated)])
    async def topdesk_webhook(body: TopdeskWebhook, request: Request) -> Accepted:
        client: Client = request.app.state.client
        found = await routed(body.number, "topdesk", body)
        if isinstance(found, Accepted):
            return found
        accepted = await _route_topdesk(client, settings.task_queue, body, *found)
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
        found = await routed(body.case_number, "dfo", body)
        if isinstance(found, Accepted):
            return found
        _, workflow_id = found
        decision = ApprovalDecision(
            event_id=body.event_id or str(uuid.uuid4()),
            registration_id=body.registration_id,
            approved=body.event == "approved",
            reason=body.reason,
        )
        await client.get_workflow_handle(workflow_id).signal("approval_decided", decision)
        log.info("intake.dfo", case_number=body.case_number, case_event=body.event)
        return Accepted(workflow_id=workflow_id, action="signalled")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


async def _route_topdesk(
    client: Client, task_queue: str, body: TopdeskWebhook, route: Route, workflow_id: str
) -> Accepted:
    """Start the case's workflow, or signal it; never start a second one for the same case."""
    start = route.start_input(body.number)
    if body.event == "incident_created":
        if start is None:  # a case saksflyt opened itself: its workflow runs already
            return Accepted(workflow_id=workflow_id, action=await _duplicate(client, workflow_id))
        try:
            await client.start_workflow(
                route.run,
                start,
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
    if start is None:
        await client.get_workflow_handle(workflow_id).signal("caller_replied", event)
        return Accepted(workflow_id=workflow_id, action="signalled")
    try:
        # Signal-with-start: a reply that overtakes the "created" webhook still starts the case.
        await client.start_workflow(
            route.run,
            start,
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

"""The webhook intake: TOPdesk and DFØ events in, workflows started or signalled.

A webhook is a hint (DESIGN.md, "Webhooks are hints"): the intake checks the shared secret and
the body's shape, reads the case from TOPdesk to learn its category and so its process
(`workers/routing.py`), then starts or signals that process's workflow, which re-reads the case
before it acts. The workflow id is the business key, so a repeated "created" webhook finds the
running (or finished) workflow instead of starting a second one. An event that cannot be routed
(a category no process handles, a case TOPdesk does not know) is answered 202 and quarantined.
While Temporal is unreachable a routed event is answered 202 "queued" and kept in the outbox
(`workers/outbox.py`, which says why) until it is back; TOPdesk unreachable stays a 503.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, Literal

import structlog
from fastapi import Body, Depends, FastAPI, Header, HTTPException, Path, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, Field, ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    GetSystemInfoRequest,
)
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from adapters.topdesk.client import TopdeskClient
from adapters.topdesk.errors import TopdeskError, TopdeskNotFound, TopdeskRejected
from adapters.topdesk.port import TopdeskPort
from domain.cases import ApprovalDecision, CaseEvent, case_summary
from domain.resignation import CATEGORY as RESIGNATION
from domain.resignation import ResignationInput
from workers.outbox import Drainer, Outbox, OutboxEvent, TemporalUnavailable
from workers.quarantine import Quarantine, QuarantinedEvent, Refused
from workers.routing import ROUTES, Route, route_of
from workers.settings import Settings, WebhookSource
from workflows.resignation import ResignationWorkflow

log = structlog.get_logger(__name__)

CASE_NUMBER = r"^[A-Za-z0-9][A-Za-z0-9 _-]{0,39}$"
# A DFØ portal form id, such as OPP-000001; it becomes part of a workflow id.
FORM_ID = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$"

TIMESTAMP_HEADER = "X-Saksflyt-Timestamp"
SIGNATURE_HEADER = "X-Saksflyt-Signature"
# A webhook body is a few flat fields; deeper nesting is refused up front, so that nothing after
# the gate (FastAPI's error rendering, the quarantine, a log line) walks a deep structure.
MAX_DEPTH = 16
# /readyz must answer a load balancer's probe quickly, Temporal up or not.
READY_TIMEOUT = timedelta(seconds=2)

# What a webhook may answer besides 202 and FastAPI's own 422, for the OpenAPI document.
WEBHOOK_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing or wrong secret, or signature; nothing was started"},
    404: {"description": "the event is for a case whose workflow is not running"},
    413: {"description": "the body is larger than SAKSFLYT_WEBHOOK_MAX_BYTES"},
    503: {"description": "TOPdesk is unavailable to route the event; send again after Retry-After"},
}


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

# The body FastAPI cannot infer from `dfo_event` (a dict checked by hand), for the OpenAPI
# document: one of the two kinds, told apart by `event`.
DFO_BODY: dict[str, Any] = {
    "requestBody": {
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [DfoWebhook.model_json_schema(), DfoResignation.model_json_schema()]
                }
            }
        }
    }
}


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

Timestamp = Annotated[
    str | None,
    Header(alias=TIMESTAMP_HEADER, description="unix seconds; when the source must sign"),
]
Signature = Annotated[
    str | None,
    Header(
        alias=SIGNATURE_HEADER,
        description="sha256=<hex HMAC-SHA256 of timestamp + '.' + body>; when the source must sign",
    ),
]
PathSecret = Annotated[str, Path(description="the source's shared secret")]


class Accepted(BaseModel):
    workflow_id: str | None  # None when quarantined
    action: Literal[
        "started", "signalled", "already_started", "case_finished", "quarantined", "queued"
    ]


def new_hire_id(case_number: str) -> str:
    return f"new-hire-{case_number}"


def resignation_id(form_id: str) -> str:
    """DESIGN.md: the resignation the DFØ portal starts is keyed on the portal's form id."""
    return f"resignation-{form_id}"


def sign(key: bytes, timestamp: str, body: bytes) -> str:
    """The `X-Saksflyt-Signature` a signing source sends: HMAC-SHA256 over the timestamp, a
    dot and the raw body, so that neither can be changed or replayed later on its own."""
    digest = hmac.new(key, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signature_ok(
    key: bytes,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    window_seconds: int,
    now: float,
) -> bool:
    """Whether the body was signed with `key` at a time within the replay window of `now`
    (either side: a sender's clock may run ahead). A replay inside the window is harmless, since
    the intake never starts a second workflow for one case nor counts one event twice."""
    if not timestamp or not signature or not re.fullmatch(r"[0-9]{1,12}", timestamp):
        return False
    if abs(now - int(timestamp)) > window_seconds:
        return False
    expected = sign(key, timestamp, body).encode()
    return hmac.compare_digest(signature.strip().lower().encode(), expected)


def redacted(path: str) -> str:
    """The path as it may be logged: a secret given as the path segment after the source
    (`/webhooks/topdesk/<secret>`) is replaced by `{secret}`."""
    return re.sub(r"^(/webhooks/[^/]+)/.+$", r"\1/{secret}", path)


class RequestGate:
    """The first thing every request meets (pure ASGI, so before anything parses the body).

    A body over the limit is refused with 413, whether or not it says its length (a chunked one
    is counted as it is read). A body that is not UTF-8, or is JSON nested deeper than any
    webhook, or holds a lone surrogate or NaN (which Python's parser takes, but nothing can
    store or echo back), is refused with 422 naming the body, rather than failing later with a
    400 or a 500. Then one access log line per request: method, path with any secret redacted,
    status, duration, and the case number or form id if the body names a well-formed one;
    never the body itself."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless a response starts: an error the server middleware answers
        names: dict[str, str] = {}

        async def sent(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            body = await self._read(scope, receive)
            if body is None:
                await _answer(sent, 413, {"detail": f"body over {self.max_bytes} bytes"})
                return
            problem, names = _peek(body)
            if problem:
                detail = [{"type": "json_invalid", "loc": ["body"], "msg": problem, "input": {}}]
                await _answer(sent, 422, {"detail": detail})
                return
            await self.app(scope, _replay(body, receive), sent)
        finally:
            log.info(
                "intake.request",
                method=scope["method"],
                path=redacted(scope["path"]),
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
                **names,
            )

    async def _read(self, scope: Scope, receive: Receive) -> bytes | None:
        """The whole body, or None once it is over the limit (declared or read)."""
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the sender gave up: the app sees that too
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the app the body already read, then listens on as before."""
    pending = True

    async def replayed() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


async def _answer(send: Send, status: int, content: dict[str, Any]) -> None:
    payload = json.dumps(content).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(payload))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


class _NotJson(ValueError):
    pass


def _no_constant(name: str) -> Any:
    """NaN and Infinity, which Python's parser takes but no JSON answer can echo back."""
    raise _NotJson(f"{name} is not JSON")


def _peek(body: bytes) -> tuple[str | None, dict[str, str]]:
    """What the gate refuses in a body (None: nothing), and the case number or form id it may
    log. A body that is not JSON at all is left to FastAPI, whose 422 names the position."""
    try:
        text = body.decode()  # JSON between systems is UTF-8 (RFC 8259); FastAPI would guess
    except UnicodeDecodeError:
        return "the body is not UTF-8 text", {}
    try:
        parsed = json.loads(text, parse_constant=_no_constant) if text.strip() else None
    except _NotJson as error:
        return str(error), {}
    except json.JSONDecodeError:
        return None, {}
    except RecursionError:
        return "the body is nested too deeply", {}
    except ValueError as error:  # such as a number of more digits than Python converts
        return f"the body cannot be read: {error}", {}
    level: list[tuple[Any, int]] = [(parsed, 1)]
    while level:
        value, depth = level.pop()
        if depth > MAX_DEPTH:
            return f"the body is nested deeper than {MAX_DEPTH} levels", {}
        if isinstance(value, dict):
            level.extend((item, depth + 1) for pair in value.items() for item in pair)
        elif isinstance(value, list):
            level.extend((item, depth + 1) for item in value)
        elif isinstance(value, str) and re.search(r"[\ud800-\udfff]", value):
            return "the body holds a lone surrogate (a \\u escape that is no character)", {}
    names: dict[str, str] = {}
    if isinstance(parsed, dict):
        for field, name, pattern in [
            ("number", "case_number", CASE_NUMBER),
            ("case_number", "case_number", CASE_NUMBER),
            ("form_id", "form_id", FORM_ID),
        ]:
            value = parsed.get(field)
            if isinstance(value, str) and re.fullmatch(pattern, value):
                names[name] = value
    return None, names


def create_app(
    settings: Settings,
    connect: Callable[[], Awaitable[Client]],
    topdesk: TopdeskPort | None = None,
    quarantine: Quarantine | None = None,
    outbox: Outbox | None = None,
) -> FastAPI:
    """The intake app; `connect` makes the Temporal client once, at start-up. TOPdesk (to route
    by category) and the quarantine come from the settings unless given; the outbox lies beside
    the quarantine unless given (both are the intake's durable state, under the data dir)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.client = await connect()
        draining = asyncio.create_task(drainer.run())  # first hands on what a last run left
        try:
            yield
        finally:
            draining.cancel()  # an event cut off mid-way stays queued: handing on is idempotent
            with suppress(asyncio.CancelledError):
                await draining

    # No redirect from `/webhooks/topdesk/` (an empty secret segment): a 404, not an invitation
    # to post again elsewhere.
    app = FastAPI(title="saksflyt intake", lifespan=lifespan, redirect_slashes=False)
    app.add_middleware(RequestGate, max_bytes=settings.webhook_max_bytes)
    secret = settings.webhook_secret.get_secret_value().encode()
    if not secret:
        raise ValueError("SAKSFLYT_WEBHOOK_SECRET is empty: every webhook would be accepted")
    secrets: dict[WebhookSource, bytes] = {
        "topdesk": secret,
        "dfo": settings.dfo_webhook_secret.get_secret_value().encode() or secret,
    }
    hmac_key = settings.webhook_hmac_key.get_secret_value().encode()
    if topdesk is None:
        topdesk = topdesk_of(settings)
    if quarantine is None:
        quarantine = Quarantine(settings.quarantine_path)
    if outbox is None:
        outbox = Outbox(quarantine.path.parent / settings.outbox_path.name)

    secret_header = APIKeyHeader(
        name=settings.webhook_secret_header,
        auto_error=False,
        description="the source's shared secret (or send it as the URL's last path segment)",
    )

    def authenticated(source: WebhookSource, in_path: bool) -> Callable[..., Awaitable[None]]:
        """The source's shared secret, in the header or as the path segment (TOPdesk's HTTP
        action may let its administrator set only the URL), compared in constant time; and,
        once a key is set for a source that signs, the body's signature and its timestamp."""
        signs = bool(hmac_key) and source in settings.webhook_hmac_sources

        async def verify(
            request: Request, given: str | None, timestamp: str | None, signature: str | None
        ) -> None:
            if not hmac.compare_digest((given or "").encode(), secrets[source]):
                raise HTTPException(status_code=401, detail="missing or wrong webhook secret")
            if signs and not signature_ok(
                hmac_key,
                timestamp,
                signature,
                await request.body(),
                settings.webhook_replay_window_seconds,
                time.time(),
            ):
                raise HTTPException(
                    status_code=401,
                    detail="missing or wrong signature, or a timestamp outside the replay window",
                )

        async def in_header(
            request: Request,
            timestamp: Timestamp = None,
            signature: Signature = None,
            given: str | None = Security(secret_header),
        ) -> None:
            await verify(request, given, timestamp, signature)

        async def in_url(
            request: Request,
            secret: PathSecret,
            timestamp: Timestamp = None,
            signature: Signature = None,
        ) -> None:
            await verify(request, secret, timestamp, signature)

        return in_url if in_path else in_header

    async def accept(request: Request, body: WebhookEvent) -> Accepted:
        """Route the event, then start or signal its workflow. It is queued in the outbox while
        Temporal cannot take it, and behind an earlier event for the same workflow that still
        waits there (so the order of one case's events holds); quarantined when no workflow can
        take it; a signal for a case that is not running is a 404."""
        try:
            target = await target_of(topdesk, body)
        except Refused as refusal:
            return await quarantined(source_of(body), kept(body), str(refusal))
        if await asyncio.to_thread(outbox.holds, target.workflow_id):
            return await queued(body, target, "an earlier event for the workflow is queued")
        try:
            return await dispatch(request.app.state.client, settings.task_queue, body, target)
        except CaseNotRunning:
            raise HTTPException(status_code=404, detail="no such case is running") from None
        except Refused as refusal:
            return await quarantined(source_of(body), kept(body), str(refusal))
        except TemporalUnavailable as error:
            return await queued(body, target, str(error))

    async def quarantined(source: str, body: str, reason: str) -> Accepted:
        await asyncio.to_thread(quarantine.add, source, body, reason)
        log.warning("intake.quarantined", source=source, reason=reason)
        return Accepted(workflow_id=None, action="quarantined")

    async def queued(body: WebhookEvent, target: Target, why: str) -> Accepted:
        source = source_of(body)
        await asyncio.to_thread(outbox.add, source, target.workflow_id, target.category, kept(body))
        drainer.wake()
        log.warning("intake.queued", source=source, workflow_id=target.workflow_id, why=why)
        return Accepted(workflow_id=target.workflow_id, action="queued")

    async def hand_on(event: OutboxEvent) -> None:
        """The drainer's delivery: the same `dispatch` as a webhook's, to the workflow routing
        found when the event came. What no workflow takes now goes to the quarantine (its sender
        was told 202 long ago); `TemporalUnavailable` keeps it queued."""
        try:
            body = event_from(event.source, event.body)
            target = Target(event.workflow_id, event.category)
            accepted = await dispatch(app.state.client, settings.task_queue, body, target)
        except Refused as refusal:
            await quarantined(event.source, event.body, str(refusal))
            return
        log.info("intake.drained", workflow_id=accepted.workflow_id, action=accepted.action)

    drainer = Drainer(outbox, hand_on, settings.outbox_retry_first, settings.outbox_retry_max)
    app.state.drainer = drainer

    @app.exception_handler(TopdeskError)
    async def topdesk_error(request: Request, error: TopdeskError) -> JSONResponse:
        log.warning("intake.topdesk_unavailable", path=redacted(request.url.path), error=str(error))
        return JSONResponse(
            {"detail": "TOPdesk is unavailable to route the event; send again later"},
            status_code=503,
            headers={"Retry-After": "30"},
        )

    @app.post(
        "/webhooks/topdesk/{secret}",
        status_code=202,
        dependencies=[Depends(authenticated("topdesk", in_path=True))],
        responses=WEBHOOK_RESPONSES,
    )
    @app.post(
        "/webhooks/topdesk",
        status_code=202,
        dependencies=[Depends(authenticated("topdesk", in_path=False))],
        responses=WEBHOOK_RESPONSES,
    )
    async def topdesk_webhook(body: TopdeskWebhook, request: Request) -> Accepted:
        accepted = await accept(request, body)
        log.info(
            "intake.topdesk", case_number=body.number, case_event=body.event, action=accepted.action
        )
        return accepted

    @app.post(
        "/webhooks/dfo/{secret}",
        status_code=202,
        dependencies=[Depends(authenticated("dfo", in_path=True))],
        responses=WEBHOOK_RESPONSES,
        openapi_extra=DFO_BODY,
    )
    @app.post(
        "/webhooks/dfo",
        status_code=202,
        dependencies=[Depends(authenticated("dfo", in_path=False))],
        responses=WEBHOOK_RESPONSES,
        openapi_extra=DFO_BODY,
    )
    async def dfo_webhook(
        body: Annotated[DfoEvent, Depends(dfo_event)], request: Request
    ) -> Accepted:
        accepted = await accept(request, body)
        case = (
            {"form_id": body.form_id}
            if isinstance(body, DfoResignation)
            else {"case_number": body.case_number}
        )
        log.info("intake.dfo", **case, case_event=body.event, action=accepted.action)
        return accepted

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        """The process is up (whatever Temporal's state): for a liveness probe."""
        return {"status": "ok"}

    @app.get("/readyz", responses={503: {"description": "Temporal does not answer"}})
    async def readyz(request: Request) -> JSONResponse:
        """Ready when Temporal answers a cheap call within a short timeout: a load balancer
        then sends webhooks to an intake that can start workflows."""
        client: Client | None = getattr(request.app.state, "client", None)
        if client is None:
            return JSONResponse({"status": "not connected"}, status_code=503)
        try:
            await client.workflow_service.get_system_info(
                GetSystemInfoRequest(), timeout=READY_TIMEOUT
            )
        except (RPCError, RuntimeError) as error:  # RuntimeError: a lazy client not connected
            log.warning("intake.not_ready", error=str(error))
            return JSONResponse({"status": "Temporal unavailable"}, status_code=503)
        return JSONResponse({"status": "ready"})

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
                static_summary=case_summary(route.category, body.number),
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
            static_summary=case_summary(route.category, body.number),
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


# -- delivery: one code path for a webhook, the outbox's drainer and a quarantine redrive ---------

WebhookEvent = TopdeskWebhook | DfoWebhook | DfoResignation

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


@dataclass(frozen=True)
class Target:
    """Where an event goes, as routing found it: the workflow, and for an event of a TOPdesk
    case the category whose route starts or signals it (None: the portal's resignation)."""

    workflow_id: str
    category: str | None = None

    @property
    def route(self) -> Route | None:
        return ROUTES.get(self.category) if self.category else None


def topdesk_of(settings: Settings) -> TopdeskClient:
    return TopdeskClient(
        settings.topdesk_url,
        settings.topdesk_login,
        settings.topdesk_app_password.get_secret_value(),
    )


def source_of(body: WebhookEvent) -> WebhookSource:
    return "topdesk" if isinstance(body, TopdeskWebhook) else "dfo"


def kept(body: WebhookEvent) -> str:
    """The body as the outbox and the quarantine keep it: JSON with the webhook's own field names
    and an event id fixed now (the sender's, when it sent one), so that an event handed on twice
    is one event to the workflow."""
    if isinstance(body, TopdeskWebhook) and body.event_id is None:
        body = body.model_copy(update={"event_id": body.event_key()})
    elif isinstance(body, DfoWebhook) and body.event_id is None:
        body = body.model_copy(update={"event_id": str(uuid.uuid4())})
    return body.model_dump_json(by_alias=True)


def event_from(source: str, body: str) -> WebhookEvent:
    """An event as the outbox or the quarantine keeps it, read back with the webhook's models
    (by name too: older quarantine rows kept `modification_date` under its field name)."""
    try:
        data = json.loads(body)
        if source == "topdesk":
            return TopdeskWebhook.model_validate(data, by_alias=True, by_name=True)
        kind = DfoEventKind.model_validate(data).event
        model = DfoResignation if kind == "resignation_submitted" else DfoWebhook
        return model.model_validate(data)
    except ValueError as error:  # ValidationError and JSONDecodeError are ValueErrors
        raise Refused(f"hendelsen kan ikke leses: {type(error).__name__}") from None


async def target_of(topdesk: TopdeskPort, body: WebhookEvent) -> Target:
    """Route the event by its case's category, as TOPdesk has it. Raises `Refused` when no
    process can take it, and TOPdesk's `TopdeskUnavailable` (a 503) when the case cannot be
    read now."""
    if isinstance(body, DfoResignation):
        return Target(resignation_id(body.form_id))
    number = body.number if isinstance(body, TopdeskWebhook) else body.case_number
    try:
        incident = await asyncio.to_thread(topdesk.get_incident, number)
    except TopdeskNotFound:
        raise Refused(f"TOPdesk kjenner ikke saken {number}") from None
    except TopdeskRejected as error:  # 400, 403: no retry changes the answer
        raise Refused(f"TOPdesk avviste oppslaget av saken {number}: {error.message}") from None
    route = route_of(incident)
    workflow_id = route.workflow_id(incident) if route else None
    category = incident.category.name if incident.category else None
    if route is None or workflow_id is None:
        raise Refused(f"ingen prosess for kategorien «{category or 'ingen'}»")
    return Target(workflow_id, category)


async def dispatch(client: Client, task_queue: str, body: WebhookEvent, target: Target) -> Accepted:
    """Start or signal the routed event's workflow: what an endpoint does, and what the outbox's
    drainer does later. Raises `TemporalUnavailable` while Temporal cannot take it,
    `CaseNotRunning` for a signal no running workflow takes, `Refused` for what else Temporal
    rejects."""
    try:
        if isinstance(body, DfoResignation):
            return await _start_resignation(client, task_queue, body)
        if isinstance(body, TopdeskWebhook):
            route = target.route
            if route is None:  # queued under a category whose process this version lacks
                raise Refused(f"ingen prosess for kategorien «{target.category}»")
            return await _route_topdesk(client, task_queue, body, route, target.workflow_id)
        decision = ApprovalDecision(
            event_id=body.event_id or str(uuid.uuid4()),
            registration_id=body.registration_id,
            approved=body.event == "approved",
            reason=body.reason,
        )
        await client.get_workflow_handle(target.workflow_id).signal("approval_decided", decision)
        return Accepted(workflow_id=target.workflow_id, action="signalled")
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


async def redeliver(
    client: Client, task_queue: str, topdesk: TopdeskPort, event: QuarantinedEvent
) -> str:
    """A quarantined event sent again the way its webhook went: routed, then started or
    signalled (`saksflyt quarantine redrive`). Returns what was done, for the person asking."""
    body = event_from(event.source, event.body)
    accepted = await dispatch(client, task_queue, body, await target_of(topdesk, body))
    return f"{accepted.action} {accepted.workflow_id}"

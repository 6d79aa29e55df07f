"""The intake app: its routes, what each answers, and the state it keeps beside it.

Every request meets the gate first (`gate.py`: the secret, the size, the body's shape); then the
route checks the body against its model (a 422 names the field) and, for a source that signs,
the HMAC signature; then `Acceptor` (`accept.py`) routes and delivers the event.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from datetime import timedelta
from typing import Annotated, Any

import structlog
from fastapi import Depends, FastAPI, Header, HTTPException, Path, Request, Security
from fastapi.responses import JSONResponse, Response
from fastapi.security import APIKeyHeader
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client
from temporalio.service import RPCError

from adapters.topdesk.errors import TopdeskError
from adapters.topdesk.port import TopdeskPort
from adapters.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER
from workers import tracing
from workers.intake.accept import Acceptor
from workers.intake.gate import RequestGate, logged
from workers.intake.metrics import CONTENT_TYPE, State, exposition
from workers.intake.models import (
    DFO_BODY,
    Accepted,
    DfoEvent,
    TopdeskWebhook,
    dfo_event,
)
from workers.intake.security import (
    Secrets,
    logged_path,
    redact_uvicorn_access_log,
    signature_ok,
)
from workers.intake.targets import topdesk_of
from workers.intake.threads import Threads
from workers.outbox import Outbox
from workers.quarantine import Quarantine, QuarantineFull
from workers.settings import Settings, WebhookSource

log = structlog.get_logger(__name__)

# /readyz must answer a load balancer's probe quickly, Temporal up or not.
READY_TIMEOUT = timedelta(seconds=2)
RETRY_AFTER = {"Retry-After": "30"}

# What a webhook may answer besides 202 and FastAPI's own 422, for the OpenAPI document.
WEBHOOK_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing or wrong secret, or signature; nothing was started"},
    404: {"description": "the event is for a case whose workflow is not running"},
    413: {"description": "the body is larger than SAKSFLYT_WEBHOOK_MAX_BYTES"},
    503: {
        "description": "TOPdesk is unavailable to route a TOPdesk event, or the quarantine is "
        "full; send again after Retry-After"
    },
}

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
Authenticate = Callable[..., Awaitable[None]]


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
    secrets = Secrets.of(settings)
    quarantine = quarantine or Quarantine(settings.quarantine_path, settings.quarantine_max_events)
    outbox = outbox or Outbox(quarantine.path.parent / settings.outbox_path.name)
    threads = Threads(
        topdesk or topdesk_of(settings),
        settings.intake_topdesk_concurrency,
        settings.intake_topdesk_timeout_seconds,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.client = await connect()
        draining = asyncio.create_task(acceptor.drainer.run())  # first, what a last run left
        try:
            yield
        finally:
            draining.cancel()  # an event cut off mid-way stays queued: handing on is idempotent
            with suppress(asyncio.CancelledError):
                await draining
            threads.shutdown()

    # No redirect from `/webhooks/topdesk/` (an empty secret segment): a 404, not an invitation
    # to post again elsewhere.
    app = FastAPI(
        title="saksflyt intake",
        lifespan=lifespan,
        redirect_slashes=False,
        telemetry=tracing.FASTAPI_TELEMETRY,
    )
    app.add_middleware(
        RequestGate,
        max_bytes=settings.webhook_max_bytes,
        secrets=secrets,
        routes=app.router.routes,
    )
    redact_uvicorn_access_log(app.router.routes)
    tracing.instrument(app, settings)  # a span per request, when tracing is on
    acceptor = Acceptor(settings, lambda: app.state.client, threads, outbox, quarantine)
    app.state.drainer = acceptor.drainer
    app.state.acceptor = acceptor
    _webhooks(app, settings, secrets, acceptor)
    _answers(app)
    _probes(app, acceptor)
    return app


def _webhooks(app: FastAPI, settings: Settings, secrets: Secrets, acceptor: Acceptor) -> None:
    auth = _authentication(settings, secrets)

    def webhook(source: WebhookSource, in_path: bool, **extra: Any) -> Any:
        path = f"/webhooks/{source}" + ("/{secret}" if in_path else "")
        dependencies = [Depends(auth(source, in_path))]
        return app.post(
            path, status_code=202, dependencies=dependencies, responses=WEBHOOK_RESPONSES, **extra
        )

    @webhook("topdesk", in_path=True)
    @webhook("topdesk", in_path=False)
    async def topdesk_webhook(body: TopdeskWebhook, request: Request) -> Accepted:
        return done(request, body.event, await acceptor.accept(body))

    @webhook("dfo", in_path=True, openapi_extra=DFO_BODY)
    @webhook("dfo", in_path=False, openapi_extra=DFO_BODY)
    async def dfo_webhook(
        body: Annotated[DfoEvent, Depends(dfo_event)], request: Request
    ) -> Accepted:
        return done(request, body.event, await acceptor.accept(body))


def done(request: Request, event: str, accepted: Accepted) -> Accepted:
    """What the event was and what became of it, for the gate's one line on the request (the
    case number or form id it names already: `gate.py`)."""
    logged(request.scope, case_event=event, action=accepted.action)
    return accepted


def _authentication(
    settings: Settings, secrets: Secrets
) -> Callable[[WebhookSource, bool], Authenticate]:
    """The route's check: the source's secret (as the gate checked it already, so that no route
    runs unauthenticated however the app is mounted) and, once a key is set for a source that
    signs, the body's signature and its timestamp. The parameters also put the header, the path
    segment and the signing headers in the OpenAPI document."""
    hmac_key = settings.webhook_hmac_key.get_secret_value().encode()
    secret_header = APIKeyHeader(
        name=settings.webhook_secret_header,
        auto_error=False,
        description="the source's shared secret (or send it as the URL's last path segment)",
    )

    def authenticated(source: WebhookSource, in_path: bool) -> Authenticate:
        signs = bool(hmac_key) and source in settings.webhook_hmac_sources

        async def verify(
            request: Request, given: str | None, timestamp: str | None, signature: str | None
        ) -> None:
            if not secrets.ok(source, given):
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

    return authenticated


def _answers(app: FastAPI) -> None:
    """The 503s: a system the event needs is away, and the sender should send it again."""

    @app.exception_handler(TopdeskError)
    async def topdesk_error(request: Request, error: TopdeskError) -> JSONResponse:
        path = logged_path(request.app.router.routes, request.url.path)
        log.warning("intake.topdesk_unavailable", path=path, error=str(error))
        return JSONResponse(
            {"detail": "TOPdesk is unavailable to route the event; send again later"},
            status_code=503,
            headers=RETRY_AFTER,
        )

    @app.exception_handler(QuarantineFull)
    async def quarantine_full(request: Request, error: QuarantineFull) -> JSONResponse:
        return JSONResponse(
            {"detail": f"{error}: the event cannot be kept; send again later"},
            status_code=503,
            headers=RETRY_AFTER,
        )


def _probes(app: FastAPI, acceptor: Acceptor) -> None:
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

    @app.get("/metrics", response_class=Response)
    async def metrics() -> Response:
        """The quarantine and the outbox for Prometheus (`metrics.py` lists the metrics)."""
        store = acceptor.threads.store
        rows, deliveries = await store(acceptor.quarantine.stats)
        waiting = await store(acceptor.outbox.waiting)
        state = State(rows, deliveries, acceptor.quarantine.max_events, waiting)
        return Response(exposition(state, acceptor.counts), media_type=CONTENT_TYPE)

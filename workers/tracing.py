"""Tracing and the case on activity log lines.

Traces: OpenTelemetry, through temporalio's `TracingInterceptor` on the client (a worker inherits
its client's interceptors) and a span for each request to the intake, so that one trace runs from
a webhook's POST through the workflow's start or signal to every activity it runs. Off unless
SAKSFLYT_OTLP_ENDPOINT is set: then `interceptors` is empty and the intake gets no middleware, so
no span is made at all. The trace context travels in a Temporal header, `_tracer-data`, which the
codec does not seal: it holds only the W3C `traceparent` (ids, no case data).

Logs: `CaseLogContext` binds the workflow, its run and its case to structlog's context for an
activity's duration, so that every line the activity writes (its own, an adapter's, Temporal's)
names them, tracing on or off.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import opentelemetry.trace
import structlog
from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio import activity, client, worker
from temporalio.contrib.opentelemetry import TracingInterceptor

from domain import processes
from workers.settings import Settings

TRACES_PATH = "/v1/traces"
DEFAULT_SERVICE_NAME = "saksflyt"
tracer = opentelemetry.trace.get_tracer(__name__)  # the global provider's, once `install` set it


def tracer_provider(settings: Settings, exporter: SpanExporter | None = None) -> TracerProvider:
    """A provider that batches spans to the OTLP/HTTP collector at SAKSFLYT_OTLP_ENDPOINT (or to
    `exporter`, as tests do). Batched, so that a span never waits for the collector."""
    if exporter is None:
        exporter = OTLPSpanExporter(endpoint=traces_url(settings.otlp_endpoint))
    name = os.environ.get("OTEL_SERVICE_NAME") or DEFAULT_SERVICE_NAME
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: name}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def traces_url(endpoint: str) -> str:
    """The collector's traces URL: the setting is its base URL, as OTEL_EXPORTER_OTLP_ENDPOINT."""
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith(TRACES_PATH) else endpoint + TRACES_PATH


def install(settings: Settings) -> None:
    """Make the settings' provider the process's global one, once. A provider someone set before
    (`opentelemetry-instrument`, a test's in-memory one) is kept: OpenTelemetry allows one."""
    if not isinstance(opentelemetry.trace.get_tracer_provider(), TracerProvider):
        opentelemetry.trace.set_tracer_provider(tracer_provider(settings))


def interceptors(settings: Settings) -> list[client.Interceptor]:
    """The client's interceptors: Temporal's tracing when tracing is on, none when it is off."""
    if not settings.otlp_endpoint:
        return []
    install(settings)
    return [TracingInterceptor()]


# FastAPI's own telemetry, off for the intake whatever the settings (`HttpSpans` is ours): once
# a tracer provider is set it would name each request by its path as sent, which may hold the
# webhook secret, take baggage from any sender into Temporal's headers, and export exception
# messages past the log lines' masking.
FASTAPI_TELEMETRY: TelemetryConfig = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "auto_configure": False,
}


def instrument(app: FastAPI, settings: Settings) -> None:
    """A span for each request to the intake, when tracing is on; the outermost middleware, so
    that a refused request is traced too."""
    if not settings.otlp_endpoint:
        return
    # Imported here: workers.intake imports this module.
    from workers.intake.security import logged_path, route_path

    routes = app.router.routes  # the app's own list, filled as routes are added
    install(settings)
    app.add_middleware(HttpSpans, name=lambda scope: logged_path(routes, route_path(scope)))


class HttpSpans:
    """A server span for each HTTP request, named by its route's template, never by the path as
    sent (a webhook URL may hold the secret), and without its query string or headers. It joins
    a trace whose `traceparent` the request carries (a proxy's), and takes no baggage from it,
    since the context goes on into Temporal's history."""

    def __init__(self, app: ASGIApp, name: Callable[[Scope], str]) -> None:
        self.app = app
        self.name = name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = self.name(scope)
        method = str(scope["method"])
        parent = TraceContextTextMapPropagator().extract(_headers(scope))
        with tracer.start_as_current_span(
            f"{method} {route}",
            context=parent,
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "http.route": route},
        ) as span:

            async def send_with_status(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status = int(message["status"])
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_status(Status(StatusCode.ERROR))
                await send(message)

            await self.app(scope, receive, send_with_status)


def _headers(scope: Scope) -> dict[str, str]:
    return {
        bytes(name).decode("latin-1"): bytes(value).decode("latin-1")
        for name, value in scope["headers"]
    }


# Workflow id prefix → the process, and whether the rest of the id is the TOPdesk case number
# (the resignation's is the portal's form id).
PROCESSES: dict[str, tuple[str, bool]] = {
    f"{process.id_prefix}-": (process.name, not process.keyed_by_form_id)
    for process in processes.PROCESSES
}


def case_fields(info: activity.Info, args: Sequence[Any]) -> dict[str, str]:
    """What a log line of this activity names: `workflow_fields`, with the case number the
    activity's input names (`case_number`: the case it reads or writes) over the one in its
    workflow's id, and the trace when tracing is on."""
    fields = workflow_fields(info.workflow_id, info.workflow_run_id, info.activity_type)
    named = [arg.case_number for arg in args if isinstance(getattr(arg, "case_number", None), str)]
    if named and named[0]:
        fields["case_number"] = named[0]
    span = opentelemetry.trace.get_current_span().get_span_context()
    if span.is_valid:  # the RunActivity span
        fields["trace_id"] = opentelemetry.trace.format_trace_id(span.trace_id)
    return fields


def workflow_fields(
    workflow_id: str | None, run_id: str | None, activity_type: str | None
) -> dict[str, str]:
    """The workflow and its run, the activity, and the process and case number that the
    workflow's id names (a case's workflow id is `<process>-<case number>`); neither for a
    workflow of no case (the schedules')."""
    fields = {"workflow_id": workflow_id, "run_id": run_id, "activity": activity_type}
    for prefix, (process, is_case) in PROCESSES.items():
        if workflow_id and workflow_id.startswith(prefix):
            fields["process"] = process
            fields["case_number"] = workflow_id[len(prefix) :] if is_case else None
    return {key: value for key, value in fields.items() if value}


class CaseLogContext(worker.Interceptor):
    """The worker's interceptor that binds `case_fields` for each activity's duration. The
    binding reaches a synchronous activity's thread: the SDK runs it in a copy of the context."""

    def intercept_activity(
        self, next: worker.ActivityInboundInterceptor
    ) -> worker.ActivityInboundInterceptor:
        return _BindCase(next)


class _BindCase(worker.ActivityInboundInterceptor):
    async def execute_activity(self, input: worker.ExecuteActivityInput) -> Any:
        fields = case_fields(activity.info(), input.args)
        with structlog.contextvars.bound_contextvars(**fields):
            return await super().execute_activity(input)

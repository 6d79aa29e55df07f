"""Tracing and the case on activity log lines (workers/tracing.py).

On: a webhook posted to the intake over HTTP ends in one trace that runs from the POST through the
workflow's start to the SAP registration. Off: no interceptor, no middleware, no span. Tracing on
or off, every line an activity writes names its workflow, run and case.

OpenTelemetry allows one global tracer provider a process: this module sets one that keeps spans
in memory (unless a provider is set already), and it stays for the rest of the session, where
nothing makes a span with tracing off.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import opentelemetry.trace
import pytest
import structlog
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import SecretStr
from temporalio import activity
from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.testing import WorkflowEnvironment

from adapters.dfo.archive import ArchiveStub
from adapters.dfo.portal import PortalStub
from adapters.dfo.sap import SapStub
from adapters.dfo.spk import SpkStub
from adapters.topdesk.client import TopdeskClient
from domain.cases import WaitState
from tests.eventually import eventually
from tests.harness import COMPLETE_FORM, Harness
from tests.intake_server import served_here
from tests.scenarios_backfill import free_port
from workers import tracing
from workers.demo import submit_form
from workers.intake import create_app, new_hire_id
from workers.logging import configure_logging
from workers.quarantine import Quarantine
from workers.settings import Settings
from workers.temporal import connect
from workers.worker import Systems, build_worker

SECRET = "tracing-test-secret"
WEBHOOK_ROUTE = "POST /webhooks/topdesk/{secret}"


@pytest.fixture(scope="module")
def exported() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    """The process's tracer provider (made here by `tracer_provider`, as a process makes it from
    its settings), its spans kept in memory."""
    exporter = InMemorySpanExporter()
    provider = opentelemetry.trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        provider = tracing.tracer_provider(Settings(), exporter)
        opentelemetry.trace.set_tracer_provider(provider)
    yield provider, exporter
    exporter.clear()


def spans_of(exported: tuple[TracerProvider, InMemorySpanExporter]) -> list[ReadableSpan]:
    provider, exporter = exported
    provider.force_flush()
    return list(exporter.get_finished_spans())


def settings_on(env: WorkflowEnvironment, tmp_path: Path, otlp_endpoint: str = "") -> Settings:
    return Settings(
        temporal_address=env.client.service_client.config.target_host,
        task_queue=f"tracing-{uuid.uuid4()}",
        webhook_secret=SecretStr(SECRET),
        data_dir=tmp_path / "saksflyt",
        otlp_endpoint=otlp_endpoint,
    )


@asynccontextmanager
async def intake_serving(
    settings: Settings, client: Client, topdesk: TopdeskClient
) -> AsyncIterator[str]:
    """The intake over HTTP on loopback, in this event loop, starting cases with `client`."""

    async def connected() -> Client:
        return client

    quarantine = Quarantine(settings.data_dir / "quarantine.db")
    app = create_app(settings, connected, topdesk, quarantine)
    port = free_port()
    async with served_here(app, port) as url:
        yield url


@pytest.fixture
def activity_lines(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """The JSON log lines about an activity: written while it runs (as Temporal's activity
    context tells, not what the lines carry), and Temporal's own on its activity logger. The
    adapters log at DEBUG, so that each TOPdesk call writes one; `_logger` names the writer."""
    root = logging.getLogger()
    before = (root.level, root.handlers[:])
    configure_logging("json", logging.INFO)
    # No logger may keep this configuration once the test is over (later tests capture theirs).
    structlog.configure(cache_logger_on_first_use=False)
    logging.getLogger("adapters").setLevel(logging.DEBUG)
    handler = root.handlers[0]
    render = handler.format
    lines: list[dict[str, Any]] = []

    def format(record: logging.LogRecord) -> str:
        line = render(record)
        if activity.in_activity() or record.name == "temporalio.activity":
            lines.append({**json.loads(line), "_logger": record.name})
        return line

    monkeypatch.setattr(handler, "format", format)
    yield lines
    structlog.reset_defaults()
    root.setLevel(before[0])
    root.handlers[:] = before[1]
    logging.getLogger("adapters").setLevel(logging.NOTSET)


async def test_a_webhook_for_a_new_hire_ends_in_one_trace_down_to_the_sap_registration(
    env: WorkflowEnvironment,
    topdesk: TopdeskClient,
    sap: SapStub,
    spk: SpkStub,
    archive: ArchiveStub,
    portal: PortalStub,
    tmp_path: Path,
    exported: tuple[TracerProvider, InMemorySpanExporter],
    activity_lines: list[dict[str, Any]],
):
    exported[1].clear()
    settings = settings_on(env, tmp_path, otlp_endpoint="http://127.0.0.1:4318")
    client = await connect(settings)  # the one place a client is made: tracing comes with it
    assert [type(i) for i in client.config()["interceptors"]] == [TracingInterceptor]
    systems = Systems(topdesk, sap, spk, archive, portal)
    number = submit_form(topdesk, "Nyansettelse", COMPLETE_FORM)
    async with (
        build_worker(client, settings.task_queue, systems),
        intake_serving(settings, client, topdesk) as intake,
        httpx.AsyncClient() as http,
    ):
        answer = await http.post(
            f"{intake}/webhooks/topdesk/{SECRET}",
            json={"number": number, "event": "incident_created"},
        )
        assert answer.status_code == 202, answer.text
        await eventually(
            lambda: "RunActivity:sap.register_new_hire" in names(spans_of(exported)), timeout=20
        )
        await client.get_workflow_handle(new_hire_id(number)).terminate("test over")

    [post] = [s for s in spans_of(exported) if s.name == WEBHOOK_ROUTE]
    assert post.parent is None and post.attributes is not None
    assert post.attributes["http.response.status_code"] == 202
    trace = [s for s in spans_of(exported) if s.context.trace_id == post.context.trace_id]
    by_name = {s.name: s for s in trace}
    # The SDK's workflow spans are marks of no length: a workflow's activities hang under the
    # span that started the workflow, beside its RunWorkflow mark.
    parents = {
        "StartWorkflow:NewHire": WEBHOOK_ROUTE,
        "RunWorkflow:NewHire": "StartWorkflow:NewHire",
        "StartActivity:sap.register_new_hire": "StartWorkflow:NewHire",
        "RunActivity:sap.register_new_hire": "StartActivity:sap.register_new_hire",
        "RunActivity:topdesk.read_case": "StartActivity:topdesk.read_case",
    }
    assert set(parents) <= set(by_name), names(trace)
    for child, parent in parents.items():
        context = by_name[child].parent
        assert context is not None and context.span_id == by_name[parent].context.span_id, child
    # the webhook's secret is in the URL, but never in a span
    assert SECRET not in repr([(s.name, dict(s.attributes or {})) for s in spans_of(exported)])

    # every line an activity wrote names the case, and the trace it belongs to
    trace_id = opentelemetry.trace.format_trace_id(post.context.trace_id)
    assert activity_lines
    for line in activity_lines:
        assert line["workflow_id"] == new_hire_id(number), line
        assert line["case_number"] == number and line["trace_id"] == trace_id, line


async def test_with_tracing_off_no_interceptor_no_middleware_and_no_span(
    env: WorkflowEnvironment,
    topdesk: TopdeskClient,
    tmp_path: Path,
    exported: tuple[TracerProvider, InMemorySpanExporter],
):
    exported[1].clear()
    settings = settings_on(env, tmp_path)
    assert tracing.interceptors(settings) == []
    client = await connect(settings)
    assert client.config()["interceptors"] == []

    app = create_app(settings, lambda: connect(settings), topdesk, Quarantine(tmp_path / "q.db"))
    assert [m for m in app.user_middleware if m.cls is tracing.HttpSpans] == []
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as http:
        assert (await http.get("/healthz")).status_code == 200
        assert (await http.post(f"/webhooks/topdesk/{SECRET}x", json={})).status_code == 401
    # a tracer provider is set in this process, yet neither the app nor FastAPI made a span
    assert spans_of(exported) == []


async def test_every_line_an_activity_writes_names_its_workflow_run_and_case(
    h: Harness, activity_lines: list[dict[str, Any]]
):
    h.sap.inject_fault("unavailable", times=1)  # Temporal logs the failed attempt
    number = h.submit()
    handle = await h.start(number)
    await h.env_sleep(timedelta(seconds=10))  # the retry's back-off
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)

    case = {"workflow_id": handle.id, "run_id": handle.result_run_id, "case_number": number}
    for line in activity_lines:
        assert {key: line.get(key) for key in case} == case, line
        assert line["process"] == "new_hire" and "trace_id" not in line, line
    writers = {(line["_logger"], line["activity"]) for line in activity_lines}
    assert {
        ("adapters.topdesk.transport", "topdesk.read_case"),
        ("adapters.topdesk.transport", "topdesk.write_case"),
        ("temporalio.activity", "sap.register_new_hire"),
    } <= writers, writers


@pytest.mark.parametrize(
    ("workflow_id", "argument", "expected"),
    [
        ("new-hire-I2612-0001", None, {"process": "new_hire", "case_number": "I2612-0001"}),
        (
            "final-settlement-I2612-0002",
            None,
            {"process": "final_settlement", "case_number": "I2612-0002"},
        ),
        # the resignation's workflow id holds the portal's form id, not a case number
        ("resignation-F-77", None, {"process": "resignation"}),
        # the case an activity's input names wins: the one it reads or writes
        ("resignation-F-77", "I2612-0003", {"process": "resignation", "case_number": "I2612-0003"}),
        ("end-date-watch", "I2612-0004", {"case_number": "I2612-0004"}),
        ("end-date-watch", None, {}),
    ],
)
def test_the_case_is_found_in_the_input_else_in_the_workflow_id(
    workflow_id: str, argument: str | None, expected: dict[str, str]
):
    info: Any = SimpleNamespace(
        workflow_id=workflow_id, workflow_run_id="run-1", activity_type="topdesk.write"
    )
    args = [SimpleNamespace(case_number=argument)] if argument else [object()]
    assert tracing.case_fields(info, args) == {
        "workflow_id": workflow_id,
        "run_id": "run-1",
        "activity": "topdesk.write",
        **expected,
    }


def test_the_provider_from_the_settings_names_the_service(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    provider = tracing.tracer_provider(Settings(otlp_endpoint="http://127.0.0.1:4318"))
    assert provider.resource.attributes["service.name"] == "saksflyt"
    provider.shutdown()  # nothing was sent: no collector is needed here


def test_the_endpoint_setting_is_the_collectors_base_url():
    assert tracing.traces_url("http://collector:4318") == "http://collector:4318/v1/traces"
    assert tracing.traces_url("http://collector:4318/") == "http://collector:4318/v1/traces"
    assert tracing.traces_url("https://c/v1/traces") == "https://c/v1/traces"


def names(spans: list[ReadableSpan]) -> set[str]:
    return {span.name for span in spans}

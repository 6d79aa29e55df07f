"""The Temporal worker: wires adapters into activities and runs every workflow of saksflyt."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

import requests
import structlog
from requests.adapters import HTTPAdapter
from temporalio.client import Client
from temporalio.worker import (
    PollerBehaviorSimpleMaximum,
    UnsandboxedWorkflowRunner,
    Worker,
    WorkflowRunner,
)
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from activities.archive import ArchiveActivities
from activities.backfill import BackfillActivities, Intake
from activities.payroll import PayrollActivities
from activities.pension import PensionActivities
from activities.portal import PortalActivities
from activities.sealing import IdentifierSeal
from activities.topdesk import TopdeskActivities
from activities.visibility import VisibilityActivities
from adapters.dfo.archive import ArchivePort, ArchiveStub
from adapters.dfo.portal import PortalPort, PortalStub
from adapters.dfo.sap import PayrollPort, SapStub
from adapters.dfo.spk import PensionPort, SpkStub
from adapters.topdesk.client import TopdeskClient
from adapters.topdesk.port import TopdeskPort
from workers.metrics import CaseGauges, prometheus_runtime, refresh_every
from workers.settings import DEV_PSEUDONYM_KEY, Settings
from workers.temporal import connect
from workers.tracing import CaseLogContext
from workflows.backfill import Backfill
from workflows.came_back import CameBackWorkflow
from workflows.employment_change import EmploymentChangeWorkflow
from workflows.end_date_watch import EndDateWatch
from workflows.extension import ExtensionWorkflow
from workflows.final_settlement import FinalSettlementWorkflow
from workflows.internal_leave import InternalLeaveWorkflow
from workflows.new_hire import NewHireWorkflow
from workflows.pension import PensionWorkflow
from workflows.quarterly_follow_up import QuarterlyFollowUp
from workflows.radar import StuckCaseRadar
from workflows.resignation import ResignationWorkflow

WORKFLOWS: list[type] = [
    NewHireWorkflow,
    ExtensionWorkflow,
    FinalSettlementWorkflow,
    ResignationWorkflow,
    PensionWorkflow,
    EmploymentChangeWorkflow,
    InternalLeaveWorkflow,
    CameBackWorkflow,
    EndDateWatch,
    QuarterlyFollowUp,
    Backfill,
    StuckCaseRadar,
]
MAX_CONCURRENT_ACTIVITIES = 20
log = structlog.get_logger(__name__)


@dataclass
class Systems:
    """The external systems saksflyt talks to, each behind its port."""

    topdesk: TopdeskPort
    payroll: PayrollPort
    pension: PensionPort
    archive: ArchivePort
    portal: PortalPort
    # The intake itself, which the backfill posts lost webhooks to; without it the backfill's
    # sends fail for good (tests that never run a backfill leave it out).
    intake: Intake | None = None
    # The key of the employee's pseudonym in visibility (Settings.pseudonym_key).
    pseudonym_key: str = DEV_PSEUDONYM_KEY
    # What seals a form's identifiers where they are read and opens them for SAP (the codec's
    # keys; the dev keys unless given).
    seal: IdentifierSeal = field(default_factory=lambda: seal_of(Settings()))

    def activities(self, client: Client) -> list[Callable[..., Any]]:
        """Every activity of every system's activity class; Temporal's own visibility (the
        stuck-case radar reads it) through the worker's client."""
        groups = (
            TopdeskActivities(self.topdesk, self.seal),
            PayrollActivities(self.payroll, self.pseudonym_key, self.seal),
            PensionActivities(self.pension),
            ArchiveActivities(self.archive),
            PortalActivities(self.portal),
            BackfillActivities(self.topdesk, self.intake),
            VisibilityActivities(client),
        )
        return [
            getattr(group, name)
            for group in groups
            for name in dir(type(group))
            if hasattr(getattr(type(group), name), "__temporal_activity_definition")
        ]


def build_worker(client: Client, task_queue: str, systems: Systems, **options: Any) -> Worker:
    """A worker for `task_queue`; tests call this too, with their own adapters and options
    (`worker_tuning(settings)` among them: the SDK's defaults otherwise)."""
    # Activities are sync (requests, SQLite): one thread each, as many as may run at once.
    at_once = options.pop("max_concurrent_activities", MAX_CONCURRENT_ACTIVITIES)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=systems.activities(client),
        activity_executor=ThreadPoolExecutor(at_once),
        max_concurrent_activities=at_once,
        # Every activity's log lines name its workflow, run and case (the client's tracing, if
        # on, comes first: then they name the trace too).
        interceptors=[CaseLogContext(), *options.pop("interceptors", [])],
        **options,
    )


def workflow_runner(sandbox: Literal["off", "strict"]) -> WorkflowRunner:
    """Temporal's workflow sandbox, or none. The sandbox re-imports a workflow's modules for
    every run and enters its import context for every payload it converts: a third of the
    worker's CPU a case (`bench/case_throughput.py`, py-spy). What it guards, it guards only
    in modules it re-imports: passing saksflyt's own through (as the domain's and activities'
    always were) would keep its cost and drop its guard. So the worker runs without it, and
    the guard moves to the tests: they run "strict", the SDK's sandbox as it comes, through
    every path of every workflow, `tests/test_workflow_rules.py` reads the workflow modules for
    clocks, chance and I/O, and CI replays the recorded histories."""
    if sandbox == "off":
        return UnsandboxedWorkflowRunner()
    return SandboxedWorkflowRunner()


def worker_tuning(settings: Settings) -> dict[str, Any]:
    """The Worker options the settings tune (README, "Settings"), for `build_worker`; the bench
    gives its bare baseline the same ones, so a ratio compares code, not tuning."""
    return {
        "max_concurrent_workflow_tasks": settings.worker_max_concurrent_workflow_tasks,
        "max_concurrent_activities": settings.worker_max_concurrent_activities,
        "max_cached_workflows": settings.worker_max_cached_workflows,
        "workflow_task_poller_behavior": PollerBehaviorSimpleMaximum(
            settings.worker_workflow_pollers
        ),
        "activity_task_poller_behavior": PollerBehaviorSimpleMaximum(
            settings.worker_activity_pollers
        ),
        "workflow_runner": workflow_runner(settings.worker_sandbox),
    }


def systems_from(settings: Settings) -> Systems:
    return Systems(
        topdesk=TopdeskClient(
            settings.topdesk_url,
            settings.topdesk_login,
            settings.topdesk_app_password.get_secret_value(),
            session=pooled_session(settings.worker_max_concurrent_activities),
        ),
        payroll=SapStub(settings.sap_stub_path),
        pension=SpkStub(settings.spk_stub_path),
        archive=ArchiveStub(settings.archive_stub_path),
        portal=PortalStub(settings.portal_stub_path),
        intake=Intake(
            f"{settings.intake_url}/webhooks/topdesk",
            settings.webhook_secret.get_secret_value(),
            settings.webhook_secret_header,
            # signed only when the intake asks TOPdesk's events to be
            settings.webhook_hmac_key.get_secret_value()
            if "topdesk" in settings.webhook_hmac_sources
            else "",
        ),
        pseudonym_key=settings.pseudonym_key_for_use(),
        seal=seal_of(settings),
    )


def pooled_session(connections: int) -> requests.Session:
    """A session that keeps a connection for each activity thread: requests' default keeps 10,
    so with more threads each extra call opened (over TLS: a handshake) and dropped its own."""
    session = requests.Session()
    session.mount("https://", HTTPAdapter(pool_maxsize=connections))
    session.mount("http://", HTTPAdapter(pool_maxsize=connections))
    return session


def seal_of(settings: Settings) -> IdentifierSeal:
    return IdentifierSeal(settings.codec_keys_for_use(), settings.codec_active_key)


async def run(settings: Settings) -> None:
    """`saksflyt worker`: the worker, and its Prometheus endpoint (the SDK's metrics and the
    case gauges) unless `metrics_address` is empty. The metrics runtime is made before the
    client, so the SDK never makes a default one whose metrics no one scrapes."""
    runtime = prometheus_runtime(settings.metrics_address) if settings.metrics_address else None
    client = await connect(settings, runtime=runtime)
    tuning = worker_tuning(settings)
    async with build_worker(client, settings.task_queue, systems_from(settings), **tuning):
        if runtime is None:
            await asyncio.Event().wait()
            return
        log.info("metrics served", url=f"http://{settings.metrics_address}/metrics")
        await refresh_every(CaseGauges(runtime.metric_meter), client, settings)

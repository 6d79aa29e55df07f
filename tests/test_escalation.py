"""The escalation ladder (seed 000, "Avvikshåndtering") while a manager does not decide: user
support → case handling → process owner → head of the service centre, one rung at a time, each
exactly once per case, across worker restarts and replays. New hire is the simplest such case."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import timedelta
from pathlib import Path

from temporalio.client import WorkflowHandle

from domain.cases import ESCALATION_LADDER, CaseOutcome, WaitState
from tests.eventually import eventually
from tests.harness import Harness
from tests.scenarios_new_hire_more import escalated_then_approved, escalations
from workers.replay import replay_files
from workers.worker import Systems, build_worker
from workflows import search_attributes as sa
from workflows.new_hire import NewHireWorkflow

DAY = timedelta(days=1)


def levels(h: Harness, number: str) -> list[int]:
    """The rung of each escalation note, oldest first: «Avvik, eskalert til trinn N (...)»."""
    return [int(note.split("trinn ")[1].split(" ")[0]) for note in escalations(h, number)]


def group(h: Harness, number: str) -> str | None:
    incident = h.topdesk.get_incident(number)
    return incident.operator_group.name if incident.operator_group else None


async def level(handle: WorkflowHandle) -> tuple[int, int | None]:
    """The escalation level as the progress query and as the search attribute show it."""
    progress = await handle.query(NewHireWorkflow.progress)
    attributes = (await handle.describe()).typed_search_attributes
    return progress.escalation_level, attributes.get(sa.ESCALATION_LEVEL)


async def polls(handle: WorkflowHandle) -> int:
    """How often the case has asked SAP for the manager's decision."""
    history = await handle.fetch_history()
    return sum(
        1
        for event in history.events
        if event.HasField("activity_task_scheduled_event_attributes")
        and event.activity_task_scheduled_event_attributes.activity_type.name
        == "sap.approval_status"
    )


async def climbed_to(h: Harness, handle: WorkflowHandle, number: str, rung: int) -> None:
    """Wait until the case has climbed to `rung`, and check it did so one rung at a time."""
    await eventually(lambda: len(escalations(h, number)) >= rung, f"rung {rung}")
    assert levels(h, number) == list(range(1, rung + 1))
    assert group(h, number) == ESCALATION_LADDER[rung - 1]
    assert await level(handle) == (rung, rung)


async def idle(handle: WorkflowHandle, timeout: float = 15) -> None:
    """Wait until the workflow has nothing in flight, so that a worker can stop cleanly."""

    async def nothing_in_flight() -> bool:
        raw = (await handle.describe()).raw_description
        return not raw.pending_activities and not raw.HasField("pending_workflow_task")

    await eventually(nothing_in_flight, "the workflow to go idle", timeout=timeout)


async def test_a_manager_who_never_decides_escalates_one_rung_at_a_time_up_to_the_top(
    h: Harness,
):
    number = h.submit()
    handle = await h.start(number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    start_group = group(h, number)

    await h.env_sleep(h.timings.approval_reminder_after - DAY / 2)
    assert escalations(h, number) == [] and group(h, number) == start_group
    assert await level(handle) == (0, 0)  # shown at 0 from the start
    await h.env_sleep(DAY)  # 7½ days: the first rung
    await climbed_to(h, handle, number, 1)
    for rung in range(2, len(ESCALATION_LADDER) + 1):
        await h.env_sleep(h.timings.escalation_every)
        await climbed_to(h, handle, number, rung)

    asked = await polls(handle)
    await h.env_sleep(30 * DAY)
    await _polled(h, handle, asked + 25)
    assert levels(h, number) == [1, 2, 3, 4]  # never past the top
    assert "øverste trinn" in escalations(h, number)[-1]
    assert group(h, number) == ESCALATION_LADDER[-1]
    assert await level(handle) == (4, 4)


async def test_each_rung_fires_once_across_worker_restarts_and_replays(h: Harness, tmp_path: Path):
    assert h.portal is not None
    systems = Systems(h.topdesk, h.sap, h.spk, h.archive, h.portal)
    queue = f"restart-{uuid.uuid4()}"
    here = dataclasses.replace(h, task_queue=queue)  # shares `started`, so the test ends it
    number = h.submit()

    def worker():  # type: ignore[no-untyped-def]
        # max_cached_workflows=0: every workflow task replays the whole history first
        return build_worker(
            h.client,
            queue,
            systems,
            workflow_failure_exception_types=[Exception],
            max_cached_workflows=0,
        )

    async with worker():
        handle = await here.start(number)
        await here.wait_state(handle, WaitState.AWAITING_APPROVAL)
        await h.env_sleep(h.timings.approval_reminder_after + h.timings.escalation_every + DAY)
        await climbed_to(h, handle, number, 2)
        await idle(handle)
    async with worker():  # a new worker on the same task queue, after a restart or deploy
        await h.env_sleep(2 * h.timings.escalation_every)
        await climbed_to(h, handle, number, 4)
        asked = await polls(handle)
        await h.env_sleep(10 * DAY)
        await _polled(h, handle, asked + 8)
        await here.decide(handle)
        result = await handle.result()

    assert result.outcome is CaseOutcome.REGISTERED
    assert levels(h, number) == [1, 2, 3, 4]
    history = tmp_path / "escalated.json"
    history.write_text((await handle.fetch_history()).to_json())
    assert await replay_files([history]) == {}


async def test_an_approval_after_rung_2_completes_the_case_with_no_further_rungs(h: Harness):
    handle = await escalated_then_approved(h)
    result = await handle.result()
    number = result.case_number

    assert result.outcome is CaseOutcome.REGISTERED
    assert levels(h, number) == [1, 2]
    assert group(h, number) == ESCALATION_LADDER[1]
    assert h.topdesk.get_incident(number).completed


async def _polled(h: Harness, handle: WorkflowHandle, count: int) -> None:
    """Wait (in real time) until the case has asked SAP `count` times in all."""

    async def asked() -> bool:
        asked = await polls(handle)
        assert asked >= count, f"asked {asked} times"
        return True

    await eventually(asked, f"{count} polls of SAP", timeout=30)

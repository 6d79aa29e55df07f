"""The schedules of the end-date watch and the quarterly follow-up, on the Temporal dev server
(the time-skipping test server does not implement schedules: CreateSchedule is "unimplemented")."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import (
    Client,
    ScheduleActionExecutionStartWorkflow,
    ScheduleActionResult,
    ScheduleActionStartWorkflow,
    ScheduleDescription,
    ScheduleOverlapPolicy,
    ScheduleRange,
)
from temporalio.testing import WorkflowEnvironment

from adapters.dfo.archive import ArchiveStub
from adapters.dfo.portal import PortalStub
from adapters.dfo.sap import SapStub
from adapters.dfo.spk import SpkStub
from adapters.topdesk.client import TopdeskClient
from domain.cases import OSLO
from domain.follow_ups import plan_watch
from domain.payroll_calendar import PayrollCalendar
from tests.eventually import eventually
from workers.schedules import (
    BACKFILL,
    END_DATE_WATCH,
    QUARTERLY_FOLLOW_UP,
    RADAR,
    ensure_schedules,
)
from workers.settings import Settings
from workers.worker import Systems, build_worker
from workflows.end_date_watch import EndDateWatch


@pytest.fixture
def settings(dev_server: WorkflowEnvironment) -> Settings:
    return Settings(
        temporal_address=dev_server.client.service_client.config.target_host,
        task_queue=f"schedules-{uuid.uuid4()}",
    )


async def describe(client: Client, schedule_id: str) -> ScheduleDescription:
    return await client.get_schedule_handle(schedule_id).describe()


def action(description: ScheduleDescription) -> ScheduleActionStartWorkflow:
    started = description.schedule.action
    assert isinstance(started, ScheduleActionStartWorkflow)
    return started


def values(ranges: Any) -> set[int]:
    return {n for r in ranges for n in range(r.start, r.end + 1, r.step or 1)}


async def schedule_ids(client: Client, expected: int) -> list[str]:
    """The schedules the server lists (its visibility lags a creation a little)."""

    async def listed() -> list[str]:
        ids = sorted([schedule.id async for schedule in await client.list_schedules()])
        assert len(ids) >= expected, f"the server lists {ids}"
        return ids

    return await eventually(listed, f"{expected} schedules listed")


async def test_ensure_creates_both_schedules_in_norwegian_time_skipping_overlaps(
    dev_server: WorkflowEnvironment, settings: Settings
):
    client = dev_server.client
    done = await ensure_schedules(client, settings)

    assert done == [
        f"{END_DATE_WATCH}: opprettet",
        f"{QUARTERLY_FOLLOW_UP}: opprettet",
        f"{BACKFILL}: opprettet",
        f"{RADAR}: opprettet",
    ]
    watch = await describe(client, END_DATE_WATCH)
    follow_up = await describe(client, QUARTERLY_FOLLOW_UP)
    for description, workflow_type in ((watch, "EndDateWatch"), (follow_up, "QuarterlyFollowUp")):
        spec, policy = description.schedule.spec, description.schedule.policy
        assert spec.time_zone_name == "Europe/Oslo"
        assert policy.overlap is ScheduleOverlapPolicy.SKIP
        assert policy.catchup_window == timedelta(days=1)
        assert action(description).workflow == workflow_type
        assert action(description).task_queue == settings.task_queue
    [monthly] = watch.schedule.spec.calendars
    assert monthly.day_of_month == (ScheduleRange(1),) and monthly.hour == (ScheduleRange(6),)
    assert values(monthly.month) == set(range(1, 13))
    [quarterly] = follow_up.schedule.spec.calendars
    assert values(quarterly.month) == {1, 4, 7, 10} and quarterly.hour == (ScheduleRange(7),)
    # the next starts, in Norwegian time, summer and winter alike
    for moment in watch.info.next_action_times[:12]:
        local = moment.astimezone(OSLO)
        assert (local.day, local.hour, local.minute) == (1, 6, 0)
    for moment in follow_up.info.next_action_times[:4]:
        local = moment.astimezone(OSLO)
        assert (local.month in {1, 4, 7, 10}, local.day, local.hour) == (True, 1, 7)


async def test_ensuring_again_updates_the_schedules_and_duplicates_nothing(
    dev_server: WorkflowEnvironment, settings: Settings
):
    client = dev_server.client
    await ensure_schedules(client, settings)
    moved = settings.model_copy(update={"task_queue": f"{settings.task_queue}-moved"})
    done = await ensure_schedules(client, moved)

    assert done == [
        f"{END_DATE_WATCH}: oppdatert",
        f"{QUARTERLY_FOLLOW_UP}: oppdatert",
        f"{BACKFILL}: oppdatert",
        f"{RADAR}: oppdatert",
    ]
    assert await schedule_ids(client, 4) == sorted(
        [END_DATE_WATCH, QUARTERLY_FOLLOW_UP, BACKFILL, RADAR]
    )
    for schedule_id in (END_DATE_WATCH, QUARTERLY_FOLLOW_UP):
        assert action(await describe(client, schedule_id)).task_queue == moved.task_queue


async def test_a_schedule_an_operator_paused_stays_paused_when_ensured_again(
    dev_server: WorkflowEnvironment, settings: Settings
):
    client = dev_server.client
    await ensure_schedules(client, settings)
    await client.get_schedule_handle(END_DATE_WATCH).pause(note="lønnskjøring flyttet")
    await ensure_schedules(client, settings)

    assert (await describe(client, END_DATE_WATCH)).schedule.state.paused
    assert not (await describe(client, QUARTERLY_FOLLOW_UP)).schedule.state.paused


async def started_by(client: Client, schedule_id: str) -> str:
    """Trigger the schedule now; the id of the workflow it started."""
    handle = client.get_schedule_handle(schedule_id)
    await handle.trigger()

    async def recent() -> list[ScheduleActionResult]:
        return (await handle.describe()).info.recent_actions

    started = (await eventually(recent, f"{schedule_id} to start a workflow"))[-1].action
    assert isinstance(started, ScheduleActionExecutionStartWorkflow)
    return started.workflow_id


async def test_the_workflows_a_schedule_starts_run_on_the_worker_and_plan_from_its_start(
    dev_server: WorkflowEnvironment,
    settings: Settings,
    topdesk: TopdeskClient,
    sap: SapStub,
    spk: SpkStub,
    archive: ArchiveStub,
    portal: PortalStub,
):
    client = dev_server.client
    await ensure_schedules(client, settings)
    systems = Systems(topdesk, sap, spk, archive, portal)
    async with build_worker(client, settings.task_queue, systems):
        watch_id = await started_by(client, END_DATE_WATCH)
        watch = client.get_workflow_handle_for(EndDateWatch.run, watch_id)
        plan = await watch.query(EndDateWatch.plan)
        description = await watch.describe()
        follow_up_id = await started_by(client, QUARTERLY_FOLLOW_UP)
        follow_up = await asyncio.wait_for(client.get_workflow_handle(follow_up_id).result(), 30)
        radar_id = await started_by(client, RADAR)
        radar = await asyncio.wait_for(client.get_workflow_handle(radar_id).result(), 30)
        await watch.terminate("test over")  # it would sleep until its watch day

    assert watch_id.startswith(f"{END_DATE_WATCH}-")
    started_on = description.start_time.astimezone(OSLO).date()
    assert plan == plan_watch(PayrollCalendar(), started_on, 2)
    assert plan.watch_day >= started_on
    assert follow_up_id.startswith(f"{QUARTERLY_FOLLOW_UP}-")
    assert follow_up["cases"] == [] and follow_up["in_report"] == 0
    # no case is open, so the radar's run (at its scheduled time) flags none
    assert radar_id.startswith(f"{RADAR}-") and radar["flagged"] == {}

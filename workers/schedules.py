"""The Temporal Schedules of the processes the service centre starts itself (seed 001, "Annen
fratredelse"): the end-date watch before every payroll run, and the quarterly follow-up; and the
backfill of webhooks that never came (issue 4).

    end-date-watch        the 1st of every month, 06:00 Norwegian time; the workflow then sleeps
                          until its watch day, a few working days before that month's cut-off
    quarterly-follow-up   1 January, April, July and October, 07:00 Norwegian time
    topdesk-backfill      every 15 minutes: the TOPdesk cases whose webhook never came
                          (workflows/backfill.py), of the categories the intake routes

All skip a start while the previous run still runs. The two monthly ones catch up a start missed
by at most a day (a cluster down over the night of the 1st); the backfill needs no catching up,
since each run starts where the last completed one listed, and so catches up at most one start.
`ensure_schedules` creates them, or updates them to this spec when they exist, so `saksflyt
schedules` and `saksflyt dev` may run it every time. An update keeps the schedule's state: a
schedule an operator paused stays paused.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from domain.backfill import EVERY, BackfillInput
from domain.follow_ups import EndDateWatchInput, QuarterlyFollowUpInput
from workers.routing import ROUTES
from workers.settings import Settings
from workflows.backfill import Backfill
from workflows.end_date_watch import EndDateWatch
from workflows.quarterly_follow_up import QuarterlyFollowUp
from workflows.radar import RadarInput, StuckCaseRadar

END_DATE_WATCH = "end-date-watch"
QUARTERLY_FOLLOW_UP = "quarterly-follow-up"
BACKFILL = "topdesk-backfill"
RADAR = "stuck-case-radar"
TIME_ZONE = "Europe/Oslo"
CATCHUP_WINDOW = timedelta(days=1)
POLICY = SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=CATCHUP_WINDOW)
QUARTER_MONTHS = (1, 4, 7, 10)


def _at(hour: int, months: tuple[int, ...] = ()) -> ScheduleSpec:
    """The 1st of the month (of `months`, or of every month) at `hour`:00 Norwegian time."""
    calendar = ScheduleCalendarSpec(
        second=[ScheduleRange(0)],
        minute=[ScheduleRange(0)],
        hour=[ScheduleRange(hour)],
        day_of_month=[ScheduleRange(1)],
        month=[ScheduleRange(month) for month in months] or [ScheduleRange(1, 12)],
    )
    return ScheduleSpec(calendars=[calendar], time_zone_name=TIME_ZONE)


def end_date_watch_schedule(task_queue: str, input: EndDateWatchInput | None = None) -> Schedule:
    """The watch starts on the 1st; its workflow id is the schedule's, plus the start time."""
    return Schedule(
        action=ScheduleActionStartWorkflow(
            EndDateWatch.run, input or EndDateWatchInput(), id=END_DATE_WATCH, task_queue=task_queue
        ),
        spec=_at(6),
        policy=POLICY,
    )


def quarterly_follow_up_schedule(
    task_queue: str, input: QuarterlyFollowUpInput | None = None
) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            QuarterlyFollowUp.run,
            input or QuarterlyFollowUpInput(),
            id=QUARTERLY_FOLLOW_UP,
            task_queue=task_queue,
        ),
        spec=_at(7, QUARTER_MONTHS),
        policy=POLICY,
    )


def backfill_schedule(task_queue: str, input: BackfillInput | None = None) -> Schedule:
    """Every 15 minutes, for the categories the intake routes (other cases would only be
    quarantined, every run)."""
    return Schedule(
        action=ScheduleActionStartWorkflow(
            Backfill.run,
            input or BackfillInput(categories=sorted(ROUTES)),
            id=BACKFILL,
            task_queue=task_queue,
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=EVERY)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=EVERY),
    )


def radar_schedule(task_queue: str, settings: Settings) -> Schedule:
    """Every `radar_every_minutes`, with the limits and targets of the settings (re-run
    `saksflyt schedules` after changing them)."""
    every = timedelta(minutes=settings.radar_every_minutes)
    return Schedule(
        action=ScheduleActionStartWorkflow(
            StuckCaseRadar.run,
            RadarInput(wait_limits=settings.wait_limits, sla_targets=settings.sla_targets),
            id=RADAR,
            task_queue=task_queue,
            static_summary="Radar: saker som har ventet over grensen",
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=every),
    )


async def ensure_schedules(
    client: Client,
    settings: Settings,
    watch: EndDateWatchInput | None = None,
    follow_up: QuarterlyFollowUpInput | None = None,
    backfill: BackfillInput | None = None,
) -> list[str]:
    """Create every schedule, or bring existing ones up to this spec; returns what was done, one
    line per schedule. Running it twice is harmless."""
    wanted = {
        END_DATE_WATCH: end_date_watch_schedule(settings.task_queue, watch),
        QUARTERLY_FOLLOW_UP: quarterly_follow_up_schedule(settings.task_queue, follow_up),
        BACKFILL: backfill_schedule(settings.task_queue, backfill),
        RADAR: radar_schedule(settings.task_queue, settings),
    }
    done = []
    for schedule_id, schedule in wanted.items():
        try:
            await client.create_schedule(schedule_id, schedule)
            done.append(f"{schedule_id}: opprettet")
        except ScheduleAlreadyRunningError:
            await client.get_schedule_handle(schedule_id).update(_replace_keeping_state(schedule))
            done.append(f"{schedule_id}: oppdatert")
    return done


def _replace_keeping_state(
    schedule: Schedule,
) -> Callable[[ScheduleUpdateInput], ScheduleUpdate]:
    def update(current: ScheduleUpdateInput) -> ScheduleUpdate:
        state = current.description.schedule.state
        return ScheduleUpdate(schedule=dataclasses.replace(schedule, state=state))

    return update

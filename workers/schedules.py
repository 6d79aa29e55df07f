"""The Temporal Schedules of the processes the service centre starts itself (seed 001, "Annen
fratredelse"): the end-date watch before every payroll run, and the quarterly follow-up.

    end-date-watch        the 1st of every month, 06:00 Norwegian time; the workflow then sleeps
                          until its watch day, a few working days before that month's cut-off
    quarterly-follow-up   1 January, April, July and October, 07:00 Norwegian time

Both skip a start while the previous run still runs, and catch up a start missed by at most a
day (a cluster down over the night of the 1st). `ensure_schedules` creates them, or updates them
to this spec when they exist, so `saksflyt schedules` and `saksflyt dev` may run it every time.
An update keeps the schedule's state: a schedule an operator paused stays paused.
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
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from domain.follow_ups import EndDateWatchInput, QuarterlyFollowUpInput
from workers.settings import Settings
from workflows.end_date_watch import EndDateWatch
from workflows.quarterly_follow_up import QuarterlyFollowUp

END_DATE_WATCH = "end-date-watch"
QUARTERLY_FOLLOW_UP = "quarterly-follow-up"
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


async def ensure_schedules(
    client: Client,
    settings: Settings,
    watch: EndDateWatchInput | None = None,
    follow_up: QuarterlyFollowUpInput | None = None,
) -> list[str]:
    """Create both schedules, or bring existing ones up to this spec; returns what was done, one
    line per schedule. Running it twice is harmless."""
    wanted = {
        END_DATE_WATCH: end_date_watch_schedule(settings.task_queue, watch),
        QUARTERLY_FOLLOW_UP: quarterly_follow_up_schedule(settings.task_queue, follow_up),
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

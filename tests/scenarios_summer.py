"""The summer rule's path for the replay corpus (seed 002): a question asked before the summer
period, which waits on hold through it and is asked again after it, then answered."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from temporalio.client import WorkflowHandle

from domain.calendar_day import norwegian_day
from domain.cases import CaseTimings, WaitState
from domain.summer import SummerPeriod, summer_window
from tests.harness import Harness, form_without


async def summer_from_now(h: Harness, first: int, last: int) -> SummerPeriod:
    """A summer period from `first` to `last` days after the test server's Norwegian day: the
    server starts at the real date, so the tests run on any day of the year."""
    today = norwegian_day(await h.env.get_current_time())
    return SummerPeriod(first=_day_month(today, first), last=_day_month(today, last))


def _day_month(today: date, days: int) -> str:
    day = today + timedelta(days=days)
    if (day.month, day.day) == (2, 29):  # no yearly period names it: the day after
        day += timedelta(days=1)
    return f"{day:%d.%m}"


async def window(h: Harness, period: SummerPeriod) -> tuple[datetime, datetime]:
    return summer_window(period, await h.env.get_current_time())


async def sleep_until(h: Harness, moment: datetime) -> None:
    """Let the test server's clock pass `moment` by a minute."""
    await h.env_sleep(moment - await h.env.get_current_time() + timedelta(minutes=1))


async def on_hold_through_the_summer(h: Harness) -> WorkflowHandle:
    h.timings = CaseTimings(summer=await summer_from_now(h, 3, 6))
    start, end = await window(h, h.timings.summer)  # type: ignore[arg-type]
    number = h.submit(form_without("Kontonummer"))
    handle = await h.start(number)
    await h.wait_state(handle, WaitState.AWAITING_CALLER)  # "Venter på bruker", before it
    await sleep_until(h, start)
    await h.wait_replies(number, 3)  # receipt, question, then told it waits on hold
    await sleep_until(h, end)
    await h.wait_replies(number, 4)  # asked again, with a full answer period
    await h.wait_state(handle, WaitState.AWAITING_CALLER)
    await h.reply(handle, number, "Kontonummer: 8601 11 17947")
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await h.decide(handle)
    await handle.result()
    return handle


SCENARIOS = {"new_hire/on_hold_through_the_summer": on_hold_through_the_summer}

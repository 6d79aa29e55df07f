"""A final settlement registered after its run's cut-off belongs to the next run (issue 13, item
5): the end date picks the month after (seed 001), the registration day picks whether that run
still takes it (dfo-domain.md §6.4), and the caller is told the run that pays."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from hypothesis import given
from hypothesis import strategies as st

from domain.calendar_day import OSLO
from domain.cases import WaitState
from domain.final_settlement import moved_reply, on_hold_reply
from domain.forms import format_date
from domain.payroll_calendar import (
    PayrollCalendar,
    add_working_days,
    is_working_day,
    pay_day,
    settlement_pay_day,
)
from tests.harness import SETTLEMENT_FORM, Harness
from tests.test_final_settlement import end_date

CALENDAR = PayrollCalendar()
END_OF_APRIL = date(2027, 4, 30)
MAY_RUN, JUNE_RUN = date(2027, 5, 12), date(2027, 6, 11)  # 12.06.2027 is a Saturday


def test_mays_cut_off_in_2027_is_the_26th_of_april():
    assert CALENDAR.cutoff(2027, 5) == date(2027, 4, 26)


def test_a_settlement_registered_after_the_cut_off_is_paid_with_the_next_run():
    assert CALENDAR.settlement_run(END_OF_APRIL, registered_on=date(2027, 5, 3)) == JUNE_RUN
    assert CALENDAR.settlement_run(END_OF_APRIL, registered_on=date(2027, 4, 27)) == JUNE_RUN


def test_a_settlement_registered_on_the_cut_off_day_makes_the_month_after():
    assert CALENDAR.settlement_run(END_OF_APRIL, registered_on=date(2027, 4, 26)) == MAY_RUN


def test_a_settlement_registered_well_ahead_waits_for_the_month_after_the_end_date():
    assert CALENDAR.settlement_run(END_OF_APRIL, registered_on=date(2027, 1, 4)) == MAY_RUN


def test_a_late_settlement_for_november_rolls_into_january():
    assert CALENDAR.cutoff(2026, 12) == date(2026, 11, 26)
    late = CALENDAR.settlement_run(date(2026, 11, 30), registered_on=date(2026, 11, 27))
    assert late == date(2027, 1, 12)


@given(
    end_date=st.dates(date(2024, 1, 1), date(2030, 12, 31)),
    registered_after=st.integers(-120, 120),
)
def test_the_run_is_the_first_that_both_the_end_date_and_the_cut_off_allow(
    end_date: date, registered_after: int
):
    registered_on = end_date + timedelta(days=registered_after)
    run = CALENDAR.settlement_run(end_date, registered_on)

    assert run == pay_day(run.year, run.month) and is_working_day(run)
    assert run >= settlement_pay_day(end_date)
    assert CALENDAR.cutoff(run.year, run.month) >= registered_on  # the run still takes it
    if run > settlement_pay_day(end_date):  # a later run only when the month after was closed
        due = settlement_pay_day(end_date)
        assert CALENDAR.cutoff(due.year, due.month) < registered_on
        assert run == CALENDAR.run_for_registration(registered_on)


def test_the_caller_is_told_the_later_run_and_why():
    reply = on_hold_reply(END_OF_APRIL, JUNE_RUN)
    assert "lønnskjøringen 11.06.2027" in reply
    assert "Fristen for lønnskjøringen 12.05.2027" in reply and "30.04.2027" in reply


def test_a_moved_end_date_registered_late_tells_the_later_run_too():
    reply = moved_reply(END_OF_APRIL, JUNE_RUN)
    assert "endret til 30.04.2027" in reply and "lønnskjøringen 11.06.2027" in reply
    assert "Fristen" in reply


def test_a_settlement_in_time_is_told_the_month_after_as_before():
    reply = on_hold_reply(END_OF_APRIL, MAY_RUN)
    assert "lønnskjøringen 12.05.2027, måneden etter sluttdatoen 30.04.2027" in reply
    assert "Fristen" not in reply


async def test_the_workflow_registers_a_late_form_for_the_next_run_and_says_so(h: Harness):
    """The issue's example (end date 30.04.2027, the form sent on 03.05.2027 at 10:00 in Norway)
    moved ahead of the test server's clock, which starts at the real date: the end date two
    months on, the form sent the first working day after it."""
    end = await end_date(h)
    sent = datetime.combine(add_working_days(end, 1), time(10), tzinfo=OSLO)
    late_run = CALENDAR.next_pay_day(settlement_pay_day(end))
    await h.env_sleep(sent - await h.env.get_current_time())
    number = h.submit_settlement(SETTLEMENT_FORM.replace("31.01.2027", format_date(end)))
    handle = await h.start_settlement(number)
    await h.wait_state(handle, WaitState.AWAITING_PAYROLL)

    [settlement] = h.sap.settlements()
    assert settlement.utbetales == late_run
    assert f"lønnskjøringen {format_date(late_run)}" in h.replies(number)[-1]

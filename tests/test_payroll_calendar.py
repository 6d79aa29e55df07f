"""The state payroll calendar: pay days, cut-offs and working-day arithmetic, checked against real
calendars and, with hypothesis, over every month from 2000 to 2100."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from temporalio import workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from domain.payroll_calendar import (
    PayrollCalendar,
    _public_holidays,
    add_working_days,
    is_working_day,
    pay_day,
    working_days_between,
)

CALENDAR = PayrollCalendar()

days = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))
months = st.tuples(st.integers(2000, 2100), st.integers(1, 12))
steps = st.integers(-300, 300)
calendars = st.builds(PayrollCalendar, cutoff_working_days_before_pay_day=st.integers(1, 30))

# Enough examples to meet every kind of month many times; the whole file stays around a second.
quick = settings(max_examples=150, deadline=None)


def twelfth(year: int, month: int) -> date:
    return date(year, month, 12)


def near(anchor: date, other: date) -> date:
    """A day within 200 days of `anchor`, chosen by `other`: walking a century only tests speed."""
    return anchor + timedelta(days=(other - anchor).days % 400 - 200)


# -- working days ---------------------------------------------------------------------------


def test_weekends_are_not_working_days():
    assert is_working_day(date(2025, 10, 10))  # Friday
    assert not is_working_day(date(2025, 10, 11))  # Saturday
    assert not is_working_day(date(2025, 10, 12))  # Sunday


@pytest.mark.parametrize(
    "holiday",
    [
        date(2026, 1, 1),  # Første nyttårsdag, Thursday
        date(2026, 4, 2),  # Skjærtorsdag
        date(2026, 4, 3),  # Langfredag
        date(2026, 4, 6),  # Andre påskedag
        date(2026, 5, 1),  # Arbeidernes dag, Friday
        date(2026, 5, 14),  # Kristi himmelfartsdag
        date(2026, 5, 25),  # Andre pinsedag
        date(2027, 5, 17),  # Grunnlovsdag, Monday
        date(2026, 12, 25),  # Første juledag, Friday
        date(2025, 12, 26),  # Andre juledag, Friday
    ],
)
def test_norwegian_public_holidays_are_not_working_days(holiday: date):
    assert holiday.weekday() < 5
    assert not is_working_day(holiday)


@pytest.mark.parametrize(
    "ordinary",
    [date(2026, 12, 24), date(2026, 12, 31), date(2026, 4, 1), date(2026, 5, 18)],
)
def test_christmas_eve_new_years_eve_and_the_days_around_holidays_are_working_days(
    ordinary: date,
):
    assert is_working_day(ordinary)


@given(days)
@quick
def test_a_working_day_is_a_weekday_that_the_holidays_package_does_not_list(day: date):
    listed = day in holidays.Norway(years=day.year, include_sundays=False)
    assert is_working_day(day) == (day.weekday() < 5 and not listed)


def test_adding_working_days_skips_weekends_and_easter():
    # Wednesday before Easter 2026 → Tuesday after Easter Monday.
    assert add_working_days(date(2026, 4, 1), 1) == date(2026, 4, 7)
    assert add_working_days(date(2026, 4, 7), -1) == date(2026, 4, 1)
    assert add_working_days(date(2026, 5, 15), 1) == date(2026, 5, 18)  # Friday → Monday


def test_adding_working_days_skips_constitution_day():
    # 17 May 2027 is a Monday: Friday 14 May + 1 working day is Tuesday 18 May.
    assert add_working_days(date(2027, 5, 14), 1) == date(2027, 5, 18)
    assert working_days_between(date(2027, 5, 14), date(2027, 5, 18)) == 1


def test_adding_zero_working_days_does_not_move_even_from_a_weekend():
    assert add_working_days(date(2025, 10, 11), 0) == date(2025, 10, 11)
    assert add_working_days(date(2025, 10, 10), 0) == date(2025, 10, 10)


def test_walking_back_from_a_weekend_is_the_one_case_that_does_not_round_trip():
    saturday = date(2025, 10, 11)
    assert add_working_days(saturday, -1) == date(2025, 10, 10)
    assert working_days_between(saturday, date(2025, 10, 10)) == 0


def test_working_days_between_counts_the_end_but_not_the_start():
    friday, monday = date(2025, 10, 10), date(2025, 10, 13)
    assert working_days_between(friday, monday) == 1
    assert working_days_between(monday, friday) == -1
    assert working_days_between(friday, friday) == 0
    # Christmas 2025: 22, 23, 24 Dec work; 25, 26 Dec and 1 Jan are holidays; 29, 30, 31 Dec
    # and Friday 2 Jan work.
    assert working_days_between(date(2025, 12, 19), date(2026, 1, 2)) == 7


@given(days, steps)
@quick
def test_adding_working_days_lands_on_a_working_day_in_the_right_direction(day: date, n: int):
    result = add_working_days(day, n)
    if n == 0:
        assert result == day
    else:
        assert is_working_day(result)
        assert (result > day) == (n > 0)


@given(days, steps)
@quick
def test_working_days_between_undoes_adding_from_a_working_day(day: date, n: int):
    start = add_working_days(day, 1)  # any working day
    assert working_days_between(start, add_working_days(start, n)) == n


@given(days, st.integers(0, 300))
@quick
def test_working_days_between_undoes_adding_forward_from_any_day(day: date, n: int):
    assert working_days_between(day, add_working_days(day, n)) == n


@given(days, days)
@quick
def test_adding_the_count_between_two_working_days_reaches_the_second(a: date, b: date):
    start = add_working_days(a, 1)
    target = add_working_days(near(start, b), 1)
    assert add_working_days(start, working_days_between(start, target)) == target


@given(days, days, days)
@quick
def test_working_days_between_is_a_distance_that_adds_up(a: date, b: date, c: date):
    b, c = near(a, b), near(a, c)
    assert working_days_between(a, b) == -working_days_between(b, a)
    assert working_days_between(a, b) + working_days_between(b, c) == working_days_between(a, c)


# -- pay day -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "month", "expected", "why"),
    [
        (2026, 1, date(2026, 1, 12), "the 12th is a Monday"),
        (2025, 10, date(2025, 10, 10), "Sunday 12 October → Friday"),
        (2026, 4, date(2026, 4, 10), "Sunday 12 April → Friday"),
        (2024, 5, date(2024, 5, 10), "Sunday 12 May → Friday, past Ascension on Thursday the 9th"),
        (2023, 3, date(2023, 3, 10), "NTNU's 2023 plan: March pay on Friday the 10th"),
        (2001, 4, date(2001, 4, 11), "Maundy Thursday 12 April → Wednesday"),
        (
            2004,
            4,
            date(2004, 4, 7),
            "Easter Monday the 12th, Good Friday and Maundy Thursday before",
        ),
        (2000, 6, date(2000, 6, 9), "Whit Monday 12 June → Friday"),
        (2047, 4, date(2047, 4, 10), "Good Friday the 12th, Maundy Thursday the 11th → Wednesday"),
        (2067, 5, date(2067, 5, 11), "Ascension Day 12 May → Wednesday"),
    ],
)
def test_pay_day_is_the_12th_or_the_last_working_day_before(
    year: int, month: int, expected: date, why: str
):
    assert pay_day(year, month) == expected, why


@given(months)
@quick
def test_pay_day_is_the_last_working_day_on_or_before_the_12th(month: tuple[int, int]):
    paid = pay_day(*month)
    assert is_working_day(paid)
    assert (paid.year, paid.month) == month
    assert paid <= twelfth(*month)
    # No working day lies after pay day up to and including the 12th.
    assert working_days_between(paid, twelfth(*month)) == 0


# -- cut-off and the run a registration makes --------------------------------------------------


def test_the_default_cutoff_reproduces_ntnus_2023_plan():
    # dfo-domain.md §2: submit by 26 Jan for 10 Feb, by 23 Feb for the March run (10 Mar).
    assert CALENDAR.cutoff(2023, 2) == date(2023, 1, 26)
    assert CALENDAR.cutoff(2023, 3) == date(2023, 2, 23)


def test_a_registration_on_the_cutoff_day_makes_that_run_and_the_next_day_misses_it():
    assert CALENDAR.run_for_registration(date(2023, 1, 26)) == date(2023, 2, 10)
    assert CALENDAR.run_for_registration(date(2023, 1, 27)) == date(2023, 3, 10)


def test_a_registration_before_the_cutoff_makes_that_run():
    # March 2026: pay day Thursday the 12th, cut-off 11 working days earlier on 25 February.
    assert CALENDAR.cutoff(2026, 3) == date(2026, 2, 25)
    assert CALENDAR.run_for_registration(date(2026, 2, 20)) == date(2026, 3, 12)
    assert CALENDAR.run_for_registration(date(2026, 3, 2)) == date(2026, 4, 10)


def test_with_a_short_cutoff_an_early_registration_makes_the_same_months_run():
    calendar = PayrollCalendar(cutoff_working_days_before_pay_day=3)
    assert calendar.run_for_registration(date(2026, 3, 2)) == date(2026, 3, 12)


def test_a_registration_after_the_december_cutoff_lands_in_january():
    # Pay day 11 December 2026 (the 12th is a Saturday); 11 working days earlier is 26 November.
    assert pay_day(2026, 12) == date(2026, 12, 11)
    assert CALENDAR.cutoff(2026, 12) == date(2026, 11, 26)
    assert CALENDAR.run_for_registration(date(2026, 11, 27)) == date(2027, 1, 12)


def test_the_cutoff_is_configurable():
    assert PayrollCalendar(cutoff_working_days_before_pay_day=5).cutoff(2023, 2) == date(2023, 2, 3)


@pytest.mark.parametrize("value", [0, -3])
def test_a_cutoff_on_or_after_pay_day_is_refused(value: int):
    with pytest.raises(ValidationError):
        PayrollCalendar(cutoff_working_days_before_pay_day=value)


def test_the_calendar_is_immutable_and_survives_a_workflow_payload_round_trip():
    calendar = PayrollCalendar(cutoff_working_days_before_pay_day=7)
    assert PayrollCalendar.model_validate_json(calendar.model_dump_json()) == calendar
    with pytest.raises(ValidationError):
        calendar.cutoff_working_days_before_pay_day = 3  # type: ignore[misc]


@given(calendars, months)
@quick
def test_the_cutoff_is_a_working_day_the_configured_count_before_pay_day(
    calendar: PayrollCalendar, month: tuple[int, int]
):
    cutoff = calendar.cutoff(*month)
    assert is_working_day(cutoff)
    assert cutoff < pay_day(*month)
    assert working_days_between(cutoff, pay_day(*month)) == (
        calendar.cutoff_working_days_before_pay_day
    )


@given(calendars, days)
@quick
def test_a_registration_makes_the_first_run_whose_cutoff_has_not_passed(
    calendar: PayrollCalendar, registered_on: date
):
    paid = calendar.run_for_registration(registered_on)
    assert paid > registered_on
    assert paid == pay_day(paid.year, paid.month)
    assert calendar.cutoff(paid.year, paid.month) >= registered_on
    previous = (paid.year - 1, 12) if paid.month == 1 else (paid.year, paid.month - 1)
    assert calendar.cutoff(*previous) < registered_on


@given(calendars, days, days)
@quick
def test_a_later_registration_never_makes_an_earlier_run(
    calendar: PayrollCalendar, first: date, second: date
):
    earlier, later = sorted((first, near(first, second)))
    assert calendar.run_for_registration(earlier) <= calendar.run_for_registration(later)


# -- final settlement and the next pay day ----------------------------------------------------


def test_a_final_settlement_is_paid_in_the_run_of_the_month_after_the_end_date():
    assert CALENDAR.settlement_run_after(date(2026, 3, 31)) == date(2026, 4, 10)
    assert CALENDAR.settlement_run_after(date(2026, 3, 1)) == date(2026, 4, 10)
    assert CALENDAR.settlement_run_after(date(2025, 9, 30)) == date(2025, 10, 10)


def test_a_december_end_date_is_settled_in_january():
    assert CALENDAR.settlement_run_after(date(2026, 12, 31)) == date(2027, 1, 12)
    assert CALENDAR.settlement_run_after(date(2025, 12, 15)) == date(2026, 1, 12)


@given(days)
@quick
def test_the_settlement_run_is_the_pay_day_of_the_following_month(end_date: date):
    paid = CALENDAR.settlement_run_after(end_date)
    year, month = end_date.year, end_date.month
    following = (year + 1, 1) if month == 12 else (year, month + 1)
    assert (paid.year, paid.month) == following
    assert paid == pay_day(*following)
    assert paid > end_date


def test_the_next_pay_day_is_strictly_after_the_given_day():
    assert CALENDAR.next_pay_day(date(2025, 10, 9)) == date(2025, 10, 10)
    assert CALENDAR.next_pay_day(date(2025, 10, 10)) == date(2025, 11, 12)
    assert CALENDAR.next_pay_day(date(2025, 12, 12)) == date(2026, 1, 12)


@given(days)
@quick
def test_no_pay_day_lies_between_a_day_and_the_next_pay_day(day: date):
    paid = CALENDAR.next_pay_day(day)
    assert paid > day
    assert paid == pay_day(paid.year, paid.month)
    # The only candidate in between would be this month's pay day, when it is still ahead.
    this_month = pay_day(day.year, day.month)
    assert this_month <= day or this_month == paid


# -- inside a workflow ---------------------------------------------------------------------------


@workflow.defn(sandboxed=True)
class PayrollCalendarProbe:
    """Asks the calendar from inside Temporal's sandbox, importing it the way the process
    workflows import `domain/`: passed through."""

    @workflow.run
    async def run(self, registered_on: date) -> list[date]:
        with workflow.unsafe.imports_passed_through():
            from domain.payroll_calendar import PayrollCalendar, pay_day

        calendar = PayrollCalendar()
        return [
            pay_day(2150, 4),  # a year no other test builds: its holidays are made in here
            calendar.run_for_registration(registered_on),
            calendar.settlement_run_after(registered_on),
        ]


async def test_the_calendar_gives_the_same_answers_inside_a_workflow_sandbox(
    env: WorkflowEnvironment,
):
    queue = f"payroll-calendar-{uuid.uuid4()}"
    _public_holidays.cache_clear()  # every year is built inside the sandbox
    runner = SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(
            "tests", "hypothesis", "_pytest", "pytest"
        )
    )
    async with Worker(
        env.client, task_queue=queue, workflows=[PayrollCalendarProbe], workflow_runner=runner
    ):
        answers = await env.client.execute_workflow(
            PayrollCalendarProbe.run,
            date(2023, 1, 27),
            id=queue,
            task_queue=queue,
            execution_timeout=timedelta(seconds=10),
            result_type=list[date],
        )
    assert answers == [pay_day(2150, 4), date(2023, 3, 10), date(2023, 2, 10)]

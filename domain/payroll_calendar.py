"""The state payroll calendar: when a month's salary is paid, and by when a change must be in.

Workflows wait on these dates with durable timers, so every answer here is a pure function of its
arguments: no clock (callers pass the date they mean), no randomness, no I/O of our own. Norway's
public holidays come from the `holidays` package, which computes them from the year alone, so a
replay years later gets the same pay days. Workflow modules import it, like all of `domain/`,
under `workflow.unsafe.imports_passed_through()`: `holidays` reads the clock and its translation
files while it loads, which Temporal's sandbox would refuse, and every run then shares the per-year
cache below.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

from holidays.countries.norway import Norway
from pydantic import BaseModel, ConfigDict, Field
from temporalio import workflow

# dfo-domain.md §2: hovedlønn is paid on the 12th (HTA § 9).
PAY_DAY_OF_MONTH = 12

_ONE_DAY = timedelta(days=1)


@cache
def _public_holidays(year: int) -> frozenset[date]:
    """Norway's public holidays in `year`, computed once per year because workflows ask often.

    `include_sundays=False` is passed explicitly because Norwegian law makes every Sunday a
    holiday and the package can list them all; weekends are `is_working_day`'s business, and this
    set holds only the days that close a weekday. A frozenset, not the package's own dict,
    because that dict grows new years on lookup and must not be shared mutable state.
    """
    # Building a year reads the package's translation catalogue (holiday names, which we drop)
    # through `locale`, which Temporal's sandbox refuses even for passed-through modules. The
    # dates depend on the year alone, so lifting the restriction here is safe; outside a
    # workflow this does nothing.
    with workflow.unsafe.sandbox_unrestricted():
        return frozenset(Norway(years=year, include_sundays=False))


def is_working_day(day: date) -> bool:
    """Monday to Friday, unless it is a Norwegian public holiday.

    Christmas Eve and New Year's Eve are not public holidays (lov om helligdager lists neither),
    so they count as working days when they fall on a weekday.
    """
    return day.weekday() < 5 and day not in _public_holidays(day.year)


def _on_or_before(day: date) -> date:
    """The last working day that is not later than `day`."""
    while not is_working_day(day):
        day -= _ONE_DAY
    return day


def add_working_days(day: date, count: int) -> date:
    """Walk `count` working days from `day`: forward when positive, backward when negative.

    Each step lands on the next (or previous) working day, so the result is always a working day
    unless `count` is zero, in which case `day` is returned as it is, even on a weekend: zero steps
    do not move. `day` itself is never counted. A deadline "ten working days before pay day" is
    `add_working_days(pay_day, -10)`.
    """
    step = _ONE_DAY if count >= 0 else -_ONE_DAY
    remaining = abs(count)
    while remaining:
        day += step
        if is_working_day(day):
            remaining -= 1
    return day


def working_days_between(start: date, end: date) -> int:
    """Working days in (start, end] going forward; minus those in (end, start] going backward.

    One half-open interval in both directions, so the count behaves like a distance on a ruler:
    `between(a, b) == -between(b, a)` and `between(a, b) + between(b, c) == between(a, c)`, which
    lets a workflow add up the waits of its steps. `working_days_between(today, cutoff)` is the
    number of working days left after today, the cut-off day included; whether the cut-off has
    passed is a date comparison, not a count.

    It undoes `add_working_days`: `working_days_between(d, add_working_days(d, n)) == n` for every
    working day `d`, and for every day when `n >= 0`. Walking backward from a weekend is the one
    case that does not round-trip: `add_working_days(saturday, -1)` is the Friday, but no working
    day lies in (Friday, Saturday].
    """
    low, high, sign = (start, end, 1) if end >= start else (end, start, -1)
    count = 0
    day = low + _ONE_DAY
    while day <= high:
        if is_working_day(day):
            count += 1
        day += _ONE_DAY
    return sign * count


def pay_day(year: int, month: int) -> date:
    """The day the month's main salary (hovedlønn) reaches the employee's account.

    dfo-domain.md §2: pay day is the 12th; when the 12th is a Saturday, Sunday or public holiday,
    the last working day before it (HTA § 9; NTNU's FAQ: "the Friday before").
    """
    return _on_or_before(date(year, month, PAY_DAY_OF_MONTH))


def _month_after(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def settlement_pay_day(end_date: date) -> date:
    """The pay day of the month after the end date's month, December rolling over into January.

    Seed 001: the final settlement (sluttoppgjør) is received the month after the end date.
    """
    return pay_day(*_month_after(end_date.year, end_date.month))


class PayrollCalendar(BaseModel):
    """NTNU's payroll plan: the DFØ pay days plus the service centre's registration cut-off.

    `cutoff_working_days_before_pay_day` defaults to 11 because that reproduces NTNU's published
    plan for main pay (dfo-domain.md §2, "NTNU 2023 plan"): submission to Tjenestesenteret on
    26 Jan 2023 for the run paid 10 Feb 2023, and on 23 Feb 2023 for the run paid 10 Mar 2023, are
    both exactly 11 working days before pay day, i.e. "about 2 to 3 weeks", a few days ahead of the
    managers' approval deadline on the 2nd to 4th. The plan sets the January run's deadline earlier
    still (16 Dec 2022 → 12 Jan 2023) because of Christmas; that exception is not modelled here,
    so a unit that registers between mid and late December may learn from SAP rather than from
    saksflyt that it missed the January run. Deadlines are 20:00 on the day; this calendar works
    in whole days, so a registration on the cut-off day makes that run.
    """

    model_config = ConfigDict(frozen=True)

    cutoff_working_days_before_pay_day: int = Field(default=11, ge=1)

    def cutoff(self, year: int, month: int) -> date:
        """The last day a change can be registered and still be paid in that month's run.

        Always a working day before pay day; the days in between are the unit's approval, the
        service centre's registration and DFØ's run and control (dfo-domain.md §2).
        """
        return add_working_days(pay_day(year, month), -self.cutoff_working_days_before_pay_day)

    def run_for_registration(self, registered_on: date) -> date:
        """The pay day of the first run whose cut-off has not passed on `registered_on`.

        A registration on the cut-off day itself still makes that run. Anything later lands in the
        next month's run (dfo-domain.md §6.4). The run of an earlier month is never a candidate:
        its cut-off lies before its pay day, which is before the 13th of that month.
        """
        year, month = registered_on.year, registered_on.month
        while self.cutoff(year, month) < registered_on:
            year, month = _month_after(year, month)
        return pay_day(year, month)

    def settlement_run_after(self, end_date: date) -> date:
        """The pay day of the run a final settlement belongs to by its end date alone; see
        `settlement_pay_day`. `settlement_run` also heeds the day it is registered."""
        return settlement_pay_day(end_date)

    def settlement_run(self, end_date: date, registered_on: date) -> date:
        """The pay day a final settlement registered on `registered_on` (the Norwegian day) is
        paid on: the run of the month after the end date, or, when that run's cut-off has passed,
        the first run that still takes it (dfo-domain.md §6.4). A settlement registered at the
        end of April for an end date of 30 April misses May's run and is paid in June."""
        return max(settlement_pay_day(end_date), self.run_for_registration(registered_on))

    def next_pay_day(self, after: date) -> date:
        """The first pay day strictly after `after` (the pay day itself gives next month's)."""
        this_month = pay_day(after.year, after.month)
        if this_month > after:
            return this_month
        return pay_day(*_month_after(after.year, after.month))

"""The follow-ups the service centre starts itself (seed 001, "Annen fratredelse",
Tilleggsinformasjon): the end-date watch before every payroll run, and the quarterly report of
people who have left without a final settlement.

Rules:
- seed 001: "Lønnssystemet avslutter ikke lønna automatisk ved sluttdato. Tjenestesenteret henter
  ut rapport før hver lønnskjøring over ansatte som når sluttdato i løpet av den kommende måneden,
  og deretter stopper lønn manuelt for de vi ikke har fått beskjed om skal forlenges/fratre."
  Before every run, SAP's report of end dates in the coming month (`plan_watch`, `WatchPlan`),
  minus those the centre has been told about (an open case, `announced_employees`) and those whose
  pay is stopped already, gets its pay stopped from the day after the end date (`select_for_stop`),
  and each unit is told in one case (`domain.unit_cases.watch_case_text`).
- seed 001: "Tjenestesenteret tar ut kvartalsvis rapport over ansatte som det allerede er stoppet
  lønn på, men som mangler sluttoppgjør" and "... over ansatte som har nådd sluttdato, men ikke har
  fått sluttoppgjør og kontakter enhet/leder for avklaring": one case per unit lists both kinds
  (`select_for_follow_up`, `domain.unit_cases.follow_up_case_text`).

Everything here is a pure function of its arguments; the workflows pass "today" from the
schedule's start time, never the wall clock.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from datetime import date, time, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field

from domain import extension, final_settlement
from domain.employment import Employment
from domain.forms import InvalidAnswer, read_answers
from domain.identifiers import employee_number
from domain.payroll_calendar import PayrollCalendar, add_working_days, pay_day
from domain.processes import EXTENSION, FINAL_SETTLEMENT, PENSION, RESIGNATION

# The cases that tell the centre an employee will be extended or will leave ("fått beskjed om skal
# forlenges/fratre"): the two forms of seed 001, and the resignation and pension cases, which both
# end in a final settlement.
ANNOUNCING_CATEGORIES = tuple(
    process.category for process in (EXTENSION, FINAL_SETTLEMENT, RESIGNATION, PENSION)
)

# Who is told when SAP has no e-mail address for the unit: the service centre's own mailbox,
# so that the case lands with a case handler who finds the unit. A setting of each input.
SERVICE_CENTRE_EMAIL = "lonn-hr@ntnu.no"

_ONE_DAY = timedelta(days=1)


# -- when the watch runs, and which end dates it covers -----------------------------------


class WatchPlan(BaseModel):
    """One watch: the payroll run it precedes, the day it acts, and the end dates it covers.

    The coming month of a run is the calendar month the run pays: the 12th pays the current
    month's fixed salary (HTA § 9, dfo-domain.md §2), so anyone whose end date falls in that month
    must have their pay stopped before the run, or the whole month is paid and must be claimed
    back. The report covers the end dates from the watch day to the last day of that month:
    `ending_from` is the watch day rather than the 1st, so that an end date registered after the
    previous watch, in the days left of the current month, is caught as well. One watch per run,
    and each watch day lies before the end of the month the previous watch covered, so together
    they leave no end date uncovered.
    """

    pay_day: date
    cutoff: date
    watch_day: date
    ending_from: date
    ending_until: date


def watch_day(calendar: PayrollCalendar, year: int, month: int, days_before_cutoff: int) -> date:
    """The day the watch for that month's run acts: `days_before_cutoff` working days before the
    run's cut-off, so that a unit that answers at once still makes the run."""
    return add_working_days(calendar.cutoff(year, month), -days_before_cutoff)


def coming_month(run: date) -> tuple[date, date]:
    """The first and last day of the month the run on `run` pays (HTA § 9: the current month)."""
    last = calendar.monthrange(run.year, run.month)[1]
    return date(run.year, run.month, 1), date(run.year, run.month, last)


def plan_watch(calendar: PayrollCalendar, today: date, days_before_cutoff: int) -> WatchPlan:
    """The watch for the first run whose watch day is not before `today`.

    The schedule fires on the 1st; with NTNU's cut-off (11 working days before pay day) that
    month's own run has its cut-off in the month before, so the watch is for the next month's run
    and acts late in the current month. A watch started on its watch day acts that day.
    """
    year, month = today.year, today.month
    while watch_day(calendar, year, month, days_before_cutoff) < today:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    run = pay_day(year, month)
    day = watch_day(calendar, year, month, days_before_cutoff)
    return WatchPlan(
        pay_day=run,
        cutoff=calendar.cutoff(year, month),
        watch_day=day,
        ending_from=day,
        ending_until=coming_month(run)[1],
    )


def pay_stop_from(end_date: date) -> date:
    """Pay stops the day after the end date: the last day of work is still paid."""
    return end_date + _ONE_DAY


# -- who the centre has been told about ----------------------------------------------------

_EMPLOYEE_NUMBER_LABELS = {
    label: field
    for form in (extension.FORM, final_settlement.FORM)
    for label, field in form.labels.items()
    if field == "employee_number"
}


def announced_employee(texts: Iterable[str]) -> str | None:
    """The Ansattnummer a case's form names, read as the forms Forlengelse and Fratredelse
    label it; None when the form names none, or none SAP could know."""
    raw = read_answers(texts, _EMPLOYEE_NUMBER_LABELS).get("employee_number")
    if raw is None:
        return None
    try:
        return employee_number(raw)
    except InvalidAnswer:
        return None


def announced_employees(cases: Iterable[Sequence[str]]) -> set[str]:
    """Everyone an open case is about: the centre has been told, and a case handler acts."""
    return {number for texts in cases if (number := announced_employee(texts)) is not None}


# -- who the watch stops, and who the quarterly report asks about ------------------------------


class WatchSelection(BaseModel):
    """SAP's report sorted by what the watch does with each employee."""

    to_stop: list[Employment] = []
    announced: list[Employment] = []
    already_stopped: list[Employment] = []
    other_position: list[Employment] = []


def select_for_stop(report: Iterable[Employment], announced: set[str]) -> WatchSelection:
    """Seed 001: stop the pay of those "vi ikke har fått beskjed om skal forlenges/fratre".

    Left alone: anyone with an open case (a case handler acts on it), anyone whose pay already
    stops by the day after the end date, and anyone who goes on in another position at NTNU
    (seed 001: they send no resignation, and SAP stops pay per employee, so stopping it would stop
    the other position's pay too).
    """
    selection = WatchSelection()
    for employee in sorted(report, key=_by_name):
        if employee.end_date is None:
            continue
        if employee.employee_number in announced:
            selection.announced.append(employee)
        elif _stopped_by(employee, pay_stop_from(employee.end_date)):
            selection.already_stopped.append(employee)
        elif employee.other_position:
            selection.other_position.append(employee)
        else:
            selection.to_stop.append(employee)
    return selection


def _stopped_by(employee: Employment, day: date) -> bool:
    return employee.pay_stopped_from is not None and employee.pay_stopped_from <= day


class FollowUpReason(StrEnum):
    """Why someone is in the quarterly report (seed 001 names both)."""

    PAST_END_DATE = "past_end_date"  # past the end date, still paid, no settlement
    PAY_STOPPED = "pay_stopped"  # pay stopped, no settlement


def follow_up_reason(employee: Employment, today: date) -> FollowUpReason | None:
    """A stopped pay is the one to report when both hold: the money is safe, the settlement is
    what is missing. Still being paid past the end date is the more urgent of the two."""
    if employee.pay_stopped_from is not None:
        return FollowUpReason.PAY_STOPPED
    if employee.end_date is not None and employee.end_date < today:
        return FollowUpReason.PAST_END_DATE
    return None


class FollowUpSelection(BaseModel):
    to_ask: list[Employment] = []
    announced: list[Employment] = []
    other_position: list[Employment] = []


def select_for_follow_up(
    report: Iterable[Employment], announced: set[str], today: date
) -> FollowUpSelection:
    """Seed 001: ask the unit about everyone who has left without a settlement, except those with
    an open case (the settlement or extension is under way) and those who go on in another
    position at NTNU (no settlement is owed while they stay)."""
    selection = FollowUpSelection()
    for employee in sorted(report, key=_by_name):
        if follow_up_reason(employee, today) is None:
            continue
        if employee.employee_number in announced:
            selection.announced.append(employee)
        elif employee.other_position:
            selection.other_position.append(employee)
        else:
            selection.to_ask.append(employee)
    return selection


def _by_name(employee: Employment) -> tuple[str, str]:
    return (employee.name.casefold(), employee.employee_number)


# -- inputs and results -------------------------------------------------------------------


class UnitCase(BaseModel):
    """A case a follow-up opened to a unit (`domain.unit_cases`), in the follow-up's result."""

    unit: str
    case_number: str
    employee_numbers: list[str]


class EndDateWatchInput(BaseModel):
    """Settings of the end-date watch; the schedule starts it with the defaults.

    `watch_working_days_before_cutoff`: the watch acts this many working days before the run's
    cut-off (default 2), at `watch_at` Norwegian time, so that a unit that learns of a pay stop
    can still send Forlengelse in time for the run. `announcing_categories`: the open cases that
    count as "told" (see ANNOUNCING_CATEGORIES). `service_centre_email`: the caller of a case for
    a unit SAP has no e-mail address for.
    """

    calendar: PayrollCalendar = PayrollCalendar()
    watch_working_days_before_cutoff: int = Field(default=2, ge=0)
    watch_at: time = time(7, 0)
    announcing_categories: list[str] = list(ANNOUNCING_CATEGORIES)
    service_centre_email: str = SERVICE_CENTRE_EMAIL


class EndDateWatchResult(BaseModel):
    plan: WatchPlan
    in_report: int
    announced: int
    already_stopped: int
    other_position: int
    stopped: int
    cases: list[UnitCase]

    @property
    def case_numbers(self) -> list[str]:
        return [case.case_number for case in self.cases]


class QuarterlyFollowUpInput(BaseModel):
    """Settings of the quarterly follow-up; the schedule starts it with the defaults."""

    announcing_categories: list[str] = list(ANNOUNCING_CATEGORIES)
    service_centre_email: str = SERVICE_CENTRE_EMAIL


class QuarterlyFollowUpResult(BaseModel):
    today: date
    in_report: int
    announced: int
    other_position: int
    asked: int
    cases: list[UnitCase]

    @property
    def case_numbers(self) -> list[str]:
        return [case.case_number for case in self.cases]

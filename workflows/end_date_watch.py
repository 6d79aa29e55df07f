"""End-date watch (seed 001, "Annen fratredelse"): before every payroll run, stop the pay of
employees who reach their end date in the coming month and whom nobody has told the centre about,
and tell their units.

"Lønnssystemet avslutter ikke lønna automatisk ved sluttdato. Tjenestesenteret henter ut rapport
før hver lønnskjøring over ansatte som når sluttdato i løpet av den kommende måneden, og deretter
stopper lønn manuelt for de vi ikke har fått beskjed om skal forlenges/fratre."

A Temporal Schedule starts it on the 1st of every month (workers/schedules.py). Steps:
1. From the schedule's start time (the Norwegian date), plan the watch: the first payroll run
   whose watch day, a few working days before its cut-off, has not passed (domain/follow_ups.py).
2. Sleep on a durable timer until the watch day.
3. Take SAP's report of employees whose end date falls from the watch day to the end of the month
   the run pays.
4. Leave out everyone with an open case about them (Forlengelse, Fratredelse, Oppsigelse, Pensjon:
   the Ansattnummer is read from each case's form), everyone whose pay is stopped already, and
   everyone who goes on in another position at NTNU.
5. Stop the pay of the others in SAP from the day after their end date, once per employee.
6. Open one TOPdesk case per unit, once, listing its employees, what was done, and what the unit
   must do (send Forlengelse or Fratredelse).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.payroll import PayrollActivities, Period, StopPay
    from activities.topdesk import CaseRef, NewCase, OpenCasesQuery, TopdeskActivities
    from domain.calendar_day import OSLO, norwegian_day
    from domain.cases import WaitState
    from domain.employment import Employment
    from domain.follow_ups import (
        EndDateWatchInput,
        EndDateWatchResult,
        UnitCase,
        WatchPlan,
        announced_employees,
        pay_stop_from,
        plan_watch,
        select_for_stop,
    )
    from domain.unit_cases import (
        UNIT_CASE_CATEGORY,
        UnitGroup,
        by_unit,
        unit_case_key,
        watch_case_brief,
        watch_case_text,
    )
    from workflows import search_attributes as sa
    from workflows.approval import sap
    from workflows.case import TOPDESK_RETRY, TOPDESK_TIMEOUT
    from workflows.idempotency import idempotency_key
    from workflows.refusals import final_reason

# Set by the server on every workflow a schedule starts: the nominal time of the action, which is
# the same on a late (caught-up) start as on a punctual one.


def scheduled_today() -> date:
    """The Norwegian date the schedule meant this run for; the start of the run when it was
    started by hand. Never the wall clock: a replay must plan the same watch."""
    return norwegian_day(sa.scheduled_start())


def show_state(process: str, state: WaitState, due: datetime | None = None) -> None:
    """Where the run stands, for case handlers' stock Temporal tools (no personal data)."""
    updates: list[SearchAttributeUpdate[Any]] = [
        sa.PROCESS.value_set(process),
        sa.WAIT_STATE.value_set(state.value),
        sa.WAITING_SINCE.value_set(workflow.now()),
        sa.DUE_DATE.value_set(due) if due is not None else sa.DUE_DATE.value_unset(),
    ]
    workflow.upsert_search_attributes(updates)


async def announced(categories: list[str]) -> set[str]:
    """Employee numbers of every open case of the categories that tell the centre about them."""
    open_cases = await workflow.execute_activity_method(
        TopdeskActivities.open_cases,
        OpenCasesQuery(categories=categories),
        start_to_close_timeout=TOPDESK_TIMEOUT,
        retry_policy=TOPDESK_RETRY,
    )
    return announced_employees(case.texts for case in open_cases.cases)


async def open_unit_case(
    unit: str,
    caller_email: str,
    brief: str,
    text: str,
    employees: Sequence[Employment],
    fallback_email: str,
) -> UnitCase:
    """Open the unit's case once: the external number is the run's and the unit's, so a retry or
    a second run of the same workflow finds the case it opened. A unit address TOPdesk does not
    know as a person is refused for good: the case then goes to the service centre's own."""
    case = NewCase(
        external_number=unit_case_key(workflow.info().workflow_id, unit),
        caller_email=caller_email,
        category=UNIT_CASE_CATEGORY,
        brief_description=brief,
        request=text,
    )
    try:
        ref = await _open(case)
    except ActivityError as error:
        if final_reason(error) is None or caller_email == fallback_email:
            raise
        ref = await _open(case.model_copy(update={"caller_email": fallback_email}))
    return UnitCase(
        unit=unit,
        case_number=ref.case_number,
        employee_numbers=[e.employee_number for e in employees],
    )


async def _open(case: NewCase) -> CaseRef:
    return await workflow.execute_activity_method(
        TopdeskActivities.open_case,
        case,
        start_to_close_timeout=TOPDESK_TIMEOUT,
        retry_policy=TOPDESK_RETRY,
    )


async def tell_units(
    employees: Sequence[Employment],
    fallback_email: str,
    brief: Callable[[str], str],
    text: Callable[[UnitGroup], str],
) -> list[UnitCase]:
    """One case per unit, in the order of the units' names, listing that unit's employees."""
    return [
        await open_unit_case(
            group.unit,
            group.caller_email,
            brief(group.unit),
            text(group),
            group.employees,
            fallback_email,
        )
        for group in by_unit(employees, fallback_email)
    ]


@workflow.defn(name="EndDateWatch")
class EndDateWatch:
    @workflow.init
    def __init__(self, input: EndDateWatchInput) -> None:
        self._plan = plan_watch(
            input.calendar, scheduled_today(), input.watch_working_days_before_cutoff
        )

    @workflow.query
    def plan(self) -> WatchPlan:
        """Which run this watch is for, the day it acts, and the end dates it covers."""
        return self._plan

    @workflow.run
    async def run(self, input: EndDateWatchInput) -> EndDateWatchResult:
        plan = self._plan
        await self._until(datetime.combine(plan.watch_day, input.watch_at, tzinfo=OSLO))
        show_state("end_date_watch", WaitState.WORKING)
        report = await sap(
            PayrollActivities.employees_ending,
            Period(first=plan.ending_from, last=plan.ending_until),
        )
        selection = select_for_stop(
            report.employments, await announced(input.announcing_categories)
        )
        # The units' cases first: a stop that no unit hears of is the worse failure.
        cases = await tell_units(
            selection.to_stop,
            input.service_centre_email,
            watch_case_brief,
            lambda group: watch_case_text(group.unit, plan, group.employees),
        )
        for employee in selection.to_stop:
            await self._stop_pay(employee)
        show_state("end_date_watch", WaitState.DONE)
        return EndDateWatchResult(
            plan=plan,
            in_report=len(report.employments),
            announced=len(selection.announced),
            already_stopped=len(selection.already_stopped),
            other_position=len(selection.other_position),
            stopped=len(selection.to_stop),
            cases=cases,
        )

    async def _until(self, moment: datetime) -> None:
        """Sleep on a durable timer until the watch day; at once when it has come."""
        show_state("end_date_watch", WaitState.AWAITING_PAYROLL, moment)
        wait = moment - workflow.now()
        if wait > timedelta(0):
            await workflow.sleep(wait, summary="til overvåkingsdagen før lønnskjøringen")

    async def _stop_pay(self, employee: Employment) -> None:
        """Seed 001: stop the pay in SAP, from the day after the end date; once per employee."""
        assert employee.end_date is not None
        await sap(
            PayrollActivities.stop_pay,
            StopPay(
                idempotency_key=idempotency_key("stop-pay", employee.employee_number),
                employee_number=employee.employee_number,
                from_date=pay_stop_from(employee.end_date),
            ),
        )

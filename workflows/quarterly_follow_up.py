"""Quarterly follow-up (seed 001, "Annen fratredelse"): ask each unit about the employees who have
left without a final settlement.

"Tjenestesenteret tar ut kvartalsvis rapport over ansatte som det allerede er stoppet lønn på,
men som mangler sluttoppgjør" and "... over ansatte som har nådd sluttdato, men ikke har fått
sluttoppgjør og kontakter enhet/leder for avklaring."

A Temporal Schedule starts it on 1 January, April, July and October (workers/schedules.py). Steps:
1. Today is the Norwegian date of the schedule's start time.
2. Take SAP's report of employees past their end date, or with stopped pay, who have no final
   settlement.
3. Leave out everyone with an open case about them (the settlement or extension is under way) and
   everyone who goes on in another position at NTNU.
4. Open one TOPdesk case per unit, once, listing the others in the report's two kinds and asking
   the unit to clarify with the manager and send Fratredelse.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.payroll import Day, PayrollActivities
    from domain.cases import WaitState
    from domain.follow_ups import (
        QuarterlyFollowUpInput,
        QuarterlyFollowUpResult,
        select_for_follow_up,
    )
    from domain.unit_cases import follow_up_case_brief, follow_up_case_text
    from workflows.approval import sap
    from workflows.end_date_watch import announced, scheduled_today, show_state, tell_units


@workflow.defn(name="QuarterlyFollowUp")
class QuarterlyFollowUp:
    @workflow.run
    async def run(self, input: QuarterlyFollowUpInput) -> QuarterlyFollowUpResult:
        today = scheduled_today()
        show_state("quarterly_follow_up", WaitState.WORKING)
        report = await sap(PayrollActivities.employees_missing_settlement, Day(day=today))
        selection = select_for_follow_up(
            report.employments, await announced(input.announcing_categories), today
        )
        cases = await tell_units(
            selection.to_ask,
            input.service_centre_email,
            follow_up_case_brief,
            lambda group: follow_up_case_text(group.unit, today, group.employees),
        )
        show_state("quarterly_follow_up", WaitState.DONE)
        return QuarterlyFollowUpResult(
            today=today,
            in_report=len(report.employments),
            announced=len(selection.announced),
            other_position=len(selection.other_position),
            asked=len(selection.to_ask),
            cases=cases,
        )

"""Final settlement ("Sluttoppgjør", seed 001 "Annen fratredelse"): from the form Fratredelse to a
settlement paid with the payroll run of the month after the end date.

Steps:
1. Read the case (a case of another category is left untouched), tell the caller it is received.
2. Check the form (Ansattnummer, Sluttdato, Årsak); ask the caller for what is missing or wrong.
3. Look the employee up in SAP; an unknown employee number goes back to the caller.
4. Register the final settlement in SAP, once, for the run of the month after the end date.
5. Put the case "På vent" and tell the caller why and until when (seed 000), then wait on a
   durable timer until the day after that run. What the caller writes meanwhile is noted for the
   case handler.
6. Ask SAP whether it was paid; if not, tell the case handler once and ask again daily.
7. Complete the case.
Not yet here (issue 3): the termination letter and the archive, and on death the pension message
to SPK.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.payroll import (
        PayrollActivities,
        RegisterSettlement,
        SettlementRef,
        SettlementResult,
    )
    from domain.cases import (
        OSLO,
        CaseOutcome,
        WaitState,
        unknown_employee_problem,
    )
    from domain.final_settlement import (
        CATEGORY,
        RECEIVED_REPLY,
        FinalSettlementInput,
        FinalSettlementResult,
        SettlementForm,
        check_form,
        on_hold_reply,
        paid_reply,
    )
    from domain.forms import format_date
    from workflows.approval import employment, sap
    from workflows.case import CaseClosed, CaseConversation, CaseWorkflow

# Money is on the account at 00:00 on pay day (dfo-domain.md §2); SAP is asked the morning after.
CHECK_AT = time(9, 0)
CHECK_AGAIN_EVERY = timedelta(days=1)


@workflow.defn(name="FinalSettlement")
class FinalSettlementWorkflow(CaseWorkflow):
    @workflow.init
    def __init__(self, input: FinalSettlementInput) -> None:
        self.case = CaseConversation("final_settlement", CATEGORY, input.case_number, input.timings)
        self.calendar = input.calendar

    @workflow.run
    async def run(self, input: FinalSettlementInput) -> FinalSettlementResult:
        try:
            await self.open_case(RECEIVED_REPLY)
            form = await self._checked_form()
            settlement = await sap(
                PayrollActivities.register_final_settlement,
                RegisterSettlement(
                    idempotency_key=f"{workflow.info().workflow_id}/settlement",
                    employee_number=form.employee_number,
                    end_date=form.end_date,
                    run=self.calendar.settlement_run_after(form.end_date),
                ),
            )
            await self._until_paid(form.end_date, settlement)
        except CaseClosed as closed:
            return FinalSettlementResult(case_number=input.case_number, outcome=closed.outcome)
        await self.case.complete(paid_reply(settlement.run))
        return FinalSettlementResult(
            case_number=input.case_number,
            outcome=CaseOutcome.PAID,
            registration_id=settlement.settlement_id,
            paid_on=settlement.run,
        )

    async def _checked_form(self) -> SettlementForm:
        """A valid form for an employee SAP knows; the caller is asked for what is wrong."""
        while True:
            await self.case.move_to(WaitState.WORKING, "kontrollerer skjemaet")
            snapshot = await self.case.read()
            check = check_form(snapshot.texts)
            problems = check.problems
            if check.form is not None:
                problems = await self._employee_problems(check.form)
                if not problems:
                    return check.form
            await self.case.ask_caller(problems)

    async def _employee_problems(self, form: SettlementForm) -> list[str]:
        if await employment(form.employee_number) is None:
            return [unknown_employee_problem(form.employee_number)]
        return []

    async def _until_paid(self, end_date: date, settlement: SettlementResult) -> None:
        """On hold until the run has paid the settlement; SAP is asked the day after the run."""
        check_at = datetime.combine(settlement.run + timedelta(days=1), CHECK_AT, tzinfo=OSLO)
        await self.case.hold(
            on_hold_reply(end_date, settlement.run),
            WaitState.AWAITING_PAYROLL,
            f"venter på lønnskjøringen {format_date(settlement.run)}",
            check_at,
        )
        told_handler = False
        while True:
            await self._sleep_until(check_at)
            paid = await sap(
                PayrollActivities.settlement_status,
                SettlementRef(settlement_id=settlement.settlement_id),
            )
            if paid.paid:
                return
            if not told_handler:
                told_handler = True
                await self.case.note(
                    f"Sluttoppgjøret {settlement.settlement_id} er ikke bekreftet utbetalt etter "
                    f"lønnskjøringen {format_date(settlement.run)}. Sjekk i SAP."
                )
            check_at = workflow.now() + CHECK_AGAIN_EVERY

    async def _sleep_until(self, moment: datetime) -> None:
        """Wait for `moment`; what the caller writes meanwhile is passed to the case handler."""
        hold = self.case.progress
        while await self.case.wait_for(
            lambda: self.case.unread_events > 0, moment - workflow.now()
        ):
            await self.case.read()
            await self.case.note(
                "Innmelder har skrevet i saken mens sluttoppgjøret venter på lønnskjøringen. "
                "Se svaret; endringer må føres manuelt i SAP."
            )
            await self.case.move_to(hold.state, hold.detail, hold.due)

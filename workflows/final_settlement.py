"""Final settlement ("Sluttoppgjør", seed 001 "Annen fratredelse"): from the form Fratredelse to a
settlement paid with the payroll run of the month after the end date.

Steps:
1. Read the case (a case of another category is left untouched), tell the caller it is received.
   As the child of another process (resignation, full pension) the case is that process's, and
   the order it sends stands for the form.
2. Check the form (Ansattnummer, Sluttdato, Årsak, Leder); ask the caller for what is missing or
   wrong. Look the employee up in SAP; an unknown employee number goes back to the caller.
3. Send the standard termination letter with the checklist to the employee, the manager in copy,
   and file it in the personnel file (not on death). On death, send SPK a pension message.
4. Register the final settlement in SAP, once, for the run of the month after the end date, or
   the first run after it whose cut-off has not passed on the day it is registered.
5. Put the case "På vent" and tell the caller why and until when (seed 000), then wait on a
   durable timer until the day after that run. A new end date written in the case moves the
   settlement to its new run (a new letter, the caller told, the timer re-armed); anything else
   the caller writes is noted for the case handler. A withdrawn case undoes the settlement and
   the SPK message, newest first.
6. Ask SAP whether it was paid; if not, escalate one rung of the ladder (seed 000) and ask again
   daily.
7. Complete the case.

Steps 4 to 6, the settlement's way through payroll, are `workflows/settlement_payroll.py`.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.pension import (
        PensionActivities,
        SendPensionMessage,
        WithdrawPensionMessage,
    )
    from domain.cases import (
        CaseEvent,
        CaseOutcome,
        CaseTimings,
        WaitState,
        case_summary,
        unknown_employee_problem,
    )
    from domain.final_settlement import (
        FORM,
        RECEIVED_REPLY,
        FinalSettlementInput,
        FinalSettlementResult,
        SettlementForm,
        SettlementOrder,
        TerminationReason,
        check_form,
        death_pension_message_note,
        late_notice_warning,
        letter_problems,
        needs_termination_letter,
        paid_reply,
    )
    from domain.payroll_calendar import PayrollCalendar
    from domain.pension import PensionType
    from domain.processes import FINAL_SETTLEMENT
    from workflows import versions
    from workflows.approval import CHECKING, dfo, dfo_step, employment
    from workflows.case import CaseClosed, CaseConversation
    from workflows.case_workflow import CaseWorkflow
    from workflows.idempotency import idempotency_key
    from workflows.settlement_payroll import SettlementPayroll, SettlementState


@workflow.defn(name="FinalSettlement")
class FinalSettlementWorkflow(CaseWorkflow):
    @workflow.init
    def __init__(self, input: FinalSettlementInput) -> None:
        self.case = CaseConversation(
            FINAL_SETTLEMENT.name, input.category, input.case_number, input.timings
        )
        self.order = input.order
        self.state = SettlementState()
        self.payroll = SettlementPayroll(self.case, input.calendar, self.state)

    @workflow.run
    async def run(self, input: FinalSettlementInput) -> FinalSettlementResult:
        try:
            form = self.state.form = await self._form()
            if versions.settlement_letter_and_spk():
                await self._tell_employee_and_spk(form)
            settlement = await self.payroll.until_paid(await self.payroll.register(form))
        except CaseClosed as closed:
            await self.case.undo_if_withdrawn(closed.outcome)
            return FinalSettlementResult(case_number=input.case_number, outcome=closed.outcome)
        await self.case.finish(paid_reply(settlement.run))
        return FinalSettlementResult(
            case_number=input.case_number,
            outcome=CaseOutcome.PAID,
            registration_id=settlement.settlement_id,
            paid_on=settlement.run,
        )

    async def _form(self) -> SettlementForm:
        """The form, checked; or, as a child, the parent's order, once the case is still open."""
        if self.order is None:
            await self.open_case(RECEIVED_REPLY)
            return await self._checked_form()
        await self.case.read()
        order = self.order
        while (
            versions.settlement_letter_and_spk()
            and order.termination_letter
            and (problems := letter_problems(order))
        ):
            await self.case.ask_caller(problems)
            values, _ = FORM.read((await self.case.read()).texts)
            order = order.model_copy(update={"manager": values.get("manager")})
        return order

    async def _checked_form(self) -> SettlementForm:
        """A valid form for an employee SAP knows; the caller is asked for what is wrong."""
        while True:
            if not versions.reads_before_working():
                await self.case.move_to(WaitState.WORKING, CHECKING)
            snapshot = await self.case.read()
            if versions.reads_before_working():
                await self.case.move_to(WaitState.WORKING, CHECKING)
            check = check_form(snapshot.texts)
            problems = check.problems
            if check.form is not None:
                problems = await self._employee_problems(check.form)
                if not problems and versions.settlement_letter_and_spk():
                    problems = letter_problems(check.form)
                if not problems:
                    return check.form
            await self.case.ask_caller(problems)

    async def _employee_problems(self, form: SettlementForm) -> list[str]:
        """An employee SAP knows; the unit warned, once, when the notice comes late."""
        now = await employment(self.case, form.employee_number)
        if now is None:
            return [unknown_employee_problem(form.employee_number)]
        warning = late_notice_warning(form, now, versions.today())
        if warning and not self.state.warned and versions.warns_of_late_notice():
            self.state.warned = True
            await self.case.reply(warning)
        return []

    async def _tell_employee_and_spk(self, form: SettlementForm) -> None:
        """Seed 001, "Annen fratredelse": the termination letter, manager in copy, filed in the
        personnel file; on death a pension message to SPK instead."""
        wants_letter = self.order is None or self.order.termination_letter
        if wants_letter and needs_termination_letter(form):
            await self.payroll.send_letter(form)
        if form.reason is TerminationReason.DEATH:
            receipt = await dfo_step(
                self.case,
                PensionActivities.send_pension_message,
                SendPensionMessage(
                    idempotency_key=idempotency_key("spk-death"),
                    employee_number=form.employee_number,
                    pension_type=PensionType.DEATH,
                    percentage=100,
                    from_date=form.end_date,
                    end_date=form.end_date,
                    reason=form.reason.value,
                ),
            )
            self.case.on_withdrawal(
                f"pensjonsmeldingen {receipt.receipt_id} til SPK",
                lambda: dfo(
                    PensionActivities.withdraw_pension_message,
                    WithdrawPensionMessage(
                        idempotency_key=idempotency_key("spk-death", "withdraw"),
                        receipt_id=receipt.receipt_id,
                    ),
                ),
            )
            await self.case.note(death_pension_message_note(receipt.receipt_id))


class SettlementChild:
    """The final settlement as a child of another process (resignation, full pension), on that
    process's case; the parent passes the caller's events on while the child runs."""

    def __init__(self) -> None:
        self.handle: workflow.ChildWorkflowHandle | None = None

    @property
    def running(self) -> bool:
        return self.handle is not None

    async def settle(
        self,
        case_number: str,
        timings: CaseTimings,
        order: SettlementOrder,
        category: str,
        calendar: PayrollCalendar | None = None,
    ) -> FinalSettlementResult:
        self.handle = await workflow.start_child_workflow(
            FinalSettlementWorkflow.run,
            FinalSettlementInput(
                case_number=case_number,
                timings=timings,
                calendar=calendar or PayrollCalendar(),
                order=order,
                category=category,
            ),
            id=FINAL_SETTLEMENT.workflow_id(case_number),
            static_summary=case_summary(category, case_number),
        )
        try:
            return await self.handle
        finally:
            self.handle = None

    async def forward(self, event: CaseEvent) -> None:
        """Pass the event on; a child that has just ended has no use for it, and a failed
        signal must not fail the parent from inside its signal handler."""
        if self.handle is None:
            return
        try:
            await self.handle.signal(FinalSettlementWorkflow.caller_replied, event)
        except Exception as error:  # the child ended between the check and the signal
            workflow.logger.info("caller event not passed to the settlement: %s", error)


__all__ = ["FinalSettlementWorkflow", "SettlementChild"]

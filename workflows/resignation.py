"""Resignation ("Fratredelse ved oppsigelse", seed 001): from the employee's form in the DFØ portal
to a final settlement paid the month after the last working day.

Steps:
1. Read the form from the portal (the portal's webhook only names it); an id the portal does not
   know ends here, with no case.
2. Open a TOPdesk case for it, once (its external number is the form id), with the employee as
   caller and the form as its text, so that the employee and the case handlers follow it in NTNU
   Hjelp; tell the employee it is received.
3. Look the employee up in SAP; an unknown employee number is asked of the caller.
4. Seed 001: an employee on a TOA contract is refused and told to go through their unit and the
   form for hourly, monthly and assignment contracts; one who goes on in another position at
   NTNU is told that no resignation is needed, only word to the manager. Either completes the
   case with nothing registered.
5. A last day earlier than the notice period allows is not refused (a shorter notice may be
   agreed): the case handler gets a note, and the employee is told the earliest last day.
6. File the resignation in the personnel file in ePhorte (seed 001), once.
7. The final settlement, as a child workflow on this case (`workflows/final_settlement.py`):
   the termination letter with the checklist, manager in copy; the settlement in SAP; on hold
   until the payroll run of the month after the last day; the case completed when paid. The
   caller's events are passed on to it.
A withdrawal (the caller closes the case) undoes what can be undone, newest first; the filed
resignation stays in the personnel file, and the case handler is told so.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.archive import ArchiveActivities, Filed, FileDocument
    from activities.portal import NO_SUCH_FORM, FormRef, PortalActivities
    from activities.topdesk import NewCase, TopdeskActivities
    from domain.calendar_day import norwegian_day
    from domain.cases import (
        CaseEvent,
        CaseOutcome,
        WaitState,
        unknown_employee_problem,
    )
    from domain.employment import Employment
    from domain.final_settlement import SettlementOrder, TerminationReason
    from domain.processes import FINAL_SETTLEMENT, RESIGNATION
    from domain.resignation import (
        OTHER_POSITION_REPLY,
        RECEIVED_REPLY,
        ResignationCase,
        ResignationInput,
        ResignationResult,
        SubmittedResignation,
        archive_text,
        archive_title,
        brief_description,
        check_form,
        notice_months,
        request_text,
        short_notice,
        short_notice_note,
        short_notice_reply,
        toa_refusal,
        withdrawn_after_filing_note,
    )
    from workflows.approval import dfo, dfo_step, employment
    from workflows.case import (
        TOPDESK_RETRY,
        TOPDESK_TIMEOUT,
        CaseClosed,
        CaseConversation,
    )
    from workflows.case_workflow import CaseWorkflow
    from workflows.final_settlement import SettlementChild
    from workflows.idempotency import idempotency_key


@workflow.defn(name="Resignation")
class ResignationWorkflow(CaseWorkflow):
    @workflow.init
    def __init__(self, input: ResignationInput) -> None:
        # No case yet: it is opened from the portal's form. Until then no caller can write.
        self.case = CaseConversation(RESIGNATION.name, RESIGNATION.category, "", input.timings)
        self.settlement = SettlementChild()
        self.filed: Filed | None = None

    @workflow.run
    async def run(self, input: ResignationInput) -> ResignationResult:
        resignation = await self._from_portal(input.form_id)
        if resignation is None:
            return ResignationResult(form_id=input.form_id, outcome=CaseOutcome.NOT_APPLICABLE)
        number = await self._case_for(resignation)
        self.case = CaseConversation(RESIGNATION.name, RESIGNATION.category, number, input.timings)
        result = ResignationResult(
            form_id=input.form_id, outcome=CaseOutcome.PAID, case_number=number
        )
        try:
            await self.open_case(RECEIVED_REPLY)
            form, employee = await self._checked()
            await self._stop_if_not_for_this_routine(employee)
            await self._tell_if_short_notice(resignation, employee, form)
            self.filed = await self._file(resignation, form)
            result.end_date = form.last_day
            result.archived_as = self.filed.journal_post
            await self.case.move_to(WaitState.HANDED_OVER, FINAL_SETTLEMENT.workflow_id(number))
            settled = await self.settlement.settle(
                number, input.timings, _order(form), RESIGNATION.category, input.calendar
            )
        except CaseClosed as closed:
            await self.case.undo_if_withdrawn(closed.outcome)
            return await self._ended(result, closed.outcome)
        result.settlement_id = settled.registration_id
        result.paid_on = settled.paid_on
        return await self._ended(result, settled.outcome)

    async def forward_caller_event(self, event: CaseEvent) -> None:
        """While the final settlement runs on this case, the caller's events are its business."""
        await self.settlement.forward(event)

    def handed_over(self) -> bool:
        return self.settlement.running

    async def _from_portal(self, form_id: str) -> SubmittedResignation | None:
        """The form as the portal has it; None when the portal knows no such form."""
        try:
            return await dfo(PortalActivities.resignation, FormRef(form_id=form_id))
        except ActivityError as error:
            cause = error.cause
            if isinstance(cause, ApplicationError) and cause.type == NO_SUCH_FORM:
                workflow.logger.warning("the portal has no resignation %s", form_id)
                return None
            raise

    async def _case_for(self, resignation: SubmittedResignation) -> str:
        """Open the TOPdesk case once: the form id is its external number, so a retried or rerun
        attempt finds the case the first one opened."""
        ref = await workflow.execute_activity_method(
            TopdeskActivities.open_case,
            NewCase(
                external_number=resignation.form_id,
                caller_email=resignation.email,
                category=RESIGNATION.category,
                brief_description=brief_description(resignation),
                request=request_text(resignation),
            ),
            start_to_close_timeout=TOPDESK_TIMEOUT,
            retry_policy=TOPDESK_RETRY,
        )
        return ref.case_number

    async def _checked(self) -> tuple[ResignationCase, Employment]:
        """The form as the case now reads, for an employee SAP knows; the caller is asked for
        what is wrong, and answers in the case."""
        while True:
            check = check_form((await self.case.read_for_work("kontrollerer oppsigelsen")).texts)
            problems = check.problems
            if check.form is not None:
                employee = await employment(self.case, check.form.employee_number)
                if employee is not None:
                    return check.form, employee
                problems = [unknown_employee_problem(check.form.employee_number)]
            await self.case.ask_caller(problems)

    async def _stop_if_not_for_this_routine(self, employee: Employment) -> None:
        """Seed 001, "Fratredelse ved oppsigelse": not for TOA contracts (they go through the
        unit and the form "Time-, måned- og oppdragskontrakt"), and not needed for an employee
        who goes on in another position at NTNU (who tells their manager)."""
        if employee.toa:
            await self.case.close(
                toa_refusal(employee.unit, employee.unit_email), CaseOutcome.REFUSED
            )
        if employee.other_position:
            await self.case.close(OTHER_POSITION_REPLY, CaseOutcome.NOT_APPLICABLE)

    async def _tell_if_short_notice(
        self, resignation: SubmittedResignation, employee: Employment, form: ResignationCase
    ) -> None:
        """Notice runs date to date from the day the resignation was given (dfo-domain.md §3.1);
        an earlier last day may have been agreed, so the handler checks and the employee is told."""
        given = resignation.submitted
        earliest = short_notice(employee.start_date, given, form.last_day)
        if earliest is None:
            return
        months = notice_months(employee.start_date, given)
        await self.case.note(
            short_notice_note(months, employee.start_date, given, earliest, form.last_day)
        )
        await self.case.reply(short_notice_reply(months, given, earliest, form.last_day))

    async def _file(self, resignation: SubmittedResignation, form: ResignationCase) -> Filed:
        """Seed 001: the resignation goes into the personnel file, once. A journal post cannot be
        taken back, so no undo is registered for it (the withdrawal note says it stays)."""
        await self.case.move_to(WaitState.WORKING, "arkiverer oppsigelsen i personalmappen")
        return await dfo_step(
            self.case,
            ArchiveActivities.file_document,
            FileDocument(
                idempotency_key=idempotency_key("archive"),
                employee_number=form.employee_number,
                employee_name=form.name,
                year=norwegian_day(workflow.now()).year,
                title=archive_title(resignation),
                text=archive_text(resignation),
            ),
        )

    async def _ended(self, result: ResignationResult, outcome: CaseOutcome) -> ResignationResult:
        """The case has ended, by this workflow or by the settlement on it: tell the handler
        what stays if it was withdrawn, and show the case as done without writing to it again."""
        if outcome is CaseOutcome.WITHDRAWN and self.filed is not None:
            await self.case.note(withdrawn_after_filing_note(self.filed.journal_post))
        self.case.ended(outcome)
        return result.model_copy(update={"outcome": outcome})


def _order(form: ResignationCase) -> SettlementOrder:
    """What the form Fratredelse would have said: resigned, last day, manager in copy."""
    return SettlementOrder(
        name=form.name,
        employee_number=form.employee_number,
        end_date=form.last_day,
        reason=TerminationReason.RESIGNATION,
        manager=form.manager,
        termination_letter=True,
    )

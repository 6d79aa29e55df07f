"""Retirement ("Pensjon", seed 001): from the employee's form to SPK's pension message, the
pension letter and the personnel file, and on to a reduced position (partial pension) or a final
settlement (full pension).

Steps:
1. Read the case (a case of another category is left untouched), tell the caller it is received.
2. Check the form (Navn, Ansattnummer, Pensjonstype, Uttaksgrad, Fra dato on the first of a
   month, Leder, and for partial pension Ny stillingsprosent) and the employee in SAP; ask the
   caller for what is missing or wrong.
3. SPK takes the message at the earliest four months before the pension date: earlier than that
   the case is "På vent", the caller told why and the day it is taken up again, on a durable timer
   to that day. A case handler may send at once (`send_now`). A new "Fra dato" written meanwhile
   re-arms the timer.
4. Send the pension message to SPK, once per form; SPK's refusal goes to the caller. Less than two
   months before the pension date the caller is warned and the case handler told.
5. Send the standard pension letter to the employee, the manager in copy (filed in the personnel
   file), and file the SPK message and the case confirmation there too.
6. Partial pension: register the new position percentage in SAP from the pension date and wait
   for the manager's approval; a rejection goes to the caller. Then complete the case.
   Full pension: the final settlement, as a child workflow on this case, ends the process.
A changed form while on hold or awaiting approval (a new "Fra dato", uttaksgrad, ...) takes back
what hangs on it (the SPK message, the position change) and goes round again from step 2. A
withdrawn case undoes, newest first: the position change, then the SPK message.

Steps 3 to 5, the SPK message and what goes with it, are `workflows/pension_message.py`.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.payroll import (
        CancelRegistration,
        PayrollActivities,
        RegisterPositionChange,
        RegistrationResult,
    )
    from domain.cases import (
        Approval,
        CaseEvent,
        CaseOutcome,
        WaitState,
        unknown_employee_problem,
    )
    from domain.final_settlement import (
        FinalSettlementResult,
        SettlementOrder,
        TerminationReason,
    )
    from domain.pension import (
        OperatorOverride,
        PensionForm,
        PensionInput,
        PensionResult,
        check_form,
        employment_problems,
        last_working_day,
    )
    from domain.pension_texts import (
        RECEIVED_REPLY,
        change_not_used_reply,
        filed_stays_note,
        full_pension_reply,
        partial_pension_reply,
        unanswered_note,
    )
    from domain.processes import FINAL_SETTLEMENT, PENSION
    from workflows.approval import (
        CHECKING,
        WAITING_FOR_MANAGER,
        ApprovedCaseWorkflow,
        ManagerApproval,
        employment,
        registered_or_asked,
        sap,
        sap_refusal,
    )
    from workflows.case import CaseClosed, CaseConversation
    from workflows.final_settlement import SettlementChild
    from workflows.idempotency import idempotency_key
    from workflows.pension_message import PensionMessage, PensionState, today
    from workflows.rejection import Rejection

POSITION_CHANGE = "stillingsendringen i SAP"


class PlanChanged(Exception):
    """The caller changed what the SPK message or the position change is made of."""


@workflow.defn(name="Pension")
class PensionWorkflow(ApprovedCaseWorkflow):
    @workflow.init
    def __init__(self, input: PensionInput) -> None:
        self.case = CaseConversation(
            PENSION.name, PENSION.category, input.case_number, input.timings
        )
        self.approval = ManagerApproval(self.case)
        self.rejection = Rejection(self.case)
        self.settlement = SettlementChild()
        self.state = PensionState()
        self.spk = PensionMessage(self.case, self.state)

    @workflow.signal
    def send_now(self, order: OperatorOverride) -> None:
        """A case handler sends the SPK message at once, not waiting for the four months. Only
        while the case waits for that: an override is for the message on hold, not a later one."""
        if self.case.first_time(order.event_id) and self.case.progress.state is WaitState.ON_HOLD:
            self.state.override = order

    async def forward_caller_event(self, event: CaseEvent) -> None:
        await self.settlement.forward(event)

    def handed_over(self) -> bool:
        return self.settlement.running

    @workflow.run
    async def run(self, input: PensionInput) -> PensionResult:
        try:
            await self.open_case(RECEIVED_REPLY)
            form = await self._planned()
            if form.full:
                settled = await self._settled(form, input)
                return await self._ended(settled.outcome, settled.registration_id)
            await self.case.finish(partial_pension_reply(form))
        except CaseClosed as closed:
            await self.case.undo_if_withdrawn(closed.outcome)
            return await self._ended(closed.outcome)
        return self._result(CaseOutcome.REGISTERED)

    async def _planned(self) -> PensionForm:
        """Go round until SPK has the message for the form as it stands and, for a partial
        pension, the manager has approved the new position percentage."""
        while True:
            form = await self._checked_form()
            if not await self.spk.stands(form):
                continue
            if form.full or await self._position_change_approved(form):
                return form

    # -- the form --------------------------------------------------------------------------

    async def _checked_form(self) -> PensionForm:
        """A valid form for an employee SAP knows; the caller is asked for what is wrong."""
        while True:
            snapshot = await self.case.read_for_work(CHECKING)
            check = check_form(snapshot.texts, today())
            problems = check.problems
            if check.form is not None:
                problems = await self._employment_problems(check.form)
                if not problems:
                    self.state.form = check.form
                    return check.form
            await self.case.ask_caller(problems)

    async def _employment_problems(self, form: PensionForm) -> list[str]:
        now = await employment(self.case, form.employee_number)
        if now is None:
            return [unknown_employee_problem(form.employee_number)]
        return employment_problems(form, now)

    # -- partial pension: the position change ---------------------------------------------

    async def _position_change_approved(self, form: PensionForm) -> bool:
        """Register the reduced position percentage from the pension date and wait for the
        manager; False when the caller must be heard (a rejection) or the form changed."""
        registered = (form.employee_number, form.new_position, form.from_date)
        if await self.rejection.unchanged(registered):
            return False
        registration = await self._register_position(form)
        if registration is None:
            return False
        try:
            decided = await self.approval.wait(registration, self._caller_wrote)
        except PlanChanged:
            await self._cancel(self.state.registration or registration)
            self.case.settled(POSITION_CHANGE)
            return False
        self.state.registration = decided
        self.case.settled(POSITION_CHANGE)  # approved takes effect; a rejected form is void
        if decided.approval is Approval.APPROVED:
            return True
        await self.rejection.ask(registered, decided.reason)
        return False

    async def _register_position(self, form: PensionForm) -> RegistrationResult | None:
        assert form.new_position is not None
        key = idempotency_key("position", self.state.registrations)
        self.state.registrations += 1
        registration = await registered_or_asked(
            self.case,
            "registrerer ny stillingsprosent i SAP",
            PayrollActivities.register_position_change,
            RegisterPositionChange(
                idempotency_key=key,
                employee_number=form.employee_number,
                percentage=form.new_position,
                from_date=form.from_date,
            ),
        )
        if registration is not None:
            self.state.registration = registration
            self.case.on_withdrawal(POSITION_CHANGE, lambda: self._cancel(registration))
        return registration

    async def _caller_wrote(self, registration: RegistrationResult) -> RegistrationResult:
        """The caller wrote while the manager decides: a changed form starts over (PlanChanged);
        a form that cannot be used is answered; anything else goes to the case handler."""
        self.state.registration = registration
        snapshot = await self.case.read()
        check = check_form(snapshot.texts, today())
        if check.form is None:
            await self.case.reply(change_not_used_reply(check.problems))
        elif self.state.form is not None and check.form.plan() != self.state.form.plan():
            raise PlanChanged
        else:
            await self.case.note(
                "Innmelder har skrevet i saken mens stillingsendringen venter på leders "
                "godkjenning. Se svaret; endringer i navn eller leder må føres manuelt."
            )
        await self.case.move_to(WaitState.AWAITING_APPROVAL, WAITING_FOR_MANAGER)
        return registration

    async def _cancel(self, registration: RegistrationResult) -> None:
        """Withdraw the position change; one the manager approved meanwhile stays, and the
        case handler is told to reverse it."""
        try:
            await sap(
                PayrollActivities.cancel_registration,
                CancelRegistration(
                    idempotency_key=idempotency_key(
                        "position", "cancel", registration.registration_id
                    ),
                    registration_id=registration.registration_id,
                ),
            )
        except ActivityError as error:
            refusal = sap_refusal(error)
            if refusal is None:
                raise
            await self.case.note(f"Stillingsendringen kunne ikke trekkes i SAP: {refusal}")

    # -- full pension: the final settlement ------------------------------------------------

    async def _settled(self, form: PensionForm, input: PensionInput) -> FinalSettlementResult:
        """Seed 001, "Pensjon": full pension ends with a final settlement, on this case; the
        child completes it when paid. A retirement is a resignation of the position (seed 001
        and dfo-domain.md §3.4: the employee resigns to retire); the letter is the pension
        letter, so the child sends none. A case withdrawn meanwhile: the child takes back the
        settlement, this workflow the SPK message."""
        number = self.case.case_number
        await self.case.reply(full_pension_reply(form))
        await self.case.move_to(WaitState.HANDED_OVER, FINAL_SETTLEMENT.workflow_id(number))
        settled = await self.settlement.settle(
            number,
            input.timings,
            SettlementOrder(
                name=form.name,
                employee_number=form.employee_number,
                end_date=last_working_day(form),
                reason=TerminationReason.RESIGNATION,
                manager=form.manager,
                termination_letter=False,
            ),
            PENSION.category,
            input.calendar,
        )
        await self.case.undo_if_withdrawn(settled.outcome)
        return settled

    async def _ended(self, outcome: CaseOutcome, settlement_id: str | None = None) -> PensionResult:
        """The case has ended, by this workflow or by the settlement on it: tell the handler
        what stays in the archive if it was withdrawn, or at SPK if the caller never answered;
        and show the case as done without writing to it again (TOPdesk already shows how it
        ended)."""
        state = self.state
        if outcome is CaseOutcome.WITHDRAWN and state.filed:
            await self.case.note(filed_stays_note([filed.journal_post for filed in state.filed]))
        if outcome is CaseOutcome.CLOSED_WITHOUT_REPLY and state.message is not None:
            await self.case.note(unanswered_note(state.message.receipt_id))
        self.case.ended(outcome)
        result = self._result(outcome)
        result.settlement_id = settlement_id
        return result

    def _result(self, outcome: CaseOutcome) -> PensionResult:
        state = self.state
        return PensionResult(
            case_number=self.case.case_number,
            outcome=outcome,
            receipt_id=state.message.receipt_id if state.message else None,
            from_date=state.sent_for.from_date if state.sent_for else None,
            registration_id=state.registration.registration_id if state.registration else None,
            archive_case=state.filed[0].archive_case if state.filed else None,
            journal_posts=[filed.journal_post for filed in state.filed],
        )
